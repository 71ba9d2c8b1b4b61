"""Writing and reading the files a person names: ``caseview.files``."""

from __future__ import annotations

import errno
import io
import os
import socket
import stat
import tempfile
from pathlib import Path

import pytest

from caseview import files
from caseview.errors import FileError, NotARegularFile, ValidationError

# --- atomic_write ---------------------------------------------------------------------


def test_atomic_write_writes_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "note.pdf"
    with files.atomic_write(target) as handle:
        handle.write(b"%PDF-1.4 whole")
    assert target.read_bytes() == b"%PDF-1.4 whole"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_write_creates_the_file_private(tmp_path: Path) -> None:
    target = tmp_path / "note.pdf"
    with files.atomic_write(target) as handle:
        handle.write(b"x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_atomic_write_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "note.pdf"
    target.write_bytes(b"old")
    with files.atomic_write(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"


def test_a_failure_inside_leaves_the_old_file_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "note.pdf"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), files.atomic_write(target) as handle:
        handle.write(b"half")
        raise RuntimeError("stopped")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_disk_full_at_the_sync_is_a_sentence_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "note.pdf"
    with (
        pytest.raises(FileError, match="disk is full") as raised,
        files.atomic_write(target) as handle,
    ):
        handle.write(b"x" * 10)
    assert str(target) in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_disk_full_while_writing_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "note.pdf"
    target.write_bytes(b"old")
    with pytest.raises(FileError, match="disk is full"), files.atomic_write(target) as handle:
        handle.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")  # as write() raises it
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_permission_denied_names_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with (
        pytest.raises(FileError, match="may not write to the folder") as raised,
        files.atomic_write(tmp_path / "note.pdf"),
    ):
        pass
    assert str(tmp_path) in str(raised.value)


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: p.mkdir(), "a folder"),
        (lambda p: os.mkfifo(p), "a named pipe"),
        (lambda p: p.symlink_to(p.parent / "elsewhere"), "a symbolic link"),
    ],
)
def test_a_target_that_is_not_a_regular_file_is_refused_by_name(
    tmp_path: Path, make: object, kind: str
) -> None:
    target = tmp_path / "out.pdf"
    make(target)  # type: ignore[operator]
    with pytest.raises(NotARegularFile, match=kind) as raised, files.atomic_write(target) as handle:
        handle.write(b"x")
    assert str(target) in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pdf"]


def test_a_device_is_refused_and_left_as_it_is() -> None:
    before = os.stat("/dev/null")
    with (
        pytest.raises(NotARegularFile, match="/dev/null is a device"),
        files.atomic_write(Path("/dev/null")) as handle,
    ):
        handle.write(b"x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert os.stat("/dev/null").st_rdev == before.st_rdev


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(NotARegularFile, match="a socket"):
            files.check_target(path)
    finally:
        server.close()


def test_a_missing_folder_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="There is no folder"):
        files.check_target(tmp_path / "nowhere" / "note.pdf")


# --- read_regular_file ----------------------------------------------------------------


def test_reads_a_small_file(tmp_path: Path) -> None:
    path = tmp_path / "j.toml"
    path.write_bytes(b"purpose = 'x'\n")
    assert files.read_regular_file(path, 100, "justification file") == b"purpose = 'x'\n"


def test_a_file_over_the_cap_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.toml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper
    read: list[int] = []
    real_read = os.read

    def spy(fd: int, n: int) -> bytes:
        read.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", spy)
    with pytest.raises(ValidationError, match=r"too large .*50 MB.*1 MB"):
        files.read_regular_file(path, 1024 * 1024, "justification file")
    assert read == []


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_never_read(device: str) -> None:
    with pytest.raises(NotARegularFile, match=f"{device} is a device"):
        files.read_regular_file(device, 1024, "justification file")


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    with pytest.raises(NotARegularFile, match="named pipe"):
        files.read_regular_file(path, 1024, "justification file")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotARegularFile, match="is a folder"):
        files.read_regular_file(tmp_path, 1024, "justification file")


def test_a_link_is_refused_naming_its_target(tmp_path: Path) -> None:
    link = tmp_path / "evidence.png"
    link.symlink_to("/etc/passwd")
    with pytest.raises(NotARegularFile, match=r"link to /etc/passwd.*import the file itself"):
        files.check_regular_file(link, "file to import", verb="import")


def test_a_missing_file_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(NotARegularFile, match="There is no file"):
        files.read_regular_file(tmp_path / "none.toml", 1024)


def test_a_file_that_grows_past_the_cap_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.toml"
    path.write_bytes(b"x" * 10)
    real_fstat = os.fstat

    class Small:  # fstat saw 10 bytes; by the read there are more
        def __init__(self, fd: int) -> None:
            self.real = real_fstat(fd)

        def __getattr__(self, name: str) -> object:
            return 10 if name == "st_size" else getattr(self.real, name)

    monkeypatch.setattr(os, "fstat", Small)
    path.write_bytes(b"x" * 5000)
    with pytest.raises(ValidationError, match="too large"):
        files.read_regular_file(path, 100)


def test_write_to_a_stream_writes_it_as_it_is(tmp_path: Path) -> None:
    stream = io.BytesIO()
    assert files.write_to(stream, lambda h: h.write(b"abc")) == 3
    assert stream.getvalue() == b"abc"
    target = tmp_path / "x.bin"
    files.write_to(target, lambda h: h.write(b"abc"))
    assert target.read_bytes() == b"abc"
