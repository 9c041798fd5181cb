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

The same histories check a precision: record bf16 runs with `--precision bf16 --patience 2` (the default rule's
patience, so no epoch past it is paid for) and `--precision-pairs FILE...` reads the default rule off the fp32
and the bf16 histories alike and pairs them fold by fold (the issue's bf16 line: not worse by more than 0.3).
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
from textclf.training.loop import MIN_LOSS_DROP, EarlyStopping
from textclf.training.progress import EpochDone

TODAY = "acc-or-loss p5"  # the rule of the recorded fp32 runs, the one the others are read against
DEFAULT_RULE = "default (p2, growing, loss by 0.001)"
# The library's own EarlyStopping at patience 2, read off a history: with its minimum loss drop (the default), and
# with larger ones (what they would cut, and cost).
LIBRARY_RULES = {DEFAULT_RULE: MIN_LOSS_DROP, **{f"p2, growing, loss by {drop}": drop for drop in (0.005, 0.01)}}


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
                              "patience": args.patience, "where": where, "cap": estimator.epochs,
                              "accuracy": kept_accuracy,
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


def library_rule(epochs: list[dict], patience: int = 2, **options) -> tuple[int, float]:
    """The default rule as the product runs it: textclf's EarlyStopping fed each epoch's validation scores."""
    stopping, kept = EarlyStopping(patience, **options), None
    for epoch in epochs:
        if stopping.update(epoch["val_accuracy"], epoch["val_loss"]):
            kept = epoch
        if stopping.should_stop:
            break
    return stopping.epochs_seen, kept["test_accuracy"]


def result_of(name: str, epochs: list[dict]) -> tuple[int, float]:
    """(epochs run, kept test accuracy) under the rule called `name`."""
    if name in LIBRARY_RULES:
        return library_rule(epochs, min_loss_drop=LIBRARY_RULES[name])
    return apply_rule(epochs, *rules()[name])


def read_histories(paths: list[str]) -> list[dict]:
    """The recorded runs, each checked: its own rule read off its history gives its own accuracy."""
    rows = [json.loads(line) for path in paths for line in Path(path).read_text().splitlines()
            if line.startswith("{")]
    for row in rows:
        own_rule = rules()[f"acc-or-loss p{row.get('patience', 5)}"]
        assert apply_rule(row["epochs"], *own_rule)[1] == row["accuracy"], "the run's own rule read off wrongly"
    return rows


def simulate(paths: list[str]) -> None:
    groups = defaultdict(list)
    for row in read_histories(paths):
        if row.get("patience", 5) == 5:  # every rule here can be read off a patience-5 history
            groups[(row["dataset"], row["model"], row["precision"])].append(row)
    print("| data | model | precision | rule | runs | epochs run (mean) | cut | accuracy "
          "| − today, paired (not worse) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (dataset, model, precision), group in groups.items():
        today = [result_of(TODAY, r["epochs"]) for r in group]
        for name in [*rules(), *LIBRARY_RULES]:
            results = [result_of(name, r["epochs"]) for r in group]
            epochs = statistics.mean(e for e, _ in results)
            cut = 1 - epochs / statistics.mean(e for e, _ in today)
            differences = paired_differences(results, today)
            not_worse = sum(d >= 0 for d in differences)
            print(f"| {dataset} | {model} | {precision} | {name} | {len(group)} | {epochs:.1f} | {cut:.0%} | "
                  f"{statistics.mean(a for _, a in results):.4f} | {statistics.mean(differences):+.2f} "
                  f"({not_worse} of {len(group)}) |")
    print_pooled(groups)


def paired_differences(results: list[tuple], today: list[tuple]) -> list[float]:
    """Kept test accuracy minus today's, in points, run by run."""
    return [100 * (a - b) for (_, a), (_, b) in zip(results, today, strict=True)]


def print_pooled(groups: dict) -> None:
    """The issue's line over every set at once: the share of all epochs each rule cuts, and its worst
    (data, model) mean paired difference."""
    print("\n| rule | runs | epochs run, all runs | cut | worst mean paired difference (data, model) |")
    print("|---|---|---|---|---|")
    runs = [row for group in groups.values() for row in group]
    today = sum(result_of(TODAY, row["epochs"])[0] for row in runs)
    for name in [*rules(), *LIBRARY_RULES]:
        epochs = sum(result_of(name, row["epochs"])[0] for row in runs)
        worst = min((statistics.mean(paired_differences([result_of(name, r["epochs"]) for r in group],
                                                        [result_of(TODAY, r["epochs"]) for r in group])),
                     f"{dataset}, {model}") for (dataset, model, _), group in groups.items())
        print(f"| {name} | {len(runs)} | {epochs} of {today} | {1 - epochs / today:.1%} | "
              f"{worst[0]:+.2f} ({worst[1]}) |")


def precision_pairs(paths: list[str]) -> None:
    """bf16 against fp32 under the default rule, paired by fold: mean accuracies, difference, epochs run."""
    outcome = {(row["dataset"], row["model"], row["precision"], row["where"]):
               result_of(DEFAULT_RULE, row["epochs"]) for row in read_histories(paths)}
    print("| data | model | folds | fp32 accuracy | bf16 accuracy | bf16 − fp32, paired (not worse) "
          "| epochs fp32 / bf16 |")
    print("|---|---|---|---|---|---|---|")
    for dataset, model in dict.fromkeys((d, m) for d, m, _, _ in outcome):
        folds = [w for d, m, p, w in outcome if (d, m, p) == (dataset, model, "bf16")
                 and (dataset, model, "fp32", w) in outcome]
        if not folds:
            continue
        fp32 = [outcome[(dataset, model, "fp32", w)] for w in folds]
        bf16 = [outcome[(dataset, model, "bf16", w)] for w in folds]
        differences = [100 * (b - f) for (_, b), (_, f) in zip(bf16, fp32, strict=True)]
        print(f"| {dataset} | {model} | {len(folds)} | {statistics.mean(a for _, a in fp32):.4f} | "
              f"{statistics.mean(a for _, a in bf16):.4f} | {statistics.mean(differences):+.2f} "
              f"({sum(d >= 0 for d in differences)} of {len(folds)}) | {statistics.mean(e for e, _ in fp32):.1f} / "
              f"{statistics.mean(e for e, _ in bf16):.1f} |")


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
    parser.add_argument("--precision-pairs", nargs="+", metavar="FILE",
                        help="pair bf16 with fp32 runs fold by fold under the default rule")
    args = parser.parse_args()
    args.refit = False
    if args.simulate:
        return simulate(args.simulate)
    if args.precision_pairs:
        return precision_pairs(args.precision_pairs)
    record_histories(args)


if __name__ == "__main__":
    sys.exit(main())
