"""The gate: every rule both ways, from the complete request in data/."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from ethics_support import NOW, VALID_TOML, seen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ethics import (
    FAMILY_TOLD_VALUES,
    INTRUSION_LEVELS,
    KEYS,
    LESS_INTRUSIVE_ROUTES,
    RULE_CODES,
    STATUTORY_FUNCTIONS,
    Finding,
    Justification,
    KnownSubject,
    OpenEmergency,
    Policy,
    Severity,
    SubmissionFacts,
    Viewing,
    blocking,
    default_policy,
    evaluate,
    group_people,
    load_justification_toml,
    may_submit,
    policy_from_mapping,
)
from ethics.answers import ANSWERS, DISTINCT_ANSWERS
from ethics.vocabulary import FIELD_LABELS

# Enough distinct words to pass any default minimum, for the copy checks.
LONG = (
    "The stepfather has told the conference he moved out in January, yet the school "
    "reports Jay saying he still sees him at home most evenings this term."
)
# Texts that fail each free-text check.
TOO_SHORT = "Two words."
STOCK = "See above."
# Prerequisites that make a free-text answer required.
NEEDS: Mapping[str, Mapping[str, object]] = {
    "statutory_function_other": {"statutory_function": "other"},
    "family_told_reason": {"family_told": "no"},
    "emergency_reason": {"emergency": True},
}


def case(code: str, *, ctx: Mapping[str, Any] | None = None, **changes: object) -> Any:
    return pytest.param(code, changes, ctx or {}, id=code)


def answer_cases() -> list[Any]:
    """Each free-text answer: one case per way it can fail."""
    cases = []
    for key in ANSWERS:
        needs = dict(NEEDS.get(key, {}))
        cases += [
            case(f"{key}.missing", **needs, **{key: "  ... "}),
            case(f"{key}.boilerplate", **needs, **{key: STOCK}),
            case(f"{key}.too_short", **needs, **{key: TOO_SHORT}),
        ]
    for later in DISTINCT_ANSWERS[1:]:
        cases.append(case(f"{later}.copied", question=LONG, **{later: LONG}))
    return cases


def answer_near_misses() -> list[Any]:
    """Each free-text answer filled just well enough, or not required at all."""
    policy = default_policy()
    cases = []
    for key in ANSWERS:
        needs = dict(NEEDS.get(key, {}))
        exactly = " ".join(["word"] * policy.min_words[key])
        cases += [
            # Only the emptiness check: a single word is short, but not missing.
            case(f"{key}.missing", **needs, **{key: "Yes"}),
            # A stock phrase inside a specific answer is not boilerplate.
            case(f"{key}.boilerplate", **needs, **{key: "See above, and also " + LONG}),
            # Exactly the minimum number of words is enough.
            case(f"{key}.too_short", **needs, **{key: exactly}),
        ]
    for later in DISTINCT_ANSWERS[1:]:
        # Half the words changed: related, not pasted.
        half = " ".join(LONG.split()[:14]) + " but nobody outside the family has confirmed it."
        cases.append(case(f"{later}.copied", question=LONG, **{later: half}))
    return cases


TODAY = NOW.date()
AUTHORISED = {"authorised": {7}}
# Subject 8 is the same person as subject 7 (shared handle) in another case.
PEOPLE = group_people(
    [
        KnownSubject(7, 1, ("https://photos.example/jay.doe",)),
        KnownSubject(8, 2, ("photos.example/jay.doe",)),
        KnownSubject(9, 1, ()),
    ]
)
LAPSED = NOW - timedelta(hours=30)
LIVE = NOW - timedelta(hours=2)


def emergencies(*open_ones: tuple[str, int, datetime]) -> dict[str, object]:
    """Open emergencies (author, subject, submitted at) for the SubmissionFacts."""
    return {
        "emergencies": [
            OpenEmergency(i + 100, author, frozenset({PEOPLE.person(s)}), at)
            for i, (author, s, at) in enumerate(open_ones)
        ]
    }


TRIGGERS = [
    case("subjects.missing", subjects=()),
    case("subjects.invalid", subjects=(7, 0)),
    case("subjects.child", ctx={"roles": {7: "child"}}),
    case("statutory_function.missing", statutory_function=""),
    case("statutory_function.unknown", statutory_function="s99"),
    case("data_protection_basis.missing", data_protection_basis="  "),
    case("data_protection_basis.not_default", data_protection_basis="Art 6(1)(c) only"),
    case(
        "data_protection_basis.legitimate_interests",
        data_protection_basis="UK GDPR Art 6(1)(f) legitimate interests",
    ),
    *answer_cases(),
    case("question.vague", question="Check Facebook to see what is going on with the family."),
    case("criminal_offence_data.noted", safety_case=LONG + " He was arrested in May."),
    case("less_intrusive_considered.missing", less_intrusive_considered=()),
    case("less_intrusive_considered.unknown", less_intrusive_considered=("neighbours",)),
    case("intrusion_level.missing", intrusion_level=""),
    case("intrusion_level.unknown", intrusion_level="extreme"),
    case("intrusion_level.high", intrusion_level="high"),
    case("intrusion_level.high_repeat", intrusion_level="high", planned_viewings=2),
    case(
        "collateral_intrusion.no_mitigation",
        collateral_intrusion="Friends and other children may appear in his photos.",
    ),
    case("scope.empty", scope_hosts=(), scope_urls=()),
    case("scope.hosts_only", scope_urls=()),
    case("scope_hosts.invalid", scope_hosts=("https://photos.example/jay.doe",)),
    case("scope_urls.invalid", scope_urls=("ftp://photos.example/jay.doe",)),
    case("valid_until.past", valid_until=TODAY - timedelta(days=1)),
    case("valid_until.too_far", valid_until=TODAY + timedelta(days=29)),
    case("planned_viewings.too_few", planned_viewings=0),
    case("planned_viewings.too_many", planned_viewings=4),
    case("planned_viewings.repeated", planned_viewings=2),
    case("family_told.missing", family_told=""),
    case("family_told.unknown", family_told="perhaps"),
    case("family_told.later", family_told="later", family_told_reason=LONG),
    case("family_told_reason.no_restriction", family_told="no", family_told_reason=LONG),
    case("attest_logged_out.not_attested", attest_logged_out=False),
    case(
        "attest_no_personal_or_fake_profile.not_attested", attest_no_personal_or_fake_profile=False
    ),
    case("attest_no_interaction.not_attested", attest_no_interaction=False),
    case("attest_no_restricted_content.not_attested", attest_no_restricted_content=False),
    case("emergency.review_due", emergency=True, emergency_reason=LONG),
    case("emergency.repeat", emergency=True, emergency_reason=LONG, planned_viewings=2),
    case("meter.warn", ctx={"history": [(7, 10)]}),
    case("meter.stop", ctx={"history": [(7, 10), (7, 20), (7, 30)]}),
    case("meter.authorised", ctx={"history": [(7, 10), (7, 20), (7, 30)], **AUTHORISED}),
    case("meter.plan_reaches_stop", planned_viewings=3, ctx={"history": [(7, 10)]}),
    case("meter.stop", ctx={"history": [(8, 10), (8, 20), (7, 30)]}),
    case("meter.pattern", ctx={"history": [(7, 40), (8, 100), (7, 160)]}),
    case(
        "emergency.emergency_chained",
        emergency=True,
        emergency_reason=LONG,
        ctx=emergencies(("worker-a", 9, LAPSED)),
    ),
    case(
        "emergency.emergency_same_person",
        emergency=True,
        emergency_reason=LONG,
        ctx=emergencies(("worker-b", 8, LIVE)),
    ),
]

NEAR_MISSES = [
    case("subjects.missing", subjects=(7, 8)),
    case("subjects.invalid", subjects=(7, 1)),
    case("subjects.child", ctx={"roles": {7: "parent", 8: "child"}}),
    case("statutory_function.missing", statutory_function="s47"),
    case("statutory_function.unknown", statutory_function="court_direction"),
    case("statutory_function_other.missing", statutory_function="s17"),
    case("data_protection_basis.missing", data_protection_basis="Art 6(1)(c) only"),
    case(
        "data_protection_basis.not_default",
        data_protection_basis="uk gdpr art 6(1)(e), art 9(2)(g) with dpa 2018 sch 1 para 18",
    ),
    case("data_protection_basis.legitimate_interests", data_protection_basis="Art 6(1)(e) only"),
    *answer_near_misses(),
    case("question.vague", question="Is Kerry still in contact with Dan, the man in the photos?"),
    case("criminal_offence_data.noted", ethics_case=LONG + " The police know the family."),
    case("family_told_reason.missing", family_told="yes", family_told_reason=""),
    case("emergency_reason.missing", emergency=False, emergency_reason=""),
    case("less_intrusive_considered.missing", less_intrusive_considered=("health",)),
    case("less_intrusive_considered.unknown", less_intrusive_considered=("other",)),
    case("intrusion_level.missing", intrusion_level="low"),
    case("intrusion_level.unknown", intrusion_level="high"),
    case("intrusion_level.high", intrusion_level="medium"),
    case("intrusion_level.high_repeat", intrusion_level="high", planned_viewings=1),
    case("intrusion_level.high_repeat", intrusion_level="high", planned_viewings=2, ctx=AUTHORISED),
    case(
        "collateral_intrusion.no_mitigation",
        collateral_intrusion="Friends may appear in his photos; their faces will be blurred.",
    ),
    case("scope.empty", scope_hosts=(), scope_urls=("https://photos.example/jay.doe",)),
    case("scope.hosts_only", scope_hosts=("photos.example",), scope_urls=("https://x.example/",)),
    case("scope_hosts.invalid", scope_hosts=("Photos.Example.", "bücher.example", "127.0.0.1")),
    case("scope_urls.invalid", scope_urls=("HTTPS://Photos.Example:443/jay.doe?tab=posts",)),
    case("valid_until.past", valid_until=TODAY),
    case("valid_until.too_far", valid_until=TODAY + timedelta(days=28)),
    case("planned_viewings.too_few", planned_viewings=1),
    case("planned_viewings.too_many", planned_viewings=3),
    case("planned_viewings.repeated", planned_viewings=1),
    case("family_told.missing", family_told="no", family_told_reason=LONG),
    case("family_told.unknown", family_told="later", family_told_reason=LONG),
    case("family_told.later", family_told="no", family_told_reason=LONG),
    case(
        "family_told_reason.no_restriction",
        family_told="no",
        family_told_reason="Telling the mother now would be likely to prejudice the prevention "
        "or detection of crime (DPA 2018 Sch 2 para 2).",
    ),
    case("family_told_reason.no_restriction", family_told="later", family_told_reason=LONG),
    *[case(f"{key}.not_attested") for key in KEYS if key.startswith("attest_")],
    case("emergency.review_due", emergency=False),
    case("emergency.repeat", emergency=True, emergency_reason=LONG, planned_viewings=1),
    case("emergency.repeat", emergency=False, planned_viewings=2),
    case("meter.warn", ctx={"history": [(9, 10), (7, 91)]}),
    case("meter.stop", ctx={"history": [(7, 10), (7, 20)]}),
    case("meter.authorised", ctx={"history": [(7, 10), (7, 20), (7, 30)]}),
    case("meter.plan_reaches_stop", planned_viewings=2, ctx={"history": [(7, 10)]}),
    case("meter.plan_reaches_stop", planned_viewings=3, ctx={"history": [(7, 10)], **AUTHORISED}),
    case("meter.stop", ctx={"history": [(9, 10), (9, 20), (9, 30)]}),
    case("meter.pattern", ctx={"history": [(7, 40), (8, 100)]}),
    case("meter.pattern", ctx={"history": [(7, 40), (8, 100), (7, 160)], **AUTHORISED}),
    case("meter.pattern", ctx={"history": [(7, 40), (7, 100), (7, 400)]}),
    case(
        "emergency.emergency_chained",
        emergency=True,
        emergency_reason=LONG,
        ctx=emergencies(("worker-a", 9, LIVE), ("worker-b", 9, LAPSED)),
    ),
    case(
        "emergency.emergency_chained",
        emergency=False,
        ctx=emergencies(("worker-a", 9, LAPSED)),
    ),
    case(
        "emergency.emergency_same_person",
        emergency=True,
        emergency_reason=LONG,
        ctx=emergencies(("worker-b", 9, LIVE), ("worker-b", 8, NOW - timedelta(hours=25))),
    ),
]


def run(
    valid: Justification, changes: Mapping[str, object], ctx: Mapping[str, Any]
) -> list[Finding]:
    history = [
        dataclasses.replace(v, persons=PEOPLE.counted_for(s, ""))
        for s, days in ctx.get("history", [])
        for v in seen(s, days)
    ]
    return evaluate(
        dataclasses.replace(valid, **changes),
        history,
        default_policy(),
        now=NOW,
        subject_roles=ctx.get("roles"),
        facts=SubmissionFacts(
            request_id=1,
            author="worker-a",
            people=PEOPLE,
            authorised_subjects=frozenset(ctx.get("authorised", ())),
            open_emergencies=tuple(ctx.get("emergencies", ())),
        ),
    )


def codes(findings: Iterable[Finding]) -> list[str]:
    return [f.code for f in findings]


@pytest.mark.parametrize(("code", "changes", "ctx"), TRIGGERS)
def test_rule_triggers(
    valid: Justification, code: str, changes: dict[str, object], ctx: dict[str, Any]
) -> None:
    findings = run(valid, changes, ctx)
    found = [f for f in findings if f.code == code]
    assert found, f"{code} not in {codes(findings)}"
    assert all(f.severity is RULE_CODES[code] for f in found)
    assert all(f.message.endswith((".", "?", ")")) and f.reference for f in found)


@pytest.mark.parametrize(("code", "changes", "ctx"), TRIGGERS)
def test_each_finding_speaks_in_the_forms_words_not_the_files_keys(
    valid: Justification, code: str, changes: dict[str, object], ctx: dict[str, Any]
) -> None:
    for finding in run(valid, changes, ctx):
        # Keys of one word ("question", "balance") are plain words too.
        named = [k for k in KEYS if "_" in k and re.search(rf"\b{k}\b", finding.message)]
        assert named == [], (finding.code, finding.message)


def test_a_missing_promise_names_the_box_to_tick(valid: Justification) -> None:
    j = dataclasses.replace(valid, attest_logged_out=False)
    (finding,) = evaluate(j, [], default_policy(), now=NOW)
    assert finding.message.startswith(
        "Tick 'I will view only what anyone can see without logging in' only if it is true"
    )


def test_an_empty_scope_names_both_boxes(valid: Justification) -> None:
    j = dataclasses.replace(valid, scope_hosts=(), scope_urls=())
    (finding,) = evaluate(j, [], default_policy(), now=NOW)
    assert (
        finding.message == "Say where you will look: fill in 'Sites to look at' or 'Exact pages'."
    )


def test_every_key_has_a_label_on_the_form() -> None:
    assert list(FIELD_LABELS) == list(KEYS)


@pytest.mark.parametrize(("code", "changes", "ctx"), NEAR_MISSES)
def test_rule_does_not_trigger(
    valid: Justification, code: str, changes: dict[str, object], ctx: dict[str, Any]
) -> None:
    assert code not in codes(run(valid, changes, ctx))


def test_every_rule_code_is_tested_both_ways() -> None:
    triggered = {p.values[0] for p in TRIGGERS}
    spared = {p.values[0] for p in NEAR_MISSES}
    assert set(RULE_CODES) == triggered
    assert set(RULE_CODES) <= spared


def test_the_complete_request_has_no_findings(valid: Justification) -> None:
    assert evaluate(valid, [], default_policy(), now=NOW) == []


def test_every_finding_points_at_a_key_the_wizard_can_highlight(valid: Justification) -> None:
    blank = dataclasses.replace(
        valid, **{k: "" for k in ANSWERS}, subjects=(), scope_hosts=(), scope_urls=()
    )
    findings = evaluate(blank, seen(7, 1, 2, 3), default_policy(), now=NOW)
    assert findings
    assert all(f.field in KEYS for f in findings)


@pytest.mark.parametrize("key", [k for k in KEYS if k.startswith("attest_")])
def test_each_missing_attestation_blocks_on_its_own(valid: Justification, key: str) -> None:
    findings = evaluate(dataclasses.replace(valid, **{key: False}), [], default_policy(), now=NOW)
    assert [(f.code, f.field) for f in blocking(findings)] == [(f"{key}.not_attested", key)]
    assert not may_submit(findings)


def test_all_four_attestations_missing_give_four_blocks(valid: Justification) -> None:
    unsworn = dataclasses.replace(valid, **{k: False for k in KEYS if k.startswith("attest_")})
    assert len(blocking(evaluate(unsworn, [], default_policy(), now=NOW))) == 4


def test_friends_only_content_not_attested_cites_the_protocol(valid: Justification) -> None:
    j = dataclasses.replace(valid, attest_no_restricted_content=False)
    (finding,) = evaluate(j, [], default_policy(), now=NOW)
    assert finding.severity is Severity.BLOCK
    assert "friends or followers" in finding.message
    assert "Council protocol" in finding.reference
    assert "Surveillance Commissioners" in finding.reference


def test_bad_enum_in_a_draft_names_the_allowed_values(valid: Justification) -> None:
    (finding,) = run(valid, {"intrusion_level": "huge"}, {})
    assert finding.message == "'huge' is not an intrusion level; choose one of low, medium, high."


def test_copies_are_caught_with_a_few_words_changed(valid: Justification) -> None:
    tweaked = LONG.replace("January", "February").replace("evenings", "nights")
    findings = run(valid, {"safety_case": LONG, "ethics_case": tweaked}, {})
    assert "ethics_case.copied" in codes(findings)


def test_the_later_of_two_copies_is_flagged(valid: Justification) -> None:
    findings = run(valid, {"safety_case": LONG, "balance": LONG}, {})
    assert [f.field for f in findings if f.code.endswith(".copied")] == ["balance"]


def test_child_subject_warning_names_only_the_children(valid: Justification) -> None:
    changes = {"subjects": (7, 8, 9)}
    findings = run(valid, changes, {"roles": {7: "Child", 8: "parent", 9: "child"}})
    (finding,) = [f for f in findings if f.code == "subjects.child"]
    assert finding.message.startswith("Subjects 7, 9 are children")
    assert "protective" in finding.message


def test_meter_counts_viewings_by_every_worker(valid: Justification) -> None:
    history = seen(7, 5, user="a") + seen(7, 40, user="b") + seen(7, 80, user="c")
    findings = evaluate(valid, history, default_policy(), now=NOW)
    assert "meter.stop" in codes(blocking(findings))


def test_meter_stop_message_sends_the_worker_to_manager_and_legal(valid: Justification) -> None:
    (finding,) = run(valid, {}, {"history": [(7, 1), (7, 2), (7, 3)]})
    assert finding.code == "meter.stop"
    assert "RIPA 2000 Part II" in finding.message
    assert "legal adviser" in finding.message
    assert "RIPA 2000 Part II" in finding.reference


def test_meter_is_read_for_each_subject_once(valid: Justification) -> None:
    findings = run(valid, {"subjects": (7, 8, 7)}, {"history": [(7, 1), (8, 1)]})
    assert codes(findings).count("meter.warn") == 2


def test_an_authorisation_for_someone_else_does_not_authorise(valid: Justification) -> None:
    findings = run(valid, {}, {"history": [(7, 1), (7, 2), (7, 3)], "authorised": {9}})
    assert "meter.stop" in codes(findings)


def test_policy_thresholds_drive_the_rules(valid: Justification) -> None:
    strict = policy_from_mapping({"max_validity_days": 7, "max_planned_viewings": 1})
    j = dataclasses.replace(valid, planned_viewings=2)
    found = codes(evaluate(j, [], strict, now=NOW))
    assert "valid_until.too_far" in found  # 10 days ahead, limit 7
    assert "planned_viewings.too_many" in found


def test_findings_follow_the_order_of_the_file(valid: Justification) -> None:
    j = dataclasses.replace(valid, subjects=(), attest_logged_out=False, question="")
    assert codes(evaluate(j, [], default_policy(), now=NOW)) == [
        "subjects.missing",
        "question.missing",
        "attest_logged_out.not_attested",
    ]


def test_valid_until_is_judged_on_the_utc_day(valid: Justification) -> None:
    # 00:30 on 13 March in UTC+2 is still 12 March in UTC: the last valid day.
    late = datetime(2026, 3, 13, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert "valid_until.past" not in codes(evaluate(valid, [], default_policy(), now=late))


def test_naive_now_is_a_programming_error(valid: Justification) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(valid, [], default_policy(), now=datetime(2026, 3, 2, 10, 30))


def test_evaluate_is_repeatable(valid: Justification) -> None:
    history = seen(7, 3)
    first = evaluate(valid, history, default_policy(), now=NOW)
    assert first == evaluate(valid, history, default_policy(), now=NOW)
    assert first


# --- never raises -------------------------------------------------------------------

_any_text = st.text(max_size=120)


def _enum(values: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Allowed values, the draft "", or any text a form could hold."""
    return st.one_of(st.sampled_from(("", *values)), _any_text)


arbitrary = st.builds(
    Justification,
    subjects=st.lists(st.integers(), max_size=5).map(tuple),
    statutory_function=_enum(STATUTORY_FUNCTIONS),
    statutory_function_other=_any_text,
    data_protection_basis=_any_text,
    question=_any_text,
    safety_case=_any_text,
    ethics_case=_any_text,
    balance=_any_text,
    less_intrusive_considered=st.lists(_enum(LESS_INTRUSIVE_ROUTES), max_size=4).map(tuple),
    why_not_enough=_any_text,
    proportionality=_any_text,
    intrusion_level=_enum(INTRUSION_LEVELS),
    collateral_intrusion=_any_text,
    scope_hosts=st.lists(st.one_of(_any_text, st.just("bücher.example")), max_size=4).map(tuple),
    scope_urls=st.lists(st.one_of(_any_text, st.just("https://x.example/a")), max_size=4).map(
        tuple
    ),
    planned_viewings=st.integers(),
    valid_until=st.dates(),
    family_told=_enum(FAMILY_TOLD_VALUES),
    family_told_reason=_any_text,
    attest_logged_out=st.booleans(),
    attest_no_personal_or_fake_profile=st.booleans(),
    attest_no_interaction=st.booleans(),
    attest_no_restricted_content=st.booleans(),
    emergency=st.booleans(),
    emergency_reason=_any_text,
)
histories = st.lists(
    st.builds(
        Viewing,
        subject_id=st.integers(-3, 10),
        at=st.datetimes(timezones=st.just(UTC)),
        user=st.text(max_size=5),
    ),
    max_size=8,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    j=arbitrary,
    history=histories,
    roles=st.dictionaries(st.integers(-3, 10), st.one_of(st.just("child"), st.text(max_size=8))),
    authorised=st.frozensets(st.integers(-3, 10), max_size=3),
)
def test_evaluate_never_raises(
    j: Justification, history: list[Viewing], roles: dict[int, str], authorised: frozenset[int]
) -> None:
    policy: Policy = default_policy()
    facts = SubmissionFacts(people=PEOPLE, authorised_subjects=authorised)
    findings = evaluate(j, history, policy, now=NOW, subject_roles=roles, facts=facts)
    for finding in findings:
        assert finding.code in RULE_CODES
        assert finding.severity is RULE_CODES[finding.code]
        assert finding.field is None or finding.field in KEYS
        assert finding.message and finding.reference
    # Anything short of a fully attested request is blocked.
    if not all(getattr(j, k) for k in KEYS if k.startswith("attest_")):
        assert not may_submit(findings)


@given(valid_until=st.dates(), planned=st.integers())
def test_dates_and_counts_at_the_extremes(valid_until: date, planned: int) -> None:
    # The fixture cannot be used here: hypothesis reuses it across examples.
    base = load_justification_toml(VALID_TOML)
    j = dataclasses.replace(base, valid_until=valid_until, planned_viewings=planned)
    found = codes(evaluate(j, seen(7, 1), default_policy(), now=NOW))
    assert ("valid_until.past" in found) == (valid_until < TODAY)
    assert ("planned_viewings.too_few" in found) == (planned < 1)
