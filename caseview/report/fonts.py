"""The note's typefaces, embedded from declared dependencies: Fira Sans, then Noto.

The main face is Fira Sans (SIL Open Font License, Mozilla), from ``fontpkg-fira-sans``,
which ships Google Fonts' static TrueType files unmodified: the same bytes on every
machine, never whatever the system has installed. It covers Latin with its extensions
(Polish, Romanian, Vietnamese), Greek and Cyrillic, in real regular, bold and italic
faces. Only characters that *every* Fira face can draw count as the main face's, so a
name set in bold in a heading and in regular in a table looks the same.

Every other script comes from a Noto face (SIL Open Font License, Google), tried in the
order of :data:`FALLBACKS`: Arabic (Arabic, Urdu, Farsi, Pashto, Kurdish), Hebrew,
Ethiopic (Tigrinya, Amharic), the Indic scripts (Devanagari, Bengali, Gurmukhi,
Gujarati, Tamil and the rest), South-East Asian scripts, symbols, then Noto Sans SC for
Chinese and Japanese (its Han and kana) and Noto Sans KR for Korean (its Hangul). Only
TrueType-outline files can be embedded by reportlab, and these are the only packaged
Noto files of that kind for these scripts:

- ``manimgx-fonts`` ships Google Fonts' Noto Sans per-script files (3.5 MB wheel);
- ``justmytype-intl-cjk`` ships Noto Sans SC and KR (30 MB wheel: the whole of Han is
  big). The Adobe-built Noto Sans CJK packages ship PostScript (CFF) outlines, which
  reportlab cannot embed. Two CJK faces, because no single TrueType one has both
  simplified Chinese and Hangul: SC has no Hangul, and KR lacks most simplified Han.

They are variable fonts: reportlab draws their default instance, the regular weight
(Thin for SC and KR, thickened to regular, see :data:`THICKEN`), so bold and italic
text in these scripts is drawn regular (bold is thickened by :mod:`caseview.report.pdf`).
Each is subset at embedding, so a note carries only the glyphs it uses. Text in them is
shaped (HarfBuzz, via ``uharfbuzz``) and reordered (the Unicode bidi algorithm, via
``python-bidi``) by :mod:`caseview.report.text`.

Characters none of these faces has are named by :mod:`caseview.report.text`.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics, ttfonts
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
FACES = tuple(_FILES)  # the main faces


@dataclass(frozen=True)
class Fallback:
    """A face for the characters the main face lacks: its reportlab name and its file."""

    name: str
    package: str
    path: str


def _noto(script: str) -> Fallback:
    return Fallback(f"CaseviewNoto{script}", "manimgx_fonts", f"NotoSans{script}[wght].ttf")


_CJK = "fonts/ofl/notosans{}/NotoSans{}[wght].ttf"

#: Tried in this order for each character the main face lacks; the first that has it
#: draws it. Noto Sans first: the Latin, Greek and Cyrillic letters Fira lacks.
FALLBACKS: tuple[Fallback, ...] = (
    *map(
        _noto,
        (
            "", "Arabic", "Hebrew", "Ethiopic", "Devanagari", "Bengali", "Gurmukhi",
            "Gujarati", "Tamil", "Oriya", "Telugu", "Kannada", "Malayalam", "Sinhala",
            "Armenian", "Georgian", "Thai", "Lao", "Khmer", "Myanmar", "Symbols",
        ),
    ),
    Fallback("CaseviewNotoCJK", "justmytype_intl_cjk", _CJK.format("sc", "SC")),
    Fallback("CaseviewNotoHangul", "justmytype_intl_cjk", _CJK.format("kr", "KR")),
)  # fmt: skip

#: Faces whose default instance is lighter than regular (Noto Sans SC and KR default to
#: Thin), and how much to thicken them, as a stroke of this fraction of the font size,
#: to stand beside regular text. Instantiating the regular weight with fontTools takes
#: 25 seconds for Noto Sans SC: too slow for an export.
THICKEN: dict[str, float] = {"CaseviewNotoCJK": 0.045, "CaseviewNotoHangul": 0.045}

# Named whatever face has a glyph for them (see caseview.report.text).
_NEVER_DRAWN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def font_bytes(face: str) -> bytes:
    """The TrueType file of one face, read from the installed font package."""
    for fallback in FALLBACKS:
        if fallback.name == face:
            return resources.files(fallback.package).joinpath(fallback.path).read_bytes()
    return (resources.files(PACKAGE) / "files" / _FILES[face]).read_bytes()


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap, with characters beyond U+FFFF written correctly.

    reportlab writes each character as ``<%04X>``, five hex digits for U+2B7FC (a CJK
    character the CJK face has), which PDF readers reject. The PDF reference asks for
    UTF-16BE, a surrogate pair above U+FFFF: that is what this writes, the rest unchanged.
    """
    pairs = [
        f"<{i:02X}> <{chr(v).encode('utf-16-be', 'surrogatepass').hex().upper()}>"
        for i, v in enumerate(subset)
    ]
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo",
            f"<< /Registry ({fontname})",
            f"/Ordering ({fontname})",
            "/Supplement 0",
            ">> def",
            f"/CMapName /{fontname} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(subset) - 1:02X}>",
            "endcodespacerange",
            f"{len(subset)} beginbfchar",
            *pairs,
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )


@lru_cache(maxsize=1)
def register() -> tuple[TTFont, ...]:
    """Register the four main faces as one family, and the fallbacks (once per process).

    Returns the four main faces.
    """
    ttfonts.makeToUnicodeCMap = _to_unicode_cmap
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
    for fallback in FALLBACKS:
        # shapable=False: caseview.report.text shapes these itself (reportlab's own
        # shaping numbers unnamed glyphs in the order it meets them, so the same text
        # would give different bytes after a different note in the same process).
        font = TTFont(fallback.name, io.BytesIO(font_bytes(fallback.name)), shapable=False)
        pdfmetrics.registerFont(font)
    return tuple(faces)


@lru_cache(maxsize=1)
def drawable() -> frozenset[int]:
    """The code points every main face has a glyph for."""
    maps = [set(font.face.charToGlyph) for font in register()]
    return frozenset(set.intersection(*maps))


@lru_cache(maxsize=1)
def fallback_faces() -> dict[int, str]:
    """For each code point the main faces lack, the first fallback face that has it."""
    register()
    main = drawable()
    chosen: dict[int, str] = {}
    for fallback in FALLBACKS:
        for cp in pdfmetrics.getFont(fallback.name).face.charToGlyph:
            if (
                cp not in main
                and cp not in chosen
                and unicodedata.category(chr(cp)) not in _NEVER_DRAWN_CATEGORIES
            ):
                chosen[cp] = fallback.name
    return chosen


@lru_cache(maxsize=1)
def drawable_anywhere() -> frozenset[int]:
    """The code points some embedded face can draw: the main faces' and the fallbacks'."""
    return drawable() | frozenset(fallback_faces())


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


@lru_cache(maxsize=len(FALLBACKS))
def cmap(face: str) -> frozenset[int]:
    """The code points fallback ``face`` maps to a glyph of its own."""
    register()
    return frozenset(pdfmetrics.getFont(face).face.charToGlyph) - frozenset(range(0xE000, 0xF900))


def face_data(face: str) -> bytes:
    """The bytes of a registered face's font file, as reportlab read them."""
    register()
    return bytes(pdfmetrics.getFont(face).face._ttf_data)


def char_width(face: str, char: str) -> float:
    """``char``'s advance in fallback ``face``, unshaped, in thousandths of an em."""
    register()
    return float(pdfmetrics.getFont(face).face.getCharWidth(ord(char)))


@lru_cache(maxsize=len(FALLBACKS))
def glyph_keys(face: str) -> dict[int, str]:
    """For each glyph of fallback ``face``, the character that draws it through reportlab.

    A glyph the font maps a character to is drawn by that character (if several, the
    lowest that is its own normal form: 小, not ⼩). A glyph no character maps to (a
    joined Arabic form, an Indic conjunct) is
    given a private-use code point of its own, numbered in glyph order, so the same
    glyph has the same code in every note and process; the text behind it is written
    into the PDF as ``/ActualText`` by the renderer.
    """
    register()
    font_face = pdfmetrics.getFont(face).face
    keys: dict[int, str] = {}
    # Prefer a character that is its own normal form: 小, not the Kangxi radical ⼩.
    # Never a control character (fonts map U+0000 to their empty glyph).
    for cp, gid in sorted(
        font_face.charToGlyph.items(),
        key=lambda item: (unicodedata.normalize("NFKC", chr(item[0])) != chr(item[0]), item[0]),
    ):
        if unicodedata.category(chr(cp)) != "Cc":
            keys.setdefault(gid, chr(cp))
    private = 0xE000
    hmetrics = font_face.hmetrics
    for gid in range(1, font_face.numGlyphs):
        if gid in keys:
            continue
        while private in font_face.charToGlyph:
            private += 1
        if private > 0xF8FF:  # no face here has that many unnamed glyphs
            raise ValueError(f"too many unnamed glyphs in {face}")
        font_face.charToGlyph[private] = gid
        advance = hmetrics[min(gid, len(hmetrics) - 1)][0]
        font_face.charWidths[private] = font_face._pdfScale(advance)
        keys[gid] = chr(private)
        private += 1
    return keys
