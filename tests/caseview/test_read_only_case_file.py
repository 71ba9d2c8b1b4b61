"""A case file nobody here may change (a read-only disk, an archived copy), through the
services: signing in and reading work and record nothing; every write, exports
included, is refused as read-only and leaves no file behind.

A writable file is made to look unchangeable (tests may run as root, whom permissions do
not stop); test_cli_robustness.py does it for real, as another user.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gate_support import PASSWORD

from caseview import accounts, audit, cases
from caseview.errors import CaseFileError, LoginFailed
from caseview.report.build import export_pdf
from caseview.storage import casefile as casefile_module
from caseview.storage import open_case_file


@pytest.fixture
def archived(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A case file with a manager, a worker and a case, then treated as unchangeable."""
    db = tmp_path / "archive.db"
    with open_case_file(db, create=True) as store:
        accounts.create_first_manager(store, "mona", PASSWORD)
        manager = accounts.login(store, "mona", PASSWORD)
        accounts.add_user(manager, "wren", "worker", PASSWORD)
        case = cases.create_case(manager, "CP-7", "Smith family")
        cases.allocate(manager, case.id, "wren")
    monkeypatch.setattr(casefile_module, "unchangeable", lambda path: True)
    return db


def _events(db: Path) -> int:
    with open_case_file(db, read_only=True) as store:
        return audit.head(store.conn).seq


def test_it_opens_read_only_and_a_sign_in_records_nothing(archived: Path) -> None:
    before, content = _events(archived), archived.read_bytes()
    with open_case_file(archived) as store:
        assert store.read_only
        session = accounts.login(store, "wren", PASSWORD)
        assert [c.reference for c in cases.list_cases(session)] == ["CP-7"]
    assert _events(archived) == before
    assert archived.read_bytes() == content


def test_a_wrong_password_is_refused_and_not_counted(archived: Path) -> None:
    with open_case_file(archived) as store:
        for _ in range(accounts.MAX_FAILED_LOGINS + 1):
            with pytest.raises(LoginFailed, match="password is wrong"):
                accounts.login(store, "wren", "not it")
        with pytest.raises(LoginFailed, match="password is wrong"):
            accounts.login(store, "nobody", PASSWORD)
        # Nothing could be counted, so nothing locks: the right password still works.
        assert accounts.login(store, "wren", PASSWORD).actor == "wren"


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def test_a_locked_or_switched_off_account_stays_out(tmp_path: Path) -> None:
    db = tmp_path / "team.db"
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    with open_case_file(db, create=True) as store:
        accounts.create_first_manager(store, "mona", PASSWORD)
        manager = accounts.login(store, "mona", PASSWORD)
        accounts.add_user(manager, "wren", "worker", PASSWORD)
        accounts.add_user(manager, "ash", "worker", PASSWORD)
        accounts.set_active(manager, "ash", False)
        for _ in range(accounts.MAX_FAILED_LOGINS):
            with pytest.raises(LoginFailed):
                accounts.login(store, "wren", "not it", clock=fixed_clock(now))
    with open_case_file(db, read_only=True) as store:
        with pytest.raises(LoginFailed, match="is locked"):
            accounts.login(store, "wren", PASSWORD, clock=fixed_clock(now))
        with pytest.raises(LoginFailed, match="switched off"):
            accounts.login(store, "ash", PASSWORD, clock=fixed_clock(now))
        later = fixed_clock(now + accounts.LOCKOUT + timedelta(minutes=1))
        assert accounts.login(store, "wren", PASSWORD, clock=later).actor == "wren"


def test_a_write_says_the_file_is_read_only(archived: Path) -> None:
    with open_case_file(archived) as store:
        manager = accounts.login(store, "mona", PASSWORD)
        with pytest.raises(CaseFileError, match=r"archive\.db is read-only"):
            cases.create_case(manager, "CP-8", "Jones family")


def test_an_export_is_refused_and_leaves_no_file(archived: Path, tmp_path: Path) -> None:
    note = tmp_path / "out" / "note.pdf"
    note.parent.mkdir()
    with open_case_file(archived) as store:
        worker = accounts.login(store, "wren", PASSWORD)
        case = cases.list_cases(worker)[0]
        with pytest.raises(CaseFileError, match="is read-only"):
            export_pdf(worker, case.id, note)
    assert list(note.parent.iterdir()) == []
