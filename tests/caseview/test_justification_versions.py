"""A revised request is the same request: its earlier version stays in force only until
the revision is decided, and the looks made under any version count against the plan.
Otherwise editing an approved request and having the revision approved would give two
allowances at once, each with its own planned viewings."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from gate_support import URL, make_request

import ethics
from caseview import audit, justifications, viewings
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import GateRefused, PermissionDenied
from caseview.session import Session

REASONS = "Proportionate to the risk; the revision is needed to see the new posts."


def _approved_then_revised(
    worker: Session, manager: Session, case: Case, subject: Subject, planned: int
) -> tuple[int, int]:
    """Version 1 approved (one planned viewing) and looked under once; version 2 (with
    ``planned`` viewings) submitted. Returns both ids."""
    first = justifications.create(
        worker, case.id, make_request([subject.id], worker.now(), planned_viewings=1)
    )
    justifications.submit(worker, first.id)
    justifications.review(manager, first.id, "approve", REASONS)
    viewings.record_view(worker, case.id, first.id, subject.id, URL, attested=True)
    second = justifications.edit(
        worker, first.id, make_request([subject.id], worker.now(), planned_viewings=planned)
    )
    justifications.submit(worker, second.id)
    return first.id, second.id


@pytest.mark.both_engines
def test_approving_the_revision_ends_the_earlier_version(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    first, second = _approved_then_revised(worker, manager, case, subject, planned=2)
    # Until the revision is decided, the approved version stays in force.
    assert justifications.get(worker, first).status == "approved"
    justifications.review(manager, second, "approve", REASONS)
    earlier = justifications.get(worker, first)
    assert earlier.status == "cancelled"
    with pytest.raises((GateRefused, PermissionDenied)):
        viewings.record_view(worker, case.id, first, subject.id, URL, attested=True)
    # The look made under version 1 counts against version 2's two planned viewings.
    viewings.record_view(worker, case.id, second, subject.id, URL, attested=True)
    with pytest.raises(GateRefused) as refused:
        viewings.record_view(worker, case.id, second, subject.id, URL, attested=True)
    assert refused.value.rule == ethics.RULE_VIEWINGS_USED
    cancelled = [
        e for e in audit.list_events(manager, case.id) if e.action == "justification.cancelled"
    ]
    assert [e.entity_id for e in cancelled] == [first]
    assert "superseded by version 2" in str(cancelled[0].data["reason"])
    assert audit.verify(manager).intact


@pytest.mark.parametrize("decision", ["reject", "return"])
def test_a_revision_rejected_or_returned_leaves_the_earlier_version_in_force(
    worker: Session, manager: Session, case: Case, subject: Subject, decision: str
) -> None:
    first, second = _approved_then_revised(worker, manager, case, subject, planned=3)
    justifications.review(manager, second, decision, "The revision asks for too much.")
    assert justifications.get(worker, first).status == "approved"


def test_the_template_is_valid_for_two_weeks_from_the_uk_day(manager: Session) -> None:
    """At 23:30 UTC in British Summer Time it is already tomorrow in the UK: the date the
    template offers counts from the UK day, as the gate reads it."""
    manager.clock = FixedClock(datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    text = justifications.template(manager)
    assert 'valid_until = "2026-07-15"' in text or "valid_until = 2026-07-15" in text
    assert ethics.uk_day(manager.now()) == date(2026, 7, 1)


def test_verify_names_an_earlier_version_put_back_in_force_behind_the_log(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    first, second = _approved_then_revised(worker, manager, case, subject, planned=2)
    justifications.review(manager, second, "approve", REASONS)
    path = manager.casefile.path
    assert isinstance(path, Path) and audit.verify(None, path).intact
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        names = [
            n
            for (n,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name = 'justifications'"
            )
        ]
        for name in names:
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute(
            "UPDATE justifications SET status = 'approved', cancel_reason = NULL WHERE id = ?",
            (first,),
        )
    finally:
        conn.close()
    result = audit.verify(None, path)
    assert not result.intact
    assert result.row_break is not None and "justifications" in str(result.row_break)
