"""Bidirectional RNN (LSTM or GRU), dense or packed (`impl`, see textclf.models.recurrent), with a choice of pooling.

Neither direction ever reads a pad before a real token (the backward direction starts on each text's last real
token). Pooling over time is masked: mean divides by true lengths, max and attention ignore pad positions,
and 'last' joins the forward state after the last token and the backward state after the first.
"""

from __future__ import annotations

import torch
from torch import nn

from textclf.data.embeddings import WordEmbedding
from textclf.explain.explanation import Explanation
from textclf.models import register
from textclf.models.neural import RECURRENT_TRAINING_SLOTS, NeuralTextClassifier
from textclf.models.recurrent import RecurrentReader, impl_details, impl_label, up_to_longest

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
POOLINGS = ("mean", "max", "last", "attention")


class BiRNN(nn.Module):
    def __init__(self, vocab_size: int, n_classes: int, embed_dim: int = 300, hidden: int = 128,
                 cell: str = "lstm", bidirectional: bool = True, pooling: str = "mean", dropout: float = 0.5,
                 embedding: WordEmbedding | None = None, impl: str = "auto"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, not {cell!r}.")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}.")
        self.pooling = pooling
        self.reader = RecurrentReader(impl)
        self.embedding = embedding if embedding is not None else WordEmbedding(vocab_size, embed_dim)
        self.rnn = CELLS[cell](self.embedding.output_dim, hidden, batch_first=True, bidirectional=bidirectional)
        width = hidden * (2 if bidirectional else 1)
        self.attention = (nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1, bias=False))
                          if pooling == "attention" else None)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(width, n_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.encode(ids, lengths)))

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """One vector per text from the RNN outputs, pads excluded."""
        if self.pooling == "last":
            return self._run(ids, lengths)[1]
        outputs, mask = self.outputs(ids, lengths)
        if self.pooling == "mean":
            summed = (outputs * mask[..., None]).sum(dim=1)
            return summed / lengths.to(outputs.device)[:, None].to(outputs.dtype)
        if self.pooling == "max":
            return outputs.masked_fill(~mask[..., None], float("-inf")).max(dim=1).values
        weights = self.attention_weights(outputs, mask)
        return (weights[..., None] * outputs).sum(dim=1)

    def _run(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.reader(self.rnn, self.embedding(up_to_longest(ids, lengths)), lengths)

    def outputs(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-position outputs [batch, longest, width] and the mask of real (non-pad) positions."""
        outputs = self._run(ids, lengths)[0]
        mask = torch.arange(outputs.shape[1], device=outputs.device)[None, :] < lengths.to(outputs.device)[:, None]
        return outputs, mask

    def attention_weights(self, outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Softmax over real positions only: pad logits are -inf."""
        scores = self.attention(outputs).squeeze(-1).masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=1)


@register
class BiRNNClassifier(NeuralTextClassifier):
    """Bidirectional LSTM/GRU with the scikit-learn estimator contract."""

    key = "rnn"
    title = "BiRNN"
    summary = "a bidirectional LSTM or GRU with a choice of pooling"
    form_fields = ("embed_dim", "embedding", "cell", "pooling")
    order = 2
    relative_cost = 25
    max_training_slots = RECURRENT_TRAINING_SLOTS

    def __init__(self, *, cell: str = "lstm", hidden: int = 128, bidirectional: bool = True,
                 pooling: str = "mean", impl: str = "auto", **params):
        super().__init__(**params)
        self.cell, self.hidden, self.bidirectional, self.pooling = cell, hidden, bidirectional, pooling
        self.impl = impl

    @classmethod
    def label(cls, params: dict) -> str:
        prefix = "Bi" if params.get("bidirectional", True) else ""
        details = ", ".join(filter(None, [params.get("pooling", "mean"), cls.embedding_label(params),
                                          impl_label(params)]))
        return f"{prefix}{params.get('cell', 'lstm').upper()} ({details})"

    def explainers(self) -> dict:
        own = {"attention": self._explain_attention} if self.pooling == "attention" else {}
        return {**own, **super().explainers()}

    @torch.no_grad()
    def _explain_attention(self, tokens: list[str]) -> Explanation:
        """Where the attention pooling looked: weights over the words read, summing to 1 (not signed)."""
        ids, lengths, read, unknown = self._read(tokens)
        decision = self._decision(tokens)
        module = self.module_.eval()
        weights = module.attention_weights(*module.outputs(ids, lengths))[0, :read].cpu().numpy()
        return self._explanation("attention", tokens, decision, weights, read=read, unknown=unknown,
                                 notes=["Attention weights say where the model looked, not which way a word "
                                        "pushed: they are all positive and sum to 1."])

    def build_module(self, vocab_size: int, n_classes: int) -> nn.Module:
        return BiRNN(vocab_size, n_classes, self.embed_dim, self.hidden, self.cell, self.bidirectional,
                     self.pooling, self.dropout, self.make_embedding(vocab_size), self.impl)

    def fit_details(self) -> dict:
        return {**super().fit_details(), **impl_details(self)}
