"""The wire under requests: pinned addresses, exact bytes, and a deadline that holds.

Three things requests does not do on its own, each done here by plugging a urllib3
connection class into a requests transport adapter:

* **Pinning.** The TCP connection goes to the address that ``collectors.addresses``
  checked, never to a second DNS answer (which could be a private address: "DNS
  rebinding"). The connection still carries the real host name, so the Host header,
  TLS SNI and certificate checking are exactly those of the host in the URL.
* **Exact bytes.** Every byte written to and consumed from the connection is kept, so
  the WARC request and response records are what was sent and what came back, not a
  re-serialisation of parsed headers.
* **A deadline.** A watchdog shuts the socket down when the capture's wall-clock
  deadline passes, which ends any read in progress, including a server that drips
  its status line or headers one byte at a time (read timeouts restart on each byte).

Each connection carries one request (``Connection: close``), so everything read from
it belongs to that one response.

Everything before the body (interim ``1xx`` answers, which http.client skips in a loop
with no end of its own, and the header blocks) is bounded too: at most
:data:`MAX_INTERIM` interim answers and :data:`MAX_HEAD_BYTES` bytes (or the capture's
size cap, if smaller). Past either, the read stops and ``Wire.head_overflow`` says why.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import threading
import time
from typing import Any, cast
from urllib.parse import urlsplit

import requests
import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

MAX_HEAD_BYTES = 1024 * 1024  # status lines and headers of one exchange, interim included
MAX_INTERIM = 16  # 1xx interim answers before the real one
# Interim answers skipped here; 100 Continue http.client skips, 101 means no page follows.
_SKIPPED_INTERIM = frozenset(range(102, 200))


class HeadTooLarge(http.client.HTTPException):
    """The status lines and headers went past their limit; ``Wire.head_overflow`` says which."""


class WireTooLarge(http.client.HTTPException):
    """More bytes came after the headers than the body, framing included, can take."""


class Watchdog:
    """Shuts down every watched socket when the deadline (``time.monotonic``) passes."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._fired = False
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire)
        self._timer.daemon = True

    @property
    def fired(self) -> bool:
        with self._lock:
            return self._fired

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            fired = self._fired
        if fired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # shutdown() (unlike close()) wakes a thread blocked in recv() on this socket.
    # OSError: already closed or never connected, so there is nothing left to stop.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class Wire:
    """One connection's exact traffic, and where it went."""

    def __init__(
        self,
        address: str,
        watchdog: Watchdog,
        head_limit: int = MAX_HEAD_BYTES,
        after_head_limit: int | None = None,
    ) -> None:
        self.address = address
        self.watchdog = watchdog
        self.head_limit = min(head_limit, MAX_HEAD_BYTES)
        # Bytes allowed after the head: the body with its chunk framing and trailers.
        # The caller counts the body itself; this stops what it never sees, such as
        # trailer lines sent for ever after the last chunk. None: no limit.
        self.after_head_limit = after_head_limit
        self.in_head = True  # until the final response's headers are read
        self.status_lines = 0
        self.head_overflow: str | None = None  # "interim" or "headers" when stopped
        self.sent = bytearray()
        self.received = bytearray()
        # Offsets into ``received``: where the final status line starts (after any
        # 1xx interim responses) and where the body starts.
        self.response_start = 0
        self.body_start = 0
        self.header_pairs: tuple[tuple[str, str], ...] = ()
        self.header_defects: tuple[str, ...] = ()
        self.peer: tuple[str, int] | None = None

    @property
    def response_bytes(self) -> bytes:
        return bytes(self.received[self.response_start :])

    @property
    def head_length(self) -> int:
        return self.body_start - self.response_start


def _connect(address: tuple[str, int], timeout: Any, conn: HTTPConnection) -> socket.socket:
    """Open the TCP connection. One function, so tests can prove it was never called."""
    return urllib3_connection.create_connection(
        address,
        timeout,
        source_address=conn.source_address,
        socket_options=conn.socket_options,
    )


def _open_pinned(conn: HTTPConnection, wire: Wire) -> socket.socket:
    try:
        sock = _connect((wire.address, conn.port or 80), conn.timeout, conn)
    except TimeoutError as exc:
        raise ConnectTimeoutError(
            conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
        ) from exc
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc
    wire.watchdog.watch(sock)
    # The address actually connected to, as the operating system reports it. If the peer
    # is already gone, the request that follows fails and says so.
    with contextlib.suppress(OSError):
        peer = sock.getpeername()
        wire.peer = (str(peer[0]), int(peer[1]))
    return sock


def _record_sent(wire: Wire, data: object) -> None:
    # We only ever send GET requests, so http.client hands us the header block as bytes.
    if isinstance(data, bytes | bytearray | memoryview):
        wire.sent += bytes(data)


class _TeeReader:
    """Wraps the socket's buffered reader; keeps a copy of every byte consumed from it.

    Bytes peeked but not consumed are not recorded (they will be, when consumed). While
    the head is read, its size is held to the wire's ``head_limit``.
    """

    def __init__(self, inner: io.BufferedReader, wire: Wire) -> None:
        self._inner = inner
        self._wire = wire
        self._sink = wire.received

    def _keep(self, data: bytes) -> bytes:
        self._sink += data
        self._check()
        return data

    def _check(self) -> None:
        wire = self._wire
        if wire.in_head and len(self._sink) > wire.head_limit:
            wire.head_overflow = wire.head_overflow or "headers"
            raise HeadTooLarge("the response's headers are larger than the limit")
        limit = wire.after_head_limit
        if not wire.in_head and limit is not None and len(self._sink) - wire.body_start > limit:
            raise WireTooLarge("more bytes after the headers than the body may have")

    def read(self, size: int | None = -1) -> bytes:
        return self._keep(self._inner.read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._keep(self._inner.read1(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._keep(self._inner.readline(size))

    def readinto(self, buffer: bytearray | memoryview) -> int:
        count = self._inner.readinto(buffer)
        self._sink += memoryview(buffer)[:count]
        self._check()
        return count

    def peek(self, size: int = 0) -> bytes:
        return self._inner.peek(size)

    def fileno(self) -> int:
        return self._inner.fileno()

    def flush(self) -> None:
        self._inner.flush()

    def close(self) -> None:
        self._inner.close()

    @property
    def closed(self) -> bool:
        return self._inner.closed


def _tee_response_class(wire: Wire) -> type[http.client.HTTPResponse]:
    class TeeResponse(http.client.HTTPResponse):
        def __init__(
            self,
            sock: socket.socket,
            debuglevel: int = 0,
            method: str | None = None,
            url: str | None = None,
        ) -> None:
            super().__init__(sock, debuglevel, method, url)
            self.fp = cast(io.BufferedReader, _TeeReader(self.fp, wire))

        def _read_status(self) -> tuple[str, int, str]:
            # Called once per status line; the last call is the final response's.
            while True:
                wire.status_lines += 1
                if wire.status_lines > MAX_INTERIM + 1:
                    wire.head_overflow = "interim"
                    raise HeadTooLarge("too many interim responses")
                wire.response_start = len(wire.received)
                status: tuple[str, int, str] = super()._read_status()  # type: ignore[misc]
                if status[1] not in _SKIPPED_INTERIM:
                    return status
                # http.client skips only 100 Continue itself; a browser skips every
                # interim answer (102 Processing, 103 Early Hints...) but 101.
                http.client.parse_headers(self.fp)

        def begin(self) -> None:
            super().begin()
            wire.in_head = False
            wire.body_start = len(wire.received)
            wire.header_pairs = tuple((str(k), str(v)) for k, v in self.msg.items())
            # Malformed headers are a fact about the response, kept with the capture;
            # cleared here so urllib3 does not also log them as a warning each time.
            wire.header_defects = tuple(type(d).__name__ for d in self.msg.defects)
            if not self.msg.is_multipart() and self.msg.get_payload():
                wire.header_defects += ("UnparsedHeaderData",)
            self.msg.defects.clear()
            self.msg.set_payload("")

    return TeeResponse


class _PinnedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, wire: Wire, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wire = wire
        self.response_class = _tee_response_class(wire)

    def _new_conn(self) -> socket.socket:
        return _open_pinned(self, self._wire)

    def send(self, data: Any) -> None:
        _record_sent(self._wire, data)
        super().send(data)


class _PinnedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, wire: Wire, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wire = wire
        self.response_class = _tee_response_class(wire)

    def _new_conn(self) -> socket.socket:
        return _open_pinned(self, self._wire)

    def send(self, data: Any) -> None:
        _record_sent(self._wire, data)
        super().send(data)


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class PinnedAdapter(requests.adapters.HTTPAdapter):
    """A requests transport for exactly one request, to the address in ``wire``."""

    def __init__(self, wire: Wire) -> None:
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)
        self._wire = wire
        self._pools: list[HTTPConnectionPool] = []

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: Any,
        proxies: Any = None,
        cert: Any = None,
    ) -> HTTPConnectionPool:
        parts = urlsplit(request.url or "")
        host = parts.hostname or ""
        pool: HTTPConnectionPool
        if parts.scheme == "https":
            pool = _PinnedHTTPSPool(host, parts.port or 443, maxsize=1, wire=self._wire)
        else:
            pool = _PinnedHTTPPool(host, parts.port or 80, maxsize=1, wire=self._wire)
        self._pools.append(pool)
        return pool

    def close(self) -> None:
        super().close()
        for pool in self._pools:
            pool.close()
