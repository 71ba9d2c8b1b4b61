"""Exporting one source: its evidence bytes, its WARC records; each export is logged.

Anyone who may read the case may export (auditors included); a worker the case is not
allocated to may not, and a refusal writes nothing. Exports do not change the case, so
they never move a note's checkpoint.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from capture_support import ALLOW, HostileServer, approve_for, no_real_names, server
from warcio.archiveiterator import ArchiveIterator

import collectors
from caseview import audit, captures, cases
from caseview.captures import SourceRecord
from caseview.domain import Case, Subject
from caseview.errors import PermissionDenied, UsageError
from caseview.report.build import NOT_CHANGES
from caseview.session import Session

__all__ = ["no_real_names", "server"]  # fixtures, used by name

SAVED_PAGE = b"<html><head><title>Saved</title></head><body><p>A saved post.</p></body></html>"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """A folder for exports alone (the case file sits in ``tmp_path``)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


@pytest.fixture
def captured(
    worker: Session, manager: Session, case: Case, child: Subject, server: HostileServer
) -> SourceRecord:
    record = approve_for(worker, manager, case.id, [child.id])
    return captures.capture_url(
        worker,
        case.id,
        server.url("/child"),
        justification_id=record.id,
        subject_id=child.id,
        attested=True,
        allow_hosts=ALLOW,
        deadline_s=10.0,
    )


def _events(session: Session, case: Case, action: str) -> list[audit.AuditEvent]:
    return [e for e in audit.list_events(session, case.id) if e.action == action]


def test_evidence_export_writes_the_stored_bytes(
    worker: Session, case: Case, captured: SourceRecord, out_dir: Path
) -> None:
    target = captures.export_evidence(worker, captured.id, out_dir / "page.html")
    assert target.read_bytes() == captures.evidence_bytes(worker, captured.id)
    assert list(out_dir.iterdir()) == [target]  # no partial file left behind


def test_evidence_export_is_an_audit_event(
    worker: Session, case: Case, captured: SourceRecord, out_dir: Path
) -> None:
    captures.export_evidence(worker, captured.id, out_dir / "page.html")
    [event] = _events(worker, case, "export.evidence")
    assert (event.entity, event.entity_id, event.actor) == ("source", captured.id, "wren")
    assert event.data["body_sha256"] == captured.body_sha256
    assert event.data["file_name"] == "page.html"


def test_source_warc_is_valid_and_holds_only_that_capture(
    worker: Session, case: Case, captured: SourceRecord
) -> None:
    out = io.BytesIO()
    captures.export_source_warc(worker, captured.id, out)
    assert collectors.check_warc(io.BytesIO(out.getvalue())) == ()
    records = [
        (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
        for r in ArchiveIterator(io.BytesIO(out.getvalue()))
    ]
    assert records[0][0] == "warcinfo"
    assert [uri for kind, uri in records if kind == "response"] == [captured.final_url]


def test_source_warc_export_is_an_audit_event(
    worker: Session, case: Case, captured: SourceRecord
) -> None:
    out = io.BytesIO()
    captures.export_source_warc(worker, captured.id, out)
    [event] = _events(worker, case, "export.source_warc")
    assert (event.entity, event.entity_id) == ("source", captured.id)
    assert event.data == {
        "warc_sha256": captured.warc_sha256,
        "file_name": "",  # a stream, not a named file
        "file_sha256": hashlib.sha256(out.getvalue()).hexdigest(),
        "file_size": len(out.getvalue()),
    }


def test_an_imported_file_has_no_warc_to_export(
    worker: Session, manager: Session, case: Case, child: Subject
) -> None:
    record = approve_for(worker, manager, case.id, [child.id])
    imported = captures.import_file(
        worker,
        case.id,
        SAVED_PAGE,
        url="https://social.example/post",
        viewed_at=worker.now(),
        justification_id=record.id,
        subject_id=child.id,
        origin="family",
        supplied_by="maternal grandmother",
        filename="post.html",
        attested=True,
    )
    with pytest.raises(UsageError, match="no WARC records"):
        captures.export_source_warc(worker, imported.id, io.BytesIO())
    assert _events(worker, case, "export.source_warc") == []


@pytest.mark.parametrize("export", ["evidence", "warc"])
def test_an_unallocated_worker_may_not_export(
    other_worker: Session, case: Case, captured: SourceRecord, out_dir: Path, export: str
) -> None:
    head = audit.head(other_worker.casefile.conn).seq
    with pytest.raises(PermissionDenied) as refused:
        if export == "evidence":
            captures.export_evidence(other_worker, captured.id, out_dir / "page.html")
        else:
            captures.export_source_warc(other_worker, captured.id, io.BytesIO())
    assert refused.value.rule == "allocation"
    assert audit.head(other_worker.casefile.conn).seq == head
    assert list(out_dir.iterdir()) == []


def test_an_auditor_may_export_both(
    auditor: Session, case: Case, captured: SourceRecord, out_dir: Path
) -> None:
    captures.export_evidence(auditor, captured.id, out_dir / "page.html")
    captures.export_source_warc(auditor, captured.id, io.BytesIO())
    assert [e.actor for e in audit.list_events(auditor, case.id)][-2:] == ["ada", "ada"]


def test_a_manager_may_export_both(
    manager: Session, case: Case, captured: SourceRecord, out_dir: Path
) -> None:
    captures.export_evidence(manager, captured.id, out_dir / "page.html")
    captures.export_source_warc(manager, captured.id, io.BytesIO())
    assert [e.actor for e in audit.list_events(manager, case.id)][-2:] == ["mona", "mona"]


def test_exports_do_not_change_the_case() -> None:
    assert {"export.evidence", "export.source_warc"} <= set(NOT_CHANGES)


def test_a_closed_case_refuses_exposure_reviews(
    worker: Session, manager: Session, case: Case, captured: SourceRecord
) -> None:
    cases.set_status(manager, case.id, "closed")
    with pytest.raises(PermissionDenied) as refused:
        captures.review_exposure(worker, captured.exposure[0].id, True)
    assert refused.value.rule == "case_closed"
