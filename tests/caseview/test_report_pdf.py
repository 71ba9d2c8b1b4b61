"""The reasoned note as a PDF: what it says, where, on every page, safely and repeatably.

Read back through pypdf's text layer (what a reader's search and copy see), checked
with qpdf, and rendered from hostile text in every field.
"""

from __future__ import annotations

import io
import re
import shutil
import socket
import subprocess
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import reportlab.lib.utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from report_samples import (
    NAMES,
    NOT_RELIED_TEXT,
    RELIED_TEXT,
    big_report,
    observation,
    sample_report,
    source,
)

from caseview.report import charts, fonts
from caseview.report.model import (
    ReportData,
    ReportDecision,
    ReportJustification,
    ReportNote,
    ReportObservation,
    ReportSource,
)
from caseview.report.pdf import render_pdf, verify_command

MARKUP = (
    "<font color=red>red</font>",
    '<img src="/etc/passwd"/>',
    '<a href="javascript:x">click</a>',
    "<b>unbalanced",
    "&amp; &lt; &#169; &bogus;",
    "</para><para>",
    '<link href="file:///etc/shadow">x</link>',
)


def squash(text: str) -> str:
    """Text with all whitespace removed: wrapping moves line breaks, never characters."""
    return "".join(text.split())


def flat(text: str) -> str:
    return " ".join(text.split())


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def sample() -> ReportData:
    return sample_report()


@pytest.fixture(scope="module")
def pdf(sample: ReportData) -> bytes:
    return render_pdf(sample)


@pytest.fixture(scope="module")
def pages(pdf: bytes) -> list[str]:
    return page_texts(pdf)


@pytest.fixture(scope="module")
def text(pages: list[str]) -> str:
    return flat("\n".join(pages))


def qpdf_check(pdf: bytes, tmp_path: Path) -> None:
    qpdf = shutil.which("qpdf")
    assert qpdf, "qpdf is required (apt-get install qpdf; .ci/run installs it)"
    path = tmp_path / "note.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- what the note says -----------------------------------------------------------------


def test_every_page_has_marking_top_and_bottom_case_and_page_x_of_y(pages: list[str]) -> None:
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert page.count("OFFICIAL-SENSITIVE") >= 2, f"page {number}"
        assert "CP-2026-0147" in page, f"page {number}"
        assert f"Page {number} of {len(pages)}" in page


def test_header(text: str, sample: ReportData) -> None:
    assert "Reasoned note" in text
    assert sample.case_title in text
    assert "Wren Worker (wren)" in text
    assert "24 Nov 2026, 16:30 UTC" in text
    assert "caseview 0.1.0" in text


def test_question_statutory_function_and_both_sides(text: str, sample: ReportData) -> None:
    for j in sample.justifications:
        for part in (j.question, j.statutory_function, j.safety_case, j.ethics_case, j.balance):
            assert squash(part) in squash(text)
    assert "The safety case" in text and "The ethics case" in text


def test_manager_decisions_with_name_reasons_and_time(text: str, sample: ReportData) -> None:
    decision = sample.justifications[0].decisions[-1]
    assert "Mona Manager (mona)" in text
    assert "approved" in text and "returned" in text
    assert squash(decision.reasons) in squash(text)
    assert "3 Nov 2026, 14:40 UTC" in text


def test_emergency_and_authorisation_reference(text: str) -> None:
    assert "break-glass" in text
    assert "RIPA-2026-0142" in text


def test_every_source_sha256_in_full(pages: list[str], sample: ReportData) -> None:
    raw = "\n".join(pages)
    for s in sample.sources:
        assert s.sha256 in raw  # whole, on one line


def test_checkpoint_and_exact_verify_command(text: str, sample: ReportData) -> None:
    command = (
        f"caseview --db {sample.case_file_name} verify --expect-head "
        f"{sample.checkpoint_seq}:{sample.checkpoint_hash}"
    )
    assert verify_command(sample) == command
    assert command in text
    assert f"Audit event {sample.checkpoint_seq}" in text


def test_verify_command_quotes_an_awkward_file_name(sample: ReportData) -> None:
    awkward = replace(sample, case_file_name="case file; rm -rf ~.db")
    assert "--db 'case file; rm -rf ~.db' verify" in verify_command(awkward)


def test_limitations_say_what_a_hash_proves(text: str) -> None:
    assert "Limitations" in text
    assert "have not changed since they were captured" in text
    assert "It does not prove that the page was genuine" in text


def test_observations_sit_under_the_right_heading(text: str) -> None:
    relied_at = text.index("Findings relied upon")
    apart_at = text.index("Material not relied upon")
    assert relied_at < apart_at
    relied = squash(text).index(squash(RELIED_TEXT)[:60])
    not_relied = squash(text).index(squash(NOT_RELIED_TEXT)[:40])
    assert (
        squash(text).index("Findingsreliedupon")
        < relied
        < squash(text).index("Materialnotreliedupon")
    )
    assert not_relied > squash(text).index("Materialnotreliedupon")
    assert "Not certain whose account this is" in text  # its interpretation risk


def test_sections_come_in_design_order(text: str) -> None:
    order = [
        "Reasoned note",
        "Purpose, statutory function and question",
        "Justification, balance and decision",
        "Findings relied upon",
        "Material not relied upon",
        "The worker's analysis and conclusion",
        "Evaluation",
        "Appendix: provenance of the sources",
        "Limitations",
        "Audit checkpoint and how to check it",
    ]
    places = [text.index(heading) for heading in order]
    assert places == sorted(places)


@pytest.mark.parametrize("name", NAMES)
def test_names_come_out_as_themselves(text: str, name: str) -> None:
    assert name in text


def test_emoji_comes_out_as_its_name(text: str) -> None:
    assert "[GRINNING FACE]" in text
    assert "😀" not in text


def test_provenance_row_shows_capture_details(text: str) -> None:
    assert "https://video.example/watch?v=abc&list=PL1#t=30" in text
    assert "supplied by Maternal grandmother" in text
    # UK local time first (GMT in November), with UTC beside it.
    assert "viewed 20 Nov 2026, 22:40 GMT (20 Nov 2026, 22:40 UTC)" in text
    assert "justification 9" in text


def test_empty_parts_say_so_plainly() -> None:
    empty = sample_report(
        justifications=(), observations=(), sources=(), note=None, subjects=(), limitations=()
    )
    text = flat("\n".join(page_texts(render_pdf(empty))))
    assert "No observations were recorded." in text
    assert "No sources were recorded." in text
    assert "No justification was recorded." in text
    assert "No analysis has been written yet." in text
    assert "The evaluation has not been written yet." in text
    assert "integrity of the copy since it was captured, not that the page was authentic" in text
    assert "Findings relied upon" in text and "Material not relied upon" in text


def test_only_relied_or_only_not(sample: ReportData) -> None:
    only = tuple(o for o in sample.observations if not o.relied_upon)
    text = flat("\n".join(page_texts(render_pdf(replace(sample, observations=only)))))
    assert "No observation meets the standard to be relied upon." in text


# --- the file itself --------------------------------------------------------------------


def test_qpdf_finds_no_errors(pdf: bytes, tmp_path: Path) -> None:
    qpdf_check(pdf, tmp_path)


def test_the_same_data_gives_the_same_bytes(sample: ReportData, pdf: bytes) -> None:
    assert render_pdf(sample) == pdf


def test_bytes_ignore_the_environment(
    sample: ReportData, pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    assert render_pdf(sample) == pdf


def test_dated_by_the_checkpoint(pdf: bytes) -> None:
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info is not None
    assert info.creation_date == datetime(2026, 11, 24, 16, 30, tzinfo=UTC)


def test_a_changed_case_gives_different_bytes(sample: ReportData, pdf: bytes) -> None:
    assert render_pdf(replace(sample, checkpoint_seq=4212)) != pdf


def test_every_font_is_embedded(pdf: bytes) -> None:
    names = re.findall(rb"/BaseFont /([A-Za-z0-9+-]+)", pdf)
    assert names and all(re.match(rb"[A-Z]{6}\+FiraSans", n) for n in names), names
    assert b"/FontFile2" in pdf


def test_metadata_is_the_case(pdf: bytes) -> None:
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info is not None
    assert info.title == "Reasoned note CP-2026-0147: Baby W — s47 enquiry"
    assert info.author == "Wren Worker (wren)"


def test_rendering_reads_no_file_and_opens_no_socket(
    sample: ReportData, monkeypatch: pytest.MonkeyPatch
) -> None:
    render_pdf(sample)  # fonts registered before the doors are shut

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the renderer tried to open {args!r}")

    monkeypatch.setattr(reportlab.lib.utils, "open_for_read", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    hostile = "\n".join(MARKUP) + ' <img src="http://example.invalid/x.png"/>'
    render_pdf(
        sample_report(
            case_title=hostile, observations=(observation(1, 1, hostile, relied_upon=True),)
        )
    )


# --- any text at all ----------------------------------------------------------------------

ODD = st.sampled_from(
    [*MARKUP, "\ud800 lone", "😀👨‍👩‍👧", "中文", "\x00\x07\x1b", "\u202eevil", "x" * 3000, ""]
)
TEXT = st.one_of(st.text(), st.text(st.characters(exclude_categories=())), ODD)


@st.composite
def hostile_reports(draw: st.DrawFn) -> ReportData:
    """A report whose every text field is drawn from TEXT."""

    def t() -> str:
        return draw(TEXT)

    def tt() -> tuple[str, ...]:
        return tuple(draw(st.lists(TEXT, max_size=3)))

    at = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
    decision = ReportDecision(reviewer=t(), decision=t(), reasons=t(), at=at)
    j = ReportJustification(
        id=7, version=1, author=t(), subjects=tt(), statutory_function=t(),
        data_protection_basis=t(), question=t(), safety_case=t(), ethics_case=t(),
        balance=t(), less_intrusive_considered=tt(), why_not_enough=t(),
        proportionality=t(), intrusion_level=t(), collateral_intrusion=t(), scope=tt(),
        planned_viewings=1, valid_until=t(), family_told=t(), family_told_reason=t(),
        emergency=draw(st.booleans()), emergency_reason=t(), status=t(), content_hash=t(),
        decisions=(decision,), authorisation_ref=draw(st.none() | TEXT),
    )  # fmt: skip
    o = ReportObservation(
        id=1, source_id=1, text=t(), domain=t(), reliability=t(), credibility=3,
        uk_equivalent=t(), risks=tt(), corroboration=tt(), relied_upon=draw(st.booleans()),
        author=t(), recorded_at=at,
    )  # fmt: skip
    s = ReportSource(
        id=1, url=t(), final_url=draw(st.none() | TEXT), title=draw(st.none() | TEXT),
        captured_at=at, captured_by=t(), method=t(), origin=t(),
        supplied_by=draw(st.none() | TEXT), sha256=t(), size=10, justification_id=7,
        grading=t(), published=draw(st.none() | TEXT), viewed_at=None,
    )  # fmt: skip
    note = ReportNote(*(t() for _ in range(8)))
    return replace(
        sample_report(),
        case_reference=t(), case_title=t(), classification=t(),
        subjects=tuple((t(), t()) for _ in range(draw(st.integers(0, 2)))),
        author=t(), case_file_name=t(), tool=t(), justifications=(j,), observations=(o,),
        sources=(s,), note=note, limitations=tt(),
    )  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_reports())
def test_any_text_in_any_field_renders(data: ReportData) -> None:
    pdf = render_pdf(data)
    assert pdf.startswith(b"%PDF-")
    # pypdf reads the glyphs' own codes (not /ActualText): a joined Arabic form or an
    # Indic conjunct has a private-use code of its own; input private use is named.
    drawable = fonts.drawable_anywhere()
    for page in page_texts(pdf):
        odd = {
            c
            for c in page
            if not (ord(c) in drawable or c.isspace() or unicodedata.category(c) in ("Co", "Mn"))
        }
        assert not odd


FIELDS: dict[str, Callable[[ReportData, str], ReportData]] = {
    "case_reference": lambda d, v: replace(d, case_reference=v),
    "case_title": lambda d, v: replace(d, case_title=v),
    "author": lambda d, v: replace(d, author=v),
    "subject name": lambda d, v: replace(d, subjects=((v, "mother"),)),
    "question": lambda d, v: _j(d, question=v),
    "safety_case": lambda d, v: _j(d, safety_case=v),
    "ethics_case": lambda d, v: _j(d, ethics_case=v),
    "balance": lambda d, v: _j(d, balance=v),
    "scope": lambda d, v: _j(d, scope=(v,)),
    "authorisation_ref": lambda d, v: _j(d, authorisation_ref=v),
    "decision reasons": lambda d, v: _j(
        d, decisions=(ReportDecision("Mona (mona)", "approved", v, d.dated),)
    ),
    "observation text": lambda d, v: replace(
        d, observations=(observation(1, 1, v, relied_upon=True),)
    ),
    "observation risk": lambda d, v: replace(
        d, observations=(observation(1, 1, "x", relied_upon=False, risks=(v,)),)
    ),
    "url": lambda d, v: replace(d, sources=(source(1, url=v),)),
    "page title": lambda d, v: replace(d, sources=(source(1, title=v),)),
    "published": lambda d, v: replace(d, sources=(source(1, published=v),)),
    "analysis": lambda d, v: _note(d, analysis=v),
    "conclusion": lambda d, v: _note(d, conclusion=v),
    "limitation": lambda d, v: replace(d, limitations=(v,)),
    "case_file_name": lambda d, v: replace(d, case_file_name=v),
}


def _note(data: ReportData, **changes: Any) -> ReportData:
    assert data.note is not None
    return replace(data, note=replace(data.note, **changes))


def _j(data: ReportData, **changes: Any) -> ReportData:
    return replace(data, justifications=(replace(data.justifications[0], **changes),))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(FIELDS)), st.sampled_from(MARKUP), st.text(max_size=40))
def test_markup_in_any_field_comes_out_literally(field: str, payload: str, noise: str) -> None:
    data = FIELDS[field](sample_report(), f"{noise} {payload}")
    text = "\n".join(page_texts(render_pdf(data)))
    assert squash(payload) in squash(text)


def test_very_long_text_flows_over_pages(tmp_path: Path) -> None:
    long = " ".join(f"word{i}" for i in range(6000)) + " THE-END"
    data = _note(
        _j(
            sample_report(observations=(observation(1, 1, long, relied_upon=True),)),
            safety_case=long,
        ),
        analysis=long,
    )
    pdf = render_pdf(data)
    text = "\n".join(page_texts(pdf))
    assert text.count("THE-END") == 3
    qpdf_check(pdf, tmp_path)


# --- pictures and scale -----------------------------------------------------------------


def test_timeline_handles_no_sources() -> None:
    assert charts.timeline((), 480) is None
    assert charts.observation_chart((), 480) is None


def test_timeline_of_one_source_is_by_day() -> None:
    line = charts.timeline((source(1, published=None),), 480)
    assert line is not None and line.unit == "day" and line.counts == {"Captured": 1}


def test_timeline_aggregates_two_thousand_sources() -> None:
    data = big_report(2_000)
    line = charts.timeline(data.sources, 480)
    assert line is not None and line.unit in ("week", "month")
    assert sum(line.counts.values()) >= 2_000
    assert len(line.drawing.contents) < 400  # bars per bucket, not per source


@pytest.mark.parametrize(
    ("stated", "read"),
    [
        ("2026-03-14", "2026-03-14"),
        ("2026-03-14T10:00:00Z", "2026-03-14"),
        ("14 March 2026", "2026-03-14"),
        ("March 14, 2026", "2026-03-14"),
        ("3 weeks ago", None),
        ("2026-13-45", None),
        (None, None),
    ],
)
def test_published_dates_read_when_they_can_be(stated: str | None, read: str | None) -> None:
    got = charts.parse_published(stated)
    assert (got.isoformat() if got else None) == read


def test_unreadable_published_dates_are_counted() -> None:
    line = charts.timeline((source(1, published="last week"), source(2)), 480)
    assert line is not None and line.unreadable_published == 1


def test_a_big_case_renders_every_row(tmp_path: Path) -> None:
    data = big_report(120)
    pdf = render_pdf(data)
    raw = "\n".join(page_texts(pdf))
    assert all(s.sha256 in raw for s in data.sources)
    assert squash("Observation 360 on source 120") in squash(raw)
    qpdf_check(pdf, tmp_path)


def test_the_widest_possible_hash_stays_on_one_line() -> None:
    widest = replace(source(1), sha256="d" * 64)
    raw = "\n".join(page_texts(render_pdf(sample_report(sources=(widest,)))))
    assert "d" * 64 in raw


def test_characters_beyond_u_ffff_are_mapped_back_as_pdf_readers_expect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A CJK Extension character (U+2B7FC) that an embedded face draws: reportlab alone
    # wrote its ToUnicode entry as five hex digits, which PDF readers reject.
    beyond = [c for c in sorted(fonts.drawable_anywhere()) if c > 0xFFFF]
    wanted = [*beyond[:3], 0x2B7FC]
    text = "".join(chr(c) for c in wanted if c in fonts.drawable_anywhere())
    assert text, "no embedded face draws a character beyond U+FFFF"
    pdf = render_pdf(replace(sample_report(), case_title=f"Title {text}"))
    with caplog.at_level("WARNING", logger="pypdf"):
        page_texts(pdf)
    assert not [r for r in caplog.records if "hex string" in r.getMessage()]
    for stream in re.findall(rb"beginbfchar\n(.*?)\nendbfchar", pdf, re.S):
        for line in stream.split(b"\n"):
            target = line.split(b" ")[1].strip(b"<>")
            assert len(target) % 4 == 0, line
