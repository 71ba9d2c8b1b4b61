"""Cases, allocation and subjects: what is stored, what is refused, what is audited."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import date

import engines
import pytest
from conftest import PASSWORD

from caseview import audit, cases
from caseview.domain import AuditEvent, Case, CaseStatus, Subject, SubjectRole
from caseview.errors import NotFound, PermissionDenied, ValidationError
from caseview.session import Session
from caseview.storage import CaseFile

pytestmark = pytest.mark.both_engines

TODAY = date(2026, 11, 24)  # the conftest clock's date


def snapshot(casefile: CaseFile) -> dict[str, list[tuple[object, ...]]]:
    return engines.snapshot(casefile)


def new_events(session: Session, after: int) -> list[AuditEvent]:
    return audit.list_events(session, after=after)


# --- creating and listing cases ------------------------------------------------------


def test_create_case_returns_the_open_case(manager: Session) -> None:
    created = cases.create_case(manager, "  CP-1  ", "  Smith family ")
    assert (created.reference, created.title, created.status, created.created_by) == (
        "CP-1",
        "Smith family",
        CaseStatus.OPEN,
        "mona",
    )


def test_created_case_reads_back_the_same(manager: Session) -> None:
    created = cases.create_case(manager, "CP-1", "Smith family")
    assert cases.get_case(manager, created.id) == created


def test_list_cases_is_sorted_by_reference(manager: Session) -> None:
    for ref in ("CP-3", "CP-1", "CP-2"):
        cases.create_case(manager, ref, f"family {ref}")
    assert [c.reference for c in cases.list_cases(manager)] == ["CP-1", "CP-2", "CP-3"]


@pytest.mark.parametrize(
    ("reference", "title", "message"),
    [
        ("", "Smith family", "case reference is empty"),
        ("   ", "Smith family", "case reference is empty"),
        ("CP-1", "", "case title is empty"),
        ("C" * 65, "Smith family", "longer than 64"),
        ("CP-1", "T" * 201, "longer than 200"),
    ],
)
def test_invalid_case_is_refused(
    manager: Session, reference: str, title: str, message: str
) -> None:
    before = snapshot(manager.casefile)
    with pytest.raises(ValidationError, match=message):
        cases.create_case(manager, reference, title)
    assert snapshot(manager.casefile) == before


def test_duplicate_reference_is_refused(manager: Session, case: Case) -> None:
    before = snapshot(manager.casefile)
    with pytest.raises(ValidationError, match="already exists"):
        cases.create_case(manager, case.reference, "Another family")
    assert snapshot(manager.casefile) == before


def test_get_unknown_case_is_not_found(manager: Session) -> None:
    with pytest.raises(NotFound, match="no case 404"):
        cases.get_case(manager, 404)


# --- allocation ----------------------------------------------------------------------


def test_allocated_worker_is_a_member(manager: Session, worker: Session, case: Case) -> None:
    assert [u.username for u in cases.members(manager, case.id)] == ["wren"]


def test_allocation_lets_the_worker_see_the_case(
    manager: Session, other_worker: Session, case: Case
) -> None:
    cases.allocate(manager, case.id, "otto")
    assert cases.get_case(other_worker, case.id) == case


def test_a_manager_can_be_allocated(manager: Session, second_manager: Session, case: Case) -> None:
    cases.allocate(manager, case.id, "max")
    assert "max" in {u.username for u in cases.members(manager, case.id)}


def test_auditors_cannot_be_allocated(manager: Session, auditor: Session, case: Case) -> None:
    before = snapshot(manager.casefile)
    with pytest.raises(PermissionDenied) as refused:
        cases.allocate(manager, case.id, "ada")
    assert refused.value.rule == "role"
    assert snapshot(manager.casefile) == before


def test_allocating_twice_changes_nothing(manager: Session, worker: Session, case: Case) -> None:
    before = snapshot(manager.casefile)
    cases.allocate(manager, case.id, "wren")
    assert snapshot(manager.casefile) == before


def test_allocating_an_unknown_user_is_not_found(manager: Session, case: Case) -> None:
    with pytest.raises(NotFound, match="no user called 'nobody'"):
        cases.allocate(manager, case.id, "nobody")


def test_allocating_to_an_unknown_case_is_not_found(manager: Session, worker: Session) -> None:
    with pytest.raises(NotFound):
        cases.allocate(manager, 404, "wren")


def test_allocation_normalises_the_user_name(manager: Session, worker: Session) -> None:
    created = cases.create_case(manager, "CP-NORM-1", "Name normalisation")
    cases.allocate(manager, created.id, " WREN ")
    assert [u.username for u in cases.members(manager, created.id)] == ["wren"]


def test_deallocating_takes_the_case_away_from_the_worker(
    manager: Session, worker: Session, case: Case
) -> None:
    cases.deallocate(manager, case.id, "wren")
    assert cases.members(manager, case.id) == []
    with pytest.raises(PermissionDenied) as refused:
        cases.get_case(worker, case.id)
    assert refused.value.rule == "allocation"


def test_deallocating_someone_not_allocated_changes_nothing(
    manager: Session, other_worker: Session, case: Case
) -> None:
    before = snapshot(manager.casefile)
    cases.deallocate(manager, case.id, "otto")
    assert snapshot(manager.casefile) == before


@pytest.mark.parametrize("who", ["worker", "auditor"])
def test_only_managers_deallocate(
    request: pytest.FixtureRequest, manager: Session, case: Case, who: str
) -> None:
    session: Session = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied) as refused:
        cases.deallocate(session, case.id, "wren")
    assert refused.value.rule == "role"
    assert [u.username for u in cases.members(manager, case.id)] == ["wren"]


# --- closing and reopening -----------------------------------------------------------


def test_closing_a_case_sets_its_status(manager: Session, case: Case) -> None:
    cases.set_status(manager, case.id, "closed")
    assert cases.get_case(manager, case.id).status is CaseStatus.CLOSED


def test_closed_case_accepts_no_new_subjects(manager: Session, case: Case) -> None:
    cases.set_status(manager, case.id, "closed")
    with pytest.raises(PermissionDenied, match="closed") as refused:
        cases.add_subject(manager, case.id, "Lee Smith", "relative")
    assert refused.value.rule == "case_closed"


def test_closed_case_can_still_be_read(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    cases.set_status(manager, case.id, "closed")
    assert [s.name for s in cases.list_subjects(worker, case.id)] == ["Kerry Smith"]


def test_reopened_case_accepts_subjects_again(manager: Session, case: Case) -> None:
    cases.set_status(manager, case.id, "closed")
    cases.set_status(manager, case.id, "open")
    assert cases.add_subject(manager, case.id, "Lee Smith", "relative").name == "Lee Smith"


def test_setting_the_same_status_changes_nothing(manager: Session, case: Case) -> None:
    before = snapshot(manager.casefile)
    cases.set_status(manager, case.id, "open")
    assert snapshot(manager.casefile) == before


def test_unknown_status_is_refused(manager: Session, case: Case) -> None:
    with pytest.raises(ValidationError, match="not a case status"):
        cases.set_status(manager, case.id, "archived")


# --- subjects ------------------------------------------------------------------------


def test_subject_is_stored_with_every_field(worker: Session, case: Case) -> None:
    added = cases.add_subject(
        worker,
        case.id,
        " Jay Smith ",
        "child",
        date_of_birth=date(2015, 3, 1),
        handles=[" https://social.example/jay ", "", "@jay_s"],
    )
    assert cases.get_subject(worker, added.id) == Subject(
        added.id,
        case.id,
        "Jay Smith",
        SubjectRole.CHILD,
        date(2015, 3, 1),
        ("https://social.example/jay", "@jay_s"),
    )


def test_date_of_birth_is_optional(manager: Session, case: Case) -> None:
    added = cases.add_subject(manager, case.id, "Lee Smith", "relative")
    assert (added.date_of_birth, added.handles) == (None, ())


def test_list_subjects_in_order_added(
    manager: Session, case: Case, subject: Subject, child: Subject
) -> None:
    assert [s.name for s in cases.list_subjects(manager, case.id)] == ["Kerry Smith", "Jay Smith"]


def test_born_today_is_accepted(manager: Session, case: Case) -> None:
    added = cases.add_subject(manager, case.id, "Baby Smith", "child", date_of_birth=TODAY)
    assert added.date_of_birth == TODAY


@pytest.mark.parametrize(
    ("name", "role", "dob", "message"),
    [
        ("", "child", None, "name is empty"),
        ("   ", "child", None, "name is empty"),
        ("N" * 201, "child", None, "longer than 200"),
        ("Jay Smith", "boss", None, "not a subject role"),
        ("Jay Smith", "Child", None, "not a subject role"),
        ("Jay Smith", "child", date(2026, 11, 25), "in the future"),
    ],
)
def test_invalid_subject_is_refused(
    manager: Session, case: Case, name: str, role: str, dob: date | None, message: str
) -> None:
    before = snapshot(manager.casefile)
    with pytest.raises(ValidationError, match=message):
        cases.add_subject(manager, case.id, name, role, date_of_birth=dob)
    assert snapshot(manager.casefile) == before


def test_get_unknown_subject_is_not_found(manager: Session) -> None:
    with pytest.raises(NotFound, match="no subject 404"):
        cases.get_subject(manager, 404)


def test_subject_on_unknown_case_is_not_found(manager: Session) -> None:
    with pytest.raises(NotFound):
        cases.add_subject(manager, 404, "Jay Smith", "child")


# --- every change is audited, in the same transaction --------------------------------

Change = Callable[[Session, Case], object]

CHANGES: list[tuple[str, Change, str, dict[str, object]]] = [
    (
        "create_case",
        lambda m, c: cases.create_case(m, "CP-9", "Jones family"),
        "case.created",
        {"reference": "CP-9", "title": "Jones family"},
    ),
    (
        "allocate",
        lambda m, c: cases.allocate(m, c.id, "otto"),
        "case.allocated",
        {"reference": "CP-2026-0042", "user": "otto"},
    ),
    (
        "deallocate",
        lambda m, c: cases.deallocate(m, c.id, "wren"),
        "case.deallocated",
        {"reference": "CP-2026-0042", "user": "wren"},
    ),
    (
        "close",
        lambda m, c: cases.set_status(m, c.id, "closed"),
        "case.closed",
        {"status": "closed"},
    ),
    (
        "add_subject",
        lambda m, c: cases.add_subject(
            m, c.id, "Lee Smith", "relative", date_of_birth=date(1980, 1, 2), handles=["@lee"]
        ),
        "subject.added",
        {
            "name": "Lee Smith",
            "role": "relative",
            "date_of_birth": "1980-01-02",
            "handles": ["@lee"],
        },
    ),
]


@pytest.mark.parametrize(
    ("change", "action", "data"),
    [pytest.param(c, a, d, id=name) for name, c, a, d in CHANGES],
)
def test_every_change_writes_one_audit_event_naming_it(
    manager: Session,
    other_worker: Session,
    case: Case,
    change: Change,
    action: str,
    data: dict[str, object],
) -> None:
    head = audit.head(manager.casefile.conn).seq
    change(manager, case)
    [event] = new_events(manager, head)
    assert (event.actor, event.action, event.data) == ("mona", action, data)


def test_reopening_is_audited(manager: Session, case: Case) -> None:
    cases.set_status(manager, case.id, "closed")
    head = audit.head(manager.casefile.conn).seq
    cases.set_status(manager, case.id, "open")
    [event] = new_events(manager, head)
    assert (event.action, event.case_id, event.data) == (
        "case.reopened",
        case.id,
        {"status": "open"},
    )


def test_audit_event_points_at_the_new_subject(manager: Session, case: Case) -> None:
    head = audit.head(manager.casefile.conn).seq
    added = cases.add_subject(manager, case.id, "Lee Smith", "relative")
    [event] = new_events(manager, head)
    assert (event.entity, event.entity_id, event.case_id) == ("subject", added.id, case.id)


@pytest.mark.parametrize("change", [pytest.param(c, id=name) for name, c, _, _ in CHANGES])
def test_change_is_undone_when_its_audit_event_cannot_be_written(
    monkeypatch: pytest.MonkeyPatch,
    manager: Session,
    other_worker: Session,
    case: Case,
    change: Change,
) -> None:
    before = snapshot(manager.casefile)

    def broken_record(conn: sqlite3.Connection, **event: object) -> None:
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(audit, "record", broken_record)
    with pytest.raises(RuntimeError, match="audit log is unavailable"):
        change(manager, case)
    assert snapshot(manager.casefile) == before


def test_no_subject_lands_on_a_case_closed_while_it_was_being_added(
    monkeypatch: pytest.MonkeyPatch, manager: Session, worker: Session, case: Case
) -> None:
    # The manager works in another process: a second connection to the same file.
    elsewhere = engines.second_connection(manager, PASSWORD)
    engines.no_waiting(elsewhere)
    manager_elsewhere = Session(elsewhere, manager.user, manager.clock)
    checked = cases.case_for_changing

    def check_then_close(session: Session, case_id: int, *, doing: str) -> sqlite3.Row:
        row = checked(session, case_id, doing=doing)
        # If the check runs inside the write transaction, the close must wait its turn
        # (here: fails at once) and the subject is legitimately added first.
        with contextlib.suppress(*engines.LOCKED):
            cases.set_status(manager_elsewhere, case_id, "closed")
        return row

    monkeypatch.setattr(cases, "case_for_changing", check_then_close)
    with elsewhere, contextlib.suppress(PermissionDenied):
        cases.add_subject(worker, case.id, "Lee Smith", "relative")
    order = [e.action for e in audit.list_events(manager, case.id)]
    if "case.closed" in order and "subject.added" in order:
        assert order.index("subject.added") < order.index("case.closed")
