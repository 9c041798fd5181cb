"""bf16 mixed precision (`precision=auto|bf16|fp32`): padding still never changes an output in bf16 (within a stated
tolerance), the dense recurrent path runs under autocast, weights and optimiser state stay fp32, fp32 runs no
autocast at all (the same bits as before the option), `auto` follows the chip, and bad values are refused."""

import pytest
import torch
from torch import nn

from tests.test_han import DIM, random_documents
from tests.test_models import CLASSES, VOCAB, random_texts
from tests.test_recurrent import FLAT_MODULES, document_plans, flat_plans
from textclf.models import create
from textclf.models.han import HAN
from textclf.models.textcnn import TextCNN
from textclf.runs.config import CompareConfig, ModelSpec
from textclf.training import loop
from textclf.training.loop import BF16, FP32, autocast, native_bf16, resolve_precision

# bfloat16 keeps 8 significant bits (about 2 to 3 decimal digits): a text's logits alone and in a padded batch may
# differ by the rounding of differently shaped kernels, never by what the pads hold. fp32 keeps its 1e-5.
BF16_TOLERANCE = {"atol": 2e-2, "rtol": 0}
# How far bf16 logits of these small random modules may sit from fp32's.
BF16_FROM_FP32 = {"atol": 5e-2, "rtol": 0}

MODULES = {
    "cnn": lambda: TextCNN(VOCAB, CLASSES, embed_dim=16, kernel_sizes=(2, 3, 5), filters=8, dropout=0.0),
    **{f"{name}-{impl}": (lambda build=build, impl=impl: build(impl))
       for name, build in FLAT_MODULES.items() for impl in ("dense", "packed")},
}


def logits_by(module, data, plan, precision: str) -> torch.Tensor:
    out = torch.empty(len(data), CLASSES)
    with torch.no_grad():
        for batch in plan:
            with autocast("cpu", precision):
                out[batch.index] = module(*data.batch(batch.index, batch.padded_length)).float()
    return out


def gradients_by(module, data, plan, precision: str) -> dict[str, torch.Tensor]:
    module.zero_grad()
    for batch in plan:
        with autocast("cpu", precision):
            logits = module(*data.batch(batch.index, batch.padded_length))
        logits.float().logsumexp(dim=1).sum().backward()
    return {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}


def seeded(name: str, training: bool):
    """The named module (seeded, in training or evaluation mode), the random texts and their plans."""
    torch.manual_seed(0)
    data = random_texts()
    return MODULES[name]().train(training), data, flat_plans(data.lengths)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_bf16_outputs_do_not_depend_on_padding_within_its_tolerance(name):
    module, data, plans = seeded(name, training=False)
    alone = logits_by(module, data, plans["alone"], BF16)
    for strategy in ("max_length", "bucketed"):
        torch.testing.assert_close(logits_by(module, data, plans[strategy], BF16), alone, **BF16_TOLERANCE,
                                   msg=f"bf16 {strategy}")
    fp32 = logits_by(module, data, plans["alone"], FP32)
    torch.testing.assert_close(alone, fp32, **BF16_FROM_FP32)
    assert not torch.equal(alone, fp32), "bf16 really computed in bf16"


@pytest.mark.parametrize("name", ["cnn", "rnn-lstm-mean-dense", "rnn-gru-attention-dense", "rcnn-lstm-dense",
                                  "clstm-gru-dense"])
def test_bf16_gradients_are_fp32_and_do_not_depend_on_padding(name):
    module, data, plans = seeded(name, training=True)
    alone = gradients_by(module, data, plans["alone"], BF16)
    bucketed = gradients_by(module, data, plans["bucketed"], BF16)
    assert all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in bucketed.values())
    for parameter, gradient in alone.items():
        torch.testing.assert_close(bucketed[parameter], gradient, atol=2e-2, rtol=5e-2, msg=parameter)


def test_han_in_bf16_does_not_depend_on_padding_at_either_level():
    torch.manual_seed(0)
    data = random_documents()
    plans = document_plans(data.lengths)
    for impl in ("dense", "packed"):
        module = HAN(VOCAB, CLASSES, DIM, hidden=5, dropout=0.0, impl=impl).eval()
        alone = logits_by(module, data, plans["alone"], BF16)
        for strategy in ("max_length", "bucketed"):
            torch.testing.assert_close(logits_by(module, data, plans[strategy], BF16), alone, **BF16_TOLERANCE,
                                       msg=f"{impl} {strategy}")


def test_the_dense_recurrent_path_really_runs_in_bf16_under_autocast():
    """torch._VF.lstm is on autocast's lower-precision list: the dense path computes in bf16 and its outputs
    (bf16) still reach fp32 gradients."""
    from textclf.models.recurrent import run_dense

    rnn = nn.LSTM(6, 4, batch_first=True, bidirectional=True)
    with autocast("cpu", BF16):
        outputs, last = run_dense(rnn, torch.randn(3, 5, 6), torch.tensor([5, 2, 1]))
    assert outputs.dtype == last.dtype == torch.bfloat16
    outputs.float().sum().backward()
    assert rnn.weight_ih_l0.grad.dtype == torch.float32


TEXTS = ["a fine film with a good cast", "bad plot", "the worst", "good good fine", "dull and long and bad"] * 4
LABELS = ["pos", "neg", "neg", "pos", "neg"] * 4
TINY = {"embed_dim": 8, "epochs": 2, "batch_size": 4, "min_freq": 1}


@pytest.fixture
def autocast_seen():
    """Whether autocast was on, for every model module's forward pass (training, validation, prediction)
    meanwhile, and for every loss module's apart (losses are computed in fp32, outside autocast)."""
    seen = {"model": [], "loss": []}

    def record(module, *_):
        seen["loss" if isinstance(module, nn.modules.loss._Loss) else "model"].append(torch.is_autocast_enabled("cpu"))
    hook = nn.modules.module.register_module_forward_pre_hook(record)
    yield seen
    hook.remove()


@pytest.mark.parametrize("key", ["cnn", "rnn"])
def test_fp32_runs_no_autocast_and_auto_is_the_default_resolved_on_this_machine(key, autocast_seen):
    fp32 = create(key, precision="fp32", **TINY).fit(TEXTS, LABELS)
    assert autocast_seen["model"] and not any(autocast_seen["model"]), "fp32 never enters autocast"
    assert fp32.fit_details()["precision"] == "fp32"
    default = create(key, **TINY).fit(TEXTS, LABELS)
    resolved = resolve_precision("auto", torch.device("cpu"))
    assert default.precision == "auto" and default.fit_details()["precision"] == resolved
    same = create(key, precision=resolved, **TINY).fit(TEXTS, LABELS)
    assert torch.equal(default.logits(TEXTS), same.logits(TEXTS)), "auto is exactly the precision it resolves to"


def test_only_a_precision_other_than_the_models_default_is_named_in_its_label():
    assert create("cnn").precision == "auto" and ModelSpec.parse("cnn").label == "TextCNN"
    assert ModelSpec.parse("cnn:precision=fp32").label == "TextCNN (fp32)"
    assert ModelSpec.parse("cnn:precision=bf16").label == "TextCNN (bf16)"
    assert create("finetune").precision == "fp32" and ModelSpec.parse("finetune").label == "finetune"


@pytest.mark.parametrize("key", ["cnn", "rnn", "han"])
def test_bf16_trains_and_predicts_under_autocast_keeps_fp32_weights_and_says_so(key, autocast_seen):
    model = create(key, precision="bf16", **TINY).fit(TEXTS, LABELS)
    model.predict_proba(TEXTS)
    assert autocast_seen["model"] and all(autocast_seen["model"])
    assert autocast_seen["loss"] and not any(autocast_seen["loss"]), "the loss is computed in fp32"
    assert all(p.dtype == torch.float32 for p in model.module_.parameters())
    assert model.fit_details()["precision"] == "bf16"
    fp32 = create(key, precision="fp32", **TINY).fit(TEXTS, LABELS)
    torch.testing.assert_close(model.predict_proba(TEXTS), fp32.predict_proba(TEXTS), atol=0.1, rtol=0)
    assert not torch.equal(model.logits(TEXTS), fp32.logits(TEXTS))


def test_optimiser_state_stays_fp32_under_bf16():
    module, data, plans = seeded("cnn", training=True)
    optimizer = loop.make_optimizer(module, 1e-3)
    loop.accumulate_gradients(module, data, torch.arange(len(data)) % CLASSES, plans["bucketed"][0],
                              loss_fn=nn.CrossEntropyLoss(), device="cpu", precision=BF16)
    optimizer.step()
    states = [value for state in optimizer.state.values() for value in state.values() if value.dim() > 0]
    assert states and all(value.dtype == torch.float32 for value in states)


def test_bad_precisions_are_refused_clearly():
    with pytest.raises(ValueError, match="precision must be one of auto, bf16, fp32, not 'fp16'"):
        create("cnn", precision="fp16", **TINY).fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("half", torch.device("cpu"))


def test_auto_is_bf16_only_where_the_chip_computes_it_natively(monkeypatch):
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == FP32 and resolve_precision("bf16", cpu) == BF16
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True, "amx_bf16": False})
    assert native_bf16(cpu) and resolve_precision("auto", cpu) == BF16
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": False, "avx512_f": True})
    assert not native_bf16(cpu) and resolve_precision("auto", cpu) == FP32, "emulated bf16 on AVX-512 is no gain"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert resolve_precision("auto", torch.device("cuda")) == BF16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert resolve_precision("auto", torch.device("cuda")) == FP32
    assert resolve_precision("auto", torch.device("meta")) == FP32


def test_a_comparison_can_hold_the_same_model_in_two_precisions():
    config = CompareConfig(models=("cnn", "cnn:precision=bf16", "rnn", "rnn:precision=bf16"))
    assert [m.label for m in config.models] == ["TextCNN", "TextCNN (bf16)", "BiLSTM (mean)", "BiLSTM (mean, bf16)"]
    assert create("cnn", embedding="static", precision="bf16").display_name == "TextCNN (static, bf16)"
