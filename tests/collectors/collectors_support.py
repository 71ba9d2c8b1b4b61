"""Test support for collectors: a hostile local web server and a fake resolver.

The server binds to 127.0.0.1 only, on a port the OS picks. Tests reach it through
made-up names (``site.test``) mapped by a :class:`FakeResolver`, so no test ever looks
up a real name.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import brotli

LOOPBACK = "127.0.0.1"
HOST = "site.test"
HOMOGRAPH = "аpple.example"  # the first letter is Cyrillic а (U+0430)
HOMOGRAPH_ASCII = "xn--pple-43d.example"

PAGE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Jay's page</title>"
    b"<link rel='canonical' href='/page'><meta property='og:title' content='Jay'>"
    b"<meta name='author' content='Jay Smith'>"
    b"<meta property='article:published_time' content='2026-11-01T10:00:00+01:00'>"
    b"<script>var secret = 1;</script><style>p{}</style></head>"
    b"<body><h1>Hello</h1><p>I go to Oakfield Primary School.</p>"
    b"<a href='/next'>next</a><a href='https://elsewhere.example/x'>x</a></body></html>"
)
PAGE_GZ = gzip.compress(PAGE, mtime=0)
BOMB_GZ = gzip.compress(b"\0" * (10 * 1024 * 1024), compresslevel=9, mtime=0)
BOMB_BR = brotli.compress(b"\0" * (10 * 1024 * 1024))
BIG = b"x" * (2 * 1024 * 1024)
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
RAW_HEADER = "raw header line"
DRIP_SECONDS = 20  # the drip handlers stop by themselves after this


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False


class HostileServer:
    """Routes of good and bad behaviour; ``connections`` counts accepted connections."""

    def __init__(self) -> None:
        self.connections = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output clean

            def do_GET(self) -> None:
                # The client may stop listening: expected for the slow routes.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server._serve(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with server._lock:
                    server.connections += 1
                return True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # hostile routes end connections abruptly on purpose

        self.httpd = Server((LOOPBACK, 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str, host: str = HOST) -> str:
        return f"http://{host}:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        special: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
            "/drip": self._drip_body,
            "/drip-headers": self._drip_headers,
            "/short": self._short,
        }
        if path in special:
            special[path](handler)
            return
        reply = self._reply(path, handler.path)
        handler.send_response(reply.status)
        for name, value in reply.headers:
            if name == RAW_HEADER:  # a malformed line, written as is
                handler._headers_buffer.append(value.encode("latin-1") + b"\r\n")  # type: ignore[attr-defined]
            else:
                handler.send_header(name, value)
        handler.send_header("Connection", "close")
        if reply.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for start in range(0, len(reply.body), 7):
                piece = reply.body[start : start + 7]
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            handler.wfile.write(b"0\r\n\r\n")
        else:
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)

    def _reply(self, path: str, full: str) -> Reply:
        html = [("Content-Type", "text/html; charset=utf-8")]
        gz = [*html, ("Content-Encoding", "gzip")]
        routes = {
            "/page": Reply(headers=gz, body=PAGE_GZ),
            "/plain": Reply(headers=html, body=PAGE),
            "/chunked": Reply(headers=gz, body=PAGE_GZ, chunked=True),
            "/bomb": Reply(headers=gz, body=BOMB_GZ),
            "/br-bomb": Reply(headers=[*html, ("Content-Encoding", "br")], body=BOMB_BR),
            "/big": Reply(headers=[("Content-Type", "application/octet-stream")], body=BIG),
            "/liar": Reply(headers=[("Content-Type", "image/png")], body=PAGE),
            "/bad-charset": Reply(
                headers=[("Content-Type", "text/html; charset=x-klingon")],
                body=b"<html><head><title>Caf\xc3\xa9</title></head><body>ok</body></html>",
            ),
            "/malformed": Reply(headers=html, body=MALFORMED),
            "/text": Reply(
                headers=[("Content-Type", "text/plain; charset=utf-8")],
                body=b"Jay <b>not bold</b> lives in Leeds\n",
            ),
            "/deep": Reply(headers=html, body=DEEP),
            "/login-wall": Reply(headers=html, body=LOGIN_WALL),
            "/restricted": Reply(headers=html, body=RESTRICTED),
            "/forbidden": Reply(status=403, headers=html, body=b"<h1>Forbidden</h1>"),
            "/unauthorized": Reply(
                status=401,
                headers=[*html, ("WWW-Authenticate", 'Basic realm="x"')],
                body=b"<h1>Login</h1>",
            ),
            "/legal": Reply(status=451, headers=html, body=b"<h1>Blocked</h1>"),
            "/missing": Reply(status=404, headers=html, body=b"<title>Not found</title>gone"),
            "/corrupt-gzip": Reply(headers=gz, body=PAGE_GZ[:20] + b"garbage" * 5),
            "/dup-headers": Reply(
                headers=[*html, ("Set-Cookie", "a=1"), ("X-Note", "one"), ("Set-Cookie", "b=2")],
                body=PAGE,
            ),
        }
        if path in routes:
            return routes[path]
        redirects = {
            "/redirect": "/page",
            "/loop": full + "x" if "?" in full else full + "?x",
            "/to-other-host": f"http://127.0.0.2:{self.port}/page",
            "/to-login": "/accounts/login/?next=/kerry",
            "/to-javascript": "javascript:alert(1)",
            "/to-same-host": f"http://{HOST}:{self.port}/page",
        }
        if path in redirects:
            return Reply(status=302, headers=[("Location", redirects[path])], body=b"moved")
        if path == "/redirect-bomb":
            headers = [("Location", "/plain"), ("Content-Encoding", "gzip")]
            return Reply(status=302, headers=headers, body=BOMB_GZ)
        if path == "/redirect-big":
            return Reply(status=302, headers=[("Location", "/plain")], body=b"m" * 200_000)
        if path == "/bad-headers":
            return Reply(headers=[*html, (RAW_HEADER, "This line has no colon")], body=PAGE)
        return Reply(status=404, headers=html, body=b"no such route")

    def _drip_body(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.flush()
        for _ in range(DRIP_SECONDS):
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(1)

    def _drip_headers(self, handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        handler.wfile.flush()
        for _ in range(DRIP_SECONDS):
            handler.wfile.write(b"X")
            handler.wfile.flush()
            time.sleep(1)

    def _short(self, handler: BaseHTTPRequestHandler) -> None:
        # Promises 1000 bytes, sends 10, hangs up.
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"0123456789")
        handler.wfile.flush()
        handler.close_connection = True


class FakeResolver:
    """Maps made-up names to addresses and remembers every lookup."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])
