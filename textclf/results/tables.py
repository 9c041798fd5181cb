"""The Compare page's tables as people read them: the columns a reader compares (every measure stays in the CSV
downloads), named in words, numbers kept as numbers with one formatter per column (`formatters`), so a table
fits the page at 1024 px and reads the same everywhere: rates as '82.4%', seconds, whole counts, blanks."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from textclf.results import formats
from textclf.results.baseline import MAJORITY
from textclf.results.report import readable_table
from textclf.runs.config import cell_name
from textclf.training.strategies import batching_label

RUN_COLUMNS = ["model", "batching", "seed", "fold", "accuracy", "macro_f1", "train_seconds", "train_cpu_seconds",
               "seconds_per_epoch", "epochs_run", "padding_waste"]
RATE_WORDS = ("Accuracy", "Macro F1", "Padding waste", "Precision", "Recall", "F1")
COUNT_WORDS = ("Seed", "Fold", "Runs", "Epochs run", "Best epoch", "Test texts of class")


def formatters(frame: pd.DataFrame) -> dict[str, Callable]:
    """One formatter per column of a readable table, chosen by what its name says it holds."""
    chosen = {}
    for column in frame.columns:
        name = str(column)
        if name.endswith("(s)"):
            chosen[column] = formats.seconds
        elif name in COUNT_WORDS:
            chosen[column] = formats.count
        elif name.startswith(RATE_WORDS) and pd.api.types.is_numeric_dtype(frame[column]):
            chosen[column] = formats.percent
    return chosen


def time_measure(table: pd.DataFrame) -> tuple[str, str]:
    """('train_cpu_seconds', 'CPU') when some run's wall and CPU training time disagree (a busy machine: its runs'
    wall times are not comparable), else ('train_seconds', 'wall')."""
    notes = table["timing_note"].astype(object).fillna("").astype(bool) if "timing_note" in table else pd.Series()
    cpu_known = "train_cpu_seconds" in table and table["train_cpu_seconds"].notna().all()
    return ("train_cpu_seconds", "CPU") if notes.any() and cpu_known else ("train_seconds", "wall")


def summary_frame(summary: pd.DataFrame, time_column: str = "train_seconds") -> pd.DataFrame:
    """Per model and batching: runs, each metric's mean, then its sd (none for a single run) and 95 % CI in one
    cell, training time (`time_column`: wall or CPU seconds), time per epoch and padding. The baseline's batching
    is blank."""
    kind = "CPU" if time_column == "train_cpu_seconds" else "wall"
    frame = pd.DataFrame({"Model": summary["model"],
                          "Batching": [("" if m == MAJORITY else batching_label(b))
                                       for m, b in zip(summary["model"], summary["batching"], strict=True)],
                          "Runs": summary["runs"]})
    for metric, name in (("accuracy", "Accuracy"), ("macro_f1", "Macro F1")):
        frame[name] = summary[f"{metric}_mean"]
        frame[f"{name}: sd, 95 % CI"] = [
            _spread(sd if runs > 1 else None, low, high) for sd, runs, low, high in zip(
                summary[f"{metric}_sd"], summary["runs"], summary[f"{metric}_ci_low"], summary[f"{metric}_ci_high"],
                strict=True)]
    frame[f"Training, {kind} (s)"] = summary.get(f"{time_column}_mean")
    frame["Per epoch (s)"] = summary.get("seconds_per_epoch_mean")
    frame["Padding waste"] = summary.get("padding_waste_mean")
    return frame.reset_index(drop=True)


def _spread(sd, low, high) -> str:
    """'± 1.2 · 79.0–83.4%': the sd in points (none for a single run) and the 95 % CI, blank parts left out."""
    parts = [] if formats.missing(sd) else [f"± {formats.points(sd)}"]
    if not (formats.missing(low) or formats.missing(high)):
        parts.append(f"{100 * low:.1f}–{100 * high:.1f}%")
    return " · ".join(parts)


def runs_frame(table: pd.DataFrame, time_column: str = "train_seconds") -> pd.DataFrame:
    """The runs with the columns a reader compares: training time in `time_column` only (wall or CPU seconds, as
    the charts), a seed column only when there are several seeds, no column empty for every run (fold). The runs'
    notes are said under the table (`run_notes`): a sentence in a column would make every row tall."""
    other_time = "train_seconds" if time_column == "train_cpu_seconds" else "train_cpu_seconds"
    columns = [c for c in RUN_COLUMNS if c != other_time and (c != "seed" or table["seed"].nunique() > 1)]
    return readable_table(table.reindex(columns=[*columns, "model_key"])).dropna(axis=1, how="all")


def run_notes(table: pd.DataFrame) -> list[str]:
    """Each distinct note of the runs once, with the runs it concerns: 'TextCNN · max-length (seeds 0, 1): …'."""
    if "note" not in table:
        return []
    noted = table[table["note"].astype(object).fillna("").astype(bool)]
    found = []
    for note, rows in noted.groupby("note", sort=False):
        runs = ", ".join(dict.fromkeys(cell_name(m, b) for m, b in zip(rows["model"], rows["batching"], strict=True)))
        found.append(f"{runs}: {note}")
    return found


def per_class_frame(classes: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall and F1 of every class and run (an empty fold column left out)."""
    return readable_table(classes)
