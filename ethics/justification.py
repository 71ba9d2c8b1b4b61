"""The justification: a worker's request to look at public online information.

The file form (keys and allowed values) is a contract, listed in `ethics.vocabulary`.
Reading is strict about *shape* (types, dates, enum values, unknown keys) and lenient
about *content*: empty text, or an enum left as "", is accepted here because the
desktop wizard evaluates half-filled drafts live, and the gate's findings are the place
that says what is missing.
"""

from __future__ import annotations

import difflib
import json
import re
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Final

import tomli_w

from ethics.errors import JustificationFormatError
from ethics.policy import Policy, default_policy
from ethics.vocabulary import (
    FAMILY_TOLD_VALUES,
    INTRUSION_LEVELS,
    KEYS,
    LESS_INTRUSIVE_ROUTES,
    STATUTORY_FUNCTIONS,
)


@dataclass(frozen=True, kw_only=True)
class Justification:
    """One request to look, field for field the keys of the file form.

    Enum fields hold their str value, or "" while a draft has not chosen one yet.
    """

    subjects: tuple[int, ...]
    statutory_function: str
    statutory_function_other: str = ""
    data_protection_basis: str
    question: str
    safety_case: str
    ethics_case: str
    balance: str
    less_intrusive_considered: tuple[str, ...]
    why_not_enough: str
    proportionality: str
    intrusion_level: str
    collateral_intrusion: str
    scope_hosts: tuple[str, ...]
    scope_urls: tuple[str, ...] = ()
    planned_viewings: int
    valid_until: date
    family_told: str
    family_told_reason: str = ""
    attest_logged_out: bool
    attest_no_personal_or_fake_profile: bool
    attest_no_interaction: bool
    attest_no_restricted_content: bool
    emergency: bool
    emergency_reason: str = ""


_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SUBJECT_RE: Final = re.compile(r"[0-9]+")
_TOML_POSITION_RE: Final = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_AT_END_RE: Final = re.compile(r"\s*\(at end of document\)\s*$")


def load_justification_toml(text: str, *, policy: Policy | None = None) -> Justification:
    """Read the file form; raise `JustificationFormatError` naming the key to fix."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(str(exc), text) from exc
    return parse_justification(data, policy=policy)


def parse_justification(
    data: Mapping[str, object], *, policy: Policy | None = None
) -> Justification:
    """Build a Justification from parsed TOML (or `canonical_dict` output).

    `policy` supplies the default data-protection basis when the key is omitted; the
    shipped policy is used when it is None.
    """
    for key in data:
        if key not in KEYS:
            raise JustificationFormatError(_unknown_key_message(str(key)), key=str(key))
    read = _Reader(data)
    basis_default = (policy or default_policy()).default_data_protection_basis
    return Justification(
        subjects=read.subjects("subjects"),
        statutory_function=read.choice("statutory_function", STATUTORY_FUNCTIONS),
        statutory_function_other=read.text("statutory_function_other", default=""),
        data_protection_basis=read.text("data_protection_basis", default=basis_default),
        question=read.text("question"),
        safety_case=read.text("safety_case"),
        ethics_case=read.text("ethics_case"),
        balance=read.text("balance"),
        less_intrusive_considered=read.choices("less_intrusive_considered", LESS_INTRUSIVE_ROUTES),
        why_not_enough=read.text("why_not_enough"),
        proportionality=read.text("proportionality"),
        intrusion_level=read.choice("intrusion_level", INTRUSION_LEVELS),
        collateral_intrusion=read.text("collateral_intrusion"),
        scope_hosts=read.texts("scope_hosts"),
        scope_urls=read.texts("scope_urls", optional=True),
        planned_viewings=read.whole_number("planned_viewings"),
        valid_until=read.day("valid_until"),
        family_told=read.choice("family_told", FAMILY_TOLD_VALUES),
        family_told_reason=read.text("family_told_reason", default=""),
        attest_logged_out=read.flag("attest_logged_out"),
        attest_no_personal_or_fake_profile=read.flag("attest_no_personal_or_fake_profile"),
        attest_no_interaction=read.flag("attest_no_interaction"),
        attest_no_restricted_content=read.flag("attest_no_restricted_content"),
        emergency=read.flag("emergency"),
        emergency_reason=read.text("emergency_reason", default=""),
    )


def canonical_dict(justification: Justification) -> dict[str, object]:
    """Every field as JSON-ready data: lists for tuples, the date as YYYY-MM-DD.

    Feeding the result back to `parse_justification` gives an equal Justification.
    """
    return {key: _plain(getattr(justification, key)) for key in KEYS}


def canonical_json(justification: Justification) -> bytes:
    """The bytes whose sha256 is the justification's content hash.

    Sorted keys, no insignificant whitespace, UTF-8 without \\u escapes: the same
    justification always gives the same bytes, on any machine.
    """
    text = json.dumps(
        canonical_dict(justification),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    return text.encode("utf-8")


def to_toml(justification: Justification) -> str:
    """The file form of a justification; `load_justification_toml` reads it back equal."""
    lines = ["# A request to look at public online information (written by Caseview).", ""]
    body = tomli_w.dumps({key: _plain(getattr(justification, key)) for key in KEYS})
    return "\n".join(lines) + "\n" + body


# A date no one could mistake for a real choice; the gate blocks it as in the past.
TEMPLATE_PLACEHOLDER_DATE: Final = date(2000, 1, 1)


def template_toml(*, valid_until: date | None = None, policy: Policy | None = None) -> str:
    """A commented starting file with every key blank; it parses, and the gate lists
    everything still to fill in.

    Pass `valid_until` (e.g. today plus a few days) to pre-fill the date; otherwise a
    placeholder in the past is written so the gate asks for a real one.
    """
    rules = policy or default_policy()
    day = (valid_until or TEMPLATE_PLACEHOLDER_DATE).isoformat()
    values: dict[str, TomlValue] = {
        "subjects": [],
        "planned_viewings": 1,
        "valid_until": day,
        **{key: [] for key in ("less_intrusive_considered", "scope_hosts", "scope_urls")},
        **{key: False for key in KEYS if key.startswith("attest_") or key == "emergency"},
    }
    lines = list(_TEMPLATE_HEADER)
    for key in KEYS:
        for comment in _TEMPLATE_COMMENTS.get(key, ()):
            text = comment.format(days=rules.max_validity_days, hours=rules.emergency_review_hours)
            lines += [f"# {part}" for part in textwrap.wrap(text, 86)]
        if key == "data_protection_basis":
            # Left commented out: omitting the key means "the policy's default".
            default = tomli_w.dumps({key: rules.default_data_protection_basis}).strip()
            lines.append(f"# {default}")
        else:
            lines.append(tomli_w.dumps({key: values.get(key, "")}).strip())
        if key in _BLANK_LINE_AFTER:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_TEMPLATE_HEADER: Final = (
    "# Request to look at public online information about people in a case.",
    "# Fill in every answer in your own words, specific to this case. The gate lists",
    "# anything missing or too vague, and a manager other than you must approve the",
    "# request before anything is viewed (except a break-glass emergency).",
    "",
)

# Comment lines before each key; {days} and {hours} are filled from the policy.
_TEMPLATE_COMMENTS: Final[Mapping[str, tuple[str, ...]]] = {
    "subjects": (
        "Ids of the people this research is about, as `caseview subject add` printed",
        'them, e.g. ["3"] or [3, 4].',
    ),
    "statutory_function": (
        "The duty you are acting under; one of: " + ", ".join(STATUTORY_FUNCTIONS) + ".",
        'If "other", name the duty in statutory_function_other.',
    ),
    "data_protection_basis": (
        "Lawful basis for processing. Leave this line commented out to use the policy",
        "default shown; change it only with your information governance team's advice.",
    ),
    "question": ("The one specific question this look must answer (who, what, which account).",),
    "safety_case": (
        "Both sides, in your own words: the risk to the child and why it must be",
        "checked now (safety_case); the intrusion on privacy, trust and the working",
        "relationship (ethics_case); and why, on balance, looking is right (balance).",
    ),
    "less_intrusive_considered": (
        "Less intrusive routes you tried or considered; any of: "
        + ", ".join(LESS_INTRUSIVE_ROUTES)
        + ".",
        "Then say why they are not enough on their own.",
    ),
    "proportionality": (
        "How far the look will go (which pages, what will be recorded), and the",
        "intrusion level: " + ", ".join(INTRUSION_LEVELS) + ".",
    ),
    "collateral_intrusion": (
        "Other people likely to be seen (friends, other children) and how you will",
        "keep them out of the record.",
    ),
    "scope_hosts": (
        'Where you may look: whole sites (e.g. "social.example"; sub-sites are',
        'included) and/or exact pages (e.g. "https://social.example/some.name").',
        "How many viewings you plan (normally 1), and the last day the request is",
        "valid, as YYYY-MM-DD: a UK date (valid to the end of that day, UK time); the",
        "policy allows at most {days} days ahead.",
    ),
    "family_told": (
        "Will the family be told? one of: " + ", ".join(FAMILY_TOLD_VALUES) + ".",
        'For "no" or "later", give the reason.',
    ),
    "attest_logged_out": (
        "Set each to true only if it is so: you will view logged out; you will use no",
        "personal or fake account; you will not befriend, follow, like or message",
        "anyone; you will not view anything limited to friends or followers.",
    ),
    "emergency": (
        "Break-glass: true only for an immediate risk to a child. Usable at once, and a",
        "manager must review it within {hours} hours. Give the reason.",
    ),
}

_BLANK_LINE_AFTER: Final = frozenset(
    {
        "subjects",
        "statutory_function_other",
        "data_protection_basis",
        "question",
        "balance",
        "why_not_enough",
        "intrusion_level",
        "collateral_intrusion",
        "valid_until",
        "family_told_reason",
        "attest_no_restricted_content",
    }
)


# What the file form holds: strings (dates too, as the contract writes them), whole
# numbers, booleans and lists of those.
TomlValue = str | int | bool | list[str] | list[int]


def _plain(value: object) -> TomlValue:
    # The one place the dataclass's Python types become file/JSON types.
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str | int):
        return value
    raise TypeError(f"unexpected justification value {value!r}")


class _Reader:
    """Typed access to one key at a time, raising a message that names the key."""

    def __init__(self, data: Mapping[str, object]) -> None:
        self._data = data

    def _get(self, key: str, kind: str, default: object) -> object:
        if key in self._data:
            return self._data[key]
        if default is not _REQUIRED:
            return default
        raise JustificationFormatError(
            f"Key '{key}' is missing; add it ({kind}).",
            key=key,
        )

    def text(self, key: str, default: str | None = None) -> str:
        kind = 'text in double quotes, which may be "" while drafting'
        value = self._get(key, kind, _REQUIRED if default is None else default)
        if not isinstance(value, str):
            raise _wrong(key, kind, value)
        return _checked_text(key, value)

    def texts(self, key: str, *, optional: bool = False) -> tuple[str, ...]:
        kind = 'a list of texts, e.g. ["social.example"], or [] for none'
        value = self._get(key, kind, [] if optional else _REQUIRED)
        # A tuple is accepted for Python callers; TOML and JSON only make lists.
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _wrong(key, kind, value)
        return tuple(_checked_text(key, item) for item in value)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self._get(key, "one of " + ", ".join(allowed), _REQUIRED)
        if not isinstance(value, str):
            raise _wrong(key, "one of " + ", ".join(allowed), value)
        # "" means "not chosen yet" in a draft; the gate reports it.
        if value and value not in allowed:
            raise _not_allowed(key, allowed, value)
        return value

    def choices(self, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        kind = "a list whose items are each one of " + ", ".join(allowed)
        value = self._get(key, kind, _REQUIRED)
        if not isinstance(value, list | tuple):
            raise _wrong(key, kind, value)
        for item in value:
            if not isinstance(item, str) or item not in allowed:
                raise _not_allowed(key, allowed, item, items=True)
        return tuple(value)

    def subjects(self, key: str) -> tuple[int, ...]:
        kind = 'a list of subject ids, e.g. ["1", "2"] or [1, 2]'
        value = self._get(key, kind, _REQUIRED)
        if not isinstance(value, list | tuple):
            raise _wrong(key, kind, value)
        ids: list[int] = []
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool) and item > 0:
                ids.append(item)
            elif isinstance(item, str) and _SUBJECT_RE.fullmatch(item.strip()):
                ids.append(int(item.strip()))
            else:
                raise JustificationFormatError(
                    f"Key '{key}' must list subject ids as positive whole numbers, e.g. "
                    f'["1", "2"]; the file has {_describe(item)}.',
                    key=key,
                )
        return tuple(ids)

    def whole_number(self, key: str) -> int:
        kind = "a whole number without quotes, e.g. 1"
        value = self._get(key, kind, _REQUIRED)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(key, kind, value)
        return value

    def flag(self, key: str) -> bool:
        kind = "true or false, without quotes"
        value = self._get(key, kind, _REQUIRED)
        if not isinstance(value, bool):
            raise _wrong(key, kind, value)
        return value

    def day(self, key: str) -> date:
        kind = 'a date written YYYY-MM-DD, e.g. "2026-12-20"'
        value = self._get(key, kind, _REQUIRED)
        # datetime is a subclass of date; a time of day would be silently dropped.
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and _DATE_RE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass  # e.g. 2026-02-30: reported below as a bad date
        raise _wrong(key, kind, value)


_REQUIRED: Final = object()
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _checked_text(key: str, value: str) -> str:
    # Unpaired surrogates cannot be written as UTF-8, so the content hash would fail.
    if not value.isascii() and _SURROGATE.search(value):
        raise JustificationFormatError(
            f"Key '{key}' contains characters that are not valid text; retype that answer.",
            key=key,
        )
    return value


def _wrong(key: str, kind: str, value: object) -> JustificationFormatError:
    return JustificationFormatError(
        f"Key '{key}' must be {kind}; the file has {_describe(value)}.", key=key
    )


def _not_allowed(
    key: str, allowed: tuple[str, ...], value: object, *, items: bool = False
) -> JustificationFormatError:
    what = "Each item of key" if items else "Key"
    return JustificationFormatError(
        f"{what} '{key}' must be one of {', '.join(allowed)}; the file has {_describe(value)}.",
        key=key,
    )


def _describe(value: object) -> str:
    """How a value looks to the person who wrote the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"'{shown}'"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, datetime):
        return f"a date and time ({value.isoformat()})"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, time):
        return f"a time of day ({value.isoformat()})"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return f"a {type(value).__name__}"


def _unknown_key_message(key: str) -> str:
    close = difflib.get_close_matches(key, KEYS, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "remove it or check its spelling."
    return f"Key '{key}' is not part of a justification file; {hint}"


def _syntax_error(message: str, text: str) -> JustificationFormatError:
    found = _TOML_POSITION_RE.search(message)
    if found is not None:
        line, column = int(found.group(1)), int(found.group(2))
        where = f"at line {line}, column {column}"
    elif (found := _TOML_AT_END_RE.search(message)) is not None:
        # tomllib gives no line for errors at the end; the last line is where to look.
        line = text.count("\n") + (0 if text.endswith("\n") else 1)
        where = f"at the end of the file (line {line})"
    else:
        return JustificationFormatError(f"The justification file is not valid TOML: {message}.")
    reason = message[: found.start()]
    return JustificationFormatError(
        f"The justification file is not valid TOML {where}: {reason}. "
        "Check that line; text needs double quotes and each key appears once.",
        line=line,
    )
