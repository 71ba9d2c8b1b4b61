"""Make any text safe to put in the note: drawable by the embedded fonts, inert as markup.

Two steps, always in this order, and nothing else in the renderer builds text:

- :func:`visible` turns a string into one the embedded fonts can draw in full. A character
  no embedded face has a glyph for (an emoji, a lone surrogate, a control character)
  becomes its Unicode name in brackets, ``"[GRINNING FACE]"``, or its code point when
  it has no name, ``"[U+0007]"``; invisible format characters (zero-width spaces, bidi
  overrides) are named too, so nothing in the record is hidden or lost. The one
  exception is a zero-width joiner or non-joiner *inside* a word of a script that needs
  it (Persian, the Indic scripts): there it is spelling, not hiding, and is kept.
  Whitespace the fonts lack becomes a plain space; line breaks become ``"\\n"``.
- :func:`markup` then escapes ``&``, ``<`` and ``>`` so reportlab's Paragraph mini-markup
  reads the result as literal characters (``<img src="/etc/passwd"/>`` is text, never an
  image it would try to open), and turns line breaks into ``<br/>``. A Paragraph draws
  with the main face alone, so :func:`markup` names every character that face lacks;
  text in other scripts goes through :func:`wrap` and :func:`layout` instead.

Text in the fallback faces (Arabic, the Indic scripts, CJK…) is laid out by
:func:`layout`: the Unicode bidi algorithm (``python-bidi``) gives each character its
level, each run of one face and level is shaped by HarfBuzz (``uharfbuzz``: joined
Arabic forms, Indic conjuncts and vowel signs, mark positioning), and the runs are put
in visual order. The renderer draws the glyphs and writes each run's own characters
beside them as ``/ActualText``, so the text layer gives back the words themselves.

Text drawn straight on the canvas (page furniture, chart labels) needs only
:func:`visible`: the canvas interprets no markup.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

import idna
import uharfbuzz as hb
from bidi import algorithm as bidi
from bidi.mirror import MIRRORED

from caseview.report import fonts

# Characters that end a line, as str.splitlines() knows them.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Named even where a font has a glyph: controls, format characters (zero-width and
# bidi controls hide or reorder text), surrogates, private use, unassigned.
_NEVER_DRAWN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Format characters that are part of spelling between two letters of a shaped script.
_JOINERS = frozenset("\u200c\u200d")
ELLIPSIS = "…"


def placeholder(char: str) -> str:
    """The visible stand-in for a character the note cannot draw: its name in brackets."""
    name = unicodedata.name(char, "")
    return f"[{name}]" if name else f"[U+{ord(char):04X}]"


def _ranges(codepoints: Iterable[int]) -> str:
    """A regex character-class body matching exactly ``codepoints``."""
    parts: list[str] = []
    ordered = sorted(set(codepoints))
    i = 0
    while i < len(ordered):
        start = end = ordered[i]
        while i + 1 < len(ordered) and ordered[i + 1] == end + 1:
            i += 1
            end = ordered[i]
        parts.append(re.escape(chr(start)))
        if end > start:
            parts.append("-" + re.escape(chr(end)))
        i += 1
    return "".join(parts)


class Cleaner:
    """:func:`visible` for one set of drawable code points (the fonts' cmaps)."""

    def __init__(self, drawable: Iterable[int], joiners: bool = False) -> None:
        keep = {
            cp
            for cp in drawable
            if unicodedata.category(chr(cp)) not in _NEVER_DRAWN_CATEGORIES
            and not chr(cp).isspace()
        }
        keep.update((ord(" "), ord("\n")))
        # Everything outside ``keep`` goes through _replace; the scan itself runs in C.
        self._unsafe = re.compile(f"[^{_ranges(keep)}]")
        self._joiners = joiners

    def __call__(self, text: str) -> str:
        return self._unsafe.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        char = match.group()
        if char in _LINE_BREAKS:
            return "\n"
        if char.isspace():
            return " "
        if self._joiners and char in _JOINERS and _inside_shaped_word(match):
            return char
        return placeholder(char)


def _inside_shaped_word(match: re.Match[str]) -> bool:
    """Whether a joiner stands between two characters that a fallback face shapes."""
    text, at = match.string, match.start()
    faces = fonts.fallback_faces()
    return (
        0 < at < len(text) - 1
        and ord(text[at - 1]) in faces
        and ord(text[at + 1]) in faces
        and not unicodedata.category(text[at - 1]).startswith("P")
    )


@lru_cache(maxsize=1)
def _default_cleaner() -> Cleaner:
    return Cleaner(fonts.drawable_anywhere(), joiners=True)


@lru_cache(maxsize=1)
def _main_cleaner() -> Cleaner:
    return Cleaner(fonts.drawable())


@lru_cache(maxsize=1)
def _outside_main() -> re.Pattern[str]:
    """Matches any character the main faces cannot draw alone (after :func:`visible`)."""
    return re.compile(f"[^{_ranges(fonts.drawable() | {ord(' '), ord(chr(10))})}]")


def visible(text: str) -> str:
    """``text`` with every character no embedded font can draw named in brackets.

    ``"\\r\\n"`` and the other line breaks become ``"\\n"``; tabs and exotic spaces
    become a plain space. Everything else some font has is kept exactly.
    """
    return _default_cleaner()(text.replace("\r\n", "\n"))


def markup(text: str) -> str:
    """``text`` made drawable by the main face and escaped for a reportlab Paragraph.

    Line breaks become ``<br/>``. This is the only way user or page text enters a
    Paragraph; a Paragraph draws with the main face alone, so every character that face
    lacks is named (the renderer sends text in other scripts through :func:`wrap`).
    """
    return escape(_main_cleaner()(text.replace("\r\n", "\n"))).replace("\n", "<br/>")


def needs_layout(text: str) -> bool:
    """Whether ``text`` (already :func:`visible`) has characters beyond the main face."""
    return _outside_main().search(text) is not None


def one_line(text: str) -> str:
    """:func:`visible` with line breaks and runs of whitespace folded to single spaces."""
    return " ".join(visible(text).split())


# --- layout: bidi, font runs and shaping -------------------------------------------------

Glyph = tuple[str, float, float, float]  # reportlab character, advance, x and y offsets


@dataclass(frozen=True)
class Run:
    """Part of a line in one face and one direction, ready to draw.

    ``text`` is its characters in reading (logical) order, what the text layer should
    give back. A run in a main face is drawn as the string ``shown`` (``text`` itself,
    or reversed and mirrored inside right-to-left text); a run in a fallback face as
    its shaped ``glyphs``, left to right, each with its advance and offsets in
    thousandths of an em. ``width`` is the run's advance in thousandths of an em.
    """

    face: str
    text: str
    shown: str
    glyphs: tuple[Glyph, ...]
    width: float
    rtl: bool


_STRONG_RTL = frozenset({"R", "AL"})
_X9_REMOVED = frozenset({"RLE", "LRE", "RLO", "LRO", "PDF", "BN"})


class Line(str):
    """One line of :func:`wrap`'s output, knowing its paragraph's direction.

    A paragraph's direction comes from its first strong character (rule P2 of UAX #9),
    not each line's: the second line of an Arabic paragraph that happens to start with
    "221B Baker Street" is still read right to left.
    """

    rtl: bool

    def __new__(cls, text: str, rtl: bool) -> Line:
        line = super().__new__(cls, text)
        line.rtl = rtl
        return line


def right_to_left(text: str) -> bool:
    """Whether ``text`` is a right-to-left paragraph: its first strong character is."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return False
        if kind in _STRONG_RTL:
            return True
    return False


def direction(line: str) -> bool | None:
    """A wrapped line's paragraph direction (True for right to left); None if not known."""
    return line.rtl if isinstance(line, Line) else None


def _levels(line: str, rtl: bool | None = None) -> list[int]:
    """Each character's bidi embedding level (rules P2 to I2 of UAX #9), in a paragraph
    that is right to left if ``rtl``, left to right if False, and as P2 finds if None."""
    if not rtl and not any(unicodedata.bidirectional(c) in _STRONG_RTL for c in line):
        return [0] * len(line)
    storage = bidi.get_empty_storage()
    base = bidi.get_base_level(line) if rtl is None else int(rtl)
    storage["base_level"] = base
    storage["base_dir"] = ("L", "R")[base]
    bidi.get_embedding_levels(line, storage)
    bidi.explicit_embed_and_overrides(storage)
    bidi.resolve_weak_types(storage)
    bidi.resolve_neutral_types(storage, False)
    bidi.resolve_implicit_levels(storage, False)
    resolved = iter(int(c["level"]) for c in storage["chars"])
    # Rule X9 drops boundary-neutral characters (the joiners); they take the level of
    # the character before them.
    levels: list[int] = []
    for char in line:
        removed = unicodedata.bidirectional(char) in _X9_REMOVED
        levels.append((levels[-1] if levels else base) if removed else next(resolved))
    # L1: trailing spaces take the paragraph's level.
    end = len(line)
    while end and line[end - 1] == " ":
        end -= 1
        levels[end] = base
    return levels


def _has(face: str, char: str) -> bool:
    if face in fonts.FACES:
        return ord(char) in fonts.drawable()
    return fonts.fallback_faces().get(ord(char)) == face or ord(char) in fonts.cmap(face)


def _is_neutral(char: str) -> bool:
    """Punctuation, spaces, digits, marks and joiners: they follow the text around them."""
    return char in _JOINERS or unicodedata.category(char)[0] in "ZPSNM"


def _faces(line: str, face: str) -> list[str]:
    """The face that draws each character: the main ``face``, else the first fallback.

    A neutral character stays in the face of the text before it (else after it) when
    that face has it, so "محمد، 12" is one Arabic run, not three.
    """
    main = fonts.drawable()
    fallback = fonts.fallback_faces()
    own = [face if ord(c) in main else fallback.get(ord(c), face) for c in line]
    chosen = list(own)
    for i, char in enumerate(line):
        if not _is_neutral(char):
            continue
        if i and _has(chosen[i - 1], char):
            chosen[i] = chosen[i - 1]
            continue
        for j in range(i + 1, len(line)):
            if not _is_neutral(line[j]):
                if _has(own[j], char):
                    chosen[i] = own[j]
                break
    return chosen


@lru_cache(maxsize=len(fonts.FALLBACKS))
def _hb_font(face: str) -> tuple[hb.Font, float]:
    """HarfBuzz's font for a fallback face, and its scale to thousandths of an em."""
    font = hb.Font(hb.Face(hb.Blob(fonts.face_data(face))))
    return font, 1000.0 / font.face.upem


@lru_cache(maxsize=4096)
def _shape(face: str, text: str, rtl: bool) -> tuple[tuple[Glyph, ...], float]:
    """``text`` shaped in fallback ``face``: its glyphs left to right, and its width."""
    font, scale = _hb_font(face)
    keys = fonts.glyph_keys(face)
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    buf.direction = "rtl" if rtl else "ltr"
    hb.shape(font, buf, {"kern": True, "liga": True})
    glyphs: list[Glyph] = []
    width = 0.0
    for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True):
        advance = pos.x_advance * scale
        key = keys.get(info.codepoint)
        if key is None:  # glyph 0, .notdef: never reached for characters the face has
            key = keys[min(keys)]
        glyphs.append((key, advance, pos.x_offset * scale, pos.y_offset * scale))
        width += advance
    return tuple(glyphs), width


def _mirror(text: str) -> str:
    return "".join(MIRRORED.get(c, c) for c in reversed(text))


def layout(line: str, face: str, rtl: bool | None = None) -> tuple[Run, ...]:
    """One line of :func:`visible` text as runs in visual order, left to right.

    Characters the main ``face`` has are drawn in it; the rest in the first fallback
    face that has them, shaped. Right-to-left runs (levels from the bidi algorithm) are
    shaped right to left, and the runs are reordered by rule L2 of UAX #9. The
    paragraph's direction is ``rtl`` if given, else the line's own (a :class:`Line`
    knows its paragraph's).
    """
    # str(): the cache must not hand a Line's runs to an equal plain string.
    return _layout(str(line), face, direction(line) if rtl is None else rtl)


@lru_cache(maxsize=4096)
def _layout(line: str, face: str, rtl: bool | None) -> tuple[Run, ...]:
    if not line:
        return ()
    advance = fonts.advances(face)
    levels = _levels(line, rtl)
    faces = _faces(line, face)
    runs: list[tuple[Run, int]] = []
    start = 0
    for end in range(1, len(line) + 1):
        if end < len(line) and (faces[end], levels[end]) == (faces[start], levels[start]):
            continue
        text, run_face, level = line[start:end], faces[start], levels[start]
        rtl = level % 2 == 1
        if run_face == face:
            shown = _mirror(text) if rtl else text
            width = sum(advance.get(c, 0.0) for c in text)
            runs.append((Run(face, text, shown, (), width, rtl), level))
        else:
            glyphs, width = _shape(run_face, text, rtl)
            runs.append((Run(run_face, text, text, glyphs, width, rtl), level))
        start = end
    top = max(level for _, level in runs)
    lowest_odd = min((level for _, level in runs if level % 2), default=top + 1)
    for level in range(top, lowest_odd - 1, -1):  # L2: reverse each run of >= level
        i = 0
        while i < len(runs):
            if runs[i][1] < level:
                i += 1
                continue
            j = i
            while j < len(runs) and runs[j][1] >= level:
                j += 1
            runs[i:j] = runs[i:j][::-1]
            i = j
    return tuple(run for run, _ in runs)


def width(text: str, face: str, size: float) -> float:
    """The width in points of one line of :func:`visible` text, as it will be drawn."""
    if not needs_layout(text):
        advance = fonts.advances(face)
        return sum(map(advance.__getitem__, text)) * size / 1000
    return sum(run.width for run in layout(text, face)) * size / 1000


def _char_width(char: str, advance: dict[str, float]) -> float:
    """A character's own advance, in its face (for cutting a word between characters)."""
    found = advance.get(char)
    if found is not None:
        return found
    face = fonts.fallback_faces().get(ord(char))
    if face is None:  # a joiner: no width of its own
        return 0.0
    return float(fonts.char_width(face, char))


# Thai and Lao vowels written before the consonant they follow in speech: a line never
# ends with one. And vowels and signs that end a syllable, with the small kana and the
# Japanese long-vowel mark: a line never starts with one.
_LEADING_VOWELS = frozenset("เแโใไເແໂໃໄ")
_NEVER_FIRST = frozenset("ะาำๅๆฯະາຳໆー々ゝゞヽヾぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ")
# Closing punctuation never starts a line, nor opening punctuation ends one ("，" "。" "」").
_CLOSING = frozenset({"Pe", "Pf", "Po"})
_OPENING = frozenset({"Ps", "Pi"})


def _can_break_before(word: str, i: int) -> bool:
    """Whether a word cut between characters may be cut before ``word[i]``: not before a
    combining mark or a joiner, nor after a joiner or virama-like mark; not inside a Thai
    or Lao syllable; not before closing punctuation nor after opening punctuation.

    Where a word has no such place that fits, it is cut anyway (see :func:`_cut_word`).
    """
    here, before = word[i], word[i - 1]
    return not (
        unicodedata.category(here)[0] == "M"
        or here in _JOINERS
        or before in _JOINERS
        or unicodedata.combining(before)
        or before in _LEADING_VOWELS
        or here in _NEVER_FIRST
        or unicodedata.category(here) in _CLOSING
        or unicodedata.category(before) in _OPENING
    )


def fit(text: str, font: str, size: float, room: float) -> str:
    """One line drawable by the main face alone, cut with an ellipsis to ``room`` points.

    For text drawn straight with the main face (chart labels): every character that
    face lacks is named. Text the renderer lays out itself uses :func:`fit_line`.
    """
    line = " ".join(_main_cleaner()(text).split())
    return _cut(line, font, size, room)


def fit_line(text: str, face: str, size: float, room: float) -> str:
    """:func:`one_line`, in any script, cut with an ellipsis if wider than ``room`` points."""
    return _cut(one_line(text), face, size, room)


def _cut(line: str, face: str, size: float, room: float) -> str:
    if width(line, face, size) <= room:
        return line
    low, high = 0, len(line)  # the longest prefix that fits, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        if width(line[:mid] + ELLIPSIS, face, size) <= room:
            low = mid
        else:
            high = mid - 1
    return line[:low].rstrip() + ELLIPSIS


def wrap(text: str, face: str, size: float, width: float, rtl: bool | None = None) -> list[Line]:
    """:func:`visible` ``text`` broken into lines at most ``width`` points wide.

    Lines break between words; a word wider than the whole line (a long URL, a hash,
    a line of Chinese) breaks between characters, never before a combining mark.
    Line breaks in the text are kept, runs of blank lines fold to one, and runs of
    spaces to one, as a Paragraph would show them. No markup is involved at all: the
    lines are drawn as they are (text beyond the main face through :func:`layout`).

    Each line is a :class:`Line` that knows its paragraph's direction: ``rtl`` if given
    (False for a sentence of the note's own with a name in it), else found from the
    paragraph's first strong character.
    """
    advance = fonts.advances(face)
    room = width * 1000 / size  # in thousandths of an em, as the advances are
    space = advance[" "]
    lines: list[Line] = []
    for raw in visible(text).split("\n"):
        words = raw.split()
        if not words:
            if lines and lines[-1]:
                lines.append(Line("", False))
            continue
        base = right_to_left(raw) if rtl is None else rtl
        simple = not needs_layout(raw)
        line: list[str] = []
        used = 0.0
        for word in words:
            if simple:
                w = sum(map(advance.__getitem__, word))
            else:
                w = sum(run.width for run in layout(word, face))
            if line and used + space + w <= room:
                line.append(word)
                used += space + w
                continue
            if line:
                lines.append(Line(" ".join(line), base))
                line, used = [], 0.0
            if w > room:  # no room for it whole, even on a line of its own: cut it
                *whole, word = _cut_word(word, face, room, simple)
                lines.extend(Line(piece, base) for piece in whole)
                w = (
                    sum(map(advance.__getitem__, word))
                    if simple
                    else sum(run.width for run in layout(word, face))
                )
            line, used = [word], w
        if line:
            lines.append(Line(" ".join(line), base))
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _cut_word(word: str, face: str, room: float, simple: bool) -> list[str]:
    """``word`` cut between characters into pieces at most ``room`` wide (in thousandths
    of an em), never before a combining mark where there is any other place to cut.

    The cuts are found by adding up the characters' own advances; text laid out by
    :func:`layout` (shaped, in fallback faces) can be drawn wider than that sum, so each
    such piece is then measured as drawn, and cut earlier while it is too wide. A piece
    with nowhere allowed to cut that fits (a letter carrying hundreds of vowel signs, as
    a hostile page can send) is cut where it must: a mark on the next line is better
    than text running off the page.
    """
    advance = fonts.advances(face)
    pieces: list[str] = []
    start = 0
    while start < len(word):
        end, part = start, 0.0
        while end < len(word) and (simple or end - start < _LONGEST_PIECE):
            char = word[end]
            char_w = advance[char] if simple else _char_width(char, advance)
            if part + char_w > room and end > start and (simple or _can_break_before(word, end)):
                break
            part += char_w
            end += 1
        while not simple and end - start > 1:
            if _can_cut(word, end) and _drawn_width(word[start:end], face) <= room:
                break
            earlier = next(
                (i for i in range(end - 1, start, -1) if _can_break_before(word, i)), start
            )
            if earlier == start:
                end = _longest_fit(word, start, end, face, room)
                break
            end = earlier
        if not simple and end < len(word):
            end = _grow(word, start, end, face, room)
        pieces.append(word[start:end])
        start = end
    return pieces


def _grow(word: str, start: int, end: int, face: str, room: float) -> int:
    """The furthest place after ``end`` to cut ``word`` so that the piece from ``start``
    still fits when drawn: joined Arabic letters are narrower than the letters alone
    that :func:`_cut_word` first adds up, which left long words on half-empty lines."""
    cuts = [
        i for i in range(end + 1, min(len(word), start + _LONGEST_PIECE) + 1) if _can_cut(word, i)
    ]
    low, high = 0, len(cuts)  # how many of ``cuts`` are known to fit
    while low < high:
        mid = (low + high + 1) // 2
        if _drawn_width(word[start : cuts[mid - 1]], face) <= room:
            low = mid
        else:
            high = mid - 1
    return cuts[low - 1] if low else end


# Characters one piece of a cut word may hold: only text that nothing may be cut inside
# (marks upon marks) comes near it, and each piece is measured as drawn.
_LONGEST_PIECE = 256


def _can_cut(word: str, i: int) -> bool:
    return i >= len(word) or _can_break_before(word, i)


def _drawn_width(text: str, face: str) -> float:
    return sum(run.width for run in layout(text, face))


def _longest_fit(word: str, start: int, end: int, face: str, room: float) -> int:
    """The end of the longest piece of ``word[start:end]`` from ``start`` that fits in
    ``room`` when drawn, whatever it cuts through; at least one character."""
    low, high = start + 1, end
    while low < high:
        mid = (low + high + 1) // 2
        if _drawn_width(word[start:mid], face) <= room:
            low = mid
        else:
            high = mid - 1
    return low


# --- addresses ---------------------------------------------------------------------------

_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _decode_escapes(match: re.Match[str]) -> str:
    """A run of %-escapes as the UTF-8 text it spells, where that is unambiguous.

    ASCII (``%2F`` is not ``/``), spaces and invisible characters stay escaped.
    """
    raw = match.group()
    try:
        decoded = bytes.fromhex(raw.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return raw
    return "".join(
        urllib.parse.quote(c, safe="")
        if c.isascii() or c.isspace() or unicodedata.category(c)[0] in "CZ"
        else c
        for c in decoded
    )


def display_url(url: str) -> str:
    """``url`` as people read it: the host in its own script, escaped paths decoded.

    An internationalised host is shown in Unicode with its punycode beside it, so the
    address can still be typed exactly: ``https://bücher.example/ (xn--bcher-kva.example)``.
    %-escaped UTF-8 in the path, query and fragment is shown as the text it spells
    (``/%D9%85`` as ``/م``); escaped ASCII, spaces and invisible characters stay escaped.
    Anything that does not parse is returned as it was.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return url
    netloc = parts.netloc
    beside = ""
    if host:
        try:
            if host.isascii():
                ascii_host = host
                unicode_host = idna.decode(host) if "xn--" in host else host
            else:
                unicode_host = host
                ascii_host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            unicode_host = ascii_host = host
        if unicode_host != ascii_host:
            beside = f" ({ascii_host})"
            at = netloc.lower().rfind(host)
            if at >= 0:
                netloc = netloc[:at] + unicode_host + netloc[at + len(host) :]
    path, query, fragment = (
        _ESCAPES.sub(_decode_escapes, part) for part in (parts.path, parts.query, parts.fragment)
    )
    shown = urllib.parse.urlunsplit((parts.scheme, netloc, path, query, fragment))
    return shown + beside
