"""Reusable helpers for hostile-input tests: child processes with their peak memory, and
raw TCP servers that break HTTP on purpose.

Memory is measured in a CHILD process, so a test sees the whole cost of a command (the
interpreter, its libraries, every copy it makes) and nothing of the test runner's own
heap. A Python child made by :func:`python_command` reports its own peak (``VmHWM`` of
``/proc/self/status``) as it exits: that belongs to the program after ``exec``. The
resource usage ``os.wait4`` gives is only the fallback (a child killed before it could
report), because Linux carries a forked child's pre-``exec`` peak into it: a child of a
test runner that had grown to 450 MB reported 450 MB whatever it did itself.

:class:`RawServer` binds 127.0.0.1 only, on a port the OS picks, and hands each
accepted connection to a function that writes whatever bytes it likes; it is for what
``http.server`` cannot send (endless interim responses, TLS on a plain port...).

Use::

    from hostile_support import RawServer, endless_interim, run_measured, caseview_command

    with RawServer(endless_interim) as raw:
        url = raw.url("/page")
    run = run_measured(caseview_command("--user", "wren", "import", ...), env=env)
    assert run.peak_rss < 400 * MB
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

LOOPBACK = "127.0.0.1"
MB = 1024 * 1024


# --- child processes and their peak memory -----------------------------------------------


@dataclass(frozen=True)
class ChildRun:
    """How a child process ended, what it printed, its peak RSS and how long it took."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    peak_rss: int  # bytes: the most memory the child held resident at any moment
    seconds: float

    def describe(self) -> str:
        """A line for an assertion message."""
        return (
            f"exit {self.returncode}, peak {self.peak_rss / MB:.0f} MB, {self.seconds:.1f} s; "
            f"stderr: {self.stderr.strip()[-500:]!r}"
        )


PEAK_FILE_ENV = "CASEVIEW_TEST_PEAK_FILE"

# Run first in every Python child: at exit, write the process's own peak resident set
# (in kB) to the file the runner named.
_REPORT_PEAK = (
    "import atexit, os\n"
    "def _report_peak():\n"
    "    target = os.environ.get('" + PEAK_FILE_ENV + "')\n"
    "    if target:\n"
    "        with open('/proc/self/status') as status:\n"
    "            peak = [l.split()[1] for l in status if l.startswith('VmHWM:')]\n"
    "        with open(target, 'w') as out:\n"
    "            out.write(peak[0] if peak else '')\n"
    "atexit.register(_report_peak)\n"
)


def python_command(code: str, *args: str) -> list[str]:
    """This interpreter running ``code`` with ``args`` as ``sys.argv[1:]``; it reports
    its own peak memory as it exits (see the module's docstring)."""
    return [sys.executable, "-c", _REPORT_PEAK + code, *args]


def caseview_command(*args: str) -> list[str]:
    """The ``caseview`` command line, run by this interpreter (same environment)."""
    return python_command("import sys; from caseview.cli import main; sys.exit(main())", *args)


def run_measured(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 60.0,
    cwd: str | None = None,
) -> ChildRun:
    """Run ``argv`` as a child process; return its exit code, output and peak RSS.

    A child still running after ``timeout_s`` is killed and the run is reported with
    returncode -9 (the caller's assertion then fails with the figures it has).
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        peak_file = os.path.join(scratch, "peak")
        started = time.monotonic()
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env={**(os.environ if env is None else env), PEAK_FILE_ENV: peak_file},
            cwd=cwd,
        )
        status, usage = _wait(process, timeout_s)
        with (
            contextlib.suppress(OSError, ValueError),
            open(peak_file, encoding="ascii") as reported,
        ):
            usage = int(reported.read().strip())
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    return ChildRun(
        argv=tuple(argv),
        returncode=status,
        stdout=stdout,
        stderr=stderr,
        peak_rss=usage * 1024,  # Linux reports ru_maxrss in kilobytes
        seconds=seconds,
    )


def _wait(process: subprocess.Popen[bytes], timeout_s: float) -> tuple[int, int]:
    """Reap ``process`` ourselves with wait4, for its own resource usage."""
    deadline = time.monotonic() + timeout_s
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage.ru_maxrss
        if time.monotonic() > deadline:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = -9
            return -9, usage.ru_maxrss
        time.sleep(0.02)


# --- raw TCP servers ---------------------------------------------------------------------

Handler = Callable[[socket.socket, threading.Event], None]
"""Serves one accepted connection; should return when the event is set."""


class RawServer:
    """A TCP server on 127.0.0.1 that hands each connection to ``handler``.

    ``connections`` counts accepted connections. Use as a context manager; leaving it
    stops the server and tells running handlers to stop.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stopping = threading.Event()
        self.connections = 0
        self.sent = 0  # bytes the handlers report having sent (see ``count``)
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://{LOOPBACK}:{self.port}{path}"

    def count(self, sent: int) -> None:
        with self._lock:
            self.sent += sent

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            self.handler(conn, self.stopping)


def read_request(conn: socket.socket, limit: int = 64 * 1024) -> bytes:
    """The request head (up to the blank line), or what came before the peer stopped."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


INTERIM = b"HTTP/1.1 100 Continue\r\n\r\n"


def endless_interim(conn: socket.socket, stopping: threading.Event) -> None:
    """``100 Continue`` for ever (until the client goes or the server stops)."""
    read_request(conn)
    burst = INTERIM * 400  # 10 KB per send
    sent = 0
    while not stopping.is_set() and sent < 4096 * MB:
        conn.sendall(burst)
        sent += len(burst)


def endless_headers(conn: socket.socket, stopping: threading.Event) -> None:
    """A status line, then header lines for ever."""
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    sent = 0
    while not stopping.is_set() and sent < 4096 * MB:
        conn.sendall(line * 10)
        sent += len(line) * 10


def plain_http_answer(conn: socket.socket, stopping: threading.Event) -> None:
    """Whatever arrives (a TLS hello, here), answer in plain HTTP, as a web server on
    port 80 does when a browser speaks https to it."""
    conn.recv(4096)
    conn.sendall(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
        b"Connection: close\r\n\r\nBad Request"
    )


def status_reply(
    status: int, reason: str, body: bytes = b"", headers: Sequence[tuple[str, str]] = ()
) -> Handler:
    """A handler answering every request with one plain HTTP/1.1 response."""
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body

    def handler(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(raw)

    return handler


def tiny_elements_page(size: int) -> bytes:
    """An HTML page of about ``size`` bytes made of tiny elements (the memory attack)."""
    head = b"<!DOCTYPE html><html><head><title>Tiny</title></head><body>"
    tail = b"</body></html>"
    unit = b"<i>a</i>"
    return head + unit * max(0, (size - len(head) - len(tail)) // len(unit)) + tail


def child_env(**extra: str) -> dict[str, str]:
    """The current environment plus ``extra``, for a child process."""
    env = dict(os.environ)
    env.update(extra)
    return env
