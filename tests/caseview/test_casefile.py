"""The case file keeps its promises: private, WAL, durable, and never changes a file not ours."""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import platformdirs
import pytest

from caseview import accounts
from caseview.cli import main
from caseview.errors import CaseFileError
from caseview.storage import CaseFile, default_case_file_path, open_case_file

PASSWORD = "correct horse"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CASEVIEW_DB", "CASEVIEW_USER", "CASEVIEW_PASSWORD", "CASEVIEW_NEW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 0, so a private mode can only come from Caseview, not from the umask."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def make_case_file(path: Path) -> Path:
    """A real, closed case file with one manager (so nothing is left in a -wal file)."""
    with open_case_file(path, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD)
    return path


def siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


# --- a new file ----------------------------------------------------------------------


@pytest.mark.usefixtures("open_umask")
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_new_case_file_is_private(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "case.db"
    with open_case_file(path, create=True):
        assert mode(Path(f"{path}{suffix}")) == 0o600


@pytest.mark.usefixtures("open_umask")
def test_new_folder_for_the_case_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new-folder" / "case.db"
    with open_case_file(path, create=True):
        assert mode(path.parent) == 0o700


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [("journal_mode", "wal"), ("foreign_keys", 1), ("synchronous", 2)],
)
@pytest.mark.parametrize("how", ["created", "reopened"])
def test_connection_settings(tmp_path: Path, how: str, pragma: str, expected: object) -> None:
    path = tmp_path / "case.db"
    if how == "reopened":
        make_case_file(path)
    with open_case_file(path, create=how == "created") as casefile:
        assert casefile.conn.execute(f"PRAGMA {pragma}").fetchone()[0] == expected


def test_new_case_file_has_the_foundation_tables(casefile: CaseFile) -> None:
    tables = {r[0] for r in casefile.conn.execute("SELECT name FROM sqlite_master")}
    assert {"users", "cases", "case_members", "subjects", "audit_log"} <= tables


def test_case_file_is_marked_as_caseview(casefile: CaseFile) -> None:
    assert casefile.conn.execute("PRAGMA application_id").fetchone()[0] == 0x43564557


def test_creating_over_an_existing_file_is_refused(tmp_path: Path) -> None:
    path = make_case_file(tmp_path / "case.db")
    before = path.read_bytes()
    with pytest.raises(CaseFileError, match="already exists"):
        open_case_file(path, create=True)
    assert path.read_bytes() == before


def test_reopened_case_file_keeps_its_accounts(tmp_path: Path) -> None:
    path = make_case_file(tmp_path / "case.db")
    with open_case_file(path) as casefile:
        assert not accounts.needs_first_manager(casefile)


# --- files that must be refused, untouched -------------------------------------------


def test_missing_file_says_to_run_init(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.db"
    with pytest.raises(CaseFileError, match="caseview init --admin NAME"):
        open_case_file(path)
    assert not path.exists()


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="is a folder"):
        open_case_file(tmp_path)


MakeFile = Callable[[Path], None]


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"Minutes of the core group meeting\n" * 200)


def _foreign_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT, steps TEXT)")
    conn.execute("INSERT INTO recipes VALUES ('toast', 'toast the bread')")
    conn.commit()
    conn.close()


def _empty_sqlite(path: Path) -> None:
    """A valid SQLite database (4096 bytes) with no tables: someone else's, not ours."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    conn.close()


def _newer_schema(path: Path, journal_mode: str = "wal") -> None:
    make_case_file(path)
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
        " VALUES ('caseview', '9999_from_the_future', '2099-01-01 00:00:00+00:00')"
    )
    conn.commit()
    conn.execute(f"PRAGMA journal_mode = {journal_mode}")
    conn.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(_not_sqlite, "not a database|not an SQLite database", id="not-sqlite"),
        pytest.param(_foreign_sqlite, "not a Caseview case file", id="foreign-sqlite"),
        pytest.param(_newer_schema, "newer version of Caseview", id="newer-schema"),
    ],
)
@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
def test_refused_file_is_left_byte_for_byte_unchanged(
    tmp_path: Path, make: MakeFile, message: str, read_only: bool
) -> None:
    path = tmp_path / "case.db"
    make(path)
    before, names = path.read_bytes(), siblings(path)
    with pytest.raises(CaseFileError, match=message):
        open_case_file(path, read_only=read_only)
    assert path.read_bytes() == before
    if not read_only:  # reading a WAL file needs a -shm file, so read-only may add one
        assert siblings(path) == names


def test_newer_file_in_rollback_journal_mode_is_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "case.db"
    _newer_schema(path, journal_mode="delete")
    before = path.read_bytes()
    with pytest.raises(CaseFileError, match="newer version of Caseview"):
        open_case_file(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "read_only",
    [
        pytest.param(False, id="writable"),
        pytest.param(True, id="read-only"),
    ],
)
def test_non_sqlite_file_message_says_what_to_do(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "case.db"
    _not_sqlite(path)
    with pytest.raises(CaseFileError) as refused:
        open_case_file(path, read_only=read_only)
    assert "not a Caseview case file" in str(refused.value)
    assert "CASEVIEW_DB" in str(refused.value)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: p.touch(), id="zero-bytes"),
        pytest.param(_empty_sqlite, id="empty-sqlite"),
    ],
)
def test_empty_existing_file_is_not_silently_made_a_case_file(
    tmp_path: Path, make: MakeFile
) -> None:
    path = tmp_path / "case.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(CaseFileError):
        open_case_file(path)
    assert path.read_bytes() == before


def test_read_only_case_file_refuses_writes(tmp_path: Path) -> None:
    path = make_case_file(tmp_path / "case.db")
    with (
        open_case_file(path, read_only=True) as casefile,
        pytest.raises(sqlite3.OperationalError, match="readonly"),
    ):
        casefile.conn.execute("DELETE FROM cases")


# --- where the case file lives -------------------------------------------------------


def test_default_path_comes_from_platformdirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fake_user_data_dir(appname: str, appauthor: object = None) -> str:
        return str(tmp_path / "data" / appname)

    monkeypatch.setattr(platformdirs, "user_data_dir", fake_user_data_dir)
    assert default_case_file_path() == tmp_path / "data" / "caseview" / "caseview.db"


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_DATA_HOME is the Linux convention")
def test_default_path_follows_xdg_data_home_on_linux(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_case_file_path() == tmp_path / "xdg" / "caseview" / "caseview.db"


@pytest.mark.parametrize(
    ("env_db", "flag_db", "expected"),
    [
        (None, None, "xdg/caseview/caseview.db"),
        ("from-env.db", None, "from-env.db"),
        (None, "from-flag.db", "from-flag.db"),
        ("from-env.db", "from-flag.db", "from-flag.db"),
    ],
)
def test_where_init_puts_the_case_file(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    env_db: str | None,
    flag_db: str | None,
    expected: str,
) -> None:
    monkeypatch.setattr(
        platformdirs, "user_data_dir", lambda app, appauthor=None: str(tmp_path / "xdg" / app)
    )
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    if env_db:
        monkeypatch.setenv("CASEVIEW_DB", str(tmp_path / env_db))
    argv = ["--db", str(tmp_path / flag_db)] if flag_db else []
    assert main([*argv, "init", "--admin", "mona"]) == 0
    created = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.db") if p.is_file())
    assert created == [expected]
