"""Legal scenarios from the Code of practice and council protocols, played through the
services: the rules DOMAIN.md sets that the scenario table did not yet play, and the
cases a review found the gate got wrong (a look at another person's page by a path
that resolves there, a whole domain ending as scope, a plan to deceive, a pasted prompt).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from gate_support import (
    PASSWORD,
    URL,
    allocated_worker,
    approved,
    count_viewings,
    emergency_changes,
    make_request,
    submitted,
)

import ethics
from caseview import accounts, authorisations, cases, justifications, viewings
from caseview.domain import Case, Subject
from caseview.errors import GateRefused, PermissionDenied
from caseview.justifications import JustificationRecord
from caseview.session import Session

REASONS = "Proportionate to the risk; one look only."


def _request(subject: Subject, session: Session, **changes: object) -> ethics.Justification:
    return make_request([subject.id], session.now(), **changes)  # type: ignore[arg-type]


def _submit_refusal(
    worker: Session, case: Case, request: ethics.Justification
) -> tuple[JustificationRecord, set[str]]:
    record = justifications.create(worker, case.id, request)
    with pytest.raises(GateRefused) as refused:
        justifications.submit(worker, record.id)
    codes = {f.code for f in refused.value.findings}  # type: ignore[attr-defined]
    return justifications.get(worker, record.id), codes


@pytest.fixture
def alex(manager: Session) -> Subject:
    """Another parent, in another case, whose profile page is known."""
    other = cases.create_case(manager, "CP-2026-0077", "Roe family")
    return cases.add_subject(
        manager, other.id, "Alex Roe", "parent", handles=["https://social.example/alex"]
    )


# --- a path that resolves to another person's page ----------------------------------------


@pytest.mark.both_engines
@pytest.mark.parametrize(
    "url",
    [
        "https://social.example/kerry/../alex",
        "https://social.example/kerry/%2E%2E/alex",
        "https://social.example/%61lex",
        "https://social.example//alex",
    ],
)
def test_a_look_at_another_persons_page_by_a_resolving_path_is_refused(
    manager: Session, worker: Session, case: Case, subject: Subject, alex: Subject, url: str
) -> None:
    # Site-wide scope: the request is about Kerry, the page fetched would be Alex's.
    record = approved(worker, manager, case.id, _request(subject, worker))
    with pytest.raises(GateRefused) as refused:
        viewings.record_view(worker, case.id, record.id, subject.id, url, attested=True)
    assert refused.value.rule == ethics.RULE_OTHER_PERSON
    assert count_viewings(manager.casefile, "completed") == 0
    assert count_viewings(manager.casefile, "refused") == 1


def test_kerrys_own_page_by_a_resolving_path_is_allowed_and_counts_for_her(
    manager: Session, worker: Session, case: Case, subject: Subject, alex: Subject
) -> None:
    record = approved(worker, manager, case.id, _request(subject, worker))
    url = "https://social.example/alex/../kerry/photos"
    _, permission = viewings.record_view(worker, case.id, record.id, subject.id, url, attested=True)
    assert permission.allowed
    assert viewings.meter_for(manager, subject.id).count_in_window == 1
    assert viewings.meter_for(manager, alex.id).count_in_window == 0


@pytest.mark.both_engines
def test_two_facebook_profiles_known_by_their_id_are_two_people(
    manager: Session, worker: Session, case: Case
) -> None:
    kerry = cases.add_subject(
        manager, case.id, "Kerry Smith", "parent", handles=["facebook.com/profile.php?id=111"]
    )
    other = cases.create_case(manager, "CP-2026-0078", "Roe family")
    alex = cases.add_subject(
        manager, other.id, "Alex Roe", "parent", handles=["facebook.com/profile.php?id=222"]
    )
    request = make_request([kerry.id], worker.now(), scope_hosts=("facebook.com",))
    record = approved(worker, manager, case.id, request)
    mine = "https://www.facebook.com/profile.php?id=111&sk=photos"
    viewings.record_view(worker, case.id, record.id, kerry.id, mine, attested=True)
    assert viewings.meter_for(manager, kerry.id).count_in_window == 1
    assert viewings.meter_for(manager, alex.id).count_in_window == 0
    theirs = "https://www.facebook.com/profile.php?id=222"
    refused = viewings.check(worker, case.id, record.id, kerry.id, theirs, attested=True)
    assert refused.rule == ethics.RULE_OTHER_PERSON


# --- scope: one site, and only the site named ------------------------------------------


@pytest.mark.parametrize("host", ["com", "co.uk", "org.uk"])
def test_a_domain_ending_as_scope_blocks_submission(
    worker: Session, case: Case, subject: Subject, host: str
) -> None:
    request = _request(subject, worker, scope_hosts=(host,))
    record, codes = _submit_refusal(worker, case, request)
    assert "scope_hosts.invalid" in codes
    assert record.status == "draft"


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("https://SOCIAL.EXAMPLE./kerry", None),
        ("https://social.example:443/kerry#latest", None),
        ("https://s\u043ecial.example/kerry", ethics.RULE_HOST_SCOPE),  # Cyrillic o
        ("https://social.example.evil.example/kerry", ethics.RULE_HOST_SCOPE),
        ("https://xn--socal-7nf.example/kerry", ethics.RULE_HOST_SCOPE),
    ],
)
def test_the_scope_host_is_matched_as_the_capture_will_connect(
    manager: Session, worker: Session, case: Case, subject: Subject, url: str, rule: str | None
) -> None:
    record = approved(worker, manager, case.id, _request(subject, worker))
    permission = viewings.check(worker, case.id, record.id, subject.id, url, attested=True)
    assert permission.rule == rule


# --- no deception: the plan of the look is read against the promises ----------------------


@pytest.mark.parametrize(
    ("plan", "code"),
    [
        (
            "Send the mother a friend request and record posts that show the named man.",
            "attest_no_interaction.not_attested",
        ),
        (
            "Log in as a member and record posts that show the named man this week.",
            "attest_logged_out.not_attested",
        ),
        (
            "Join the closed group the mother runs and record posts that show the named man.",
            "attest_no_restricted_content.not_attested",
        ),
        (
            "Create a dummy account and record posts that show the named man this week.",
            "attest_no_personal_or_fake_profile.not_attested",
        ),
    ],
)
def test_a_deceptive_plan_is_refused_at_submission_with_every_box_ticked(
    worker: Session, case: Case, subject: Subject, plan: str, code: str
) -> None:
    record, codes = _submit_refusal(worker, case, _request(subject, worker, proportionality=plan))
    assert code in codes
    assert record.status == "draft"


def test_a_plan_that_promises_no_deception_is_submitted(
    worker: Session, case: Case, subject: Subject
) -> None:
    plan = (
        "One viewing of her public profile without logging in; no friend request, "
        "recording only posts that show the named man."
    )
    record = submitted(worker, case.id, _request(subject, worker, proportionality=plan))
    assert record.status == "submitted"


def test_the_forms_prompt_pasted_as_the_ethics_case_is_refused(
    worker: Session, case: Case, subject: Subject
) -> None:
    pasted = (
        "Describe the intrusion on the family's privacy, their trust and your working "
        "relationship, and how the posts could be misread."
    )
    _, codes = _submit_refusal(worker, case, _request(subject, worker, ethics_case=pasted))
    assert "ethics_case.boilerplate" in codes


# --- a manager's approval, never one's own --------------------------------------------------


def test_a_worker_promoted_to_manager_cannot_approve_their_own_request(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    record = submitted(worker, case.id, _request(subject, worker))
    accounts.set_role(manager, worker.actor, "manager")
    promoted = accounts.login(manager.casefile, worker.actor, PASSWORD, clock=manager.clock)
    with pytest.raises(PermissionDenied) as refused:
        justifications.review(promoted, record.id, "approve", REASONS)
    assert refused.value.rule == "self_review"
    assert justifications.get(manager, record.id).status == "submitted"


def test_a_manager_who_edited_the_draft_cannot_approve_it(
    manager: Session, second_manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    request = _request(subject, worker)
    record = justifications.create(worker, case.id, request)
    sharper = dataclasses.replace(
        request, question=request.question + " Does he appear in photos taken in the home?"
    )
    justifications.edit(manager, record.id, sharper)
    justifications.submit(worker, record.id)
    with pytest.raises(PermissionDenied) as refused:
        justifications.review(manager, record.id, "approve", REASONS)
    assert refused.value.rule == "self_review"
    decided = justifications.review(second_manager, record.id, "approve", REASONS)
    assert decided.status == "approved"


def test_a_manager_who_revised_a_submitted_request_is_its_author_and_cannot_approve_it(
    manager: Session, second_manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    request = _request(subject, worker)
    first = submitted(worker, case.id, request)
    revised = justifications.edit(
        manager, first.id, dataclasses.replace(request, planned_viewings=1)
    )
    assert revised.author == manager.actor
    justifications.submit(manager, revised.id)
    with pytest.raises(PermissionDenied) as refused:
        justifications.review(manager, revised.id, "approve", REASONS)
    assert refused.value.rule == "self_review"


@pytest.mark.parametrize("reasons", ["OK. Agreed. Approved.", "Approved as requested, see above."])
def test_an_approval_made_of_stock_words_gives_no_reasons(
    manager: Session, worker: Session, case: Case, subject: Subject, reasons: str
) -> None:
    record = submitted(worker, case.id, _request(subject, worker))
    with pytest.raises(GateRefused) as refused:
        justifications.review(manager, record.id, "approve", reasons)
    assert (refused.value.exit_code, refused.value.rule) == (3, "approval_reasons")
    assert justifications.get(manager, record.id).status == "submitted"


# --- the stop: one person cannot lift it, and an expired authorisation lifts nothing ------


def _three_looks(manager: Session, worker: Session, case: Case, subject: Subject) -> None:
    first = approved(worker, manager, case.id, _request(subject, worker, planned_viewings=3))
    for _ in range(3):
        viewings.record_view(worker, case.id, first.id, subject.id, URL, attested=True)


def test_the_stop_is_lifted_only_while_a_confirmed_authorisation_is_in_force(
    manager: Session, second_manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    # Approved before the looks: once the meter has stopped, no new request passes the gate.
    record = approved(worker, manager, case.id, _request(subject, worker))
    _three_looks(manager, worker, case, subject)
    today = ethics.uk_day(manager.now())
    made = authorisations.record(
        manager,
        record.id,
        reference="RIPA-2026-017",
        officer="Sam Patel, Director of Legal Services",
        magistrate_approved_on=today - timedelta(days=1),
        expires_on=today + timedelta(days=1),
        subject_id=subject.id,
    )
    with pytest.raises(PermissionDenied) as refused:
        authorisations.confirm(manager, made.id)
    assert refused.value.rule == "second_manager"
    assert viewings.check(worker, case.id, record.id, subject.id, URL, attested=True).rule == (
        ethics.RULE_METER_STOP
    )
    authorisations.confirm(second_manager, made.id)
    lifted = viewings.check(worker, case.id, record.id, subject.id, URL, attested=True)
    assert lifted.allowed and lifted.meter is not None and lifted.meter.state == "authorised"
    manager.clock.advance(days=2)  # the authorisation ran out; the request is still in date
    after = viewings.check(worker, case.id, record.id, subject.id, URL, attested=True)
    assert after.rule == ethics.RULE_METER_STOP


def test_a_colleagues_looks_at_the_same_person_count_towards_the_stop(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    colleague = allocated_worker(manager, case.id, "willa")
    mine = approved(worker, manager, case.id, _request(subject, worker, planned_viewings=2))
    theirs = approved(colleague, manager, case.id, _request(subject, colleague))
    fourth = approved(colleague, manager, case.id, _request(subject, colleague))
    viewings.record_view(worker, case.id, mine.id, subject.id, URL, attested=True)
    viewings.record_view(colleague, case.id, theirs.id, subject.id, URL, attested=True)
    viewings.record_view(worker, case.id, mine.id, subject.id, URL + "/photos", attested=True)
    permission = viewings.check(colleague, case.id, fourth.id, subject.id, URL, attested=True)
    assert permission.rule == ethics.RULE_METER_STOP
    assert "legal adviser" in permission.message


def test_a_file_a_colleague_handed_over_is_stopped_at_the_line_like_any_look(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    # Home Office Code 3.17: material a colleague gathered is the authority's look, with
    # or without an address to show for it.
    record = approved(worker, manager, case.id, _request(subject, worker))
    _three_looks(manager, worker, case, subject)
    for url in ("", URL):
        permission = viewings.check_supplied(
            worker, case.id, record.id, subject.id, url=url, by_colleague=True
        )
        assert permission.rule == ethics.RULE_METER_STOP
    family = viewings.check_supplied(worker, case.id, record.id, subject.id, by_colleague=False)
    assert family.allowed


# --- emergencies: reviewed afterwards, never chained ----------------------------------------


def test_a_colleagues_second_emergency_about_the_same_person_waits_for_the_first_review(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    colleague = allocated_worker(manager, case.id, "willa")
    submitted(worker, case.id, _request(subject, worker, **emergency_changes()))
    manager.clock.advance(hours=2)
    second = _request(subject, colleague, **emergency_changes())
    _, codes = _submit_refusal(colleague, case, second)
    assert f"emergency.{ethics.RULE_EMERGENCY_SAME_PERSON}" in codes


def test_an_emergency_reviewed_late_is_recorded_as_late(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    record = submitted(worker, case.id, _request(subject, worker, **emergency_changes()))
    manager.clock.advance(hours=25)
    assert justifications.get(manager, record.id).overdue
    with pytest.raises(GateRefused) as refused:
        viewings.authorise(worker, case.id, record.id, subject.id, URL, attested=True)
    assert refused.value.rule == ethics.RULE_EMERGENCY_OVERDUE
    reviewed = justifications.review(manager, record.id, "approve", REASONS)
    assert reviewed.emergency_state == "reviewed"
    events = manager.casefile.conn.execute(
        "SELECT payload FROM audit_log WHERE action = 'justification.approved'"
    ).fetchall()
    assert len(events) == 1 and '"reviewed_late":true' in events[0][0].replace(" ", "")


# --- children and the data-protection basis ---------------------------------------------


def test_a_request_about_a_child_carries_the_extra_care_warning(
    worker: Session, case: Case, child: Subject
) -> None:
    found = justifications.findings(worker, case.id, _request(child, worker))
    (warning,) = [f for f in found if f.code == "subjects.child"]
    assert warning.severity is ethics.Severity.WARN
    assert "other children" in warning.message


def test_legitimate_interests_is_refused_as_the_basis_of_a_council(
    worker: Session, case: Case, subject: Subject
) -> None:
    request = _request(subject, worker, data_protection_basis="UK GDPR Art 6(1)(f)")
    _, codes = _submit_refusal(worker, case, request)
    assert "data_protection_basis.legitimate_interests" in codes
