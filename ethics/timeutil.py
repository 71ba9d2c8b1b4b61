"""Aware-UTC time handling shared by the meter, the gate and the capture check."""

from __future__ import annotations

from datetime import UTC, date, datetime


def require_aware(moment: datetime, name: str) -> datetime:
    """`moment` converted to UTC; a naive datetime is a programming error, not a user's."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got {moment!r}")
    return moment.astimezone(UTC)


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of `moment`: `valid_until` is a UTC day."""
    return require_aware(moment, "now").date()
