"""A back-end by name, for the command line, and from the environment, for the dashboard."""

from __future__ import annotations

import os

from textclf.errors import TextclfError
from textclf.runs.dispatch.base import BACKENDS, PROCESSES, SEQUENTIAL, Backend
from textclf.runs.dispatch.cluster import DaskCluster
from textclf.runs.dispatch.local import LocalWorkers
from textclf.runs.dispatch.sequential import Sequential

CLUSTER_VARIABLE = "TEXTCLF_CLUSTER"
BACKEND_VARIABLE = "TEXTCLF_BACKEND"
WORKERS_VARIABLE = "TEXTCLF_WORKERS"


def make_backend(kind: str = PROCESSES, *, cluster: str | None = None, workers: int | None = None,
                 threads: int | None = 1, nice: int = 0, tail_threads: bool = False) -> Backend:
    """A back-end by name; a cluster address means Dask whatever `kind` says."""
    if cluster:
        return DaskCluster(cluster, threads=threads)
    if kind == SEQUENTIAL:
        return Sequential(threads)
    if kind == PROCESSES:
        return LocalWorkers(workers, threads=threads, nice=nice, tail_threads=tail_threads)
    raise TextclfError(f"Unknown back-end {kind!r}; choose from {', '.join(BACKENDS)} or give a cluster address.")


def backend_from_environment(*, nice: int = 0) -> Backend:
    """The dashboard's back-end: the Dask cluster named by $TEXTCLF_CLUSTER, else $TEXTCLF_BACKEND (local worker
    processes unless it says sequential; $TEXTCLF_WORKERS of them, one per core by default)."""
    workers = os.environ.get(WORKERS_VARIABLE, "")
    if workers and not (workers.isdigit() and int(workers) > 0):
        raise TextclfError(f"${WORKERS_VARIABLE} should be a number of worker processes, not {workers!r}.")
    return make_backend(os.environ.get(BACKEND_VARIABLE) or PROCESSES, cluster=os.environ.get(CLUSTER_VARIABLE) or None,
                        workers=int(workers) if workers else None, nice=nice)
