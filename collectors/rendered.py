"""Rendered capture: a page as a browser shows it, taken by a headless child process.

Most of the social web is built by JavaScript, so a plain fetch sees a shell. The
evidence browser (``ui.browser``, QtWebEngine) renders the page; this module is the
Qt-free side of it (DESIGN section 4a):

- the plain records the browser reports (:class:`PageShown`, :class:`RequestSeen`,
  :class:`Blocked`, :class:`NavigationRefused`, :class:`Rendered`), shared by the
  in-process browser window and the headless child, and their JSON form;
- :func:`render`, which runs ``python -m ui.browser.render`` as a child process, speaks
  the protocol below with it, and returns a :class:`RenderedCapture`.

The child is a separate process so that Chromium's memory, crashes and hangs stay out of
Caseview: the parent enforces a hard wall-clock deadline and a memory ceiling, and kills
the child's whole process tree when either is passed.

Protocol: JSON objects, one per line, UTF-8.

- parent to child, first line, the job: ``{"url", "deadline_s", "max_height",
  "allow_hosts": [...], "out_dir"}``. ``out_dir`` is an empty directory the parent made
  (mode 0700); the child writes the artefacts there.
- child to parent, for every top-level navigation (the first address too), and then
  waiting for the answer: ``{"navigate": url, "kind": kind}``; the parent answers
  ``{"allow": true}`` or ``{"allow": false, "message": "..."}`` (``navigation_policy``
  decides, so the gate sees every page the capture goes to).
- child to parent, as they happen: ``{"page": {...}}``, ``{"blocked": {...}}``,
  ``{"refused": {...}}``; at the end ``{"requests": [...]}`` (sub-resource statuses are
  known only then).
- child to parent, last: ``{"done": {manifest}}`` (the files are in ``out_dir``) or
  ``{"error": {"kind": ..., "message": ...}}``; ``kind`` is a :class:`CollectorError`
  kind.

Only protocol lines reach the parent on the child's stdout; Chromium's log goes to
stderr, of which the parent keeps the last :data:`STDERR_TAIL_BYTES` to explain a crash.

Memory: Chromium reserves terabytes of address space it never uses, so ``RLIMIT_AS``
would stop it from starting; the parent instead sums the proportional set size (Pss) of
the child's process tree from ``/proc`` every :data:`MEMORY_POLL_S` seconds and kills
the tree above ``memory_limit``. Where there is no ``/proc`` the ceiling is not enforced.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from collectors.addresses import allow_hosts_from_env, normalise_allow_hosts
from collectors.errors import (
    CollectorError,
    FetchFailed,
    NotPublic,
    Refused,
    Timeout,
    TooLarge,
    Unavailable,
)

NavigationPolicy = Callable[[str, str], str | None]
"""``(url, kind) -> None`` to let a top-level navigation go ahead, else the message."""

RENDER_MODULE = "ui.browser.render"
DEFAULT_RENDER_DEADLINE_S = 30.0
"""Time for the page to load and settle; at the deadline the child captures what is
shown (with a note), so a page that never finishes loading still yields a capture."""
CAPTURE_MARGIN_S = 30.0
"""On top of the deadline: starting the engine and taking the capture. Past
``deadline_s + CAPTURE_MARGIN_S`` the parent kills the child and raises Timeout."""
DEFAULT_MAX_HEIGHT = 16384
"""Full-page screenshots are cut at this height in pixels: a texture of 16384 pixels is
what graphics drivers commonly allow, and a taller picture is of no use to a reader."""
VIEWPORT = (1280, 900)
"""The headless browser's window size in pixels (a common laptop screen)."""
MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024
MEMORY_POLL_S = 0.25
AFTER_DONE_WAIT_S = 3.0
"""How long the child may take to shut down by itself after its last line."""
KILL_WAIT_S = 5.0
MAX_LINE_BYTES = 64 * 1024 * 1024
STDERR_TAIL_BYTES = 64 * 1024
ARTEFACT_FILES = {
    "mhtml": "page.mhtml",
    "dom": "dom.html",
    "screenshot": "screenshot.png",
    "text": "text.txt",
}
"""The files the child writes into ``out_dir``; the parent reads only these names."""
ARTEFACT_LIMITS = {
    "mhtml": 256 * 1024 * 1024,
    "dom": 64 * 1024 * 1024,
    "screenshot": 128 * 1024 * 1024,
    "text": 32 * 1024 * 1024,
}

# Navigation kinds: how a top-level navigation started.
TYPED = "typed"  # the address was typed, or the capture opened it
LINK = "link"  # a link, or a script setting location (Chromium reports both as a link)
FORM = "form"  # a form submission: always refused
BACK_FORWARD = "back_forward"
RELOAD = "reload"
REDIRECT = "redirect"  # the site answered with a redirect
SCRIPT = "script"  # anything else the page started (meta refresh, ...)
POPUP = "popup"  # the page asked for a new window; it is opened in the same one
NAVIGATION_KINDS = (TYPED, LINK, FORM, BACK_FORWARD, RELOAD, REDIRECT, SCRIPT, POPUP)


class EngineUnavailable(CollectorError):
    """The evidence browser's engine (QtWebEngine) cannot start on this computer."""

    kind = "engine_unavailable"


class RenderFailed(CollectorError):
    """The browser ran, but could not produce the capture (it crashed, or saving failed)."""

    kind = "render_failed"


_ERRORS: dict[str, type[CollectorError]] = {
    cls.kind: cls
    for cls in (
        EngineUnavailable,
        RenderFailed,
        Refused,
        Timeout,
        TooLarge,
        FetchFailed,
        NotPublic,
        Unavailable,
    )
}


def now_utc() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with ``Z``, to the microsecond."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class PageShown:
    """One top-level page the browser showed, or an in-page address change.

    ``document_sha256`` is the sha256 of the page's HTML *as the browser held it* when
    it was shown (``QWebEnginePage.toHtml``, UTF-8): the document after the browser
    parsed it and scripts changed it. It is not a hash of the bytes the site sent,
    which QtWebEngine does not expose. ``how`` is ``load`` (a document loaded) or
    ``same_document`` (the page changed its address without loading a new document:
    ``pushState``, ``replaceState``, a ``#fragment``), for which the status and headers
    are those of the document it changed.
    """

    url: str
    title: str
    at: datetime
    http_status: int | None
    headers: tuple[tuple[str, str], ...]
    document_sha256: str
    how: str = "load"


@dataclass(frozen=True)
class RequestSeen:
    """One request the page made (the page itself, sub-resources, sub-frames).

    ``resource_type`` is Chromium's, in snake case (``main_frame``, ``image``,
    ``script``, ``xhr``...). ``status`` is the HTTP status when known (from the page's
    Resource Timing entries, best effort: None for blocked, cross-origin without CORS,
    unfinished, or more than the page's 250 timing entries). ``reason`` says why a
    blocked request was blocked.
    """

    url: str
    method: str
    resource_type: str
    at: datetime
    status: int | None = None
    blocked: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Blocked:
    """Something the browser refused the page: ``what`` is one of :data:`BLOCKED_WHAT`."""

    what: str
    url: str
    detail: str
    at: datetime


BLOCKED_WHAT = (
    "request",  # a method other than GET or HEAD (POST, PUT, a beacon...)
    "address",  # a private, loopback or link-local address, or a non-web scheme
    "form",  # a form submission
    "download",  # a file download; ``detail`` is the suggested file name
    "permission",  # location, camera, microphone, notifications, clipboard...
    "popup",  # a new window (opened in the same window instead, through the gate)
    "dialog",  # alert(), confirm(), prompt()
    "file_chooser",  # a file upload field
    "sign_in",  # the site asked for a user name and password (HTTP authentication)
    "other",  # full screen, protocol handlers, file system access, web authentication
)


@dataclass(frozen=True)
class NavigationRefused:
    """A top-level navigation that did not happen; ``message`` was shown to the worker."""

    url: str
    kind: str
    message: str
    at: datetime


RenderEvent = PageShown | RequestSeen | Blocked | NavigationRefused


@dataclass(frozen=True)
class Rendered:
    """What the browser showed of one page, captured at one moment.

    ``dom`` is the rendered document as HTML (UTF-8), ``text`` the visible text as laid
    out (``innerText``), ``mhtml`` the page with its resources as Chromium saves it, and
    ``screenshot_png`` the full page: ``full_height`` is the page's height, and a page
    taller than the cap is cut (``screenshot_cut``) at ``shot_height``. Sizes are in the
    PNG's pixels. ``redirect_chain`` lists the addresses the top-level navigation went
    through before ``url`` (the first one, then each redirect).
    """

    url: str
    title: str
    mhtml: bytes = field(repr=False)
    dom: bytes = field(repr=False)
    screenshot_png: bytes = field(repr=False)
    text: str = field(repr=False)
    full_height: int
    shot_height: int
    shot_width: int
    screenshot_cut: bool
    http_status: int | None
    headers: tuple[tuple[str, str], ...]
    started_at: datetime
    ended_at: datetime
    notes: tuple[str, ...] = ()
    redirect_chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedCapture(Rendered):
    """A headless capture: what was rendered, and the session's logs."""

    requested_url: str = ""
    pages: tuple[PageShown, ...] = ()
    requests: tuple[RequestSeen, ...] = ()
    blocked: tuple[Blocked, ...] = ()
    refused: tuple[NavigationRefused, ...] = ()


@dataclass(frozen=True)
class RenderJob:
    """The first line the parent sends the child."""

    url: str
    out_dir: str
    deadline_s: float = DEFAULT_RENDER_DEADLINE_S
    max_height: int = DEFAULT_MAX_HEIGHT
    allow_hosts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "out_dir": self.out_dir,
            "deadline_s": self.deadline_s,
            "max_height": self.max_height,
            "allow_hosts": list(self.allow_hosts),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RenderJob:
        return cls(
            url=str(data["url"]),
            out_dir=str(data["out_dir"]),
            deadline_s=float(data.get("deadline_s", DEFAULT_RENDER_DEADLINE_S)),
            max_height=int(data.get("max_height", DEFAULT_MAX_HEIGHT)),
            allow_hosts=tuple(str(h) for h in data.get("allow_hosts", ())),
        )


def _headers_json(headers: tuple[tuple[str, str], ...]) -> list[list[str]]:
    return [[name, value] for name, value in headers]


def _headers_from(data: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(pair[0]), str(pair[1])) for pair in data or ())


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def event_to_json(event: RenderEvent) -> dict[str, Any]:
    """The protocol line for one event (``{"page": ...}``, ``{"blocked": ...}``...)."""
    if isinstance(event, PageShown):
        return {
            "page": {
                "url": event.url,
                "title": event.title,
                "at": to_iso(event.at),
                "http_status": event.http_status,
                "headers": _headers_json(event.headers),
                "document_sha256": event.document_sha256,
                "how": event.how,
            }
        }
    if isinstance(event, RequestSeen):
        return {"requests": [request_to_json(event)]}
    if isinstance(event, Blocked):
        return {
            "blocked": {
                "what": event.what,
                "url": event.url,
                "detail": event.detail,
                "at": to_iso(event.at),
            }
        }
    return {
        "refused": {
            "url": event.url,
            "kind": event.kind,
            "message": event.message,
            "at": to_iso(event.at),
        }
    }


def request_to_json(request: RequestSeen) -> dict[str, Any]:
    return {
        "url": request.url,
        "method": request.method,
        "resource_type": request.resource_type,
        "at": to_iso(request.at),
        "status": request.status,
        "blocked": request.blocked,
        "reason": request.reason,
    }


def events_from_json(message: Mapping[str, Any]) -> list[RenderEvent]:
    """The events in one protocol line (empty for lines that are not events)."""
    if "page" in message:
        p = message["page"]
        return [
            PageShown(
                url=str(p["url"]),
                title=str(p["title"]),
                at=from_iso(p["at"]),
                http_status=_optional_int(p.get("http_status")),
                headers=_headers_from(p.get("headers")),
                document_sha256=str(p["document_sha256"]),
                how=str(p.get("how", "load")),
            )
        ]
    if "requests" in message:
        return [
            RequestSeen(
                url=str(r["url"]),
                method=str(r["method"]),
                resource_type=str(r["resource_type"]),
                at=from_iso(r["at"]),
                status=_optional_int(r.get("status")),
                blocked=bool(r.get("blocked", False)),
                reason=None if r.get("reason") is None else str(r["reason"]),
            )
            for r in message["requests"]
        ]
    if "blocked" in message:
        b = message["blocked"]
        return [Blocked(str(b["what"]), str(b["url"]), str(b["detail"]), from_iso(b["at"]))]
    if "refused" in message:
        r = message["refused"]
        return [
            NavigationRefused(str(r["url"]), str(r["kind"]), str(r["message"]), from_iso(r["at"]))
        ]
    return []


def manifest_to_json(rendered: Rendered) -> dict[str, Any]:
    """The ``done`` line's manifest: everything but the artefacts (which are files)."""
    return {
        "url": rendered.url,
        "title": rendered.title,
        "files": dict(ARTEFACT_FILES),
        "full_height": rendered.full_height,
        "shot_height": rendered.shot_height,
        "shot_width": rendered.shot_width,
        "screenshot_cut": rendered.screenshot_cut,
        "http_status": rendered.http_status,
        "headers": _headers_json(rendered.headers),
        "started_at": to_iso(rendered.started_at),
        "ended_at": to_iso(rendered.ended_at),
        "notes": list(rendered.notes),
        "redirect_chain": list(rendered.redirect_chain),
    }


def artefact_bytes(rendered: Rendered) -> dict[str, bytes]:
    """The artefacts as the child writes them, by the kind in :data:`ARTEFACT_FILES`."""
    return {
        "mhtml": rendered.mhtml,
        "dom": rendered.dom,
        "screenshot": rendered.screenshot_png,
        "text": rendered.text.encode("utf-8"),
    }


def error_from_json(data: Mapping[str, Any]) -> CollectorError:
    """The exception for an ``error`` line: the class named by its kind."""
    cls = _ERRORS.get(str(data.get("kind")), RenderFailed)
    message = str(data.get("message") or "The browser could not capture the page.")
    return cls(message)


def render(
    url: str,
    *,
    navigation_policy: NavigationPolicy,
    deadline_s: float = DEFAULT_RENDER_DEADLINE_S,
    max_height: int = DEFAULT_MAX_HEIGHT,
    on_event: Callable[[RenderEvent], None] | None = None,
    allow_hosts: Iterable[str] | None = None,
    memory_limit: int = MEMORY_LIMIT_BYTES,
) -> RenderedCapture:
    """Render ``url`` in a headless browser and capture it; see the module docstring.

    Every top-level navigation (the first one too) is put to ``navigation_policy``
    before it happens. ``on_event`` hears each page shown, request, refusal and blocked
    action as it arrives. ``allow_hosts`` are the private hosts the page may reach
    (default ``CASEVIEW_ALLOW_HOSTS``). Raises :class:`CollectorError`: ``Timeout``
    past the hard deadline, ``TooLarge`` above the memory ceiling,
    :class:`EngineUnavailable` when the engine cannot start, ``Refused`` when the first
    address is refused, ``FetchFailed`` when it cannot be reached, and
    :class:`RenderFailed` when the engine fails.
    """
    hosts = allow_hosts_from_env() if allow_hosts is None else normalise_allow_hosts(allow_hosts)
    started = time.monotonic()
    hard_deadline = started + deadline_s + CAPTURE_MARGIN_S
    with tempfile.TemporaryDirectory(
        prefix="caseview-render-", ignore_cleanup_errors=True
    ) as scratch:
        root = Path(scratch)
        out_dir = root / "out"
        out_dir.mkdir(mode=0o700)
        child_tmp = root / "tmp"  # the child's (and Chromium's) temporary files die with us
        child_tmp.mkdir(mode=0o700)
        job = RenderJob(
            url=url,
            out_dir=str(out_dir),
            deadline_s=deadline_s,
            max_height=max_height,
            allow_hosts=tuple(sorted(hosts)),
        )
        child = _Child(_child_command(), _child_env(child_tmp), cwd=root)
        try:
            child.send(job.to_json())
            conversation = _Conversation(child, navigation_policy, on_event)
            manifest = conversation.run(hard_deadline, deadline_s, memory_limit)
            child.wait_exit(AFTER_DONE_WAIT_S)
        finally:
            child.kill()
        artefacts = _read_artefacts(out_dir)
    return _capture_from(url, manifest, artefacts, conversation)


def _child_command() -> list[str]:
    return [sys.executable, "-m", RENDER_MODULE]


def _child_env(child_tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The child is headless whatever the display: Qt renders to memory.
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["TMPDIR"] = str(child_tmp)
    env["PYTHONUNBUFFERED"] = "1"
    # ui/ is shipped next to collectors/ (one distribution); make sure the child finds
    # it even when Caseview runs from a source checkout that is not installed.
    source_root = str(Path(__file__).resolve().parent.parent)
    paths = [source_root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


class _Child:
    """The child process, its pipes, and the end of its whole process tree."""

    def __init__(self, command: list[str], env: dict[str, str], *, cwd: Path) -> None:
        try:
            self.proc: subprocess.Popen[bytes] = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=env,
                start_new_session=True,  # its own process group, killed as one
            )
        except OSError as exc:
            raise EngineUnavailable(
                f"Caseview could not start its evidence browser ({exc.strerror}). "
                "Ask your administrator to check the installation."
            ) from exc
        self.stderr_tail = b""

    def send(self, message: Mapping[str, Any]) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the child has gone; reading its output will say why

    def wait_exit(self, timeout_s: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout_s)

    def kill(self) -> None:
        """Kill the child and everything it started (Chromium's helpers too), and wait
        (up to :data:`KILL_WAIT_S`) until none of them runs any more."""
        pids = _process_tree(self.proc.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in pids:  # a helper that left the process group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(KILL_WAIT_S)
        end = time.monotonic() + KILL_WAIT_S
        while _running(self.proc.pid, pids) and time.monotonic() < end:
            time.sleep(0.02)  # the kernel is tearing the processes down; nothing to wait on
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def crash_error(self) -> CollectorError:
        """Why the child ended without a last line, from its exit status and stderr."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(2)
        tail = self.stderr_tail.decode("utf-8", "replace")
        return _crash_error(tail, self.proc.returncode)


def _crash_error(stderr: str, returncode: int | None) -> CollectorError:
    for line in stderr.splitlines():
        if "cannot open shared object file" in line or "error while loading shared" in line:
            library = line.split(":")[-3].strip() if line.count(":") >= 3 else "a library"
            return EngineUnavailable(
                "The evidence browser cannot start because a system library is missing "
                f"({library}). Ask your administrator to install QtWebEngine's system "
                "libraries (see the README)."
            )
    if "No module named 'PySide6.QtWebEngine" in stderr:
        return EngineUnavailable(
            "The evidence browser is not installed: install PySide6-Addons at the same "
            "version as PySide6-Essentials."
        )
    if (
        "Could not load the Qt platform plugin" in stderr
        or "could not connect to display" in stderr
    ):
        return EngineUnavailable(
            "The evidence browser cannot open a window: set QT_QPA_PLATFORM=offscreen or "
            "run Caseview with a display."
        )
    status = "no exit status" if returncode is None else f"exit status {returncode}"
    return RenderFailed(
        f"The evidence browser stopped unexpectedly ({status}) before the page was "
        "captured. Try again; if it keeps happening, capture the page without rendering."
    )


class _Conversation:
    """Reads the child's lines, answers its questions, and watches time and memory."""

    def __init__(
        self,
        child: _Child,
        navigation_policy: NavigationPolicy,
        on_event: Callable[[RenderEvent], None] | None,
    ) -> None:
        self.child = child
        self.policy = navigation_policy
        self.on_event = on_event
        self.events: list[RenderEvent] = []

    def run(self, hard_deadline: float, deadline_s: float, memory_limit: int) -> dict[str, Any]:
        """Until the ``done`` line: its manifest. Raises on error, timeout, memory."""
        proc = self.child.proc
        assert proc.stdout is not None and proc.stderr is not None
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ, "out")
            selector.register(proc.stderr, selectors.EVENT_READ, "err")
            next_memory_check = time.monotonic()
            while True:
                now = time.monotonic()
                if now >= hard_deadline:
                    raise _timeout(deadline_s)
                if now >= next_memory_check:
                    _check_memory(proc.pid, memory_limit)
                    next_memory_check = now + MEMORY_POLL_S
                wait = min(MEMORY_POLL_S, hard_deadline - now)
                stdout_closed = False
                for key, _ in selector.select(wait):
                    stream: IO[bytes] = key.fileobj  # type: ignore[assignment]
                    data = os.read(stream.fileno(), 1024 * 1024)
                    if key.data == "err":
                        if not data:
                            selector.unregister(stream)
                        self.child.stderr_tail = (self.child.stderr_tail + data)[
                            -STDERR_TAIL_BYTES:
                        ]
                    elif data:
                        buffer += data
                    else:
                        stdout_closed = True
                        selector.unregister(stream)
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    manifest = self._handle(line)
                    if manifest is not None:
                        return manifest
                if len(buffer) > MAX_LINE_BYTES:
                    raise RenderFailed(
                        "The evidence browser sent more than Caseview reads in one "
                        "message, so the capture was stopped."
                    )
                if stdout_closed:
                    raise self.child.crash_error()

    def _handle(self, line: bytes) -> dict[str, Any] | None:
        if not line.strip():
            return None
        try:
            message = json.loads(line)
        except ValueError as exc:
            raise RenderFailed(
                "The evidence browser sent something Caseview could not read, so the "
                "capture was stopped."
            ) from exc
        if not isinstance(message, dict):
            raise RenderFailed("The evidence browser sent an unexpected message.")
        if "navigate" in message:
            answer = self.policy(str(message["navigate"]), str(message.get("kind", TYPED)))
            reply: dict[str, Any] = (
                {"allow": True} if answer is None else {"allow": False, "message": answer}
            )
            self.child.send(reply)
            return None
        if "done" in message:
            done = message["done"]
            if not isinstance(done, dict):
                raise RenderFailed("The evidence browser sent an unexpected message.")
            return done
        if "error" in message:
            raise error_from_json(message["error"])
        for event in events_from_json(message):
            self.events.append(event)
            if self.on_event is not None:
                self.on_event(event)
        return None


def _timeout(deadline_s: float) -> Timeout:
    return Timeout(
        f"The page took longer than the time allowed ({deadline_s + CAPTURE_MARGIN_S:.0f} "
        "seconds) to load and be captured, so Caseview stopped the browser. Try again "
        "later, or capture the page without rendering."
    )


def _process_tree(root: int) -> list[int]:
    """``root``'s descendants (not ``root``), from /proc; empty where there is none."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(name))
    found: list[int] = []
    todo = [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return found


def _running(group: int, pids: Iterable[int]) -> bool:
    """Whether a process of the group, or one of ``pids``, still runs (zombies do not)."""
    wanted = set(pids)
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != b"Z" and (int(fields[2]) == group or int(name) in wanted):
            return True
    return False


def _memory_of(pid: int) -> int:
    """Proportional set size in bytes (shared pages split between their users), or the
    resident set where the kernel gives no Pss; 0 for a process already gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def tree_memory(root: int) -> int:
    """The memory the process tree under ``root`` (included) uses, in bytes."""
    return sum(_memory_of(pid) for pid in (root, *_process_tree(root)))


def _check_memory(root: int, limit: int) -> None:
    if not os.path.isdir("/proc"):
        return
    used = tree_memory(root)
    if used > limit:
        raise TooLarge(
            f"The page needed more memory than Caseview allows a rendered capture "
            f"({limit // (1024 * 1024)} MB), so the browser was stopped. Capture the page "
            "without rendering, or take a screenshot of it."
        )


def _read_artefacts(out_dir: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for kind, name in ARTEFACT_FILES.items():
        limit = ARTEFACT_LIMITS[kind]
        try:
            fd = os.open(out_dir / name, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise RenderFailed(
                f"The evidence browser did not save the page's {kind}, so the capture "
                "is incomplete and was not kept. Try again."
            ) from exc
        with os.fdopen(fd, "rb") as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(
                f"The page's {kind} is bigger than Caseview keeps "
                f"({limit // (1024 * 1024)} MB), so the capture was not kept."
            )
        found[kind] = data
    return found


def _capture_from(
    requested_url: str,
    manifest: Mapping[str, Any],
    artefacts: Mapping[str, bytes],
    conversation: _Conversation,
) -> RenderedCapture:
    events = conversation.events
    try:
        return RenderedCapture(
            url=str(manifest["url"]),
            title=str(manifest.get("title") or ""),
            mhtml=artefacts["mhtml"],
            dom=artefacts["dom"],
            screenshot_png=artefacts["screenshot"],
            text=artefacts["text"].decode("utf-8", "replace"),
            full_height=int(manifest["full_height"]),
            shot_height=int(manifest["shot_height"]),
            shot_width=int(manifest["shot_width"]),
            screenshot_cut=bool(manifest["screenshot_cut"]),
            http_status=_optional_int(manifest.get("http_status")),
            headers=_headers_from(manifest.get("headers")),
            started_at=from_iso(str(manifest["started_at"])),
            ended_at=from_iso(str(manifest["ended_at"])),
            notes=tuple(str(n) for n in manifest.get("notes", ())),
            redirect_chain=tuple(str(u) for u in manifest.get("redirect_chain", ())),
            requested_url=requested_url,
            pages=tuple(e for e in events if isinstance(e, PageShown)),
            requests=tuple(e for e in events if isinstance(e, RequestSeen)),
            blocked=tuple(e for e in events if isinstance(e, Blocked)),
            refused=tuple(e for e in events if isinstance(e, NavigationRefused)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RenderFailed(
            "The evidence browser's description of the capture was incomplete, so the "
            "capture was not kept. Try again."
        ) from exc
