"""The classical models' shared part: TF-IDF over the same tokens the neural models see.

scikit-learn's default token pattern would keep whole Chinese clauses as single tokens, so the vectorizer is
given the project's tokenizer (and accepts pre-tokenized input, which passes through unchanged).

Defaults follow the literature and the shared data sets (BENCHMARKS.md): sublinear TF (1 + log tf), word
1–2-grams; when the tokens are characters (Chinese), 1–3-grams of characters, which beat jieba words on short
Chinese texts (the n-grams recover most words without segmentation errors).

The n-grams are hashed to columns (`HashedTfidf`) rather than kept in a vocabulary: a vocabulary holds one
Python string per n-gram, over a million for the character 1–3-grams of a 60 k-row set, and set the SVM's
worker's memory peak. A model that keeps an exact vocabulary was saved before
hashing; it still loads and explains (`_exact_names`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.utils.validation import check_is_fitted

from textclf.data.tokenize import Tokenizer, identity
from textclf.errors import TextclfError
from textclf.models.base import TextClassifier

WORD_NGRAM_MAX = 2
CHAR_NGRAM_MAX = 3
HASH_SPACE = 2**31 - 1


class HashedTfidf(TransformerMixin, BaseEstimator):
    """TF-IDF of token n-grams whose columns are n-gram hashes: no vocabulary is built or kept.

    The n-grams hash into murmurhash's whole positive range, where two of a data set's n-grams almost never
    meet (about 500 pairs among the 1.4 M character 1–3-grams of 56 k reviews), and only the hashes that
    `min_df` or more training texts fill are kept as columns, renumbered: the features and the classifier's
    weights are those of an exact vocabulary. Names for explanations come from hashing the n-grams of the
    texts at hand, and the training tokens are kept to tell unknown ones.
    """

    def __init__(self, tokenizer=None, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1,
                 sublinear_tf: bool = True):
        self.tokenizer, self.ngram_range, self.min_df, self.sublinear_tf = tokenizer, ngram_range, min_df, sublinear_tf

    def _hasher(self) -> HashingVectorizer:
        return HashingVectorizer(tokenizer=self.tokenizer, preprocessor=identity, lowercase=False, token_pattern=None,
                                 ngram_range=tuple(self.ngram_range), alternate_sign=False, norm=None,
                                 n_features=HASH_SPACE, dtype=np.float32)

    def _columns_of(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each hash's column (its place among the kept hashes) and whether it is kept at all."""
        if not len(self.columns_):
            return np.zeros(len(hashes), np.int64), np.zeros(len(hashes), bool)
        place = np.minimum(np.searchsorted(self.columns_, hashes), len(self.columns_) - 1)
        return place, self.columns_[place] == hashes

    def _kept(self, counts: csr_matrix) -> csr_matrix:
        """The counts of the kept hashes only, in columns 0 … len(columns_) − 1."""
        place, keep = self._columns_of(counts.indices)
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        return csr_matrix((counts.data[keep], place[keep].astype(np.int32), kept_before[counts.indptr]),
                          shape=(counts.shape[0], len(self.columns_)))

    def fit_transform(self, docs, y=None):
        counts = self._hasher().transform(docs)
        hashes, texts = np.unique(counts.indices, return_counts=True)
        self.columns_ = hashes[texts >= self.min_df].astype(np.int32)
        if not len(self.columns_):
            raise TextclfError(f"No word or n-gram occurs in {self.min_df} or more training texts, so there are no "
                               "features to learn from: check the text column, or lower min_df.")
        self.known_tokens_ = sorted(set(chain.from_iterable(self.tokenizer(doc) for doc in docs)))
        self.tfidf_ = TfidfTransformer(sublinear_tf=self.sublinear_tf)
        return self.tfidf_.fit_transform(self._kept(counts))

    def fit(self, docs, y=None):
        self.fit_transform(docs)
        return self

    def transform(self, docs):
        check_is_fitted(self)
        return self.tfidf_.transform(self._kept(self._hasher().transform(docs)))

    def ngrams_by_column(self, docs: Sequence) -> dict[int, str]:
        """Kept column → the first n-gram of `docs` that falls on it."""
        analyze = self._hasher().build_analyzer()
        hasher = FeatureHasher(HASH_SPACE, input_type="string", alternate_sign=False)
        names: dict[int, str] = {}
        for doc in docs:
            ngrams = analyze(doc)
            if not ngrams:
                continue
            place, keep = self._columns_of(hasher.transform([[ngram] for ngram in ngrams]).indices)
            for ngram, column, kept in zip(ngrams, place.tolist(), keep.tolist(), strict=True):
                if kept:
                    names.setdefault(column, ngram)
        return names


class TfidfTextClassifier(TextClassifier):
    """TF-IDF (token n-grams) followed by the classifier that `make_classifier` returns.

    `ngram_max=None` picks by token kind: 3 for characters, 2 for words."""

    unknown_effect = "it ignores them"
    bundle_kind = "tfidf"

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
        self.vectorizer_ = HashedTfidf(Tokenizer(self.tokenizer_), (1, self._ngram_max()), self.min_df,
                                       self.sublinear_tf)
        features = self.vectorizer_.fit_transform(tokens)
        self.classifier_ = self.make_classifier(y, features).fit(features, y)
        self.history_ = []
        return self

    def run_note(self, history: list[dict]) -> str:
        return "classical model: batching does not apply"

    @property
    def has_probabilities(self) -> bool:
        """False only for an SVM trained with a one-example class (too few to calibrate probabilities)."""
        return hasattr(self.classifier_, "predict_proba")

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

    def _hashed(self) -> bool:
        return isinstance(self.vectorizer_, HashedTfidf)

    def _names(self, token_lists: Sequence | None, columns: np.ndarray) -> list[str] | None:
        """The n-grams behind feature columns, as these token lists fill them (a vocabulary names every column
        without them); None when hashed columns have no texts to be named by."""
        if not self._hashed():
            return [str(name) for name in self._exact_names()[columns]]
        if token_lists is None:
            return None
        names = self.vectorizer_.ngrams_by_column(token_lists)
        return [names.get(column, "") for column in columns.tolist()]

    def _exact_names(self) -> np.ndarray:
        """A vocabulary's feature names (a model saved before hashing), built once: it walks the vocabulary."""
        if getattr(self, "_names_of", None) is not self.vectorizer_:
            self._exact, self._names_of = self.vectorizer_.get_feature_names_out(), self.vectorizer_
        return self._exact

    def _unknown(self, tokens: list[str]) -> list[int]:
        """Positions of tokens that no training text had."""
        if not self._hashed():
            return [i for i, token in enumerate(tokens) if token not in self.vectorizer_.vocabulary_]
        if getattr(self, "_known_of", None) is not self.vectorizer_:
            self._known, self._known_of = frozenset(self.vectorizer_.known_tokens_), self.vectorizer_
        return [i for i, token in enumerate(tokens) if token not in self._known]

    def bundle_state(self) -> dict:
        """The learned state a bundle stores (in skops format); a subclass adds what it also needs."""
        return {"vectorizer": self.vectorizer_, "classifier": self.classifier_}

    def restore_state(self, state: dict) -> None:
        self.vectorizer_, self.classifier_ = state["vectorizer"], state["classifier"]
