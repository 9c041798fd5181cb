"""TF-IDF + k nearest neighbours by cosine similarity: the simplest reference, no training beyond storing."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

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
