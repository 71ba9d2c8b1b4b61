"""collectors.http.fetch against the hostile local server: captured safely or refused."""

from __future__ import annotations

import hashlib
import time
import tracemalloc
from datetime import UTC, timedelta

import pytest
from collectors_support import (
    BIG,
    HOMOGRAPH,
    HOMOGRAPH_ASCII,
    HOST,
    LOOPBACK,
    PAGE,
    PAGE_GZ,
    FakeResolver,
    HostileServer,
)

from collectors import (
    USER_AGENT,
    Cancelled,
    FetchFailed,
    NotPublic,
    Refused,
    Timeout,
    TooLarge,
    TooManyRedirects,
    fetch,
)

ALLOW = [HOST]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_page_hash_is_of_the_bytes_sent_after_content_encoding(
    server: HostileServer, resolver: FakeResolver
) -> None:
    capture = fetch(server.url("/page"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.status == 200
    assert capture.body == PAGE
    assert capture.body_sha256 == sha(PAGE)
    assert capture.body_size == len(PAGE)
    assert capture.raw_sha256 == sha(PAGE_GZ)
    assert capture.raw_size == len(PAGE_GZ)
    assert capture.content_encoding == ("gzip",)
    assert "decoded" in capture.body_encoding_note


def test_identity_body_raw_and_decoded_hashes_agree(
    server: HostileServer, resolver: FakeResolver
) -> None:
    capture = fetch(server.url("/plain"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.body_sha256 == capture.raw_sha256 == sha(PAGE)
    assert "exactly as sent" in capture.body_encoding_note


def test_chunked_gzip_body_is_reassembled(server: HostileServer, resolver: FakeResolver) -> None:
    capture = fetch(server.url("/chunked"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.body == PAGE
    assert capture.raw_sha256 == sha(PAGE_GZ)


def test_provenance_fields(server: HostileServer, resolver: FakeResolver) -> None:
    capture = fetch(server.url("/page"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.requested_url == capture.final_url == server.url("/page")
    assert capture.started_at.tzinfo is UTC and capture.ended_at.tzinfo is UTC
    assert capture.started_at <= capture.ended_at
    assert capture.ended_at - capture.started_at < timedelta(seconds=10)
    assert capture.server_ip == LOOPBACK and capture.server_port == server.port
    assert capture.user_agent == USER_AGENT and USER_AGENT.startswith("Caseview/")
    assert capture.content_type == "text/html; charset=utf-8"
    assert capture.media_type == "text/html"
    assert capture.http_version == "HTTP/1.1"
    assert ("Content-Encoding", "gzip") in capture.headers
    assert capture.tool.startswith("caseview-collectors/")
    request = capture.exchanges[-1].request
    assert request.startswith(b"GET /page HTTP/1.1\r\n")
    assert f"Host: {HOST}:{server.port}\r\n".encode() in request
    assert f"User-Agent: {USER_AGENT}\r\n".encode() in request


def test_page_is_parsed(server: HostileServer, resolver: FakeResolver) -> None:
    page = fetch(server.url("/page"), resolver=resolver, allow_hosts=ALLOW).page
    assert page is not None
    assert page.title == "Jay's page"
    assert page.canonical_url == server.url("/page")
    assert page.author == "Jay Smith"
    assert "var secret" not in page.text and "Oakfield Primary School" in page.text
    assert page.links == (server.url("/next"), "https://elsewhere.example/x")


def test_headers_keep_order_and_duplicates(server: HostileServer, resolver: FakeResolver) -> None:
    capture = fetch(server.url("/dup-headers"), resolver=resolver, allow_hosts=ALLOW)
    names = [name for name, _ in capture.headers]
    assert [v for n, v in capture.headers if n == "Set-Cookie"] == ["a=1", "b=2"]
    assert names.index("X-Note") < len(names) - names[::-1].index("Set-Cookie") - 1


def test_redirect_chain_is_recorded(server: HostileServer, resolver: FakeResolver) -> None:
    capture = fetch(server.url("/redirect"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.final_url == server.url("/page")
    assert [(h.url, h.status, h.location) for h in capture.redirect_chain] == [
        (server.url("/redirect"), 302, "/page")
    ]
    assert len(capture.exchanges) == 2
    assert capture.body == PAGE


def test_each_hop_is_resolved_and_checked(server: HostileServer, resolver: FakeResolver) -> None:
    fetch(server.url("/to-same-host"), resolver=resolver, allow_hosts=ALLOW)
    assert resolver.lookups == [HOST, HOST]


def test_rebinding_between_hops_is_refused(server: HostileServer) -> None:
    answers = iter([[LOOPBACK], ["10.0.0.1"]])
    with pytest.raises(Refused, match="private network"):
        fetch(
            server.url("/to-same-host"),
            resolver=lambda host: next(answers),
            allow_hosts=[LOOPBACK],
        )


def test_name_is_never_resolved_again_by_the_transport(
    server: HostileServer, resolver: FakeResolver, no_real_network: list[tuple[str, int]]
) -> None:
    # site.test exists only in the injected resolver: the guard in conftest fails the test
    # if anything else (requests, urllib3) tries to look it up before connecting.
    fetch(server.url("/plain"), resolver=resolver, allow_hosts=ALLOW)
    assert no_real_network == [(LOOPBACK, server.port)]


def test_gzip_bomb_stops_at_the_cap_with_bounded_memory(
    server: HostileServer, resolver: FakeResolver
) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(TooLarge, match="once decompressed"):
            fetch(server.url("/bomb"), resolver=resolver, allow_hosts=ALLOW, max_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 6 * (1 << 20)  # the bomb is 10 MB decompressed; we hold about the cap


def test_brotli_bomb_stops_at_the_cap(server: HostileServer, resolver: FakeResolver) -> None:
    with pytest.raises(TooLarge):
        fetch(server.url("/br-bomb"), resolver=resolver, allow_hosts=ALLOW, max_bytes=1 << 20)


def test_body_larger_than_cap(server: HostileServer, resolver: FakeResolver) -> None:
    with pytest.raises(TooLarge, match="limit") as caught:
        fetch(server.url("/big"), resolver=resolver, allow_hosts=ALLOW, max_bytes=len(BIG) // 2)
    assert caught.value.kind == "too_large"


def test_slow_drip_ends_at_the_deadline(server: HostileServer, resolver: FakeResolver) -> None:
    started = time.monotonic()
    with pytest.raises(Timeout, match="longer than the time allowed") as caught:
        fetch(server.url("/drip"), resolver=resolver, allow_hosts=ALLOW, deadline_s=2.0)
    elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 3.5
    attempt = caught.value.attempt
    assert attempt is not None and attempt.status == 200
    assert attempt.started_at.tzinfo is UTC


def test_header_drip_ends_at_the_deadline(server: HostileServer, resolver: FakeResolver) -> None:
    # Each header byte restarts the socket read timeout; only the watchdog stops this.
    started = time.monotonic()
    with pytest.raises(Timeout):
        fetch(
            server.url("/drip-headers"),
            resolver=resolver,
            allow_hosts=ALLOW,
            deadline_s=2.0,
            timeout=(5.0, 5.0),
        )
    assert time.monotonic() - started < 3.5


def test_endless_redirects(server: HostileServer, resolver: FakeResolver) -> None:
    with pytest.raises(TooManyRedirects, match="more than 5 times") as caught:
        fetch(server.url("/loop"), resolver=resolver, allow_hosts=ALLOW, max_redirects=5)
    attempt = caught.value.attempt
    assert attempt is not None and len(attempt.redirect_chain) == 6


def test_redirect_to_a_host_not_allowed_is_refused_before_connecting(
    server: HostileServer, resolver: FakeResolver, no_real_network: list[tuple[str, int]]
) -> None:
    with pytest.raises(Refused, match="loopback") as caught:
        fetch(server.url("/to-other-host"), resolver=resolver, allow_hosts=ALLOW)
    assert [address for address, _ in no_real_network] == [LOOPBACK]  # the first hop only
    attempt = caught.value.attempt
    assert attempt is not None and attempt.last_url == f"http://127.0.0.2:{server.port}/page"


def test_check_url_sees_every_hop_before_it_is_requested(
    server: HostileServer, resolver: FakeResolver
) -> None:
    seen: list[str] = []

    def check(url: str) -> str | None:
        seen.append(url)
        return None

    capture = fetch(
        server.url("/redirect#top"), resolver=resolver, allow_hosts=ALLOW, check_url=check
    )
    assert capture.body == PAGE
    # Absolute, as requested: the redirect's relative Location is resolved, no fragment.
    assert seen == [server.url("/redirect"), server.url("/page")]


def test_check_url_refusing_a_redirect_stops_before_the_next_hop_is_looked_up(
    server: HostileServer, resolver: FakeResolver, no_real_network: list[tuple[str, int]]
) -> None:
    def first_hop_only(url: str) -> str | None:
        return None if url == server.url("/redirect") else f"{url} is not in scope"

    with pytest.raises(Refused, match="/page is not in scope") as caught:
        fetch(
            server.url("/redirect"),
            resolver=resolver,
            allow_hosts=ALLOW,
            check_url=first_hop_only,
        )
    assert caught.value.message == f"{server.url('/page')} is not in scope"
    assert resolver.lookups == [HOST]  # the refused hop was never looked up
    assert len(no_real_network) == 1  # nor connected to
    attempt = caught.value.attempt
    assert attempt is not None and attempt.last_url == server.url("/page")
    assert [location for _, _, location in attempt.redirect_chain] == ["/page"]


def test_check_url_refusing_the_first_hop_sends_nothing(
    server: HostileServer, resolver: FakeResolver, no_real_network: list[tuple[str, int]]
) -> None:
    with pytest.raises(Refused, match=r"^no$"):
        fetch(server.url("/page"), resolver=resolver, allow_hosts=ALLOW, check_url=lambda u: "no")
    assert resolver.lookups == []
    assert no_real_network == []


def test_check_url_gets_the_host_in_punycode(server: HostileServer) -> None:
    seen: list[str] = []
    resolver = FakeResolver({HOMOGRAPH_ASCII: [LOOPBACK]})
    with pytest.raises(Refused):
        fetch(
            server.url("/page", host=HOMOGRAPH),
            resolver=resolver,
            allow_hosts=[HOMOGRAPH_ASCII],
            check_url=lambda url: seen.append(url) or "refused",
        )
    assert seen == [server.url("/page", host=HOMOGRAPH_ASCII)]


def test_redirect_to_javascript_is_refused(server: HostileServer, resolver: FakeResolver) -> None:
    with pytest.raises(Refused, match="'javascript:'"):
        fetch(server.url("/to-javascript"), resolver=resolver, allow_hosts=ALLOW)


def test_lying_content_type_is_recorded_as_served(
    server: HostileServer, resolver: FakeResolver
) -> None:
    capture = fetch(server.url("/liar"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.content_type == "image/png"
    assert capture.sniffed_type == "text/html"
    assert capture.body == PAGE
    assert capture.page is None  # labelled as an image: kept as bytes, not parsed
    assert any("labelled the content image/png" in note for note in capture.notes)


def test_invalid_charset_name_is_ignored_with_a_note(
    server: HostileServer, resolver: FakeResolver
) -> None:
    capture = fetch(server.url("/bad-charset"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.page is not None
    assert capture.page.title == "Café"
    assert any("x-klingon" in note for note in capture.notes)


@pytest.mark.parametrize(
    ("path", "title", "text"),
    [("/malformed", "Broken", "Unclosed bold text"), ("/deep", None, "deep text")],
)
def test_malformed_and_deep_html_is_captured(
    server: HostileServer, resolver: FakeResolver, path: str, title: str | None, text: str
) -> None:
    capture = fetch(server.url(path), resolver=resolver, allow_hosts=ALLOW)
    assert capture.page is not None
    assert capture.page.title == title
    assert text in capture.page.text


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/forbidden", 403, "403 Forbidden"),
        ("/unauthorized", 401, "401 Unauthorized"),
        ("/legal", 451, "451"),
        ("/login-wall", 200, "sign-in form"),
        ("/restricted", 200, "this account is private"),
        ("/to-login", 302, "sign-in page"),
    ],
)
def test_not_public_is_refused(
    server: HostileServer, resolver: FakeResolver, path: str, status: int, words: str
) -> None:
    with pytest.raises(NotPublic, match=words) as caught:
        fetch(server.url(path), resolver=resolver, allow_hosts=ALLOW)
    assert caught.value.kind == "not_public"
    assert "nothing was captured" in caught.value.message
    assert caught.value.attempt is not None and caught.value.attempt.status == status


def test_other_error_statuses_are_captured_with_their_status(
    server: HostileServer, resolver: FakeResolver
) -> None:
    capture = fetch(server.url("/missing"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.status == 404
    assert capture.page is not None and capture.page.title == "Not found"


def test_body_shorter_than_promised_fails(server: HostileServer, resolver: FakeResolver) -> None:
    with pytest.raises(FetchFailed, match="broke off"):
        fetch(server.url("/short"), resolver=resolver, allow_hosts=ALLOW)


def test_corrupt_gzip_fails(server: HostileServer, resolver: FakeResolver) -> None:
    with pytest.raises(FetchFailed, match="damaged"):
        fetch(server.url("/corrupt-gzip"), resolver=resolver, allow_hosts=ALLOW)


def test_cancel_stops_the_capture(server: HostileServer, resolver: FakeResolver) -> None:
    with pytest.raises(Cancelled):
        fetch(server.url("/page"), resolver=resolver, allow_hosts=ALLOW, cancel=lambda: True)


def test_homograph_host_is_recorded_in_punycode_and_unicode(server: HostileServer) -> None:
    resolver = FakeResolver({HOMOGRAPH_ASCII: [LOOPBACK]})
    capture = fetch(
        f"http://{HOMOGRAPH}:{server.port}/plain",
        resolver=resolver,
        allow_hosts=[HOMOGRAPH_ASCII],
    )
    assert resolver.lookups == [HOMOGRAPH_ASCII]
    assert capture.final_host.ascii == HOMOGRAPH_ASCII
    assert capture.final_host.unicode == HOMOGRAPH
    assert capture.final_url == f"http://{HOMOGRAPH_ASCII}:{server.port}/plain"
    assert f"Host: {HOMOGRAPH_ASCII}:{server.port}".encode() in capture.exchanges[0].request
    assert any(HOMOGRAPH_ASCII in note and "look-alike" in note for note in capture.notes)


def test_allow_hosts_comes_from_the_environment(
    server: HostileServer, resolver: FakeResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Refused, match="CASEVIEW_ALLOW_HOSTS"):
        fetch(server.url("/plain"), resolver=resolver)
    monkeypatch.setenv("CASEVIEW_ALLOW_HOSTS", f" other.test , {HOST} ")
    assert fetch(server.url("/plain"), resolver=resolver).status == 200


def test_allow_hosts_by_address(server: HostileServer, resolver: FakeResolver) -> None:
    assert fetch(server.url("/plain"), resolver=resolver, allow_hosts=[LOOPBACK]).status == 200


def test_unknown_name_fails_clearly(server: HostileServer, resolver: FakeResolver) -> None:
    with pytest.raises(FetchFailed, match=r"could not find the site nowhere\.test"):
        fetch(server.url("/plain", host="nowhere.test"), resolver=resolver, allow_hosts=ALLOW)


def test_connection_refused_fails_clearly(resolver: FakeResolver) -> None:
    import socket

    # A port held bound but not listening: connecting is refused, and no other program
    # can start listening on it meanwhile (as it could on a port found free and let go).
    with socket.socket() as spare:
        spare.bind((LOOPBACK, 0))
        port = spare.getsockname()[1]
        with pytest.raises(FetchFailed, match="could not connect"):
            fetch(f"http://{HOST}:{port}/", resolver=resolver, allow_hosts=ALLOW)


def test_malformed_headers_are_noted_not_logged(
    server: HostileServer, resolver: FakeResolver
) -> None:
    capture = fetch(server.url("/bad-headers"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.body == PAGE
    assert any("headers were malformed" in note for note in capture.notes)
    assert b"This line has no colon\r\n" in capture.exchanges[0].response


def test_redirect_with_a_bomb_body_is_not_decompressed(
    server: HostileServer, resolver: FakeResolver
) -> None:
    # requests' Session.send reads and decodes a redirect's whole body to look ahead;
    # fetch must not, or a bomb in a redirect would bypass the size cap.
    tracemalloc.start()
    try:
        capture = fetch(
            server.url("/redirect-bomb"), resolver=resolver, allow_hosts=ALLOW, max_bytes=1 << 20
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert capture.body == PAGE
    assert peak < 4 * (1 << 20)


def test_plain_text_is_read_as_text(server: HostileServer, resolver: FakeResolver) -> None:
    capture = fetch(server.url("/text"), resolver=resolver, allow_hosts=ALLOW)
    assert capture.media_type == "text/plain"
    assert capture.page is not None
    assert capture.page.text == "Jay <b>not bold</b> lives in Leeds"
    assert capture.page.title is None
