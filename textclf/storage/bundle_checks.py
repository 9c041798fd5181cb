"""What a bundle may ask for: size caps per member and bounds on every value, checked before anything is built.

A bundle is a file from anywhere. A few kilobytes can declare gigabytes (a zip bomb, or `embed_dim=10000000`
that makes torch allocate the embedding before any weight is read), and metadata that loads fine can still make
`predict` crash later (a tokenizer that does not exist, fewer classes than the model has outputs). So every
member's compressed and uncompressed size is capped before it is read, every parameter is checked against
bounds before a module is built, and the metadata is checked against the weights at load time; anything out
of bounds raises `BundleError` with one clear message.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from textclf.data.reading import MAX_LABEL_CHARS
from textclf.data.tokenize import TOKENIZERS
from textclf.errors import BundleError
from textclf.models.bounds import BOUNDS, MAX_LIST, MAX_WORDS, bound_text, setting_problem

MiB = 1 << 20
MAX_BUNDLE_BYTES = 1024 * MiB
MAX_MEMBERS = 16
MANIFEST_LIMIT = 1 * MiB
VOCABULARY_LIMIT = 16 * MiB  # a million long words; parsed into Python strings, so kept well under the budget
JSON_STATE_LIMIT = 64 * MiB
SCHEMA_LIMIT = 64 * MiB  # a skops state's schema.json (a kNN's training texts sit in it)
TFIDF_LIMIT = 512 * MiB  # the state's file on disk; what it may take in memory is bounded by TFIDF_MEMORY
# Loading memory, each bound checked on the bytes before anything is parsed or allocated. Python objects cost many
# times their JSON text ('[],' is 3 bytes and a 64-byte list): JSON_MEMORY bounds what parsing one member may
# take. A TF-IDF state's arrays (features x classes weights, a kNN's sparse training matrix) are held twice while
# skops reads them (its buffers, then the arrays), beside its parsed schema: together at most TFIDF_MEMORY, which
# an SVM on the lab's largest data set (10 classes, 1.5 M character n-grams, about 130 MB of weights) fits.
JSON_MEMORY = 192 * MiB
TFIDF_MEMORY = 272 * MiB
MAX_CLASSES = 10_000
# Files in a skops state: a calibrated SVM keeps two numbers a class (each an array file of its own).
MAX_ARRAY_FILES = 4 * MAX_CLASSES + 64
MAX_CLASS_CHARS = MAX_LABEL_CHARS  # the longest label a data set may have, so every trained model saves
MAX_STRING_PARAM = MAX_WORDS
MAX_LIST_PARAM = MAX_LIST
# 128 MiB of float32 weights: every model at the lab's defaults (50,000 words, 300-d) fits twice over (a
# multichannel embedding holds two tables); loading holds the weights read and the module built at once, so a
# bundle at the cap stays within about 300 MB however its settings multiply out.
MAX_PARAMETERS = 32 * MiB
WEIGHTS_OVERHEAD = 1 * MiB  # torch's file format around the raw tensor bytes
WEIGHTS_SLACK = 64 * 1024  # what weights may hold beyond their declared shapes' numbers
VOCABULARY_KEYS = frozenset({"tokens", "bucket_boundaries"})
CONCRETE_TOKENIZERS = tuple(name for name in TOKENIZERS if name != "auto")

# Each numeric setting's range, from the one table `--models` options are checked against too.
PARAM_BOUNDS = {name: (bound.low, bound.high) for name, bound in BOUNDS.items() if bound.kind in (int, float)}


def refuse(name: str, problem: str) -> BundleError:
    """The one message shape for a refused bundle: which file, what is wrong, what to do."""
    return BundleError(f"{name} was refused: {problem}. Choose a bundle saved by textclf (compare --save-models "
                       "or the dashboard's download), or save it again.")


def check_file_size(size: int, name: str) -> None:
    if size > MAX_BUNDLE_BYTES:
        raise refuse(name, f"it is {size / MiB:.0f} MiB, more than the {MAX_BUNDLE_BYTES // MiB} MiB a bundle may be")


def check_members(archive: zipfile.ZipFile, name: str) -> None:
    """Few members, each named once (a repeated name could hide a second copy of a member)."""
    names = archive.namelist()
    if len(names) > MAX_MEMBERS:
        raise refuse(name, f"it has {len(names)} members; a textclf bundle has at most {MAX_MEMBERS}")
    if len(set(names)) != len(names):
        raise refuse(name, "a member name appears twice")


def read_member(archive: zipfile.ZipFile, member: str, limit: int, name: str) -> bytes:
    """A member's bytes, refused before reading when its declared size (compressed or not) is over `limit`.

    The read itself stops at `limit` too, so a header that understates the size cannot smuggle more through.
    """
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise refuse(name, f"it has no {member}") from None
    check_declared_size(info, limit, member, name)
    with archive.open(info) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise refuse(name, f"{member} holds more than the {limit / MiB:.1f} MiB it may hold")
    check_inner_zip(data, limit, member, name)
    return data


def check_declared_size(info: zipfile.ZipInfo, limit: int, member: str, name: str) -> None:
    if info.file_size > limit or info.compress_size > limit:
        raise refuse(name, f"{member} declares {max(info.file_size, info.compress_size) / MiB:.1f} MiB, "
                           f"more than the {limit / MiB:.1f} MiB it may hold")


def check_inner_zip(data: bytes, limit: int, member: str, name: str) -> None:
    """torch and skops files are zip archives themselves: their members' declared sizes count against `limit`."""
    if not data.startswith(b"PK"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            declared = sum(info.file_size for info in inner.infolist())
    except zipfile.BadZipFile:
        return
    if declared > limit:
        raise refuse(name, f"{member} expands to {declared / MiB:.1f} MiB, more than the {limit / MiB:.1f} MiB "
                           "it may hold")


def check_manifest(manifest, name: str) -> dict:
    """The manifest's shape: a dict with a known kind and a metadata dict naming key, params, classes, tokenizer."""
    if not isinstance(manifest, dict):
        raise refuse(name, "bundle.json is not an object")
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        raise refuse(name, "bundle.json has no metadata")
    for field, kind in (("key", str), ("params", dict), ("classes", list), ("tokenizer", str)):
        if not isinstance(metadata.get(field), kind):
            raise refuse(name, f"its metadata has no valid {field!r}")
    check_classes(metadata["classes"], name)
    if metadata["tokenizer"] not in CONCRETE_TOKENIZERS:
        raise refuse(name, f"its tokenizer {metadata['tokenizer'][:40]!r} is not one of "
                           f"{', '.join(CONCRETE_TOKENIZERS)}")
    return metadata


def check_classes(classes: list, name: str) -> None:
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise refuse(name, f"it lists {len(classes)} classes; a classifier has between 2 and {MAX_CLASSES}")
    if not all(isinstance(c, str) and len(c) <= MAX_CLASS_CHARS for c in classes):
        raise refuse(name, "its classes are not all short strings")
    if len(set(classes)) != len(classes):
        raise refuse(name, "a class is listed twice")


def check_params(params: dict, allowed: list[str], name: str) -> None:
    """Every setting known to the model class and within bounds, before the estimator or a module exists."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise refuse(name, f"it sets {', '.join(repr(u[:40]) for u in unknown[:5])}, which the model does not have")
    for key, value in params.items():
        problem = _param_problem(key, value)
        if problem:
            raise refuse(name, f"its setting {key} = {_short(value)} {problem}")


def _param_problem(key: str, value) -> str | None:
    """What is wrong with one setting: its bound from the shared table, or for a setting the table does not
    know (a new family's), a number or word within generic bounds, or a short flat list or table of them."""
    if key not in BOUNDS and isinstance(value, list | dict):
        return _collection_problem(key, value)
    problem = setting_problem(key, value)
    return f"{problem} (it must be {bound_text(key)})" if problem else None


def _collection_problem(key: str, values: list | dict) -> str | None:
    if not 1 <= len(values) <= MAX_LIST_PARAM:
        return f"must hold between 1 and {MAX_LIST_PARAM} values"
    items = list(values.values()) if isinstance(values, dict) else values
    if any(isinstance(v, list | dict) for v in items):
        return "must be a flat list of numbers or words"
    if isinstance(values, dict) and any(len(k) > MAX_STRING_PARAM for k in values):
        return "has a key that is too long"
    return next(filter(None, (setting_problem(key, v) for v in items)), None)


def check_vocabulary(vocabulary, name: str) -> list[str]:
    if not isinstance(vocabulary, dict) or not isinstance(vocabulary.get("tokens"), list):
        raise refuse(name, "vocabulary.json has no token list")
    check_state_keys(vocabulary, VOCABULARY_KEYS, "vocabulary.json", name)
    tokens = vocabulary["tokens"]
    if not all(isinstance(token, str) for token in tokens):
        raise refuse(name, "vocabulary.json holds tokens that are not strings")
    boundaries = vocabulary.get("bucket_boundaries")
    if boundaries is not None and not (
            isinstance(boundaries, list) and 1 <= len(boundaries) <= PARAM_BOUNDS["n_buckets"][1]
            and all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= PARAM_BOUNDS["max_len"][1]
                    for b in boundaries)
            and boundaries == sorted(set(boundaries))):
        raise refuse(name, "vocabulary.json has invalid bucket boundaries")
    return tokens


def check_vocabulary_size(size: int, max_vocab: int, name: str) -> None:
    """A vocabulary is never longer than the `max_vocab` it was trained with (the two special tokens included)."""
    if size > max(max_vocab, 2):
        raise refuse(name, f"its vocabulary lists {size:,} words where its max_vocab is {max_vocab:,}")


def weights_limit(count: int, name: str) -> int:
    """How many bytes the weights of a `count`-parameter module may take; refuses an oversized module first."""
    if count > MAX_PARAMETERS:
        raise refuse(name, f"its settings describe a model of {count:,} parameters (at most {MAX_PARAMETERS:,})")
    return int(4 * count * 1.1) + WEIGHTS_OVERHEAD


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_state_keys(state, allowed, member: str, name: str) -> None:
    """A state holds only the keys its model stores: anything else is refused, never read or kept."""
    unknown = sorted(set(state) - set(allowed), key=str)
    if unknown:
        raise refuse(name, f"{member} holds {', '.join(repr(str(u)[:40]) for u in unknown[:5])}, which the model "
                           "does not store")


def check_weights_data(raw: bytes, expected: int, name: str) -> None:
    """The tensor bytes torch's archive declares, against what the declared shapes need (`expected` bytes):
    a weights file whose numbers are more than its model holds is refused before torch reads any of them."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as inner:
            declared = sum(info.file_size for info in inner.infolist() if "/data/" in f"/{info.filename}")
    except zipfile.BadZipFile:
        return
    if declared > expected + WEIGHTS_SLACK:
        raise refuse(name, f"its weights hold {declared:,} bytes of numbers where its declared shapes need "
                           f"{expected:,}")


def skops_state_keys(path: Path, member: str, name: str) -> list[str]:
    """The top-level keys of a skops state, read from its schema alone (its arrays are not read)."""
    with zipfile.ZipFile(path) as state:
        schema = read_json(state, "schema.json", SCHEMA_LIMIT, name)
    content = schema.get("content") if isinstance(schema, dict) else None
    if not isinstance(content, dict) or schema.get("__class__") != "dict":
        raise refuse(name, f"{member} does not hold a table of state")
    return list(content)


def check_skops_memory(path: Path, member: str, name: str) -> None:
    """A skops state loads within TFIDF_MEMORY: its schema parsed beside its arrays held twice, every size read
    from the file (the arrays' headers) before anything is allocated."""
    with zipfile.ZipFile(path) as state:
        schema = read_member(state, "schema.json", SCHEMA_LIMIT, name)
        arrays = array_bytes(state, name)
    cost = json_memory(schema) + 2 * arrays
    if cost > TFIDF_MEMORY:
        raise refuse(name, f"its {member} would take about {cost / MiB:,.0f} MiB of memory to load (its schema "
                           f"parsed and {arrays / MiB:,.1f} MiB of arrays, held twice while they are read), more "
                           f"than the {TFIDF_MEMORY / MiB:,.0f} MiB a bundle may take; a model trained with min_df=2 "
                           "or a smaller ngram_max is smaller")


def json_memory(data: bytes) -> int:
    """An upper bound of what `json.loads(data)` allocates, from one count of the bytes: the decoded text and the
    strings (1, 2 or 4 bytes a character, as Python stores them), and per object, list, string and item what a
    Python dict, list, str and number cost at most (measured on the worst shapes: '[[]],', '{"a":0},')."""
    highest = int(np.frombuffer(data, dtype=np.uint8).max(initial=0))  # a lead byte: how wide the characters are
    width = 4 if highest >= 0xF0 else 2 if highest >= 0xC4 else 1
    return (2 * width * len(data) + 200 * data.count(b"{") + 80 * data.count(b"[") + 30 * data.count(b'"')
            + 40 * data.count(b","))


def read_json(archive: zipfile.ZipFile, member: str, limit: int, name: str, budget: int = JSON_MEMORY):
    """A JSON member parsed, refused first when its bytes are over `limit` or parsing them could take more than
    `budget` of memory."""
    data = read_member(archive, member, limit, name)
    check_memory(json_memory(data), budget, member, name)
    return json.loads(data)


def check_memory(cost: int, budget: int, member: str, name: str) -> None:
    if cost > budget:
        raise refuse(name, f"reading its {member} would take about {cost / MiB:,.0f} MiB of memory, more than the "
                           f"{budget / MiB:,.0f} MiB a bundle may take (a model trained on fewer texts or words is "
                           "smaller)")


@contextlib.contextmanager
def extracted(archive: zipfile.ZipFile, member: str, limit: int, name: str) -> Iterator[Path]:
    """The member copied to a temporary file in chunks (never whole in memory), so that its own archive is read
    from disk; removed afterwards."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise refuse(name, f"it has no {member}") from None
    check_declared_size(info, limit, member, name)
    with tempfile.TemporaryDirectory(prefix="textclf-bundle-") as folder:
        path = Path(folder) / "state"
        with archive.open(info) as source, path.open("wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
        yield path


def array_bytes(state: zipfile.ZipFile, name: str, depth: int = 0) -> int:
    """The bytes numpy will allocate for every array a skops state holds (.npy files, and those inside the .npz
    of a sparse matrix), read from each array's header; an array whose header declares more numbers than its
    file holds, or objects (which need pickle), is refused."""
    infos = state.infolist()
    if len(infos) > MAX_ARRAY_FILES:
        raise refuse(name, f"its state holds {len(infos)} files; a textclf model's holds at most {MAX_ARRAY_FILES}")
    total = 0
    for info in infos:
        if info.filename.endswith(".npy"):
            total += _npy_bytes(state, info, name)
        elif info.filename.endswith(".npz") and depth == 0:
            with state.open(info) as stream, zipfile.ZipFile(stream) as inner:
                total += array_bytes(inner, name, depth + 1)
    return total


def _npy_bytes(state: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> int:
    with state.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
    if dtype.hasobject:
        raise refuse(name, f"its array {info.filename[:40]} holds objects, which only pickle can read")
    size = math.prod(int(n) for n in shape) * dtype.itemsize
    if size > info.file_size:
        raise refuse(name, f"its array {info.filename[:40]} declares {size:,} bytes but its file holds "
                           f"{info.file_size:,}")
    return size
