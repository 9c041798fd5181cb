"""Documents as sentences of tokens, for hierarchical models: segmentation and the one-time encoding.

Sentences end at 。！？ (and their ASCII forms . ! ? when followed by a space or the end, closing quotes and brackets
kept with the sentence) and at line breaks, so a headline without a full stop stays its own sentence. The encoding
keeps every document's token ids flat with sentence offsets: a padded (documents × sentences × words) array would
be mostly padding (and gigabytes on a large corpus); batches are cut from the flat ids by the batching strategy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from textclf.data.tokenize import Tokenizer
from textclf.data.vocab import PAD, UNK, Vocabulary

SENTENCE_END = re.compile(r"[。！？]+[”’」』）)\"']*|[.!?]+[\"'”’)\]]*(?=\s|$)|\n+")
END_TOKENS = frozenset("。！？.!?") | {"...", "…", "……"}


def split_sentences(text: str) -> list[str]:
    """The sentences of a raw text (blank ones dropped), each keeping its end mark."""
    sentences, start = [], 0
    for match in SENTENCE_END.finditer(text):
        sentences.append(text[start:match.end()])
        start = match.end()
    sentences.append(text[start:])
    return [s for s in (part.strip() for part in sentences) if s]


def split_tokens(tokens: Sequence[str]) -> list[list[str]]:
    """Sentences of an already tokenized text: a break after every end-mark token (line breaks are gone)."""
    sentences, current = [], []
    for token in tokens:
        current.append(token)
        if token in END_TOKENS:
            sentences.append(current)
            current = []
    return sentences + ([current] if current else [])


def sentence_tokens(doc: str | Sequence, tokenizer: Tokenizer) -> list[list[str]]:
    """A document as token lists per sentence, from a raw text, a token list, or sentences already tokenized."""
    if isinstance(doc, str):
        return [tokens for tokens in map(tokenizer, split_sentences(doc)) if tokens]
    if len(doc) and not isinstance(doc[0], str):
        return [list(sentence) for sentence in doc if len(sentence)]
    return split_tokens(doc)


def sentence_chunks(lengths: np.ndarray, size: int) -> list[np.ndarray]:
    """Positions of `lengths` sorted longest first (ties in order) and cut into blocks of `size` sentences.

    The word level reads one block at a time, each padded to its own longest sentence: the sentences of one
    document differ in length far more than the documents of a bucket do, so this is where bucketing pays.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + size] for i in range(0, len(order), max(1, size))]


@dataclass(frozen=True)
class DocumentLengths:
    """Each document's sentence lengths, flat: document i owns sentences offsets[i]:offsets[i + 1]."""

    sentence_lengths: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_sentences(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def longest(self) -> np.ndarray:
        """The longest sentence of each document (every document has at least one sentence)."""
        return np.maximum.reduceat(self.sentence_lengths, self.offsets[:-1])

    @property
    def tokens(self) -> np.ndarray:
        return np.add.reduceat(self.sentence_lengths, self.offsets[:-1])

    def sentences_of(self, index: np.ndarray) -> np.ndarray:
        """Flat sentence numbers of the documents `index`, in their order."""
        return np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in index])


@dataclass
class DocumentTensors:
    """One batch as the hierarchical model reads it.

    `chunks` are (ids, lengths) blocks of sentences for the word level; `slots` places each chunk row (in chunk
    order) into the flat (documents × sentences) grid of the sentence level, of `shape`.
    """

    chunks: list[tuple[torch.Tensor, torch.Tensor]]
    slots: torch.Tensor
    shape: tuple[int, int]

    def to(self, device: torch.device) -> DocumentTensors:
        return DocumentTensors([(ids.to(device), lengths) for ids, lengths in self.chunks], self.slots.to(device),
                               self.shape)


@dataclass(frozen=True)
class EncodedDocuments:
    """Token ids of every sentence, flat, with where each sentence starts; `lengths` describes the documents."""

    ids: np.ndarray
    starts: np.ndarray
    lengths: DocumentLengths

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, index: torch.Tensor, padded_length) -> tuple[DocumentTensors, torch.Tensor]:
        """Documents `index` padded as the plan says: (sentences, words) with one block, or (sentences, None)
        with only real sentences, grouped by length into blocks each padded to its own longest."""
        docs = index.numpy()
        n_sentences, words = padded_length
        counts = self.lengths.n_sentences[docs]
        sentences = self.lengths.sentences_of(docs)
        grid = np.repeat(np.arange(len(docs)) * n_sentences, counts) + _positions_within(counts)
        if words is not None:
            rows = np.full(len(docs) * n_sentences, -1)
            rows[grid] = sentences
            chunks, slots = [self._block(rows, words)], np.arange(len(rows))
        else:
            groups = sentence_chunks(self.lengths.sentence_lengths[sentences], len(docs))
            chunks = [self._block(sentences[g], None) for g in groups]
            slots = grid[np.concatenate(groups)]
        return (DocumentTensors(chunks, torch.from_numpy(slots), (len(docs), n_sentences)),
                torch.from_numpy(counts.copy()))

    def _block(self, rows: np.ndarray, width: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Sentences `rows` (-1: a pad sentence, length 0) as a zero-padded id matrix and their lengths."""
        lengths = np.where(rows >= 0, self.lengths.sentence_lengths[rows], 0)
        width = width or int(lengths.max())
        columns = np.arange(width)
        inside = columns[None, :] < lengths[:, None]
        matrix = np.full((len(rows), width), PAD, dtype=np.int64)
        matrix[inside] = self.ids[(self.starts[rows][:, None] + columns[None, :])[inside]]
        return torch.from_numpy(matrix), torch.from_numpy(lengths)


def _positions_within(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each run of `counts` (a sentence's place in its document)."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - starts


def encode_documents(docs: Sequence[Sequence[Sequence[str]]], vocab: Vocabulary, max_len: int) -> EncodedDocuments:
    """Encode sentence-split documents once, keeping each document's first `max_len` tokens (as the flat models
    do). A document with no tokens becomes one sentence of one <unk>."""
    ids, lengths, counts = [], [], []
    for doc in docs:
        kept = truncate_document(doc, max_len) or [[UNK]]
        for sentence in kept:
            ids.extend(sentence if isinstance(sentence[0], int) else vocab.ids(sentence))
            lengths.append(len(sentence))
        counts.append(len(kept))
    sentence_lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sentence_lengths)[:-1]]).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return EncodedDocuments(np.asarray(ids, dtype=np.int64), starts, DocumentLengths(sentence_lengths, offsets))


def truncate_document(doc: Sequence[Sequence[str]], max_len: int) -> list:
    """The document's first `max_len` tokens, still in their sentences."""
    kept, budget = [], max_len
    for sentence in doc:
        if budget <= 0:
            break
        if len(sentence):
            kept.append(list(sentence[:budget]))
            budget -= len(kept[-1])
    return kept
