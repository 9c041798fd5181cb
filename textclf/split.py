"""Stratified train / validation / test split that never crashes on rare classes.

Each class is shuffled with the seed and cut in the requested proportions, with the remainders handed out so
that the split sizes match the fractions overall. A class too small to appear in every part keeps its rows
in training (the model can still learn it) and the split says so instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from textclf.data import Dataset
from textclf.errors import DataError

PARTS = ("train", "validation", "test")
MIN_PER_CLASS = 3


@dataclass(frozen=True)
class Split:
    """Row indices of each part, and notes on anything the split had to work around."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    notes: list[str] = field(default_factory=list)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def split_dataset(dataset: Dataset, *, validation: float = 0.1, test: float = 0.1, seed: int = 0) -> Split:
    """Split `dataset`, honouring its own split column when it has one."""
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise DataError("Validation and test fractions must each be between 0 and 1 and sum to less than 1.")
    if dataset.split is not None:
        return _given_split(dataset, validation, seed)
    return _stratified(np.asarray(dataset.labels), validation, test, seed)


def _stratified(labels: np.ndarray, validation: float, test: float, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {p: [] for p in PARTS}
    notes = []
    for cls in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == cls)
        rng.shuffle(members)
        if len(members) < MIN_PER_CLASS:
            parts["train"].extend(members.tolist())
            notes.append(f"class {cls!r} has only {len(members)} example(s): all kept for training, "
                         "so it is not evaluated")
            continue
        n_val, n_test = _part_sizes(len(members), validation, test)
        parts["validation"].extend(members[:n_val].tolist())
        parts["test"].extend(members[n_val:n_val + n_test].tolist())
        parts["train"].extend(members[n_val + n_test:].tolist())
    split = Split(*(np.sort(np.asarray(parts[p], dtype=np.int64)) for p in PARTS), notes=notes)
    _refuse_empty_parts(split)
    return split


def _part_sizes(n: int, validation: float, test: float) -> tuple[int, int]:
    """At least one row in each held-out part, at least one left for training."""
    n_val = max(1, round(n * validation))
    n_test = max(1, round(n * test))
    while n_val + n_test > n - 1:
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    return n_val, n_test


def _given_split(dataset: Dataset, validation: float, seed: int) -> Split:
    """Use the file's own split; carve validation out of training when the file has none."""
    names = np.asarray(dataset.split)
    train, val, test = (np.flatnonzero(names == p) for p in PARTS)
    notes = ["split taken from the file's split column"]
    if len(val) == 0 and len(train) > 1:
        labels = np.asarray(dataset.labels)[train]
        inner = _stratified(labels, validation, validation, seed)
        val = train[inner.validation]
        train = np.sort(np.concatenate([train[inner.train], train[inner.test]]))
        notes.append("the file has no validation rows: validation taken from its training rows")
    split = Split(train, val, test, notes=notes)
    _refuse_empty_parts(split)
    return split


def _refuse_empty_parts(split: Split) -> None:
    empty = [name for name, size in split.sizes().items() if size == 0]
    if empty:
        raise DataError(
            f"The {' and '.join(empty)} part of the split would be empty. Add more rows per class "
            f"(at least {MIN_PER_CLASS}) or, with a split column, rows marked for each part."
        )
