"""Every finding and every refusal cites what it rests on (DOMAIN.md is the source).

One table pins each gate code, and another each look refusal rule, to the citation its
reference must contain. A new code or rule without a pin fails here, so nobody adds a
rule without saying which law or guidance it follows.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from ethics_support import NOW
from test_ethics_gate import TRIGGERS, run

import ethics
from ethics import RULE_CODES, Justification, references
from ethics.answers import ANSWERS

CODE = "Home Office Covert Surveillance and Property Interference Code of Practice (2018)"
PART_II = "RIPA 2000 Part II"
BREAK_GLASS = "RIPA 2000 s26(2)(c)"
CHIS = "RIPA 2000 s26(8)"
ART8 = "ECHR Art 8(2); Human Rights Act 1998"
TRANSPARENCY = "UK GDPR Art 13 and Art 14"
MINIMISATION = "UK GDPR Art 5(1)(c)"
PROTOCOL = "Council protocol"

# What each free-text answer's findings (missing, boilerplate, too short, copied) cite.
ANSWER_PINS: Mapping[str, str] = {
    "statutory_function_other": "Children Act 1989",
    "question": "a single viewing for a specified purpose",
    "safety_case": "Children Act 1989 s47",
    "ethics_case": "Niven (2012)",
    "balance": ART8,
    "why_not_enough": ART8,
    "proportionality": ART8,
    "collateral_intrusion": MINIMISATION,
    "family_told_reason": TRANSPARENCY,
    "emergency_reason": BREAK_GLASS,
}

PINS: Mapping[str, str] = {
    "subjects.missing": CODE,
    "subjects.invalid": CODE,
    "subjects.child": "UK GDPR Recital 38",
    "statutory_function.missing": "Children Act 1989",
    "statutory_function.unknown": "Children Act 1989",
    "data_protection_basis.missing": "UK GDPR Art 6(1)(e)",
    "data_protection_basis.not_default": "UK GDPR Art 6(1)(e)",
    "data_protection_basis.legitimate_interests": "UK GDPR Art 6(1), final sentence",
    **{
        code: ANSWER_PINS[code.partition(".")[0]]
        for code in RULE_CODES
        if code.partition(".")[0] in ANSWERS
        and code.partition(".")[2] in ("missing", "boilerplate", "too_short", "copied")
    },
    "question.vague": ART8,
    "criminal_offence_data.noted": "UK GDPR Art 10 with DPA 2018 s10(5)",
    "less_intrusive_considered.missing": ART8,
    "less_intrusive_considered.unknown": ART8,
    "intrusion_level.missing": ART8,
    "intrusion_level.unknown": ART8,
    "intrusion_level.high": ART8,
    "intrusion_level.high_repeat": PART_II,
    "collateral_intrusion.no_mitigation": MINIMISATION,
    "scope.empty": MINIMISATION,
    "scope.hosts_only": MINIMISATION,
    "scope_hosts.invalid": MINIMISATION,
    "scope_urls.invalid": MINIMISATION,
    "valid_until.past": PROTOCOL,
    "valid_until.too_far": PROTOCOL,
    "planned_viewings.too_few": PROTOCOL,
    "planned_viewings.too_many": PART_II,
    "planned_viewings.repeated": CODE,
    "family_told.missing": TRANSPARENCY,
    "family_told.unknown": TRANSPARENCY,
    "family_told.later": TRANSPARENCY,
    "family_told_reason.no_restriction": TRANSPARENCY,
    "attest_logged_out.not_attested": "IPCO",
    "attest_no_personal_or_fake_profile.not_attested": CHIS,
    "attest_no_interaction.not_attested": CHIS,
    "attest_no_restricted_content.not_attested": "IPCO",
    "emergency.review_due": BREAK_GLASS,
    "emergency.repeat": BREAK_GLASS,
    "emergency.emergency_chained": BREAK_GLASS,
    "emergency.emergency_same_person": BREAK_GLASS,
    "meter.warn": CODE,
    "meter.stop": PART_II,
    "meter.pattern": PART_II,
    "meter.authorised": PART_II,
    "meter.plan_reaches_stop": PART_II,
}

# What each refusal of a look cites (ethics/look.py).
REFUSAL_PINS: Mapping[str, str] = {
    "status": PROTOCOL,
    "emergency_overdue": BREAK_GLASS,
    "emergency_author_only": BREAK_GLASS,
    "emergency_chained": BREAK_GLASS,
    "emergency_same_person": BREAK_GLASS,
    "expired": PROTOCOL,
    "viewed_before_approval": PROTOCOL,
    "subject_not_covered": CODE,
    "url_not_allowed": PROTOCOL,
    "host_out_of_scope": MINIMISATION,
    "page_of_other_person": MINIMISATION,
    "planned_viewings_used": CODE,
    "meter_stop": PART_II,
    "meter_pattern": PART_II,
    "attestation_missing": CHIS,
}


def test_every_gate_code_is_pinned_to_a_reference() -> None:
    assert set(RULE_CODES) - set(PINS) == set()
    assert set(PINS) - set(RULE_CODES) == set()


def test_every_look_refusal_rule_is_pinned_to_a_reference() -> None:
    assert set(ethics.LOOK_RULES) - set(REFUSAL_PINS) == set()


@pytest.mark.parametrize(("code", "changes", "ctx"), TRIGGERS)
def test_each_finding_cites_its_pinned_reference(
    valid: Justification, code: str, changes: dict[str, object], ctx: dict[str, Any]
) -> None:
    found = [f for f in run(valid, changes, ctx) if f.code == code]
    assert found, code
    for finding in found:
        assert PINS[code] in finding.reference, (code, finding.reference)


@pytest.mark.parametrize(("code", "changes", "ctx"), TRIGGERS)
def test_oversight_is_named_as_ipco(
    valid: Justification, code: str, changes: dict[str, object], ctx: dict[str, Any]
) -> None:
    # DOMAIN.md: the OSC became IPCO in 2017; the OSC is cited only for its older words.
    for finding in run(valid, changes, ctx):
        for text in (finding.reference, finding.message):
            if re.search(r"Commissioner|\bOSC\b", text):
                assert "IPCO" in text, (finding.code, text)


def test_every_reference_constant_names_ipco_with_the_osc() -> None:
    constants = {k: v for k, v in vars(references).items() if k.isupper() and isinstance(v, str)}
    for name, text in constants.items():
        if re.search(r"Surveillance Commissioner|\bOSC\b", text):
            assert "IPCO" in text, name


def test_legitimate_interests_is_blocked_with_the_public_authority_rule(
    valid: Justification,
) -> None:
    for basis in ("Art 6(1)(f)", "UK GDPR art 6 (1) f", "our legitimate interests"):
        (finding,) = run(valid, {"data_protection_basis": basis}, {})
        assert finding.code == "data_protection_basis.legitimate_interests"
        assert finding.severity is ethics.Severity.BLOCK
        assert "not available to a public authority" in finding.reference


def test_the_default_basis_is_not_mistaken_for_legitimate_interests(valid: Justification) -> None:
    basis = "UK GDPR Art 6(1)(e); Art 9(2)(g) with DPA 2018 Sch 1 para 18; Art 16(1)(f)"
    codes = [f.code for f in run(valid, {"data_protection_basis": basis}, {})]
    assert "data_protection_basis.legitimate_interests" not in codes


@pytest.mark.parametrize(
    "text",
    [
        "A police disclosure names a man with convictions for offences against children, "
        "and the risk to the baby is immediate.",
        "The mother alleges that he was arrested and charged last month; the baby is at "
        "risk if he is living in the home.",
    ],
)
def test_criminal_offence_data_is_noted_with_art_10(valid: Justification, text: str) -> None:
    (finding,) = run(valid, {"safety_case": text}, {})
    assert finding.code == "criminal_offence_data.noted"
    assert finding.severity is ethics.Severity.INFO
    assert "Art 10" in finding.message and "s10(5)" in finding.message
    assert finding.field == "safety_case"


@pytest.mark.parametrize(
    "reason",
    [
        "Telling her now would be likely to prejudice the prevention or detection of crime.",
        "We rely on the DPA 2018 Sch 2 para 2 exemption while the police investigate.",
        "Restricted under Schedule 2 of the Data Protection Act 2018 until the strategy meeting.",
    ],
)
def test_a_named_restriction_satisfies_family_not_told(valid: Justification, reason: str) -> None:
    codes = [f.code for f in run(valid, {"family_told": "no", "family_told_reason": reason}, {})]
    assert "family_told_reason.no_restriction" not in codes


def test_family_not_told_without_a_restriction_blocks_and_names_the_field(
    valid: Justification,
) -> None:
    reason = "Telling the mother before the strategy discussion could place the baby at risk."
    (finding,) = run(valid, {"family_told": "no", "family_told_reason": reason}, {})
    assert finding.code == "family_told_reason.no_restriction"
    assert finding.severity is ethics.Severity.BLOCK
    assert "'If no or later, why'" in finding.message
    assert "Art 13" in finding.reference


def test_an_emergency_cites_the_immediate_response_exclusion(valid: Justification) -> None:
    j = dataclasses.replace(
        valid,
        emergency=True,
        emergency_reason="He has just posted that he is outside the house with a knife.",
        valid_until=NOW.date() + timedelta(days=1),
    )
    findings = [f for f in ethics.evaluate(j, [], ethics.default_policy(), now=NOW)]
    assert findings
    assert all("s26(2)(c)" in f.reference for f in findings if f.code.startswith("emergency"))


# --- refusals of a look --------------------------------------------------------------

URL_IN_SCOPE = "https://photos.example/jay.doe"


def _decide(
    valid: Justification,
    *,
    status: str = "approved",
    request_changes: Mapping[str, object] | None = None,
    author: str = "worker-a",
    actor: str = "worker-a",
    subject_id: int = 7,
    url: str = URL_IN_SCOPE,
    viewings_made: int = 0,
    attested: bool = True,
    submitted_hours_ago: float = 1,
) -> ethics.LookDecision:
    request = dataclasses.replace(valid, **(request_changes or {}))
    facts = ethics.LookFacts(
        request=ethics.RequestFacts(
            id=1,
            status=status,
            author=author,
            submitted_at=NOW - timedelta(hours=submitted_hours_ago),
            viewings_made=viewings_made,
        ),
        people=ethics.group_people([ethics.KnownSubject(7, 1), ethics.KnownSubject(8, 1)]),
    )
    look = ethics.Look(
        kind=ethics.CAPTURE, subject_id=subject_id, url=url, actor=actor, now=NOW, attested=attested
    )
    return ethics.decide_look(request, facts, look, ethics.default_policy())


EMERGENCY = {"emergency": True, "emergency_reason": "He has posted a knife outside the house."}

REFUSALS = [
    pytest.param("status", {"status": "returned"}, id="status"),
    pytest.param(
        "emergency_overdue",
        {"status": "submitted", "request_changes": EMERGENCY, "submitted_hours_ago": 30},
        id="emergency_overdue",
    ),
    pytest.param(
        "emergency_author_only",
        {"status": "submitted", "request_changes": EMERGENCY, "actor": "worker-b"},
        id="emergency_author_only",
    ),
    pytest.param(
        "expired",
        {"request_changes": {"valid_until": NOW.date() - timedelta(days=1)}},
        id="expired",
    ),
    pytest.param("subject_not_covered", {"subject_id": 8}, id="subject_not_covered"),
    pytest.param("url_not_allowed", {"url": "ftp://photos.example/jay.doe"}, id="url_not_allowed"),
    pytest.param(
        "host_out_of_scope", {"url": "https://elsewhere.example/jay"}, id="host_out_of_scope"
    ),
    pytest.param("planned_viewings_used", {"viewings_made": 1}, id="planned_viewings_used"),
    pytest.param(
        "attestation_missing",
        {"request_changes": {"attest_no_interaction": False}},
        id="attestation_missing-request",
    ),
    pytest.param("attestation_missing", {"attested": False}, id="attestation_missing-at-look"),
]


@pytest.mark.parametrize(("rule", "kwargs"), REFUSALS)
def test_each_refusal_cites_its_pinned_reference(
    valid: Justification, rule: str, kwargs: dict[str, Any]
) -> None:
    decision = _decide(valid, **kwargs)
    assert (decision.allowed, decision.rule) == (False, rule)
    assert REFUSAL_PINS[rule] in decision.reference, (rule, decision.reference)


def test_a_look_inside_the_request_is_allowed(valid: Justification) -> None:
    assert _decide(valid).allowed
