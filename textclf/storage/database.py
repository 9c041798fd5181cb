"""The SQLite file under the run store: one connection per operation, WAL mode, and the schema's migrations.

The database is opened per operation (never shared across threads) in WAL mode, so readers never wait for the
writer and writers wait their turn instead of failing. A file written by an older textclf is migrated step by
step; one written by a newer textclf is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from textclf.errors import TextclfError

BUSY_TIMEOUT_SECONDS = 60.0

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 0 → 1: the first schema
        """CREATE TABLE datasets (
            id INTEGER PRIMARY KEY,
            content_hash TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            rows INTEGER NOT NULL,
            profile TEXT,
            created TEXT NOT NULL)""",
        """CREATE TABLE experiments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset_id INTEGER NOT NULL REFERENCES datasets(id),
            config TEXT NOT NULL,
            status TEXT NOT NULL,
            total_runs INTEGER NOT NULL,
            header TEXT,
            error TEXT,
            owner TEXT NOT NULL,
            created TEXT NOT NULL,
            started TEXT,
            finished TEXT)""",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            record TEXT NOT NULL,
            test_predictions TEXT NOT NULL,
            bundle TEXT,
            finished TEXT NOT NULL,
            UNIQUE (experiment_id, position))""",
        """CREATE TABLE epochs (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            metrics TEXT NOT NULL,
            PRIMARY KEY (run_id, epoch))""",
        "CREATE INDEX experiments_by_status ON experiments(status)",
    ),
    (  # 1 → 2: runs that failed (a worker killed or out of memory, a model refusing), recorded as it happens
        """CREATE TABLE run_failures (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            reason TEXT NOT NULL,
            retried INTEGER NOT NULL,
            at TEXT NOT NULL)""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class Database:
    """Transactions on the SQLite file at `path`, migrated to the current schema when opened."""

    def __init__(self, path: Path):
        self.path = path
        self._migrate()

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One connection for one operation; writes take the write lock up front so they never deadlock.

        A damaged database file (or one rows of which no longer decode) becomes a TextclfError saying what to do.
        """
        try:
            with self._connection(write) as connection:
                yield connection
        except sqlite3.DatabaseError as err:
            raise TextclfError(f"The run store {self.path} cannot be used ({err}). If another program holds it, "
                               "try again; if it is damaged, move the file away (a new one is created) or choose "
                               "another folder with --home.") from None

    @contextmanager
    def _connection(self, write: bool) -> Iterator[sqlite3.Connection]:
        with closing(self._open()) as connection:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _migrate(self) -> None:
        """Apply the missing migration steps in one transaction (a new file starts at 0); refuse a newer schema."""
        try:
            with closing(self._open()) as connection:
                connection.execute("PRAGMA journal_mode = WAL")
            with self._transaction(write=True) as connection:
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise TextclfError(f"{self.path} was written by a newer textclf (schema {version}); upgrade "
                                       "textclf or choose another folder with --home.")
                for step in MIGRATIONS[version:]:
                    for statement in step:
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as err:
            raise TextclfError(f"{self.path} is not a usable textclf database ({err}). Move it away or choose "
                               "another folder with --home.") from None

    @property
    def schema_version(self) -> int:
        with self._transaction() as connection:
            return connection.execute("PRAGMA user_version").fetchone()[0]
