"""Local worker processes: one per core with one torch thread each, shared fairly by the batches of several
comparisons.

A comparison's prepared data is pickled once and sent to a worker once, before its first run there. Runs of
several comparisons share the workers fairly (the comparison with the fewest runs in flight goes next). A
worker that dies has its run marked failed with the reason and retried once on another worker.

At the tail of the work, when no run is left to start and fewer runs are in flight than workers, the runs in
flight share the cores the machine leaves idle: each is told to take more torch threads (`thread_plan`), applied
at its next batch, and back to one when new runs arrive. Only cores measured idle are handed out (`IdleCores`):
on a machine loaded by other processes a second thread made a training step 2 to 22 times slower, not faster
(BENCHMARKS.md, "Every core to the end"). A run's placement keeps the threads it ended with (`torch_threads`),
and its record the most it used (`tail_threads`) when that was more than its worker's own: its training seconds
are then not one-thread seconds.
Torch's rounding depends on the thread count, so such a run's last bits can differ from the same run on one
thread, and whether a core was idle would then decide a result: so the tail is opt-in (`tail_threads=True`,
`compare --tail-threads`), and by default every run keeps its one thread (bit-identical to `Sequential`).
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import pickle
import signal
import sys
import threading
import types
from collections import deque
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait as wait_for_any
from typing import Any

from textclf.errors import TextclfError
from textclf.runs.dispatch.base import POLL_SECONDS, PROCESSES, RETRIES, Backend, Batch, available_cores
from textclf.runs.dispatch.cores import IdleCores, thread_plan
from textclf.runs.dispatch.worker import worker_main
from textclf.runs.events import Cancelled, RunCancelled, RunEvent, RunFailed, RunFinished, RunStarted

_SPAWNING = threading.Lock()


@contextlib.contextmanager
def _no_main_script():
    """A spawned process first re-imports its parent's `__main__` script. Streamlit runs each page as `__main__`,
    so a worker started from the dashboard would run the page again, printing "missing ScriptRunContext" for
    every Streamlit call; a worker needs nothing from the script, so it is shown an empty `__main__`."""
    script = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = script


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
    threads: int | None = None  # the torch threads its current run was last told to use


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
    """A pool of worker processes (spawned, so safe beside a threaded server), shared fairly by batches; with
    `tail_threads` (and a set number of `threads`), the last runs take the cores that idle workers leave."""

    name = PROCESSES

    def __init__(self, workers: int | None = None, *, threads: int | None = 1, nice: int = 0,
                 tail_threads: bool = False, idle_cores=None):
        self.workers = workers or available_cores()
        self.threads, self.nice = threads, nice
        self.tail_threads = tail_threads and bool(threads)
        self.idle_cores = idle_cores or IdleCores()  # a callable: the machine's idle cores now
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
        process = context.Process(target=worker_main, args=(theirs, self.threads, self.nice), daemon=True,
                                  name="textclf-worker")
        with _SPAWNING, _no_main_script():
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
        self._share_cores()

    def _drain(self, slot: _Slot) -> None:
        try:
            while slot.conn.poll():
                self._handle(slot, slot.conn.recv())
        except (EOFError, OSError):
            pass

    def _handle(self, slot: _Slot, message: tuple) -> None:
        """A worker's message about its current run: an event to relay (named after the slot), or a bug in the run
        (which stops its batch)."""
        state = slot.current[0] if slot.current else None
        if state is None:
            return
        if message[0] == "error":
            self._end_run(slot, state, message[2])
            self._fail(state, message[3])
            self._finish_if_complete(state)
            return
        event = message[2]
        if isinstance(event, RunStarted):
            event = replace(event, worker=slot.name)
        elif isinstance(event, RunFinished):
            event = replace(event, placement={**event.placement, "worker": slot.name})
        ended = isinstance(event, RunFinished | RunCancelled)
        if ended:
            self._end_run(slot, state, event.index)
        self._tell(state, event)
        if ended:
            self._finish_if_complete(state)

    @staticmethod
    def _end_run(slot: _Slot, state: _BatchState, index: int) -> None:
        slot.current = None
        state.running.pop(index, None)

    def _tell(self, state: _BatchState, event: RunEvent) -> None:
        """Pass an event to the batch's listener; if it raises (a full disk, say), the batch stops with that error."""
        try:
            state.batch.listener(event)
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
            self._tell(state, RunFailed(index=index, reason=reason, retrying=retrying))
            if retrying:
                state.pending.appendleft((index, attempt + 1))
            self._finish_if_complete(state)
        if not self._slots:
            for state in list(self._batches):
                self._fail(state, TextclfError(f"The worker processes keep dying (last: {reason})."))
                self._finish_if_complete(state)

    def _check_stops(self) -> None:
        for state in list(self._batches):
            if not state.stopping and state.batch.stop_asked():
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
            slot.current, slot.threads = (state, index, attempt), self.threads
            state.running[index] = slot
            state.turn = next(self._turns)

    def _share_cores(self) -> None:
        """Tell each run in flight how many torch threads to use now (`thread_plan`), where that changed."""
        if not self.tail_threads:
            return
        busy = [slot for slot in self._slots if slot.current is not None]
        runs_left = sum(len(s.pending) for s in self._batches if not s.stopping)
        cores = self.workers * self.threads
        if not runs_left and 0 < len(busy) < self.workers:  # the tail: hand out only cores that really idle
            cores = min(cores, sum(slot.threads for slot in busy) + round(self.idle_cores()))
        plan = thread_plan(cores, runs_left, len(busy), self.threads)
        for slot, threads in zip(busy, plan, strict=True):
            if slot.threads != threads:
                state, index, _ = slot.current
                _send_quietly(slot.conn, ("threads", state.batch.key, index, threads))
                slot.threads = threads

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
