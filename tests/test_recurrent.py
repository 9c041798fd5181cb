"""Recurrent models dense or packed (`impl`): the same outputs and parameter gradients for a text alone, in a
max-length batch and in a bucketed batch, in both implementations, for every recurrent model, cell and pooling;
`auto`'s choice per batch, its count in the results, and state_dicts that still load."""

import pytest
import torch
from torch.nn import functional as F

from tests.test_han import DIM, SENTENCES_PER_DOC, random_documents
from tests.test_models import CLASSES, VOCAB, random_texts
from textclf.models import create
from textclf.models.birnn import CELLS, POOLINGS, BiRNN
from textclf.models.clstm import CLSTM
from textclf.models.han import HAN
from textclf.models.rcnn import RCNN
from textclf.models.recurrent import DENSE, PACKED, RecurrentReader, prefers_packed
from textclf.training.batching import Batch, Bucketed, DocumentBucketed, DocumentMaxLength, MaxLength

TOLERANCE = {"atol": 1e-5, "rtol": 0}

FLAT_MODULES = {
    **{f"rnn-{cell}-{pooling}": (lambda impl, c=cell, p=pooling: BiRNN(
        VOCAB, CLASSES, embed_dim=12, hidden=10, cell=c, pooling=p, dropout=0.0, impl=impl))
       for cell in sorted(CELLS) for pooling in POOLINGS},
    **{f"rnn-{cell}-unidirectional-{pooling}": (lambda impl, c=cell, p=pooling: BiRNN(
        VOCAB, CLASSES, embed_dim=12, hidden=10, cell=c, bidirectional=False, pooling=p, dropout=0.0, impl=impl))
       for cell in sorted(CELLS) for pooling in ("last", "mean")},
    **{f"rcnn-{cell}": (lambda impl, c=cell: RCNN(
        VOCAB, CLASSES, embed_dim=12, hidden=10, latent=9, cell=c, dropout=0.0, impl=impl)) for cell in sorted(CELLS)},
    **{f"clstm-{cell}": (lambda impl, c=cell: CLSTM(
        VOCAB, CLASSES, embed_dim=12, kernel_size=3, filters=7, hidden=10, cell=c, dropout=0.0, impl=impl))
       for cell in sorted(CELLS)},
}


def outputs_and_gradients(module, data, plans, extra_pad: int = 0):
    """Logits of every text (in order) and the parameters' gradients of their summed cross-entropy, batched by
    `plans`; `extra_pad` pads flat batches further, past their longest text."""
    module.zero_grad()
    labels = torch.arange(len(data)) % CLASSES
    out = torch.empty(len(data), CLASSES)
    for batch in plans:
        padded = batch.padded_length + extra_pad if isinstance(batch.padded_length, int) else batch.padded_length
        logits = module(*data.batch(batch.index, padded))
        F.cross_entropy(logits, labels[batch.index], reduction="sum").backward()
        out[batch.index] = logits.detach()
    return out, {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}


def flat_plans(lengths: torch.Tensor) -> dict:
    return {"alone": [Batch(torch.tensor([i]), int(length)) for i, length in enumerate(lengths)],
            "max_length": MaxLength(5).plan(lengths),
            "bucketed": Bucketed(4, n_buckets=3).plan(lengths, torch.Generator().manual_seed(1))}


def document_plans(lengths) -> dict:
    return {"alone": DocumentBucketed(1).plan(lengths), "max_length": DocumentMaxLength(4).plan(lengths),
            "bucketed": DocumentBucketed(3).plan(lengths, torch.Generator().manual_seed(2))}


def assert_same_everywhere(build, data, plans: dict, extra_pad: int = 0) -> None:
    """Packed and alone is the reference (today's exact path): every implementation × batching matches it, and the
    forced implementations really ran as asked."""
    torch.manual_seed(0)
    reference_module = build(PACKED).train()
    state = reference_module.state_dict()
    reference = outputs_and_gradients(reference_module, data, plans["alone"])
    for impl in ("dense", "packed", "auto"):
        module = build(impl).train()
        module.load_state_dict(state)
        for name, plan in plans.items():
            outputs, gradients = outputs_and_gradients(module, data, plan, extra_pad if name == "max_length" else 0)
            torch.testing.assert_close(outputs, reference[0], **TOLERANCE, msg=f"{impl} {name} outputs")
            assert gradients.keys() == reference[1].keys()
            for parameter, gradient in gradients.items():
                torch.testing.assert_close(gradient, reference[1][parameter], **TOLERANCE,
                                           msg=f"{impl} {name} gradient of {parameter}")
        counts = module.reader.counts  # auto: bucketed batches and texts alone dense, max-length ones packed
        ran = {"dense": counts.dense > 0, "packed": counts.packed > 0}
        assert ran == {"dense": impl != "packed", "packed": impl != "dense"}, f"{impl} ran {counts}"


@pytest.mark.parametrize("name", sorted(FLAT_MODULES))
def test_flat_recurrent_models_give_the_same_outputs_and_gradients_dense_or_packed_however_padded(name):
    data = random_texts()
    assert_same_everywhere(FLAT_MODULES[name], data, flat_plans(data.lengths), extra_pad=20)


def test_han_gives_the_same_outputs_and_gradients_dense_or_packed_at_both_levels_however_padded():
    data = random_documents()
    assert len(data) == len(SENTENCES_PER_DOC)
    build = lambda impl: HAN(VOCAB, CLASSES, DIM, hidden=5, dropout=0.0, impl=impl)  # noqa: E731
    assert_same_everywhere(build, data, document_plans(data.lengths))


def test_auto_packs_max_length_batches_of_short_texts_and_runs_bucketed_batches_dense():
    short_with_one_long = torch.tensor([437] + [18] * 49)
    assert prefers_packed(short_with_one_long)
    assert not prefers_packed(torch.tensor([30] * 25 + [40] * 25))
    assert not prefers_packed(torch.tensor([100] * 25 + [128] * 25))
    assert not prefers_packed(torch.tensor([5]))
    assert not prefers_packed(torch.tensor([512] + [200] * 49)), "long batches: packing's per-step cost grows"


def test_under_bf16_packing_runs_in_fp32_and_auto_leans_to_the_faster_dense_path():
    """torch's packed kernels gain nothing from bf16 autocast (they were 1.4x slower), the dense path does."""
    lengths = torch.tensor([59] * 10 + [15] * 40)  # 40 % filled: packed in fp32, dense once bf16 speeds dense up
    reader, rnn = RecurrentReader(), torch.nn.LSTM(8, 4, batch_first=True, bidirectional=True)
    assert reader.choose(lengths) == PACKED
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert reader.choose(lengths) == DENSE
    seen = []
    rnn.register_forward_hook(lambda module, args, out: seen.append((args[0].data.dtype, out[0].data.dtype)))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs, last = RecurrentReader("packed")(rnn, torch.randn(50, 59, 8), lengths)
    assert seen == [(torch.float32, torch.float32)] and outputs.dtype == last.dtype == torch.float32


TEXTS = ["a fine film with a good cast", "bad plot", "the worst", "good good fine", "dull and long and bad"] * 4
LABELS = ["pos", "neg", "neg", "pos", "neg"] * 4


@pytest.mark.parametrize("key", ["rnn", "rcnn", "clstm", "han"])
def test_each_recurrent_estimator_takes_impl_names_it_and_counts_its_batches(key):
    exact = {"embed_dim": 8, "epochs": 2, "batch_size": 4, "min_freq": 1, "precision": "fp32"}  # 1e-5 is fp32's
    forced = create(key, **exact, impl="packed").fit(TEXTS, LABELS)
    details = forced.fit_details()
    assert details["dense_batches"] == 0 and details["packed_batches"] >= 2 * len(TEXTS) // 4
    assert "packed" in forced.display_name and "packed" not in create(key).display_name
    automatic = create(key, **exact).fit(TEXTS, LABELS)
    same = torch.allclose(torch.as_tensor(automatic.predict_proba(TEXTS)), torch.as_tensor(forced.predict_proba(TEXTS)),
                          atol=1e-5)
    assert same, "the implementation is a speed choice: the same seed trains the same model"
    with pytest.raises(ValueError, match="impl must be one of"):
        create(key, embed_dim=8, epochs=1, min_freq=1, impl="fast").fit(TEXTS, LABELS)


def test_state_dicts_keep_the_recurrent_layers_parameter_names():
    """Bundles saved before the dense formulation hold these names: they must still load."""
    module = BiRNN(VOCAB, CLASSES, embed_dim=6, hidden=4)
    assert {name for name in module.state_dict() if name.startswith("rnn.")} == {
        f"rnn.{kind}_l0{suffix}" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        for suffix in ("", "_reverse")}
    han = HAN(VOCAB, CLASSES, DIM, hidden=5)
    assert "word_rnn.weight_hh_l0_reverse" in han.state_dict() and "sentence_rnn.bias_ih_l0" in han.state_dict()
