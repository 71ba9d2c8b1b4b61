"""Captures and imports through the service: provenance, WARC, dedup, exposure, integrity.

A capture is evidence: the stored hashes must be those of the bytes the server sent,
the times UTC and true, the authority (justification and its hash) and the people and
tools named, the WARC records valid, and nothing in the case file changeable without
``verify`` noticing.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from capture_support import (
    ALLOW,
    LOOPBACK,
    PAGE,
    PAGE_GZ,
    HostileServer,
    Reply,
    approve_for,
    approved,
    counts,
    grew,
    no_real_names,
    server,
)
from gate_support import emergency_changes, make_request, submitted
from PIL import ExifTags, Image

import collectors
from caseview import audit, captures, cases, justifications, observations, viewings
from caseview.captures import SourceRecord
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import CaptureError, GateRefused, PermissionDenied, UsageError
from caseview.justifications import JustificationRecord
from caseview.session import Session

__all__ = ["approved", "no_real_names", "server"]  # fixtures, used by name

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML_FILE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Saved post</title></head>"
    b"<body><p>A saved public post about the weekend.</p></body></html>"
)
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56)
SHOWN = "http://127.0.0.1/kerry/post/1"  # the address an imported file shows (in scope)


def _png(*, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Acme"
    if gps:
        ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        ifd[ExifTags.GPS.GPSLatitude] = (53.0, 48.0, 0.0)
        ifd[ExifTags.GPS.GPSLongitudeRef] = "W"
        ifd[ExifTags.GPS.GPSLongitude] = (1.0, 33.0, 0.0)
    out = io.BytesIO()
    Image.new("RGB", (8, 6), "blue").save(out, "PNG", exif=exif)
    return out.getvalue()


def _capture(
    session: Session, case: Case, subject: Subject, record: JustificationRecord, url: str
) -> SourceRecord:
    return captures.capture_url(
        session,
        case.id,
        url,
        justification_id=record.id,
        subject_id=subject.id,
        attested=True,
        allow_hosts=ALLOW,
        deadline_s=10.0,
    )


def _import(
    session: Session,
    case: Case,
    subject: Subject,
    record: JustificationRecord,
    content: bytes,
    filename: str,
    **options: object,
) -> SourceRecord:
    """Import ``content``, an hour after the look it records (made after approval)."""
    assert isinstance(session.clock, FixedClock)
    looked_at = session.now()
    session.clock.advance(hours=1)
    return captures.import_file(
        session,
        case.id,
        content,
        url=SHOWN,
        viewed_at=looked_at,
        justification_id=record.id,
        subject_id=subject.id,
        filename=filename,
        **{"attested": True, **options},  # type: ignore[arg-type]
    )


def _warcio(*args: str) -> subprocess.CompletedProcess[str]:
    """The ``warcio`` command line, from this interpreter's environment."""
    script = Path(sys.executable).parent / "warcio"
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "import sys; from warcio.cli import main; sys.exit(main())"]
    )
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def gz_source(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> SourceRecord:
    return _capture(worker, case, subject, approved, server.url("/gz-page"))


# --- hashes of what the server sent --------------------------------------------------


def test_body_sha256_is_of_the_bytes_after_content_encoding_is_undone(
    gz_source: SourceRecord,
) -> None:
    assert gzip.decompress(PAGE_GZ) == PAGE
    assert (gz_source.body_sha256, gz_source.body_size) == (
        hashlib.sha256(PAGE).hexdigest(),
        len(PAGE),
    )


def test_raw_sha256_is_of_the_bytes_as_sent(gz_source: SourceRecord) -> None:
    assert gz_source.raw_sha256 == hashlib.sha256(PAGE_GZ).hexdigest()


def test_stored_evidence_is_the_decoded_page(worker: Session, gz_source: SourceRecord) -> None:
    assert captures.evidence_bytes(worker, gz_source.id) == PAGE


def test_encoding_choice_is_recorded_with_the_source(
    worker: Session, gz_source: SourceRecord
) -> None:
    row = worker.casefile.conn.execute(
        "SELECT body_encoding_note FROM sources WHERE id = ?", (gz_source.id,)
    ).fetchone()
    assert "gzip" in row[0] and "raw_sha256" in row[0]


def test_page_fields_are_extracted(gz_source: SourceRecord, server: HostileServer) -> None:
    assert gz_source.title == "Kerry's page"
    assert "Out with friends on Saturday" in gz_source.text
    assert gz_source.page_meta["canonical_url"] == server.url("/page")
    assert gz_source.page_meta["author"] == "Kerry Smith"


# --- who, when, where, with what, under which authority ------------------------------


def test_capture_times_are_aware_utc_within_the_wall_window(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    before = datetime.now(UTC)
    source = _capture(worker, case, subject, approved, server.url("/page"))
    after = datetime.now(UTC)
    for moment in (source.captured_started_at, source.captured_ended_at):
        assert moment.utcoffset() == timedelta(0)
    assert before <= source.captured_started_at <= source.captured_ended_at <= after


def test_capture_times_are_stored_as_iso_with_z(worker: Session, gz_source: SourceRecord) -> None:
    row = worker.casefile.conn.execute(
        "SELECT captured_started_at, captured_ended_at FROM sources WHERE id = ?",
        (gz_source.id,),
    ).fetchone()
    assert all(value.endswith("Z") and "T" in value for value in row)


def test_capture_names_who_where_and_with_what(gz_source: SourceRecord) -> None:
    assert gz_source.captured_by == "wren"
    assert gz_source.machine == socket.gethostname()
    assert gz_source.tool.startswith("caseview/")
    assert f"{collectors.TOOL_NAME}/{collectors.TOOL_VERSION}" in gz_source.tool


def test_capture_records_the_server_and_the_address(
    gz_source: SourceRecord, server: HostileServer
) -> None:
    assert gz_source.server_ip == "127.0.0.1"
    assert gz_source.requested_url == gz_source.final_url == server.url("/gz-page")
    assert (gz_source.http_status, gz_source.media_type) == (200, "text/html")


def test_capture_cites_the_justification_and_its_hash(
    gz_source: SourceRecord, approved: JustificationRecord
) -> None:
    assert approved.content_hash is not None
    assert (gz_source.justification_id, gz_source.justification_hash) == (
        approved.id,
        approved.content_hash,
    )


def test_capture_records_the_attestation(worker: Session, gz_source: SourceRecord) -> None:
    row = worker.casefile.conn.execute(
        "SELECT attestations, origin FROM sources WHERE id = ?", (gz_source.id,)
    ).fetchone()
    assert json.loads(row["attestations"]) == captures.ATTESTATIONS
    assert row["origin"] == "self_collected"


def test_capture_is_one_completed_viewing_and_one_source_event(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    before = counts(worker.casefile)
    source = _capture(worker, case, subject, approved, server.url("/page"))
    after = counts(worker.casefile)
    assert after.viewings.get("completed", 0) - before.viewings.get("completed", 0) == 1
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "source.recorded"]
    assert (event.entity_id, event.data["body_sha256"]) == (source.id, source.body_sha256)


def test_a_captures_events_share_one_time_so_the_log_never_runs_backwards(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    ticks = iter(range(1, 10_000))
    start = worker.now()
    ticking = dataclasses.replace(worker, clock=lambda: start + timedelta(milliseconds=next(ticks)))
    _capture(ticking, case, subject, approved, server.url("/page"))
    events = audit.list_events(worker, case.id)
    times = [e.at for e in events]
    assert times == sorted(times)
    viewing, recorded = events[-2:]
    assert (viewing.action, recorded.action) == ("viewing.capture", "source.recorded")
    assert viewing.at == recorded.at


# --- WARC ----------------------------------------------------------------------------


def test_capture_warc_blob_passes_the_warc_check(worker: Session, gz_source: SourceRecord) -> None:
    assert gz_source.warc_sha256 is not None
    row = worker.casefile.conn.execute(
        "SELECT content, media_type FROM blobs WHERE sha256 = ?", (gz_source.warc_sha256,)
    ).fetchone()
    assert row["media_type"] == "application/warc"
    assert collectors.check_warc(io.BytesIO(row["content"])) == ()


def test_capture_warc_keeps_the_bytes_as_sent(worker: Session, gz_source: SourceRecord) -> None:
    assert gz_source.warc_sha256 is not None
    row = worker.casefile.conn.execute(
        "SELECT content FROM blobs WHERE sha256 = ?", (gz_source.warc_sha256,)
    ).fetchone()
    assert PAGE_GZ in gzip.decompress(row["content"])


@pytest.fixture
def three_captures(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> list[SourceRecord]:
    return [
        _capture(worker, case, subject, approved, server.url(path))
        for path in ("/page", "/gz-page", "/child")
    ]


@pytest.fixture
def exported(
    worker: Session, case: Case, three_captures: list[SourceRecord], tmp_path: Path
) -> Path:
    path = tmp_path / "case.warc.gz"
    with path.open("wb") as out:
        assert captures.export_warc(worker, case.id, out) == 3
    return path


def test_exported_warc_passes_warcio_check(exported: Path) -> None:
    result = _warcio("check", "-v", str(exported))
    assert result.returncode == 0, result.stdout + result.stderr


def test_exported_warc_index_lists_three_responses(exported: Path, server: HostileServer) -> None:
    result = _warcio("index", "-f", "warc-type,warc-target-uri", str(exported))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    responses = [line["warc-target-uri"] for line in lines if line["warc-type"] == "response"]
    assert sorted(responses) == sorted(server.url(p) for p in ("/page", "/gz-page", "/child"))
    assert sum(1 for line in lines if line["warc-type"] == "warcinfo") == 1


def test_export_is_an_audit_event(worker: Session, case: Case, exported: Path) -> None:
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "export.warc"]
    assert event.data == {
        "captures": 3,
        "file_name": exported.name,
        "file_sha256": hashlib.sha256(exported.read_bytes()).hexdigest(),
        "file_size": exported.stat().st_size,
    }


# --- content-addressed blobs ---------------------------------------------------------


def test_second_capture_of_identical_bytes_reuses_the_body_blob(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    first = _capture(worker, case, subject, approved, server.url("/page"))
    before = counts(worker.casefile)
    second = _capture(worker, case, subject, approved, server.url("/page"))
    after = counts(worker.casefile)
    assert second.id != first.id and second.body_sha256 == first.body_sha256
    assert after.sources == before.sources + 1
    # Only the new capture's own WARC records (its times differ) are a new blob.
    assert after.blobs == before.blobs + 1
    assert second.warc_sha256 != first.warc_sha256


def test_second_import_of_identical_bytes_adds_no_blob(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    first = _import(worker, case, subject, approved, PDF, "post.pdf")
    before = counts(worker.casefile)
    second = _import(worker, case, subject, approved, PDF, "copy.pdf")
    after = counts(worker.casefile)
    assert (after.sources, after.blobs) == (before.sources + 1, before.blobs)
    assert second.body_sha256 == first.body_sha256


# --- exposure indicators ----------------------------------------------------------------


@pytest.fixture
def about_child(
    worker: Session, manager: Session, case: Case, child: Subject
) -> JustificationRecord:
    return approve_for(worker, manager, case.id, [child.id])


def test_child_page_yields_exposure_findings(
    worker: Session,
    case: Case,
    child: Subject,
    about_child: JustificationRecord,
    server: HostileServer,
) -> None:
    source = _capture(worker, case, child, about_child, server.url("/child"))
    found = {(e.kind, e.value) for e in source.exposure}
    assert {("school", "Oakfield Primary School"), ("phone", "07700 900123")} <= found
    assert ("full_name", "Jay Smith") in found
    assert all(e.confirmed is None for e in source.exposure)


def test_non_child_subject_yields_no_exposure_findings(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    source = _capture(worker, case, subject, approved, server.url("/child"))
    # Jay is not a subject of this case: he is another child on the parent's page, a
    # collateral-intrusion finding, never a child-exposure one.
    assert [e.kind for e in source.exposure] == ["collateral_child"]


def test_reviewing_an_exposure_finding_records_it_with_an_audit_event(
    worker: Session,
    case: Case,
    child: Subject,
    about_child: JustificationRecord,
    server: HostileServer,
) -> None:
    source = _capture(worker, case, child, about_child, server.url("/child"))
    school = next(e for e in source.exposure if e.kind == "school")
    captures.review_exposure(worker, school.id, True)
    reviewed = next(e for e in captures.get(worker, source.id).exposure if e.id == school.id)
    assert (reviewed.confirmed, reviewed.reviewed_by) == (True, "wren")
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "exposure.reviewed"]
    assert (event.entity_id, event.data["confirmed"], event.data["kind"]) == (
        school.id,
        True,
        "school",
    )


def test_geotagged_screenshot_of_a_child_is_an_exposure_finding(
    worker: Session, case: Case, child: Subject, about_child: JustificationRecord
) -> None:
    source = _import(worker, case, child, about_child, _png(gps=True), "shot.png")
    assert [e.kind for e in source.exposure] == ["geotag"]
    image = source.page_meta["image"]
    assert isinstance(image, dict)
    assert image["gps"]["latitude"] == pytest.approx(53.8)


# --- importing saved files --------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "filename", "media_type"),
    [
        (_png(), "shot.png", "image/png"),
        (PDF, "post.pdf", "application/pdf"),
        (HTML_FILE, "post.html", "text/html"),
    ],
    ids=["png", "pdf", "html"],
)
def test_self_import_stores_the_exact_bytes(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    content: bytes,
    filename: str,
    media_type: str,
) -> None:
    source = _import(worker, case, subject, approved, content, filename)
    assert (source.method, source.origin, source.media_type) == (
        "file_import",
        "self_collected",
        media_type,
    )
    assert source.body_sha256 == hashlib.sha256(content).hexdigest()
    assert captures.evidence_bytes(worker, source.id) == content
    assert source.viewed_at == worker.now() - timedelta(hours=1)


def test_html_import_is_parsed(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    source = _import(worker, case, subject, approved, HTML_FILE, "post.html")
    assert source.title == "Saved post"
    assert "saved public post" in source.text


def test_family_import_records_who_supplied_it(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    source = _import(
        worker,
        case,
        subject,
        approved,
        _png(),
        "from-nan.png",
        origin="family",
        supplied_by="maternal grandmother",
    )
    assert (source.origin, source.supplied_by) == ("supplied_by_family", "maternal grandmother")


@pytest.mark.parametrize("supplied_by", [None, "", "   "])
def test_family_import_without_a_supplier_is_a_usage_error(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    supplied_by: str | None,
) -> None:
    before = counts(worker.casefile)
    with pytest.raises(UsageError, match="supplied"):
        _import(
            worker, case, subject, approved, PDF, "p.pdf", origin="family", supplied_by=supplied_by
        )
    assert counts(worker.casefile) == before


@pytest.fixture
def one_look(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> JustificationRecord:
    return approve_for(worker, manager, case.id, [subject.id], viewings=1)


def test_supplied_import_does_not_use_a_planned_viewing(
    worker: Session,
    case: Case,
    subject: Subject,
    one_look: JustificationRecord,
    server: HostileServer,
) -> None:
    for n in range(3):
        _import(
            worker, case, subject, one_look, PDF, f"{n}.pdf", origin="agency", supplied_by="school"
        )
    source = _capture(worker, case, subject, one_look, server.url("/page"))
    assert source.justification_id == one_look.id


def test_supplied_import_does_not_move_the_meter(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    before = viewings.meter_for(worker, subject.id).count_in_window
    _import(worker, case, subject, approved, PDF, "p.pdf", origin="public", supplied_by="a tip")
    assert viewings.meter_for(worker, subject.id).count_in_window == before


def test_self_import_uses_a_planned_viewing(
    worker: Session,
    case: Case,
    subject: Subject,
    one_look: JustificationRecord,
    server: HostileServer,
) -> None:
    _import(worker, case, subject, one_look, PDF, "p.pdf")
    with pytest.raises(GateRefused) as refused:
        _capture(worker, case, subject, one_look, server.url("/page"))
    assert refused.value.rule == "planned_viewings_used"


def test_self_import_moves_the_meter(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    before = viewings.meter_for(worker, subject.id).count_in_window
    _import(worker, case, subject, approved, PDF, "p.pdf")
    assert viewings.meter_for(worker, subject.id).count_in_window == before + 1


def test_self_import_records_the_attestation_given_for_the_look(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    source = _import(worker, case, subject, approved, PDF, "p.pdf")
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "source.recorded"]
    assert event.data["attested"] is True
    row = worker.casefile.conn.execute(
        "SELECT attestations FROM sources WHERE id = ?", (source.id,)
    ).fetchone()
    assert json.loads(row[0]) == captures.ATTESTATIONS


def test_self_import_without_the_promises_is_refused_and_stores_nothing(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    # The note says what was viewed logged out: an import with no promise for its look
    # would make it vouch for what was not attested.
    with pytest.raises(GateRefused) as refused:
        _import(worker, case, subject, approved, PDF, "p.pdf", attested=False)
    assert refused.value.rule == "attestation_missing"
    assert captures.list_for_case(worker, case.id) == []
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "viewing.refused"]
    assert event.data["rule"] == "attestation_missing"


def test_program_named_like_a_png_is_refused_with_nothing_stored(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    before = counts(worker.casefile)
    with pytest.raises(CaptureError, match="program") as refused:
        _import(worker, case, subject, approved, ELF, "holiday.png")
    assert "holiday.png" in str(refused.value)
    after = counts(worker.casefile)
    assert (after.sources, after.blobs) == (before.sources, before.blobs)


def test_import_with_a_future_viewing_time_is_refused(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    with pytest.raises(UsageError, match="future"):
        captures.import_file(
            worker,
            case.id,
            PDF,
            url=SHOWN,
            viewed_at=worker.now() + timedelta(hours=1),
            justification_id=approved.id,
            subject_id=subject.id,
            filename="p.pdf",
            attested=True,
        )


def test_import_from_a_path_keeps_the_file_name(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord, tmp_path: Path
) -> None:
    path = tmp_path / "post.pdf"
    path.write_bytes(PDF)
    source = captures.import_file(
        worker,
        case.id,
        path,
        url=SHOWN,
        viewed_at=worker.now(),
        justification_id=approved.id,
        subject_id=subject.id,
        attested=True,
    )
    assert source.file_name == "post.pdf"


# --- the gate around the fetch -------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "rule"),
    [("other_worker", "allocation"), ("auditor", "role")],
)
def test_capture_by_someone_not_allowed_is_refused_before_any_fetch(
    request: pytest.FixtureRequest,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
    who: str,
    rule: str,
) -> None:
    session: Session = request.getfixturevalue(who)
    hits = len(server.hits)
    with pytest.raises(GateRefused) as refused:
        _capture(session, case, subject, approved, server.url("/page"))
    assert refused.value.rule == rule
    assert len(server.hits) == hits
    assert counts(session.casefile).sources == 0


def test_capture_in_a_closed_case_is_refused_before_any_fetch(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    cases.set_status(manager, case.id, "closed")
    hits = len(server.hits)
    with pytest.raises(GateRefused) as refused:
        _capture(worker, case, subject, approved, server.url("/page"))
    assert refused.value.rule == "case_closed"
    assert len(server.hits) == hits


def test_request_cancelled_during_the_fetch_stores_nothing(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    def fetch_while_cancelled(url: str, **options: Any) -> collectors.HttpCapture:
        justifications.cancel(manager, approved.id, "The family has moved out of the area.")
        return collectors.fetch(url, **options)

    before = counts(worker.casefile)
    with pytest.raises(GateRefused) as refused:
        captures.capture_url(
            worker,
            case.id,
            server.url("/page"),
            justification_id=approved.id,
            subject_id=subject.id,
            attested=True,
            fetcher=fetch_while_cancelled,
            allow_hosts=ALLOW,
        )
    assert refused.value.rule == "status"
    after = counts(worker.casefile)
    assert (after.sources, after.blobs) == (before.sources, before.blobs)
    assert after.viewings.get("completed", 0) == before.viewings.get("completed", 0)


def test_last_planned_viewing_taken_during_the_fetch_stores_nothing(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    one_look: JustificationRecord,
    server: HostileServer,
) -> None:
    def fetch_while_another_looks(url: str, **options: Any) -> collectors.HttpCapture:
        viewings.record_view(manager, case.id, one_look.id, subject.id, url, attested=True)
        return collectors.fetch(url, **options)

    with pytest.raises(GateRefused) as refused:
        captures.capture_url(
            worker,
            case.id,
            server.url("/page"),
            justification_id=one_look.id,
            subject_id=subject.id,
            attested=True,
            fetcher=fetch_while_another_looks,
            allow_hosts=ALLOW,
        )
    assert refused.value.rule == "planned_viewings_used"
    assert counts(worker.casefile).sources == 0


def test_cancel_during_the_fetch_is_recorded_as_a_failed_viewing(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    before = counts(worker.casefile)
    with pytest.raises(CaptureError, match="stopped by the worker"):
        captures.capture_url(
            worker,
            case.id,
            server.url("/page"),
            justification_id=approved.id,
            subject_id=subject.id,
            attested=True,
            cancel=lambda: True,
            allow_hosts=ALLOW,
        )
    after = counts(worker.casefile)
    assert (after.sources, after.blobs) == (before.sources, before.blobs)
    assert grew(before, after) == ({"failed": 1}, {"capture.failed": 1})


def test_reading_sources_needs_the_case(other_worker: Session, gz_source: SourceRecord) -> None:
    with pytest.raises(PermissionDenied):
        captures.get(other_worker, gz_source.id)
    with pytest.raises(PermissionDenied):
        captures.evidence_bytes(other_worker, gz_source.id)


def test_auditor_reads_sources_but_cannot_review_exposure(
    auditor: Session,
    worker: Session,
    case: Case,
    child: Subject,
    about_child: JustificationRecord,
    server: HostileServer,
) -> None:
    source = _capture(worker, case, child, about_child, server.url("/child"))
    assert [s.id for s in captures.list_for_case(auditor, case.id)] == [source.id]
    with pytest.raises(PermissionDenied):
        captures.review_exposure(auditor, source.exposure[0].id, True)


@pytest.mark.parametrize("earlier", [timedelta(days=30), timedelta(seconds=1)], ids=str)
def test_self_import_of_a_look_made_before_approval_is_refused(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    clock: FixedClock,
    earlier: timedelta,
) -> None:
    assert approved.decided_at is not None
    clock.advance(days=1)  # imported a day after approval
    before = counts(worker.casefile)
    with pytest.raises(GateRefused) as refused:
        _import_seen_at(worker, case, subject, approved, approved.decided_at - earlier)
    assert refused.value.rule == "viewed_before_approval"
    after = counts(worker.casefile)
    assert (after.sources, after.blobs) == (before.sources, before.blobs)
    assert grew(before, after) == ({"refused": 1}, {"viewing.refused": 1})


def test_self_import_of_a_look_made_at_approval_or_after_is_accepted(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    clock: FixedClock,
) -> None:
    assert approved.decided_at is not None
    clock.advance(days=2)
    _import_seen_at(worker, case, subject, approved, approved.decided_at)
    _import_seen_at(worker, case, subject, approved, approved.decided_at + timedelta(days=1))


def test_self_import_is_a_viewing_at_the_time_of_the_look(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    clock: FixedClock,
) -> None:
    looked_at = clock() + timedelta(hours=3)
    clock.advance(days=2)
    source = _import_seen_at(worker, case, subject, approved, looked_at)
    [viewing] = [v for v in viewings.list_for_subject(worker, subject.id) if v.kind == "import"]
    assert (viewing.at, viewing.outcome, source.viewed_at) == (looked_at, "completed", looked_at)
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "viewing.import"]
    assert event.at == clock()  # the audit trail records when it was imported
    assert event.data["viewed_at"] == looked_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_look_counts_on_the_meter_from_when_it_was_made(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
) -> None:
    window = timedelta(days=90)  # the default policy's meter window
    record = approve_for(worker, manager, case.id, [subject.id], viewings=3)
    looked_at = clock()
    clock.advance(days=5)
    count = viewings.meter_for(worker, subject.id).count_in_window
    _import_seen_at(worker, case, subject, record, looked_at)
    assert viewings.meter_for(worker, subject.id).count_in_window == count + 1
    # The window moves on from the look itself, not from the import five days later.
    clock.now = looked_at + window + timedelta(days=1)
    assert viewings.meter_for(worker, subject.id).count_in_window == count


def test_a_look_after_the_request_ran_out_is_refused_as_expired(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    ran_out = datetime.combine(approved.request.valid_until, datetime.min.time(), UTC)
    permission = viewings.check(
        worker,
        case.id,
        approved.id,
        subject.id,
        SHOWN,
        attested=True,
        viewed_at=ran_out + timedelta(days=1),
    )
    assert (permission.allowed, permission.rule) == (False, "expired")
    last_day = ran_out + timedelta(hours=23, minutes=59)
    assert viewings.check(
        worker, case.id, approved.id, subject.id, SHOWN, attested=True, viewed_at=last_day
    ).allowed


def test_live_emergency_import_of_a_look_made_after_submission_is_accepted(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    request = make_request(
        [subject.id], clock(), scope_hosts=(LOOPBACK,), planned_viewings=3, **emergency_changes()
    )
    record = submitted(worker, case.id, request)
    assert record.emergency_state == "live" and record.submitted_at is not None
    clock.advance(hours=2)
    _import_seen_at(worker, case, subject, record, record.submitted_at + timedelta(hours=1))
    with pytest.raises(GateRefused) as refused:
        _import_seen_at(worker, case, subject, record, record.submitted_at - timedelta(hours=1))
    assert refused.value.rule == "viewed_before_approval"


def test_look_made_while_an_emergency_was_live_may_be_imported_after_approval(
    worker: Session, manager: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    request = make_request(
        [subject.id], clock(), scope_hosts=(LOOPBACK,), planned_viewings=3, **emergency_changes()
    )
    record = submitted(worker, case.id, request)
    assert record.submitted_at is not None
    started = record.submitted_at
    clock.advance(hours=30)  # reviewed late: the 24-hour window ended at started + 24 h
    justifications.review(manager, record.id, "approve", "Proportionate; reviewed late.")
    clock.advance(hours=1)
    _import_seen_at(worker, case, subject, record, started + timedelta(hours=23))
    with pytest.raises(GateRefused) as refused:  # overdue and not yet reviewed: not usable
        _import_seen_at(worker, case, subject, record, started + timedelta(hours=25))
    assert refused.value.rule == "viewed_before_approval"
    _import_seen_at(worker, case, subject, record, started + timedelta(hours=30))


def _import_seen_at(
    session: Session,
    case: Case,
    subject: Subject,
    record: JustificationRecord,
    viewed_at: datetime,
) -> SourceRecord:
    return captures.import_file(
        session,
        case.id,
        PDF,
        url=SHOWN,
        viewed_at=viewed_at,
        justification_id=record.id,
        subject_id=subject.id,
        filename="look.pdf",
        attested=True,
    )


def test_viewing_recorded_without_capture_is_audited_as_attested(
    worker: Session, case: Case, subject: Subject, approved: JustificationRecord
) -> None:
    viewings.record_view(worker, case.id, approved.id, subject.id, SHOWN, attested=True)
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "viewing.view"]
    assert event.data["attested"] is True


def test_capture_is_audited_with_its_attestation(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    _capture(worker, case, subject, approved, server.url("/page"))
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "viewing.capture"]
    assert event.data["attested"] is True


# --- integrity ------------------------------------------------------------------------


def test_verify_is_intact_after_captures_imports_reviews_and_export(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    child: Subject,
    approved: JustificationRecord,
    about_child: JustificationRecord,
    server: HostileServer,
    clock: FixedClock,
) -> None:
    _capture(worker, case, subject, approved, server.url("/gz-page"))
    _capture(worker, case, subject, approved, server.url("/gz-page"))
    _import(worker, case, subject, approved, PDF, "p.pdf")
    _import(worker, case, subject, approved, _png(), "s.png", origin="family", supplied_by="mum")
    on_child = _capture(worker, case, child, about_child, server.url("/child"))
    for finding in on_child.exposure:
        captures.review_exposure(worker, finding.id, finding.kind != "full_name")
    with pytest.raises(CaptureError):
        _import(worker, case, child, about_child, ELF, "x.png")
    captures.export_warc(worker, case.id, io.BytesIO())
    result = audit.verify(None, worker.casefile.path)
    assert result.intact, (result.problem, result.evidence_problems)
    assert result.events == audit.head(worker.casefile.conn).seq


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE sources SET title = 'changed'",
        "UPDATE sources SET body_sha256 = body_sha256",
        "DELETE FROM sources",
        "UPDATE blobs SET media_type = 'text/plain'",
        "UPDATE blobs SET content = content",
        "DELETE FROM blobs",
    ],
)
def test_evidence_tables_refuse_update_and_delete(
    worker: Session, gz_source: SourceRecord, statement: str
) -> None:
    conn = sqlite3.connect(worker.casefile.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="evidence"):
            conn.execute(statement)
    finally:
        conn.close()
    assert captures.evidence_bytes(worker, gz_source.id) == PAGE


def test_tampered_blob_bytes_are_reported_by_verify(
    worker: Session, gz_source: SourceRecord
) -> None:
    path = worker.casefile.path
    conn = sqlite3.connect(path)
    try:
        conn.execute("DROP TRIGGER blobs_never_updated")
        forged = PAGE.replace(b"Saturday", b"Thursday")
        assert len(forged) == len(PAGE)
        conn.execute(
            "UPDATE blobs SET content = ? WHERE sha256 = ?", (forged, gz_source.body_sha256)
        )
        conn.commit()
    finally:
        conn.close()
    result = audit.verify(None, path)
    assert not result.intact
    assert result.first_break is None  # the chain itself is untouched
    assert any(p.startswith("blobs row ") for p in result.evidence_problems), result


def test_a_geotagged_photo_captured_by_its_address_is_an_exposure_finding(
    worker: Session,
    case: Case,
    child: Subject,
    about_child: JustificationRecord,
    server: HostileServer,
) -> None:
    """A photo fetched by its address says where it was taken as an imported one does."""
    server.routes["/photo.png"] = Reply(
        headers=[("Content-Type", "image/png")], body=_png(gps=True)
    )
    source = _capture(worker, case, child, about_child, server.url("/photo.png"))
    assert [e.kind for e in source.exposure] == ["geotag"]
    plain = _capture(worker, case, child, about_child, server.url("/child"))
    assert "geotag" not in [e.kind for e in plain.exposure]


@pytest.mark.both_engines
def test_sources_listed_without_their_text_differ_only_in_the_text(
    worker: Session, case: Case, child: Subject, about_child: JustificationRecord
) -> None:
    """The note lists a case's sources without each page's text (it shows none), so a
    case of many long pages is exported in little memory; everything else is as stored."""
    _import(worker, case, child, about_child, HTML_FILE, "post.html")
    [whole] = captures.list_for_case(worker, case.id)
    [light] = captures.list_for_case(worker, case.id, with_text=False)
    assert whole.text and light.text == ""
    assert dataclasses.replace(light, text=whole.text) == whole


@pytest.mark.both_engines
def test_text_with_nul_characters_is_kept_with_them_shown_and_its_bytes_whole(
    manager: Session,
    worker: Session,
    case: Case,
    child: Subject,
    about_child: JustificationRecord,
    server: HostileServer,
) -> None:
    """A team server cannot hold text with NUL in it (and a case file holding some could
    never move there): the text shows each as U+FFFD, the body keeps the bytes as sent."""
    body = b"Jordan plays at the park\x00 on Saturdays\x00\n" + b"More news.\n" * 500
    server.routes["/notes.txt"] = Reply(
        headers=[("Content-Type", "text/plain; charset=utf-8")], body=body
    )
    source = _capture(worker, case, child, about_child, server.url("/notes.txt"))
    assert "\x00" not in source.text and "park\ufffd on Saturdays\ufffd" in source.text
    assert source.body_sha256 == hashlib.sha256(body).hexdigest()
    hits = observations.find(worker, "Saturdays", case_id=case.id).hits
    assert [(h.kind, h.ref_id) for h in hits] == [("source", source.id)]
    assert audit.verify(manager, None).intact
