"""The policy: shipped defaults (a DESIGN contract) and an organisation's overrides."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ethics import Policy, PolicyError, default_policy, load_policy, policy_from_mapping
from ethics.vocabulary import FREE_TEXT_KEYS


def test_shipped_defaults_are_the_design_contract() -> None:
    policy = default_policy()
    assert policy.max_validity_days == 28
    assert policy.max_planned_viewings == 3
    assert policy.meter_window_days == 90
    assert policy.meter_warn_from == 2
    assert policy.meter_stop_at == 4
    assert policy.emergency_review_hours == 24
    assert policy.warn_planned_viewings_above == 1


def test_shipped_default_basis_is_public_task_with_safeguarding_condition() -> None:
    basis = default_policy().default_data_protection_basis
    assert "Art 6(1)(e)" in basis
    assert "Sch 1 para 18" in basis


def test_shipped_policy_sets_a_minimum_for_every_free_text_answer() -> None:
    assert set(default_policy().min_words) == set(FREE_TEXT_KEYS)


def test_load_policy_without_a_source_is_the_shipped_policy() -> None:
    assert load_policy() == default_policy()


def test_policy_is_frozen_and_its_tables_read_only() -> None:
    policy = default_policy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.meter_stop_at = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.min_words["question"] = 1  # type: ignore[index]


def test_organisation_text_overrides_only_what_it_names() -> None:
    policy = load_policy('name = "Northshire"\nmax_validity_days = 14\n')
    assert policy.name == "Northshire"
    assert policy.max_validity_days == 14
    assert policy.meter_stop_at == 4


def test_organisation_file_is_read_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text("meter_window_days = 180\n", encoding="utf-8")
    assert load_policy(path).meter_window_days == 180


def test_min_words_override_merges_key_by_key() -> None:
    policy = load_policy("[min_words]\nquestion = 10\n")
    assert policy.min_words["question"] == 10
    assert policy.min_words["safety_case"] == default_policy().min_words["safety_case"]


def test_list_override_replaces_the_list() -> None:
    policy = load_policy('boilerplate_phrases = ["see file"]\n')
    assert policy.boilerplate_phrases == ("see file",)


def test_copy_similarity_accepts_an_integer_one() -> None:
    assert policy_from_mapping({"copy_similarity": 1}).copy_similarity == 1.0


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("max_validty_days = 10", "max_validty_days", "did you mean 'max_validity_days'?"),
        ("colour = 'red'", "colour", "not recognised"),
        ("max_validity_days = 'four weeks'", "max_validity_days", "whole number from 1 to 366"),
        ("max_validity_days = 0", "max_validity_days", "whole number from 1 to 366"),
        ("max_validity_days = 2800", "max_validity_days", "whole number from 1 to 366"),
        ("meter_stop_at = true", "meter_stop_at", "whole number"),
        ("meter_window_days = 90.5", "meter_window_days", "whole number"),
        ("meter_warn_from = 5", "meter_warn_from", "must not be more than 'meter_stop_at'"),
        ("name = ''", "name", "non-empty text"),
        ("default_data_protection_basis = 6", "default_data_protection_basis", "text"),
        ("copy_similarity = 0", "copy_similarity", "above 0 and at most 1"),
        ("copy_similarity = 1.5", "copy_similarity", "above 0 and at most 1"),
        ("boilerplate_phrases = 'none'", "boilerplate_phrases", "list of non-empty texts"),
        ("mitigation_cues = ['redact', '']", "mitigation_cues", "list of non-empty texts"),
        ("min_words = 5", "min_words", "must be a table"),
        ("[min_words]\nquestoin = 4", "min_words.questoin", "did you mean 'question'?"),
        ("[min_words]\nquestion = -1", "min_words.question", "whole number from 0"),
    ],
)
def test_bad_policy_names_the_key(text: str, key: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(text)
    assert caught.value.key == key
    assert fragment in str(caught.value)


def test_policy_syntax_error_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy("max_validity_days = = 3")


def test_unreadable_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="could not be read"):
        load_policy(tmp_path / "missing.toml")


def test_policy_from_mapping_validates_like_a_file() -> None:
    with pytest.raises(PolicyError):
        policy_from_mapping({"meter_stop_at": "four"})
    assert isinstance(policy_from_mapping({}), Policy)
