"""Reading and writing the files a person names: one helper for each (STYLE rule 26).

Writing (:func:`atomic_write`) goes to a private temporary file beside the target,
flushed to disk and then renamed over it, so the target is either the old file or the
whole new one, never half; it refuses a target that is not a regular file (writing
"to" ``/dev/sda`` or a named pipe must not replace it or hang), and a disk that fills
up or a folder that may not be written to is a sentence, with nothing left behind.

Reading (:func:`read_regular_file`) accepts only a regular file, never through a
symbolic link, and never reads more than its cap (``/dev/zero`` has no end).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from caseview.errors import (
    CaseviewError,
    FileError,
    NotARegularFile,
    UsageError,
    ValidationError,
)

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# What a person is told a path is, when it is not a regular file.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def size_text(size: int) -> str:
    """A size as people read it: 1 MB, 50 MB, 900 bytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "somewhere unknown"


def check_regular_file(path: Path | str, what: str = "file", *, verb: str = "give") -> Path:
    """``path`` itself if it is an existing regular file; else ``NotARegularFile``.

    A symbolic link is refused (its target named): whatever a link points at is not
    what the person chose, and nothing may reach the case file by one.
    """
    path = Path(path)
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise NotARegularFile(f"There is no file {path}. Check the path.") from None
    except OSError as exc:
        raise FileError(f"Cannot read {path} ({exc.strerror or exc}). Check the path.") from exc
    if stat.S_ISLNK(info.st_mode):
        raise NotARegularFile(
            f"{path} is a symbolic link to {_link_target(path)}, and links are not followed: "
            f"{verb} the file itself."
        )
    if not stat.S_ISREG(info.st_mode):
        raise NotARegularFile(
            f"{path} is {_kind(info.st_mode)}, not a file; give the path of a {what}."
        )
    return path


def read_regular_file(path: Path | str, cap: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` of them.

    The size is checked on the opened file (``fstat``) before anything is read, and at
    most ``cap + 1`` bytes are read, so a file that grows meanwhile, or a device
    swapped in for it, cannot make the read unbounded.
    """
    path = check_regular_file(path, what)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _read_failure(exc, path) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped after the check above
            raise NotARegularFile(f"{path} is {_kind(info.st_mode)}, not a file.")
        too_big = ValidationError(
            f"{path} is too large for a {what} ({size_text(info.st_size)}; at most "
            f"{size_text(cap)}). Check that it is the right file."
        )
        if info.st_size > cap:
            raise too_big
        chunks: list[bytes] = []
        left = cap + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise _read_failure(exc, path) from exc
    finally:
        os.close(fd)
    if len(data) > cap:
        raise too_big
    return data


def _read_failure(exc: OSError, path: Path) -> CaseviewError:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return FileError(f"You may not read {path}. Check its permissions, or copy it first.")
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link swapped in after the check
        return NotARegularFile(f"{path} is a symbolic link; give the file itself.")
    return FileError(f"Cannot read {path} ({exc.strerror or exc}). Check the path.")


# SQLite's working files beside a case file: part of it while it is open.
_CASE_FILE_PARTS = ("", "-wal", "-shm", "-journal")


def check_target(target: Path | str, *, case_file: Path | str | None = None) -> Path:
    """``target`` if a file may be written there: nothing there yet, or a regular file.

    A device, a named pipe, a folder, a socket or a symbolic link is refused by name:
    the write would replace it, hang, or go somewhere the person did not choose. So is
    ``case_file`` (a case file's path; a server's address is not checked), by any name
    or link, with SQLite's working files beside it: an export is written whole over
    what is there, so '-o case.db' (meant as '--db case.db') would replace the case.
    """
    target = Path(target)
    if isinstance(case_file, Path) and any(
        _same_file(target, Path(f"{case_file}{part}")) for part in _CASE_FILE_PARTS
    ):
        raise UsageError(
            f"{target} is the case file (or SQLite's working file beside it), and the "
            "export would replace it. Give the export a name of its own, e.g. note.pdf."
        )
    try:
        info = target.lstat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _write_failure(exc, target) from exc
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise NotARegularFile(
            f"{target} is {_kind(info.st_mode)}, not a file; nothing was written to it. "
            "Give the path of a new file, e.g. in your Documents folder."
        )
    folder = target.parent
    if not folder.is_dir():
        raise FileError(f"There is no folder {folder}. Create it first, or choose another.")
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):  # the same file by another name, or a hard link
            return True
    except OSError:
        pass  # one of them is not there (yet): compare where they would be
    return a.resolve() == b.resolve()


@dataclass
class Written:
    """What was written, for the export's audit event: filled in once the file is whole."""

    name: str = ""
    sha256: str = ""
    size: int = 0

    def audit_data(self) -> dict[str, object]:
        return {"file_name": self.name, "file_sha256": self.sha256, "file_size": self.size}


# How much of the target's name the temporary file beside it repeats (at most 4 bytes a
# character: with mkstemp's own 8 and ".partial", well under a 255-byte name limit).
_TEMP_NAME_PART = 32


@contextlib.contextmanager
def atomic_write(
    target: Path | str,
    written: Written | None = None,
    *,
    case_file: Path | str | None = None,
    before_rename: Callable[[], object] | None = None,
) -> Iterator[BinaryIO]:
    """Write ``target`` whole or not at all; yields a binary file to write to.

    The bytes go to a private (0600) temporary file in the target's folder, are forced
    to disk, and the file is renamed over the target only when the block ends without
    an error; the target keeps that private mode. On any error the temporary file is
    removed and the target is untouched; an ``OSError`` becomes a ``FileError`` that
    says what to do (disk full, no permission, read-only disk). ``written``, if given,
    gets the file's name, sha256 and size, read back from the private file before the
    rename (so of exactly the bytes that became the target). ``case_file`` is never
    written over (:func:`check_target`). ``before_rename``, if given, runs once the file
    is whole and measured, just before it becomes the target: an export records itself
    there, so that a file the log cannot vouch for (a read-only or full case file) is
    never left behind.
    """
    target = check_target(target, case_file=case_file)
    try:
        # The temporary name starts with the target's, cut short: a target whose name is
        # near the file system's limit (255 bytes) must not fail for its longer neighbour.
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{target.name[:_TEMP_NAME_PART]}.", suffix=".partial", dir=target.parent
        )
    except OSError as exc:
        raise _write_failure(exc, target) from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if written is not None:
            _measure(temp, target.name, written)
        check_target(target, case_file=case_file)  # again: it may have changed meanwhile
        if before_rename is not None:
            before_rename()
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _write_failure(exc, target) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)


def _measure(path: Path, name: str, written: Written) -> None:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    written.name, written.sha256, written.size = name, digest.hexdigest(), size


class _HashingStream:
    """A stream that hashes what passes through it on the way to ``out``."""

    def __init__(self, out: BinaryIO, written: Written) -> None:
        self._out = out
        self._written = written
        self._digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self._written.size += len(data)
        self._written.sha256 = self._digest.hexdigest()
        return self._out.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)


def write_to(
    out: BinaryIO | Path,
    write: Callable[[BinaryIO], _T],
    written: Written | None = None,
    *,
    case_file: Path | str | None = None,
    then: Callable[[_T], object] | None = None,
) -> _T:
    """Run ``write`` on ``out``: an open stream as it is, a path through :func:`atomic_write`
    (never over ``case_file``).

    ``written``, if given, gets the name (a stream's own, if it has one), sha256 and size
    of what was written. ``then``, if given, gets what ``write`` returned once the bytes
    are whole: for a path, before the file takes the target's name (``before_rename``).
    """
    if isinstance(out, Path):
        done: list[_T] = []
        with atomic_write(
            out,
            written,
            case_file=case_file,
            before_rename=None if then is None else lambda: then(done[0]),
        ) as handle:
            done.append(write(handle))
        return done[0]
    if written is not None:
        written.name = Path(str(getattr(out, "name", ""))).name
        written.sha256 = hashlib.sha256().hexdigest()
        out = cast(BinaryIO, _HashingStream(out, written))
    result = write(out)
    if then is not None:
        then(result)
    return result


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder to sync it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        logger.debug("cannot open %s to sync the rename", folder)
        return
    try:
        os.fsync(fd)
    except OSError:
        logger.debug("cannot sync folder %s", folder)
    finally:
        os.close(fd)


def _write_failure(exc: OSError, target: Path) -> CaseviewError:
    """A failed write as a sentence a person can act on."""
    where = target.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return FileError(
            f"The disk is full, so {target} was not written (nothing was left behind). "
            "Free some space or choose another place, and try again."
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return FileError(
            f"You may not write to the folder {where}, so {target} was not written. "
            "Choose another folder, e.g. your Documents folder."
        )
    if exc.errno == errno.EROFS:
        return FileError(
            f"{where} is on a read-only disk, so {target} was not written. Choose another place."
        )
    if exc.errno == errno.ENAMETOOLONG:
        return FileError(
            f"The name {target} is too long for the file system, so nothing was written. "
            "Choose a shorter name."
        )
    if exc.errno == errno.EISDIR:
        return NotARegularFile(f"{target} is a folder, not a file; nothing was written to it.")
    return FileError(
        f"Cannot write {target} ({exc.strerror or exc}); nothing was written. Choose another place."
    )
