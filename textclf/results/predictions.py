"""Predictions of several trained models for many texts, as one table (the dashboard's batch mode, notebooks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from textclf.models.base import TextClassifier


def predictions_table(models: Mapping[str, TextClassifier], texts: Sequence[str],
                      inputs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per text: every column of `inputs` (the uploaded table, so its IDs join back) or else the text,
    then per model its label, the probability it gave that label and each class's probability.

    The probabilities are blank for a model that gives labels only (an SVM trained with a one-example class).
    """
    texts = [str(text) for text in texts]
    frame = pd.DataFrame({"text": texts}) if inputs is None else inputs.reset_index(drop=True)
    predicted = {}
    for name, model in models.items():
        predicted |= _model_columns(name, model, texts)
    return pd.concat([frame, pd.DataFrame(predicted, index=frame.index)], axis=1)


def _model_columns(name: str, model: TextClassifier, texts: list[str]) -> dict[str, Sequence]:
    try:
        probabilities = model.predict_proba(texts)
    except (AttributeError, NotImplementedError):
        return {f"{name}: label": [str(label) for label in model.predict(texts)],
                f"{name}: probability": np.full(len(texts), np.nan)}
    classes = np.asarray([str(c) for c in model.classes_], dtype=object)
    columns = {f"{name}: label": classes[probabilities.argmax(axis=1)],
               f"{name}: probability": probabilities.max(axis=1)}
    return columns | {f"{name}: probability of {label}": probabilities[:, i] for i, label in enumerate(classes)}
