"""Dense or packed: a recurrent layer's forward + backward step time per batch shape, and the rule `auto` uses.

    python bench/rnn_impl.py            # about 2-3 minutes on one loaded core
    python bench/rnn_impl.py --reps 5 --longest 32,64,128,256

A BiLSTM 300 → 128 × 2 (the BiRNN's default layer), batch 50, 1 thread, fp32; the loss is the sum of its outputs
at real positions. Each batch has one text of the longest length and the others drawn so that the batch's
real tokens fill about `fill` of its slots (1 − fill is its padding share); plus a waimai-like max-length batch
(median ≈ 18 tokens, one text of 437). Dense and packed run the same batch, interleaved, median of `--reps`.
Then it fits packed / dense ≈ fill × (a + b × longest) by least squares (packing costs more per real token
than a dense step per slot, and more the longer the batch) and prints a and b for
textclf.models.recurrent.PACKED_COST and PACKED_COST_PER_STEP, with what `auto` picks for each batch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import textclf.training.loop  # noqa: E402, F401  (sets the oneDNN kernel cache as training runs it)
from textclf.models.recurrent import prefers_packed, run_dense, run_packed  # noqa: E402

BATCH, EMBED, HIDDEN = 50, 300, 128
FILLS = (0.1, 0.3, 0.5, 0.7, 0.9)
WAIMAI_LIKE = 437


def batch_lengths(longest: int, fill: float, rng: np.random.Generator) -> torch.Tensor:
    """50 lengths with one at `longest` and a mean of about `fill` × longest (Beta-distributed)."""
    concentration = 4.0
    drawn = rng.beta(fill * concentration, (1 - fill) * concentration, BATCH - 1)
    lengths = np.clip(np.rint(drawn * longest), 1, longest).astype(np.int64)
    return torch.tensor([longest, *lengths])


def waimai_like(rng: np.random.Generator) -> torch.Tensor:
    lengths = np.clip(np.rint(rng.lognormal(np.log(18), 0.7, BATCH - 1)), 1, WAIMAI_LIKE).astype(np.int64)
    return torch.tensor([WAIMAI_LIKE, *lengths])


def step_seconds(rnn: nn.LSTM, run, inputs: torch.Tensor, lengths: torch.Tensor) -> float:
    mask = (torch.arange(inputs.shape[1])[None, :] < lengths[:, None]).float()[..., None]
    started = time.perf_counter()
    rnn.zero_grad()
    inputs.grad = None
    outputs, _ = run(rnn, inputs, lengths)
    (outputs * mask).sum().backward()
    return time.perf_counter() - started


def measure(rnn: nn.LSTM, lengths: torch.Tensor, reps: int) -> dict:
    inputs = torch.randn(BATCH, int(lengths.max()), EMBED, requires_grad=True)  # as embeddings do
    times = {"dense": [], "packed": []}
    for run in (run_dense, run_packed):
        step_seconds(rnn, run, inputs, lengths)  # warm-up: kernels for this shape
    for _ in range(reps):
        for name, run in (("dense", run_dense), ("packed", run_packed)):
            times[name].append(step_seconds(rnn, run, inputs, lengths))
    longest = int(lengths.max())
    fill = float(lengths.sum()) / (BATCH * longest)
    dense, packed = statistics.median(times["dense"]), statistics.median(times["packed"])
    return {"longest": longest, "fill": fill, "dense": dense, "packed": packed, "ratio": packed / dense,
            "auto": "packed" if prefers_packed(lengths) else "dense"}


def fit_rule(rows: list[dict]) -> tuple[float, float]:
    """Least squares of ratio / fill = a + b × longest."""
    x = np.array([[1.0, r["longest"]] for r in rows])
    y = np.array([r["ratio"] / r["fill"] for r in rows])
    (a, b), *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(a), float(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--longest", default="32,64,128,256")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    rnn = nn.LSTM(EMBED, HIDDEN, batch_first=True, bidirectional=True)
    shapes = [batch_lengths(int(t), fill, rng) for t in args.longest.split(",") for fill in FILLS]
    rows = [measure(rnn, lengths, args.reps) for lengths in [*shapes, waimai_like(rng)]]
    print("| longest | padding | dense s | packed s | packed / dense | faster | auto picks |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        faster = "packed" if r["ratio"] < 1 else "dense"
        print(f"| {r['longest']} | {1 - r['fill']:.0%} | {r['dense']:.3f} | {r['packed']:.3f} | {r['ratio']:.2f}× "
              f"| {faster} | {r['auto']} |")
    a, b = fit_rule(rows)
    print(f"\nfit: packed / dense ≈ fill × ({a:.2f} + {b:.4f} × longest); packed pays when padding exceeds "
          + ", ".join(f"{1 - 1 / (a + b * t):.0%} at {t}" for t in (32, 64, 128, 256, 512) if a + b * t > 1))


if __name__ == "__main__":
    main()
