"""What a stranger could learn about a child from a page: exposure indicators.

Checking a child's exposure (full name, town, school, phone, email, postcode, date of
birth, geotagged photos) is a protective use (DOMAIN.md, "Child-safety angle"): an
adopted or fostered child can be traced through exactly these details. The indicators
are *findings for the worker to confirm*, never conclusions: the tool lists what it
saw and where, and the worker judges.

The patterns are conservative (they prefer missing an indicator to inventing one) and
each is tested both ways: UK phone numbers must have a UK shape and length, postcodes
must be upper case in the Royal Mail format, a school needs a capitalised name before
"School", "Academy" or "College", a date of birth needs a birth word next to a date,
and a town only counts when the page says someone lives in, or is from, it (or the
page's own location metadata names it).

A crafted page must not be able to make the check slow: every pattern has bounded
repetition (no ``+`` or ``*``, so each match attempt looks at a bounded number of
characters and the work is linear in the text), and only the first :data:`MAX_TEXT`
characters of the text, :data:`MAX_META` metadata values and :data:`MAX_META_VALUE`
characters of each are read. A test holds every pattern to this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from collectors.images import GpsPoint

MAX_TEXT = 1_000_000  # characters of a page's text that are read
MAX_META = 300  # metadata values read
MAX_META_VALUE = 2_000  # characters of each metadata value read
_MAX_NAME_WORDS = 8  # words of the subject's name matched
_CONTEXT = 40
_MAX_PER_KIND = 25


@dataclass(frozen=True)
class Indicator:
    kind: str  # full_name, school, town, phone, email, postcode, date_of_birth, geotag
    value: str
    context: str  # the words around it, so the worker can find and judge it


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]{1,63}"
    r"(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}\b"
)
# UK numbers: +44 (optionally "(0)") or 0, an area or mobile code, spaces or hyphens
# between groups; the digit count is checked by _is_uk_phone.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+44[\s-]?(?:\(0\)[\s-]?)?|\(?0)\d{2,4}\)?(?:[\s-]?\d){5,8}(?![\w-])"
)
_POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ](?:[0-9][0-9A-HJKMNPR-Y]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?)"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})\b"
)
_SCHOOL_KINDS = (
    "Primary", "Junior", "Infant", "Infants", "Nursery", "Secondary", "High", "Grammar",
    "Community", "Free", "Prep", "Preparatory", "Catholic", "C of E", "CofE", "CE", "RC",
)  # fmt: skip
_SCHOOL_TYPE = rf"(?:(?:{'|'.join(_SCHOOL_KINDS)})\s)?(?:School|Academy|College)"
_CAPITALISED = r"(?:St\.? |Saint )?[A-Z][\w'’.-]{0,30}"
_SCHOOL = re.compile(rf"\b((?:{_CAPITALISED} ){{1,5}}{_SCHOOL_TYPE})\b")
# Words that can start a capitalised run without being part of a school's name.
_NOT_A_NAME = frozenset(
    {"the", "a", "an", "my", "our", "his", "her", "their", "your", "this", "that", "at",
     "to", "from", "in", "of", "new", "old", "local", "i", "we", "she", "he", "they"}
)  # fmt: skip
_KIND_WORDS = frozenset(
    w.casefold() for kind in (*_SCHOOL_KINDS, "School", "Academy", "College") for w in kind.split()
)
_MONTHS = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s{{1,5}}(?:of\s{{1,5}})?{_MONTHS}(?:,?\s{{1,5}}\d{{4}})?"
    rf"|{_MONTHS}\s{{1,5}}\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s{{1,5}}\d{{4}})?)"
)
_DOB = re.compile(
    rf"\b(?:born(?:\s{{1,5}}on)?|d\.?o\.?b\.?|date\s{{1,5}}of\s{{1,5}}birth"
    rf"|birthday(?:\s{{1,5}}is)?(?:\s{{1,5}}on)?)"
    rf"\s{{0,5}}[:\-–]?\s{{0,5}}(?:the\s{{1,5}})?({_DATE})(?!\d)",
    re.I,
)
_TOWN = re.compile(
    r"\b(?:lives|live|living|lived|based|grew up|moved|moving)\s{1,5}(?:in|to)\s{1,5}"
    r"([A-Z][a-z'’]{1,30}(?:[ -](?:upon-|on-|under-|le-|by-|upon |on |under )?[A-Z][a-z'’]{1,30})"
    r"{0,2})"
)
_TOWN_META = ("geo.placename", "og:locality", "place:location:locality", "addresslocality")
_GEO_META = ("geo.position", "icbm")
_GEO_POSITION = re.compile(r"-?\d{1,3}\.\d{1,15}\s{0,5}[;,]\s{0,5}-?\d{1,3}\.\d{1,15}")
_NOT_DIGIT = re.compile(r"\D")


def name_pattern(subject_name: str) -> re.Pattern[str] | None:
    """The subject's name as written, any case, any (short) run of spaces between words."""
    words = subject_name.split()[:_MAX_NAME_WORDS]
    if not words:
        return None
    return re.compile(r"\b" + r"\s{1,5}".join(re.escape(w[:64]) for w in words) + r"\b", re.I)


def exposure_indicators(
    text: str,
    *,
    html_meta: Mapping[str, str] | None = None,
    subject_name: str | None = None,
    images_gps: Iterable[GpsPoint] = (),
) -> tuple[Indicator, ...]:
    """Everything in ``text`` (and the page's metadata) that could identify or locate."""
    meta = {
        k.lower(): v[:MAX_META_VALUE]
        for k, v in list((html_meta or {}).items())[:MAX_META]
        if isinstance(v, str)
    }
    sources = [text[:MAX_TEXT], *(v for v in meta.values() if v)]
    found: dict[tuple[str, str], Indicator] = {}

    def add(kind: str, value: str, source: str, start: int, end: int) -> None:
        key = (kind, " ".join(value.split()).casefold())
        if key in found or sum(1 for k in found if k[0] == kind) >= _MAX_PER_KIND:
            return
        found[key] = Indicator(kind, " ".join(value.split()), _context(source, start, end))

    name = name_pattern(subject_name or "")
    if name is not None:
        for source in sources:
            for m in name.finditer(source):
                add("full_name", m.group(0), source, m.start(), m.end())
    for source in sources:
        for m in _SCHOOL.finditer(source):
            school = _trim_school(m.group(1))
            if school:
                add("school", school, source, m.start(1), m.end(1))
        for m in _TOWN.finditer(source):
            add("town", m.group(1), source, m.start(1), m.end(1))
        for m in _PHONE.finditer(source):
            if _is_uk_phone(m.group(0)):
                add("phone", m.group(0).strip(), source, m.start(), m.end())
        for m in _EMAIL.finditer(source):
            add("email", m.group(0), source, m.start(), m.end())
        for m in _POSTCODE.finditer(source):
            add("postcode", m.group(0), source, m.start(), m.end())
        for m in _DOB.finditer(source):
            add("date_of_birth", m.group(1), source, m.start(), m.end())
    for key in _TOWN_META:
        if meta.get(key):
            add("town", meta[key], meta[key], 0, len(meta[key]))
    for key in _GEO_META:
        if meta.get(key) and _GEO_POSITION.search(meta[key]):
            add("geotag", meta[key], f"page metadata {key}: {meta[key]}", 0, 0)
    for point in images_gps:
        where = f" in {point.source}" if point.source else ""
        add("geotag", str(point), f"GPS position{where}: {point}", 0, 0)
    return tuple(found.values())


def _context(source: str, start: int, end: int) -> str:
    if start == 0 and end == 0:
        return source
    before = source[max(0, start - _CONTEXT) : start]
    after = source[end : end + _CONTEXT]
    snippet = " ".join(f"{before}{source[start:end]}{after}".split())
    prefix = "…" if start > _CONTEXT else ""
    suffix = "…" if end + _CONTEXT < len(source) else ""
    return f"{prefix}{snippet}{suffix}"


def _trim_school(candidate: str) -> str | None:
    """Drop leading words that are not part of a name ("at", "The"...); need one left."""
    words = candidate.split()
    while words and words[0].casefold() in _NOT_A_NAME:
        words.pop(0)
    if not any(w.casefold() not in _KIND_WORDS for w in words):
        return None
    return " ".join(words)


def _is_uk_phone(candidate: str) -> bool:
    digits = _NOT_DIGIT.sub("", candidate)
    if digits.startswith("44"):
        digits = digits[2:]
        if digits.startswith("0"):
            digits = digits[1:]
    elif digits.startswith("0"):
        digits = digits[1:]
    else:
        return False
    # National significant numbers: 10 digits (mobiles 7xxxxxxxxx, most geographic),
    # 9 for a few old geographic numbers.
    if len(digits) == 9:
        return digits[0] == "1"  # a few old geographic numbers are one digit short
    return len(digits) == 10 and digits[0] in "1237"  # geographic, national, mobile
