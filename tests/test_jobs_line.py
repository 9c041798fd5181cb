"""The queue says where a comparison is (place, what is ahead, start and finish), time left from the first
batches, and an experiment's dataset kept in the home folder so a reload can read it again."""

import threading
from dataclasses import replace

import pytest

from textclf.jobs.line import ordinal, starts_in
from textclf.jobs.progress import JobProgress
from textclf.jobs.runner import JobRunner
from textclf.runs.calibration import Calibration, calibration_key
from textclf.runs.config import CompareConfig, ModelSpec, plan_runs
from textclf.runs.eta import WorkEstimate
from textclf.runs.events import BatchDone
from textclf.storage import home as folders
from textclf.storage.home import dataset_file
from textclf.storage.store import Store, dataset_hash

TINY_CNN = "cnn:embed_dim=16:filters=8"


def test_ordinals_read_as_people_say_them():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


def test_one_worker_starts_a_waiting_comparison_after_all_the_work_ahead():
    assert starts_in([([30.0], [10.0, 20.0]), ([], [5.0])], workers=1) == 65.0


def test_shared_workers_start_it_when_the_first_worker_is_free_after_the_runs_ahead():
    assert starts_in([([30.0, 8.0], [10.0, 20.0])], workers=2, runs_ahead=0) == 8.0
    assert starts_in([([30.0, 8.0], [10.0, 20.0])], workers=2, runs_ahead=1) == 18.0
    assert starts_in([([4.0], [])], workers=2) == 0.0, "an idle worker takes it at once"


def test_no_start_is_told_while_a_comparison_ahead_cannot_be_estimated():
    assert starts_in([([30.0], []), None], workers=1) is None


def test_a_calibrated_rate_gives_the_time_left_from_the_first_batch():
    run = plan_runs(CompareConfig(models=("cnn",), batchings=("bucket",)))[0]
    progress = JobProgress(1)
    progress.started, progress.estimate = 0.0, WorkEstimate(["TextCNN"], [1000], prior={"TextCNN": 0.01})
    progress.start_run(0, run, 0.0)
    assert progress.eta() == pytest.approx(10.0)
    progress.record(BatchDone(run=run.name, epoch=1, epochs=2, batch=1, batches=4, loss=0.7))
    assert progress.eta() == pytest.approx(8.75)
    assert progress.work_left(now=1.0) == ([pytest.approx(8.75)], [])
    assert progress.snapshot(1.0)["in_flight"] == [{"run": run.name, "worker": None, "share": 0.125}]
    assert JobProgress(1).eta() is None


def test_before_any_epoch_or_calibration_the_first_batches_pace_gives_the_time_left():
    """A quarter of the run's 1000 slots took 5 s: 15 s are left (an upper guess until an epoch has finished)."""
    run = plan_runs(CompareConfig(models=("cnn",), batchings=("bucket",)))[0]
    progress = JobProgress(1)
    progress.started, progress.estimate = 0.0, WorkEstimate(["TextCNN"], [1000])
    progress.start_run(0, run, 0.0)
    assert progress.eta(now=1.0) is None, "nothing told before the first batch"
    progress.record(BatchDone(run=run.name, epoch=1, epochs=2, batch=2, batches=4, loss=0.7))
    assert progress.eta(now=5.0) == pytest.approx(15.0)
    assert progress.snapshot(5.0)["eta_seconds"] == pytest.approx(15.0)
    assert progress.eta() is None, "without a time, only measured or calibrated rates"


def test_without_a_calibration_nothing_is_told_before_an_epoch_has_finished():
    estimate = WorkEstimate(["TextCNN"], [1000])
    assert estimate.seconds_left({0: 0.5}) is None


def test_a_queued_comparison_knows_its_place_and_what_is_ahead_before_any_time_is_known(tmp_path, small_demo):
    store = Store(tmp_path / "home")
    runner = JobRunner(store)
    hold, held = threading.Event(), threading.Event()

    def wait_at_the_start(event):
        held.set()
        hold.wait(timeout=30)

    try:
        first = runner.submit(small_demo, CompareConfig(models=("svm",)), on_event=wait_at_the_start)
        second = runner.submit(small_demo, CompareConfig(models=("svm", "knn")))
        third = runner.submit(small_demo, CompareConfig(models=("knn",)))
        assert held.wait(timeout=60)
        place = runner.place(third)
        assert (place.position, place.ahead, place.runs_ahead) == (3, (first.experiment_id, second.experiment_id), 3)
        assert place.starts_in is None and place.finishes_in is None, "classical runs are timed once one finished"
        second.cancel()
        assert runner.place(third).position == 2
    finally:
        hold.set()
        runner.shutdown()


@pytest.mark.slow
def test_a_queued_comparison_knows_its_place_what_is_ahead_and_when_it_starts(tmp_path, small_demo):
    """The first comparison is held in its first run; a calibration kept in the home gives both estimates."""
    store = Store(tmp_path / "home")
    spec = ModelSpec.parse(TINY_CNN)
    calibration = Calibration.in_home(store.home, measure=lambda spec, threads: 1e-4)
    calibration.rate(spec)
    assert calibration_key(spec, 1) in Calibration.in_home(store.home).rates
    runner = JobRunner(store)
    hold, held = threading.Event(), threading.Event()

    def wait_in_first_batch(event):
        if isinstance(event, BatchDone):
            held.set()
            hold.wait(timeout=30)

    config = CompareConfig(models=(spec,), batchings=("bucket",), epochs=2, batch_size=16)
    try:
        first = runner.submit(small_demo, config, on_event=wait_in_first_batch)
        second = runner.submit(small_demo, replace(config, estimated_seconds=5.0))
        assert held.wait(timeout=60)
        assert runner.place(first) is None, "a comparison that trains is not in line"
        place = runner.place(second)
        assert place.position == 2 and place.ahead == (first.experiment_id,) and place.runs_ahead == 1
        assert place.starts_in is not None and 0 < place.starts_in < place.finishes_in
        assert runner.job_for_experiment(second.experiment_id) is second
        assert runner.job_for_experiment(10**6) is None
    finally:
        hold.set()
        runner.shutdown()


def test_an_experiments_dataset_is_kept_by_content_and_deleted_with_its_last_experiment(tmp_path, small_demo):
    store = Store(tmp_path / "home")
    config = CompareConfig(models=("svm",))
    first, second = store.create_experiment(small_demo, config), store.create_experiment(small_demo, config)
    kept = dataset_file(store.home, dataset_hash(small_demo))
    assert kept.is_file() and len(list(kept.parent.iterdir())) == 1
    again = store.stored_dataset(second)
    assert (again.texts, again.labels, again.name) == (small_demo.texts, small_demo.labels, small_demo.name)
    for experiment in (first, second):
        store.finish_experiment(experiment, "cancelled")
    store.delete_experiment(first)
    assert kept.is_file(), "still used by the second experiment"
    folders.cancel_file(store.home, second).parent.mkdir(exist_ok=True)
    folders.cancel_file(store.home, second).write_text("asked by a process that has gone")
    store.delete_experiment(second)
    assert not kept.exists() and not folders.cancel_file(store.home, second).exists()


def test_a_kept_dataset_that_was_changed_is_not_read_back(tmp_path, small_demo):
    store = Store(tmp_path / "home")
    experiment = store.create_experiment(small_demo, CompareConfig(models=("svm",)))
    kept = dataset_file(store.home, dataset_hash(small_demo))
    kept.write_text(kept.read_text(encoding="utf-8").replace(small_demo.texts[0], "changed"), encoding="utf-8")
    assert store.stored_dataset(experiment) is None


def test_the_sentence_says_the_place_what_is_ahead_and_the_times():
    from textclf.jobs.line import Place, place_sentence

    clock = {60.0: "14:05", 300.0: "14:09"}.get
    assert place_sentence(Place(2, (12,), 3, 60.0, 300.0), clock) == (
        "2nd in line, behind experiment #12 (3 runs ahead): starts about 14:05, finishes about 14:09.")
    assert place_sentence(Place(2, (12,), 0, 60.0, None), clock) == (
        "2nd in line, behind experiment #12: starts about 14:05.")
    assert place_sentence(Place(3, (12, 13), 1, None, None), clock).startswith(
        "3rd in line, behind experiments #12, #13 (1 run ahead): its start is estimated once")
    assert place_sentence(Place(1, (), 0, 0.0, 60.0), clock).startswith("Next to start")


def test_a_dataset_over_the_bound_is_not_kept_and_a_reload_then_asks_for_it(tmp_path, monkeypatch, small_demo):
    from textclf.storage import store as store_module

    monkeypatch.setattr(store_module, "MAX_KEPT_DATASET_BYTES", 1000)
    store = Store(tmp_path / "home")
    experiment = store.create_experiment(small_demo, CompareConfig(models=("svm",)))
    assert not dataset_file(store.home, dataset_hash(small_demo)).exists()
    assert store.stored_dataset(experiment) is None
