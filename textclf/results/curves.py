"""ROC and precision-recall curves of the runs that kept their test probabilities, one class against the rest
(the positive class of a two-class problem is the one chosen). Each curve's legend names its area (ROC AUC) or
average precision; the precision-recall chart marks the class's share, what a model without skill scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from textclf.results.charts import cell_colour, escaped, legend_below, model_colours, new_figure
from textclf.results.pairwise import cell_name
from textclf.runs.comparison import Comparison, RunResult

CHANCE = "#bbbbbb"  # the chance and no-skill lines: lighter than any model's
MOST_POINTS = 400  # points drawn per curve (a curve has up to one per distinct score)


def scored_runs(comparison: Comparison) -> list[RunResult]:
    """The first run (lowest seed, first fold) of each model and batching that kept its test probabilities."""
    chosen: dict[tuple[str, str], RunResult] = {}
    for run in comparison.runs:
        record = run.record
        if record.get("test_probabilities") and (record["model"], record["batching"]) not in chosen:
            chosen[(record["model"], record["batching"])] = run
    return list(chosen.values())


def class_scores(comparison: Comparison, run: RunResult, positive: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Whether each test text is of `positive`, and the run's probability for it; None when the run's classes do
    not include it or every text is of one side (no curve is defined)."""
    classes = [str(c) for c in run.record.get("probability_classes", [])]
    if positive not in classes:
        return None
    truth, _ = comparison.test_of(run.record)
    scores = np.asarray(run.record["test_probabilities"], dtype=float)[:, classes.index(positive)]
    is_positive = np.asarray([str(label) == positive for label in truth])
    if len(is_positive) != len(scores) or is_positive.all() or not is_positive.any():
        return None
    return is_positive, scores


def roc_and_pr(comparison: Comparison, runs: Sequence[RunResult], positive: str) -> tuple[go.Figure, go.Figure]:
    """The ROC curve and the precision-recall curve of `positive` against the other classes, one line per run."""
    name = escaped(positive)
    roc = new_figure(f"ROC: {name} against the rest", "false positive rate", "true positive rate")
    pr = new_figure(f"Precision-recall: {name}", "recall", "precision")
    colours = model_colours(comparison.table)
    dashes: dict[str, str] = {}
    share = None
    for run in runs:
        scored = class_scores(comparison, run, positive)
        if scored is None:
            continue
        truth, scores = scored
        share = truth.mean()
        record = run.record
        line = {"color": cell_colour(record["model"], record["batching"], colours), "dash": "solid"}
        if record["model"] not in colours:  # neural models share their strategy's colour: a dash tells them apart
            line["dash"] = dashes.setdefault(record["model"], ["solid", "dash", "dashdot", "longdash"][len(dashes) % 4])
        label = escaped(cell_name((record["model"], record["batching"])))
        false_pos, true_pos, _ = roc_curve(truth, scores)
        roc.add_scatter(x=_thin(false_pos), y=_thin(true_pos), mode="lines", line=line,
                        name=f"{label} (AUC {roc_auc_score(truth, scores):.3f})")
        precision, recall, _ = precision_recall_curve(truth, scores)
        pr.add_scatter(x=_thin(recall), y=_thin(precision), mode="lines", line=line,
                       name=f"{label} (AP {average_precision_score(truth, scores):.3f})")
    roc.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"color": CHANCE, "dash": "dot", "width": 1},
                    name="chance")
    if share is not None:
        pr.add_hline(y=share, line_dash="dot", line_color=CHANCE, line_width=1)
        pr.add_scatter(x=[None], y=[None], mode="lines", line={"color": CHANCE, "dash": "dot", "width": 1},
                       name=f"no skill ({share:.1%} of the texts)")
    for fig in (roc, pr):
        fig.update_xaxes(range=[0, 1.01], tickformat=".0%")
        fig.update_yaxes(range=[0, 1.01], tickformat=".0%")
        legend_below(fig, rows=len(fig.data), axis_px=60)
    return roc, pr


def _thin(values: np.ndarray) -> np.ndarray:
    """At most `MOST_POINTS` points of a curve, its ends kept (a large test set gives one point per score)."""
    if len(values) <= MOST_POINTS:
        return values
    return values[np.unique(np.linspace(0, len(values) - 1, MOST_POINTS).round().astype(int))]
