"""A local worker process: keeps each batch's data from its first run here, runs what it is sent and reports
every event back through its pipe. Runs in a spawned process, so everything here must be importable.

While a run trains, the coordinator may tell it to use another number of torch threads (the tail of the work,
see textclf.runs.dispatch.local); the run takes it at its next batch, and the worker goes back to its own number
after the run. A run given more threads than the worker's own says so in its record (`tail_threads`: the most it
used), since its training seconds are then not comparable with one-thread runs'."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import signal
from collections import deque

from textclf.runs.dispatch.base import of_run, placement, set_torch_threads
from textclf.runs.events import Cancelled, RunCancelled, RunFinished, RunStarted


def worker_main(conn, threads: int | None, nice: int) -> None:
    """The worker's loop: data, forget, run and stop messages from the coordinator, until it stops or goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the coordinator, which cancels
    if nice:
        os.nice(nice)
    set_torch_threads(threads)
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
                try:
                    _serve_run(conn, inbox, data, *message[1:], own_threads=threads)
                finally:
                    set_torch_threads(threads)
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


def _serve_run(conn, inbox: deque, data: dict, key: str, index: int, spec, *, own_threads: int | None = None) -> None:
    """One run; its events go back as ("event", key, event), a bug in it as ("error", key, index, error)."""
    work, prepared, config = data[key]
    stop = PipeStop(conn, inbox, key, index)
    conn.send(("event", key, RunStarted(index=index, worker=f"worker pid {os.getpid()}")))
    try:
        result = work(spec, prepared, config, progress=lambda event: conn.send(("event", key, of_run(event, index))),
                      should_stop=stop)
    except Cancelled:
        conn.send(("event", key, RunCancelled(index=index)))
    except Exception as err:
        conn.send(("error", key, index, _sendable(err)))
    else:
        if stop.most_threads > (own_threads or 0) and hasattr(result, "record"):
            result.record["tail_threads"] = stop.most_threads
        conn.send(("event", key, RunFinished(index=index, result=result,
                                             placement=placement(f"worker pid {os.getpid()}"))))


def _sendable(err: Exception) -> Exception:
    """The error itself when it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")


class PipeStop:
    """The worker's stop check, asked before every batch: a cancel for this batch arrived, or the coordinator went
    away. It also applies a new number of torch threads sent for this run (one sent for an earlier run is late)."""

    def __init__(self, conn, inbox: deque, key: str, index: int):
        self.conn, self.inbox, self.key, self.index, self.stopped = conn, inbox, key, index, False
        self.most_threads = 0  # the most threads it was told to use (0: never told)

    def __call__(self) -> bool:
        try:
            while not self.stopped and self.conn.poll():
                message = self.conn.recv()
                if message == ("cancel", self.key):
                    self.stopped = True
                elif message[0] == "threads":
                    if message[1:3] == (self.key, self.index):
                        set_torch_threads(message[3])
                        self.most_threads = max(self.most_threads, message[3])
                else:
                    self.inbox.append(message)
        except (EOFError, OSError):
            self.stopped = True
        return self.stopped
