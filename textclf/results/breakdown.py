"""Where the accuracy comes from: per text-length bin and per class.

The article claims RNNs win on long-range dependence and CNNs on local phrases; accuracy by length on the
user's own test texts is how that claim is seen. Bins are quantiles of the test lengths (so each holds a
similar number of texts), merged where lengths repeat; every run is scored on the same bins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from textclf.results.stats import accuracy_interval

if TYPE_CHECKING:
    from textclf.runs.comparison import Comparison

DEFAULT_BINS = 4
CLASS_COLUMNS = ["model", "batching", "seed", "fold", "class", "precision", "recall", "f1", "support"]
LENGTH_COLUMNS = ["model", "batching", "bin", "low", "high", "texts", "accuracy", "ci_low", "ci_high", "runs"]


def length_edges(lengths, bins: int = DEFAULT_BINS) -> list[int]:
    """Inclusive upper bounds of up to `bins` quantile bins of the lengths (the last is the longest)."""
    lengths = np.asarray(lengths)
    if len(lengths) == 0:
        return []
    quantiles = np.quantile(lengths, np.linspace(0, 1, bins + 1)[1:], method="inverted_cdf")
    return sorted({int(q) for q in quantiles})


def bin_labels(edges: list[int], shortest: int) -> list[tuple[str, int, int]]:
    """'low–high tokens' for each bin, with its bounds."""
    labels, low = [], shortest
    for high in edges:
        labels.append((f"{low}–{high}" if high > low else f"{high}", low, high))
        low = high + 1
    return labels


def _all_test_lengths(comparison: Comparison) -> list[int]:
    if comparison.folds:
        return [n for fold in comparison.folds for n in fold["test_lengths"]]
    return list(comparison.test_lengths)


def accuracy_by_length(comparison: Comparison, bins: int = DEFAULT_BINS) -> pd.DataFrame:
    """Per (model, batching) and length bin: accuracy pooled over its runs, texts per bin, Wilson 95 % CI.

    The CI counts each test text once (seeds repeat the same texts), so it reflects the test sample only.
    """
    lengths = _all_test_lengths(comparison)
    edges = length_edges(lengths, bins)
    if not edges or not comparison.runs:
        return pd.DataFrame(columns=LENGTH_COLUMNS)
    texts = np.bincount(np.searchsorted(edges, lengths), minlength=len(edges))
    tallies: dict[tuple[str, str], np.ndarray] = {}
    for run in comparison.runs:
        truth, run_lengths = comparison.test_of(run.record)
        which = np.searchsorted(edges, np.asarray(run_lengths))
        right = np.asarray(truth, dtype=object) == np.asarray(run.predictions, dtype=object)
        tally = tallies.setdefault((run.record["model"], run.record["batching"]), np.zeros((3, len(edges))))
        tally += [np.bincount(which, weights=right, minlength=len(edges)),
                  np.bincount(which, minlength=len(edges)), np.ones(len(edges))]
    labels = bin_labels(edges, int(min(lengths)))
    return pd.DataFrame([_bin_row(key, labels[i], tally[:, i], int(texts[i]))
                         for key, tally in tallies.items() for i in range(len(edges))], columns=LENGTH_COLUMNS)


def _bin_row(key: tuple[str, str], label: tuple[str, int, int], tally: np.ndarray, texts: int) -> dict:
    correct, seen, runs = tally
    accuracy = correct / seen if seen else np.nan
    low, high = accuracy_interval(round(accuracy * texts), texts) if seen else (np.nan, np.nan)
    return {"model": key[0], "batching": key[1], "bin": label[0], "low": label[1], "high": label[2],
            "texts": texts, "accuracy": accuracy, "ci_low": low, "ci_high": high, "runs": int(runs)}


def per_class(comparison: Comparison) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class, for every run."""
    rows = []
    for run in comparison.runs:
        truth, _ = comparison.test_of(run.record)
        precision, recall, f1, support = precision_recall_fscore_support(
            truth, run.predictions, labels=comparison.classes, zero_division=0)
        record = run.record
        rows += [{"model": record["model"], "batching": record["batching"], "seed": record["seed"],
                  "fold": record.get("fold"), "class": cls, "precision": float(p), "recall": float(r),
                  "f1": float(f), "support": int(s)}
                 for cls, p, r, f, s in zip(comparison.classes, precision, recall, f1, support, strict=True)]
    return pd.DataFrame(rows, columns=CLASS_COLUMNS)
