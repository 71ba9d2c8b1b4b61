"""Looks at a subject's pages: completed and refused viewings, the meter, and the policy."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from gate_support import (
    URL,
    allocated_worker,
    approved,
    count_events,
    count_viewings,
    event_data,
    make_request,
)

import ethics
from caseview import audit, authorisations, policy, viewings
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import GateRefused, PermissionDenied, ValidationError
from caseview.justifications import JustificationRecord
from caseview.session import Session

STRICTER = 'name = "Test council"\nmeter_stop_at = 3\n'

pytestmark = pytest.mark.both_engines


@pytest.fixture
def approved_(
    worker: Session, manager: Session, case: Case, subject: Subject, clock: FixedClock
) -> JustificationRecord:
    return approved(worker, manager, case.id, make_request([subject.id], clock()))


@pytest.fixture
def planning_3(
    worker: Session, manager: Session, case: Case, subject: Subject, clock: FixedClock
) -> JustificationRecord:
    return approved(
        worker, manager, case.id, make_request([subject.id], clock(), planned_viewings=3)
    )


def _view(session: Session, case: Case, subject: Subject, record: JustificationRecord) -> int:
    return viewings.record_view(session, case.id, record.id, subject.id, URL, attested=True)[0]


# --- completed looks -----------------------------------------------------------------


def test_record_view_stores_a_completed_viewing(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    viewing_id = _view(worker, case, subject, approved_)
    [stored] = viewings.list_for_subject(worker, subject.id)
    assert (stored.id, stored.outcome, stored.kind, stored.user, stored.url) == (
        viewing_id,
        "completed",
        "view",
        "wren",
        URL,
    )


def test_record_view_links_the_justification(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    _view(worker, case, subject, approved_)
    [stored] = viewings.list_for_subject(worker, subject.id)
    assert (stored.justification_id, stored.case_id, stored.rule) == (approved_.id, case.id, None)


def test_record_view_is_stamped_by_the_clock(
    worker: Session, case: Case, subject: Subject, clock: FixedClock, approved_: JustificationRecord
) -> None:
    clock.advance(minutes=17)
    _view(worker, case, subject, approved_)
    assert viewings.list_for_subject(worker, subject.id)[0].at == clock()


def test_record_view_audits_the_justification_hash(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    viewing_id = _view(worker, case, subject, approved_)
    [data] = event_data(worker.casefile, "viewing.view")
    assert (data["justification_hash"], data["justification_id"], data["url"]) == (
        approved_.content_hash,
        approved_.id,
        URL,
    )
    assert viewing_id == viewings.list_for_subject(worker, subject.id)[0].id


def test_record_view_audits_the_meter_before_the_look(
    worker: Session, case: Case, subject: Subject, planning_3: JustificationRecord
) -> None:
    _view(worker, case, subject, planning_3)
    _view(worker, case, subject, planning_3)
    states = [
        (d["meter_count_before"], d["meter_state"])
        for d in event_data(worker.casefile, "viewing.view")
    ]
    assert states == [(0, "ok"), (1, "warn")]


def test_record_view_under_an_authorisation_audits_the_reference(
    manager: Session,
    second_manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    approved_: JustificationRecord,
) -> None:
    today = worker.now().date()
    made = authorisations.record(
        manager,
        approved_.id,
        reference="RIPA-2026-017",
        officer="Sam Patel, Director of Legal Services",
        magistrate_approved_on=today,
        expires_on=today + timedelta(days=30),
        subject_id=subject.id,
    )
    authorisations.confirm(second_manager, made.id)
    _view(worker, case, subject, approved_)
    [data] = event_data(worker.casefile, "viewing.view")
    assert "RIPA-2026-017" in json.dumps(data)


def test_a_first_look_carries_no_warning(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    _, permission = viewings.record_view(
        worker, case.id, approved_.id, subject.id, URL, attested=True
    )
    assert (permission.allowed, permission.warning, permission.meter.state) == (  # type: ignore[union-attr]
        True,
        "",
        "ok",
    )


# --- refused looks -------------------------------------------------------------------


def test_refused_view_raises_naming_the_rule(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    with pytest.raises(GateRefused) as caught:
        viewings.record_view(worker, case.id, approved_.id, subject.id, URL, attested=False)
    assert (caught.value.rule, "attestation_missing" in str(caught.value)) == (
        "attestation_missing",
        True,
    )


def test_refused_view_is_stored_as_a_refused_viewing(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    with pytest.raises(GateRefused):
        viewings.record_view(worker, case.id, approved_.id, subject.id, URL, attested=False)
    [stored] = viewings.list_for_subject(worker, subject.id)
    assert (stored.outcome, stored.kind, stored.rule, bool(stored.message)) == (
        "refused",
        "view",
        "attestation_missing",
        True,
    )


def test_refused_view_stores_exactly_one_row_and_one_event(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    with pytest.raises(GateRefused):
        viewings.record_view(worker, case.id, approved_.id, subject.id, URL, attested=False)
    casefile = worker.casefile
    assert (
        count_viewings(casefile, "refused"),
        count_events(casefile, "viewing.refused"),
        count_viewings(casefile, "completed"),
        count_events(casefile, "viewing.view"),
    ) == (1, 1, 0, 0)


def test_refusal_event_says_what_was_refused(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    bad = "https://elsewhere.example/kerry"
    with pytest.raises(GateRefused):
        viewings.record_view(worker, case.id, approved_.id, subject.id, bad, attested=True)
    [data] = event_data(worker.casefile, "viewing.refused")
    assert (data["rule"], data["url"], data["kind"], data["justification_id"]) == (
        "host_out_of_scope",
        bad,
        "view",
        approved_.id,
    )


def test_authorise_for_capture_stores_the_refusal_as_a_capture(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    with pytest.raises(GateRefused):
        viewings.authorise(worker, case.id, approved_.id, subject.id, URL, attested=False)
    assert viewings.list_for_subject(worker, subject.id)[0].kind == "capture"


def test_check_alone_stores_nothing(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    permission = viewings.check(worker, case.id, approved_.id, subject.id, URL, attested=False)
    assert (permission.allowed, viewings.list_for_subject(worker, subject.id)) == (False, [])


# --- the meter -----------------------------------------------------------------------


def test_meter_counts_completed_viewings_by_every_user(
    manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    approved_: JustificationRecord,
) -> None:
    colleague = allocated_worker(manager, case.id, "willa")
    theirs = approved(colleague, manager, case.id, make_request([subject.id], clock()))
    _view(worker, case, subject, approved_)
    _view(colleague, case, subject, theirs)
    assert viewings.meter_for(worker, subject.id).count_in_window == 2


def test_meter_ignores_refused_viewings(
    worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    for _ in range(3):
        with pytest.raises(GateRefused):
            viewings.record_view(worker, case.id, approved_.id, subject.id, URL, attested=False)
    assert viewings.meter_for(worker, subject.id).count_in_window == 0


def test_meter_counts_only_its_subject(
    worker: Session,
    case: Case,
    subject: Subject,
    child: Subject,
    approved_: JustificationRecord,
) -> None:
    _view(worker, case, subject, approved_)
    assert viewings.meter_for(worker, child.id).count_in_window == 0


@pytest.mark.parametrize(("days", "counted"), [(89, 1), (90, 1), (91, 0)])
def test_meter_window_is_90_days(
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    approved_: JustificationRecord,
    days: int,
    counted: int,
) -> None:
    _view(worker, case, subject, approved_)
    clock.advance(days=days)
    assert viewings.meter_for(worker, subject.id).count_in_window == counted


@pytest.mark.parametrize(("looks", "state"), [(0, "ok"), (1, "warn"), (2, "warn"), (3, "stop")])
def test_meter_state_follows_the_default_policy(
    worker: Session,
    case: Case,
    subject: Subject,
    planning_3: JustificationRecord,
    looks: int,
    state: str,
) -> None:
    for _ in range(looks):
        _view(worker, case, subject, planning_3)
    assert viewings.meter_for(worker, subject.id).state == state


def test_meter_stop_names_directed_surveillance_and_whom_to_consult(
    worker: Session, case: Case, subject: Subject, planning_3: JustificationRecord
) -> None:
    for _ in range(3):
        _view(worker, case, subject, planning_3)
    message = viewings.meter_for(worker, subject.id).message
    assert ("directed surveillance" in message, "legal adviser" in message) == (True, True)


def test_unallocated_worker_cannot_read_the_meter(other_worker: Session, subject: Subject) -> None:
    with pytest.raises(PermissionDenied) as caught:
        viewings.meter_for(other_worker, subject.id)
    assert caught.value.rule == "allocation"


# --- who may read the viewings -------------------------------------------------------


def test_unallocated_worker_cannot_list_viewings(
    other_worker: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    approved_: JustificationRecord,
) -> None:
    _view(worker, case, subject, approved_)
    with pytest.raises(PermissionDenied) as caught:
        viewings.list_for_subject(other_worker, subject.id)
    assert caught.value.rule == "allocation"


def test_auditor_lists_viewings(
    auditor: Session, worker: Session, case: Case, subject: Subject, approved_: JustificationRecord
) -> None:
    _view(worker, case, subject, approved_)
    with pytest.raises(GateRefused):
        _view(worker, case, subject, approved_)
    listed = viewings.list_for_subject(auditor, subject.id)
    assert [v.outcome for v in listed] == ["refused", "completed"]


def test_unallocated_worker_refusal_is_recorded_against_them(
    manager: Session,
    other_worker: Session,
    case: Case,
    subject: Subject,
    approved_: JustificationRecord,
) -> None:
    with pytest.raises(GateRefused):
        _view(other_worker, case, subject, approved_)
    # Read by a manager: on a server, the worker cannot read back what they may not see.
    [data] = event_data(manager.casefile, "viewing.refused")
    assert data["rule"] == "allocation"
    refused = audit.list_events(manager, case.id)[-1]
    assert (refused.action, refused.actor) == ("viewing.refused", "otto")


# --- the policy ------------------------------------------------------------------------


def test_without_a_stored_policy_the_defaults_apply(manager: Session) -> None:
    assert policy.current(manager.casefile) == ethics.default_policy()


def test_manager_sets_the_policy(manager: Session) -> None:
    policy.set_policy(manager, STRICTER)
    rules = policy.current(manager.casefile)
    assert (rules.name, rules.meter_stop_at) == ("Test council", 3)


def test_setting_the_policy_is_audited_with_its_text(manager: Session) -> None:
    policy.set_policy(manager, STRICTER)
    [data] = event_data(manager.casefile, "policy.set")
    assert (data["name"], data["toml"]) == ("Test council", STRICTER)


def test_a_stricter_policy_moves_the_stop_line(
    manager: Session, worker: Session, case: Case, subject: Subject, planning_3: JustificationRecord
) -> None:
    policy.set_policy(manager, STRICTER)
    _view(worker, case, subject, planning_3)
    _view(worker, case, subject, planning_3)
    assert viewings.meter_for(worker, subject.id).state == "stop"


def test_a_stricter_policy_refuses_the_third_look(
    manager: Session, worker: Session, case: Case, subject: Subject, planning_3: JustificationRecord
) -> None:
    policy.set_policy(manager, STRICTER)
    _view(worker, case, subject, planning_3)
    _view(worker, case, subject, planning_3)
    with pytest.raises(GateRefused) as caught:
        _view(worker, case, subject, planning_3)
    assert caught.value.rule == "meter_stop"


@pytest.mark.parametrize("who", ["worker", "auditor"])
def test_only_a_manager_sets_the_policy(
    request: pytest.FixtureRequest, manager: Session, who: str
) -> None:
    session: Session = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied) as caught:
        policy.set_policy(session, STRICTER)
    assert (caught.value.rule, policy.current(manager.casefile)) == (
        "role",
        ethics.default_policy(),
    )


def test_an_invalid_policy_is_refused_and_nothing_changes(manager: Session) -> None:
    with pytest.raises(ValidationError, match="meter_warn_from"):
        policy.set_policy(manager, "meter_warn_from = 5\nmeter_stop_at = 3\n")
    assert (policy.current(manager.casefile), count_events(manager.casefile, "policy.set")) == (
        ethics.default_policy(),
        0,
    )


def test_a_later_policy_replaces_the_earlier_one(manager: Session, second_manager: Session) -> None:
    policy.set_policy(manager, STRICTER)
    relaxed = policy.set_policy(manager, 'name = "Relaxed"\n')  # loosens: a second manager
    assert relaxed.id is not None
    policy.confirm_policy(second_manager, relaxed.id)
    assert policy.current(manager.casefile).meter_stop_at == 4


def test_the_stop_line_of_a_new_policy_applies_to_earlier_looks(
    manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    planning_3: JustificationRecord,
) -> None:
    _view(worker, case, subject, planning_3)
    clock.advance(days=1)
    _view(worker, case, subject, planning_3)
    policy.set_policy(manager, STRICTER)
    assert viewings.meter_for(worker, subject.id).state == "stop"


def test_a_longer_window_counts_older_looks(
    manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    approved_: JustificationRecord,
) -> None:
    _view(worker, case, subject, approved_)
    clock.advance(days=120)
    policy.set_policy(manager, "meter_window_days = 180\n")
    assert viewings.meter_for(worker, subject.id).count_in_window == 1


def test_a_look_a_second_over_90_days_old_no_longer_counts(
    worker: Session, case: Case, subject: Subject, clock: FixedClock, approved_: JustificationRecord
) -> None:
    _view(worker, case, subject, approved_)
    clock.advance(days=90, seconds=1)
    assert viewings.meter_for(worker, subject.id).count_in_window == 0


def test_a_refusal_naming_a_justification_that_does_not_exist_is_still_recorded(
    manager: Session, other_worker: Session, case: Case, subject: Subject
) -> None:
    # Allocation refuses before the justification is looked up; the refusal must still
    # be stored (without a dangling reference) rather than crash.
    with pytest.raises(GateRefused) as refused:
        viewings.authorise(
            other_worker, case.id, 999, subject.id, "https://social.example/k", attested=True
        )
    assert refused.value.rule == "allocation"
    row = manager.casefile.conn.execute(
        "SELECT outcome, rule, justification_id FROM viewings ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert tuple(row) == ("refused", "allocation", None)
