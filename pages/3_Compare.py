"""Compare: accuracy with its uncertainty, paired tests, time and padding, accuracy by length and by class."""

import dataclasses
import html
from functools import partial

import streamlit as st

from dashboard import state, ui
from textclf.errors import TextclfError
from textclf.results import charts, formats
from textclf.results.analysis import comparison_json_text
from textclf.results.baseline import MAJORITY, METRIC_NAMES, METRICS, ranking_metric
from textclf.results.breakdown import accuracy_by_length, per_class
from textclf.results.csv_safety import csv_text
from textclf.results.curves import roc_and_pr, scored_runs
from textclf.results.errors import (
    cell_texts,
    compact,
    comparison_texts,
    disagreements,
    largest_error,
    shared_runs,
)
from textclf.results.how_run import implementation_sentence, precision_sentence
from textclf.results.pairwise import MATRIX_CELLS, matrix, pair_list, pairwise_table
from textclf.results.report import headline, longer_cap, run_label, summary_of
from textclf.results.side_by_side import BETTER, WORSE, cells_in_order, experiments_table
from textclf.results.tables import formatters, per_class_frame, run_notes, runs_frame, summary_frame, time_measure
from textclf.runs.command import compare_command, data_file_name
from textclf.runs.comparison import Comparison, RunResult
from textclf.runs.events import Status

# Texts wrap over three lines in the error lists (a dataframe wraps text only in rows taller than 4 rem).
WRAPPED_ROW_PX = 72
# Widths that fit the page at 1024 px (wider pages stretch them); a cell's whole text shows when it is clicked.
ERROR_COLUMNS = {"Text": st.column_config.TextColumn("Text", width=200),
                 "True class": st.column_config.TextColumn("True class", width=80),
                 "Models right": st.column_config.NumberColumn("Runs right", width=70),
                 "Answers": st.column_config.TextColumn("Answers of the runs", width=180)}
SCROLL_AFTER_ROWS = 14
# Tables in a smaller type with tighter cells, so the pairwise matrix of 8 cells and the runs table fit the page at
# 1024 px by wrapping (st.table never cuts a cell; it grows wider than the page only when it cannot wrap).
TABLE_STYLE = """<style>
[data-testid=stTable] th, [data-testid=stTable] td {font-size: 0.8rem; padding: 0.25rem 0.4rem; line-height: 1.35}
[data-testid=stTable] th *, [data-testid=stTable] td * {font-size: inherit}
</style>"""
UNFINISHED = {Status.INTERRUPTED: "was interrupted (the server stopped)", Status.CANCELLED: "was cancelled",
              Status.FAILED: "failed"}


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
    offer_longer_training(comparison)
    time_column, time_kind = time_measure(table)
    how = [implementation_sentence(table), precision_sentence(table)]
    st.caption(" ".join(ui.plain(line) for line in [
        f"Training time is training only (validation excluded), in {time_kind} seconds"
        f"{' since the runs’ wall and CPU times disagree' if time_kind == 'CPU' else ''}; validation and test "
        f"predictions use one batching for every strategy: {comparison.evaluation_batching}.", *how] if line))
    colour_key(table)
    st.html(TABLE_STYLE)
    st.plotly_chart(charts.accuracy_dots(table, metric, baseline_score(found["summary"], metric)), width="stretch",
                    key="accuracy")  # the whole width: its row names take a third of a half-width chart
    left, right = st.columns(2)
    left.plotly_chart(charts.training_time_bars(table, legend=False), width="stretch", key="time")
    right.plotly_chart(charts.waste_bars(table, legend=False), width="stretch", key="waste")
    left, right = st.columns(2)
    left.plotly_chart(charts.accuracy_vs_time(table, colour_legend=False, metric=metric), width="stretch",
                      key="scatter")
    right.plotly_chart(charts.epoch_curves(comparison.runs), width="stretch", key="epochs")
    show_significance(found["pairs"])
    show_breakdowns(comparison, found)
    show_tables(comparison, found, time_column)
    show_side_by_side(comparison, metric)


def offer_longer_training(comparison: Comparison) -> None:
    """When the epoch cap stopped runs that were still improving (or a quick look), a button that starts the same
    experiment with a higher cap, where its data is at hand; else one that opens Train with the cap raised."""
    cap = longer_cap(comparison)
    if cap is None:
        return
    data = training_data(comparison)
    busy = state.busy_job() is not None
    label = f"Train these runs longer (cap {cap} epochs)"
    if data is None:
        if st.button(label, icon=":material/trending_up:",
                     help="Opens the Train page with the epoch cap raised and the quick look off (this experiment's "
                          "data is not at hand here). Check the other settings there, then Start."):
            state.train_settings().update(epochs=cap, quick_look=False)
            st.switch_page(ui.PAGES["train"])
        return
    if st.button(label, icon=":material/trending_up:", disabled=busy,
                 help="Waits until this session's running comparison has finished." if busy else
                 "Starts the same experiment on the same data with the higher cap; early stopping still ends each "
                 "run when it stops improving. Train shows its progress."):
        longer = dataclasses.replace(comparison.config, epochs=cap, quick_look=False, estimated_seconds=None)
        state.start_job(data, longer, save_models=True)
        st.switch_page(ui.PAGES["train"])


def training_data(comparison: Comparison):
    """The data the comparison trained on: the store's copy of it, else this session's dataset of that name."""
    shown = shown_experiment_id()
    try:
        kept = state.store().stored_dataset(shown) if shown is not None else None
    except TextclfError:  # the experiment has left the store (deleted since)
        kept = None
    if kept is not None:
        return kept
    data = state.dataset()
    return data if data is not None and data.name == comparison.dataset_name else None


def colour_key(table) -> None:
    """One colour key for the charts below: each strategy's colour, and each classical model's own."""
    colours = {charts.batching_label(b): charts.batching_colour(b) for b in table["batching"].unique()
               if b != charts.NOT_BATCHED}
    colours |= {model: colour for model, colour in charts.model_colours(table).items()}
    items = "".join(
        f'<span style="margin-right:1.4em;white-space:nowrap"><span style="display:inline-block;width:0.9em;'
        f'height:0.9em;border-radius:2px;vertical-align:-0.1em;margin-right:0.4em;background:{colour}"></span>'
        f"{html.escape(name)}</span>" for name, colour in colours.items())
    st.html(f'<div style="font-size:0.9rem">Colours: {items}</div>')


def readable(frame, *, key: str, index: bool = False) -> None:
    """A table that wraps its cells to the page's width instead of scrolling sideways: strings shown literally
    (st.table reads Markdown), numbers through one formatter per column, missing values blank. A long one
    scrolls down inside a box of its own."""
    shown = frame.copy()
    for column in shown.columns:
        if shown[column].dtype == object:
            shown[column] = shown[column].map(lambda value: "" if formats.missing(value) else ui.plain(value))
    names = {column: ui.plain(column) for column in shown.columns}
    shown = shown.rename(columns=names)
    if index:
        shown.index = [ui.plain(name) for name in shown.index]
    styler = shown.style.format({names[c]: f for c, f in formatters(frame).items()}, na_rep="")
    where = st.container(height=520, key=f"{key}_box") if len(frame) > SCROLL_AFTER_ROWS else st.container()
    where.table(styler if index else styler.hide(axis="index"))


def show_significance(pairs) -> None:
    st.subheader("Pairwise comparison")
    if pairs.empty:
        st.info("Nothing to compare yet: the matrix needs two models or strategies tested on the same texts.")
        return
    tests = ", ".join(pairs["test"].unique())
    st.caption("Each cell: accuracy of the row minus the column, in points, ± the 95 % CI half-width, and the "
               f"p-value ({tests}) after Holm's correction for the {len(pairs)} comparisons; * marks a significant "
               "difference (p < 0.05). The headline's bucketing sentences each test one planned question, so they "
               "are not corrected; its best-model sentence is, as here.")
    grid = matrix(pairs)
    if len(grid) <= MATRIX_CELLS:
        readable(grid, key="matrix", index=True)
        return
    st.caption(f"With {len(grid)} models and strategies the matrix would not fit the page; each pair is listed "
               "instead, the higher scorer first, the clearest differences first.")
    readable(pair_list(pairs), key="matrix")


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
    readable(per_class_frame(found["classes"]), key="per_class")
    show_curves(comparison)
    show_errors(comparison, comparison.runs[chosen])


def show_curves(comparison: Comparison) -> None:
    """ROC and precision-recall curves of one class against the rest (the smallest class by default)."""
    st.subheader("ROC and precision-recall curves")
    runs = scored_runs(comparison)
    if not runs:
        st.info("No run kept its test probabilities: results saved before they were kept, models without "
                "probabilities, or a test set over 50,000 values (texts × classes).")
        return
    labels = [str(label) for label in comparison.test_labels]
    classes = comparison.classes
    smallest = min(classes, key=lambda c: (labels.count(str(c)), classes.index(c)))
    positive = st.selectbox("Class against the rest", classes, index=classes.index(smallest),
                            format_func=ui.visible, key="curve_class")
    roc, precision_recall = roc_and_pr(comparison, runs, str(positive))
    left, right = st.columns(2)
    left.plotly_chart(roc, width="stretch", key="roc")
    right.plotly_chart(precision_recall, width="stretch", key="precision_recall")
    st.caption(f"One run per model and batching (its first seed{' on fold 1' if comparison.folds else ''}), "
               "scored by the probability it gives the class; AUC is the area under the ROC curve (0.5 = chance), "
               "AP the average precision (the class's share of the texts = no skill).")


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
    error_list(listed, comparison, key="cell_texts")
    if texts is not None and len(listed):
        explain_on_predict(list(listed["Text"]))
    split = disagreements(comparison, texts)
    st.caption(f"The runs disagree on {len(split)} of {len(comparison.test_labels)} test texts (fewest runs right "
               "first).")
    if len(split):
        error_list(split, comparison, key="disagreements")


def explain_on_predict(texts: list[str]) -> None:
    """Open one of the listed texts on Predict, where every model's label and explanation of it are shown."""
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox("A text of this cell", range(len(texts)), key="explain_text",
                            format_func=lambda i: ui.visible(texts[i][:120]))
    if right.button("Explain on Predict", icon=":material/online_prediction:"):
        st.session_state["predict_text"] = texts[chosen]  # what Predict classifies and explains
        st.switch_page(ui.PAGES["predict"])


def error_list(frame, comparison: Comparison, key: str) -> None:
    """Texts with their true class, how many runs got each right and the runs' answers in one column (one
    column per run would scroll sideways); every run's own column is in the download."""
    st.dataframe(shown_texts(compact(frame, shared_runs(comparison))), width="stretch", hide_index=True, key=key,
                 column_config=ERROR_COLUMNS, row_height=WRAPPED_ROW_PX)


def shown_texts(frame):
    """User text as plain cells: characters that reorder or hide text shown as their code."""
    return frame.apply(lambda column: column.map(ui.visible) if column.dtype == object else column)


def show_tables(comparison: Comparison, found: dict, time_column: str) -> None:
    table = comparison.table
    st.subheader("Summary (mean, sd and 95 % CI per model and batching)")
    readable(summary_frame(found["summary"], time_column), key="summary")
    if (found["summary"]["model"] == MAJORITY).any():
        st.caption(f"{MAJORITY}: the baseline that answers every test text with the most frequent class of the "
                   "training part; it takes part in the pairwise tests like a model. An sd is blank for a single "
                   "run.")
    st.subheader("All runs")
    readable(runs_frame(table, time_column), key="runs")
    for note in run_notes(table):
        st.caption(f"Note on {ui.plain(note)}")
    st.caption("The downloads hold every measure of every run (CPU times, validation and prediction times, steps, "
               "batch shapes, parameters).")
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
    st.code(compare_command(comparison.config, data_file_name(comparison.dataset_name)), language="bash",
            wrap_lines=True)


@st.cache_data(max_entries=16, show_spinner="Testing the differences between runs…")
def _pairs(key: tuple, _comparison: Comparison):
    return pairwise_table(_comparison)


def shown_experiment_id() -> int | None:
    source = state.shown_source()
    if source["kind"] == "experiment":
        return source["id"]
    return getattr(state.job(), "experiment_id", None)


def show_side_by_side(comparison: Comparison, metric: str) -> None:
    """This experiment beside others from History: experiments × models, Weka Experimenter's layout."""
    st.subheader("Side by side with other experiments")
    store, shown = state.store(), shown_experiment_id()
    others = {e["id"]: e["dataset"] for e in store.list_experiments() if e["id"] != shown and e["runs"]}
    if not others:
        st.caption("Experiments in History with finished runs can be set beside this one here.")
        return
    chosen = st.multiselect("Experiments to set beside this one", list(others), key="beside",
                            format_func=lambda i: f"#{i} · {ui.visible(others[i])}")
    if not chosen:
        return
    here = f"#{shown} · {comparison.dataset_name}" if shown else f"this one · {comparison.dataset_name}"
    comparisons = {here: comparison} | {f"#{i} · {others[i]}": store.load_comparison(i) for i in chosen}
    pairs = {name: _pairs(_key(shown_one), shown_one) for name, shown_one in comparisons.items()}
    cells = cells_in_order({name: summary_of(shown_one) for name, shown_one in comparisons.items()})
    base = st.selectbox("Base column (the marks compare each cell with it)", cells, format_func=ui.visible,
                        key="beside_base")
    readable(experiments_table(comparisons, pairs, base, metric), key="beside_table", index=True)
    st.caption(f"Each cell: mean {METRIC_NAMES[metric]} ± sd in points over runs; {BETTER} marks a model "
               f"significantly more accurate than the base column on that experiment's test texts, {WORSE} one "
               "significantly less accurate (that experiment's paired tests with Holm's correction, as in its "
               "matrix). The last row counts the experiments where each column is better, not different or worse. "
               "Different datasets are never tested against each other.")


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
