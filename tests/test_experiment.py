import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from textclf.data.reading import Dataset
from textclf.errors import TextclfError
from textclf.models import create
from textclf.results.analysis import save_comparison
from textclf.runs.compare import compare
from textclf.runs.comparison import TIMING_COLUMNS, load_results
from textclf.runs.config import MAX_TRUNCATION, CompareConfig, ModelSpec, plan_runs
from textclf.runs.events import EpochDone, RunFinished
from textclf.runs.prepare import prepare
from textclf.runs.run_one import timing_note

TINY_MODELS = ("cnn:embed_dim=16:filters=8:min_freq=1", "rnn:embed_dim=16:hidden=8:min_freq=1", "svm", "knn:k=3")


def tiny_config(**changes) -> CompareConfig:
    values = {"models": TINY_MODELS, "batchings": ("max_length", "bucket"), "epochs": 2, "batch_size": 16}
    values.update(changes)
    return CompareConfig(**values)


@pytest.fixture(scope="module")
def comparison(small_demo):
    return compare(small_demo, tiny_config(), keep_models=True)


def test_table_has_one_row_per_run_and_classical_models_once(comparison):
    table = comparison.table
    assert len(table) == 2 * 2 + 2
    classical = table[table.model_key.isin(["svm", "knn"])]
    assert (classical.batching == "none").all()
    assert classical.note.str.contains("batching does not apply").all()
    neural = table[table.model_key.isin(["cnn", "rnn"])]
    assert set(neural.batching) == {"max_length", "bucket"}
    for column in ("accuracy", "macro_f1", "train_seconds", "seconds_per_epoch", "inference_seconds",
                   "real_tokens", "padded_slots", "padding_waste", "parameters", "steps", "examples_seen"):
        assert neural[column].notna().all(), column


def test_bucketing_pads_less_than_max_length_on_the_same_tokens(comparison):
    table = comparison.table.set_index(["model_key", "batching"])
    for key in ("cnn", "rnn"):
        assert table.loc[(key, "bucket"), "real_tokens"] == table.loc[(key, "max_length"), "real_tokens"]
        assert table.loc[(key, "bucket"), "padding_waste"] < table.loc[(key, "max_length"), "padding_waste"]


def test_runs_keep_history_and_test_predictions(comparison):
    for run in comparison.runs:
        assert len(run.predictions) == len(comparison.test_labels)
        if run.record["model_key"] in ("cnn", "rnn"):
            assert [h["epoch"] for h in run.history] == list(range(1, run.record["epochs_run"] + 1))


@pytest.mark.parametrize("refit", [True, False])
def test_models_only_ever_see_training_texts(small_demo, refit):
    """Each text gets a unique marker word; only the markers of the texts a model may learn from can reach its
    vocabulary. A classical model, which has no use for the validation part, fits on it too, and so does a
    refitted neural model (trained again on training + validation); no model ever sees a test text."""
    marked = replace(small_demo, texts=[f"{text} marker{i}" for i, text in enumerate(small_demo.texts)])
    config = tiny_config(models=("cnn:embed_dim=8:filters=4:min_freq=1", "svm"), batchings=("bucket",), epochs=1,
                         refit=refit)
    split = prepare(marked, config).split
    result = compare(marked, config, keep_models=True)
    cnn, svm = (r.estimator for r in result.runs)
    outside_test = set(split.train.tolist()) | set(split.validation.tolist())
    expected = {"cnn": outside_test if refit else set(split.train.tolist()), "svm": outside_test}
    seen = {"cnn": set(cnn.vocab_.stoi), "svm": set(svm.vectorizer_.known_tokens_)}
    for key, vocabulary in seen.items():
        markers = {int(t[len("marker"):]) for t in vocabulary if t.startswith("marker")}
        assert markers == expected[key] and not markers & set(split.test.tolist())


def test_a_refit_trains_again_for_the_best_epoch_count_and_adds_its_time(small_demo):
    config = tiny_config(models=("cnn:embed_dim=8:filters=4",), batchings=("bucket",), epochs=3, patience=3)
    events = []
    refitted, stopped = (compare(small_demo, replace(config, refit=refit), keep_models=True,
                                 listener=events.append if refit else None).runs[0]
                         for refit in (True, False))
    best = refitted.record["best_epoch"]
    stages = [event.stage for event in events if isinstance(event, EpochDone)]
    assert stages == [None] * len(refitted.history) + ["refit"] * best
    assert len(refitted.estimator.history_) == best and np.isnan(refitted.estimator.history_[-1].val_accuracy)
    assert refitted.record["refit_seconds"] > 0 and "refit_seconds" not in stopped.record
    assert refitted.record["train_seconds"] == pytest.approx(
        sum(h["seconds"] for h in refitted.history) + refitted.record["refit_seconds"])
    assert [h["val_accuracy"] for h in refitted.history] == [h["val_accuracy"] for h in stopped.history]


def test_same_seed_same_data_gives_the_same_table(small_demo, comparison):
    again = compare(small_demo, tiny_config())
    pd.testing.assert_frame_equal(comparison.table.drop(columns=TIMING_COLUMNS),
                                  again.table.drop(columns=TIMING_COLUMNS))
    assert [r.predictions for r in again.runs] == [r.predictions for r in comparison.runs]


def test_results_round_trip_through_json(tmp_path, comparison):
    path = tmp_path / "results.json"
    save_comparison(comparison, path)
    records = json.loads(path.read_text())["runs"]
    assert {"model", "batching", "accuracy", "padding_waste", "train_seconds"} <= set(records[0])
    loaded = load_results(path)
    pd.testing.assert_frame_equal(loaded.table, comparison.table)
    assert loaded.config == comparison.config


def test_grid_is_models_times_batchings_times_seeds():
    runs = plan_runs(tiny_config(seeds=(0, 1, 2)))
    assert len(runs) == 2 * 2 * 3 + 2


def test_model_specs_parse_options():
    spec = ModelSpec.parse("rnn:cell=gru:pooling=attention:hidden=64")
    assert spec == ModelSpec("rnn", {"cell": "gru", "pooling": "attention", "hidden": 64})
    assert spec.label == "BiGRU (attention)"


def test_model_spec_reads_slash_separated_integers_as_a_tuple():
    assert ModelSpec.parse("cnn:kernel_sizes=2/3/4").params == {"kernel_sizes": (2, 3, 4)}
    assert ModelSpec.parse("cnn:vectors=dir/vectors.txt").params == {"vectors": "dir/vectors.txt"}


@pytest.mark.parametrize(("changes", "message"), [
    ({"batchings": ("sorted",)}, "Unknown batching"),
    ({"models": ("cnn", "cnn")}, "twice"),
    ({"models": ("transformer",)}, "Unknown model"),
    ({"epochs": 0}, "epochs must be at least 1"),
    ({"models": ("rnn:cell",)}, "name=value"),
])
def test_bad_settings_are_explained(changes, message):
    with pytest.raises((TextclfError, ValueError), match=message):
        tiny_config(**changes)


def test_auto_truncation_cuts_only_the_longest_training_texts(small_demo):
    config = tiny_config(models=("svm",), max_len="auto")
    prepared = prepare(small_demo, config)
    train_lengths = np.array([len(prepared.tokens[i]) for i in prepared.split.train])
    assert prepared.max_len == int(np.ceil(np.percentile(train_lengths, 99)))
    assert 0 < (train_lengths > prepared.max_len).sum() <= 0.011 * len(train_lengths) + 1
    assert any("99th percentile" in note for note in prepared.split.notes)
    result = compare(small_demo, config)
    assert result.max_len == prepared.max_len and max(result.test_lengths) <= prepared.max_len


def test_by_default_models_read_a_long_document_up_to_512_tokens():
    """256 tokens cut most news articles short, where the SVM reads every word (BENCHMARKS: bbc_news)."""
    words = [f"w{i}" for i in range(700)]
    texts = [" ".join(words[: 300 + 40 * i]) for i in range(10)] * 2
    data = Dataset(texts=texts, labels=["a", "b"] * 10)
    prepared = prepare(data, CompareConfig(models=("svm",), validation=0.2, test=0.2))
    assert prepared.max_len == MAX_TRUNCATION == create("cnn").max_len == 512
    assert min(prepared.test_lengths()) >= 300 and max(prepared.test_lengths()) <= 512


def test_explicit_truncation_is_used_as_given(small_demo):
    assert prepare(small_demo, tiny_config(models=("svm",), max_len=7)).max_len == 7
    with pytest.raises(TextclfError, match="truncation length"):
        tiny_config(max_len="long")


def test_cross_validation_grid_has_a_fold_axis():
    runs = plan_runs(tiny_config(seeds=(0, 1), cv=3))
    assert len(runs) == 2 * (2 * 2 * 3) + 2 * 3
    assert {r.fold for r in runs} == {1, 2, 3}
    with pytest.raises(TextclfError, match="at least 2 folds"):
        tiny_config(cv=1)


def test_cross_validation_tests_every_model_on_the_same_folds(small_demo, tmp_path):
    config = tiny_config(models=("cnn:embed_dim=8:filters=4:min_freq=1", "svm"), batchings=("bucket",), epochs=1,
                         cv=3)
    prepared = prepare(small_demo, config)
    result = compare(small_demo, config)
    assert [(r.record["model_key"], r.record["fold"]) for r in result.runs] == [
        ("cnn", 1), ("cnn", 2), ("cnn", 3), ("svm", 1), ("svm", 2), ("svm", 3)]
    assert sum(len(f["test_labels"]) for f in result.folds) == len(small_demo.texts)
    for run in result.runs:
        truth, lengths = result.test_of(run.record)
        fold = prepared.splits[run.record["fold"] - 1]
        assert truth == [str(small_demo.labels[i]) for i in fold.test]
        assert len(run.predictions) == len(truth) == len(lengths)
    path = tmp_path / "cv.json"
    save_comparison(result, path)
    loaded = load_results(path)
    assert loaded.folds == result.folds and loaded.config.cv == 3
    assert loaded.test_of(loaded.runs[4].record)[0] == result.test_of(result.runs[4].record)[0]


def test_validation_and_test_inference_use_one_batching_whatever_the_strategy(comparison):
    """Evaluation cost must not depend on the strategy compared: same batching, same numbers of slots."""
    table = comparison.table.set_index(["model_key", "batching"])
    for key in ("cnn", "rnn"):
        max_length, bucket = table.loc[(key, "max_length")], table.loc[(key, "bucket")]
        assert max_length["inference_padded_slots"] == bucket["inference_padded_slots"]
        assert max_length["padded_slots"] > bucket["padded_slots"]
        histories = {r.record["batching"]: r.history for r in comparison.runs if r.record["model_key"] == key}
        assert {h["val_padded_slots"] for history in histories.values() for h in history} == {
            histories["bucket"][0]["val_padded_slots"]}
    assert "length-sorted" in comparison.to_json()["evaluation_batching"]


def test_training_time_excludes_validation_and_is_kept_apart_from_the_wall_clock(comparison):
    for run in comparison.runs:
        record = run.record
        if not run.history:
            assert record["seconds_to_best_epoch"] == record["train_seconds"] <= record["fit_wall_seconds"]
            continue
        epochs = [h["seconds"] for h in run.history]
        assert record["train_seconds"] == pytest.approx(sum(epochs) + record.get("refit_seconds", 0.0))
        assert record["seconds_to_best_epoch"] == pytest.approx(sum(epochs[:record["best_epoch"]]))
        assert record["validation_seconds"] == pytest.approx(sum(h["val_seconds"] for h in run.history))
        assert record["fit_wall_seconds"] >= record["train_seconds"] + record["validation_seconds"]
        assert record["train_cpu_seconds"] > 0 and record["inference_cpu_seconds"] >= 0


def test_timing_note_appears_only_when_wall_and_cpu_disagree():
    assert timing_note({"train_seconds": 10.0, "train_cpu_seconds": 9.0}) == ""
    note = timing_note({"train_seconds": 10.0, "train_cpu_seconds": 5.0, "load_per_core": 2.5})
    assert "busy" in note and "2.5" in note
    assert "threads" in timing_note({"train_seconds": 10.0, "train_cpu_seconds": 19.0})


@pytest.mark.parametrize("keep", [False, True])
def test_fitted_models_travel_back_only_when_kept(small_demo, keep):
    """A worker pickles what it returns: a model nobody keeps stays where it trained."""
    seen = []
    comparison = compare(small_demo, CompareConfig(models=("svm",)), keep_models=keep,
                         listener=lambda event: isinstance(event, RunFinished) and seen.append(event.result.estimator))
    assert len(seen) == 1 and (seen[0] is not None) == keep
    assert (comparison.runs[0].estimator is not None) == keep
