"""The majority-class baseline, the ranking metric, the recommending headline and the small-data rule, on
constructed results (no training), plus batch predictions that keep the input's columns."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from textclf.results import charts
from textclf.results.analysis import comparison_json
from textclf.results.baseline import (
    MAJORITY,
    all_test_labels,
    baseline_runs,
    default_metric,
    majority_class,
    ranking_metric,
)
from textclf.results.pairwise import pairwise_table
from textclf.results.predictions import predictions_table
from textclf.results.report import headline, summary_of
from textclf.results.sample_size import MIN_TEST_PER_CLASS, check_test_set, texts_needed
from textclf.runs.comparison import Comparison, RunResult, comparison_from_json
from textclf.runs.config import CompareConfig

CLASSES = ["negative", "neutral", "positive"]
SHARES = {"negative": 0.62, "neutral": 0.22, "positive": 0.16}
TRAIN_COUNTS = {"negative": 1240, "neutral": 440, "positive": 320}


def labels(texts: int, seed: int = 0) -> list[str]:
    """Test labels in the 62/22/16 proportions, in a shuffled order."""
    counts = {name: round(share * texts) for name, share in SHARES.items()}
    found = [name for name, n in counts.items() for _ in range(n)]
    return list(np.random.default_rng(seed).permutation(found))


def wrong_on(truth: list[str], share: float, seed: int) -> list[str]:
    """Predictions wrong on a random `share` of the texts (a wrong answer is another class, at random)."""
    rng = np.random.default_rng(seed)
    out = []
    for label in truth:
        others = [c for c in CLASSES if c != label]
        out.append(others[rng.integers(2)] if rng.random() < share else label)
    return out


def run(model: str, batching: str, seed: int, truth: list[str], predictions: list[str], seconds: float,
        fold=None) -> RunResult:
    from sklearn.metrics import f1_score

    record = {"model": model, "model_key": model.lower(), "batching": batching, "seed": seed, "fold": fold,
              "accuracy": float(np.mean(np.asarray(truth) == np.asarray(predictions))),
              "macro_f1": float(f1_score(truth, predictions, average="macro", zero_division=0)),
              "train_seconds": seconds, "seconds_per_epoch": seconds / 10, "padding_waste": 0.1,
              "test_texts": len(truth), "timing_note": ""}
    return RunResult(record, [], predictions)


def comparison_of(truth: list[str], runs: list[RunResult], train_counts=TRAIN_COUNTS, folds=()) -> Comparison:
    return Comparison(config=CompareConfig(models=("svm",)), dataset_name="tweets", classes=CLASSES,
                      tokenizer="words", split_sizes={"train": 2000, "validation": 200, "test": len(truth)},
                      split_notes=[], test_labels=truth, test_lengths=[5] * len(truth), runs=runs,
                      folds=list(folds), train_class_counts=dict(train_counts))


def tweets_case(texts: int = 600, bilstm_error: float = 0.10, svm_error: float = 0.11) -> Comparison:
    """A slow BiLSTM at the top, an SVM one point behind at 1/40 of its training time, a poor but quick kNN."""
    truth = labels(texts)
    runs = [run("BiLSTM", "bucket", s, truth, wrong_on(truth, bilstm_error, s), 320.0) for s in range(3)]
    runs.append(run("SVM", "none", 0, truth, wrong_on(truth, svm_error, 50), 8.0))
    runs.append(run("kNN", "none", 0, truth, wrong_on(truth, 0.40, 60), 2.0))
    return comparison_of(truth, runs)


def test_the_baseline_answers_the_training_majority_on_the_same_test_texts():
    truth = labels(600)
    svm = run("SVM", "none", 0, truth, wrong_on(truth, 0.2, 1), 1.0)
    case = comparison_of(truth, [svm], train_counts={"neutral": 900, "negative": 800, "positive": 300})
    (base,) = baseline_runs(case)
    assert set(base.predictions) == {"neutral"} and len(base.predictions) == len(truth)
    assert base.record["accuracy"] == pytest.approx(truth.count("neutral") / len(truth))
    row = summary_of(case).set_index("model").loc[MAJORITY]
    assert row["accuracy_mean"] == pytest.approx(0.22, abs=0.01) and row["train_seconds_mean"] == 0


def test_ties_and_missing_counts():
    assert majority_class({"b": 5, "a": 5, "c": 1}) == "a"
    assert majority_class({}) is None
    truth = labels(300)
    old = comparison_of(truth, [run("SVM", "none", 0, truth, list(truth), 1.0)], train_counts={})
    assert baseline_runs(old) == [] and MAJORITY not in set(summary_of(old)["model"])
    assert MAJORITY not in set(pairwise_table(old)[["a", "b"]].to_numpy().ravel())


def test_each_fold_has_its_own_majority_fitted_on_its_training_part():
    folds, runs = [], []
    for fold, majority in ((1, "negative"), (2, "neutral")):
        truth = labels(300, seed=fold)
        counts = {**TRAIN_COUNTS, majority: 5000}
        folds.append({"split_sizes": {"train": 900, "validation": 100, "test": 300}, "test_labels": truth,
                      "test_lengths": [5] * 300, "max_len": 9, "train_class_counts": counts})
        runs.append(run("SVM", "none", 0, truth, wrong_on(truth, 0.2, fold), 1.0, fold=fold))
    case = comparison_of(folds[0]["test_labels"], runs, folds=folds)
    assert [set(r.predictions) for r in baseline_runs(case)] == [{"negative"}, {"neutral"}]
    assert [r.record["fold"] for r in baseline_runs(case)] == [1, 2]
    assert all_test_labels(case) == folds[0]["test_labels"] + folds[1]["test_labels"]
    assert all_test_labels(replace(case, runs=runs[:1])) == folds[0]["test_labels"]  # fold 2 not run yet


def test_the_baseline_is_a_row_of_the_summary_the_json_and_the_paired_tests():
    case = tweets_case()
    pairs = pairwise_table(case)
    assert len(pairs) == 6 and ((pairs["a"] == MAJORITY) | (pairs["b"] == MAJORITY)).sum() == 3
    summary = comparison_json(case)["analysis"]["summary"]
    assert [row["model"] for row in summary][-1] == MAJORITY
    assert comparison_from_json(case.to_json()).train_class_counts == TRAIN_COUNTS


def test_macro_f1_ranks_when_one_class_holds_over_60_percent():
    assert default_metric(labels(600)) == "macro_f1"
    assert default_metric(["a", "b"] * 50) == "accuracy"
    assert ranking_metric(tweets_case()) == "macro_f1"


def test_the_headline_recommends_the_cheapest_model_not_significantly_worse_than_the_best():
    case = tweets_case()
    sentences = headline(case)
    best = next(s for s in sentences if "Best by macro F1" in s)
    assert best.startswith("Ranked by macro F1, since the largest class holds 62 % of the test texts")
    assert "Best by macro F1: BiLSTM with bucketed batching" in best
    cheaper = next(s for s in sentences if s.startswith("SVM is within"))
    assert "macro-F1 points of BiLSTM · bucketed and not significantly worse" in cheaper
    assert "at 1/40 of the training time (8.0 s against 320.0 s)" in cheaper
    assert "after Holm's correction" in cheaper
    assert not any(s.startswith("No model is significantly more accurate") for s in sentences)
    by_accuracy = headline(case, metric="accuracy")
    assert any(s.startswith("Most accurate: BiLSTM") for s in by_accuracy)


def test_a_significantly_worse_cheap_model_is_not_recommended():
    case = tweets_case(svm_error=0.30)
    sentences = headline(case)
    assert not any(s.startswith(("SVM is within", "kNN is within")) for s in sentences)
    assert any(s == "Every model that trains faster than BiLSTM · bucketed is significantly less accurate."
               for s in sentences)


def test_when_no_model_beats_the_baseline_that_is_said_first():
    truth = labels(600)
    runs = [run("SVM", "none", 0, truth, ["negative"] * 598 + ["neutral"] * 2, 1.0),
            run("kNN", "none", 0, truth, ["negative"] * 600, 0.5)]
    first = headline(comparison_of(truth, runs))[0]
    assert first.startswith("No model is significantly more accurate than the majority-class baseline, which "
                            "answers 'negative' to every text (62.0% accuracy")


def test_a_small_test_set_names_no_winner_and_says_how_many_texts_would_tell():
    case = tweets_case(texts=60, svm_error=0.2)
    sentences = headline(case)
    verdict = next(s for s in sentences if s.startswith("Too little test data to name a winner"))
    assert f"(fewer than {MIN_TEST_PER_CLASS})" in verdict and "would take about" in verdict
    assert "use cross-validation" in verdict
    assert not any(s.startswith(("Most accurate", "Ranked by", "SVM is within")) for s in sentences)
    needed = int(verdict.split("would take about ")[1].split(" ")[0].replace(",", ""))
    assert needed > 60


def test_texts_needed_follows_the_mcnemar_normal_approximation():
    assert texts_needed(0.1, 0.02) == 1960  # (1.96·√0.1 + 0.8416·√0.0996)² / 0.02²
    assert texts_needed(0.1, 0.05) < texts_needed(0.1, 0.02)
    assert texts_needed(0.2, 0.0) is None


def test_the_small_data_rule():
    small = check_test_set(["a"] * 40 + ["b"] * 12, ["a", "b", "c"])
    assert not small.enough and small.smallest_class == "c" and small.smallest_count == 0
    assert "the class 'c' has 0 test texts" in small.problems() and "±13 points" in small.problems()
    assert check_test_set(["a"] * 300 + ["b"] * 100).enough
    assert not check_test_set(["a"] * 40 + ["b"] * 40).enough  # 30+ per class, but ±11 points at 50 %


def test_the_accuracy_chart_follows_the_metric_and_draws_the_baseline():
    case = tweets_case()
    fig = charts.accuracy_dots(case.table, "macro_f1", baseline=0.255)
    assert fig.layout.title.text.startswith("Test macro F1")
    means = {t.name: t for t in fig.data if t.showlegend is not False and t.x[0] is not None}
    assert list(means["classical (no batching)"].x) == pytest.approx(
        list(case.table.query("batching == 'none'")["macro_f1"]))
    assert [s.x0 for s in fig.layout.shapes] == [0.255]
    assert any(t.name == "majority-class baseline (25.5%)" for t in fig.data)
    assert fig.layout.xaxis.range[0] < 0.255


class Votes:
    """A model with fixed probabilities, enough for a predictions table."""

    classes_ = np.array(["neg", "pos"])

    def predict_proba(self, texts):
        return np.array([[0.8, 0.2] if "bad" in t else [0.3, 0.7] for t in texts])


def test_batch_predictions_keep_every_input_column_and_every_class_probability():
    inputs = pd.DataFrame({"id": ["x1", "x2"], "text": ["bad food", "nice"], "city": ["Oslo", "Lima"]},
                          index=[7, 9])
    table = predictions_table({"M": Votes()}, inputs["text"], inputs)
    assert list(table.columns) == ["id", "text", "city", "M: label", "M: probability", "M: probability of neg",
                                   "M: probability of pos"]
    assert table["id"].tolist() == ["x1", "x2"] and table["M: label"].tolist() == ["neg", "pos"]
    assert table["M: probability of pos"].tolist() == [0.2, 0.7]
    assert list(predictions_table({"M": Votes()}, ["bad"]).columns[:2]) == ["text", "M: label"]
