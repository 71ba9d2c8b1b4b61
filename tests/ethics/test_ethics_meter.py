"""The repeat-viewing meter: rolling window, all workers, warn then stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from ethics_support import NOW, seen

from ethics import (
    CODE_FACTORS,
    MeterReading,
    Viewing,
    default_policy,
    policy_from_mapping,
    read_meter,
)
from ethics.meter import count_in_window

WINDOW = timedelta(days=90)


def reading_after(*days_ago: float, authorised: bool = False) -> MeterReading:
    return read_meter(seen(7, *days_ago), 7, NOW, default_policy(), authorised)


@pytest.mark.parametrize(
    ("days_ago", "state"),
    [
        ((), "ok"),
        ((10,), "warn"),
        ((10, 20), "warn"),
        ((10, 20, 30), "stop"),
        ((10, 20, 30, 40), "stop"),
        ((91, 92, 93), "ok"),
        ((10, 91), "warn"),
        # Looks in three separate months within twelve: a pattern, however spaced.
        ((10, 91, 92), "stop"),
        ((10, 45, 120), "stop"),
    ],
)
def test_state_for_the_next_viewing(days_ago: tuple[float, ...], state: str) -> None:
    assert reading_after(*days_ago).state == state


def test_a_viewing_exactly_90_days_ago_is_still_in_the_window() -> None:
    history = [Viewing(7, NOW - WINDOW, "a")]
    assert count_in_window(history, 7, NOW, 90) == 1


def test_a_viewing_a_second_over_90_days_ago_has_left_the_window() -> None:
    history = [Viewing(7, NOW - WINDOW - timedelta(seconds=1), "a")]
    assert count_in_window(history, 7, NOW, 90) == 0


def test_the_window_edge_decides_between_warn_and_stop() -> None:
    # The pattern rule would stop these looks in three months; only the window is tested.
    rules = policy_from_mapping({"pattern_months": 12})
    history = [*seen(7, 1, 2), Viewing(7, NOW - WINDOW, "a")]
    assert read_meter(history, 7, NOW, rules, False).state == "stop"
    later = NOW + timedelta(seconds=1)
    assert read_meter(history, 7, later, rules, False).state == "warn"


def test_viewings_by_different_workers_all_count() -> None:
    history = seen(7, 1, user="alice") + seen(7, 2, user="bob") + seen(7, 3, user="carol")
    reading = read_meter(history, 7, NOW, default_policy(), False)
    assert reading.count_in_window == 3
    assert reading.state == "stop"


def test_viewings_of_other_subjects_do_not_count() -> None:
    history = seen(8, 1, 2, 3) + seen(9, 1)
    assert read_meter(history, 7, NOW, default_policy(), False).count_in_window == 0


def test_a_viewing_stamped_after_now_is_counted() -> None:
    # Another machine's clock running ahead must not hide a look.
    history = [Viewing(7, NOW + timedelta(minutes=5), "a")]
    assert count_in_window(history, 7, NOW, 90) == 1


def test_warning_names_the_codes_factors() -> None:
    reading = reading_after(10)
    assert reading.state == "warn"
    for factor in (
        "directed at one person",
        "profile or pattern of their lifestyle",
        "recorded and retained",
        "repeated",
        "third parties",
    ):
        assert factor in reading.message
    assert all(factor in reading.message for factor in CODE_FACTORS)
    assert "Home Office" in reading.reference


def test_stop_says_directed_surveillance_and_whom_to_consult() -> None:
    reading = reading_after(10, 20, 30)
    assert "directed surveillance" in reading.message
    assert "RIPA 2000 Part II" in reading.message
    assert "3.10–3.17" in reading.message
    assert "no routine route" in reading.message
    assert "manager" in reading.message and "legal adviser" in reading.message
    assert "the 4th" in reading.message
    assert reading.next_viewing == 4


def test_an_authorisation_reference_lifts_the_stop_and_says_so() -> None:
    reading = reading_after(10, 20, 30, authorised=True)
    assert reading.state == "authorised"
    assert "surveillance authorisation confirmed by a second manager" in reading.message


def test_authorisation_does_not_change_a_reading_below_the_stop_line() -> None:
    assert reading_after(10, authorised=True).state == "warn"
    assert reading_after(authorised=True).state == "ok"


def test_policy_sets_the_window_and_the_lines() -> None:
    policy = policy_from_mapping(
        {"meter_window_days": 30, "meter_warn_from": 3, "meter_stop_at": 3}
    )
    assert read_meter(seen(7, 10, 45), 7, NOW, policy, False).state == "ok"
    assert read_meter(seen(7, 10, 20), 7, NOW, policy, False).state == "stop"


def test_viewing_times_are_kept_in_utc() -> None:
    local = datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert Viewing(7, local, "a").at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_naive_viewing_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Viewing(7, datetime(2026, 3, 2, 10, 0), "a")


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        read_meter([], 7, datetime(2026, 3, 2), default_policy(), False)
