"""TextCNN (Kim 2014), as the article describes it.

Embedding → parallel 1-D convolutions of several heights spanning the whole embedding → ReLU → max over
time per filter → dropout → linear. Windows that reach into padding are masked before the max, so the number
of pads never changes the output; texts shorter than a filter get exactly one window (text + zero pads).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from textclf.models import register
from textclf.models.neural import NeuralTextClassifier
from textclf.vocab import PAD


class TextCNN(nn.Module):
    def __init__(self, vocab_size: int, n_classes: int, embed_dim: int = 300,
                 kernel_sizes: tuple[int, ...] = (2, 3, 5), filters: int = 100, dropout: float = 0.5):
        super().__init__()
        self.kernel_sizes = tuple(kernel_sizes)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, filters, h) for h in self.kernel_sizes)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(filters * len(self.kernel_sizes), n_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.features(ids, lengths)))

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Max-pooled filter activations, [batch, filters × heights]."""
        return torch.cat([values for values, _ in self.pooled(ids, lengths)], dim=1)

    def pooled(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(max value, winning window start) per filter height: the start says which n-gram won."""
        widest = max(self.kernel_sizes)
        if ids.shape[1] < widest:
            ids = F.pad(ids, (0, widest - ids.shape[1]), value=PAD)
        x = self.embedding(ids).transpose(1, 2)
        lengths = lengths.to(ids.device)
        results = []
        for height, conv in zip(self.kernel_sizes, self.convs, strict=True):
            activations = F.relu(conv(x))
            valid_windows = torch.clamp(lengths - height + 1, min=1)
            positions = torch.arange(activations.shape[2], device=ids.device)
            outside = positions[None, :] >= valid_windows[:, None]
            activations = activations.masked_fill(outside[:, None, :], float("-inf"))
            results.append(activations.max(dim=2))
        return [(r.values, r.indices) for r in results]


@register
class TextCNNClassifier(NeuralTextClassifier):
    """TextCNN with the scikit-learn estimator contract."""

    key = "cnn"
    order = 1
    default_lr = 2e-3

    def __init__(self, *, kernel_sizes: tuple[int, ...] = (2, 3, 5), filters: int = 100, **params):
        super().__init__(**params)
        self.kernel_sizes = kernel_sizes
        self.filters = filters

    @classmethod
    def label(cls, params: dict) -> str:
        return "TextCNN"

    def build_module(self, vocab_size: int, n_classes: int) -> nn.Module:
        return TextCNN(vocab_size, n_classes, self.embed_dim, tuple(self.kernel_sizes), self.filters, self.dropout)
