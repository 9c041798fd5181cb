"""CI-sized accuracy floors for every model's defaults, in English and Chinese, on slices of the shared data.

Each test trains one model with its library defaults through `compare` (only the epoch cap and patience are
lowered to keep CI short) on a fixed random slice: 1,500 training texts, 300 for validation, 1,500 for test (a
large test part keeps the measured accuracy within about ±2.5 points at 2 standard errors). Training is seeded,
so on one machine the figures repeat exactly; the floors sit 3–4 points below what the defaults reached on
these slices (in brackets), room for other CPUs' arithmetic, so that a regression in the defaults fails CI.
Skipped when ../shared/datasets is absent.
"""

from functools import cache

import numpy as np
import pytest

from tests.conftest import shared_dataset
from textclf.data.reading import Dataset, load_dataset
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig

pytestmark = pytest.mark.slow  # every test trains on a slice of a real data set

SIZES = {"train": 1500, "validation": 300, "test": 1500}
QUICK_TRAINING = {"epochs": 6, "patience": 2}
FLOORS = {
    ("mr.csv", "svm"): 0.68,  # (0.713)
    ("mr.csv", "svm:nb=true"): 0.69,  # (0.728)
    ("mr.csv", "knn"): 0.63,  # (0.671)
    ("mr.csv", "cnn"): 0.65,  # (0.687)
    ("mr.csv", "rnn"): 0.62,  # (0.658)
    ("waimai_10k.csv", "svm"): 0.85,  # (0.881)
    ("waimai_10k.csv", "svm:nb=true"): 0.84,  # (0.869)
    ("waimai_10k.csv", "knn"): 0.82,  # (0.859)
    ("waimai_10k.csv", "cnn"): 0.85,  # (0.881)
    ("waimai_10k.csv", "rnn"): 0.83,  # (0.867)
}


@cache
def data_slice(name: str) -> Dataset:
    """A fixed random slice of a shared data set with its own train/validation/test column."""
    full = load_dataset(shared_dataset(name))
    rows = np.random.default_rng(0).permutation(len(full))[: sum(SIZES.values())]
    parts = [part for part, size in SIZES.items() for _ in range(size)]
    return Dataset([full.texts[i] for i in rows], [full.labels[i] for i in rows], name=name, split=parts)


@pytest.mark.parametrize(("name", "model"), list(FLOORS))
def test_default_model_clears_its_accuracy_floor(name, model):
    key = model.split(":")[0]
    options = QUICK_TRAINING if key in ("cnn", "rnn") else {}
    config = CompareConfig(models=(model,), batchings=("bucket",), **options)
    record = compare(data_slice(name), config).runs[0].record
    assert record["accuracy"] >= FLOORS[name, model], record
