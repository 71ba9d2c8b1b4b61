"""Surveillance authorisations: structured, validated, and in force only once a second
manager confirms them (issue 10: no one person can lift the stop)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import engines
import pytest
from gate_support import approved, count_events, event_data, make_request
from pypdf import PdfReader

from caseview import authorisations, justifications, policy
from caseview.authorisations import Authorisation
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import NotFound, PermissionDenied, ValidationError
from caseview.justifications import JustificationRecord
from caseview.report import build as report
from caseview.report.pdf import render_pdf
from caseview.session import Session
from caseview.storage import CaseFile

REFERENCE = "RIPA-2026-017"
OFFICER = "Sam Patel, Director of Legal Services"

pytestmark = pytest.mark.both_engines


@pytest.fixture
def request_(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> JustificationRecord:
    """Written by the worker, approved by mona: mona and max had no part in writing it."""
    return approved(worker, manager, case.id, make_request([subject.id], worker.now()))


@pytest.fixture
def managers_request(
    second_manager: Session, manager: Session, case: Case, subject: Subject
) -> JustificationRecord:
    """Written by max (a manager), approved by mona."""
    return approved(second_manager, manager, case.id, make_request([subject.id], manager.now()))


def _fields(session: Session, subject: Subject, **changes: Any) -> dict[str, Any]:
    today = session.now().date()
    values: dict[str, Any] = {
        "reference": REFERENCE,
        "officer": OFFICER,
        "magistrate_approved_on": today - timedelta(days=1),
        "expires_on": today + timedelta(days=30),
        "subject_id": subject.id,
    }
    return {**values, **changes}


def _record(
    session: Session, record: JustificationRecord, subject: Subject, **changes: Any
) -> Authorisation:
    return authorisations.record(session, record.id, **_fields(session, subject, **changes))


def _rows(session: Session) -> int:
    return int(session.casefile.conn.execute("SELECT count(*) FROM authorisations").fetchone()[0])


# --- what is refused, and why ------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("n/a", "placeholder"),
        ("", "Give the RIPA authorisation number"),
        ("   ", "Give the RIPA authorisation number"),
        ("-", "Give the RIPA authorisation number"),
        ("none", "placeholder"),
        ("TBC", "placeholder"),
        ("xxx", "placeholder"),
        ("test", "placeholder"),
        ("unknown", "placeholder"),
        ("Safeguarding", "placeholder"),  # one of the policy's boilerplate phrases
        ("RIPA-REF", "has no number"),
        ("1111", "repeats one character"),
    ],
)
def test_a_placeholder_reference_is_refused_and_nothing_stored(
    manager: Session, request_: JustificationRecord, subject: Subject, reference: str, says: str
) -> None:
    with pytest.raises(ValidationError, match=says) as caught:
        _record(manager, request_, subject, reference=reference)
    assert "Nothing was stored" in str(caught.value)
    assert (_rows(manager), count_events(manager.casefile, "authorisation.recorded")) == (0, 0)


@pytest.mark.parametrize("officer", ["", "n/a", "unknown", "TBC", "-", "xxx", "1234"])
def test_a_placeholder_officer_is_refused(
    manager: Session, request_: JustificationRecord, subject: Subject, officer: str
) -> None:
    with pytest.raises(ValidationError, match="officer"):
        _record(manager, request_, subject, officer=officer)
    assert _rows(manager) == 0


@pytest.mark.parametrize(
    ("approved_days", "expires_days", "says"),
    [
        (-1, -1, "expiry .* is not after today"),  # expired yesterday
        (-1, 0, "expiry .* is not after today"),  # expires today: the rule asks for later
        (1, 30, "magistrate's approval date .* is after today"),
        (-60, -30, "not after today"),
    ],
)
def test_dates_are_checked(
    manager: Session,
    request_: JustificationRecord,
    subject: Subject,
    approved_days: int,
    expires_days: int,
    says: str,
) -> None:
    today = manager.now().date()
    with pytest.raises(ValidationError, match=says):
        _record(
            manager,
            request_,
            subject,
            magistrate_approved_on=today + timedelta(days=approved_days),
            expires_on=today + timedelta(days=expires_days),
        )
    assert _rows(manager) == 0


def test_the_person_must_be_one_the_request_is_about(
    manager: Session, request_: JustificationRecord, subject: Subject, child: Subject
) -> None:
    with pytest.raises(ValidationError, match="not one of the people") as caught:
        _record(manager, request_, subject, subject_id=child.id)
    assert f"Subject {child.id}" in str(caught.value)
    assert _rows(manager) == 0


@pytest.mark.parametrize("who", ["worker", "auditor"])
def test_only_a_manager_records_one(
    request: pytest.FixtureRequest, request_: JustificationRecord, subject: Subject, who: str
) -> None:
    session: Session = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied) as caught:
        _record(session, request_, subject)
    assert caught.value.rule == "role"


def test_the_requests_author_cannot_record_one(
    second_manager: Session, managers_request: JustificationRecord, subject: Subject
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        _record(second_manager, managers_request, subject)
    assert (caught.value.rule, _rows(second_manager)) == ("self_review", 0)


def test_an_unknown_request_is_not_found(manager: Session, subject: Subject) -> None:
    with pytest.raises(NotFound):
        authorisations.record(manager, 999, **_fields(manager, subject))


# --- two managers ------------------------------------------------------------------------


def test_a_recorded_authorisation_awaits_confirmation(
    manager: Session, request_: JustificationRecord, subject: Subject
) -> None:
    made = _record(manager, request_, subject)
    assert (made.confirmed, made.status(manager.now()), made.recorded_by) == (
        False,
        "awaiting confirmation",
        "mona",
    )


def test_the_recorder_cannot_confirm_it(
    manager: Session, request_: JustificationRecord, subject: Subject
) -> None:
    made = _record(manager, request_, subject)
    with pytest.raises(PermissionDenied) as caught:
        authorisations.confirm(manager, made.id)
    assert caught.value.rule == "second_manager"
    assert authorisations.in_force(manager.casefile.conn, request_.id, manager.now()) == []


def test_the_requests_author_cannot_confirm_it(
    manager: Session,
    second_manager: Session,
    managers_request: JustificationRecord,
    subject: Subject,
) -> None:
    made = _record(manager, managers_request, subject)
    with pytest.raises(PermissionDenied) as caught:
        authorisations.confirm(second_manager, made.id)
    assert caught.value.rule == "self_review"


@pytest.mark.parametrize("who", ["worker", "auditor"])
def test_only_a_manager_confirms(
    request: pytest.FixtureRequest,
    manager: Session,
    request_: JustificationRecord,
    subject: Subject,
    who: str,
) -> None:
    made = _record(manager, request_, subject)
    session: Session = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied) as caught:
        authorisations.confirm(session, made.id)
    assert caught.value.rule == "role"


def test_a_second_manager_confirms_it(
    manager: Session, second_manager: Session, request_: JustificationRecord, subject: Subject
) -> None:
    made = authorisations.confirm(second_manager, _record(manager, request_, subject).id)
    assert (made.confirmed_by, made.status(manager.now())) == ("max", "in force")


def test_it_is_confirmed_once(
    manager: Session, second_manager: Session, request_: JustificationRecord, subject: Subject
) -> None:
    made = _record(manager, request_, subject)
    authorisations.confirm(second_manager, made.id)
    with pytest.raises(PermissionDenied) as caught:
        authorisations.confirm(second_manager, made.id)
    assert caught.value.rule == "status"


# --- in force: the one question the gate asks --------------------------------------------


def test_unconfirmed_is_not_in_force(
    manager: Session, request_: JustificationRecord, subject: Subject
) -> None:
    _record(manager, request_, subject)
    assert authorisations.in_force(manager.casefile.conn, request_.id, manager.now()) == []


def test_confirmed_is_in_force(
    manager: Session, second_manager: Session, request_: JustificationRecord, subject: Subject
) -> None:
    made = authorisations.confirm(second_manager, _record(manager, request_, subject).id)
    assert authorisations.in_force(manager.casefile.conn, request_.id, manager.now()) == [made]


def test_it_is_in_force_only_for_its_own_request(
    manager: Session,
    second_manager: Session,
    worker: Session,
    case: Case,
    request_: JustificationRecord,
    subject: Subject,
) -> None:
    other = approved(worker, manager, case.id, make_request([subject.id], worker.now()))
    authorisations.confirm(second_manager, _record(manager, request_, subject).id)
    assert authorisations.in_force(manager.casefile.conn, other.id, manager.now()) == []


def test_expired_is_not_in_force_from_the_next_uk_day(
    manager: Session,
    second_manager: Session,
    request_: JustificationRecord,
    subject: Subject,
    clock: FixedClock,
) -> None:
    # Valid to the end of 30 June 2027, UK time (BST, UTC+1): at 23:30 UTC that day it is
    # already 1 July in London, so it has expired although the UTC date is still 30 June.
    made = _record(manager, request_, subject, expires_on=date(2027, 6, 30))
    authorisations.confirm(second_manager, made.id)
    conn = manager.casefile.conn
    clock.now = datetime(2027, 6, 30, 22, 59, tzinfo=UTC)
    assert [a.id for a in authorisations.in_force(conn, request_.id, clock())] == [made.id]
    clock.now = datetime(2027, 6, 30, 23, 0, tzinfo=UTC)
    assert authorisations.in_force(conn, request_.id, clock()) == []
    assert made.status(clock()) == "expired"


def test_an_expired_authorisation_cannot_be_confirmed(
    manager: Session,
    second_manager: Session,
    request_: JustificationRecord,
    subject: Subject,
    clock: FixedClock,
) -> None:
    made = _record(manager, request_, subject)
    clock.advance(days=40)
    with pytest.raises(PermissionDenied) as caught:
        authorisations.confirm(second_manager, made.id)
    assert caught.value.rule == "expired"


def test_free_text_in_the_legacy_column_lifts_nothing(
    casefile: CaseFile, manager: Session, request_: JustificationRecord
) -> None:
    # As an older case file holds it (on a server only a migration, as the owner, writes
    # that column).
    with casefile.write() as conn:
        conn.execute(
            "UPDATE justifications SET authorisation_ref = 'n/a' WHERE id = ?", (request_.id,)
        )
    assert authorisations.in_force(manager.casefile.conn, request_.id, manager.now()) == []


def test_recording_writes_nothing_to_the_legacy_column(
    manager: Session, second_manager: Session, request_: JustificationRecord, subject: Subject
) -> None:
    authorisations.confirm(second_manager, _record(manager, request_, subject).id)
    assert justifications.get(manager, request_.id).authorisation_ref is None


# --- the record ----------------------------------------------------------------------------


def test_recording_is_audited_with_every_field(
    manager: Session, request_: JustificationRecord, subject: Subject
) -> None:
    made = _record(manager, request_, subject)
    [data] = event_data(manager.casefile, "authorisation.recorded")
    assert data == {
        "justification_id": request_.id,
        "subject_id": subject.id,
        "subject_name": "Kerry Smith",
        "reference": REFERENCE,
        "authorising_officer": OFFICER,
        "magistrate_approved_on": made.magistrate_approved_on.isoformat(),
        "expires_on": made.expires_on.isoformat(),
        "recorded_by": "mona",
        "recorded_at": data["recorded_at"],
    }


def test_confirming_is_audited_on_the_case(
    manager: Session,
    second_manager: Session,
    case: Case,
    request_: JustificationRecord,
    subject: Subject,
) -> None:
    made = authorisations.confirm(second_manager, _record(manager, request_, subject).id)
    row = manager.casefile.conn.execute(
        "SELECT payload FROM audit_log WHERE action = 'authorisation.confirmed'"
    ).fetchone()
    event = json.loads(row["payload"])
    assert (
        event["actor"],
        event["case_id"],
        event["entity_id"],
        event["data"]["confirmed_by"],
    ) == (
        "max",
        case.id,
        made.id,
        "max",
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE authorisations SET reference = 'RIPA-9'",
        "UPDATE authorisations SET expires_on = '2099-01-01'",
        "UPDATE authorisations SET confirmed_by = recorded_by, confirmed_at = recorded_at",
        "DELETE FROM authorisations",
    ],
)
def test_the_database_refuses_changes_behind_the_services_back(
    manager: Session, request_: JustificationRecord, subject: Subject, statement: str
) -> None:
    _record(manager, request_, subject)
    with engines.database_refuses(manager.casefile), manager.casefile.write() as conn:
        conn.execute(statement)


def test_an_unallocated_worker_cannot_list_them(
    other_worker: Session, case: Case, request_: JustificationRecord
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        authorisations.list_for_case(other_worker, case.id)
    assert caught.value.rule == "allocation"


def test_lists_for_the_case_and_the_request(
    manager: Session,
    worker: Session,
    case: Case,
    request_: JustificationRecord,
    subject: Subject,
) -> None:
    made = _record(manager, request_, subject)
    assert (
        authorisations.list_for_case(worker, case.id),
        authorisations.list_for_justification(worker, request_.id),
    ) == ([made], [made])


# --- the note ------------------------------------------------------------------------------


def _pdf_text(session: Session, case: Case) -> str:
    pdf = render_pdf(report.build(session, case.id))
    return "".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


LOOSER = 'name = "Test council"\nmeter_stop_at = 5\n'


def test_the_note_states_the_policy_and_each_authorisation_relied_on(
    manager: Session,
    second_manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
) -> None:
    proposed = policy.set_policy(manager, LOOSER)
    assert proposed.id is not None
    policy.confirm_policy(second_manager, proposed.id)
    record = approved(worker, manager, case.id, make_request([subject.id], worker.now()))
    authorisations.confirm(second_manager, _record(manager, record, subject).id)
    _record(manager, record, subject, reference="RIPA-2026-999")  # never confirmed
    text = _pdf_text(worker, case)
    for expected in (
        "Policyinforce",
        "Testcouncil",
        policy.policy_hash(LOOSER),
        "meter_stop_at=5",
        "Surveillanceauthorisationsreliedon",
        REFERENCE,
        "SamPatel",
        "confirmedbymax",
    ):
        assert expected in text, expected
    assert "RIPA-2026-999" not in text


def test_the_note_says_when_the_shipped_defaults_apply(
    manager: Session, worker: Session, case: Case, request_: JustificationRecord
) -> None:
    text = _pdf_text(worker, case)
    assert "theshippeddefaults,unchanged" in text
    assert policy.policy_hash("") in text
    assert "None:noRIPAauthorisation" in text


def test_the_note_is_the_same_bytes_when_built_twice(
    manager: Session,
    second_manager: Session,
    worker: Session,
    case: Case,
    request_: JustificationRecord,
    subject: Subject,
    clock: FixedClock,
) -> None:
    authorisations.confirm(second_manager, _record(manager, request_, subject).id)
    first = render_pdf(report.build(worker, case.id))
    clock.advance(days=3)
    assert render_pdf(report.build(worker, case.id)) == first
