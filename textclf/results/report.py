"""Summaries of a comparison: mean, sd and 95 % CI per (model, batching), and the headline in plain sentences.

The sentences are generated from the numbers (never written by hand), so what the dashboard says is always
what the runs measured; a difference is called significant only when its paired test says so. Time is
training time only (per epoch, and to the best epoch): validation and test inference are timed apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from textclf.models.neural import NeuralTextClassifier
from textclf.results.baseline import (
    MAJORITY,
    METRIC_NAMES,
    all_test_labels,
    baseline_runs,
    largest_share,
    majority_class,
    ranking_metric,
    with_baseline,
)
from textclf.results.pairwise import cell_name, pair_result, paired_rates, pairwise_table
from textclf.results.sample_size import check_test_set, texts_needed
from textclf.results.stats import PairedResult, accuracy_interval, format_p, mean_interval
from textclf.runs.comparison import results_table
from textclf.runs.config import run_name
from textclf.runs.run_one import STILL_IMPROVING
from textclf.training.strategies import BATCHING_NAMES, NOT_BATCHED, batching_label  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from textclf.runs.comparison import Comparison

MEASURES = ("accuracy", "macro_f1", "seconds_per_epoch", "seconds_to_best_epoch", "train_seconds",
            "train_cpu_seconds", "validation_seconds", "inference_seconds", "fit_wall_seconds", "padding_waste")
WITH_CI = ("accuracy", "macro_f1")
COLUMN_NAMES = {
    "model": "Model", "batching": "Batching", "seed": "Seed", "fold": "Fold", "accuracy": "Accuracy",
    "macro_f1": "Macro F1",
    "train_seconds": "Training time (s)", "seconds_per_epoch": "Time per epoch (s)",
    "seconds_to_best_epoch": "Time to best epoch (s)", "train_cpu_seconds": "Training CPU (s)",
    "refit_seconds": "Refit on training + validation (s)",
    "cpu_seconds_per_epoch": "CPU per epoch (s)", "validation_seconds": "Validation time (s)",
    "inference_seconds": "Prediction time (s)", "inference_cpu_seconds": "Prediction CPU (s)",
    "inference_padded_slots": "Prediction slots", "fit_wall_seconds": "Total wall time of fit (s)",
    "load_per_core": "Machine load per core", "timing_note": "Timing note", "epochs_run": "Epochs run",
    "best_epoch": "Best epoch", "steps": "Steps", "examples_seen": "Examples seen", "real_tokens": "Real tokens",
    "padded_slots": "Padded slots", "padding_waste": "Padding waste", "batch_shapes": "Batch shapes",
    "parameters": "Parameters", "test_texts": "Test texts", "note": "Note",
    "class": "Class", "precision": "Precision", "recall": "Recall", "f1": "F1", "support": "Test texts of class",
}
BASELINE, BUCKETED = "max_length", "bucket"
DEFAULT_CAP = NeuralTextClassifier().epochs  # the neural models' own epoch cap


def aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, batching): mean, sample sd and 95 % CI of each measure, and the run count.

    Under cross-validation a fold is the unit (seeds are averaged within it first), so sd and CI are over
    folds; on one split they are over seeds. A single run's accuracy CI is the Wilson interval over its
    test texts.
    """
    if table.empty:
        return pd.DataFrame(columns=["model", "batching", "runs"])
    rows = [_summary_row(keys, group) for keys, group in table.groupby(["model", "batching"], sort=False)]
    return pd.DataFrame(rows)


def _summary_row(keys: tuple[str, str], group: pd.DataFrame) -> dict:
    row = {"model": keys[0], "batching": keys[1], "runs": len(group), "model_key": group["model_key"].iloc[0]}
    by_fold = "fold" in group and group["fold"].notna().any()
    row["unit"] = "folds" if by_fold else "seeds"
    for measure in MEASURES:
        if measure not in group:
            continue
        values = group.groupby("fold")[measure].mean() if by_fold else group[measure]
        interval = mean_interval(values)
        row[f"{measure}_mean"], row[f"{measure}_sd"] = interval.mean, interval.sd
        if measure in WITH_CI:
            row[f"{measure}_ci_low"], row[f"{measure}_ci_high"] = _ci(interval, group, measure)
    return row


def run_label(record: dict) -> str:
    """A stored run's name, as `textclf.runs.config.run_name` gives it."""
    fold = record.get("fold")
    return run_name(record["model"], record["batching"], record["seed"],
                    None if fold is None or pd.isna(fold) else int(fold), with_seed=record["batching"] != NOT_BATCHED)


def readable_table(table: pd.DataFrame) -> pd.DataFrame:
    """A results table (runs, or per class) for people: named columns and strategies, internal keys and an
    empty fold or refit column left out."""
    unused = ["model_key"] + [c for c in ("fold", "refit_seconds") if c in table and table[c].isna().all()]
    readable = table.drop(columns=unused, errors="ignore")
    readable["batching"] = readable["batching"].map(batching_label)
    return readable.rename(columns=COLUMN_NAMES)


def _ci(interval, group: pd.DataFrame, measure: str) -> tuple[float, float]:
    """The t interval over runs (clipped to 0–1: both measures are shares), or one run's Wilson interval."""
    if interval.n == 1 and measure == "accuracy" and "test_texts" in group:
        texts = int(group["test_texts"].iloc[0])
        return accuracy_interval(round(interval.mean * texts), texts)
    return float(np.clip(interval.low, 0, 1)), float(np.clip(interval.high, 0, 1))


def headline(comparison: Comparison, pairs: pd.DataFrame | None = None, metric: str | None = None) -> list[str]:
    """What the comparison answers: whether any model beats the majority-class baseline (said first when none
    does), a sentence per neural model on bucketed against max-length batching, the best model by `metric` (by
    default macro F1 when one class holds over 60 % of the test texts, else accuracy) and the cheapest model not
    significantly worse than it, or, on too small a test set, no winner and the size that would tell; cautions last.

    Bucketing against max-length is the planned question of each model, tested alone; which model came out best
    is only known after looking at all of them, so those sentences use the pairwise table's Holm-adjusted p
    (`pairs`, computed when not given), the same as the matrix shows.
    """
    summary = aggregate(comparison.table)
    sentences = []
    if not summary.empty:
        pairs = pairwise_table(comparison) if pairs is None else pairs
        sentences += [s for s in [baseline_sentence(comparison, pairs)] if s]
    for model in summary["model"].unique() if not summary.empty else []:
        rows = summary[summary["model"] == model].set_index("batching")
        if BASELINE in rows.index and BUCKETED in rows.index:
            test = pair_result(comparison, (model, BASELINE), (model, BUCKETED))
            sentences.append(bucketing_sentence(model, rows.loc[BASELINE], rows.loc[BUCKETED], test))
    if not summary.empty:
        sentences += verdict(comparison, summary, pairs, metric or ranking_metric(comparison))
    cautions = (quick_look_caution(comparison), convergence_caution(comparison.table), timing_caution(comparison.table))
    sentences += [caution for caution in cautions if caution]
    return sentences


def summary_of(comparison: Comparison) -> pd.DataFrame:
    """The summary table with the majority-class baseline's row last (when the results record it)."""
    return aggregate(with_baseline(comparison).table)


def baseline_sentence(comparison: Comparison, pairs: pd.DataFrame) -> str | None:
    """Said first when no model is significantly more accurate than always answering the majority class."""
    runs = baseline_runs(comparison)
    if not runs or not len(pairs):
        return None
    beaten = pairs[pairs["significant"].astype(bool) & (((pairs["a"] == MAJORITY) & (pairs["difference"] > 0))
                                                        | ((pairs["b"] == MAJORITY) & (pairs["difference"] < 0)))]
    if len(beaten):
        return None
    base = aggregate(results_table([r.record for r in runs])).iloc[0]
    return (f"No model is significantly more accurate than the majority-class baseline, which answers "
            f"'{majority_class(comparison.train_class_counts) or runs[0].predictions[0]}' to every text "
            f"({base['accuracy_mean']:.1%} accuracy, {base['macro_f1_mean']:.1%} macro F1; paired tests with Holm's "
            f"correction, as in the matrix).")


def verdict(comparison: Comparison, summary: pd.DataFrame, pairs: pd.DataFrame, metric: str) -> list[str]:
    """The best model and the cheapest one as good, or, when the test set is too small to judge, no winner."""
    ranked = summary.sort_values(f"{metric}_mean", ascending=False)
    best = ranked.iloc[0]
    labels = all_test_labels(comparison)
    check = check_test_set(labels, comparison.classes, accuracy=float(best["accuracy_mean"]))
    if not check.enough:
        return [no_winner_sentence(comparison, ranked, check)]
    intro = "" if metric == "accuracy" else (
        f"Ranked by macro F1, since the largest class holds {100 * largest_share(labels):.0f} % of the test texts "
        "(accuracy would favour answering it). ")
    return [intro + best_sentence(summary, pairs, metric)] + [s for s in [cheaper_sentence(summary, pairs, metric)]
                                                              if s]


def no_winner_sentence(comparison: Comparison, ranked: pd.DataFrame, check) -> str:
    """No winner on a small test set: why, how many test texts the observed difference would need, what to do."""
    sentence = f"Too little test data to name a winner: {check.problems()}."
    if len(ranked) > 1:
        best, second = (_cell(ranked.iloc[0]), _cell(ranked.iloc[1]))
        rates = paired_rates(comparison, second, best)
        needed = texts_needed(*rates) if rates else None
        if rates and needed:
            sentence += (f" Telling {cell_name(best)} from {cell_name(second)} at the accuracy difference observed "
                         f"({_signed(100 * rates[1])} points, the two disagreeing on {rates[0]:.1%} of the texts) "
                         f"would take about {needed:,} test texts (McNemar's test, α = 0.05, 80 % power).")
        elif rates:
            sentence += f" {cell_name(best)} and {cell_name(second)} scored the same accuracy on these texts."
    advice = "label more texts" if comparison.folds else "use cross-validation (every text is then tested once)"
    return sentence + f" To judge, {advice}" + ("." if comparison.folds else " or label more texts.")


def cheaper_sentence(summary: pd.DataFrame, pairs: pd.DataFrame, metric: str = "accuracy") -> str | None:
    """The cheapest model (training time) that is not significantly worse than the best, with its cost ratio."""
    if "train_seconds_mean" not in summary or len(summary) < 2:
        return None
    ranked = summary.sort_values(f"{metric}_mean", ascending=False)
    best = ranked.iloc[0]
    best_name, best_cost = cell_name(_cell(best)), best["train_seconds_mean"]
    if not pd.notna(best_cost) or best_cost <= 0:
        return None
    cheaper = ranked.iloc[1:][ranked.iloc[1:]["train_seconds_mean"] < best_cost].sort_values("train_seconds_mean")
    for _, row in cheaper.iterrows():
        found = _pair_row(pairs, best_name, cell_name(_cell(row)))
        if found is None or found[0]["significant"]:
            continue
        pair, sign = found
        points = "points" if metric == "accuracy" else "macro-F1 points"
        gap = 100 * (best[f"{metric}_mean"] - row[f"{metric}_mean"])
        return (f"{cell_name(_cell(row))} is within {gap:.1f} {points} of {best_name} and not significantly worse "
                f"(accuracy {_signed(-100 * sign * pair['difference'])} points, {format_p(pair['p_holm'])} after "
                f"Holm's correction, {pair['test']}) at {_share(row['train_seconds_mean'] / best_cost)} of the "
                f"training time ({_seconds(row['train_seconds_mean'])} against {_seconds(best_cost)}).")
    if cheaper.empty:
        return f"{best_name} is also the quickest to train."
    return f"Every model that trains faster than {best_name} is significantly less accurate."


def _seconds(value: float) -> str:
    """'320.0 s', '0.035 s': small times keep two significant digits instead of reading as 0.0."""
    return f"{value:.1f} s" if value >= 1 else f"{value:.2g} s"


def _share(ratio: float) -> str:
    """'1/40' for a small ratio, '70 %' for a large one."""
    return f"1/{round(1 / ratio):,}" if 0 < ratio <= 0.5 else f"{ratio:.0%}"


def _cell(row: pd.Series) -> tuple[str, str]:
    return row["model"], row["batching"]


def bucketing_sentence(model: str, base: pd.Series, bucket: pd.Series, test: PairedResult | None) -> str:
    """Time and padding saved by bucketing, then the accuracy change with its CI and significance."""
    per_epoch = _time_change(base["seconds_per_epoch_mean"], bucket["seconds_per_epoch_mean"])
    to_best = ""
    if pd.notna(base.get("seconds_to_best_epoch_mean")) and pd.notna(bucket.get("seconds_to_best_epoch_mean")):
        to_best = (f"; {base['seconds_to_best_epoch_mean']:.1f} → {bucket['seconds_to_best_epoch_mean']:.1f} s "
                   "of training to the best epoch")
    return (
        f"{model}: bucketing cut padding from {base['padding_waste_mean']:.1%} to {bucket['padding_waste_mean']:.1%} "
        f"of the batch slots and took {per_epoch} ({base['seconds_per_epoch_mean']:.1f} → "
        f"{bucket['seconds_per_epoch_mean']:.1f} s{to_best}); "
        f"{accuracy_change_text('bucketing', model, test, bucket['accuracy_mean'] - base['accuracy_mean'])}."
    )


def _time_change(before: float, after: float) -> str:
    change = 1 - after / before
    direction = "less" if change >= 0 else "more"
    return f"{abs(change):.0%} {direction} training time per epoch"


def accuracy_change_text(what: str, model: str, test: PairedResult | None, difference: float) -> str:
    """'bucketing changed TextCNN's accuracy by −0.2 ± 1.1 points (not significant, p = 0.71, McNemar exact)'."""
    if test is None or np.isnan(test.difference):
        return f"{what} changed {model}'s accuracy by {_signed(100 * difference)} points (no paired test possible)"
    verdict = "significant" if test.significant else "not significant"
    return (f"{what} changed {model}'s accuracy by {_signed(100 * test.difference)} ± "
            f"{100 * test.half_width:.1f} points ({verdict}, {format_p(test.p_value)}, {test.test})")


def best_sentence(summary: pd.DataFrame, pairs: pd.DataFrame, metric: str = "accuracy") -> str:
    """The best cell by `metric`, and whether it is significantly ahead of the runner-up (Holm-adjusted)."""
    ranked = summary.sort_values(f"{metric}_mean", ascending=False)
    best = ranked.iloc[0]
    where = "" if best["batching"] == NOT_BATCHED else f" with {batching_label(best['batching'])} batching"
    title = "Most accurate" if metric == "accuracy" else f"Best by {METRIC_NAMES[metric]}"
    sentence = f"{title}: {best['model']}{where}, test {METRIC_NAMES[metric]} {_metric_text(best, metric)}"
    if len(ranked) < 2:
        return sentence + "."
    second = ranked.iloc[1]
    name = cell_name((second["model"], second["batching"]))
    found = _pair_row(pairs, cell_name((best["model"], best["batching"])), name)
    if found is None:
        return sentence + "."
    row, sign = found
    ahead = "significantly" if row["significant"] else "not significantly"
    points = "points" if metric == "accuracy" else "accuracy points"
    return (f"{sentence}; {ahead} ahead of the runner-up, {name} ({_signed(100 * sign * row['difference'])} "
            f"{points}, {format_p(row['p_holm'])} after Holm's correction for {len(pairs)} "
            f"{'pair' if len(pairs) == 1 else 'pairs'}, {row['test']}).")


def _pair_row(pairs: pd.DataFrame, first: str, second: str) -> tuple[pd.Series, int] | None:
    """The pairwise row of two cells and the sign that turns its difference (b − a) into first − second."""
    for a, b, sign in ((second, first, 1), (first, second, -1)):
        rows = pairs[(pairs["a"] == a) & (pairs["b"] == b)] if len(pairs) else pairs
        if len(rows):
            return rows.iloc[0], sign
    return None


def quick_look_caution(comparison: Comparison) -> str | None:
    """A comparison trained briefly on purpose (the Train page's quick look) says so, whatever its runs' notes."""
    config = comparison.config
    if not config.quick_look:
        return None
    cap = f"at most {config.epochs} epochs" if config.epochs else "a few epochs"
    return (f"Training caution: a quick look, under-trained on purpose ({cap} per neural model), so the neural "
            f"models' accuracy understates them; train with the default settings (each model's own epoch cap "
            f"with early stopping) before drawing a verdict.")


def convergence_caution(table: pd.DataFrame) -> str | None:
    """Runs that the epoch cap ended while still improving: their accuracy understates the model, and a
    comparison between an under-trained model and a converged one says little about the models."""
    if "note" not in table:
        return None
    capped = table[table["note"].astype(str).str.startswith(STILL_IMPROVING)]
    if capped.empty:
        return None
    models = ", ".join(dict.fromkeys(capped["model"]))
    trained = int(table["epochs_run"].notna().sum()) if "epochs_run" in table else len(table)
    return (f"Training caution: {len(capped)} of {trained} neural runs ({models}) were still improving when the epoch "
            f"cap stopped them, so their accuracy understates the model; raise the epoch cap and let early "
            f"stopping end the training.")


def longer_cap(comparison: Comparison, most: int = 100) -> int | None:
    """A higher epoch cap for runs the cap stopped while still improving (or a quick look): twice the cap, at least
    the neural models' own default cap and at most `most`; None when no run needs it."""
    table = comparison.table
    if not comparison.config.quick_look and not convergence_caution(table):
        return None
    ran = pd.to_numeric(table.get("epochs_run"), errors="coerce").max() if "epochs_run" in table else np.nan
    cap = comparison.config.epochs or (int(ran) if pd.notna(ran) else None) or DEFAULT_CAP
    return min(most, max(2 * cap, DEFAULT_CAP))


def timing_caution(table: pd.DataFrame) -> str | None:
    if "timing_note" not in table:
        return None
    noted = table[table["timing_note"].astype(object).fillna("").astype(bool)]
    if noted.empty:
        return None
    return (f"Timing caution: in {len(noted)} of {len(table)} runs training's wall and CPU time differ by more "
            f"than 25 % (first: {noted['model'].iloc[0]}, {noted['timing_note'].iloc[0]}).")


def _signed(points: float) -> str:
    return f"{'+' if points >= 0 else '−'}{abs(points):.1f}"


def _metric_text(row: pd.Series, metric: str = "accuracy") -> str:
    """'81.2% ± 0.9% (sd over seeds; 95 % CI 79.0–83.4%)'."""
    details = [f"sd over {row['unit']}"] if row["runs"] > 1 else []
    if pd.notna(row.get(f"{metric}_ci_low")):
        details.append(f"95 % CI {100 * row[f'{metric}_ci_low']:.1f}–{100 * row[f'{metric}_ci_high']:.1f}%")
    spread = f" ± {row[f'{metric}_sd']:.1%}" if row["runs"] > 1 else ""
    return f"{row[f'{metric}_mean']:.1%}{spread}" + (f" ({'; '.join(details)})" if details else "")
