"""Accuracy of models with their defaults (or changed settings) under the issue-8 protocols.

    python bench/accuracy_cv.py --dataset cr --models cnn,rnn,svm,knn --folds 0-9
    python bench/accuracy_cv.py --dataset waimai_10k --protocol split --seeds 0,1,2 --models svm,cnn

`cv`: stratified 10-fold cross-validation, shuffled with seed 0 (scikit-learn's StratifiedKFold, the protocol
of Kim 2014 and Wang & Manning 2012); a neural model early-stops on 10 % of each fold's training part
(stratified, seed 0), as Kim did. `split`: compare's own 80/10/10 split with split seeds `--seeds`.
Tokens come from `textclf.experiment.prepare` (tokenizer `auto`, chosen on the training part), so every model
sees what `python -m textclf compare` would give it. One JSON line per (model, fold or seed) goes to stdout as
soon as it finishes (all models on one fold, then the next), so a long run that is cut short keeps its
finished folds; `--summary FILE.jsonl` prints mean ± sd per model from such lines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from common import dataset_path
from sklearn.model_selection import StratifiedKFold, train_test_split

from textclf.data import load_dataset
from textclf.experiment import CompareConfig, ModelSpec, prepare
from textclf.models import get_model_class

CV_FOLDS = 10
VALIDATION = 0.1


def folds(labels: np.ndarray, wanted: list[int]):
    """(fold, train, validation, test) indices of the wanted folds of the shuffled stratified 10-fold CV."""
    splitter = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=0)
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        if fold in wanted:
            train, validation = train_test_split(train, test_size=VALIDATION, stratify=labels[train],
                                                 random_state=0)
            yield fold, train, validation, test


def split_parts(dataset, config_seed: int):
    prepared = prepare(dataset, CompareConfig(split_seed=config_seed))
    return prepared, prepared.split.train, prepared.split.validation, prepared.split.test


def run(spec: ModelSpec, tokens, labels, train, validation, test, tokenizer: str, max_len: int) -> dict:
    cls = get_model_class(spec.key)
    params = {"tokenizer": tokenizer, **({"max_len": max_len} if cls.uses_batching else {}), **spec.params}
    model = cls(**params)
    pick = lambda index: [tokens[i] for i in index]  # noqa: E731
    options = {"validation": (pick(validation), list(labels[validation]))} if cls.uses_batching else {}
    fit_index = train if cls.uses_batching else np.concatenate([train, validation])
    started = time.perf_counter()
    model.fit(pick(fit_index), list(labels[fit_index]), **options)
    seconds = time.perf_counter() - started
    accuracy = float(np.mean(model.predict(pick(test)) == labels[test]))
    row = {"accuracy": accuracy, "train_seconds": round(seconds, 2)}
    if cls.uses_batching:
        best = max(model.history_, key=lambda h: (h.val_accuracy, -h.val_loss))
        row.update(epochs_run=len(model.history_), best_epoch=best.epoch)
    for name in ("k_", "tokenizer_"):
        if hasattr(model, name):
            row[name.rstrip("_")] = getattr(model, name)
    return row


def summarize(path: str) -> None:
    results = defaultdict(list)
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[(row["dataset"], row["model"])].append(row)
    print("| data | model | accuracy (mean ± sd) | runs | train s / run | epochs run | best epoch |")
    print("|---|---|---|---|---|---|---|")
    for (dataset, model), rows in results.items():
        accuracies = [r["accuracy"] for r in rows]
        sd = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        epochs = [r["epochs_run"] for r in rows if "epochs_run" in r]
        best = [r["best_epoch"] for r in rows if "best_epoch" in r]
        span = lambda v: f"{min(v)}–{max(v)}" if v else "–"  # noqa: E731
        print(f"| {dataset} | {model} | {statistics.mean(accuracies):.4f} ± {sd:.4f} | {len(rows)} | "
              f"{statistics.mean(r['train_seconds'] for r in rows):.1f} | {span(epochs)} | {span(best)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--models", default="cnn,rnn,svm,knn",
                        help="comma-separated, options after colons as in compare, e.g. cnn:optimizer=adam")
    parser.add_argument("--protocol", choices=("cv", "split"), default="cv")
    parser.add_argument("--folds", default="0-9", help="CV folds to run, e.g. 0-9 or 0,1,2")
    parser.add_argument("--seeds", default="0,1,2", help="split seeds for --protocol split")
    parser.add_argument("--tokenizer", default="auto")
    parser.add_argument("--summary", help="print mean ± sd from a file of this script's JSON lines, and exit")
    args = parser.parse_args()
    if args.summary:
        return summarize(args.summary)
    torch.set_num_threads(1)
    dataset = load_dataset(dataset_path(args.dataset))
    specs = [ModelSpec.parse(m) for m in args.models.split(",")]
    if args.protocol == "cv":
        prepared = prepare(dataset, CompareConfig(tokenizer=args.tokenizer))
        first, _, last = args.folds.partition("-")
        wanted = list(range(int(first), int(last) + 1)) if last else [int(f) for f in args.folds.split(",")]
        parts = [(f"fold {fold}", prepared, tr, va, te) for fold, tr, va, te in folds(prepared.labels, wanted)]
    else:
        parts = [(f"seed {seed}", *split_parts(dataset, seed)) for seed in map(int, args.seeds.split(","))]
    for where, prepared, train, validation, test in parts:
        for spec in specs:
            row = run(spec, prepared.tokens, prepared.labels, train, validation, test, prepared.tokenizer,
                      prepared.max_len)
            print(json.dumps({"dataset": args.dataset, "model": ":".join([spec.key] + [f"{k}={v}" for k, v in
                              spec.params.items()]), "where": where, **row}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
