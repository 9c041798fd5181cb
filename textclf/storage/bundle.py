"""Model bundles: one file with everything a trained model needs to predict, loadable without running code.

A bundle is a zip archive. `bundle.json` names the model (registry key and parameters), its classes, tokenizer
and metadata (label, versions, dataset); the learned state sits beside it in formats that hold data, not code:
a neural model's vocabulary as JSON and its `state_dict` read back with `torch.load(weights_only=True)`, a
TF-IDF model's vectorizer and classifier in skops format, read back trusting only the few types they are made
of, a new family's state as JSON. Plain pickle is never read, so a hostile file is refused instead of run.

A model family names its state format (`bundle_kind`) and hands over or takes back its state through its own
hooks; the formats here only encode and check it. A family whose state none of them can hold registers a
format of its own with `register_state_format`.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import platform
import shutil
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import sklearn
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from textclf.data.reading import safe_name
from textclf.data.tokenize import Tokenizer
from textclf.errors import BundleError, TextclfError
from textclf.models import get_model_class
from textclf.models.base import TextClassifier
from textclf.models.bounds import MAX_VOCABULARY
from textclf.models.tfidf import HASH_SPACE, HashedTfidf
from textclf.storage import bundle_checks as checks
from textclf.storage import bundle_encoder
from textclf.version import __version__

BUNDLE_FORMAT = "textclf-bundle"
BUNDLE_VERSION = 1
BUNDLE_SUFFIX = ".textclf"
MANIFEST, VOCABULARY, WEIGHTS, TFIDF_STATE = "bundle.json", "vocabulary.json", "weights.pt", "tfidf.skops"
JSON_STATE = "state.json"
NEURAL, TFIDF, JSON, FINETUNE = "neural", "tfidf", "json", "finetune"
SKOPS_TRUSTED = frozenset({
    "textclf.data.tokenize.Tokenizer", "textclf.data.tokenize.identity", "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration",
    "textclf.models.nbsvm.NBSVM", "textclf.models.tfidf.HashedTfidf",
})
# Modules renamed since a bundle may have been saved (the sub-package layout moved the tokenizer): a skops state
# naming the old module is read as naming the new one.
SKOPS_RENAMED = {"textclf.tokenize": "textclf.data.tokenize"}
DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError, OSError)
INCONSISTENT = (KeyError, ValueError, TypeError, RuntimeError, AttributeError, IndexError, RecursionError,
                OverflowError)
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
        """False only for a model that gives labels alone (an SVM with a one-example class)."""
        return self.estimator.has_probabilities

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
    longest = max((str(c) for c in estimator.classes_), key=len, default="")
    if len(longest) > checks.MAX_CLASS_CHARS:
        raise TextclfError(f"The model cannot be saved as a bundle: a class name is {len(longest):,} characters long, "
                           f"more than the {checks.MAX_CLASS_CHARS:,} a bundle records. Shorten the labels and train "
                           "again.")
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
    return {"textclf": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "skops": _skops().__version__, "numpy": np.__version__}


def _skops():
    """skops, imported when a model is saved or loaded: it takes about a second to import, which every command
    and worker process would pay otherwise."""
    import skops.io

    return skops


@dataclass(frozen=True)
class StateFormat:
    """How a bundle holds one kind of learned state: `save` gives the member files, `restore` reads them back
    (checking every size and type) into an estimator rebuilt from the manifest."""

    save: Callable[[TextClassifier], dict[str, bytes]]
    restore: Callable[[TextClassifier, zipfile.ZipFile, str], None]


STATE_FORMATS: dict[str, StateFormat] = {}


def register_state_format(kind: str, state_format: StateFormat) -> None:
    STATE_FORMATS[kind] = state_format


def _state_files(estimator: TextClassifier) -> tuple[str, dict[str, bytes]]:
    kind = estimator.bundle_kind
    if kind not in STATE_FORMATS:
        raise TextclfError(f"Saving a {type(estimator).__name__} as a bundle is not supported.")
    return kind, STATE_FORMATS[kind].save(estimator)


def _neural_files(estimator) -> dict[str, bytes]:
    weights = io.BytesIO()
    torch.save(estimator.module_.state_dict(), weights)
    vocabulary = json.dumps(estimator.bundle_vocabulary(), ensure_ascii=False).encode()
    return {VOCABULARY: vocabulary, WEIGHTS: weights.getvalue()}


def _tfidf_files(estimator) -> dict[str, bytes]:
    return {TFIDF_STATE: _skops().io.dumps(estimator.bundle_state())}


def _json_files(estimator) -> dict[str, bytes]:
    return {JSON_STATE: json.dumps(estimator.bundle_state(), ensure_ascii=False).encode()}


def load_bundle(source: str | os.PathLike | bytes) -> Bundle:
    """Read a bundle from a path (or its bytes); anything damaged, foreign, oversized or carrying code raises
    BundleError, and nothing is built before its size is known to be within bounds."""
    name, opened = _open_source(source)
    try:
        with zipfile.ZipFile(opened) as archive:
            checks.check_members(archive, name)
            manifest = _manifest(archive, name)
            estimator = _restore(archive, manifest, name)
    except TextclfError:
        raise
    except DAMAGED as err:
        raise BundleError(f"{name} is damaged or not a textclf bundle ({_reason(err)}). {HOW_TO_FIX}") from None
    except INCONSISTENT as err:
        raise BundleError(f"{name} is damaged or inconsistent ({_reason(err)}). {HOW_TO_FIX}") from None
    except MemoryError:
        raise BundleError(f"{name} is too large to load in this process's memory. {HOW_TO_FIX}") from None
    finally:
        opened.close()
    return Bundle(estimator, manifest["metadata"])


def _reason(err: Exception) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _open_source(source: str | os.PathLike | bytes) -> tuple[str, BinaryIO]:
    """The bundle as a seekable binary stream, refused by size before anything is read."""
    if isinstance(source, bytes | bytearray):
        checks.check_file_size(len(source), "The bundle")
        return "The bundle", io.BytesIO(bytes(source))
    path = Path(source)
    try:
        checks.check_file_size(path.stat().st_size, str(path))
        return str(path), path.open("rb")
    except OSError as err:
        raise BundleError(f"Cannot read the bundle {path}: {err.strerror}. Check the path.") from None


def _manifest(archive: zipfile.ZipFile, name: str) -> dict:
    if MANIFEST not in archive.namelist():
        raise BundleError(f"{name} is a zip archive but not a textclf bundle (it has no {MANIFEST}). "
                          f"{HOW_TO_FIX}")
    manifest = checks.read_json(archive, MANIFEST, checks.MANIFEST_LIMIT, name)
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{name} is not a textclf bundle. {HOW_TO_FIX}")
    version = manifest.get("version", 0)
    if not isinstance(version, int):
        raise checks.refuse(name, "its version is not a number")
    if version > BUNDLE_VERSION:
        raise BundleError(f"{name} was saved by a newer textclf (bundle version {version}); "
                          "upgrade textclf to read it.")
    checks.check_manifest(manifest, name)
    return manifest


def _restore(archive: zipfile.ZipFile, manifest: dict, name: str) -> TextClassifier:
    """Check the settings, rebuild the estimator from them, then put the learned state back."""
    metadata = manifest["metadata"]
    cls = _model_class(metadata["key"], manifest.get("kind"), name)
    params = {**cls.earlier_defaults, **metadata["params"]}
    checks.check_params(params, cls._get_param_names(), name)
    estimator = cls(**params)
    estimator.classes_ = np.array(metadata["classes"], dtype=object)
    estimator.tokenizer_ = metadata["tokenizer"]
    estimator.history_ = []
    STATE_FORMATS[manifest["kind"]].restore(estimator, archive, name)
    return estimator


def _model_class(key: str, kind, name: str) -> type[TextClassifier]:
    """The registered class for `key`, which must be of the family `kind` says the state is stored as."""
    try:
        cls = get_model_class(key)
    except ValueError:
        raise checks.refuse(name, f"it names a model ({key[:40]!r}) this textclf does not know") from None
    if not isinstance(kind, str) or kind not in STATE_FORMATS:
        raise BundleError(f"{name} holds a model kind ({str(kind)[:40]!r}) this textclf does not know.")
    if cls.bundle_kind != kind:
        raise checks.refuse(name, f"it stores a {kind} model's state for the model {key!r}")
    return cls


def _restore_neural(estimator, archive: zipfile.ZipFile, name: str) -> None:
    vocabulary = checks.read_json(archive, VOCABULARY, checks.VOCABULARY_LIMIT, name)
    tokens = checks.check_vocabulary(vocabulary, name)
    checks.check_vocabulary_size(len(tokens), getattr(estimator, "max_vocab", MAX_VOCABULARY), name)
    estimator.restore_vocabulary(tokens, vocabulary.get("bucket_boundaries"))
    count = estimator.restored_parameter_count()
    raw = checks.read_member(archive, WEIGHTS, checks.weights_limit(count, name), name)
    checks.check_weights_data(raw, 4 * count, name)
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise BundleError(f"{name} was refused: its weights hold objects other than plain tensors, which could "
                          f"run code when loaded. {HOW_TO_FIX}") from None
    del raw  # the file's bytes are not needed beside the tensors read from them and the module they fill
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise checks.refuse(name, "its weights are not a table of tensors")
    checks.check_state_keys(state, _weight_names(estimator), WEIGHTS, name)
    estimator.restore_weights(state)


def _weight_names(estimator) -> set[str]:
    """The tensors the model's module holds, named as in its state_dict (built on torch's meta device: free)."""
    with torch.device("meta"):
        return set(estimator.build_module(len(estimator.vocab_), len(estimator.classes_)).state_dict())


def _columns_fit(vectorizer: HashedTfidf) -> bool:
    """Kept columns strictly increasing inside the hashed range, one IDF weight each (else transform breaks)."""
    columns = getattr(vectorizer, "columns_", None)
    idf = getattr(getattr(vectorizer, "tfidf_", None), "idf_", None)
    if not isinstance(columns, np.ndarray) or columns.ndim != 1 or columns.dtype.kind not in "iu" or idf is None:
        return False
    in_range = columns.size == 0 or (columns[0] >= 0 and columns[-1] < HASH_SPACE)
    return in_range and bool(np.all(np.diff(columns) > 0)) and len(idf) == len(columns) and \
        isinstance(getattr(vectorizer, "known_tokens_", None), list)


def _tfidf_state_keys(estimator) -> set[str]:
    """The keys this model's `bundle_state` stores, asked of an empty model of its class."""
    probe = type(estimator)()
    probe.vectorizer_ = probe.classifier_ = None
    return set(probe.bundle_state())


def _restore_tfidf(estimator, archive: zipfile.ZipFile, name: str) -> None:
    """The skops state is read from a temporary file (its bytes never sit in memory beside the arrays read from
    them), after its keys, types and sizes are checked."""
    with checks.extracted(archive, TFIDF_STATE, checks.TFIDF_LIMIT, name) as path:
        keys = checks.skops_state_keys(path, TFIDF_STATE, name)
        checks.check_state_keys(keys, _tfidf_state_keys(estimator), TFIDF_STATE, name)
        checks.check_skops_memory(path, TFIDF_STATE, name)
        path = _renamed_types(path)
        untrusted = set(_skops().io.get_untrusted_types(file=path))
        if not untrusted <= SKOPS_TRUSTED:
            raise BundleError(f"{name} was refused: it holds types a textclf model never contains "
                              f"({', '.join(sorted(untrusted - SKOPS_TRUSTED))}). {HOW_TO_FIX}")
        state = _skops().io.load(path, trusted=sorted(untrusted))
    if not isinstance(state, dict) or not isinstance(state.get("vectorizer"), HashedTfidf | TfidfVectorizer):
        raise checks.refuse(name, "its TF-IDF state has no vectorizer")
    if isinstance(state["vectorizer"], HashedTfidf) and not _columns_fit(state["vectorizer"]):
        raise checks.refuse(name, "its TF-IDF columns do not match its IDF weights")
    classifier = state.get("classifier")
    if not hasattr(classifier, "predict") or not np.array_equal(
            getattr(classifier, "classes_", None), np.arange(len(estimator.classes_))):
        raise checks.refuse(name, f"its classifier does not predict the {len(estimator.classes_)} classes listed")
    if state["vectorizer"].tokenizer != Tokenizer(estimator.tokenizer_):
        raise checks.refuse(name, "its vectorizer's tokenizer differs from the one its metadata names")
    estimator.restore_state(state)


def _renamed_types(path: Path) -> Path:
    """A skops state with the modules of `SKOPS_RENAMED` named as they are now (its schema names each type's
    module as a JSON string), written beside `path`; `path` itself when it names none of them."""
    with zipfile.ZipFile(path) as inner:
        schema = inner.read("schema.json").decode()
        renamed = schema
        for old, new in SKOPS_RENAMED.items():
            renamed = renamed.replace(json.dumps(old), json.dumps(new))
        if renamed == schema:
            return path
        target = path.with_name(path.name + ".renamed")
        with zipfile.ZipFile(target, "w") as rewritten:
            rewritten.writestr("schema.json", renamed)
            for info in inner.infolist():
                if info.filename != "schema.json":
                    with inner.open(info) as source, rewritten.open(info.filename, "w") as copy:
                        shutil.copyfileobj(source, copy, 1 << 20)
    return target


def _restore_json(estimator, archive: zipfile.ZipFile, name: str) -> None:
    """The state is refused when it holds a key the restored model would not store again (the family's own
    `bundle_state` names them), as every other format refuses unknown keys. Half the JSON memory bound: a family's
    `restore_state` may build its own copy beside the parsed state."""
    state = checks.read_json(archive, JSON_STATE, checks.JSON_STATE_LIMIT, name, checks.JSON_MEMORY // 2)
    if not isinstance(state, dict):
        raise checks.refuse(name, f"{JSON_STATE} does not hold a table of state")
    try:
        estimator.restore_state(state)
        stored = estimator.bundle_state()
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        raise checks.refuse(name, f"its state does not fit the model ({_reason(err)})") from None
    checks.check_state_keys(state, stored, JSON_STATE, name)


register_state_format(NEURAL, StateFormat(_neural_files, _restore_neural))
register_state_format(TFIDF, StateFormat(_tfidf_files, _restore_tfidf))
register_state_format(JSON, StateFormat(_json_files, _restore_json))
register_state_format(FINETUNE, StateFormat(bundle_encoder.encoder_files, bundle_encoder.restore_encoder_state))
