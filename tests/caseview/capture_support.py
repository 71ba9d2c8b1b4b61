"""Test support for captures through the service: a hostile local web server, a request
approved for it, and counts of what a case file holds.

The server binds to 127.0.0.1 only, on a port the OS picks (never any other address).
A test that needs a refused address redirects to 127.0.0.2, which nothing listens on
and which is left out of the allowed hosts. Made-up names reach the server through an
injected resolver; :func:`no_real_names` fails any test that would look up a real name.

Import the fixtures a test module uses by name (``from capture_support import server,
approved, ...``); pytest registers imported fixtures as the module's own.
"""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from gate_support import approved as approve
from gate_support import make_request

from caseview.domain import Case, Subject
from caseview.justifications import JustificationRecord
from caseview.session import Session
from caseview.storage import CaseFile

LOOPBACK = "127.0.0.1"
NOT_ALLOWED = "127.0.0.2"  # loopback too, but never listened on and never allowed
ALLOW = [LOOPBACK]
HOMOGRAPH = "аpple.example"  # the first letter is Cyrillic а (U+0430)
HOMOGRAPH_ASCII = "xn--pple-43d.example"
LATIN_TWIN = "apple.example"  # the site the homograph imitates
ELSEWHERE = "elsewhere.test"  # a made-up second site (resolved by a FakeResolver)
# IDNA 2003 maps ß to "ss"; IDNA 2008 (what browsers and collectors send) keeps it:
# one spelling, two different sites.
SHARP_S = "faß.example"
SHARP_S_2003 = "fass.example"
SHARP_S_2008 = "xn--fa-hia.example"

PAGE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Kerry's page</title>"
    b"<link rel='canonical' href='/page'><meta property='og:title' content='Kerry'>"
    b"<meta name='author' content='Kerry Smith'></head>"
    b"<body><h1>Hello</h1><p>Out with friends on Saturday, back home in the evening.</p>"
    b"<a href='/next'>next</a></body></html>"
)
PAGE_GZ = gzip.compress(PAGE, mtime=0)
CHILD_PAGE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Jay's blog</title></head>"
    b"<body><p>Hi, I am Jay Smith and I go to Oakfield Primary School.</p>"
    b"<p>Text me on 07700 900123 after school.</p></body></html>"
)
LOGIN_WALL = (
    b"<html><head><title>Log in</title></head><body><form action='/session' method='post'>"
    b"<input name='email'><input type='password' name='pass'><button>Log in</button>"
    b"</form></body></html>"
)
RESTRICTED = (
    b"<html><head><title>kerry.smith</title></head><body><h2>This account is private</h2>"
    b"<p>Follow this account to see their photos and videos.</p></body></html>"
)
DEEP = b"<html><body>" + b"<div>" * 10_000 + b"deep text" + b"</div>" * 10_000 + b"</body></html>"
MALFORMED = (
    b"<html><head><title>Broken</title><body><div><p>Unclosed <b>bold <i>text</div></p>"
    b"</html><<<>>><table><tr><td>cell<!-- never closed"
)
BAD_CHARSET = b"<html><head><title>Caf\xc3\xa9 \xff\xfe</title></head><body>ok \x80</body></html>"

BOMB_SIZE = 256 * 1024 * 1024  # decompressed; about 260 KB on the wire
BIG_SIZE = 16 * 1024 * 1024
DRIP_LIMIT_S = 30  # a drip handler stops by itself after this


def _gzip_bomb(size: int) -> bytes:
    """Gzip of ``size`` zero bytes (a multiple of 1 MiB), never holding them whole.

    After a full flush deflate starts afresh, so every megabyte of zeros compresses to
    the same block: the bomb is that block repeated, then the gzip trailer.
    """
    mib = 1024 * 1024
    zeros = bytes(mib)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(size // mib):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + block * (size // mib) + end + struct.pack("<II", crc, size & 0xFFFFFFFF)


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


HTML = [("Content-Type", "text/html; charset=utf-8")]


class HostileServer:
    """Good and bad routes on 127.0.0.1; ``hits`` lists every path requested."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.routes: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self._bomb: bytes | None = None
        self.big = b"x" * BIG_SIZE  # made here, not while a test measures memory
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.hits.append(self.path)
                # The client may stop listening: expected for the hostile routes.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
                    server._serve(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # hostile routes end connections abruptly on purpose

        self.httpd = Server((LOOPBACK, 0), Handler)
        assert self.httpd.server_address[0] == LOOPBACK
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # --- control -----------------------------------------------------------------------

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str, host: str = LOOPBACK) -> str:
        return f"http://{host}:{self.port}{path}"

    def add(self, path: str, reply: Reply) -> str:
        """Serve ``reply`` at ``path``; returns its URL on 127.0.0.1."""
        with self._lock:
            self.routes[path] = reply
        return self.url(path)

    def hits_of(self, path: str) -> int:
        with self._lock:
            return sum(1 for hit in self.hits if hit.split("?")[0] == path)

    @property
    def bomb(self) -> bytes:
        if self._bomb is None:
            self._bomb = _gzip_bomb(BOMB_SIZE)
        return self._bomb

    # --- serving ---------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        if path == "/drip":
            self._drip(handler)
            return
        reply = self._reply(path, handler.path)
        handler.send_response(reply.status)
        for name, value in reply.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(reply.body)
        handler.close_connection = True

    def _reply(self, path: str, full: str) -> Reply:
        with self._lock:
            if path in self.routes:
                return self.routes[path]
        gz = [*HTML, ("Content-Encoding", "gzip")]
        fixed = {
            "/page": Reply(headers=HTML, body=PAGE),
            "/gz-page": Reply(headers=gz, body=PAGE_GZ),
            "/child": Reply(headers=HTML, body=CHILD_PAGE),
            "/big": Reply(headers=[("Content-Type", "application/octet-stream")], body=b""),
            "/liar": Reply(headers=[("Content-Type", "image/png")], body=PAGE),
            "/bad-charset": Reply(
                headers=[("Content-Type", "text/html; charset=x-klingon")], body=BAD_CHARSET
            ),
            "/deep": Reply(headers=HTML, body=DEEP),
            "/malformed": Reply(headers=HTML, body=MALFORMED),
            "/login-wall": Reply(headers=HTML, body=LOGIN_WALL),
            "/restricted": Reply(headers=HTML, body=RESTRICTED),
            "/forbidden": Reply(status=403, headers=HTML, body=b"<h1>Forbidden</h1>"),
            "/unauthorized": Reply(
                status=401,
                headers=[*HTML, ("WWW-Authenticate", 'Basic realm="x"')],
                body=b"<h1>Log in</h1>",
            ),
        }
        if path == "/bomb":
            return Reply(headers=gz, body=self.bomb)
        if path == "/big":
            return Reply(headers=fixed["/big"].headers, body=self.big)
        if path in fixed:
            return fixed[path]
        redirects = {
            "/loop": full + "x" if "?" in full else full + "?x",  # a new address every hop
            "/to-other-host": f"http://{NOT_ALLOWED}:{self.port}/page",
            "/to-elsewhere": f"http://{ELSEWHERE}:{self.port}/page",
            "/to-login": "/accounts/login/?next=/kerry",
            "/to-page": "/page",  # the same site: inside any scope that covers this one
        }
        if path in redirects:
            return Reply(status=302, headers=[("Location", redirects[path])], body=b"moved")
        return Reply(status=404, headers=HTML, body=b"<title>Not found</title>no such route")

    def _drip(self, handler: BaseHTTPRequestHandler) -> None:
        """One byte a second of a body that claims 1,000 bytes."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.flush()
        for _ in range(DRIP_LIMIT_S):
            if self.stopping.is_set():
                return
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(1)


class FakeResolver:
    """Maps made-up names to addresses and remembers every lookup; never the network."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    hostile = HostileServer().start()
    yield hostile
    hostile.stop()


@pytest.fixture(autouse=True)
def no_real_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail a test that would look up a real name; keep the environment's allow list out."""
    real_getaddrinfo = socket.getaddrinfo

    def numeric_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        text = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(text.strip("[]").split("%")[0])
        except ValueError as exc:
            raise AssertionError(f"a test tried to look up the name {text!r}") from exc
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)
    monkeypatch.delenv("CASEVIEW_ALLOW_HOSTS", raising=False)


def approve_for(
    worker: Session,
    manager: Session,
    case_id: int,
    subject_ids: list[int],
    *,
    hosts: tuple[str, ...] = (LOOPBACK,),
    viewings: int = 3,
    now: datetime | None = None,
) -> JustificationRecord:
    """A request by ``worker``, approved by ``manager``, to look at ``hosts``."""
    request = make_request(
        subject_ids,
        now or worker.now(),
        scope_hosts=hosts,
        planned_viewings=viewings,
    )
    return approve(worker, manager, case_id, request)


@pytest.fixture
def approved(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> JustificationRecord:
    """An approved request about ``subject`` over 127.0.0.1, three planned viewings."""
    return approve_for(worker, manager, case.id, [subject.id])


# --- what a case file holds -------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    sources: int
    blobs: int
    viewings: dict[str, int]
    events: dict[str, int]


def counts(casefile: CaseFile) -> Counts:
    conn = casefile.conn

    def scalar(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    return Counts(
        sources=scalar("SELECT count(*) FROM sources"),
        blobs=scalar("SELECT count(*) FROM blobs"),
        viewings={
            str(r[0]): int(r[1])
            for r in conn.execute("SELECT outcome, count(*) FROM viewings GROUP BY outcome")
        },
        events={
            str(r[0]): int(r[1])
            for r in conn.execute("SELECT action, count(*) FROM audit_log GROUP BY action")
        },
    )


def grew(before: Counts, after: Counts) -> tuple[dict[str, int], dict[str, int]]:
    """The viewing outcomes and audit actions added between two counts."""

    def diff(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}

    return diff(before.viewings, after.viewings), diff(before.events, after.events)
