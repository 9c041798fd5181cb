"""Uncertainty and significance for classifier results: pure functions on arrays.

Which test fits depends on how runs were repeated:
- two runs on the same test texts: McNemar's exact test on the texts they disagree on, and a paired bootstrap
  CI of the accuracy difference (Dietterich 1998; Berg-Kirkpatrick et al. 2012);
- several seeds on one split: the same paired bootstrap, resampling seeds as well as texts, so that both
  the test sample and the seed's luck enter the interval;
- k folds: the corrected resampled t-test (Nadeau & Bengio 2003), whose variance term allows for training
  sets that overlap between folds, with the Wilcoxon signed-rank test beside it.
scipy and statsmodels supply the distributions and the exact tests; statsmodels is imported where it is used,
since importing it takes about a second that every command and worker process would otherwise pay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """A mean with its sample sd, the number of values and a 95 % confidence interval."""

    mean: float
    sd: float
    n: int
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


@dataclass(frozen=True)
class PairedResult:
    """B − A: the mean difference, its 95 % CI, the p-value and the name of the test that gave it."""

    difference: float
    low: float
    high: float
    p_value: float
    test: str
    pairs: int

    @property
    def significant(self) -> bool:
        return bool(self.p_value < ALPHA)

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def format_p(p: float) -> str:
    """'p = 0.71', 'p = 0.032', 'p < 0.001'."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def mean_interval(values) -> Interval:
    """Student-t 95 % interval of the mean of repeated runs (seeds or folds); a single value has none."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return Interval(np.nan, np.nan, 0, np.nan, np.nan)
    mean = float(values.mean())
    if n == 1:
        return Interval(mean, 0.0, 1, np.nan, np.nan)
    sd = float(values.std(ddof=1))
    low, high = sps.t.interval(CONFIDENCE, n - 1, loc=mean, scale=sd / np.sqrt(n)) if sd > 0 else (mean, mean)
    return Interval(mean, sd, n, float(low), float(high))


def accuracy_interval(correct: int, total: int) -> tuple[float, float]:
    """Wilson 95 % interval of one run's accuracy over `total` test texts (the test sample's uncertainty)."""
    if total == 0:
        return np.nan, np.nan
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(correct, total, alpha=ALPHA, method="wilson")
    return float(low), float(high)


def mcnemar_exact(correct_a, correct_b) -> float:
    """Exact McNemar p-value for two classifiers scored on the same texts (boolean 'was right' arrays)."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return 1.0
    table = [[int((a & b).sum()), only_a], [only_b, int((~a & ~b).sum())]]
    from statsmodels.stats.contingency_tables import mcnemar

    return float(mcnemar(table, exact=True).pvalue)


def paired_bootstrap(correct_a, correct_b, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> PairedResult:
    """Accuracy difference B − A over paired runs on the same texts, rows = runs (seeds), columns = texts.

    Each resample draws texts with replacement (and runs, when there are several); the CI is the percentile
    interval and the p-value twice the share of resampled differences on the far side of zero. With one run
    per side the p-value is McNemar's exact test instead, the standard for that case.
    """
    a, b = np.atleast_2d(np.asarray(correct_a, dtype=float)), np.atleast_2d(np.asarray(correct_b, dtype=float))
    runs, texts = a.shape
    if texts == 0:
        return PairedResult(np.nan, np.nan, np.nan, 1.0, "no test texts", runs)
    diff = b - a
    samples = _bootstrap_means(diff, resamples, np.random.default_rng(seed))
    low, high = np.percentile(samples, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    observed = float(diff.mean())
    if runs == 1:
        return PairedResult(observed, float(low), float(high), mcnemar_exact(a[0], b[0]), "McNemar exact", 1)
    p = min(1.0, 2 * min((samples <= 0).mean(), (samples >= 0).mean()))
    return PairedResult(observed, float(low), float(high), float(p),
                        f"paired bootstrap over texts and {runs} seeds", runs)


def _bootstrap_means(diff: np.ndarray, resamples: int, rng: np.random.Generator, chunk: int = 200) -> np.ndarray:
    """Mean difference of each resample: texts drawn with replacement, then runs drawn with replacement."""
    runs, texts = diff.shape
    per_run = np.empty((runs, resamples))
    for start in range(0, resamples, chunk):
        picks = rng.integers(0, texts, size=(min(chunk, resamples - start), texts))
        per_run[:, start:start + len(picks)] = diff[:, picks].mean(axis=2)
    if runs == 1:
        return per_run[0]
    run_picks = rng.integers(0, runs, size=(resamples, runs))
    return per_run[run_picks, np.arange(resamples)[:, None]].mean(axis=1)


def corrected_resampled_t(scores_a, scores_b, test_fraction: float) -> PairedResult:
    """Nadeau & Bengio's corrected t-test on per-fold scores; `test_fraction` = test size / training size.

    The plain paired t-test over folds is far too eager to call differences significant, because the
    folds' training sets overlap; the correction inflates the variance by that overlap.
    """
    d = np.asarray(scores_b, dtype=float) - np.asarray(scores_a, dtype=float)
    k = len(d)
    mean = float(d.mean())
    variance = float(d.var(ddof=1)) if k > 1 else 0.0
    scale = np.sqrt((1 / k + test_fraction) * variance)
    name = f"corrected resampled t-test over {k} folds"
    if scale == 0:
        return PairedResult(mean, mean, mean, 1.0 if mean == 0 else 0.0, name, k)
    t = mean / scale
    p = float(2 * sps.t.sf(abs(t), k - 1))
    half = float(sps.t.ppf(1 - ALPHA / 2, k - 1) * scale)
    return PairedResult(mean, mean - half, mean + half, p, name, k)


def wilcoxon_p(scores_a, scores_b) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired scores (1.0 when every pair is tied)."""
    d = np.asarray(scores_b, dtype=float) - np.asarray(scores_a, dtype=float)
    if not np.any(d != 0):
        return 1.0
    return float(sps.wilcoxon(d, zero_method="zsplit").pvalue)
