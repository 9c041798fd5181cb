"""Where the dashboard keeps things: per-session state and the process-wide job runner and store.

Two browser tabs are two sessions, each with its own dataset and jobs; the runner and the store are shared by
the process, so history is common to all tabs. The runner trains in worker processes (or on the Dask cluster
named by $TEXTCLF_CLUSTER) that several sessions' comparisons share fairly; the server only relays progress.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import TypeVar

import streamlit as st

from textclf.data.demo import demo_dataset
from textclf.data.reading import Dataset
from textclf.jobs.runner import Job, JobRunner
from textclf.runs.comparison import Comparison
from textclf.runs.dispatch import backend_from_environment
from textclf.runs.events import Status
from textclf.storage.store import Store

DATASET, JOB, SOURCE, SETTINGS, SESSION_ID = "dataset", "job", "compare_source", "train_settings", "session_id"
UPLOAD_TABLE, UPLOAD_DATASET = "upload_table", "upload_dataset"
T = TypeVar("T")


WORKER_NICENESS = 5


@st.cache_resource(show_spinner=False, on_release=lambda runner: runner.shutdown())
def runner() -> JobRunner:
    """One runner per server process. Its workers (one torch thread each) run at a lower CPU priority than the
    server, so a click is answered at once even while every core trains."""
    return JobRunner(Store(), backend=backend_from_environment(nice=WORKER_NICENESS))


def store() -> Store:
    return runner().store


def dataset() -> Dataset | None:
    return st.session_state.get(DATASET)


def set_dataset(data: Dataset) -> None:
    st.session_state[DATASET] = data


def use_demo() -> None:
    set_dataset(_demo())


@st.cache_resource(show_spinner=False)
def _demo() -> Dataset:
    return demo_dataset()


def job() -> Job | None:
    return st.session_state.get(JOB)


def set_job(new_job: Job) -> None:
    st.session_state[JOB] = new_job
    st.session_state[SOURCE] = {"kind": "job"}


def session_id() -> str:
    """Who this browser session is to the job runner (one unfinished job per session)."""
    return st.session_state.setdefault(SESSION_ID, uuid.uuid4().hex)


def start_job(data: Dataset, config, *, save_models: bool) -> Job:
    """Queue this session's comparison; while one is queued or running, that one is returned instead."""
    new_job = runner().submit(data, config, save_models=save_models, owner=session_id())
    set_job(new_job)
    return new_job


def busy_job() -> Job | None:
    """This session's queued or running job, if any (Start waits until it has finished)."""
    return runner().active_job(session_id())


def session_cached(slot: str, key: Hashable, build: Callable[[], T]) -> T:
    """`build()`'s value kept once per browser session until `key` changes.

    Unlike st.cache_data this returns the same object on every rerun (no copy of a large frame per rerun),
    holds one entry per slot, and is freed with the session: an upload costs its session, not the server.
    """
    held = st.session_state.get(slot)
    if held is None or held[0] != key:
        st.session_state.pop(slot, None)
        held = (key, build())
        st.session_state[slot] = held
    return held[1]


def open_experiment(experiment_id: int) -> None:
    st.session_state[SOURCE] = {"kind": "experiment", "id": experiment_id}


def shown_source() -> dict:
    """What Compare and Predict show: {"kind": "experiment", "id": ...} opened from History, else {"kind": "job"}."""
    return st.session_state.get(SOURCE, {"kind": "job"})


def comparison() -> Comparison | None:
    """What Compare and Predict show: an experiment opened from History, else this session's latest job."""
    source = shown_source()
    if source["kind"] == "experiment":
        return store().load_comparison(source["id"])
    current = job()
    return current.comparison() if current else None


def source_description() -> str:
    source = shown_source()
    if source["kind"] == "experiment":
        return f"experiment #{source['id']} from History"
    current = job()
    return f"this session's comparison ({current.status})" if current else "nothing yet"


def source_status() -> tuple[str, int, int] | None:
    """(status, runs finished, runs planned) of what Compare shows, or None when nothing is shown."""
    source = shown_source()
    if source["kind"] == "experiment":
        info = store().experiment(source["id"])
        return info["status"], info["runs"], info["total_runs"]
    current = job()
    if current is None:
        return None
    progress = current.progress()
    return current.status, progress["runs_done"], progress["runs_total"]


def source_wall_seconds() -> float | None:
    """Start to end of what Compare shows, in seconds, once it is done (a cancelled or failed one did not do the
    work its estimate was for); None otherwise."""
    source = shown_source()
    if source["kind"] == "experiment":
        info = store().experiment(source["id"])
        if info["status"] != Status.DONE or not info["started"]:
            return None
        return (datetime.fromisoformat(info["finished"]) - datetime.fromisoformat(info["started"])).total_seconds()
    current = job()
    return current.wall_seconds if current and current.status == Status.DONE else None


def train_settings() -> dict:
    """The training form's last values, kept under our own key so they survive switching pages."""
    return st.session_state.setdefault(SETTINGS, {})


def forget_upload() -> None:
    """Free the parsed upload once the file is removed (the chosen dataset itself stays)."""
    for slot in (UPLOAD_TABLE, UPLOAD_DATASET):
        st.session_state.pop(slot, None)
