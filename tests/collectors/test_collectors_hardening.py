"""Hardening of the collectors (issue 11): interim floods, error answers, gone pages,
https on a plain port, unknown character sets, Pillow's warnings."""

from __future__ import annotations

import io
import zlib

import pytest
from hostile_support import (
    RawServer,
    endless_headers,
    endless_interim,
    plain_http_answer,
    status_reply,
)
from PIL import Image

from collectors import (
    CollectorError,
    FetchFailed,
    TooLarge,
    Unavailable,
    charsets,
    fetch,
    import_file,
    transport,
)

ALLOW = ["127.0.0.1"]


def test_endless_interim_answers_stop_at_the_limit() -> None:
    with (
        RawServer(endless_interim) as raw,
        pytest.raises(TooLarge, match="kept sending interim answers") as stopped,
    ):
        fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert stopped.value.attempt is not None


def test_endless_headers_stop_with_a_clear_message() -> None:
    with RawServer(endless_headers) as raw, pytest.raises(TooLarge, match="more headers"):
        fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)


def test_head_limit_counts_against_a_small_size_cap() -> None:
    with RawServer(endless_interim) as raw, pytest.raises(TooLarge):
        fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10, max_bytes=100)
    assert transport.MAX_HEAD_BYTES == 1024 * 1024


@pytest.mark.parametrize(
    ("status", "reason", "headers", "words"),
    [
        (429, "Too Many Requests", [("Retry-After", "30")], "wait 30 seconds"),
        (503, "Service Unavailable", [("Retry-After", "7200")], "wait 2 hours"),
        (500, "Internal Server Error", [], "Try again later."),
    ],
)
def test_error_answers_are_not_captured(
    status: int, reason: str, headers: list[tuple[str, str]], words: str
) -> None:
    with (
        RawServer(status_reply(status, reason, b"busy", headers)) as raw,
        pytest.raises(Unavailable, match="is not answering now") as refused,
    ):
        fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert refused.value.status == status
    assert words in refused.value.message
    assert refused.value.retry_after == (headers[0][1] if headers else None)


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (410, "Gone")])
def test_gone_page_is_captured_with_a_note(status: int, reason: str) -> None:
    body = b"<title>Gone</title>no more"
    reply = status_reply(status, reason, body, [("Content-Type", "text/html")])
    with RawServer(reply) as raw:
        capture = fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert capture.status == status
    assert any(f"The page was gone (HTTP {status} {reason})" in n for n in capture.notes)


def test_https_on_a_plain_http_port_says_so() -> None:
    with (
        RawServer(plain_http_answer) as raw,
        pytest.raises(FetchFailed, match="answered in plain HTTP") as failed,
    ):
        fetch(raw.url("/p", scheme="https"), allow_hosts=ALLOW, deadline_s=10)
    assert f"http://127.0.0.1:{raw.port}/p" in failed.value.message
    assert "certificate" not in failed.value.message


@pytest.mark.parametrize(
    ("body", "declared", "charset", "said"),
    [
        (b"caf\xc3\xa9", "x-klingon", "utf-8", "read as UTF-8, a guess"),
        (b"caf\xe9", "x-klingon", "cp1252", "read as Windows-1252, a guess"),
        (b"<meta charset='x-vulcan'>caf\xe9", None, "cp1252", "the page declared 'x-vulcan'"),
    ],
)
def test_unknown_charset_is_guessed_and_said(
    body: bytes, declared: str | None, charset: str, said: str
) -> None:
    decoded = charsets.decode(body, declared)
    assert (decoded.charset, decoded.source) == (charset, "guessed")
    assert "café" in decoded.text
    assert any(said in note for note in decoded.notes)


def test_guessed_charset_is_a_note_on_an_imported_page() -> None:
    page = b"<html><head><meta charset='x-vulcan'><title>Caf\xe9</title></head>ok</html>"
    captured = import_file(page, filename="page.html")
    assert any("Windows-1252, a guess" in note for note in captured.warnings)


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    # IHDR's width and height (bytes 16-24) and its CRC (29-33): a small file that claims
    # a huge image. Pillow reads the header only.
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def test_pillow_warnings_become_notes_not_console_lines(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # pytest turns warnings into errors here: a warning escaping would fail the import.
    try:
        captured = import_file(_png(10_000, 10_000), filename="huge.png")  # 100 Mpx
    except CollectorError as exc:  # pragma: no cover - the import must succeed
        raise AssertionError(exc.message) from exc
    assert any("decompression bomb" in note for note in captured.warnings)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
