"""Hostile pages, round 9: an element with a flood of attributes (libxml2 reads them in
quadratic time), and a Retry-After past the end of the calendar."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest
from hostile_support import RawServer, read_request

from collectors import html
from collectors.errors import FetchFailed, Unavailable
from collectors.http import fetch

FLOOD = 20_000  # attributes: some seconds for libxml2, twice (trafilatura parses again)


def _flood(attribute: str) -> bytes:
    attributes = "".join(attribute.format(i=i) for i in range(FLOOD))
    head = "<html><head><title>Flood</title></head><body><p>Kerry's page</p>"
    return f"{head}<a {attributes}>x</a>".encode()


@pytest.mark.parametrize(
    "attribute",
    [
        "a{i}=1 ",  # the plain flood
        'a{i}=">" ',  # every value hides a ">" that does not end the tag
        "a{i}/",  # "/" separates attributes as a space does
        "<a{i} ",  # "<" inside a tag starts no new tag: it is part of a name
    ],
)
def test_element_with_a_flood_of_attributes_is_read_flat(attribute: str) -> None:
    page = html.parse_html(_flood(attribute))
    assert page.flat_fallback
    assert any("more than 256 attributes" in note for note in page.notes)
    assert "Kerry's page" in page.text
    assert page.title == "Flood"


def test_quote_in_a_name_does_not_hide_a_flood() -> None:
    # A quote that does not follow "=" is part of an attribute's name, so what follows
    # it is more attributes, not a quoted value.
    body = b'<html><body><p>x</p><a "' + b"b " * FLOOD + b'">x</a>'
    assert html.parse_html(body).flat_fallback


def test_ordinary_markup_keeps_its_structure() -> None:
    # Quoted values holding ">" and "<", scripts full of "<", long attribute values:
    # none is an element with many attributes.
    script = "<script>for (i = 0; i < n; i++) {" + " a b c d" * 5000 + "}</script>"
    body = (
        "<html><head><title>Ordinary</title>"
        "<meta name='description' content='" + "many words " * 2000 + "'></head><body>"
        '<div class="post" data-x=\'{"a": "b > c < d"}\' title="x > y">'
        "<p>It's a page</p></div>" + script + "<textarea><a " + "b " * 2000 + "</textarea>"
        "</body></html>"
    ).encode()
    page = html.parse_html(body)
    assert not page.flat_fallback
    assert page.title == "Ordinary"
    assert "It's a page" in page.text


def test_most_attributes_counts_what_libxml2_reads_as_attributes() -> None:
    # The tag's name and its three attributes (a bound, unless past the limit).
    assert html._most_attributes('<a href="/x" class="y z" id=q>', limit=3) == 4
    assert html._most_attributes("<a " + "b " * 300 + ">") > html.MAX_ATTRIBUTES
    assert html._most_attributes("<a x='" + "b " * 300 + "'>") <= html.MAX_ATTRIBUTES


# --- Retry-After --------------------------------------------------------------------------


def _busy(retry_after: str) -> RawServer:
    answer = (
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: "
        + retry_after
        + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")

    def handler(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(answer)

    return RawServer(handler)


def test_retry_after_past_the_end_of_the_calendar_is_not_repeated() -> None:
    # Year 9999 at UTC-14 is year 10000 in UTC, which Python cannot hold.
    with _busy("Fri, 31 Dec 9999 23:59:59 -1400") as raw, pytest.raises(Unavailable) as refused:
        fetch(raw.url("/kerry"), allow_hosts=["127.0.0.1"], deadline_s=10)
    assert "is not answering now (HTTP 503" in refused.value.message
    assert "Try again later." in refused.value.message
    assert refused.value.retry_after == "Fri, 31 Dec 9999 23:59:59 -1400"


# --- TLS handshakes that fail before any certificate is seen ---------------------------------


def _hang_up(conn: socket.socket, stopping: threading.Event) -> None:
    pass  # closes the connection as soon as it is accepted


def _handshake_failure(conn: socket.socket, stopping: threading.Event) -> None:
    conn.recv(4096)  # the client's hello
    conn.sendall(bytes.fromhex("15030300020228"))  # a fatal handshake_failure alert


@pytest.mark.parametrize("handler", [_hang_up, _handshake_failure])
def test_failed_handshake_says_nothing_of_a_certificate(
    handler: Callable[[socket.socket, threading.Event], None],
) -> None:
    with RawServer(handler) as raw, pytest.raises(FetchFailed) as failed:
        fetch(raw.url("/kerry", scheme="https"), allow_hosts=["127.0.0.1"], deadline_s=10)
    assert "A secure connection to 127.0.0.1 could not be made" in failed.value.message
    assert "certificate" not in failed.value.message
