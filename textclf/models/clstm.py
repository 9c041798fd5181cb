"""C-LSTM (Zhou et al. 2015): convolution features of each window, read in order by an LSTM.

One convolution (filter height 3 by default) turns every window of words into a feature vector, without
pooling, so the sequence of windows keeps word order; an LSTM reads that sequence and its final state feeds the
classifier. Only windows that lie inside the text reach the LSTM's final state (dense or packed: `impl`, see
textclf.models.recurrent); a text shorter than the filter gets exactly one window (text + zero pads), as in
TextCNN. So pads never change the output.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from textclf.data.embeddings import WordEmbedding
from textclf.data.vocab import PAD
from textclf.models import register
from textclf.models.birnn import CELLS
from textclf.models.neural import RECURRENT_TRAINING_SLOTS, NeuralTextClassifier
from textclf.models.recurrent import RecurrentReader, impl_details, impl_label


class CLSTM(nn.Module):
    def __init__(self, vocab_size: int, n_classes: int, embed_dim: int = 300, kernel_size: int = 3,
                 filters: int = 150, hidden: int = 150, cell: str = "lstm", dropout: float = 0.5,
                 embedding: WordEmbedding | None = None, impl: str = "auto"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, not {cell!r}.")
        self.kernel_size = kernel_size
        self.reader = RecurrentReader(impl)
        self.embedding = embedding if embedding is not None else WordEmbedding(vocab_size, embed_dim)
        self.conv = nn.Conv1d(self.embedding.output_dim, filters, kernel_size)
        self.rnn = CELLS[cell](filters, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, n_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.features(ids, lengths)))

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The LSTM's final state after the text's own windows."""
        if ids.shape[1] < self.kernel_size:
            ids = F.pad(ids, (0, self.kernel_size - ids.shape[1]), value=PAD)
        windows = F.relu(self.conv(self.embedding(ids).transpose(1, 2))).transpose(1, 2)
        counts = torch.clamp(lengths - self.kernel_size + 1, min=1)
        return self.reader(self.rnn, windows, counts)[1]


@register
class CLSTMClassifier(NeuralTextClassifier):
    """C-LSTM with the scikit-learn estimator contract."""

    key = "clstm"
    title = "C-LSTM"
    summary = "convolution features read by an LSTM (Zhou et al. 2015)"
    order = 7
    relative_cost = 20
    max_training_slots = RECURRENT_TRAINING_SLOTS

    def __init__(self, *, kernel_size: int = 3, filters: int = 150, hidden: int = 150, cell: str = "lstm",
                 impl: str = "auto", **params):
        super().__init__(**params)
        self.kernel_size, self.filters, self.hidden, self.cell = kernel_size, filters, hidden, cell
        self.impl = impl

    @classmethod
    def label(cls, params: dict) -> str:
        details = ", ".join(filter(None, [cls.embedding_label(params), impl_label(params)]))
        return f"C-LSTM ({details})" if details else "C-LSTM"

    def build_module(self, vocab_size: int, n_classes: int) -> nn.Module:
        return CLSTM(vocab_size, n_classes, self.embed_dim, self.kernel_size, self.filters, self.hidden, self.cell,
                     self.dropout, self.make_embedding(vocab_size), self.impl)

    def fit_details(self) -> dict:
        return {**super().fit_details(), **impl_details(self)}
