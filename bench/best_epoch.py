"""When does early stopping end a run? Best epoch and epochs run against the training set's size.

    python bench/best_epoch.py --dataset mr --rows 500,1000,2000,4000 > results/best_epoch_mr.jsonl
    python bench/best_epoch.py --summary results/best_epoch_*.jsonl

Each run is `compare`'s own (80/10/10 split, split seed `--seed`, bucketed batching, the models' defaults) on
`--rows` texts drawn at random (seed 0) from a shared data set. One JSON line per run: training texts, optimiser
steps an epoch, classes, epochs run and the epoch whose weights were kept. `--summary` sets each run beside the
epochs the time estimate expects (`NeuralTextClassifier.expected_epochs`), fits the estimate's rule (log best
epoch on log steps an epoch and log classes, least squares) and checks it on each data set with a fit on the
other sets only.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from common import dataset_path, sample_rows

from textclf.data.reading import load_dataset
from textclf.models import create
from textclf.runs.config import CompareConfig, ModelSpec, RunSpec
from textclf.runs.prepare import prepare
from textclf.runs.run_one import build_estimator, run_one
from textclf.training.loop import wait_after


def record(args) -> None:
    torch.set_num_threads(1)
    full = load_dataset(dataset_path(args.dataset))
    config = CompareConfig(split_seed=args.seed, batchings=("bucket",))
    for rows in (int(r) for r in args.rows.split(",")):
        prepared = prepare(sample_rows(full, rows), config)
        for model in args.models.split(","):
            spec = RunSpec(ModelSpec.parse(model), "bucket", 0, None)
            estimator = build_estimator(spec, config, prepared)
            train_texts = len(prepared.part("train", None)[1])
            result = run_one(spec, prepared, config).record
            print(json.dumps({"dataset": args.dataset, "rows": min(rows, len(full)), "model": model,
                              "train_texts": train_texts,
                              "steps_per_epoch": math.ceil(train_texts / estimator.batch_size),
                              "epochs_run": result["epochs_run"], "best_epoch": result["best_epoch"],
                              "classes": len(prepared.classes), "cap": estimator.epochs, "patience": estimator.patience,
                              "accuracy": result["accuracy"]}), flush=True)


PREVIOUS_RULE_EPOCHS = 5.2  # the estimate before this rule: best epoch 3.2 on every set, plus patience 2


def expected_epochs(row: dict, coefficients: np.ndarray | None = None) -> float:
    """The epochs the time estimate expects of this run: the library's rule, or the same form with other
    fitted coefficients (log scale, steps exponent, classes exponent)."""
    estimator = create(row["model"], epochs=row["cap"], patience=row["patience"])
    if coefficients is None:
        return estimator.expected_epochs(row["train_texts"], row["classes"])
    scale, steps, classes = coefficients
    best = math.exp(scale) * row["steps_per_epoch"] ** steps * row["classes"] ** classes
    return min(row["cap"], best + wait_after(best, row["patience"]))


def fit(rows: list[dict]) -> np.ndarray:
    """Least squares of log(best epoch) on log(steps an epoch) and log(classes)."""
    inputs = np.array([[1.0, math.log(r["steps_per_epoch"]), math.log(r["classes"])] for r in rows])
    return np.linalg.lstsq(inputs, np.log([r["best_epoch"] for r in rows]), rcond=None)[0]


def accuracy_of(estimates: list[float], rows: list[dict]) -> str:
    """How close expected epochs come to the epochs run: total ratio, median factor off, runs within 1.5×."""
    factors = [max(e / r["epochs_run"], r["epochs_run"] / e) for e, r in zip(estimates, rows, strict=True)]
    return (f"total {sum(estimates) / sum(r['epochs_run'] for r in rows):.2f}, median factor off "
            f"{statistics.median(factors):.2f}, within 1.5×: {sum(f <= 1.5 for f in factors)} of {len(rows)}")


def summarize(paths: list[str]) -> None:
    """Each run beside the estimate's expectation; the fit itself, and each data set's estimate from a fit
    on the other data sets only."""
    rows = [json.loads(line) for path in paths for line in Path(path).read_text().splitlines() if line.startswith("{")]
    rows.sort(key=lambda r: (r["dataset"], r["model"], r["rows"]))
    print("| data | classes | model | rows | steps an epoch | best epoch | epochs run | expected | expected / run |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        expected = expected_epochs(row)
        print(f"| {row['dataset']} | {row['classes']} | {row['model']} | {row['rows']} | {row['steps_per_epoch']} | "
              f"{row['best_epoch']} | {row['epochs_run']} | {expected:.1f} | {expected / row['epochs_run']:.2f} |")
    print(f"\nthe library's rule: {accuracy_of([expected_epochs(r) for r in rows], rows)}")
    print(f"{PREVIOUS_RULE_EPOCHS} epochs for every run: {accuracy_of([PREVIOUS_RULE_EPOCHS] * len(rows), rows)}")
    scale, steps, classes = fit(rows)
    print(f"fit on all runs: best epoch = {math.exp(scale):.2f} × steps ** {steps:.3f} × classes ** {classes:.3f}")
    print("\n| data set left out | runs | expected / run, fitted on the other sets | same, the library's rule |")
    print("|---|---|---|---|")
    for dataset in sorted({r["dataset"] for r in rows}):
        held_out = [r for r in rows if r["dataset"] == dataset]
        others = fit([r for r in rows if r["dataset"] != dataset])
        print(f"| {dataset} | {len(held_out)} | {accuracy_of([expected_epochs(r, others) for r in held_out], held_out)}"
              f" | {accuracy_of([expected_epochs(r) for r in held_out], held_out)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--rows", default="500,1000,2000,4000")
    parser.add_argument("--models", default="cnn,rnn")
    parser.add_argument("--seed", type=int, default=0, help="the split seed")
    parser.add_argument("--summary", nargs="+", metavar="FILE")
    args = parser.parse_args()
    if args.summary:
        return summarize(args.summary)
    record(args)


if __name__ == "__main__":
    sys.exit(main())
