"""The command line, end to end (in-process for speed; one real subprocess for `python -m textclf`)."""

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from tests.conftest import shared_dataset
from textclf.cli import main
from textclf.cli.compare import epoch_line
from textclf.runs.events import EpochDone
from textclf.training.progress import EpochRecord

TINY = ["--models", "cnn:embed_dim=16:filters=8,svm", "--epochs", "1", "--batch-size", "32"]


def test_profile_prints_rows_classes_and_lengths(capsys):
    assert main(["profile", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "rows: 2000" in out and "classes (4)" in out and "p95" in out


@pytest.mark.slow
def test_compare_on_the_demo_prints_the_table_and_writes_json(tmp_path, capsys):
    out_file = tmp_path / "results.json"
    assert main(["compare", "--demo", *TINY, "--out", str(out_file)]) == 0
    printed = capsys.readouterr().out
    assert "TextCNN" in printed and "padding_waste" in printed and "epoch 1/1" in printed
    runs = json.loads(out_file.read_text())["runs"]
    assert [(r["model"], r["batching"]) for r in runs] == [
        ("TextCNN", "max_length"), ("TextCNN", "bucket"), ("SVM", "none")]
    assert main(["report", str(out_file)]) == 0
    assert "SVM" in capsys.readouterr().out


def test_a_refit_epoch_says_what_it_is_instead_of_a_missing_validation_accuracy():
    record = EpochRecord(epoch=2, train_loss=0.5, val_accuracy=0.8, val_loss=0.4, seconds=1.0, cpu_seconds=1.0,
                         val_seconds=0.1, val_padded_slots=10, steps=3, examples=30, real_tokens=90, padded_slots=100,
                         padding_waste=0.1, batch_shapes=3)
    event = EpochDone(run="TextCNN bucket seed 0", epochs=3, record=record)
    assert "validation accuracy 0.800" in epoch_line(event)
    line = epoch_line(replace(event, record=replace(record, val_accuracy=float("nan")), stage="refit"))
    assert "retraining on training + validation" in line and "nan" not in line


def test_bad_input_is_one_line_on_stderr_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "one.csv"
    bad.write_text("text\nhello\n")
    assert main(["profile", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Found only one column") and "Traceback" not in err
    assert main(["compare", "--demo", "--batching", "sorted"]) == 2
    assert "Unknown batching" in capsys.readouterr().err
    assert main(["profile"]) == 2


@pytest.mark.slow
def test_python_dash_m_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "textclf", "profile", "--demo"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0 and "synthetic" in done.stdout


@pytest.mark.slow
def test_compare_on_mr_end_to_end(tmp_path):
    """Real data through the CLI: SVM must reach the published range, the CNN must clearly learn in one epoch."""
    mr = shared_dataset("mr.csv")
    out_file = tmp_path / "mr.json"
    assert main(["compare", str(mr), "--models", "cnn,svm", "--batching", "bucket", "--epochs", "1",
                 "--out", str(out_file)]) == 0
    runs = {r["model"]: r for r in json.loads(out_file.read_text())["runs"]}
    assert runs["SVM"]["accuracy"] >= 0.75
    assert runs["TextCNN"]["accuracy"] >= 0.65
    assert runs["TextCNN"]["padding_waste"] <= 0.10


@pytest.mark.slow
def test_compare_with_cross_validation_reports_mean_and_sd_over_folds(tmp_path, capsys):
    out_file = tmp_path / "cv.json"
    assert main(["compare", "--demo", "--models", "svm", "--cv", "4", "--no-store", "--out", str(out_file)]) == 0
    printed = capsys.readouterr().out
    assert "4-fold cross-validation" in printed and "mean ± sd over folds [95 % CI]" in printed
    assert [r["fold"] for r in json.loads(out_file.read_text())["runs"]] == [1, 2, 3, 4]
    assert main(["compare", "--demo", "--models", "svm", "--cv", "1", "--no-store"]) == 2
    assert "at least 2 folds" in capsys.readouterr().err
