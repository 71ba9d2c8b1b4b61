"""The justification file form: reading, errors that name the key, writing back."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from datetime import date

import pytest
from ethics_support import VALID_TOML
from hypothesis import given
from hypothesis import strategies as st

from ethics import (
    FAMILY_TOLD_VALUES,
    INTRUSION_LEVELS,
    KEYS,
    LESS_INTRUSIVE_ROUTES,
    STATUTORY_FUNCTIONS,
    Justification,
    JustificationFormatError,
    canonical_dict,
    canonical_json,
    default_policy,
    load_justification_toml,
    parse_justification,
    policy_from_mapping,
    template_toml,
    to_toml,
)

REQUIRED = [
    k
    for k in KEYS
    if k
    not in {
        "data_protection_basis",
        "statutory_function_other",
        "family_told_reason",
        "emergency_reason",
        "scope_urls",
    }
]


def data(**changes: object) -> dict[str, object]:
    """The valid file as parsed TOML, with keys replaced (or removed when set to ...)."""
    parsed: dict[str, object] = tomllib.loads(VALID_TOML)
    for key, value in changes.items():
        if value is ...:
            parsed.pop(key, None)
        else:
            parsed[key] = value
    return parsed


def error_for(**changes: object) -> JustificationFormatError:
    with pytest.raises(JustificationFormatError) as caught:
        parse_justification(data(**changes))
    return caught.value


# --- the contract -------------------------------------------------------------------


def test_dataclass_fields_are_exactly_the_contract_keys() -> None:
    assert tuple(f.name for f in dataclasses.fields(Justification)) == KEYS


def test_contract_key_list_matches_the_shared_example_file_keys() -> None:
    # The keys of ../shared/justification.example.toml, in its order.
    assert KEYS[:4] == (
        "subjects",
        "statutory_function",
        "statutory_function_other",
        "data_protection_basis",
    )
    assert KEYS[-2:] == ("emergency", "emergency_reason")
    assert len(KEYS) == 25


def test_enum_vocabularies_are_the_contract_values() -> None:
    assert STATUTORY_FUNCTIONS == (
        "s47",
        "s17",
        "s31",
        "s20",
        "missing_child",
        "leaving_care",
        "court_direction",
        "other",
    )
    assert LESS_INTRUSIVE_ROUTES == (
        "asked_family",
        "partner_agencies",
        "police",
        "school",
        "health",
        "other",
    )
    assert INTRUSION_LEVELS == ("low", "medium", "high")
    assert FAMILY_TOLD_VALUES == ("yes", "no", "later")


# --- reading ------------------------------------------------------------------------


def test_valid_file_reads_into_typed_fields() -> None:
    j = load_justification_toml(VALID_TOML)
    assert j.subjects == (7,)
    assert j.valid_until == date(2026, 3, 12)
    assert j.less_intrusive_considered == ("asked_family", "police", "school")
    assert j.scope_urls == ("https://photos.example/jay.doe",)
    assert j.attest_no_restricted_content is True


@pytest.mark.parametrize(
    ("subjects", "expected"),
    [
        (["1"], (1,)),
        ([1, 2], (1, 2)),
        (["3", 4], (3, 4)),
        ([" 12 "], (12,)),
        ([], ()),
    ],
)
def test_subjects_accept_strings_or_integers(subjects: list[object], expected: tuple[int]) -> None:
    assert parse_justification(data(subjects=subjects)).subjects == expected


def test_valid_until_accepts_a_toml_date_literal() -> None:
    text = VALID_TOML.replace('valid_until = "2026-03-12"', "valid_until = 2026-03-12")
    assert load_justification_toml(text).valid_until == date(2026, 3, 12)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("statutory_function_other", ""),
        ("family_told_reason", ""),
        ("emergency_reason", ""),
        ("scope_urls", ()),
    ],
)
def test_keys_with_a_documented_default_may_be_omitted(key: str, expected: object) -> None:
    assert getattr(parse_justification(data(**{key: ...})), key) == expected


def test_omitted_data_protection_basis_takes_the_policy_default() -> None:
    j = parse_justification(data(data_protection_basis=...))
    assert j.data_protection_basis == default_policy().default_data_protection_basis
    assert "Art 6(1)(e)" in j.data_protection_basis


def test_omitted_data_protection_basis_follows_an_organisation_policy() -> None:
    policy = policy_from_mapping({"default_data_protection_basis": "Council basis B-7"})
    j = parse_justification(data(data_protection_basis=...), policy=policy)
    assert j.data_protection_basis == "Council basis B-7"


def test_a_given_data_protection_basis_is_kept() -> None:
    j = parse_justification(data(data_protection_basis="Art 6(1)(e) only"))
    assert j.data_protection_basis == "Art 6(1)(e) only"


@pytest.mark.parametrize(
    "key", ["question", "safety_case", "balance", "why_not_enough", "collateral_intrusion"]
)
def test_empty_text_is_not_a_format_error(key: str) -> None:
    # Drafts are evaluated live; emptiness is the gate's business, not the parser's.
    assert getattr(parse_justification(data(**{key: ""})), key) == ""


@pytest.mark.parametrize("key", ["statutory_function", "intrusion_level", "family_told"])
def test_an_unchosen_enum_is_not_a_format_error(key: str) -> None:
    assert getattr(parse_justification(data(**{key: ""})), key) == ""


# --- malformed input: every error names the key -------------------------------------


def test_unknown_key_suggests_the_nearest_known_key() -> None:
    error = error_for(questoin="Where is he?")
    assert error.key == "questoin"
    assert "did you mean 'question'?" in str(error)


def test_unknown_key_with_nothing_close_says_to_remove_it() -> None:
    error = error_for(favourite_colour="blue")
    assert error.key == "favourite_colour"
    assert "remove it" in str(error)


@pytest.mark.parametrize("key", REQUIRED)
def test_missing_required_key_is_named(key: str) -> None:
    error = error_for(**{key: ...})
    assert error.key == key
    assert f"Key '{key}' is missing" in str(error)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("planned_viewings", "two", "must be a whole number"),
        ("planned_viewings", 1.5, "must be a whole number"),
        ("planned_viewings", True, "must be a whole number"),
        ("attest_logged_out", "yes", "must be true or false"),
        ("emergency", 0, "must be true or false"),
        ("question", 42, "must be text"),
        ("question", ["a", "b"], "must be text"),
        ("scope_hosts", "photos.example", "must be a list of texts"),
        ("scope_urls", [1], "must be a list of texts"),
        ("subjects", "7", "must be a list of subject ids"),
        ("less_intrusive_considered", "police", "must be a list"),
        ("statutory_function", 47, "must be one of"),
    ],
)
def test_wrong_type_is_named_with_what_is_allowed(key: str, value: object, expected: str) -> None:
    error = error_for(**{key: value})
    assert error.key == key
    assert f"Key '{key}' {expected}" in str(error)


@pytest.mark.parametrize("item", ["abc", "", 0, -3, True, 1.0, "1.5"])
def test_subject_ids_must_be_positive_whole_numbers(item: object) -> None:
    error = error_for(subjects=[7, item])
    assert error.key == "subjects"
    assert "positive whole numbers" in str(error)


@pytest.mark.parametrize(
    "value", ["20/03/2026", "2026-02-30", "2026-3-12", "next Friday", "", 20260312]
)
def test_bad_date_is_named_with_the_expected_form(value: object) -> None:
    error = error_for(valid_until=value)
    assert error.key == "valid_until"
    assert "YYYY-MM-DD" in str(error)


def test_a_date_with_a_time_is_refused_rather_than_truncated() -> None:
    text = VALID_TOML.replace('valid_until = "2026-03-12"', "valid_until = 2026-03-12T09:00:00Z")
    with pytest.raises(JustificationFormatError) as caught:
        load_justification_toml(text)
    assert caught.value.key == "valid_until"
    assert "a date and time" in str(caught.value)


def test_bad_enum_value_message_lists_the_allowed_values() -> None:
    error = error_for(intrusion_level="huge")
    assert error.key == "intrusion_level"
    assert (
        str(error) == "Key 'intrusion_level' must be one of low, medium, high; the file has 'huge'."
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("statutory_function", "s48"),
        ("family_told", "maybe"),
        ("less_intrusive_considered", ["police", "neighbours"]),
        ("less_intrusive_considered", [""]),
    ],
)
def test_other_bad_enum_values_are_named(key: str, value: object) -> None:
    error = error_for(**{key: value})
    assert error.key == key
    assert "must be one of" in str(error)


def test_lone_surrogate_text_is_refused() -> None:
    error = error_for(question="Where \ud800 is he staying this week, and with whom?")
    assert error.key == "question"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('subjects = ["7"]\nquestion = "unterminated\n', 2),
        ('subjects = ["7"]\nplanned_viewings 1\n', 2),
        ('subjects = ["7"]\n\n\nsubjects = ["8"]\n', 4),
        ("question = ", 1),
    ],
)
def test_toml_syntax_error_reports_the_line(text: str, line: int) -> None:
    with pytest.raises(JustificationFormatError) as caught:
        load_justification_toml(text)
    assert caught.value.line == line
    assert caught.value.key is None
    assert f"line {line}" in str(caught.value)


def test_syntax_error_is_also_an_ethics_error_for_callers() -> None:
    from ethics import EthicsError

    with pytest.raises(EthicsError):
        load_justification_toml("=")


# --- canonical form, file form, template --------------------------------------------


def test_canonical_dict_is_json_ready_with_every_key(valid: Justification) -> None:
    canonical = canonical_dict(valid)
    assert tuple(canonical) == KEYS
    assert canonical["subjects"] == [7]
    assert canonical["valid_until"] == "2026-03-12"
    assert json.loads(json.dumps(canonical)) == canonical


def test_canonical_json_is_sorted_and_compact(valid: Justification) -> None:
    text = canonical_json(valid).decode("utf-8")
    assert text.startswith('{"attest_logged_out":true,')
    assert ": " not in text.replace('": "', "")  # no padding after separators


def test_canonical_json_bytes_are_frozen() -> None:
    # If these bytes change, every stored justification hash stops verifying.
    j = load_justification_toml(template_toml(valid_until=date(2026, 3, 9)))
    j = dataclasses.replace(j, subjects=(3, 1), question="Où est-il ?", data_protection_basis="B")
    expected = (
        '{"attest_logged_out":false,"attest_no_interaction":false,'
        '"attest_no_personal_or_fake_profile":false,"attest_no_restricted_content":false,'
        '"balance":"","collateral_intrusion":"","data_protection_basis":"B",'
        '"emergency":false,"emergency_reason":"","ethics_case":"","family_told":"",'
        '"family_told_reason":"","intrusion_level":"","less_intrusive_considered":[],'
        '"planned_viewings":1,"proportionality":"","question":"Où est-il ?",'
        '"safety_case":"","scope_hosts":[],"scope_urls":[],"statutory_function":"",'
        '"statutory_function_other":"","subjects":[3,1],"valid_until":"2026-03-09",'
        '"why_not_enough":""}'
    )
    assert canonical_json(j) == expected.encode("utf-8")
    assert hashlib.sha256(canonical_json(j)).hexdigest() == GOLDEN_SHA256


GOLDEN_SHA256 = "6b7c1c8bc4485ee91fa79f61cd0a0e82ab647f92e72ff9c5781ddb432b503ab5"


def test_parse_of_canonical_dict_round_trips(valid: Justification) -> None:
    assert parse_justification(canonical_dict(valid)) == valid


def test_to_toml_round_trips(valid: Justification) -> None:
    assert load_justification_toml(to_toml(valid)) == valid


def test_to_toml_escapes_quotes_newlines_and_control_characters(valid: Justification) -> None:
    awkward = dataclasses.replace(valid, question='He said "tonight"\nthen\t\x00\x7f left \\ ✓')
    assert load_justification_toml(to_toml(awkward)) == awkward


def test_template_parses_with_blank_answers() -> None:
    j = load_justification_toml(template_toml())
    assert j.question == ""
    assert j.subjects == ()
    assert j.planned_viewings == 1
    assert j.attest_logged_out is False
    assert j.data_protection_basis == default_policy().default_data_protection_basis


def test_template_mentions_every_key() -> None:
    text = template_toml()
    for key in KEYS:
        assert f"{key} = " in text


def test_template_can_prefill_the_valid_until_day() -> None:
    j = load_justification_toml(template_toml(valid_until=date(2026, 3, 9)))
    assert j.valid_until == date(2026, 3, 9)


def test_template_states_the_policy_limits() -> None:
    policy = policy_from_mapping({"max_validity_days": 14, "emergency_review_hours": 12})
    text = template_toml(policy=policy)
    assert "at most 14 days" in text
    assert "within 12 hours" in text


# --- properties ---------------------------------------------------------------------

# Well-formed values: what the parser accepts (enums or "", positive ids, real text).
_text = st.text(max_size=80)
well_formed = st.builds(
    Justification,
    subjects=st.lists(st.integers(1, 10**12), max_size=4).map(tuple),
    statutory_function=st.sampled_from(("", *STATUTORY_FUNCTIONS)),
    statutory_function_other=_text,
    data_protection_basis=_text,
    question=_text,
    safety_case=_text,
    ethics_case=_text,
    balance=_text,
    less_intrusive_considered=st.lists(st.sampled_from(LESS_INTRUSIVE_ROUTES)).map(tuple),
    why_not_enough=_text,
    proportionality=_text,
    intrusion_level=st.sampled_from(("", *INTRUSION_LEVELS)),
    collateral_intrusion=_text,
    scope_hosts=st.lists(_text, max_size=3).map(tuple),
    scope_urls=st.lists(_text, max_size=3).map(tuple),
    planned_viewings=st.integers(-(2**63), 2**63),
    valid_until=st.dates(),
    family_told=st.sampled_from(("", *FAMILY_TOLD_VALUES)),
    family_told_reason=_text,
    attest_logged_out=st.booleans(),
    attest_no_personal_or_fake_profile=st.booleans(),
    attest_no_interaction=st.booleans(),
    attest_no_restricted_content=st.booleans(),
    emergency=st.booleans(),
    emergency_reason=_text,
)


@given(well_formed)
def test_canonical_form_is_deterministic(j: Justification) -> None:
    twin = dataclasses.replace(j)
    assert canonical_dict(j) == canonical_dict(twin)
    assert canonical_json(j) == canonical_json(twin)
    assert canonical_json(j) == canonical_json(parse_justification(canonical_dict(j)))


@given(well_formed)
def test_canonical_dict_round_trips(j: Justification) -> None:
    assert parse_justification(canonical_dict(j)) == j


@given(well_formed)
def test_file_form_round_trips(j: Justification) -> None:
    assert load_justification_toml(to_toml(j)) == j
