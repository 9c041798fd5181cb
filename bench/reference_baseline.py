"""The issue-8 reference baseline, exactly as it was measured (ten lines of scikit-learn), on compare's own splits.

    python bench/reference_baseline.py --dataset waimai_10k --seeds 0,1,2

The reference: sublinear TF-IDF with scikit-learn's own analyzers (character 1–3-grams of the raw text for
Chinese, word 1–2-grams for English), LinearSVC with C = 1, fitted on training + validation (90 %) and scored
on the test part of `compare`'s 80/10/10 split for each split seed, beside the product's SVM on the same split.
A baseline measured on one other split can differ by more than a point from these: this puts both on the same
texts, so the comparison is about the method, not the split.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from common import dataset_path
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from textclf.data.reading import load_dataset
from textclf.runs.config import CompareConfig, ModelSpec, RunSpec
from textclf.runs.prepare import prepare
from textclf.runs.run_one import run_one


def reference(chinese: bool):
    features = (TfidfVectorizer(sublinear_tf=True, analyzer="char", ngram_range=(1, 3)) if chinese
                else TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)))
    return make_pipeline(features, LinearSVC(C=1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="waimai_10k")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    dataset = load_dataset(dataset_path(args.dataset))
    print("| split seed | reference (issue 8) | product SVM | same prediction |")
    print("|---|---|---|---|")
    scores = {"reference": [], "product": []}
    for seed in (int(s) for s in args.seeds.split(",")):
        config = CompareConfig(split_seed=seed, models=("svm",), batchings=("bucket",))
        prepared = prepare(dataset, config)
        train_texts, train_labels = prepared.part("train", raw=True)
        val_texts, val_labels = prepared.part("validation", raw=True)
        test_texts, test_labels = prepared.part("test", raw=True)
        model = reference(prepared.tokenizer in ("chars", "jieba"))
        model.fit(train_texts + val_texts, np.concatenate([train_labels, val_labels]))
        ours = run_one(RunSpec(ModelSpec.parse("svm"), "none", 0), prepared, config)
        theirs = model.predict(test_texts)
        scores["reference"].append(float(np.mean(theirs == test_labels)))
        scores["product"].append(ours.record["accuracy"])
        agreement = float(np.mean(theirs.astype(str) == np.asarray(ours.predictions, dtype=str)))
        print(f"| {seed} | {scores['reference'][-1]:.4f} | {scores['product'][-1]:.4f} | {agreement:.1%} |", flush=True)
    print(f"| mean | {statistics.mean(scores['reference']):.4f} | {statistics.mean(scores['product']):.4f} | |")


if __name__ == "__main__":
    main()
