"""The note's one typeface, Fira Sans, embedded from a declared dependency.

Fira Sans (SIL Open Font License, Mozilla) comes from the ``fontpkg-fira-sans`` package,
which ships Google Fonts' static TrueType files unmodified: the same bytes on every
machine, never whatever the system has installed. It covers Latin with its extensions
(Polish, Romanian, Vietnamese), Greek and Cyrillic, in real regular, bold and italic
faces. (Noto Sans is packaged only as a variable font, whose bold reportlab cannot
draw; reportlab's own Vera is Latin-1 only.)

Only characters that *every* face can draw count as drawable, so a name set in bold in
a heading and in regular in a table looks the same; :mod:`caseview.report.text` names
the rest.
"""

from __future__ import annotations

import io
from functools import lru_cache
from importlib import resources

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

PACKAGE = "fontpkg_fira_sans"
FAMILY = "CaseviewSans"
REGULAR = "CaseviewSans"
BOLD = "CaseviewSans-Bold"
ITALIC = "CaseviewSans-Italic"
BOLD_ITALIC = "CaseviewSans-BoldItalic"

_FILES = {
    REGULAR: "FiraSans-Regular.ttf",
    BOLD: "FiraSans-Bold.ttf",
    ITALIC: "FiraSans-Italic.ttf",
    BOLD_ITALIC: "FiraSans-BoldItalic.ttf",
}


def font_bytes(face: str) -> bytes:
    """The TrueType file of one face, read from the installed font package."""
    return (resources.files(PACKAGE) / "files" / _FILES[face]).read_bytes()


@lru_cache(maxsize=1)
def register() -> tuple[TTFont, ...]:
    """Register the four faces with reportlab as one family (once per process)."""
    faces = []
    for face in _FILES:
        # Settings that change the bytes are fixed here, not left to reportlab's config
        # or to whether a shaping library happens to be installed.
        font = TTFont(face, io.BytesIO(font_bytes(face)), asciiReadable=1, shapable=False)
        pdfmetrics.registerFont(font)
        faces.append(font)
    pdfmetrics.registerFontFamily(
        FAMILY, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
    )
    # registerFontFamily maps the family name; map the face names too, so <b> inside a
    # Paragraph whose style names REGULAR finds BOLD.
    addMapping(REGULAR, 0, 0, REGULAR)
    addMapping(REGULAR, 1, 0, BOLD)
    addMapping(REGULAR, 0, 1, ITALIC)
    addMapping(REGULAR, 1, 1, BOLD_ITALIC)
    return tuple(faces)


@lru_cache(maxsize=1)
def drawable() -> frozenset[int]:
    """The code points every face of the family has a glyph for."""
    maps = [set(font.face.charToGlyph) for font in register()]
    return frozenset(set.intersection(*maps))


@lru_cache(maxsize=8)
def advances(face: str) -> dict[str, float]:
    """Each drawable character's advance width in ``face``, in thousandths of an em.

    The same figures reportlab's stringWidth sums (it applies no kerning), kept as a
    plain dictionary so wrapping thousands of table cells stays cheap.
    """
    if face not in _FILES:
        raise KeyError(f"not one of the note's faces: {face}")
    register()
    font = pdfmetrics.getFont(face)
    widths = font.face.charWidths
    default = float(font.face.defaultWidth)
    return {chr(cp): float(widths.get(cp, default)) for cp in drawable() | {32}}
