"""Watching a comparison: the progress panel (Train) and the list of running and queued experiments (History).

The panel is what the eye needs after Start, at the top of the page: where the comparison stands in line, or
every run in flight with its epoch and share done, the loss curve of the newest, the time left, and Cancel.
Any tab showing the experiment (`?experiment=ID`) shows the same panel and may cancel it.
"""

from __future__ import annotations

import streamlit as st

from dashboard import state, ui
from textclf.errors import TextclfError
from textclf.results import charts
from textclf.runs.events import ACTIVE, Status
from textclf.runs.run_one import REFIT_STAGE

LOSS_POINTS_SHOWN = 300


def progress_panel(job) -> None:
    """Live progress while the job is queued or trains (polled every second), the outcome once it has ended."""
    st.subheader(f"Experiment #{job.experiment_id}" if job.experiment_id else "This comparison")
    if job.finished:
        outcome(job)
        return

    @st.fragment(run_every=ui.POLL_SECONDS)
    def live():
        if job.finished:
            st.rerun()
        progress = job.progress()
        if waiting := state.place_text(job):
            st.info(f"Queued. {waiting} You can cancel it meanwhile.")
        elif job.status == Status.QUEUED:
            st.info("Starting…")
        else:
            _training(job, progress)
        if st.button("Cancel training", key=f"cancel_{job.id}"):
            job.cancel()
        st.caption("This page's address names the experiment: reload it, or open it in another tab, to come back to "
                   "it. Training goes on in the background whatever you close.")

    live()


def _training(job, progress: dict) -> None:
    st.progress(ui.progress_fraction(progress), text=f"Training {ui.progress_text(job.status, progress)}")
    st.write(status_line(progress))
    if len(progress["in_flight"]) > 1:
        st.dataframe({"Run in flight": [ui.visible(f["run"]) for f in progress["in_flight"]],
                      "Worker": [f["worker"] or "" for f in progress["in_flight"]],
                      "Done": [f["share"] for f in progress["in_flight"]]}, hide_index=True, width="stretch",
                     column_config={"Done": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0)},
                     key=f"in_flight_{job.id}")
    if progress["losses"]:
        step = max(1, len(progress["losses"]) // LOSS_POINTS_SHOWN)
        steps, losses = zip(*progress["losses"][::step], strict=True)
        st.plotly_chart(charts.loss_curve(steps, losses), width="stretch", key="live_loss")


def status_line(progress: dict) -> str:
    """The run shown (the newest in flight), its epoch and batch, its loss, and the time left."""
    parts = [f"**{ui.plain(progress['run'])}**" if progress.get("run") else "preparing the split and tokens…"]
    if progress.get("runs_running", 0) > 1:
        parts.append(f"newest of {progress['runs_running']} runs training at once")
    if progress.get("stage") == REFIT_STAGE:
        parts.append("retraining on training + validation")
    if progress.get("epoch"):
        parts.append(f"epoch {progress['epoch']} of {progress['epochs']}, "
                     f"batch {progress['batch']} of {progress['batches']}")
    if progress.get("loss") is not None:
        parts.append(f"loss {progress['loss']:.3f}")
    if progress.get("eta_seconds") is not None:
        parts.append(f"time left: about {ui.duration(progress['eta_seconds'])}")
    elif progress.get("run"):
        parts.append("time left: estimated after the first batches")
    return " · ".join(parts)


def outcome(job) -> None:
    progress = job.progress()
    done, total = progress["runs_done"], progress["runs_total"]
    message = f"{done} of {total} {ui.plural(total, 'run')} finished"
    kept = f" {message}; {'it is' if done == 1 else 'they are'} kept." if done else f" {message}."
    if job.status == Status.DONE:
        st.success(f"Training finished: {message}.")
        if line := ui.estimate_line(job.config.estimated_seconds, job.wall_seconds):
            st.caption(line)
    elif job.status == Status.FAILED:
        ui.error(f"Training failed: {ui.sentence(job.error)}{kept}")
    else:
        st.warning(f"Training {job.status}:{kept}")
    if progress["runs_done"]:
        st.page_link(ui.PAGES["compare"], label="See the results on Compare", icon=ui.ICONS["compare"],
                     query_params={state.EXPERIMENT: job.experiment_id} if job.experiment_id else None)


def stored_panel(experiment_id: int) -> None:
    """An experiment this server does not train (another process's, or one from before a restart): its status and
    finished runs from the store, polled while another process trains it, with Cancel."""
    st.subheader(f"Experiment #{experiment_id}")
    active = state.store().experiment(experiment_id)["status"] in ACTIVE

    @st.fragment(run_every=ui.POLL_SECONDS if active else None)
    def live():
        info = state.store().experiment(experiment_id)
        where = " in another process" if info["status"] in ACTIVE else ""
        st.write(f"{info['status'].capitalize()}{where}: {info['runs']} of {info['total_runs']} "
                 f"{ui.plural(info['total_runs'], 'run')} finished.")
        if info["status"] in ACTIVE:
            if st.button("Cancel training", key=f"cancel_stored_{experiment_id}"):
                cancel(experiment_id, None)
        elif active:
            st.rerun()
        if info["runs"]:
            st.page_link(ui.PAGES["compare"], label="See the results on Compare", icon=ui.ICONS["compare"],
                         query_params={state.EXPERIMENT: experiment_id})

    live()


def unfinished_experiments(experiments: list[dict]) -> None:
    """History's running and queued experiments, live: progress, place in line, Watch and Cancel."""
    active = [e for e in experiments if e["status"] in ACTIVE]
    if not active:
        return

    shown = {e["id"] for e in active}

    @st.fragment(run_every=ui.POLL_SECONDS)
    def live():
        now_active = {e["id"] for e in state.store().list_experiments() if e["status"] in ACTIVE}
        if now_active != shown:  # one ended or a new one began: the table below changes too
            st.rerun()
        st.subheader("Running and queued")
        for experiment in active:
            _unfinished_row(experiment)

    live()


def _unfinished_row(experiment: dict) -> None:
    job = state.runner().job_for_experiment(experiment["id"])
    left, right = st.columns([3, 1], vertical_alignment="center")
    actions = right.container(horizontal=True)
    name = f"Experiment {experiment['id']} · {ui.plain(experiment['dataset'])} · " + ui.plain(
        ", ".join(experiment["models"]))
    if job is None:  # trained by another process (a terminal's compare, another server)
        left.markdown(f"{name}  \n{experiment['status']} in another process, {experiment['runs']} of "
                      f"{experiment['total_runs']} runs finished")
    elif job.finished:
        left.markdown(f"{name}  \n{job.status}")
    else:
        progress = job.progress()
        where = state.place_text(job) or f"training {ui.progress_text(job.status, progress)}"
        left.markdown(f"{name}  \n{ui.plain(where)}")
        left.progress(ui.progress_fraction(progress))
    actions.page_link(ui.PAGES["train"], label="Watch", icon=":material/visibility:",
                      query_params={state.EXPERIMENT: experiment["id"]})
    if actions.button("Cancel", key=f"history_cancel_{experiment['id']}"):
        cancel(experiment["id"], job)


def cancel(experiment_id: int, job) -> None:
    """Cancel from any tab: the job itself when this server trains it, else through the store (as `runs cancel`)."""
    if job is not None:
        job.cancel()
        return
    try:
        state.store().request_cancel(experiment_id)
    except TextclfError as err:
        ui.error(err)
        return
    st.toast(f"Asked experiment #{experiment_id} to stop before its next batch.")
