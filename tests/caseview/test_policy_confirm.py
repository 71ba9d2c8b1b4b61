"""Loosening the gate takes a second manager; tightening it takes effect at once (issue 10)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import engines
import pytest
from gate_support import count_events, event_data

import ethics
from caseview import policy
from caseview.errors import NotFound, PermissionDenied
from caseview.session import Session
from ethics.policy import differences_from_defaults, loosened

STRICTER = 'name = "Test council"\nmeter_stop_at = 3\n'
LOOSER = 'name = "Relaxed council"\nmeter_stop_at = 6\nmax_validity_days = 40\n'

DEFAULTS = ethics.default_policy()

pytestmark = pytest.mark.both_engines


def _with(**changes: object) -> ethics.Policy:
    return dataclasses.replace(DEFAULTS, **changes)  # type: ignore[arg-type]


# --- the pure comparison ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"max_validity_days": 29}, ("max_validity_days",)),
        ({"max_planned_viewings": 4}, ("max_planned_viewings",)),
        ({"warn_planned_viewings_above": 2}, ("warn_planned_viewings_above",)),
        ({"high_intrusion_max_viewings": 2}, ("high_intrusion_max_viewings",)),
        ({"meter_warn_from": 3}, ("meter_warn_from",)),
        ({"meter_stop_at": 5}, ("meter_stop_at",)),
        ({"pattern_months": 4}, ("pattern_months",)),
        ({"emergency_review_hours": 48}, ("emergency_review_hours",)),
        ({"corroboration_max_credibility": 4}, ("corroboration_max_credibility",)),
        ({"copy_similarity": 0.9}, ("copy_similarity",)),
        ({"meter_window_days": 60}, ("meter_window_days",)),
        ({"pattern_window_months": 6}, ("pattern_window_months",)),
        (
            {"default_data_protection_basis": "UK GDPR Art 6(1)(f)"},
            ("default_data_protection_basis",),
        ),
        ({"boilerplate_phrases": DEFAULTS.boilerplate_phrases[1:]}, ("boilerplate_phrases",)),
        ({"mitigation_cues": (*DEFAULTS.mitigation_cues, "noted")}, ("mitigation_cues",)),
        (
            {"min_words": MappingProxyType({**DEFAULTS.min_words, "question": 2})},
            ("min_words.question",),
        ),
        # Stricter, or only relabelled: nothing loosened.
        ({"name": "Another name"}, ()),
        ({"max_validity_days": 14}, ()),
        ({"meter_stop_at": 3}, ()),
        ({"meter_window_days": 180}, ()),
        ({"pattern_window_months": 24}, ()),
        ({"copy_similarity": 0.5}, ()),
        ({"boilerplate_phrases": (*DEFAULTS.boilerplate_phrases, "as discussed")}, ()),
        ({"boilerplate_phrases": tuple(p.upper() for p in DEFAULTS.boilerplate_phrases)}, ()),
        ({"mitigation_cues": DEFAULTS.mitigation_cues[1:]}, ()),
        ({"min_words": MappingProxyType({**DEFAULTS.min_words, "question": 20})}, ()),
    ],
)
def test_loosened_names_every_less_strict_key(
    changes: dict[str, object], expected: tuple[str, ...]
) -> None:
    assert loosened(DEFAULTS, _with(**changes)) == expected


def test_loosened_names_several_keys_at_once() -> None:
    proposed = ethics.load_policy(LOOSER)
    assert loosened(DEFAULTS, proposed) == ("max_validity_days", "meter_stop_at")


def test_differences_from_defaults() -> None:
    assert (
        differences_from_defaults(DEFAULTS),
        differences_from_defaults(ethics.load_policy(LOOSER)),
        differences_from_defaults(ethics.load_policy("[min_words]\nquestion = 9\n")),
    ) == ({}, {"max_validity_days": 40, "meter_stop_at": 6}, {"min_words.question": 9})


# --- proposing and confirming -------------------------------------------------------------


def test_a_stricter_policy_takes_effect_at_once(manager: Session) -> None:
    proposed = policy.set_policy(manager, STRICTER)
    assert (proposed.status, proposed.loosened, policy.current(manager.casefile).meter_stop_at) == (
        "in_force",
        (),
        3,
    )
    assert count_events(manager.casefile, "policy.set") == 1


def test_a_loosened_policy_is_inert_until_confirmed(manager: Session) -> None:
    proposed = policy.set_policy(manager, LOOSER)
    assert (proposed.status, proposed.loosened) == (
        "pending",
        ("max_validity_days", "meter_stop_at"),
    )
    assert policy.current(manager.casefile) == DEFAULTS
    assert policy.in_force(manager.casefile).shipped_defaults


def test_a_loosened_policy_is_listed_as_pending_with_what_it_loosens(manager: Session) -> None:
    proposed = policy.set_policy(manager, LOOSER)
    [waiting] = policy.pending(manager.casefile)
    assert (waiting.id, waiting.set_by, waiting.loosened) == (
        proposed.id,
        "mona",
        ("max_validity_days", "meter_stop_at"),
    )


def test_proposing_a_loosened_policy_is_audited(manager: Session) -> None:
    policy.set_policy(manager, LOOSER)
    [data] = event_data(manager.casefile, "policy.proposed")
    assert (data["status"], data["loosened"], data["toml"], data["sha256"]) == (
        "pending",
        ["max_validity_days", "meter_stop_at"],
        LOOSER,
        policy.policy_hash(LOOSER),
    )
    assert count_events(manager.casefile, "policy.set") == 0


def test_the_proposer_cannot_confirm(manager: Session) -> None:
    proposed = policy.set_policy(manager, LOOSER)
    assert proposed.id is not None
    with pytest.raises(PermissionDenied) as caught:
        policy.confirm_policy(manager, proposed.id)
    assert (caught.value.rule, policy.current(manager.casefile)) == ("second_manager", DEFAULTS)


@pytest.mark.parametrize("who", ["worker", "auditor"])
def test_only_a_manager_confirms(
    request: pytest.FixtureRequest, manager: Session, who: str
) -> None:
    proposed = policy.set_policy(manager, LOOSER)
    assert proposed.id is not None
    session: Session = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied) as caught:
        policy.confirm_policy(session, proposed.id)
    assert (caught.value.rule, policy.current(manager.casefile)) == ("role", DEFAULTS)


def test_a_second_manager_puts_it_in_force(manager: Session, second_manager: Session) -> None:
    proposed = policy.set_policy(manager, LOOSER)
    assert proposed.id is not None
    confirmed = policy.confirm_policy(second_manager, proposed.id)
    assert (
        confirmed.status,
        confirmed.confirmed_by,
        policy.current(manager.casefile).meter_stop_at,
    ) == (
        "in_force",
        "max",
        6,
    )
    assert policy.pending(manager.casefile) == []
    [data] = event_data(manager.casefile, "policy.confirmed")
    assert (data["proposed_by"], data["loosened"]) == (
        "mona",
        ["max_validity_days", "meter_stop_at"],
    )


def test_a_policy_in_force_needs_no_confirmation(manager: Session, second_manager: Session) -> None:
    proposed = policy.set_policy(manager, STRICTER)
    assert proposed.id is not None
    with pytest.raises(PermissionDenied) as caught:
        policy.confirm_policy(second_manager, proposed.id)
    assert caught.value.rule == "status"


def test_an_unknown_policy_is_not_found(second_manager: Session) -> None:
    with pytest.raises(NotFound):
        policy.confirm_policy(second_manager, 99)


def test_a_proposal_overtaken_by_a_newer_policy_must_be_proposed_again(
    manager: Session, second_manager: Session
) -> None:
    old = policy.set_policy(manager, LOOSER)
    policy.set_policy(manager, STRICTER)
    assert old.id is not None
    with pytest.raises(PermissionDenied) as caught:
        policy.confirm_policy(second_manager, old.id)
    assert (caught.value.rule, policy.current(manager.casefile).meter_stop_at) == ("superseded", 3)


def test_loosening_is_judged_against_the_policy_in_force(manager: Session) -> None:
    policy.set_policy(manager, STRICTER)  # stop at 3
    back_to_defaults = policy.set_policy(manager, 'name = "Caseview defaults"\n')
    assert (back_to_defaults.status, back_to_defaults.loosened) == ("pending", ("meter_stop_at",))
    assert policy.current(manager.casefile).meter_stop_at == 3


def test_the_policy_in_force_at_an_earlier_moment(
    manager: Session, second_manager: Session
) -> None:
    before = manager.now()
    manager.clock.advance(minutes=5)  # type: ignore[attr-defined]
    policy.set_policy(manager, STRICTER)
    assert (
        policy.in_force(manager.casefile, before).shipped_defaults,
        policy.in_force(manager.casefile).name,
    ) == (
        True,
        "Test council",
    )


def test_the_hash_of_the_shipped_defaults_is_of_the_empty_text(manager: Session) -> None:
    held = policy.in_force(manager.casefile)
    assert (held.sha256, held.toml, held.differences) == (policy.policy_hash(""), "", {})


def test_a_policy_stored_before_this_rule_counts_as_in_force(manager: Session) -> None:
    # Rows written before migration 0006 have no status: they were in force, and stay so.
    with manager.casefile.write() as conn:
        conn.execute(
            "INSERT INTO policies (toml, set_by, set_at) VALUES (?, ?, ?)",
            (STRICTER, manager.user.id, "2026-01-01T00:00:00.000000Z"),
        )
    assert policy.current(manager.casefile).meter_stop_at == 3


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE policies SET status = 'in_force', confirmed_by = set_by, confirmed_at = set_at",
        "UPDATE policies SET toml = 'meter_stop_at = 9'",
        "DELETE FROM policies",
    ],
)
def test_the_database_refuses_a_one_manager_loosening(manager: Session, statement: str) -> None:
    policy.set_policy(manager, LOOSER)
    with engines.database_refuses(manager.casefile), manager.casefile.write() as conn:
        conn.execute(statement)
    assert policy.current(manager.casefile) == DEFAULTS
