"""Imported PDF letters, Word documents and e-mails can be found by their words.

The collectors read the text (tests/collectors/test_collectors_more_files.py); these
tests check the service keeps it for search and exposure indicators, and that the
command line imports a PDF and shows its text.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from capture_support import approve_for, approved, no_real_names
from gate_support import PASSWORD
from reportlab.pdfgen import canvas

from caseview import accounts, captures, cases, observations
from caseview.captures import SourceRecord
from caseview.cli import main
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.justifications import JustificationRecord
from caseview.session import Session
from caseview.storage import open_case_file

__all__ = ["approved", "no_real_names"]  # fixtures, used by name

SHOWN = "http://127.0.0.1/kerry/post/1"
LETTER = "Dear social worker, Jody now attends Riverside Primary. Call 07700 900123."


def _pdf(words: str = LETTER) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.setTitle("Letter from the family")
    pdf.drawString(72, 720, words)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _import(
    session: Session, case: Case, subject: Subject, record: JustificationRecord, data: bytes
) -> SourceRecord:
    assert isinstance(session.clock, FixedClock)
    looked_at = session.now()
    session.clock.advance(hours=1)
    return captures.import_file(
        session,
        case.id,
        data,
        url=SHOWN,
        viewed_at=looked_at,
        justification_id=record.id,
        subject_id=subject.id,
        filename="letter.pdf",
        origin="family",
        supplied_by="maternal grandmother",
        attested=True,
    )


def test_a_word_from_an_imported_pdf_letter_is_found(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    source = _import(worker, case, subject, approved, _pdf())
    hits = observations.search(worker, "Riverside")
    assert [(h.kind, h.ref_id) for h in hits] == [("source", source.id)]


def test_an_imported_pdf_letter_about_a_child_has_exposure_indicators(
    worker: Session, manager: Session, case: Case, child: Subject
) -> None:
    record = approve_for(worker, manager, case.id, [child.id])
    source = _import(worker, case, child, record, _pdf())
    assert "phone" in {finding.kind for finding in source.exposure}


# --- command line -------------------------------------------------------------------


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """A case file (CP-7) with wren allocated and an approved request; its ids."""
    db = tmp_path / "team.db"
    with open_case_file(db, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD)
        manager = accounts.login(casefile, "mona", PASSWORD)
        accounts.add_user(manager, "wren", "worker", PASSWORD)
        worker = accounts.login(casefile, "wren", PASSWORD)
        case = cases.create_case(manager, "CP-7", "Smith family")
        cases.allocate(manager, case.id, "wren")
        subject = cases.add_subject(manager, case.id, "Kerry Smith", "parent")
        record = approve_for(worker, manager, case.id, [subject.id], now=datetime.now(UTC))
    monkeypatch.setenv("CASEVIEW_DB", str(db))
    monkeypatch.setenv("CASEVIEW_USER", "wren")
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return record.id, subject.id


def test_cli_imports_a_pdf_letter_and_shows_its_text(
    team: tuple[int, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    justification, subject = team
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(_pdf())
    code = main(
        [
            "import", "CP-7", str(letter), "--url", SHOWN,
            "--viewed-at", datetime.now(UTC).isoformat(),
            "--justification", str(justification), "--subject", str(subject), "--attest",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and out.strip().isdigit()
    assert main(["--json", "source", "show", out.strip()]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert "Riverside Primary" in str(shown["text"])
