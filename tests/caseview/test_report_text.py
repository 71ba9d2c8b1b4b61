"""Text safety for the note: drawable characters, inert markup, wrapping, the font."""

from __future__ import annotations

import unicodedata
from xml.sax.saxutils import unescape

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from report_samples import NAMES
from reportlab.lib.fonts import tt2ps
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

from caseview.report import fonts
from caseview.report.text import fit, markup, one_line, placeholder, visible, wrap
from caseview.report.text import width as text_width

MARKUP = (
    "<font color=red>red</font>",
    '<img src="/etc/passwd"/>',
    '<a href="javascript:x">click</a>',
    "<b>unbalanced",
    "&amp; &lt; &#169; &nbsp; &bogus;",
    "</para><para>",
    '<link href="file:///etc/shadow">x</link>',
    "<br/><seq/><onDraw name=x/>",
    "]]><!-- -->",
)


@pytest.fixture(scope="module")
def style() -> ParagraphStyle:
    fonts.register()
    return ParagraphStyle("t", fontName=fonts.REGULAR)


def paragraph_text(text: str, style: ParagraphStyle) -> str:
    """What reportlab's parser makes of ``markup(text)``: the characters it would draw."""
    para = Paragraph(markup(text), style)
    return "".join(getattr(f, "text", "") for f in para.frags)


@pytest.mark.parametrize("name", NAMES)
def test_names_in_the_embedded_font_stay_themselves(name: str) -> None:
    assert visible(name) == name
    assert all(ord(c) in fonts.drawable() for c in name if c != " ")


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("😀", "[GRINNING FACE]"),
        ("\U00013000", "[EGYPTIAN HIEROGLYPH A001]"),  # no embedded face has it
        ("\x07", "[U+0007]"),
        ("\x00", "[U+0000]"),
        ("\ud800", "[U+D800]"),  # a lone surrogate
        ("\u202e", "[RIGHT-TO-LEFT OVERRIDE]"),  # would reorder text: shown, not obeyed
        ("\u200b", "[ZERO WIDTH SPACE]"),  # invisible: shown, not hidden
        ("\ue000", "[U+E000]"),  # private use
    ],
)
def test_what_the_font_cannot_draw_is_named(char: str, shown: str) -> None:
    assert visible(f"a{char}b") == f"a{shown}b"


def test_line_breaks_and_odd_spaces_become_plain() -> None:
    assert visible("a\r\nb\rc\u2028d\te\u2009f\u00a0g") == "a\nb\nc\nd e f g"


def test_placeholder_uses_the_unicode_name() -> None:
    assert placeholder("😀") == "[GRINNING FACE]"
    assert placeholder("\x1b") == "[U+001B]"


@pytest.mark.parametrize("text", MARKUP)
def test_markup_comes_out_as_the_literal_characters(text: str, style: ParagraphStyle) -> None:
    assert paragraph_text(text, style) == text


def test_markup_escapes_and_breaks_lines() -> None:
    assert markup("<b>x</b> & y\nz") == "&lt;b&gt;x&lt;/b&gt; &amp; y<br/>z"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_and_reads_back_as_drawn(text: str) -> None:
    style = ParagraphStyle("t", fontName=fonts.REGULAR)
    fonts.register()
    drawn = paragraph_text(text, style)
    expected = unescape(markup(text).replace("<br/>", ""))
    assert "".join(drawn.split()) == "".join(expected.split())
    assert all(ord(c) in fonts.drawable() or c.isspace() for c in drawn)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_visible_keeps_only_drawable_characters(text: str) -> None:
    shown = visible(text)
    drawable = fonts.drawable_anywhere()
    assert all(ord(c) in drawable or c in " \n\u200c\u200d" for c in shown)
    # nothing is dropped: every character is either kept or named
    for char in text:
        if ord(char) in drawable and unicodedata.category(char)[0] != "C":
            assert char in shown or char.isspace()


@settings(max_examples=200, deadline=None)
@given(st.text(), st.floats(min_value=20, max_value=400))
# A Myanmar vowel sign drawn wider, shaped, than its own advance says.
@example("00\u10620", 20.0)
def test_wrap_keeps_every_word_and_fits(text: str, width: float) -> None:
    lines = wrap(text, fonts.REGULAR, 8, width)
    assert "".join("".join(lines).split()) == "".join(visible(text).split())
    for line in lines:
        # a line wider than the room is only ever a single character
        # (or ends in a combining mark, which never starts a line)
        assert (
            text_width(line, fonts.REGULAR, 8) <= width + 0.01
            or len(line) == 1
            or unicodedata.category(line[-1])[0] == "M"
        )


def test_wrap_breaks_a_long_word_between_characters() -> None:
    lines = wrap("x" * 500, fonts.REGULAR, 8, 100)
    assert len(lines) > 1 and "".join(lines) == "x" * 500


def test_wrap_folds_blank_lines() -> None:
    assert wrap("one\n\n\n\ntwo", fonts.REGULAR, 8, 200) == ["one", "", "two"]


def test_fit_cuts_with_an_ellipsis() -> None:
    assert fit("short", fonts.REGULAR, 8, 200) == "short"
    cut = fit("word " * 100, fonts.REGULAR, 8, 100)
    assert cut.endswith("…") and len(cut) < 100


def test_one_line_folds_whitespace() -> None:
    assert one_line(" a\n\n b\tc ") == "a b c"


def test_the_font_comes_from_the_declared_package() -> None:
    assert fonts.font_bytes(fonts.REGULAR)[:4] == b"\x00\x01\x00\x00"  # TrueType outlines
    assert fonts.font_bytes(fonts.BOLD) != fonts.font_bytes(fonts.REGULAR)


def test_the_faces_are_one_family() -> None:
    fonts.register()
    assert tt2ps(fonts.REGULAR, 1, 0) == fonts.BOLD
    assert tt2ps(fonts.FAMILY, 0, 1) == fonts.ITALIC
