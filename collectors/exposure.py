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

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from collectors.images import GpsPoint

MAX_TEXT = 1_000_000  # characters of a page's text that are read
MAX_META = 300  # metadata values read
MAX_META_VALUE = 2_000  # characters of each metadata value read
_MAX_NAME_WORDS = 8  # words of the subject's name matched
_CONTEXT = 40
_MAX_PER_KIND = 25
_MAX_CUES = 2_000  # cue matches kept per pattern and text
_LINK = 250  # characters between an indicator and the person it is about


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
# The Royal Mail shape (outward code, optional space, inward code), not glued to a "#"
# (a CSS colour), a "-", a "/" or a "." (product codes, paths, file names) or a word.
_POSTCODE = re.compile(
    r"(?<![\w#/.-])(?:GIR ?0AA|"
    r"([A-PR-UWYZ](?:[0-9][0-9A-HJKMNPR-Y]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?))"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})(?![\w#/-])"
)
# The 121 postcode areas (the letters of an outward code); "AA9 9AA" is no postcode.
_POSTCODE_AREAS = frozenset(
    """AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN
    DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY
    L LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S
    SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR
    WS WV YO ZE""".split()  # noqa: SIM905 - a table, easier to check as written
)
_LETTERS = re.compile(r"[A-Z]{1,2}")
# An address around a postcode: the word "postcode" or "address", living at, a street
# line ("14 Acacia Avenue"), or an address line's comma just before it ("Leeds, LS6 2AB").
_ADDRESS_CUE = re.compile(
    r"(?i:\bpost ?codes?\b|\baddress\b|\b(?:lives?|living|stays?|staying) at\b)"
    r"|\b\d{1,4}[A-Za-z]? (?:[A-Z][a-z'’]{1,20} ){1,3}(?:Road|Rd|Street|St|Lane|Ln|Avenue|Ave|"
    r"Close|Drive|Dr|Crescent|Way|Court|Gardens|Place|Terrace|Grove|Row|Hill|Green|Walk|Mews|"
    r"Square|Rise|View|Park|Parade|Vale)\b"
)
# A person on the page: a parent's "my son", a child's own "I go to", "my birthday"; the
# subject's name is matched separately (name_words_pattern). A school, a town, a date of
# birth or a postcode only counts with one of these near it (the same line, a few
# sentences either way): a site menu, a council's own address or a news story is not
# a child's exposure.
_KIN = re.compile(
    r"(?i:\b(?:my|our|his|her|their) (?:(?:little|eldest|oldest|youngest|middle|baby|"
    r"beautiful|gorgeous|amazing|clever|brave|lovely|wee|two|three|big) ){0,2}"
    r"(?:sons?|daughters?|boys?|girls?|child|children|kids?|grand(?:son|daughter|child|children)s?|"
    r"step(?:son|daughter)s?|baby|lad|princess|nephew|niece|twins|little ones?|youngest|eldest)\b"
    r"|\bhappy (?:1[0-7]|[1-9])(?:st|nd|rd|th) birthday\b)"
)
_FIRST_PERSON = re.compile(
    r"(?i:\b(?:I|we)(?:'m|’m| am| are|'re|’re)? (?:go|going|went|started|start|"
    r"live|lived|living|moved|moving|at|in Year)\b"
    r"|\bI(?:'m|’m| am) (?:1[0-7]|[1-9])\b"
    r"|\bmy (?:school|class|teacher|birthday|bday|address|postcode|house|home|town|mum|dad)\b"
    r"|\bmy (?:number|mobile|phone|email|e-mail|snap|insta)\b"
    r"|\b(?:call|text|ring|message|email|e-mail|contact|phone|dm|add) me\b"
    r"|\bour (?:house|home|address|postcode|number|landline)\b)"
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
    r"\b(?i:lives|live|living|lived|based|grew up|moved|moving)\s{1,5}(?i:in|to)\s{1,5}"
    r"([A-Z][a-z'’]{1,30}(?:[ -](?:upon-|on-|under-|le-|by-|upon |on |under )?[A-Z][a-z'’]{1,30})"
    r"{0,2})"
)
_TOWN_META = ("geo.placename", "og:locality", "place:location:locality", "addresslocality")
_GEO_META = ("geo.position", "icbm")
_GEO_POSITION = re.compile(r"-?\d{1,3}\.\d{1,15}\s{0,5}[;,]\s{0,5}-?\d{1,3}\.\d{1,15}")
_NOT_DIGIT = re.compile(r"\D")
# Scripts written without spaces between words, or with particles joined to them: Thai,
# Lao, Myanmar, Khmer, Hangul, and the CJK blocks (kana, Han, full-width kana).
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u2e80-\u9fff\ua960-\ua97f"
    "\uac00-\ud7ff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003ffff]"
)
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b|[/.-](\d\d)$")


def _edge(char: str) -> str:
    """A word boundary at a name's edge, unless the name's script writes words without
    spaces between them (Chinese, Japanese, Thai) or joins particles to them (Korean
    "지수는"): there a boundary would never be found, and the name never seen."""
    return "" if _UNSPACED.match(char) else r"\b"


def name_words_pattern(subject_name: str) -> re.Pattern[str] | None:
    """Any one word of the subject's name ("Lily" or "Smith"), capitalised as a name is."""
    words = [w[:64] for w in subject_name.split()[:_MAX_NAME_WORDS] if len(w) > 1]
    if not words:
        return None
    alternatives = "|".join(
        _edge(w[0]) + re.escape(w[:1].upper() + w[1:].lower()) + _edge(w[-1]) for w in words
    )
    return re.compile(rf"(?:{alternatives})")


def name_pattern(subject_name: str) -> re.Pattern[str] | None:
    """The subject's name as written, any case, any (short) run of spaces between words."""
    words = [w[:64] for w in subject_name.split()[:_MAX_NAME_WORDS]]
    if not words:
        return None
    joined = r"\s{1,5}".join(re.escape(w) for w in words)
    return re.compile(_edge(words[0][0]) + joined + _edge(words[-1][-1]), re.I)


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
    words = name_words_pattern(subject_name or "")
    this_year = datetime.now(UTC).year
    about_a_person = False
    for source in sources:
        if name is not None:
            for m in name.finditer(source):
                add("full_name", m.group(0), source, m.start(), m.end())
        people = _cues(source, (_KIN, _FIRST_PERSON, words))
        about_a_person = about_a_person or bool(people)
        for m in _SCHOOL.finditer(source):
            school = _trim_school(m.group(1))
            if school and _near(people, m.start(1), m.end(1)):
                add("school", school, source, m.start(1), m.end(1))
        for m in _TOWN.finditer(source):
            if _near(people, m.start(), m.end(1)):
                add("town", m.group(1), source, m.start(1), m.end(1))
        # A mobile number or a personal mailbox is a person's; an office line or an
        # organisation's address ("0113 222 4444", "enquiries@council.gov.uk") only
        # counts when the page ties it to a person.
        for m in _PHONE.finditer(source):
            if _is_uk_phone(m.group(0)) and (
                _is_mobile(m.group(0)) or _near(people, m.start(), m.end())
            ):
                add("phone", m.group(0).strip(), source, m.start(), m.end())
        for m in _EMAIL.finditer(source):
            if _is_personal_mailbox(m.group(0)) or _near(people, m.start(), m.end()):
                add("email", m.group(0), source, m.start(), m.end())
        addresses = _cues(source, (_ADDRESS_CUE,))
        for m in _POSTCODE.finditer(source):
            area = m.group(1)
            if area is not None:
                letters = _LETTERS.match(area)
                if letters is None or letters.group(0) not in _POSTCODE_AREAS:
                    continue
            lead = source[max(0, m.start() - 2) : m.start()]
            if (
                _near(addresses, m.start(), m.start(), before=100, after=0) or lead.endswith(", ")
            ) and _near(people, m.start(), m.end(), line=source):
                add("postcode", m.group(0), source, m.start(), m.end())
        for m in _DOB.finditer(source):
            if _is_minor_year(m.group(1), this_year) or _near(people, m.start(), m.end()):
                add("date_of_birth", m.group(1), source, m.start(), m.end())
    # Location metadata describes the page; it counts on a page about a person.
    if about_a_person or any(k[0] == "full_name" for k in found):
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


def _cues(source: str, patterns: Iterable[re.Pattern[str] | None]) -> list[int]:
    """Where the patterns match in ``source`` (start offsets, sorted, at most _MAX_CUES)."""
    starts: list[int] = []
    for pattern in patterns:
        if pattern is None:
            continue
        for i, m in enumerate(pattern.finditer(source)):
            if i >= _MAX_CUES:
                break
            starts.append(m.start())
    starts.sort()
    return starts


def _near(
    cues: list[int],
    start: int,
    end: int,
    *,
    before: int = _LINK,
    after: int = _LINK,
    line: str | None = None,
) -> bool:
    """A cue starts within ``before`` characters before ``start`` or ``after`` after ``end``
    (and, given the ``line``'s text, on the same line of it)."""
    lo, hi = max(0, start - before), end + after
    if line is not None:
        lo = max(lo, line.rfind("\n", lo, start) + 1)
        stop = line.find("\n", end, hi)
        hi = hi if stop < 0 else stop
    i = bisect.bisect_left(cues, lo)
    return i < len(cues) and cues[i] <= hi


def _is_minor_year(date: str, this_year: int) -> bool:
    """The date's year (four digits, or two after a day and month) is a child's."""
    year = _YEAR.search(date)
    if year is not None:
        value = int(year.group(1) or year.group(2))
        if year.group(2) is not None:
            value += 2000 if value <= this_year % 100 else 1900
        return this_year - 18 <= value <= this_year
    return False


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


_PERSONAL_DOMAINS = frozenset(
    """gmail.com googlemail.com hotmail.com hotmail.co.uk outlook.com live.com live.co.uk
    msn.com yahoo.com yahoo.co.uk icloud.com me.com aol.com btinternet.com sky.com
    virginmedia.com talktalk.net protonmail.com proton.me gmx.com mail.com""".split()  # noqa: SIM905
)


def _is_personal_mailbox(address: str) -> bool:
    """A free mailbox or a school pupil's (``.sch.uk``): a person's, not an office's."""
    domain = address.rpartition("@")[2].casefold()
    return domain in _PERSONAL_DOMAINS or domain.endswith(".sch.uk")


def _is_mobile(candidate: str) -> bool:
    digits = _NOT_DIGIT.sub("", candidate)
    return digits.startswith(("07", "447", "4407"))


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
