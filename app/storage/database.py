"""Opening the conversation database: WAL, foreign keys, migrations, and a damaged or newer
file kept aside rather than replaced.

WAL with synchronous=NORMAL: a committed transaction survives the app being killed at any
moment (it is in the WAL file, which the OS holds); only a power cut can lose the last few.
One connection writes (the ChatStore's), readers never block it.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from app.safety.aside import unused_name
from app.storage import schema
from app.storage.private import private_file

log = logging.getLogger(__name__)

_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass
class Opened:
    conn: sqlite3.Connection
    # Set when the file there could not be used: what happened and where it now is, for the
    # user to read. The conversation store then started empty.
    problem: str = ""
    kept_aside: Path | None = None


class NewerDatabase(Exception):
    pass


class StoreUnavailable(Exception):
    """The database can't be opened right now (locked, no permission, disk full); nothing
    was moved. The message says what to do."""


def storage_advice(exc: BaseException) -> str:
    """What the user can do about a failed read or write of the history, by its cause (a
    locked database is not cured by freeing disk space)."""
    said = str(exc).lower()
    number = getattr(exc, "errno", None) or getattr(exc, "sqlite_errorcode", None)
    if "locked" in said or "busy" in said or number in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return (
            "another program (perhaps another Parley) is holding the history; close it, or "
            "wait for it to finish"
        )
    if "full" in said or number in (errno.ENOSPC, errno.EDQUOT, sqlite3.SQLITE_FULL):
        return "free some disk space"
    if (
        "read-only" in said
        or "readonly" in said
        or number
        in (
            errno.EACCES,
            errno.EPERM,
            errno.EROFS,
            sqlite3.SQLITE_READONLY,
            sqlite3.SQLITE_PERM,
        )
    ):
        return "make the history folder writable for you (its permissions, or a read-only disk)"
    return "check the history folder's permissions and free space"


def history_failed(exc: BaseException) -> str:
    """A read or write of the open history failed: what happened and what to do."""
    return f"The conversation history could not be used ({exc}): {storage_advice(exc)}."


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def _owner_only(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would make it 0644, readable by
    every user of the machine) and take group and other permissions off an older one: its
    WAL and shared-memory files take the database's mode when SQLite creates them."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError:
        return  # SQLite says why, in its own words
    for suffix in ("", *_SIDE_FILES):
        private_file(Path(str(path) + suffix))


def _prepare(path: Path) -> sqlite3.Connection:
    _owner_only(path)
    conn = connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.VERSION:
            raise NewerDatabase(version)
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"integrity check: {check}")
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            log.warning("%s: WAL is not available here; using the default journal", path)
        conn.execute("PRAGMA synchronous = NORMAL")
        schema.migrate(conn)
        return conn
    except BaseException:
        conn.close()
        raise


OPEN_WAIT = 5.0  # seconds a history locked by another Parley's start may keep this one waiting


def _prepared(path: Path) -> sqlite3.Connection:
    """_prepare, tried again while another process holds the history locked as it creates or
    migrates it: switching to WAL takes the whole file and does not wait on SQLite's busy
    timeout, so 12 Parleys started at once on a fresh history had one of them refused."""
    deadline = time.monotonic() + OPEN_WAIT
    pause = 0.02
    while True:
        try:
            return _prepare(path)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(0.5, pause * 2)


def keep_aside(path: Path, why: str) -> Path:
    """Rename the file (and its WAL) out of the way, never deleting it."""
    target = unused_name(path, lambda stamp: f"{path.stem}.{why}-{stamp}{path.suffix}")
    for suffix in _SIDE_FILES:
        side = Path(str(path) + suffix)
        if side.exists():
            side.rename(Path(str(target) + suffix))
    path.rename(target)
    return target


def open_database(path: Path) -> Opened:
    """The database at `path`, created or migrated as needed. A file that is not a database,
    fails its integrity check, or was made by a newer Parley is renamed aside (with its WAL)
    and a fresh one is started; `Opened.problem` says so."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the folder is a file, read-only, on a full disk
        why = "it is a file" if path.parent.is_file() else (exc.strerror or str(exc))
        raise StoreUnavailable(
            f"Could not use the folder {path.parent} for the conversation history: "
            f"{why}. Point PARLEY_HISTORY_DIR at a folder, or check that "
            "one's permissions and free space."
        ) from exc
    try:
        return Opened(_prepared(path))
    except NewerDatabase as exc:
        aside = keep_aside(path, "newer")
        problem = (
            f"Your conversations were saved by a newer version of Parley (database version "
            f"{exc.args[0]}, this one reads up to {schema.VERSION}). They are kept, untouched, "
            f"in {aside}; update Parley to see them again. Parley started a new history."
        )
    except sqlite3.OperationalError as exc:
        # Locked by another program, unreadable, a full disk: not damage, so leave it alone.
        advice = storage_advice(exc)
        raise StoreUnavailable(
            f"Could not open the conversation history {path}: {exc}. "
            f"{advice[:1].upper()}{advice[1:]}."
        ) from exc
    except sqlite3.DatabaseError as exc:
        log.info("conversation database %s is unusable: %s", path, exc)  # the user is told
        aside = keep_aside(path, "damaged")
        problem = (
            f"The conversation history could not be read ({exc}). The file is kept, "
            f"untouched, as {aside}, so nothing is lost; Parley started a new history."
        )
    return Opened(_prepare(path), problem, aside)
