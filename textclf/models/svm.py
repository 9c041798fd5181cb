"""TF-IDF + linear SVM, the strong classical reference for text classification.

A linear SVM gives margins, not probabilities; Platt scaling fitted by cross-validation on the training data
turns them into calibrated class probabilities for the Predict page. Labels come from those probabilities.
With a class of a single training example there is nothing to cross-validate: the plain SVM is kept and
`predict_proba` is unavailable.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC

from textclf.models import register
from textclf.models.tfidf import TfidfTextClassifier

MAX_CALIBRATION_FOLDS = 3


@register
class SVMClassifier(TfidfTextClassifier):
    key = "svm"
    order = 3

    def __init__(self, *, C: float = 0.5, **params):
        super().__init__(**params)
        self.C = C

    @classmethod
    def label(cls, params: dict) -> str:
        return "SVM"

    def make_classifier(self, y: np.ndarray):
        svm = LinearSVC(C=self.C, random_state=self.seed)
        folds = min(MAX_CALIBRATION_FOLDS, int(np.bincount(y).min()))
        return CalibratedClassifierCV(svm, cv=folds, ensemble=False) if folds >= 2 else svm

    @property
    def n_parameters(self) -> int:
        svm = getattr(self.classifier_, "calibrated_classifiers_", [self.classifier_])[0]
        svm = getattr(svm, "estimator", svm)
        return int(svm.coef_.size + svm.intercept_.size)
