"""The estimator wrapper shared by the neural models (TextCNN, BiRNN).

It owns what is not architecture: the vocabulary (fitted on the training texts given to `fit`), the
one-time encoding, the batching strategy, the training loop and batched prediction. A subclass only says
how to build its `nn.Module`.

Defaults follow Kim (2014) where he published a choice: 300-dimensional embeddings initialised uniformly in
[-0.25, 0.25] (his CNN-rand; the `embedding` setting picks the other modes, see textclf.data.embeddings),
dropout 0.5, mini-batches of 50, early stopping on a validation part. The epoch
cap is high (30) because early stopping, not the cap, should end training; `patience` counts epochs in a row
in which neither validation accuracy rose nor validation loss fell (by 0.001 below its lowest). Its default, 2,
runs about 40 % fewer epochs than the earlier 5 for the same paired accuracy (the best weights are restored, so
every epoch after the best is spent only on finding it; BENCHMARKS.md, "No wasted epochs"); a run whose last
progress came late waits longer (a fifth of that epoch: textclf.training.loop.EarlyStopping). Gradients are
clipped to a global L2 norm of 5 (a guard against the occasional exploding RNN step; it rarely binds for the CNN).

`precision` (auto, bf16, fp32) is the arithmetic of forward passes (textclf.training.loop). The default, auto, is
bf16 where the chip computes it natively (fp32 elsewhere): on Kim's 10-fold sets bf16 was as accurate as fp32,
paired fold by fold, and a TextCNN epoch took about two thirds of the time (BENCHMARKS.md, "bf16 mixed precision").
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted
from torch import nn

from textclf.data.embeddings import (  # noqa: F401  (init_embedding, EMBEDDING_INIT_RANGE: re-exported)
    CORPUS,
    EMBEDDING_INIT_RANGE,
    WordEmbedding,
    check_embedding,
    init_embedding,
    pretrained_matrix,
)
from textclf.data.vocab import UNK, EncodedTexts, Vocabulary, encode, visible_lengths
from textclf.errors import TextclfError
from textclf.explain.attribution import NEGLIGIBLE_GAP, TOLERANCE, integrated_gradients, sum_by_word
from textclf.explain.explanation import Explanation, refuse_all_unknown
from textclf.models.base import TextClassifier
from textclf.training.batching import DEFAULT_BUCKETS, Strategy, evaluation_strategy, padding_stats
from textclf.training.loop import (
    AUTO_PRECISION,
    FP32,
    ProgressCallback,
    StopCheck,
    TrainSettings,
    check_precision,
    predict_logits,
    resolve_device,
    resolve_precision,
    seed_everything,
    train_module,
    wait_after,
)
from textclf.training.strategies import cost_factor, get_strategy

# Tokens a neural model reads: BERT's 512, which keeps whole nearly every text of the shared sets and most
# news articles; 256 cut most of BBC's and cost its TextCNN 1.6 points against the SVM (BENCHMARKS.md).
DEFAULT_MAX_LEN = 512
# A recurrent layer keeps every time step's gates for the backward pass: the default BiLSTM holds about 25 KB
# of activations per token slot (0.62 GB for 50 texts of 512 tokens), the TextCNN about 11 KB. So recurrent
# models accumulate gradients over chunks of at most 50 × 256 slots, the largest batch of the earlier 256-token
# default, whose memory the scale table measured (BENCHMARKS.md, "Memory per worker").
RECURRENT_TRAINING_SLOTS = 50 * 256
# The epoch whose weights early stopping keeps, typically: SCALE × (optimiser steps an epoch) ** STEPS_EXPONENT ×
# classes ** CLASSES_EXPONENT, fitted in log space on the runs of bench/best_epoch.py (8 data sets, 400 training
# texts to whole sets; BENCHMARKS.md, "When early stopping ends a run"): a small training set (few steps an
# epoch) and many classes take more epochs. What the time estimate expects a run to train, before its wait.
BEST_EPOCH_SCALE, STEPS_EXPONENT, CLASSES_EXPONENT = 6.5, -0.22, 0.66
STILL_IMPROVING = "still improving at the epoch cap"  # how a run's note begins when the cap ended it
RUN_SETTINGS = ("epochs", "batch_size", "lr", "patience")  # a comparison's settings that override model defaults


def typical_best_epoch(steps_per_epoch: int, classes: int) -> float:
    """The epoch early stopping typically keeps, for this many optimiser steps an epoch and classes."""
    return BEST_EPOCH_SCALE * max(steps_per_epoch, 1) ** STEPS_EXPONENT * max(classes, 2) ** CLASSES_EXPONENT


def best_epoch(history: list[dict]) -> int:
    """The epoch whose weights early stopping kept: best validation accuracy, ties to the lower loss."""
    return max(history, key=lambda h: (h["val_accuracy"], -h.get("val_loss", 0.0)))["epoch"]


@dataclass(frozen=True)
class AttributionInput:
    """What integrated gradients needs: the flat tokens, the decision, a module reading one row of `ids`."""

    tokens: list[str]
    decision: tuple[int, float | None]
    module: nn.Module
    ids: torch.Tensor
    lengths: torch.Tensor
    read: int
    unknown: list[int]
    baseline: torch.Tensor | None = None  # the ids integrated from (None: all pad)
    words: list[int | None] | None = None  # each position's token, for models reading word pieces (None: 1 to 1)

    def token_weights(self, position_weights: np.ndarray) -> np.ndarray:
        """One weight per token: a word-piece model's pieces summed into their words."""
        return position_weights if self.words is None else sum_by_word(position_weights, self.words, self.read)


class NeuralTextClassifier(TextClassifier):
    """Vocabulary + batching + training loop around a module built by `build_module`."""

    relative_cost = 10
    bundle_kind = "neural"
    form_fields = ("embed_dim", "embedding")
    default_optimizer = "adam"
    # Adam's published default (Kingma & Ba 2015) for every neural model; Adadelta as in Kim (2014)'s code.
    # The TextCNN once used 0.002 (never measured): 0.001 gained 0.6 points on online_shopping_10_cats (BENCHMARKS.md).
    default_lrs = {"adam": 1e-3, "adadelta": 1.0}
    max_training_slots: int | None = None  # see RECURRENT_TRAINING_SLOTS
    earlier_defaults = {"precision": FP32}  # bundles saved before the option trained and predict in fp32

    def __init__(self, *, embed_dim: int = 300, dropout: float = 0.5, max_len: int = DEFAULT_MAX_LEN,
                 min_freq: int = 2, max_vocab: int = 50_000, batching: str = "bucket", batch_size: int = 50,
                 n_buckets: int = DEFAULT_BUCKETS, pad_to: str = "batch", epochs: int = 30, lr: float | None = None,
                 optimizer: str | None = None, clip_norm: float | None = 5.0, patience: int = 2,
                 device: str = "auto", embedding: str = "rand", vectors: str = CORPUS, precision: str = AUTO_PRECISION,
                 **params):
        super().__init__(**params)
        self.embed_dim, self.dropout = embed_dim, dropout
        self.embedding, self.vectors = embedding, vectors
        self.max_len, self.min_freq, self.max_vocab = max_len, min_freq, max_vocab
        self.batching, self.batch_size, self.n_buckets, self.pad_to = batching, batch_size, n_buckets, pad_to
        self.epochs, self.lr, self.optimizer, self.clip_norm = epochs, lr, optimizer, clip_norm
        self.patience, self.device, self.precision = patience, device, precision

    def build_module(self, vocab_size: int, n_classes: int) -> nn.Module:
        raise NotImplementedError

    @classmethod
    def embedding_label(cls, params: dict) -> str:
        """The settings every neural model's label shows (labels must tell runs apart): '' for random embeddings
        at the model's default precision, else the embedding mode and, for a file, its name, then a precision
        asked for (`cnn:precision=fp32` beside `cnn`)."""
        mode, source = params.get("embedding", "rand"), params.get("vectors", CORPUS)
        embedding = "" if mode == "rand" else mode if source == CORPUS else f"{mode} {Path(str(source)).stem}"
        default = cls().precision  # the model's own __init__ default (auto; fp32 for fine-tuning)
        precision = params.get("precision", default)
        return ", ".join(filter(None, [embedding, "" if precision == default else str(precision)]))

    def make_embedding(self, vocab_size: int) -> WordEmbedding:
        """The embedding layer in this model's mode, started from the vectors prepared by `fit` (if any)."""
        return WordEmbedding(vocab_size, self.embed_dim, self.embedding, getattr(self, "initial_vectors_", None))

    def build_strategy(self) -> Strategy:
        """The batching strategy these settings describe (unfitted), for training, planning and restoring."""
        return get_strategy(self.batching).for_texts(self.batch_size, n_buckets=self.n_buckets, pad_to=self.pad_to)

    @classmethod
    def run_grid(cls, batchings, seeds) -> list[tuple[str, int]]:
        return [(batching, seed) for seed in seeds for batching in batchings]

    @classmethod
    def check_batchings(cls, batchings) -> None:
        if not batchings:
            raise TextclfError("Neural models need at least one batching strategy.")

    @classmethod
    def run_settings(cls, batching: str, max_len: int, config) -> dict:
        chosen = {name: getattr(config, name) for name in RUN_SETTINGS if getattr(config, name) is not None}
        return {"batching": batching, "max_len": max_len, "n_buckets": config.n_buckets, "pad_to": config.pad_to,
                "device": config.device, **chosen}

    @classmethod
    def expected_cost(cls, batching: str) -> float:
        return cls.relative_cost * cost_factor(batching)

    def fit_for_run(self, train, validation, *, progress=None, should_stop=None):
        """Train on the training part; early stopping watches the validation part."""
        return self.fit(train[0], list(train[1]), validation=validation, progress=progress, should_stop=should_stop)

    def history_records(self) -> list[dict]:
        return [record.as_dict() for record in self.history_]

    def run_note(self, history: list[dict]) -> str:
        """A warning when the epoch cap, not early stopping, ended a model that was still improving."""
        if len(history) >= self.epochs and best_epoch(history) == len(history):
            return f"{STILL_IMPROVING} ({self.epochs}): more epochs may help"
        return ""

    def run_measures(self, test_docs: Sequence) -> dict:
        return {"inference_padded_slots": self.evaluation_slots(test_docs)}

    def lengths_key(self) -> Hashable:
        return type(self)._tokens, type(self)._lengths, self.tokenizer, self.max_len, self.reads_raw_text

    def training_lengths(self, docs: Sequence):
        """The lengths `fit` batches these training texts on: tokenized, split and truncated as it does (by an
        unfitted copy, so that a fitted model keeps what it learned)."""
        planner = clone(self)
        planner._start_fit(docs)
        return planner._lengths(planner._tokens(docs))

    def slots_key(self) -> Hashable:
        return (self.lengths_key(), type(self).build_strategy, self.batching, self.batch_size, self.n_buckets,
                self.pad_to, self.seed, self.epochs)

    def planned_slots(self, lengths) -> int:
        """The padded slots of every epoch's plan, as training draws them: the strategy `fit` builds, fitted on
        the same lengths, planning from a generator seeded as the training loop seeds its own (early stopping
        can only make the real count smaller)."""
        strategy = self.build_strategy().fit(lengths)
        generator = torch.Generator().manual_seed(self.seed)
        return sum(padding_stats(strategy.plan(lengths, generator), lengths).padded_slots for _ in range(self.epochs))

    def expected_epochs(self, training_texts: int, classes: int) -> float:
        """Early stopping ends a run its wait after its best epoch, which comes at the typical best epoch for
        this training set; the cap bounds it."""
        best = typical_best_epoch(math.ceil(training_texts / self.batch_size), classes)
        return min(self.epochs, best + wait_after(best, self.patience))

    def expected_share(self, training_texts: int, classes: int) -> float:
        return self.expected_epochs(training_texts, classes) / self.epochs

    def fit(self, docs: Sequence, labels: Sequence, *, validation: tuple[Sequence, Sequence] | None = None,
            progress: ProgressCallback | None = None, should_stop: StopCheck | None = None):
        """Train on (docs, labels); early stopping watches `validation` (or the training data if none)."""
        self._check_settings()
        self._start_fit(docs)
        tokens = self._tokens(docs)
        y = torch.from_numpy(self._encode_labels(labels))
        self._fit_inputs(tokens)
        train = self._encode(tokens)
        val_docs, val_labels = validation if validation is not None else (tokens, labels)
        val, y_val = self._encode(self._tokens(val_docs)), torch.from_numpy(self._label_ids(val_labels))
        self.strategy_ = self.build_strategy().fit(train.lengths)
        seed_everything(self.seed)
        self.device_ = resolve_device(self.device)
        self.precision_ = resolve_precision(self.precision, self.device_)
        self.module_ = self._new_module().to(self.device_)
        self.history_ = train_module(self.module_, train, y, val, y_val, self.strategy_, self._train_settings(train),
                                     device=self.device_, progress=progress, should_stop=should_stop)
        self.module_.eval()
        return self

    def _fit_inputs(self, tokens: list) -> None:
        """Learn from the training tokens what turns texts into the module's input: the vocabulary, and the
        starting vectors `_new_module` uses (a pretrained encoder brings its own word pieces instead)."""
        words = self._word_lists(tokens)
        self.vocab_ = Vocabulary.fit(words, min_freq=self.min_freq, max_size=self.max_vocab)
        self.initial_vectors_, self.embedding_coverage_ = pretrained_matrix(
            self.embedding, self.vectors, self.vocab_, words, self.embed_dim, seed=self.seed, min_count=self.min_freq)

    def _new_module(self) -> nn.Module:
        """The module training starts from (built after seeding, so its initial weights are repeatable)."""
        module = self.build_module(len(self.vocab_), len(self.classes_))
        del self.initial_vectors_
        return module

    def _train_settings(self, train: EncodedTexts) -> TrainSettings:
        """How the training loop trains this model on `train` (the encoded training texts)."""
        return TrainSettings(epochs=self.epochs, lr=self.learning_rate(), patience=self.patience, seed=self.seed,
                             optimizer=self.optimizer or self.default_optimizer, clip_norm=self.clip_norm,
                             max_slots=self.max_training_slots, precision=self.precision_)

    def learning_rate(self) -> float:
        """`lr` if set, else this model's default for its optimizer."""
        return self.lr or self.default_lrs[self.optimizer or self.default_optimizer]

    def fit_details(self) -> dict:
        details = {"precision": self.precision_} if hasattr(self, "precision_") else {}
        coverage = getattr(self, "embedding_coverage_", None)
        if coverage is None:
            return details
        return {**details, "vector_vocabulary_coverage": coverage.vocabulary_share,
                "vector_token_coverage": coverage.token_share}

    def _check_settings(self) -> None:
        check_embedding(self.embedding)
        check_precision(self.precision)
        for name in ("epochs", "batch_size", "max_len", "min_freq", "n_buckets", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}.")
        if (self.optimizer or self.default_optimizer) not in self.default_lrs:
            raise ValueError(f"optimizer must be one of {', '.join(self.default_lrs)}, not {self.optimizer!r}.")

    def _word_lists(self, tokens: list) -> list[list[str]]:
        """The token lists that vocabulary and word vectors learn from (a hierarchical model's are nested)."""
        return tokens

    def _encode(self, tokens: list[list[str]]) -> EncodedTexts:
        return encode(tokens, self.vocab_, self.max_len)

    def _lengths(self, tokens: list) -> torch.Tensor:
        """The lengths `_encode` gives these tokens, without encoding them (no vocabulary needed)."""
        return torch.from_numpy(visible_lengths([len(doc) for doc in tokens], self.max_len))

    def predict_proba(self, docs: Sequence) -> np.ndarray:
        logits = self.logits(docs)
        return torch.softmax(logits, dim=1).numpy()

    def logits(self, docs: Sequence) -> torch.Tensor:
        """Raw class scores (order preserved), batched with the evaluation batching whatever trained the model."""
        check_is_fitted(self)
        data = self._encode(self._tokens(docs))
        return predict_logits(self.module_, data, evaluation_strategy(), self.device_, self.precision_)

    def evaluation_slots(self, docs: Sequence) -> int:
        """Batch slots (real tokens plus padding) that predicting `docs` fills."""
        data = self._encode(self._tokens(docs))
        return padding_stats(evaluation_strategy().plan(data.lengths), data.lengths).padded_slots

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.module_.parameters() if p.requires_grad)

    # A bundle (textclf.storage.bundle, kind "neural") keeps the vocabulary with the fitted bucket bounds as
    # JSON and the weights as a table of tensors; it puts them back in this order, checking sizes between.

    def bundle_vocabulary(self) -> dict:
        return {"tokens": self.vocab_.to_list(), "bucket_boundaries": getattr(self.strategy_, "boundaries", None)}

    def restore_vocabulary(self, tokens: list[str], bucket_boundaries: list[int] | None) -> None:
        self.vocab_ = Vocabulary.from_list(tokens)
        self.strategy_ = self.build_strategy()
        if bucket_boundaries is not None:
            self.strategy_.boundaries = list(bucket_boundaries)
        self.device_ = torch.device("cpu")
        self.precision_ = resolve_precision(self.precision, self.device_)

    def restored_parameter_count(self) -> int:
        """How many numbers the weights must hold, counted without allocating them."""
        with torch.device("meta"):
            return sum(p.numel() for p in self._restored_module().parameters())

    def restore_weights(self, state: dict) -> None:
        self.module_ = self._restored_module()
        self.module_.load_state_dict(state)
        self.module_.eval()

    def _restored_module(self) -> nn.Module:
        return self.build_module(len(self.vocab_), len(self.classes_))

    def explainers(self) -> dict:
        return {"integrated_gradients": self._explain_integrated_gradients}

    def _read(self, tokens: list[str]) -> tuple[torch.Tensor, torch.Tensor, int, list[int]]:
        """One text as the module reads it (ids, length), how many tokens that is, and which are unknown."""
        data = self._encode([tokens])
        read = min(len(tokens), self.max_len)
        unknown = [i for i, token_id in enumerate(data.ids[0, :read].tolist()) if token_id == UNK]
        refuse_all_unknown(self.display_name, tokens, read - len(unknown))
        return data.ids.to(self.device_), data.lengths, read, unknown

    def _attribution_input(self, tokens: list) -> AttributionInput:
        """The text as one row of token ids for a module that reads such rows (HAN adapts its own)."""
        ids, lengths, read, unknown = self._read(tokens)
        return AttributionInput(list(tokens), self._decision(tokens), self.module_, ids, lengths, read, unknown)

    def _explain_integrated_gradients(self, tokens: list) -> Explanation:
        source = self._attribution_input(tokens)
        result = integrated_gradients(source.module, source.ids, source.lengths, source.decision[0],
                                      baseline=source.baseline)
        total = float(result.tokens.sum())
        note = (f"Completeness: the attributions sum to {total:.3f}; the predicted class's margin moved "
                f"{result.margin - result.baseline_margin:.3f} from the all-pad baseline (gap "
                f"{result.relative_gap:.1%}, {result.steps} steps).")
        if result.relative_gap > TOLERANCE and result.gap >= NEGLIGIBLE_GAP:
            note += (" That gap is over 5 %: the model's output changes abruptly somewhere between the baseline "
                     "and this text, so read these attributions as approximate.")
        details = {"margin": result.margin, "baseline_margin": result.baseline_margin,
                   "attribution_sum": total, "completeness_gap": result.relative_gap, "steps": result.steps}
        return self._explanation("integrated_gradients", source.tokens, source.decision,
                                 source.token_weights(result.tokens),
                                 read=source.read, unknown=source.unknown, details=details, notes=[note])
