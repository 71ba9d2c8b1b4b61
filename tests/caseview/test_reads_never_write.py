"""Reads never write (STYLE rule 24), and an unchanged case exports the same bytes.

Noticing that an emergency has gone unreviewed past its window is an explicit step,
``justifications.notice_overdue``, taken at sign-in, when a manager opens the review
queue, and before an export's checkpoint: never as a side effect of reading a request.
The note is built from one read snapshot, taken with its checkpoint.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from analysis_support import approved_request, import_page
from gate_support import (
    PASSWORD,
    allocated_worker,
    count_events,
    emergency_changes,
    event_data,
    make_request,
    submitted,
)

from caseview import accounts, audit, browse, cases, justifications, notes, observations
from caseview.cli import main
from caseview.clock import FixedClock, to_iso
from caseview.domain import Case, Subject
from caseview.justifications import JustificationRecord
from caseview.report import build as report
from caseview.session import Session
from caseview.storage import CaseFile, open_case_file
from ui import jobs  # the app's plain background functions (no Qt)
from ui.identity import Identity

OVERDUE = "justification.overdue"


def _state(casefile: CaseFile) -> tuple[audit.Checkpoint, dict[str, int], int]:
    """The audit head, the row count of every table, and the changes made on this
    connection so far (sqlite's total_changes): any write moves at least one of them."""
    conn = casefile.conn
    tables = [
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    counts = {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}
    return audit.head(conn), counts, conn.total_changes


@pytest.fixture
def overdue(
    manager: Session, worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> JustificationRecord:
    """An emergency submitted 25 hours ago that no manager has reviewed: overdue, and
    not yet noticed. The case also holds an approved request, a source and a note."""
    request = approved_request(worker, manager, case.id, [subject.id])
    source = import_page(worker, case.id, request.id, subject.id, "Kerry posted at 2am.")
    observations.add(
        worker,
        source.id,
        "Kerry was awake at 2am.",
        domain="parenting_capacity",
        reliability="B",
        credibility=2,
    )
    notes.save(worker, case.id, analysis="One look was enough.", conclusion="Strategy meeting.")
    record = submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=25)
    return record


# --- reads write nothing --------------------------------------------------------------

READS: dict[str, Callable[[Session, Session, JustificationRecord], object]] = {
    "get by its author": lambda worker, _m, r: justifications.get(worker, r.id),
    "get by a manager": lambda _w, manager, r: justifications.get(manager, r.id),
    "list_for_case": lambda worker, _m, r: justifications.list_for_case(worker, r.case_id),
    "review_queue": lambda _w, manager, _r: justifications.review_queue(manager),
    "report build": lambda worker, _m, r: report.build(worker, r.case_id),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_a_read_writes_nothing_even_with_an_overdue_emergency(
    manager: Session,
    worker: Session,
    overdue: JustificationRecord,
    read: Callable[[Session, Session, JustificationRecord], object],
) -> None:
    before = _state(worker.casefile)
    read(worker, manager, overdue)
    assert _state(worker.casefile) == before


def test_a_read_still_shows_the_emergency_overdue(
    worker: Session, overdue: JustificationRecord
) -> None:
    """Not noticed yet, but the state is computed, so nobody is shown it as live."""
    assert justifications.get(worker, overdue.id).emergency_state == "overdue"


# --- the explicit step -----------------------------------------------------------------


def test_noticing_writes_one_event_per_overdue_emergency(
    manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    overdue: JustificationRecord,
) -> None:
    second_case = cases.create_case(manager, "CP-2026-0099", "Jones family")
    person = cases.add_subject(manager, second_case.id, "Sam Jones", "parent")
    other = submitted(
        manager, second_case.id, make_request([person.id], clock(), **emergency_changes())
    )
    clock.advance(hours=25)  # both lapsed now
    colleague = allocated_worker(manager, case.id, "wynn")  # the others' are overdue
    live = submitted(colleague, case.id, make_request([subject.id], clock(), **emergency_changes()))
    assert justifications.notice_overdue(worker) == 2
    flagged = [e["entity_id"] for e in _events(worker.casefile, OVERDUE)]
    assert (sorted(flagged), live.id in flagged) == (sorted([overdue.id, other.id]), False)


def test_noticing_again_writes_nothing(
    manager: Session, worker: Session, overdue: JustificationRecord, clock: FixedClock
) -> None:
    justifications.notice_overdue(worker)
    before = _state(worker.casefile)
    clock.advance(hours=1)
    noticed = (justifications.notice_overdue(manager), justifications.notice_overdue(worker))
    assert (noticed, _state(worker.casefile)) == ((0, 0), before)


def test_noticing_records_when_the_review_was_due_and_who_noticed(
    worker: Session, overdue: JustificationRecord, clock: FixedClock
) -> None:
    justifications.notice_overdue(worker)
    [data] = event_data(worker.casefile, OVERDUE)
    due = clock() - timedelta(hours=1)  # submitted 25 hours ago; the window is 24
    assert (data["review_due"], data["noticed_by"]) == (to_iso(due), "wren")


def test_noticing_nothing_lapsed_writes_nothing(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=23)
    before = _state(worker.casefile)
    assert (justifications.notice_overdue(worker), _state(worker.casefile)) == (0, before)


def test_a_reviewed_emergency_is_not_noticed(
    manager: Session, worker: Session, overdue: JustificationRecord
) -> None:
    justifications.review(manager, overdue.id, "approve", "Necessary at the time.")
    noticed = justifications.notice_overdue(worker)
    assert (noticed, count_events(worker.casefile, OVERDUE)) == (0, 0)


def _events(casefile: CaseFile, action: str) -> list[sqlite3.Row]:
    return list(
        casefile.conn.execute(
            "SELECT seq, entity_id FROM audit_log WHERE action = ? ORDER BY seq", (action,)
        )
    )


# --- an unchanged case exports the same bytes ------------------------------------------


def test_exporting_an_unchanged_case_twice_gives_identical_bytes_with_an_overdue_emergency(
    worker: Session, overdue: JustificationRecord, clock: FixedClock, tmp_path: Path
) -> None:
    first = report.export_pdf(worker, overdue.case_id, tmp_path / "one.pdf")
    clock.advance(hours=2)
    second = report.export_pdf(worker, overdue.case_id, tmp_path / "two.pdf")
    one, two = (tmp_path / "one.pdf").read_bytes(), (tmp_path / "two.pdf").read_bytes()
    assert (first, one == two, count_events(worker.casefile, OVERDUE)) == (second, True, 1)


def test_the_export_notices_before_its_checkpoint(
    worker: Session, overdue: JustificationRecord, tmp_path: Path
) -> None:
    checkpoint = report.export_pdf(worker, overdue.case_id, tmp_path / "note.pdf")
    [noticed] = _events(worker.casefile, OVERDUE)
    assert checkpoint.seq == noticed["seq"]


def test_a_change_after_the_checkpoint_does_not_reach_the_note(
    monkeypatch: pytest.MonkeyPatch,
    worker: Session,
    overdue: JustificationRecord,
    db_path: Path,
) -> None:
    """Another user writes between the checkpoint and the reads: the note is built from
    one snapshot taken with the checkpoint, so it neither shows the change nor moves on."""
    elsewhere = open_case_file(db_path)
    colleague = accounts.login(elsewhere, "wren", PASSWORD, clock=worker.clock)
    taken = report.checkpoint_for

    def checkpoint_then_someone_writes(session: Session, case_id: int) -> object:
        found = taken(session, case_id)
        notes.save(colleague, case_id, analysis="Written after the checkpoint.")
        return found

    expected = report.build(worker, overdue.case_id)
    monkeypatch.setattr(report, "checkpoint_for", checkpoint_then_someone_writes)
    try:
        data = report.build(worker, overdue.case_id)
    finally:
        elsewhere.close()
    assert data == expected


@pytest.fixture
def overdue_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, str]:
    """A case file whose case holds an emergency submitted 30 hours ago, built through
    the services on a clock in the past (the command line reads the system clock)."""
    path = tmp_path / "overdue.db"
    clock = FixedClock(datetime.now(UTC) - timedelta(hours=30))
    with open_case_file(path, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD, clock=clock)
        manager = accounts.login(casefile, "mona", PASSWORD, clock=clock)
        accounts.add_user(manager, "wren", "worker", PASSWORD)
        case = cases.create_case(manager, "CP-2026-0042", "Smith family")
        cases.allocate(manager, case.id, "wren")
        person = cases.add_subject(manager, case.id, "Kerry Smith", "parent")
        worker = accounts.login(casefile, "wren", PASSWORD, clock=clock)
        submitted(worker, case.id, make_request([person.id], clock(), **emergency_changes()))
    monkeypatch.setenv("CASEVIEW_DB", str(path))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    return path, case.reference


def test_exporting_an_unchanged_case_twice_from_the_command_line_gives_identical_bytes(
    capsys: pytest.CaptureFixture[str], overdue_file: tuple[Path, str], tmp_path: Path
) -> None:
    path, reference = overdue_file
    printed = []
    for name in ("one.pdf", "two.pdf"):
        argv = ["--user", "wren", "--json", "export", "pdf", reference, "-o", str(tmp_path / name)]
        assert main(argv) == 0
        printed.append(json.loads(capsys.readouterr().out)["checkpoint"])
    one, two = (tmp_path / "one.pdf").read_bytes(), (tmp_path / "two.pdf").read_bytes()
    with open_case_file(path) as casefile:
        noticed = count_events(casefile, OVERDUE)
    assert (printed[0] == printed[1], one == two, noticed) == (True, True, 1)


def test_signing_in_to_the_app_notices(overdue_file: tuple[Path, str]) -> None:
    path, _ = overdue_file
    jobs.sign_in(path, "wren", PASSWORD)
    with open_case_file(path) as casefile:
        assert count_events(casefile, OVERDUE) == 1


def test_opening_the_queue_in_the_app_notices_then_lists(overdue_file: tuple[Path, str]) -> None:
    path, _ = overdue_file
    with open_case_file(path) as casefile:
        mona = browse.signed_in_user(casefile, 1)
    [entry] = jobs.load_queue(Identity(path, mona))
    with open_case_file(path) as casefile:
        [noticed] = _events(casefile, OVERDUE)
    assert (entry.record.emergency_state, noticed["entity_id"]) == ("overdue", entry.record.id)


def test_the_queue_command_notices_then_lists(
    capsys: pytest.CaptureFixture[str], overdue_file: tuple[Path, str]
) -> None:
    path, _ = overdue_file
    assert main(["--user", "mona", "--json", "justification", "queue"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["queue"]
    with open_case_file(path) as casefile:
        [noticed] = _events(casefile, OVERDUE)
    assert (listed["emergency_state"], noticed["entity_id"]) == ("overdue", listed["id"])


def test_a_request_running_out_between_two_exports_does_not_change_the_note(
    manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    # The note shows each request as it stood at the note's date, not the day of export.
    approved_request(worker, manager, case.id, [subject.id])
    report.export_pdf(worker, case.id, tmp_path / "one.pdf")
    clock.advance(days=20)  # the request is past its valid-until now
    assert justifications.list_for_case(worker, case.id)[0].status == "expired"
    report.export_pdf(worker, case.id, tmp_path / "two.pdf")
    assert (tmp_path / "one.pdf").read_bytes() == (tmp_path / "two.pdf").read_bytes()
