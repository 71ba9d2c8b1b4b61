"""The gate's one decision about a look (`decide_look`): each rule, both ways, for every
kind of look."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from ethics_support import NOW, seen

from ethics import (
    LOOK_KINDS,
    LOOK_RULES,
    RULE_ATTESTATION,
    RULE_EMERGENCY_AUTHOR_ONLY,
    RULE_EMERGENCY_CHAINED,
    RULE_EMERGENCY_OVERDUE,
    RULE_EMERGENCY_SAME_PERSON,
    RULE_EXPIRED,
    RULE_HOST_SCOPE,
    RULE_METER_PATTERN,
    RULE_METER_STOP,
    RULE_OTHER_PERSON,
    RULE_STATUS,
    RULE_SUBJECT,
    RULE_URL,
    RULE_VIEWED_BEFORE_APPROVAL,
    RULE_VIEWINGS_USED,
    STATUSES,
    Justification,
    KnownSubject,
    Look,
    LookDecision,
    LookFacts,
    OpenEmergency,
    RequestFacts,
    Viewing,
    decide_look,
    default_policy,
    group_people,
)

LAST_DAY = datetime(2026, 3, 12, 23, 59, 59, tzinfo=UTC)
# Subject 7 is the request's subject (the profile photos.example/jay.doe). Subject 8 is
# the same person under another label in a sibling case (shared handle); subject 9 is
# someone else, whose page photos.example/sam.roe is known.
SUBJECTS = (
    KnownSubject(7, 1, ("https://photos.example/jay.doe",)),
    KnownSubject(8, 2, ("photos.example/jay.doe/",)),
    KnownSubject(9, 1, ("https://photos.example/sam.roe",)),
    KnownSubject(10, 1, ()),
)
PEOPLE = group_people(SUBJECTS)
APPROVED_AT = NOW - timedelta(days=1)


def attempt(valid: Justification, justification: dict[str, Any], **kwargs: Any) -> LookDecision:
    """decide_look with sensible facts; keyword arguments override them."""
    status = kwargs.pop("status", "approved")
    now = kwargs.pop("now", NOW)
    submitted_at = kwargs.pop("submitted_at", APPROVED_AT - timedelta(hours=1))
    request_facts = RequestFacts(
        id=kwargs.pop("request_id", 1),
        status=status,
        author=kwargs.pop("author", "worker-a"),
        submitted_at=submitted_at,
        approvals=kwargs.pop("approvals", (APPROVED_AT,) if status == "approved" else ()),
        viewings_made=kwargs.pop("viewings_made", 0),
    )
    people = kwargs.pop("people", PEOPLE)
    # As the service layer does: each look counts for the person its subject is.
    history = tuple(
        v if v.persons else dataclasses.replace(v, persons=people.counted_for(v.subject_id, ""))
        for v in kwargs.pop("history", ())
    )
    facts = LookFacts(
        request=request_facts,
        people=people,
        history=history,
        authorised_subjects=frozenset(kwargs.pop("authorised", ())),
        open_emergencies=tuple(kwargs.pop("open_emergencies", ())),
    )
    look = Look(
        kind=kwargs.pop("kind", "capture"),
        subject_id=kwargs.pop("subject_id", 7),
        url=kwargs.pop("url", "https://photos.example/jay.doe"),
        actor=kwargs.pop("actor", "worker-a"),
        now=now,
        attested=kwargs.pop("attested", True),
        made_at=kwargs.pop("made_at", None),
        by_colleague=kwargs.pop("by_colleague", False),
    )
    policy = kwargs.pop("policy", default_policy())
    assert not kwargs, kwargs
    return decide_look(dataclasses.replace(valid, **justification), facts, look, policy)


def case(rule: str | None, justification: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    label = "-".join(f"{k}={v}" for k, v in {**(justification or {}), **kwargs}.items())
    return pytest.param(rule, justification or {}, kwargs, id=f"{rule}:{label}"[:90])


def months_ago(*months: int) -> list[Viewing]:
    """One look at subject 7 on the 15th of each of these months before NOW's month."""
    looks = []
    for back in months:
        index = NOW.year * 12 + NOW.month - 1 - back
        looks.append(Viewing(7, datetime(index // 12, index % 12 + 1, 15, tzinfo=UTC), "w"))
    return looks


EMERGENCY = {"emergency": True}
LIVE = NOW - timedelta(hours=2)
LAPSED = NOW - timedelta(hours=30)

REFUSED = [
    *[case(RULE_STATUS, status=s) for s in ("draft", "submitted", "rejected", "returned")],
    case(RULE_STATUS, status="cancelled"),
    case(RULE_STATUS, status="archived"),
    case(RULE_STATUS, EMERGENCY, status="draft"),
    case(RULE_EMERGENCY_OVERDUE, EMERGENCY, status="submitted", submitted_at=LAPSED),
    case(
        RULE_EMERGENCY_AUTHOR_ONLY,
        EMERGENCY,
        status="submitted",
        submitted_at=LIVE,
        actor="worker-b",
    ),
    # Break-glass cannot be chained: the author's other emergency is overdue...
    case(
        RULE_EMERGENCY_CHAINED,
        EMERGENCY,
        status="submitted",
        submitted_at=LIVE,
        open_emergencies=[OpenEmergency(2, "worker-a", frozenset({10}), LAPSED)],
    ),
    # ... or an earlier one about the same person (subject 8 is 7) waits for review.
    case(
        RULE_EMERGENCY_SAME_PERSON,
        EMERGENCY,
        status="submitted",
        submitted_at=LIVE,
        open_emergencies=[OpenEmergency(2, "worker-b", frozenset({7}), LIVE - timedelta(hours=1))],
    ),
    case(RULE_EXPIRED, now=LAST_DAY + timedelta(seconds=1)),
    case(
        RULE_EXPIRED,
        kind="import",
        made_at=LAST_DAY + timedelta(seconds=1),
        now=LAST_DAY + timedelta(seconds=2),
    ),
    case(RULE_VIEWED_BEFORE_APPROVAL, kind="import", made_at=APPROVED_AT - timedelta(minutes=1)),
    case(RULE_SUBJECT, subject_id=8),
    case(RULE_URL, url="ftp://photos.example/jay.doe"),
    case(RULE_URL, url="javascript:alert(1)"),
    case(RULE_URL, url="file:///etc/passwd"),
    case(RULE_URL, url="photos.example/jay.doe"),
    case(RULE_URL, url="https://jay:secret@photos.example/jay.doe"),
    case(RULE_URL, url="https://photos.example/jay doe"),
    case(RULE_URL, url="https://"),
    case(RULE_URL, kind="hop", url="ftp://photos.example/x"),
    case(RULE_HOST_SCOPE, url="https://chat.example/jay.doe"),
    case(RULE_HOST_SCOPE, url="https://notphotos.example/jay.doe"),
    case(RULE_HOST_SCOPE, url="https://photos.example.evil.example/jay.doe"),
    case(RULE_HOST_SCOPE, {"scope_hosts": ()}, url="https://photos.example/jay.doe/friends"),
    case(RULE_HOST_SCOPE, kind="hop", url="https://chat.example/x"),
    case(RULE_HOST_SCOPE, kind="browse", url="https://chat.example/x"),
    case(RULE_HOST_SCOPE, kind="navigate", url="https://chat.example/x"),
    case(RULE_URL, kind="navigate", url="javascript:alert(1)"),
    case(RULE_OTHER_PERSON, kind="navigate", url="https://photos.example/sam.roe"),
    # A site-wide scope does not make someone else's known page fair game.
    case(RULE_OTHER_PERSON, url="https://photos.example/sam.roe"),
    case(RULE_OTHER_PERSON, url="https://www.photos.example/sam.roe/photos?p=2"),
    case(RULE_OTHER_PERSON, kind="hop", url="https://photos.example/sam.roe"),
    case(
        RULE_OTHER_PERSON, kind="supplied", by_colleague=True, url="https://photos.example/sam.roe"
    ),
    case(RULE_VIEWINGS_USED, viewings_made=1),
    case(RULE_VIEWINGS_USED, {"planned_viewings": 2}, viewings_made=2),
    case(RULE_VIEWINGS_USED, {"planned_viewings": 0}),
    case(RULE_VIEWINGS_USED, kind="view", viewings_made=1),
    case(RULE_VIEWINGS_USED, kind="browse", viewings_made=1),
    case(RULE_METER_STOP, history=seen(7, 1, 2, 3)),
    # The same person under another label, in another case, by other workers.
    case(RULE_METER_STOP, history=seen(8, 1, 2, 3, user="worker-c")),
    # A look at the subject's page filed under a co-subject still counts for them.
    case(
        RULE_METER_STOP,
        history=[
            Viewing(
                10,
                NOW - timedelta(days=d),
                "w",
                PEOPLE.counted_for(10, "https://photos.example/jay.doe"),
            )
            for d in (1, 2, 3)
        ],
    ),
    case(
        RULE_METER_STOP, kind="import", made_at=NOW - timedelta(hours=1), history=seen(7, 1, 2, 3)
    ),
    case(RULE_METER_STOP, kind="view", history=seen(7, 1, 2, 3)),
    case(RULE_METER_STOP, kind="browse", history=seen(7, 1, 2, 3)),
    case(RULE_METER_STOP, kind="supplied", by_colleague=True, history=seen(7, 1, 2, 3)),
    # Spaced a month apart, the rolling window never fills; the pattern stops the 4th.
    case(RULE_METER_PATTERN, history=months_ago(1, 3, 5)),
    case(RULE_METER_PATTERN, history=months_ago(2, 5, 9)),
    case(RULE_ATTESTATION, attested=False),
    case(RULE_ATTESTATION, kind="import", attested=False, made_at=NOW - timedelta(hours=1)),
    case(RULE_ATTESTATION, kind="view", attested=False),
    case(RULE_ATTESTATION, kind="browse", attested=False),
    case(RULE_ATTESTATION, {"attest_no_restricted_content": False}),
    case(RULE_ATTESTATION, {"attest_logged_out": False}),
]

ALLOWED = [
    case(None),
    case(None, EMERGENCY, status="submitted", submitted_at=LIVE),
    case(None, EMERGENCY, status="approved"),
    # The author's other emergency is live (not overdue) and about someone else.
    case(
        None,
        EMERGENCY,
        status="submitted",
        submitted_at=LIVE,
        open_emergencies=[OpenEmergency(2, "worker-a", frozenset({10}), LIVE)],
    ),
    # Another person's emergency raised more than the review window earlier.
    case(
        None,
        EMERGENCY,
        status="submitted",
        submitted_at=LIVE,
        open_emergencies=[OpenEmergency(2, "worker-b", frozenset({7}), LIVE - timedelta(hours=25))],
    ),
    case(None, now=LAST_DAY),
    case(None, {"subjects": (8, 7)}),
    case(None, url="HTTPS://PHOTOS.EXAMPLE/jay.doe"),
    case(None, url="http://photos.example/jay.doe"),
    case(None, url="https://www.photos.example/jay.doe"),
    case(None, url="https://photos.example./jay.doe#latest"),
    case(None, {"scope_hosts": ()}, url="https://photos.example:443/jay.doe"),
    # An exact-page scope matches the page over http and https, with any fragment.
    case(None, {"scope_hosts": ()}, url="http://photos.example/jay.doe#photos"),
    case(None, {"scope_hosts": ("bücher.example",)}, url="https://xn--bcher-kva.example/a"),
    case(None, {"scope_hosts": ("xn--bcher-kva.example",)}, url="https://BÜCHER.example/a"),
    case(None, {"scope_hosts": ("bücher.example",)}, url="https://shop.bücher.example/a"),
    case(None, {"planned_viewings": 2}, viewings_made=1),
    # The subject's own page under a site scope; a co-subject's page when both are named.
    case(None, url="https://photos.example/jay.doe/photos"),
    case(None, {"subjects": (7, 9)}, url="https://photos.example/sam.roe"),
    case(None, history=seen(7, 1)),
    case(None, history=seen(7, 1, 2, 3), authorised={7}),
    case(None, history=seen(7, 1, 2, 3), authorised={8}),
    case(None, history=months_ago(1, 3, 5), authorised={7}),
    # Looks at other people do not count for this one.
    case(None, history=seen(9, 1, 2, 3)),
    # Two months with looks is not yet a pattern, nor are three months over a year ago.
    case(None, history=months_ago(1, 4)),
    case(None, history=months_ago(13, 14, 15)),
    # Supplied by someone outside the authority: not our look, no meter or attestation.
    case(None, kind="supplied", history=seen(7, 1, 2, 3), attested=False),
    case(None, kind="supplied", attested=False, url="https://photos.example/sam.roe"),
    case(None, kind="supplied", viewings_made=1),
    case(None, kind="supplied", by_colleague=True, attested=False),
    # A hop is part of one look: it uses no planned viewing and needs no new promise.
    case(None, kind="hop", viewings_made=1, attested=False, history=seen(7, 1, 2, 3)),
    # A page opened inside a session is part of the session's one look.
    case(None, kind="navigate", viewings_made=1, attested=False, history=seen(7, 1, 2, 3)),
    case(None, kind="import", made_at=APPROVED_AT + timedelta(minutes=1)),
]


@pytest.mark.parametrize(("rule", "justification", "kwargs"), REFUSED)
def test_refused_with_the_rule(
    valid: Justification, rule: str, justification: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    decision = attempt(valid, justification, **kwargs)
    assert (decision.allowed, decision.rule) == (False, rule)
    assert decision.message and decision.reference


@pytest.mark.parametrize(("rule", "justification", "kwargs"), ALLOWED)
def test_allowed(
    valid: Justification, rule: None, justification: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    decision = attempt(valid, justification, **kwargs)
    assert (decision.allowed, decision.rule, decision.message) == (True, rule, "")


def test_every_look_rule_has_a_refusal_case() -> None:
    assert {p.values[0] for p in REFUSED} == set(LOOK_RULES)


def test_every_kind_of_look_is_decided_here() -> None:
    kinds = {p.values[2].get("kind", "capture") for p in REFUSED + ALLOWED}
    assert kinds == set(LOOK_KINDS)


def test_rule_names_are_stable_strings() -> None:
    assert LOOK_RULES == (
        "status",
        "emergency_overdue",
        "emergency_author_only",
        "emergency_chained",
        "emergency_same_person",
        "expired",
        "viewed_before_approval",
        "subject_not_covered",
        "url_not_allowed",
        "host_out_of_scope",
        "page_of_other_person",
        "planned_viewings_used",
        "meter_stop",
        "meter_pattern",
        "attestation_missing",
    )
    assert STATUSES == (
        "draft",
        "submitted",
        "approved",
        "rejected",
        "returned",
        "expired",
        "cancelled",
    )


def test_the_first_failing_rule_is_reported(valid: Justification) -> None:
    decision = attempt(
        valid,
        {},
        status="draft",
        subject_id=8,
        url="ftp://x",
        history=seen(7, 1, 2, 3),
        attested=False,
    )
    assert decision.rule == RULE_STATUS


def test_meter_stop_refusal_carries_the_meter_reading(valid: Justification) -> None:
    decision = attempt(valid, {}, history=seen(7, 1, 2, 3))
    assert decision.meter is not None and decision.meter.state == "stop"
    assert decision.message == decision.meter.message
    assert "RIPA" in decision.reference


@pytest.mark.parametrize("kind", ["capture", "view", "import", "browse"])
def test_warnings_from_the_second_look_for_every_kind(valid: Justification, kind: str) -> None:
    made = NOW - timedelta(hours=1) if kind == "import" else None
    first = attempt(valid, {}, kind=kind, made_at=made)
    second = attempt(valid, {}, kind=kind, made_at=made, history=seen(8, 5))
    assert first.warnings == ()
    assert len(second.warnings) == 1 and "2nd" in second.warnings[0]


def test_colleague_supplied_material_warns_like_a_look(valid: Justification) -> None:
    decision = attempt(valid, {}, kind="supplied", by_colleague=True, history=seen(7, 5))
    assert decision.allowed and "2nd" in decision.warnings[0]


def test_a_look_counts_for_every_person_the_page_belongs_to(valid: Justification) -> None:
    decision = attempt(valid, {"subjects": (7, 9)}, url="https://photos.example/sam.roe")
    assert decision.persons == frozenset({7, 9})
    stopped = attempt(
        valid, {"subjects": (7, 9)}, url="https://photos.example/sam.roe", history=seen(9, 1, 2, 3)
    )
    assert stopped.rule == RULE_METER_STOP


def test_pattern_message_names_the_months(valid: Justification) -> None:
    decision = attempt(valid, {}, history=months_ago(1, 3, 5))
    assert "3 separate months" in decision.message and "12" in decision.message


@pytest.mark.parametrize(
    ("until", "moment", "allowed"),
    [
        # BST: the UK day of 30 June ends at 23:00 UTC.
        (date(2026, 6, 30), datetime(2026, 6, 30, 22, 59, tzinfo=UTC), True),
        (date(2026, 6, 30), datetime(2026, 6, 30, 23, 30, tzinfo=UTC), False),
        # GMT: the UK day and the UTC day are the same.
        (date(2026, 1, 30), datetime(2026, 1, 30, 23, 59, tzinfo=UTC), True),
        (date(2026, 1, 31), datetime(2026, 1, 31, 0, 0, tzinfo=UTC) - timedelta(seconds=1), True),
        (date(2026, 1, 30), datetime(2026, 1, 31, 0, 0, tzinfo=UTC), False),
        # The night the clocks go forward (29 March 2026) and back (25 October 2026).
        (date(2026, 3, 29), datetime(2026, 3, 29, 22, 59, tzinfo=UTC), True),
        (date(2026, 3, 29), datetime(2026, 3, 29, 23, 0, tzinfo=UTC), False),
        (date(2026, 10, 25), datetime(2026, 10, 25, 23, 59, tzinfo=UTC), True),
    ],
)
def test_valid_until_is_a_uk_day(
    valid: Justification, until: date, moment: datetime, allowed: bool
) -> None:
    decision = attempt(
        valid,
        {"valid_until": until},
        now=moment,
        approvals=(moment - timedelta(days=1),),
        submitted_at=moment - timedelta(days=2),
    )
    assert (decision.allowed, decision.rule) == (allowed, None if allowed else RULE_EXPIRED)


def test_scheme_refusal_says_what_is_allowed(valid: Justification) -> None:
    decision = attempt(valid, {}, url="ftp://photos.example/jay.doe")
    assert "only http and https" in decision.message


def test_out_of_scope_refusal_names_the_host(valid: Justification) -> None:
    decision = attempt(valid, {}, url="https://Chat.Example/jay")
    assert "chat.example" in decision.message


def test_a_naive_now_is_refused(valid: Justification) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        attempt(valid, {}, now=datetime(2026, 3, 2, 10, 30))
