"""TF-IDF + k nearest neighbours by cosine similarity: the simplest reference, no training beyond storing.

It keeps its training texts too (as the tokens it saw, rejoined), so that an explanation can show them.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from textclf.explain import Explanation, feature_token_weights, joiner_for, refuse_all_unknown
from textclf.models import register
from textclf.models.tfidf import TfidfTextClassifier


@register
class KNNClassifier(TfidfTextClassifier):
    key = "knn"
    order = 4

    def __init__(self, *, k: int = 10, weights: str = "distance", **params):
        super().__init__(**params)
        self.k, self.weights = k, weights

    @classmethod
    def label(cls, params: dict) -> str:
        return f"kNN (k={params.get('k', 10)})"

    def make_classifier(self, y: np.ndarray):
        return KNeighborsClassifier(n_neighbors=min(self.k, len(y)), metric="cosine", weights=self.weights,
                                    algorithm="brute")

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
        names = self._feature_names()[row.indices]
        weights = feature_token_weights(tokens, [str(n) for n in names], feature_credit[row.indices])
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
