"""What the command line prints and writes: the results table, its summary, and output files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from textclf.errors import TextclfError
from textclf.results.pairwise import matrix, pairwise_table
from textclf.results.report import headline, summary_of
from textclf.runs.comparison import Comparison

TABLE_COLUMNS = ["model", "batching", "seed", "fold", "accuracy", "macro_f1", "seconds_per_epoch",
                 "seconds_to_best_epoch", "train_cpu_seconds", "validation_seconds", "inference_seconds", "epochs_run",
                 "padding_waste"]


def writable_file(path: str | None, option: str) -> None:
    """Refuse an output path whose folder is missing before any work is done, not after training."""
    if path is None:
        return
    folder = Path(path).expanduser().parent
    if not folder.is_dir():
        raise TextclfError(f"The folder {folder} for {option} does not exist; create it or choose another path.")
    if Path(path).is_dir():
        raise TextclfError(f"{path} is a folder; give {option} a file name, e.g. {Path(path) / 'results.json'}.")


def write_text(path: str, text: str, option: str) -> None:
    try:
        Path(path).expanduser().write_text(text, encoding="utf-8")
    except OSError as err:
        raise TextclfError(f"Cannot write {path} ({err.strerror}); choose another path for {option}.") from None


def print_table(comparison: Comparison) -> None:
    sizes = comparison.split_sizes
    folds = f"{len(comparison.folds)}-fold cross-validation, fold 1: " if comparison.folds else ""
    print(f"\n{comparison.dataset_name}: {folds}train {sizes['train']}, validation {sizes['validation']}, "
          f"test {sizes['test']}; tokenizer {comparison.tokenizer}")
    for note in comparison.split_notes:
        print(f"note: {note}")
    for failure in comparison.failures:
        print(f"note: {failure['run']} failed ({failure['reason']})"
              + ("; it was retried" if failure["retried"] else "; it was not retried"))
    columns = TABLE_COLUMNS if comparison.folds else [c for c in TABLE_COLUMNS if c != "fold"]
    table = comparison.table[columns]
    whole = [c for c in table.columns if isinstance(table[c].dtype, pd.Int64Dtype)]
    table = table.astype({c: object for c in whole}).fillna({c: "–" for c in whole})
    with pd.option_context("display.width", 160, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–"))
        print_summary(comparison)


def print_summary(comparison: Comparison) -> None:
    """Mean ± sd and 95 % CI per (model, batching), the pairwise tests and the headline sentences."""
    summary = summary_of(comparison)
    if summary.empty:
        return
    unit = "folds" if comparison.folds else "seeds"
    print(f"\nmean ± sd over {unit} [95 % CI]; times are training only, in seconds:")
    print(summary_lines(summary).to_string(index=False))
    pairs = pairwise_table(comparison)
    if len(pairs):
        print(f"\npairwise: row − column accuracy in points ± 95 % CI half-width ({', '.join(pairs['test'].unique())}, "
              "Holm-adjusted p; * significant):")
        print(matrix(pairs).to_string())
    print()
    for sentence in headline(comparison, pairs):
        print(f"- {sentence}")
    print(f"evaluation batching (validation and test, every strategy): {comparison.evaluation_batching}")


def summary_lines(summary: pd.DataFrame) -> pd.DataFrame:
    shown = summary[["model", "batching", "runs"]].copy()
    for measure in ("accuracy", "macro_f1"):
        shown[measure] = [_mean_sd_ci(row, measure) for _, row in summary.iterrows()]
    for measure in ("seconds_per_epoch", "seconds_to_best_epoch"):
        shown[measure] = [f"{m:.2f} ± {sd:.2f}" if pd.notna(m) else "–"
                          for m, sd in zip(summary[f"{measure}_mean"], summary[f"{measure}_sd"], strict=True)]
    return shown


def _mean_sd_ci(row: pd.Series, measure: str) -> str:
    ci = f" [{row[f'{measure}_ci_low']:.3f}, {row[f'{measure}_ci_high']:.3f}]" if pd.notna(
        row[f"{measure}_ci_low"]) else ""
    return f"{row[f'{measure}_mean']:.3f} ± {row[f'{measure}_sd']:.3f}{ci}"
