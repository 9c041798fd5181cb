"""Accuracy of models with their defaults (or changed settings) under the issue-8 protocols, fold by fold.

    python bench/accuracy_cv.py --dataset cr --models cnn,rnn --folds 1-10
    python bench/accuracy_cv.py --dataset waimai_10k --protocol split --seeds 0,1,2 --models svm,cnn

Each run is `python -m textclf compare`'s own (`textclf.runs.prepare.prepare` and `run_one`, bucket batching):
`cv` is `compare --cv 10` (stratified 10-fold cross-validation shuffled with seed 0, validation carved out of
each fold's training part), `split` is compare's 80/10/10 split with split seeds `--seeds`. Unlike `compare`,
it prints one JSON line per (fold or seed, model) as soon as that run finishes, so a long run that is cut
short keeps its finished folds; `--summary FILE.jsonl …` prints mean ± sd per model from such lines, and with
`--paired cnn` each model's difference from `cnn` on the same folds or seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import torch
from common import dataset_path

from textclf.data.reading import load_dataset
from textclf.runs.config import CompareConfig, ModelSpec, RunSpec
from textclf.runs.prepare import prepare
from textclf.runs.run_one import run_one

CV_FOLDS = 10
FEW_PARTS = 3
RECORDED = ("accuracy", "train_seconds", "refit_seconds", "epochs_run", "best_epoch", "note")


def parts(dataset, args) -> list[tuple[str, object, CompareConfig, int | None]]:
    """(label, prepared data, config, fold) for every fold or split seed asked for."""
    if args.protocol == "cv":
        config = CompareConfig(cv=CV_FOLDS, batchings=("bucket",), tokenizer=args.tokenizer, refit=args.refit)
        prepared = prepare(dataset, config)
        first, _, last = args.folds.partition("-")
        folds = range(int(first), int(last) + 1) if last else [int(f) for f in args.folds.split(",")]
        return [(f"fold {fold}", prepared, config, fold) for fold in folds]
    configs = [CompareConfig(split_seed=int(seed), batchings=("bucket",), tokenizer=args.tokenizer, refit=args.refit)
               for seed in args.seeds.split(",")]
    return [(f"seed {c.split_seed}", prepare(dataset, c), c, None) for c in configs]


def summarize(paths: list[str], paired_with: str | None = None) -> None:
    """Mean ± sd per (data, model, tokenizer) over the files' lines; with `paired_with`, also each model's mean
    difference from that model on the same data and the same folds or seeds, and on how many it was not worse.

    A model name found in several files (`cnn` under two defaults) is told apart by its file: `cnn [FILE]`."""
    rows_of = {path: [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
                      if line.startswith("{")] for path in paths}
    files_of = defaultdict(set)
    for path, rows in rows_of.items():
        for row in rows:
            files_of[(row["dataset"], row["model"])].add(path)
    results = defaultdict(list)
    for path, rows in rows_of.items():
        for row in rows:
            model = row["model"]
            if len(files_of[(row["dataset"], model)]) > 1:
                model = f"{model} [{Path(path).stem}]"
            results[(row["dataset"], model, row.get("tokenizer", ""))].append(row)
    extra = f" − {paired_with}, paired (not worse) |" if paired_with else ""
    header = "| data | model | tokenizer | accuracy (mean ± sd) | runs | train s / run | epochs run | best epoch |"
    print(header + extra)
    print("|---|---|---|---|---|---|---|---|" + ("---|" if paired_with else ""))
    for (dataset, model, tokenizer), rows in results.items():
        accuracies = [r["accuracy"] for r in rows]
        sd = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        epochs = [r["epochs_run"] for r in rows if r.get("epochs_run")]
        best = [r["best_epoch"] for r in rows if r.get("best_epoch")]
        span = lambda v: f"{min(v)}–{max(v)}" if v else "–"  # noqa: E731
        epochs_run = f"{span(epochs)} (mean {statistics.mean(epochs):.1f})" if epochs else "–"
        paired = f" {_paired(rows, results.get((dataset, paired_with, tokenizer), []))} |" if paired_with else ""
        print(f"| {dataset} | {model} | {tokenizer} | {statistics.mean(accuracies):.4f} ± {sd:.4f} | {len(rows)} | "
              f"{statistics.mean(r['train_seconds'] for r in rows):.1f} | {epochs_run} | {span(best)} |{paired}")


def _paired(rows: list[dict], baseline: list[dict]) -> str:
    """Mean accuracy difference in points over the folds or seeds both have run (the latest baseline line wins),
    and each one when there are few (the split protocol's seeds)."""
    base = {r["where"]: r["accuracy"] for r in baseline}
    by_part = {r["where"]: 100 * (r["accuracy"] - base[r["where"]]) for r in rows if r["where"] in base}
    if not by_part:
        return "–"
    differences = list(by_part.values())
    not_worse = sum(d >= 0 for d in differences)
    each = ("; " + ", ".join(f"{where} {by_part[where]:+.2f}" for where in sorted(by_part))
            if len(by_part) <= FEW_PARTS else "")
    return f"{statistics.mean(differences):+.2f} ({not_worse} of {len(differences)}{each})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--models", default="cnn,rnn,svm,knn",
                        help="comma-separated, options after colons as in compare, e.g. cnn:optimizer=adadelta")
    parser.add_argument("--protocol", choices=("cv", "split"), default="cv")
    parser.add_argument("--folds", default="1-10", help="CV folds to run (1 to 10), e.g. 1-10 or 1,2,3")
    parser.add_argument("--seeds", default="0,1,2", help="split seeds for --protocol split")
    parser.add_argument("--tokenizer", default="auto")
    parser.add_argument("--refit", action="store_true", help="neural models trained again on training + validation")
    parser.add_argument("--summary", nargs="+", metavar="FILE",
                        help="print mean ± sd from files of this script's JSON lines, and exit")
    parser.add_argument("--paired", metavar="MODEL",
                        help="with --summary: each model's paired difference from MODEL (e.g. cnn), same folds")
    args = parser.parse_args()
    if args.summary:
        return summarize(args.summary, args.paired)
    torch.set_num_threads(1)
    dataset = load_dataset(dataset_path(args.dataset))
    specs = [ModelSpec.parse(m) for m in args.models.split(",")]
    for where, prepared, config, fold in parts(dataset, args):
        for spec in specs:
            batching = "bucket" if spec.key in ("cnn", "rnn") else "none"
            record = run_one(RunSpec(spec, batching, 0, fold), prepared, config).record
            name = ":".join([spec.key, *(f"{k}={v}" for k, v in spec.params.items())])
            name += " refit" if args.refit else ""
            row = {"dataset": args.dataset, "model": name, "where": where, "tokenizer": prepared.tokenizer,
                   **{name: record.get(name) for name in RECORDED}}
            print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    sys.exit(main())
