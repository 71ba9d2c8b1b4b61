"""The file-wide audit log (``audit.list_file_events``) and what exports put in it.

Managers and auditors see every event, those about no case too (logins, failed logins,
accounts, policy); a worker sees the events of their own cases only. Every export's
event names the file written and carries its sha256, and every export file is private.
"""

from __future__ import annotations

import hashlib
import io
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from capture_support import approve_for

from caseview import accounts, audit, captures, cases, policy
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import LoginFailed, UsageError
from caseview.report.build import export_pdf
from caseview.session import Session
from caseview.storage import CaseFile

PASSWORD = "correct horse"  # tests/conftest.py's


@pytest.fixture
def failed_login(casefile: CaseFile, manager: Session, clock: FixedClock) -> None:
    with pytest.raises(LoginFailed):
        accounts.login(casefile, "mona", "wrong", clock=clock)


@pytest.fixture
def other_case(manager: Session) -> Case:
    """A case the worker is not allocated to."""
    return cases.create_case(manager, "CP-2026-0099", "Jones family")


def actions(events: list[audit.AuditEvent]) -> list[str]:
    return [event.action for event in events]


def test_managers_and_auditors_see_file_wide_events_newest_first(
    manager: Session, auditor: Session, case: Case, failed_login: None
) -> None:
    for session in (manager, auditor):
        found = audit.list_file_events(session)
        seqs = [event.seq for event in found]
        assert seqs == sorted(seqs, reverse=True)
        assert {"login", "login.failed", "user.added", "case.created"} <= set(actions(found))


@pytest.mark.parametrize(
    ("kind", "families"),
    [
        ("logins", ("login",)),
        ("users", ("user.",)),
        ("exports", ("export.",)),
    ],
)
def test_the_kind_filter_keeps_only_that_family(
    auditor: Session,
    case: Case,
    failed_login: None,
    tmp_path: Path,
    kind: str,
    families: tuple[str, ...],
) -> None:
    export_pdf(auditor, case.id, tmp_path / "note.pdf")
    found = audit.list_file_events(auditor, kind=kind)
    assert found
    assert all(a == "login" or a.startswith(families) for a in actions(found))


def test_logins_include_failed_ones(auditor: Session, failed_login: None) -> None:
    found = actions(audit.list_file_events(auditor, kind="logins"))
    assert "login.failed" in found and "login" in found


def test_policy_changes_are_a_kind(manager: Session, auditor: Session, case: Case) -> None:
    policy.set_policy(manager, 'name = "Strict"\nmeter_warn_from = 1\nmeter_stop_at = 2\n')
    assert actions(audit.list_file_events(auditor, kind="policies")) == ["policy.set"]


def test_who_and_when_filter(
    manager: Session, auditor: Session, case: Case, clock: FixedClock
) -> None:
    mine = audit.list_file_events(auditor, actor="MONA ")  # as typed: case and spaces
    assert mine and {e.actor for e in mine} == {"mona"}
    clock.advance(days=2)
    accounts.add_user(manager, "late", "worker", PASSWORD)
    later = audit.list_file_events(auditor, since=clock.now - timedelta(hours=1))
    assert actions(later) == ["user.added"]
    earlier = audit.list_file_events(auditor, until=clock.now - timedelta(hours=1))
    assert "user.added" in actions(earlier) and later[0].seq not in {e.seq for e in earlier}


def test_a_worker_sees_only_their_cases_events(
    worker: Session, manager: Session, case: Case, other_case: Case, failed_login: None
) -> None:
    found = audit.list_file_events(worker)
    assert found and {e.case_id for e in found} == {case.id}
    assert audit.list_file_events(worker, kind="logins") == []


def test_an_unknown_kind_is_a_usage_error(auditor: Session) -> None:
    with pytest.raises(UsageError, match="logins"):
        audit.list_file_events(auditor, kind="everything")


def test_the_limit_keeps_the_newest(auditor: Session, case: Case) -> None:
    every = audit.list_file_events(auditor)
    assert audit.list_file_events(auditor, limit=2) == every[:2]


# --- exports: the file's hash and name in the event, and a private file ------------------


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_pdf_export_names_its_file_and_hash_and_is_private(
    auditor: Session, case: Case, tmp_path: Path
) -> None:
    target = tmp_path / "note.pdf"
    export_pdf(auditor, case.id, target)
    [event] = audit.list_file_events(auditor, kind="exports")
    assert event.action == "export.pdf"
    assert (event.data["file_name"], event.data["file_sha256"]) == ("note.pdf", sha256_of(target))
    assert event.data["file_size"] == target.stat().st_size
    assert private(target)


def test_a_warc_export_names_its_file_and_hash_and_is_private(
    worker: Session, case: Case, subject: Subject, tmp_path: Path
) -> None:
    target = tmp_path / "case.warc.gz"
    captures.export_warc(worker, case.id, target)
    [event] = audit.list_file_events(worker, kind="exports")
    assert event.action == "export.warc"
    assert (event.data["file_name"], event.data["file_sha256"]) == (
        "case.warc.gz",
        sha256_of(target),
    )
    assert private(target)


def test_a_warc_export_to_a_stream_hashes_what_was_written(worker: Session, case: Case) -> None:
    out = io.BytesIO()
    captures.export_warc(worker, case.id, out)
    [event] = audit.list_file_events(worker, kind="exports")
    assert event.data["file_sha256"] == hashlib.sha256(out.getvalue()).hexdigest()
    assert event.data["file_size"] == len(out.getvalue())


def test_an_evidence_export_names_its_file_and_hash_and_is_private(
    worker: Session, manager: Session, case: Case, subject: Subject, tmp_path: Path
) -> None:
    request = approve_for(worker, manager, case.id, [subject.id])
    record = captures.import_file(
        worker,
        case.id,
        b"<html><body><p>A post the family saved.</p></body></html>",
        url="https://social.example/kerry",
        viewed_at=worker.now() - timedelta(hours=1),
        justification_id=request.id,
        subject_id=subject.id,
        origin="family",
        supplied_by="maternal grandmother",
        filename="page.html",
        attested=True,
    )
    target = tmp_path / "page.html"
    captures.export_evidence(worker, record.id, target)
    [event] = audit.list_file_events(worker, kind="exports")
    assert event.action == "export.evidence"
    assert (event.data["file_name"], event.data["file_sha256"]) == ("page.html", sha256_of(target))
    assert private(target)
