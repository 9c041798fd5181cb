"""A cancel asked from anywhere (`runs cancel`, another dashboard) stops a comparison within one batch; the runs
it finished are kept and it reads `cancelled`."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from textclf.data.demo import demo_dataset
from textclf.jobs.runner import JobRunner
from textclf.runs.config import CompareConfig
from textclf.runs.events import BatchDone, RunStarted
from textclf.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
TINY_CNN = "cnn:embed_dim=16:filters=8"


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "home")


@pytest.mark.slow
def test_a_cancel_asked_through_the_store_stops_a_running_comparison_within_one_batch(store, small_demo):
    """Held at batch 2 of the CNN (after the SVM finished) while another store object, as another process would,
    asks for the cancel."""
    runner = JobRunner(store)
    reached, asked, batches = threading.Event(), threading.Event(), []

    def listen(event):
        if isinstance(event, BatchDone):
            batches.append((event.epoch, event.batch))
            if (event.epoch, event.batch) == (1, 2):
                reached.set()
                asked.wait(timeout=30)

    config = CompareConfig(models=("svm", TINY_CNN), batchings=("bucket",), epochs=50, patience=50, batch_size=16)
    try:
        job = runner.submit(small_demo, config, on_event=listen)
        assert reached.wait(timeout=60)
        assert Store(store.home).request_cancel(job.experiment_id) == "running"
        asked.set()
        assert job.wait(timeout=60)
    finally:
        runner.shutdown()
    assert job.status == "cancelled" and batches[-1] == (1, 2)
    info = store.experiment(job.experiment_id)
    assert info["status"] == "cancelled" and info["runs"] == 1
    assert not store.cancel_requested(job.experiment_id), "the request is cleared once honoured"


def test_a_queued_comparison_cancelled_from_elsewhere_ends_without_training(store, small_demo):
    runner = JobRunner(store)
    hold, held, started = threading.Event(), threading.Event(), []

    def wait_at_the_start(event):
        held.set()
        hold.wait(timeout=30)

    try:
        blocker = runner.submit(small_demo, CompareConfig(models=("svm",)), on_event=wait_at_the_start)
        queued = runner.submit(small_demo, CompareConfig(models=("knn",)),
                               on_event=lambda e: started.append(isinstance(e, RunStarted)))
        assert held.wait(timeout=60) and blocker.status == "running" and queued.status == "queued"
        Store(store.home).request_cancel(queued.experiment_id)
        assert runner.honour_cancel_requests() == [queued]  # what the runner's watcher does twice a second
        assert queued.finished and queued.status == "cancelled"
    finally:
        hold.set()
        runner.shutdown()
    assert not started, "the queued comparison never trained"
    assert store.experiment(queued.experiment_id)["status"] == "cancelled"


def test_an_experiment_that_has_ended_cannot_be_cancelled(store, small_demo, capsys):
    from textclf.cli import main

    experiment = store.create_experiment(small_demo, CompareConfig(models=("svm",)))
    store.finish_experiment(experiment, "done")
    assert main(["--home", str(store.home), "runs", "cancel", str(experiment)]) != 0
    assert "is done; there is nothing to cancel" in capsys.readouterr().err
    assert not store.cancel_requested(experiment)


@pytest.mark.slow
def test_runs_cancel_stops_a_comparison_trained_by_worker_processes_in_another_process(tmp_path):
    """`compare` trains in another process on worker processes; once its SVM run is stored and the CNN has
    finished one epoch, `runs cancel` from here stops it within one batch (the experiment reads cancelled well
    before another epoch could have ended) and the finished runs stay stored."""
    data = tmp_path / "reviews.csv"
    demo = demo_dataset(rows=1500, seed=3)
    data.write_text("text,label\n" + "".join(f'"{t}",{label}\n' for t, label in
                                             zip(demo.texts, demo.labels, strict=True)), encoding="utf-8")
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    trainer = subprocess.Popen(
        [sys.executable, "-m", "textclf", "--home", str(home), "compare", str(data), "--models", "svm,cnn:embed_dim=64",
         "--batching", "max_length", "--epochs", "40", "--patience", "40", "--batch-size", "16",
         "--backend", "processes", "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        epoch_line = _first_epoch_line(trainer)
        store = Store(home)
        (experiment,) = store.list_experiments()
        assert experiment["status"] == "running" and experiment["runs"] == 1, "the SVM run is stored"
        cancel = subprocess.run([sys.executable, "-m", "textclf", "--home", str(home), "runs", "cancel",
                                 str(experiment["id"])], cwd=ROOT, capture_output=True, text=True, timeout=60)
        asked = time.monotonic()
        assert cancel.returncode == 0 and "finished runs are kept" in cancel.stdout
        while store.experiment(experiment["id"])["status"] == "running" and trainer.poll() is None:
            time.sleep(0.05)  # a poll for the outcome, not a wait for time to pass
        stopped_after = time.monotonic() - asked
        output, errors = trainer.communicate(timeout=120)
    finally:
        trainer.kill()
    epoch_seconds = float(epoch_line.rsplit(" s,", 1)[0].rsplit(", ", 1)[1])
    assert stopped_after < epoch_seconds, (stopped_after, epoch_seconds)
    info = Store(home).experiment(experiment["id"])
    assert info["status"] == "cancelled" and info["runs"] == 1 and info["total_runs"] == 2
    assert "ScriptRunContext" not in errors


def _first_epoch_line(process: subprocess.Popen) -> str:
    for line in process.stdout:
        if ", epoch 1/" in line:
            return line
    raise AssertionError(f"compare ended without an epoch: {process.stderr.read()[-2000:]}")
