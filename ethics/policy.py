"""The gate's policy: limits, thresholds and word lists, shipped with defaults.

The shipped `default_policy.toml` is the single source of the default values; an
organisation's file overrides key by key. Both go through the same validation, so a
broken shipped file fails the tests rather than a worker's request.
"""

from __future__ import annotations

import difflib
import functools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final

from ethics.errors import PolicyError
from ethics.textcheck import normalised
from ethics.vocabulary import FREE_TEXT_KEYS


@dataclass(frozen=True, kw_only=True)
class Policy:
    """Everything the gate, the meter and the capture check need to know about limits."""

    name: str
    max_validity_days: int
    max_planned_viewings: int
    warn_planned_viewings_above: int
    high_intrusion_max_viewings: int
    meter_window_days: int
    meter_warn_from: int
    meter_stop_at: int
    pattern_months: int
    pattern_window_months: int
    emergency_review_hours: int
    corroboration_max_credibility: int
    browse_session_max_minutes: int
    browse_capture_every_page: bool
    default_data_protection_basis: str
    copy_similarity: float
    boilerplate_phrases: tuple[str, ...]
    mitigation_cues: tuple[str, ...]
    # Read-only view: a frozen dataclass alone would still let a dict be mutated.
    min_words: Mapping[str, int]


# Upper bounds keep date arithmetic far from overflow and catch typos like 2800 for 28.
_INT_LIMITS: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {
        "max_validity_days": (1, 366),
        "max_planned_viewings": (1, 100),
        "warn_planned_viewings_above": (1, 100),
        "high_intrusion_max_viewings": (1, 100),
        "meter_window_days": (1, 3660),
        "meter_warn_from": (1, 1000),
        "meter_stop_at": (1, 1000),
        "pattern_months": (2, 120),
        "pattern_window_months": (1, 120),
        "emergency_review_hours": (1, 720),
        "corroboration_max_credibility": (1, 5),
        "browse_session_max_minutes": (1, 480),
    }
)
_TEXT_KEYS: Final = ("name", "default_data_protection_basis")
_LIST_KEYS: Final = ("boilerplate_phrases", "mitigation_cues")
_BOOL_KEYS: Final = ("browse_capture_every_page",)
_KEYS: Final = (
    *_TEXT_KEYS,
    *_INT_LIMITS,
    *_BOOL_KEYS,
    "copy_similarity",
    *_LIST_KEYS,
    "min_words",
)
_MAX_MIN_WORDS: Final = 500


def default_policy() -> Policy:
    """The shipped policy, unchanged."""
    return _shipped()


def load_policy(source: str | os.PathLike[str] | None = None) -> Policy:
    """The shipped policy overridden by an organisation's TOML.

    `source` is the TOML *text* when it is a `str`, a file to read when it is a path
    object (`pathlib.Path`), or None for the shipped defaults alone.
    """
    if source is None:
        return _shipped()
    if isinstance(source, str):
        text = source
        where = "The policy"
    else:
        path = Path(source)
        where = f"The policy file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{where} could not be read ({exc}); check the path.") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{where} is not valid TOML: {exc}.") from exc
    return policy_from_mapping(data)


def policy_from_mapping(overrides: Mapping[str, object]) -> Policy:
    """The shipped policy with `overrides` (already-parsed TOML) applied key by key."""
    return _build(_shipped_data(), overrides)


@functools.cache
def _shipped_data() -> Mapping[str, object]:
    text = resources.files("ethics").joinpath("default_policy.toml").read_text(encoding="utf-8")
    return MappingProxyType(tomllib.loads(text))


@functools.cache
def _shipped() -> Policy:
    return _build(_shipped_data(), {})


def _build(base: Mapping[str, object], overrides: Mapping[str, object]) -> Policy:
    for key in overrides:
        if key not in _KEYS:
            raise PolicyError(_unknown(str(key), _KEYS, "Policy key"), key=str(key))
    merged = {**base, **overrides}
    base_words = base.get("min_words", {})
    if "min_words" in overrides and isinstance(base_words, Mapping):
        # Merge, so an organisation can raise one minimum without restating the rest.
        merged["min_words"] = {**base_words, **_table(overrides["min_words"], "min_words")}
    for key in _KEYS:
        if key not in merged:
            raise PolicyError(f"Policy key '{key}' is missing from the policy.", key=key)

    ints = {key: _int(merged[key], key, *limits) for key, limits in _INT_LIMITS.items()}
    if ints["meter_warn_from"] > ints["meter_stop_at"]:
        raise PolicyError(
            "Policy key 'meter_warn_from' must not be more than 'meter_stop_at' "
            f"({ints['meter_warn_from']} > {ints['meter_stop_at']}); the warning comes first.",
            key="meter_warn_from",
        )
    return Policy(
        name=_text(merged["name"], "name"),
        max_validity_days=ints["max_validity_days"],
        max_planned_viewings=ints["max_planned_viewings"],
        warn_planned_viewings_above=ints["warn_planned_viewings_above"],
        high_intrusion_max_viewings=ints["high_intrusion_max_viewings"],
        meter_window_days=ints["meter_window_days"],
        meter_warn_from=ints["meter_warn_from"],
        meter_stop_at=ints["meter_stop_at"],
        pattern_months=ints["pattern_months"],
        pattern_window_months=ints["pattern_window_months"],
        emergency_review_hours=ints["emergency_review_hours"],
        corroboration_max_credibility=ints["corroboration_max_credibility"],
        browse_session_max_minutes=ints["browse_session_max_minutes"],
        browse_capture_every_page=_bool(
            merged["browse_capture_every_page"], "browse_capture_every_page"
        ),
        default_data_protection_basis=_text(
            merged["default_data_protection_basis"], "default_data_protection_basis"
        ),
        copy_similarity=_fraction(merged["copy_similarity"], "copy_similarity"),
        boilerplate_phrases=_texts(merged["boilerplate_phrases"], "boilerplate_phrases"),
        mitigation_cues=_texts(merged["mitigation_cues"], "mitigation_cues"),
        min_words=_min_words(merged["min_words"]),
    )


def _int(value: object, key: str, low: int, high: int) -> int:
    # bool is an int in Python; `true` is never a sensible limit.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(
            f"Policy key '{key}' must be a whole number from {low} to {high}; "
            f"the policy has {value!r}.",
            key=key,
        )
    return value


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"Policy key '{key}' must be true or false, not {value!r}.", key=key)
    return value


def _text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(
            f"Policy key '{key}' must be non-empty text in double quotes; "
            f"the policy has {value!r}.",
            key=key,
        )
    return value


def _fraction(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise PolicyError(
            f"Policy key '{key}' must be a number above 0 and at most 1, e.g. 0.8; "
            f"the policy has {value!r}.",
            key=key,
        )
    return float(value)


def _texts(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PolicyError(
            f'Policy key \'{key}\' must be a list of non-empty texts, e.g. ["none", "n/a"]; '
            f"the policy has {value!r}.",
            key=key,
        )
    return tuple(value)


def _table(value: object, key: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise PolicyError(
            f"Policy key '{key}' must be a table, written [{key}] on its own line followed by "
            f"key = number lines; the policy has {value!r}.",
            key=key,
        )
    return value


def _min_words(value: object) -> Mapping[str, int]:
    table = _table(value, "min_words")
    result: dict[str, int] = {}
    for field, number in table.items():
        key = f"min_words.{field}"
        if field not in FREE_TEXT_KEYS:
            raise PolicyError(_unknown(str(field), FREE_TEXT_KEYS, "Policy key"), key=key)
        result[field] = _int(number, key, 0, _MAX_MIN_WORDS)
    missing = [f for f in FREE_TEXT_KEYS if f not in result]
    if missing:
        raise PolicyError(
            f"Policy key 'min_words.{missing[0]}' is missing from the policy.",
            key=f"min_words.{missing[0]}",
        )
    return MappingProxyType(result)


def _unknown(key: str, allowed: tuple[str, ...], label: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "remove it or check its spelling."
    return f"{label} '{key}' is not recognised; {hint}"


# --- comparing policies (issue 10: loosening a policy value takes a second manager) ----

# A higher value lets more looks, longer requests or weaker answers through.
_LOOSER_WHEN_HIGHER: Final = (
    "max_validity_days",
    "max_planned_viewings",
    "warn_planned_viewings_above",
    "high_intrusion_max_viewings",
    "meter_warn_from",
    "meter_stop_at",
    "pattern_months",
    "emergency_review_hours",
    "corroboration_max_credibility",
    "copy_similarity",
    "browse_session_max_minutes",
    "browse_capture_every_page",  # true keeps every page viewed: less minimisation
)
# A lower value counts fewer past looks.
_LOOSER_WHEN_LOWER: Final = ("meter_window_days", "pattern_window_months")


def _phrase_set(phrases: tuple[str, ...]) -> set[str]:
    # Compared as the gate compares them: case and punctuation do not matter.
    return {normalised(p) for p in phrases}


def loosened(current: Policy, proposed: Policy) -> tuple[str, ...]:
    """Every key whose proposed value is less strict than the current one.

    ``min_words`` is named key by key (``min_words.question``); a removed stock phrase
    loosens ``boilerplate_phrases``, an added cue loosens ``mitigation_cues`` (more
    answers pass as mitigating), and any change of ``default_data_protection_basis``
    counts, since a different legal basis is not "stricter" in any way a machine can tell.
    """
    found: list[str] = []
    for key in _LOOSER_WHEN_HIGHER:
        if getattr(proposed, key) > getattr(current, key):
            found.append(key)
    for key in _LOOSER_WHEN_LOWER:
        if getattr(proposed, key) < getattr(current, key):
            found.append(key)
    for field, words in current.min_words.items():
        if proposed.min_words.get(field, 0) < words:
            found.append(f"min_words.{field}")
    if _phrase_set(current.boilerplate_phrases) - _phrase_set(proposed.boilerplate_phrases):
        found.append("boilerplate_phrases")
    if _phrase_set(proposed.mitigation_cues) - _phrase_set(current.mitigation_cues):
        found.append("mitigation_cues")
    if proposed.default_data_protection_basis != current.default_data_protection_basis:
        found.append("default_data_protection_basis")
    return tuple(found)


def differences_from_defaults(policy: Policy) -> dict[str, object]:
    """Each value of ``policy`` that differs from the shipped defaults, by key.

    The name is left out (it labels the policy, it is not a rule); ``min_words`` is
    given key by key as ``min_words.FIELD``. An unchanged policy gives ``{}``.
    """
    shipped = _shipped()
    found: dict[str, object] = {}
    for key in _KEYS:
        if key in ("name", "min_words"):
            continue
        value = getattr(policy, key)
        if value != getattr(shipped, key):
            found[key] = value
    for field, words in policy.min_words.items():
        if shipped.min_words.get(field) != words:
            found[f"min_words.{field}"] = words
    return found
