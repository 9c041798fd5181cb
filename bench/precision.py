"""bf16 or fp32: a training step's and an evaluation pass's time for the TextCNN and the BiLSTM, as training runs them.

    python bench/precision.py            # about half a minute on one loaded core
    python bench/precision.py --reps 7 --length 128

A training step is what `textclf.training.loop` does per batch (`accumulate_gradients` in the given precision, then
fused Adam's step on fp32 weights); an evaluation pass is the forward alone, without gradients, as validation
and prediction run it. Models with their defaults (TextCNN 300-d, 3/4/5 × 100 wide filters; BiLSTM 300 → 128 × 2,
mean pooling, dense), a vocabulary of 20,000, batch 50 with every text `--length` tokens (a bucketed batch),
1 torch thread. fp32 and bf16 alternate rep by rep (interleaved, so a change in the machine's load hits both),
after one warm-up each; the table gives medians of `--reps`. Prints whether this CPU computes bf16 natively
(`textclf.training.loop.native_bf16`), i.e. what `precision=auto` would pick.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from textclf.data.vocab import EncodedTexts  # noqa: E402
from textclf.models.birnn import BiRNN  # noqa: E402
from textclf.models.neural import RECURRENT_TRAINING_SLOTS  # noqa: E402
from textclf.models.textcnn import TextCNN  # noqa: E402
from textclf.training.batching import (
    Batch,  # noqa: E402
    evaluation_strategy,  # noqa: E402
)
from textclf.training.loop import (  # noqa: E402
    BF16,
    FP32,
    accumulate_gradients,
    make_optimizer,
    native_bf16,
    predict_logits,
)

VOCAB, CLASSES, BATCH = 20_000, 2, 50
MODELS = {"TextCNN": (lambda: TextCNN(VOCAB, CLASSES), None),
          "BiLSTM": (lambda: BiRNN(VOCAB, CLASSES, impl="dense"), RECURRENT_TRAINING_SLOTS)}


def training_step(module: nn.Module, optimizer, data: EncodedTexts, labels: torch.Tensor, max_slots,
                  precision: str) -> float:
    started = time.perf_counter()
    optimizer.zero_grad()
    accumulate_gradients(module, data, labels, Batch(torch.arange(len(data)), int(data.lengths.max())),
                         loss_fn=nn.CrossEntropyLoss(), device="cpu", max_slots=max_slots, precision=precision)
    optimizer.step()
    return time.perf_counter() - started


def evaluation_pass(module: nn.Module, data: EncodedTexts, precision) -> float:
    started = time.perf_counter()
    predict_logits(module, data, evaluation_strategy(), torch.device("cpu"), precision)
    return time.perf_counter() - started


def one_batch(name: str, length: int):
    """A seeded model of `name` in training mode, its optimizer, one batch of `length` tokens and its labels."""
    build, max_slots = MODELS[name]
    torch.manual_seed(0)
    module = build().train()
    data = EncodedTexts(torch.randint(2, VOCAB, (BATCH, length)), torch.full((BATCH,), length))
    return module, make_optimizer(module, 1e-3), data, torch.arange(BATCH) % CLASSES, max_slots


def measure(name: str, length: int, reps: int) -> list[dict]:
    module, optimizer, data, labels, max_slots = one_batch(name, length)
    passes = {"training step": lambda p: training_step(module.train(), optimizer, data, labels, max_slots, p),
              "evaluation pass": lambda p: evaluation_pass(module, data, p)}
    rows = []
    for kind, run in passes.items():
        times = {FP32: [], BF16: []}
        for precision in times:
            run(precision)  # warm-up: kernels for this shape and precision
        for _ in range(reps):
            for precision in times:
                times[precision].append(run(precision))
        fp32, bf16 = statistics.median(times[FP32]), statistics.median(times[BF16])
        rows.append({"model": name, "pass": kind, "fp32": fp32, "bf16": bf16, "speed-up": fp32 / bf16})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--length", type=int, default=256, help="tokens of every text in the batch")
    parser.add_argument("--models", default="TextCNN,BiLSTM")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"native bf16 on this CPU: {native_bf16(torch.device('cpu'))} "
          f"(capability {torch.backends.cpu.get_cpu_capability()}); torch {torch.__version__}")
    print(f"batch {BATCH} × {args.length} tokens, 1 thread, median of {args.reps}, interleaved; "
          f"load average before: {os.getloadavg()}\n")
    print("| model | pass | fp32 s | bf16 s | fp32 / bf16 |")
    print("|---|---|---|---|---|")
    for name in args.models.split(","):
        for row in measure(name, args.length, args.reps):
            print(f"| {row['model']} | {row['pass']} | {row['fp32']:.3f} | {row['bf16']:.3f} | "
                  f"{row['speed-up']:.2f}× |", flush=True)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
