"""Experiments side by side, as Weka's Experimenter shows them: one row per experiment (its dataset), one column per
model and batching, each cell the mean score ± its sd, marked against a base column of the same row by that
experiment's own paired tests (Holm-corrected, as its matrix): 'v' significantly better than the base, '*'
significantly worse. Scores of different datasets are never tested against each other."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from textclf.results import formats
from textclf.results.pairwise import cell_name
from textclf.results.report import summary_of

BETTER, WORSE = "v", "*"
NO_BREAK = "\u00a0"  # a narrow column wraps between cells, never inside '82.4% ± 1.2 v'
TALLY = "(better/same/worse)"


def cells_in_order(summaries: Mapping[str, pd.DataFrame]) -> list[str]:
    """Every model and batching of the experiments' summaries (`summary_of`), in the order they first appear."""
    names = [cell_name((m, b)) for summary in summaries.values() for m, b in zip(summary["model"], summary["batching"],
                                                                                strict=True)]
    return list(dict.fromkeys(names))


def experiments_table(comparisons: Mapping[str, object], pairs: Mapping[str, pd.DataFrame], base: str,
                      metric: str = "accuracy") -> pd.DataFrame:
    """Experiments (rows, named by the mapping's keys) × models (columns): '82.4% ± 1.2 v'; a last row counts, per
    column, the experiments where it is significantly better, not significantly different or worse than `base`.
    `pairs` holds each experiment's pairwise table (its rows name cells as the columns do)."""
    summaries = {name: summary_of(comparison) for name, comparison in comparisons.items()}
    columns = cells_in_order(summaries)
    rows, tally = {}, {column: [0, 0, 0] for column in columns}
    for name, summary in summaries.items():
        scores = {cell_name((m, b)): (mean, sd, runs) for m, b, mean, sd, runs in zip(
            summary["model"], summary["batching"], summary[f"{metric}_mean"], summary[f"{metric}_sd"],
            summary["runs"], strict=True)}
        row = {}
        for column in columns:
            if column not in scores:
                row[column] = ""
                continue
            mean, sd, runs = scores[column]
            mark = _mark(pairs.get(name), base, column) if base in scores and column != base else ""
            spread = f"{NO_BREAK}±{NO_BREAK}{formats.points(sd)}" if runs > 1 and not formats.missing(sd) else ""
            row[column] = f"{formats.percent(mean)}{spread}{NO_BREAK + mark if mark else ''}"
            if base in scores and column != base:
                tally[column][{BETTER: 0, "": 1, WORSE: 2}[mark]] += 1
        rows[name] = row
    rows[TALLY] = {column: "" if column == base else "/".join(map(str, counts)) for column, counts in tally.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def _mark(pairs: pd.DataFrame | None, base: str, column: str) -> str:
    """'v' when `column` is significantly better than `base` in these pairs, '*' when worse, else ''."""
    if pairs is None or pairs.empty:
        return ""
    for first, second, sign in ((base, column, 1), (column, base, -1)):
        found = pairs[(pairs["a"] == first) & (pairs["b"] == second)]
        if len(found):
            row = found.iloc[0]
            if not row["significant"]:
                return ""
            return BETTER if sign * row["difference"] > 0 else WORSE
    return ""
