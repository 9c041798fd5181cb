"""Where the dashboard keeps things: per-session state and the process-wide job runner and store.

Two browser tabs are two sessions, each with its own dataset and jobs; the runner and the store are shared by
the process, so history is common to all tabs. The runner trains in worker processes (or on the Dask cluster
named by $TEXTCLF_CLUSTER) that several sessions' comparisons share fairly; the server only relays progress.

A comparison belongs to the person, not to the tab: the URL carries the experiment shown (`?experiment=12`), so
a reloaded page or another tab reattaches to it (`attach_from_url`): its live job while this server trains it,
else its stored results, with the dataset the store kept for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from textclf.data.demo import demo_dataset
from textclf.data.reading import Dataset
from textclf.errors import TextclfError
from textclf.jobs.line import place_sentence
from textclf.jobs.runner import Job, JobRunner
from textclf.runs.comparison import Comparison
from textclf.runs.dispatch import backend_from_environment
from textclf.runs.events import Status
from textclf.storage.store import Store

DATASET, JOB, SOURCE, SETTINGS, SESSION_ID = "dataset", "job", "compare_source", "train_settings", "session_id"
UPLOAD_TABLE, UPLOAD_DATASET = "upload_table", "upload_dataset"
EXPERIMENT = "experiment"  # the query parameter naming the experiment shown
T = TypeVar("T")


# The lowest CPU priority: a worker then trains as fast when the cores are free and yields them to the page
# and the browser when a click needs them (BENCHMARKS.md, "Page latency while training").
WORKER_NICENESS = 19


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
    _show_in_url(new_job.experiment_id)


def _show_in_url(experiment_id: int | None) -> None:
    if experiment_id is not None and st.query_params.get(EXPERIMENT) != str(experiment_id):
        st.query_params[EXPERIMENT] = str(experiment_id)


def shown_experiment() -> int | None:
    """The stored experiment this session shows: its job's, or one opened from History."""
    source = shown_source()
    if source["kind"] == "experiment":
        return source["id"]
    current = job()
    return getattr(current, "experiment_id", None)  # a job without a store has none


def attach_from_url() -> None:
    """Show the experiment the URL names (a reload, another tab, a Watch link): its job, live, while this server
    trains it, else its stored results; its dataset comes along (the job's, or the copy the store kept). Without
    one in the URL, the URL is given the experiment this session shows, so a reload comes back to it."""
    wanted = st.query_params.get(EXPERIMENT)
    if wanted is None:
        _show_in_url(shown_experiment())
        return
    experiment_id = _experiment_number(wanted)
    if experiment_id is None or experiment_id == shown_experiment():
        return
    live = runner().job_for_experiment(experiment_id)
    if live is not None:
        st.session_state[JOB] = live
        st.session_state[SOURCE] = {"kind": "job"}
        set_dataset(live.dataset)
        return
    try:
        kept = store().stored_dataset(experiment_id)
    except TextclfError:
        st.query_params.pop(EXPERIMENT, None)
        st.warning(f"This link names experiment {experiment_id}, which is not in the run store (deleted, or "
                   "from another textclf folder). History lists the experiments there are.")
        return
    open_experiment(experiment_id)
    if kept is not None:
        set_dataset(kept)


def _experiment_number(text: str) -> int | None:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number <= 0:
        st.query_params.pop(EXPERIMENT, None)
        st.warning("The link's experiment is not an experiment number (the link's own text is not shown); History "
                   "lists the experiments there are.")
        return None
    return number


def place_text(waiting: Job) -> str | None:
    """Where a comparison that is not training yet stands ('2nd in line, behind experiment #12 (3 runs ahead):
    starts about 14:05, finishes about 14:20.'), the same words in the main area and the sidebar; None once it
    trains or has ended."""
    if waiting.finished:
        return None
    place = runner().place(waiting)
    return None if place is None else place_sentence(place, _clock)


def _clock(seconds_from_now: float) -> str:
    """A time of day in the reader's time zone (the server's when the browser did not say)."""
    try:
        zone = ZoneInfo(st.context.timezone) if st.context.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    return (datetime.now(zone) + timedelta(seconds=seconds_from_now)).strftime("%H:%M")


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
    """Show a stored experiment (its live job instead, if this server is training it)."""
    live = runner().job_for_experiment(experiment_id)
    if live is not None:
        st.session_state[JOB] = live
        st.session_state[SOURCE] = {"kind": "job"}
    else:
        st.session_state[SOURCE] = {"kind": "experiment", "id": experiment_id}
    _show_in_url(experiment_id)


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
