"""Word-vector files that claim more than a model may use are refused quickly, in little memory, with one message."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from gensim.models import KeyedVectors  # noqa: F401 - imported before any memory is measured

from textclf.data import embeddings
from textclf.data.embeddings import MAX_EMBED_DIM, load_vectors, store_vectors, vectors_dimension
from textclf.errors import TextclfError
from textclf.storage.bundle_checks import PARAM_BOUNDS

MiB = 2**20


def refused(path, *needles: str, peak_mib: float = 40) -> None:
    """Load the file, expect a TextclfError naming the file and every needle, and a small peak of Python memory."""
    tracemalloc.start()
    try:
        with pytest.raises(TextclfError) as caught:
            load_vectors(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert path.name in message and all(needle in message for needle in needles), message
    assert peak < peak_mib * MiB, f"peak {peak / MiB:.0f} MiB"


def test_the_dimension_bound_is_the_bundle_loaders_embed_dim_bound():
    assert PARAM_BOUNDS["embed_dim"] == (1, MAX_EMBED_DIM)


def test_a_text_header_claiming_a_huge_dimension_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("1 12500000\nword 0.1 0.2\n")
    refused(path, "12,500,000 dimensions", f"at most {MAX_EMBED_DIM:,}")


def test_a_binary_header_claiming_ten_billion_dimensions_is_refused_without_memory_error(tmp_path):
    path = tmp_path / "bomb.bin"
    path.write_bytes(b"1 10000000000\nw " + b"\x00" * 25)
    assert len(path.read_bytes()) == 41
    refused(path, "10,000,000,000 dimensions")


def test_a_glove_row_wider_than_any_embedding_is_refused(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_text("word " + " ".join(["0.5"] * (MAX_EMBED_DIM + 1)) + "\n")
    refused(path, f"{MAX_EMBED_DIM + 1:,} dimensions")


def test_a_single_line_of_millions_of_numbers_is_refused_without_splitting_it(tmp_path):
    path = tmp_path / "one-line.txt"
    path.write_bytes(b"word " + b"0 " * 6_000_000)
    refused(path, "line 1 is longer than a row", peak_mib=4)


def test_a_binary_header_promising_billions_of_rows_allocates_only_what_the_file_holds(tmp_path):
    path = tmp_path / "rows.bin"
    path.write_bytes(b"10000000000 300\n" + b"w " + struct.pack("<300f", *([0.5] * 300)) + b"\n")
    refused(path, "not a readable vectors file", peak_mib=20)
    with pytest.raises(ValueError, match="more than the file holds"):
        embeddings._read_binary(path, (10_000_000_000, 300), 400_000, path.stat().st_size)


def test_a_well_formed_binary_file_within_the_bound_still_loads(tmp_path):
    path = tmp_path / "ok.bin"
    rows = [(f"w{i}", np.full(MAX_EMBED_DIM, i / 10, dtype=np.float32)) for i in range(3)]
    path.write_bytes(f"3 {MAX_EMBED_DIM}\n".encode()
                     + b"".join(word.encode() + b" " + vector.tobytes() + b"\n" for word, vector in rows))
    vectors = load_vectors(path)
    assert vectors.vector_size == MAX_EMBED_DIM and vectors["w2"][0] == pytest.approx(0.2)
    assert vectors_dimension(path) == MAX_EMBED_DIM


def test_running_out_of_memory_while_reading_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "fine.txt"
    path.write_text("a 0.1 0.2\nb 0.3 0.4\n")

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(embeddings, "_read_text", no_memory)
    refused(path, "more memory than this computer has free")


def test_an_uploaded_vectors_file_with_a_huge_dimension_is_not_stored(tmp_path):
    with pytest.raises(TextclfError, match="my-vectors.txt was refused") as caught:
        store_vectors(b"2 99999\na 1\nb 2\n", "my-vectors.txt", tmp_path)
    assert "99,999 dimensions" in str(caught.value)
    assert list(tmp_path.iterdir()) == []
