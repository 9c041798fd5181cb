"""The classical models' shared part: TF-IDF over the same tokens the neural models see.

scikit-learn's default token pattern would keep whole Chinese clauses as single tokens, so the vectorizer is
given the project's tokenizer (and accepts pre-tokenized input, which passes through unchanged).

Defaults follow the literature and the shared data sets (BENCHMARKS.md): sublinear TF (1 + log tf), word
1–2-grams; when the tokens are characters (Chinese), 1–3-grams of characters, which beat jieba words on short
Chinese texts (the n-grams recover most words without segmentation errors).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from textclf.models.base import TextClassifier
from textclf.tokenize import Tokenizer, identity

WORD_NGRAM_MAX = 2
CHAR_NGRAM_MAX = 3


class TfidfTextClassifier(TextClassifier):
    """TF-IDF (token n-grams) followed by the classifier that `make_classifier` returns.

    `ngram_max=None` picks by token kind: 3 for characters, 2 for words."""

    unknown_effect = "it ignores them"

    def __init__(self, *, ngram_max: int | None = None, min_df: int = 1, sublinear_tf: bool = True, **params):
        super().__init__(**params)
        self.ngram_max, self.min_df, self.sublinear_tf = ngram_max, min_df, sublinear_tf

    def _ngram_max(self) -> int:
        if self.ngram_max is not None:
            return self.ngram_max
        return CHAR_NGRAM_MAX if self.tokenizer_ == "chars" else WORD_NGRAM_MAX

    def make_classifier(self, y: np.ndarray, features):
        """The classifier to fit on the training `features` (some choose settings by looking at them)."""
        raise NotImplementedError

    def fit(self, docs: Sequence, labels: Sequence, **ignored):
        """Fit the vectorizer and the classifier on the training texts only."""
        self._start_fit(docs)
        tokens = self._tokens(docs)
        y = self._encode_labels(labels)
        self.vectorizer_ = TfidfVectorizer(
            tokenizer=Tokenizer(self.tokenizer_), preprocessor=identity, lowercase=False, token_pattern=None,
            ngram_range=(1, self._ngram_max()), min_df=self.min_df, sublinear_tf=self.sublinear_tf, dtype=np.float32,
        )
        features = self.vectorizer_.fit_transform(tokens)
        self.classifier_ = self.make_classifier(y, features).fit(features, y)
        self.history_ = []
        return self

    def _features(self, docs: Sequence):
        check_is_fitted(self)
        return self.vectorizer_.transform(self._tokens(docs))

    def predict(self, docs: Sequence) -> np.ndarray:
        features = self._features(docs)
        return self.classes_[self.classifier_.predict(features)]

    def predict_proba(self, docs: Sequence) -> np.ndarray:
        features = self._features(docs)
        return self.classifier_.predict_proba(features)

    def _decision(self, tokens: list[str]) -> tuple[int, float | None]:
        if hasattr(self.classifier_, "predict_proba"):
            return super()._decision(tokens)
        return int(self.classifier_.predict(self._features([tokens]))[0]), None

    def _feature_names(self) -> np.ndarray:
        """The vectorizer's feature names, built once (building them walks the whole vocabulary)."""
        if getattr(self, "_names_of", None) is not self.vectorizer_:
            self._names, self._names_of = self.vectorizer_.get_feature_names_out(), self.vectorizer_
        return self._names

    def _unknown(self, tokens: list[str]) -> list[int]:
        """Positions of words the vectorizer never saw as a feature (when it has a word vocabulary)."""
        vocabulary = getattr(self.vectorizer_, "vocabulary_", None)
        return [] if vocabulary is None else [i for i, token in enumerate(tokens) if token not in vocabulary]

    def bundle_state(self) -> dict:
        """The learned state a bundle stores (in skops format); a subclass adds what it also needs."""
        return {"vectorizer": self.vectorizer_, "classifier": self.classifier_}

    def restore_state(self, state: dict) -> None:
        self.vectorizer_, self.classifier_ = state["vectorizer"], state["classifier"]
