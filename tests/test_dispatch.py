"""Dispatch: every back-end gives the sequential results; lost workers, cancel and fair sharing across batches."""

import os
import signal
import threading
from collections import deque
from functools import partial

import pytest

from textclf.errors import TextclfError
from textclf.jobs.runner import JobRunner
from textclf.runs.compare import compare
from textclf.runs.comparison import TIMING_COLUMNS
from textclf.runs.config import CompareConfig, ModelSpec, plan_runs
from textclf.runs.dispatch import Batch, DaskCluster, LocalWorkers, Sequential, describe_exit, make_backend
from textclf.runs.dispatch.cluster import _DaskBatch
from textclf.runs.dispatch.local import _BatchState, _Slot
from textclf.runs.events import BatchDone, Cancelled, RunFailed, RunFinished, RunStarted, ignore
from textclf.runs.prepare import prepare
from textclf.runs.run_one import run_one
from textclf.storage.bundle import load_bundle, save_bundle
from textclf.storage.store import Store

TINY_CNN = "cnn:embed_dim=16:filters=8"
TINY_RNN = "rnn:embed_dim=16:hidden=8"
TIMING_KEYS = set(TIMING_COLUMNS)


def config(*models, epochs=1, **changes) -> CompareConfig:
    return CompareConfig(models=models, batchings=("bucket", "max_length"), epochs=epochs, batch_size=16, **changes)


def same_results(left, right) -> None:
    """Everything a run reports except wall-clock timings is identical."""
    assert [r.record["model"] for r in left.runs] == [r.record["model"] for r in right.runs]
    for a, b in zip(left.runs, right.runs, strict=True):
        assert {k: v for k, v in a.record.items() if k not in TIMING_KEYS} == \
               {k: v for k, v in b.record.items() if k not in TIMING_KEYS}
        assert [{k: v for k, v in h.items() if "seconds" not in k} for h in a.history] == \
               [{k: v for k, v in h.items() if "seconds" not in k} for h in b.history]
        assert a.predictions == b.predictions


@pytest.fixture(scope="module")
def workers():
    pool = LocalWorkers(2, threads=1, tail_threads=False)  # one thread per run, as the sequential reference's
    yield pool
    pool.close()
    assert all(not slot.process.is_alive() for slot in pool._slots)


@pytest.fixture(scope="module")
def sequential_results(small_demo):
    return compare(small_demo, config("svm", TINY_CNN, TINY_RNN), backend=Sequential(threads=1))


@pytest.mark.slow
def test_worker_processes_give_the_sequential_results(workers, small_demo, sequential_results):
    seen_workers = set()
    parallel = compare(small_demo, config("svm", TINY_CNN, TINY_RNN), backend=workers,
                       listener=lambda event: isinstance(event, RunStarted) and seen_workers.add(event.worker))
    same_results(parallel, sequential_results)
    assert len(seen_workers) == 2 and all("pid" in w for w in seen_workers)
    assert all(r.placement["peak_memory_mb"] > 0 and r.placement["torch_threads"] == 1 for r in parallel.runs)


NEWER_MODELS = ("han:embed_dim=16:hidden=8", "rcnn:embed_dim=16:hidden=8:latent=8",
                "clstm:embed_dim=16:filters=8:hidden=8", "cnn:embed_dim=16:filters=8:embedding=non-static")


@pytest.mark.slow
def test_folds_raw_text_models_and_word2vec_per_run_give_the_sequential_results_and_bundles(workers, small_demo,
                                                                                         tmp_path):
    """2-fold CV of HAN (reads the raw texts), RCNN, C-LSTM and TextCNN on word2vec trained in its run: the same
    records, histories and predictions; a model trained in a worker saves a bundle that predicts the same."""
    settings = CompareConfig(models=NEWER_MODELS, batchings=("bucket",), epochs=1, batch_size=16, cv=2)
    sequential = compare(small_demo, settings, backend=Sequential(threads=1))
    parallel = compare(small_demo, settings, backend=workers, keep_models=True)
    same_results(parallel, sequential)
    assert [r.record["fold"] for r in parallel.runs] == [1, 2] * len(NEWER_MODELS)
    han = parallel.runs[1]
    texts, _ = prepare(small_demo, settings).part("test", 2, raw=True)
    bundle = load_bundle(save_bundle(han.estimator, tmp_path / "han.textclf"))
    assert list(bundle.predict(texts)) == han.predictions


class _KillFirstAttempt:
    """Kills the worker running run `target` at its first training event, once."""

    def __init__(self, target: int):
        self.target, self.worker, self.killed, self.failures, self.results = target, {}, False, [], {}

    def __call__(self, event):
        if isinstance(event, RunStarted):
            self.worker[event.index] = event.worker
        elif isinstance(event, RunFinished):
            self.results[event.index] = event.result
        elif isinstance(event, RunFailed):
            self.failures.append((event.index, event.reason, event.retrying))
        else:
            self.training(event.index, event)

    def training(self, index, event):
        if index == self.target and not self.killed:
            self.killed = True
            self.kill(index)

    def kill(self, index):
        os.kill(int(self.worker[index].split("pid ")[1].rstrip(")")), signal.SIGKILL)


@pytest.mark.slow
def test_a_killed_worker_fails_its_run_with_the_reason_and_it_is_retried_elsewhere(workers, small_demo,
                                                                                   sequential_results):
    settings = config("svm", TINY_CNN, TINY_RNN)
    runs, prepared = plan_runs(settings), prepare(small_demo, settings)
    listener = _KillFirstAttempt(target=3)
    workers.run(Batch(run_one, runs, prepared, settings, listener))
    assert listener.killed
    ((index, reason, retrying),) = listener.failures
    assert index == 3 and retrying and "SIGKILL" in reason and "worker" in reason
    assert sorted(listener.results) == list(range(len(runs)))
    for index, expected in enumerate(sequential_results.runs):
        assert listener.results[index].record["accuracy"] == expected.record["accuracy"]
        assert listener.results[index].predictions == expected.predictions


def test_a_cluster_task_that_ends_neither_finished_nor_failed_is_reported_not_dropped():
    """Dask can cancel a task itself (its worker and data lost): the run must fail with a reason, as a CLI run once
    ended with exit 0 and two of its three runs silently missing."""
    listener = _KillFirstAttempt(target=-1)
    dask_batch = _DaskBatch(client=None, batch=Batch(None, ["a", "b"], None, None, listener), threads=1)
    lost = type("Future", (), {"status": "cancelled"})()
    dask_batch.resubmitted.add(1)  # its one resubmission (test below) was dropped too
    dask_batch._collect(lost, 1, stop=None)
    [(index, reason, retrying)] = listener.failures
    assert index == 1 and not retrying and "cancelled" in reason
    assert dask_batch.unfinished == 1 and dask_batch.error is None


def test_a_cluster_task_dropped_with_its_data_is_submitted_once_more_with_the_data_scattered_again():
    """The workers holding the scattered data can all be lost (one that joined later never got a copy): the runs
    waiting on it are cancelled by Dask, and must run again rather than fail."""
    submitted, scattered = [], []

    class Client:
        def scatter(self, values, **options):
            scattered.append(values)
            return [type("Future", (), {"status": "finished"})()]

        def submit(self, *args, key, **options):
            submitted.append(key)
            return key

    listener = _KillFirstAttempt(target=-1)
    dask_batch = _DaskBatch(client=Client(), batch=Batch(None, ["a", "b"], None, None, listener), threads=1)
    dask_batch.topic, dask_batch.stop_event, dask_batch.futures = "topic", type("Event", (), {"name": "stop"})(), {}
    dask_batch.data = type("Future", (), {"status": "lost"})()
    dask_batch.arriving = type("Arriving", (), {"add": lambda self, future: submitted.append(("waiting", future))})()
    dask_batch._collect(type("Future", (), {"status": "cancelled"})(), 1, stop=None)
    assert len(scattered) == 1 and submitted == [f"textclf-{dask_batch.batch.key}-1-again",
                                                 ("waiting", f"textclf-{dask_batch.batch.key}-1-again")]
    assert not listener.failures and dask_batch.unfinished == 2 and 1 not in dask_batch.closed


@pytest.mark.slow
def test_a_run_lost_twice_is_failed_without_a_third_try_and_the_others_finish(workers, small_demo):
    settings = config("svm", TINY_CNN)

    class KillEveryAttempt(_KillFirstAttempt):
        def training(self, index, event):
            if index == self.target and isinstance(event, BatchDone) and event.batch == 1:
                self.kill(index)

    listener = KillEveryAttempt(target=1)
    workers.run(Batch(run_one, plan_runs(settings), prepare(small_demo, settings), settings, listener))
    assert [(i, retrying) for i, _, retrying in listener.failures] == [(1, True), (1, False)]
    assert sorted(listener.results) == [0, 2]


@pytest.mark.slow
def test_two_batches_share_one_worker_turn_by_turn(small_demo):
    """With one worker, the second comparison's first run goes before the first comparison's second."""
    pool, order, lock = LocalWorkers(1, threads=1), [], threading.Lock()
    settings = config("svm", "knn:k=1", "knn:k=3")
    prepared, runs = prepare(small_demo, settings), plan_runs(settings)

    def record(name):
        def listen(event):
            if isinstance(event, RunStarted):
                with lock:
                    order.append((name, event.index))
        return listen

    try:
        hold = threading.Event()
        gate = Batch(run_one, runs[:1], prepared, settings, ignore, should_stop=None)
        first = Batch(run_one, runs, prepared, settings, record("a"))
        second = Batch(run_one, runs, prepare(small_demo, settings), settings, record("b"))  # its own arrays
        threads = [threading.Thread(target=pool.run, args=(b,)) for b in (gate, first, second)]
        threads[0].start()
        threads[1].start()
        while pool.ahead(first.key) is None and not order:
            hold.wait(0.01)
        threads[2].start()
        while pool.ahead(second.key) is None and len(order) < 2:
            hold.wait(0.01)
        for thread in threads:
            thread.join(timeout=120)
    finally:
        pool.close()
    assert [name for name, _ in order] == ["a", "b", "a", "b", "a", "b"]


@pytest.mark.slow
def test_cancel_reaches_a_worker_mid_epoch_and_finished_runs_are_stored(tmp_path, small_demo):
    store = Store(tmp_path / "home")
    runner = JobRunner(store, backend=LocalWorkers(2, threads=1))
    reached = threading.Event()

    def listen(event):
        if isinstance(event, BatchDone) and event.epoch == 2:
            reached.set()

    try:
        job = runner.submit(small_demo, CompareConfig(models=("svm", TINY_CNN), batchings=("bucket",), epochs=500,
                                                      patience=500, batch_size=16), on_event=listen)
        assert reached.wait(timeout=120)
        assert job.progress()["runs_running"] == 1 and job.progress()["worker"].startswith("worker")
        job.cancel()
        assert job.wait(timeout=60)
    finally:
        runner.shutdown()
    assert job.status == "cancelled"
    assert [r.record["model"] for r in job.comparison().runs] == ["SVM"]
    (row,) = store.list_experiments()
    assert row["status"] == "cancelled" and row["runs"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "workers"])
def test_a_refused_run_is_reported_after_the_other_runs_trained_and_were_stored(parallel, workers, small_demo):
    """The refused runs come first in the plan and first to start (the longest expected): the rest still train."""
    stored, failed = [], []
    refused = ModelSpec("cnn", {"no_such_option": 1})  # built directly: the command line refuses it when parsing
    with pytest.raises(TextclfError, match="does not take that option"):
        compare(small_demo, config(refused, "svm"), backend=workers if parallel else Sequential(1),
                listener=partial(_stored_and_failed, plan_runs(config(refused, "svm")), stored, failed))
    assert stored == ["svm"] and failed == [("cnn", False), ("cnn", False)]


def _stored_and_failed(runs, stored: list, failed: list, event) -> None:
    """Which models' runs finished and which failed (with whether they were retried)."""
    model = runs[event.index].model.key
    if isinstance(event, RunFinished):
        stored.append(model)
    elif isinstance(event, RunFailed):
        failed.append((model, event.retrying))


@pytest.mark.slow
def test_an_error_in_a_run_stops_the_batch_and_reaches_the_caller(workers, small_demo):
    """A bug (not a refusal in words) stops the comparison: the runs beside it are cancelled."""
    settings = config("svm")
    with pytest.raises(ZeroDivisionError):
        workers.run(Batch(_divide_by_zero, plan_runs(settings), prepare(small_demo, settings), settings))


def _divide_by_zero(spec, prepared, config, **options):
    return 1 / 0


@pytest.mark.slow
def test_cancelled_before_start_raises_cancelled(workers, small_demo):
    with pytest.raises(Cancelled):
        compare(small_demo, config("svm"), backend=workers, should_stop=lambda: True)


def test_backends_by_name_and_exit_reasons():
    assert isinstance(make_backend("sequential"), Sequential)
    with pytest.raises(TextclfError, match="Unknown back-end"):
        make_backend("threads")
    assert "out of memory" in describe_exit(-signal.SIGKILL) and describe_exit(3) == "exited with code 3"


def test_a_waiting_batch_knows_how_many_runs_of_other_batches_are_ahead():
    """One busy worker; batches a, b, c waiting (a served longest ago): turns go a, b, c, a, b, c, ..."""
    pool = LocalWorkers(1)
    pool._slots = [_Slot("busy worker", None, None, current=("some run",))]
    states = [_BatchState(Batch(run_one, [0, 1, 2], None, None), turn, deque([(0, 1), (1, 1), (2, 1)]), b"")
              for turn in range(3)]
    pool._batches = list(states)
    assert [pool.ahead(s.batch.key) for s in states] == [0, 1, 2]
    states[0].pending.popleft()
    states[0].running[0], states[0].turn = pool._slots[0], 5
    assert [pool.ahead(s.batch.key) for s in states] == [2, 0, 1]
    assert pool.ahead("no such batch") is None


def test_an_unreachable_cluster_is_explained():
    pytest.importorskip("distributed")
    with pytest.raises(TextclfError, match="Cannot reach the Dask scheduler at tcp://127.0.0.1:18779"):
        DaskCluster("tcp://127.0.0.1:18779", timeout=1)
