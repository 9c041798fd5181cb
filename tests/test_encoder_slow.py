"""The pretrained-encoder row with the real all-MiniLM-L6-v2 (installed by requirements.txt): through a comparison,
into a bundle and back, and refused when a byte of its weights changes. Seconds to minutes each, so all slow."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_dataset
from textclf.data.demo import demo_dataset
from textclf.data.reading import Dataset
from textclf.errors import TextclfError
from textclf.models import create, pretrained
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig
from textclf.storage.bundle import load_bundle, save_bundle

pytestmark = pytest.mark.slow


def test_compare_trains_the_frozen_encoder_on_the_demo_beside_the_svm():
    result = compare(demo_dataset(rows=240, seed=1), CompareConfig(models=("encoder", "svm"), batchings=("bucket",)))
    records = {run.record["model"]: run.record for run in result.runs}
    assert set(records) == {"encoder", "SVM"}
    assert records["encoder"]["accuracy"] > 1 / 4  # four classes: better than chance


def test_compare_finetunes_one_epoch_on_an_mr_slice_and_its_bundle_reloads(tmp_path):
    frame = pd.read_csv(shared_dataset("mr.csv")).sample(n=240, random_state=0)
    data = Dataset(frame["text"].tolist(), frame["label"].astype(str).tolist(), name="mr-slice")
    config = CompareConfig(models=("finetune",), batchings=("max_length", "bucket"), epochs=1, batch_size=16)
    result = compare(data, config, keep_models=True)
    runs = {run.record["batching"]: run for run in result.runs}
    assert set(runs) == {"max_length", "bucket"}
    for run in runs.values():
        (epoch,) = run.history
        assert epoch["steps"] > 0 and epoch["cpu_seconds"] > 0 and 0 <= epoch["padding_waste"] < 1
    assert runs["bucket"].history[0]["padding_waste"] < runs["max_length"].history[0]["padding_waste"]
    model = runs["bucket"].estimator
    path = save_bundle(model, tmp_path / "finetune.textclf")
    restored = load_bundle(path)
    texts = data.texts[:20]
    np.testing.assert_allclose(restored.predict_proba(texts), model.predict_proba(texts), atol=1e-5)
    assert restored.estimator.explain(texts[0]).details["completeness_gap"] < 0.05


def test_a_changed_byte_in_a_copied_minilm_folder_is_refused(tmp_path, monkeypatch):
    copy = shutil.copytree(pretrained.default_folder(), tmp_path / "minilm")
    demo = demo_dataset(rows=60, seed=2)
    model = create("encoder", path=str(copy)).fit(demo.texts, demo.labels)
    path = save_bundle(model, tmp_path / "encoder.textclf")
    assert load_bundle(path).predict(demo.texts[:3]).tolist() == model.predict(demo.texts[:3]).tolist()
    weights = copy / pretrained.WEIGHTS_FILE
    raw = bytearray(weights.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    weights.write_bytes(bytes(raw))
    with pytest.raises(TextclfError, match="sha256"):
        load_bundle(path)
    monkeypatch.setattr(pretrained, "default_folder", lambda: copy)
    with pytest.raises(TextclfError, match="have been changed"):
        create("encoder").fit(demo.texts, demo.labels)
