"""A Dask cluster: the same runs as Dask tasks, the prepared data scattered once, results gathered as each run
finishes; run events through Dask's event log, cancel through a Dask `Event`; a run Dask dropped with the only
copies of the data is submitted once more with the data scattered again. Every scheduler and worker must
have the same textclf installed (the tasks are its functions)."""

from __future__ import annotations

import itertools
import pickle
import threading
import time

from textclf.errors import TextclfError
from textclf.runs.dispatch.base import DASK, POLL_SECONDS, RETRIES, Backend, Batch, of_run, placement, set_torch_threads
from textclf.runs.events import (
    BatchDone,
    Cancelled,
    ProgressCallback,
    RunCancelled,
    RunEvent,
    RunFailed,
    RunFinished,
    RunStarted,
)

REMOTE_EVENT_SECONDS = 0.5


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
        self.resubmitted: set[int] = set()
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
        self.topic, self.stop_event = f"textclf-{key}", Event(f"textclf-stop-{key}", client=client)
        self.data = self._scatter()
        client.subscribe_topic(self.topic, self._on_message)
        self.futures = {self._submit(index, rank): index for rank, index in enumerate(self.batch.start_order())}
        try:
            self._gather(self.stop_event)
        finally:
            client.unsubscribe_topic(self.topic)
            client.cancel(list(self.futures))
            self.data.release()
            self.futures = {}
        if self.error is not None:
            raise self.error
        if self.stopping:
            raise Cancelled("the comparison was cancelled")

    def _scatter(self):
        """The batch's data on every worker now in the cluster (a worker that joins later fetches it on demand)."""
        [data] = self.client.scatter([(self.batch.work, self.batch.prepared, self.batch.config)], hash=False,
                                     broadcast=True)
        return data

    def _submit(self, index: int, rank: int = 0, attempt: str = ""):
        return self.client.submit(_dask_run, self.batch.runs[index], self.data, self.batch.key, index, self.topic,
                                  self.stop_event.name, self.threads, key=f"textclf-{self.batch.key}-{index}{attempt}",
                                  pure=False, priority=-rank)

    def _gather(self, stop) -> None:
        from distributed import as_completed

        self.arriving = arriving = as_completed(list(self.futures), loop=self.client.loop)
        while not arriving.is_empty():
            if not self.stopping and self.batch.stop_asked():
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

        if future.status == "cancelled" and not self.stopping and index not in self.resubmitted:
            self._resubmit(index)
            return
        with self.lock:
            self.closed.add(index)
            self.unfinished -= 1
        if future.status == "finished":
            result, info = future.result()
            self._tell(RunFinished(index=index, result=result, placement=info), stop)
        elif future.status == "error":
            err = future.exception()
            if isinstance(err, KilledWorker):
                self._tell(RunFailed(index=index, reason=f"its workers died: {err}"), stop)
            elif isinstance(err, Cancelled):
                self._tell(RunCancelled(index=index), stop)
            else:
                self.error = self.error or err
                self._stop(stop)
        elif not self.stopping:  # cancelled or lost by the cluster itself: say so, never drop the run silently
            reason = f"the cluster dropped its task ({future.status}): its worker or its copy of the data was lost"
            self._tell(RunFailed(index=index, reason=reason), stop)

    def _resubmit(self, index: int) -> None:
        """Dask cancels a task whose data was lost with the only workers holding it: scatter the data again and
        submit the run once more. A run that had started is reported lost (and retried) when it starts again."""
        self.resubmitted.add(index)
        if self.data.status != "finished":
            self.data = self._scatter()
        future = self._submit(index, attempt="-again")
        self.futures[future] = index
        self.arriving.add(future)

    def _tell(self, event: RunEvent, stop) -> None:
        try:
            self.batch.listener(event)
        except Exception as err:
            self.error = self.error or err
            self._stop(stop)

    def _on_message(self, logged) -> None:
        """Events from tasks (Dask calls this in the client's thread). A second start means a worker was lost."""
        _, message = logged
        event = pickle.loads(message)
        with self.lock:
            if event.index in self.closed:
                return
            if not isinstance(event, RunStarted):
                self.batch.listener(event)
                return
            tries = self.attempts.setdefault(event.index, [])
            tries.append(event.worker)
        if len(tries) > 1:
            retrying = len(tries) <= RETRIES + 1
            reason = f"worker {tries[-2]} was lost mid-run (its process died or left the cluster)"
            self.batch.listener(RunFailed(index=event.index, reason=reason, retrying=retrying))
            if not retrying:
                self.client.cancel([f for f, i in list(self.futures.items()) if i == event.index])
                return
        self.batch.listener(event)


class _Throttled:
    """Call `send` for every epoch event, and for batch events at most every `seconds` (the scheduler relays them)."""

    def __init__(self, send: ProgressCallback, seconds: float):
        self.send, self.seconds, self.last = send, seconds, 0.0

    def __call__(self, event: RunEvent) -> None:
        now = time.monotonic()
        if isinstance(event, BatchDone) and now - self.last < self.seconds:
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
    """The task: one run on a Dask worker, telling the coordinator through the worker's event log (pickled: the
    log takes only plain values)."""
    from distributed import Event, get_worker

    worker = get_worker()
    set_torch_threads(threads)
    work, prepared, config = data

    def log(event: RunEvent) -> None:
        worker.log_event(topic, pickle.dumps(of_run(event, index)))

    log(RunStarted(index=index, worker=worker.address))
    result = work(spec, prepared, config, progress=_Throttled(log, REMOTE_EVENT_SECONDS),
                  should_stop=_RemoteStop(Event(stop_name), REMOTE_EVENT_SECONDS))
    return result, placement(worker.address)
