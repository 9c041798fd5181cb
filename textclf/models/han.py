"""Hierarchical attention network (Yang et al. 2016): words → sentence vectors → document vector.

A word-level BiGRU with attention turns each sentence into a vector; a sentence-level BiGRU with attention turns
the sentence vectors into the document's. Neither GRU reads a pad before a real position (dense or packed:
`impl`, see textclf.models.recurrent) and both attentions give pads a weight of exactly zero, so neither the
pad words of a sentence nor the pad sentences of a document change the output. Documents are split into
sentences (see `textclf.data.documents`) and batched on two levels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from textclf.data.documents import (
    DocumentLengths,
    DocumentTensors,
    EncodedDocuments,
    encode_documents,
    sentence_tokens,
    truncate_document,
)
from textclf.data.embeddings import WordEmbedding
from textclf.data.tokenize import Tokenizer, is_tokenized, resolve
from textclf.data.vocab import SPECIALS, UNK, Vocabulary
from textclf.explain.explanation import Explanation, joiner_for, refuse_all_unknown
from textclf.models import register
from textclf.models.neural import AttributionInput, NeuralTextClassifier
from textclf.models.recurrent import RecurrentReader, impl_details, impl_label
from textclf.training.strategies import get_strategy

UNK_TOKEN = SPECIALS[1]


class MaskedAttention(nn.Module):
    """Yang et al.'s attention: a one-layer MLP scores each position against a learned context vector."""

    def __init__(self, width: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1, bias=False))

    def forward(self, states: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(weighted sum, weights) over the first `lengths` positions of each row; pads weigh exactly 0.

        A pad sentence (length 0, read as one step like `RecurrentReader` does) attends to its first position: with
        every position masked its softmax would be NaN, and NaN × 0 in the backward pass poisons every gradient
        of a max-length batch, though the sentence level never reads that row."""
        read = lengths.to(states.device).clamp(min=1)
        mask = torch.arange(states.shape[1], device=states.device)[None, :] < read[:, None]
        weights = torch.softmax(self.score(states).squeeze(-1).masked_fill(~mask, float("-inf")), dim=1)
        return (weights[..., None] * states).sum(dim=1), weights


class HAN(nn.Module):
    def __init__(self, vocab_size: int, n_classes: int, embed_dim: int = 300, hidden: int = 50,
                 dropout: float = 0.5, embedding: WordEmbedding | None = None, impl: str = "auto"):
        super().__init__()
        self.reader = RecurrentReader(impl)  # GRU outputs at every position, zeros past each row's length
        self.embedding = embedding if embedding is not None else WordEmbedding(vocab_size, embed_dim)
        width = 2 * hidden
        self.word_rnn = nn.GRU(self.embedding.output_dim, hidden, batch_first=True, bidirectional=True)
        self.word_attention = MaskedAttention(width)
        self.sentence_rnn = nn.GRU(width, hidden, batch_first=True, bidirectional=True)
        self.sentence_attention = MaskedAttention(width)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(width, n_classes)

    def forward(self, batch: DocumentTensors, n_sentences: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.encode(batch, n_sentences)[0]))

    def encode(self, batch: DocumentTensors, n_sentences: torch.Tensor):
        """(document vectors, word weights per block, sentence weights [documents × sentences])."""
        embedded = [(self.embedding(ids), lengths) for ids, lengths in batch.chunks]
        return self.encode_vectors(embedded, batch.slots, batch.shape, n_sentences)

    def encode_vectors(self, chunks: list[tuple[torch.Tensor, torch.Tensor]], slots: torch.Tensor,
                       shape: tuple[int, int], n_sentences: torch.Tensor):
        """`encode` from word vectors already looked up (integrated gradients interpolates the vectors)."""
        vectors, word_weights = [], []
        for embedded, lengths in chunks:
            states = self.reader(self.word_rnn, embedded, lengths)[0]
            sentence_vectors, weights = self.word_attention(states, lengths)
            vectors.append(sentence_vectors)
            word_weights.append(weights)
        documents, sentences = shape
        grid = vectors[0].new_zeros(documents * sentences, vectors[0].shape[1])
        grid[slots] = torch.cat(vectors)
        grid = grid.view(documents, sentences, -1)
        states = self.reader(self.sentence_rnn, grid, n_sentences)[0]
        document_vectors, sentence_weights = self.sentence_attention(states, n_sentences)
        return document_vectors, word_weights, sentence_weights


class OneDocument(nn.Module):
    """A HAN reading one document as a flat row of token ids ([n, tokens]) cut into sentences of known lengths,
    so integrated gradients interpolates its word vectors exactly as it does a flat model's."""

    def __init__(self, han: HAN, sentence_lengths: list[int]):
        super().__init__()
        self.han, self.embedding, self.sentence_lengths = han, han.embedding, sentence_lengths

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        rows, count, widest = ids.shape[0], len(self.sentence_lengths), max(self.sentence_lengths)
        sentences = [F.pad(part, (0, 0, 0, widest - part.shape[1]))
                     for part in self.embedding(ids).split(self.sentence_lengths, dim=1)]
        block = torch.stack(sentences, dim=1).reshape(rows * count, widest, -1)
        chunk = (block, torch.tensor(self.sentence_lengths).repeat(rows))
        slots = torch.arange(rows * count, device=ids.device)
        document = self.han.encode_vectors([chunk], slots, (rows, count), torch.full((rows,), count))[0]
        return self.han.output(self.han.dropout(document))


@register
class HANClassifier(NeuralTextClassifier):
    """Hierarchical attention network with the scikit-learn estimator contract.

    `max_len` bounds the tokens kept per document (its first ones, across sentences), as for the flat models.
    Texts are split into sentences before tokenizing (line breaks count), so give it raw texts; token lists are
    split at end-mark tokens. Batching is two-level (`textclf.training.batching`); `pad_to` does not apply.
    """

    key = "han"
    title = "HAN"
    summary = "words → sentences → document, a BiGRU with attention at each level (Yang et al. 2016)"
    order = 5
    relative_cost = 25
    reads_raw_text = True

    def __init__(self, *, hidden: int = 50, impl: str = "auto", **params):
        super().__init__(**params)
        self.hidden, self.impl = hidden, impl

    @classmethod
    def label(cls, params: dict) -> str:
        details = ", ".join(filter(None, [cls.embedding_label(params), impl_label(params)]))
        return f"HAN ({details})" if details else "HAN"

    def build_module(self, vocab_size: int, n_classes: int) -> nn.Module:
        return HAN(vocab_size, n_classes, self.embed_dim, self.hidden, self.dropout, self.make_embedding(vocab_size),
                   self.impl)

    def fit_details(self) -> dict:
        return {**super().fit_details(), **impl_details(self)}

    def build_strategy(self):
        """The document side of the chosen strategy (two-level: sentences per document, words per sentence)."""
        return get_strategy(self.batching).for_documents(self.batch_size)

    def _lengths(self, tokens: list[list[list[str]]]) -> DocumentLengths:
        """The document lengths `_encode` gives these sentences, without a vocabulary."""
        return encode_documents(tokens, Vocabulary([]), self.max_len).lengths

    def _tokens(self, docs: Sequence) -> list[list[list[str]]]:
        if not hasattr(self, "tokenizer_"):
            sample = [" ".join(map(str, np.ravel(d))) for d in docs[:500]] if is_tokenized(docs) else list(docs)
            self.tokenizer_ = resolve(self.tokenizer, sample)
        tokenizer = Tokenizer(self.tokenizer_)
        return [sentence_tokens(doc, tokenizer) for doc in docs]

    def explainers(self) -> dict:
        """HAN's own attention (word within sentence × sentence within document), then integrated gradients."""
        return {"attention": self._explain_attention, **super().explainers()}

    def _explain_attention(self, doc: list) -> Explanation:
        """Each word's weight × its sentence's weight, so the words read sum to 1; the sentences' own weights in
        the details, for a heat map per sentence. `doc` is a list of sentences or a flat token list."""
        sentences, tokens, _, unknown = self._read_document(doc)
        weights = self._attention([sentences])[0]
        words = [w * s for s, row in zip(weights["sentence_weights"], weights["word_weights"], strict=True)
                 for w in row]
        joiner = joiner_for(self.tokenizer_)
        details = {"sentences": [{"text": joiner.join(kept), "weight": weight} for kept, weight
                                 in zip(weights["sentences"], weights["sentence_weights"], strict=True)]}
        return self._explanation("attention", tokens, self._decision(sentences), words, read=len(words),
                                 unknown=unknown, details=details,
                                 notes=["Attention weights say where the model looked, not which way a word pushed: "
                                        "a word's weight is its weight within its sentence times the sentence's "
                                        "weight within the text, so all are positive and sum to 1."])

    def _read_document(self, doc: list) -> tuple[list[list[str]], list[str], list[list[str]], list[int]]:
        """A document (sentences or flat tokens) as its sentences, its flat tokens, the sentences kept within
        `max_len` and the positions of unknown words among them; refuses a text with no known word."""
        sentences = sentence_tokens(doc, Tokenizer(self.tokenizer_))
        tokens = [token for sentence in sentences for token in sentence]
        kept = truncate_document(sentences, self.max_len)
        read = sum(map(len, kept))
        unknown = [i for i, token_id in enumerate(self.vocab_.ids(tokens[:read])) if token_id == UNK]
        refuse_all_unknown(self.display_name, tokens, read - len(unknown))
        return sentences, tokens, kept, unknown

    def _attribution_input(self, doc: list) -> AttributionInput:
        """The kept tokens as one flat row, read by a `OneDocument` view of the network."""
        sentences, tokens, kept, unknown = self._read_document(doc)
        flat = [token for sentence in kept for token in sentence]
        ids = torch.tensor([self.vocab_.ids(flat)], device=self.device_)
        module = OneDocument(self.module_, [len(sentence) for sentence in kept])
        return AttributionInput(tokens, self._decision(sentences), module, ids, torch.tensor([len(flat)]),
                                len(flat), unknown)

    def _word_lists(self, tokens: list[list[list[str]]]) -> list[list[str]]:
        return [sentence for doc in tokens for sentence in doc]

    def _encode(self, tokens) -> EncodedDocuments:
        return encode_documents(tokens, self.vocab_, self.max_len)

    def attention(self, docs: Sequence) -> list[dict]:
        """Per document: its sentences (tokens kept after truncation), each sentence's weight and its words'.

        Plain data for explanations: weights of a document's sentences sum to 1, as do a sentence's words'.
        """
        return self._attention(self._tokens(docs))

    def _attention(self, tokens: list[list[list[str]]]) -> list[dict]:
        data = self._encode(tokens)
        kept = [truncate_document(doc, self.max_len) or [[UNK_TOKEN]] for doc in tokens]
        results = [dict() for _ in tokens]
        self.module_.eval()
        with torch.no_grad():
            for batch in self.strategy_.plan(data.lengths):
                self._batch_attention(data, batch, kept, results)
        return results

    def _batch_attention(self, data: EncodedDocuments, batch, kept, results) -> None:
        inputs, n_sentences = data.batch(batch.index, batch.padded_length)
        _, word_weights, sentence_weights = self.module_.encode(inputs.to(self.device_), n_sentences)
        rows = [w for block in word_weights for w in block.cpu()]
        order = inputs.slots.tolist()
        by_slot = dict(zip(order, rows, strict=True))
        sentences = inputs.shape[1]
        for position, doc in enumerate(batch.index.tolist()):
            count = int(n_sentences[position])
            words = [by_slot[position * sentences + s] for s in range(count)]
            results[doc] = {
                "sentences": kept[doc],
                "sentence_weights": sentence_weights[position, :count].cpu().tolist(),
                "word_weights": [w[:len(kept[doc][s])].tolist() for s, w in enumerate(words)],
            }

