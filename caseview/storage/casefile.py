"""Opening, creating and writing to one case file (one SQLite database).

Writes go through :meth:`CaseFile.write`, which takes SQLite's write lock up front
(``BEGIN IMMEDIATE``). That is what serialises audit appends across processes: the
read of the chain head and the insert of the next event happen under one lock, and a
second writer waits (busy timeout) instead of failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import sqlite_utils

from caseview.errors import CaseFileError
from caseview.storage import schema

logger = logging.getLogger(__name__)

# PRAGMA application_id marks the file as ours: b"CVEW" as a big-endian integer.
APPLICATION_ID = 0x43564557
BUSY_TIMEOUT_MS = 60_000


def default_case_file_path() -> Path:
    """The platform's per-user data directory, e.g. ~/.local/share/caseview/caseview.db."""
    return Path(platformdirs.user_data_dir("caseview", appauthor=False)) / "caseview.db"


class CaseFile:
    """An open case file. One per thread: SQLite connections are not shared."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        if self.conn.in_transaction:
            # A nested write joins the outer one through a savepoint.
            with self.db.atomic():
                yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads (a WAL read transaction)."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> CaseFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _configure(conn: sqlite3.Connection, *, read_only: bool) -> None:
    """Connection settings; only once the file is known to be ours (none changes it)."""
    conn.execute("PRAGMA foreign_keys = ON")
    if not read_only:
        conn.execute("PRAGMA synchronous = FULL")


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only, before SQLite touches it.

    SQLite gives the -wal and -shm files the same permissions as the database.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError as exc:
        raise CaseFileError(
            f"{path} already exists. Choose another path, or open it without 'init'."
        ) from exc
    os.close(fd)


def _check_identity(conn: sqlite3.Connection, path: Path, *, creating: bool) -> None:
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise CaseFileError(
            f"{path} is not a Caseview case file (it is not an SQLite database). "
            "Check the path given with --db or CASEVIEW_DB."
        ) from exc
    if app_id == 0 and tables == 0:
        if creating:
            return
        raise CaseFileError(
            f"{path} is empty, not a Caseview case file; it was left unchanged. To make a "
            "new case file, give a path that does not exist yet to 'caseview init'."
        )
    if app_id != APPLICATION_ID:
        raise CaseFileError(
            f"{path} is an SQLite database but not a Caseview case file; it was left "
            "unchanged. Check the path given with --db or CASEVIEW_DB."
        )


def open_case_file(path: Path | str, *, create: bool = False, read_only: bool = False) -> CaseFile:
    """Open (or with ``create=True``, create) a case file and bring its schema up to date.

    Opening never creates a file by accident, never changes a file that is not ours,
    and refuses a file written by a newer Caseview rather than guessing.
    """
    path = Path(path).expanduser()
    if create:
        _create_private(path)
    elif not path.exists():
        raise CaseFileError(
            f"No case file at {path}. Create one with 'caseview init --admin NAME', "
            "or point --db / CASEVIEW_DB at an existing one."
        )
    elif path.is_dir():
        raise CaseFileError(f"{path} is a folder, not a case file. Give the path of a file.")
    try:
        conn = _connect(path, read_only=read_only)
    except sqlite3.Error as exc:
        raise CaseFileError(
            f"Cannot open {path}: {exc}. Check the path and its permissions."
        ) from exc
    try:
        # Identity and version first: nothing below may touch a file that is not ours
        # or that a newer Caseview wrote (even PRAGMA journal_mode changes the header).
        _check_identity(conn, path, creating=create)
        _configure(conn, read_only=read_only)
        casefile = CaseFile(path, conn)
        schema.check_version(casefile.db, path)
        if not read_only:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                logger.warning("case file %s is in %s journal mode, not WAL", path, mode)
            with casefile.write():
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                schema.migrate(casefile.db, path)
    except BaseException:
        conn.close()
        raise
    return casefile
