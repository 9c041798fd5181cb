"""Reading a user's labelled CSV into clean texts and labels.

Real files arrive in many encodings and separators, with columns named anything; this module turns them
into a `Dataset` or raises `DataError` with a message that says what is wrong and what to do about it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from charset_normalizer import from_bytes

from textclf.errors import DataError

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1", "cp1252")
SEPARATORS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
SEPARATOR_BY_NAME = {name: sep for sep, name in SEPARATORS.items()}
SPLIT_NAMES = {
    "train": "train", "training": "train",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}
TEXT_NAMES = ("text", "texts", "sentence", "review", "content", "comment", "message", "sms", "body",
              "document", "title", "tweet", "question", "评论", "内容", "文本", "review_text")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "tag", "polarity",
               "标签", "类别", "cat")
EAST_ASIAN_PREFIXES = ("gb", "hz", "big5", "cp93", "cp950", "shiftjis", "euc", "iso2022", "johab", "cp949")
WESTERN = {"cp1250", "cp1252", "cp1254", "cp1257", "latin1", "iso88591", "iso885915", "iso88592", "iso885913",
           "iso88599", "macroman", "maclatin2", "cp850", "cp437", "ascii"}
MOSTLY_EMPTY = 0.5
SNIFF_BYTES = 64 * 1024
# What spreadsheets and pandas write for "no value"; as labels these are missing, not a class (compared lowercased).
MISSING_LABELS = frozenset({"nan", "na", "n/a", "null", "none", "#n/a", "<na>", "nil", "-nan"})
MISSING_LABEL_REASON = "rows with a missing label (NaN, NA, null, None)"
FEW_VALUES = 50


@dataclass(frozen=True)
class Table:
    """A parsed CSV: every cell a string, plus how the file was read."""

    frame: pd.DataFrame
    encoding: str
    separator: str
    name: str = "data"
    header_warning: str | None = None


@dataclass
class Dataset:
    """Texts and their labels, cleaned, with a record of what was dropped and why."""

    texts: list[str]
    labels: list[str]
    name: str = "data"
    split: list[str] | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"
    separator: str = ","
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))


def read_table(source, *, encoding: str | None = None, separator: str | None = None,
               name: str | None = None, header: bool = True) -> Table:
    """Parse a CSV given as a path, bytes or a binary file object, detecting what was not given.

    `header=False` reads the first line as data (columns are then named "column 1", "column 2"...); with a
    header, `Table.header_warning` says when the first line looks like data rather than column names.
    """
    raw, default_name = _read_bytes(source)
    if not raw.strip():
        raise DataError("The file is empty. Choose a CSV file with a header line and one row per text.")
    encoding = encoding or detect_encoding(raw)
    text = _normalize_newlines(_decode(raw, encoding))
    _refuse_binary(text)
    separator = separator or detect_separator(text)
    frame = _parse(text, separator, header)
    return Table(frame=frame, encoding=encoding, separator=separator, name=name or default_name,
                 header_warning=header_looks_like_data(frame) if header else None)


def _normalize_newlines(text: str) -> str:
    """Windows, old-Mac and Unix line ends mixed in one file all become \n (the csv module rejects a mix)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_bytes(source) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray):
        return bytes(source), "data"
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"No file at {path}. Check the path and try again.")
        return path.read_bytes(), path.stem
    if hasattr(source, "read"):
        return source.read(), Path(getattr(source, "name", "data")).stem
    raise DataError(f"Cannot read data from a {type(source).__name__}; give a path or the file's bytes.")


def detect_encoding(raw: bytes) -> str:
    """Name the encoding of `raw`, preferring the common, strict interpretations before guessing."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = raw[:SNIFF_BYTES]
    if _looks_like_utf16(sample):
        return "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return _guess_legacy_encoding(raw)


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
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _looks_like_gb2312(raw: bytes) -> bool:
    text = raw[:SNIFF_BYTES].decode("gb2312", errors="replace")
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return non_ascii > 0 and text.count("\ufffd") <= 0.05 * non_ascii


def _looks_like_utf16(sample: bytes) -> bool:
    """ASCII-heavy UTF-16 without a BOM has a NUL in nearly every other byte."""
    if len(sample) < 4:
        return False
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    return max(even_nuls, odd_nuls) > 0.4 * half and min(even_nuls, odd_nuls) < 0.05 * half


def _decode(raw: bytes, encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"Unknown encoding '{encoding}'. Choose one of: {', '.join(ENCODINGS)}.") from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise DataError(
            f"The file is not valid {encoding} (byte {err.start} cannot be decoded). "
            "Choose another encoding, or re-save the file as UTF-8."
        ) from None
    return text.lstrip("\ufeff")


def _refuse_binary(text: str) -> None:
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
        return csv.Sniffer().sniff(sample, delimiters="".join(SEPARATORS)).delimiter
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


def _parse(text: str, separator: str, header: bool = True) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False,
                            skipinitialspace=False, on_bad_lines="error", header=0 if header else None)
    except pd.errors.EmptyDataError:
        raise DataError("The file has no rows. It needs a header line and one row per text.") from None
    except (pd.errors.ParserError, csv.Error, ValueError) as err:
        raise DataError(
            f"The file could not be parsed as {SEPARATORS.get(separator, repr(separator))}-separated values "
            f"({_first_line(err)}). Check the separator, or quote texts that contain it."
        ) from None
    frame = _without_implicit_index(frame, separator)
    if header:
        frame.columns = _unique([str(col).strip() for col in frame.columns])
    else:
        frame.columns = [f"column {i + 1}" for i in range(len(frame.columns))]
    return frame.fillna("")


def _unique(names: list[str]) -> list[str]:
    """Column names made distinct again where stripping spaces made two equal ("a" and " a")."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def _without_implicit_index(frame: pd.DataFrame, separator: str) -> pd.DataFrame:
    """pandas turns the first column into the index when the first data row has one field more than the header.

    When every row has that extra field it is a real unnamed first column (an exported index), kept as a
    column; when only the first row has it, a text holds an unquoted separator and every column would shift.
    """
    if isinstance(frame.index, pd.RangeIndex):
        return frame
    rest = frame.iloc[1:, -1] if len(frame.columns) else frame.iloc[1:0]
    if len(rest) and (rest.isna() | rest.eq("")).any():
        raise DataError(
            f"The first data row (line 2) has more {separator_name(separator)}-separated fields than the header "
            "line, so every column would be shifted. Quote the text that contains the separator, or check the "
            "separator."
        )
    frame = frame.reset_index()
    return frame.rename(columns={frame.columns[0]: "unnamed"}) if frame.columns[0] == "index" else frame


def header_looks_like_data(frame: pd.DataFrame) -> str | None:
    """Why the header line looks like a data row (a column named like one of its own values, or a number), or None.

    A file saved without a header would otherwise lose its first row and name its columns after a review.
    """
    columns = [str(c) for c in frame.columns]
    if _named(columns, TEXT_NAMES) or _named(columns, LABEL_NAMES) or frame.empty:
        return None
    for column in columns:
        if _is_number(column):
            return f"the column name {column!r} is a number"
    for column in columns:
        values = frame[column]
        if values.nunique() <= FEW_VALUES and values.eq(column).any():
            return f"the column name {column!r} is also one of that column's values"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def guess_columns(frame: pd.DataFrame) -> tuple[str, str]:
    """Guess (text column, label column): known names first, else longest texts and fewest distinct values."""
    columns = list(frame.columns)
    if len(columns) < 2:
        raise DataError(
            f"Found only one column ({columns[0]!r}). The file needs a text column and a label column; "
            "if it has both, the separator was probably detected wrongly: choose it explicitly."
        )
    text_col = _named(columns, TEXT_NAMES) or _longest(frame, columns)
    rest = [c for c in columns if c != text_col]
    label_col = _named(rest, LABEL_NAMES) or _fewest_values(frame, rest)
    return text_col, label_col


def _named(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _longest(frame: pd.DataFrame, columns: list[str]) -> str:
    return max(columns, key=lambda c: frame[c].str.len().mean())


def _fewest_values(frame: pd.DataFrame, columns: list[str]) -> str:
    return min(columns, key=lambda c: (frame[c].nunique(), -frame[c].ne("").sum()))


def to_dataset(table: Table, *, text_col: str | None = None, label_col: str | None = None,
               split_col: str | None = None, keep_missing_labels: bool = False) -> Dataset:
    """Pick the columns, drop unusable rows (counting why) and check that something learnable remains.

    Labels such as NaN, null or None mean "no label" and those rows are dropped (and counted), unless
    `keep_missing_labels` makes them a class of their own.
    """
    frame = table.frame
    if frame.empty:
        raise DataError("The file has a header but no data rows. Add one row per labelled text.")
    guessed_text, guessed_label = guess_columns(frame)
    text_col, label_col = text_col or guessed_text, label_col or guessed_label
    for role, col in (("text", text_col), ("label", label_col), ("split", split_col)):
        if col is not None and col not in frame.columns:
            raise DataError(f"There is no column {col!r} for the {role}. Columns are: {', '.join(frame.columns)}.")
    if text_col == label_col:
        raise DataError(f"The text and the label are both column {text_col!r}; choose two different columns.")
    texts = frame[text_col].str.strip()
    labels = frame[label_col].str.strip()
    _refuse_mostly_empty(texts, text_col)
    missing = labels.str.lower().isin(MISSING_LABELS) & texts.ne("") & (not keep_missing_labels)
    keep = texts.ne("") & labels.ne("") & ~missing
    dropped = {
        "rows with an empty text": int(texts.eq("").sum()),
        "rows with an empty label": int((texts.ne("") & labels.eq("")).sum()),
        MISSING_LABEL_REASON: int(missing.sum()),
    }
    split = _split_values(frame[split_col], keep) if split_col else None
    dataset = Dataset(
        texts=texts[keep].tolist(), labels=labels[keep].tolist(), name=table.name, split=split,
        dropped={reason: n for reason, n in dropped.items() if n}, rows_read=len(frame),
        text_column=text_col, label_column=label_col, encoding=table.encoding, separator=table.separator,
        warnings=[_header_advice(table.header_warning)] if table.header_warning else [],
    )
    _refuse_unlearnable(dataset)
    return dataset


def _header_advice(reason: str) -> str:
    return (f"The first line may be a data row rather than column names ({reason}). If the file has no "
            "header line, read it with 'first row is data' (--no-header on the command line).")


def _refuse_mostly_empty(texts: pd.Series, text_col: str) -> None:
    empty = texts.eq("").mean()
    if empty > MOSTLY_EMPTY:
        raise DataError(
            f"Column {text_col!r} is empty in {empty:.0%} of the rows, so it is probably not the text column. "
            "Choose the column that holds the texts."
        )


def _split_values(column: pd.Series, keep: pd.Series) -> list[str]:
    values = column[keep].str.strip().str.lower()
    unknown = sorted(set(values) - set(SPLIT_NAMES))
    if unknown:
        raise DataError(
            f"The split column has values {', '.join(map(repr, unknown[:5]))} that are not train, validation "
            "or test. Use those words (or val/dev), or leave the split column out to split at random."
        )
    return [SPLIT_NAMES[v] for v in values]


def _refuse_unlearnable(dataset: Dataset) -> None:
    if not dataset.texts:
        raise DataError("No row has both a text and a label. Check that the right columns are chosen.")
    classes = dataset.classes
    if len(classes) < 2:
        raise DataError(
            f"Every row has the same label ({classes[0]!r}); a classifier needs at least two classes. "
            "Check the label column."
        )
    if len(classes) > max(50, len(dataset) // 2):
        raise DataError(
            f"The label column has {len(classes)} different values for {len(dataset)} rows, so it looks like "
            "text, not labels. Choose the column that holds the classes."
        )


def load_dataset(source, *, text_col: str | None = None, label_col: str | None = None,
                 split_col: str | None = None, encoding: str | None = None, separator: str | None = None,
                 name: str | None = None, header: bool = True, keep_missing_labels: bool = False) -> Dataset:
    """Read and clean a labelled CSV in one call (the path most callers want)."""
    table = read_table(source, encoding=encoding, separator=separator, name=name, header=header)
    return to_dataset(table, text_col=text_col, label_col=label_col, split_col=split_col,
                      keep_missing_labels=keep_missing_labels)


def separator_name(separator: str) -> str:
    return SEPARATORS.get(separator, repr(separator))


def safe_name(name: str) -> str:
    """A file-name-safe version of a dataset name."""
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "data"
