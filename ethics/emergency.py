"""Break-glass requests: usable at once, but a manager must review them in time.

The Home Office Code leaves an immediate response to events outside directed
surveillance, and Social Work England expects actions taken in an emergency to be
recorded and justified; the review window makes sure a second person looks soon.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from ethics.policy import Policy
from ethics.timeutil import require_aware

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
