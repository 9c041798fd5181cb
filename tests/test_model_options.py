"""Model options: checked when parsed against the one table of bounds a bundle's settings meet too, and a run
whose training diverges is a failed run with its reason while the comparison's other runs are stored."""

import math

import pytest

from textclf.cli import main
from textclf.errors import TextclfError
from textclf.jobs.runner import JobRunner
from textclf.models import get_model_class, model_keys
from textclf.models.bounds import BOUNDS, setting_problem
from textclf.runs.config import CompareConfig, ModelSpec
from textclf.storage.bundle_checks import PARAM_BOUNDS
from textclf.storage.store import Store

# (option as typed, the option's name, a word the message must hold): the kinds of value the review found
# crashing a comparison (ranges, non-finite numbers, huge numbers, unknown words, paths, unknown options).
BAD_OPTIONS = [
    ("cnn:dropout=2", "dropout", "0.0..0.95"), ("cnn:lr=nan", "lr", "finite"), ("cnn:lr=inf", "lr", "finite"),
    ("cnn:lr=-1", "lr", "1e-08..100"), ("cnn:max_len=0", "max_len", "1..1000000"),
    ("cnn:filters=1e8", "filters", "whole number"), ("cnn:filters=100000000", "filters", "1..4096"),
    ("knn:k=0", "k", "or auto"), ("svm:C=-1", "C", "1e-06..1000000"), ("cnn:optimizer=evil", "optimizer", "adam"),
    ("cnn:tokenizer=../../etc", "tokenizer", "words"), ("cnn:epochs=1e9", "epochs", "whole number"),
    ("cnn:min_freq=nan", "min_freq", "finite"), ("cnn:embed_dim=10000000", "embed_dim", "1..4096"),
    ("cnn:kernel_sizes=0/3", "kernel_sizes", "1..64"), ("rnn:cell=transformer", "cell", "lstm"),
    ("cnn:batch_size=-3", "batch_size", "1..1000000"), ("svm:ngram_max=99", "ngram_max", "1..16"),
    ("cnn:device=../../x", "device", "device name"), ("cnn:wide=maybe", "wide", "true or false"),
    ("cnn:bogus=1", "bogus", "its options are"),
]


@pytest.mark.parametrize("text, name, bound", BAD_OPTIONS)
def test_an_out_of_range_option_is_refused_when_parsed_naming_option_bound_and_model(text, name, bound):
    with pytest.raises(TextclfError) as refused:
        ModelSpec.parse(text)
    message = str(refused.value)
    assert name in message and bound in message and repr(text.split(":")[0]) in message
    assert "\n" not in message


@pytest.mark.parametrize("text, name, bound", BAD_OPTIONS[::3])
def test_the_command_line_prints_one_line_and_no_traceback_for_a_bad_option(tmp_path, capsys, text, name, bound):
    code = main(["compare", "--demo", "--home", str(tmp_path), "--models", f"svm,{text}"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and name in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ["cnn:kernel_sizes=2/3/4:dropout=0.3:lr=0.01", "rnn:cell=gru:pooling=attention",
                                  "knn:k=auto", "knn:k=7:weights=uniform", "svm:C=10:ngram_max=2",
                                  "cnn:optimizer=adadelta:epochs=0", "rnn:device=cpu"])
def test_options_within_bounds_parse(text):
    assert ModelSpec.parse(text).key == text.split(":")[0]


def test_every_model_default_is_within_the_table_that_bundles_are_checked_against():
    for key in model_keys():
        model = get_model_class(key)()
        for name in get_model_class(key)._get_param_names():
            assert setting_problem(name, getattr(model, name)) is None, (key, name)
    numeric = {name for name, bound in BOUNDS.items() if bound.kind in (int, float)}
    assert set(PARAM_BOUNDS) == numeric
    assert all(PARAM_BOUNDS[name] == (BOUNDS[name].low, BOUNDS[name].high) for name in numeric)


def test_a_diverging_run_is_a_failed_run_with_its_reason_and_the_svm_beside_it_is_stored(tmp_path, small_demo):
    """The spec is built directly (as a page does), so the loop's own check is what catches it."""
    diverging = ModelSpec("cnn", {"embed_dim": 8, "filters": 4, "min_freq": 1, "lr": math.inf})
    config = CompareConfig(models=(diverging, ModelSpec("svm")), batchings=("bucket",), epochs=2, batch_size=16)
    store = Store(tmp_path)
    runner = JobRunner(store)
    job = runner.submit(small_demo, config)
    assert job.wait(timeout=120)
    runner.shutdown()
    (experiment,) = store.list_experiments()
    details = store.experiment(experiment["id"])
    assert [bundle["run"] for bundle in details["bundles"]] == ["SVM · seed 0"]
    (failure,) = details["failures"]
    assert failure["run"].startswith("TextCNN") and "diverged" in failure["reason"] and "lr" in failure["reason"]
    assert store.load_comparison(experiment["id"]).table.model.tolist() == ["SVM"]


@pytest.mark.parametrize("setting", [{"lr": float("nan")}, {"lr": float("inf")}, {"epochs": 10**9},
                                     {"batch_size": 10**9}, {"patience": 0}])
def test_run_wide_settings_are_held_to_the_same_bounds(setting):
    with pytest.raises(TextclfError) as refused:
        CompareConfig(**setting)
    assert next(iter(setting)).replace("_", " ") in str(refused.value)
