"""A pretrained encoder fine-tuned with a linear head: a neural model whose inputs are the encoder's word pieces.

It is a neural model like the others in everything but its inputs and its optimiser: the same batching strategies
(length buckets save most here, since a transformer layer's cost grows with the padded length), the same training
loop with its early stopping, padding waste, steps and timings, integrated gradients and the time-left plan.
What differs:

- inputs: each text's words are split into the encoder's word pieces (textclf.models.pretrained), with CLS and
  SEP, truncated to `max_len` pieces (256, sentence-transformers' limit for MiniLM) whatever the comparison
  truncates words to; there is no vocabulary to fit, and texts in a script the encoder does not know are refused;
- the module: the pretrained encoder, mean-pooled over the real pieces (the attention mask keeps padding out,
  so outputs do not depend on it), dropout and a linear layer;
- optimiser: AdamW (weight decay 0.01 off biases and LayerNorms) at 5e-5, the learning rate rising linearly over
  the first `warmup` share of the planned steps and falling linearly to zero at the last (Devlin et al. 2019);
  gradients clipped to norm 1; 3 epochs at most, batches of 32.

Explanations are integrated gradients over the word-piece embeddings from a baseline of pad pieces between the
text's CLS and SEP; a word split into several pieces gets their sum. A bundle stores every fine-tuned weight
(encoder and head) as safetensors and names the base encoder by the sha256 of its weights and tokenizer: the
folder must be there, unchanged, when the bundle loads (textclf.storage.bundle_encoder).
"""

from __future__ import annotations

from collections.abc import Hashable

import torch
from torch import nn

from textclf.data.vocab import EncodedTexts
from textclf.explain.explanation import refuse_all_unknown
from textclf.models import register
from textclf.models.neural import AttributionInput, NeuralTextClassifier
from textclf.models.pretrained import (
    DEFAULT_PIECES,
    EncoderHead,
    check_coverage,
    encoder_from_config,
    load_encoder,
    load_tokenizer,
    require_hashes,
    resolve_encoder,
    word_pieces,
)
from textclf.training.loop import FP32, TrainSettings, resolve_precision

DEFAULT_LR = 5e-5
NO_DECAY = ("bias", "LayerNorm.weight", "layernorm.weight", "norm.weight")
ENCODER_KEYS = ("sha256", "tokenizer_sha256", "bucket_boundaries")


def adamw_with_warmup(module: nn.Module, *, lr: float, weight_decay: float, warmup: float, total_steps: int):
    """AdamW with linear warm-up over `warmup` × `total_steps` updates, then linear decay to zero at the last."""
    decayed = [p for n, p in module.named_parameters() if not n.endswith(NO_DECAY)]
    plain = [p for n, p in module.named_parameters() if n.endswith(NO_DECAY)]
    optimizer = torch.optim.AdamW([{"params": decayed, "weight_decay": weight_decay},
                                   {"params": plain, "weight_decay": 0.0}], lr=lr)
    warm = max(1, round(warmup * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@register
class FineTunedEncoder(NeuralTextClassifier):
    """The pretrained encoder and a linear head, trained together."""

    key, title, order = "finetune", "Fine-tuned encoder", 9
    summary = "a pretrained encoder (all-MiniLM-L6-v2) fine-tuned with a linear head (AdamW, warm-up, linear decay)"
    relative_cost = 300
    bundle_kind = "finetune"
    form_fields = ("path",)  # the Train page asks for the encoder folder
    default_optimizer = "adamw"
    default_lrs = {"adamw": DEFAULT_LR}
    unknown_effect = "it reads them as unknown word pieces"

    # precision stays fp32 here (bf16 fine-tuning was not measured): `finetune:precision=bf16` to try it
    def __init__(self, *, path: str = "", warmup: float = 0.1, weight_decay: float = 0.01,
                 max_len: int = DEFAULT_PIECES, batch_size: int = 32, epochs: int = 3, patience: int = 2,
                 dropout: float = 0.1, clip_norm: float | None = 1.0, precision: str = FP32, **params):
        super().__init__(max_len=max_len, batch_size=batch_size, epochs=epochs, patience=patience, dropout=dropout,
                         clip_norm=clip_norm, precision=precision, **params)
        self.path, self.warmup, self.weight_decay = path, warmup, weight_decay

    @classmethod
    def label(cls, params: dict) -> str:
        name = str(params.get("path") or "").rstrip("/").split("/")[-1]
        return ", ".join(filter(None, ["finetune", name, cls.embedding_label({"precision": params.get("precision",
                                                                                                      FP32)})]))

    @classmethod
    def run_settings(cls, batching: str, max_len: int, config) -> dict:
        """The comparison's settings, but not its truncation: that counts words, this model reads word pieces."""
        settings = super().run_settings(batching, max_len, config)
        settings.pop("max_len")
        return settings

    def _fit_inputs(self, tokens: list) -> None:
        self.source_ = resolve_encoder(self.path)
        self.unknown_share_ = check_coverage(self.source_, tokens, self.max_len)

    def _new_module(self) -> nn.Module:
        return EncoderHead(load_encoder(self.source_), len(self.classes_), self.dropout)

    def _train_settings(self, train: EncodedTexts) -> TrainSettings:
        """The loop's settings with AdamW and a schedule over the steps the epochs are planned to take."""
        batches = len(self.strategy_.plan(train.lengths, torch.Generator().manual_seed(self.seed)))
        total = max(1, self.epochs * batches)

        def optimizer_factory(module):
            return adamw_with_warmup(module, lr=self.learning_rate(), weight_decay=self.weight_decay,
                                     warmup=self.warmup, total_steps=total)

        return TrainSettings(epochs=self.epochs, lr=self.learning_rate(), patience=self.patience, seed=self.seed,
                             clip_norm=self.clip_norm, precision=self.precision_, optimizer_factory=optimizer_factory)

    def lengths_key(self) -> Hashable:
        return super().lengths_key(), self.path

    def _encode(self, tokens: list[list[str]]) -> EncodedTexts:
        return word_pieces(self._source(), tokens, self.max_len).encoded

    def _lengths(self, tokens: list) -> torch.Tensor:
        return self._encode(tokens).lengths

    def _source(self):
        """The checked encoder folder (found again by an unfitted copy, e.g. the time-left planner's)."""
        if not hasattr(self, "source_"):
            self.source_ = resolve_encoder(self.path)
        return self.source_

    def fit_details(self) -> dict:
        return {**super().fit_details(), "encoder": self.source_.name, "encoder_sha256": self.source_.sha256,
                "unknown_piece_share": getattr(self, "unknown_share_", None)}

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.module_.parameters() if p.requires_grad)

    # Bundle hooks (textclf.storage.bundle_encoder): the encoder named by its hashes, the weights as safetensors.

    def bundle_encoder(self) -> dict:
        return {"sha256": self.source_.sha256, "tokenizer_sha256": self.source_.tokenizer_sha256,
                "bucket_boundaries": getattr(self.strategy_, "boundaries", None)}

    def restore_encoder(self, info: dict, what: str) -> None:
        """Find the base encoder, refuse it unless its hashes are those the bundle names, rebuild the strategy."""
        self.source_ = resolve_encoder(self.path)
        require_hashes(self.source_, info["sha256"], info["tokenizer_sha256"], what)
        self.strategy_ = self.build_strategy()
        if info.get("bucket_boundaries") is not None:
            self.strategy_.boundaries = list(info["bucket_boundaries"])
        self.device_ = torch.device("cpu")
        self.precision_ = resolve_precision(self.precision, self.device_)

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor the module holds and its shape, read on torch's meta device (nothing allocated)."""
        with torch.device("meta"):
            return {name: tuple(tensor.shape) for name, tensor in self._restored_module().state_dict().items()}

    def _restored_module(self) -> nn.Module:
        return EncoderHead(encoder_from_config(self.source_), len(self.classes_), self.dropout)

    def _attribution_input(self, tokens: list) -> AttributionInput:
        """The text as word pieces, integrated from pad pieces between its own CLS and SEP."""
        pieces = word_pieces(self.source_, [tokens], self.max_len)
        ids, words = pieces.encoded.ids, pieces.words[0]
        read = 1 + max((w for w in words if w is not None), default=-1)
        unknown_id = load_tokenizer(self.source_).unk_token_id
        unknown = sorted({w for w, piece in zip(words, ids[0].tolist(), strict=True)
                          if w is not None and piece == unknown_id})
        refuse_all_unknown(self.display_name, tokens, read - len(unknown))
        special = torch.tensor([w is None for w in words])
        baseline = torch.where(special, ids[0], torch.zeros_like(ids[0]))[None, :]
        return AttributionInput(list(tokens), self._decision(tokens), self.module_, ids.to(self.device_),
                                pieces.encoded.lengths, read, unknown, baseline=baseline.to(self.device_),
                                words=words)
