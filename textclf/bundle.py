"""Model bundles: one file with everything a trained model needs to predict, loadable without running code.

A bundle is a zip archive. `bundle.json` names the model (registry key and parameters), its classes, tokenizer
and metadata (label, versions, dataset); the learned state sits beside it in formats that hold data, not code:
a neural model's vocabulary as JSON and its `state_dict` read back with `torch.load(weights_only=True)`, a
TF-IDF model's vectorizer and classifier in skops format, read back trusting only the few types they are made
of. Plain pickle is never read, so a hostile file is refused instead of run.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import platform
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn
import skops
import skops.io
import torch

import textclf
from textclf.data import safe_name
from textclf.errors import BundleError, TextclfError
from textclf.models import get_model_class
from textclf.models.base import TextClassifier
from textclf.models.neural import NeuralTextClassifier
from textclf.models.tfidf import TfidfTextClassifier
from textclf.vocab import Vocabulary

BUNDLE_FORMAT = "textclf-bundle"
BUNDLE_VERSION = 1
BUNDLE_SUFFIX = ".textclf"
MANIFEST, VOCABULARY, WEIGHTS, TFIDF_STATE = "bundle.json", "vocabulary.json", "weights.pt", "tfidf.skops"
NEURAL, TFIDF = "neural", "tfidf"
SKOPS_TRUSTED = frozenset({
    "textclf.tokenize.Tokenizer", "textclf.tokenize.identity", "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration",
})
HOW_TO_FIX = "Choose a bundle saved by textclf (compare --save-models or the dashboard's download), or save it again."


@dataclass
class Bundle:
    """A model read back from a bundle: predicts exactly like the model that was saved."""

    estimator: TextClassifier
    metadata: dict

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.estimator.classes_]

    @property
    def has_probabilities(self) -> bool:
        """False only for an SVM trained with a one-example class (too few to calibrate probabilities)."""
        return not isinstance(self.estimator, TfidfTextClassifier) or hasattr(
            self.estimator.classifier_, "predict_proba")

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.estimator.predict(_as_list(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one column per entry of `classes`."""
        if not self.has_probabilities:
            raise TextclfError("This model gives labels but no probabilities (a class had a single training "
                               "example, too few to calibrate); use predict.")
        return self.estimator.predict_proba(_as_list(texts))


def _as_list(texts: Sequence[str] | str) -> list[str]:
    return [texts] if isinstance(texts, str) else list(texts)


def bundle_bytes(estimator: TextClassifier, *, metadata: dict | None = None) -> bytes:
    """The bundle as bytes (for a download button); `metadata` adds to what is recorded (e.g. the dataset)."""
    if not hasattr(estimator, "classes_"):
        raise TextclfError("The model has not been trained yet; train it before saving it as a bundle.")
    kind, files = _state_files(estimator)
    manifest = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "kind": kind,
                "metadata": _metadata(estimator, metadata)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def save_bundle(estimator: TextClassifier, path: str | os.PathLike, *, metadata: dict | None = None) -> Path:
    """Write the bundle to `path` atomically, so a crash mid-write never leaves a half file under that name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(bundle_bytes(estimator, metadata=metadata))
    os.replace(partial, path)
    return path


def run_bundle_path(folder: Path, position: int, run_name: str) -> Path:
    """A run's bundle file in `folder`, named so that a listing sorts in run order."""
    return folder / f"{position:02d}-{safe_name(run_name)}{BUNDLE_SUFFIX}"


def _metadata(estimator: TextClassifier, extra: dict | None) -> dict:
    """Which model, trained how and by which versions; `key`, `params`, `classes` and `tokenizer` rebuild it."""
    params = estimator.get_params()
    return {
        "dataset": None, **(extra or {}),
        "model": get_model_class(estimator.key).label(params), "key": estimator.key, "params": params,
        "tokenizer": estimator.tokenizer_, "max_len": params.get("max_len"),
        "classes": [str(c) for c in estimator.classes_], "versions": _versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _versions() -> dict[str, str]:
    return {"textclf": textclf.__version__, "python": platform.python_version(), "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "skops": skops.__version__, "numpy": np.__version__}


def _state_files(estimator: TextClassifier) -> tuple[str, dict[str, bytes]]:
    if isinstance(estimator, NeuralTextClassifier):
        weights = io.BytesIO()
        torch.save(estimator.module_.state_dict(), weights)
        vocabulary = {"tokens": estimator.vocab_.to_list(),
                      "bucket_boundaries": getattr(estimator.strategy_, "boundaries", None)}
        return NEURAL, {VOCABULARY: json.dumps(vocabulary, ensure_ascii=False).encode(), WEIGHTS: weights.getvalue()}
    if isinstance(estimator, TfidfTextClassifier):
        state = {"vectorizer": estimator.vectorizer_, "classifier": estimator.classifier_}
        return TFIDF, {TFIDF_STATE: skops.io.dumps(state)}
    raise TextclfError(f"Saving a {type(estimator).__name__} as a bundle is not supported.")


def load_bundle(source: str | os.PathLike | bytes) -> Bundle:
    """Read a bundle from a path (or its bytes); anything damaged, foreign or carrying code raises BundleError."""
    name, raw = _read_source(source)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            manifest = _manifest(archive, name)
            estimator = _restore(archive, manifest, name)
    except TextclfError:
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise BundleError(f"{name} is damaged or not a textclf bundle ({err}). {HOW_TO_FIX}") from None
    except (KeyError, ValueError, TypeError, RuntimeError) as err:
        raise BundleError(f"{name} is damaged or inconsistent ({err}). {HOW_TO_FIX}") from None
    return Bundle(estimator, manifest["metadata"])


def _read_source(source: str | os.PathLike | bytes) -> tuple[str, bytes]:
    if isinstance(source, bytes | bytearray):
        return "The bundle", bytes(source)
    path = Path(source)
    try:
        return str(path), path.read_bytes()
    except OSError as err:
        raise BundleError(f"Cannot read the bundle {path}: {err.strerror}. Check the path.") from None


def _manifest(archive: zipfile.ZipFile, name: str) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise BundleError(f"{name} is a zip archive but not a textclf bundle (it has no {MANIFEST}). "
                          f"{HOW_TO_FIX}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{name} is not a textclf bundle. {HOW_TO_FIX}")
    if manifest.get("version", 0) > BUNDLE_VERSION:
        raise BundleError(f"{name} was saved by a newer textclf (bundle version {manifest['version']}); "
                          "upgrade textclf to read it.")
    return manifest


def _restore(archive: zipfile.ZipFile, manifest: dict, name: str) -> TextClassifier:
    """Rebuild the estimator from its parameters, then put the learned state back."""
    metadata = manifest["metadata"]
    estimator = get_model_class(metadata["key"])(**metadata["params"])
    estimator.classes_ = np.array(metadata["classes"], dtype=object)
    estimator.tokenizer_ = metadata["tokenizer"]
    estimator.history_ = []
    if manifest["kind"] == NEURAL:
        _restore_neural(estimator, archive, name)
    elif manifest["kind"] == TFIDF:
        _restore_tfidf(estimator, archive, name)
    else:
        raise BundleError(f"{name} holds a model kind ({manifest['kind']!r}) this textclf does not know.")
    return estimator


def _restore_neural(estimator: NeuralTextClassifier, archive: zipfile.ZipFile, name: str) -> None:
    vocabulary = json.loads(archive.read(VOCABULARY))
    estimator.vocab_ = Vocabulary.from_list(vocabulary["tokens"])
    estimator.strategy_ = estimator.build_strategy()
    if vocabulary["bucket_boundaries"] is not None:
        estimator.strategy_.boundaries = [int(b) for b in vocabulary["bucket_boundaries"]]
    estimator.device_ = torch.device("cpu")
    estimator.module_ = estimator.build_module(len(estimator.vocab_), len(estimator.classes_))
    try:
        state = torch.load(io.BytesIO(archive.read(WEIGHTS)), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise BundleError(f"{name} was refused: its weights hold objects other than plain tensors, which could "
                          f"run code when loaded. {HOW_TO_FIX}") from None
    estimator.module_.load_state_dict(state)
    estimator.module_.eval()


def _restore_tfidf(estimator: TfidfTextClassifier, archive: zipfile.ZipFile, name: str) -> None:
    data = archive.read(TFIDF_STATE)
    untrusted = set(skops.io.get_untrusted_types(data=data))
    if not untrusted <= SKOPS_TRUSTED:
        raise BundleError(f"{name} was refused: it holds types a textclf model never contains "
                          f"({', '.join(sorted(untrusted - SKOPS_TRUSTED))}). {HOW_TO_FIX}")
    state = skops.io.loads(data, trusted=sorted(untrusted))
    estimator.vectorizer_, estimator.classifier_ = state["vectorizer"], state["classifier"]
