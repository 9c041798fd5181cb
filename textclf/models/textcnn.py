"""TextCNN (Kim 2014), as the article describes it.

Embedding → parallel 1-D convolutions of several heights spanning the whole embedding → ReLU → max over
time per filter → dropout → linear. Windows that reach into the batch's padding beyond a text's own windows are
masked before the max, so the number of pads never changes the output.

Kim's published settings are the defaults: filter heights 3, 4, 5 with 100 maps each, dropout 0.5, an L2
max-norm of 3 on each class's output weight vector (rescaled after every update), and his "wide" convolution:
every text gets h − 1 zero vectors at both ends, so a filter of height h reads n + h − 1 windows of a text of n
tokens, the boundary n-grams included (`wide=False`, narrow: n − h + 1 windows, at least one). The zeros are the
same whatever the batch's padding, so the output still never depends on it. Wide windows lifted 10-fold MR from
0.751 to 0.763 (BENCHMARKS.md; both with Adam at 0.002, the learning rate then).
With two embedding channels (`multichannel`) the two tables sit side by side as input channels, so each filter
has weights for both and adds their responses, as in Kim (2014).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from textclf.data.embeddings import WordEmbedding
from textclf.data.vocab import PAD
from textclf.explain.attribution import margin
from textclf.explain.explanation import Explanation, joiner_for, spread
from textclf.models import register
from textclf.models.neural import NeuralTextClassifier
from textclf.training.batching import evaluation_strategy


class TextCNN(nn.Module):
    def __init__(self, vocab_size: int, n_classes: int, embed_dim: int = 300,
                 kernel_sizes: tuple[int, ...] = (3, 4, 5), filters: int = 100, dropout: float = 0.5,
                 max_norm: float | None = 3.0, embedding: WordEmbedding | None = None, wide: bool = True):
        super().__init__()
        self.kernel_sizes = tuple(kernel_sizes)
        self.max_norm = max_norm
        self.wide = wide
        self.embedding = embedding if embedding is not None else WordEmbedding(vocab_size, embed_dim)
        self.convs = nn.ModuleList(nn.Conv1d(self.embedding.output_dim, filters, h, padding=h - 1 if wide else 0)
                                   for h in self.kernel_sizes)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(filters * len(self.kernel_sizes), n_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.features(ids, lengths)))

    @torch.no_grad()
    def apply_constraints(self) -> None:
        """Kim's max-norm: rescale any class's output weight vector whose L2 norm exceeds `max_norm`."""
        if self.max_norm:
            self.output.weight.copy_(torch.renorm(self.output.weight, p=2, dim=0, maxnorm=self.max_norm))

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Max-pooled filter activations, [batch, filters × heights]."""
        return torch.cat([values for values, _ in self.pooled(ids, lengths)], dim=1)

    def pooled(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(max value, winning window) per filter height: `window_tokens` says which n-gram a window reads."""
        widest = max(self.kernel_sizes)
        if not self.wide and ids.shape[1] < widest:
            ids = F.pad(ids, (0, widest - ids.shape[1]), value=PAD)
        # One copy into the [batch, channels, length] layout the convolutions read, rather than one per filter
        # height inside each convolution: the same values and gradients, in less time.
        x = self.embedding(ids).transpose(1, 2).contiguous()
        lengths = lengths.to(ids.device)
        results = []
        for height, conv in zip(self.kernel_sizes, self.convs, strict=True):
            activations = F.relu(conv(x))
            valid_windows = lengths + height - 1 if self.wide else torch.clamp(lengths - height + 1, min=1)
            positions = torch.arange(activations.shape[2], device=ids.device)
            outside = positions[None, :] >= valid_windows[:, None]
            activations = activations.masked_fill(outside[:, None, :], float("-inf"))
            results.append(activations.max(dim=2))
        return [(r.values, r.indices) for r in results]

    def window_tokens(self, height: int, window: int, length: int) -> tuple[int, int]:
        """The tokens [start, stop) that window number `window` of a height-`height` filter reads in a text of
        `length` tokens (a wide window starts h − 1 positions earlier, in the zeros before the text)."""
        start = window - (height - 1) if self.wide else window
        return max(0, start), min(start + height, length)


@register
class TextCNNClassifier(NeuralTextClassifier):
    """TextCNN with the scikit-learn estimator contract."""

    key = "cnn"
    title = "TextCNN"
    summary = "filters over word windows, max over time (Kim 2014)"
    order = 1
    earlier_defaults = {**NeuralTextClassifier.earlier_defaults, "wide": False}

    def __init__(self, *, kernel_sizes: tuple[int, ...] = (3, 4, 5), filters: int = 100, max_norm: float | None = 3.0,
                 wide: bool = True, **params):
        super().__init__(**params)
        self.kernel_sizes = kernel_sizes
        self.filters = filters
        self.max_norm = max_norm
        self.wide = wide

    @classmethod
    def label(cls, params: dict) -> str:
        embedding = cls.embedding_label(params)
        return f"TextCNN ({embedding})" if embedding else "TextCNN"

    def explainers(self) -> dict:
        return {"ngrams": self._explain_ngrams, **super().explainers()}

    def _explain_ngrams(self, tokens: list[str]) -> Explanation:
        """Each filter's winning window, credited with its pooled activation × its output weight's margin.

        In evaluation the logits are exactly these credits summed plus the bias, so the n-grams account for
        the whole decision; an n-gram's credit is shared equally among its words for the highlighting.
        """
        ids, lengths, read, unknown = self._read(tokens)
        decision = self._decision(tokens)
        wins = self._winning_windows(ids, lengths, decision[0])[0]
        weights = np.zeros(read)
        ngrams = []
        joiner = joiner_for(self.tokenizer_)
        for (height, start, stop), (credit, filters) in sorted(wins.items(), key=lambda item: -abs(item[1][0])):
            spread(weights, start, stop, credit)
            ngrams.append({"ngram": joiner.join(tokens[start:stop]), "height": height, "start": start,
                           "filters": filters, "weight": credit})
        bias = float(margin(self.module_.output.bias.detach()[None, :], decision[0])[0])
        return self._explanation("ngrams", tokens, decision, weights, read=read, unknown=unknown,
                                 details={"ngrams": ngrams, "bias": bias})

    @torch.no_grad()
    def _winning_windows(self, ids: torch.Tensor, lengths: torch.Tensor, target) -> list[dict]:
        """Per text: (filter height, first token, token after the last) → (summed credit towards `target`,
        number of filters).

        `target` is one class index for every text or a tensor with one per text.
        """
        module = self.module_.eval()
        targets = torch.as_tensor(target).expand(len(ids))
        directions = torch.stack([margin(module.output.weight.T, int(t)) for t in targets])
        results = [defaultdict(lambda: [0.0, 0]) for _ in range(len(ids))]
        offset = 0
        for height, (values, starts) in zip(module.kernel_sizes, module.pooled(ids, lengths), strict=True):
            credits = (values * directions[:, offset:offset + values.shape[1]]).cpu().numpy()
            offset += values.shape[1]
            for row, (row_credits, row_windows) in enumerate(zip(credits, starts.cpu().numpy(), strict=True)):
                length = int(lengths[row])
                for credit, window in zip(row_credits, row_windows, strict=True):
                    entry = results[row][(height, *module.window_tokens(height, int(window), length))]
                    entry[0] += float(credit)
                    entry[1] += 1
        return [{key: tuple(value) for key, value in row.items()} for row in results]

    def class_table(self, docs=None, labels=None, top: int = 10) -> list[dict]:
        """Per class, the n-grams that most often win a filter with credit towards that class (training texts)."""
        if docs is None or labels is None:
            return []
        tokens = self._tokens(docs)
        data = self._encode(tokens)
        lookup = {str(c): i for i, c in enumerate(self.classes_)}
        joiner = joiner_for(self.tokenizer_)
        counts = {c: Counter() for c in lookup}
        for batch in evaluation_strategy().plan(data.lengths):
            ids, lengths = data.batch(batch.index, batch.padded_length)
            rows = batch.index.tolist()
            targets = torch.tensor([lookup[str(labels[i])] for i in rows])
            for row, wins in zip(rows, self._winning_windows(ids.to(self.device_), lengths, targets), strict=True):
                for (_, start, stop), (credit, filters) in wins.items():
                    if credit > 0:
                        counts[str(labels[row])][joiner.join(tokens[row][start:stop])] += filters
        return [{"class": c, "feature": ngram, "score": wins, "measure": "filters won"}
                for c, counter in counts.items() for ngram, wins in counter.most_common(top)]

    def build_module(self, vocab_size: int, n_classes: int) -> nn.Module:
        return TextCNN(vocab_size, n_classes, self.embed_dim, tuple(self.kernel_sizes), self.filters, self.dropout,
                       self.max_norm, self.make_embedding(vocab_size), self.wide)
