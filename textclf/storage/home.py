"""The textclf folder (database and bundles), and which process owns an experiment.

An experiment records the process that runs it as host:pid:start time, so one left `running` or `queued` by a
process that is gone (or whose pid was reused) reads as `interrupted`, never as running forever.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from textclf.errors import TextclfError

HOME_VARIABLE = "TEXTCLF_HOME"
DATABASE = "textclf.db"
BUNDLES = "bundles"
DATASETS = "datasets"
CANCEL_REQUESTS = "cancel"


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """The folder for the database and bundles: `home` if given, else $TEXTCLF_HOME, else ~/.textclf."""
    chosen = home or os.environ.get(HOME_VARIABLE) or Path.home() / ".textclf"
    path = Path(chosen).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise TextclfError(f"Cannot use {path} as the textclf folder ({err.strerror}). Choose another folder "
                           f"with --home or the {HOME_VARIABLE} environment variable.") from None
    return path


def dataset_file(home: Path, content_hash: str) -> Path:
    """Where an experiment's dataset is kept, by content hash, so a reload or a restart can read it again."""
    return home / DATASETS / f"{content_hash}.json"


def cancel_file(home: Path, experiment_id: int) -> Path:
    """A cancel asked for from any process (`runs cancel`, another tab's server): the process training the
    experiment looks for this file before every batch (a file's existence costs microseconds to check)."""
    return home / CANCEL_REQUESTS / f"experiment-{experiment_id}"


def write_atomically(path: Path, text: str) -> None:
    """Written to a temporary file beside `path` and renamed, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def process_owner(pid: int | None = None) -> str:
    """host:pid:start time of a process; the start time tells a reused pid from the process that had it."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}"


def owner_alive(owner: str) -> bool:
    """Whether the process recorded as `owner` still runs (a process on another host is given the benefit)."""
    host, pid, start = owner.rsplit(":", 2)
    if host != socket.gethostname():
        return True
    return _process_start(int(pid)) == start


def _process_start(pid: int) -> str | None:
    """Start time of `pid` from /proc (None if gone or a zombie); where there is no /proc, '' if it exists."""
    proc = Path("/proc")
    if proc.is_dir():
        try:
            fields = (proc / str(pid) / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        return None if fields[0] in ("Z", "X") else fields[19]
    if os.name == "nt":
        return ""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


BUNDLE_FILE = ".textclf"
PARTIAL_FILE = BUNDLE_FILE + ".partial"


def deletable_bundle_files(home: Path, recorded: list[Path], folder: Path) -> list[Path]:
    """The files deleting an experiment's bundles removes: each recorded bundle that exists and the `.partial`
    files a killed write left in its folder. A recorded path outside the home folder is never touched (it is not
    this folder's file); one inside it that is not a plain `.textclf` file under `bundles/` (the database itself,
    a folder, a link: a database edited by hand) refuses the whole delete before anything is removed, so the
    experiment's row and files stay together."""
    bundles, root = home / BUNDLES, (home / BUNDLES).resolve()
    files = []
    for path in recorded:
        if not Path(os.path.normpath(path.absolute())).is_relative_to(os.path.normpath(home.absolute())):
            continue
        problem = _bundle_path_problem(path, root)
        if problem:
            raise TextclfError(f"The recorded bundle {str(path)[:200]} {problem}; nothing was deleted. Only "
                               f"{BUNDLE_FILE} files inside {bundles} are ever deleted.")
        files += [p for p in (path, path.with_name(path.name + ".partial")) if _plain_file(p)]
    return list(dict.fromkeys(files + partial_files(folder)))


def partial_files(folder: Path) -> list[Path]:
    """Bundle files a killed write left half written in an experiment's bundle folder."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(PARTIAL_FILE) and _plain_file(p))


def _bundle_path_problem(path: Path, root: Path) -> str | None:
    resolved = path.resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        return "is outside the bundles folder"
    if path.is_symlink():
        return "is a link"
    if not path.name.endswith(BUNDLE_FILE):
        return f"is not a {BUNDLE_FILE} file"
    if path.exists() and not path.is_file():
        return "is not a plain file"
    return None


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def file_size(path: Path) -> int:
    """Bytes on disk, 0 for a file that is gone."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
