"""The majority-class baseline (Weka's ZeroR) and the metric models are ranked by.

The baseline answers every test text with the class that was most frequent in the training part of the same
split or fold, so it is fitted on the training split only and scored on exactly the test texts the models were
scored on: it enters the summary, the chart and the paired tests like any other cell. Results files written
before the training class counts were recorded have no baseline (guessing it from the test labels would let the
test set choose it).

Ranking: with one dominant class, accuracy rewards a model for answering that class; macro F1 weighs every class
the same, so it is the default once the largest class holds more than 60 % of the test texts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from sklearn.metrics import f1_score

from textclf.data.split import fold_index
from textclf.runs.comparison import RunResult
from textclf.training.strategies import NOT_BATCHED

if TYPE_CHECKING:
    from textclf.runs.comparison import Comparison

MAJORITY = "Majority class"
MAJORITY_KEY = "majority"
DOMINANT_SHARE = 0.6
METRICS = ("accuracy", "macro_f1")
METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro F1"}


def majority_class(counts: Mapping[str, int]) -> str | None:
    """The most frequent class (ties go to the first name in sorted order, so it is repeatable); None if unknown."""
    if not counts:
        return None
    return max(sorted(counts), key=lambda name: counts[name])


def _train_counts(comparison: Comparison) -> list[tuple[int | None, dict]]:
    """(fold, training class counts) of the single split or of every fold."""
    if not comparison.folds:
        return [(None, comparison.train_class_counts)]
    return [(number, fold.get("train_class_counts", {})) for number, fold in enumerate(comparison.folds, start=1)]


def baseline_runs(comparison: Comparison) -> list[RunResult]:
    """One baseline 'run' per split or fold that a model was tested on; none without training class counts."""
    tested = {fold_index(run.record.get("fold")) for run in comparison.runs}
    runs = []
    for fold, counts in _train_counts(comparison):
        answer = majority_class(counts)
        if answer is None or fold_index(fold) not in tested:
            continue
        truth, _ = comparison.test_of({"fold": fold})
        predictions = [answer] * len(truth)
        runs.append(RunResult(_record(fold, answer, truth, predictions), [], predictions))
    return runs


def _record(fold: int | None, answer: str, truth: Sequence[str], predictions: list[str]) -> dict:
    right = sum(t == p for t, p in zip(truth, predictions, strict=True))
    return {"model": MAJORITY, "model_key": MAJORITY_KEY, "batching": NOT_BATCHED, "seed": 0, "fold": fold,
            "accuracy": right / max(1, len(truth)),
            "macro_f1": float(f1_score(truth, predictions, average="macro", zero_division=0)),
            "train_seconds": 0.0, "test_texts": len(truth),
            "note": f"always answers '{answer}', the most frequent class of the training part"}


def with_baseline(comparison: Comparison) -> Comparison:
    """The comparison with the baseline's runs after the models' (for summaries and paired tests)."""
    return replace(comparison, runs=[*comparison.runs, *baseline_runs(comparison)])


def all_test_labels(comparison: Comparison) -> list[str]:
    """Every test label the models were scored on: under cross-validation each tested fold's (every text once;
    all folds before the first run), else the single split's."""
    if not comparison.folds:
        return list(comparison.test_labels)
    tested = {fold_index(run.record.get("fold")) for run in comparison.runs} or set(range(len(comparison.folds)))
    return [label for i, fold in enumerate(comparison.folds) if i in tested for label in fold["test_labels"]]


def largest_share(labels: Sequence[str]) -> float:
    counts = Counter(labels)
    return max(counts.values()) / len(labels) if labels else 0.0


def default_metric(labels: Sequence[str]) -> str:
    """Macro F1 when the largest class holds more than 60 % of the texts, else accuracy."""
    return "macro_f1" if largest_share(labels) > DOMINANT_SHARE else "accuracy"


def ranking_metric(comparison: Comparison) -> str:
    return default_metric(all_test_labels(comparison))
