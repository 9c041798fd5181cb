"""Paired comparisons between the cells (model × batching) of a comparison, on the same test texts.

Runs pair up when they were scored on the same texts: by fold, then by seed. A classical model trains once per
fold, so its one run pairs with each seed of a neural model. Without cross-validation the texts are the unit
(McNemar's exact test, or a paired bootstrap over texts and seeds); with it the folds are (the corrected
resampled t-test, Wilcoxon beside it). The matrix adds Holm's correction, since it makes many comparisons at once.
The majority-class baseline takes part as one more cell (it answers once per fold, like a classical model).
statsmodels (Holm) is imported where it is used: importing it takes about a second.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from textclf.data.split import fold_index
from textclf.results.baseline import baseline_runs
from textclf.results.stats import ALPHA, PairedResult, corrected_resampled_t, format_p, paired_bootstrap, wilcoxon_p
from textclf.runs.config import cell_name as model_batching_name

if TYPE_CHECKING:
    from textclf.runs.comparison import Comparison, RunResult

Cell = tuple[str, str]
NO_BREAK = "\u00a0"
MATRIX_CELLS = 8  # a matrix of more models and strategies than this would not fit the page: a list is shown
PAIR_COLUMNS = ["a", "b", "difference", "low", "high", "p_value", "p_holm", "test", "pairs", "wilcoxon_p",
                "significant"]


def cell_of(record: dict) -> Cell:
    return record["model"], record["batching"]


def cell_name(cell: Cell) -> str:
    """The name of a (model, batching) cell, as `textclf.runs.config.cell_name` gives it."""
    return model_batching_name(*cell)


def correctness(comparison: Comparison) -> dict[Cell, dict[int, dict[int, np.ndarray]]]:
    """For each cell, the baseline last, fold → seed → a boolean array saying which of the fold's test texts the run
    got right."""
    found: dict[Cell, dict[int, dict[int, np.ndarray]]] = defaultdict(lambda: defaultdict(dict))
    for run in [*comparison.runs, *baseline_runs(comparison)]:
        found[cell_of(run.record)][fold_index(run.record.get("fold"))][int(run.record["seed"])] = _right(
            comparison, run)
    return found


def _right(comparison: Comparison, run: RunResult) -> np.ndarray:
    truth, _ = comparison.test_of(run.record)
    return np.asarray(truth, dtype=object) == np.asarray(run.predictions, dtype=object)


def _paired_rows(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """Runs of one fold matched by seed; a side with a single run (a classical model) pairs with every seed."""
    if len(a) == 1 or len(b) == 1:
        seeds_a, seeds_b = (list(a) * len(b), list(b)) if len(a) == 1 else (list(a), list(b) * len(a))
    else:
        seeds_a = seeds_b = sorted(set(a) & set(b))
    if not seeds_a:
        return None
    return np.stack([a[s] for s in seeds_a]), np.stack([b[s] for s in seeds_b])


def compare_cells(a: dict[int, dict[int, np.ndarray]], b: dict[int, dict[int, np.ndarray]],
                  test_fraction: float | None = None) -> tuple[PairedResult, float] | None:
    """B − A accuracy difference with its test, and the Wilcoxon p over folds (NaN without folds)."""
    folds = sorted(set(a) & set(b))
    paired = [rows for f in folds if (rows := _paired_rows(a[f], b[f])) is not None]
    if not paired:
        return None
    if len(paired) == 1:
        return paired_bootstrap(*paired[0]), np.nan
    scores_a = [rows_a.mean() for rows_a, _ in paired]
    scores_b = [rows_b.mean() for _, rows_b in paired]
    return corrected_resampled_t(scores_a, scores_b, test_fraction or 0.0), wilcoxon_p(scores_a, scores_b)


def paired_rates(comparison: Comparison, cell_a: Cell, cell_b: Cell) -> tuple[float, float] | None:
    """Over all paired runs: the share of texts on which A and B disagree, and B − A accuracy (a power estimate's
    inputs); None when the two cells share no test texts."""
    found = correctness(comparison)
    if cell_a not in found or cell_b not in found:
        return None
    paired = [rows for f in sorted(set(found[cell_a]) & set(found[cell_b]))
              if (rows := _paired_rows(found[cell_a][f], found[cell_b][f])) is not None]
    if not paired:
        return None
    rows_a, rows_b = np.concatenate([a.ravel() for a, _ in paired]), np.concatenate([b.ravel() for _, b in paired])
    return float((rows_a != rows_b).mean()), float(rows_b.mean() - rows_a.mean())


def overlap_fraction(comparison: Comparison) -> float | None:
    """Test size over training size of the folds (the corrected t-test's overlap term)."""
    if not comparison.folds:
        return None
    sizes = [f["split_sizes"] for f in comparison.folds]
    return float(np.mean([s["test"] / max(1, s["train"] + s["validation"]) for s in sizes]))


def pairwise_table(comparison: Comparison) -> pd.DataFrame:
    """Every pair of cells once (B − A, in the order the cells first appear), with Holm-adjusted p-values."""
    found = correctness(comparison)
    fraction = overlap_fraction(comparison)
    rows = []
    for cell_a, cell_b in combinations(list(found), 2):
        outcome = compare_cells(found[cell_a], found[cell_b], fraction)
        if outcome is None:
            continue
        result, wilcoxon = outcome
        rows.append({"a": cell_name(cell_a), "b": cell_name(cell_b), "difference": result.difference,
                     "low": result.low, "high": result.high, "p_value": result.p_value, "test": result.test,
                     "pairs": result.pairs, "wilcoxon_p": wilcoxon})
    table = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    if len(table):
        from statsmodels.stats.multitest import multipletests

        table["p_holm"] = multipletests(table["p_value"], method="holm")[1]
        table["significant"] = table["p_holm"] < ALPHA
    return table


def pair_result(comparison: Comparison, cell_a: Cell, cell_b: Cell) -> PairedResult | None:
    """The paired test of one planned comparison (no multiple-testing correction: it is a single question)."""
    found = correctness(comparison)
    if cell_a not in found or cell_b not in found:
        return None
    outcome = compare_cells(found[cell_a], found[cell_b], overlap_fraction(comparison))
    return outcome[0] if outcome else None


def matrix(pairs: pd.DataFrame) -> pd.DataFrame:
    """Square view: row minus column in accuracy points, CI half-width, Holm p; * marks a significant difference."""
    names = list(dict.fromkeys(list(pairs["a"]) + list(pairs["b"])))
    grid = pd.DataFrame("", index=names, columns=names)
    for row in pairs.itertuples():
        for first, second, sign in ((row.b, row.a, 1), (row.a, row.b, -1)):
            grid.loc[first, second] = _cell_text(sign * row.difference, (row.high - row.low) / 2, row.p_holm,
                                                 row.significant)
    for name in names:
        grid.loc[name, name] = "—"
    return grid


def pair_list(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs one per row, the clearest difference first: the matrix's content for when its columns would not
    fit the page (`MATRIX_CELLS`). Each row reads 'this minus against', the higher scorer written first."""
    ordered = pairs.assign(order=pairs["p_holm"]).sort_values(["order", "a"], kind="stable")
    flip = ordered["difference"] < 0  # written as the better one first, so every difference is positive
    first, second = ordered["b"].where(~flip, ordered["a"]), ordered["a"].where(~flip, ordered["b"])
    return pd.DataFrame({
        "This": first, "Against": second,
        "Difference (points)": [f"+{100 * abs(d):.1f} ± {100 * abs(h - lo) / 2:.1f}" for d, h, lo in
                                zip(ordered["difference"], ordered["high"], ordered["low"], strict=True)],
        "p (Holm)": [format_p(p).removeprefix("p ").removeprefix("= ") for p in ordered["p_holm"]],
        "Significant": ["yes" if significant else "" for significant in ordered["significant"]],
    }).reset_index(drop=True)


def _cell_text(difference: float, half: float, p: float, significant: bool) -> str:
    """'+3.0 ± 1.2 (p = 0.04) *', with a no-break space after ± and before *, so a narrow column never leaves them
    alone at the start of a line."""
    mark = f"{NO_BREAK}*" if significant else ""
    return f"{100 * difference:+.1f} ±{NO_BREAK}{100 * abs(half):.1f} ({format_p(p)}){mark}"
