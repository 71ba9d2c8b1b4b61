"""Break-glass review window."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from ethics_support import NOW

from ethics import default_policy, emergency_review_due, emergency_state, policy_from_mapping

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
