"""Every core to the end: once no run is left to start, the runs in flight on local workers take the cores the
machine leaves idle as torch threads (applied at their next batch), give them back when new runs come, and record
the threads they ended with (and, in the results record, the most they used). The machine's idle cores are
measured, so tests of the mechanism say how many."""

from collections import deque

import pytest
import torch

from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig
from textclf.runs.dispatch import Batch, LocalWorkers
from textclf.runs.dispatch.cores import IdleCores, thread_plan
from textclf.runs.dispatch.local import _BatchState, _Slot
from textclf.runs.dispatch.worker import PipeStop
from textclf.runs.events import RunFinished


def test_the_plan_keeps_one_thread_each_while_runs_wait_and_splits_the_cores_at_the_tail():
    assert thread_plan(cores=2, runs_left=3, in_flight=2) == [1, 1]
    assert thread_plan(cores=2, runs_left=1, in_flight=1) == [1], "the idle worker takes the waiting run"
    assert thread_plan(cores=2, runs_left=0, in_flight=2) == [1, 1]
    assert thread_plan(cores=2, runs_left=0, in_flight=1) == [2]
    assert thread_plan(cores=8, runs_left=0, in_flight=3) == [3, 3, 2]
    assert thread_plan(cores=4, runs_left=0, in_flight=4) == [1, 1, 1, 1]
    assert thread_plan(cores=8, runs_left=0, in_flight=2, base=2) == [4, 4]
    assert thread_plan(cores=2, runs_left=0, in_flight=3) == [1, 1, 1], "never fewer than base"
    assert thread_plan(cores=4, runs_left=0, in_flight=0) == []


class FakeConn:
    """A pipe end that records what is sent and hands out queued messages."""

    def __init__(self, incoming=()):
        self.sent, self.incoming = [], deque(incoming)

    def send(self, message):
        self.sent.append(message)

    def poll(self):
        return bool(self.incoming)

    def recv(self):
        return self.incoming.popleft()


def pool_with(running: int, pending: int, workers: int = 2, idle: float = 1.0, **options) -> LocalWorkers:
    """A pool (no processes) whose first `running` workers run runs 0, 1, ... of one batch with `pending` waiting,
    on a machine with `idle` idle cores."""
    pool = LocalWorkers(workers, threads=1, idle_cores=lambda: idle, **{"tail_threads": True, **options})
    state = _BatchState(Batch(None, list(range(running + pending)), None, None), 0,
                        deque((i, 1) for i in range(running, running + pending)), b"")
    pool._slots = [_Slot(f"worker {n}", None, FakeConn()) for n in range(workers)]
    for index, slot in enumerate(pool._slots[:running]):
        slot.current, slot.threads = (state, index, 1), 1
        state.running[index] = slot
    pool._batches = [state]
    return pool


def test_the_coordinator_tells_a_lone_run_to_take_the_idle_cores_and_only_once():
    pool = pool_with(running=1, pending=0)
    pool._share_cores()
    key = pool._batches[0].batch.key
    assert pool._slots[0].conn.sent == [("threads", key, 0, 2)] and pool._slots[0].threads == 2
    pool._share_cores()
    assert len(pool._slots[0].conn.sent) == 1, "nothing changed: nothing sent"
    pool._batches[0].pending.append((1, 1))  # a new run arrives: the lone run gives the core back
    pool._share_cores()
    assert pool._slots[0].conn.sent[-1] == ("threads", key, 0, 1)


def test_no_core_sharing_while_runs_wait_or_when_pinned_to_one_thread():
    waiting = pool_with(running=2, pending=1)
    waiting._share_cores()
    assert all(not slot.conn.sent for slot in waiting._slots)
    pinned = pool_with(running=1, pending=0, tail_threads=False)
    pinned._share_cores()
    assert not pinned._slots[0].conn.sent
    assert not LocalWorkers(2, threads=None, tail_threads=True).tail_threads, "torch's own count: nothing to plan"
    assert not LocalWorkers(2, threads=1).tail_threads, "opt-in: by default a result never depends on idle cores"


def test_only_cores_the_machine_leaves_idle_are_handed_out():
    loaded = pool_with(running=1, pending=0, idle=0.2)
    loaded._share_cores()
    assert not loaded._slots[0].conn.sent, "another process uses the idle worker's core: a second thread would wait"
    three_idle = pool_with(running=1, pending=0, workers=4, idle=1.6)
    three_idle._share_cores()
    assert three_idle._slots[0].conn.sent[-1][-1] == 3, "its own core and the two measured idle"
    granted = pool_with(running=1, pending=0, idle=1.0)
    granted._share_cores()
    granted.idle_cores = lambda: 0.0  # its two threads now fill the machine: it keeps them
    granted._share_cores()
    assert [message[-1] for message in granted._slots[0].conn.sent] == [2]


def test_idle_cores_are_read_from_the_cpu_times_between_two_readings(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    idle = IdleCores(interval=0, stat=stat)
    stat.write_text("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n")
    assert idle() == 0.0, "nothing to compare with yet"
    stat.write_text("cpu  150 0 150 1000 100 0 0 0 0 0\ncpu0 1 2 3 4\n")  # 100 busy, 300 idle or waiting
    assert idle() == pytest.approx(3.0)
    stale = IdleCores(interval=1, stat=stat)
    stale()
    stale._read_at -= 60  # the last reading is a minute old
    stat.write_text("cpu  150 0 150 5000 100 0 0 0 0 0\n")
    assert stale() == 0.0, "a minute-old reading says nothing about now"
    monkeypatch.setattr("os.getloadavg", lambda: (2.5, 0, 0))
    assert IdleCores(interval=0, stat=tmp_path / "missing")() == pytest.approx(1.5), "no /proc/stat: the load"


def test_a_run_applies_threads_sent_for_it_and_ignores_late_ones():
    before = torch.get_num_threads()
    inbox = deque()
    conn = FakeConn([("threads", "batch", 0, 1), ("data", "other", None), ("threads", "batch", 3, 7),
                     ("threads", "batch", 4, 2)])
    try:
        torch.set_num_threads(1)
        stop = PipeStop(conn, inbox, "batch", 4)
        assert not stop()
        assert torch.get_num_threads() == 2, "its own message applied, the earlier runs' ones dropped"
        assert stop.most_threads == 2
        assert list(inbox) == [("data", "other", None)], "other messages wait for the worker's loop"
    finally:
        torch.set_num_threads(before)


def threads_when_done(spec, prepared, config, *, progress=None, should_stop=None):
    """A run that reports its torch threads: 'short' at once, 'long' when told to take a second one (asking, as
    training does before each batch, up to a bound)."""
    for _ in range(2_000_000 if spec == "long" else 0):
        should_stop()
        if torch.get_num_threads() == 2:
            break
    return torch.get_num_threads()


def finished(pool: LocalWorkers, runs: list, costs: list) -> dict:
    seen = {}
    listen = lambda event: isinstance(event, RunFinished) and seen.update(  # noqa: E731
        {runs[event.index]: (event.result, event.placement["torch_threads"])})
    pool.run(Batch(threads_when_done, runs, None, None, listen, costs=costs))
    return seen


@pytest.mark.slow
def test_two_workers_give_the_last_run_both_cores_and_the_next_runs_one_each():
    pool = LocalWorkers(2, threads=1, tail_threads=True, idle_cores=lambda: 1.0)
    try:
        first = finished(pool, ["long", "short"], [2, 1])
        second = finished(pool, ["short", "also short"], [1, 1])
    finally:
        pool.close()
    assert first == {"short": (1, 1), "long": (2, 2)}
    assert second == {"short": (1, 1), "also short": (1, 1)}, "the worker went back to one thread"


@pytest.mark.slow
def test_a_two_worker_comparison_whose_last_run_runs_alone_records_two_torch_threads(small_demo):
    settings = CompareConfig(models=("svm", "cnn:embed_dim=16:filters=8"), batchings=("bucket",), epochs=2,
                             batch_size=16)
    pool = LocalWorkers(2, threads=1, tail_threads=True, idle_cores=lambda: 1.0)
    pinned_pool = LocalWorkers(2, threads=1, tail_threads=False, idle_cores=lambda: 1.0)
    try:
        alone = compare(small_demo, CompareConfig(models=("cnn:embed_dim=16:filters=8",), batchings=("bucket",),
                                                  epochs=2, batch_size=16), backend=pool)
        pinned = compare(small_demo, settings, backend=pinned_pool)
    finally:
        pool.close()
        pinned_pool.close()
    assert [r.placement["torch_threads"] for r in alone.runs] == [2]
    assert alone.runs[0].record["tail_threads"] == 2, "its timings are not one-thread timings: the record says so"
    assert [r.placement["torch_threads"] for r in pinned.runs] == [1, 1]
    assert not any("tail_threads" in r.record for r in pinned.runs)
