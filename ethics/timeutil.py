"""Aware-UTC time handling shared by the meter, the gate and the capture check."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo


def require_aware(moment: datetime, name: str) -> datetime:
    """`moment` converted to UTC; a naive datetime is a programming error, not a user's."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got {moment!r}")
    return moment.astimezone(UTC)


UK: Final = ZoneInfo("Europe/London")


def uk_day(moment: datetime) -> date:
    """The UK calendar day (Europe/London, GMT or BST) of `moment`.

    Dates in requests and authorisations are UK dates: a request "valid until 30 June"
    covers looks until midnight at the end of 30 June in UK local time, so a look at
    00:30 BST on 1 July (23:30 UTC on 30 June) is out of date.
    """
    return require_aware(moment, "moment").astimezone(UK).date()


def uk_month(moment: datetime) -> int:
    """The UK calendar month of `moment` as one number (year * 12 + month - 1)."""
    day = uk_day(moment)
    return day.year * 12 + day.month - 1


def end_of_uk_day(day: date) -> datetime:
    """The last moment (UTC) of the UK calendar day `day`: the start of the next UK day."""
    following = datetime.combine(day, time.min) + timedelta(days=1)
    return following.replace(tzinfo=UK).astimezone(UTC)


def uk_local(moment: datetime) -> str:
    """`moment` as UK local time with its zone name, e.g. "2026-07-01 00:30 BST"."""
    local = require_aware(moment, "moment").astimezone(UK)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
