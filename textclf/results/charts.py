"""Plotly figures for the dashboard, built here so tests can check their numbers without a browser.

Every chart uses the same colour for a batching strategy, labels its axes with units, and puts values on
bars where a reader would otherwise have to hover.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from textclf.data.profile import Profile
from textclf.results import formats
from textclf.results.baseline import METRIC_NAMES
from textclf.results.pairwise import cell_name
from textclf.results.report import aggregate
from textclf.results.tables import time_measure
from textclf.runs.comparison import Comparison, RunResult
from textclf.training.strategies import (  # noqa: F401  (BATCHING_COLOURS re-exported)
    BATCHING_COLOURS,
    NOT_BATCHED,
    NOT_BATCHED_COLOUR,
    batching_colour,
    batching_label,
)

# The title sits below the band where plotly's toolbar appears on hover (top right, about 26 px high), so the
# toolbar never covers the end of a long title.
TITLE_BELOW_TOOLBAR = {"x": 0, "xref": "container", "xanchor": "left", "y": 1, "yref": "container",
                       "yanchor": "top", "pad": {"t": 36, "l": 8}}
LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 76, "b": 50}, "height": 380,
          "title_font": {"size": 15}}
# Colour-blind-safe colours for the classical models (Okabe-Ito, and a dark grey), apart from the strategies' own.
CLASSICAL_COLOURS = [NOT_BATCHED_COLOUR, "#cc79a7", "#009e73", "#8c564b", "#000000"]
LABEL_CHARS = 18
LEGEND_ROW_PX = 20
CROWDED_GROUP = 3  # strategies per model from which bar labels stand upright
GROUP_WIDTH, WIDEST_BAR = 0.9, 0.45  # of a model's slot on the x axis: its strategies' bars together, and one
MODEL_SYMBOLS = ["circle", "diamond", "square", "triangle-up", "x", "star", "cross", "pentagon"]


def escaped(text) -> str:
    """User-provided text (a class or model name) as plotly shows it literally. Plotly renders a subset of HTML,
    links included, so <, > and & are escaped; quotes are not (plotly would show `&quot;` as it is written, and
    outside a tag a quote is plain text)."""
    return html.escape(str(text), quote=False)


def _safe(labels: Sequence) -> list[str]:
    return [escaped(label) for label in labels]


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    """A label cut to `limit` characters (the full text stays in the hover), so axes keep room for the plot."""
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _wrapped(model: str) -> str:
    """Model names break before their options ('BiLSTM<br>(mean)'): they stay horizontal and readable."""
    return escaped(model).replace(" (", "<br>(")


def _readable_models(fig: go.Figure, models: Sequence[str]) -> None:
    """Horizontal, wrapped model names on the x axis, with room made for them instead of slanting."""
    models = list(dict.fromkeys(models))
    fig.update_xaxes(tickangle=0, automargin=True, tickvals=models, ticktext=[_wrapped(m) for m in models])
    fig.update_yaxes(automargin=True)


def legend_below(fig: go.Figure, rows: int, axis_px: int) -> None:
    """A legend under the x axis, pinned to the figure's bottom edge in pixels, the figure grown by its rows.

    A legend placed in plot fractions moves with the plot's height and lands on the axis title; pinned to the
    container, with the margin sized for the tick labels and title (`axis_px`), it cannot overlap them.
    """
    legend_px = rows * LEGEND_ROW_PX + 10
    fig.update_layout(legend={"orientation": "v" if rows > 1 else "h", "yref": "container", "y": 0,
                              "yanchor": "bottom", "x": 0, "xanchor": "left"},
                      margin_b=axis_px + legend_px, height=(fig.layout.height or LAYOUT["height"]) + legend_px)


def new_figure(title: str, x_title: str, y_title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title={"text": title, **TITLE_BELOW_TOOLBAR}, xaxis_title=x_title, yaxis_title=y_title,
                      **LAYOUT)
    return fig


def model_colours(table: pd.DataFrame) -> dict[str, str]:
    """A colour of its own for each classical model (in the order they appear), so SVM and kNN differ."""
    classical = table.loc[table["batching"] == NOT_BATCHED, "model"].unique() if len(table) else []
    return {model: CLASSICAL_COLOURS[i % len(CLASSICAL_COLOURS)] for i, model in enumerate(classical)}


def cell_colour(model: str, batching: str, colours: dict[str, str]) -> str:
    """A neural cell takes its strategy's colour; a classical model its own (`model_colours`)."""
    return colours.get(model, NOT_BATCHED_COLOUR) if batching == NOT_BATCHED else batching_colour(batching)


def class_counts(profile: Profile) -> go.Figure:
    fig = new_figure("Texts per class", "class", "texts")
    names, counts = _safe(profile.classes), list(profile.classes.values())
    fig.add_bar(x=names, y=counts, text=counts, textposition="outside", marker_color="#4c78a8", name="texts")
    return fig


def length_histogram(lengths: Sequence[int], boundaries: Sequence[int], max_len: int) -> go.Figure:
    """Training texts' token lengths, with the upper bounds of the buckets bucketed batching would use on top."""
    fig = new_figure("Length of the training texts", f"length in tokens (truncated at {max_len})", "texts")
    fig.add_histogram(x=np.minimum(np.asarray(lengths), max_len), marker_color="#9ecae1", name="texts")
    for bound in boundaries:
        fig.add_vline(x=bound, line_dash="dot", line_color=batching_colour("bucket"))
    fig.add_scatter(x=[None], y=[None], mode="lines", line={"dash": "dot", "color": batching_colour("bucket")},
                    name="bucket upper bounds")
    return fig


def _by_batching(table: pd.DataFrame, measure: str, title: str, y_title: str, percent: bool = False,
                 include_classical: bool = True) -> go.Figure:
    """Grouped bars: one group per model, one bar per batching (mean over seeds), each classical model in its
    own colour and centred on its name (it has one bar, not one per strategy).

    Every bar carries its value above it, so a 2 % bar is as readable as an 80 % one; the sd over runs is in the
    hover (written beside the value it would run into the neighbouring bar's label)."""
    summary = aggregate(table)
    if not include_classical:
        summary = summary[summary["batching"] != NOT_BATCHED]
    colours = model_colours(table)
    fig = new_figure(title, "model", y_title)
    write = formats.percent if percent else formats.seconds
    strategies = [b for b in summary["batching"].unique() if b != NOT_BATCHED]
    width = min(GROUP_WIDTH / max(1, len(strategies)), WIDEST_BAR)
    upright = len(strategies) >= CROWDED_GROUP  # a label wider than its bar would run into its neighbour's
    for batching, rows in summary.groupby("batching", sort=False):
        means, sds = rows[f"{measure}_mean"], rows[f"{measure}_sd"]
        spread = [f"sd {write(sd)} over {n} runs" if n > 1 else "one run"
                  for sd, n in zip(sds, rows["runs"], strict=True)]
        offset = -width / 2 if batching == NOT_BATCHED else width * (strategies.index(batching) - len(strategies) / 2)
        fig.add_bar(x=rows["model"], y=means, name=batching_label(batching), text=[write(m) for m in means],
                    textposition="outside", textangle=-90 if upright else 0, cliponaxis=False, constraintext="none",
                    textfont={"size": 10 if upright else 11}, offset=offset, width=width, customdata=spread,
                    marker_color=[cell_colour(m, batching, colours) for m in rows["model"]],
                    hovertemplate="%{x}<br>%{text} (%{customdata})<extra>%{fullData.name}</extra>")
    fig.update_layout(barmode="overlay")
    top = float(summary[f"{measure}_mean"].max()) if len(summary) else 0.0
    top = top if np.isfinite(top) and top > 0 else 1.0
    fig.update_yaxes(range=[0, top * (1.3 if upright else 1.15)])  # room for the labels above the tallest bar
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig


def accuracy_dots(table: pd.DataFrame, metric: str = "accuracy", baseline: float | None = None) -> go.Figure:
    """One row per (model, batching): the mean `metric` (accuracy or macro_f1) with its 95 % CI as a bar, every
    single run as a faint dot, and the majority-class baseline's score as a dotted line when given.

    Dots on a zoomed axis stay readable where bars from zero would make a 1-point difference invisible,
    and a row per cell keeps 4 models × 3 strategies legible.
    """
    summary = aggregate(table)
    label = METRIC_NAMES[metric]
    fig = new_figure(f"Test {label} (mean, 95 % CI, runs)", f"test {label}", "")
    names = {cell: _cell_label(*cell) for cell in zip(summary["model"], summary["batching"], strict=True)}
    colours = model_colours(table)
    for batching, rows in summary.groupby("batching", sort=False):
        runs = table[table["batching"] == batching]
        colour, legend = _colours(rows["model"], batching, colours), batching_label(batching)
        fig.add_scatter(x=runs[metric], y=[names[(m, batching)] for m in runs["model"]], mode="markers",
                        marker={"size": 6, "color": _colours(runs["model"], batching, colours), "opacity": 0.35},
                        name=f"{legend} runs",
                        showlegend=False, hovertemplate="%{y}<br>one run: %{x:.1%}<extra></extra>")
        mean, low, high = rows[f"{metric}_mean"], rows[f"{metric}_ci_low"], rows[f"{metric}_ci_high"]
        fig.add_scatter(
            x=mean, y=[names[(m, batching)] for m in rows["model"]], mode="markers", name=legend,
            marker={"size": 11, "color": colour, "symbol": "diamond"},
            error_x={"type": "data", "symmetric": False, "array": (high - mean).fillna(0),
                     "arrayminus": (mean - low).fillna(0), "thickness": 2, "width": 6,
                     "color": colour if isinstance(colour, str) else NOT_BATCHED_COLOUR},
            customdata=np.stack([low, high, rows["runs"]], axis=1),
            hovertemplate="%{y}<br>mean %{x:.1%}<br>95 % CI %{customdata[0]:.1%}–%{customdata[1]:.1%}"
                          "<br>%{customdata[2]} runs<extra></extra>")
    if baseline is not None and pd.notna(baseline):
        fig.add_vline(x=baseline, line_dash="dot", line_color="#555", line_width=2)
        fig.add_scatter(x=[None], y=[None], mode="lines", line={"dash": "dot", "color": "#555"},
                        name=f"majority-class baseline ({baseline:.1%})")
    span = _zoomed(table[metric], summary, metric, baseline)
    fig.update_xaxes(tickformat=".0%", range=span, dtick=_share_step(span[1] - span[0]))
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(list(names.values()))))
    fig.update_layout(height=max(LAYOUT["height"], 120 + 28 * len(names)), margin={**LAYOUT["margin"], "l": 170})
    legend_below(fig, rows=1, axis_px=60)
    return fig


def _colours(models: pd.Series, batching: str, colours: dict[str, str]) -> str | list[str]:
    """The strategy's colour, or one colour per point for the classical models."""
    return [cell_colour(m, batching, colours) for m in models] if batching == NOT_BATCHED else batching_colour(
        batching)


def _share_step(width: float, most: int = 6) -> float:
    """A round tick step (1, 2, 5, 10, 20 or 25 points) giving at most `most` ticks across `width`."""
    return next((step for step in (0.01, 0.02, 0.05, 0.1, 0.2) if width / step <= most), 0.25)


def _cell_label(model: str, batching: str) -> str:
    return escaped(cell_name((model, batching)))


def _zoomed(values: pd.Series, summary: pd.DataFrame, metric: str = "accuracy",
            baseline: float | None = None) -> list[float]:
    """An axis around the runs, the CIs and the baseline, with a little margin, never beyond 0–100 %."""
    extra = pd.Series([baseline], dtype=float)
    points = pd.concat([values, summary[f"{metric}_ci_low"], summary[f"{metric}_ci_high"], extra]).dropna()
    low, high = float(points.min()), float(points.max())
    margin = max(0.01, 0.08 * (high - low))
    return [max(0.0, low - margin), min(1.0, high + margin)]


def _span(values: pd.Series) -> list[float] | None:
    """A share axis around `values` with a margin (at least a point either side), never beyond 0–100 %: neither
    a flat line drawn across 0–100 % nor a single point's axis running to 150 %. Points on such an axis are drawn
    with `cliponaxis=False`, so a run at 100 % shows a whole marker on the top edge, not half of one."""
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return None
    low, high = float(values.min()), float(values.max())
    margin = max(0.01, 0.1 * (high - low))
    return [max(0.0, low - margin), min(1.0, high + margin)]


def time_bars(table: pd.DataFrame, legend: bool = True) -> go.Figure:
    """Training-only seconds per epoch (validation and test inference are timed apart, the same for all).

    `legend=False` where a shared colour key is shown beside the charts (more room for the bars).
    """
    fig = _by_batching(table, "seconds_per_epoch", "Training time per epoch", "seconds", include_classical=False)
    _readable_models(fig, table.loc[table["batching"] != NOT_BATCHED, "model"])
    fig.update_layout(showlegend=legend)
    return fig


def training_time_bars(table: pd.DataFrame, legend: bool = True) -> go.Figure:
    """Whole training time of every model, the classical models' fit included, in CPU seconds when the runs' wall
    and CPU times disagree (the title says which); the cost the headline's recommendation weighs."""
    measure, kind = time_measure(table)
    fig = _by_batching(table, measure, f"Training time ({kind} seconds, all epochs)", f"{kind} seconds")
    _readable_models(fig, table["model"])
    fig.update_layout(showlegend=legend)
    return fig


def _dash(dashes: dict[str, str], model: str) -> str:
    """One line style per model (colour already says the batching)."""
    return dashes.setdefault(model, ["solid", "dash", "dot", "dashdot"][len(dashes) % 4])


def accuracy_by_length(rows: pd.DataFrame) -> go.Figure:
    """Accuracy per test-length bin (quantiles), one line per (model, batching), Wilson 95 % CI as error bars."""
    fig = new_figure("Accuracy by text length", "tokens per text (quantile bins)",
                  "test accuracy")
    if rows.empty:
        return fig
    ticks = dict(zip(rows["bin"], [f"{b}<br>({n} texts)" for b, n in zip(rows["bin"], rows["texts"], strict=True)],
                     strict=True))
    dashes, colours = {}, model_colours(rows)
    for (model, batching), cell in rows.groupby(["model", "batching"], sort=False):
        fig.add_scatter(
            x=[ticks[b] for b in cell["bin"]], y=cell["accuracy"], mode="lines+markers", cliponaxis=False,
            name=_cell_label(model, batching),
            line={"color": cell_colour(model, batching, colours), "dash": _dash(dashes, model)},
            error_y={"type": "data", "symmetric": False, "array": cell["ci_high"] - cell["accuracy"],
                     "arrayminus": cell["accuracy"] - cell["ci_low"], "thickness": 1},
            hovertemplate="%{x}<br>accuracy %{y:.1%}<extra>%{fullData.name}</extra>")
    fig.update_yaxes(tickformat=".0%", range=_span(pd.concat([rows["ci_low"], rows["ci_high"]])))
    fig.update_layout(height=380)
    legend_below(fig, rows=len(fig.data), axis_px=85)
    return fig


def waste_bars(table: pd.DataFrame, legend: bool = True) -> go.Figure:
    fig = _by_batching(table, "padding_waste", "Padding waste (pad / all slots)", "share of slots",
                       percent=True, include_classical=False)
    _readable_models(fig, table.loc[table["batching"] != NOT_BATCHED, "model"])
    fig.update_layout(showlegend=legend)
    return fig


def accuracy_vs_time(table: pd.DataFrame, colour_legend: bool = True, metric: str = "accuracy") -> go.Figure:
    """One point per run (training seconds to the best epoch, validation excluded; classical: the whole fit),
    at its test `metric`, on axes spanning the points.

    Shapes and a legend rather than text beside each point: with several seeds the labels would pile up and
    be cut at the plot's edges. `colour_legend=False` leaves the colours to a shared key beside the charts.
    """
    label = METRIC_NAMES[metric]
    fig = new_figure(f"{label[0].upper() + label[1:]} vs time to best epoch", "wall seconds to the best epoch",
                  f"test {label}")
    symbols = {model: MODEL_SYMBOLS[i % len(MODEL_SYMBOLS)] for i, model in enumerate(table["model"].unique())}
    colours = model_colours(table)
    for (model, batching), rows in table.groupby(["model", "batching"], sort=False):
        fig.add_scatter(x=rows["seconds_to_best_epoch"], y=rows[metric], mode="markers", showlegend=False,
                        cliponaxis=False,
                        marker={"size": 11, "color": cell_colour(model, batching, colours), "symbol": symbols[model],
                                "line": {"width": 1, "color": "white"}},
                        customdata=rows["seed"], name=_cell_label(model, batching),
                        hovertemplate=f"%{{x:.3g}} s, {label} %{{y:.1%}}<extra>%{{fullData.name}} · seed "
                                      "%{customdata}</extra>")
    for batching in table["batching"].unique() if colour_legend else []:
        _legend_entry(fig, batching_label(batching), {"color": batching_colour(batching)})
    for model, symbol in symbols.items():
        _legend_entry(fig, escaped(model), {"color": "#555", "symbol": symbol})
    fig.update_xaxes(ticksuffix=" s", automargin=True, rangemode="tozero")
    fig.update_yaxes(tickformat=".1%", automargin=True, range=_span(table[metric]))
    legend_below(fig, rows=sum(1 for trace in fig.data if trace.showlegend is not False), axis_px=70)
    return fig


def _legend_entry(fig: go.Figure, name: str, marker: dict) -> None:
    fig.add_scatter(x=[None], y=[None], mode="markers", name=name, marker={"size": 10, **marker},
                    hoverinfo="skip")


def epoch_curves(runs: Sequence[RunResult], measure: str = "val_accuracy") -> go.Figure:
    """Per-epoch validation accuracy (or training loss) of every neural run; seeds share a legend entry."""
    title, y_title = {"val_accuracy": ("Validation accuracy per epoch", "accuracy"),
                      "train_loss": ("Training loss per epoch", "cross-entropy loss")}[measure]
    fig = new_figure(title, "epoch", y_title)
    dashes, shown, last_epoch = {}, set(), 1
    for run in runs:
        if not run.history:
            continue
        record = run.record
        dash = _dash(dashes, record["model"])
        group = cell_name((record["model"], record["batching"]))
        epochs = [h["epoch"] for h in run.history]
        last_epoch = max(last_epoch, *epochs)
        fig.add_scatter(x=epochs, y=[h[measure] for h in run.history], mode="lines+markers", cliponaxis=False,
                        name=escaped(group), legendgroup=group, showlegend=group not in shown,
                        line={"color": batching_colour(record["batching"]), "dash": dash},
                        customdata=[record["seed"]] * len(epochs),
                        hovertemplate="epoch %{x}: %{y:.3g}<extra>%{fullData.name} · seed %{customdata}</extra>")
        shown.add(group)
    fig.update_xaxes(tick0=1, dtick=max(1, -(-last_epoch // 10)), tickformat="d", range=[0.8, last_epoch + 0.2])
    if measure == "val_accuracy":  # an accuracy axis spans the points, never past 0–100 %
        values = pd.Series([h[measure] for run in runs for h in run.history], dtype=float)
        fig.update_yaxes(tickformat=".1%", range=_span(values))
    fig.update_layout(legend={"title": {"text": "one line per seed"}} if len(runs) > len(shown) else {})
    legend_below(fig, rows=len(shown) + (len(runs) > len(shown)), axis_px=70)
    return fig


def confusion_matrix(comparison: Comparison, run: RunResult, *, normalise: bool = False) -> go.Figure:
    """Counts of (true class, predicted class) on the test set for one run, or with `normalise` each true class's
    shares (recall on the diagonal); long class names are shortened."""
    truth, _ = comparison.test_of(run.record)
    counts = sk_confusion_matrix(truth, run.predictions, labels=comparison.classes,
                                 normalize="true" if normalise else None)
    classes = _safe(comparison.classes)
    short = _safe(_short(c) for c in comparison.classes)
    record = run.record
    fig = new_figure(f"Confusion matrix: {_cell_label(record['model'], record['batching'])}",
                  "predicted class", "true class")
    fig.add_heatmap(z=counts, x=classes, y=classes, colorscale="Blues", text=counts,
                    texttemplate="%{text:.0%}" if normalise else "%{text}", showscale=False,
                    hovertemplate="true %{y}<br>predicted %{x}<br>"
                                  f"{'%{z:.1%} of the true class' if normalise else '%{z} texts'}<extra></extra>")
    side = min(900, 200 + 45 * len(classes))
    fig.update_layout(height=side, width=side + 150)
    fig.update_xaxes(tickvals=classes, ticktext=short, automargin=True, tickangle=-30 if len(classes) > 3 else 0)
    fig.update_yaxes(tickvals=classes, ticktext=short, automargin=True, autorange="reversed")
    return fig


def loss_curve(steps: Sequence[int], losses: Sequence[float]) -> go.Figure:
    fig = new_figure("Training loss of the current run (live)", "batch", "cross-entropy loss")
    fig.add_scatter(x=list(steps), y=list(losses), mode="lines", line={"color": "#555"}, name="batch loss")
    fig.update_layout(height=260, showlegend=False)
    return fig


def probability_bars(probabilities: dict[str, Sequence[float]], classes: Sequence[str]) -> go.Figure:
    """Class probabilities of one text, one group per model (values on the bars while they have room); the
    figure grows with the number of models so its legend never needs a scroll bar."""
    fig = new_figure("Class probabilities", "class", "probability")
    labelled = len(probabilities) <= 4
    for model, values in probabilities.items():
        fig.add_bar(x=_safe(classes), y=list(values), name=model, textposition="outside",
                    text=[f"{v:.0%}" for v in values] if labelled else None)
    margins = LAYOUT["margin"]["t"] + LAYOUT["margin"]["b"]
    fig.update_layout(barmode="group", height=max(LAYOUT["height"], margins + 30 + LEGEND_ROW_PX * len(probabilities)),
                      colorway=plotly.colors.qualitative.Dark24)  # 24 colours: runs past plotly's 10 stay distinct
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%")
    return fig
