"""May this capture go ahead? The justification-side rules, as one pure check.

The service layer calls `check_capture` after its own role, allocation and closed-case
rules, records any refusal as a refused viewing and an audit event, and stores nothing
else. Rules are checked in a fixed order and the first that fails is returned, so the
same attempt always gets the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ethics import references as ref
from ethics.justification import Justification
from ethics.meter import MeterReading
from ethics.scope import parse_web_url, url_in_scope
from ethics.timeutil import utc_day
from ethics.vocabulary import ATTESTATION_KEYS

# Stable rule names (audit events and the CLI's exit-3 message name them).
RULE_STATUS: Final = "status"
RULE_EMERGENCY_OVERDUE: Final = "emergency_overdue"
RULE_EXPIRED: Final = "expired"
RULE_SUBJECT: Final = "subject_not_covered"
RULE_URL: Final = "url_not_allowed"
RULE_HOST_SCOPE: Final = "host_out_of_scope"
RULE_VIEWINGS_USED: Final = "planned_viewings_used"
RULE_METER_STOP: Final = "meter_stop"
RULE_ATTESTATION: Final = "attestation_missing"

CAPTURE_RULES: Final = (
    RULE_STATUS,
    RULE_EMERGENCY_OVERDUE,
    RULE_EXPIRED,
    RULE_SUBJECT,
    RULE_URL,
    RULE_HOST_SCOPE,
    RULE_VIEWINGS_USED,
    RULE_METER_STOP,
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

_STATUS_ADVICE: Final = {
    "draft": "is still a draft; submit it and have a manager approve it first",
    "submitted": "is waiting for a manager's decision; capture once it is approved",
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
class Refusal:
    """Why a capture may not go ahead: the rule, what to do, and what it rests on."""

    rule: str
    message: str
    reference: str


def check_capture(
    justification: Justification,
    *,
    status: str,
    emergency_live: bool,
    subject_id: int,
    url: str,
    now: datetime,
    viewings_made: int,
    meter: MeterReading,
    attested: bool,
) -> Refusal | None:
    """None when the capture may go ahead, else the first rule that refuses it.

    `status` is the justification's lifecycle status; `emergency_live` is True for a
    break-glass request still inside its review window (see `emergency_state`); a
    submitted emergency is usable while live. `viewings_made` counts completed viewings
    already made under this justification; `meter` is the subject's reading now;
    `attested` is the worker's re-attestation at capture time.
    """
    j = justification
    refusal = _status(j, status, emergency_live)
    if refusal is not None:
        return refusal
    if utc_day(now) > j.valid_until:
        return Refusal(
            RULE_EXPIRED,
            f"This request was valid until {j.valid_until.isoformat()} (UTC); make a new "
            "request if a look is still needed.",
            ref.COUNCIL_PROTOCOL,
        )
    if subject_id not in j.subjects:
        return Refusal(
            RULE_SUBJECT,
            f"Subject {subject_id} is not named in this request; research must stay with "
            "the people the manager approved. Make a new request for anyone else.",
            ref.HOME_OFFICE_CODE,
        )
    try:
        page = parse_web_url(url)
    except ValueError as exc:
        return Refusal(RULE_URL, f"This address cannot be captured: {exc}.", ref.COUNCIL_PROTOCOL)
    if not url_in_scope(page, j.scope_hosts, j.scope_urls):
        return Refusal(
            RULE_HOST_SCOPE,
            f"{page.host} is outside this request's scope; capture only the sites and pages "
            "it lists, or ask for a new request.",
            ref.GDPR_MINIMISATION,
        )
    if viewings_made >= j.planned_viewings:
        return Refusal(
            RULE_VIEWINGS_USED,
            f"All {j.planned_viewings} planned viewing(s) under this request have been made; "
            "a further look needs a new request and a manager's approval.",
            ref.COUNCIL_PROTOCOL + "; " + ref.HOME_OFFICE_CODE,
        )
    if meter.state == "stop":
        return Refusal(RULE_METER_STOP, meter.message, meter.reference)
    missing = [_ATTESTATION_WORDS[k] for k in ATTESTATION_KEYS if getattr(j, k) is not True]
    if missing:
        return Refusal(
            RULE_ATTESTATION,
            f"This request does not attest to {'; '.join(missing)}; fix it and resubmit it "
            "for approval before capturing.",
            ref.COUNCIL_PROTOCOL + "; " + ref.COMMISSIONERS,
        )
    if not attested:
        return Refusal(
            RULE_ATTESTATION,
            "Confirm at capture time that you are viewing logged out, using no personal or "
            "fake profile, not interacting with anyone and viewing nothing limited to "
            "friends or followers.",
            ref.COUNCIL_PROTOCOL + "; " + ref.COMMISSIONERS,
        )
    return None


def _status(j: Justification, status: str, emergency_live: bool) -> Refusal | None:
    if status == "approved":
        return None
    if status == "submitted" and j.emergency:
        if emergency_live:
            return None
        return Refusal(
            RULE_EMERGENCY_OVERDUE,
            "This break-glass request was not reviewed by a manager within the review "
            "window; ask a manager to review it now before any further look.",
            ref.SOCIAL_WORK_ENGLAND,
        )
    if status == "expired":
        return Refusal(
            RULE_EXPIRED,
            "This request has expired; make a new request if a look is still needed.",
            ref.COUNCIL_PROTOCOL,
        )
    advice = _STATUS_ADVICE.get(status, f"has the unknown status '{status}'; it cannot be used")
    return Refusal(RULE_STATUS, f"This request {advice}.", ref.COUNCIL_PROTOCOL)
