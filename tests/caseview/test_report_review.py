"""The note read as a reader sees it: right-to-left paragraphs, extracted text, odd fields.

Text comes back through poppler's ``pdftotext``, as an outside reader would take it.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from analysis_support import approved_request
from capture_support import ALLOW, HTML, HostileServer, Reply, approved, no_real_names, server
from gate_support import emergency_changes, make_request, submitted
from pypdf import PdfReader
from report_samples import justification, observation, sample_report, source
from reportlab.platypus.paragraph import Paragraph

from caseview import captures, justifications
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.justifications import JustificationRecord
from caseview.report import fonts
from caseview.report.build import build
from caseview.report.pdf import render_pdf
from caseview.report.text import direction, layout, width, wrap
from caseview.session import Session

__all__ = ["approved", "no_real_names", "server"]  # fixtures, used by name

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no pdftotext")

ARABIC_NAME = "محمد علي"
HEBREW_NAME = "דוד כהן"
# An Arabic paragraph whose wrapped second line starts with an English address.
ARABIC_PARAGRAPH = "قال محمد علي إن الطفل يعيش منذ سنة في 221B Baker Street مع أمه."


def _text(pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "note.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", *args, "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return unicodedata.normalize("NFC", out)


def _visual(line: str, rtl: bool | None = None) -> str:
    """A laid-out line's characters from left to right, as drawn."""
    runs = layout(line, fonts.REGULAR, rtl)
    return "".join(
        run.shown if not run.glyphs else run.text[:: -1 if run.rtl else 1] for run in runs
    )


# --- a paragraph keeps its direction on every line ---------------------------------------


def test_every_line_of_a_right_to_left_paragraph_is_right_to_left() -> None:
    head = ARABIC_PARAGRAPH[: ARABIC_PARAGRAPH.index(" 221B")]
    lines = wrap(ARABIC_PARAGRAPH, fonts.REGULAR, 9, width(head, fonts.REGULAR, 9) + 1)
    assert lines[0] == head
    later = lines[1]
    assert later.startswith("221B")
    assert all(direction(line) is True for line in lines)
    # Read right to left: the English address is at the right of the Arabic after it.
    shown = _visual(later)
    assert shown.index("Baker") > shown.index("أمه"[::-1])


def test_a_line_alone_takes_its_own_direction() -> None:
    shown = _visual("221B Baker Street مع أمه.")
    assert shown.startswith("221B Baker Street")


def test_a_sentence_of_the_note_with_a_name_first_stays_left_to_right() -> None:
    [line] = wrap(f"{ARABIC_NAME} (mother)", fonts.REGULAR, 9, 400, rtl=False)
    assert direction(line) is False
    assert _visual(line).endswith("(mother)")


@needs_poppler
def test_subject_role_follows_a_right_to_left_name(tmp_path: Path) -> None:
    data = sample_report(subjects=((HEBREW_NAME + " Sarah", "mother"),))
    text = _text(render_pdf(data), tmp_path, "-raw")
    assert "Sarah (mother)" in text


@needs_poppler
def test_a_right_to_left_display_name_keeps_its_username_after_it(tmp_path: Path) -> None:
    data = sample_report(author=f"{ARABIC_NAME} (mali)")
    text = _text(render_pdf(data), tmp_path, "-raw")
    [line] = [line for line in text.splitlines() if line.startswith("Note by")]
    assert line.index("(mali)") > line.index("علي")


# --- the text layer gives right-to-left words back in reading order ---------------------


@needs_poppler
@pytest.mark.parametrize("mode", [(), ("-raw",)])
def test_right_to_left_names_come_back_in_reading_order(
    tmp_path: Path, mode: tuple[str, ...]
) -> None:
    data = sample_report(
        case_title=ARABIC_NAME,
        subjects=((ARABIC_NAME, "subject"), (HEBREW_NAME, "subject")),
    )
    text = _text(render_pdf(data), tmp_path, *mode)
    assert ARABIC_NAME in text
    assert HEBREW_NAME in text


# --- empty and odd fields ---------------------------------------------------------------


@needs_poppler
@pytest.mark.parametrize("title", ["", "   ", " \t\n\u3000 "])
def test_a_blank_title_says_the_case_is_untitled(tmp_path: Path, title: str) -> None:
    text = _text(render_pdf(sample_report(case_title=title)), tmp_path)
    assert "Untitled case" in text


def test_a_blank_title_is_untitled_in_the_document_properties() -> None:
    info = PdfReader(io.BytesIO(render_pdf(sample_report(case_title="  ")))).metadata
    assert info is not None and info.title is not None
    assert info.title.endswith("Untitled case")


def test_right_to_left_notes_give_the_same_bytes_twice() -> None:
    data = sample_report(
        observations=(observation(1, 1, ARABIC_PARAGRAPH * 5, relied_upon=False),),
    )
    assert render_pdf(data) == render_pdf(data)


# --- the note says what the site answered ----------------------------------------------


def _pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_a_source_that_answered_an_error_says_so() -> None:
    data = sample_report()
    odd = dataclasses.replace(source(99, title="Bad request"), http_status=400)
    text = _pdf_text(render_pdf(dataclasses.replace(data, sources=(*data.sources, odd))))
    assert "The site answered HTTP 400, not with the page" in text


def test_a_page_that_answered_ok_claims_nothing_more() -> None:
    data = sample_report()
    ok = dataclasses.replace(source(99), http_status=200)
    text = _pdf_text(render_pdf(dataclasses.replace(data, sources=(*data.sources, ok))))
    assert "The site answered" not in text


def test_a_captured_error_answer_reaches_the_note(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    url = server.add("/teapot", Reply(418, HTML, b"<title>Kerry</title>I'm a teapot"))
    record = captures.capture_url(
        worker,
        case.id,
        url,
        justification_id=approved.id,
        subject_id=subject.id,
        attested=True,
        allow_hosts=ALLOW,
        deadline_s=5.0,
    )
    data = build(worker, case.id)
    [row] = [s for s in data.sources if s.id == record.id]
    assert row.http_status == 418
    assert "The site answered HTTP 418, not with the page" in _pdf_text(render_pdf(data))


# --- nothing runs off the page --------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    [
        "क" + "ा" * 400,  # a letter with 400 vowel signs: nowhere allowed to cut
        "a" + "\u0bcd" * 300,  # Tamil viramas on a Latin letter, each drawn on a circle
        "ب" + "\u064e" * 1000 + "ت" * 200,  # marks upon marks, then letters
    ],
)
def test_marks_upon_marks_are_cut_to_fit_the_line(word: str) -> None:
    lines = wrap(word, fonts.REGULAR, 8, 200)
    assert "".join(lines) == word
    assert all(width(line, fonts.REGULAR, 8) <= 200 for line in lines)


def test_a_word_is_still_never_cut_before_a_mark_where_it_can_be_cut_elsewhere() -> None:
    word = "क्षत्रिय" * 40
    lines = wrap(word, fonts.REGULAR, 8, 120)
    assert len(lines) > 1
    assert all(unicodedata.category(line[0])[0] != "M" for line in lines)


@pytest.mark.parametrize(
    "word", ["محمدعلي" * 120, "ت" * 2000, "https://example.org/قال_محمد_علي" * 20]
)
def test_a_long_joined_word_fills_its_lines(word: str) -> None:
    """Joined Arabic letters are narrower than alone: the lines were left half empty."""
    lines = wrap(word, fonts.REGULAR, 9, 200)
    assert "".join(lines) == word
    assert all(width(line, fonts.REGULAR, 9) <= 200 for line in lines)
    assert all(width(line, fonts.REGULAR, 9) > 180 for line in lines[:-1])


CHINESE = "王小明说，孩子已经三个星期没有上学了。母亲说：「不知道他在哪里。」" * 12
THAI = "สมชายกล่าวว่าเด็กไม่ได้ไปโรงเรียนมาสามสัปดาห์แล้วและแม่ไม่รู้ว่าเขาอยู่ที่ไหน" * 6


@pytest.mark.parametrize("room", [97, 120, 151, 200])
def test_a_line_of_chinese_never_starts_with_closing_punctuation(room: float) -> None:
    lines = wrap(CHINESE, fonts.REGULAR, 9, room)
    assert len(lines) > 3
    assert not any(line[0] in "，。：」" for line in lines)
    assert not any(line[-1] == "「" for line in lines)


@pytest.mark.parametrize("room", [97, 120, 151, 200])
def test_a_line_of_thai_never_splits_a_vowel_from_its_consonant(room: float) -> None:
    lines = wrap(THAI, fonts.REGULAR, 9, room)
    assert len(lines) > 3
    assert not any(line[-1] in "เแโใไ" for line in lines)
    assert not any(line[0] in "ะาำ" for line in lines)


@pytest.mark.parametrize("word", ["。" * 3000, "「" * 3000, "เ" * 3000])
def test_punctuation_alone_is_still_cut_to_fit(word: str) -> None:
    lines = wrap(word, fonts.REGULAR, 9, 150)
    assert "".join(lines) == word
    assert all(width(line, fonts.REGULAR, 9) <= 150 for line in lines)


# --- the command that checks the note runs as printed -----------------------------------


@needs_poppler
@pytest.mark.parametrize("name", ["案件 2026.db", "Łódź case.db", "ملف.db"])
def test_the_verify_command_names_the_case_file_as_it_is(tmp_path: Path, name: str) -> None:
    text = _text(render_pdf(sample_report(case_file_name=name)), tmp_path, "-raw")
    [command] = [line for line in text.splitlines() if line.startswith("caseview --db")]
    assert "[" not in command  # no character named instead of drawn
    assert f"'{name}'" in command or name.removesuffix(".db") in command


# --- a long note costs in proportion to its length --------------------------------------


def test_a_note_written_line_by_line_is_broken_into_lines_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Paragraph of 1,500 lines was broken again, whole, at every page it ran over:
    17 lines broken for each line of the note, and minutes for a long one."""
    broken = [0]
    break_lines = Paragraph.breakLines

    def counting(self: Paragraph, width: float) -> object:
        done = break_lines(self, width)
        broken[0] += len(done.lines)
        return done

    monkeypatch.setattr(Paragraph, "breakLines", counting)
    base = sample_report()
    render_pdf(base)
    without = broken[0]
    n = 1500
    text = "\n".join(f"Line {i}: the child said that the weekend was fine." for i in range(n))
    broken[0] = 0
    render_pdf(dataclasses.replace(base, note=dataclasses.replace(base.note, analysis=text)))
    assert broken[0] - without < 2 * n


# --- an emergency's review ------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ("overdue", "Its review is overdue: no manager reviewed it within the time"),
        ("live", "Waiting for a manager's review, within the time the policy allows."),
    ],
)
def test_the_note_says_where_an_emergency_review_stands(state: str, said: str) -> None:
    urgent = dataclasses.replace(justification(9, emergency=True), emergency_state=state)
    assert said in _pdf_text(render_pdf(sample_report(justifications=(urgent,))))


def test_an_unreviewed_emergency_past_its_window_reaches_the_note_as_overdue(
    manager: Session, worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    approved_request(worker, manager, case.id, [subject.id])
    urgent = submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=25)
    justifications.notice_overdue(worker)  # as an export does first: the note's date moves
    data = build(worker, case.id)
    [row] = [j for j in data.justifications if j.id == urgent.id]
    assert row.emergency_state == "overdue"
