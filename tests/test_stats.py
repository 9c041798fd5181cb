"""Uncertainty and significance: each function against a case whose answer is known."""

import numpy as np
import pytest
from scipy import stats as sps

from textclf.results.stats import (
    accuracy_interval,
    corrected_resampled_t,
    format_p,
    mcnemar_exact,
    mean_interval,
    paired_bootstrap,
    wilcoxon_p,
)


def test_mean_interval_is_the_student_t_interval():
    interval = mean_interval([0.70, 0.74, 0.72])
    assert interval.mean == pytest.approx(0.72) and interval.sd == pytest.approx(0.02)
    assert interval.half_width == pytest.approx(sps.t.ppf(0.975, 2) * 0.02 / np.sqrt(3))
    single = mean_interval([0.8])
    assert single.sd == 0 and np.isnan(single.low)


def test_accuracy_interval_is_wilson_and_narrows_with_more_texts():
    low, high = accuracy_interval(80, 100)
    assert low == pytest.approx(0.7112, abs=1e-3) and high == pytest.approx(0.8666, abs=1e-3)
    big_low, big_high = accuracy_interval(800, 1000)
    assert big_high - big_low < high - low


def test_mcnemar_counts_only_the_texts_the_models_disagree_on():
    a = np.array([True] * 50 + [False] * 10 + [True] * 0)
    b = np.array([True] * 50 + [True] * 10)
    assert mcnemar_exact(a, b) == pytest.approx(2 * 0.5 ** 10)
    assert mcnemar_exact(a, a) == 1.0
    same_disagreements = np.array([True] * 5 + [False] * 5), np.array([False] * 5 + [True] * 5)
    assert mcnemar_exact(*same_disagreements) == 1.0


def test_paired_bootstrap_finds_a_real_difference_and_not_an_invented_one():
    rng = np.random.default_rng(0)
    base = rng.random((3, 2000)) < 0.70
    better = base | (rng.random((3, 2000)) < 0.2)
    found = paired_bootstrap(base, better)
    assert found.significant and found.low > 0 and found.difference == pytest.approx(better.mean() - base.mean())
    assert "3 seeds" in found.test
    noise = paired_bootstrap(base, base[::-1])
    assert noise.low < 0 < noise.high


def test_single_run_pairs_use_mcnemar_for_the_p_value():
    a, b = np.array([True, False] * 50), np.array([True, True] * 50)
    found = paired_bootstrap(a, b)
    assert found.test == "McNemar exact" and found.p_value == pytest.approx(mcnemar_exact(a, b))


def test_corrected_t_test_is_more_cautious_than_the_plain_paired_t_test():
    a = np.array([0.80, 0.81, 0.79, 0.80, 0.82, 0.78, 0.81, 0.80, 0.79, 0.80])
    b = a + np.array([0.01, 0.02, 0.00, 0.01, 0.02, 0.01, 0.00, 0.02, 0.01, 0.01])
    corrected = corrected_resampled_t(a, b, test_fraction=1 / 9)
    assert corrected.p_value > sps.ttest_rel(b, a).pvalue
    assert corrected.difference == pytest.approx(0.011) and corrected.pairs == 10
    assert 0 < wilcoxon_p(a, b) < 0.05 and wilcoxon_p(a, a) == 1.0


def test_p_values_are_written_for_people():
    assert format_p(0.7149) == "p = 0.71" and format_p(0.00001) == "p < 0.001"
