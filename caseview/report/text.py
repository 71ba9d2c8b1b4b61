"""Make any text safe to put in the note: drawable by the embedded font, inert as markup.

Two steps, always in this order, and nothing else in the renderer builds text:

- :func:`visible` turns a string into one the embedded font can draw in full. A character
  the font has no glyph for (an emoji, a CJK ideograph, a lone surrogate, a control
  character) becomes its Unicode name in brackets, ``"[GRINNING FACE]"``, or its code
  point when it has no name, ``"[U+0007]"``; invisible format characters (zero-width
  joiners, bidi overrides) are named too, so nothing in the record is hidden or lost.
  Whitespace the font lacks becomes a plain space; line breaks become ``"\\n"``.
- :func:`markup` then escapes ``&``, ``<`` and ``>`` so reportlab's Paragraph mini-markup
  reads the result as literal characters (``<img src="/etc/passwd"/>`` is text, never an
  image it would try to open), and turns line breaks into ``<br/>``.

Text drawn straight on the canvas (page furniture, chart labels) needs only
:func:`visible`: the canvas interprets no markup.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.pdfbase.pdfmetrics import stringWidth

from caseview.report import fonts

# Characters that end a line, as str.splitlines() knows them.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Named even where the font has a glyph: controls, format characters (zero-width and
# bidi controls hide or reorder text), surrogates, private use, unassigned.
_NEVER_DRAWN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


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
    """:func:`visible` for one set of drawable code points (the font's cmap)."""

    def __init__(self, drawable: Iterable[int]) -> None:
        keep = {
            cp
            for cp in drawable
            if unicodedata.category(chr(cp)) not in _NEVER_DRAWN_CATEGORIES
            and not chr(cp).isspace()
        }
        keep.update((ord(" "), ord("\n")))
        # Everything outside ``keep`` goes through _replace; the scan itself runs in C.
        self._unsafe = re.compile(f"[^{_ranges(keep)}]")

    def __call__(self, text: str) -> str:
        return self._unsafe.sub(_replace, text)


def _replace(match: re.Match[str]) -> str:
    char = match.group()
    if char in _LINE_BREAKS:
        return "\n"
    if char.isspace():
        return " "
    return placeholder(char)


@lru_cache(maxsize=1)
def _default_cleaner() -> Cleaner:
    return Cleaner(fonts.drawable())


def visible(text: str) -> str:
    """``text`` with every character the embedded font cannot draw named in brackets.

    ``"\\r\\n"`` and the other line breaks become ``"\\n"``; tabs and exotic spaces
    become a plain space. Everything else the font has is kept exactly.
    """
    return _default_cleaner()(text.replace("\r\n", "\n"))


def markup(text: str) -> str:
    """``text`` made drawable and escaped for a reportlab Paragraph: read literally.

    Line breaks become ``<br/>``. This is the only way user or page text enters a
    Paragraph.
    """
    return escape(visible(text)).replace("\n", "<br/>")


def one_line(text: str) -> str:
    """:func:`visible` with line breaks and runs of whitespace folded to single spaces."""
    return " ".join(visible(text).split())


def fit(text: str, font: str, size: float, room: float) -> str:
    """:func:`one_line`, cut with an ellipsis if it is wider than ``room`` points."""
    line = one_line(text)
    if stringWidth(line, font, size) <= room:
        return line
    low, high = 0, len(line)  # the longest prefix that fits, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        if stringWidth(line[:mid] + "…", font, size) <= room:
            low = mid
        else:
            high = mid - 1
    return line[:low].rstrip() + "…"


def wrap(text: str, face: str, size: float, width: float) -> list[str]:
    """:func:`visible` ``text`` broken into lines at most ``width`` points wide.

    Lines break between words; a word wider than the whole line (a long URL, a hash)
    breaks between characters. Line breaks in the text are kept, runs of blank lines
    fold to one, and runs of spaces to one, as a Paragraph would show them. No markup
    is involved at all: the lines are drawn as they are.
    """
    advance = fonts.advances(face)
    room = width * 1000 / size  # in thousandths of an em, as the advances are
    space = advance[" "]
    lines: list[str] = []
    for raw in visible(text).split("\n"):
        words = raw.split()
        if not words:
            if lines and lines[-1]:
                lines.append("")
            continue
        line: list[str] = []
        used = 0.0
        for word in words:
            w = sum(map(advance.__getitem__, word))
            if line and used + space + w <= room:
                line.append(word)
                used += space + w
                continue
            if line:
                lines.append(" ".join(line))
                line, used = [], 0.0
            if w > room:  # no room for it whole, even on a line of its own: cut it
                start, part = 0, 0.0
                for i, char in enumerate(word):
                    if part + advance[char] > room and i > start:
                        lines.append(word[start:i])
                        start, part = i, 0.0
                    part += advance[char]
                word, w = word[start:], part
            line, used = [word], w
        if line:
            lines.append(" ".join(line))
    while lines and not lines[-1]:
        lines.pop()
    return lines
