"""The command that repeats an experiment: the CLI's own parser reads it back into the same config."""

from __future__ import annotations

import shlex
from dataclasses import fields, replace

import pytest

from textclf.cli.compare import config_from_args
from textclf.cli.parser import build_parser
from textclf.data.demo import DEMO_NAME
from textclf.runs.command import NO_OPTION, RECORDS, WRITTEN, compare_command, data_file_name, unrepeatable
from textclf.runs.config import AUTO, CompareConfig
from textclf.runs.settings import settings_table

CONFIGS = [
    CompareConfig(),
    CompareConfig(models=("svm", "knn"), cv=5, seeds=(0, 1, 2)),
    CompareConfig(models=("cnn:kernel_sizes=2/3/4:filters=8:dropout=0.25", "rnn:cell=gru:pooling=attention"),
                  batchings=("bucket",), refit=True, epochs=3, patience=2, batch_size=16, lr=0.0005),
    CompareConfig(models=("svm:C=0.5:nb=true", "knn:k=3"), max_len=AUTO, n_buckets=3, pad_to="bound",
                  tokenizer="chars", split_seed=7, device="cpu"),
    CompareConfig(models=("cnn", "svm"), batchings=("max_length",), max_len=40, seeds=(3,)),
]


def parsed(command: str) -> tuple[CompareConfig, object]:
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "textclf"]
    args = build_parser().parse_args(words[3:])
    return config_from_args(args), args


@pytest.mark.parametrize("config", CONFIGS)
def test_the_command_parses_back_into_the_same_config(config):
    command = compare_command(config, "my data/tweets.csv")
    again, args = parsed(command)
    assert again == config
    assert args.file == "my data/tweets.csv"


def test_only_changed_settings_are_written():
    assert compare_command(CompareConfig(), "x.csv") == "python -m textclf compare x.csv"
    command = compare_command(CompareConfig(models=("cnn:kernel_sizes=2/3/4",), batchings=("bucket",), cv=3), "x.csv")
    assert "--models cnn:kernel_sizes=2/3/4" in command
    assert "--cv 3" in command
    assert "--seeds" not in command and "--epochs" not in command


def test_the_demo_dataset_is_named_by_its_switch():
    command = compare_command(CompareConfig(models=("svm",)), DEMO_NAME)
    config, args = parsed(command)
    assert args.demo and args.file is None
    assert config == CompareConfig(models=("svm",))


def test_records_that_are_no_setting_are_left_out_and_fractions_are_named():
    config = CompareConfig(models=("svm",), quick_look=True, estimated_seconds=12.5, test=0.2)
    again, _ = parsed(compare_command(config, "x.csv"))
    assert again == replace(config, quick_look=False, estimated_seconds=None, test=0.1)
    assert unrepeatable(config) == ["test fraction 0.2"]
    assert unrepeatable(CompareConfig()) == []


def test_data_file_name_adds_the_extension_the_store_leaves_out():
    assert data_file_name("tweets") == "tweets.csv"
    assert data_file_name("reviews.tsv") == "reviews.tsv"
    assert data_file_name("reviews.v2") == "reviews.v2.csv"
    assert data_file_name(DEMO_NAME) == DEMO_NAME


def test_settings_table_names_each_setting_in_words():
    rows = settings_table(CompareConfig(models=("svm", "knn"), cv=5, seeds=(0, 1), max_len=AUTO, epochs=4))
    assert rows["Evaluation"].startswith("5-fold cross-validation")
    assert rows["Seeds"] == "0, 1"
    assert rows["Epoch cap"] == "4"
    assert rows["Truncation"].startswith("auto")
    assert "SVM" in rows["Models"] and "kNN" in rows["Models"]
    single = settings_table(CompareConfig(quick_look=True))
    assert single["Evaluation"].startswith("one split: validation 10%, test 10%")
    assert single["Epoch cap"].startswith("each model's own (quick look")
    assert single["Truncation"].endswith("tokens")


def test_every_setting_is_either_written_or_named_as_unrepeatable():
    """A new CompareConfig field must not vanish from the line silently: it is written or listed."""
    for item in fields(CompareConfig):
        if item.name in RECORDS:
            continue
        changed = replace(CONFIGS[2])
        value = getattr(changed, item.name)
        object.__setattr__(changed, item.name, 0.25 if isinstance(value, float) else f"{value}-other")  # unchecked
        notes = unrepeatable(changed)
        assert item.name in WRITTEN or any(note.startswith(NO_OPTION.get(item.name, item.name)) for note in notes)
