"""Bundles whose every setting is within its bound can still multiply out to gigabytes, or carry state the model
never stores: both are refused before the memory is spent (bundles crafted by code from small trained ones)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import skops.io
import torch

from tests.hostile import MiB, good_bundles, members, replaced, with_params, zeros_deflated, zip_with_raw
from tests.test_memory_bombs import MAX_GROWTH, PROBE, ROOT
from textclf.errors import BundleError
from textclf.models.bounds import MAX_VOCABULARY
from textclf.storage import bundle_checks as checks
from textclf.storage.bundle import JSON_STATE, TFIDF_STATE, VOCABULARY, WEIGHTS, bundle_bytes, load_bundle


@pytest.fixture(scope="module")
def bundles() -> dict[str, bytes]:
    return good_bundles()


def _torch_bytes(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _with_vocabulary(bundle: bytes, tokens: list[str]) -> bytes:
    return replaced(bundle, **{VOCABULARY: json.dumps({"tokens": tokens, "bucket_boundaries": None}).encode()})


def test_a_small_textcnn_bundle_declaring_200_million_parameters_is_refused_before_building(bundles):
    """50,000 words x 4,096 dimensions: each setting within its bound, 205 M parameters in all."""
    words = ["<pad>", "<unk>", *(f"w{i}" for i in range(50_000))]
    bomb = with_params(_with_vocabulary(bundles["cnn"], words), embed_dim=4096, max_vocab=60_000)
    assert len(bomb) < 4 * checks.MiB
    with pytest.raises(BundleError, match=r"describe a model of 20\d,\d{3},\d{3} parameters \(at most"):
        load_bundle(bomb)


def test_every_model_at_the_lab_defaults_fits_under_the_parameter_cap():
    from textclf.models import get_model_class
    for key in ("cnn", "rnn", "han", "rcnn", "clstm"):
        model = get_model_class(key)(embedding="multichannel")
        with torch.device("meta"):
            count = sum(p.numel() for p in model.build_module(50_002, 10).parameters())
        assert count <= checks.MAX_PARAMETERS, key


def test_a_vocabulary_longer_than_its_max_vocab_is_refused_before_it_is_indexed(bundles):
    words = ["<pad>", "<unk>", *(f"w{i}" for i in range(1_000))]
    with pytest.raises(BundleError, match="its vocabulary lists 1,002 words where its max_vocab is 500"):
        load_bundle(with_params(_with_vocabulary(bundles["cnn"], words), max_vocab=500))


def test_weights_holding_more_numbers_than_their_shapes_are_refused_before_torch_reads_them(bundles, monkeypatch):
    state = torch.load(io.BytesIO(members(bundles["cnn"])[WEIGHTS]), weights_only=True)
    padded = replaced(bundles["cnn"], **{WEIGHTS: _torch_bytes({**state, "hidden": torch.zeros(64 * 1024)})})
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch read weights that should be refused"))
    with pytest.raises(BundleError, match="bytes of numbers where its declared shapes need"):
        load_bundle(padded)


def test_an_extra_tensor_in_the_weights_is_refused_by_name(bundles):
    state = torch.load(io.BytesIO(members(bundles["cnn"])[WEIGHTS]), weights_only=True)
    extra = replaced(bundles["cnn"], **{WEIGHTS: _torch_bytes({**state, "payload": torch.zeros(4)})})
    with pytest.raises(BundleError, match="weights.pt holds 'payload', which the model does not store"):
        load_bundle(extra)


def test_an_extra_key_in_the_vocabulary_is_refused(bundles):
    vocabulary = json.loads(members(bundles["cnn"])[VOCABULARY])
    extra = replaced(bundles["cnn"], **{VOCABULARY: json.dumps({**vocabulary, "payload": [0] * 10}).encode()})
    with pytest.raises(BundleError, match="vocabulary.json holds 'payload', which the model does not store"):
        load_bundle(extra)


def _skops_state(bundle: bytes) -> dict:
    data = members(bundle)[TFIDF_STATE]
    return skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))


def test_an_svm_state_with_an_extra_array_is_refused_before_the_state_is_read(bundles, monkeypatch):
    state = {**_skops_state(bundles["svm"]), "extra": np.zeros(4 * checks.MiB, dtype=np.uint8)}
    bomb = replaced(bundles["svm"], **{TFIDF_STATE: skops.io.dumps(state)})
    read = []
    original = checks.read_member
    monkeypatch.setattr(checks, "read_member", lambda archive, member, *rest: read.append(member) or
                        original(archive, member, *rest))
    with pytest.raises(BundleError, match="tfidf.skops holds 'extra', which the model does not store"):
        load_bundle(bomb)
    assert TFIDF_STATE not in read  # only its schema was streamed


def test_a_tfidf_state_that_is_not_a_table_is_refused(bundles):
    bomb = replaced(bundles["svm"], **{TFIDF_STATE: skops.io.dumps([1, 2, 3])})
    with pytest.raises(BundleError, match="does not hold a table of state"):
        load_bundle(bomb)


def test_good_bundles_still_load_and_predict(bundles):
    for name, data in bundles.items():
        assert load_bundle(data).predict(["tasty and warm"]).shape == (1,), name
    with zipfile.ZipFile(io.BytesIO(bundles["svm"])) as archive, \
            checks.extracted(archive, TFIDF_STATE, checks.TFIDF_LIMIT, "svm") as path:
        assert set(checks.skops_state_keys(path, TFIDF_STATE, "svm")) == {"vectorizer", "classifier"}


def _svm_with_a_huge_extra_array(svm: bytes, size: int) -> bytes:
    """The review's 18 KB SVM bundle: its skops state gains a key holding `size` bytes of zeros, deflated by hand
    (built in a moment, never held in memory here)."""
    small = skops.io.dumps({**_skops_state(svm), "extra": np.zeros(3)})
    with zipfile.ZipFile(io.BytesIO(small)) as inner:
        files = {name: inner.read(name) for name in inner.namelist()}
    schema = json.loads(files["schema.json"])
    npy = schema["content"]["extra"]["file"]
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (size // 8,)})
    raw = (*zeros_deflated(size, header.getvalue()), len(header.getvalue()) + size)
    state = zip_with_raw({k: v for k, v in files.items() if k != npy}, {npy: raw})
    return replaced(svm, **{TFIDF_STATE: state})


def _textcnn_at_the_cap(cnn: bytes) -> bytes:
    """A TextCNN at the vocabulary cap and just under the parameter cap (300,000 words x 110-d) with zero
    weights: a small file that must load, since every setting and size is within its bound."""
    words = ["<pad>", "<unk>", *(f"w{i}" for i in range(MAX_VOCABULARY - 2))]
    bundle = with_params(_with_vocabulary(cnn, words), embed_dim=110, filters=100, max_vocab=MAX_VOCABULARY)
    estimator = load_bundle(cnn).estimator.set_params(embed_dim=110, filters=100)
    module = estimator.build_module(len(words), len(estimator.classes_))
    state = {key: torch.zeros_like(value) for key, value in module.state_dict().items()}
    assert sum(value.numel() for value in state.values()) <= checks.MAX_PARAMETERS
    return replaced(bundle, **{WEIGHTS: _torch_bytes(state)})


@pytest.mark.slow
def test_the_reviews_two_bundles_are_refused_and_one_at_the_cap_loads_within_300_mb(tmp_path, bundles):
    words = ["<pad>", "<unk>", *(f"w{i}" for i in range(50_000))]
    cases = {"parameters": with_params(_with_vocabulary(bundles["cnn"], words), embed_dim=4096, max_vocab=60_000),
             "extra array": _svm_with_a_huge_extra_array(bundles["svm"], 480 * MiB),
             "at the cap": _textcnn_at_the_cap(bundles["cnn"])}
    normal = tmp_path / "normal.textclf"
    normal.write_bytes(bundles["cnn"])
    paths = {name: tmp_path / f"{name}.textclf" for name in cases}
    for name, data in cases.items():
        paths[name].write_bytes(data)
    assert paths["extra array"].stat().st_size < 4 * MiB
    result = subprocess.run([sys.executable, "-c", PROBE, str(normal), *map(str, paths.values())], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    expected = {"parameters": "parameters (at most", "extra array": "holds 'extra'"}
    at_the_cap = report[str(paths.pop("at the cap"))]
    assert at_the_cap["outcome"] == "loaded" and at_the_cap["growth"] < MAX_GROWTH, at_the_cap
    for name, path in paths.items():
        outcome = report[str(path)]
        assert "was refused" in outcome["outcome"] and expected[name] in outcome["outcome"], outcome
        assert outcome["growth"] < MAX_GROWTH, f"{name}: peak memory grew by {outcome['growth'] / MiB:.0f} MiB"


# What a classical or JSON state makes the loader allocate, bounded before it is parsed or allocated -------------

def _skops_files(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(members(bundle)[TFIDF_STATE])) as state:
        return {name: state.read(name) for name in state.namelist()}


def _with_skops_files(bundle: bytes, files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as state:
        for name, data in files.items():
            state.writestr(name, data)
    return replaced(bundle, **{TFIDF_STATE: out.getvalue()})


def _lying_npy(count: int, data: bytes = b"") -> bytes:
    """An array file whose header declares `count` float64 numbers, holding `data` only."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (count,)})
    return header.getvalue() + data


def _array_files(files: dict[str, bytes]) -> list[str]:
    return sorted(name for name in files if name.endswith(".npy"))


def test_an_array_declaring_more_numbers_than_its_file_holds_is_refused_before_numpy_allocates(bundles, monkeypatch):
    files = _skops_files(bundles["svm"])
    bomb = _with_skops_files(bundles["svm"], {**files, _array_files(files)[0]: _lying_npy(10**12, bytes(64))})
    monkeypatch.setattr(skops.io, "load", lambda *a, **k: pytest.fail("skops read a state that should be refused"))
    with pytest.raises(BundleError, match=r"declares 8,000,000,000,000 bytes but its file holds 192"):
        load_bundle(bomb)


@pytest.fixture(scope="module")
def knn_bundle() -> bytes:
    from tests.hostile import create, demo_dataset
    data = demo_dataset(rows=160, seed=1)
    return bundle_bytes(create("knn", k=3).fit(data.texts, data.labels))


def test_a_sparse_matrix_whose_arrays_declare_more_than_they_hold_is_refused(knn_bundle):
    """A kNN keeps its training matrix as an .npz inside the skops state: its arrays are read from their headers
    too (the .npz is a zip of its own, compressed, so its declared sizes alone say little)."""
    files = _skops_files(knn_bundle)
    matrix = next(name for name in files if name.endswith(".npz"))
    with zipfile.ZipFile(io.BytesIO(files[matrix])) as npz:
        arrays = {name: npz.read(name) for name in npz.namelist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as npz:
        for name, data in {**arrays, "data.npy": _lying_npy(10**11)}.items():
            npz.writestr(name, data)
    with pytest.raises(BundleError, match=r"data.npy declares 800,000,000,000 bytes"):
        load_bundle(_with_skops_files(knn_bundle, {**files, matrix: out.getvalue()}))
    assert load_bundle(knn_bundle).predict(["tasty and warm"]).shape == (1,)


def test_a_tfidf_state_whose_arrays_would_take_more_than_the_bound_is_refused_before_it_is_read(bundles, monkeypatch):
    arrays = sum(len(data) for name, data in _skops_files(bundles["svm"]).items() if name.endswith(".npy"))
    monkeypatch.setattr(checks, "TFIDF_MEMORY", arrays)  # the state's own arrays, held twice, are over it
    monkeypatch.setattr(skops.io, "load", lambda *a, **k: pytest.fail("skops read a state that should be refused"))
    with pytest.raises(BundleError, match=r"tfidf.skops would take about .* MiB of arrays, held twice.*min_df=2"):
        load_bundle(bundles["svm"])


def _json_bomb(size: int) -> bytes:
    """Nested empty lists: 5 bytes of JSON that Python holds in about 150 (two lists and a slot)."""
    return b"[" + b"[[]]," * (size // 5) + b"[]]"


@pytest.mark.parametrize("member", [VOCABULARY, "schema.json"])
def test_json_that_would_take_far_more_memory_than_its_bytes_is_refused_before_it_is_parsed(bundles, member,
                                                                                            monkeypatch):
    bomb = _json_bomb(8 * MiB)
    assert checks.json_memory(bomb) > checks.JSON_MEMORY
    if member == VOCABULARY:
        bundle = replaced(bundles["cnn"], **{VOCABULARY: b'{"tokens": ' + bomb + b"}"})
    else:
        bundle = _with_skops_files(bundles["svm"], {**_skops_files(bundles["svm"]), "schema.json": bomb})
    parse = json.loads
    monkeypatch.setattr(json, "loads", lambda data, **k: parse(data, **k) if len(data) < MiB else
                        pytest.fail("a bomb was parsed"))
    with pytest.raises(BundleError, match=f"{member} would take about .* MiB of memory"):
        load_bundle(bundle)


def test_the_json_memory_bound_is_above_what_python_takes_for_the_worst_shapes():
    import tracemalloc
    for unit in (b"[],", b"{},", b'"ab",', b"1e5,", b'{"a":0},', b"[[]],", '"\U0001F600",'.encode()):
        data = b"[" + unit * 5_000 + b"0]"
        tracemalloc.start()
        json.loads(data)
        taken = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert taken < checks.json_memory(data) < 4 * taken, unit


@pytest.fixture
def votes_bundle(small_demo) -> bytes:
    """A bundle of the toy family stored as JSON (tests/test_registry.py), registered for one test."""
    from tests.test_registry import WordVotes
    from textclf.models import register, unregister
    register(WordVotes)
    yield bundle_bytes(WordVotes().fit(small_demo.texts, small_demo.labels))
    unregister(WordVotes.key)


def test_a_json_state_holding_a_key_its_model_does_not_store_is_refused(votes_bundle):
    state = json.loads(members(votes_bundle)[JSON_STATE])
    assert load_bundle(votes_bundle).estimator.votes_ == state["votes"]  # the current format loads as saved
    extra = replaced(votes_bundle, **{JSON_STATE: json.dumps({**state, "payload": [0] * 10}).encode()})
    with pytest.raises(BundleError, match="state.json holds 'payload', which the model does not store"):
        load_bundle(extra)
    with pytest.raises(BundleError, match="state.json does not hold a table of state"):
        load_bundle(replaced(votes_bundle, **{JSON_STATE: b"[1, 2, 3]"}))
    with pytest.raises(BundleError, match=r"state.json would take about .* MiB of memory"):
        load_bundle(replaced(votes_bundle, **{JSON_STATE: b'{"votes": ' + _json_bomb(8 * MiB) + b"}"}))


def _svm_with_features(svm: bytes, features: int) -> bytes:
    """The small SVM grown to `features` hashed n-gram columns (zero weights, so the file stays small): 4 classes x
    3 M columns hold as many weights as the lab's largest SVM (10 classes x 1.5 M character n-grams)."""
    data = members(svm)[TFIDF_STATE]
    state = skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    state["vectorizer"].columns_ = np.arange(features, dtype=np.int32)
    state["vectorizer"].tfidf_.idf_ = np.ones(features)
    inner = state["classifier"].calibrated_classifiers_[0].estimator
    inner.coef_ = np.zeros((len(inner.classes_), features))
    return replaced(svm, **{TFIDF_STATE: skops.io.dumps(state)})


@pytest.mark.slow
def test_tfidf_and_json_states_at_and_over_their_bounds_load_or_are_refused_within_300_mb_and_10_s(tmp_path, bundles):
    vocabulary = b'{"tokens": ' + _json_bomb(checks.VOCABULARY_LIMIT - 64) + b"}"
    schema = _json_bomb(checks.SCHEMA_LIMIT - 64)
    cases = {"at the lab's scale": _svm_with_features(bundles["svm"], 3_000_000),
             "over the bound": _svm_with_features(bundles["svm"], 4_000_000),
             "vocabulary bomb": replaced(bundles["cnn"], **{VOCABULARY: vocabulary}),
             "schema bomb": _with_skops_files(bundles["svm"], {**_skops_files(bundles["svm"]), "schema.json": schema})}
    normal = tmp_path / "normal.textclf"
    normal.write_bytes(bundles["cnn"])
    paths = {name: tmp_path / f"{name}.textclf" for name in cases}
    for name, data in cases.items():
        paths[name].write_bytes(data)
    result = subprocess.run([sys.executable, "-c", PROBE, str(normal), *map(str, paths.values())], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    report = {name: json.loads(result.stdout.strip().splitlines()[-1])[str(path)] for name, path in paths.items()}
    assert report["at the lab's scale"]["outcome"] == "loaded", report["at the lab's scale"]
    expected = {"at the lab's scale": "loaded"}
    expected |= {"over the bound": r"tfidf.skops would take about 3\d\d MiB .* 1\d\d.\d MiB of arrays",
                "vocabulary bomb": "vocabulary.json would take about", "schema bomb": "schema.json would take about"}
    for name, outcome in report.items():
        assert re.search(expected[name], outcome["outcome"]), outcome
    for name, outcome in report.items():
        assert outcome["growth"] < MAX_GROWTH and outcome["seconds"] < 10, (name, outcome)


@pytest.mark.slow
def test_an_svm_of_many_classes_keeps_two_array_files_a_class_and_loads():
    """A calibrated SVM stores each class's two calibration numbers as array files of their own (training takes
    seconds)."""
    from tests.hostile import create
    texts = [f"text about topic{c} number {i} word{c}" for c in range(40) for i in range(3)]
    labels = [f"c{c}" for c in range(40) for i in range(3)]
    bundle = bundle_bytes(create("svm").fit(texts, labels))
    assert len(_skops_files(bundle)) > 80
    assert load_bundle(bundle).predict(["text about topic3 word3"]).tolist() == ["c3"]


def test_a_label_longer_than_a_bundle_records_is_refused_when_read_and_when_saved():
    """A model trained on such labels could be saved but never loaded again: the data set is refused instead, and a
    model given them directly is refused when saved, each with the same bound."""
    from tests.hostile import create
    from textclf.data.reading import MAX_LABEL_CHARS, load_dataset
    from textclf.errors import DataError, TextclfError
    long = "L" * (MAX_LABEL_CHARS + 1)
    texts = [f"text about good food {i}" for i in range(20)]
    rows = "text,label\n" + "".join(f"{text},{long if i % 2 else 'short'}\n" for i, text in enumerate(texts))
    with pytest.raises(DataError, match="A label is 1,001 characters long"):
        load_dataset(rows.encode())
    with pytest.raises(TextclfError, match="cannot be saved as a bundle: a class name is 1,001 characters"):
        bundle_bytes(create("knn", k=1).fit(texts, [long if i % 2 else "short" for i in range(20)]))
    at_the_bound = ["L" * MAX_LABEL_CHARS if i % 2 else "short" for i in range(20)]
    assert len(load_bundle(bundle_bytes(create("knn", k=1).fit(texts, at_the_bound))).classes) == 2
