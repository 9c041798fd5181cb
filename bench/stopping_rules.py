"""Early-stopping rules compared on the same training runs: how many epochs each runs, and what it costs in accuracy.

    python bench/stopping_rules.py --dataset mr --models cnn,rnn --folds 1-10 > mr_rules.jsonl
    python bench/stopping_rules.py --dataset waimai_10k --protocol split --seeds 0,1,2 --models cnn,rnn >> w.jsonl
    python bench/stopping_rules.py --simulate mr_rules.jsonl w.jsonl

A run is `compare`'s own (the same folds and splits as bench/accuracy_cv.py, bucketed batching), trained with a
patience long enough for every rule below (`--patience`, 5 as today); after each epoch the test accuracy of that
epoch's weights is recorded too, for this benchmark only (nothing is selected on it). A stopping rule only decides
when to stop and which epoch's weights to keep, and every epoch before its stop is the same whatever the rule, so
each rule's result is read off the one recorded history exactly: the epochs it would have run and the test
accuracy of the weights it would have kept. `--simulate` prints, per rule, the epochs run (and the share cut
against today's rule) and the accuracy paired fold by fold with today's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import torch
from accuracy_cv import parts
from common import dataset_path

from textclf.data.reading import load_dataset
from textclf.runs.config import ModelSpec, RunSpec
from textclf.runs.run_one import build_estimator
from textclf.training.progress import EpochDone

TODAY = "acc-or-loss p5"


def record_histories(args) -> None:
    """One JSON line per (fold or seed, model): the run's epochs with validation and test accuracy."""
    torch.set_num_threads(1)
    dataset = load_dataset(dataset_path(args.dataset))
    specs = [ModelSpec.parse(m) for m in args.models.split(",")]
    for where, prepared, config, fold in parts(dataset, args):
        for spec in specs:
            params = {**spec.params, "patience": args.patience, "precision": args.precision}
            estimator = build_estimator(RunSpec(ModelSpec(spec.key, params), "bucket", 0, fold), config, prepared)
            train, validation = prepared.part("train", fold), prepared.part("validation", fold)
            test_docs, test_labels = prepared.part("test", fold)
            test_accuracy = {}

            def score_test(event, estimator=estimator, test_docs=test_docs, test_labels=test_labels,
                           seen=test_accuracy):
                if isinstance(event, EpochDone):
                    estimator.history_ = []  # mid-fit: the weights exist, the fitted check looks for a history
                    predicted = estimator.predict(test_docs)
                    seen[event.record.epoch] = float((predicted == test_labels).mean())

            estimator.fit_for_run(train, validation, progress=score_test)
            kept_accuracy = float((estimator.predict(test_docs) == test_labels).mean())
            epochs = [{"epoch": h["epoch"], "val_accuracy": h["val_accuracy"], "val_loss": h["val_loss"],
                       "seconds": h["seconds"], "test_accuracy": test_accuracy[h["epoch"]]}
                      for h in estimator.history_records()]
            print(json.dumps({"dataset": args.dataset, "model": spec.key, "precision": args.precision,
                              "where": where, "cap": estimator.epochs, "accuracy": kept_accuracy,
                              "epochs": epochs}), flush=True)


def by_accuracy(epoch: dict) -> tuple:
    return (epoch["val_accuracy"], -epoch["val_loss"])


def by_loss(epoch: dict) -> tuple:
    return (-epoch["val_loss"], epoch["val_accuracy"])


def accuracy_or_loss(epoch: dict, seen: list[dict]) -> bool:
    """Today's progress test (textclf.training.loop.EarlyStopping): a new best by accuracy, or a new lowest loss."""
    return by_accuracy(epoch) > max(map(by_accuracy, seen)) or epoch["val_loss"] < min(e["val_loss"] for e in seen)


def loss_only(epoch: dict, seen: list[dict]) -> bool:
    return epoch["val_loss"] < min(e["val_loss"] for e in seen)


def rules() -> dict:
    """name -> (progress test, patience, key of the kept epoch)."""
    found = {}
    for patience in (5, 4, 3, 2, 1):
        found[f"acc-or-loss p{patience}"] = (accuracy_or_loss, patience, by_accuracy)
    for patience in (3, 2):
        found[f"loss p{patience}, keep best acc"] = (loss_only, patience, by_accuracy)
        found[f"loss p{patience}, keep lowest loss"] = (loss_only, patience, by_loss)
    return found


def apply_rule(epochs: list[dict], progressed, patience: int, keep) -> tuple[int, float]:
    """(epochs run, test accuracy of the kept epoch) had training stopped by this rule."""
    without, run = 0, []
    for epoch in epochs:
        without = 0 if not run or progressed(epoch, run) else without + 1
        run.append(epoch)
        if without >= patience:
            break
    return len(run), max(run, key=keep)["test_accuracy"]


def simulate(paths: list[str]) -> None:
    rows = [json.loads(line) for path in paths for line in Path(path).read_text().splitlines()
            if line.startswith("{")]
    groups = defaultdict(list)
    for row in rows:
        assert apply_rule(row["epochs"], *rules()[TODAY])[1] == row["accuracy"], "today's rule read off wrongly"
        groups[(row["dataset"], row["model"], row["precision"])].append(row)
    print("| data | model | precision | rule | runs | epochs run (mean) | cut | accuracy "
          "| − today, paired (not worse) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (dataset, model, precision), group in groups.items():
        today = [apply_rule(r["epochs"], *rules()[TODAY]) for r in group]
        for name, rule in rules().items():
            results = [apply_rule(r["epochs"], *rule) for r in group]
            epochs = statistics.mean(e for e, _ in results)
            cut = 1 - epochs / statistics.mean(e for e, _ in today)
            differences = [100 * (a - b) for (_, a), (_, b) in zip(results, today, strict=True)]
            not_worse = sum(d >= 0 for d in differences)
            print(f"| {dataset} | {model} | {precision} | {name} | {len(group)} | {epochs:.1f} | {cut:.0%} | "
                  f"{statistics.mean(a for _, a in results):.4f} | {statistics.mean(differences):+.2f} "
                  f"({not_worse} of {len(group)}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--models", default="cnn,rnn")
    parser.add_argument("--protocol", choices=("cv", "split"), default="cv")
    parser.add_argument("--folds", default="1-10")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--tokenizer", default="auto")
    parser.add_argument("--patience", type=int, default=5, help="the recorded runs' patience (today's rule)")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--simulate", nargs="+", metavar="FILE", help="print each rule's epochs and accuracy")
    args = parser.parse_args()
    args.refit = False
    if args.simulate:
        return simulate(args.simulate)
    record_histories(args)


if __name__ == "__main__":
    sys.exit(main())
