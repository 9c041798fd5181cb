"""The pretrained-encoder row (issue 26): the frozen encoder's accuracy under compare's folds, and fine-tuning's CPU
seconds per epoch under max-length and bucketed batching.

    python bench/encoder.py accuracy --dataset cr                      # encoder + LR, compare's 10 folds
    python bench/encoder.py epoch --dataset mr --rows 1000 --val 400   # finetune, one epoch per batching
    python bench/encoder.py epoch --dataset mr --rows 1000 --epochs 3  # three epochs each, every epoch printed
    python bench/encoder.py finetune --dataset cr --folds 1            # finetune as compare --cv 10 runs it

`accuracy` prepares the data as `compare --cv 10` does (same folds, same tokens) and prints one JSON line per fold
in bench/accuracy_cv.py's format, so `accuracy_cv.py --summary ... --paired svm:nb=True` pairs it with the
classical rows of bench/results/accuracy. The frozen embeddings depend on nothing learned, so every text is
embedded once (as `encoder` does per run, in length-sorted batches) and each fold fits only its regression on
its training and validation parts, which is what `encoder` fits on in a comparison.

`epoch` takes `--rows` texts of fold 1's training part (shuffled, seed 0) and `--val` of its validation part and
fine-tunes `finetune` (its defaults: batches of 32, AdamW 5e-5 with warm-up and decay) for `--epochs` under each
batching (early stopping's patience set to the same number, so every epoch runs), from the same pretrained
weights and head seed, one batching after the other. Reported per epoch: the process CPU seconds of training
(validation excluded), its wall seconds, steps, padded slots, padding waste and the validation accuracy after
it. One torch thread.

`finetune` runs `finetune` (bucketed, its defaults) on compare's folds through compare's own `run_one`, one JSON
line per fold in accuracy_cv.py's format: what `compare --cv 10 --models finetune --batching bucket` trains
(`--batching max_length`: the same under max-length batches, named "finetune (max_length)" in the lines).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from common import dataset_path
from sklearn.linear_model import LogisticRegression

from textclf.data.reading import load_dataset
from textclf.models import create
from textclf.models.encoder import sentence_embeddings
from textclf.models.pretrained import DEFAULT_PIECES, resolve_encoder
from textclf.runs.config import CompareConfig, ModelSpec, RunSpec
from textclf.runs.prepare import prepare
from textclf.runs.run_one import run_one

CV_FOLDS = 10
RECORDED = ("accuracy", "train_seconds", "train_cpu_seconds", "epochs_run", "best_epoch", "note")


def accuracy(args) -> None:
    prepared = prepare(load_dataset(dataset_path(args.dataset)), CompareConfig(cv=CV_FOLDS, batchings=("bucket",)))
    start = time.process_time()
    features = sentence_embeddings(resolve_encoder(""), prepared.tokens, DEFAULT_PIECES, 64)
    print(json.dumps({"dataset": args.dataset, "embedded_texts": len(features),
                      "embedding_cpu_seconds": round(time.process_time() - start, 1)}), flush=True)
    for fold in range(1, CV_FOLDS + 1):
        split = prepared.fold_split(fold)
        train = np.concatenate([split.train, split.validation])
        for C in args.C:
            started = time.perf_counter()
            model = LogisticRegression(C=C, max_iter=2000).fit(features[train], prepared.labels[train].astype(str))
            correct = model.predict(features[split.test]) == prepared.labels[split.test].astype(str)
            print(json.dumps({"dataset": args.dataset, "model": "encoder" if C == 1.0 else f"encoder:C={C}",
                              "where": f"fold {fold}", "tokenizer": prepared.tokenizer,
                              "accuracy": float(correct.mean()), "train_seconds": time.perf_counter() - started,
                              "epochs_run": None, "best_epoch": None, "note": "frozen encoder, embedded once"}),
                  flush=True)


def epoch(args) -> None:
    prepared = prepare(load_dataset(dataset_path(args.dataset)), CompareConfig(cv=CV_FOLDS, batchings=("bucket",)))
    split = prepared.fold_split(1)
    rng = np.random.default_rng(0)
    train = rng.permutation(split.train)[:args.rows]
    val = rng.permutation(split.validation)[:args.val]
    docs = [prepared.tokens[i] for i in train]
    labels = prepared.labels[train].astype(str).tolist()
    validation = ([prepared.tokens[i] for i in val], prepared.labels[val].astype(str).tolist())
    for batching in args.batchings:
        model = create("finetune", batching=batching, epochs=args.epochs, patience=args.epochs, seed=0)
        model.fit(docs, labels, validation=validation)
        for record in model.history_:
            print(json.dumps({"dataset": args.dataset, "rows": len(docs), "batching": batching,
                              "epoch": record.epoch, "cpu_seconds": round(record.cpu_seconds, 1),
                              "wall_seconds": round(record.seconds, 1), "steps": record.steps,
                              "real_tokens": record.real_tokens, "padded_slots": record.padded_slots,
                              "padding_waste": round(record.padding_waste, 3), "val_texts": len(val),
                              "val_accuracy": round(record.val_accuracy, 4),
                              "val_seconds": round(record.val_seconds, 1)}), flush=True)


def finetune(args) -> None:
    config = CompareConfig(cv=CV_FOLDS, batchings=(args.batching,))
    prepared = prepare(load_dataset(dataset_path(args.dataset)), config)
    name = "finetune" if args.batching == "bucket" else f"finetune ({args.batching})"
    for fold in args.folds:
        record = run_one(RunSpec(ModelSpec("finetune"), args.batching, 0, fold), prepared, config).record
        print(json.dumps({"dataset": args.dataset, "model": name, "where": f"fold {fold}",
                          "tokenizer": prepared.tokenizer, **{name: record.get(name) for name in RECORDED}}),
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("accuracy", "epoch", "finetune"))
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--C", type=float, nargs="+", default=[1.0], help="accuracy: regression strengths to fit")
    parser.add_argument("--rows", type=int, default=1000, help="epoch: training texts")
    parser.add_argument("--val", type=int, default=400, help="epoch: validation texts")
    parser.add_argument("--batchings", nargs="+", default=["max_length", "bucket"])
    parser.add_argument("--epochs", type=int, default=1, help="epoch: epochs per batching (no early stop)")
    parser.add_argument("--folds", type=int, nargs="+", default=[1], help="finetune: folds of compare --cv 10")
    parser.add_argument("--batching", default="bucket", help="finetune: the batching strategy it trains under")
    args = parser.parse_args()
    torch.set_num_threads(1)
    {"accuracy": accuracy, "epoch": epoch, "finetune": finetune}[args.what](args)


if __name__ == "__main__":
    sys.exit(main())
