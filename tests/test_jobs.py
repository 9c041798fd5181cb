"""Background jobs: cancel within a batch, a FIFO queue, failures reported, and runs that survive a killed process."""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from textclf.jobs.progress import JobProgress
from textclf.jobs.runner import JobRunner
from textclf.runs.config import CompareConfig, ModelSpec, plan_runs
from textclf.runs.eta import WorkEstimate
from textclf.runs.events import BatchDone, EpochDone, RunStarted
from textclf.storage.bundle import load_bundle
from textclf.storage.store import Store
from textclf.training.progress import EpochRecord

TINY_CNN = "cnn:embed_dim=16:filters=8"


def config(*models, epochs=1, **changes) -> CompareConfig:
    return CompareConfig(models=models, batchings=("bucket",), epochs=epochs, batch_size=16, **changes)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "home")


@pytest.fixture
def runner(store):
    runner = JobRunner(store)
    yield runner
    runner.shutdown()


def test_cancel_mid_epoch_stops_within_one_batch_and_keeps_finished_runs(runner, store, small_demo):
    """The worker is held at batch 3 of epoch 2 until cancel() has been called from this thread."""
    reached, cancelled = threading.Event(), threading.Event()
    batches_seen, threads_seen = [], set()

    def listen(event):
        if not isinstance(event, BatchDone):
            return
        batches_seen.append((event.epoch, event.batch))
        threads_seen.add(torch.get_num_threads())
        if (event.epoch, event.batch) == (2, 3):
            reached.set()
            cancelled.wait(timeout=30)

    job = runner.submit(small_demo, config("svm", TINY_CNN, epochs=50, patience=50), on_event=listen)
    assert reached.wait(timeout=60)
    progress = job.progress()
    job.cancel()
    cancelled.set()
    assert job.wait(timeout=30)

    assert job.status == "cancelled" and job.error is None
    assert batches_seen[-1] == (2, 3) and threads_seen == {1}
    assert progress["status"] == "running" and progress["runs_done"] == 1 and progress["runs_total"] == 2
    assert progress["run"] == "TextCNN · bucketed · seed 0" and progress["model"] == "TextCNN"
    assert (progress["epoch"], progress["epochs"], progress["batch"]) == (2, 50, 3)
    assert progress["losses"][-1] == (progress["batches"] + 3, progress["loss"])
    assert progress["eta_seconds"] > 0 and progress["elapsed_seconds"] > 0
    assert [r.record["model"] for r in job.comparison().runs] == ["SVM"]
    assert job.comparison().runs[0].estimator is not None
    (row,) = store.list_experiments()
    assert row["status"] == "cancelled" and row["runs"] == 1 and row["total_runs"] == 2


def test_cancel_between_classical_runs_keeps_the_finished_one(runner, small_demo):
    """Classical models have no batches: a cancel during one stops the comparison before the next."""
    submitted, jobs = threading.Event(), []

    def cancel_during_the_first_run(event):
        if isinstance(event, RunStarted) and event.index == 0:
            submitted.wait(timeout=30)
            jobs[0].cancel()

    jobs.append(runner.submit(small_demo, config("svm", "knn:k=3"), on_event=cancel_during_the_first_run))
    submitted.set()
    assert jobs[0].wait(timeout=60) and jobs[0].status == "cancelled"
    assert [r.record["model"] for r in jobs[0].comparison().runs] == ["SVM"]


def test_two_comparisons_started_at_once_finish_in_order_with_their_own_results(runner, store, small_demo):
    order = []
    first = runner.submit(small_demo, config("svm", TINY_CNN), on_event=lambda e: order.append(("first", e)))
    second = runner.submit(small_demo, config("knn:k=3"), on_event=lambda e: order.append(("second", e)))
    assert second.status == "queued" and second.progress()["elapsed_seconds"] == 0.0
    assert first.wait(timeout=60) and second.wait(timeout=60)
    assert first.status == second.status == "done"
    names = [name for name, _ in order]
    assert names == sorted(names, key=["first", "second"].index) and names[-1] == "second"
    assert [r.record["model"] for r in first.comparison().runs] == ["SVM", "TextCNN"]
    assert [r.record["model"] for r in second.comparison().runs] == ["kNN (k=3)"]
    assert runner.jobs() == [first, second]
    stored = {row["id"]: row for row in store.list_experiments()}
    assert stored[first.experiment_id]["runs"] == 2 and stored[second.experiment_id]["runs"] == 1
    assert stored[first.experiment_id]["finished"] <= stored[second.experiment_id]["started"]
    assert first.progress()["eta_seconds"] is None and first.progress()["runs_done"] == 2


def test_a_queued_job_cancelled_never_runs(runner, store, small_demo):
    hold = threading.Event()
    blocker = runner.submit(small_demo, config("svm"), on_event=lambda e: hold.wait(timeout=30))
    queued = runner.submit(small_demo, config("knn"))
    queued.cancel()
    assert queued.finished and queued.status == "cancelled" and queued.comparison() is None
    hold.set()
    assert blocker.wait(timeout=60) and blocker.status == "done"
    assert {row["id"]: row["status"] for row in store.list_experiments()} == {
        blocker.experiment_id: "done", queued.experiment_id: "cancelled"}


def test_a_failing_run_marks_the_job_failed_with_the_reason(runner, store, small_demo):
    # Built directly (as a page could): the command line refuses an unknown option when parsing it.
    job = runner.submit(small_demo, config("svm", ModelSpec("cnn", {"no_such_option": 1})))
    assert job.wait(timeout=60)
    assert job.status == "failed" and "does not take that option" in job.error
    (row,) = store.list_experiments()
    assert row["status"] == "failed" and row["error"] == job.error and row["runs"] == 1


def test_without_a_store_jobs_still_run_and_save_bundles_as_runs_finish(tmp_path, small_demo):
    runner = JobRunner(save_models=True, bundles_dir=tmp_path / "bundles")
    job = runner.submit(small_demo, config(TINY_CNN, "svm"))
    assert job.wait(timeout=60) and job.status == "done" and job.experiment_id is None
    runner.shutdown()
    saved = sorted((tmp_path / "bundles" / f"job-{job.id}").iterdir())
    assert [p.name for p in saved] == ["01-TextCNN_bucketed_seed_0.textclf", "02-SVM_seed_0.textclf"]
    for path, result in zip(saved, job.comparison().runs, strict=True):
        texts = small_demo.texts[:30]
        np.testing.assert_allclose(load_bundle(path).predict_proba(texts), result.estimator.predict_proba(texts),
                                   rtol=0, atol=1e-6)
    with pytest.raises(RuntimeError, match="shut down"):
        runner.submit(small_demo, config("svm"))


KILLED_RUN = [
    "--demo", "--models", f"{TINY_CNN}:epochs=1,rnn:embed_dim=16:hidden=8:epochs=1000:patience=1000",
    "--batching", "bucket", "--batch-size", "16", "--threads", "1",
]


@pytest.mark.slow
def test_a_killed_process_leaves_its_finished_runs_and_an_interrupted_experiment(tmp_path):
    """The command line trains in worker processes by default: they leave too once the coordinator is gone."""
    home = tmp_path / "home"
    process = subprocess.Popen([sys.executable, "-m", "textclf", "compare", *KILLED_RUN],
                               env={**os.environ, "TEXTCLF_HOME": str(home), "TEXTCLF_BACKEND": "processes"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not _has_a_finished_run(home):
            assert process.poll() is None and time.monotonic() < deadline, "the run never got recorded"
            time.sleep(0.1)
        workers = _children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert workers
    deadline = time.monotonic() + 120
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "worker processes outlived their coordinator"
        time.sleep(0.1)

    store = Store(home)
    (row,) = store.list_experiments()
    assert row["status"] == "interrupted" and row["finished"] is not None
    assert row["runs"] == 1 and row["total_runs"] == 2
    comparison = store.load_comparison(row["id"])
    (run,) = comparison.runs
    assert run.record["model"] == "TextCNN" and len(run.history) == run.record["epochs_run"] == 1
    assert len(run.predictions) == len(comparison.test_labels) == comparison.split_sizes["test"]
    agreement = np.mean(np.array(run.predictions) == np.array(comparison.test_labels))
    assert run.record["accuracy"] == pytest.approx(agreement)


def _children(pid: int) -> list[int]:
    """Child processes started by any of the process's threads."""
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _has_a_finished_run(home) -> bool:
    if not (home / "textclf.db").exists():
        return False
    rows = Store(home).list_experiments()
    return bool(rows) and rows[0]["runs"] >= 1


def test_every_run_in_flight_feeds_the_time_left_and_the_newest_started_is_shown():
    """On a parallel back-end two runs train at once: both feed the estimate (by plan index), one is shown."""
    runs = plan_runs(CompareConfig(models=(TINY_CNN,), batchings=("bucket", "max_length")))
    estimate = WorkEstimate([run.model.label for run in runs], [1000, 3000])
    progress = JobProgress(2, started=0.0, estimate=estimate, parallel=2)
    progress.start_run(0, runs[0], 0.0, "worker 1")
    progress.start_run(1, runs[1], 0.0, "worker 2")
    assert progress.run == runs[1].name and progress.eta() is None
    progress.record(EpochDone(run=runs[0].name, epochs=2, record=epoch_record(epoch=1, padded_slots=500, seconds=5.0,
                                                                             val_accuracy=0.5)))
    assert progress.epoch is None  # an event of the run not shown moves only the estimate
    assert progress.eta() == pytest.approx(30.0)  # run 2 alone (3000 slots at 0.01 s) outlasts half of the rest
    progress.record(BatchDone(run=runs[1].name, epoch=1, epochs=2, batch=5, batches=10, loss=0.7))
    assert progress.eta() == pytest.approx(22.5) and progress.loss == 0.7
    progress.finish_run(0, runs[0].name, 10.0)
    assert progress.runs_done == 1 and progress.run == runs[1].name and progress.snapshot(10.0)["runs_running"] == 1


def test_a_refit_is_shown_as_such_and_starts_the_loss_curve_again():
    runs = plan_runs(CompareConfig(models=(TINY_CNN,), batchings=("bucket",)))
    progress = JobProgress(1, started=0.0)
    progress.start_run(0, runs[0], 0.0)
    batch = BatchDone(run=runs[0].name, epoch=2, epochs=2, batch=3, batches=3, loss=0.4)
    progress.record(batch)
    assert progress.snapshot(1.0)["stage"] is None and progress.losses[-1] == (6, 0.4)
    progress.record(replace(batch, epoch=1, batch=1, loss=0.9, stage="refit"))
    assert progress.snapshot(2.0)["stage"] == "refit" and list(progress.losses) == [(1, 0.9)]


def epoch_record(**values) -> EpochRecord:
    """An epoch's record with `values`, zeros elsewhere."""
    zeros = dict.fromkeys(EpochRecord.__dataclass_fields__, 0)
    return EpochRecord(**{**zeros, **values})
