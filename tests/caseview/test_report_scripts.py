"""Every script in the note: names come back from the text layer as themselves.

Read with poppler's ``pdftotext -raw``, which honours the ``/ActualText`` the renderer
writes around shaped runs (joined Arabic forms and Indic conjuncts have no characters
of their own). Right-to-left text may come back in reading or in visual order, so an
Arabic-script name must appear as itself or reversed; nothing may come back as a
Unicode name.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
from report_samples import sample_report

from caseview.report.pdf import render_pdf
from caseview.report.text import display_url, visible

NAMES = {
    "Arabic": "محمد علي",
    "Urdu": "عائشہ خان",
    "Farsi": "زهرا احمدی",
    "Bengali": "আমিনা বেগম",
    "Gurmukhi": "ਹਰਪ੍ਰੀਤ ਕੌਰ",
    "Gujarati": "પ્રિયા પટેલ",
    "Devanagari": "प्रिया शर्मा",
    "Tamil": "கவிதா ராஜ்",
    "Chinese": "王小明",
    "Japanese": "山田花子",
    "Korean": "김민준",
    "Tigrinya": "ሰላም ገብረ",
    "Greek": "Ελένη Παπαδοπούλου",
    "Cyrillic": "Олена Коваль",
    "Latin": "Łucja Wójcik",
}
RTL = {"Arabic", "Urdu", "Farsi"}

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no pdftotext")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@pytest.fixture(scope="module")
def text_layer(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = sample_report()
    data = replace(
        base,
        subjects=tuple((name, "subject") for name in NAMES.values()),
        case_title=f"{NAMES['Arabic']} and {NAMES['Chinese']}",
        sources=tuple(
            replace(s, title=f"Profile of {name}")
            for s, name in zip(base.sources, NAMES.values(), strict=False)
        ),
    )
    path = tmp_path_factory.mktemp("scripts") / "note.pdf"
    path.write_bytes(render_pdf(data))
    out = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return nfc(out)


@needs_poppler
@pytest.mark.parametrize("script", NAMES)
def test_name_comes_back_as_itself(text_layer: str, script: str) -> None:
    name = nfc(NAMES[script])
    found = name in text_layer
    if script in RTL:  # reading order or visual order, word by word
        found = found or all(w in text_layer or w[::-1] in text_layer for w in name.split())
    assert found, f"{script} name {name!r} not in the text layer"


@needs_poppler
def test_no_script_comes_out_as_unicode_names(text_layer: str) -> None:
    for marker in ("[ARABIC", "[BENGALI", "[GURMUKHI", "[GUJARATI", "[DEVANAGARI",
                   "[TAMIL", "[CJK", "[HANGUL", "[ETHIOPIC", "[GREEK", "[CYRILLIC"):  # fmt: skip
        assert marker not in text_layer


def test_same_names_give_the_same_bytes() -> None:
    data = sample_report(subjects=tuple((n, "subject") for n in NAMES.values()))
    assert render_pdf(data) == render_pdf(data)


def test_a_character_no_font_has_is_still_named() -> None:
    assert visible("a\U00013000b") == "a[EGYPTIAN HIEROGLYPH A001]b"


@needs_poppler
def test_unknown_character_is_named_in_the_pdf(tmp_path: Path) -> None:
    path = tmp_path / "n.pdf"
    path.write_bytes(render_pdf(sample_report(case_title="محمد \U00013000")))
    out = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "[EGYPTIAN HIEROGLYPH A001]" in out


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://xn--bcher-kva.example/",
            "https://bücher.example/ (xn--bcher-kva.example)",
        ),
        ("https://bücher.example/", "https://bücher.example/ (xn--bcher-kva.example)"),
        ("https://example.org/%D9%85%D8%AD%D9%85%D8%AF", "https://example.org/محمد"),
        ("https://example.org/a%2Fb%20c", "https://example.org/a%2Fb%20c"),  # ASCII kept
        ("https://example.org/%E2%80%AE", "https://example.org/%E2%80%AE"),  # bidi kept
        ("https://example.org/%FF", "https://example.org/%FF"),  # not UTF-8
    ],
)
def test_urls_print_as_people_read_them(url: str, shown: str) -> None:
    assert display_url(url) == shown
