"""The run store: where it lives, what it keeps, how it reads back, and that concurrent use never fails."""

import json
import sqlite3
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest

import textclf.storage.database as database_module
from textclf.cli import main
from textclf.errors import TextclfError
from textclf.jobs.runner import JobRunner
from textclf.results.analysis import comparison_json_text
from textclf.runs.config import CompareConfig
from textclf.storage.store import MIGRATIONS, SCHEMA_VERSION, Store, process_owner, resolve_home

CONFIG = CompareConfig(models=("cnn:embed_dim=16:filters=8", "svm"), batchings=("bucket",), epochs=2, batch_size=16)


@pytest.fixture(scope="module")
def finished(small_demo):
    """A finished comparison (with models), trained in a background job without a store."""
    runner = JobRunner()
    job = runner.submit(small_demo, CONFIG)
    assert job.wait(timeout=120) and job.status == "done", job.error
    runner.shutdown()
    return job.comparison()


def record(store: Store, dataset, comparison, *, status="done") -> int:
    """Write a comparison the way a job does: created, started, prepared, each run, finished."""
    experiment_id = store.create_experiment(dataset, comparison.config)
    store.start_experiment(experiment_id)
    store.record_prepared(experiment_id, comparison, {"rows": len(dataset)})
    for position, result in enumerate(comparison.runs, start=1):
        store.add_run(experiment_id, position, f"run {position}", result)
    store.finish_experiment(experiment_id, status)
    return experiment_id


def test_home_is_the_argument_else_the_variable_else_a_folder_in_the_user_home(tmp_path, monkeypatch):
    assert resolve_home(tmp_path / "given") == tmp_path / "given" and (tmp_path / "given").is_dir()
    monkeypatch.setenv("TEXTCLF_HOME", str(tmp_path / "from-env"))
    assert resolve_home() == tmp_path / "from-env"
    monkeypatch.delenv("TEXTCLF_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert resolve_home() == tmp_path / "user" / ".textclf"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(TextclfError, match="Cannot use .* --home"):
        resolve_home(tmp_path / "a-file")


def test_a_new_store_is_in_wal_mode_at_the_current_schema_version(tmp_path):
    store = Store(tmp_path)
    assert store.path == tmp_path / "textclf.db" and store.bundles_dir == tmp_path / "bundles"
    assert store.schema_version == SCHEMA_VERSION
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert Store(tmp_path).schema_version == SCHEMA_VERSION


def test_each_older_schema_migrates_step_by_step_and_keeps_its_experiments(tmp_path, small_demo, monkeypatch):
    """A database written at every earlier version opens at the current one, its rows intact and each later
    table (e.g. run_failures, version 2) usable."""
    for version in range(1, SCHEMA_VERSION):
        home = tmp_path / f"v{version}"
        with monkeypatch.context() as old:
            old.setattr(database_module, "MIGRATIONS", MIGRATIONS[:version])
            old.setattr(database_module, "SCHEMA_VERSION", version)
            experiment = Store(home).create_experiment(small_demo, CONFIG)
            assert Store(home).schema_version == version
        store = Store(home)
        assert store.schema_version == SCHEMA_VERSION
        (row,) = store.list_experiments()
        assert row["id"] == experiment and row["status"] == "queued"
        store.add_failure(experiment, 1, "SVM · none · seed 0", "worker 1 died from SIGKILL", retried=True)
        assert store.failures(experiment) == [{"run": "SVM · none · seed 0", "reason": "worker 1 died from SIGKILL",
                                               "retried": True}]


def test_a_newer_or_foreign_database_is_refused_with_a_clear_message(tmp_path):
    newer = tmp_path / "newer"
    Store(newer)
    with sqlite3.connect(newer / "textclf.db") as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(TextclfError, match="newer textclf .*upgrade"):
        Store(newer)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "textclf.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(TextclfError, match="not a usable textclf database"):
        Store(junk)


def test_a_recorded_experiment_reads_back_exactly(tmp_path, small_demo, finished):
    store = Store(tmp_path)
    experiment_id = record(store, small_demo, finished)
    stored = store.load_comparison(experiment_id)
    assert json.loads(comparison_json_text(stored)) == json.loads(comparison_json_text(finished))
    (row,) = store.list_experiments()
    assert row["id"] == experiment_id and row["status"] == "done" and row["dataset"] == small_demo.name
    assert row["models"] == ["TextCNN", "SVM"] and row["runs"] == row["total_runs"] == 2
    assert row["created"] <= row["started"] <= row["finished"]
    details = store.experiment(experiment_id)
    assert CompareConfig.from_dict(details["config"]) == CONFIG and details["error"] is None
    assert details["bundles"] == [{"run": "run 1", "path": None}, {"run": "run 2", "path": None}]
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT profile FROM datasets").fetchone()[0] == json.dumps({"rows": 240})


def test_datasets_are_recognised_by_content_and_experiments_listed_newest_first(tmp_path, small_demo, finished):
    store = Store(tmp_path)
    first = record(store, small_demo, finished)
    second = record(store, small_demo, finished, status="failed")
    assert [row["id"] for row in store.list_experiments()] == [second, first]
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM datasets").fetchone()[0] == 1


def test_export_gives_the_table_as_csv_and_the_comparison_as_json(tmp_path, small_demo, finished):
    store = Store(tmp_path)
    experiment_id = record(store, small_demo, finished)
    table = pd.read_csv(StringIO(store.export_experiment(experiment_id, "csv")))
    assert list(table.model) == ["TextCNN", "SVM"]
    assert table.accuracy.tolist() == pytest.approx(finished.table.accuracy.tolist())
    assert json.loads(store.export_experiment(experiment_id, "json")) == json.loads(comparison_json_text(finished))
    with pytest.raises(TextclfError, match="choose csv or json"):
        store.export_experiment(experiment_id, "xlsx")


def test_delete_removes_the_experiment_and_its_bundle_files(tmp_path, small_demo, finished):
    store = Store(tmp_path)
    kept, deleted = record(store, small_demo, finished), record(store, small_demo, finished)
    bundle = store.bundle_folder(deleted) / "01.textclf"
    bundle.parent.mkdir(parents=True)
    bundle.write_bytes(b"bundle")
    store.add_run(deleted, 3, "saved", finished.runs[0], bundle)
    assert store.experiment(deleted)["bundles"][-1] == {"run": "saved", "path": bundle}
    store.delete_experiment(deleted)
    assert not bundle.exists() and not bundle.parent.exists()
    assert [row["id"] for row in store.list_experiments()] == [kept]
    with pytest.raises(TextclfError, match=f"no experiment {deleted}.*runs list"):
        store.load_comparison(deleted)
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
        assert connection.execute("SELECT COUNT(*) FROM epochs").fetchone()[0] == len(finished.runs[0].history)


def test_a_running_experiment_cannot_be_deleted(tmp_path, small_demo):
    store = Store(tmp_path)
    experiment_id = store.create_experiment(small_demo, CONFIG)
    store.start_experiment(experiment_id)
    with pytest.raises(TextclfError, match="still running; cancel it first"):
        store.delete_experiment(experiment_id)


@pytest.mark.slow  # starts a process
def test_experiments_of_a_gone_process_read_as_interrupted(tmp_path, small_demo):
    store = Store(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host, pid, start = process_owner().rsplit(":", 2)
    owners = {
        "gone process": process_owner(gone.pid),
        "reused pid": f"{host}:{pid}:{int(start) - 1}",
        "this process": process_owner(),
    }
    ids = {name: store.create_experiment(small_demo, CONFIG, owner=owner) for name, owner in owners.items()}
    store.start_experiment(ids["gone process"])
    status = {row["id"]: row["status"] for row in Store(tmp_path).list_experiments()}
    assert status == {ids["gone process"]: "interrupted", ids["reused pid"]: "interrupted",
                      ids["this process"]: "queued"}


def test_concurrent_readers_never_see_a_locked_database_while_writers_commit(tmp_path, small_demo, finished):
    writes = 60
    store = Store(tmp_path)
    experiments = [store.create_experiment(small_demo, CONFIG) for _ in range(2)]
    errors, seen = [], []
    writing = threading.Event()

    def write(experiment_id):
        try:
            for position in range(writes):
                store.add_run(experiment_id, position, f"run {position}", finished.runs[0])
        except Exception as err:
            errors.append(err)

    def read(reader_store):
        try:
            while writing.is_set():
                counts = [row["runs"] for row in reader_store.list_experiments()]
                runs = len(reader_store.load_comparison(experiments[0]).runs)
                seen.append((sum(counts), runs))
        except Exception as err:
            errors.append(err)

    writing.set()
    readers = [threading.Thread(target=read, args=(s,)) for s in (store, store, Store(tmp_path))]
    writers = [threading.Thread(target=write, args=(e,)) for e in experiments]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    writing.clear()
    for thread in readers:
        thread.join(timeout=30)
    assert errors == []
    assert len(seen) > len(readers) and all(0 <= runs <= writes for _, runs in seen)
    assert [row["runs"] for row in store.list_experiments()] == [writes, writes]


@pytest.mark.slow
def test_the_command_line_records_lists_shows_exports_and_deletes(tmp_path, capsys):
    home = tmp_path / "cli-home"
    tiny = ["--demo", "--models", "svm,knn:k=3"]
    assert main(["compare", *tiny, "--home", str(home), "--save-models"]) == 0
    assert "recorded as experiment 1" in capsys.readouterr().out
    assert main(["--home", str(home), "compare", *tiny, "--no-store"]) == 0
    assert "recorded" not in capsys.readouterr().out
    assert main(["--home", str(home), "runs", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 2 and listing[1].split()[:2] == ["1", "done"] and "SVM, kNN (k=3)" in listing[1]
    assert main(["runs", "show", "1", "--home", str(home)]) == 0
    shown = capsys.readouterr().out
    bundles = sorted((home / "bundles" / "experiment-1").iterdir())
    assert [p.name for p in bundles] == ["01-SVM_seed_0.textclf", "02-kNN_k_3_seed_0.textclf"]
    assert "experiment 1: done" in shown and str(bundles[0]) in shown
    out_file = tmp_path / "export.json"
    assert main(["runs", "export", "1", "--format", "json", "--out", str(out_file), "--home", str(home)]) == 0
    assert [r["model"] for r in json.loads(out_file.read_text())["runs"]] == ["SVM", "kNN (k=3)"]
    assert main(["runs", "export", "1", "--home", str(home)]) == 0
    assert capsys.readouterr().out.splitlines()[-2].startswith("SVM,none,0,")
    assert main(["runs", "delete", "1", "--home", str(home)]) == 0
    assert not Path(bundles[0]).exists()
    capsys.readouterr()
    assert main(["runs", "show", "1", "--home", str(home)]) == 2
    assert capsys.readouterr().err.startswith("error: There is no experiment 1")


def _point_bundle_at(store: Store, experiment_id: int, path: Path) -> None:
    """What editing the database by hand does: a run's bundle path set to anything."""
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE runs SET bundle = ? WHERE experiment_id = ? AND position = 1",
                           (str(path), experiment_id))


@pytest.mark.parametrize("target", ["database", "folder", "link", "wrong suffix"])
@pytest.mark.parametrize("action", ["delete_experiment", "delete_bundles"])
def test_a_recorded_path_that_is_not_a_bundle_file_refuses_the_delete_and_nothing_is_deleted(
        tmp_path, small_demo, finished, target, action):
    store = Store(tmp_path / "home")
    experiment_id = record(store, small_demo, finished)
    folder = store.bundle_folder(experiment_id)
    folder.mkdir(parents=True)
    outside = tmp_path / "precious.textclf"
    outside.write_bytes(b"not yours")
    paths = {"database": store.path, "folder": folder, "outside": outside, "link": folder / "01.textclf",
             "wrong suffix": folder / "notes.txt"}
    if target == "link":
        paths["link"].symlink_to(outside)
    if target == "wrong suffix":
        paths["wrong suffix"].write_text("notes")
    _point_bundle_at(store, experiment_id, paths[target])
    with pytest.raises(TextclfError, match="nothing was deleted"):
        getattr(store, action)(experiment_id)
    assert store.path.is_file() and folder.is_dir() and outside.read_bytes() == b"not yours"
    assert paths[target].exists()
    assert store.experiment(experiment_id)["bundles"][0]["path"] == paths[target]


def test_a_partial_left_by_a_kill_is_counted_and_deleted_with_its_experiment(tmp_path, small_demo, finished):
    store = Store(tmp_path)
    experiment_id = record(store, small_demo, finished)
    folder = store.bundle_folder(experiment_id)
    folder.mkdir(parents=True)
    bundle, partial = folder / "01-run.textclf", folder / "02-run.textclf.partial"
    bundle.write_bytes(b"b" * 100)
    partial.write_bytes(b"p" * 30)
    store.add_run(experiment_id, 3, "saved", finished.runs[0], bundle)
    assert store.bundle_sizes() == {experiment_id: 130}
    store.delete_experiment(experiment_id)
    assert not bundle.exists() and not partial.exists() and not folder.exists()
    assert store.bundle_sizes() == {}


def test_deleting_bundles_frees_the_partials_too_and_keeps_the_results(tmp_path, small_demo, finished):
    store = Store(tmp_path)
    experiment_id = record(store, small_demo, finished)
    folder = store.bundle_folder(experiment_id)
    folder.mkdir(parents=True)
    (folder / "02-run.textclf.partial").write_bytes(b"p" * 30)
    (folder / "kept.txt").write_text("not a bundle")
    assert store.delete_bundles(experiment_id) == 30
    assert sorted(p.name for p in folder.iterdir()) == ["kept.txt"]
    assert store.experiment(experiment_id)["runs"] == 2


def test_a_recorded_path_outside_the_home_folder_is_left_alone_and_the_rest_deleted(tmp_path, small_demo, finished):
    store = Store(tmp_path / "home")
    experiment_id = record(store, small_demo, finished)
    outside = tmp_path / "precious.textclf"
    outside.write_bytes(b"not yours")
    _point_bundle_at(store, experiment_id, outside)
    store.delete_experiment(experiment_id)
    assert outside.read_bytes() == b"not yours" and store.list_experiments() == []
