"""Model bundles: save → load predicts identically for every model type; hostile or damaged files are refused."""

import copy
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import skops.io
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import FunctionTransformer

from textclf.cli import main
from textclf.data.tokenize import Tokenizer, identity
from textclf.errors import BundleError, TextclfError
from textclf.jobs.runner import JobRunner
from textclf.models import create
from textclf.runs.config import CompareConfig
from textclf.storage.bundle import MANIFEST, TFIDF_STATE, WEIGHTS, bundle_bytes, load_bundle, save_bundle

MODELS = ("cnn:embed_dim=16:filters=8", "rnn:embed_dim=16:hidden=8:pooling=attention", "svm", "knn:k=3")


@pytest.fixture(scope="module")
def trained(small_demo):
    """One fitted model per type, trained the way the dashboard trains them (a background job)."""
    runner = JobRunner()
    job = runner.submit(small_demo, CompareConfig(models=MODELS, batchings=("bucket",), epochs=1, batch_size=16))
    assert job.wait(timeout=120) and job.status == "done", job.error
    runner.shutdown()
    return {result.record["model_key"]: result.estimator for result in job.comparison().runs}


@pytest.mark.parametrize("key", ["cnn", "rnn", "svm", "knn"])
def test_a_loaded_bundle_predicts_exactly_like_the_trained_model(trained, small_demo, tmp_path, key):
    estimator = trained[key]
    path = save_bundle(estimator, tmp_path / "model.textclf", metadata={"dataset": small_demo.name})
    bundle = load_bundle(path)
    texts = small_demo.texts[:60] + ["", "words never seen in training", "NOT BAD AT ALL!!"]
    np.testing.assert_allclose(bundle.predict_proba(texts), estimator.predict_proba(texts), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(bundle.predict(texts), estimator.predict(texts))
    assert bundle.classes == sorted(set(small_demo.labels))
    meta = bundle.metadata
    assert meta["key"] == key and meta["dataset"] == small_demo.name and meta["tokenizer"] == "words"
    assert meta["versions"]["torch"] == torch.__version__ and meta["created"]
    assert (meta["max_len"] is None) == (key in ("svm", "knn"))


def test_bundle_bytes_load_like_the_file(trained, small_demo):
    estimator = trained["cnn"]
    bundle = load_bundle(bundle_bytes(estimator))
    np.testing.assert_allclose(bundle.predict_proba(small_demo.texts[:20]),
                               estimator.predict_proba(small_demo.texts[:20]), rtol=0, atol=1e-6)
    assert bundle.predict("really good food").shape == (1,)


def test_an_untrained_model_cannot_be_saved():
    with pytest.raises(TextclfError, match="not been trained"):
        bundle_bytes(create("svm"))


def _rewritten(data: bytes, **members: bytes) -> bytes:
    """The bundle `data` with some members replaced (how a tampered file would look)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, members.get(name, source.read(name)))
    return out.getvalue()


def test_a_bundle_saved_before_a_default_changed_loads_with_the_setting_it_was_trained_with(trained, small_demo):
    """Bundles saved before `wide` existed name no such setting: they were narrow, whatever the default now is."""
    good = bundle_bytes(trained["cnn"])
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(good)).read(MANIFEST))
    assert manifest["metadata"]["params"].pop("wide") is trained["cnn"].wide
    older = load_bundle(_rewritten(good, **{MANIFEST: json.dumps(manifest).encode()}))
    assert older.estimator.wide is False and older.estimator.module_.wide is False


def test_a_tfidf_bundle_saved_before_hashing_loads_predicts_and_explains(trained, small_demo):
    """Bundles saved before the n-grams were hashed hold an exact vocabulary (a TfidfVectorizer)."""
    svm = copy.deepcopy(trained["svm"])
    docs, labels = svm._tokens(small_demo.texts), svm._encode_labels(small_demo.labels)
    svm.vectorizer_ = TfidfVectorizer(tokenizer=Tokenizer("words"), preprocessor=identity, lowercase=False,
                                      token_pattern=None, ngram_range=(1, 2), sublinear_tf=True)
    svm.classifier_ = svm.make_classifier(labels, None).fit(svm.vectorizer_.fit_transform(docs), labels)
    older = load_bundle(bundle_bytes(svm)).estimator
    np.testing.assert_array_equal(older.predict(small_demo.texts), svm.predict(small_demo.texts))
    features = older.explain("the rice was cold zebra", "features").details["features"]
    assert {f["feature"] for f in features} <= set(svm.vectorizer_.vocabulary_) and "rice" in {
        f["feature"] for f in features}
    assert older.explain("the rice was cold zebra", "features").unknown == [4]


def test_a_tfidf_bundle_whose_columns_do_not_fit_its_weights_is_refused(trained):
    svm = copy.deepcopy(trained["svm"])
    svm.vectorizer_.columns_ = svm.vectorizer_.columns_[::-1].copy()
    with pytest.raises(BundleError, match="columns do not match"):
        load_bundle(bundle_bytes(svm))


class WritesAFile:
    """Unpickling this creates a file: the harmless stand-in for code a hostile file would run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_damaged_or_foreign_files_are_refused_with_a_clear_message(trained, tmp_path):
    good = bundle_bytes(trained["cnn"])
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(good)).read(MANIFEST))
    newer = _rewritten(good, **{MANIFEST: json.dumps({**manifest, "version": 99}).encode()})
    foreign = io.BytesIO()
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("notes.txt", "hello")
    cases = {
        "truncated.textclf": (good[: len(good) // 2], "damaged or not a textclf bundle.*Choose a bundle"),
        "empty.textclf": (b"", "damaged or not a textclf bundle.*Choose a bundle"),
        "foreign.zip": (foreign.getvalue(), "not a textclf bundle.*Choose a bundle"),
        "newer.textclf": (newer, "newer textclf.*upgrade"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(BundleError, match=f"{name}.*{message}"):
            load_bundle(tmp_path / name)
    with pytest.raises(BundleError, match="Cannot read the bundle"):
        load_bundle(tmp_path / "missing.textclf")


def test_pickles_that_would_run_code_are_refused_and_never_run(trained, tmp_path):
    marker = tmp_path / "code-ran"
    plain_pickle = pickle.dumps(WritesAFile(marker))
    weights = io.BytesIO()
    torch.save({"embedding.weight": WritesAFile(marker)}, weights)
    hostile_weights = _rewritten(bundle_bytes(trained["cnn"]), **{WEIGHTS: weights.getvalue()})
    hostile_skops = _rewritten(bundle_bytes(trained["svm"]), **{TFIDF_STATE: skops.io.dumps(
        {"vectorizer": FunctionTransformer(os.system), "classifier": None})})
    for name, data, message in (("model.pkl", plain_pickle, "not a textclf bundle"),
                                ("weights.textclf", hostile_weights, "refused"),
                                ("skops.textclf", hostile_skops, "refused")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(BundleError, match=message):
            load_bundle(tmp_path / name)
    assert not marker.exists()


def test_predict_command_prints_the_label_and_the_probabilities(trained, tmp_path, capsys):
    path = save_bundle(trained["svm"], tmp_path / "svm.textclf")
    assert main(["predict", str(path), "really good food", "the taste was awful"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = load_bundle(path).predict(["really good food", "the taste was awful"])
    assert lines[0] == f"{expected[0]}\treally good food" and lines[2] == f"{expected[1]}\tthe taste was awful"
    probabilities = [float(v) for v in lines[1].split()[1::2]]
    assert len(probabilities) == 4 and probabilities == sorted(probabilities, reverse=True)
    assert abs(sum(probabilities) - 1) < 0.01
    (tmp_path / "bad.textclf").write_bytes(b"junk")
    assert main(["predict", str(tmp_path / "bad.textclf"), "x"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def _renamed_member(bundle: bytes, member: str, old: str, new: str) -> bytes:
    """The bundle with one inner skops file's schema naming module `old` as `new`."""
    source, out = zipfile.ZipFile(io.BytesIO(bundle)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as rewritten:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                inner, renamed = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
                with zipfile.ZipFile(renamed, "w") as state:
                    for part in inner.infolist():
                        content = inner.read(part)
                        if part.filename == "schema.json":
                            content = content.decode().replace(json.dumps(old), json.dumps(new)).encode()
                        state.writestr(part, content)
                data = renamed.getvalue()
            rewritten.writestr(info, data)
    return out.getvalue()


def test_a_tfidf_bundle_naming_the_tokenizer_module_before_the_layout_move_still_loads(trained, small_demo):
    """Bundles saved before the sub-package layout name `textclf.tokenize`; they are read as the new module."""
    estimator = trained["svm"]
    old = _renamed_member(bundle_bytes(estimator), TFIDF_STATE, "textclf.data.tokenize", "textclf.tokenize")
    state = zipfile.ZipFile(io.BytesIO(old)).read(TFIDF_STATE)
    assert "textclf.tokenize.Tokenizer" in skops.io.get_untrusted_types(data=state)
    bundle = load_bundle(old)
    np.testing.assert_allclose(bundle.predict_proba(small_demo.texts[:20]),
                               estimator.predict_proba(small_demo.texts[:20]), rtol=0, atol=1e-9)
