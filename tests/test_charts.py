"""Figures and headline sentences carry the numbers of the results table."""

import numpy as np
import pandas as pd
import pytest

from textclf.data.profile import Profile
from textclf.results import charts
from textclf.results.report import aggregate
from textclf.runs.comparison import Comparison, RunResult
from textclf.runs.config import CompareConfig


def record(model, batching, seed, accuracy, seconds, waste, key="cnn"):
    return {"model": model, "model_key": key, "batching": batching, "seed": seed, "accuracy": accuracy,
            "macro_f1": accuracy, "train_seconds": seconds * 3, "seconds_per_epoch": seconds,
            "seconds_to_best_epoch": seconds * 2,
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


def test_accuracy_dots_show_means_with_ci_error_bars_every_run_and_a_zoomed_axis():
    fig = charts.accuracy_dots(TABLE)
    means = {t.name: t for t in fig.data if t.showlegend is not False}
    assert set(means) == {"max-length", "bucketed", "classical (no batching)"}
    assert list(means["max-length"].x) == pytest.approx([0.72])
    half = 12.706 * 0.028284 / np.sqrt(2)
    assert list(means["max-length"].error_x.array) == pytest.approx([min(half, 1 - 0.72)], abs=1e-3)
    assert list(means["max-length"].error_x.arrayminus) == pytest.approx([half], abs=1e-3)
    assert list(means["classical (no batching)"].x) == pytest.approx([0.78])
    assert means["bucketed"].marker.color == charts.BATCHING_COLOURS["bucket"]
    assert sum(len(t.x) for t in fig.data if t.showlegend is False) == len(TABLE)
    low, high = fig.layout.xaxis.range
    assert low >= 0 and high <= 1


def test_accuracy_dots_zoom_in_on_close_results():
    close = TABLE.assign(accuracy=[0.80, 0.81, 0.805, 0.806, 0.79])
    close["test_texts"] = 5000
    low, high = charts.accuracy_dots(close).layout.xaxis.range
    assert low > 0.5 and high < 1


def test_waste_and_time_bars_use_the_same_colour_per_strategy():
    waste = bars_by_name(charts.waste_bars(TABLE))
    assert "classical (no batching)" not in waste
    assert list(waste["bucketed"].y) == pytest.approx([0.04])
    time = bars_by_name(charts.time_bars(TABLE))
    assert list(time["max-length"].y) == pytest.approx([10.0])
    assert "classical (no batching)" not in time and "per epoch" in charts.time_bars(TABLE).layout.title.text
    assert waste["max-length"].marker.color == time["max-length"].marker.color


def test_scatter_has_one_point_per_run_at_its_time_to_the_best_epoch():
    fig = charts.accuracy_vs_time(TABLE)
    assert sum(x is not None for trace in fig.data for x in trace.x) == len(TABLE)
    assert sorted(x for trace in fig.data for x in trace.x if x is not None) == sorted(TABLE["seconds_to_best_epoch"])


def test_points_on_a_share_axis_capped_at_100_percent_are_drawn_whole():
    """The axis stops at 100 %; a run there would show half a marker if the plot clipped its points."""
    perfect = TABLE.assign(accuracy=1.0)
    fig = charts.accuracy_vs_time(perfect)
    assert fig.layout.yaxis.range[1] == 1.0
    assert all(trace.cliponaxis is False for trace in fig.data if trace.y[0] is not None)


def test_length_chart_has_a_line_per_cell_with_texts_in_the_tick_labels():
    rows = pd.DataFrame([{"model": "TextCNN", "batching": "bucket", "bin": b, "texts": 10, "accuracy": a,
                          "ci_low": a - 0.1, "ci_high": a + 0.05} for b, a in (("1–9", 0.8), ("10–40", 0.7))])
    line = charts.accuracy_by_length(rows).data[0]
    assert list(line.y) == [0.8, 0.7] and list(line.x) == ["1–9<br>(10 texts)", "10–40<br>(10 texts)"]
    assert list(line.error_y.arrayminus) == pytest.approx([0.1, 0.1])


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
    assert list(charts.class_counts(profile).data[0].x)[0] == "&lt;a href='x'&gt;spam&lt;/a&gt;"


def test_quotes_in_names_are_shown_as_quotes_not_as_entities():
    """Plotly decodes &lt; &gt; &amp; but shows &quot; as written: a quote must not be escaped twice."""
    profile = Profile(rows=2, classes={'say "hi" & go': 1, "ham": 1}, language="en", tokenizer="words",
                      length_mean=1, length_median=1, length_p95=1, length_max=1, vocabulary=2, dropped={})
    assert list(charts.class_counts(profile).data[0].x)[0] == 'say "hi" &amp; go'
