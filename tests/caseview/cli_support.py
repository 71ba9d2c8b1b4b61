"""The command line as its tests drive it: a case file with a small team in the
environment, and a command run in this process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from capture_support import approve_for
from gate_support import PASSWORD

from caseview import accounts, cases
from caseview.cli import main
from caseview.storage import open_case_file


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class TeamFile:
    db: Path
    case_id: int
    subject_id: int
    request_id: int | None


def team_case_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    title: str = "Smith family",
    approved: bool = True,
    unset: tuple[str, ...] = (),
) -> TeamFile:
    """A case file with mona (manager) and wren (worker, allocated to case CP-7, which
    has Kerry Smith), and with ``approved`` one request of wren's approved by mona; the
    environment names the file and signs in as wren."""
    db = tmp_path / "team.db"
    request_id = None
    with open_case_file(db, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD)
        manager = accounts.login(casefile, "mona", PASSWORD)
        accounts.add_user(manager, "wren", "worker", PASSWORD)
        case = cases.create_case(manager, "CP-7", title)
        cases.allocate(manager, case.id, "wren")
        subject = cases.add_subject(manager, case.id, "Kerry Smith", "parent")
        if approved:
            worker = accounts.login(casefile, "wren", PASSWORD)
            record = approve_for(worker, manager, case.id, [subject.id], now=datetime.now(UTC))
            request_id = record.id
    for name in ("CASEVIEW_DEBUG", "CASEVIEW_NEW_PASSWORD", *unset):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASEVIEW_DB", str(db))
    monkeypatch.setenv("CASEVIEW_USER", "wren")
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return TeamFile(db, case.id, subject.id, request_id)


def in_process(
    capsys: pytest.CaptureFixture[str], *argv: str, never: tuple[str, ...] = ("Traceback",)
) -> Result:
    """``caseview ARGV`` run here; what it printed must hold none of ``never``."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    for word in never:
        assert word not in captured.err
    return Result(code, captured.out, captured.err)
