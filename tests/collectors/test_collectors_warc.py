"""WARC records built from the wire bytes, checked by warcio itself."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from collectors_support import HOST, PAGE, FakeResolver, HostileServer
from warcio.archiveiterator import ArchiveIterator

from collectors import HttpCapture, check_warc, fetch, records_for, write_case_warc
from collectors.warc import warc_date

WARCIO = Path(sys.executable).parent / "warcio"


def capture_of(server: HostileServer, resolver: FakeResolver, path: str) -> HttpCapture:
    return fetch(server.url(path), resolver=resolver, allow_hosts=[HOST])


@pytest.fixture
def case_warc(server: HostileServer, resolver: FakeResolver, tmp_path: Path) -> Path:
    blobs = [
        records_for(capture_of(server, resolver, path))
        for path in ("/page", "/redirect", "/chunked", "/redirect-big")
    ]
    out = tmp_path / "case.warc.gz"
    with out.open("wb") as handle:
        written = write_case_warc(
            blobs, handle, warcinfo={"operator": "CP-2026-0042"}, filename=out.name
        )
    assert written == 4
    return out


def test_warcio_check_accepts_the_case_file(case_warc: Path) -> None:
    result = subprocess.run(
        [str(WARCIO), "check", "-v", str(case_warc)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest pass" in result.stdout
    assert "fail" not in result.stdout.lower()


def test_warcio_index_lists_every_record(case_warc: Path, server: HostileServer) -> None:
    result = subprocess.run(
        [str(WARCIO), "index", str(case_warc)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [row["warc-type"] for row in rows]
    assert kinds[0] == "warcinfo"
    assert kinds.count("response") == kinds.count("request") == 6  # 4 pages, 2 redirects
    assert kinds.count("metadata") == 4
    responses = [row["warc-target-uri"] for row in rows if row["warc-type"] == "response"]
    assert server.url("/redirect") in responses and server.url("/page") in responses


def test_check_warc_api_agrees(case_warc: Path) -> None:
    with case_warc.open("rb") as handle:
        assert check_warc(handle) == ()


def test_tampering_is_detected(case_warc: Path, tmp_path: Path) -> None:
    plain = bytearray(gzip.decompress(case_warc.read_bytes()))
    at = plain.index(b"Oakfield")
    plain[at] = ord("X")
    tampered = tmp_path / "tampered.warc"
    tampered.write_bytes(bytes(plain))
    with tampered.open("rb") as handle:
        problems = check_warc(handle)
    assert problems and "digest failed" in problems[0]
    result = subprocess.run(
        [str(WARCIO), "check", str(tampered)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0


def test_records_hold_the_exact_exchange(server: HostileServer, resolver: FakeResolver) -> None:
    capture = capture_of(server, resolver, "/chunked")
    exchange = capture.exchanges[0]
    records, contents = [], []
    for record in ArchiveIterator(io.BytesIO(records_for(capture))):
        records.append(record)
        contents.append(record.content_stream().read())  # warcio undoes chunking and gzip
    response, request, _metadata = records
    assert response.rec_type == "response" and request.rec_type == "request"
    assert response.rec_headers.get_header("WARC-Target-URI") == capture.final_url
    assert response.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
    assert response.rec_headers.get_header("WARC-Date") == warc_date(exchange.started_at)
    assert response.rec_headers.get_header("WARC-Payload-Digest").startswith("sha256:")
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header(
        "WARC-Record-ID"
    )
    assert response.http_headers.get_header("Transfer-Encoding") == "chunked"
    assert contents[0] == PAGE
    assert request.http_headers.protocol == "GET"
    fields = contents[2].decode()
    assert f"body-sha256: {capture.body_sha256}" in fields


def test_redirect_body_over_the_limit_is_marked_truncated(
    server: HostileServer, resolver: FakeResolver
) -> None:
    capture = capture_of(server, resolver, "/redirect-big")
    assert not capture.exchanges[0].complete
    first = next(iter(ArchiveIterator(io.BytesIO(records_for(capture)))))
    assert first.rec_headers.get_header("WARC-Truncated") == "length"


def test_records_are_deterministic(server: HostileServer, resolver: FakeResolver) -> None:
    capture = capture_of(server, resolver, "/page")
    assert records_for(capture) == records_for(capture)


def test_write_case_warc_refuses_foreign_blobs() -> None:
    with pytest.raises(ValueError, match="not gzip"):
        write_case_warc([b"WARC/1.1\r\n"], io.BytesIO(), warcinfo={})
