"""Reading a user's labelled CSV into clean texts and labels.

Real files arrive in many encodings and separators (detected, and their shape bounded, in
`textclf.data.csv_format`), with columns named anything; this module turns them into a `Dataset` or raises
`DataError` with a message that says what is wrong and what to do about it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from textclf.data.csv_format import ENCODINGS as ENCODINGS
from textclf.data.csv_format import SEPARATOR_BY_NAME as SEPARATOR_BY_NAME
from textclf.data.csv_format import (
    SEPARATORS,
    check_raw_lines,
    check_shape,
    check_text_memory,
    detect_encoding,
    detect_separator,
    head,
    refuse_binary,
    separator_name,
    utf8_lines,
)
from textclf.errors import DataError

SPLIT_NAMES = {
    "train": "train", "training": "train",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}
TEXT_NAMES = ("text", "texts", "sentence", "review", "content", "comment", "message", "sms", "body",
              "document", "title", "tweet", "question", "评论", "内容", "文本", "review_text")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "tag", "polarity",
               "标签", "类别", "cat")
MOSTLY_EMPTY = 0.5
PARSE_CHUNK_ROWS = 65_536
# Any character that str.strip keeps (RE2's classes, for the Arrow strings pandas reads into).
NON_SPACE = r"[^\t-\r\x{1C}-\x{20}\x{85}\p{Z}]"
# What spreadsheets and pandas write for "no value"; as labels these are missing, not a class (compared lowercased).
MISSING_LABELS = frozenset({"nan", "na", "n/a", "null", "none", "#n/a", "<na>", "nil", "-nan"})
MISSING_LABEL_REASON = "rows with a missing label (NaN, NA, null, None)"
FEW_VALUES = 50
# Classes a data set may have. Every class multiplies the classical models' cost (a one-vs-rest SVM fits one
# classifier per class over all texts, and keeps one weight row per class): 10,000 classes of 3 texts ran the SVM
# past 300 s and 5.8 GB. A lab comparison of models is about at most hundreds of classes, each with texts
# to learn and test it on.
MAX_CLASSES = 1_000
# Past FEW_CLASSES, each class needs MIN_TEXTS_PER_CLASS texts on average: with the 80/10/10 split that leaves
# one validation and one test text per class on average; with fewer, most classes cannot be scored at all and
# the per-class table is noise. Small files (a few classes) are always read, to try the lab quickly.
FEW_CLASSES = 50
# A label is a class name: longer than this it is text (and a model bundle could not record it).
MAX_LABEL_CHARS = 1_000
MIN_TEXTS_PER_CLASS = 10


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
    if not raw or raw.isspace():
        raise DataError("The file is empty. Choose a CSV file with a header line and one row per text.")
    encoding = encoding or detect_encoding(raw)
    check_raw_lines(raw, encoding)
    data = utf8_lines(raw, encoding)
    del raw  # when the file was read here, its bytes go before pandas parses the converted ones
    sample = head(data)
    refuse_binary(sample)
    separator = separator or detect_separator(sample)
    check_shape(data, separator, header)
    frame = _parse(data, separator, header)
    return Table(frame=frame, encoding=encoding, separator=separator, name=name or default_name,
                 header_warning=header_looks_like_data(frame) if header else None)


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


def _parse(data: bytes, separator: str, header: bool = True) -> pd.DataFrame:
    try:
        # Bytes, not io.StringIO: a StringIO holds 4 bytes a character, 200 MB more for a 50 MB file. Read in
        # chunks of rows, which the columns' Arrow strings join without a copy: pandas' own whole-file read holds
        # every cell as a Python string before converting (about 60 MB more for a 50 MB file).
        with pd.read_csv(io.BytesIO(data), encoding="utf-8", sep=separator, dtype=str, keep_default_na=False,
                         skipinitialspace=False, on_bad_lines="error", header=0 if header else None,
                         chunksize=PARSE_CHUNK_ROWS) as chunks:
            frame = pd.concat(list(chunks))
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
    labels = frame[label_col].str.strip()
    has_text, has_label = _has_text(frame[text_col]), labels.ne("").to_numpy(bool)
    _refuse_mostly_empty(has_text, text_col)
    missing = labels.str.lower().isin(MISSING_LABELS).to_numpy(bool) & has_text & (not keep_missing_labels)
    keep = has_text & has_label & ~missing
    dropped = {
        "rows with an empty text": int((~has_text).sum()),
        "rows with an empty label": int((has_text & ~has_label).sum()),
        MISSING_LABEL_REASON: int(missing.sum()),
    }
    split = _split_values(frame[split_col], keep) if split_col else None
    check_text_memory(frame[text_col])
    # Stripped one by one as Python strings (a text with no space to strip stays the same object): stripping the
    # column, then filtering it, would copy every text twice before they become strings.
    texts = [text.strip() for text, kept in zip(frame[text_col].tolist(), keep, strict=True) if kept]
    dataset = Dataset(
        texts=texts, labels=_shared_strings(labels[keep]), name=table.name, split=split,
        dropped={reason: n for reason, n in dropped.items() if n}, rows_read=len(frame),
        text_column=text_col, label_column=label_col, encoding=table.encoding, separator=table.separator,
        warnings=[_header_advice(table.header_warning)] if table.header_warning else [],
    )
    _refuse_unlearnable(dataset)
    return dataset


def _header_advice(reason: str) -> str:
    return (f"The first line may be a data row rather than column names ({reason}). If the file has no "
            "header line, read it with 'first row is data' (--no-header on the command line).")


def _has_text(column: pd.Series) -> np.ndarray:
    """Which cells hold more than white space, as `str.strip` sees it (the same characters, checked on every code
    point), found without copying the column's texts."""
    if getattr(column.dtype, "storage", None) == "pyarrow":
        return column.str.contains(NON_SPACE, regex=True).to_numpy(bool)
    return column.str.strip().ne("").to_numpy(bool)


def _shared_strings(values: pd.Series) -> list[str]:
    """The values as Python strings, one object per distinct value (a label repeated on a million rows is one
    string, not a million)."""
    codes, uniques = pd.factorize(values)
    uniques = uniques.tolist()
    return [uniques[code] for code in codes.tolist()]


def _refuse_mostly_empty(has_text: np.ndarray, text_col: str) -> None:
    empty = 1 - has_text.mean()
    if empty > MOSTLY_EMPTY:
        raise DataError(
            f"Column {text_col!r} is empty in {empty:.0%} of the rows, so it is probably not the text column. "
            "Choose the column that holds the texts."
        )


def _split_values(column: pd.Series, keep: np.ndarray) -> list[str]:
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
    if len(classes) > max(FEW_CLASSES, len(dataset) // 2):
        raise DataError(
            f"The label column has {len(classes)} different values for {len(dataset)} rows, so it looks like "
            "text, not labels. Choose the column that holds the classes."
        )
    longest = max(classes, key=len)
    if len(longest) > MAX_LABEL_CHARS:
        raise DataError(
            f"A label is {len(longest):,} characters long ({longest[:40]!r}...); a label names a class in at most "
            f"{MAX_LABEL_CHARS:,} characters. Choose the column that holds the classes, or shorten the labels."
        )
    if len(classes) > MAX_CLASSES:
        raise DataError(
            f"The label column has {len(classes):,} classes; this lab trains at most {MAX_CLASSES:,} (each class "
            "multiplies the cost of the classical models). Merge rare classes or keep the most frequent ones."
        )
    if len(classes) > FEW_CLASSES and len(dataset) < MIN_TEXTS_PER_CLASS * len(classes):
        raise DataError(
            f"The data set has {len(classes):,} classes but only {len(dataset):,} texts, "
            f"{len(dataset) / len(classes):.1f} a class on average; with more than {FEW_CLASSES} classes each "
            f"needs at least {MIN_TEXTS_PER_CLASS} on average, so that the validation and test parts hold every "
            "class. Merge rare classes or add texts."
        )


def load_dataset(source, *, text_col: str | None = None, label_col: str | None = None,
                 split_col: str | None = None, encoding: str | None = None, separator: str | None = None,
                 name: str | None = None, header: bool = True, keep_missing_labels: bool = False) -> Dataset:
    """Read and clean a labelled CSV in one call (the path most callers want)."""
    table = read_table(source, encoding=encoding, separator=separator, name=name, header=header)
    return to_dataset(table, text_col=text_col, label_col=label_col, split_col=split_col,
                      keep_missing_labels=keep_missing_labels)


def safe_name(name: str) -> str:
    """A file-name-safe version of a dataset name."""
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "data"
