"""Collateral intrusion through the services: other people on every page, reviewed, noted.

A parent's page naming another child with her age and school raises a collateral
finding (not a child-exposure one), whoever the page is about; the case's own subjects
never do; the worker confirms or dismisses it like any finding; the note and ``source
show`` list it with its review.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from analysis_support import approved_request, import_page
from gate_support import PASSWORD
from pypdf import PdfReader

from caseview import audit, captures, cases
from caseview.captures import SourceRecord
from caseview.cli import main
from caseview.domain import Case, Subject
from caseview.justifications import JustificationRecord
from caseview.report import build as report
from caseview.session import Session

POST = (
    "So proud of my boy today! Sports day at Oakfield Primary and he came second to my "
    "friend's daughter Ellie Barnes, 8, who is in Year 3 with him."
)
OWN_CHILD = "My son Jay, 9, goes to Oakfield Primary and loved sports day."


@pytest.fixture
def request_(
    worker: Session, manager: Session, case: Case, subject: Subject, child: Subject
) -> JustificationRecord:
    return approved_request(worker, manager, case.id, [subject.id, child.id])


@pytest.fixture
def post(
    worker: Session, case: Case, subject: Subject, request_: JustificationRecord
) -> SourceRecord:
    """The parent's public post, supplied by a relative, naming another child."""
    return import_page(worker, case.id, request_.id, subject.id, POST)


def pdf_text(session: Session, case_id: int, tmp_path: Path) -> str:
    target = tmp_path / "note.pdf"
    report.export_pdf(session, case_id, target)
    pages = PdfReader(io.BytesIO(target.read_bytes())).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_a_parents_page_naming_another_child_raises_a_collateral_finding(
    post: SourceRecord,
) -> None:
    [finding] = post.exposure
    assert finding.kind == "collateral_child"
    assert finding.value == "Ellie Barnes (age 8; Year 3; Oakfield Primary)"
    assert "daughter Ellie Barnes, 8, who is in Year 3" in finding.context
    assert finding.confirmed is None


def test_the_cases_own_child_is_not_collateral(
    worker: Session, case: Case, subject: Subject, request_: JustificationRecord
) -> None:
    source = import_page(worker, case.id, request_.id, subject.id, OWN_CHILD)
    assert source.exposure == ()


def test_a_childs_page_lists_exposure_and_collateral_apart(
    worker: Session, case: Case, child: Subject, request_: JustificationRecord
) -> None:
    text = "I am Jay Smith and I go to Oakfield Primary School. " + POST
    source = import_page(worker, case.id, request_.id, child.id, text)
    kinds = {e.kind for e in source.exposure}
    assert {"full_name", "school", "collateral_child"} <= kinds


@pytest.mark.parametrize("confirmed", [True, False])
def test_the_worker_confirms_or_dismisses_a_collateral_finding(
    worker: Session, case: Case, post: SourceRecord, confirmed: bool
) -> None:
    [finding] = post.exposure
    captures.review_exposure(worker, finding.id, confirmed)
    [reviewed] = captures.get(worker, post.id).exposure
    assert (reviewed.confirmed, reviewed.reviewed_by) == (confirmed, "wren")
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "exposure.reviewed"]
    assert (event.data["kind"], event.data["confirmed"]) == ("collateral_child", confirmed)


def test_the_note_lists_collateral_findings_with_their_review(
    worker: Session, case: Case, post: SourceRecord, tmp_path: Path
) -> None:
    [finding] = post.exposure
    before = pdf_text(worker, case.id, tmp_path)
    assert "Other people on the sources (collateral intrusion)" in before
    assert "Another child's details" in before
    assert "Ellie Barnes (age 8; Year 3; Oakfield Primary)" in before
    assert "not yet reviewed" in before
    assert "they must not be recorded, relied upon" in before
    captures.review_exposure(worker, finding.id, True)
    assert "confirmed by wren" in pdf_text(worker, case.id, tmp_path)


def test_a_case_without_collateral_says_so(
    worker: Session, case: Case, subject: Subject, request_: JustificationRecord, tmp_path: Path
) -> None:
    import_page(worker, case.id, request_.id, subject.id, "Lovely walk by the canal today.")
    text = pdf_text(worker, case.id, tmp_path)
    assert "No other people's details were found on the sources." in text


def test_re_exporting_an_unchanged_case_with_collateral_is_byte_identical(
    worker: Session, case: Case, post: SourceRecord, tmp_path: Path
) -> None:
    report.export_pdf(worker, case.id, tmp_path / "a.pdf")
    report.export_pdf(worker, case.id, tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_source_show_lists_collateral_findings(
    worker: Session,
    post: SourceRecord,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CASEVIEW_DB", str(db_path))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    assert main(["--user", "wren", "source", "show", str(post.id)]) == 0
    out = capsys.readouterr().out
    assert (
        "Collateral: Another child's details: Ellie Barnes (age 8; Year 3; Oakfield Primary)"
        " (not yet reviewed)"
    ) in out


def test_a_subject_added_later_is_known_on_the_next_capture(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    request_: JustificationRecord,
) -> None:
    cases.add_subject(manager, case.id, "Ellie Barnes", "child")
    source = import_page(worker, case.id, request_.id, subject.id, POST)
    assert source.exposure == ()
