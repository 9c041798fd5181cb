"""Training memory and time of one batch: a forward and backward pass, per model and text length.

    python bench/activation_memory.py --models cnn,rnn --lengths 256,512
    python bench/activation_memory.py --models rnn --lengths 256,512 --mixed

Each measurement runs in a fresh process (a process's peak memory only grows): the model's module on a batch
of 50 random texts (the default batch size) of the given length, two forward and backward passes the way
training runs them (`textclf.training.loop.accumulate_gradients`, so recurrent models train in chunks of at most
their `max_training_slots`), and the growth of the peak over the process's memory before the batch. The
"unchunked" columns are the same batch in one piece, what recurrent models did before the chunks. Texts are
all of the given length, or with `--mixed` of random lengths from half of it to all of it (seeded), as in a
bucket of real texts; the CPU seconds are those of the second step.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
from pathlib import Path

BATCH, VOCAB, CLASSES = 50, 5000, 10
HERE = Path(__file__).resolve().parent


def measure(key: str, length: int, chunked: bool, mixed: bool) -> tuple[float, float]:
    """MB by which one batch raises the process's peak, and CPU seconds of a step (run in a child process)."""
    import time

    import torch

    from textclf.data.vocab import EncodedTexts
    from textclf.models import create
    from textclf.training.batching import Batch
    from textclf.training.loop import accumulate_gradients

    torch.set_num_threads(1)
    estimator = create(key)
    module = estimator.build_module(VOCAB, CLASSES)
    generator = torch.Generator().manual_seed(0)
    lengths = (torch.randint(length // 2, length + 1, (BATCH,), generator=generator) if mixed
               else torch.full((BATCH,), length))
    lengths[0] = length
    data = EncodedTexts(torch.randint(2, VOCAB, (BATCH, length), dtype=torch.int32, generator=generator), lengths)
    labels = torch.zeros(BATCH, dtype=torch.long)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(2):
        started = time.process_time()
        accumulate_gradients(module, data, labels, Batch(torch.arange(BATCH), length),
                             loss_fn=torch.nn.CrossEntropyLoss(), device="cpu",
                             max_slots=estimator.max_training_slots if chunked else None)
        seconds = time.process_time() - started
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, seconds


def in_child(key: str, length: int, chunked: bool, mixed: bool) -> tuple[float, float]:
    code = (f"import sys; sys.path[:0] = [{str(HERE)!r}, {str(HERE.parent)!r}]; import activation_memory; "
            f"print(*activation_memory.measure({key!r}, {length}, {chunked}, {mixed}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    megabytes, seconds = out.stdout.strip().splitlines()[-1].split()
    return float(megabytes), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="cnn,rnn")
    parser.add_argument("--lengths", default="256,512")
    parser.add_argument("--mixed", action="store_true", help="texts of random lengths from half the length up")
    args = parser.parse_args()
    kind = "mixed lengths" if args.mixed else "all of the same length"
    print(f"{VOCAB:,}-word vocabulary, {CLASSES} classes, 1 torch thread, texts {kind}")
    print("| model | batch | token slots | peak growth, MB (as trained) | KB per slot | unchunked, MB "
          "| CPU s per step (as trained) | unchunked, CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for key in args.models.split(","):
        for length in (int(n) for n in args.lengths.split(",")):
            (trained, trained_s), (whole, whole_s) = (in_child(key, length, chunked, args.mixed)
                                                      for chunked in (True, False))
            slots = BATCH * length
            print(f"| {key} | {BATCH} × {length} | {slots:,} | {trained:.0f} | {1024 * whole / slots:.1f} | "
                  f"{whole:.0f} | {trained_s:.2f} | {whole_s:.2f} |", flush=True)


if __name__ == "__main__":
    main()
