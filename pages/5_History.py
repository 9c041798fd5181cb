"""History: past experiments from the shared store; open one in Compare, export or delete it."""

from functools import partial

import pandas as pd
import streamlit as st

from dashboard import state, ui


def show(experiments: list[dict]) -> None:
    frame = pd.DataFrame(experiments)
    frame["models"] = frame["models"].map(", ".join)
    st.dataframe(frame[["id", "dataset", "models", "created", "status", "runs", "total_runs"]], width="stretch",
                 hide_index=True)
    names = dict(zip(frame["id"], frame["dataset"], strict=True))
    chosen = int(st.selectbox("Experiment", list(names), format_func=lambda i: f"#{i} · {names[i]}"))
    store = state.store()
    cols = st.columns(4)
    if cols[0].button("Open in Compare", type="primary"):
        state.open_experiment(chosen)
        st.switch_page(ui.PAGES["compare"])
    cols[1].download_button("Export CSV", partial(store.export_experiment, chosen, "csv"),
                            f"experiment-{chosen}.csv", "text/csv")
    cols[2].download_button("Export JSON", partial(store.export_experiment, chosen, "json"),
                            f"experiment-{chosen}.json", "application/json")
    confirm = cols[3].checkbox("Confirm delete")
    if cols[3].button("Delete", disabled=not confirm):
        store.delete_experiment(chosen)
        st.rerun()


ui.page_setup("History")
st.title("History")
st.write("Every comparison started from this dashboard or the command line, newest first. Finished runs are "
         "saved as they finish, so an interrupted experiment still has its results.")
with ui.friendly_errors():
    experiments = state.store().list_experiments()
    if experiments:
        show(experiments)
    else:
        st.info("No experiments yet.")

ui.sidebar_summary()
