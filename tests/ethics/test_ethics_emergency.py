"""Break-glass review window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from ethics_support import NOW

from ethics import (
    default_policy,
    emergency_review_due,
    emergency_state,
    end_of_uk_day,
    policy_from_mapping,
    uk_local,
)

DUE = NOW + timedelta(hours=24)


def test_review_falls_due_after_the_policy_window() -> None:
    assert emergency_review_due(NOW, default_policy()) == DUE


@pytest.mark.parametrize(
    ("now", "reviewed", "state"),
    [
        (NOW, False, "live"),
        (DUE, False, "live"),
        (DUE + timedelta(seconds=1), False, "overdue"),
        (DUE + timedelta(days=3), True, "reviewed"),
        (NOW + timedelta(hours=1), True, "reviewed"),
    ],
)
def test_emergency_state(now: datetime, reviewed: bool, state: str) -> None:
    reviewed_at = NOW + timedelta(hours=2) if reviewed else None
    assert emergency_state(NOW, reviewed_at, now, default_policy()) == state


def test_the_window_comes_from_the_policy() -> None:
    policy = policy_from_mapping({"emergency_review_hours": 4})
    assert emergency_state(NOW, None, NOW + timedelta(hours=5), policy) == "overdue"


def test_uk_local_time_names_the_zone() -> None:
    assert uk_local(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == "2026-07-01 00:30 BST"
    assert uk_local(datetime(2026, 1, 30, 23, 30, tzinfo=UTC)) == "2026-01-30 23:30 GMT"


def test_the_end_of_a_uk_day_in_summer_and_winter() -> None:
    assert end_of_uk_day(date(2026, 6, 30)) == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    assert end_of_uk_day(date(2026, 1, 30)) == datetime(2026, 1, 31, 0, 0, tzinfo=UTC)
