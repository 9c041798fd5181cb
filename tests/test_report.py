"""Summaries, paired tests, the headline's significance wording and the breakdowns, on constructed results."""

import numpy as np
import pandas as pd
import pytest

from textclf.results.analysis import comparison_json
from textclf.results.breakdown import accuracy_by_length, length_edges, per_class
from textclf.results.pairwise import matrix, pair_result, pairwise_table
from textclf.results.report import accuracy_change_text, aggregate, convergence_caution, headline, readable_table
from textclf.results.stats import PairedResult, format_p
from textclf.runs.comparison import Comparison, RunResult
from textclf.runs.config import CompareConfig

TEXTS = 400
TRUTH = ["pos" if i % 2 else "neg" for i in range(TEXTS)]
LENGTHS = [5 + i % 40 for i in range(TEXTS)]


def flipped(share: float, seed: int) -> list[str]:
    """Predictions that are wrong on a random `share` of the texts."""
    wrong = np.random.default_rng(seed).random(TEXTS) < share
    return [("neg" if t == "pos" else "pos") if w else t for t, w in zip(TRUTH, wrong, strict=True)]


def run(model: str, batching: str, seed: int, predictions: list[str], fold=None, truth=TRUTH) -> RunResult:
    accuracy = float(np.mean(np.asarray(truth) == np.asarray(predictions)))
    record = {"model": model, "model_key": "cnn" if model == "TextCNN" else "svm", "batching": batching,
              "seed": seed, "fold": fold, "accuracy": accuracy, "macro_f1": accuracy, "seconds_per_epoch": 2.0,
              "seconds_to_best_epoch": 6.0, "padding_waste": 0.5 if batching == "max_length" else 0.05,
              "test_texts": len(truth), "timing_note": ""}
    return RunResult(record, [], predictions)


def comparison_of(runs: list[RunResult], folds=()) -> Comparison:
    return Comparison(config=CompareConfig(models=("cnn", "svm"), seeds=(0, 1, 2)), dataset_name="d",
                      classes=["neg", "pos"], tokenizer="words", split_sizes={"train": 1, "validation": 1, "test": 1},
                      split_notes=[], test_labels=TRUTH, test_lengths=LENGTHS, runs=runs, folds=list(folds))


def bucketing_case(bucket_error: float) -> Comparison:
    runs = [run("TextCNN", "max_length", s, flipped(0.25, s)) for s in range(3)]
    runs += [run("TextCNN", "bucket", s, flipped(bucket_error, s + 10)) for s in range(3)]
    runs.append(run("SVM", "none", 0, flipped(0.22, 99)))
    return comparison_of(runs)


def difference_points(comparison: Comparison) -> str:
    means = comparison.table.groupby("batching")["accuracy"].mean()
    return f"{100 * (means['bucket'] - means['max_length']):+.1f}"


def test_the_sentence_for_a_non_significant_change():
    test = PairedResult(-0.002, -0.013, 0.009, 0.71, "McNemar exact", 1)
    assert accuracy_change_text("bucketing", "TextCNN", test, -0.002) == (
        "bucketing changed TextCNN's accuracy by −0.2 ± 1.1 points (not significant, p = 0.71, McNemar exact)")


def test_the_sentence_for_a_significant_change():
    test = PairedResult(0.031, 0.015, 0.047, 0.0004, "McNemar exact", 1)
    assert accuracy_change_text("bucketing", "TextCNN", test, 0.031) == (
        "bucketing changed TextCNN's accuracy by +3.1 ± 1.6 points (significant, p < 0.001, McNemar exact)")


def test_headline_calls_a_seed_averaged_difference_significant_only_when_it_is():
    same = headline(bucketing_case(0.25))[0]
    assert "(not significant, p = " in same and "paired bootstrap over texts and 3 seeds" in same
    case = bucketing_case(0.10)
    better = headline(case)[0]
    assert "(significant, p < 0.001" in better and f"by {difference_points(case)} ± " in better


@pytest.mark.parametrize(("bucket_error", "verdict"), [(0.10, "significantly"), (0.14, "not significantly")])
def test_the_best_model_sentence_uses_the_matrix_holm_adjusted_p(bucket_error, verdict):
    """Which model is best is only known after looking at all pairs: the sentence must agree with the matrix."""
    case = bucketing_case(bucket_error)
    pairs = pairwise_table(case)
    sentence = next(s for s in headline(case, pairs) if s.startswith("Most accurate"))
    row = pairs[pairs[["a", "b"]].isin(["SVM", "TextCNN · bucketed"]).all(axis=1)].iloc[0]
    assert sentence.startswith("Most accurate: TextCNN with bucketed batching")
    assert f"; {verdict} ahead of the runner-up, SVM" in sentence
    assert f"{format_p(row['p_holm'])} after Holm's correction for 3 pairs" in sentence
    assert row["significant"] == (verdict == "significantly")


def test_aggregate_gives_mean_sd_and_a_ci_per_cell():
    summary = aggregate(bucketing_case(0.10).table).set_index(["model", "batching"])
    cnn = summary.loc[("TextCNN", "max_length")]
    assert cnn["runs"] == 3 and cnn["accuracy_ci_low"] < cnn["accuracy_mean"] < cnn["accuracy_ci_high"]
    svm = summary.loc[("SVM", "none")]
    assert svm["accuracy_sd"] == 0 and svm["accuracy_ci_high"] - svm["accuracy_ci_low"] == pytest.approx(0.08, abs=0.01)


def test_pairwise_matrix_is_antisymmetric_and_holm_corrected():
    case = bucketing_case(0.10)
    pairs = pairwise_table(case)
    assert len(pairs) == 3 and (pairs["p_holm"] >= pairs["p_value"]).all()
    grid = matrix(pairs)
    gain = difference_points(case)
    assert grid.loc["TextCNN · bucketed", "TextCNN · max-length"].startswith(gain)
    assert grid.loc["TextCNN · max-length", "TextCNN · bucketed"].startswith(gain.replace("+", "-"))
    assert grid.loc["SVM", "SVM"] == "—"


def test_folds_pair_up_fold_by_fold_with_the_corrected_t_test():
    folds, runs = [], []
    for fold in range(1, 6):
        truth = TRUTH[fold * 10:fold * 10 + 80]
        folds.append({"split_sizes": {"train": 300, "validation": 20, "test": 80}, "test_labels": truth,
                      "test_lengths": LENGTHS[:80], "max_len": 50})
        runs.append(run("TextCNN", "bucket", 0, list(truth), fold=fold, truth=truth))
        runs.append(run("SVM", "none", 0, flipped(0.3, fold)[fold * 10:fold * 10 + 80], fold=fold, truth=truth))
    comparison = comparison_of(runs, folds)
    result = pair_result(comparison, ("SVM", "none"), ("TextCNN", "bucket"))
    assert result.test == "corrected resampled t-test over 5 folds" and result.significant
    summary = aggregate(comparison.table).set_index("model")
    assert summary.loc["SVM", "unit"] == "folds" and summary.loc["TextCNN", "accuracy_mean"] == 1.0


def test_length_bins_are_quantiles_and_every_text_is_counted_once_per_cell():
    assert length_edges([1, 2, 3, 4, 5, 6, 7, 8], bins=4) == [2, 4, 6, 8]
    assert length_edges([3, 3, 3, 3], bins=4) == [3]
    rows = accuracy_by_length(bucketing_case(0.10))
    for _, cell in rows.groupby(["model", "batching"]):
        assert cell["texts"].sum() == TEXTS
    svm = rows[rows["model"] == "SVM"]
    assert (svm["runs"] == 1).all() and (svm["ci_low"] <= svm["accuracy"]).all()
    perfect = comparison_of([run("TextCNN", "bucket", 0, list(TRUTH))])
    assert (accuracy_by_length(perfect)["accuracy"] == 1.0).all()


def test_per_class_metrics_for_every_run():
    comparison = comparison_of([run("SVM", "none", 0, ["pos"] * TEXTS)])
    table = per_class(comparison).set_index("class")
    assert table.loc["pos", "recall"] == 1.0 and table.loc["pos", "precision"] == 0.5
    assert table.loc["neg", "recall"] == 0.0 and table.loc["neg", "support"] == TEXTS // 2


def test_the_json_carries_the_analysis():
    analysis = comparison_json(bucketing_case(0.10))["analysis"]
    assert {"summary", "pairwise", "accuracy_by_length", "per_class"} <= set(analysis)
    assert analysis["summary"][0]["accuracy_ci_low"] < analysis["summary"][0]["accuracy_mean"]
    assert pd.DataFrame(analysis["per_class"])["class"].nunique() == 2


def test_the_refit_column_is_shown_only_when_a_model_was_refitted():
    runs = pd.DataFrame({"model": ["TextCNN", "SVM"], "batching": ["bucket", "none"], "model_key": ["cnn", "svm"],
                         "refit_seconds": [3.5, np.nan]})
    assert list(readable_table(runs).columns) == ["Model", "Batching", "Refit on training + validation (s)"]
    without = runs.assign(refit_seconds=np.nan)
    assert list(readable_table(without).columns) == ["Model", "Batching"]


def test_runs_the_epoch_cap_ended_while_improving_are_called_out_by_model():
    notes = ["still improving at the epoch cap (3): more epochs may help", "", "classical model: batching does not "
             "apply", "still improving at the epoch cap (3): more epochs may help"]
    runs = pd.DataFrame({"model": ["BiLSTM (mean)", "TextCNN", "SVM", "BiLSTM (mean)"], "note": notes,
                         "epochs_run": [3, 2, np.nan, 3]})
    caution = convergence_caution(runs)
    assert caution.startswith("Training caution: 2 of 3 neural runs (BiLSTM (mean)) were still improving")
    assert convergence_caution(runs.assign(note="")) is None
