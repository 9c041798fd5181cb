"""The simplest back-end: every run in the calling thread, one after another (the easiest to debug)."""

from __future__ import annotations

from textclf.runs.dispatch.base import SEQUENTIAL, Backend, Batch, of_run, placement, set_torch_threads
from textclf.runs.events import Cancelled, RunCancelled, RunFinished, RunStarted

WHERE = "this process"


class Sequential(Backend):
    """Every run in the calling thread, in plan order; `threads` torch threads (None: torch's choice)."""

    name = SEQUENTIAL
    serial = True

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def run(self, batch: Batch) -> None:
        set_torch_threads(self.threads)
        for index, spec in enumerate(batch.runs):
            if batch.stop_asked():
                raise Cancelled("the comparison was cancelled")
            batch.listener(RunStarted(index=index, worker=WHERE))
            try:
                result = batch.work(spec, batch.prepared, batch.config, should_stop=batch.should_stop,
                                    progress=lambda event, i=index: batch.listener(of_run(event, i)))
            except Cancelled:
                batch.listener(RunCancelled(index=index))
                raise
            batch.listener(RunFinished(index=index, result=result, placement=placement(WHERE)))

