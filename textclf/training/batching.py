"""Batching strategies: how the texts of an epoch are grouped and padded (the subject of the study).

A strategy turns the training lengths into an epoch plan: a list of `Batch`es, each a set of row indices and
the length its rows are padded to. All strategies visit every example exactly once per epoch and see the
same truncated texts; they differ only in padding. The plan is pure index arithmetic on tensors.

Which strategies a comparison can choose, with their labels, colours and document-level twins, is the
registry's business (`textclf.training.strategies`); this module holds the mechanics they are built from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from textclf.data.documents import sentence_chunks
from textclf.data.vocab import visible_lengths

PAD_TO = ("batch", "bound")
DEFAULT_BUCKETS = 8
DEFAULT_NOISE = 0.05


@dataclass(frozen=True)
class Batch:
    index: torch.Tensor
    padded_length: int | tuple[int, int | None]


@dataclass(frozen=True)
class PaddingStats:
    """How much of an epoch's compute went to real tokens."""

    real_tokens: int
    padded_slots: int
    batches: int
    shapes: int

    @property
    def waste(self) -> float:
        """Pad slots / all slots."""
        return 1.0 - self.real_tokens / self.padded_slots if self.padded_slots else 0.0

    def as_dict(self) -> dict:
        return {"real_tokens": self.real_tokens, "padded_slots": self.padded_slots,
                "padding_waste": self.waste, "batches": self.batches, "batch_shapes": self.shapes}


def padding_stats(plan: list[Batch], lengths) -> PaddingStats:
    if not isinstance(lengths, torch.Tensor):
        return document_padding_stats(plan, lengths)
    rows = [len(b.index) for b in plan]
    return PaddingStats(
        real_tokens=int(sum(int(lengths[b.index].sum()) for b in plan)),
        padded_slots=sum(n * b.padded_length for n, b in zip(rows, plan, strict=True)),
        batches=len(plan),
        shapes=len({(n, b.padded_length) for n, b in zip(rows, plan, strict=True)}),
    )


class Strategy:
    """Base: subclasses say how rows are grouped (`_groups`) and how far each group is padded (`_pad`)."""

    name = "strategy"

    def __init__(self, batch_size: int = 64):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1.")
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, batch_size: int, **settings) -> Strategy:
        """This strategy from a model's batching settings (`n_buckets`, `pad_to`); most need only the size."""
        return cls(batch_size)

    def fit(self, lengths) -> Strategy:
        """Learn what the plans need from the training lengths (nothing, for most strategies)."""
        return self

    def plan(self, lengths: torch.Tensor, generator: torch.Generator | None = None) -> list[Batch]:
        """One epoch's batches; shuffled when a generator is given, in a fixed order otherwise (evaluation)."""
        groups = self._groups(lengths, generator)
        batches = [Batch(index, self._pad(lengths, index)) for index in groups]
        if generator is not None:
            order = torch.randperm(len(batches), generator=generator).tolist()
            batches = [batches[i] for i in order]
        return batches

    def _groups(self, lengths: torch.Tensor, generator: torch.Generator | None) -> list[torch.Tensor]:
        order = _permutation(len(lengths), generator)
        return list(torch.split(order, self.batch_size))

    def _pad(self, lengths: torch.Tensor, index: torch.Tensor) -> int:
        return int(lengths[index].max())


class MaxLength(Strategy):
    """The baseline: every batch padded to the longest text of the whole set."""

    name = "max_length"

    def _pad(self, lengths, index):
        return int(lengths.max())


class PerBatch(Strategy):
    """Random batches, each padded to its own longest text (the article's option (a))."""

    name = "per_batch"


class Bucketed(Strategy):
    """Group texts of similar length; reshuffle bucket members and batch order every epoch.

    Boundaries come from the training length distribution (chosen to minimise padding to the bound). Within
    a bucket, rows are sorted by length with multiplicative noise and random tie-breaks, so batch membership
    changes from epoch to epoch and class-ordered files do not make single-class batches. Rows are padded to
    the batch's longest (default) or to the bucket's upper bound (a few fixed shapes: the article's compromise).
    """

    name = "bucket"

    def __init__(self, batch_size: int = 64, n_buckets: int = DEFAULT_BUCKETS, pad_to: str = "batch",
                 noise: float = DEFAULT_NOISE):
        super().__init__(batch_size)
        if pad_to not in PAD_TO:
            raise ValueError(f"pad_to must be one of {PAD_TO}, not {pad_to!r}.")
        if n_buckets < 1:
            raise ValueError("n_buckets must be at least 1.")
        self.n_buckets, self.pad_to, self.noise = n_buckets, pad_to, noise
        self.boundaries: list[int] | None = None

    @classmethod
    def from_settings(cls, batch_size: int, *, n_buckets: int = DEFAULT_BUCKETS, pad_to: str = "batch",
                      **settings) -> Bucketed:
        return cls(batch_size, n_buckets=n_buckets, pad_to=pad_to)

    def fit(self, lengths: torch.Tensor) -> Bucketed:
        """Choose the bucket upper bounds from (training) lengths; plans then reuse them."""
        self.boundaries = bucket_boundaries(lengths.numpy(), self.n_buckets)
        return self

    def _bounds(self, lengths: torch.Tensor) -> torch.Tensor:
        """The fitted bounds (fitting them first if needed), plus one more for texts longer than the last."""
        if self.boundaries is None:
            self.fit(lengths)
        longest = int(lengths.max())
        return torch.tensor(self.boundaries + ([longest] if longest > self.boundaries[-1] else []))

    def _groups(self, lengths, generator):
        bounds = self._bounds(lengths)
        bucket_of = torch.bucketize(lengths, bounds)
        keys = lengths.double() * (1 + self.noise * (2 * _uniform(len(lengths), generator) - 1))
        order = _permutation(len(lengths), generator)
        order = order[torch.argsort(keys[order], stable=True)]
        order = order[torch.argsort(bucket_of[order], stable=True)]
        sizes = torch.bincount(bucket_of, minlength=len(bounds)).tolist()
        groups = [batch for members in torch.split(order, sizes) for batch in torch.split(members, self.batch_size)]
        return [g for g in groups if len(g)]

    def _pad(self, lengths, index):
        if self.pad_to == "bound":
            bounds = self._bounds(lengths)
            return int(bounds[torch.bucketize(lengths[index].max(), bounds)])
        return super()._pad(lengths, index)


class LengthSorted(Strategy):
    """Evaluation batching: rows in length order, each batch padded to its longest text (the least padding).

    Validation and prediction use this one batching whatever strategy trained the model, so evaluation time
    and cost never depend on the strategy being compared (padding does not change a model's output). With
    `max_slots`, a batch also stops growing before rows × padded length passes it: long texts come in fewer
    per batch, so a forward pass's activations (rows × length × embedding) stay bounded in memory.
    """

    name = "length_sorted"

    def __init__(self, batch_size: int = 64, max_slots: int | None = None):
        super().__init__(batch_size)
        self.max_slots = max_slots

    def plan(self, lengths, generator: torch.Generator | None = None) -> list[Batch]:
        if not isinstance(lengths, torch.Tensor):  # documents: in (sentences, longest sentence) order
            return DocumentBucketed(self.batch_size, noise=0.0).plan(lengths, generator)
        return super().plan(lengths, generator)

    def _groups(self, lengths, generator):
        order = torch.argsort(lengths, stable=True)
        if self.max_slots is None:
            return list(torch.split(order, self.batch_size))
        return list(torch.split(order, _budgeted_sizes(lengths[order].tolist(), self.batch_size, self.max_slots)))


def _budgeted_sizes(sorted_lengths: list[int], most_rows: int, max_slots: int) -> list[int]:
    """Sizes of consecutive batches over ascending lengths: each as many rows as fit both limits (at least one)."""
    sizes, rows = [], 0
    for length in sorted_lengths:
        if rows and (rows == most_rows or (rows + 1) * length > max_slots):
            sizes.append(rows)
            rows = 0
        rows += 1
    return sizes + [rows] if rows else sizes


EVALUATION_BATCH_SIZE = 256
EVALUATION_BATCH_SLOTS = 16_384
EVALUATION_BATCHING = (f"length-sorted batches of up to {EVALUATION_BATCH_SIZE} texts and {EVALUATION_BATCH_SLOTS:,} "
                       "token slots, each padded to its longest text")


def evaluation_strategy() -> Strategy:
    """The one batching every model is validated and tested with."""
    return LengthSorted(EVALUATION_BATCH_SIZE, EVALUATION_BATCH_SLOTS)


def _permutation(n: int, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)


def _uniform(n: int, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=generator, dtype=torch.float64) if generator is not None else torch.full(
        (n,), 0.5, dtype=torch.float64)


def bucket_boundaries(lengths: np.ndarray, n_buckets: int) -> list[int]:
    """Upper bounds of at most `n_buckets` buckets that minimise the pad slots when padding to the bound.

    Dynamic programming over the distinct lengths (at most the truncation length of them): quantile buckets
    do badly on long tails, where the last bucket would span a huge range.
    """
    values, counts = np.unique(np.asarray(lengths), return_counts=True)
    k = min(n_buckets, len(values))
    cum_n = np.concatenate([[0], np.cumsum(counts)])
    cum_len = np.concatenate([[0], np.cumsum(counts * values)])

    def segment_cost(starts: np.ndarray, end: int) -> np.ndarray:
        """Pad slots when values[starts..end] all pad to values[end]."""
        return (cum_n[end + 1] - cum_n[starts]) * values[end] - (cum_len[end + 1] - cum_len[starts])

    d = len(values)
    cost = cum_n[1:] * values - cum_len[1:]
    back = np.zeros((k, d), dtype=int)
    for level in range(1, k):
        new = np.full(d, np.inf)
        for j in range(level, d):
            starts = np.arange(level, j + 1)
            totals = cost[starts - 1] + segment_cost(starts, j)
            best = int(np.argmin(totals))
            new[j], back[level, j] = totals[best], starts[best]
        cost = new
    bounds, j = [], d - 1
    for level in range(k - 1, -1, -1):
        bounds.append(int(values[j]))
        j = back[level, j] - 1
    return sorted(bounds)


def boundaries_for(lengths: np.ndarray, max_len: int, n_buckets: int = DEFAULT_BUCKETS) -> list[int]:
    """Bucket bounds for raw token lengths, after the same truncation (and one-token minimum) as training."""
    return bucket_boundaries(visible_lengths(lengths, max_len), n_buckets)


# Documents (hierarchical models) are padded on two levels: sentences per document and words per sentence.
# Their lengths are a `textclf.data.documents.DocumentLengths`; a batch's `padded_length` is (sentences, words), where
# words is None when the batch's real sentences go to the word level in blocks of similar length.


def document_padding_stats(plan: list[Batch], lengths) -> PaddingStats:
    """Two-level waste: pad word slots plus pad sentence slots over all word and sentence slots."""
    words, sentences = document_level_stats(plan, lengths)
    return PaddingStats(real_tokens=words.real_tokens + sentences.real_tokens,
                        padded_slots=words.padded_slots + sentences.padded_slots, batches=len(plan),
                        shapes=words.shapes)


def document_level_stats(plan: list[Batch], lengths) -> tuple[PaddingStats, PaddingStats]:
    """(word level, sentence level): tokens in word slots, and sentences in (documents × sentences) slots."""
    real_words = word_slots = real_sentences = sentence_slots = 0
    shapes = set()
    for batch in plan:
        docs = batch.index.numpy()
        n_sentences, words = batch.padded_length
        sentence_lengths = lengths.sentence_lengths[lengths.sentences_of(docs)]
        if words is None:
            chunks = sentence_chunks(sentence_lengths, len(docs))
            word_slots += sum(len(c) * int(sentence_lengths[c].max()) for c in chunks)
        else:
            word_slots += len(docs) * n_sentences * words
        real_words += int(sentence_lengths.sum())
        real_sentences += len(sentence_lengths)
        sentence_slots += len(docs) * n_sentences
        shapes.add((len(docs), n_sentences, words))
    return (PaddingStats(real_words, word_slots, len(plan), len(shapes)),
            PaddingStats(real_sentences, sentence_slots, len(plan), len(shapes)))


class DocumentStrategy(Strategy):
    """Base of the two-level strategies: groups of documents, each padded to (sentences, words)."""

    name = "documents"

    def _groups(self, lengths, generator) -> list[torch.Tensor]:
        return list(torch.split(_permutation(len(lengths), generator), self.batch_size))

    def _pad(self, lengths, index: torch.Tensor) -> tuple[int, int | None]:
        index = index.numpy()
        return int(lengths.n_sentences[index].max()), int(lengths.longest[index].max())


class DocumentMaxLength(DocumentStrategy):
    """Every document padded to the most sentences of the set, every sentence to the longest of the set."""

    name = "max_length"

    def _pad(self, lengths, index):
        return int(lengths.n_sentences.max()), int(lengths.longest.max())


class DocumentPerBatch(DocumentStrategy):
    """Random batches, padded on both levels to the batch's own most sentences and longest sentence."""

    name = "per_batch"


class DocumentBucketed(DocumentStrategy):
    """Group documents by (sentences, longest sentence); the word level reads blocks of similar sentences.

    Documents are sorted by sentence count, then longest sentence with multiplicative noise, after a random
    tie-break, and cut into batches whose order is shuffled, so membership changes every epoch. Each batch pads
    to its own most sentences; its real sentences go to the word level in length-sorted blocks.
    """

    name = "bucket"

    def __init__(self, batch_size: int = 64, noise: float = DEFAULT_NOISE):
        super().__init__(batch_size)
        self.noise = noise

    def _groups(self, lengths, generator):
        order = _permutation(len(lengths), generator).numpy()
        noise = 1 + self.noise * (2 * _uniform(len(lengths), generator).numpy() - 1)
        longest = lengths.longest[order] * noise
        order = order[np.lexsort((longest, lengths.n_sentences[order]))]
        return list(torch.split(torch.from_numpy(order), self.batch_size))

    def _pad(self, lengths, index):
        return int(lengths.n_sentences[index.numpy()].max()), None
