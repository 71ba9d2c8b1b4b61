"""``caseview demo --no-gui``: a fictional case file anyone can log in to, never over real data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import platformdirs
import pytest

from caseview import accounts, audit, cases
from caseview.cli import main
from caseview.domain import Role
from caseview.storage import open_case_file

DEMO_USERS = {
    "demo-worker": Role.WORKER,
    "demo-manager": Role.MANAGER,
    "demo-auditor": Role.AUDITOR,
}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CASEVIEW_* from the developer's shell; nothing written to the real data folder."""
    for name in ("CASEVIEW_DB", "CASEVIEW_USER", "CASEVIEW_PASSWORD", "CASEVIEW_NEW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        platformdirs, "user_data_dir", lambda app, appauthor=None: str(tmp_path / "data" / app)
    )


@pytest.fixture
def demo_path(tmp_path: Path) -> Path:
    return tmp_path / "demo.db"


def build(path: Path) -> int:
    return main(["--db", str(path), "demo", "--no-gui"])


def count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def test_demo_builds_the_file(demo_path: Path) -> None:
    assert (build(demo_path), demo_path.is_file()) == (0, True)


def test_demo_says_it_is_fictional_and_gives_the_password(
    demo_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(demo_path)
    out = capsys.readouterr().out
    assert "fictional" in out and "password for each: demo" in out
    assert [u for u in DEMO_USERS if u not in out] == []


@pytest.mark.parametrize(("username", "role"), DEMO_USERS.items())
def test_demo_accounts_log_in_with_password_demo(
    demo_path: Path, username: str, role: Role
) -> None:
    build(demo_path)
    with open_case_file(demo_path) as casefile:
        assert accounts.login(casefile, username, "demo").role is role


def test_demo_case_is_allocated_to_the_demo_worker(demo_path: Path) -> None:
    build(demo_path)
    with open_case_file(demo_path) as casefile:
        worker = accounts.login(casefile, "demo-worker", "demo")
        [case] = cases.list_cases(worker)
        assert "demo-worker" in {u.username for u in cases.members(worker, case.id)}


def test_demo_case_has_subjects_including_a_child(demo_path: Path) -> None:
    build(demo_path)
    with open_case_file(demo_path) as casefile:
        worker = accounts.login(casefile, "demo-worker", "demo")
        [case] = cases.list_cases(worker)
        roles = {s.role.value for s in cases.list_subjects(worker, case.id)}
    assert "child" in roles


def test_demo_audit_log_verifies(demo_path: Path) -> None:
    build(demo_path)
    assert audit.verify_chain(demo_path).intact


def test_demo_goes_to_the_user_data_folder_by_default(tmp_path: Path) -> None:
    assert main(["demo", "--no-gui"]) == 0
    assert (tmp_path / "data" / "caseview" / "caseview-demo.db").is_file()


def test_rebuilding_replaces_an_earlier_demo(demo_path: Path) -> None:
    build(demo_path)
    with open_case_file(demo_path) as casefile:
        manager = accounts.login(casefile, "demo-manager", "demo")
        cases.create_case(manager, "DEMO-0002", "A case added while trying the demo")
    assert build(demo_path) == 0
    assert count(demo_path, "SELECT count(*) FROM cases") == 1
    assert count(demo_path, "SELECT count(*) FROM audit_log WHERE action = 'demo.built'") == 1


def _real_case_file(path: Path) -> None:
    with open_case_file(path, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", "correct horse")


def content(path: Path) -> list[tuple[object, ...]]:
    """Every user and every audit event: what a real case file must keep."""
    conn = sqlite3.connect(path)
    try:
        return [
            *conn.execute("SELECT username, role, password_hash FROM users ORDER BY id"),
            *conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq"),
        ]
    finally:
        conn.close()


def test_demo_refuses_to_overwrite_real_accounts(
    demo_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _real_case_file(demo_path)
    before = content(demo_path)
    assert build(demo_path) == 1
    assert "real accounts" in capsys.readouterr().err
    assert content(demo_path) == before


def test_demo_leaves_a_real_case_file_byte_for_byte_unchanged(demo_path: Path) -> None:
    _real_case_file(demo_path)
    before = demo_path.read_bytes()
    build(demo_path)
    assert demo_path.read_bytes() == before


def test_demo_refuses_a_file_that_is_not_a_case_file(demo_path: Path) -> None:
    demo_path.write_bytes(b"someone's spreadsheet\n" * 100)
    before = demo_path.read_bytes()
    assert build(demo_path) == 1
    assert demo_path.read_bytes() == before
