"""A pretrained encoder, frozen: its sentence embeddings and a logistic regression (a classical-family model).

Each text is read once by the encoder (all-MiniLM-L6-v2 unless `path` names another local folder, see
textclf.models.pretrained), in length-sorted batches so that padding costs little, and its word pieces' vectors
are averaged over the real pieces (the encoder's own pooling) and scaled to unit length (its Normalize step).
A logistic regression learns the classes from those vectors, on the training and validation parts together
like every model without epochs. A bundle stores the regression's weights as JSON and names the encoder by the
sha256 of its weights and tokenizer, which must match when it loads.

It explains by occluding words: each word's weight is how much the predicted class's probability falls when
that word is left out. Integrated gradients would need the regression and the encoder as one differentiable
module; occlusion asks only for predictions and reads directly as "without this word".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from textclf.data.vocab import EncodedTexts
from textclf.explain.explanation import Explanation
from textclf.models import register
from textclf.models.base import TextClassifier
from textclf.models.pretrained import (
    DEFAULT_PIECES,
    EncoderHead,
    EncoderSource,
    check_coverage,
    load_encoder,
    require_hashes,
    resolve_encoder,
    word_pieces,
)
from textclf.training.loop import resolve_device

STATE_KEYS = ("encoder_sha256", "tokenizer_sha256", "coef", "intercept")


@cache
def frozen_encoder(source: EncoderSource, device: str) -> EncoderHead:
    """The pretrained encoder in evaluation mode, loaded once per process (the head is not used)."""
    return EncoderHead(load_encoder(source), 2).to(device).eval()


def sentence_embeddings(source: EncoderSource, token_lists: list[list[str]], max_len: int, batch_size: int,
                        device: str = "cpu") -> np.ndarray:
    """Unit-length mean-pooled embeddings, computed in batches of texts of similar length."""
    encoded = word_pieces(source, token_lists, max_len).encoded
    return embed_encoded(frozen_encoder(source, device), encoded, batch_size, device)


@torch.no_grad()
def embed_encoded(module: EncoderHead, encoded: EncodedTexts, batch_size: int, device: str = "cpu") -> np.ndarray:
    out = torch.zeros(len(encoded), module.encoder.config.hidden_size)
    order = torch.argsort(encoded.lengths, stable=True)
    for index in torch.split(order, batch_size):
        ids, lengths = encoded.batch(index, int(encoded.lengths[index].max()))
        out[index] = module.pooled(ids.to(device), lengths).float().cpu()
    return torch.nn.functional.normalize(out, dim=1).numpy()


@register
class FrozenEncoderClassifier(TextClassifier):
    """Frozen encoder embeddings + logistic regression."""

    key, title, order = "encoder", "Encoder + LR", 8
    summary = "a pretrained encoder's frozen sentence embeddings (all-MiniLM-L6-v2) and a logistic regression"
    relative_cost = 8
    bundle_kind = "json"
    unknown_effect = "it reads them as unknown word pieces"
    form_fields = ("path",)  # the Train page asks for the encoder folder

    def __init__(self, *, path: str = "", C: float = 1.0, max_len: int = DEFAULT_PIECES, batch_size: int = 64,
                 device: str = "auto", **params):
        super().__init__(**params)
        self.path, self.C, self.max_len, self.batch_size, self.device = path, C, max_len, batch_size, device

    @classmethod
    def label(cls, params: dict) -> str:
        return "encoder" if not params.get("path") else f"encoder {str(params['path']).rstrip('/').split('/')[-1]}"

    def fit(self, docs: Sequence, labels: Sequence, **ignored):
        self._start_fit(docs)
        tokens = self._tokens(docs)
        y = self._encode_labels(labels)
        self.source_ = resolve_encoder(self.path)
        self.unknown_share_ = check_coverage(self.source_, tokens, self.max_len)
        features = self._embed(tokens)
        self.classifier_ = LogisticRegression(C=self.C, max_iter=2000).fit(features, y)
        self.history_ = []
        return self

    def _embed(self, tokens: list[list[str]]) -> np.ndarray:
        device = str(resolve_device(self.device))
        return sentence_embeddings(self.source_, tokens, self.max_len, self.batch_size, device)

    def run_note(self, history: list[dict]) -> str:
        return "frozen encoder: batching does not apply"

    def predict_proba(self, docs: Sequence) -> np.ndarray:
        check_is_fitted(self)
        return self.classifier_.predict_proba(self._embed(self._tokens(docs)))

    @property
    def n_parameters(self) -> int:
        """The regression's numbers (the encoder's are pretrained and stay as they are)."""
        return int(self.classifier_.coef_.size + self.classifier_.intercept_.size)

    def fit_details(self) -> dict:
        return {"encoder": self.source_.name, "encoder_sha256": self.source_.sha256,
                "unknown_piece_share": getattr(self, "unknown_share_", None)}

    def bundle_state(self) -> dict:
        return {"encoder_sha256": self.source_.sha256, "tokenizer_sha256": self.source_.tokenizer_sha256,
                "coef": self.classifier_.coef_.tolist(), "intercept": self.classifier_.intercept_.tolist()}

    def restore_state(self, state: dict) -> None:
        """The regression's weights, once the encoder folder is the one it was trained on and the shapes fit."""
        if not isinstance(state, dict) or set(state) != set(STATE_KEYS):
            raise ValueError(f"the state must hold exactly {', '.join(STATE_KEYS)}")
        self.source_ = resolve_encoder(self.path)
        require_hashes(self.source_, state["encoder_sha256"], state["tokenizer_sha256"], "This bundle")
        coef = np.asarray(state["coef"], dtype=np.float64)
        intercept = np.asarray(state["intercept"], dtype=np.float64)
        rows = 1 if len(self.classes_) == 2 else len(self.classes_)
        width = frozen_encoder(self.source_, "cpu").encoder.config.hidden_size
        if coef.shape != (rows, width) or intercept.shape != (rows,) or not np.isfinite(coef).all():
            raise ValueError(f"its weights are not {rows} finite rows of {width} numbers")
        classifier = LogisticRegression(C=self.C)
        classifier.coef_, classifier.intercept_ = coef, intercept
        classifier.classes_ = np.arange(len(self.classes_))
        self.classifier_ = classifier
        self.device = "cpu"

    def explainers(self) -> dict:
        return {"occlusion": self._explain_occlusion}

    def _explain_occlusion(self, tokens: list[str]) -> Explanation:
        pieces = word_pieces(self.source_, [tokens], self.max_len)
        read = 1 + max((w for w in pieces.words[0] if w is not None), default=-1)
        variants = [list(tokens)] + [tokens[:i] + tokens[i + 1:] for i in range(read)]
        probabilities = self.classifier_.predict_proba(self._embed(variants))
        index = int(np.argmax(probabilities[0]))
        weights = probabilities[0, index] - probabilities[1:, index]
        note = ("Occlusion: each word's weight is how much the predicted class's probability falls when the word "
                "is left out (negative: the class is likelier without it).")
        return self._explanation("occlusion", list(tokens), (index, float(probabilities[0, index])), weights,
                                 read=read, notes=[note])
