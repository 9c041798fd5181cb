"""Stratified train / validation / test split, or k folds, that never crash on rare classes.

Each class is shuffled with the seed and cut in the requested proportions, with the remainders handed out so
that the split sizes match the fractions overall. A class too small to appear in every part keeps its rows
in training (the model can still learn it) and the split says so instead of failing.

Cross-validation (Kim 2014's protocol on MR, CR, MPQA, Subj) gives k splits whose test parts are stratified
folds covering every row once; each fold's validation part (for early stopping) is carved from its training
rows, never from its test fold. The folds depend only on the data and the seed, so every model sees the same.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedKFold

from textclf.data.reading import Dataset
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


def kfold_splits(dataset: Dataset, k: int, *, validation: float = 0.1, seed: int = 0) -> list[Split]:
    """`k` splits whose test parts are the stratified folds; a file's own split column is not used."""
    labels = np.asarray(dataset.labels)
    if k < 2:
        raise DataError("Cross-validation needs at least 2 folds.")
    if not 0 < validation < 1:
        raise DataError("The validation fraction must be between 0 and 1.")
    if k > len(labels):
        raise DataError(f"{k} folds need at least {k} rows; the data has {len(labels)}. Choose fewer folds.")
    if k > max(np.unique(labels, return_counts=True)[1]):
        raise DataError(f"{k} folds need a class with at least {k} rows; no class has that many. Choose fewer folds.")
    notes = _fold_notes(dataset, labels, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels)
        splits = []
        for train, test in folds:
            train, val = _carve_validation(train, labels, validation, seed)
            split = Split(train, val, np.sort(test), notes=list(notes))
            _refuse_empty_parts(split)
            splits.append(split)
    return splits


def fold_index(fold: int | None) -> int:
    """Position of fold 1 to k (or of the single split, None or NaN) in a list of splits."""
    return 0 if fold is None or fold != fold else int(fold) - 1


def _fold_notes(dataset: Dataset, labels: np.ndarray, k: int) -> list[str]:
    notes = []
    if dataset.split is not None:
        notes.append("cross-validation makes its own folds: the file's split column is not used")
    values, counts = np.unique(labels, return_counts=True)
    rare = [f"{v!r} ({n})" for v, n in zip(values.tolist(), counts.tolist(), strict=True) if n < k]
    if rare:
        notes.append(f"classes with fewer rows than folds are missing from some test folds: {', '.join(rare)}")
    return notes


def _carve_validation(train: np.ndarray, labels: np.ndarray, validation: float,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Take a stratified validation part out of the training rows `train` (row indices into `labels`)."""
    inner = _stratified(labels[train], validation, validation, seed)
    val = train[inner.validation]
    return np.sort(np.concatenate([train[inner.train], train[inner.test]])), np.sort(val)


def _given_split(dataset: Dataset, validation: float, seed: int) -> Split:
    """Use the file's own split; carve validation out of training when the file has none."""
    names = np.asarray(dataset.split)
    train, val, test = (np.flatnonzero(names == p) for p in PARTS)
    notes = ["split taken from the file's split column"]
    if len(val) == 0 and len(train) > 1:
        train, val = _carve_validation(train, np.asarray(dataset.labels), validation, seed)
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
