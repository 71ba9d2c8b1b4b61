"""Time: always aware UTC, stored as ISO 8601 with a trailing ``Z``.

Services take a :class:`Clock` so tests can move time (lockouts, expiry, overdue
emergencies) without sleeping. There is deliberately no environment switch to fake
the clock in production: it would let anyone backdate a record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """``2026-11-24T17:11:49.123456Z``; refuses naive datetimes."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: Caseview only stores aware UTC times")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without a zone is refused, not guessed."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone; add Z for UTC")
    return parsed.astimezone(UTC)


class FixedClock:
    """A clock that only moves when told to; for tests and reproducible demos."""

    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta  # local: only tests move time

        self.now = self.now + timedelta(**delta)
        return self.now
