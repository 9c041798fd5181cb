"""CSV shapes within the upload limit that would exhaust the parser or the models are refused first, clearly."""

from __future__ import annotations

import time

import pytest

from textclf.data.csv_format import MAX_CELLS, MAX_COLUMNS, MAX_HEADER_CHARS, MAX_LINE_FIELDS, MAX_LINES
from textclf.data.reading import MAX_CLASSES, MIN_TEXTS_PER_CLASS, load_dataset, read_table
from textclf.errors import DataError


def refused_quickly(raw: bytes, *needles: str, seconds: float = 5) -> str:
    started = time.perf_counter()
    with pytest.raises(DataError) as caught:
        load_dataset(raw)
    elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert all(needle in message for needle in needles), message
    assert elapsed < seconds, f"{elapsed:.1f} s"
    return message


def rows(classes: int, per_class: int) -> bytes:
    lines = [f"text number {i} of class {c},class {c}" for c in range(classes) for i in range(per_class)]
    return ("text,label\n" + "\n".join(lines) + "\n").encode()


def test_a_50_mb_header_line_of_25_million_columns_is_refused_in_seconds():
    refused_quickly(b"c," * 25_000_000 + b"\nx,y\n", f"longer than {MAX_HEADER_CHARS:,} characters")


def test_a_header_of_too_many_columns_is_refused():
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 500))
    refused_quickly((header + "\n" + "a," * (MAX_COLUMNS + 499) + "a\n").encode(),
                    f"more than {MAX_COLUMNS:,} comma-separated columns")


def test_a_data_line_of_too_many_fields_is_refused_before_parsing():
    raw = b"text,label\nfine,a\nalso fine,b\n" + b"," * (MAX_LINE_FIELDS + 1) + b"\nlast,a\n"
    refused_quickly(raw, f"Line 4 has more than {MAX_LINE_FIELDS:,} comma-separated fields")


def test_the_field_count_spans_chunks_and_many_short_lines():
    """A wide line that starts late, after many lines, crossing the 1 MiB chunks of the counter."""
    raw = b"text,label\n" + b"t,a\n" * 400_000 + b"x" + b";" * (3 << 20) + b"\n"
    refused_quickly(raw.replace(b",", b";"), "Line 400,002 has more than", "semicolon")


def test_more_lines_than_the_lab_trains_on_are_refused_before_parsing():
    refused_quickly(b"text,label\n" + b"a,b\nc,d\n" * (MAX_LINES // 2 + 1), f"at most {MAX_LINES:,}",
                    seconds=2)


def test_a_grid_of_empty_cells_is_refused_before_parsing():
    header = ",".join(["text", "label", *(f"c{i}" for i in range(98))])
    raw = (header + "\n").encode() + (b"a" + b"," * 99 + b"\n") * (MAX_CELLS // 100 + 1)
    refused_quickly(raw, "lines of 100 columns", f"at most {MAX_CELLS:,} cells", seconds=2)


def test_a_row_spread_over_quoted_newlines_is_bounded_by_the_line_count():
    """'"\\n",' repeated: one logical row of millions of fields, one separator a physical line (and 64 KB of it
    took the standard library's csv.Sniffer 34 s: it now sees 4 KB)."""
    refused_quickly(b"text,label\nx,y\n" + b'"\n",' * 3_000_000 + b"a\n", f"at most {MAX_LINES:,}")


def test_texts_quoting_many_separators_and_many_columns_within_bounds_still_load():
    text = '"' + ", ".join(["word"] * 5_000) + '"'
    header = ",".join(["text", "label", *(f"meta {i}" for i in range(200))])
    lines = [header] + [f"{text},{'ab'[i % 2]}," + ",".join(["m"] * 200) for i in range(40)]
    table = read_table(("\n".join(lines) + "\n").encode())
    assert table.frame.shape == (40, 202)
    assert len(load_dataset(("\n".join(lines) + "\n").encode()).classes) == 2


def test_ten_thousand_classes_of_three_texts_are_refused():
    refused_quickly(rows(10_000, 3), "10,000 classes", f"at most {MAX_CLASSES:,}")


def test_many_classes_with_too_few_texts_each_are_refused():
    message = refused_quickly(rows(100, MIN_TEXTS_PER_CLASS // 2), "100 classes but only 500 texts")
    assert f"at least {MIN_TEXTS_PER_CLASS} on average" in message


def test_many_classes_with_enough_texts_and_a_few_tiny_classes_load():
    assert len(load_dataset(rows(60, MIN_TEXTS_PER_CLASS)).classes) == 60
    assert len(load_dataset(rows(3, 2)).classes) == 3
