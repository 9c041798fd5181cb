"""Word vectors for the neural models: word2vec on the training split, or a vectors file, and the embedding layer.

Four modes (Kim 2014): `rand` learns embeddings from scratch; `static` starts from vectors and keeps them frozen;
`non-static` starts from vectors and fine-tunes them; `multichannel` keeps one frozen and one fine-tuned copy side
by side, so fine-tuning moves the words seen in training while the frozen copy still knows the rest.

Vectors come from word2vec trained on the training texts only (gensim; seconds at these sizes, nothing downloaded)
or from a file in the word2vec text/binary or GloVe text format, read with gensim's `KeyedVectors` (plain numbers,
never pickle), bounded in size. Words of the vocabulary without a vector start random with the vectors' own scale.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from textclf.data.vocab import PAD, SPECIALS, Vocabulary
from textclf.errors import TextclfError

EMBEDDINGS = ("rand", "static", "non-static", "multichannel")
CORPUS = "corpus"
MAX_VECTOR_FILE_BYTES = 1 << 30
MAX_VECTOR_WORDS = 400_000
# The widest embedding any model here may have: a vectors file sets the embedding size, so its dimension is held
# to the bound the bundle loader puts on `embed_dim` (textclf/storage/bundle_checks.py reads it from here).
MAX_EMBED_DIM = 4096
# A text row holds a word and MAX_EMBED_DIM numbers; 48 characters a number is far more than any writer uses.
MAX_ROW_CHARS = MAX_EMBED_DIM * 48 + 1024
TEXT_BATCH_NUMBERS = 1 << 20  # numbers parsed in one call: a few MB at a time
WORD2VEC_EPOCHS = 5
WORD2VEC_WINDOW = 5
EMBEDDING_INIT_RANGE = 0.25
FORMAT_HELP = ("Expected the word2vec text or binary format (a first line 'count dimension', then one word per "
               "line) or the GloVe text format (no first line): a word and its numbers, the same count on every line.")


def init_embedding(embedding: nn.Embedding) -> nn.Embedding:
    """Kim (2014)'s initialisation for random word vectors, U(-0.25, 0.25), the pad row kept at zero.

    torch's default N(0, 1) gives vectors about 7 times larger, which the first layers then have to shrink
    while the model overfits the training set."""
    nn.init.uniform_(embedding.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
    if embedding.padding_idx is not None:
        with torch.no_grad():
            embedding.weight[embedding.padding_idx].zero_()
    return embedding


def check_embedding(mode: str) -> None:
    if mode not in EMBEDDINGS:
        raise ValueError(f"embedding must be one of {', '.join(EMBEDDINGS)}, not {mode!r}.")


def uses_vectors(mode: str) -> bool:
    return mode != "rand"


@dataclass(frozen=True)
class Coverage:
    """How much of the vocabulary (and of the training tokens) the vectors knew."""

    words_found: int
    words: int
    tokens_found: int
    tokens: int

    @property
    def vocabulary_share(self) -> float:
        return self.words_found / self.words if self.words else 0.0

    @property
    def token_share(self) -> float:
        return self.tokens_found / self.tokens if self.tokens else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "vocabulary_share": self.vocabulary_share, "token_share": self.token_share}


def train_word2vec(tokens: Sequence[Sequence[str]], dim: int, *, seed: int = 0, min_count: int = 1):
    """Skip-gram word2vec on the given (training) token lists; one worker so a seed gives the same vectors."""
    from gensim.models import Word2Vec

    sentences = [list(doc) for doc in tokens if doc]
    if not sentences:
        raise TextclfError("There are no training tokens to learn word vectors from.")
    model = Word2Vec(sentences=sentences, vector_size=dim, window=WORD2VEC_WINDOW, min_count=min_count, sg=1,
                     workers=1, seed=seed, epochs=WORD2VEC_EPOCHS)
    return model.wv


def load_vectors(path: str | os.PathLike, *, max_bytes: int = MAX_VECTOR_FILE_BYTES,
                 max_words: int = MAX_VECTOR_WORDS):
    """Read a word2vec (text or binary) or GloVe (text) file; the first `max_words` rows are kept.

    The format is recognised from the first line: two whole numbers make a word2vec header, anything else is
    GloVe. A header file whose rows are not text is read as binary (gensim; fixed-size records). Text rows are
    checked here, line by line: gensim would silently stretch a short row to the dimension.
    """
    path = Path(path)
    size = _check_size(path, max_bytes)
    header = _header(path)
    if header is not None:
        _check_dimension(header[1], path, "its first line declares")
    try:
        return _read(path, header, max_words, size)
    except MemoryError:
        raise TextclfError(f"{path.name} needs more memory than this computer has free; keep fewer words "
                           "(e.g. `head -n 200000`).") from None


def _read(path: Path, header: tuple[int, int] | None, max_words: int, size: int):
    try:
        return _checked(_read_text(path, header, max_words), path)
    except TextclfError:
        raise
    except (ValueError, UnicodeDecodeError) as err:
        problem = err
    if header is not None:
        try:
            return _checked(_read_binary(path, header, max_words, size), path)
        except (ValueError, UnicodeDecodeError, EOFError) as err:
            problem = problem if isinstance(problem, ValueError) and "line" in str(problem) else err
    raise TextclfError(f"{path.name} is not a readable vectors file ({problem}). {FORMAT_HELP}")


def vectors_dimension(path: str | os.PathLike) -> int:
    """The dimension of a vectors file, read from its header or its first row (to size the model's embedding)."""
    return int(load_vectors(path, max_words=1).vector_size)


def _check_dimension(dim: int, path: Path, where: str) -> None:
    if dim > MAX_EMBED_DIM:
        raise TextclfError(f"{path.name} was refused: {where} {dim:,} dimensions; word vectors here have at most "
                           f"{MAX_EMBED_DIM:,} (the largest embedding size a model may have).")


def _check_size(path: Path, max_bytes: int) -> int:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise TextclfError(f"Cannot read the vectors file {path}: {err.strerror}. Check the path.") from None
    if size == 0:
        raise TextclfError(f"{path.name} is empty. {FORMAT_HELP}")
    if size > max_bytes:
        raise TextclfError(f"{path.name} is {size / 2**20:.0f} MiB, over the {max_bytes / 2**20:.0f} MiB limit for "
                           "vectors files; keep only the most frequent words (e.g. `head -n 200000`).")
    return size


def _header(path: Path) -> tuple[int, int] | None:
    with open(path, "rb") as handle:
        first = handle.readline(4096).split()
    if len(first) == 2 and all(part.isdigit() for part in first):
        return int(first[0]), int(first[1])
    return None


def _read_text(path: Path, header: tuple[int, int] | None, max_words: int):
    """Rows 'word x1 … xd', every row the same d (the header's when there is one); the first of a repeated word.

    The numbers go straight into one matrix sized from the file (a row of d numbers takes at least 2d + 2 bytes),
    parsed TEXT_BATCH_NUMBERS numbers at a time: an array a row, then stacked, then copied by gensim, took 543 MB and
    16 s for a 51 MB file of 400,000 words."""
    from gensim.models import KeyedVectors

    dim = header[1] if header else None
    words, seen, batch, matrix, read = [], set(), [], None, 0
    with open(path, encoding="utf-8", errors="strict") as handle:
        if header:
            handle.readline()
        for number, line in _rows(handle, path, start=2 if header else 1):
            if read >= max_words:
                break
            word, _, numbers = line.rstrip().partition(" ")
            if not word:
                continue
            count = numbers.count(" ") + 1 if numbers else 0
            if dim is None:
                dim = count
                _check_dimension(dim, path, f"line {number} has")
            if count != dim:
                raise ValueError(f"line {number} has {count} numbers where {dim} were expected")
            if matrix is None:
                matrix = np.empty((min(max_words, path.stat().st_size // (2 * dim + 2) + 1), dim), np.float32)
            read += 1
            batch.append((number, numbers, word not in seen))
            if word not in seen:
                seen.add(word)
                words.append(word)
            if len(batch) * max(dim, 1) >= TEXT_BATCH_NUMBERS:
                _fill(matrix, len(words) - sum(kept for _, _, kept in batch), batch)
    if matrix is not None and batch:
        _fill(matrix, len(words) - sum(kept for _, _, kept in batch), batch)
    if not words:
        raise ValueError("no vectors found")
    if header and read < min(header[0], max_words):
        raise ValueError(f"the first line promises {header[0]} vectors but holds only {read}")
    vectors = KeyedVectors(vector_size=dim)
    vectors.vectors, vectors.index_to_key = matrix[:len(words)], words
    vectors.key_to_index = {word: index for index, word in enumerate(words)}
    return vectors


def _fill(matrix: np.ndarray, start: int, batch: list) -> None:
    """Parse a batch of rows' numbers into the matrix from row `start` (rows of a repeated word are checked, not
    kept): pandas' C parser in one call (numpy's took 0.5 s a million numbers, 12 s for a 50 MB file), else row
    by row as numpy reads them, which names a line holding something that is not a number."""
    text = "\n".join(numbers for _, numbers, _ in batch).replace(" ", "\n")  # one column: no per-column cost
    try:
        values = pd.read_csv(io.StringIO(text), header=None, dtype=np.float32, engine="c", na_filter=False,
                             skip_blank_lines=False, quoting=csv.QUOTE_NONE).to_numpy().ravel()
    except ValueError:  # a word that is not a number, or one pandas reads otherwise (nan)
        values = None
    if values is None or values.size != len(batch) * matrix.shape[1]:
        values = np.concatenate([_numbers(number, numbers) for number, numbers, _ in batch])
    values = values.reshape(len(batch), matrix.shape[1])
    rows = values[np.fromiter((keep for _, _, keep in batch), bool, len(batch))]
    matrix[start:start + len(rows)] = rows
    batch.clear()


def _numbers(number: int, numbers: str) -> np.ndarray:
    try:
        return np.array(numbers.split(" ") if numbers else [], dtype=np.float32)
    except ValueError:
        raise ValueError(f"line {number} holds something that is not a number") from None


def _rows(handle, path: Path, start: int):
    """(line number, line) of a text file, refusing a line longer than a row of MAX_EMBED_DIM numbers can be
    before it is split (a one-line file of millions of numbers would otherwise take gigabytes). ValueError, so
    that a file with a header is still tried as binary."""
    number = start
    while line := handle.readline(MAX_ROW_CHARS):
        if len(line) == MAX_ROW_CHARS and not line.endswith("\n"):
            raise ValueError(f"line {number} is longer than a row of {MAX_EMBED_DIM:,} numbers can be (the largest "
                             "embedding size a model may have)")
        yield number, line
        number += 1


def _read_binary(path: Path, header: tuple[int, int], max_words: int, size: int):
    """gensim allocates (rows × dimension) before reading, so a header promising more rows than the file can
    hold (each binary record takes at least 4 bytes a number) is refused: a small file cannot claim a huge matrix."""
    from gensim.models import KeyedVectors

    count, dim = header
    rows = min(max_words, count)
    if rows > size // (4 * max(dim, 1) + 2):
        raise ValueError(f"the first line promises {count:,} vectors of {dim:,} numbers, more than the file holds")
    return KeyedVectors.load_word2vec_format(str(path), binary=True, limit=rows, unicode_errors="strict",
                                             datatype=np.float32)


def _checked(vectors, path: Path):
    if len(vectors) == 0 or vectors.vector_size < 1:
        raise TextclfError(f"{path.name} holds no vectors. {FORMAT_HELP}")
    if not np.isfinite(vectors.vectors).all():
        raise TextclfError(f"{path.name} holds numbers that are not finite (nan or inf); fix or replace the file.")
    return vectors


def embedding_matrix(vocab: Vocabulary, vectors, dim: int, tokens: Sequence[Sequence[str]], *,
                     seed: int = 0) -> tuple[np.ndarray, Coverage]:
    """A (vocabulary × dim) matrix: known words get their vector, the others uniform noise of the same scale.

    A word missing as written is looked up in lower case too (files like Google News keep capitals). The pad row
    is zero. `tokens` (the training texts) weigh coverage by how often each word occurs.
    """
    if vectors.vector_size != dim:
        raise TextclfError(f"The vectors have {vectors.vector_size} dimensions but the model's embedding size is "
                           f"{dim}; set the embedding size to {vectors.vector_size}.")
    lowered = {}
    for word in vectors.index_to_key:
        lowered.setdefault(word.lower(), word)
    scale = float(np.sqrt(3 * vectors.vectors.var())) or EMBEDDING_INIT_RANGE
    matrix = np.random.default_rng(seed).uniform(-scale, scale, (len(vocab), dim)).astype(np.float32)
    found = np.zeros(len(vocab), dtype=bool)
    for index, word in enumerate(vocab.itos[len(SPECIALS):], start=len(SPECIALS)):
        key = word if word in vectors.key_to_index else lowered.get(word.lower())
        if key is not None:
            matrix[index], found[index] = vectors[key], True
    matrix[PAD] = 0
    return matrix, _coverage(vocab, found, tokens)


def _coverage(vocab: Vocabulary, found: np.ndarray, tokens: Sequence[Sequence[str]]) -> Coverage:
    counts = Counter(tok for doc in tokens for tok in doc)
    tokens_found = sum(c for tok, c in counts.items() if tok in vocab.stoi and found[vocab.stoi[tok]])
    return Coverage(words_found=int(found.sum()), words=len(vocab) - len(SPECIALS), tokens_found=tokens_found,
                    tokens=sum(counts.values()))


def pretrained_matrix(mode: str, source: str, vocab: Vocabulary, tokens: Sequence[Sequence[str]], dim: int, *,
                      seed: int = 0, min_count: int = 1) -> tuple[np.ndarray | None, Coverage | None]:
    """The starting matrix a mode asks for: None for `rand`; else from corpus word2vec or the file `source`.

    A vocabulary with no word in it (tiny data: none seen `min_count` times) has no vector to learn, so word2vec,
    which refuses an empty vocabulary, is skipped and the table starts random."""
    check_embedding(mode)
    if not uses_vectors(mode):
        return None, None
    corpus = source == CORPUS
    if corpus and len(vocab) == len(SPECIALS):
        return None, _coverage(vocab, np.zeros(len(vocab), dtype=bool), tokens)
    vectors = train_word2vec(tokens, dim, seed=seed, min_count=min_count) if corpus else load_vectors(source)
    return embedding_matrix(vocab, vectors, dim, tokens, seed=seed)


class WordEmbedding(nn.Embedding):
    """An embedding table in one of the four modes; `output_dim` is twice the size for `multichannel`.

    The fine-tuned table keeps the name `weight` (as `nn.Embedding`), the frozen copy of `multichannel` is a
    parameter without gradient named `static`, so a saved `state_dict` restores every mode. The pad row is zero
    in both tables and never learns, so a pad contributes nothing wherever a model lets it in.
    """

    def __init__(self, vocab_size: int, dim: int, mode: str = "rand", vectors: np.ndarray | None = None):
        super().__init__(vocab_size, dim, padding_idx=PAD)
        check_embedding(mode)
        self.mode = mode
        if vectors is None:
            init_embedding(self)
        else:
            with torch.no_grad():
                self.weight.copy_(torch.as_tensor(vectors, dtype=self.weight.dtype))
                self.weight[PAD] = 0
        self.weight.requires_grad_(mode != "static")
        frozen = nn.Parameter(self.weight.detach().clone(), requires_grad=False) if mode == "multichannel" else None
        self.register_parameter("static", frozen)
        self.output_dim = dim * (2 if mode == "multichannel" else 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        tuned = super().forward(ids)
        if self.static is None:
            return tuned
        return torch.cat([tuned, F.embedding(ids, self.static, padding_idx=PAD)], dim=-1)


def store_vectors(data: bytes, filename: str, folder: str | os.PathLike) -> Path:
    """Keep an uploaded vectors file in `folder` (named by its content, so the same upload is stored once) after
    checking its size and its first row; returns its path, for the `vectors` parameter."""
    if len(data) > MAX_VECTOR_FILE_BYTES:
        raise TextclfError(f"{filename} is {len(data) / 2**20:.0f} MiB, over the "
                           f"{MAX_VECTOR_FILE_BYTES / 2**20:.0f} MiB limit for vectors files.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", Path(filename).stem)[:60] or "vectors"
    path = folder / f"{stem}-{hashlib.sha256(data).hexdigest()[:12]}{Path(filename).suffix[:8]}"
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        try:
            vectors_dimension(partial)
        except TextclfError as err:
            partial.unlink()
            raise TextclfError(str(err).replace(partial.name, filename)) from None
        os.replace(partial, path)
    return path
