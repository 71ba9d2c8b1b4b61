"""Named scenarios from DOMAIN.md, each answered allowed or refused with the rule that refused.

One table drives three tests: the verdict of every scenario; the extra facts some
scenarios promise (a warning naming the Code's factors, an overdue flag, ...); and, for
every refused capture, that exactly one refused viewing and one ``viewing.refused``
event were stored and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

import engines
import pytest
from gate_support import (
    URL,
    allocated_worker,
    approved,
    count_events,
    count_viewings,
    emergency_changes,
    make_request,
    submitted,
)

import ethics
from caseview import authorisations, cases, justifications, viewings
from caseview.clock import FixedClock, to_iso
from caseview.domain import Case, Subject
from caseview.errors import GateRefused, PermissionDenied
from caseview.justifications import JustificationRecord
from caseview.session import Session
from caseview.storage import CaseFile

pytestmark = pytest.mark.both_engines


@dataclass(frozen=True)
class World:
    manager: Session
    second_manager: Session
    worker: Session
    other_worker: Session
    auditor: Session
    case: Case
    subject: Subject
    child: Subject
    clock: FixedClock

    @property
    def casefile(self) -> CaseFile:
        return self.manager.casefile


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    rule: str | None
    stored: tuple[int, int, int] = (0, 0, 0)
    """For a capture attempt: new refused viewings, new viewing.refused events, new
    completed viewings."""
    facts: Mapping[str, object] = field(default_factory=dict)


@pytest.fixture
def world(
    manager: Session,
    second_manager: Session,
    worker: Session,
    other_worker: Session,
    auditor: Session,
    case: Case,
    subject: Subject,
    child: Subject,
    clock: FixedClock,
) -> World:
    return World(
        manager, second_manager, worker, other_worker, auditor, case, subject, child, clock
    )


# --- steps ----------------------------------------------------------------------------


def _request(w: World, **changes: object) -> ethics.Justification:
    return make_request([w.subject.id], w.clock(), **changes)  # type: ignore[arg-type]


def _approved(w: World, author: Session | None = None, **changes: object) -> JustificationRecord:
    return approved(author or w.worker, w.manager, w.case.id, _request(w, **changes))


def _stored(casefile: CaseFile) -> tuple[int, int, int]:
    return (
        count_viewings(casefile, "refused"),
        count_events(casefile, "viewing.refused"),
        count_viewings(casefile, "completed"),
    )


def _capture(
    w: World,
    session: Session,
    justification_id: int,
    *,
    subject_id: int | None = None,
    url: str = URL,
    attested: bool = True,
) -> tuple[Outcome, viewings.Permission | None]:
    """Ask the capture permission (``authorise``), measuring what it stored."""
    before = _stored(w.casefile)
    try:
        permission = viewings.authorise(
            session,
            w.case.id,
            justification_id,
            w.subject.id if subject_id is None else subject_id,
            url,
            attested=attested,
        )
    except GateRefused as exc:
        permission, allowed, rule = None, False, exc.rule
    else:
        allowed, rule = permission.allowed, permission.rule
    after = _stored(w.casefile)
    stored = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
    return Outcome(allowed, rule, stored), permission


def _capture_outcome(w: World, session: Session, justification_id: int, **kw: object) -> Outcome:
    return _capture(w, session, justification_id, **kw)[0]  # type: ignore[arg-type]


def _view(w: World, session: Session, justification_id: int) -> None:
    viewings.record_view(session, w.case.id, justification_id, w.subject.id, URL, attested=True)


def _submit(w: World, **changes: object) -> Outcome:
    record = justifications.create(w.worker, w.case.id, _request(w, **changes))
    try:
        justifications.submit(w.worker, record.id)
    except GateRefused as exc:
        codes = sorted(f.code for f in exc.findings)  # type: ignore[attr-defined]
        return Outcome(False, ",".join(codes))
    return Outcome(True, None)


def _review(reviewer: Session, justification_id: int) -> Outcome:
    try:
        justifications.review(reviewer, justification_id, "approve", "Proportionate.")
    except PermissionDenied as exc:
        return Outcome(False, exc.rule)
    return Outcome(True, None)


# --- scenarios --------------------------------------------------------------------------


def complete_request_approved_by_another_manager(w: World) -> Outcome:
    record = _approved(w)
    permission = viewings.check(w.worker, w.case.id, record.id, w.subject.id, URL, attested=True)
    return Outcome(permission.allowed, permission.rule)


def manager_author_approved_by_another_manager(w: World) -> Outcome:
    record = approved(w.manager, w.second_manager, w.case.id, _request(w))
    return _capture_outcome(w, w.manager, record.id)


def self_approval_by_manager_author(w: World) -> Outcome:
    record = submitted(w.manager, w.case.id, _request(w))
    outcome = _review(w.manager, record.id)
    try:  # the database refuses it too, whatever the service does
        w.manager.casefile.conn.execute(
            "INSERT INTO reviews (justification_id, author_id, reviewer_id, decision, reasons,"
            " content_hash, at) VALUES (?, ?, ?, 'approve', 'ok', ?, ?)",
            (
                record.id,
                w.manager.user.id,
                w.manager.user.id,
                record.content_hash,
                to_iso(w.clock()),
            ),
        )
        refused_by_db = False
    except engines.REFUSED:
        refused_by_db = True
    reviews = w.casefile.conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    return replace(outcome, facts={"raw_insert_refused": refused_by_db, "reviews": reviews})


def worker_tries_to_review(w: World) -> Outcome:
    record = submitted(w.manager, w.case.id, _request(w))
    return _review(w.worker, record.id)


def auditor_tries_to_review(w: World) -> Outcome:
    record = submitted(w.worker, w.case.id, _request(w))
    return _review(w.auditor, record.id)


def auditor_tries_to_capture(w: World) -> Outcome:
    return _capture_outcome(w, w.auditor, _approved(w).id)


def _authorise(w: World, record: JustificationRecord, by: Session | None = None) -> int:
    """A structured authorisation on ``record`` for the subject, recorded by ``by``."""
    today = w.clock().date()
    made = authorisations.record(
        by or w.manager,
        record.id,
        reference="RIPA-2026-017",
        officer="Sam Patel, Director of Legal Services",
        magistrate_approved_on=today - timedelta(days=1),
        expires_on=today + timedelta(days=30),
        subject_id=w.subject.id,
    )
    return made.id


def _authorised(w: World, record: JustificationRecord) -> None:
    """Recorded by one manager, confirmed by a second: in force."""
    authorisations.confirm(w.second_manager, _authorise(w, record))


def worker_records_an_authorisation_reference(w: World) -> Outcome:
    record = _approved(w)
    try:
        _authorise(w, record, by=w.worker)
    except PermissionDenied as exc:
        return Outcome(False, exc.rule)
    return Outcome(True, None)


def friends_only_content_not_attested(w: World) -> Outcome:
    return _submit(w, attest_no_restricted_content=False)


def five_planned_viewings(w: World) -> Outcome:
    return _submit(w, planned_viewings=5)


def family_not_told_with_no_reason(w: World) -> Outcome:
    return _submit(w, family_told="no", family_told_reason="")


def boilerplate_question(w: World) -> Outcome:
    return _submit(w, question="safeguarding")


def validity_beyond_28_days(w: World) -> Outcome:
    return _submit(w, days=29)


def validity_of_exactly_28_days(w: World) -> Outcome:
    return _submit(w, days=28)


def emergency_without_reason(w: World) -> Outcome:
    return _submit(w, emergency=True, emergency_reason="")


def second_look_when_one_was_planned(w: World) -> Outcome:
    record = _approved(w)
    _view(w, w.worker, record.id)
    return _capture_outcome(w, w.worker, record.id)


def second_viewing_warns_with_the_codes_factors(w: World) -> Outcome:
    record = _approved(w, planned_viewings=2)
    _view(w, w.worker, record.id)
    outcome, permission = _capture(w, w.worker, record.id)
    assert permission is not None
    warning = permission.warning
    return replace(
        outcome,
        facts={
            "meter_state": permission.meter.state if permission.meter else None,
            "warning_names_every_factor": all(f in warning for f in ethics.CODE_FACTORS),
        },
    )


def _three_looks_by_two_workers(w: World) -> tuple[JustificationRecord, Session]:
    """Worker looks twice under a request planning 3; a colleague once under their own."""
    colleague = allocated_worker(w.manager, w.case.id, "willa")
    mine = _approved(w, planned_viewings=3)
    theirs = _approved(w, author=colleague)
    _view(w, w.worker, mine.id)
    _view(w, w.worker, mine.id)
    _view(w, colleague, theirs.id)
    return mine, colleague


def fourth_viewing_in_90_days_across_two_workers(w: World) -> Outcome:
    mine, _ = _three_looks_by_two_workers(w)
    outcome, _ = _capture(w, w.worker, mine.id)
    message = viewings.check(w.worker, w.case.id, mine.id, w.subject.id, URL, attested=True)
    return replace(
        outcome,
        facts={
            "says_directed_surveillance": "directed surveillance" in message.message,
            "says_consult_legal_adviser": "legal adviser" in message.message,
        },
    )


def fourth_viewing_under_separate_approved_requests(w: World) -> Outcome:
    colleague = allocated_worker(w.manager, w.case.id, "willa")
    first, second, third, fourth = (
        _approved(w, author=author) for author in (w.worker, colleague, w.worker, colleague)
    )
    _view(w, w.worker, first.id)
    _view(w, colleague, second.id)
    _view(w, w.worker, third.id)
    return _capture_outcome(w, colleague, fourth.id)


def fourth_viewing_with_an_authorisation_reference(w: World) -> Outcome:
    mine, _ = _three_looks_by_two_workers(w)
    _authorised(w, mine)
    outcome, permission = _capture(w, w.worker, mine.id)
    assert permission is not None
    return replace(
        outcome,
        facts={
            "meter_state": permission.meter.state if permission.meter else None,
            "authorisation_recorded_events": count_events(w.casefile, "authorisation.confirmed"),
            "warning_mentions_the_authorisation": "authorisation" in permission.warning.lower(),
        },
    )


def fourth_viewing_with_an_unconfirmed_authorisation(w: World) -> Outcome:
    mine, _ = _three_looks_by_two_workers(w)
    _authorise(w, mine)
    return _capture_outcome(w, w.worker, mine.id)


def authorisation_on_another_request(w: World) -> Outcome:
    colleague = allocated_worker(w.manager, w.case.id, "willa")
    first, second, third, fourth = (
        _approved(w, author=author) for author in (w.worker, colleague, w.worker, colleague)
    )
    for session, record in ((w.worker, first), (colleague, second), (w.worker, third)):
        _view(w, session, record.id)
    _authorised(w, first)
    return _capture_outcome(w, colleague, fourth.id)


def _three_looks_then(w: World, days: int) -> None:
    record = _approved(w, planned_viewings=3)
    for _ in range(3):
        _view(w, w.worker, record.id)
    w.clock.advance(days=days)


def viewings_91_days_ago_no_longer_count(w: World) -> Outcome:
    _three_looks_then(w, 91)
    outcome, permission = _capture(w, w.worker, _approved(w).id)
    assert permission is not None and permission.meter is not None
    return replace(
        outcome,
        facts={
            "meter_state": permission.meter.state,
            "meter_count": permission.meter.count_in_window,
        },
    )


def viewings_89_days_ago_still_count(w: World) -> Outcome:
    _three_looks_then(w, 89)
    return _submit(w)


def expired_request(w: World) -> Outcome:
    record = _approved(w)  # valid for 14 days
    w.clock.advance(days=15)
    return _capture_outcome(w, w.worker, record.id)


def _emergency(w: World) -> JustificationRecord:
    return submitted(w.worker, w.case.id, _request(w, **emergency_changes()))


def emergency_usable_at_once_by_its_author(w: World) -> Outcome:
    record = _emergency(w)
    outcome = _capture_outcome(w, w.worker, record.id)
    return replace(outcome, facts={"status": record.status, "state": record.emergency_state})


def emergency_still_usable_at_23_hours(w: World) -> Outcome:
    record = _emergency(w)
    w.clock.advance(hours=23)
    return _capture_outcome(w, w.worker, record.id)


def emergency_unreviewed_after_24_hours(w: World) -> Outcome:
    older = submitted(w.worker, w.case.id, _request(w))
    w.clock.advance(hours=1)
    record = _emergency(w)
    w.clock.advance(hours=25)
    outcome = _capture_outcome(w, w.worker, record.id)
    for _ in range(3):  # several reads and sign-ins, by several people
        justifications.get(w.manager, record.id)
        justifications.list_for_case(w.worker, w.case.id)
        justifications.notice_overdue(w.worker)
        justifications.notice_overdue(w.manager)
    queue = justifications.review_queue(w.manager)
    return replace(
        outcome,
        facts={
            "overdue": justifications.get(w.worker, record.id).overdue,
            "queue": [r.id for r in queue],
            "expected_queue": [record.id, older.id],
            "overdue_events": count_events(w.casefile, "justification.overdue"),
        },
    )


def unallocated_worker(w: World) -> Outcome:
    return _capture_outcome(w, w.other_worker, _approved(w).id)


def closed_case(w: World) -> Outcome:
    record = _approved(w)
    cases.set_status(w.manager, w.case.id, "closed")
    return _capture_outcome(w, w.worker, record.id)


def host_outside_scope(w: World) -> Outcome:
    return _capture_outcome(w, w.worker, _approved(w).id, url="https://elsewhere.example/kerry")


def look_alike_host_ending_in_the_scope_host(w: World) -> Outcome:
    return _capture_outcome(w, w.worker, _approved(w).id, url="https://evilsocial.example/kerry")


def scope_host_as_the_start_of_another_domain(w: World) -> Outcome:
    url = "https://social.example.evil.example/kerry"
    return _capture_outcome(w, w.worker, _approved(w).id, url=url)


def subdomain_of_a_scope_host(w: World) -> Outcome:
    return _capture_outcome(w, w.worker, _approved(w).id, url="https://m.social.example/kerry")


def subject_not_named_in_the_request(w: World) -> Outcome:
    return _capture_outcome(w, w.worker, _approved(w).id, subject_id=w.child.id)


def javascript_url(w: World) -> Outcome:
    return _capture_outcome(w, w.worker, _approved(w).id, url="javascript:alert(document.cookie)")


def file_url(w: World) -> Outcome:
    return _capture_outcome(w, w.worker, _approved(w).id, url="file:///etc/passwd")


def url_with_user_and_password(w: World) -> Outcome:
    return _capture_outcome(
        w, w.worker, _approved(w).id, url="https://user:pass@social.example/kerry"
    )


def capture_without_re_attestation(w: World) -> Outcome:
    return _capture_outcome(w, w.worker, _approved(w).id, attested=False)


def draft_request(w: World) -> Outcome:
    record = justifications.create(w.worker, w.case.id, _request(w))
    return _capture_outcome(w, w.worker, record.id)


def submitted_request_not_yet_approved(w: World) -> Outcome:
    return _capture_outcome(w, w.worker, submitted(w.worker, w.case.id, _request(w)).id)


def _decided(w: World, decision: str) -> Outcome:
    record = submitted(w.worker, w.case.id, _request(w))
    justifications.review(w.manager, record.id, decision, "The question is too broad.")
    return _capture_outcome(w, w.worker, record.id)


def rejected_request(w: World) -> Outcome:
    return _decided(w, "reject")


def returned_request(w: World) -> Outcome:
    return _decided(w, "return")


def cancelled_request(w: World) -> Outcome:
    record = _approved(w)
    justifications.cancel(w.worker, record.id, "The child was found.")
    return _capture_outcome(w, w.worker, record.id)


def request_from_another_case(w: World) -> Outcome:
    other = cases.create_case(w.manager, "CP-2026-0099", "Jones family")
    cases.allocate(w.manager, other.id, w.worker.user.username)
    person = cases.add_subject(w.manager, other.id, "Lee Jones", "parent")
    record = approved(w.worker, w.manager, other.id, make_request([person.id], w.clock()))
    return _capture_outcome(w, w.worker, record.id)


# --- the table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    run: Callable[[World], Outcome]
    kind: str  # capture, submit, review or authorise: what the last step asks
    allowed: bool
    rule: str | None = None
    facts: Mapping[str, object] = field(default_factory=dict)


SCENARIOS = {
    "complete-request-approved-by-another-manager-allows-capture": Scenario(
        complete_request_approved_by_another_manager, "capture", True
    ),
    "manager-author-approved-by-another-manager-may-capture": Scenario(
        manager_author_approved_by_another_manager, "capture", True
    ),
    "self-approval-by-a-manager-author-is-refused-by-service-and-database": Scenario(
        self_approval_by_manager_author,
        "review",
        False,
        "self_review",
        {"raw_insert_refused": True, "reviews": 0},
    ),
    "worker-tries-to-review": Scenario(worker_tries_to_review, "review", False, "role"),
    "auditor-tries-to-review": Scenario(auditor_tries_to_review, "review", False, "role"),
    "auditor-tries-to-capture": Scenario(auditor_tries_to_capture, "capture", False, "role"),
    "worker-records-an-authorisation-reference": Scenario(
        worker_records_an_authorisation_reference, "authorise", False, "role"
    ),
    "friends-only-content-not-attested-blocks-submission": Scenario(
        friends_only_content_not_attested,
        "submit",
        False,
        "attest_no_restricted_content.not_attested",
    ),
    "five-planned-viewings-block-submission": Scenario(
        five_planned_viewings, "submit", False, "planned_viewings.too_many"
    ),
    "family-not-told-with-no-reason-blocks-submission": Scenario(
        family_not_told_with_no_reason, "submit", False, "family_told_reason.missing"
    ),
    "boilerplate-question-safeguarding-blocks-submission": Scenario(
        boilerplate_question, "submit", False, "question.boilerplate"
    ),
    "validity-of-29-days-blocks-submission": Scenario(
        validity_beyond_28_days, "submit", False, "valid_until.too_far"
    ),
    "validity-of-exactly-28-days-may-be-submitted": Scenario(
        validity_of_exactly_28_days, "submit", True
    ),
    "emergency-without-a-reason-blocks-submission": Scenario(
        emergency_without_reason, "submit", False, "emergency_reason.missing"
    ),
    "second-look-when-one-was-planned": Scenario(
        second_look_when_one_was_planned, "capture", False, "planned_viewings_used"
    ),
    "second-viewing-is-allowed-with-a-warning-naming-the-codes-factors": Scenario(
        second_viewing_warns_with_the_codes_factors,
        "capture",
        True,
        None,
        {"meter_state": "warn", "warning_names_every_factor": True},
    ),
    "fourth-viewing-in-90-days-across-two-workers-is-stopped": Scenario(
        fourth_viewing_in_90_days_across_two_workers,
        "capture",
        False,
        "meter_stop",
        {"says_directed_surveillance": True, "says_consult_legal_adviser": True},
    ),
    "fourth-viewing-under-four-separate-approved-requests-is-stopped": Scenario(
        fourth_viewing_under_separate_approved_requests, "capture", False, "meter_stop"
    ),
    "fourth-viewing-with-a-managers-authorisation-reference-is-allowed-and-flagged": Scenario(
        fourth_viewing_with_an_authorisation_reference,
        "capture",
        True,
        None,
        {
            "meter_state": "authorised",
            "authorisation_recorded_events": 1,
            "warning_mentions_the_authorisation": True,
        },
    ),
    "fourth-viewing-with-an-unconfirmed-authorisation-is-stopped": Scenario(
        fourth_viewing_with_an_unconfirmed_authorisation, "capture", False, "meter_stop"
    ),
    "authorisation-on-another-request-does-not-lift-the-stop-line": Scenario(
        authorisation_on_another_request, "capture", False, "meter_stop"
    ),
    "viewings-91-days-ago-no-longer-count": Scenario(
        viewings_91_days_ago_no_longer_count,
        "capture",
        True,
        None,
        {"meter_state": "ok", "meter_count": 0},
    ),
    "three-viewings-89-days-ago-still-block-a-new-request": Scenario(
        viewings_89_days_ago_still_count, "submit", False, "meter.stop"
    ),
    "expired-request": Scenario(expired_request, "capture", False, "expired"),
    "emergency-is-usable-at-once-by-its-author-before-review": Scenario(
        emergency_usable_at_once_by_its_author,
        "capture",
        True,
        None,
        {"status": "submitted", "state": "live"},
    ),
    "emergency-is-still-usable-at-23-hours": Scenario(
        emergency_still_usable_at_23_hours, "capture", True
    ),
    "emergency-unreviewed-after-24-hours-is-overdue": Scenario(
        emergency_unreviewed_after_24_hours,
        "capture",
        False,
        "emergency_overdue",
        {"overdue": True, "overdue_events": 1},
    ),
    "unallocated-worker": Scenario(unallocated_worker, "capture", False, "allocation"),
    "closed-case": Scenario(closed_case, "capture", False, "case_closed"),
    "host-outside-the-scope": Scenario(host_outside_scope, "capture", False, "host_out_of_scope"),
    "look-alike-host-ending-in-the-scope-host-name": Scenario(
        look_alike_host_ending_in_the_scope_host, "capture", False, "host_out_of_scope"
    ),
    "scope-host-as-the-start-of-another-domain": Scenario(
        scope_host_as_the_start_of_another_domain, "capture", False, "host_out_of_scope"
    ),
    "subdomain-of-a-scope-host": Scenario(subdomain_of_a_scope_host, "capture", True),
    "subject-not-named-in-the-request": Scenario(
        subject_not_named_in_the_request, "capture", False, "subject_not_covered"
    ),
    "javascript-url": Scenario(javascript_url, "capture", False, "url_not_allowed"),
    "file-url": Scenario(file_url, "capture", False, "url_not_allowed"),
    "url-with-user-and-password": Scenario(
        url_with_user_and_password, "capture", False, "url_not_allowed"
    ),
    "capture-without-re-attestation": Scenario(
        capture_without_re_attestation, "capture", False, "attestation_missing"
    ),
    "draft-request": Scenario(draft_request, "capture", False, "status"),
    "submitted-request-not-an-emergency": Scenario(
        submitted_request_not_yet_approved, "capture", False, "status"
    ),
    "rejected-request": Scenario(rejected_request, "capture", False, "status"),
    "returned-request": Scenario(returned_request, "capture", False, "status"),
    "cancelled-request": Scenario(cancelled_request, "capture", False, "status"),
    "request-written-for-another-case": Scenario(
        request_from_another_case, "capture", False, "wrong_case"
    ),
}


def _params(keep: Callable[[Scenario], bool]) -> list[object]:
    return [pytest.param(s, id=name) for name, s in SCENARIOS.items() if keep(s)]


@pytest.mark.parametrize("scenario", _params(lambda s: True))
def test_scenario_is_allowed_or_refused_by_its_rule(world: World, scenario: Scenario) -> None:
    outcome = scenario.run(world)
    assert (outcome.allowed, outcome.rule) == (scenario.allowed, scenario.rule)


@pytest.mark.parametrize("scenario", _params(lambda s: bool(s.facts)))
def test_scenario_shows_what_it_promises(world: World, scenario: Scenario) -> None:
    outcome = scenario.run(world)
    assert {key: outcome.facts.get(key) for key in scenario.facts} == dict(scenario.facts)


@pytest.mark.parametrize("scenario", _params(lambda s: s.kind == "capture" and not s.allowed))
def test_refused_capture_stores_one_refused_viewing_and_one_event_only(
    world: World, scenario: Scenario
) -> None:
    outcome = scenario.run(world)
    assert outcome.stored == (1, 1, 0)


@pytest.mark.parametrize("scenario", _params(lambda s: s.kind == "capture" and s.allowed))
def test_allowed_capture_check_stores_nothing(world: World, scenario: Scenario) -> None:
    outcome = scenario.run(world)
    assert outcome.stored == (0, 0, 0)


def test_overdue_emergency_heads_the_review_queue(world: World) -> None:
    outcome = emergency_unreviewed_after_24_hours(world)
    assert outcome.facts["queue"] == outcome.facts["expected_queue"]


def test_the_table_has_at_least_25_scenarios() -> None:
    assert len(SCENARIOS) >= 25


def test_the_refused_viewing_names_the_rule(world: World) -> None:
    record = _approved(world)
    with pytest.raises(GateRefused):
        viewings.authorise(
            world.worker, world.case.id, record.id, world.subject.id, URL, attested=False
        )
    [stored] = viewings.list_for_subject(world.manager, world.subject.id)
    assert (stored.outcome, stored.rule, stored.user) == ("refused", "attestation_missing", "wren")


def test_timestamps_in_a_refusal_come_from_the_clock(world: World) -> None:
    record = _approved(world)
    world.clock.advance(hours=2)
    with pytest.raises(GateRefused):
        viewings.authorise(
            world.worker, world.case.id, record.id, world.child.id, URL, attested=True
        )
    [stored] = viewings.list_for_subject(world.manager, world.child.id)
    assert stored.at == world.clock()


def test_an_unreviewed_emergency_is_usable_by_its_author_only(world: World) -> None:
    colleague = allocated_worker(world.manager, world.case.id, "willa")
    record = _emergency(world)
    outcome = _capture_outcome(world, colleague, record.id)
    assert outcome.allowed is False
