import codecs

import pytest

from textclf.data.reading import detect_encoding, detect_separator, guess_columns, load_dataset, read_table
from textclf.errors import DataError

ROWS = [("très bien, vraiment", "pos"), ("pas terrible; déçu", "neg"), ("ça va \"mieux\"", "pos")]


def csv_text(rows=ROWS, sep=",", header=("text", "label")) -> str:
    lines = [sep.join(header)]
    for text, label in rows:
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f"{quoted}{sep}{label}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_encodings_are_detected_and_texts_survive(encoding):
    dataset = load_dataset(csv_text().encode(encoding))
    assert dataset.texts[0] == "très bien, vraiment"
    assert dataset.texts[2] == 'ça va "mieux"'


def test_gb18030_chinese_is_detected():
    rows = [("这家外卖很好吃，送餐也很快", "pos"), ("太难吃了，再也不点了", "neg")] * 10
    raw = csv_text(rows).encode("gb18030")
    assert detect_encoding(raw) == "gb18030"
    assert load_dataset(raw).texts[0] == "这家外卖很好吃，送餐也很快"


def test_utf16_without_bom_is_detected():
    raw = csv_text().encode("utf-16-le")
    assert not raw.startswith(codecs.BOM_UTF16_LE)
    assert load_dataset(raw).labels == ["pos", "neg", "pos"]


def test_encoding_override_wins_and_bad_override_is_explained():
    raw = csv_text().encode("cp1252")
    assert load_dataset(raw, encoding="latin-1").texts[0].startswith("très")
    with pytest.raises(DataError, match="not valid utf-8"):
        load_dataset(raw, encoding="utf-8")
    with pytest.raises(DataError, match="Unknown encoding"):
        load_dataset(raw, encoding="no-such-codec")


@pytest.mark.parametrize("sep", [",", "\t", ";", "|"])
def test_separators_are_detected(sep):
    text = csv_text(sep=sep)
    assert detect_separator(text) == sep
    assert load_dataset(text.encode()).labels == ["pos", "neg", "pos"]


def test_quoted_newlines_stay_inside_one_text():
    raw = b'text,label\n"first line\nsecond line",a\n"plain",b\n'
    dataset = load_dataset(raw)
    assert dataset.texts == ["first line\nsecond line", "plain"]


def test_columns_are_guessed_by_name_and_by_content():
    table = read_table(b"id,review,stars\n1,great film,5\n2,bad film,1\n3,long and boring film,1\n")
    assert guess_columns(table.frame) == ("review", "stars")
    unnamed = read_table(b"a,b,c\nx,this is a long text,1\ny,another long text here,0\nz,more words now,1\n")
    assert guess_columns(unnamed.frame) == ("b", "c")


def test_explicit_columns_and_numeric_labels():
    raw = b"label,body,extra\n1,good,u\n0,bad,v\n1,fine,w\n"
    dataset = load_dataset(raw, text_col="body", label_col="label")
    assert dataset.texts == ["good", "bad", "fine"]
    assert dataset.labels == ["1", "0", "1"]


def test_rows_with_empty_text_or_label_are_dropped_and_counted():
    raw = b"text,label\ngood,pos\n,neg\n  ,pos\nbad,\nfine,neg\nok,pos\n"
    dataset = load_dataset(raw)
    assert dataset.texts == ["good", "fine", "ok"]
    assert dataset.dropped == {"rows with an empty text": 2, "rows with an empty label": 1}


def test_na_strings_are_texts_not_missing_values():
    dataset = load_dataset(b"text,label\nNA,a\nnull,b\nNone,a\n")
    assert dataset.texts == ["NA", "null", "None"]


def test_unknown_column_names_the_columns_that_exist():
    with pytest.raises(DataError, match="Columns are: text, label"):
        load_dataset(csv_text().encode(), text_col="body")


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "empty"),
    (b"  \n\n", "empty"),
    (b"text,label\n", "no data rows"),
    (b"text\nhello\nworld\n", "only one column"),
    (b"text,label\nhello,a\nworld,a\n", "same label"),
    (b"\x00\x01\x02\x03binary\xff\xfe\x00\x10" * 50, "binary"),
    (b"text,label,other\n,a,x\n,b,y\n,a,z\nhi,b,w\n", "empty in 75%"),
])
def test_bad_input_raises_one_error_type_with_an_actionable_message(raw, message):
    with pytest.raises(DataError, match=message):
        load_dataset(raw)


def test_a_png_file_is_refused_as_binary():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    with pytest.raises(DataError, match="binary"):
        load_dataset(png)


def test_missing_path_is_explained(tmp_path):
    with pytest.raises(DataError, match="No file at"):
        load_dataset(tmp_path / "nope.csv")


def test_split_column_values_are_checked():
    raw = b"text,label,part\na,x,train\nb,y,test\nc,x,holdout\n"
    with pytest.raises(DataError, match="'holdout'"):
        load_dataset(raw, split_col="part")
