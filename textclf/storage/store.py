"""The run store: one folder with an SQLite database of experiments and the model bundles they saved.

Runs take minutes and people close tabs and laptops, so every finished run is written the moment it finishes
and nothing lives only in memory. The file, its transactions and its migrations are `textclf.storage.database`;
the folder and which process owns an experiment are `textclf.storage.home`. An experiment left `running` or
`queued` by a process that is gone reads as `interrupted`, never as running forever.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from contextlib import suppress
from pathlib import Path

from textclf.data.reading import Dataset
from textclf.errors import TextclfError
from textclf.results.analysis import comparison_json_text
from textclf.results.csv_safety import csv_text
from textclf.runs.comparison import RESULTS_FORMAT, Comparison, RunResult, comparison_from_json
from textclf.runs.config import CompareConfig, plan_runs
from textclf.runs.events import ACTIVE, Status
from textclf.storage import home as folders
from textclf.storage.database import MIGRATIONS, SCHEMA_VERSION, Database
from textclf.storage.home import BUNDLES, DATABASE, HOME_VARIABLE, now, owner_alive, process_owner, resolve_home

__all__ = ["BUNDLES", "DATABASE", "HOME_VARIABLE", "MAX_ID", "MIGRATIONS", "SCHEMA_VERSION", "Store", "dataset_hash",
           "process_owner", "resolve_home"]

MAX_ID = 2**63 - 1  # SQLite's largest integer
MAX_KEPT_DATASET_BYTES = 64 * 2**20  # a larger dataset is not kept: a reload then asks for it again
DATASET_FIELDS = ("name", "texts", "labels", "split", "text_column", "label_column", "encoding", "separator")
IS_ACTIVE = "status IN (?, ?)"  # with ACTIVE as its parameters
HEADER_KEYS = ("classes", "tokenizer", "split_sizes", "split_notes", "test_labels", "test_lengths", "max_len",
               "folds", "evaluation_batching", "train_class_counts")
EMPTY_HEADER = {"classes": [], "tokenizer": "", "split_sizes": {}, "split_notes": [], "test_labels": [],
                "test_lengths": [], "max_len": None, "folds": [],
                "evaluation_batching": "not recorded"}


def dataset_hash(dataset: Dataset) -> str:
    """A fingerprint of the content (texts, labels, split), so the same data is recognised under any name."""
    content = json.dumps([dataset.texts, dataset.labels, dataset.split], ensure_ascii=False)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


class Store(Database):
    """Experiments, runs, per-epoch history, test predictions and bundle references in `<home>/textclf.db`."""

    def __init__(self, home: str | os.PathLike | None = None):
        self.home = resolve_home(home)
        self.bundles_dir = self.home / BUNDLES
        super().__init__(self.home / DATABASE)
        self.mark_interrupted()

    def mark_interrupted(self) -> list[int]:
        """Experiments whose process is gone become `interrupted`; returns their ids."""
        with self._transaction() as connection:
            active = connection.execute(f"SELECT id, owner FROM experiments WHERE {IS_ACTIVE}", ACTIVE).fetchall()
        dead = [row["id"] for row in active if not owner_alive(row["owner"])]
        if dead:
            with self._transaction(write=True) as connection:
                connection.executemany(
                    f"UPDATE experiments SET status = ?, finished = ? WHERE id = ? AND {IS_ACTIVE}",
                    [(Status.INTERRUPTED, now(), experiment_id, *ACTIVE) for experiment_id in dead])
        return dead

    # Recording, as a comparison happens.

    def create_experiment(self, dataset: Dataset, config: CompareConfig, *, owner: str | None = None) -> int:
        """A queued experiment (its dataset recorded and kept on first sight), owned by this process unless told
        otherwise."""
        content_hash = dataset_hash(dataset)
        self._keep_dataset(dataset, content_hash)
        with self._transaction(write=True) as connection:
            connection.execute(
                "INSERT OR IGNORE INTO datasets (content_hash, name, rows, created) VALUES (?, ?, ?, ?)",
                (content_hash, dataset.name, len(dataset), now()))
            dataset_id = connection.execute(
                "SELECT id FROM datasets WHERE content_hash = ?", (content_hash,)).fetchone()[0]
            return connection.execute(
                """INSERT INTO experiments (dataset_id, config, status, total_runs, owner, created)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (dataset_id, json.dumps(config.to_dict()), Status.QUEUED, len(plan_runs(config)),
                 owner or process_owner(), now()),
            ).lastrowid

    def _keep_dataset(self, dataset: Dataset, content_hash: str) -> None:
        """The dataset's texts, labels and split kept by content hash (once, however many experiments use it), so a
        reloaded page, another tab or a restarted server reads it again; one over MAX_KEPT_DATASET_BYTES is not."""
        path = folders.dataset_file(self.home, content_hash)
        if path.is_file() or sum(map(len, dataset.texts)) > MAX_KEPT_DATASET_BYTES:  # too large, before any copy
            return
        text = json.dumps({name: getattr(dataset, name) for name in DATASET_FIELDS}, ensure_ascii=False)
        if len(text) > MAX_KEPT_DATASET_BYTES:
            return
        with suppress(OSError):
            folders.write_atomically(path, text)

    def stored_dataset(self, experiment_id: int) -> Dataset | None:
        """The experiment's dataset as it was trained on; None when it was too large to keep or has gone."""
        info = self.experiment(experiment_id)
        try:
            kept = json.loads(folders.dataset_file(self.home, info["dataset_hash"]).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        dataset = Dataset(**{name: kept[name] for name in DATASET_FIELDS if name in kept})
        return dataset if dataset_hash(dataset) == info["dataset_hash"] else None

    def request_cancel(self, experiment_id: int) -> str:
        """Ask whichever process trains the experiment to stop before its next batch; returns its status now.

        Refused, saying so, when it has already ended (its finished runs stay as they are)."""
        self.mark_interrupted()
        info = self.experiment(experiment_id)
        if info["status"] not in ACTIVE:
            raise TextclfError(f"Experiment {experiment_id} is {info['status']}; there is nothing to cancel.")
        folders.write_atomically(folders.cancel_file(self.home, experiment_id), now())
        return info["status"]

    def cancel_requested(self, experiment_id: int) -> bool:
        return folders.cancel_file(self.home, experiment_id).exists()

    def start_experiment(self, experiment_id: int) -> None:
        self._update(experiment_id, status=Status.RUNNING, started=now())

    def record_prepared(self, experiment_id: int, comparison: Comparison, profile: dict | None = None) -> None:
        """What the split and tokenization gave (classes, sizes, test labels), and the dataset's profile."""
        header = {key: value for key, value in comparison.to_json().items() if key in HEADER_KEYS}
        with self._transaction(write=True) as connection:
            connection.execute("UPDATE experiments SET header = ? WHERE id = ?",
                               (json.dumps(header, ensure_ascii=False), experiment_id))
            if profile is not None:
                connection.execute(
                    "UPDATE datasets SET profile = ? WHERE id = (SELECT dataset_id FROM experiments WHERE id = ?)",
                    (json.dumps(profile, ensure_ascii=False), experiment_id))

    def add_run(self, experiment_id: int, position: int, name: str, result: RunResult,
                bundle: str | os.PathLike | None = None) -> int:
        """One finished run (results row, history, test predictions, bundle) in one transaction."""
        with self._transaction(write=True) as connection:
            run_id = connection.execute(
                """INSERT INTO runs (experiment_id, position, name, record, test_predictions, bundle, finished)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (experiment_id, position, name, json.dumps(result.record, ensure_ascii=False),
                 json.dumps(result.predictions, ensure_ascii=False), self._relative(bundle), now()),
            ).lastrowid
            connection.executemany(
                "INSERT INTO epochs (run_id, epoch, metrics) VALUES (?, ?, ?)",
                [(run_id, entry["epoch"], json.dumps(entry)) for entry in result.history])
        return run_id

    def add_failure(self, experiment_id: int, position: int, name: str, reason: str, retried: bool) -> None:
        """A run that failed (lost with its worker, or refused by its model), and whether it runs again elsewhere."""
        with self._transaction(write=True) as connection:
            connection.execute(
                """INSERT INTO run_failures (experiment_id, position, name, reason, retried, at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (experiment_id, position, name, reason, int(retried), now()))

    def failures(self, experiment_id: int) -> list[dict]:
        with self._transaction() as connection:
            rows = connection.execute("SELECT name, reason, retried FROM run_failures WHERE experiment_id = ? "
                                      "ORDER BY id", (experiment_id,)).fetchall()
        return [{"run": row["name"], "reason": row["reason"], "retried": bool(row["retried"])} for row in rows]

    def finish_experiment(self, experiment_id: int, status: Status, error: str | None = None) -> None:
        self._update(experiment_id, status=status, error=error, finished=now())
        with suppress(OSError):
            folders.cancel_file(self.home, experiment_id).unlink()

    def _update(self, experiment_id: int, **values) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        with self._transaction(write=True) as connection:
            connection.execute(f"UPDATE experiments SET {columns} WHERE id = ?", (*values.values(), experiment_id))

    # Reading, deleting, exporting.

    def list_experiments(self) -> list[dict]:
        """Newest first, each with its status and how many of its runs finished."""
        self.mark_interrupted()
        with self._transaction() as connection:
            return [_summary(row) for row in connection.execute(_SUMMARY_QUERY + " ORDER BY e.id DESC")]

    def experiment(self, experiment_id: int) -> dict:
        """The list row plus the full config, the error and each finished run's bundle path (None if not saved)."""
        with self._transaction() as connection:
            row = self._experiment_row(connection, experiment_id)
            runs = connection.execute(
                "SELECT name, bundle FROM runs WHERE experiment_id = ? ORDER BY position", (experiment_id,))
            bundles = [{"run": run["name"], "path": self._absolute(run["bundle"])} for run in runs]
        return {**_summary(row), "config": json.loads(row["config"]), "bundles": bundles,
                "failures": self.failures(experiment_id)}

    def load_comparison(self, experiment_id: int) -> Comparison:
        """The experiment as a `Comparison` of its finished runs (models are in bundles, not here)."""
        with self._transaction() as connection:
            row = self._experiment_row(connection, experiment_id)
            runs = connection.execute(
                "SELECT id, record, test_predictions FROM runs WHERE experiment_id = ? ORDER BY position",
                (experiment_id,)).fetchall()
            histories = {run["id"]: [json.loads(e["metrics"]) for e in connection.execute(
                "SELECT metrics FROM epochs WHERE run_id = ? ORDER BY epoch", (run["id"],))] for run in runs}
        header = {**EMPTY_HEADER, **json.loads(row["header"] or "{}")}
        return comparison_from_json({
            "format": RESULTS_FORMAT, "dataset": row["dataset"], "config": json.loads(row["config"]), **header,
            "runs": [{**json.loads(run["record"]), "history": histories[run["id"]],
                      "test_predictions": json.loads(run["test_predictions"])} for run in runs],
            "failures": self.failures(experiment_id),
        })

    def delete_experiment(self, experiment_id: int) -> None:
        """Remove the experiment, its runs and its bundle files (the paths checked first, `.partial` leftovers
        included); a running one must be cancelled first."""
        with self._transaction(write=True) as connection:
            files = self._deletable_files(connection, experiment_id)
            content_hash = self._experiment_row(connection, experiment_id)["dataset_hash"]
            connection.execute("DELETE FROM experiments WHERE id = ?", (experiment_id,))
            still_used = connection.execute(
                "SELECT 1 FROM experiments e JOIN datasets d ON d.id = e.dataset_id WHERE d.content_hash = ?",
                (content_hash,)).fetchone()
        kept = [] if still_used else [folders.dataset_file(self.home, content_hash)]
        _remove([*files, *kept, folders.cancel_file(self.home, experiment_id)])  # a cancel its process never saw
        with suppress(OSError):
            self.bundle_folder(experiment_id).rmdir()

    def _deletable_files(self, connection: sqlite3.Connection, experiment_id: int) -> list[Path]:
        """Checked before the rows change, so a refused path leaves the experiment and its files as they were."""
        recorded = self._idle_bundles(connection, experiment_id)
        return folders.deletable_bundle_files(self.home, recorded, self.bundle_folder(experiment_id))

    def _idle_bundles(self, connection: sqlite3.Connection, experiment_id: int) -> list[Path]:
        """The bundle files of an experiment that may be deleted (a running one must be cancelled first)."""
        row = self._experiment_row(connection, experiment_id)
        if row["status"] in ACTIVE and owner_alive(row["owner"]):
            raise TextclfError(f"Experiment {experiment_id} is still {row['status']}; cancel it first.")
        return [self._absolute(r["bundle"]) for r in connection.execute(
            "SELECT bundle FROM runs WHERE experiment_id = ? AND bundle IS NOT NULL", (experiment_id,))]

    def best_runs(self) -> dict[int, dict]:
        """Per experiment, its most accurate (model, batching): mean test accuracy over seeds, and seed count."""
        with self._transaction() as connection:
            rows = connection.execute(
                """SELECT experiment_id, json_extract(record, '$.model') AS model,
                          json_extract(record, '$.batching') AS batching,
                          AVG(json_extract(record, '$.accuracy')) AS accuracy, COUNT(*) AS seeds
                   FROM runs GROUP BY experiment_id, model, batching""").fetchall()
        best: dict[int, dict] = {}
        for row in rows:
            if row["experiment_id"] not in best or row["accuracy"] > best[row["experiment_id"]]["accuracy"]:
                best[row["experiment_id"]] = {key: row[key] for key in ("model", "batching", "accuracy", "seeds")}
        return best

    def bundle_sizes(self) -> dict[int, int]:
        """Bytes on disk of each experiment's saved model bundles and half-written leftovers (experiments without
        any are left out)."""
        with self._transaction() as connection:
            rows = connection.execute("SELECT experiment_id, bundle FROM runs WHERE bundle IS NOT NULL").fetchall()
            experiments = [row[0] for row in connection.execute("SELECT id FROM experiments")]
        sizes: dict[int, int] = {}
        files = [(row["experiment_id"], self._absolute(row["bundle"])) for row in rows]
        files += [(e, path) for e in experiments for path in folders.partial_files(self.bundle_folder(e))]
        for experiment_id, path in files:
            if path.is_file():
                sizes[experiment_id] = sizes.get(experiment_id, 0) + folders.file_size(path)
        return sizes

    def delete_bundles(self, experiment_id: int) -> int:
        """Remove an experiment's model bundles (paths checked first) but keep its results; returns the bytes
        freed."""
        with self._transaction(write=True) as connection:
            files = self._deletable_files(connection, experiment_id)
            connection.execute("UPDATE runs SET bundle = NULL WHERE experiment_id = ?", (experiment_id,))
        freed = _remove(files)
        with suppress(OSError):
            self.bundle_folder(experiment_id).rmdir()
        return freed

    def export_experiment(self, experiment_id: int, fmt: str) -> str:
        """The results table as CSV, or the whole comparison as the same JSON as `compare --out`."""
        if fmt not in ("csv", "json"):
            raise TextclfError(f"Export format {fmt!r} is not supported; choose csv or json.")
        comparison = self.load_comparison(experiment_id)
        return csv_text(comparison.table) if fmt == "csv" else comparison_json_text(comparison)

    def _experiment_row(self, connection: sqlite3.Connection, experiment_id: int) -> sqlite3.Row:
        in_range = isinstance(experiment_id, int) and 0 < experiment_id <= MAX_ID
        row = connection.execute(_SUMMARY_QUERY + " WHERE e.id = ?", (experiment_id,)).fetchone() if in_range else None
        if row is None:
            raise TextclfError(f"There is no experiment {experiment_id} in {self.path}; list the experiments "
                               "(python -m textclf runs list) to see their ids.")
        return row

    def bundle_folder(self, experiment_id: int) -> Path:
        """Where an experiment's bundles go (deleted with it when empty)."""
        return self.bundles_dir / f"experiment-{experiment_id}"

    def _relative(self, path: str | os.PathLike | None) -> str | None:
        """Bundle paths inside the home folder are kept relative, so the folder can move as a whole."""
        if path is None:
            return None
        path = Path(path).resolve()
        return str(path.relative_to(self.home.resolve()) if path.is_relative_to(self.home.resolve()) else path)

    def _absolute(self, text: str | None) -> Path | None:
        return None if text is None else self.home / text


def _remove(files: list[Path]) -> int:
    """Delete checked files; returns the bytes freed (a file already gone frees nothing)."""
    freed = 0
    for path in files:
        size = folders.file_size(path)
        with suppress(OSError):
            path.unlink()
            freed += size
    return freed


_SUMMARY_QUERY = """
    SELECT e.*, d.name AS dataset, d.content_hash AS dataset_hash,
           (SELECT COUNT(*) FROM runs r WHERE r.experiment_id = e.id) AS runs
    FROM experiments e JOIN datasets d ON d.id = e.dataset_id"""


def _summary(row: sqlite3.Row) -> dict:
    config = CompareConfig.from_dict(json.loads(row["config"]))
    return {
        "id": row["id"], "dataset": row["dataset"], "dataset_hash": row["dataset_hash"],
        "models": [spec.label for spec in config.models], "created": row["created"], "started": row["started"],
        "finished": row["finished"], "status": row["status"], "runs": row["runs"], "total_runs": row["total_runs"],
        "error": row["error"],
    }
