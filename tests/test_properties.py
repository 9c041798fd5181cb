"""Property tests: whatever bytes arrive, the CSV reader and the bundle loader fail only with their own error type."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import good_bundles, manifest, members, replaced
from textclf.data.reading import load_dataset
from textclf.errors import BundleError, DataError
from textclf.storage.bundle import MANIFEST, VOCABULARY, load_bundle

VALID_CSV = ("text,label\n" + "".join(f"a tasty warm meal {i},pos\ncold soggy awful food {i},neg\n"
                                       for i in range(8))).encode()
# Pieces that break CSV readers: separators, quotes, line ends, BOMs, NUL, NaN-likes, non-UTF-8 and wide bytes.
TRICKY = [b",", b";", b"\t", b"|", b'"', b"'", b"\r", b"\n", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe",
          b"NaN", b"null", b"text", b"label", b"\xe4\xbd\xa0", b"\xc3", b"\\", b"=", b" ", b"#", b"[x](y)"]
PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw, original: bytes, pieces: list[bytes] | None = None) -> bytes:
    """`original` with a few insertions, deletions and overwrites at random places."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "overwrite"]))
        tricky = pieces and draw(st.booleans())
        piece = draw(st.sampled_from(pieces)) if tricky else draw(st.binary(min_size=1, max_size=8))
        if action == "insert":
            data[at:at] = piece
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        else:
            data[at:at + len(piece)] = piece
    return bytes(data)


def read_or_refuse(raw: bytes, **options) -> None:
    try:
        data = load_dataset(raw, **options)
    except DataError as err:
        assert str(err)
    else:
        assert len(data.classes) >= 2 and len(data.texts) == len(data.labels) and all(data.texts)


@PROPERTY_SETTINGS
@given(st.binary(max_size=3000))
def test_random_bytes_are_read_or_refused_with_a_data_error(raw):
    read_or_refuse(raw)


@PROPERTY_SETTINGS
@given(mutated(VALID_CSV, TRICKY), st.booleans(), st.booleans())
def test_mutated_csvs_are_read_or_refused_with_a_data_error(raw, header, keep_missing):
    read_or_refuse(raw, header=header, keep_missing_labels=keep_missing)


@PROPERTY_SETTINGS
@given(st.text(alphabet=st.sampled_from([*",;\t|\"'\r\n abcNaN标签\u2028"]), max_size=400))
def test_texts_of_separators_quotes_and_line_ends_are_read_or_refused(text):
    read_or_refuse(("text,label\n" + text).encode("utf-8"))


def load_or_refuse(data: bytes) -> None:
    try:
        bundle = load_bundle(data)
    except BundleError as err:
        assert str(err)
    else:
        assert bundle.predict(["a tasty warm meal"]).shape == (1,)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


@PROPERTY_SETTINGS
@given(st.sampled_from(["cnn", "svm"]), st.data())
def test_bundles_with_mutated_bytes_are_loaded_or_refused_with_a_bundle_error(kind, data):
    load_or_refuse(data.draw(mutated(good_bundles()[kind])))


@PROPERTY_SETTINGS
@given(st.sampled_from(["cnn", "svm"]), st.sampled_from(["key", "params", "classes", "tokenizer", "a parameter"]),
       JSON, st.data())
def test_bundles_with_mutated_metadata_are_loaded_or_refused_with_a_bundle_error(kind, field, value, data):
    """A metadata field, or one of the model's parameters, replaced by arbitrary JSON."""
    bundle = good_bundles()[kind]
    info = manifest(bundle)
    if field == "a parameter":
        params = info["metadata"]["params"]
        params[data.draw(st.sampled_from(sorted(params)))] = value
    else:
        info["metadata"][field] = value
    load_or_refuse(replaced(bundle, **{MANIFEST: json.dumps(info).encode()}))


@PROPERTY_SETTINGS
@given(JSON, mutated(b'{"tokens": ["<pad>", "<unk>", "tasty", "warm"], "bucket_boundaries": [4, 8]}'))
def test_bundles_with_a_mutated_vocabulary_are_loaded_or_refused_with_a_bundle_error(value, raw):
    bundle = good_bundles()["cnn"]
    vocabulary = json.loads(members(bundle)[VOCABULARY])
    load_or_refuse(replaced(bundle, **{VOCABULARY: json.dumps({**vocabulary, "bucket_boundaries": value}).encode()}))
    load_or_refuse(replaced(bundle, **{VOCABULARY: raw}))
