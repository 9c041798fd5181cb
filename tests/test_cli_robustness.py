"""Odd store states and careless command lines: one-line errors, no tracebacks, nothing deleted outside home."""

from __future__ import annotations

import sqlite3
import time

import pytest

from textclf.cli import main
from textclf.data.demo import demo_dataset
from textclf.errors import TextclfError
from textclf.jobs.runner import JobRunner
from textclf.runs.config import CompareConfig
from textclf.storage.store import DATABASE, Store


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def finished_experiment(home, save_models=False) -> int:
    store = Store(home)
    runner = JobRunner(store, save_models=save_models)
    job = runner.submit(demo_dataset(rows=120, seed=3), CompareConfig(models=("svm", "knn:k=3")))
    assert job.wait(timeout=120) and job.status == "done", job.error
    runner.shutdown()
    return job.experiment_id


@pytest.mark.parametrize("action", ["show", "export", "delete"])
@pytest.mark.parametrize("given", ["9223372036854775808", "-1", "0", "abc", "1e3"])
def test_out_of_range_experiment_ids_are_refused_by_the_parser(home, capsys, action, given):
    with pytest.raises(SystemExit) as exit_:
        main(["runs", action, given, "--home", str(home)])
    assert exit_.value.code == 2 and "expected an experiment id" in capsys.readouterr().err


def test_the_store_answers_huge_ids_with_its_own_message(home):
    store = Store(home)
    for huge in (2**63, 2**100, -(2**70)):
        with pytest.raises(TextclfError, match="There is no experiment"):
            store.experiment(huge)


def test_a_store_with_corrupted_pages_gives_a_one_line_error(home, capsys):
    finished_experiment(home)
    database = home / DATABASE
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(database.read_bytes())
    page = 4096
    data[page: len(data)] = bytes([0xA5]) * (len(data) - page)
    database.write_bytes(bytes(data))
    assert main(["runs", "list", "--home", str(home)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "move the file away" in err and len(err.strip().splitlines()) == 1


def test_a_missing_out_folder_is_refused_before_training(home, tmp_path, capsys):
    started = time.perf_counter()
    code = main(["compare", "--demo", "--models", "svm", "--home", str(home),
                 "--out", str(tmp_path / "missing" / "results.json")])
    captured = capsys.readouterr()
    assert code == 2 and "does not exist" in captured.err and "[1/" not in captured.out
    assert Store(home).list_experiments() == []
    assert time.perf_counter() - started < 30


def test_export_into_a_missing_folder_is_refused(home, tmp_path, capsys):
    experiment = finished_experiment(home)
    code = main(["runs", "export", str(experiment), "--home", str(home), "--out", str(tmp_path / "no" / "x.csv")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"\xff\xfe\x00garbage", b"[[[[", b'{"format": 1}',
                                     b'{"format": "textclf-results", "runs": 5}'])
def test_report_on_a_binary_or_damaged_file_is_one_line(tmp_path, capsys, content):
    path = tmp_path / "results.json"
    path.write_bytes(content)
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_delete_never_removes_files_outside_the_home_folder(home, tmp_path, capsys):
    experiment = finished_experiment(home, save_models=True)
    store = Store(home)
    inside = [bundle["path"] for bundle in store.experiment(experiment)["bundles"]]
    assert all(path.is_file() for path in inside)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    with sqlite3.connect(home / DATABASE) as connection:
        connection.execute("UPDATE runs SET bundle = ? WHERE position = 2", ("../victim.txt",))
    assert main(["runs", "delete", str(experiment), "--home", str(home)]) == 0
    assert victim.read_text() == "precious"
    assert not inside[0].exists()
    assert store.list_experiments() == []
