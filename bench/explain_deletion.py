"""Deletion test of every explanation method, and integrated gradients' completeness gap, on a shared data set.

    nice -n 10 python bench/explain_deletion.py --dataset mr --texts 200

Trains each model on `compare`'s training split (small neural models to save CPU: 64-d embeddings, 3 epochs,
one torch thread; SVM and kNN at their defaults), then, on the first `--texts` usable test texts (more than 3
tokens read and at least one known word), removes each text's top-3 tokens by the explanation and 3 random
tokens, and reports the mean drop in the predicted class's probability for both. Integrated gradients runs
with its default steps (50, doubled while the completeness gap exceeds 5 %).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from common import REPO, prepared

from textclf.explain.faithfulness import deletion_test
from textclf.models import create

SMALL_NEURAL = {"embed_dim": 64, "epochs": 3, "patience": 3}
MODELS = {
    "cnn": {**SMALL_NEURAL, "filters": 64, "wide": False, "lr": 2e-3},  # as BENCHMARKS.md's figures were measured
    "rnn": {**SMALL_NEURAL, "hidden": 64, "pooling": "attention"},
    "han": {**SMALL_NEURAL, "hidden": 32},
    "svm": {},
    "svm:nb": {"nb": True},
    "knn": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = prepared(args.dataset)
    train_docs, train_labels = data.part("train")
    test_docs = data.part("test")[0]
    results = []
    for key in args.models.split(","):
        started = time.perf_counter()
        family = key.partition(":")[0]
        neural = {"max_len": data.max_len} if family in ("cnn", "rnn", "han") else {}
        model = create(family, **MODELS[key], **neural, tokenizer=data.tokenizer)
        model.fit(train_docs, list(train_labels))
        trained = time.perf_counter() - started
        for method in model.explainers():
            started = time.perf_counter()
            result = deletion_test(model, test_docs, method, limit=args.texts)
            row = {**result.as_dict(), "dataset": args.dataset, "train_seconds": trained,
                   "explain_seconds": time.perf_counter() - started}
            results.append(row)
            print(json.dumps(row), flush=True)
    out = REPO / "bench" / "results" / f"explain_deletion_{args.dataset}.json"
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "texts": args.texts,
                               "models": MODELS, "results": results}, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
