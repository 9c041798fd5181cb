"""What Compare's tables and charts say, without a browser (issue 23 item 6, issue 22's implementation line): one
number format, blanks for missing values, every bar labelled, SVM and kNN in colours of their own, training time
in CPU seconds when wall and CPU disagree, axes around the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from textclf.results import charts, formats
from textclf.results.curves import roc_and_pr, scored_runs
from textclf.results.errors import ANSWERS, compact
from textclf.results.how_run import implementation_sentence, precision_sentence
from textclf.results.pairwise import pair_list
from textclf.results.report import aggregate, longer_cap
from textclf.results.tables import formatters, run_notes, runs_frame, summary_frame, time_measure
from textclf.runs.compare import compare
from textclf.runs.comparison import Comparison, RunResult
from textclf.runs.config import CompareConfig
from textclf.runs.run_one import PROBABILITY_VALUES, STILL_IMPROVING, kept_probabilities


def run(model, batching, seed, accuracy, seconds, key="cnn", **extra):
    return {"model": model, "model_key": key, "batching": batching, "seed": seed, "accuracy": accuracy,
            "macro_f1": accuracy - 0.05, "train_seconds": seconds, "train_cpu_seconds": seconds / 2,
            "seconds_per_epoch": seconds / 5, "padding_waste": 0.5 if batching == "max_length" else 0.03,
            "seconds_to_best_epoch": seconds / 2, "epochs_run": 5, "note": "", "timing_note": "", **extra}


RUNS = [run("TextCNN", "max_length", 0, 0.80, 10.0), run("TextCNN", "max_length", 1, 0.82, 12.0),
        run("TextCNN", "bucket", 0, 0.81, 6.0), run("TextCNN", "bucket", 1, 0.81, 6.0),
        run("SVM", "none", 0, 0.83, 0.3, key="svm", padding_waste=np.nan, epochs_run=np.nan,
            seconds_per_epoch=np.nan),
        run("kNN (k=3)", "none", 0, 0.70, 0.01, key="knn", padding_waste=np.nan, epochs_run=np.nan,
            seconds_per_epoch=np.nan)]
TABLE = pd.DataFrame(RUNS)


def test_numbers_have_one_format_and_missing_values_are_blank():
    assert formats.percent(0.8245) == "82.5%" and formats.percent(None) == "" and formats.percent(np.nan) == ""
    assert formats.count(pd.NA) == "" and formats.count(12000) == "12,000"
    assert [formats.seconds(v) for v in (320.4, 8.24, 0.0351)] == ["320", "8.2", "0.035"]


def test_the_summary_leaves_a_single_runs_sd_blank_and_writes_rates_as_percent():
    frame = summary_frame(aggregate(TABLE), "train_cpu_seconds").drop_duplicates("Model").set_index("Model")
    assert frame.loc["SVM", "Accuracy: sd, 95 % CI"] == ""  # no Wilson interval without test_texts, no sd of one run
    assert frame.loc["TextCNN", "Accuracy: sd, 95 % CI"].startswith("± 1.4 · ")
    assert "Training, CPU (s)" in frame.columns
    shown = frame.reset_index().style.format(formatters(frame.reset_index()), na_rep="").to_html()
    assert "81.0%" in shown and "None" not in shown and "nan" not in shown


def test_the_runs_table_keeps_the_compared_columns_and_says_notes_under_it():
    noted = TABLE.assign(note=["", "", "", "", "Refused: one example per class", ""])
    frame = runs_frame(noted)
    assert "Note" not in frame and "Fold" not in frame and list(frame.columns[:3]) == ["Model", "Batching", "Seed"]
    assert "Training time (s)" in frame and "Training CPU (s)" not in frame
    cpu_one_seed = runs_frame(noted[noted["seed"] == 0], "train_cpu_seconds")
    assert "Seed" not in cpu_one_seed and "Training CPU (s)" in cpu_one_seed and "Training time (s)" not in cpu_one_seed
    assert run_notes(noted) == ["SVM: Refused: one example per class"]


def test_every_bar_carries_its_value_and_classical_models_get_their_own_colours():
    fig = charts.training_time_bars(TABLE)
    bars = {trace.name: trace for trace in fig.data}
    classical = bars["classical (no batching)"]
    assert list(classical.text) == ["0.3", "0.01"] and len(set(classical.marker.color)) == 2
    assert all(trace.textposition == "outside" and all(trace.text) for trace in fig.data)
    assert classical.offset == pytest.approx(-classical.width / 2)  # centred on its name
    waste = charts.waste_bars(TABLE)
    assert [list(trace.text) for trace in waste.data] == [["50.0%"], ["3.0%"]]


def test_training_time_is_in_cpu_seconds_when_wall_and_cpu_disagree():
    assert time_measure(TABLE) == ("train_seconds", "wall")
    busy = TABLE.assign(timing_note=["wall 10 s vs CPU 5 s: the machine was busy"] + [""] * 5)
    assert time_measure(busy) == ("train_cpu_seconds", "CPU")
    fig = charts.training_time_bars(busy)
    assert "CPU seconds" in fig.layout.title.text
    assert list(fig.data[0].y) == pytest.approx([5.5])  # mean CPU time of the two max-length runs


def test_titles_sit_below_the_toolbar_and_share_axes_stay_near_the_data():
    fig = charts.accuracy_vs_time(TABLE.iloc[[4]])  # a partial result: one run
    assert fig.layout.title.yref == "container" and fig.layout.title.pad.t >= 30
    low, high = fig.layout.yaxis.range
    assert 0 <= low < 0.83 < high <= 1 and high - low < 0.1
    history = [{"epoch": e, "val_accuracy": 0.6, "train_loss": 1.0} for e in (1, 2)]
    flat = charts.epoch_curves([RunResult(RUNS[0], history, [])])
    assert flat.layout.yaxis.range[1] - flat.layout.yaxis.range[0] < 0.1  # a flat line is not drawn on 0–100 %


def test_accuracy_by_length_tells_svm_and_knn_apart_by_colour():
    rows = pd.DataFrame([{"model": m, "batching": "none", "bin": "1–9", "texts": 10, "accuracy": 0.8,
                          "ci_low": 0.7, "ci_high": 0.9} for m in ("SVM", "kNN (k=3)")])
    colours = [trace.line.color for trace in charts.accuracy_by_length(rows).data]
    assert len(set(colours)) == 2


def test_compare_says_how_recurrent_batches_ran_and_the_precision_when_it_matters():
    table = TABLE.assign(dense_batches=[0, 0, 40, 40, np.nan, np.nan], packed_batches=[40, 40, 0, 0, np.nan, np.nan],
                         precision=["bf16"] * 4 + [np.nan] * 2)
    sentence = implementation_sentence(table)
    assert "TextCNN · max-length packed (all 80 batches)" in sentence and "bucketed dense (all 80" in sentence
    assert precision_sentence(table) == "Training precision: bf16 for every neural run (weights kept in fp32)."
    assert precision_sentence(table.assign(precision="fp32")) is None
    mixed = precision_sentence(table.assign(precision=["fp32", "fp32", "bf16", "bf16", np.nan, np.nan]))
    assert "fp32 for TextCNN · max-length" in mixed and "bf16 for TextCNN · bucketed" in mixed
    assert implementation_sentence(TABLE) is None


def test_error_lists_gather_the_runs_answers_in_one_column():
    frame = pd.DataFrame({"Text": ["a"], "True class": ["pos"], "TextCNN · max-length · seed 0": ["neg"],
                          "TextCNN · bucketed · seed 0": ["neg"], "SVM": ["pos"], "Models right": [1]})
    runs = [RunResult(RUNS[0], [], []), RunResult(RUNS[2], [], []), RunResult(RUNS[4], [], [])]
    assert compact(frame, runs)[ANSWERS].tolist() == ["neg: TextCNN ×2; pos: SVM"]


def test_train_longer_doubles_the_cap_only_when_runs_were_still_improving():
    def comparison(note: str, **config) -> Comparison:
        records = [run("TextCNN", "bucket", 0, 0.8, 1.0, note=note)]
        return Comparison(config=CompareConfig(**config), dataset_name="d", classes=["a"], tokenizer="words",
                          split_sizes={}, split_notes=[], test_labels=[], test_lengths=[],
                          runs=[RunResult(r, [], []) for r in records])

    assert longer_cap(comparison("")) is None
    assert longer_cap(comparison(f"{STILL_IMPROVING} (best epoch 10 of 10)", epochs=20)) == 40
    assert longer_cap(comparison(f"{STILL_IMPROVING} (best epoch 2 of 2)", epochs=2)) == 30  # the default cap
    assert longer_cap(comparison("", epochs=3, quick_look=True)) == 30


def test_runs_keep_bounded_test_probabilities_and_the_table_leaves_them_out(small_demo):
    done = compare(small_demo, CompareConfig(models=("svm", "knn:k=3")))
    record = done.runs[0].record
    probabilities = np.asarray(record["test_probabilities"])
    assert probabilities.shape == (len(done.test_labels), len(record["probability_classes"]))
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-3)
    assert "test_probabilities" not in done.table and "probability_classes" not in done.table
    assert kept_probabilities(done.runs[0].estimator, ["a"] * (PROBABILITY_VALUES + 1)) == {}


def test_roc_and_precision_recall_curves_name_their_areas_for_the_chosen_class():
    truth = ["a", "b", "a", "b", "c", "c"]
    perfect = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8],
               [0.1, 0.2, 0.7]]
    kept = {"test_probabilities": perfect, "probability_classes": ["a", "b", "c"]}
    records = [run("SVM", "none", 0, 1.0, 0.1, key="svm", **kept),
               run("kNN (k=3)", "none", 0, 0.5, 0.1, key="knn"),  # no probabilities kept: no curve
               run("SVM", "none", 1, 1.0, 0.1, key="svm", **kept)]
    comparison = Comparison(config=CompareConfig(models=("svm", "knn")), dataset_name="d", classes=["a", "b", "c"],
                            tokenizer="words", split_sizes={}, split_notes=[], test_labels=truth,
                            test_lengths=[1] * 6, runs=[RunResult(r, [], []) for r in records])
    runs = scored_runs(comparison)
    assert [r.record["seed"] for r in runs] == [0]  # one run per model and batching
    roc, pr = roc_and_pr(comparison, runs, "b")
    assert roc.data[0].name == "SVM (AUC 1.000)" and pr.data[0].name == "SVM (AP 1.000)"
    assert "b against the rest" in roc.layout.title.text
    assert pr.layout.shapes[0].y0 == pytest.approx(2 / 6)  # no skill: the class's share


def test_a_matrix_too_wide_for_the_page_is_listed_pair_by_pair_the_clearest_first():
    pairs = pd.DataFrame([
        {"a": "SVM", "b": "kNN", "difference": -0.05, "low": -0.08, "high": -0.02, "p_holm": 0.01, "significant": True},
        {"a": "SVM", "b": "TextCNN", "difference": 0.01, "low": -0.01, "high": 0.03, "p_holm": 0.4,
         "significant": False}])
    listed = pair_list(pairs)
    assert listed.iloc[0][["This", "Against", "Difference (points)", "p (Holm)", "Significant"]].tolist() == [
        "SVM", "kNN", "+5.0 ± 3.0", "0.01", "yes"]
    assert listed.iloc[1][["This", "Against", "Significant"]].tolist() == ["TextCNN", "SVM", ""]
