"""Other people on a page, especially children: collateral-intrusion indicators.

A look at one person's page also shows other people: a parent's post names a friend's
child with her school and age, a team page lists every player, a profile shows its
friends. Data minimisation (UK GDPR Art 5(1)(c)) and the Code's "likely to capture
third parties" factor (DOMAIN.md) make these *collateral intrusion*: the worker must not
record or rely on them. This module lists them as findings for the worker to confirm or
dismiss, on every page, whoever the page is about.

Two kinds, each with the words around it:

- ``collateral_child``: another child's details. A personal name that is not one of the
  case's subjects, tied in the same sentence to being a child (an age under 18 next to
  the name, a school year, "my son ...", "happy 9th birthday ...", going to a school)
  *and* to something that identifies or locates the child (an age, a school year, a
  school, a date of birth, a town).
- ``collateral_many_people``: a page of many people. A friends or followers list with its
  count, several lines or list items that are each just a person's name (a team sheet, a
  friends list), a group photo ("team photo", "left to right: ..."), or a photo's
  description naming several people. Faces in images are not counted: only words.

The rules prefer missing an indicator to inventing one (an ordinary news, council or
shop page should raise none): a name needs a common given name as its first word unless
"my son" or the like introduces it, and the child and the detail must be linked
grammatically, not merely both on the page. Every pattern has bounded repetition and
the text is cut to :data:`MAX_TEXT` characters, so the check is linear in the page's
length and a crafted page cannot make it backtrack.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence

from collectors.exposure import Indicator

MAX_TEXT = 100_000  # characters of a page (and of each metadata value) that are read
MAX_CUES = 400  # candidate matches examined per rule, whatever the page holds
MAX_PER_KIND = 25
MAX_LINE = 160  # a line or list item longer than this is prose, not a name in a list
MANY_NAMES = 6  # distinct names in a list that make a page "of many people"
_WINDOW = 300  # characters either side of a cue searched for its sentence's bounds
_CONTEXT = 60  # characters either side of an indicator kept as its context
_CONTEXT_MAX = 240

COLLATERAL_CHILD = "collateral_child"
COLLATERAL_MANY_PEOPLE = "collateral_many_people"
COLLATERAL_KINDS = {
    COLLATERAL_CHILD: "Another child's details",
    COLLATERAL_MANY_PEOPLE: "Many people on the page",
}


def is_collateral(kind: str) -> bool:
    """True for an indicator about other people (not the child the page is about)."""
    return kind in COLLATERAL_KINDS


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common given names in England and Wales (children's and adults'), so that a capitalised
# word next to an age is a person and "Comments (12)" or "Basket (2)" is not.
GIVEN_NAMES = _words(
    """
    aaliyah aaron abbie abdul abdullah abigail ada adam aden adrian ahmed aidan aiden aisha
    alan albert alex alexander alexandra alfie alice alicia alisha amber amelia amir amy
    andrew angela ann anna anne annie anthony archie arlo arthur arjun ashley ava ayesha
    barbara barry beatrice bella ben benjamin beth bethany billy bobby bonnie brandon brian
    brooke callum cameron carl carly caroline carol catherine charlie charles charlotte chelsea
    chloe chris christine christopher claire clara colin connor courtney craig daisy dale
    daniel danielle darren dave david dawn dean debbie deborah declan dennis dexter dominic
    donna dylan eddie edward eileen eleanor elena eliza elizabeth ella ellie elliot elliott
    elsie emily emma erin ethan eva evelyn evie ezra faith farah fatima finley finn florence
    frank freddie freya gabriel gary gemma george georgia gordon grace graham gracie hamza
    hannah harley harper harriet harrison harry harvey hassan hayden hayley heather helen
    henry holly hollie hugo ian ibrahim imogen isaac isabel isabella isabelle isla ivy jack
    jacob jade jake james jamie jan jane janet jasmine jason jay jayden jennifer jenny
    jessica jill joan joanne jodie joe joel john jonathan jordan joseph josh joshua jude
    julia julie junior kacper kai karen kate katie kayla kayden keith kelly kerry kevin kian
    kieran kim kyle lacey laila lara laura lauren layla leah lee leo leon lewis liam lily
    lisa logan lola louie louis louise lucas lucy luke lydia lyla maddison maisie maja
    malik mandy marcus margaret maria mariam mark martin mary maryam mason matilda matthew
    maya megan melissa mia michael michelle mila millie mohammad mohammed mollie molly
    muhammad musa nadia naomi natalie nathan neil nicola noah nora oliver olivia omar oscar
    owen paige patricia patrick paul paula peter phoebe pippa poppy priya rachel rebecca
    reece reggie rhys richard riley robert robyn rohan ronnie rory rose rosie ruby ryan
    sadie safa sam samantha samuel sandra sara sarah scarlett sean sebastian shannon sharon
    sienna simon sofia sophia sophie stacey stanley stephen steven stuart summer susan
    sylvie tanya teddy theo theodore thomas tilly tom tommy toby tracey tyler victoria
    violet wendy william willow yasmin yusuf zac zach zack zain zara zoe zofia zuzanna
    """
)
# Capitalised words that start sentences or headings, never a child's name.
_NOT_NAMES = _words(
    """
    a an and about all also at because but by congratulations dear do for from happy hello
    her here hey hi his i if in is it its just little love me meet my no not now of oh on
    or our proud she so that the their then there they this to today tomorrow we well what
    when where who why with yesterday you your
    monday tuesday wednesday thursday friday saturday sunday january february march april
    may june july august september october november december year years school primary
    """
)

_CAP = r"[A-Z][a-z'’]{1,20}"
_NAME = rf"{_CAP}(?:[ -]{_CAP}){{0,2}}"
_NAME_RE = re.compile(_NAME)
_AGE_END = (
    r"(?=[ ]?[,.;:!?)]|[ ](?:years?|yrs?|today|now|this|next|last|and|on|in|at|who|goes|is)\b|$)"
)
# A name with an age right after it: "Jack, 9," "Jack (9)" "Jack aged 9" "Jack turns 9".
_NAME_AGE = re.compile(
    rf"\b({_NAME})(?:, ?| \(|,? (?:aged?|is|turns|turned|just turned|will be) )(\d{{1,2}})"
    rf"(?: ?(?:years?|yrs?)(?: old)?|{_AGE_END})",
    re.MULTILINE,
)
# "9-year-old Jack", "a nine year old boy called Jack" is left out (no digits, no name).
_AGE_NAME = re.compile(rf"\b(\d{{1,2}})[- ]years?[- ]old (?:(?:boy|girl|son|daughter) )?({_NAME})")
_KIN = (
    r"(?:son|daughter|boy|girl|child|kid|grandson|granddaughter|grandchild|nephew|niece"
    r"|stepson|stepdaughter|godson|goddaughter|twin|baby|little one)s?"
)
# "my son Jack", "our youngest daughter Lily", "her little boy called Max".
_KIN_NAME = re.compile(
    rf"\b(?i:my|our|his|her|their|your) (?:(?i:[a-z'’]{{2,12}}) ){{0,2}}?(?i:{_KIN}),? "
    rf"(?:(?i:called|named) )?({_NAME})"
)
_YEAR = r"(?:Year|Yr|Y) ?(?:1[0-3]|[1-9])\b|Reception\b"
_NAME_YEAR = re.compile(
    rf"\b({_NAME})(?: \(|, | is in | in | starts | started | starting | going into )({_YEAR})"
)
_BIRTHDAY_NAME = re.compile(
    rf"\b(?i:happy) (\d{{1,2}})(?i:st|nd|rd|th) (?i:birthday),? (?:(?i:to) )?"
    rf"(?:(?i:my|our|the) )?(?:(?i:[a-z]{{2,12}}) ){{0,2}}?({_NAME})"
)
_NAME_BIRTHDAY = re.compile(rf"\b({_NAME})['’]s (\d{{1,2}})(?i:st|nd|rd|th) (?i:birthday)")
# Present tense only: "went to Eton College" is as often an adult's past.
_ATTENDS = re.compile(
    r"\b(?i:go|goes|going|attends|attending|starts|starting|pupil) (?i:to|at) (?:(?i:the) )?$"
)

_SCHOOL_KINDS = (
    r"(?:Primary|Junior|Infants?|Nursery|Secondary|High|Grammar|Prep|Catholic|C of E|CofE"
    r"|CE|RC)(?: (?:School|Academy|College))?|School|Academy|College"
)
_SCHOOL = re.compile(
    rf"\b((?:(?:St\.? |Saint )?[A-Z][A-Za-z'’.-]{{1,24}} ){{1,4}}(?:{_SCHOOL_KINDS}))\b"
)
_TOWN = re.compile(
    r"\b(?:lives?|living|lived|based|from|grew up) (?:in )?"
    r"([A-Z][a-z'’]{2,20}"
    r"(?:[ -](?:upon-|on-|under-|le-|by-|upon |on |under )?[A-Z][a-z'’]{2,20}){0,2})"
)
_MONTHS = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})|\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTHS}(?:,? \d{{4}})?"
    rf"|{_MONTHS} \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?)"
)
_DOB = re.compile(
    rf"\b(?i:born(?: on)?|d\.?o\.?b\.?|date of birth|birthday(?: is)?(?: on)?) ?[:\-–]? ?"
    rf"(?:the )?({_DATE})(?!\d)"
)
_YEAR_ALONE = re.compile(rf"\b({_YEAR})")
_SENTENCE_END = re.compile(r"(?<!\bSt)(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)[.!?](?= |$)|\n")
_FOLLOW_ON = re.compile(r" ?(?:He|She|They|His|Her|Their)\b")

# A page of many people.
_COUNT = r"\d{1,3}(?:,\d{3}){0,4}(?:\.\d)?[KkMm]?"
_FRIENDS = re.compile(
    rf"\b(?:(?i:friends|followers)) ?(?:\(({_COUNT})\)|[·:] ?({_COUNT})\b)"
    rf"|\b({_COUNT}) (?:(?i:mutual friends|friends|followers))\b"
)
_GROUP_PHOTO = re.compile(
    r"\b(?i:team|class|squad|group|form|cast)"
    r" (?i:photo|photograph|picture|pic|selfie)s?\b"
    r"|\b(?i:class of) (?:19|20)\d\d\b"
)
_LEFT_TO_RIGHT = re.compile(
    r"\((?i:l-r|left to right|from left)\)|\b(?i:l-r|left to right|from left):"
)
_FOLLOW_US = re.compile(r"(?i:follow us|join)")
_CHILD_GROUP = re.compile(
    r"\b(?:Under[- ]?(?:[5-9]|1[0-8])s?|U(?:[5-9]|1[0-8])s?|Juniors?|Youth|Mini[- ]?kickers)\b"
    r"|\b(?:Year|Y) ?(?:[1-9]|1[0-3]) (?i:class|team|squad)\b"
)
_ITEM_SPLIT = re.compile(r"[,;•|·]| and ")
_ITEM_NAME = re.compile(
    rf"(?:#?\d{{1,2}}\.? )?({_CAP}(?: {_CAP}){{1,2}})(?: (?:\(\w{{1,12}}\)|#?\d{{1,2}}))?"
)
_ALT_KEYS = ("og:image:alt", "twitter:image:alt", "image:alt", "description")


def collateral_indicators(
    text: str,
    *,
    html_meta: Mapping[str, str] | None = None,
    subject_names: Sequence[str] = (),
    images: Iterable[str] = (),
) -> tuple[Indicator, ...]:
    """Other people on a page: another child's details, and pages of many people.

    ``subject_names``: the case's subjects, who are known people, never collateral.
    ``images``: the descriptions of the page's images (alt texts, captions); the page's
    metadata image descriptions are read too.
    """
    meta = {k.lower(): v for k, v in (html_meta or {}).items() if v}
    known = [frozenset(n.casefold().split()) for n in subject_names if n.split()]
    body = _normalise(text)
    found: dict[tuple[str, str], Indicator] = {}

    def add(kind: str, key: str, value: str, context: str) -> None:
        if (kind, key) in found or sum(1 for k in found if k[0] == kind) >= MAX_PER_KIND:
            return
        found[(kind, key)] = Indicator(kind, value, context)

    for source in (body, *(_normalise(meta[k]) for k in _ALT_KEYS if k in meta)):
        for child in _children(source, known):
            add(COLLATERAL_CHILD, child[0].casefold(), *child[1:])
    for key, value, context in _many_people(body, known):
        add(COLLATERAL_MANY_PEOPLE, key, value, context)
    descriptions = [*(meta[k] for k in _ALT_KEYS[:3] if k in meta), *images]
    for description in descriptions[:MAX_CUES]:
        named = _named_in(_normalise(description)[: MAX_LINE * 4], known)
        if len(named) >= 3:
            add(
                COLLATERAL_MANY_PEOPLE,
                f"image:{description.casefold()}",
                f"an image of {len(named)} named people",
                _clip(_normalise(description)),
            )
    return tuple(found.values())


# --- another child's details -----------------------------------------------------------


def _children(text: str, known: list[frozenset[str]]) -> list[tuple[str, str, str]]:
    """(name, value, context) for each named child with an identifying detail."""
    ends = [m.start() for m in _SENTENCE_END.finditer(text)]
    details = _details(text)
    cues: list[tuple[int, int, str, str | None]] = []  # start, end, name, age or year
    for pattern, name_group, detail_group in (
        (_NAME_AGE, 1, 2),
        (_AGE_NAME, 2, 1),
        (_KIN_NAME, 1, None),
        (_NAME_YEAR, 1, 2),
        (_BIRTHDAY_NAME, 2, 1),
        (_NAME_BIRTHDAY, 1, 2),
    ):
        for i, m in enumerate(pattern.finditer(text)):
            if i >= MAX_CUES:
                break
            detail = m.group(detail_group) if detail_group else None
            if detail is not None and detail.isdigit():
                if not 1 <= int(detail) <= 17:
                    continue  # an adult's age (or a count) is not a child's
                detail = f"age {int(detail)}"
            cues.append((m.start(name_group), m.end(name_group), m.group(name_group), detail))
            if pattern is _KIN_NAME:
                cues[-1] = (*cues[-1][:3], "kin")
    for i, school in enumerate(details["school"]):
        if i >= MAX_CUES:
            break
        start = school[0]
        if _ATTENDS.search(text, max(0, start - 30), start):
            span = _name_before(text, start, _sentence(text, ends, start)[0])
            if span is not None:
                cues.append((span[0], span[1], text[span[0] : span[1]], None))
    # "my son" names first: "Zainab, aged 4" counts once "our girl Zainab" said who she is.
    cues.sort(key=lambda cue: (cue[3] != "kin", cue[0]))
    introduced: set[str] = set()
    seen: dict[
        str, tuple[int, str, list[tuple[int, str]], str]
    ] = {}  # name: place, name, details, context
    for start, end, raw, detail in cues:
        kin = detail == "kin"
        name = _clean_name(raw, kin or raw.split()[-1].casefold() in introduced)
        if name is None or _is_known(name, known):
            continue
        if kin:
            introduced.add(name.split()[0].casefold())
        lo, hi = _sentence(text, ends, start)
        found = [] if detail in (None, "kin") else [(0 if detail[0] == "a" else 1, detail)]
        for rank, kind in enumerate(("age", "year", "school", "date_of_birth", "town")):
            for s, e, value in _within(details[kind], lo, hi):
                if not (s < end and e > start):  # the name itself is not its own detail
                    found.append((rank, value))
        key = name.casefold()
        if key in seen:
            seen[key][2].extend(found)
        elif len(seen) < MAX_PER_KIND * 2:
            seen[key] = (start, name, found, _context(text, start, end, lo, hi))
    out = []
    for _, name, found, context in sorted(seen.values(), key=lambda item: item[0]):
        values = list(dict.fromkeys(v for _, v in sorted(found, key=lambda f: f[0])))
        if values:  # a child's name alone ("my son Jack") is not their details
            out.append((name, f"{name} ({'; '.join(values[:4])})", context))
    return out[:MAX_PER_KIND]


def _details(text: str) -> dict[str, list[tuple[int, int, str]]]:
    """Every detail that could identify or locate a child, with its place in ``text``."""
    found: dict[str, list[tuple[int, int, str]]] = {
        "age": [],
        "year": [],
        "school": [],
        "date_of_birth": [],
        "town": [],
    }
    for kind, pattern, group in (
        ("year", _YEAR_ALONE, 1),
        ("school", _SCHOOL, 1),
        ("date_of_birth", _DOB, 1),
        ("town", _TOWN, 1),
    ):
        for i, m in enumerate(pattern.finditer(text)):
            if i >= MAX_CUES:
                break
            value = m.group(group)
            if kind == "school":
                value = _trim_school(value)
                if value is None:
                    continue
                # Only the trimmed name counts as the school's place in the text.
                found[kind].append((m.end(group) - len(value), m.end(group), value))
                continue
            if kind == "date_of_birth":
                value = f"born {value}"
            if kind == "town" and value.casefold() in _NOT_NAMES | GIVEN_NAMES:
                continue
            if kind == "town":
                value = f"town {value}"
            found[kind].append((m.start(group), m.end(group), value))
    return found


def _trim_school(candidate: str) -> str | None:
    words = candidate.split()
    while words and words[0].casefold() in _NOT_NAMES:
        words.pop(0)
    kinds = {"primary", "junior", "infant", "infants", "nursery", "secondary", "high",
             "grammar", "prep", "catholic", "c", "of", "e", "cofe", "ce", "rc", "school",
             "academy", "college"}  # fmt: skip
    if not any(w.casefold() not in kinds for w in words):
        return None
    return " ".join(words)


def _name_before(text: str, before: int, lo: int) -> tuple[int, int] | None:
    """The nearest given-name-led name in the 80 characters before ``before``."""
    start = max(lo, before - 80)
    best = None
    for m in _NAME_RE.finditer(text[start:before]):
        first = m.group(0).split()[0].split("-")[0].casefold()
        if first in GIVEN_NAMES:
            best = (start + m.start(), start + m.end())
    return best


def _clean_name(raw: str, kin: bool) -> str | None:
    """The name without leading sentence words; it must start with a given name unless
    "my son"-like words introduced it (then any capitalised word not a common one)."""
    words = raw.split()
    while words and words[0].casefold() in _NOT_NAMES:
        words.pop(0)
    if not words:
        return None
    first = words[0].split("-")[0].casefold()
    if first in GIVEN_NAMES or (kin and first not in _NOT_NAMES):
        return " ".join(words)
    return None


def _is_known(name: str, known: list[frozenset[str]]) -> bool:
    """A subject of the case, by their full name or part of it ("Jay" for Jay Smith)."""
    words = frozenset(name.casefold().replace("-", " ").split())
    return any(words <= subject for subject in known)


def _sentence(text: str, ends: list[int], at: int) -> tuple[int, int]:
    """The sentence around ``at`` (and the next one when it goes on "He"/"She"...),
    never more than _WINDOW characters either side."""
    i = bisect.bisect_right(ends, at)
    lo = ends[i - 1] + 1 if i > 0 else 0
    hi = ends[i] if i < len(ends) else len(text)
    if i < len(ends) and _FOLLOW_ON.match(text, hi + 1):
        hi = ends[i + 1] if i + 1 < len(ends) else len(text)
    return max(lo, at - _WINDOW), min(hi, at + _WINDOW)


def _within(spans: list[tuple[int, int, str]], lo: int, hi: int) -> list[tuple[int, int, str]]:
    i = bisect.bisect_left(spans, (lo, 0, ""))
    out = []
    while i < len(spans) and spans[i][0] < hi:
        if spans[i][1] <= hi:
            out.append(spans[i])
        i += 1
    return out


# --- pages of many people --------------------------------------------------------------


def _many_people(text: str, known: list[frozenset[str]]) -> list[tuple[str, str, str]]:
    """(key, value, context) for friends lists, lists of names and group photos."""
    out: list[tuple[str, str, str]] = []
    listed = _listed_names(text, known)
    for i, m in enumerate(_FRIENDS.finditer(text)):
        if i >= MAX_CUES:
            break
        count = next(g for g in m.groups() if g)
        word = "followers" if "follower" in m.group(0).casefold() else "friends"
        if m.group(3) and "mutual" not in m.group(0).casefold() and _number(count) < 10:
            continue  # "out with 3 friends" is prose, not a list
        if _FOLLOW_US.search(text[max(0, m.start() - 30) : m.start()]):
            continue  # a shop's or a newspaper's own followers are not a list of people
        if word == "followers" and len(listed) < 3:
            continue  # a count of followers shows no one; a friends list shows its people
        out.append((f"{word}:{count}", f"a list of {word} ({count})", _context(text, *m.span())))
    if len(listed) >= MANY_NAMES:
        group = _CHILD_GROUP.search(text)
        whose = f", a children's group ({group.group(0)})" if group else ""
        names = ", ".join(name for name, _ in listed[:6]) + ("…" if len(listed) > 6 else "")
        out.append(("list", f"{len(listed)} people named in a list{whose}", _clip(names)))
    for i, m in enumerate(_GROUP_PHOTO.finditer(text)):
        if i >= MAX_CUES:
            break
        out.append((f"photo:{m.group(0).casefold()}", f"a {m.group(0).lower()}",
                    _context(text, *m.span())))  # fmt: skip
    for i, m in enumerate(_LEFT_TO_RIGHT.finditer(text)):
        if i >= MAX_CUES:
            break
        after = text[m.end() : m.end() + MAX_LINE * 2]
        named = _named_in(after, known)
        if len(named) >= 2:
            out.append(("left to right", f"a photo of {len(named)} named people",
                        _context(text, *m.span())))  # fmt: skip
    return out


def _listed_names(text: str, known: list[frozenset[str]]) -> list[tuple[str, int]]:
    """Distinct names that stand alone as a line or a list item (a team sheet, a friends
    list), each with where it is; prose, headings and menus are not names."""
    seen: dict[str, tuple[str, int]] = {}
    offset = 0
    for line in text.split("\n"):
        if len(line) <= MAX_LINE:
            for item in _ITEM_SPLIT.split(line)[:50]:
                m = _ITEM_NAME.fullmatch(item.strip())
                if m is None:
                    continue
                name = m.group(1)
                if name.split()[0].casefold() not in GIVEN_NAMES or _is_known(name, known):
                    continue
                if any(w.casefold() in _NOT_NAMES for w in name.split()[1:]):
                    continue
                seen.setdefault(name.casefold(), (name, offset))
        offset += len(line) + 1
    return sorted(seen.values(), key=lambda item: item[1])


def _named_in(text: str, known: list[frozenset[str]]) -> set[str]:
    """Distinct given-name-led names in a short text (an image's description)."""
    names = set()
    for m in _NAME_RE.finditer(text):
        words = m.group(0).split()
        while words and words[0].casefold() not in GIVEN_NAMES:
            words.pop(0)
        if words and not _is_known(" ".join(words), known):
            names.add(" ".join(words).casefold())
    return names


# --- text ------------------------------------------------------------------------------


def _number(count: str) -> float:
    """243 from "243", 1200 from "1.2K"."""
    scale = {"k": 1_000, "m": 1_000_000}.get(count[-1].casefold(), 1)
    return float(count.rstrip("KkMm").replace(",", "")) * scale


def _normalise(text: str) -> str:
    """The first MAX_TEXT characters, runs of spaces made one space, lines kept."""
    cut = text[:MAX_TEXT]
    return "\n".join(" ".join(line.split()) for line in cut.splitlines())


def _context(text: str, start: int, end: int, lo: int = 0, hi: int | None = None) -> str:
    """The words around ``text[start:end]`` (inside lo..hi when given), bounded."""
    hi = len(text) if hi is None else hi
    a = max(lo, start - _CONTEXT)
    b = min(hi, end + _CONTEXT)
    snippet = " ".join(text[a:b].split())
    prefix = "…" if a > 0 else ""
    suffix = "…" if b < len(text) else ""
    return _clip(f"{prefix}{snippet}{suffix}")


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CONTEXT_MAX else text[: _CONTEXT_MAX - 1] + "…"
