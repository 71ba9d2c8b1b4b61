"""HTTPS through the pinned transport: SNI and certificate checks use the URL's host.

The connection goes to the address the resolver gave (127.0.0.1), yet TLS must still be
about ``site.test``: the certificate is verified against that name, never the address.
Certificates are made for each test run with the openssl command line tool.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from collectors_support import HOST, LOOPBACK, FakeResolver

from collectors import FetchFailed, fetch

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def make_cert(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


class TlsServer:
    def __init__(self, cert: Path, key: Path) -> None:
        seen: list[str | None] = []
        self.server_names = seen

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = b"<title>secure</title><p>over TLS</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that rejects our certificate ends the handshake

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)

        def remember_sni(sock: Any, server_name: str | None, ctx: Any) -> None:
            seen.append(server_name)

        context.sni_callback = remember_sni
        self.httpd = Server((LOOPBACK, 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    directory = tmp_path_factory.mktemp("certs")
    return {name: make_cert(directory, name) for name in (HOST, "other.test")}


@pytest.fixture
def tls_server(certs: dict[str, tuple[Path, Path]]) -> Iterator[TlsServer]:
    server = TlsServer(*certs[HOST])
    yield server
    server.stop()


def test_https_to_a_pinned_address_checks_the_host_name(
    tls_server: TlsServer, certs: dict[str, tuple[Path, Path]], resolver: FakeResolver
) -> None:
    capture = fetch(
        f"https://{HOST}:{tls_server.port}/",
        resolver=resolver,
        allow_hosts=[HOST],
        ca_certs=str(certs[HOST][0]),
    )
    assert capture.status == 200 and capture.page is not None
    assert capture.page.title == "secure"
    assert capture.server_ip == LOOPBACK
    assert tls_server.server_names == [HOST]  # SNI named the host, not the address
    assert f"Host: {HOST}:{tls_server.port}".encode() in capture.exchanges[0].request


def test_untrusted_certificate_is_refused(tls_server: TlsServer, resolver: FakeResolver) -> None:
    with pytest.raises(FetchFailed, match="could not be verified"):
        fetch(f"https://{HOST}:{tls_server.port}/", resolver=resolver, allow_hosts=[HOST])


def test_certificate_for_another_name_is_refused(
    certs: dict[str, tuple[Path, Path]], resolver: FakeResolver
) -> None:
    server = TlsServer(*certs["other.test"])
    try:
        with pytest.raises(FetchFailed, match="could not be verified"):
            fetch(
                f"https://{HOST}:{server.port}/",
                resolver=resolver,
                allow_hosts=[HOST],
                ca_certs=str(certs["other.test"][0]),
            )
    finally:
        server.stop()
