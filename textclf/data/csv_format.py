"""How a CSV file is written, found or checked before it is parsed: encoding, separator and shape.

Real files arrive in many encodings and separators; they are detected here (an override always wins). A file
within the upload limit can still be shaped to exhaust the parser: a 50 MB header line of 25 million columns
took pandas past 300 s and 2.6 GB. `check_shape` bounds the header line, the number of columns and the fields
on any line, in a few linear passes, before pandas sees the text.
"""

from __future__ import annotations

import codecs
import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from charset_normalizer import from_bytes

from textclf.errors import DataError

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1", "cp1252")
SEPARATORS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
SEPARATOR_BY_NAME = {name: sep for sep, name in SEPARATORS.items()}
EAST_ASIAN_PREFIXES = ("gb", "hz", "big5", "cp93", "cp950", "shiftjis", "euc", "iso2022", "johab", "cp949")
WESTERN = {"cp1250", "cp1252", "cp1254", "cp1257", "latin1", "iso88591", "iso885915", "iso88592", "iso885913",
           "iso88599", "macroman", "maclatin2", "cp850", "cp437", "ascii"}
SNIFF_BYTES = 64 * 1024
# The standard library's csv.Sniffer runs regular expressions whose time grows about as the cube of the sample
# on some quoting patterns (64 KB of '"\\n",' took 34 s, 4 KB 0.07 s): it only ever sees the first 4 KB.
SNIFFER_CHARS = 4 * 1024
# A labelled-text file needs two or three columns; exports with metadata have dozens. 1,000 columns of names up
# to 100 characters bound the header line; a line with more separators than MAX_LINE_FIELDS (a text quoting
# that many separators would be a book) is refused before pandas tokenises it (about 14 bytes a field).
MAX_COLUMNS = 1_000
MAX_HEADER_CHARS = 100 * MAX_COLUMNS
MAX_LINE_FIELDS = 100_000
# Lines a file may have: reading costs about 180 bytes a row besides its texts (a 10 MB file of a million short
# rows took 179 MB), so a 50 MB file of a million rows came near 300 MB. 500,000 is eight times the largest data
# set in ../shared/datasets (63,000 lines), and that many texts would take the neural models a day on a CPU.
MAX_LINES = 500_000
# Cells (lines x columns) a file may have (a 50 MB file of 500,000 rows x 100 empty columns took 588 MB and 9 s).
# Reading costs about 40 MB a million distinct cells beyond the texts themselves (parsed in chunks, then a Python
# string a text): 500,000 texts with a label and four more columns fit (a 50 MB file of a million rows of five
# short distinct cells took 299 MB).
MAX_CELLS = 2_500_000
SHAPE_CHUNK_CHARS = 1 << 20
# The file is decoded, its line ends made \n and it is encoded as UTF-8 this many bytes at a time: decoded whole,
# Python would hold it at 1, 2 or 4 bytes a character for the whole file (4 as soon as one emoji is in it: 200 MB
# for a 50 MB file), beside the file and the bytes pandas reads.
CONVERT_CHUNK_BYTES = 1 << 20
# The texts a file gives, as the Python strings the models read: about 64 bytes each plus 1, 2 or 4 bytes a
# character (4 in a text holding an emoji or another character beyond U+FFFF). With the parsed columns and the
# file itself this keeps reading within 300 MB; a 50 MB file of short texts each holding an emoji would take 230 MB.
MAX_TEXT_MEMORY = 128 << 20
ASTRAL = r"[\x{10000}-\x{10FFFF}]"


def separator_name(separator: str) -> str:
    return SEPARATORS.get(separator, repr(separator))


def normalize_newlines(text: str) -> str:
    """Windows, old-Mac and Unix line ends mixed in one file all become \n (the csv module rejects a mix)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def utf8_lines(raw: bytes, encoding: str) -> bytes:
    """The file as UTF-8 with every line end a \n and no byte-order mark, converted a chunk at a time (see
    CONVERT_CHUNK_BYTES); `raw` itself, uncopied, when it already is so."""
    _check_known(encoding)
    if codecs.lookup(encoding).name == "utf-8" and b"\r" not in raw and not raw.startswith(codecs.BOM_UTF8):
        for _ in _decoded_chunks(raw, encoding):
            pass
        return raw
    parts, held_cr = [], ""
    for start, text in _decoded_chunks(raw, encoding):
        text = held_cr + (text.lstrip("\ufeff") if start == 0 else text)
        held_cr = "\r" if text.endswith("\r") else ""  # its \n may open the next chunk
        parts.append(normalize_newlines(text[:len(text) - len(held_cr)]).encode("utf-8"))
    parts.append(normalize_newlines(held_cr).encode("utf-8"))
    return b"".join(parts)


def _decoded_chunks(raw: bytes, encoding: str):
    """(offset, text) for each chunk of `raw`, decoded incrementally (a character cut by a chunk's end is
    completed by the next); an undecodable byte raises DataError naming its offset in the file."""
    decoder = codecs.getincrementaldecoder(encoding)()
    for start in range(0, max(len(raw), 1), CONVERT_CHUNK_BYTES):
        chunk = raw[start:start + CONVERT_CHUNK_BYTES]
        try:
            yield start, decoder.decode(chunk, final=start + CONVERT_CHUNK_BYTES >= len(raw))
        except UnicodeDecodeError as err:
            raise DataError(
                f"The file is not valid {encoding} (byte {start + max(err.start, 0)} cannot be decoded). "
                "Choose another encoding, or re-save the file as UTF-8."
            ) from None


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        for _ in _decoded_chunks(raw, encoding):
            pass
    except DataError:
        return False
    return True


def detect_encoding(raw: bytes) -> str:
    """Name the encoding of `raw`, preferring the common, strict interpretations before guessing."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = raw[:SNIFF_BYTES]
    if _looks_like_utf16(sample):
        return "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
    return "utf-8" if _decodes(raw, "utf-8") else _guess_legacy_encoding(raw)


def _guess_legacy_encoding(raw: bytes) -> str:
    """charset-normalizer's guess, corrected where it is known to slip on short files.

    Accented Latin text can pass for GB18030 or Big5 (an accented byte plus an ASCII letter is a valid pair), so
    Chinese is only accepted when nearly all non-ASCII characters decode as GB2312 pairs, and other East Asian
    guesses are not trusted; Western guesses (it mixes up cp1250, cp1257 and latin-1) become cp1252, falling
    back to latin-1, which decodes anything. Other guesses (Cyrillic, Greek...) are kept.
    """
    guess = from_bytes(raw[:SNIFF_BYTES]).best()
    name = guess.encoding.replace("_", "").replace("-", "").lower() if guess else ""
    if _looks_like_gb2312(raw):
        return "gb18030"
    if name and name not in WESTERN and not name.startswith(EAST_ASIAN_PREFIXES):
        return guess.encoding
    return "cp1252" if _decodes(raw, "cp1252") else "latin-1"


def _looks_like_gb2312(raw: bytes) -> bool:
    text = raw[:SNIFF_BYTES].decode("gb2312", errors="replace")
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    return non_ascii > 0 and text.count("\ufffd") <= 0.05 * non_ascii and _decodes(raw, "gb18030")


def _looks_like_utf16(sample: bytes) -> bool:
    """ASCII-heavy UTF-16 without a BOM has a NUL in nearly every other byte."""
    if len(sample) < 4:
        return False
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    return max(even_nuls, odd_nuls) > 0.4 * half and min(even_nuls, odd_nuls) < 0.05 * half


def _check_known(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"Unknown encoding '{encoding}'. Choose one of: {', '.join(ENCODINGS)}.") from None


def refuse_binary(text: str) -> None:
    sample = text[:SNIFF_BYTES]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r")
    if "\x00" in sample or controls > 0.01 * len(sample):
        raise DataError(
            "This looks like a binary file, not a CSV text file. Export your data as CSV "
            "(comma- or tab-separated, one row per text) and upload that."
        )


def detect_separator(text: str) -> str:
    """Pick the separator that splits the first lines into the same number (>1) of fields most often."""
    sample = _whole_lines(text[:SNIFF_BYTES])
    try:
        return csv.Sniffer().sniff(_whole_lines(sample[:SNIFFER_CHARS]), delimiters="".join(SEPARATORS)).delimiter
    except csv.Error:
        pass
    best, best_score = ",", 0.0
    for sep in SEPARATORS:
        try:
            counts = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=sep) if row]
        except csv.Error:
            continue
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        score = counts.count(modal) / len(counts) * (modal > 1) * modal ** 0.1
        if score > best_score:
            best, best_score = sep, score
    return best


def _whole_lines(sample: str) -> str:
    cut = sample.rfind("\n")
    return sample[:cut] if cut > 0 else sample


def check_text_memory(texts: pd.Series) -> None:
    """Refuse texts that would take more than MAX_TEXT_MEMORY as Python strings, counted on the parsed column
    (Arrow strings, one compact buffer) before those strings exist."""
    if getattr(texts.dtype, "storage", None) != "pyarrow" or texts.empty:
        return  # held as Python strings already: nothing is left to bound
    taken = text_memory(texts)
    if taken > MAX_TEXT_MEMORY:
        raise DataError(f"The {len(texts):,} texts would take about {taken / 1e6:,.0f} MB of memory once read "
                        f"(a character beyond U+FFFF, such as an emoji, makes its text take 4 bytes a character); "
                        f"this lab reads at most {MAX_TEXT_MEMORY / 1e6:,.0f} MB of texts. Take a random sample "
                        "of the rows.")


def text_memory(texts: pd.Series) -> int:
    """An upper bound of the bytes the (Arrow) texts take as Python strings and a list's slots for them."""
    arrow = pa.chunked_array(pa.array(texts.array))
    chars, size = pc.utf8_length(arrow), pc.binary_length(arrow)
    width = pc.if_else(pc.match_substring_regex(arrow, ASTRAL), 4, pc.if_else(pc.greater(size, chars), 2, 1))
    return 64 * len(texts) + (pc.sum(pc.multiply(width, chars)).as_py() or 0)


def head(data: bytes) -> str:
    """The first SNIFF_BYTES of the UTF-8 file as text (a character cut at the end is left out): what the
    separator and the binary checks look at."""
    return data[:SNIFF_BYTES].decode("utf-8", errors="ignore")


def check_shape(data: bytes, separator: str, header: bool = True) -> None:
    """Refuse, before parsing, what would exhaust the parser: see the bounds above. Linear passes over the UTF-8
    bytes (bytes.find, bytes.count, numpy), each of a few MB at most."""
    columns = _first_row_width(data, separator, header)
    lines = data.count(b"\n")
    _check_lines(lines)
    if lines * max(columns, 1) > MAX_CELLS:
        raise DataError(f"The file has {lines:,} lines of {columns:,} columns; this lab reads at most "
                        f"{MAX_CELLS:,} cells. Keep only the text and label columns (and a split column).")
    line = _line_with_too_many_fields(data, separator)
    if line is not None:
        raise DataError(f"Line {line:,} has more than {MAX_LINE_FIELDS:,} {separator_name(separator)}-separated "
                        "fields, far more than a row of a labelled-text file. Check the separator and that this is "
                        "the right file.")


def check_raw_lines(raw: bytes, encoding: str) -> None:
    """Refuse a file of too many lines before it is converted to UTF-8 (a copy): counted on its own bytes where a
    line end is the byte \n (UTF-8, GB18030, Latin-1...; not UTF-16), else left to `check_shape`."""
    _check_known(encoding)
    if "\n".encode(encoding, errors="ignore") == b"\n":
        _check_lines(raw.count(b"\n"))


def _check_lines(lines: int) -> None:
    if lines > MAX_LINES:
        raise DataError(f"The file has {lines:,} lines; this lab reads at most {MAX_LINES:,} (that many texts would "
                        "take the neural models days to train on a CPU). Take a random sample of the rows.")


def _first_row_width(data: bytes, separator: str, header: bool) -> int:
    """Columns of the first row, read from at most MAX_HEADER_CHARS characters (the header line's bound)."""
    text = data[:4 * MAX_HEADER_CHARS + 4].decode("utf-8", errors="ignore")  # enough bytes for that many characters
    if header and text.find("\n", 0, MAX_HEADER_CHARS + 1) == -1 and len(text) > MAX_HEADER_CHARS:
        raise DataError(f"The header line is longer than {MAX_HEADER_CHARS:,} characters, which is not a list of "
                        f"column names. A labelled-text file has a header line such as 'text,label' and one row "
                        f"per text; check that this is the right file.")
    try:
        columns = len(next(csv.reader(io.StringIO(text[:MAX_HEADER_CHARS + 1]), delimiter=separator), []))
    except csv.Error:
        columns = 0  # pandas reports the malformed line with its own message
    if columns > MAX_COLUMNS:
        raise DataError(f"The first line has more than {MAX_COLUMNS:,} {separator_name(separator)}-separated "
                        f"columns ({columns:,} in its first {MAX_HEADER_CHARS:,} characters); a labelled-text "
                        "file needs a text and a label column. Check the separator, or keep only the columns needed.")
    return columns


def _line_with_too_many_fields(data: bytes, separator: str) -> int | None:
    """The number of the first line holding more than MAX_LINE_FIELDS separators, or None. Counted in chunks
    with numpy (a Python loop over millions of short lines would take seconds): memory stays a few MB."""
    if len(separator) != 1 or ord(separator) > 127 or data.count(separator.encode()) <= MAX_LINE_FIELDS:
        return None
    carried, lines_before = 0, 0
    for start in range(0, len(data), SHAPE_CHUNK_CHARS):
        chunk = np.frombuffer(data, dtype=np.uint8, count=min(SHAPE_CHUNK_CHARS, len(data) - start), offset=start)
        separators = np.cumsum(chunk == ord(separator), dtype=np.int64)
        ends = np.flatnonzero(chunk == ord("\n"))
        at_ends = np.concatenate(([0], separators[ends], [separators[-1]]))
        per_line = np.diff(at_ends)
        per_line[0] += carried
        wide = np.flatnonzero(per_line > MAX_LINE_FIELDS)
        if len(wide):
            return lines_before + int(wide[0]) + 1
        carried, lines_before = int(per_line[-1]), lines_before + len(ends)
    return None
