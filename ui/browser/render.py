"""The headless evidence browser: ``python -m ui.browser.render``, one capture, then exit.

``collectors.rendered.render`` starts this as a child process and speaks the protocol
described there: the job on the first line of stdin; ``{"navigate": url, "kind": kind}``
for every top-level navigation, answered on stdin; events; then the artefacts as files in
the job's ``out_dir`` and a last ``{"done": ...}`` or ``{"error": ...}`` line.

Steps: load the job's address (through the parent's gate), wait until the page has
settled (loaded and no new request for ``engine.QUIET_MS``) or the job's deadline, then
capture what is shown. A page that never finishes loading is captured as it is at the
deadline, with a note saying so: what a worker saw is more use than nothing. A first
address that is refused, or cannot be reached, ends with an error and no capture.

Only protocol lines go to stdout: the real stdout is kept for them, and file descriptor
1 is pointed at stderr, where Chromium and Qt write their logs.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
from typing import IO, Any

from collectors.errors import CollectorError, FetchFailed, Refused, Timeout
from collectors.rendered import (
    ARTEFACT_FILES,
    CAPTURE_MARGIN_S,
    REDIRECT,
    TYPED,
    VIEWPORT,
    Blocked,
    EngineUnavailable,
    NavigationRefused,
    Rendered,
    RenderFailed,
    RenderJob,
    artefact_bytes,
    event_to_json,
    manifest_to_json,
    now_utc,
    request_to_json,
)
from ui.browser import PLATFORM_ENV, engine_available, prepare_environment

logger = logging.getLogger(__name__)

NOT_FINISHED = (
    "The page had not finished loading when the time allowed ran out; the capture shows "
    "what it showed at that moment."
)


class Protocol:
    """The protocol's two ends: lines out on the kept stdout, answers in on stdin."""

    def __init__(self, out: IO[str], answers: IO[str]) -> None:
        self._out = out
        self._in = answers

    def send(self, message: dict[str, Any]) -> None:
        self._out.write(json.dumps(message, ensure_ascii=True) + "\n")
        self._out.flush()

    def error(self, error: CollectorError) -> None:
        self.send({"error": {"kind": error.kind, "message": error.message}})

    def ask(self, url: str, kind: str) -> str | None:
        """Put a navigation to the parent's gate; None to go ahead, else the message."""
        self.send({"navigate": url, "kind": kind})
        line = self._in.readline()
        if not line:
            return "Caseview stopped the capture."
        try:
            answer = json.loads(line)
        except ValueError:
            return "Caseview sent an answer the browser could not read."
        if isinstance(answer, dict) and answer.get("allow") is True:
            return None
        message = answer.get("message") if isinstance(answer, dict) else None
        return str(message or "Caseview refused to open this address.")


def claim_stdout() -> IO[str]:
    """Keep the real stdout for the protocol; send everything else written to fd 1
    (Chromium, Qt, a stray print) to stderr."""
    kept = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(kept, "w", encoding="utf-8", buffering=1)


def die_with_parent() -> None:
    """On Linux, the kernel kills this process if the parent dies (no orphan browsers)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def write_artefacts(out_dir: str, rendered: Rendered) -> None:
    """Each artefact as a new file (0600) in the parent's directory; never follows links."""
    for kind, data in artefact_bytes(rendered).items():
        path = os.path.join(out_dir, ARTEFACT_FILES[kind])
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)


class HeadlessRun:
    """One job: load, settle, capture, report. ``exit_code`` once the app has quit."""

    def __init__(self, job: RenderJob, protocol: Protocol) -> None:
        # Imported here: QtWebEngine is loaded only once engine_available() said it can.
        from PySide6.QtCore import QTimer
        from PySide6.QtWebEngineWidgets import QWebEngineView

        from ui.browser.engine import EvidenceEngine, SettleWatch

        self.job = job
        self.protocol = protocol
        self.exit_code = 0
        self.finished = False
        self.engine = EvidenceEngine(protocol.ask, allow_hosts=job.allow_hosts)
        self.view = QWebEngineView()
        self.view.resize(*VIEWPORT)
        self.view.setPage(self.engine.page)
        self.view.show()  # offscreen: drawn in memory, seen by nobody
        self.engine.page_shown.connect(lambda shown: protocol.send(event_to_json(shown)))
        self.engine.blocked.connect(self._blocked)
        self.engine.refused.connect(self._refused)
        self.engine.load_failed.connect(self._load_failed)
        self.settle = SettleWatch(self.engine, deadline_s=job.deadline_s)
        self.settle.settled.connect(self._settled)
        # Should the capture be stuck, this process ends, a little before the parent
        # would kill it (so that the parent hears why).
        self._failsafe = QTimer()
        self._failsafe.setSingleShot(True)
        self._failsafe.timeout.connect(self._too_long)
        margin = max(1.0, CAPTURE_MARGIN_S - 5.0)
        self._failsafe.start(int((job.deadline_s + margin) * 1000))

    def start(self) -> None:
        self.engine.load(self.job.url)

    def _blocked(self, what: str, url: str, detail: str) -> None:
        self.protocol.send(event_to_json(Blocked(what, url, detail, now_utc())))

    def _refused(self, url: str, kind: str, message: str) -> None:
        self.protocol.send(event_to_json(NavigationRefused(url, kind, message, now_utc())))
        if self.engine.pages() or kind not in (TYPED, REDIRECT):
            return  # the page shown (or loading) stays
        # The first address, or where it redirected: there is nothing to capture.
        self._end(Refused(message))

    def _load_failed(self, url: str, reason: str) -> None:
        if self.engine.pages():
            return  # the page shown stays; a later failure changes nothing
        self._end(
            FetchFailed(
                f"The evidence browser could not open {url} ({reason}). Check the address, "
                "or try again later."
            )
        )

    def _settled(self, finished: bool) -> None:
        if self.finished:
            return
        if not self.engine.has_document:
            self._end(
                Timeout(
                    "The site did not send the page within the time allowed. Try again "
                    "later, or capture the page without rendering."
                )
            )
            return
        notes = () if finished else (NOT_FINISHED,)
        self.engine.capture(self.view, self._captured, max_height=self.job.max_height, notes=notes)

    def _captured(self, result: Rendered | Exception) -> None:
        if isinstance(result, Exception):
            error = result if isinstance(result, CollectorError) else RenderFailed(str(result))
            self._end(error)
            return
        try:
            write_artefacts(self.job.out_dir, result)
        except OSError as exc:
            self._end(RenderFailed(f"The capture could not be written ({exc.strerror})."))
            return
        self.engine.collect_statuses(lambda: self._report_done(result))

    def _report_done(self, rendered: Rendered) -> None:
        if self.finished:
            return
        requests = [request_to_json(r) for r in self.engine.requests()]
        self.protocol.send({"requests": requests})
        self.protocol.send({"done": manifest_to_json(rendered)})
        self._quit(0)

    def _too_long(self) -> None:
        self._end(
            Timeout(
                "The page took longer than the time allowed to load and be captured. Try "
                "again later, or capture the page without rendering."
            )
        )

    def _end(self, error: CollectorError) -> None:
        if self.finished:
            return
        self.protocol.error(error)
        self._quit(1)

    def _quit(self, code: int) -> None:
        from PySide6.QtCore import QCoreApplication

        self.finished = True
        self.exit_code = code
        self.settle.stop()
        self._failsafe.stop()
        QCoreApplication.quit()

    def close(self) -> None:
        """Delete the page, the profile, then the view (Chromium's order)."""
        from PySide6.QtCore import QCoreApplication, QEvent

        self.engine.close()
        self.view.close()
        for _ in range(3):
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            QCoreApplication.processEvents()
        self.view.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def main() -> int:
    protocol = Protocol(claim_stdout(), sys.stdin)
    die_with_parent()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        job = RenderJob.from_json(json.loads(sys.stdin.readline()))
    except (ValueError, KeyError, TypeError):
        protocol.error(RenderFailed("The evidence browser was given a job it cannot read."))
        return 2
    os.environ[PLATFORM_ENV] = "offscreen"  # headless whatever the display
    prepare_environment()
    problem = engine_available()
    if problem is not None:
        protocol.error(EngineUnavailable(problem))
        return 3
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    run = HeadlessRun(job, protocol)
    run.start()
    if not run.finished:
        app.exec()
    run.close()
    return run.exit_code


if __name__ == "__main__":
    sys.exit(main())
