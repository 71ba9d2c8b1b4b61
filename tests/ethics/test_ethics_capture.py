"""The capture check: each justification-side rule, both ways."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest
from ethics_support import NOW, seen

from ethics import (
    CAPTURE_RULES,
    RULE_ATTESTATION,
    RULE_EMERGENCY_OVERDUE,
    RULE_EXPIRED,
    RULE_HOST_SCOPE,
    RULE_METER_STOP,
    RULE_STATUS,
    RULE_SUBJECT,
    RULE_URL,
    RULE_VIEWINGS_USED,
    STATUSES,
    Justification,
    Refusal,
    check_capture,
    default_policy,
    read_meter,
)

STOPPED = read_meter(seen(7, 1, 2, 3), 7, NOW, default_policy(), False)
AUTHORISED = read_meter(seen(7, 1, 2, 3), 7, NOW, default_policy(), True)
WARNED = read_meter(seen(7, 1), 7, NOW, default_policy(), False)
CLEAR = read_meter([], 7, NOW, default_policy(), False)
LAST_DAY = datetime(2026, 3, 12, 23, 59, 59, tzinfo=NOW.tzinfo)


def attempt(valid: Justification, justification: dict[str, Any], **kwargs: Any) -> Refusal | None:
    arguments: dict[str, Any] = {
        "status": "approved",
        "emergency_live": False,
        "subject_id": 7,
        "url": "https://photos.example/jay.doe",
        "now": NOW,
        "viewings_made": 0,
        "meter": CLEAR,
        "attested": True,
    }
    arguments.update(kwargs)
    return check_capture(dataclasses.replace(valid, **justification), **arguments)


def case(rule: str | None, justification: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    label = "-".join(f"{k}={v}" for k, v in {**(justification or {}), **kwargs}.items())
    return pytest.param(rule, justification or {}, kwargs, id=f"{rule}:{label}"[:90])


REFUSED = [
    *[case(RULE_STATUS, status=s) for s in ("draft", "submitted", "rejected", "returned")],
    case(RULE_STATUS, status="cancelled"),
    case(RULE_STATUS, status="archived"),
    case(RULE_STATUS, {"emergency": True}, status="draft", emergency_live=True),
    case(RULE_EMERGENCY_OVERDUE, {"emergency": True}, status="submitted", emergency_live=False),
    case(RULE_EXPIRED, status="expired"),
    case(RULE_EXPIRED, now=LAST_DAY + timedelta(seconds=1)),
    case(RULE_SUBJECT, subject_id=8),
    case(RULE_URL, url="ftp://photos.example/jay.doe"),
    case(RULE_URL, url="javascript:alert(1)"),
    case(RULE_URL, url="file:///etc/passwd"),
    case(RULE_URL, url="photos.example/jay.doe"),
    case(RULE_URL, url="https://jay:secret@photos.example/jay.doe"),
    case(RULE_URL, url="https://photos.example/jay doe"),
    case(RULE_URL, url="https://"),
    case(RULE_HOST_SCOPE, url="https://chat.example/jay.doe"),
    case(RULE_HOST_SCOPE, url="https://notphotos.example/jay.doe"),
    case(RULE_HOST_SCOPE, url="https://photos.example.evil.example/jay.doe"),
    case(RULE_HOST_SCOPE, {"scope_hosts": ()}, url="https://photos.example/jay.doe/friends"),
    case(RULE_VIEWINGS_USED, viewings_made=1),
    case(RULE_VIEWINGS_USED, {"planned_viewings": 2}, viewings_made=2),
    case(RULE_VIEWINGS_USED, {"planned_viewings": 0}),
    case(RULE_METER_STOP, meter=STOPPED),
    case(RULE_ATTESTATION, attested=False),
    case(RULE_ATTESTATION, {"attest_no_restricted_content": False}),
    case(RULE_ATTESTATION, {"attest_logged_out": False}),
]

ALLOWED = [
    case(None),
    case(None, {"emergency": True}, status="submitted", emergency_live=True),
    case(None, {"emergency": True}, status="approved", emergency_live=False),
    case(None, now=LAST_DAY),
    case(None, {"subjects": (8, 7)}),
    case(None, url="HTTPS://PHOTOS.EXAMPLE/jay.doe"),
    case(None, url="http://photos.example/jay.doe"),
    case(None, url="https://www.photos.example/jay.doe"),
    case(None, url="https://photos.example./jay.doe#latest"),
    case(None, {"scope_hosts": ()}, url="https://photos.example:443/jay.doe"),
    case(None, {"scope_hosts": ("bücher.example",)}, url="https://xn--bcher-kva.example/a"),
    case(None, {"scope_hosts": ("xn--bcher-kva.example",)}, url="https://BÜCHER.example/a"),
    case(None, {"scope_hosts": ("bücher.example",)}, url="https://shop.bücher.example/a"),
    case(None, {"planned_viewings": 2}, viewings_made=1),
    case(None, meter=WARNED),
    case(None, meter=AUTHORISED),
]


@pytest.mark.parametrize(("rule", "justification", "kwargs"), REFUSED)
def test_refused_with_the_rule(
    valid: Justification, rule: str, justification: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    refusal = attempt(valid, justification, **kwargs)
    assert refusal is not None
    assert refusal.rule == rule
    assert refusal.message and refusal.reference


@pytest.mark.parametrize(("rule", "justification", "kwargs"), ALLOWED)
def test_allowed(
    valid: Justification, rule: None, justification: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    assert attempt(valid, justification, **kwargs) is rule


def test_every_capture_rule_has_a_refusal_case() -> None:
    assert {p.values[0] for p in REFUSED} == set(CAPTURE_RULES)


def test_rule_names_are_stable_strings() -> None:
    assert CAPTURE_RULES == (
        "status",
        "emergency_overdue",
        "expired",
        "subject_not_covered",
        "url_not_allowed",
        "host_out_of_scope",
        "planned_viewings_used",
        "meter_stop",
        "attestation_missing",
    )
    assert STATUSES == (
        "draft",
        "submitted",
        "approved",
        "rejected",
        "returned",
        "expired",
        "cancelled",
    )


def test_the_first_failing_rule_is_reported(valid: Justification) -> None:
    refusal = attempt(
        valid, {}, status="draft", subject_id=8, url="ftp://x", meter=STOPPED, attested=False
    )
    assert refusal is not None and refusal.rule == RULE_STATUS


def test_meter_stop_refusal_carries_the_meter_message(valid: Justification) -> None:
    refusal = attempt(valid, {}, meter=STOPPED)
    assert refusal == Refusal(RULE_METER_STOP, STOPPED.message, STOPPED.reference)


def test_scheme_refusal_says_what_is_allowed(valid: Justification) -> None:
    refusal = attempt(valid, {}, url="ftp://photos.example/jay.doe")
    assert refusal is not None
    assert "only http and https" in refusal.message


def test_out_of_scope_refusal_names_the_host(valid: Justification) -> None:
    refusal = attempt(valid, {}, url="https://Chat.Example/jay")
    assert refusal is not None and "chat.example" in refusal.message


def test_a_naive_now_is_refused(valid: Justification) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        attempt(valid, {}, now=datetime(2026, 3, 2, 10, 30))
