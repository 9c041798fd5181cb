"""History: past experiments from the shared store; open one in Compare, export it, free its disk or delete it."""

from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from dashboard import state, ui, watch
from textclf.results.report import BATCHING_NAMES
from textclf.runs.command import compare_command, data_file_name, unrepeatable
from textclf.runs.config import CompareConfig
from textclf.runs.settings import settings_table
from textclf.training.strategies import NOT_BATCHED

COLUMNS = {"id": "#", "dataset": "Dataset", "models": "Models", "best": "Most accurate", "accuracy": "Its accuracy",
           "started": "Started", "status": "Status", "progress": "Runs", "bundles_mb": "Model bundles (MB)"}


def browser_zone():
    """The browser's time zone (None, i.e. the server's, when the browser did not say or it is unknown)."""
    try:
        return ZoneInfo(st.context.timezone) if st.context.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_time(stamp: str | None, zone) -> str:
    """'29 Nov 2026, 11:32' in the reader's time zone, from the store's UTC ISO stamp."""
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(zone).strftime("%d %b %Y, %H:%M")


def history_table(experiments: list[dict], best: dict[int, dict], sizes: dict[int, int]) -> pd.DataFrame:
    zone = browser_zone()
    rows = []
    for e in experiments:
        top = best.get(e["id"])
        where = "" if not top or top["batching"] == NOT_BATCHED else f" · {BATCHING_NAMES.get(top['batching'])}"
        rows.append({
            "id": e["id"], "dataset": e["dataset"], "models": ", ".join(e["models"]),
            "best": f"{top['model']}{where}" if top else "", "accuracy": top["accuracy"] if top else None,
            "started": local_time(e["started"] or e["created"], zone), "status": e["status"],
            "progress": f"{e['runs']} of {e['total_runs']}", "bundles_mb": round(sizes.get(e["id"], 0) / 1e6, 1),
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def show(experiments: list[dict]) -> None:
    store = state.store()
    sizes = store.bundle_sizes()
    table = history_table(experiments, store.best_runs(), sizes)
    st.dataframe(table.style.format({"accuracy": "{:.1%}", "bundles_mb": "{:.1f}"}, na_rep="–"), width="stretch",
                 hide_index=True, column_config={key: st.column_config.Column(label) for key, label in COLUMNS.items()})
    zone = st.context.timezone
    st.caption(f"Times in {'your time zone (' + zone + ')' if zone else 'the server’s time zone'}. "
               f"Model bundles use {sum(sizes.values()) / 1e6:.1f} MB in all.")
    names = dict(zip(table["id"], table["dataset"], strict=True))
    chosen = int(st.selectbox("Experiment", list(names), format_func=lambda i: f"#{i} · {ui.visible(names[i])}"))
    show_settings(CompareConfig.from_dict(store.experiment(chosen)["config"]), names[chosen])
    cols = st.columns(5)
    if cols[0].button("Open in Compare", type="primary"):
        state.open_experiment(chosen)
        st.switch_page(ui.PAGES["compare"], query_params={state.EXPERIMENT: chosen})
    cols[1].download_button("Export CSV", partial(store.export_experiment, chosen, "csv"),
                            f"experiment-{chosen}.csv", "text/csv")
    cols[2].download_button("Export JSON", partial(store.export_experiment, chosen, "json"),
                            f"experiment-{chosen}.json", "application/json")
    size = sizes.get(chosen, 0)
    if cols[3].button(f"Delete model bundles ({size / 1e6:.1f} MB)", disabled=size == 0,
                      help="Frees the disk; the results stay (Predict needs the bundles)."):
        freed = store.delete_bundles(chosen)
        st.toast(f"Deleted the model bundles of experiment #{chosen}: {freed / 1e6:.1f} MB freed.")
        st.rerun()
    confirm = cols[4].checkbox("Confirm delete")
    if cols[4].button("Delete experiment", disabled=not confirm):
        store.delete_experiment(chosen)
        st.rerun()


def show_settings(config: CompareConfig, dataset_name: str) -> None:
    """The chosen experiment's settings, and the command line that repeats it (st.code has a copy button)."""
    settings = settings_table(config)
    st.dataframe({"Setting": list(settings), "Value": [ui.visible(v) for v in settings.values()]}, hide_index=True,
                 width="stretch", key="settings")
    show_command(config, dataset_name)


def show_command(config: CompareConfig, dataset_name: str) -> None:
    """The `python -m textclf compare` line that repeats `config` on the dataset, with what it cannot repeat."""
    st.caption("Repeat this experiment from a terminal (run it where the data file lies; the store keeps the "
               "dataset's name, not its path, and the columns are guessed as on the Data page):")
    st.code(compare_command(config, data_file_name(dataset_name)), language="bash")
    if missing := unrepeatable(config):
        st.caption(f"The command line has no option for: {', '.join(missing)}; it uses the default instead.")


with ui.page("History"):
    st.write("Every comparison started from this dashboard or the command line, newest first. Finished runs are "
             "saved as they finish, so an interrupted experiment still has its results.")
    experiments = state.store().list_experiments()
    watch.unfinished_experiments(experiments)
    if experiments:
        show(experiments)
    else:
        st.info("No experiments yet.")
