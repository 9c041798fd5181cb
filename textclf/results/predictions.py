"""Predictions of several trained models for many texts, as one table (the dashboard's batch mode, notebooks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from textclf.models.base import TextClassifier


def predictions_table(models: Mapping[str, TextClassifier], texts: Sequence[str]) -> pd.DataFrame:
    """One row per text: the text, then each model's label and the probability it gave that label.

    The probability is blank for a model that gives labels only (an SVM trained with a one-example class).
    """
    texts = [str(text) for text in texts]
    frame = pd.DataFrame({"text": texts})
    for name, model in models.items():
        try:
            probabilities = model.predict_proba(texts)
        except (AttributeError, NotImplementedError):
            frame[f"{name}: label"] = [str(label) for label in model.predict(texts)]
            frame[f"{name}: probability"] = np.nan
            continue
        classes = np.asarray([str(c) for c in model.classes_], dtype=object)
        frame[f"{name}: label"] = classes[probabilities.argmax(axis=1)]
        frame[f"{name}: probability"] = probabilities.max(axis=1)
    return frame
