"""TF-IDF + k nearest neighbours by cosine similarity: the simplest reference, no training beyond storing.

It keeps its training texts too (as the tokens it saw, rejoined), so that an explanation can show them.

`k="auto"` (the default) chooses k on validation: a stratified fifth of the training texts is held out, its
nearest neighbours among the rest are found once, and the candidate k with the best held-out accuracy wins
(ties: the smaller k). The final model then stores all the training texts.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from textclf.explain.explanation import Explanation, feature_token_weights, joiner_for, refuse_all_unknown
from textclf.models import register
from textclf.models.tfidf import TfidfTextClassifier

K_CANDIDATES = (1, 3, 5, 10, 20, 30, 50)
HELD_OUT = 0.2
MIN_DISTANCE = 1e-9


@register
class KNNClassifier(TfidfTextClassifier):
    key = "knn"
    title = "kNN"
    summary = "TF-IDF and the k nearest training texts by cosine similarity"
    order = 4

    def __init__(self, *, k: int | str = "auto", weights: str = "distance", **params):
        super().__init__(**params)
        self.k, self.weights = k, weights

    @classmethod
    def label(cls, params: dict) -> str:
        return f"kNN (k={params.get('k', 'auto')})"

    def make_classifier(self, y: np.ndarray, features):
        self.k_ = self._choose_k(features, y) if self.k == "auto" else int(self.k)
        return self._neighbours(min(self.k_, len(y)))

    def _neighbours(self, k: int) -> KNeighborsClassifier:
        return KNeighborsClassifier(n_neighbors=k, metric="cosine", weights=self.weights, algorithm="brute")

    def _choose_k(self, features, y: np.ndarray) -> int:
        """The candidate k with the best accuracy on a held-out fifth of the training data."""
        counts = np.bincount(y)
        if len(y) < 10 or counts.min() < 2:
            return K_CANDIDATES[0] if len(y) < K_CANDIDATES[1] else min(10, len(y))
        fit, held = train_test_split(np.arange(len(y)), test_size=HELD_OUT, stratify=y, random_state=self.seed)
        largest = min(max(K_CANDIDATES), len(fit))
        distances, neighbours = self._neighbours(largest).fit(features[fit], y[fit]).kneighbors(features[held])
        votes_for = y[fit][neighbours]
        weights = 1.0 / np.maximum(distances, MIN_DISTANCE) if self.weights == "distance" else np.ones_like(distances)
        scores = {k: self._accuracy(votes_for[:, :k], weights[:, :k], y[held], len(counts))
                  for k in K_CANDIDATES if k <= largest}
        return max(scores, key=lambda k: (scores[k], -k))

    @staticmethod
    def _accuracy(votes_for: np.ndarray, weights: np.ndarray, truth: np.ndarray, n_classes: int) -> float:
        tally = np.zeros((len(truth), n_classes))
        np.add.at(tally, (np.repeat(np.arange(len(truth)), votes_for.shape[1]), votes_for.ravel()), weights.ravel())
        return float(np.mean(tally.argmax(axis=1) == truth))

    def fit(self, docs, labels, **ignored):
        super().fit(docs, labels)
        joiner = joiner_for(self.tokenizer_)
        self.train_texts_ = [doc if isinstance(doc, str) else joiner.join(doc) for doc in docs]
        return self

    def bundle_state(self) -> dict:
        return {**super().bundle_state(), "texts": list(getattr(self, "train_texts_", []))}

    def restore_state(self, state: dict) -> None:
        super().restore_state(state)
        texts = state.get("texts")
        self.train_texts_ = [t for t in texts if isinstance(t, str)] if isinstance(texts, list) else []

    def explainers(self) -> dict:
        return {"neighbours": self._explain_neighbours}

    def _explain_neighbours(self, tokens: list[str]) -> Explanation:
        """The k nearest training texts; a word's weight is its share of the similarity to neighbours that
        voted for the prediction minus its share of the similarity to those that voted against."""
        row = self._features([tokens]).tocsr()
        refuse_all_unknown(self.display_name, tokens, row.nnz)
        decision = self._decision(tokens)
        knn = self.classifier_
        distances, index = knn.kneighbors(row)
        distances, index = distances[0], index[0]
        labels = self.classes_[knn.classes_[knn._y[index]]]
        votes = _votes(distances, self.weights)
        signs = np.where(labels == self.classes_[decision[0]], 1.0, -1.0)
        shared = knn._fit_X[index].multiply(row).toarray()
        feature_credit = (signs * votes / votes.sum()) @ shared
        names = self._names([tokens], row.indices)
        weights = feature_token_weights(tokens, names, feature_credit[row.indices])
        texts = getattr(self, "train_texts_", [])
        neighbours = [{"text": texts[i] if i < len(texts) else None, "label": str(label),
                       "similarity": float(1 - d), "vote": float(v)}
                      for i, label, d, v in zip(index.tolist(), labels, distances, votes / votes.sum(), strict=True)]
        return self._explanation("neighbours", tokens, decision, weights, unknown=self._unknown(tokens),
                                 details={"neighbours": neighbours})


def _votes(distances: np.ndarray, weights: str) -> np.ndarray:
    """Each neighbour's vote as scikit-learn counts it: 1, or 1/distance (exact matches take all the vote)."""
    if weights != "distance":
        return np.ones_like(distances)
    exact = distances == 0
    return exact.astype(float) if exact.any() else 1 / distances
