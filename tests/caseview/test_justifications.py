"""The request's lifecycle: draft, submit, review, versions, cancel, the queue, the hash."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import engines
import pytest
from gate_support import (
    URL,
    allocated_worker,
    approved,
    audit_head,
    count_events,
    count_justifications,
    drop_key,
    emergency_changes,
    event_data,
    example_toml,
    make_request,
    set_key,
    submitted,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ethics
from caseview import authorisations, cases, justifications, viewings
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import GateRefused, PermissionDenied, ValidationError
from caseview.justifications import JustificationRecord
from caseview.session import Session

# Hypothesis reuses the function-scoped case file across examples; every example adds
# its own rows and checks only those, so sharing it is safe.
SHARED_FIXTURES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

pytestmark = pytest.mark.both_engines


@pytest.fixture
def request_(subject: Subject, clock: FixedClock) -> ethics.Justification:
    return make_request([subject.id], clock())


@pytest.fixture
def draft(worker: Session, case: Case, request_: ethics.Justification) -> JustificationRecord:
    return justifications.create(worker, case.id, request_)


@pytest.fixture
def pending(worker: Session, case: Case, request_: ethics.Justification) -> JustificationRecord:
    return submitted(worker, case.id, request_)


@pytest.fixture
def approved_(
    worker: Session, manager: Session, case: Case, request_: ethics.Justification
) -> JustificationRecord:
    return approved(worker, manager, case.id, request_)


def _toml(subject: Subject, clock: FixedClock) -> str:
    return example_toml([subject.id], clock().date() + timedelta(days=14))


# --- create from the file form -----------------------------------------------------------


def test_shared_example_creates_a_draft(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    record = justifications.create_from_toml(worker, case.id, _toml(subject, clock))
    assert (record.status, record.version, record.author, record.content_hash) == (
        "draft",
        1,
        "wren",
        None,
    )


def test_shared_example_keeps_every_answer(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    record = justifications.create_from_toml(worker, case.id, _toml(subject, clock))
    assert record.request == make_request([subject.id], clock())


def test_shared_example_passes_the_gate(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    record = justifications.create_from_toml(worker, case.id, _toml(subject, clock))
    assert ethics.blocking(justifications.findings(worker, case.id, record.request)) == ()


def test_creating_is_audited_with_the_request(
    worker: Session, case: Case, draft: JustificationRecord
) -> None:
    [data] = event_data(worker.casefile, "justification.created")
    assert data["request"] == ethics.canonical_dict(draft.request)


def _subject_line(ids: list[str]) -> Callable[[str], str]:
    return lambda text: set_key(text, "subjects", ids)


MALFORMED = [
    pytest.param(
        lambda t: t + 'colour = "blue"\n', "colour", "remove it or check its spelling", id="unknown"
    ),
    pytest.param(lambda t: t + "emergancy = true\n", "emergancy", "did you mean", id="misspelt"),
    pytest.param(
        lambda t: set_key(t, "planned_viewings", "one"),
        "planned_viewings",
        "whole number",
        id="wrong-type-number",
    ),
    pytest.param(
        lambda t: set_key(t, "attest_logged_out", "yes"),
        "attest_logged_out",
        "true or false",
        id="wrong-type-flag",
    ),
    pytest.param(
        lambda t: set_key(t, "intrusion_level", "extreme"),
        "intrusion_level",
        "low, medium, high",
        id="value-not-allowed",
    ),
    pytest.param(lambda t: drop_key(t, "question"), "question", "add it", id="missing-field"),
    pytest.param(
        lambda t: set_key(t, "valid_until", "2026-02-30"),
        "valid_until",
        "YYYY-MM-DD",
        id="bad-date",
    ),
    pytest.param(
        lambda t: set_key(t, "valid_until", "20/12/2026"), "valid_until", "YYYY-MM-DD", id="uk-date"
    ),
    pytest.param(
        _subject_line(["999"]), "subjects", "caseview subject list", id="subject-not-in-any-case"
    ),
    pytest.param(
        _subject_line(["-1"]), "subjects", "positive whole numbers", id="subject-negative"
    ),
]


@pytest.mark.parametrize(("mutate", "key", "allowed"), MALFORMED)
def test_malformed_file_names_the_key_and_what_is_allowed(
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    mutate: Callable[[str], str],
    key: str,
    allowed: str,
) -> None:
    with pytest.raises(ValidationError) as caught:
        justifications.create_from_toml(worker, case.id, mutate(_toml(subject, clock)))
    assert (f"'{key}'" in str(caught.value), allowed in str(caught.value)) == (True, True)


@pytest.mark.parametrize(("mutate", "key", "allowed"), MALFORMED)
def test_malformed_file_stores_nothing(
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    mutate: Callable[[str], str],
    key: str,
    allowed: str,
) -> None:
    head = audit_head(worker.casefile)
    with pytest.raises(ValidationError):
        justifications.create_from_toml(worker, case.id, mutate(_toml(subject, clock)))
    assert (count_justifications(worker.casefile), audit_head(worker.casefile)) == (0, head)


def test_subject_from_another_case_is_refused_and_nothing_stored(
    manager: Session, worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    other = cases.create_case(manager, "CP-2026-0099", "Jones family")
    stranger = cases.add_subject(manager, other.id, "Lee Jones", "parent")
    head = audit_head(worker.casefile)
    text = example_toml([stranger.id], clock().date() + timedelta(days=14))
    with pytest.raises(ValidationError, match="'subjects'"):
        justifications.create_from_toml(worker, case.id, text)
    assert (count_justifications(worker.casefile), audit_head(worker.casefile)) == (0, head)


def test_invalid_toml_names_the_line(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    text = _toml(subject, clock).replace('intrusion_level = "medium"', "intrusion_level = medium")
    line = text.splitlines().index("intrusion_level = medium") + 1
    with pytest.raises(ValidationError, match=f"line {line}, column 19"):
        justifications.create_from_toml(worker, case.id, text)


def test_auditor_cannot_write_a_justification(
    auditor: Session, case: Case, request_: ethics.Justification
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        justifications.create(auditor, case.id, request_)
    assert caught.value.rule == "role"


def test_unallocated_worker_cannot_write_a_justification(
    other_worker: Session, case: Case, request_: ethics.Justification
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        justifications.create(other_worker, case.id, request_)
    assert caught.value.rule == "allocation"


# --- submit and the frozen hash ---------------------------------------------------------


def test_submit_freezes_the_hash_of_the_canonical_json(pending: JustificationRecord) -> None:
    expected = hashlib.sha256(ethics.canonical_json(pending.request)).hexdigest()
    assert (pending.status, pending.content_hash) == ("submitted", expected)


def test_submit_is_audited_with_the_hash(worker: Session, pending: JustificationRecord) -> None:
    [data] = event_data(worker.casefile, "justification.submitted")
    assert data["content_hash"] == pending.content_hash


def test_the_stored_content_hashes_to_the_frozen_hash(
    worker: Session, pending: JustificationRecord
) -> None:
    content = worker.casefile.conn.execute(
        "SELECT content FROM justifications WHERE id = ?", (pending.id,)
    ).fetchone()[0]
    assert hashlib.sha256(content.encode("utf-8")).hexdigest() == pending.content_hash


def test_blocked_submission_lists_every_blocking_finding(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    request = make_request(
        [subject.id], clock(), planned_viewings=5, question="safeguarding", family_told="no"
    )
    record = justifications.create(worker, case.id, replace(request, family_told_reason=""))
    with pytest.raises(GateRefused) as caught:
        justifications.submit(worker, record.id)
    assert sorted(f.code for f in caught.value.findings) == [  # type: ignore[attr-defined]
        "family_told_reason.missing",
        "planned_viewings.too_many",
        "question.boilerplate",
    ]


def test_blocked_submission_leaves_a_draft_without_hash(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    request = make_request([subject.id], clock(), planned_viewings=5)
    record = justifications.create(worker, case.id, request)
    with pytest.raises(GateRefused):
        justifications.submit(worker, record.id)
    after = justifications.get(worker, record.id)
    assert (after.status, after.content_hash) == ("draft", None)


def test_blocked_submission_is_audited(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    request = make_request([subject.id], clock(), planned_viewings=5)
    record = justifications.create(worker, case.id, request)
    with pytest.raises(GateRefused):
        justifications.submit(worker, record.id)
    [data] = event_data(worker.casefile, "justification.submit_refused")
    assert data["blocking"] == ["planned_viewings.too_many"]


def test_only_the_author_submits(manager: Session, draft: JustificationRecord) -> None:
    with pytest.raises(PermissionDenied) as caught:
        justifications.submit(manager, draft.id)
    assert caught.value.rule == "author"


def test_submitting_twice_is_refused(worker: Session, pending: JustificationRecord) -> None:
    with pytest.raises(PermissionDenied) as caught:
        justifications.submit(worker, pending.id)
    assert caught.value.rule == "status"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("content", '{"question": "something else"}'),
        ("content_hash", "0" * 64),
        ("valid_until", "2030-01-01"),
        ("emergency", 1),
        ("author_id", 1),
    ],
)
def test_database_refuses_a_raw_change_after_submission(
    worker: Session, pending: JustificationRecord, column: str, value: object
) -> None:
    with engines.database_refuses(worker.casefile, "cannot be changed"):
        worker.casefile.conn.execute(
            f"UPDATE justifications SET {column} = ? WHERE id = ?", (value, pending.id)
        )


def test_the_frozen_content_survives_a_refused_raw_change(
    worker: Session, pending: JustificationRecord
) -> None:
    with engines.database_refuses(worker.casefile):
        worker.casefile.conn.execute(
            "UPDATE justifications SET content = '{}' WHERE id = ?", (pending.id,)
        )
    assert justifications.get(worker, pending.id).request == pending.request


# --- edit and versions --------------------------------------------------------------


def test_editing_a_draft_changes_it_in_place(worker: Session, draft: JustificationRecord) -> None:
    changed = replace(draft.request, question=draft.request.question + " And since when?")
    edited = justifications.edit(worker, draft.id, changed)
    assert (edited.id, edited.version, edited.request) == (draft.id, 1, changed)


def test_editing_a_draft_makes_no_new_row(worker: Session, draft: JustificationRecord) -> None:
    justifications.edit(worker, draft.id, replace(draft.request, planned_viewings=2))
    assert count_justifications(worker.casefile) == 1


def test_editing_a_submitted_request_makes_version_2_superseding_it(
    worker: Session, pending: JustificationRecord
) -> None:
    new = justifications.edit(worker, pending.id, replace(pending.request, planned_viewings=2))
    assert (new.id != pending.id, new.version, new.supersedes, new.status) == (
        True,
        2,
        pending.id,
        "draft",
    )


def test_editing_a_submitted_request_cancels_the_pending_one(
    worker: Session, pending: JustificationRecord
) -> None:
    justifications.edit(worker, pending.id, replace(pending.request, planned_viewings=2))
    old = justifications.get(worker, pending.id)
    assert (old.status, old.content_hash, old.request) == (
        "cancelled",
        pending.content_hash,
        pending.request,
    )


def test_a_superseded_request_leaves_the_review_queue(
    worker: Session, manager: Session, pending: JustificationRecord
) -> None:
    justifications.edit(worker, pending.id, replace(pending.request, planned_viewings=2))
    assert justifications.review_queue(manager) == []


def test_editing_an_approved_request_leaves_it_in_force(
    worker: Session, approved_: JustificationRecord
) -> None:
    justifications.edit(worker, approved_.id, replace(approved_.request, planned_viewings=2))
    assert justifications.get(worker, approved_.id).status == "approved"


def test_editing_a_cancelled_request_is_refused(
    worker: Session, draft: JustificationRecord
) -> None:
    justifications.cancel(worker, draft.id, "No longer needed.")
    with pytest.raises(PermissionDenied) as caught:
        justifications.edit(worker, draft.id, draft.request)
    assert caught.value.rule == "status"


def test_another_worker_cannot_edit(
    manager: Session, case: Case, draft: JustificationRecord
) -> None:
    colleague = allocated_worker(manager, case.id, "willa")
    with pytest.raises(PermissionDenied) as caught:
        justifications.edit(colleague, draft.id, draft.request)
    assert caught.value.rule == "author"


# --- review --------------------------------------------------------------------------


def test_another_manager_approves(manager: Session, pending: JustificationRecord) -> None:
    decided = justifications.review(manager, pending.id, "approve", "One look is proportionate.")
    assert (decided.status, [d.decision for d in decided.decisions]) == ("approved", ["approve"])


def test_the_decision_records_the_hash_it_approved(
    manager: Session, pending: JustificationRecord
) -> None:
    decided = justifications.review(manager, pending.id, "approve", "One look is proportionate.")
    assert decided.decisions[0].content_hash == pending.content_hash


@pytest.mark.parametrize("reasons", ["", "   \n", "."])
def test_an_approval_needs_reasons(
    manager: Session, pending: JustificationRecord, reasons: str
) -> None:
    with pytest.raises(ValidationError, match="approve this request: say why looking is"):
        justifications.review(manager, pending.id, "approve", reasons)
    assert justifications.get(manager, pending.id).status == "submitted"


@pytest.mark.parametrize("reasons", ["OK", "Approved.", "lgtm", "Safeguarding"])
def test_an_approval_needs_reasons_of_its_own(
    manager: Session, pending: JustificationRecord, reasons: str
) -> None:
    # Stock words are refused by the gate's rule, as stock phrases in a request are.
    with pytest.raises(GateRefused, match="approve this request: say why looking is") as refused:
        justifications.review(manager, pending.id, "approve", reasons)
    assert refused.value.rule == "approval_reasons"
    assert justifications.get(manager, pending.id).status == "submitted"


def test_an_approval_with_a_short_reason_of_its_own_is_recorded(
    manager: Session, pending: JustificationRecord
) -> None:
    decided = justifications.review(manager, pending.id, "approve", "OK: one look, named man.")
    assert decided.decisions[0].reasons == "OK: one look, named man."


@pytest.mark.parametrize("decision", ["reject", "return"])
@pytest.mark.parametrize("reasons", ["", "   \n"])
def test_reject_and_return_need_reasons(
    manager: Session, pending: JustificationRecord, decision: str, reasons: str
) -> None:
    with pytest.raises(ValidationError, match="reasons"):
        justifications.review(manager, pending.id, decision, reasons)


@pytest.mark.parametrize("decision", ["reject", "return"])
def test_a_decision_without_reasons_changes_nothing(
    manager: Session, pending: JustificationRecord, decision: str
) -> None:
    with pytest.raises(ValidationError):
        justifications.review(manager, pending.id, decision, "")
    assert justifications.get(manager, pending.id).status == "submitted"


def test_database_refuses_a_decision_without_reasons(
    manager: Session, pending: JustificationRecord
) -> None:
    with engines.database_refuses(manager.casefile, "CHECK"):
        manager.casefile.conn.execute(
            "INSERT INTO reviews (justification_id, author_id, reviewer_id, decision, reasons,"
            " content_hash, at) SELECT id, author_id, ?, 'reject', '  ', content_hash, 'x'"
            " FROM justifications WHERE id = ?",
            (manager.user.id, pending.id),
        )


def test_database_refuses_a_review_naming_a_false_author(
    manager: Session, worker: Session, pending: JustificationRecord
) -> None:
    # The author writing their own review while claiming someone else wrote the request.
    with engines.database_refuses(manager.casefile, "author"):
        manager.casefile.conn.execute(
            "INSERT INTO reviews (justification_id, author_id, reviewer_id, decision, reasons,"
            " content_hash, at) VALUES (?, ?, ?, 'approve', 'ok', ?, 'x')",
            (pending.id, manager.user.id, worker.user.id, pending.content_hash),
        )


def test_unknown_decision_is_refused(manager: Session, pending: JustificationRecord) -> None:
    with pytest.raises(ValidationError, match="approve, reject or return"):
        justifications.review(manager, pending.id, "maybe", "Not sure.")


@pytest.mark.parametrize("state", ["draft", "approved", "rejected", "returned", "cancelled"])
def test_only_a_submitted_request_can_be_reviewed(
    manager: Session,
    second_manager: Session,
    worker: Session,
    case: Case,
    request_: ethics.Justification,
    state: str,
) -> None:
    record = justifications.create(worker, case.id, request_)
    if state != "draft":
        justifications.submit(worker, record.id)
    if state in ("approved", "rejected", "returned"):
        decision = {"approved": "approve", "rejected": "reject", "returned": "return"}[state]
        justifications.review(manager, record.id, decision, "Decided.")
    if state == "cancelled":
        justifications.cancel(worker, record.id, "No longer needed.")
    with pytest.raises(PermissionDenied) as caught:
        justifications.review(second_manager, record.id, "approve", "Looks fine.")
    assert caught.value.rule == "status"


def test_an_out_of_date_request_cannot_be_approved(
    manager: Session, clock: FixedClock, pending: JustificationRecord
) -> None:
    clock.advance(days=15)
    with pytest.raises(PermissionDenied) as caught:
        justifications.review(manager, pending.id, "approve", "Proportionate, but late.")
    assert caught.value.rule == "expired"


def test_approved_request_shows_expired_after_its_last_day(
    worker: Session, clock: FixedClock, approved_: JustificationRecord
) -> None:
    clock.advance(days=14)
    still = justifications.get(worker, approved_.id).status
    clock.advance(days=1)
    assert (still, justifications.get(worker, approved_.id).status) == ("approved", "expired")


def test_review_is_audited_with_reasons_and_hash(
    manager: Session, pending: JustificationRecord
) -> None:
    justifications.review(manager, pending.id, "return", "Name the man in the question.")
    [data] = event_data(manager.casefile, "justification.returned")
    assert (data["reasons"], data["content_hash"]) == (
        "Name the man in the question.",
        pending.content_hash,
    )


# --- authorisations are not part of a decision (tests/caseview/test_authorisations.py) --


def test_a_decision_takes_no_authorisation_reference(
    manager: Session, pending: JustificationRecord
) -> None:
    with pytest.raises(TypeError):
        justifications.review(  # type: ignore[call-arg]
            manager, pending.id, "approve", "Authorised.", authorisation_ref="RIPA-2026-017"
        )


def test_free_text_authorisations_can_no_longer_be_recorded() -> None:
    assert not hasattr(justifications, "record_authorisation")


# --- cancel -------------------------------------------------------------------------


def test_cancel_sets_the_status(worker: Session, approved_: JustificationRecord) -> None:
    assert justifications.cancel(worker, approved_.id, "The child was found.").status == (
        "cancelled"
    )


def test_cancel_is_audited_with_the_reason(worker: Session, approved_: JustificationRecord) -> None:
    justifications.cancel(worker, approved_.id, "The child was found.")
    [data] = event_data(worker.casefile, "justification.cancelled")
    assert data == {"reason": "The child was found."}


def test_cancel_needs_a_reason(worker: Session, approved_: JustificationRecord) -> None:
    with pytest.raises(ValidationError):
        justifications.cancel(worker, approved_.id, " ")


def test_cancelling_twice_is_refused(worker: Session, approved_: JustificationRecord) -> None:
    justifications.cancel(worker, approved_.id, "The child was found.")
    with pytest.raises(PermissionDenied) as caught:
        justifications.cancel(worker, approved_.id, "Again.")
    assert caught.value.rule == "status"


def test_auditor_cannot_cancel(auditor: Session, approved_: JustificationRecord) -> None:
    with pytest.raises(PermissionDenied):
        justifications.cancel(auditor, approved_.id, "Auditors change nothing.")
    assert count_events(auditor.casefile, "justification.cancelled") == 0


# --- review queue ----------------------------------------------------------------------


def test_review_queue_puts_overdue_then_live_emergencies_then_oldest(
    manager: Session,
    worker: Session,
    other_worker: Session,
    case: Case,
    subject: Subject,
    child: Subject,
    clock: FixedClock,
) -> None:
    # Break-glass cannot be chained: the live emergency is another worker's, about
    # another person.
    cases.allocate(manager, case.id, other_worker.user.username)

    def request(subject_id: int, **changes: object) -> ethics.Justification:
        return make_request([subject_id], clock(), **changes)  # type: ignore[arg-type]

    oldest = submitted(worker, case.id, request(subject.id))
    clock.advance(hours=1)
    overdue = submitted(worker, case.id, request(subject.id, **emergency_changes()))
    clock.advance(hours=25)
    newer = submitted(worker, case.id, request(subject.id))
    clock.advance(hours=1)
    live = submitted(other_worker, case.id, request(child.id, **emergency_changes()))
    queue = justifications.review_queue(manager)
    assert [r.id for r in queue] == [overdue.id, live.id, oldest.id, newer.id]


def test_review_queue_shows_emergency_states(
    manager: Session,
    worker: Session,
    other_worker: Session,
    case: Case,
    subject: Subject,
    child: Subject,
    clock: FixedClock,
) -> None:
    cases.allocate(manager, case.id, other_worker.user.username)
    submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=25)
    submitted(other_worker, case.id, make_request([child.id], clock(), **emergency_changes()))
    queue = justifications.review_queue(manager)
    assert [r.emergency_state for r in queue] == ["overdue", "live"]


def test_review_queue_lists_only_submitted_requests(
    manager: Session,
    worker: Session,
    case: Case,
    draft: JustificationRecord,
    approved_: JustificationRecord,
    request_: ethics.Justification,
) -> None:
    waiting = submitted(worker, case.id, request_)
    assert [r.id for r in justifications.review_queue(manager)] == [waiting.id]


@pytest.mark.parametrize("who", ["worker", "auditor"])
def test_review_queue_is_for_managers_only(
    request: pytest.FixtureRequest, case: Case, who: str
) -> None:
    session: Session = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied) as caught:
        justifications.review_queue(session)
    assert caught.value.rule == "role"


def test_reviewing_an_overdue_emergency_records_it_as_late(
    manager: Session, worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    record = submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=30)
    justifications.review(manager, record.id, "approve", "Necessary at the time.")
    [data] = event_data(manager.casefile, "justification.approved")
    assert data["reviewed_late"] is True


def test_overdue_is_flagged_once_with_its_due_time(
    manager: Session, worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    due = clock() + timedelta(hours=24)
    clock.advance(hours=25)
    justifications.notice_overdue(worker)
    justifications.notice_overdue(manager)
    [data] = event_data(manager.casefile, "justification.overdue")
    assert data["review_due"] == due.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_an_emergency_is_not_overdue_before_the_window_ends(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    record = submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=24)
    assert justifications.get(worker, record.id).emergency_state == "live"


# --- properties ------------------------------------------------------------------------

TEXT_FIELDS = (
    "statutory_function",
    "statutory_function_other",
    "data_protection_basis",
    "question",
    "safety_case",
    "ethics_case",
    "balance",
    "why_not_enough",
    "proportionality",
    "intrusion_level",
    "collateral_intrusion",
    "family_told",
    "family_told_reason",
    "emergency_reason",
)


@SHARED_FIXTURES
@given(
    texts=st.fixed_dictionaries({key: st.text() for key in TEXT_FIELDS}),
    planned=st.integers(-5, 50),
    emergency=st.booleans(),
)
def test_findings_never_raise_for_any_answers(
    worker: Session,
    case: Case,
    request_: ethics.Justification,
    texts: dict[str, str],
    planned: int,
    emergency: bool,
) -> None:
    generated = replace(request_, planned_viewings=planned, emergency=emergency, **texts)
    found = justifications.findings(worker, case.id, generated)
    assert {f.code for f in found} <= set(ethics.RULE_CODES)


OPERATIONS = st.lists(
    st.sampled_from(
        ["get", "list", "queue", "approve", "reject", "authorise", "view", "advance", "edit"]
    ),
    max_size=8,
)


@SHARED_FIXTURES
@given(operations=OPERATIONS)
def test_the_hash_of_a_submitted_request_never_changes(
    manager: Session,
    worker: Session,
    case: Case,
    clock: FixedClock,
    operations: list[str],
) -> None:
    # A new person each example: the meter of one person would soon block the request.
    person = cases.add_subject(manager, case.id, "Kerry Smith", "parent")
    record = submitted(worker, case.id, make_request([person.id], clock(), planned_viewings=2))
    frozen = record.content_hash
    for operation in operations:
        # Refused steps (a second decision, a look the gate stops) are part of the story.
        with contextlib.suppress(PermissionDenied):
            _apply(operation, manager, worker, case, person, clock, record)
        row = worker.casefile.conn.execute(
            "SELECT content, content_hash FROM justifications WHERE id = ?", (record.id,)
        ).fetchone()
        now = justifications.get(manager, record.id)
        assert (now.content_hash, row["content_hash"], _sha(row["content"])) == (frozen,) * 3


def _sha(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _apply(
    operation: str,
    manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    record: JustificationRecord,
) -> None:
    if operation == "get":
        justifications.get(worker, record.id)
    elif operation == "list":
        justifications.list_for_case(worker, case.id)
    elif operation == "queue":
        justifications.review_queue(manager)
    elif operation in ("approve", "reject"):
        justifications.review(manager, record.id, operation, "Decided on the evidence.")
    elif operation == "authorise":
        authorisations.record(
            manager,
            record.id,
            reference="RIPA-2026-017",
            officer="Sam Patel, Director of Legal Services",
            magistrate_approved_on=clock().date(),
            expires_on=clock().date() + timedelta(days=30),
            subject_id=subject.id,
        )
    elif operation == "view":
        viewings.record_view(worker, case.id, record.id, subject.id, URL, attested=True)
    elif operation == "advance":
        clock.advance(hours=7)
    elif operation == "edit":
        justifications.edit(worker, record.id, replace(record.request, planned_viewings=1))


# --- regressions: gaps these tests found (were strict xfails until fixed) -----------------


def test_a_used_emergency_cancelled_by_its_author_still_awaits_review(
    manager: Session, worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    record = submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    viewings.record_view(worker, case.id, record.id, subject.id, URL, attested=True)
    with contextlib.suppress(PermissionDenied):
        justifications.cancel(worker, record.id, "Done now.")
    assert [r.id for r in justifications.review_queue(manager)] == [record.id]


def test_a_used_emergency_edited_by_its_author_still_awaits_review(
    manager: Session, worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    record = submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    viewings.record_view(worker, case.id, record.id, subject.id, URL, attested=True)
    with contextlib.suppress(PermissionDenied):
        justifications.edit(worker, record.id, replace(record.request, emergency=False))
    assert record.id in [r.id for r in justifications.review_queue(manager)]


def test_a_manager_who_rewrote_the_draft_cannot_approve_it(
    manager: Session, worker: Session, draft: JustificationRecord
) -> None:
    rewritten = replace(draft.request, planned_viewings=2)
    justifications.edit(manager, draft.id, rewritten)
    justifications.submit(worker, draft.id)
    with pytest.raises(PermissionDenied) as caught:
        justifications.review(manager, draft.id, "approve", "Fine.")
    assert caught.value.rule == "self_review"
