"""Where a comparison's runs execute: in this thread, in local worker processes, or on a Dask cluster.

A comparison is a grid of independent runs, each a plain function call `work(spec, prepared, config)`. A
back-end only decides where that call happens. The coordinating process (the caller) hears about each run as
it starts, its training events, and its result or failure, and it alone writes anything down; so every
back-end gives the same records for the same seeds, and a lost worker or a cancelled job loses no finished run.

- `Sequential`: in the calling thread, one run after another (the simplest to debug).
- `LocalWorkers` (the default): one process per core with one torch thread each. A comparison's prepared data
  is pickled once and sent to a worker once, before its first run there. Runs of several comparisons share the
  workers fairly (the comparison with the fewest runs in flight goes next). A worker that dies has its run
  marked failed with the reason and retried once on another worker.
- `DaskCluster`: the same runs as Dask tasks, the prepared data scattered once, results gathered as each run
  finishes; training events through Dask's event log, cancel through a Dask `Event`.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import multiprocessing
import os
import pickle
import resource
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for_any
from typing import Any

from textclf.errors import TextclfError
from textclf.training.loop import Cancelled, StopCheck

SEQUENTIAL, PROCESSES, DASK = "sequential", "processes", "dask"
BACKENDS = (SEQUENTIAL, PROCESSES)
CLUSTER_VARIABLE = "TEXTCLF_CLUSTER"
BACKEND_VARIABLE = "TEXTCLF_BACKEND"
WORKERS_VARIABLE = "TEXTCLF_WORKERS"
POLL_SECONDS = 0.05
REMOTE_EVENT_SECONDS = 0.5
RETRIES = 1

Work = Callable[..., Any]


class Listener:
    """What the coordinator hears about a batch's runs, by run index (called in this process, one at a time)."""

    def started(self, index: int, worker: str) -> None:
        """Run `index` began on `worker`."""

    def event(self, index: int, event: dict) -> None:
        """A training event (batch, epoch) of run `index`."""

    def finished(self, index: int, result: Any, info: dict) -> None:
        """Run `index` produced `result`; `info` says where (worker, its peak memory in MB)."""

    def failed(self, index: int, reason: str, retrying: bool) -> None:
        """Run `index` was lost with its worker; `retrying` says whether it runs again elsewhere."""


@dataclass
class Batch:
    """One comparison's runs for a back-end: `work(runs[i], prepared, config, progress=, should_stop=)` each."""

    work: Work
    runs: Sequence
    prepared: Any
    config: Any
    listener: Listener = field(default_factory=Listener)
    should_stop: StopCheck | None = None
    costs: Sequence[float] | None = None  # expected relative run times: parallel back-ends start long runs first
    key: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def start_order(self) -> list[int]:
        """Run indexes, the longest expected first (ties in plan order)."""
        costs = self.costs or [0] * len(self.runs)
        return sorted(range(len(self.runs)), key=lambda i: -costs[i])


class Backend:
    """Runs batches; `run` blocks until every run of the batch has finished or failed."""

    name = "backend"
    workers = 1
    serial = False

    def run(self, batch: Batch) -> None:
        """Raises `Cancelled` when the batch was stopped, or the first error a run raised."""
        raise NotImplementedError

    def ahead(self, key: str) -> int | None:
        """How many runs of other batches start before the next run of batch `key` (None: not waiting)."""
        return None

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Stop the workers (if any)."""


def peak_memory_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def placement(worker: str) -> dict:
    """Where a run trained: the worker, its peak memory so far and its torch intra-op threads."""
    import torch

    return {"worker": worker, "peak_memory_mb": peak_memory_mb(), "torch_threads": torch.get_num_threads()}


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _set_torch_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


class Sequential(Backend):
    """Every run in the calling thread, in plan order; `threads` torch threads (None: torch's choice)."""

    name = SEQUENTIAL
    serial = True

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def run(self, batch: Batch) -> None:
        _set_torch_threads(self.threads)
        for index, spec in enumerate(batch.runs):
            if batch.should_stop and batch.should_stop():
                raise Cancelled("the comparison was cancelled")
            batch.listener.started(index, "this process")
            result = batch.work(spec, batch.prepared, batch.config,
                                progress=lambda event, i=index: batch.listener.event(i, event),
                                should_stop=batch.should_stop)
            batch.listener.finished(index, result, placement("this process"))


# Local worker processes.


def _worker_main(conn, threads: int | None, nice: int) -> None:
    """A worker process: keep each batch's data from its first run here, run what it is sent, report back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the coordinator, which cancels
    if nice:
        os.nice(nice)
    _set_torch_threads(threads)
    data: dict[str, tuple] = {}
    inbox: deque = deque()
    try:
        while True:
            message = inbox.popleft() if inbox else conn.recv()
            kind = message[0]
            if kind == "data":
                data[message[1]] = message[2]
                _give_back_memory()  # the received bytes, now unpickled
            elif kind == "forget":
                data.pop(message[1], None)
            elif kind == "run":
                _serve_run(conn, inbox, data, *message[1:])
                _give_back_memory()
            elif kind == "stop":
                return
    except (EOFError, OSError):
        return  # the coordinator is gone: nobody is left to report to


def _give_back_memory() -> None:
    """Return the heap freed by the last run to the system (glibc keeps it otherwise), so that one large run
    does not set the worker's footprint for every run after it."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _serve_run(conn, inbox: deque, data: dict, key: str, index: int, spec) -> None:
    work, prepared, config = data[key]
    stop = _PipeStop(conn, inbox, key)
    conn.send(("started", key, index))
    try:
        result = work(spec, prepared, config, progress=lambda event: conn.send(("event", key, index, event)),
                      should_stop=stop)
    except Cancelled:
        conn.send(("cancelled", key, index))
    except Exception as err:
        conn.send(("error", key, index, _sendable(err)))
    else:
        conn.send(("done", key, index, result, placement(f"worker pid {os.getpid()}")))


def _sendable(err: Exception) -> Exception:
    """The error itself when it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")


class _PipeStop:
    """The worker's stop check: a cancel for this batch arrived, or the coordinator went away."""

    def __init__(self, conn, inbox: deque, key: str):
        self.conn, self.inbox, self.key, self.stopped = conn, inbox, key, False

    def __call__(self) -> bool:
        try:
            while not self.stopped and self.conn.poll():
                message = self.conn.recv()
                if message == ("cancel", self.key):
                    self.stopped = True
                else:
                    self.inbox.append(message)
        except (EOFError, OSError):
            self.stopped = True
        return self.stopped


def _send_quietly(conn, message: tuple) -> None:
    """Send to a worker that may have died meanwhile (the pump notices the death on its next round)."""
    with contextlib.suppress(OSError):
        conn.send(message)


def describe_exit(exitcode: int | None) -> str:
    """Why a worker process ended, in words (SIGKILL is what the out-of-memory killer sends)."""
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        cause = " (killed, or out of memory)" if -exitcode == signal.SIGKILL else ""
        return f"died from {name}{cause}"
    return f"exited with code {exitcode}"


@dataclass(eq=False)  # compared by identity: a slot is one process
class _Slot:
    """One worker process and what it is doing."""

    name: str
    process: Any
    conn: Any
    current: tuple | None = None  # (batch state, run index, attempt)
    known: set = field(default_factory=set)


@dataclass(eq=False)  # compared by identity (its batch holds arrays)
class _BatchState:
    batch: Batch
    turn: int  # when it was last served (or submitted): round robin goes to the longest waiting
    pending: deque
    payload: bytes
    running: dict = field(default_factory=dict)
    stopping: bool = False
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class LocalWorkers(Backend):
    """A pool of worker processes (spawned, so safe beside a threaded server), shared fairly by batches."""

    name = PROCESSES

    def __init__(self, workers: int | None = None, *, threads: int | None = 1, nice: int = 0):
        self.workers = workers or available_cores()
        self.threads, self.nice = threads, nice
        self._lock = threading.RLock()
        self._batches: list[_BatchState] = []
        self._slots: list[_Slot] = []
        self._turns = itertools.count()
        self._names = itertools.count(1)
        self._restarts = 0
        self._pump: threading.Thread | None = None
        self._closed = False

    def describe(self) -> str:
        return f"{self.workers} local worker processes × {self.threads or 'default'} torch thread(s)"

    def run(self, batch: Batch) -> None:
        payload = pickle.dumps(("data", batch.key, (batch.work, batch.prepared, batch.config)),
                               protocol=pickle.HIGHEST_PROTOCOL)
        state = _BatchState(batch, next(self._turns), deque((i, 1) for i in batch.start_order()), payload)
        with self._lock:
            if self._closed:
                raise RuntimeError("These workers have been closed.")
            self._start()
            self._batches.append(state)
            self._finish_if_complete(state)
        state.done.wait()
        if state.error is not None:
            raise state.error
        if state.stopping:
            raise Cancelled("the comparison was cancelled")

    def ahead(self, key: str) -> int | None:
        """Simulate the fair choice of next runs until batch `key`'s turn comes."""
        with self._lock:
            mine = next((s for s in self._batches if s.batch.key == key), None)
            if mine is None or not mine.pending or mine.stopping:
                return None
            idle = sum(1 for slot in self._slots if slot.current is None)
            counts = {id(s): [len(s.running), s.turn, len(s.pending)] for s in self._batches if not s.stopping}
            turns = itertools.count(max(c[1] for c in counts.values()) + 1)
            picks = 0
            while True:
                chosen = min((c for c in counts.values() if c[2]), key=lambda c: (c[0], c[1]))
                if chosen is counts[id(mine)]:
                    return max(0, picks - idle)
                chosen[0], chosen[1], chosen[2], picks = chosen[0] + 1, next(turns), chosen[2] - 1, picks + 1

    def close(self) -> None:
        with self._lock:
            self._closed = True
            slots, self._slots = self._slots, []
            for state in self._batches:  # nobody will finish them now: let their callers go
                self._fail(state, Cancelled("the workers were closed"))
                state.done.set()
        for slot in slots:
            _send_quietly(slot.conn, ("stop",))
        for slot in slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
        if self._pump is not None:
            self._pump.join(timeout=5)

    # The pump: one thread owns the workers' pipes, hands out runs and relays what comes back.

    def _start(self) -> None:
        if self._pump is not None:
            return
        self._slots = [self._spawn() for _ in range(self.workers)]
        self._pump = threading.Thread(target=self._pump_loop, name="textclf-dispatch", daemon=True)
        self._pump.start()

    def _spawn(self) -> _Slot:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_worker_main, args=(theirs, self.threads, self.nice), daemon=True,
                                  name="textclf-worker")
        process.start()
        theirs.close()
        return _Slot(f"worker {next(self._names)} (pid {process.pid})", process, ours)

    def _pump_loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                slots = list(self._slots)
            wait_for_any([s.conn for s in slots] + [s.process.sentinel for s in slots], timeout=POLL_SECONDS)
            with self._lock:
                if self._closed:
                    return
                try:
                    self._pump_once(slots)
                except Exception as err:  # a bug here must fail the batches, not leave their callers waiting
                    for state in list(self._batches):
                        self._fail(state, err)
                        state.pending.clear()
                        state.running.clear()
                        self._finish_if_complete(state)

    def _pump_once(self, slots: list[_Slot]) -> None:
        for slot in slots:
            self._drain(slot)
            if not slot.process.is_alive():
                self._lost(slot)
        self._check_stops()
        self._assign()

    def _drain(self, slot: _Slot) -> None:
        try:
            while slot.conn.poll():
                self._handle(slot, slot.conn.recv())
        except (EOFError, OSError):
            pass

    def _handle(self, slot: _Slot, message: tuple) -> None:
        kind, _, index = message[:3]
        state = slot.current[0] if slot.current else None
        if state is None:
            return
        if kind == "started":
            self._tell(state, lambda: state.batch.listener.started(index, slot.name))
        elif kind == "event":
            self._tell(state, lambda: state.batch.listener.event(index, message[3]))
        else:
            slot.current = None
            state.running.pop(index, None)
            if kind == "done":
                info = {**message[4], "worker": slot.name}
                self._tell(state, lambda: state.batch.listener.finished(index, message[3], info))
            elif kind == "error":
                self._fail(state, message[3])
            self._finish_if_complete(state)

    def _tell(self, state: _BatchState, call: Callable[[], None]) -> None:
        """Run a listener callback; if it raises (a full disk, say), the batch stops with that error."""
        try:
            call()
        except Exception as err:
            self._fail(state, err)

    def _fail(self, state: _BatchState, err: BaseException) -> None:
        if state.error is None:
            state.error = err
        self._stop(state)

    def _stop(self, state: _BatchState) -> None:
        if state.stopping:
            return
        state.stopping = True
        state.pending.clear()
        for slot in state.running.values():
            _send_quietly(slot.conn, ("cancel", state.batch.key))

    def _lost(self, slot: _Slot) -> None:
        """A worker died: replace it; its run is marked failed and, the first time, queued again."""
        reason = f"{slot.name} {describe_exit(slot.process.exitcode)}"
        slot.process.join()
        self._restarts += 1
        self._slots[self._slots.index(slot)] = self._spawn() if self._restarts <= 3 * self.workers + 3 else None
        self._slots = [s for s in self._slots if s is not None]
        if slot.current is not None:
            state, index, attempt = slot.current
            state.running.pop(index, None)
            retrying = attempt <= RETRIES and not state.stopping
            self._tell(state, lambda: state.batch.listener.failed(index, reason, retrying))
            if retrying:
                state.pending.appendleft((index, attempt + 1))
            self._finish_if_complete(state)
        if not self._slots:
            for state in list(self._batches):
                self._fail(state, TextclfError(f"The worker processes keep dying (last: {reason})."))
                self._finish_if_complete(state)

    def _check_stops(self) -> None:
        for state in list(self._batches):
            if not state.stopping and state.batch.should_stop and state.batch.should_stop():
                self._stop(state)
                self._finish_if_complete(state)

    def _assign(self) -> None:
        for slot in self._slots:
            if slot.current is not None:
                continue
            state = self._next_batch()
            if state is None:
                return
            index, attempt = state.pending.popleft()
            try:
                if state.batch.key not in slot.known:
                    slot.conn.send_bytes(state.payload)
                    slot.known.add(state.batch.key)
                slot.conn.send(("run", state.batch.key, index, state.batch.runs[index]))
            except OSError:
                state.pending.appendleft((index, attempt))
                return  # the worker died meanwhile; the next round replaces it
            slot.current = (state, index, attempt)
            state.running[index] = slot
            state.turn = next(self._turns)

    def _next_batch(self) -> _BatchState | None:
        """Fair sharing: the batch with the fewest runs in flight, then the one served longest ago (round robin)."""
        waiting = [s for s in self._batches if s.pending and not s.stopping]
        return min(waiting, key=lambda s: (len(s.running), s.turn)) if waiting else None

    def _finish_if_complete(self, state: _BatchState) -> None:
        if state.pending or state.running or state not in self._batches:
            return
        self._batches.remove(state)
        for slot in self._slots:
            if state.batch.key in slot.known:
                slot.known.discard(state.batch.key)
                _send_quietly(slot.conn, ("forget", state.batch.key))
        state.done.set()


# A Dask cluster.


class DaskCluster(Backend):
    """Runs as Dask tasks on the cluster whose scheduler listens at `address` (e.g. tcp://host:8786)."""

    name = DASK

    def __init__(self, address: str, *, threads: int | None = 1, timeout: float = 10):
        from distributed import Client

        self.address, self.threads = address, threads
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise TextclfError(f"Cannot reach the Dask scheduler at {address} ({err}). Start one with "
                               "`dask scheduler` and workers with `dask worker`, or leave the cluster out.") from None
        self._batches: dict[str, _DaskBatch] = {}

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def describe(self) -> str:
        return f"Dask cluster at {self.address} ({self.workers} workers)"

    def run(self, batch: Batch) -> None:
        job = _DaskBatch(self.client, batch, self.threads)
        self._batches[batch.key] = job
        try:
            job.run()
        finally:
            self._batches.pop(batch.key, None)

    def ahead(self, key: str) -> int | None:
        """Runs of other batches submitted earlier that have not finished (Dask orders by priority, then age)."""
        job = self._batches.get(key)
        if job is None or job.started_any:
            return None
        return sum(other.unfinished for other in list(self._batches.values()) if other.order < job.order)

    def close(self) -> None:
        self.client.close()


_dask_order = itertools.count()


class _DaskBatch:
    """One batch on the cluster: scatter the data, submit a task per run, relay events, gather results."""

    def __init__(self, client, batch: Batch, threads: int | None):
        self.client, self.batch, self.threads = client, batch, threads
        self.order = next(_dask_order)
        self.attempts: dict[int, list[str]] = {}
        self.closed: set[int] = set()
        self.error: BaseException | None = None
        self.stopping = False
        self.unfinished = len(batch.runs)
        self.lock = threading.Lock()

    @property
    def started_any(self) -> bool:
        return bool(self.attempts)

    def run(self) -> None:
        from distributed import Event

        key, client = self.batch.key, self.client
        topic, stop = f"textclf-{key}", Event(f"textclf-stop-{key}", client=client)
        [data] = client.scatter([(self.batch.work, self.batch.prepared, self.batch.config)], hash=False,
                                broadcast=True)
        client.subscribe_topic(topic, self._on_message)
        self.futures = {client.submit(_dask_run, spec, data, key, index, topic, stop.name, self.threads,
                                      key=f"textclf-{key}-{index}", pure=False, priority=-rank): index
                        for rank, (index, spec) in enumerate((i, self.batch.runs[i]) for i in self.batch.start_order())}
        try:
            self._gather(stop)
        finally:
            client.unsubscribe_topic(topic)
            client.cancel(list(self.futures))
            data.release()
            self.futures = {}
        if self.error is not None:
            raise self.error
        if self.stopping:
            raise Cancelled("the comparison was cancelled")

    def _gather(self, stop) -> None:
        from distributed import as_completed

        arriving = as_completed(list(self.futures), loop=self.client.loop)
        while not arriving.is_empty():
            if not self.stopping and self.batch.should_stop and self.batch.should_stop():
                self._stop(stop)
            ready = arriving.next_batch(block=False)
            if not ready:
                time.sleep(POLL_SECONDS)
            for future in ready:
                self._collect(future, self.futures[future], stop)

    def _stop(self, stop) -> None:
        self.stopping = True
        stop.set()
        self.client.cancel([f for f, i in self.futures.items() if i not in self.attempts])

    def _collect(self, future, index: int, stop) -> None:
        from distributed.scheduler import KilledWorker

        with self.lock:
            self.closed.add(index)
            self.unfinished -= 1
        if future.status == "finished":
            result, info = future.result()
            self._tell(lambda: self.batch.listener.finished(index, result, info), stop)
        elif future.status == "error":
            err = future.exception()
            if isinstance(err, KilledWorker):
                self._tell(lambda: self.batch.listener.failed(index, f"its workers died: {err}", False), stop)
            elif not isinstance(err, Cancelled):
                self.error = self.error or err
                self._stop(stop)
        elif not self.stopping:  # cancelled or lost by the cluster itself: say so, never drop the run silently
            reason = f"the cluster dropped its task ({future.status}): its worker or its copy of the data was lost"
            self._tell(lambda: self.batch.listener.failed(index, reason, False), stop)

    def _tell(self, call: Callable[[], None], stop) -> None:
        try:
            call()
        except Exception as err:
            self.error = self.error or err
            self._stop(stop)

    def _on_message(self, event) -> None:
        """Events from tasks (Dask calls this in the client's thread). A second start means a worker was lost."""
        _, message = event
        index = message["index"]
        with self.lock:
            if index in self.closed:
                return
            if message["kind"] == "event":
                self.batch.listener.event(index, message["event"])
                return
            tries = self.attempts.setdefault(index, [])
            tries.append(message["worker"])
        if len(tries) > 1:
            retrying = len(tries) <= RETRIES + 1
            reason = f"worker {tries[-2]} was lost mid-run (its process died or left the cluster)"
            self.batch.listener.failed(index, reason, retrying)
            if not retrying:
                self.client.cancel([f for f, i in self.futures.items() if i == index])
                return
        self.batch.listener.started(index, message["worker"])


class _Throttled:
    """Call `send` for every epoch event, and for batch events at most every `seconds` (the scheduler relays them)."""

    def __init__(self, send: Callable[[dict], None], seconds: float):
        self.send, self.seconds, self.last = send, seconds, 0.0

    def __call__(self, event: dict) -> None:
        now = time.monotonic()
        if event.get("event") == "batch" and now - self.last < self.seconds:
            return
        self.last = now
        self.send(event)


class _RemoteStop:
    """Asks the scheduler's Event whether to stop, at most every `seconds` (each ask is a round trip)."""

    def __init__(self, event, seconds: float):
        self.event, self.seconds, self.last, self.stopped = event, seconds, 0.0, False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self.stopped and now - self.last >= self.seconds:
            self.last = now
            self.stopped = self.event.is_set()
        return self.stopped


def _dask_run(spec, data: tuple, key: str, index: int, topic: str, stop_name: str, threads: int | None):
    """The task: one run on a Dask worker, telling the coordinator through the worker's event log."""
    from distributed import Event, get_worker

    worker = get_worker()
    _set_torch_threads(threads)
    work, prepared, config = data
    worker.log_event(topic, {"kind": "started", "index": index, "worker": worker.address})
    relay = _Throttled(lambda event: worker.log_event(topic, {"kind": "event", "index": index, "event": event}),
                       REMOTE_EVENT_SECONDS)
    result = work(spec, prepared, config, progress=relay,
                  should_stop=_RemoteStop(Event(stop_name), REMOTE_EVENT_SECONDS))
    return result, placement(worker.address)


def make_backend(kind: str = PROCESSES, *, cluster: str | None = None, workers: int | None = None,
                 threads: int | None = 1, nice: int = 0) -> Backend:
    """A back-end by name; a cluster address means Dask whatever `kind` says."""
    if cluster:
        return DaskCluster(cluster, threads=threads)
    if kind == SEQUENTIAL:
        return Sequential(threads)
    if kind == PROCESSES:
        return LocalWorkers(workers, threads=threads, nice=nice)
    raise TextclfError(f"Unknown back-end {kind!r}; choose from {', '.join(BACKENDS)} or give a cluster address.")


def backend_from_environment(*, nice: int = 0) -> Backend:
    """The dashboard's back-end: the Dask cluster named by $TEXTCLF_CLUSTER, else $TEXTCLF_BACKEND (local worker
    processes unless it says sequential; $TEXTCLF_WORKERS of them, one per core by default)."""
    workers = os.environ.get(WORKERS_VARIABLE, "")
    if workers and not (workers.isdigit() and int(workers) > 0):
        raise TextclfError(f"${WORKERS_VARIABLE} should be a number of worker processes, not {workers!r}.")
    return make_backend(os.environ.get(BACKEND_VARIABLE) or PROCESSES, cluster=os.environ.get(CLUSTER_VARIABLE) or None,
                        workers=int(workers) if workers else None, nice=nice)
