"""The time a comparison will take, estimated before Start: planned slots × a rate measured once per setting."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from textclf.data.demo import demo_dataset
from textclf.models import create
from textclf.results.report import headline
from textclf.runs.calibration import (
    CALIBRATION_FILE,
    CLASSICAL_MIN_SECONDS,
    Calibration,
    TimeEstimate,
    calibration_key,
    estimate_time,
    measure_rate,
)
from textclf.runs.comparison import Comparison
from textclf.runs.config import CompareConfig, ModelSpec, plan_runs
from textclf.runs.eta import planned_slots
from textclf.runs.prepare import prepare
from textclf.training.loop import FP32, resolve_device, resolve_precision

RATE = 2e-4
TINY_CNN = "cnn:embed_dim=8:filters=4"


class CountingMeasure:
    """A made-up rate per setting that counts how often it was asked (a real one trains for seconds)."""

    def __init__(self, rate: float = RATE):
        self.rate, self.asked = rate, []

    def __call__(self, spec: ModelSpec, threads: int) -> float:
        self.asked.append((spec.key, threads))
        return self.rate


@pytest.fixture(scope="module")
def data():
    return demo_dataset(rows=200, seed=4)


def test_the_estimate_is_the_planned_slots_times_the_measured_rate_plus_the_classical_runs(data, tmp_path):
    config = CompareConfig(models=(TINY_CNN, "svm"), batchings=("max_length", "bucket"), epochs=4)
    prepared = prepare(data, config)
    slots = planned_slots(prepared, config, plan_runs(config))
    assert slots[0] > 0 and slots[1] > 0 and slots[2] == 0
    calibration = Calibration(tmp_path / CALIBRATION_FILE, measure=CountingMeasure())
    classical = max(CLASSICAL_MIN_SECONDS, len(prepared.split.train) * 1e-3)
    expected = (slots[0] + slots[1]) * RATE + classical
    assert estimate_time(prepared, config, calibration).typical == pytest.approx(expected)
    two_workers = estimate_time(prepared, config, calibration, workers=2).typical
    assert two_workers == pytest.approx(max(expected / 2, slots[0] * RATE, slots[1] * RATE, classical))


def test_a_refit_doubles_the_neural_runs_and_fewer_epochs_plan_less(data, tmp_path):
    config = CompareConfig(models=(TINY_CNN,), batchings=("bucket",), epochs=4)
    prepared = prepare(data, config)
    calibration = Calibration(tmp_path / CALIBRATION_FILE, measure=CountingMeasure())
    plain = estimate_time(prepared, config, calibration).typical
    assert estimate_time(prepared, replace(config, refit=True), calibration).typical == pytest.approx(2 * plain)
    quick = CompareConfig(models=(TINY_CNN,), batchings=("bucket",), epochs=2, quick_look=True)
    assert 0 < estimate_time(prepared, quick, calibration).typical < plain


def test_neural_runs_are_expected_to_stop_early_and_at_most_counts_every_epoch_to_the_cap(data, tmp_path):
    config = CompareConfig(models=(TINY_CNN,), batchings=("bucket",), epochs=30, patience=2)
    prepared = prepare(data, config)
    calibration = Calibration(tmp_path / CALIBRATION_FILE, measure=CountingMeasure())
    at_most = estimate_time(prepared, config, calibration).at_most
    assert at_most == pytest.approx(planned_slots(prepared, config, plan_runs(config))[0] * RATE)
    expected = create("cnn", epochs=30, patience=2).expected_epochs(len(prepared.part("train", None)[1]),
                                                                    len(prepared.classes))
    assert expected < 30
    assert estimate_time(prepared, config, calibration).typical == pytest.approx(at_most * expected / 30)


def test_the_cap_matters_when_every_epoch_to_it_would_take_half_as_long_again_or_more():
    assert TimeEstimate(typical=100.0, at_most=150.0).cap_matters
    assert not TimeEstimate(typical=100.0, at_most=149.0).cap_matters
    assert not TimeEstimate(typical=2.0, at_most=2.0).cap_matters  # classical runs only, or a cap every run reaches


def test_a_rate_is_measured_once_per_setting_and_kept_for_the_next_process(tmp_path):
    path = tmp_path / "home" / CALIBRATION_FILE
    measure = CountingMeasure()
    first = Calibration(path, measure=measure)
    cnn, gru = ModelSpec.parse("cnn"), ModelSpec.parse("rnn:cell=gru")
    assert first.missing([cnn, gru, ModelSpec.parse("svm")]) == [cnn, gru]
    assert first.rate(cnn) == first.rate(cnn) == RATE and measure.asked == [("cnn", 1)]
    again = Calibration(path, measure=measure)
    assert again.rate(cnn) == RATE and measure.asked == [("cnn", 1)]
    assert again.missing([cnn, gru]) == [gru]
    assert Calibration(path, measure=measure, threads=2).rate(cnn) == RATE and measure.asked[-1] == ("cnn", 2)

DEFAULT = resolve_precision("auto", resolve_device())  # what `auto` is on this machine: bf16 or fp32


def test_word_vectors_share_the_rate_of_learned_embeddings_but_another_size_or_precision_does_not():
    plain, static = ModelSpec.parse("cnn"), ModelSpec("cnn", {"embedding": "static", "vectors": "v.txt"})
    assert calibration_key(plain, 1) == calibration_key(static, 1) == f"cnn · embed_dim 300 · {DEFAULT} · 1 thread"
    assert calibration_key(ModelSpec.parse("cnn:embed_dim=128"), 1) != calibration_key(plain, 1)
    gru = ModelSpec.parse("rnn:cell=gru")
    assert calibration_key(gru, 4) == f"rnn:cell=gru · embed_dim 300 · {DEFAULT} · 4 threads"
    fp32, bf16 = ModelSpec.parse("cnn:precision=fp32"), ModelSpec.parse("cnn:precision=bf16")
    assert calibration_key(fp32, 1) != calibration_key(bf16, 1)
    assert calibration_key(plain, 1) == calibration_key(fp32 if DEFAULT == FP32 else bf16, 1), "auto as resolved"


def test_a_damaged_calibration_file_is_measured_again(tmp_path):
    path = tmp_path / CALIBRATION_FILE
    path.write_text("{not json", encoding="utf-8")
    measure = CountingMeasure()
    assert Calibration(path, measure=measure).rate(ModelSpec.parse("cnn")) == RATE and len(measure.asked) == 1
    assert json.loads(path.read_text(encoding="utf-8")) == {f"cnn · embed_dim 300 · {DEFAULT} · 1 thread": RATE}


def test_measuring_a_rate_trains_briefly_and_gives_seconds_per_slot():
    rate = measure_rate(ModelSpec.parse(TINY_CNN), 1)
    assert 0 < rate < 0.01


def test_a_quick_look_says_in_the_headline_that_it_is_under_trained():
    def comparison(config: CompareConfig) -> Comparison:
        return Comparison(config=config, dataset_name="d", classes=["a", "b"], tokenizer="words", split_sizes={},
                          split_notes=[], test_labels=[], test_lengths=[])

    quick = headline(comparison(CompareConfig(epochs=3, quick_look=True)))
    assert any("quick look, under-trained on purpose (at most 3 epochs" in sentence for sentence in quick)
    assert not any("quick look" in sentence for sentence in headline(comparison(CompareConfig())))


def test_the_config_keeps_the_quick_look_and_the_estimate():
    config = CompareConfig(epochs=3, quick_look=True, estimated_seconds=12.5)
    again = CompareConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again.quick_look and again.estimated_seconds == 12.5
