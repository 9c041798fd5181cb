"""The `python -m textclf compare …` line that repeats an experiment: a settings record people can copy, run and
keep beside their results (Ludwig's config as an artefact). Only options that differ from the command line's
defaults are written, so the line stays short and reads as "what was changed"."""

from __future__ import annotations

import shlex
from dataclasses import fields
from pathlib import Path

from textclf.data.demo import DEMO_NAME
from textclf.runs.config import CompareConfig, ModelSpec

DEFAULTS = CompareConfig()
# (CompareConfig field, command-line option) for the settings that are a plain value on the command line.
VALUE_OPTIONS = (("epochs", "--epochs"), ("patience", "--patience"), ("batch_size", "--batch-size"), ("lr", "--lr"),
                 ("max_len", "--max-len"), ("n_buckets", "--buckets"), ("pad_to", "--pad-to"),
                 ("tokenizer", "--tokenizer"), ("split_seed", "--split-seed"), ("cv", "--cv"), ("device", "--device"))
# Settings the command line has no option for: the line cannot repeat them when they differ from the default.
NO_OPTION = {"validation": "validation fraction", "test": "test fraction"}
WRITTEN = {"models", "batchings", "seeds", "refit", *(name for name, _ in VALUE_OPTIONS)}
RECORDS = {"quick_look", "estimated_seconds"}  # how the run was started or estimated, not how it trains
DATA_SUFFIXES = (".csv", ".tsv", ".txt")


def model_argument(spec: ModelSpec) -> str:
    """'cnn:kernel_sizes=2/3/4:filters=8', as `ModelSpec.parse` reads it back."""
    return ":".join([spec.key, *(f"{name}={_value_text(value)}" for name, value in spec.params.items())])


def _value_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "/".join(str(part) for part in value)
    return str(value)


def compare_arguments(config: CompareConfig, data_file: str) -> list[str]:
    """The arguments after `python -m textclf`: the data (--demo for the built-in set), then each changed setting."""
    arguments = ["compare", "--demo"] if data_file == DEMO_NAME else ["compare", data_file]
    if config.models != DEFAULTS.models:
        arguments += ["--models", ",".join(model_argument(spec) for spec in config.models)]
    if config.batchings != DEFAULTS.batchings:
        arguments += ["--batching", ",".join(config.batchings)]
    if config.seeds != DEFAULTS.seeds:
        arguments += ["--seeds", ",".join(str(seed) for seed in config.seeds)]
    for name, option in VALUE_OPTIONS:
        value = getattr(config, name)
        if value != getattr(DEFAULTS, name):
            arguments += [option, str(value)]
    if config.refit:
        arguments.append("--refit")
    return arguments


def compare_command(config: CompareConfig, data_file: str) -> str:
    """The whole line, each argument quoted for a POSIX shell (a file or model option with spaces stays one)."""
    return shlex.join(["python", "-m", "textclf", *compare_arguments(config, data_file)])


def unrepeatable(config: CompareConfig) -> list[str]:
    """The settings the line leaves at the default although the experiment changed them, e.g. 'test fraction 0.2'
    (a setting added to CompareConfig later is named here until the line learns to write it)."""
    return [f"{NO_OPTION.get(item.name, item.name)} {getattr(config, item.name)}" for item in fields(config)
            if item.name not in WRITTEN | RECORDS and getattr(config, item.name) != getattr(DEFAULTS, item.name)]


def data_file_name(dataset_name: str) -> str:
    """The file a stored dataset most likely came from: the store keeps its name without the extension."""
    if dataset_name == DEMO_NAME or Path(dataset_name).suffix.lower() in DATA_SUFFIXES:
        return dataset_name
    return f"{dataset_name}.csv"
