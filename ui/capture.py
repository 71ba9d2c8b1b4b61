"""Capture a public page: pick the request and person, promise again, capture.

Only requests that allow a look now are offered (approved or an emergency in use, in
date, with a planned viewing left: ``viewings.requests_open_for``), each with its
viewings left and the people it names. The capture runs in the background with a Cancel
button; the gate is checked again by the service, and a refusal names its rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import crash, jobs, messages, widgets
from ui.identity import Identity
from ui.tasks import Task, run_task

if TYPE_CHECKING:
    from caseview.captures import SourceRecord  # typing only: keeps start-up light

PROMISE = (
    "I am viewing logged out, with no personal or fake profile; I will not interact with "
    "anyone; and I am viewing nothing limited to friends or followers."
)


class CaptureDialog(QDialog):
    captured = Signal(int)
    """The capture is stored: its source id."""

    PREFIX = "capture"
    """Object names of this dialog's widgets start with it (``captureUrl``, ...)."""
    TITLE = "Capture a public page"
    ACTION = "&Capture"

    def __init__(self, parent: QWidget | None, who: Identity, case_id: int) -> None:
        super().__init__(parent)
        p = self.PREFIX
        self.setObjectName(f"{p}Dialog")
        self.setWindowTitle(self.TITLE)
        self.who = who
        self.case_id = case_id
        self.choices: jobs.CaptureChoices | None = None
        self.task: Task | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(widgets.heading(self.TITLE))
        self.explain = widgets.note("Loading the requests you may capture under…")
        self.explain.setObjectName(f"{p}Explain")
        self.explain.setAccessibleName("About this capture")
        layout.addWidget(self.explain)
        form = QFormLayout()
        self.url = QLineEdit()
        self.url.setObjectName(f"{p}Url")
        self.url.setPlaceholderText("https://…")
        widgets.add_row(form, "Page &address:", self.url)
        self.request = widgets.request_choice(f"{p}Justification")
        widgets.add_row(form, "Under &request:", self.request)
        self.subject = QComboBox()
        self.subject.setObjectName(f"{p}Subject")
        widgets.add_row(form, "Person it is a&bout:", self.subject)
        layout.addLayout(form)
        self.attest, promise_row = widgets.promise(PROMISE, f"{p}Attest")
        layout.addLayout(promise_row)
        self.progress = QProgressBar()
        self.progress.setObjectName(f"{p}Progress")
        self.progress.setAccessibleName("Capture progress")
        self.progress.setRange(0, 0)
        self.progress.hide()
        layout.addWidget(self.progress)
        layout.addStretch(1)  # a taller window gives the space here, not between rows
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.capture_button = QPushButton(self.ACTION)
        self.capture_button.setObjectName(f"{p}StartButton")
        self.capture_button.setAccessibleName(self.ACTION.replace("&", ""))
        self.capture_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName(f"{p}CancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        buttons.addWidget(self.capture_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.capture_button.clicked.connect(self.start_capture)
        self.cancel_button.clicked.connect(self.cancel)
        self.request.currentIndexChanged.connect(self._request_chosen)
        for signal in (self.url.textChanged, self.attest.toggled, self.subject.currentIndexChanged):
            signal.connect(self._update)
        self._update()
        self.setMinimumWidth(widgets.chars(self, 80))
        run_task(jobs.capture_choices, who, case_id, on_returned=self._loaded, owner=self)

    def _loaded(self, choices: jobs.CaptureChoices) -> None:
        self.choices = choices
        self.request.clear()
        offered = choices.for_looking()
        for choice in offered:
            self.request.addItem(choice.label, choice.record.id)
        may = choices.abilities.capture
        none_left = (
            "No request allows a look now: every approved request in date has used its "
            "planned viewings. A further look needs a new request and a manager's approval."
            if not offered and choices.requests
            else "No request allows a look now: a request must be approved (or an "
            "emergency in use) and in date."
        )
        self.explain.setText(
            may.reason
            or (
                none_left
                if not offered
                else "Only requests that allow a capture now are listed, with their "
                "viewings left and the people they name. The gate checks the address and "
                "the repeat-viewing meter again when you capture."
            )
        )
        self._request_chosen()

    def _request_chosen(self) -> None:
        self.subject.clear()
        if self.choices is None:
            return
        chosen = self.request.currentData()
        for choice in self.choices.for_looking():
            record = choice.record
            if record.id == chosen:
                for subject in choice.subjects:
                    self.subject.addItem(f"{subject.name} ({subject.role.value})", subject.id)
                hosts = " ".join([*record.request.scope_hosts, *record.request.scope_urls])
                if hosts and not self.url.text():
                    self.url.setPlaceholderText(f"An address within: {hosts}")
        self._update()

    def _update(self) -> None:
        running = self.task is not None
        ready = (
            bool(self.url.text().strip())
            and self.request.currentData() is not None
            and self.subject.currentData() is not None
            and self.attest.isChecked()
        )
        refusal = self.choices.abilities.capture.reason if self.choices is not None else ""
        self.capture_button.setEnabled(ready and not refusal and not running)
        self.capture_button.setToolTip(
            refusal
            or ("" if ready else "Give the address, choose the request and person, and promise.")
        )
        for widget in (self.url, self.request, self.subject, self.attest):
            widget.setEnabled(not running)
        self.progress.setVisible(running)
        self.cancel_button.setText("Stop the capture" if running else "Cancel")

    def add_note(self, text: str) -> None:
        """A line of advice under the explanation (the demo's, say)."""
        note = widgets.note(text)
        note.setObjectName(f"{self.PREFIX}Note")
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(2, note)  # after the heading and the explanation

    def start_capture(self) -> None:
        if self.task is not None:
            return
        self.task = run_task(
            jobs.capture,
            self.who,
            self.case_id,
            self.url.text().strip(),
            int(self.request.currentData()),
            int(self.subject.currentData()),
            self.attest.isChecked(),
            on_returned=self._done,
            on_errored=self._failed,
            on_finished=self._finished,
            owner=self,
            cancellable=True,
        )
        self._update()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.progress.setFormat("Stopping…")
            return
        self.reject()

    def _finished(self) -> None:
        self.task = None
        self._update()

    def _done(self, record: SourceRecord) -> None:
        self.captured.emit(record.id)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        crash.report(self, exc)

    def reject(self) -> None:
        if self.task is not None:
            if not messages.confirm(self, "A capture is running. Stop it and close?"):
                return
            self.task.cancel()
        super().reject()


class BrowseDialog(CaptureDialog):
    """Open the evidence browser: the same choices and promise as a capture. The gate
    decides before anything loads, and the whole session is one look."""

    opened = Signal(object)
    """The session is open: a :class:`caseview.browsing.BrowseSession`."""

    PREFIX = "browse"
    TITLE = "Look at a public page in the evidence browser"
    ACTION = "Open the &browser"

    def start_capture(self) -> None:
        if self.task is not None:
            return
        from ui import browse_jobs  # local: the browser is opened rarely

        self.task = run_task(
            browse_jobs.start,
            self.who,
            self.case_id,
            int(self.request.currentData()),
            int(self.subject.currentData()),
            self.url.text().strip(),
            self.attest.isChecked(),
            on_returned=self._opened,
            on_errored=self._failed,
            on_finished=self._finished,
            owner=self,
        )
        self._update()

    def request_label(self) -> str:
        """The request as the browser window names it: number, date and question."""
        chosen = self.request.currentData()
        for choice in self.choices.requests if self.choices is not None else ():
            if choice.record.id == chosen:
                request = choice.record.request
                question = request.question
                short = question if len(question) <= 70 else question[:69] + "…"
                return f"#{chosen}, valid until {request.valid_until.isoformat()}: {short}"
        return self.request.currentText()

    def _opened(self, session: object) -> None:
        self.opened.emit(session)
        self.accept()
