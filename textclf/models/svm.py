"""TF-IDF + linear SVM, the strong classical reference for text classification.

A linear SVM gives margins, not probabilities; Platt scaling fitted by cross-validation on the training data
turns them into calibrated class probabilities for the Predict page. Labels come from the margins of the SVM
fitted on all the training data (the calibration can only blur them). With a class of a single training
example there is nothing to cross-validate: the plain SVM is kept and `predict_proba` is unavailable.

C = 1 (scikit-learn's default, and the value of the issue-8 baselines); `nb=True` gives NB-SVM (Wang & Manning
2012, `textclf.models.nbsvm`), which is ahead on short sentiment texts.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC

from textclf.errors import TextclfError
from textclf.explain.explanation import Explanation, feature_token_weights, refuse_all_unknown
from textclf.models import register
from textclf.models.nbsvm import NBSVM
from textclf.models.tfidf import TfidfTextClassifier

MAX_CALIBRATION_FOLDS = 3


@register
class SVMClassifier(TfidfTextClassifier):
    key = "svm"
    title = "SVM"
    summary = "TF-IDF and a linear SVM (nb=true: NB-SVM)"
    order = 3

    def __init__(self, *, C: float = 1.0, nb: bool = False, **params):
        super().__init__(**params)
        self.C, self.nb = C, nb

    @classmethod
    def label(cls, params: dict) -> str:
        return "NB-SVM" if params.get("nb") else "SVM"

    def make_classifier(self, y: np.ndarray, features):
        svm = NBSVM(C=self.C, random_state=self.seed) if self.nb else LinearSVC(C=self.C, random_state=self.seed)
        folds = min(MAX_CALIBRATION_FOLDS, int(np.bincount(y).min()))
        return CalibratedClassifierCV(svm, cv=folds, ensemble=False) if folds >= 2 else svm

    @property
    def svm_(self):
        """The SVM fitted on all the training data (inside the calibration, when there is one)."""
        calibrated = getattr(self.classifier_, "calibrated_classifiers_", None)
        return calibrated[0].estimator if calibrated else self.classifier_

    def predict(self, docs) -> np.ndarray:
        features = self._features(docs)
        return self.classes_[self.svm_.predict(features)]

    @property
    def n_parameters(self) -> int:
        return int(self.svm_.coef_.size + self.svm_.intercept_.size)

    def explainers(self) -> dict:
        return {"features": self._explain_features}

    def _decision(self, tokens: list[str]) -> tuple[int, float | None]:
        """The class `predict` gives (the SVM's margins) and the calibrated probability of that class."""
        features = self._features([tokens])
        index = int(self.svm_.predict(features)[0])
        has_probabilities = hasattr(self.classifier_, "predict_proba")
        return index, float(self.classifier_.predict_proba(features)[0, index]) if has_probabilities else None

    def _linear_terms(self, features) -> tuple[object, np.ndarray]:
        """What the labelling SVM multiplies (the features as it reads them) and by which coefficients.

        The plain SVM reads the TF-IDF values; NB-SVM reads binarized n-grams, each weighted by its
        log-count ratio × its SVM weight, so its explanation must use those or it credits the wrong features.
        """
        svm = self.svm_
        if hasattr(svm, "explained_input"):
            return (None if features is None else svm.explained_input(features)), svm.explained_coef_
        return features, linear_coefficients(svm)

    def _explain_features(self, tokens: list[str]) -> Explanation:
        """Each active feature's value (as the SVM that labels the text reads it) × its coefficient for the
        predicted class; with the intercept they add up to that class's margin."""
        values, coefficients = self._linear_terms(self._features([tokens]))
        row = values.tocsr()
        refuse_all_unknown(self.display_name, tokens, row.nnz)
        decision = self._decision(tokens)
        direction = class_direction(coefficients, decision[0])
        names = self._names([tokens], row.indices)
        contributions = row.data * direction[row.indices]
        order = np.argsort(-np.abs(contributions))
        features = [{"feature": names[i], "value": float(row.data[i]),
                     "coefficient": float(direction[row.indices[i]]), "weight": float(contributions[i])}
                    for i in order]
        weights = feature_token_weights(tokens, names, contributions)
        return self._explanation("features", tokens, decision, weights, unknown=self._unknown(tokens),
                                 details={"features": features})

    def class_table(self, docs=None, labels=None, top: int = 10) -> list[dict]:
        """Per class, the features with the largest coefficients towards it (learnt on the training set).

        Hashed features are named by the training texts `docs` that fill them; without them, no table."""
        coefficients = self._linear_terms(None)[1]
        tops = [np.argsort(-class_direction(coefficients, index))[:top] for index in range(len(self.classes_))]
        names = self._names(None if docs is None else self._tokens(docs), np.concatenate(tops))
        if names is None:
            return []
        named = iter(names)
        return [{"class": str(label), "feature": next(named), "score": float(class_direction(coefficients, index)[i]),
                 "measure": "coefficient"}
                for index, (label, columns) in enumerate(zip(self.classes_, tops, strict=True)) for i in columns]


def linear_coefficients(estimator) -> np.ndarray:
    """The coefficient matrix of a linear model, also when wrapped by calibration (averaged over folds)."""
    if hasattr(estimator, "coef_"):
        coef = estimator.coef_
        return np.asarray(coef.toarray() if hasattr(coef, "toarray") else coef, dtype=float)
    calibrated = getattr(estimator, "calibrated_classifiers_", None)
    if calibrated:
        return np.mean([linear_coefficients(c.estimator) for c in calibrated], axis=0)
    inner = getattr(estimator, "estimator", None)
    if inner is not None:
        return linear_coefficients(inner)
    raise TextclfError(f"{type(estimator).__name__} has no linear coefficients to explain its decision with.")


def class_direction(coefficients: np.ndarray, index: int) -> np.ndarray:
    """Per-feature weight towards class `index`: a binary model's single row counts for class 1, against 0."""
    if coefficients.shape[0] == 1:
        return coefficients[0] if index == 1 else -coefficients[0]
    return coefficients[index]
