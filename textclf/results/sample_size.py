"""Is the test set big enough to judge? The small-data rule, and how many test texts a difference would need.

The rule: a test set is too small to name a winner when a class has fewer than 30 test texts, or when the 95 %
confidence interval of an accuracy measured on it is wider than ±10 points (Wilson, at the best model's accuracy;
at 50 % before training, the widest case). The Data page applies it before training, Compare and the command
line before naming a winner. Under cross-validation every text is tested once, so the folds' test texts count
together.

The sample size for a paired comparison of two classifiers on the same texts is the normal approximation for
McNemar's test (Connor 1987): n = (z_{α/2} √d + z_β √(d − δ²))² / δ², with d the share of texts on which the two
disagree and δ the accuracy difference, here at α = 0.05 and 80 % power.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import norm

from textclf.results.stats import ALPHA, accuracy_interval

MIN_TEST_PER_CLASS = 30
MAX_HALF_WIDTH = 0.10
POWER = 0.8
RULE = (f"at least {MIN_TEST_PER_CLASS} test texts in every class and a 95 % CI of accuracy no wider than "
        f"±{100 * MAX_HALF_WIDTH:.0f} points")


@dataclass(frozen=True)
class TestSetCheck:
    """What the rule found about one test set (or the folds' test texts together)."""

    __test__ = False  # not a pytest class

    texts: int
    smallest_class: str
    smallest_count: int
    half_width: float

    @property
    def enough(self) -> bool:
        return self.smallest_count >= MIN_TEST_PER_CLASS and self.half_width <= MAX_HALF_WIDTH

    def problems(self) -> str:
        """'the class 'neutral' has 12 test texts (fewer than 30); accuracy's 95 % CI is ±17 points (over ±10)'."""
        found = []
        if self.smallest_count < MIN_TEST_PER_CLASS:
            found.append(f"the class '{self.smallest_class}' has {self.smallest_count} test "
                         f"{'text' if self.smallest_count == 1 else 'texts'} (fewer than {MIN_TEST_PER_CLASS})")
        if self.half_width > MAX_HALF_WIDTH:
            found.append(f"an accuracy measured on {self.texts} test texts has a 95 % CI of "
                         f"±{100 * self.half_width:.0f} points (wider than ±{100 * MAX_HALF_WIDTH:.0f})")
        return "; ".join(found)


def check_test_set(test_labels: Sequence[str], classes: Sequence[str] = (), accuracy: float = 0.5) -> TestSetCheck:
    """The rule applied to these test labels (`classes` adds classes with no test text at all)."""
    counts = {name: 0 for name in classes} | Counter(test_labels)
    smallest = min(sorted(counts), key=lambda name: counts[name]) if counts else ""
    texts = len(test_labels)
    low, high = accuracy_interval(round(accuracy * texts), texts) if texts else (0.0, 1.0)
    return TestSetCheck(texts, smallest, counts.get(smallest, 0), (high - low) / 2)


def texts_needed(disagreement: float, difference: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Test texts a paired (McNemar) test needs to call an accuracy difference of this size significant with
    this power, when the two classifiers disagree on `disagreement` of the texts; None for no difference."""
    difference = abs(difference)
    if difference == 0 or disagreement <= 0:
        return None
    disagreement = max(disagreement, difference)
    z_alpha, z_beta = norm.ppf(1 - alpha / 2), norm.ppf(power)
    root = z_alpha * math.sqrt(disagreement) + z_beta * math.sqrt(max(0.0, disagreement - difference ** 2))
    return math.ceil(root ** 2 / difference ** 2)
