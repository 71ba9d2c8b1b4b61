"""May this look go ahead? The gate's one decision, for every kind of look.

A look is a view recorded without capture, a capture, the import of a look the worker
made themselves, the recording of material someone else supplied, each address a
capture is sent on to (a redirect hop), and a session in the evidence browser. The
service layer gathers the facts (the request, the people, the history of looks, the
authorisations in force, open emergencies), calls `decide_look`, and records what it
answers; it decides nothing itself. Rules are checked in a fixed order and the first that
fails is returned, so the same attempt always gets the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ethics import references as ref
from ethics.emergency import (
    RULE_EMERGENCY_CHAINED,
    RULE_EMERGENCY_SAME_PERSON,
    OpenEmergency,
    chain_refusal,
    emergency_review_due,
    emergency_state,
)
from ethics.justification import Justification
from ethics.meter import MeterReading, Viewing, read_meter
from ethics.people import People
from ethics.policy import Policy
from ethics.scope import WebUrl, parse_web_url, url_in_scope
from ethics.timeutil import require_aware, uk_day, uk_local
from ethics.vocabulary import ATTESTATION_KEYS, field_label

# The kinds of look.
VIEW: Final = "view"
CAPTURE: Final = "capture"
IMPORT: Final = "import"
SUPPLIED: Final = "supplied"
HOP: Final = "hop"
BROWSE: Final = "browse"
NAVIGATE: Final = "navigate"
"""A page opened inside a viewing session that is already under way (a typed address, a
link, a redirect, a pop-up): its address must be in scope and the request still usable,
but it is part of the session's one look, so it uses no planned viewing of its own."""
LOOK_KINDS: Final = (VIEW, CAPTURE, IMPORT, SUPPLIED, HOP, BROWSE, NAVIGATE)

# Stable rule names (audit events and the CLI's exit-3 message name them).
RULE_STATUS: Final = "status"
RULE_EMERGENCY_OVERDUE: Final = "emergency_overdue"
RULE_EMERGENCY_AUTHOR_ONLY: Final = "emergency_author_only"
RULE_EXPIRED: Final = "expired"
RULE_VIEWED_BEFORE_APPROVAL: Final = "viewed_before_approval"
RULE_SUBJECT: Final = "subject_not_covered"
RULE_URL: Final = "url_not_allowed"
RULE_HOST_SCOPE: Final = "host_out_of_scope"
RULE_OTHER_PERSON: Final = "page_of_other_person"
RULE_VIEWINGS_USED: Final = "planned_viewings_used"
RULE_METER_STOP: Final = "meter_stop"
RULE_METER_PATTERN: Final = "meter_pattern"
RULE_ATTESTATION: Final = "attestation_missing"

LOOK_RULES: Final = (
    RULE_STATUS,
    RULE_EMERGENCY_OVERDUE,
    RULE_EMERGENCY_AUTHOR_ONLY,
    RULE_EMERGENCY_CHAINED,
    RULE_EMERGENCY_SAME_PERSON,
    RULE_EXPIRED,
    RULE_VIEWED_BEFORE_APPROVAL,
    RULE_SUBJECT,
    RULE_URL,
    RULE_HOST_SCOPE,
    RULE_OTHER_PERSON,
    RULE_VIEWINGS_USED,
    RULE_METER_STOP,
    RULE_METER_PATTERN,
    RULE_ATTESTATION,
)

# The lifecycle of DESIGN.md section 3.
STATUSES: Final = (
    "draft",
    "submitted",
    "approved",
    "rejected",
    "returned",
    "expired",
    "cancelled",
)

# Which rules apply to which kind of look.
_ADDRESSED: Final = frozenset({VIEW, CAPTURE, IMPORT, HOP, BROWSE, NAVIGATE})  # scope and address
_PLANNED: Final = frozenset({VIEW, CAPTURE, IMPORT, BROWSE})  # uses a planned viewing
_ATTESTED: Final = frozenset({VIEW, CAPTURE, IMPORT, BROWSE})  # worker re-attests

_STATUS_ADVICE: Final = {
    "draft": "is still a draft; submit it and have a manager approve it first",
    "submitted": "is waiting for a manager's decision; look once it is approved",
    "rejected": "was rejected by a manager; it cannot be used",
    "returned": "was returned for changes; revise it, resubmit it and wait for approval",
    "cancelled": "was cancelled; make a new request if a look is still needed",
}

_ATTESTATION_WORDS: Final = {
    "attest_logged_out": "viewing logged out",
    "attest_no_personal_or_fake_profile": "using no personal or fake profile",
    "attest_no_interaction": "not interacting with anyone",
    "attest_no_restricted_content": "viewing nothing limited to friends or followers",
}


@dataclass(frozen=True)
class RequestFacts:
    """What the decision needs to know about the request beyond its content."""

    id: int
    status: str
    """The stored lifecycle status (an approved request past its date is still "approved")."""
    author: str
    submitted_at: datetime | None = None
    approvals: tuple[datetime, ...] = ()
    first_decision_at: datetime | None = None
    viewings_made: int = 0
    """Completed looks already made under this request (supplied material excluded)."""


@dataclass(frozen=True)
class LookFacts:
    """Everything around a look that the service layer gathers from the case file."""

    request: RequestFacts
    people: People
    history: tuple[Viewing, ...] = ()
    """Completed looks, each with the persons it counts for."""
    authorised_subjects: frozenset[int] = frozenset()
    """Subjects a confirmed surveillance authorisation in force covers, for this request."""
    open_emergencies: tuple[OpenEmergency, ...] = ()
    """Every emergency request submitted and not yet decided, in the whole case file."""


@dataclass(frozen=True)
class Look:
    """One intended look."""

    kind: str
    subject_id: int
    url: str
    actor: str
    now: datetime
    attested: bool = False
    made_at: datetime | None = None
    """For an imported look: when it was actually made."""
    by_colleague: bool = False
    """Supplied material gathered by a colleague in the same authority (Code 3.17)."""


@dataclass(frozen=True)
class LookDecision:
    """The gate's answer for one look."""

    allowed: bool
    rule: str | None
    message: str
    reference: str
    meter: MeterReading | None = None
    """The reading that matters most for this look (stop, then authorised, then warn)."""
    persons: frozenset[int] = frozenset()
    """The persons this look counts for."""
    warnings: tuple[str, ...] = ()
    """Shown to the worker even when the look goes ahead (the meter from the 2nd look)."""


def counts_on_meter(look: Look) -> bool:
    """Whether this look counts towards the repeat-viewing meter once made."""
    return look.kind in _PLANNED or (look.kind == SUPPLIED and look.by_colleague)


def decide_look(
    request: Justification, facts: LookFacts, look: Look, policy: Policy
) -> LookDecision:
    """Allowed, or the first rule that refuses the look, with its reference."""
    now = require_aware(look.now, "now")
    # Without an address (a file a colleague handed over) the look still counts for the
    # person the subject is: the meter must see it, and can stop it.
    persons = facts.people.counted_for(look.subject_id, look.url)

    def refuse(
        rule: str, message: str, reference: str, meter: MeterReading | None = None
    ) -> LookDecision:
        return LookDecision(False, rule, message, reference, meter, persons)

    found = _status(request, facts, look, now, policy)
    if found is not None:
        return refuse(*found)
    if request.emergency:
        chained = chain_refusal(
            this_id=facts.request.id,
            actor=look.actor,
            persons=frozenset(facts.people.person(s) for s in request.subjects),
            since=facts.request.submitted_at or now,
            open_emergencies=facts.open_emergencies,
            now=now,
            policy=policy,
        )
        if chained is not None:
            return refuse(*chained, ref.RIPA_IMMEDIATE_RESPONSE)
    if uk_day(now) > request.valid_until:
        return refuse(
            RULE_EXPIRED,
            f"This request was valid until the end of {request.valid_until.isoformat()} "
            "(UK time); make a new request if a look is still needed.",
            ref.COUNCIL_PROTOCOL,
        )
    if look.subject_id not in request.subjects:
        return refuse(
            RULE_SUBJECT,
            f"Subject {look.subject_id} is not named in this request; research must stay "
            "with the people the manager approved. Make a new request for anyone else.",
            ref.HOME_OFFICE_CODE,
        )
    if look.kind in _ADDRESSED:
        found = _address(request, look)
        if found is not None:
            return refuse(*found)
    if look.kind != SUPPLIED or look.by_colleague:
        theirs = frozenset(facts.people.person(s) for s in request.subjects)
        others = facts.people.owners(look.url) - theirs
        if others:
            return refuse(
                RULE_OTHER_PERSON,
                f"{look.url} is the page of someone this request does not name (known as "
                f"subject {_names(facts.people, others)}). Looking at it is outside the "
                "request's purpose; make a request about that person if it is needed.",
                ref.HOME_OFFICE_CODE + "; " + ref.GDPR_MINIMISATION,
            )
    if look.kind in _PLANNED and facts.request.viewings_made >= request.planned_viewings:
        return refuse(
            RULE_VIEWINGS_USED,
            f"All {request.planned_viewings} planned viewing(s) under this request have been "
            "made; a further look needs a new request and a manager's approval.",
            ref.COUNCIL_PROTOCOL + "; " + ref.HOME_OFFICE_CODE,
        )
    meter: MeterReading | None = None
    warnings: list[str] = []
    if counts_on_meter(look):
        readings = [
            read_meter(
                facts.history,
                person,
                now,
                policy,
                authorised=bool(facts.people.subjects_of(person) & facts.authorised_subjects),
            )
            for person in sorted(persons)
        ]
        meter = _most_serious(readings)
        for reading in readings:
            if reading.state == "stop":
                rule = RULE_METER_PATTERN if reading.pattern else RULE_METER_STOP
                return refuse(rule, reading.message, reading.reference, reading)
        warnings = [r.message for r in readings if r.state in ("warn", "authorised")]
    if look.kind in _ATTESTED or (look.kind == SUPPLIED and look.by_colleague):
        missing = [
            _ATTESTATION_WORDS[k] for k in ATTESTATION_KEYS if getattr(request, k) is not True
        ]
        if missing:
            return refuse(
                RULE_ATTESTATION,
                f"This request does not attest to {'; '.join(missing)}; fix it and resubmit "
                "it for approval before looking.",
                ref.COUNCIL_PROTOCOL + "; " + ref.RIPA_CHIS,
                meter,
            )
    if look.kind in _ATTESTED and not look.attested:
        when = "you made this look" if look.kind == IMPORT else "you look"
        return refuse(
            RULE_ATTESTATION,
            f"Confirm that when {when} you are (or were) viewing logged out, using no "
            "personal or fake profile, not interacting with anyone and viewing nothing "
            "limited to friends or followers. Without that promise the look cannot be "
            "recorded.",
            ref.COUNCIL_PROTOCOL + "; " + ref.RIPA_CHIS,
            meter,
        )
    if look.made_at is not None:
        found = _made_at(request, facts, look, policy)
        if found is not None:
            return refuse(*found, meter)
    return LookDecision(True, None, "", "", meter, persons, tuple(warnings))


def request_usable_at(
    facts: RequestFacts, request: Justification, actor: str, moment: datetime, policy: Policy
) -> bool:
    """Whether the request could be used at ``moment``: from its (latest) approval on, or
    for an emergency, by its author while it was live (from submission until the first
    decision on it or the review deadline, whichever came first)."""
    if facts.approvals and moment >= max(facts.approvals):
        return True
    if not request.emergency or facts.submitted_at is None or actor != facts.author:
        return False
    live_until = emergency_review_due(facts.submitted_at, policy)
    if facts.first_decision_at is not None:
        live_until = min(live_until, facts.first_decision_at)
    return facts.submitted_at <= moment <= live_until


def _status(
    request: Justification, facts: LookFacts, look: Look, now: datetime, policy: Policy
) -> tuple[str, str, str] | None:
    status = facts.request.status
    if status == "approved":
        return None
    if status == "submitted" and request.emergency and facts.request.submitted_at is not None:
        state = emergency_state(facts.request.submitted_at, None, now, policy)
        if state == "overdue":
            return (
                RULE_EMERGENCY_OVERDUE,
                "This break-glass request was not reviewed by a manager within the review "
                "window; ask a manager to review it now before any further look.",
                ref.RIPA_IMMEDIATE_RESPONSE + "; " + ref.SOCIAL_WORK_ENGLAND,
            )
        if look.actor != facts.request.author:
            return (
                RULE_EMERGENCY_AUTHOR_ONLY,
                "This emergency request has not been reviewed yet, so only its author can "
                "use it. Ask a manager to review it, or make your own request.",
                ref.RIPA_IMMEDIATE_RESPONSE,
            )
        return None
    advice = _STATUS_ADVICE.get(status, f"has the unknown status '{status}'; it cannot be used")
    return RULE_STATUS, f"This request {advice}.", ref.COUNCIL_PROTOCOL


def _made_at(
    request: Justification, facts: LookFacts, look: Look, policy: Policy
) -> tuple[str, str, str] | None:
    """A look made earlier and recorded now needed the request usable and in date then."""
    made = require_aware(look.made_at, "made_at") if look.made_at else look.now
    shown = f"{uk_local(made)}"
    if uk_day(made) > request.valid_until:
        return (
            RULE_EXPIRED,
            f"The look was made on {shown}, after justification {facts.request.id} ran out "
            f"(valid until the end of {request.valid_until.isoformat()}, UK time). It cannot "
            "be recorded under it; speak to your manager.",
            ref.COUNCIL_PROTOCOL,
        )
    if not request_usable_at(facts.request, request, look.actor, made, policy):
        return (
            RULE_VIEWED_BEFORE_APPROVAL,
            f"The look was made on {shown}, before justification {facts.request.id} was "
            "approved. A look must be authorised before it is made, so it cannot be "
            "recorded under this request; speak to your manager.",
            ref.COUNCIL_PROTOCOL + "; " + ref.HOME_OFFICE_CODE,
        )
    return None


def _address(request: Justification, look: Look) -> tuple[str, str, str] | None:
    hop = look.kind == HOP
    try:
        page = parse_web_url(look.url)
    except ValueError as exc:
        if look.kind == NAVIGATE:
            return (
                RULE_URL,
                f"The evidence browser did not open {look.url}: {exc}.",
                ref.COUNCIL_PROTOCOL,
            )
        if hop:
            return (
                RULE_URL,
                f"The capture was sent on to an address that cannot be captured ({exc}), so "
                "Caseview did not go there and nothing was captured.",
                ref.COUNCIL_PROTOCOL,
            )
        return RULE_URL, f"This address cannot be looked at: {exc}.", ref.COUNCIL_PROTOCOL
    if url_in_scope(page, request.scope_hosts, request.scope_urls):
        return None
    if _listed_site(page, request.scope_urls):
        # Another page of a site the request lists exact pages on: naming the site as out
        # of scope would puzzle the worker, who can see it listed.
        outside = f"{look.url} is not one of the exact pages the request lists"
        shown = (
            f"{look.url} is not one of the pages this request lists in "
            f"{field_label('scope_urls')}, and its {field_label('scope_hosts')} do not include "
            f"{page.host}; look only at the listed pages, or ask for a new request."
        )
    else:
        outside = f"{page.host} is outside the scope of the request"
        shown = (
            f"{page.host} is not among the sites and pages this request lists (its "
            f"{field_label('scope_hosts')} and {field_label('scope_urls')}); look only there, "
            "or ask for a new request."
        )
    if look.kind == NAVIGATE:
        return (
            RULE_HOST_SCOPE,
            f"{outside}, so the evidence browser did not go there and nothing was loaded "
            "from it. Look only at the sites and pages the request lists, or ask for a new "
            "request.",
            ref.GDPR_MINIMISATION,
        )
    if hop:
        return (
            RULE_HOST_SCOPE,
            f"The capture was sent on to {look.url}, and {outside}, so Caseview did not go "
            "there and nothing was captured. Capture only the sites and pages the request "
            "lists, or ask for a new request.",
            ref.GDPR_MINIMISATION,
        )
    return RULE_HOST_SCOPE, shown, ref.GDPR_MINIMISATION


def _listed_site(page: WebUrl, scope_urls: tuple[str, ...]) -> bool:
    """True when one of the request's exact pages is on the same site as ``page``."""
    for raw in scope_urls:
        try:
            if parse_web_url(raw).host == page.host:
                return True
        except ValueError:
            continue
    return False


def _most_serious(readings: list[MeterReading]) -> MeterReading | None:
    order = {"stop": 0, "authorised": 1, "warn": 2, "ok": 3}
    if not readings:
        return None
    return min(readings, key=lambda r: (order[r.state], -r.count_in_window))


def _names(people: People, persons: frozenset[int]) -> str:
    return ", ".join(str(p) for p in sorted(persons))
