"""Where a comparison's runs execute: in this thread, in local worker processes, or on a Dask cluster.

A comparison is a grid of independent runs, each a plain function call `work(spec, prepared, config)`. A
back-end only decides where that call happens. The coordinating process (the caller) hears about each run as
typed events (`textclf.runs.events`: started, its batches and epochs, then finished, failed or cancelled), and
it alone writes anything down; so every back-end gives the same records for the same seeds, and a lost worker
or a cancelled job loses no finished run.

- `base`: the batch of runs and the back-end interface they share.
- `sequential`: `Sequential`, in the calling thread, one run after another (the simplest to debug).
- `local` and `worker`: `LocalWorkers` (the default), one process per core with one torch thread each.
- `cluster`: `DaskCluster`, the same runs as Dask tasks.
- `choose`: a back-end by name or from the environment.

Nothing here imports torch at import time (a worker loads it when it trains).
"""

from textclf.runs.dispatch.base import (
    BACKENDS,
    DASK,
    PROCESSES,
    SEQUENTIAL,
    Backend,
    Batch,
    Work,
    available_cores,
    peak_memory_mb,
    placement,
)
from textclf.runs.dispatch.choose import (
    BACKEND_VARIABLE,
    CLUSTER_VARIABLE,
    WORKERS_VARIABLE,
    backend_from_environment,
    make_backend,
)
from textclf.runs.dispatch.cluster import DaskCluster
from textclf.runs.dispatch.local import LocalWorkers, describe_exit
from textclf.runs.dispatch.sequential import Sequential
from textclf.runs.events import Listener

__all__ = ["BACKENDS", "BACKEND_VARIABLE", "CLUSTER_VARIABLE", "DASK", "PROCESSES", "SEQUENTIAL",
           "WORKERS_VARIABLE", "Backend", "Batch", "DaskCluster", "Listener", "LocalWorkers", "Sequential", "Work",
           "available_cores", "backend_from_environment", "describe_exit", "make_backend", "peak_memory_mb",
           "placement"]
