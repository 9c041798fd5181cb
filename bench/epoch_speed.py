"""Seconds per training epoch of TextCNN and BiRNN under each batching strategy, interleaved.

    python bench/epoch_speed.py --dataset mr --models cnn,rnn --reps 3
    python bench/epoch_speed.py --dataset mr --models rnn,rnn:impl=packed --reps 3   # options as in compare

One thread (torch.set_num_threads(1)). For each model, every strategy gets its own module (same initial
weights) and the epochs run interleaved — rep 1: max_length, per_batch, bucket; rep 2: the same order;
... — so that load from other processes on a shared machine hits every strategy alike. Each strategy first
trains a few untimed warm-up batches. Reported: the median epoch time, the speed ratio (max_length's median /
the strategy's) and the slots ratio (max_length's padded slots / the strategy's), the speed-up that padding
alone would predict. Two clocks, both training only (validation excluded): the process CPU time, which other
processes taking the cores barely change, and textclf.training.loop's own wall-clock epoch seconds, which they do.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
from common import CompareConfig, encoded_parts, prepared

from textclf.data.vocab import EncodedTexts
from textclf.models import create
from textclf.runs.config import ModelSpec
from textclf.training.loop import TrainSettings, resolve_precision, seed_everything, train_module
from textclf.training.progress import BatchDone
from textclf.training.strategies import make_strategy, strategy_names

WARMUP_ROWS = 640


class CpuClock:
    """Process CPU seconds from its creation to the last batch event the training loop reports."""

    def __init__(self):
        self.start = self.last = time.process_time()

    def __call__(self, event) -> None:
        if isinstance(event, BatchDone):
            self.last = time.process_time()

    @property
    def seconds(self) -> float:
        return self.last - self.start


def label_ids(labels: list[str], classes: list[str]) -> torch.Tensor:
    lookup = {c: i for i, c in enumerate(classes)}
    return torch.tensor([lookup[v] for v in labels])


def head(data: EncodedTexts, labels: torch.Tensor, rows: int) -> tuple[EncodedTexts, torch.Tensor]:
    return EncodedTexts(data.ids[:rows], data.lengths[:rows]), labels[:rows]


def time_model(key: str, parts: dict, vocab_size: int, classes: list[str], strategies: list[str], reps: int,
               batch_size: int) -> dict[str, list[dict]]:
    """Per strategy, one record per timed epoch: seconds, steps, real tokens and padded slots."""
    spec = ModelSpec.parse(key)
    estimator = create(spec.key, **spec.params)
    (train, train_labels), (val, val_labels) = parts["train"], parts["validation"]
    y_train, y_val = label_ids(train_labels, classes), label_ids(val_labels, classes)
    lr, precision = estimator.learning_rate(), resolve_precision(estimator.precision, torch.device("cpu"))
    modules, plans = {}, {}
    for name in strategies:
        seed_everything(0)
        modules[name] = estimator.build_module(vocab_size, len(classes))
        plans[name] = make_strategy(name, batch_size)
        if hasattr(plans[name], "fit"):
            plans[name].fit(train.lengths)
        warm, y_warm = head(train, y_train, WARMUP_ROWS)
        train_module(modules[name], warm, y_warm, *head(val, y_val, batch_size), plans[name],
                     TrainSettings(epochs=1, lr=lr, precision=precision), device=torch.device("cpu"))
    epochs: dict[str, list[dict]] = {name: [] for name in strategies}
    for rep in range(reps):
        for name in strategies:
            settings = TrainSettings(epochs=1, lr=lr, seed=rep, precision=precision)
            clock = CpuClock()
            record = train_module(modules[name], train, y_train, val, y_val, plans[name], settings,
                                  device=torch.device("cpu"), progress=clock)[0]
            epochs[name].append({**record.as_dict(), "cpu_seconds": clock.seconds})
            print(f"  {key} rep {rep + 1}/{reps} {name:<10} cpu {clock.seconds:6.2f} s  wall {record.seconds:6.2f} s  "
                  f"waste {record.padding_waste:.1%}  val acc {record.val_accuracy:.3f}", flush=True)
    return epochs


def summary_rows(epochs: dict[str, list[dict]]) -> list[dict]:
    """Medians per strategy and their ratios to max_length's (None when max_length was not timed)."""
    def median(records, field):
        return statistics.median(e[field] for e in records)

    base = epochs.get("max_length")
    rows = []
    for name, records in epochs.items():
        slots = statistics.mean(e["padded_slots"] for e in records)
        row = {"strategy": name, "cpu_s": median(records, "cpu_seconds"), "wall_s": median(records, "seconds"),
               "steps": records[0]["steps"], "waste": statistics.mean(e["padding_waste"] for e in records)}
        if base:
            row.update(cpu_ratio=median(base, "cpu_seconds") / row["cpu_s"],
                       wall_ratio=median(base, "seconds") / row["wall_s"],
                       slots_ratio=statistics.mean(e["padded_slots"] for e in base) / slots)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--models", default="cnn,rnn")
    parser.add_argument("--strategies", default=",".join(strategy_names()))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", help="also write every timed epoch to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(1)

    config = CompareConfig()
    data = prepared(args.dataset, config)
    vocab, parts = encoded_parts(data)
    strategies = args.strategies.split(",")
    print(f"{args.dataset}: {len(parts['train'][0])} training texts, tokenizer {data.tokenizer}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread, {platform.processor() or platform.machine()}")
    results = {}
    for key in args.models.split(","):
        epochs = time_model(key, parts, len(vocab), data.classes, strategies, args.reps, args.batch_size)
        results[key] = {"epochs": epochs, "summary": summary_rows(epochs)}
    print(f"\n{args.dataset}, batch size {args.batch_size}, median of {args.reps} interleaved epochs, 1 thread\n")
    print("| model | strategy | steps | padding waste | CPU s / epoch | wall s / epoch "
          "| speed ratio (CPU) | speed ratio (wall) | slots ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, result in results.items():
        label = ModelSpec.parse(key).label
        for r in result["summary"]:
            ratios = " | ".join(f"{r[k]:.2f}×" if k in r else "–" for k in ("cpu_ratio", "wall_ratio", "slots_ratio"))
            print(f"| {label} | {r['strategy']} | {r['steps']} | {r['waste']:.1%} | {r['cpu_s']:.2f} "
                  f"| {r['wall_s']:.2f} | {ratios} |")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as file:
            json.dump({"dataset": args.dataset, "reps": args.reps, "results": results}, file, indent=1)


if __name__ == "__main__":
    main()
