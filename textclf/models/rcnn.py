"""Recurrent convolutional network (Lai et al. 2015): each word with its context, then max over time.

A bidirectional RNN reads the text; at each word, its forward and backward states (the left and right context)
are joined with the word's embedding, passed through a linear layer and tanh, and max-pooled over time: the
recurrence plays the part of a convolution's window, of unbounded width. Lai et al. take the context up to the
word before; like most implementations this uses the states at the word itself. The RNN reads no pad before a
real token, dense or packed (`impl`, see textclf.models.recurrent), and the max ignores pad positions, so pads
never change the output.
"""

from __future__ import annotations

import torch
from torch import nn

from textclf.data.embeddings import WordEmbedding
from textclf.models import register
from textclf.models.birnn import CELLS
from textclf.models.neural import RECURRENT_TRAINING_SLOTS, NeuralTextClassifier
from textclf.models.recurrent import RecurrentReader, impl_details, impl_label, up_to_longest


class RCNN(nn.Module):
    def __init__(self, vocab_size: int, n_classes: int, embed_dim: int = 300, hidden: int = 100,
                 latent: int = 100, cell: str = "lstm", dropout: float = 0.5, embedding: WordEmbedding | None = None,
                 impl: str = "auto"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, not {cell!r}.")
        self.reader = RecurrentReader(impl)
        self.embedding = embedding if embedding is not None else WordEmbedding(vocab_size, embed_dim)
        width = self.embedding.output_dim
        self.rnn = CELLS[cell](width, hidden, batch_first=True, bidirectional=True)
        self.latent = nn.Linear(2 * hidden + width, latent)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(latent, n_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.features(ids, lengths)))

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Max over real positions of tanh(W [left context; word; right context] + b)."""
        ids = up_to_longest(ids, lengths)
        words = self.embedding(ids)
        context = self.reader(self.rnn, words, lengths)[0]
        latent = torch.tanh(self.latent(torch.cat([context, words], dim=2)))
        pads = torch.arange(ids.shape[1], device=ids.device)[None, :] >= lengths.to(ids.device)[:, None]
        return latent.masked_fill(pads[..., None], float("-inf")).max(dim=1).values


@register
class RCNNClassifier(NeuralTextClassifier):
    """RCNN with the scikit-learn estimator contract."""

    key = "rcnn"
    title = "RCNN"
    summary = "a BiLSTM's context around each word, then max over time (Lai et al. 2015)"
    order = 6
    relative_cost = 25
    max_training_slots = RECURRENT_TRAINING_SLOTS

    def __init__(self, *, cell: str = "lstm", hidden: int = 100, latent: int = 100, impl: str = "auto", **params):
        super().__init__(**params)
        self.cell, self.hidden, self.latent, self.impl = cell, hidden, latent, impl

    @classmethod
    def label(cls, params: dict) -> str:
        details = ", ".join(filter(None, [params.get("cell", "lstm").upper(), cls.embedding_label(params),
                                          impl_label(params)]))
        return f"RCNN ({details})"

    def build_module(self, vocab_size: int, n_classes: int) -> nn.Module:
        return RCNN(vocab_size, n_classes, self.embed_dim, self.hidden, self.latent, self.cell, self.dropout,
                    self.make_embedding(vocab_size), self.impl)

    def fit_details(self) -> dict:
        return {**super().fit_details(), **impl_details(self)}
