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
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import platformdirs
import sqlite_utils

from caseview.errors import CaseFileError, DamagedCaseFile
from caseview.storage import schema
from caseview.storage.reading import read_only_uri, unchangeable

logger = logging.getLogger(__name__)

# PRAGMA application_id marks the file as ours: b"CVEW" as a big-endian integer.
APPLICATION_ID = 0x43564557
BUSY_TIMEOUT_MS = 60_000
SQLITE_HEADER = b"SQLite format 3\x00"


def default_case_file_path() -> Path:
    """The platform's per-user data directory, e.g. ~/.local/share/caseview/caseview.db."""
    return Path(platformdirs.user_data_dir("caseview", appauthor=False)) / "caseview.db"


class CaseFile:
    """An open case file. One per thread: SQLite connections are not shared."""

    engine = "sqlite"
    authenticates = False
    """Caseview checks passwords itself (argon2 hashes in ``users``); a server does not."""

    def __init__(self, path: Path, conn: sqlite3.Connection, *, read_only: bool = False) -> None:
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self.read_only = read_only
        """Opened read-only: every write is refused, saying the file is read-only."""

    @property
    def label(self) -> str:
        return self.path.name

    def connect_as(self, username: str, password: str) -> CaseFile:
        raise CaseFileError(
            "A case file checks passwords itself: sign in with caseview.accounts.login."
        )

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all.

        A file that is read-only, full or damaged is a ``CaseFileError`` saying so.
        """
        if self.read_only:
            raise read_only_error(self.path)
        if self.conn.in_transaction:
            # A nested write joins the outer one through a savepoint.
            with self.db.atomic():
                yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            _raise_explained(exc, self.path)
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                _raise_explained(exc, self.path)
            raise

    def appending(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One event with no other change: here, simply a write."""
        return self.write()

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


def read_only_error(path: Path) -> CaseFileError:
    return CaseFileError(
        f"The case file {path} is read-only, so nothing can be recorded in it (an export "
        "and a check are recorded too). Ask for write access to it, or work on a copy; "
        f"'caseview --db {path} verify' checks it without changing it.",
    )


def explain(exc: sqlite3.Error, path: Path) -> CaseFileError | None:
    """What a failure of the case file itself means, as a sentence with what to do;
    ``None`` for an error in what was asked (a constraint, a bug), which is not the file's.
    """
    name = str(getattr(exc, "sqlite_errorname", None) or "")
    text = str(exc).lower()
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return read_only_error(path)
    if name == "SQLITE_FULL" or "disk is full" in text:
        return CaseFileError(
            f"The disk holding the case file {path} is full, so nothing was saved. Free some "
            "space and run the command again.",
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return damaged(path, str(exc))
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in text:
        return CaseFileError(
            f"The case file {path} could not be read or written (a disk error: {exc}); nothing "
            "was saved. Check the disk or network drive, then run the command again.",
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open database" in text:
        return CaseFileError(
            f"Cannot open the case file {path} ({exc}). Check that you may write to it and to "
            "its folder (Caseview keeps working files beside it).",
        )
    return None


def _raise_explained(exc: sqlite3.Error, path: Path) -> NoReturn:
    found = explain(exc, path)
    if found is None:
        raise exc
    raise found from exc


def damaged(path: Path, detail: str) -> DamagedCaseFile:
    return DamagedCaseFile(
        f"The case file {path} is damaged ({detail}); it was left unchanged. Keep it as it "
        f"is, check it with 'caseview --db {path} verify', restore it from your backup, "
        "and tell your information governance team.",
        detail,
    )


def _check_regular(path: Path) -> None:
    """A case file is a regular file: a pipe would hang the open, a device is not ours."""
    try:
        info = path.stat()
    except OSError as exc:
        raise CaseFileError(
            f"Cannot open {path} ({exc.strerror or exc}). Check the path and its permissions."
        ) from exc
    if stat.S_ISDIR(info.st_mode):
        raise CaseFileError(f"{path} is a folder, not a case file. Give the path of a file.")
    if not stat.S_ISREG(info.st_mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise CaseFileError(
            f"{path} is {kind}, not a case file; it was not opened. Check the path given "
            "with --db or CASEVIEW_DB."
        )


MIN_SQLITE = (3, 35, 0)
"""INSERT ... RETURNING (storage/inserts.py) and the trigram search index need it."""


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise CaseFileError(
            f"Caseview needs SQLite {'.'.join(map(str, MIN_SQLITE))} or newer; this Python "
            f"has {sqlite3.sqlite_version}. Install Caseview with a newer Python (uv does so)."
        )
    if read_only:
        conn = sqlite3.connect(read_only_uri(path), uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    from caseview.storage import browse  # the sources table's filter compares plain text

    conn.create_function(browse.PLAIN_FUNCTION, 1, browse.plain, deterministic=True)
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


def _looks_like_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _check_identity(conn: sqlite3.Connection, path: Path, *, creating: bool) -> None:
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if _looks_like_sqlite(path):
            # The header is SQLite's: a case file that is read-only, or cut short or
            # damaged, not a stranger.
            raise (explain(exc, path) or damaged(path, str(exc))) from exc
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


@contextlib.contextmanager
def built_beside(path: Path, *, replacing: bool = False) -> Iterator[CaseFile]:
    """A new case file, made under a name of its own beside ``path`` and given that
    name only when the block ends without an error: a Ctrl+C or a crash part way leaves
    nothing half-made at ``path``, which would then read as a file someone had made or
    worked in. ``replacing`` puts it over a file at ``path`` (the demo, rebuilt);
    otherwise a file that appeared there meanwhile is never replaced.
    """
    building = path.with_name(f".{path.name}.building-{os.getpid()}")
    try:
        remove_database(building)
        with open_case_file(building, create=True) as casefile:
            yield casefile
        pending = Path(f"{building}-wal")
        if pending.exists() and pending.stat().st_size:
            # Closing the last connection folds the log into the file; if it did not, the
            # file alone is not the whole case file, and must not be put in place as one.
            raise CaseFileError(
                f"The new case file could not be finished at {path}. Check that the folder "
                "is on this computer (not a network drive) and try again."
            )
        if replacing:
            for part in ("-wal", "-shm", "-journal"):  # the earlier file's, not this one's
                Path(f"{path}{part}").unlink(missing_ok=True)
            os.replace(building, path)
        else:
            _put_in_place(building, path)
    finally:
        remove_database(building)


def _put_in_place(building: Path, path: Path) -> None:
    """Give the finished file its name, never replacing a file someone made meanwhile."""
    exists = CaseFileError(
        f"{path} already exists. Choose another path, or open it without 'init'."
    )
    try:
        os.link(building, path)
    except FileExistsError:
        raise exists from None
    except OSError:
        # A file system without hard links: a rename, after a last look.
        if path.exists() or path.is_symlink():
            raise exists from None
        os.replace(building, path)


def remove_database(path: Path) -> None:
    """Remove a case file and SQLite's working files beside it, those that are there."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


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
    else:
        _check_regular(path)
        # A file nobody here may change (a read-only disk, an archived copy) is opened to
        # be read: signing in and reading work, and each write says it is read-only.
        read_only = read_only or unchangeable(path)
    try:
        conn = _connect(path, read_only=read_only)
    except sqlite3.Error as exc:
        raise explain(exc, path) or CaseFileError(
            f"Cannot open {path}: {exc}. Check the path and its permissions."
        ) from exc
    try:
        # Identity and version first: nothing below may touch a file that is not ours
        # or that a newer Caseview wrote (even PRAGMA journal_mode changes the header).
        _check_identity(conn, path, creating=create)
        _configure(conn, read_only=read_only)
        casefile = CaseFile(path, conn, read_only=read_only)
        schema.check_version(casefile.db, path)
        if read_only and schema.needs_steps(casefile.db):
            raise CaseFileError(
                f"{path} was written by an older version of Caseview and must be brought up "
                "to date before it can be read, which a read-only file does not allow. Ask "
                "for write access to it, or open a copy."
            )
        if not read_only:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                logger.warning("case file %s is in %s journal mode, not WAL", path, mode)
            with casefile.write():
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                schema.migrate(casefile.db, path)
    except sqlite3.Error as exc:
        conn.close()
        _raise_explained(exc, path)
    except BaseException:
        conn.close()
        raise
    return casefile
