"""Summaries of a results table: mean ± sd over seeds, and the headline stated in plain sentences.

The sentences are generated from the numbers (never written by hand), so what the dashboard says is always
what the runs measured.
"""

from __future__ import annotations

import pandas as pd

MEASURES = ("accuracy", "macro_f1", "train_seconds", "seconds_per_epoch", "padding_waste", "inference_seconds")
BASELINE, BUCKETED = "max_length", "bucket"


def aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, batching): mean and sample sd of each measure over seeds, and the seed count."""
    if table.empty:
        return pd.DataFrame(columns=["model", "batching", "runs"])
    groups = table.groupby(["model", "batching"], sort=False)
    summary = groups.size().rename("runs").to_frame()
    for measure in MEASURES:
        values = groups[measure]
        summary[f"{measure}_mean"] = values.mean()
        summary[f"{measure}_sd"] = values.std(ddof=1).fillna(0.0)
    summary["model_key"] = groups["model_key"].first()
    return summary.reset_index()


def headline(table: pd.DataFrame) -> list[str]:
    """A sentence per neural model comparing bucketed with max-length batching, then the best model overall."""
    summary = aggregate(table)
    sentences = [s for model in summary["model"].unique() if (s := _bucketing_sentence(summary, model))]
    if not summary.empty:
        best = summary.loc[summary["accuracy_mean"].idxmax()]
        where = "" if best["batching"] == "none" else f" with {best['batching'].replace('_', '-')} batching"
        sentences.append(f"Most accurate: {best['model']}{where}, {_accuracy_text(best)} test accuracy.")
    return sentences


def _bucketing_sentence(summary: pd.DataFrame, model: str) -> str | None:
    rows = summary[summary["model"] == model].set_index("batching")
    if BASELINE not in rows.index or BUCKETED not in rows.index:
        return None
    base, bucket = rows.loc[BASELINE], rows.loc[BUCKETED]
    time_change = 1 - bucket["seconds_per_epoch_mean"] / base["seconds_per_epoch_mean"]
    accuracy_change = 100 * (bucket["accuracy_mean"] - base["accuracy_mean"])
    faster = f"{time_change:.0%} less training time per epoch" if time_change >= 0 else \
        f"{-time_change:.0%} more training time per epoch"
    return (
        f"{model}: bucketing cut padding from {base['padding_waste_mean']:.0%} to {bucket['padding_waste_mean']:.0%} "
        f"of the batch slots and took {faster} ({base['seconds_per_epoch_mean']:.1f} → "
        f"{bucket['seconds_per_epoch_mean']:.1f} s); test accuracy {_signed(accuracy_change)} points "
        f"({_accuracy_text(base)} → {_accuracy_text(bucket)})."
    )


def _signed(points: float) -> str:
    return f"{'+' if points >= 0 else '−'}{abs(points):.1f}"


def _accuracy_text(row: pd.Series) -> str:
    text = f"{row['accuracy_mean']:.1%}"
    return text + f" ± {row['accuracy_sd']:.1%}" if row["runs"] > 1 else text

