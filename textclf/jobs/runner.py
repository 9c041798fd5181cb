"""Background comparisons: queued, trained by a dispatch back-end, with live progress, cancel and a durable record.

A person starts a comparison and keeps clicking, opens another tab or closes the laptop; the work must go on
and nothing finished may be lost. `JobRunner.submit` queues a comparison and returns a `Job` whose status,
progress and results any thread may read. Where the runs train is the runner's back-end (`textclf.runs.dispatch`):
in the runner's own thread, one comparison at a time (the default), or in worker processes or on a Dask cluster,
where several comparisons run at once and share the workers fairly, so the process serving pages only relays
progress. Training stays the plain functions of `textclf.runs`: a job only listens to their run events
(`textclf.runs.events`), writes each run to the store (and a bundle) as soon as it arrives here, and asks them
to stop. Where a job is (`JobProgress`) lives in `textclf.jobs.progress`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

from textclf.data.profile import profile_dataset
from textclf.data.reading import Dataset
from textclf.errors import TextclfError
from textclf.jobs.line import Place, WorkLeft, starts_in
from textclf.jobs.progress import JobProgress
from textclf.runs.calibration import Calibration, calibration_key
from textclf.runs.compare import compare
from textclf.runs.comparison import Comparison, RunResult
from textclf.runs.config import CompareConfig, RunSpec, plan_runs
from textclf.runs.dispatch import Backend, Sequential
from textclf.runs.eta import WorkEstimate, expected_shares, planned_slots
from textclf.runs.events import (
    BatchDone,
    Cancelled,
    EpochDone,
    Listener,
    RunCancelled,
    RunEvent,
    RunFailed,
    RunFinished,
    RunStarted,
    Status,
)
from textclf.runs.prepare import Prepared
from textclf.storage.bundle import run_bundle_path, save_bundle
from textclf.storage.home import cancel_file
from textclf.storage.store import BUNDLES, Store, resolve_home

CONCURRENT_JOBS = 8
CANCEL_WATCH_SECONDS = 0.5  # how often queued jobs look for a cancel asked by another process

logger = logging.getLogger(__name__)


class Job:
    """One comparison: status, a progress snapshot, the results so far, cancel and wait (from any thread)."""

    def __init__(self, dataset: Dataset, config: CompareConfig, *, store: Store | None = None,
                 save_models: bool = False, bundles_dir: Path | None = None, on_event: Listener | None = None,
                 owner: str | None = None, backend: Backend | None = None):
        """`owner` names who started it (a browser session): one owner has at most one unfinished job."""
        self.id = uuid.uuid4().hex[:12]
        self.owner = owner
        self._backend = backend or Sequential()
        self.dataset, self.config, self.save_models = dataset, config, save_models
        self.experiment_id = store.create_experiment(dataset, config) if store else None
        self._cancel_file = cancel_file(store.home, self.experiment_id) if store else None
        self.status = Status.QUEUED
        self.error: str | None = None
        self._store, self._bundles_dir, self._on_event = store, bundles_dir, on_event
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._comparison: Comparison | None = None
        self._results: dict[int, RunResult] = {}
        self._runs = plan_runs(config)
        self._progress = JobProgress(len(self._runs), parallel=self._backend.workers)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    @property
    def wall_seconds(self) -> float | None:
        """Wall time from the job's start to its end (None until it has ended): the actual beside the estimate."""
        with self._lock:
            started, ended = self._progress.started, self._progress.ended
        return None if started is None or ended is None else ended - started

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job has finished (done, cancelled, failed), False if `timeout` passed first."""
        return self._finished.wait(timeout)

    def stop_asked(self) -> bool:
        """Whether to stop before the next batch: cancelled here, or by another process (`runs cancel`, another
        dashboard) through the store's cancel file."""
        if not self._stop.is_set() and self._cancel_file is not None and self._cancel_file.exists():
            self._stop.set()
        return self._stop.is_set()

    def cancel(self) -> None:
        """Stop before the next batch (at once if still queued); the runs finished so far are kept."""
        self._stop.set()
        with self._lock:
            was_queued = self.status == Status.QUEUED
            if was_queued:
                self.status = Status.CANCELLED
        if was_queued:
            self._finish(Status.CANCELLED)

    def progress(self) -> dict:
        """A copy of where the job is (safe to read while it trains)."""
        with self._lock:
            snapshot = {"status": self.status, **self._progress.snapshot(time.monotonic())}
        snapshot["runs_ahead"] = self._backend.ahead(self.id) if snapshot["status"] == Status.RUNNING else None
        return snapshot

    def work_left(self) -> WorkLeft | None:
        """Seconds left of its runs in flight and of its runs not started (see `JobProgress.work_left`); a job not
        planned yet counts as one run of its estimate before Start, if it has one."""
        with self._lock:
            work = self._progress.work_left(time.monotonic())
            planned = self._progress.estimate is not None
        if work is None and not planned and self.config.estimated_seconds and not self.finished:
            return [], [self.config.estimated_seconds * self._backend.workers]
        return work

    def seconds_needed(self) -> float | None:
        """Its own time left (the estimate before Start while it is not planned yet)."""
        eta = self.progress()["eta_seconds"]
        return eta if eta is not None or self.finished else self.config.estimated_seconds

    def comparison(self) -> Comparison | None:
        """The runs finished so far, with their fitted models; None until the data is split and tokenized."""
        with self._lock:
            if self._comparison is None:
                return None
            return replace(self._comparison, runs=list(self._comparison.runs))

    def _run(self) -> None:
        """Train and record the whole comparison (in the runner's thread); every outcome ends in `_finish`."""
        if not self._begin():
            return
        try:
            compare(self.dataset, self.config, listener=self._hear, should_stop=self.stop_asked,
                    on_prepared=self._on_prepared, keep_models=True, backend=self._backend, key=self.id)
        except Cancelled:
            self._finish(Status.CANCELLED)
        except TextclfError as err:
            self._finish(Status.FAILED, str(err))
        except Exception as err:
            logger.exception("comparison job %s failed", self.id)
            self._finish(Status.FAILED, f"{type(err).__name__}: {err}")
        else:
            self._finish(Status.DONE)

    def _begin(self) -> bool:
        with self._lock:
            if self.status != Status.QUEUED:
                return False
            self.status = Status.RUNNING
            self._progress.started = time.monotonic()
        if self._store:
            self._store.start_experiment(self.experiment_id)
        return True

    def _finish(self, status: Status, error: str | None = None) -> None:
        with self._lock:
            self.status, self.error = status, error
            self._progress.ended = time.monotonic()
        try:
            if self._store:
                self._store.finish_experiment(self.experiment_id, status, error)
        finally:
            self._finished.set()

    def _on_prepared(self, prepared: Prepared, comparison: Comparison) -> None:
        if self._store:
            profile = profile_dataset(self.dataset, prepared.tokenizer, tokens=prepared.tokens)
            self._store.record_prepared(self.experiment_id, comparison, profile.as_dict())
        runs = plan_runs(self.config)
        estimate = WorkEstimate([run.model.label for run in runs], planned_slots(prepared, self.config, runs),
                                prior=self._calibrated_rates(runs),
                                expected=expected_shares(prepared, self.config, runs))
        with self._lock:
            self._comparison = replace(comparison, runs=[])
            self._progress.estimate = estimate

    def _calibrated_rates(self, runs: list[RunSpec]) -> dict[str, float]:
        """Seconds per slot this machine measured for the runs' settings (Estimate the time keeps them), so time
        left is told from the first batches; settings never measured wait for their first epoch."""
        threads = getattr(self._backend, "threads", None) or 1
        kept = Calibration.in_home(self._store.home if self._store else resolve_home(), threads=threads).rates
        keys = {run.model.label: calibration_key(run.model, threads) for run in runs}
        return {label: kept[key] for label, key in keys.items() if key in kept}

    def _hear(self, event: RunEvent) -> None:
        """A run event: recorded (a finished or failed run persisted first), then passed on to `on_event`."""
        if isinstance(event, RunFinished):
            event = self._record_run(event)
        elif isinstance(event, RunFailed):
            self._record_failure(event)
        with self._lock:
            if isinstance(event, RunStarted):
                self._progress.start_run(event.index, self._runs[event.index], time.monotonic(), event.worker)
            elif isinstance(event, BatchDone | EpochDone):
                self._progress.record(event)
            elif isinstance(event, RunCancelled):
                self._progress.drop_run(event.index, event.run, final=True)
        if self._on_event:
            self._on_event(event)

    def _record_run(self, event: RunFinished) -> RunFinished:
        """Persist the run before anyone is told it finished, so what a page shows is already safe."""
        position, run, result = event.index + 1, self._runs[event.index], event.result
        bundle = self._save_bundle(position, run, result) if self.save_models else None
        if self._store:
            self._store.add_run(self.experiment_id, position, run.name, result, bundle)
        with self._lock:
            self._results[position] = result
            self._comparison.runs = [self._results[p] for p in sorted(self._results)]
            self._progress.finish_run(event.index, run.name, time.monotonic())
        return replace(event, bundle=bundle)

    def _record_failure(self, event: RunFailed) -> None:
        """A run lost with its worker, or refused by its model, is recorded at once with the reason."""
        if self._store:
            self._store.add_failure(self.experiment_id, event.index + 1, event.run, event.reason, event.retrying)
        with self._lock:
            self._progress.drop_run(event.index, event.run, final=not event.retrying)

    def _save_bundle(self, position: int, run: RunSpec, result: RunResult) -> Path:
        if self._store:
            folder = self._store.bundle_folder(self.experiment_id)
        else:
            folder = (self._bundles_dir or resolve_home() / BUNDLES) / f"job-{self.id}"
        metadata = {"dataset": self.dataset.name, "run": run.name, "experiment_id": self.experiment_id,
                    "accuracy": result.record["accuracy"]}
        return save_bundle(result.estimator, run_bundle_path(folder, position, run.name), metadata=metadata)


class JobRunner:
    """Runs submitted comparisons in background threads, first come first served, on one back-end.

    With the default back-end (training in the runner's thread) one comparison trains at a time and the others
    wait in order. With worker processes or a Dask cluster up to `CONCURRENT_JOBS` comparisons are in flight at
    once and the back-end shares its workers fairly between them; a job reports how many runs are ahead of it.
    """

    def __init__(self, store: Store | None = None, *, threads: int | None = 1, save_models: bool = False,
                 bundles_dir: Path | None = None, backend: Backend | None = None):
        """`threads`: torch threads for training in this process (None keeps torch's choice); `bundles_dir` only
        without a store; `backend`: where runs train (this runner's thread when None; closed at shutdown)."""
        self.store, self.save_models, self.bundles_dir = store, save_models, bundles_dir
        self.backend = backend or Sequential(threads)
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self._closed = False
        if store:
            store.mark_interrupted()
        count = 1 if self.backend.serial else CONCURRENT_JOBS
        self._workers = [threading.Thread(target=self._work, name="textclf-jobs", daemon=True) for _ in range(count)]
        self._watching = threading.Event()
        if store:
            self._workers.append(threading.Thread(target=self._watch_cancels, name="textclf-cancels", daemon=True))
        for worker in self._workers:
            worker.start()

    def submit(self, dataset: Dataset, config: CompareConfig, *, save_models: bool | None = None,
               on_event: Listener | None = None, owner: str | None = None) -> Job:
        """Queue a comparison; `on_event` hears every run event, once recorded, in a runner thread (the CLI prints
        them).

        An `owner` that already has a queued or running job gets that job back instead of a second one, so a
        double-clicked Start queues one comparison.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("This JobRunner has been shut down; create a new one.")
            active = self._active(owner)
            if active is not None:
                return active
            job = Job(dataset, config, store=self.store, bundles_dir=self.bundles_dir, on_event=on_event,
                      save_models=self.save_models if save_models is None else save_models, owner=owner,
                      backend=self.backend)
            self._jobs.append(job)
            self._queue.put(job)
        return job

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs)

    def active_job(self, owner: str) -> Job | None:
        """`owner`'s queued or running job, if any."""
        with self._lock:
            return self._active(owner)

    def ahead(self, job: Job) -> list[Job]:
        """The unfinished jobs that will train before `job` (the running one first): what a queued job waits for."""
        with self._lock:
            earlier = self._jobs[: self._jobs.index(job)] if job in self._jobs else []
        return [other for other in earlier if not other.finished]

    def job_for_experiment(self, experiment_id: int) -> Job | None:
        """The job recording stored experiment `experiment_id` in this process, if it is one of this runner's."""
        with self._lock:
            return next((job for job in self._jobs if job.experiment_id == experiment_id), None)

    def place(self, job: Job) -> Place | None:
        """Where `job` stands in line while none of its runs trains: its place among the unfinished comparisons,
        the runs that start before its next one, and the seconds until it should start and finish. None once one of
        its runs trains, when nothing is ahead of it, or when it has ended."""
        progress = job.progress()
        waiting_for_worker = progress["status"] == Status.RUNNING and progress["runs_ahead"] is not None
        if job.finished or progress["runs_running"] or not (progress["status"] == Status.QUEUED or waiting_for_worker):
            return None
        ahead = self.ahead(job)
        if not ahead and not progress["runs_ahead"]:
            return None  # nothing to wait for: it starts on the back-end's next round
        work = [other.work_left() for other in ahead]
        runs_ahead = progress["runs_ahead"] if waiting_for_worker else sum(
            other.progress()["runs_total"] - other.progress()["runs_done"] for other in ahead)
        start = starts_in(work, self.backend.workers, progress["runs_ahead"] if waiting_for_worker else None)
        own = job.seconds_needed()
        finish = None if start is None or own is None else start + own
        return Place(len(ahead) + 1, tuple(other.experiment_id for other in ahead), runs_ahead, start, finish)

    def _active(self, owner: str | None) -> Job | None:
        if owner is None:
            return None
        return next((job for job in self._jobs if job.owner == owner and not job.finished), None)

    def shutdown(self, cancel: bool = True, timeout: float | None = None) -> None:
        """Stop taking jobs; cancel the unfinished ones (or let them finish), wait, and stop the back-end."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs)
        self._watching.set()
        if cancel:
            for job in jobs:
                job.cancel()
        for _ in range(len(self._workers)):
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout)
        self.backend.close()

    def _watch_cancels(self) -> None:
        """A cancel asked by another process reaches a queued job here (a running one also checks every batch)."""
        while not self._watching.wait(CANCEL_WATCH_SECONDS):
            self.honour_cancel_requests()

    def honour_cancel_requests(self) -> list[Job]:
        """Cancel the unfinished jobs whose experiment another process asked to stop (`Store.request_cancel`)."""
        asked = [job for job in self.jobs() if not job.finished and self.store.cancel_requested(job.experiment_id)]
        for job in asked:
            job.cancel()
        return asked

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                job._run()
            except Exception:
                logger.exception("recording the end of comparison job %s failed", job.id)
