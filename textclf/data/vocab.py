"""Vocabulary and the one-time encoding of texts into a padded id matrix.

The vocabulary is fitted on the training split only. Every text is encoded once, truncated to the same
length for every batching strategy, into a zero-padded matrix; batches are then slices of that matrix, so
no Python touches individual tokens while training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

PAD, UNK = 0, 1
SPECIALS = ("<pad>", "<unk>")


def visible_length(length: int, max_len: int) -> int:
    """How many tokens of a text of `length` a model reads: truncated to `max_len`, and at least one (an empty
    text is read as one <unk>). Training, batching plans, the ETA and length charts all count with this."""
    return max(1, min(length, max_len))


def visible_lengths(lengths: Sequence[int], max_len: int) -> np.ndarray:
    """`visible_length` of each of `lengths` (raw token counts), as int64."""
    return np.fromiter((visible_length(int(n), max_len) for n in lengths), dtype=np.int64, count=len(lengths))


class Vocabulary:
    """Token ↔ id mapping with <pad> = 0 and <unk> = 1."""

    def __init__(self, tokens: Sequence[str]):
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}

    @classmethod
    def fit(cls, docs: Sequence[Sequence[str]], *, min_freq: int = 1, max_size: int | None = None) -> Vocabulary:
        """Keep tokens seen at least `min_freq` times, most frequent first (ties alphabetical, so repeatable)."""
        counts = Counter(tok for doc in docs for tok in doc)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        return cls(kept)

    def __len__(self) -> int:
        return len(self.itos)

    def ids(self, doc: Sequence[str]) -> list[int]:
        return [self.stoi.get(tok, UNK) for tok in doc]

    def to_list(self) -> list[str]:
        return list(self.itos)

    @classmethod
    def from_list(cls, itos: Sequence[str]) -> Vocabulary:
        if list(itos[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError("A saved vocabulary must start with <pad> and <unk>.")
        return cls(itos[len(SPECIALS):])


@dataclass(frozen=True)
class EncodedTexts:
    """Token ids padded with zeros to the longest text (after truncation), and each text's true length.

    The ids are int32 (embedding layers take them as they are): the matrix is rows × longest text, and int64
    would double what every worker holds for a large set of long texts."""

    ids: torch.Tensor
    lengths: torch.Tensor

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, index: torch.Tensor, padded_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows `index`, cut or zero-extended to `padded_length` columns."""
        ids = self.ids[index, :padded_length]
        if ids.shape[1] < padded_length:
            ids = torch.nn.functional.pad(ids, (0, padded_length - ids.shape[1]), value=PAD)
        return ids, self.lengths[index]


def encode(docs: Sequence[Sequence[str]], vocab: Vocabulary, max_len: int) -> EncodedTexts:
    """Encode token lists once. A text with no tokens becomes one <unk>, so every length is at least 1.

    The ids stream straight into one array: a list of Python ints per text would briefly take several times
    the matrix's memory on a large data set."""
    lengths = visible_lengths([len(doc) for doc in docs], max_len)
    width = int(lengths.max()) if len(docs) else 1
    matrix = np.zeros((len(docs), width), dtype=np.int32)
    flat = np.fromiter(_ids(docs, vocab, max_len), dtype=np.int32, count=int(lengths.sum()))
    matrix[np.arange(width) < lengths[:, None]] = flat
    return EncodedTexts(ids=torch.from_numpy(matrix), lengths=torch.from_numpy(lengths))


def _ids(docs: Sequence[Sequence[str]], vocab: Vocabulary, max_len: int) -> Iterator[int]:
    lookup = vocab.stoi.get
    for doc in docs:
        if not len(doc):
            yield UNK
        for token in doc[:max_len]:
            yield lookup(token, UNK)
