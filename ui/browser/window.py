"""The evidence browser window: one viewing session, shown and kept as the worker saw it.

The window opens on a session the gate has already allowed (``caseview.browsing.start``,
from the Browse dialog) and shows at all times the request, the person, the session's
clock against its maximum, and the repeat-viewing meter. Every top-level navigation is
put to the gate (:func:`ui.browse_jobs.navigate`) before Chromium goes on; a refusal is
shown in the window and recorded as a refused look. Each page shown, each request and
each thing the browser refused the page are written to the case file in order, in the
background (:class:`_Log`), and are written even if the window closes first.
"Capture this page" (button, Ctrl+S) keeps the page as a ``rendered`` source.

The session ends when the window closes, or when its maximum length is reached; the
page is then stopped and nothing more can load or be captured.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWebEngineCore import QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseview.browsing import BrowseSession
from caseview.errors import CaseviewError
from collectors.rendered import Rendered, RequestSeen
from ui import browse_jobs, widgets
from ui.browser.engine import EvidenceEngine, PageShown
from ui.identity import Identity
from ui.tasks import run_task

logger = logging.getLogger(__name__)

FLUSH_REQUESTS_MS = 2000
"""How often the request log is written while pages load."""

DOWNLOAD_ADVICE = (
    "Downloads are not allowed in the evidence browser, so nothing was saved. If the file "
    "matters, import it as evidence instead (File ▸ Import a saved file…) with this "
    "address: {url}"
)


class _Log:
    """Writes to the case file one at a time, in the order asked, off the GUI thread.

    A plain object (not a QObject): it lives in :data:`_draining` until every write is
    done, so a window that closes first loses nothing, and no callback reaches a
    deleted widget."""

    def __init__(self, who: Identity, on_error: Callable[[BaseException], None]) -> None:
        self.who = who
        self.pending: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self.busy = False
        self.on_error: Callable[[BaseException], None] | None = on_error

    def add(self, function: Callable[..., Any], *args: Any) -> None:
        self.pending.append((function, args))
        _draining.add(self)
        self._next()

    def _next(self) -> None:
        if self.busy:
            return
        if not self.pending:
            _draining.discard(self)
            return
        function, args = self.pending.popleft()
        self.busy = True
        run_task(function, self.who, *args, on_errored=self._failed, on_finished=self._finished)

    def _failed(self, exc: BaseException) -> None:
        logger.warning("the evidence browser could not write its log: %s", exc)
        if self.on_error is not None:
            self.on_error(exc)

    def _finished(self) -> None:
        self.busy = False
        self._next()


_draining: set[_Log] = set()


def _clock(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60:d}:{whole % 60:02d}"


_METER_STATES = {
    "ok": "",
    "warn": " — repeated looks at one person can become surveillance",
    "authorised": " — under a surveillance authorisation",
    "stop": " — stopped",
}


def _meter_text(opened: BrowseSession) -> str:
    """One line for the window; the meter's full explanation is its tooltip."""
    meter = opened.meter
    if meter is None:
        return "Meter: this session is one look."
    return (
        f"Meter: look {meter.count_in_window + 1} at {opened.subject_name} in the window"
        f"{_METER_STATES.get(meter.state, '')}"
    )


class EvidenceBrowser(QMainWindow):
    """The evidence browser for one viewing session."""

    captured = Signal(int)
    """A page was kept: its source id."""
    closed = Signal()
    """The window closed and its session ended."""

    def __init__(
        self,
        who: Identity,
        opened: BrowseSession,
        *,
        request_label: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("evidenceBrowser")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.who = who
        self.opened = opened
        self.ended = False
        self.capturing = False
        self.flushed = 0
        self.log = _Log(who, self._log_failed)
        self.setWindowTitle(f"Evidence browser — {opened.subject_name} — {who.where}")

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        facts = QFrame()
        facts.setObjectName("browserFacts")
        facts.setFrameShape(QFrame.Shape.StyledPanel)
        facts_row = QHBoxLayout(facts)
        self.request_label = QLabel(
            f"Request: {request_label or f'justification {opened.justification_id}'}"
        )
        self.request_label.setObjectName("browserRequest")
        self.person_label = QLabel(f"Person: {opened.subject_name}")
        self.person_label.setObjectName("browserPerson")
        self.clock_label = QLabel()
        self.clock_label.setObjectName("browserClock")
        self.clock_label.setAccessibleName("Session time")
        self.meter_label = QLabel(_meter_text(opened))
        self.meter_label.setObjectName("browserMeter")
        self.meter_label.setAccessibleName("Repeat-viewing meter")
        if opened.meter is not None and opened.meter.message:
            self.meter_label.setToolTip(opened.meter.message)
        self.request_label.setWordWrap(True)
        facts_row.addWidget(self.request_label, 1)
        for label in (self.person_label, self.clock_label, self.meter_label):
            facts_row.addWidget(label)
        for label in (self.request_label, self.person_label, self.clock_label, self.meter_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(facts)

        bar = QHBoxLayout()
        self.back_button = QPushButton("◀")
        self.back_button.setObjectName("browserBack")
        self.back_button.setAccessibleName("Back")
        self.back_button.setToolTip("Back (Alt+Left)")
        self.forward_button = QPushButton("▶")
        self.forward_button.setObjectName("browserForward")
        self.forward_button.setAccessibleName("Forward")
        self.forward_button.setToolTip("Forward (Alt+Right)")
        self.address = QLineEdit()
        self.address.setObjectName("browserAddress")
        self.address.setAccessibleName("Address")
        self.address.setPlaceholderText("An address within the request's scope")
        self.go_button = QPushButton("&Go")
        self.go_button.setObjectName("browserGo")
        self.capture_button = QPushButton("&Capture this page")
        self.capture_button.setObjectName("browserCaptureButton")
        self.capture_button.setAccessibleName("Capture this page")
        self.capture_button.setToolTip(
            "Keep this page as evidence: its MHTML, rendered HTML, a full-page screenshot "
            "and its text (Ctrl+S)"
        )
        self.end_button = QPushButton("&End session")
        self.end_button.setObjectName("browserEndButton")
        for widget in (self.back_button, self.forward_button):
            bar.addWidget(widget)
        bar.addWidget(self.address, 1)
        for widget in (self.go_button, self.capture_button, self.end_button):
            bar.addWidget(widget)
        layout.addLayout(bar)

        self.message = widgets.note("")
        self.message.setObjectName("browserMessage")
        self.message.setAccessibleName("Evidence browser message")
        self.message.setStyleSheet(
            "QLabel { background: #fff4ce; border: 1px solid #c8a600; padding: 4px; }"
        )
        self.message.hide()
        layout.addWidget(self.message)

        self.engine = EvidenceEngine(self._policy, parent=self)
        self.view = QWebEngineView()
        self.view.setObjectName("browserView")
        self.view.setAccessibleName("Page")
        # Chromium's menu offers saving, "view source" and opening in a new window; none
        # belongs in a look that must not touch the page (capture is the button).
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.view.setPage(self.engine.page)
        layout.addWidget(self.view, 1)
        self.progress = QProgressBar()
        self.progress.setObjectName("browserProgress")
        self.progress.setMaximumWidth(widgets.chars(self, 20))
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self.setCentralWidget(central)
        self.resize(1280, 900)

        self.engine.page_shown.connect(self._page_shown)
        self.engine.blocked.connect(self._blocked)
        self.engine.refused.connect(self._refused)
        self.engine.load_failed.connect(self._load_failed)
        self.engine.page.loadProgress.connect(self._progress)
        self.engine.page.urlChanged.connect(lambda url: self.address.setText(url.toString()))
        self.address.returnPressed.connect(self.go)
        self.go_button.clicked.connect(self.go)
        self.back_button.clicked.connect(
            lambda: self.engine.page.triggerAction(QWebEnginePage.WebAction.Back)
        )
        self.forward_button.clicked.connect(
            lambda: self.engine.page.triggerAction(QWebEnginePage.WebAction.Forward)
        )
        self.capture_button.clicked.connect(self.capture_page)
        self.end_button.clicked.connect(self.close)
        QShortcut(QKeySequence.StandardKey.Save, self, self.capture_page)
        QShortcut(QKeySequence("Ctrl+L"), self, self._focus_address)
        QShortcut(QKeySequence("Alt+Left"), self, self.back_button.click)
        QShortcut(QKeySequence("Alt+Right"), self, self.forward_button.click)

        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.flush_timer = QTimer(self)
        self.flush_timer.setInterval(FLUSH_REQUESTS_MS)
        self.flush_timer.timeout.connect(self._flush_requests)
        self.flush_timer.start()
        self._tick()
        self.address.setText(opened.start_url)
        self.engine.load(opened.start_url)

    # -- the gate -------------------------------------------------------------------------

    def _policy(self, url: str, kind: str) -> str | None:
        """Chromium waits for this answer: the gate's decision for one navigation."""
        if self.ended:
            return "This viewing session has ended; open a new session to look again."
        try:
            return browse_jobs.navigate(self.who, self.opened.id, url, kind)
        except CaseviewError as exc:
            return str(exc)
        except Exception as exc:  # the navigation is refused; the worker is told why
            logger.exception("the gate could not be asked about %s", url)
            return (
                f"Caseview could not check this address against the request ({exc}), so "
                "nothing was loaded. Try again."
            )

    def go(self) -> None:
        text = self.address.text().strip()
        if not text or self.ended:
            return
        if "://" not in text:
            text = "https://" + text
        self.engine.load(text)

    # -- what the engine reports ----------------------------------------------------------

    def _page_shown(self, page: PageShown) -> None:
        self.log.add(browse_jobs.log_page, self.opened.id, page)
        self._flush_requests()
        if page.how == "load" and self.opened.capture_every_page and not self.ended:
            self.capture_page()

    def _flush_requests(self) -> None:
        seen: tuple[RequestSeen, ...] = self.engine.requests()
        fresh = seen[self.flushed :]
        if fresh:
            self.flushed = len(seen)
            self.log.add(browse_jobs.log_requests, self.opened.id, fresh)

    def _blocked(self, what: str, url: str, detail: str) -> None:
        self.log.add(browse_jobs.log_blocked, self.opened.id, what, url, detail)
        if what == "download":
            self.show_message(DOWNLOAD_ADVICE.format(url=url))
        elif what in ("form", "post"):
            self.show_message(
                "Forms cannot be submitted in the evidence browser: nothing was sent to the site."
            )
        else:
            self.show_message(f"Refused by the evidence browser ({what}): {detail}")

    def _refused(self, url: str, kind: str, message: str) -> None:
        self.show_message(message)
        # The address bar shows what is on screen, not the address that was refused.
        self.address.setText(self.engine.page.url().toString())

    def _load_failed(self, url: str, reason: str) -> None:
        self.show_message(f"The page could not be loaded ({reason}): {url}")

    def _progress(self, percent: int) -> None:
        self.progress.setValue(percent)
        self.progress.setVisible(0 < percent < 100)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
        self.statusBar().showMessage(text[:200], 15_000)

    def _log_failed(self, exc: BaseException) -> None:
        if not self.ended:
            self.show_message(f"Caseview could not record what this session showed: {exc}")

    # -- capture --------------------------------------------------------------------------

    def capture_page(self) -> None:
        if self.ended or self.capturing or not self.engine.has_document:
            return
        self.capturing = True
        self.capture_button.setEnabled(False)
        self.statusBar().showMessage("Capturing this page…")
        self.engine.capture(self.view, self._rendered)

    def _rendered(self, result: Rendered | Exception) -> None:
        if isinstance(result, Exception):
            self._capture_failed(result)
            return
        self._flush_requests()
        run_task(
            browse_jobs.capture,
            self.who,
            self.opened.id,
            result,
            on_returned=self._stored,
            on_errored=self._capture_failed,
            on_finished=self._capture_done,
            owner=self,
        )

    def _stored(self, record: Any) -> None:
        self.show_message(
            f"Captured as source {record.id}: its page (MHTML), rendered HTML, full-page "
            "screenshot and text are kept in the case file."
        )
        self.captured.emit(int(record.id))

    def _capture_failed(self, exc: BaseException) -> None:
        self.capturing = False
        self.capture_button.setEnabled(not self.ended)
        self.show_message(f"The page was not captured: {exc}")

    def _capture_done(self) -> None:
        self.capturing = False
        self.capture_button.setEnabled(not self.ended)

    # -- the session's clock and end ------------------------------------------------------

    def remaining_seconds(self) -> float:
        return (self.opened.ends_by - datetime.now(UTC)).total_seconds()

    def _tick(self) -> None:
        used = (datetime.now(UTC) - self.opened.started_at).total_seconds()
        total = (self.opened.ends_by - self.opened.started_at).total_seconds()
        self.clock_label.setText(f"Session: {_clock(used)} of {_clock(total)}")
        if not self.ended and self.remaining_seconds() <= 0:
            self.end_session("time_limit")
            self.show_message(
                f"This session reached its {self.opened.max_minutes}-minute maximum and has "
                "ended. Close this window; a new session is a new look."
            )

    def end_session(self, reason: str) -> None:
        """Stop the page and end the session (once); nothing more loads or is captured."""
        if self.ended:
            return
        self.ended = True
        self.engine.page.triggerAction(QWebEnginePage.WebAction.Stop)
        self._flush_requests()
        for widget in (
            self.address,
            self.go_button,
            self.capture_button,
            self.back_button,
            self.forward_button,
        ):
            widget.setEnabled(False)
        self.view.setEnabled(False)
        self.log.add(browse_jobs.end, self.opened.id, reason)

    def _focus_address(self) -> None:
        self.address.setFocus()
        self.address.selectAll()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.timer.stop()
        self.flush_timer.stop()
        self.end_session("closed")
        self.log.on_error = None  # the window is going; the log still drains
        self.engine.close()
        self.closed.emit()
        super().closeEvent(event)
