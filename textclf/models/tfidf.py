"""The classical models' shared part: TF-IDF over the same tokens the neural models see.

scikit-learn's default token pattern would keep whole Chinese clauses as single tokens, so the vectorizer is
given the project's tokenizer (and accepts pre-tokenized input, which passes through unchanged).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from textclf.models.base import TextClassifier
from textclf.tokenize import Tokenizer, identity


class TfidfTextClassifier(TextClassifier):
    """TF-IDF (word n-grams) followed by the classifier that `make_classifier` returns."""

    unknown_effect = "it ignores them"

    def __init__(self, *, ngram_max: int = 2, min_df: int = 1, sublinear_tf: bool = True, **params):
        super().__init__(**params)
        self.ngram_max, self.min_df, self.sublinear_tf = ngram_max, min_df, sublinear_tf

    def make_classifier(self, y: np.ndarray):
        raise NotImplementedError

    def fit(self, docs: Sequence, labels: Sequence, **ignored):
        """Fit the vectorizer and the classifier on the training texts only."""
        self._start_fit(docs)
        tokens = self._tokens(docs)
        y = self._encode_labels(labels)
        self.vectorizer_ = TfidfVectorizer(
            tokenizer=Tokenizer(self.tokenizer_), preprocessor=identity, lowercase=False, token_pattern=None,
            ngram_range=(1, self.ngram_max), min_df=self.min_df, sublinear_tf=self.sublinear_tf, dtype=np.float32,
        )
        features = self.vectorizer_.fit_transform(tokens)
        self.classifier_ = self.make_classifier(y).fit(features, y)
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
