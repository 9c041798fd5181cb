"""Compare: accuracy with its uncertainty, paired tests, time and padding, accuracy by length and by class."""

from functools import partial

import streamlit as st

from dashboard import state, ui
from textclf.results import charts
from textclf.results.analysis import comparison_json_text
from textclf.results.baseline import MAJORITY, METRIC_NAMES, METRICS, ranking_metric
from textclf.results.breakdown import accuracy_by_length, per_class
from textclf.results.csv_safety import csv_text
from textclf.results.errors import cell_texts, comparison_texts, disagreements, largest_error, shared_runs
from textclf.results.pairwise import matrix, pairwise_table
from textclf.results.report import BATCHING_NAMES, COLUMN_NAMES, headline, readable_table, run_label, summary_of
from textclf.runs.command import compare_command, data_file_name
from textclf.runs.comparison import Comparison, RunResult
from textclf.runs.events import Status

PERCENT_COLUMNS = ("accuracy", "macro_f1", "padding_waste")
SECONDS_COLUMNS = ("train_seconds", "seconds_per_epoch", "inference_seconds")
WIDE_TEXT = {"Text": st.column_config.TextColumn("Text", width="large")}  # the texts are what is read here
UNFINISHED = {Status.INTERRUPTED: "was interrupted (the server stopped)", Status.CANCELLED: "was cancelled",
              Status.FAILED: "failed"}
SUMMARY_COLUMNS = {"model": "Model", "batching": "Batching", "runs": "Runs", "accuracy_mean": "Accuracy",
                   "accuracy_sd": "Accuracy sd", "accuracy_ci_low": "Accuracy CI low",
                   "accuracy_ci_high": "Accuracy CI high", "macro_f1_mean": "Macro F1", "macro_f1_sd": "Macro F1 sd",
                   "macro_f1_ci_low": "Macro F1 CI low", "macro_f1_ci_high": "Macro F1 CI high",
                   "seconds_per_epoch_mean": "Training s per epoch", "seconds_to_best_epoch_mean": "Training s to best",
                   "validation_seconds_mean": "Validation s", "inference_seconds_mean": "Test prediction s",
                   "fit_wall_seconds_mean": "Total wall s of fit", "padding_waste_mean": "Padding waste"}


def _key(comparison: Comparison) -> tuple:
    """What identifies the runs shown (a new finished run changes it)."""
    return comparison.dataset_name, tuple((r.record["model"], r.record["batching"], r.record["seed"],
                                           r.record.get("fold"), r.record["accuracy"]) for r in comparison.runs)


@st.cache_data(max_entries=8, show_spinner="Testing the differences between runs…")
def _analysis(key: tuple, metric: str, _comparison: Comparison) -> dict:
    pairs = pairwise_table(_comparison)
    return {"pairs": pairs, "lengths": accuracy_by_length(_comparison), "classes": per_class(_comparison),
            "headline": headline(_comparison, pairs, metric), "summary": summary_of(_comparison)}


def chosen_metric(comparison: Comparison) -> str:
    """Accuracy or macro F1, macro F1 by default when one class holds over 60 % of the test texts."""
    default = ranking_metric(comparison)
    return st.radio("Rank the models by", METRICS, index=METRICS.index(default), format_func=METRIC_NAMES.get,
                    horizontal=True, key=f"rank_by_{default}",
                    help="Macro F1 is chosen when the largest class holds over 60 % of the test texts: accuracy "
                         "would favour a model that mostly answers that class.")


def baseline_score(summary, metric: str) -> float | None:
    rows = summary[summary["model"] == MAJORITY]
    return float(rows[f"{metric}_mean"].iloc[0]) if len(rows) else None


def show(comparison: Comparison) -> None:
    table = comparison.table
    metric = chosen_metric(comparison)
    found = _analysis(_key(comparison), metric, comparison)
    for sentence in found["headline"]:
        st.markdown(f"- {ui.plain(sentence)}")
    st.caption(f"Training time is training only (validation excluded); validation and test predictions use one "
               f"batching for every strategy: {comparison.evaluation_batching}.")
    ui.batching_key(table["batching"].unique())
    left, right = st.columns(2)
    left.plotly_chart(charts.accuracy_dots(table, metric, baseline_score(found["summary"], metric)), width="stretch",
                      key="accuracy")
    right.plotly_chart(charts.time_bars(table, legend=False), width="stretch", key="time")
    left, right = st.columns(2)
    left.plotly_chart(charts.waste_bars(table, legend=False), width="stretch", key="waste")
    right.plotly_chart(charts.accuracy_vs_time(table, colour_legend=False), width="stretch", key="scatter")
    st.plotly_chart(charts.epoch_curves(comparison.runs), width="stretch", key="epochs")
    show_significance(found["pairs"], comparison)
    show_breakdowns(comparison, found)
    show_tables(comparison, found)


def show_significance(pairs, comparison: Comparison) -> None:
    st.subheader("Pairwise comparison")
    if pairs.empty:
        st.info("Nothing to compare yet: the matrix needs two models or strategies tested on the same texts.")
        return
    tests = ", ".join(pairs["test"].unique())
    st.caption("Each cell: accuracy of the row minus the column, in points, ± the 95 % CI half-width, and the "
               f"p-value ({tests}) after Holm's correction for the {len(pairs)} comparisons; * marks a significant "
               "difference (p < 0.05). The headline's bucketing sentences each test one planned question, so they "
               "are not corrected; its best-model sentence is, as here.")
    st.dataframe(matrix(pairs), width="stretch", key="matrix")


def show_breakdowns(comparison: Comparison, found: dict) -> None:
    st.subheader("Accuracy by text length and by class")
    left, right = st.columns(2)
    left.plotly_chart(charts.accuracy_by_length(found["lengths"]), width="stretch", key="lengths")
    names = [ui.visible(run_label(r.record)) for r in comparison.runs]
    chosen = right.selectbox("Confusion matrix of run", range(len(names)), format_func=names.__getitem__)
    normalise = right.toggle("Shares of each true class", key="normalise",
                             help="Each row divided by its class's test texts: the diagonal is the class's recall.")
    right.plotly_chart(charts.confusion_matrix(comparison, comparison.runs[chosen], normalise=normalise),
                       width="content", key="confusion")
    st.caption("Per-class precision, recall and F1 of every run")
    st.dataframe(readable_table(found["classes"]), width="stretch", hide_index=True, key="per_class")
    show_errors(comparison, comparison.runs[chosen])


def show_errors(comparison: Comparison, run: RunResult) -> None:
    """The test texts behind one confusion-matrix cell of `run`, and those the runs disagree on."""
    st.subheader("Errors you can read")
    if not any(shared is run for shared in shared_runs(comparison)):
        st.info("Texts are listed for the runs tested on fold 1: choose one of them for the confusion matrix.")
        return
    dataset = state.dataset()  # the split is rebuilt once per comparison and dataset, not on every rerun
    texts = state.session_cached("compare_test_texts", (_key(comparison), id(dataset)),
                                 lambda: comparison_texts(comparison, dataset))
    if texts is None:
        st.caption("The texts are numbered: load this comparison's dataset on the Data page to read them.")
    classes = comparison.classes
    true_default, predicted_default = largest_error(comparison, run)
    left, right = st.columns(2)
    true_class = left.selectbox("True class", classes, index=classes.index(true_default), format_func=ui.visible,
                                key="cell_true")
    predicted = right.selectbox("Predicted class", classes, index=classes.index(predicted_default),
                                format_func=ui.visible, key="cell_predicted")
    listed = cell_texts(comparison, texts, run, true_class, predicted)
    st.caption(f"{len(listed)} test {ui.plural(len(listed), 'text')} of class {ui.plain(true_class)} that "
               f"{ui.plain(run_label(run.record))} labelled {ui.plain(predicted)}, with every run's prediction"
               f"{' (fold 1)' if comparison.folds else ''}.")
    st.dataframe(shown_texts(listed), width="stretch", hide_index=True, key="cell_texts", column_config=WIDE_TEXT)
    split = disagreements(comparison, texts)
    st.caption(f"The runs disagree on {len(split)} of {len(comparison.test_labels)} test texts (fewest runs right "
               "first).")
    if len(split):
        st.dataframe(shown_texts(split), width="stretch", hide_index=True, key="disagreements",
                     column_config=WIDE_TEXT)


def shown_texts(frame):
    """User text as plain cells: characters that reorder or hide text shown as their code."""
    return frame.apply(lambda column: column.map(ui.visible) if column.dtype == object else column)


def show_tables(comparison: Comparison, found: dict) -> None:
    table = comparison.table
    st.subheader("Summary (mean, sd and 95 % CI per model and batching)")
    summary = found["summary"].reindex(columns=list(SUMMARY_COLUMNS))
    summary["batching"] = summary["batching"].map(lambda b: BATCHING_NAMES.get(b, b)).where(
        summary["model"] != MAJORITY, "")
    st.dataframe(summary.rename(columns=SUMMARY_COLUMNS), width="stretch", hide_index=True, key="summary")
    if (summary["model"] == MAJORITY).any():
        st.caption(f"{MAJORITY}: the baseline that answers every test text with the most frequent class of the "
                   "training part; it takes part in the pairwise tests like a model.")
    st.subheader("All runs")
    st.dataframe(styled(table), width="stretch", hide_index=True, key="runs")
    downloads = st.columns(5)
    downloads[0].download_button("Runs (CSV)", lambda: csv_text(table), "textclf-results.csv", "text/csv")
    downloads[1].download_button("Per class (CSV)", lambda: csv_text(found["classes"]),
                                 "textclf-per-class.csv", "text/csv")
    downloads[2].download_button("By length (CSV)", lambda: csv_text(found["lengths"]),
                                 "textclf-by-length.csv", "text/csv")
    downloads[3].download_button("Pairwise tests (CSV)", lambda: csv_text(found["pairs"]),
                                 "textclf-pairwise.csv", "text/csv")
    downloads[4].download_button("Everything (JSON)", partial(comparison_json_text, comparison), "textclf-results.json",
                                 "application/json")
    st.caption("The command line that repeats this comparison (run it where the data file lies):")
    st.code(compare_command(comparison.config, data_file_name(comparison.dataset_name)), language="bash")


def styled(table):
    """The table with people's column names, percentages, seconds and counts formatted, blanks as '–'."""
    readable = readable_table(table)
    names = {COLUMN_NAMES.get(c, c) for c in table.columns} & set(readable.columns)
    formats = {COLUMN_NAMES[c]: "{:.1%}" for c in PERCENT_COLUMNS if COLUMN_NAMES[c] in names}
    formats |= {COLUMN_NAMES[c]: "{:.2f}" for c in SECONDS_COLUMNS if COLUMN_NAMES[c] in names}
    formats |= {c: "{:.3g}" for c in readable.columns if c not in formats and readable[c].dtype.kind == "f"}
    return readable.style.format(formats, na_rep="–")


def unfinished_warning() -> None:
    status = state.source_status()
    if status and status[0] in UNFINISHED:
        name, done, total = status
        st.warning(f"This comparison {UNFINISHED[name]}: {done} of {total} {ui.plural(total, 'run')} finished. "
                   "The charts and the tables show the finished runs only.", icon=":material/warning:")


with ui.page("Compare"):
    state.attach_from_url()  # ?experiment=ID: a reload or another tab shows the same experiment
    if ui.need_results():
        comparison = state.comparison()
        max_len = comparison.max_len
        truncation = f", truncated at {max_len} {ui.plural(max_len, 'token')}" if max_len else ""
        folds = f"{len(comparison.folds)}-fold cross-validation, " if comparison.folds else ""
        st.caption(f"Showing {state.source_description()}: dataset **{ui.plain(comparison.dataset_name)}**, "
                   f"{len(comparison.runs)} runs, {folds}test set of {comparison.split_sizes['test']} texts"
                   f"{' in fold 1' if folds else ''}, tokenizer {comparison.tokenizer}{truncation}. " + " ".join(
                       f"Note: {ui.plain(ui.sentence(note))}" for note in comparison.split_notes))
        unfinished_warning()
        estimated = comparison.config.estimated_seconds  # the time taken is looked up only when there is one
        if estimated and (line := ui.estimate_line(estimated, state.source_wall_seconds())):
            st.caption(line)
        if comparison.runs:
            show(comparison)
        else:
            st.info("The first run is still training; results appear here as soon as it finishes.")
