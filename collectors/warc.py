"""WARC (ISO 28500) records of a capture, written with warcio.

For each exchange of a capture (every redirect hop and the final page) a ``response``
record holds the response exactly as received (status line, headers, body still
content- and transfer-encoded) and a ``request`` record the request exactly as sent,
linked by ``WARC-Concurrent-To``. A ``metadata`` record names the tool and the hashes
Caseview stored. The records are built from the wire bytes: warcio's usual path would
parse the HTTP headers and write them out again, which is not what was received.

Digests are SHA-256 (base32, as warcio writes them): ``WARC-Block-Digest`` over the
whole record block, ``WARC-Payload-Digest`` over the bytes after the HTTP headers as
stored (so, for a chunked response, including the chunk framing). ``warcio check``
verifies both.

A page captured in the evidence browser was never on the wire as Caseview saw it: what
was kept are its artefacts (the MHTML Chromium saved, the rendered DOM, the full-page
screenshot). :func:`resource_records` writes each as a ``resource`` record for the
page's address, dated by the capture and linked to the first by ``WARC-Concurrent-To``,
with ``WARC-Caseview-Artefact`` (which artefact) and ``WARC-Caseview-Sha256`` (the
SHA-256 of its bytes in hex, as Caseview records it), and a ``metadata`` record with the
capture's log.

Each record is its own gzip member, so the blobs of many captures concatenate into one
valid ``.warc.gz`` (:func:`write_case_warc`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from collectors.http import Exchange, HttpCapture
from collectors.version import TOOL_NAME, TOOL_VERSION

WARC_VERSION = "WARC/1.1"
_GZIP_MAGIC = b"\x1f\x8b"


def warc_date(moment: datetime) -> str:
    """WARC/1.1 date: UTC with microseconds and a ``Z``."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _digest(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


def _record_id(*parts: str) -> str:
    # Derived from the content, so the same capture always yields the same records
    # (and the same blob, which the case file deduplicates by hash).
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(parts))}>"


def _record(
    record_type: str,
    block: bytes,
    payload_offset: int,
    content_type: str,
    headers: list[tuple[str, str]],
) -> ArcWarcRecord:
    warc_headers = StatusAndHeaders(
        "",
        [
            ("WARC-Type", record_type),
            *headers,
            ("WARC-Block-Digest", _digest(block)),
            ("WARC-Payload-Digest", _digest(block[payload_offset:])),
        ],
        protocol=WARC_VERSION,
    )
    # http_headers=None: the block is written as given, never re-serialised.
    return ArcWarcRecord(
        "warc", record_type, warc_headers, io.BytesIO(block), None, content_type, len(block)
    )


def _exchange_records(exchange: Exchange) -> list[ArcWarcRecord]:
    date = warc_date(exchange.started_at)
    response_id = _record_id("response", exchange.url, date, _digest(exchange.response))
    request_id = _record_id("request", exchange.url, date, _digest(exchange.request))
    common = [
        ("WARC-Target-URI", exchange.url),
        ("WARC-Date", date),
        ("WARC-IP-Address", exchange.server_ip),
    ]
    response_headers = [("WARC-Record-ID", response_id), *common]
    if not exchange.complete:
        response_headers.append(("WARC-Truncated", "length"))
    request_end = exchange.request.find(b"\r\n\r\n")
    request_head = len(exchange.request) if request_end < 0 else request_end + 4
    return [
        _record(
            "response",
            exchange.response,
            exchange.response_head_length,
            "application/http; msgtype=response",
            response_headers,
        ),
        _record(
            "request",
            exchange.request,
            request_head,
            "application/http; msgtype=request",
            [("WARC-Record-ID", request_id), *common, ("WARC-Concurrent-To", response_id)],
        ),
    ]


def _fields_block(fields: Iterable[tuple[str, str]]) -> bytes:
    """``application/warc-fields``: one ``name: value`` line each, on one line."""
    return "".join(f"{k}: {' '.join(v.split())}\r\n" for k, v in fields).encode("utf-8")


def _metadata_record(capture: HttpCapture, concurrent_to: str) -> ArcWarcRecord:
    fields = [
        ("software", f"{TOOL_NAME}/{TOOL_VERSION}"),
        ("requested-url", capture.requested_url),
        ("final-host-unicode", capture.final_host.unicode),
        ("body-sha256", capture.body_sha256),
        ("body-size", str(capture.body_size)),
        ("raw-sha256", capture.raw_sha256),
        ("body-encoding-note", capture.body_encoding_note),
        ("capture-started", warc_date(capture.started_at)),
        ("capture-ended", warc_date(capture.ended_at)),
    ]
    block = _fields_block(fields)
    date = warc_date(capture.started_at)
    return _record(
        "metadata",
        block,
        0,
        "application/warc-fields",
        [
            ("WARC-Record-ID", _record_id("metadata", capture.final_url, date, _digest(block))),
            ("WARC-Target-URI", capture.final_url),
            ("WARC-Date", date),
            ("WARC-Concurrent-To", concurrent_to),
        ],
    )


def records_for(capture: HttpCapture) -> bytes:
    """The capture's WARC records, each its own gzip member, concatenated."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
    final_response_id = ""
    for exchange in capture.exchanges:
        records = _exchange_records(exchange)
        final_response_id = str(records[0].rec_headers.get_header("WARC-Record-ID"))
        for record in records:
            writer.write_record(record)
    writer.write_record(_metadata_record(capture, final_response_id))
    return out.getvalue()


ARTEFACT_HEADER = "WARC-Caseview-Artefact"
SHA256_HEADER = "WARC-Caseview-Sha256"


@dataclass(frozen=True)
class Resource:
    """One kept form of a rendered page, for a WARC ``resource`` record."""

    kind: str  # e.g. "mhtml", "dom", "screenshot"
    media_type: str
    content: bytes = field(repr=False)


def resource_records(
    url: str,
    captured_at: datetime,
    resources: Sequence[Resource],
    log: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A rendered capture's artefacts as ``resource`` records (the first is the one the
    others are concurrent to), then a ``metadata`` record of ``log`` (name, value) and
    the artefacts' hashes; each record its own gzip member, concatenated. The record
    IDs derive from the content, so the same capture always gives the same bytes."""
    if not resources:
        raise ValueError("a rendered capture has at least one artefact")
    date = warc_date(captured_at)
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
    first_id = ""
    hashes: list[tuple[str, str]] = []
    for resource in resources:
        sha256 = hashlib.sha256(resource.content).hexdigest()
        record_id = _record_id("resource", resource.kind, url, date, sha256)
        headers = [
            ("WARC-Record-ID", record_id),
            ("WARC-Target-URI", url),
            ("WARC-Date", date),
            *([("WARC-Concurrent-To", first_id)] if first_id else []),
            (ARTEFACT_HEADER, resource.kind),
            (SHA256_HEADER, sha256),
        ]
        writer.write_record(_record("resource", resource.content, 0, resource.media_type, headers))
        first_id = first_id or record_id
        hashes.append(
            ("artefact", f"{resource.kind} {resource.media_type} {sha256} {len(resource.content)}")
        )
    block = _fields_block([("software", f"{TOOL_NAME}/{TOOL_VERSION}"), *log, *hashes])
    metadata = [
        ("WARC-Record-ID", _record_id("metadata", url, date, _digest(block))),
        ("WARC-Target-URI", url),
        ("WARC-Date", date),
        ("WARC-Concurrent-To", first_id),
    ]
    writer.write_record(_record("metadata", block, 0, "application/warc-fields", metadata))
    return out.getvalue()


def write_case_warc(
    records_blobs: Iterable[bytes],
    out: BinaryIO,
    *,
    warcinfo: dict[str, str],
    filename: str | None = None,
) -> int:
    """Write one ``.warc.gz``: a warcinfo record, then each capture's records as stored.

    Returns the number of blobs written. A blob that is not gzip-compressed WARC data
    is refused (ValueError) before anything of it is written.
    """
    writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
    info = {"software": f"{TOOL_NAME}/{TOOL_VERSION}", "format": "WARC File Format 1.1"}
    info.update(warcinfo)
    writer.write_record(writer.create_warcinfo_record(filename, info))
    count = 0
    for blob in records_blobs:
        if not blob.startswith(_GZIP_MAGIC):
            raise ValueError("a WARC blob is not gzip-compressed WARC records")
        out.write(blob)
        count += 1
    out.flush()
    return count


def check_warc(stream: BinaryIO) -> tuple[str, ...]:
    """Problems ``warcio check`` would report (bad digests, unreadable records); () if none."""
    problems: list[str] = []
    try:
        iterator = ArchiveIterator(stream, check_digests=True)
        for record in iterator:
            content = record.content_stream()
            while content.read(1024 * 1024):
                pass
            checker = record.digest_checker
            if checker.passed is False:
                record_id = record.rec_headers.get_header("WARC-Record-ID")
                problems.extend(f"{record_id}: {p}" for p in checker.problems)
    except ArchiveLoadFailed as exc:
        problems.append(f"unreadable WARC data: {exc}")
    return tuple(problems)
