"""The data every run of a comparison shares: the split (or k folds), one tokenization and each split's
truncation length, computed once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from textclf.data.reading import Dataset
from textclf.data.split import Split, fold_index, kfold_splits, split_dataset
from textclf.data.tokenchoice import explain
from textclf.data.tokenize import tokenize_all
from textclf.data.vocab import visible_length
from textclf.runs.config import AUTO, MAX_TRUNCATION, CompareConfig

AUTO_PERCENTILE = 99


@dataclass
class Prepared:
    """The split (one per fold) and the tokens of every row, computed once and shared by all runs.

    Each split has its own truncation length, fitted on its own training rows.
    """

    tokens: list[list[str]]
    labels: np.ndarray
    splits: list[Split]
    tokenizer: str
    classes: list[str]
    max_lens: list[int]
    texts: Sequence[str] = ()

    @property
    def split(self) -> Split:
        """The single split (the first fold under cross-validation)."""
        return self.splits[0]

    @property
    def max_len(self) -> int:
        return self.max_lens[0]

    def fold_split(self, fold: int | None) -> Split:
        """The split of fold 1 to k, or the single split for None."""
        return self.splits[fold_index(fold)]

    def fold_max_len(self, fold: int | None) -> int:
        return self.max_lens[fold_index(fold)]

    def part(self, name: str, fold: int | None = None, *, raw: bool = False) -> tuple[list, np.ndarray]:
        """Tokens (or, with `raw`, the original texts) and labels of one part of the split."""
        index = getattr(self.fold_split(fold), name)
        docs = self.texts if raw else self.tokens
        return [docs[i] for i in index], self.labels[index]

    def test_lengths(self, fold: int | None = None) -> list[int]:
        """Token lengths of the test texts as the models see them (truncated, at least one token)."""
        max_len = self.fold_max_len(fold)
        return [visible_length(len(self.tokens[i]), max_len) for i in self.fold_split(fold).test]


def prepare(dataset: Dataset, config: CompareConfig) -> Prepared:
    splits = make_splits(dataset, config)
    train = splits[0].train
    choice = explain(config.tokenizer, [dataset.texts[i] for i in train], [dataset.labels[i] for i in train])
    tokenizer = choice.name
    if choice.scores:
        splits = [replace(split, notes=[*split.notes, choice.reason]) for split in splits]
    tokens = tokenize_all(dataset.texts, tokenizer)
    truncated = [_truncate(split, tokens, config.max_len) for split in splits]
    return Prepared(tokens=tokens, labels=np.asarray(dataset.labels, dtype=object),
                    splits=[split for split, _ in truncated], tokenizer=tokenizer, classes=dataset.classes,
                    max_lens=[max_len for _, max_len in truncated], texts=dataset.texts)


def make_splits(dataset: Dataset, config: CompareConfig) -> list[Split]:
    """The one train/validation/test split, or the `config.cv` cross-validation folds."""
    if config.cv:
        return kfold_splits(dataset, config.cv, validation=config.validation, seed=config.split_seed)
    return [split_dataset(dataset, validation=config.validation, test=config.test, seed=config.split_seed)]


def _truncate(split: Split, tokens: list[list[str]], setting: int | str) -> tuple[Split, int]:
    """The split's truncation length (from its training rows), with a note when 'auto' cut some texts."""
    train_lengths = np.fromiter((len(tokens[i]) for i in split.train), dtype=np.int64, count=len(split.train))
    max_len = truncation_length(train_lengths, setting)
    notes = list(split.notes)
    if (longer := int((train_lengths > max_len).sum())) and setting == AUTO:
        unit = "token" if max_len == 1 else "tokens"
        notes.append(f"texts truncated at {max_len} {unit} (the {AUTO_PERCENTILE}th percentile of training "
                     f"lengths, at most {MAX_TRUNCATION}): {longer} training texts were longer")
    return replace(split, notes=notes), max_len


def truncation_length(train_lengths: np.ndarray, setting: int | str) -> int:
    """The one truncation length for every strategy; 'auto' cuts only the longest 1 % of training texts."""
    if setting != AUTO:
        return int(setting)
    percentile = int(np.ceil(np.percentile(train_lengths, AUTO_PERCENTILE))) if len(train_lengths) else 1
    return max(1, min(MAX_TRUNCATION, percentile))
