"""Break-glass requests: usable at once, but a manager must review them in time.

RIPA 2000 s26(2)(c) leaves an immediate response to events outside directed
surveillance, and Social Work England expects actions taken in an emergency to be
recorded and justified; the review window makes sure a second person looks soon.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from ethics.policy import Policy
from ethics.timeutil import require_aware
from ethics.wording import plural

EmergencyState = Literal["live", "overdue", "reviewed"]


def emergency_review_due(started_at: datetime, policy: Policy) -> datetime:
    """When a manager's review of a break-glass request falls due (UTC)."""
    start = require_aware(started_at, "started_at")
    return start + timedelta(hours=policy.emergency_review_hours)


def emergency_state(
    started_at: datetime,
    reviewed_at: datetime | None,
    now: datetime,
    policy: Policy,
) -> EmergencyState:
    """Where a break-glass request stands.

    `reviewed` once a manager has decided (even late: lateness is already on record);
    `live` until the due time, inclusive; `overdue` after it. A live emergency may be
    used for capture; an overdue one may not until a manager reviews it.
    """
    if reviewed_at is not None:
        return "reviewed"
    if require_aware(now, "now") > emergency_review_due(started_at, policy):
        return "overdue"
    return "live"


@dataclass(frozen=True)
class OpenEmergency:
    """A break-glass request submitted and not yet decided by a manager."""

    justification_id: int
    author: str
    persons: frozenset[int]
    submitted_at: datetime


RULE_EMERGENCY_CHAINED: Final = "emergency_chained"
RULE_EMERGENCY_SAME_PERSON: Final = "emergency_same_person"


def chain_refusal(
    *,
    this_id: int | None,
    actor: str,
    persons: frozenset[int],
    since: datetime,
    open_emergencies: Iterable[OpenEmergency],
    now: datetime,
    policy: Policy,
) -> tuple[str, str] | None:
    """Why a break-glass request may not be raised or used now, or None.

    A chain of emergencies is not an immediate response to events: while its author has
    an overdue, unreviewed emergency they may neither raise nor use another; and a second
    emergency about the same person raised inside the first one's review window needs the
    first reviewed. `since` is when this request was raised (now, for one being raised).
    Returns (rule, message).
    """
    moment = require_aware(now, "now")
    window = timedelta(hours=policy.emergency_review_hours)
    for other in open_emergencies:
        if other.justification_id == this_id:
            continue
        overdue = emergency_state(other.submitted_at, None, moment, policy) == "overdue"
        if overdue and other.author == actor:
            return (
                RULE_EMERGENCY_CHAINED,
                f"Your emergency request {other.justification_id} is overdue for a manager's "
                "review. Until a manager has reviewed it you cannot raise or use another "
                "emergency request: ask a manager to review it now, or make an ordinary "
                "request.",
            )
        raised_after = other.submitted_at <= require_aware(since, "since")
        if other.persons & persons and raised_after and since - other.submitted_at <= window:
            return (
                RULE_EMERGENCY_SAME_PERSON,
                f"Emergency request {other.justification_id} about the same person, raised "
                f"{plural(policy.emergency_review_hours, 'hour')} or less before this one, has "
                "not been reviewed by a manager yet. A second emergency look at one person "
                "needs the first reviewed: ask a manager to review it now.",
            )
    return None
