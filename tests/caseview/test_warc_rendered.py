"""A rendered capture in the case's WARC (issue 12): one ``resource`` record per artefact
(MHTML, DOM, screenshot) for the page's address, dated by the capture, told apart by
``WARC-Caseview-Artefact`` and linked by ``WARC-Concurrent-To``, plus a ``metadata``
record of the capture's log; captures over HTTP keep their records unchanged. Checked by
warcio itself (``warcio check`` and ``warcio index``)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from browse_support import TINY_PNG as SHOT
from browse_support import rendered_page
from capture_support import ALLOW, LOOPBACK, HostileServer, approve_for, server
from gate_support import URL
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

from caseview import audit, browsing, captures
from caseview.captures import RenderedPage, SourceRecord
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import CaptureError
from caseview.session import Session
from collectors.warc import ARTEFACT_HEADER, SHA256_HEADER, warc_date

__all__ = ["server"]  # a fixture, used by name

FINAL = URL + "/posts/7"  # where the page was when it was captured
DOM = b"<html><head><title>Kerry</title></head><body><p>A photo of the party.</p></body></html>"


def _page(worker: Session) -> RenderedPage:
    return rendered_page(
        worker.now(),
        FINAL,
        text="A photo of the party.",
        screenshot=SHOT,
        redirect_chain=(URL,),
        notes=("Shown in the evidence browser.",),
    )


@pytest.fixture
def request_id(worker: Session, manager: Session, case: Case, subject: Subject) -> int:
    hosts = (LOOPBACK, "social.example")
    return approve_for(worker, manager, case.id, [subject.id], hosts=hosts, viewings=3).id


@pytest.fixture
def rendered(
    worker: Session, case: Case, subject: Subject, request_id: int, clock: FixedClock
) -> SourceRecord:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    clock.advance(minutes=2)
    source = browsing.capture(worker, opened.id, _page(worker))
    browsing.end(worker, opened.id)
    return source


@pytest.fixture
def exported(worker: Session, case: Case, rendered: SourceRecord, tmp_path: Path) -> Path:
    target = tmp_path / "case.warc.gz"
    assert captures.export_warc(worker, case.id, target) == 1
    return target


def _records(content: bytes) -> list[tuple[ArcWarcRecord, bytes]]:
    records = []
    for record in ArchiveIterator(io.BytesIO(content)):
        records.append((record, record.content_stream().read()))
    return records


def _resources(content: bytes) -> dict[str, tuple[ArcWarcRecord, bytes]]:
    return {
        str(r.rec_headers.get_header(ARTEFACT_HEADER)): (r, payload)
        for r, payload in _records(content)
        if r.rec_type == "resource"
    }


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


# --- what the records hold ---------------------------------------------------------------


def test_each_artefact_is_one_resource_record_of_its_bytes(
    worker: Session, rendered: SourceRecord, exported: Path
) -> None:
    resources = _resources(exported.read_bytes())
    kept = {a.kind: a for a in captures.artefacts(worker, rendered.id)}
    assert set(resources) == {"mhtml", "dom", "screenshot"}
    for kind, (record, payload) in resources.items():
        headers = record.rec_headers
        assert payload == captures.artefact_bytes(worker, rendered.id, kind)
        assert headers.get_header("Content-Type") == kept[kind].media_type
        assert headers.get_header(SHA256_HEADER) == kept[kind].sha256
        assert headers.get_header("WARC-Target-URI") == FINAL
        assert headers.get_header("WARC-Date") == warc_date(rendered.captured_started_at)


def test_each_resource_record_carries_block_and_payload_digests(exported: Path) -> None:
    for record, payload in _resources(exported.read_bytes()).values():
        digest = "sha256:" + base64.b32encode(hashlib.sha256(payload).digest()).decode()
        headers = record.rec_headers
        assert (
            headers.get_header("WARC-Block-Digest"),
            headers.get_header("WARC-Payload-Digest"),
        ) == (
            digest,
            digest,
        )


def test_the_records_of_one_capture_are_linked_to_its_mhtml(exported: Path) -> None:
    records = _records(exported.read_bytes())
    resources = _resources(exported.read_bytes())
    first = resources["mhtml"][0].rec_headers.get_header("WARC-Record-ID")
    linked = {
        (r.rec_type, r.rec_headers.get_header(ARTEFACT_HEADER))
        for r, _ in records
        if r.rec_headers.get_header("WARC-Concurrent-To") == first
    }
    assert linked == {("resource", "dom"), ("resource", "screenshot"), ("metadata", None)}
    assert resources["mhtml"][0].rec_headers.get_header("WARC-Concurrent-To") is None


def test_a_metadata_record_holds_the_capture_log(
    worker: Session, rendered: SourceRecord, exported: Path
) -> None:
    [(record, block)] = [
        (r, b) for r, b in _records(exported.read_bytes()) if r.rec_type == "metadata"
    ]
    fields = [tuple(line.split(": ", 1)) for line in block.decode().splitlines()]
    assert record.rec_headers.get_header("Content-Type") == "application/warc-fields"
    assert ("requested-url", rendered.requested_url) in fields and ("redirect", URL) in fields
    assert ("final-url", FINAL) in fields and ("http-status", "200") in fields
    assert ("note", "Shown in the evidence browser.") in fields
    shot = hashlib.sha256(SHOT).hexdigest()
    assert ("artefact", f"screenshot image/png {shot} {len(SHOT)}") in fields
    assert ("screenshot-cut", "false") in fields


def test_the_same_capture_always_gives_the_same_records(
    worker: Session, case: Case, rendered: SourceRecord, clock: FixedClock
) -> None:
    one, two = io.BytesIO(), io.BytesIO()
    captures.export_source_warc(worker, rendered.id, one)
    clock.advance(days=3)
    captures.export_source_warc(worker, rendered.id, two)
    # The warcinfo record is the export's own (dated now); the capture's are identical.
    first, second = _records(one.getvalue())[1:], _records(two.getvalue())[1:]
    assert [(r.rec_headers.headers, b) for r, b in first] == [
        (r.rec_headers.headers, b) for r, b in second
    ]


# --- warcio agrees ------------------------------------------------------------------------


def test_warcio_check_accepts_the_export(exported: Path) -> None:
    result = _warcio("check", "-v", str(exported))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest pass" in result.stdout


def test_warcio_index_lists_the_resource_records(exported: Path) -> None:
    result = _warcio("index", "-f", "warc-type,warc-target-uri,content-type", str(exported))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [(line["warc-type"], line.get("content-type")) for line in lines] == [
        ("warcinfo", "application/warc-fields"),
        ("resource", "multipart/related"),
        ("resource", "text/html"),
        ("resource", "image/png"),
        ("metadata", "application/warc-fields"),
    ]
    assert {line["warc-target-uri"] for line in lines[1:]} == {FINAL}


# --- the one-source export ----------------------------------------------------------------


def test_a_rendered_source_exports_on_its_own_and_is_logged(
    worker: Session, case: Case, rendered: SourceRecord, tmp_path: Path
) -> None:
    target = tmp_path / "source.warc.gz"
    captures.export_source_warc(worker, rendered.id, target)
    assert _warcio("check", str(target)).returncode == 0
    assert set(_resources(target.read_bytes())) == {"mhtml", "dom", "screenshot"}
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "export.source_warc"]
    assert event.data["artefacts"] == {
        a.kind: a.sha256 for a in captures.artefacts(worker, rendered.id)
    }


def test_an_artefact_changed_behind_the_log_stops_the_export(
    worker: Session, case: Case, rendered: SourceRecord
) -> None:
    conn = worker.casefile.conn
    conn.execute("DROP TRIGGER blobs_never_updated")
    conn.execute(
        "UPDATE blobs SET content = ? WHERE sha256 = ?",
        (DOM.replace(b"party", b"parti"), hashlib.sha256(DOM).hexdigest()),
    )
    with pytest.raises(CaptureError, match="no longer matches its SHA-256"):
        captures.export_source_warc(worker, rendered.id, io.BytesIO())
    assert [e for e in audit.list_events(worker, case.id) if e.action.startswith("export")] == []


# --- captures over HTTP are unchanged ------------------------------------------------------


def test_an_http_capture_keeps_its_stored_records_beside_a_rendered_one(
    worker: Session,
    case: Case,
    subject: Subject,
    request_id: int,
    rendered: SourceRecord,
    server: HostileServer,
    tmp_path: Path,
) -> None:
    fetched = captures.capture_url(
        worker,
        case.id,
        server.url("/page"),
        justification_id=request_id,
        subject_id=subject.id,
        attested=True,
        allow_hosts=ALLOW,
        deadline_s=10.0,
    )
    target = tmp_path / "case.warc.gz"
    assert captures.export_warc(worker, case.id, target) == 2
    assert fetched.warc_sha256 is not None
    stored = captures.artefact_bytes(worker, fetched.id, "warc")
    assert stored in target.read_bytes()  # the HTTP capture's records, byte for byte
    kinds = [r.rec_type for r, _ in _records(target.read_bytes())]
    assert kinds.count("response") == 1 and kinds.count("resource") == 3
    assert _warcio("check", str(target)).returncode == 0
