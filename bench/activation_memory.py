"""Training memory of one batch: peak resident memory of a forward and backward pass, per model and text length.

    python bench/activation_memory.py --models cnn,rnn --lengths 256,512

Each measurement runs in a fresh process (a process's peak memory only grows): the model's module on a batch
of 50 random texts (the default batch size) of the given length, two forward and backward passes the way
training runs them (`textclf.train.accumulate_gradients`, so recurrent models train in chunks of at most
their `max_training_slots`), and the growth of the peak over the process's memory before the batch. The
"unchunked" column is the same batch in one piece, what recurrent models did before the chunks.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
from pathlib import Path

BATCH, VOCAB, CLASSES = 50, 5000, 10
HERE = Path(__file__).resolve().parent


def measure(key: str, length: int, chunked: bool) -> float:
    """MB by which one batch raises the process's peak (run in a child process)."""
    import torch

    from textclf.batching import Batch
    from textclf.models import create
    from textclf.train import accumulate_gradients
    from textclf.vocab import EncodedTexts

    torch.set_num_threads(1)
    estimator = create(key)
    module = estimator.build_module(VOCAB, CLASSES)
    data = EncodedTexts(torch.randint(2, VOCAB, (BATCH, length), dtype=torch.int32), torch.full((BATCH,), length))
    labels = torch.zeros(BATCH, dtype=torch.long)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(2):
        accumulate_gradients(module, data, labels, Batch(torch.arange(BATCH), length),
                             loss_fn=torch.nn.CrossEntropyLoss(), device="cpu",
                             max_slots=estimator.max_training_slots if chunked else None)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def in_child(key: str, length: int, chunked: bool) -> float:
    code = (f"import sys; sys.path[:0] = [{str(HERE)!r}, {str(HERE.parent)!r}]; import activation_memory; "
            f"print(activation_memory.measure({key!r}, {length}, {chunked}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="cnn,rnn")
    parser.add_argument("--lengths", default="256,512")
    args = parser.parse_args()
    print(f"{VOCAB:,}-word vocabulary, {CLASSES} classes, 1 torch thread")
    print("| model | batch | token slots | peak growth, MB (as trained) | KB per slot | unchunked, MB |")
    print("|---|---|---|---|---|---|")
    for key in args.models.split(","):
        for length in (int(n) for n in args.lengths.split(",")):
            trained, whole = in_child(key, length, True), in_child(key, length, False)
            slots = BATCH * length
            print(f"| {key} | {BATCH} × {length} | {slots:,} | {trained:.0f} | {1024 * whole / slots:.1f} | "
                  f"{whole:.0f} |", flush=True)


if __name__ == "__main__":
    main()
