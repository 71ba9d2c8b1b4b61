"""Hardening (issue 11): memory ceilings, error answers, gone pages, plain HTTP on https.

The memory tests run the real command line as a CHILD process (``hostile_support``) and
read its peak resident memory, so the figure is the whole cost of the command. The
ceiling is 400 MB; each test says what it feeds in.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from capture_support import (
    ALLOW,
    HTML,
    HostileServer,
    Reply,
    approve_for,
    approved,
    counts,
    grew,
    no_real_names,
    server,
)
from gate_support import PASSWORD
from hostile_support import (
    MB,
    RawServer,
    caseview_command,
    child_env,
    endless_interim,
    plain_http_answer,
    run_measured,
    tiny_elements_page,
)
from pypdf import PdfReader
from report_samples import sample_report, source

from caseview import accounts, audit, captures, cases
from caseview.cli import main
from caseview.domain import Case, Subject
from caseview.errors import CaptureError
from caseview.justifications import JustificationRecord
from caseview.report.build import build
from caseview.report.pdf import render_pdf
from caseview.session import Session
from caseview.storage import open_case_file

__all__ = ["approved", "no_real_names", "server"]  # fixtures, used by name

CEILING = 400 * MB
CASE = "CP-2026-0099"


def _capture(
    worker: Session, case: Case, subject: Subject, record: JustificationRecord, url: str
) -> captures.SourceRecord:
    return captures.capture_url(
        worker,
        case.id,
        url,
        justification_id=record.id,
        subject_id=subject.id,
        attested=True,
        allow_hosts=ALLOW,
        deadline_s=5.0,
    )


# --- a case file for the command line, run as a child process -------------------------


@pytest.fixture
def case_file(tmp_path: Path) -> tuple[Path, int, int]:
    """A case file on disk: a worker allocated to a case, an approved request (1 viewing)."""
    db = tmp_path / "hostile.db"
    with open_case_file(db, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD)
        manager = accounts.login(casefile, "mona", PASSWORD)
        accounts.add_user(manager, "wren", "worker", PASSWORD)
        worker = accounts.login(casefile, "wren", PASSWORD)
        case = cases.create_case(manager, CASE, "Smith family")
        cases.allocate(manager, case.id, "wren")
        subject = cases.add_subject(manager, case.id, "Kerry Smith", "parent")
        record = approve_for(worker, manager, case.id, [subject.id], now=datetime.now(UTC))
    return db, record.id, subject.id


def _env(db: Path) -> dict[str, str]:
    return child_env(
        CASEVIEW_DB=str(db), CASEVIEW_PASSWORD=PASSWORD, CASEVIEW_ALLOW_HOSTS="127.0.0.1"
    )


@pytest.mark.slow
def test_import_of_24mb_of_tiny_elements_stays_under_the_memory_ceiling(
    case_file: tuple[Path, int, int], tmp_path: Path
) -> None:
    db, justification, subject = case_file
    page = tmp_path / "tiny.html"
    page.write_bytes(tiny_elements_page(24 * MB))  # 3 million elements
    run = run_measured(
        caseview_command(
            "--user",
            "wren",
            "import",
            CASE,
            str(page),
            "--url",
            "http://127.0.0.1/kerry/page",
            "--viewed-at",
            datetime.now(UTC).isoformat(),
            "--justification",
            str(justification),
            "--subject",
            str(subject),
            "--attest",
        ),
        env=_env(db),
        timeout_s=60,
    )
    assert run.returncode == 0, run.describe()
    assert run.peak_rss < CEILING, run.describe()
    assert run.seconds < 30, run.describe()
    with open_case_file(db) as casefile:
        row = casefile.conn.execute(
            "SELECT body_size, notes FROM sources WHERE id = ?", (int(run.stdout),)
        ).fetchone()
    assert row["body_size"] == page.stat().st_size
    assert any("without structure" in note for note in json.loads(row["notes"]))


@pytest.mark.slow
def test_endless_interim_responses_are_refused_under_the_ceiling(
    case_file: tuple[Path, int, int],
) -> None:
    db, justification, subject = case_file
    with RawServer(endless_interim) as raw:
        run = run_measured(
            caseview_command(
                "--user",
                "wren",
                "capture",
                CASE,
                raw.url("/kerry"),
                "--justification",
                str(justification),
                "--subject",
                str(subject),
                "--attest",
            ),
            env=_env(db),
            timeout_s=60,
        )
    assert run.returncode == 1, run.describe()
    assert "kept sending interim answers" in run.stderr, run.describe()
    assert "Traceback" not in run.stderr
    # The command's ceiling. The head stops at 1 MB, so the capture adds little to the
    # command's own start-up (about 170 MB); a flood that grew would pass 400 MB in seconds.
    assert run.peak_rss < CEILING, run.describe()
    with open_case_file(db) as casefile:
        outcomes = [r[0] for r in casefile.conn.execute("SELECT outcome FROM viewings").fetchall()]
        sources = casefile.conn.execute("SELECT count(*) FROM sources").fetchone()[0]
    assert (outcomes, sources) == (["failed"], 0)


# --- error answers are not evidence ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [
        (429, "120", "2 minutes"),
        (503, "Wed, 25 Nov 2026 10:00:00 GMT", "until Wed, 25 Nov 2026 10:00:00 GMT"),
        (500, None, None),
        (502, None, None),
    ],
)
def test_error_answer_is_a_failed_look_that_uses_no_planned_viewing(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    server: HostileServer,
    status: int,
    retry_after: str | None,
    wait: str | None,
) -> None:
    record = approve_for(worker, manager, case.id, [subject.id], viewings=1)
    headers = [*HTML, *([("Retry-After", retry_after)] if retry_after else [])]
    url = server.add(f"/busy-{status}", Reply(status, headers, b"<h1>Busy</h1>"))
    before = counts(worker.casefile)
    with pytest.raises(CaptureError, match="is not answering now") as refused:
        _capture(worker, case, subject, record, url)
    message = str(refused.value)
    assert f"HTTP {status}" in message
    if wait:
        assert f"The site asks to wait {wait}" in message
    else:
        assert "Try again later." in message
    after = counts(worker.casefile)
    assert (after.sources, after.blobs) == (before.sources, before.blobs)
    assert grew(before, after) == ({"failed": 1}, {"capture.failed": 1})
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "capture.failed"]
    assert event.data["kind"] == "unavailable"
    assert event.data["status"] == status
    assert event.data.get("retry_after") == retry_after
    # The one planned viewing is still there: the next look (a page) is allowed.
    stored = _capture(worker, case, subject, record, server.url("/page"))
    assert stored.http_status == 200


# --- a page that is gone is evidence that it was gone -------------------------------------


@pytest.mark.parametrize(("status", "words"), [(404, "404 Not Found"), (410, "410 Gone")])
def test_gone_page_is_kept_and_flagged(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
    status: int,
    words: str,
) -> None:
    url = server.add(f"/gone-{status}", Reply(status, HTML, b"<title>Gone</title>no more"))
    record = _capture(worker, case, subject, approved, url)
    assert record.http_status == status and record.gone_status == status
    assert record.page_meta["gone"] == {"http_status": status}
    assert any(f"The page was gone (HTTP {words})" in note for note in record.notes)
    report = build(worker, case.id)
    [row] = [s for s in report.sources if s.id == record.id]
    assert row.gone_status == status


def test_source_show_says_the_page_was_gone(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
) -> None:
    url = server.add("/gone", Reply(404, HTML, b"<title>Gone</title>no more"))
    record = _capture(worker, case, subject, approved, url)
    monkeypatch.setenv("CASEVIEW_DB", str(db_path))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    capsys.readouterr()
    assert main(["--user", worker.user.username, "source", "show", str(record.id)]) == 0
    out = capsys.readouterr().out
    assert "Gone:       the page was gone (HTTP 404 Not Found)" in out


def test_pdf_provenance_row_says_the_page_was_gone() -> None:
    data = sample_report()
    gone = dataclasses.replace(source(99, title="Deleted post"), gone_status=410)
    data = dataclasses.replace(data, sources=(*data.sources, gone))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(data))).pages)
    assert "The page was gone (HTTP 410)" in " ".join(text.split())


# --- https on a plain-HTTP port ---------------------------------------------------------------


def test_https_to_a_plain_http_port_says_so(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    with RawServer(plain_http_answer) as raw:
        url = raw.url("/kerry", scheme="https")
        with pytest.raises(CaptureError) as failed:
            _capture(worker, case, subject, approved, url)
    message = str(failed.value)
    assert "answered in plain HTTP on an https address" in message
    assert f"Try http://127.0.0.1:{raw.port}/kerry instead" in message
    assert "certificate" not in message
