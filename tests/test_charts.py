"""Figures and headline sentences carry the numbers of the results table."""

import pandas as pd
import pytest

from textclf import charts
from textclf.experiment import CompareConfig, Comparison, RunResult
from textclf.profile import Profile
from textclf.report import aggregate, headline


def record(model, batching, seed, accuracy, seconds, waste, key="cnn"):
    return {"model": model, "model_key": key, "batching": batching, "seed": seed, "accuracy": accuracy,
            "macro_f1": accuracy, "train_seconds": seconds * 3, "seconds_per_epoch": seconds,
            "inference_seconds": 0.1, "padding_waste": waste}


RECORDS = [
    record("TextCNN", "max_length", 0, 0.70, 10.0, 0.60), record("TextCNN", "max_length", 1, 0.74, 10.0, 0.60),
    record("TextCNN", "bucket", 0, 0.72, 5.0, 0.04), record("TextCNN", "bucket", 1, 0.72, 5.0, 0.04),
    record("SVM", "none", 0, 0.78, 0.3, float("nan"), key="svm"),
]
TABLE = pd.DataFrame(RECORDS)


def bars_by_name(fig):
    return {trace.name: trace for trace in fig.data}


def test_aggregate_gives_mean_and_sample_sd_per_model_and_batching():
    summary = aggregate(TABLE).set_index(["model", "batching"])
    assert summary.loc[("TextCNN", "max_length"), "accuracy_mean"] == pytest.approx(0.72)
    assert summary.loc[("TextCNN", "max_length"), "accuracy_sd"] == pytest.approx(0.028284, abs=1e-5)
    assert summary.loc[("SVM", "none"), "runs"] == 1 and summary.loc[("SVM", "none"), "accuracy_sd"] == 0


def test_accuracy_bars_show_means_with_sd_error_bars_and_classical_reference():
    bars = bars_by_name(charts.accuracy_bars(TABLE))
    assert set(bars) == {"max-length", "bucketed", "classical (no batching)"}
    assert list(bars["max-length"].y) == pytest.approx([0.72])
    assert list(bars["max-length"].error_y.array) == pytest.approx([0.028284], abs=1e-5)
    assert list(bars["classical (no batching)"].y) == pytest.approx([0.78])
    assert bars["bucketed"].marker.color == charts.BATCHING_COLOURS["bucket"]


def test_waste_and_time_bars_use_the_same_colour_per_strategy():
    waste = bars_by_name(charts.waste_bars(TABLE))
    assert "classical (no batching)" not in waste
    assert list(waste["bucketed"].y) == pytest.approx([0.04])
    time = bars_by_name(charts.time_bars(TABLE))
    assert list(time["max-length"].y) == pytest.approx([30.0])
    assert waste["max-length"].marker.color == time["max-length"].marker.color


def test_scatter_has_one_point_per_run():
    fig = charts.accuracy_vs_time(TABLE)
    assert sum(len(trace.x) for trace in fig.data) == len(TABLE)


def test_headline_states_savings_and_accuracy_difference_from_the_numbers():
    sentences = headline(TABLE)
    assert sentences[0] == ("TextCNN: bucketing cut padding from 60% to 4% of the batch slots and took 50% less "
                            "training time per epoch (10.0 → 5.0 s); test accuracy +0.0 points "
                            "(72.0% ± 2.8% → 72.0% ± 0.0%).")
    assert sentences[-1] == "Most accurate: SVM, 78.0% test accuracy."


def test_confusion_matrix_counts_test_predictions():
    comparison = Comparison(config=CompareConfig(models=("svm",)), dataset_name="d", classes=["a", "b"],
                            tokenizer="words", split_sizes={"train": 1, "validation": 1, "test": 3}, split_notes=[],
                            test_labels=["a", "a", "b"], test_lengths=[1, 2, 3])
    run = RunResult(record("SVM", "none", 0, 2 / 3, 0.1, 0.0), [], ["a", "b", "b"])
    heatmap = charts.confusion_matrix(comparison, run).data[0]
    assert [list(row) for row in heatmap.z] == [[1, 1], [0, 1]]


def test_length_histogram_draws_bucket_bounds_and_truncates():
    fig = charts.length_histogram([1, 5, 300], boundaries=[3, 8], max_len=10)
    assert max(fig.data[0].x) == 10
    assert [shape.x0 for shape in fig.layout.shapes] == [3, 8]


def test_class_counts_label_the_bars():
    profile = Profile(rows=3, classes={"a": 2, "b": 1}, language="en", tokenizer="words", length_mean=1,
                      length_median=1, length_p95=1, length_max=1, vocabulary=2, dropped={})
    bar = charts.class_counts(profile).data[0]
    assert list(bar.y) == [2, 1] and list(bar.text) == ["2", "1"]


def test_user_class_names_are_escaped_in_figures():
    profile = Profile(rows=2, classes={"<a href='x'>spam</a>": 1, "ham": 1}, language="en", tokenizer="words",
                      length_mean=1, length_median=1, length_p95=1, length_max=1, vocabulary=2, dropped={})
    assert list(charts.class_counts(profile).data[0].x)[0] == "&lt;a href=&#x27;x&#x27;&gt;spam&lt;/a&gt;"
