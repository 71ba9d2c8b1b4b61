"""Import a saved file: a screenshot, PDF, saved web page (HTML, MHTML) or text file.

The worker says which address the file shows, when it was viewed, and where it came
from: their own look (a viewing, checked like a capture: scope, planned viewings,
repeat-viewing meter) or material supplied by the family, an agency, a colleague or
the public (recorded with who supplied it; not a viewing). Only requests that allow
it now are offered, each with its viewings left: for one's own look, those with a
planned viewing left; for supplied material, every request that may be used now.
As the form is filled in, the gate is asked in the background whether it would allow
the import and a refusal names its rule; the import itself runs in the background and
the service checks everything again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDateTime, QTimer, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseview.errors import CaseviewError
from ui import admin_jobs, crash, jobs, messages, widgets
from ui.identity import Identity
from ui.tasks import Task, run_task

if TYPE_CHECKING:
    from caseview.captures import SourceRecord  # typing only: keeps start-up light

FILE_FILTER = (
    "Saved pages and screenshots (*.png *.jpg *.jpeg *.pdf *.html *.htm *.mht *.mhtml *.txt)"
    ";;All files (*)"
)
ORIGINS = (
    ("self", "I viewed it myself"),
    ("family", "Supplied by the family"),
    ("agency", "Supplied by a partner agency"),
    ("colleague", "Supplied by a colleague"),
    ("public", "Supplied by a member of the public"),
)
PROMISE = (
    "when I viewed it I was logged out, with no personal or fake profile; I did not "
    "interact with anyone; and it was not limited to friends or followers."
)
CHECK_DELAY_MS = 300  # ask the gate once typing pauses, not on every key


def local_files(urls: list[QUrl]) -> list[Path]:
    """The local files among dropped URLs (a dragged link is not a file)."""
    return [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]


def aware(moment: QDateTime) -> datetime:
    """A date-time edit's value as an aware UTC datetime."""
    return datetime.fromtimestamp(moment.toMSecsSinceEpoch() / 1000, UTC)


class ImportDialog(QDialog):
    imported = Signal(int)
    """The file is stored as a source: its id."""

    def __init__(
        self, parent: QWidget | None, who: Identity, case_id: int, path: Path | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("importDialog")
        self.setWindowTitle("Import a saved file")
        self.setAcceptDrops(True)
        self.who = who
        self.case_id = case_id
        self.choices: jobs.CaptureChoices | None = None
        self.task: Task | None = None
        self.answer: admin_jobs.GateAnswer | None = None
        self._asked = 0  # which gate question the latest answer belongs to

        layout = QVBoxLayout(self)
        layout.addWidget(widgets.heading("Import a saved file"))
        self.explain = widgets.note("Loading the requests you may import under…")
        self.explain.setObjectName("importExplain")
        self.explain.setAccessibleName("About this import")
        layout.addWidget(self.explain)

        form = QFormLayout()
        self.file = QLineEdit()
        self.file.setObjectName("importFile")
        self.file.setPlaceholderText("A screenshot, PDF, saved web page or text file")
        self.choose_button = QPushButton("C&hoose…")
        self.choose_button.setObjectName("importChooseButton")
        self.choose_button.setAccessibleName("Choose a file")
        file_row = QWidget()
        file_layout = QHBoxLayout(file_row)
        file_layout.setContentsMargins(0, 0, 0, 0)
        file_layout.addWidget(self.file, 1)
        file_layout.addWidget(self.choose_button)
        file_label = QLabel("&File:")
        file_label.setBuddy(self.file)
        self.file.setAccessibleName("File")
        self.file.setAccessibleDescription("You can also drop a file on this window.")
        form.addRow(file_label, file_row)

        self.url = QLineEdit()
        self.url.setObjectName("importUrl")
        self.url.setPlaceholderText("https://… (the address the page or screenshot shows)")
        widgets.add_row(form, "Page a&ddress it shows:", self.url)

        self.viewed_at = QDateTimeEdit()
        self.viewed_at.setObjectName("importViewedAt")
        self.viewed_at.setCalendarPopup(True)
        self.viewed_at.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.viewed_at.setDateTime(QDateTime.currentDateTime())
        self.zone = datetime.now().astimezone().tzname() or "local time"
        self.viewed_hint = QLabel(self.zone)
        self.viewed_hint.setObjectName("importViewedHint")
        viewed_row = QWidget()
        viewed_layout = QHBoxLayout(viewed_row)
        viewed_layout.setContentsMargins(0, 0, 0, 0)
        viewed_layout.addWidget(self.viewed_at)
        viewed_layout.addWidget(self.viewed_hint, 1)
        viewed_label = QLabel("&Viewed at:")
        viewed_label.setBuddy(self.viewed_at)
        self.viewed_at.setAccessibleName("Viewed at")
        self._describe_viewed_at("")
        form.addRow(viewed_label, viewed_row)

        self.origin = QComboBox()
        self.origin.setObjectName("importOrigin")
        for value, text in ORIGINS:
            self.origin.addItem(text, value)
        widgets.add_row(form, "&Where it came from:", self.origin)
        self.supplied_by = QLineEdit()
        self.supplied_by.setObjectName("importSuppliedBy")
        self.supplied_by.setPlaceholderText("e.g. maternal grandmother, school safeguarding lead")
        widgets.add_row(form, "&Supplied by:", self.supplied_by)

        self.request = widgets.request_choice("importJustification")
        widgets.add_row(form, "Under &request:", self.request)
        self.subject = QComboBox()
        self.subject.setObjectName("importSubject")
        widgets.add_row(form, "Person it is a&bout:", self.subject)
        layout.addLayout(form)

        self.attest, promise_row = widgets.promise(PROMISE, "importAttest")
        layout.addLayout(promise_row)

        self.gate = widgets.note()
        self.gate.setObjectName("importGate")
        self.gate.setAccessibleName("What the gate says")
        layout.addWidget(self.gate)
        self.progress = QProgressBar()
        self.progress.setObjectName("importProgress")
        self.progress.setAccessibleName("Import progress")
        self.progress.setRange(0, 0)
        self.progress.setFormat("Importing…")
        self.progress.hide()
        layout.addWidget(self.progress)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.import_button = QPushButton("&Import")
        self.import_button.setObjectName("importStartButton")
        self.import_button.setAccessibleName("Import")
        self.import_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("importCancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)

        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.check_gate)

        self.choose_button.clicked.connect(self.choose_file)
        self.import_button.clicked.connect(self.start_import)
        self.cancel_button.clicked.connect(self.reject)
        self.request.currentIndexChanged.connect(self._request_chosen)
        self.origin.currentIndexChanged.connect(self._origin_chosen)
        # Another file: a "Not imported" about the last one would mislead, so ask again.
        self.file.textChanged.connect(self._form_changed)
        self.supplied_by.textChanged.connect(self._update)
        self.attest.toggled.connect(self._form_changed)
        for signal in (
            self.url.textChanged,
            self.viewed_at.dateTimeChanged,
            self.origin.currentIndexChanged,
            self.subject.currentIndexChanged,
        ):
            signal.connect(self._form_changed)
        self.setMinimumWidth(widgets.chars(self, 96))
        self._origin_chosen()
        if path is not None:
            self.set_file(path)
        run_task(jobs.capture_choices, who, case_id, on_returned=self._loaded, owner=self)

    # --- the file ---------------------------------------------------------------------

    def set_file(self, path: Path) -> None:
        """Use this file, and take its date as a first guess at when it was viewed."""
        self.file.setText(str(path))
        try:
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except OSError:
            return  # the import says plainly why it cannot read the file
        latest = min(modified, datetime.now(UTC))
        shown = QDateTime.fromMSecsSinceEpoch(int(latest.timestamp() * 1000))
        self.viewed_at.setDateTime(shown)
        self.viewed_hint.setText(f"{self.zone}, from the file's date: check it")
        self._describe_viewed_at(
            "Filled in from the file's date; change it to when the page was viewed, if "
            "that was earlier."
        )

    def _describe_viewed_at(self, extra: str) -> None:
        text = (
            f"When the page was viewed, in this computer's time ({self.zone}); stored in "
            f"UTC. {extra}"
        ).strip()
        self.viewed_at.setToolTip(text)
        self.viewed_at.setAccessibleDescription(text)

    def choose_file(self) -> None:
        start = Path(self.file.text()).parent if self.file.text() else Path.home()
        chosen = messages.open_path(self, "Choose the file to import", start, FILE_FILTER)
        if chosen is not None:
            self.set_file(chosen)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.task is None and len(local_files(event.mimeData().urls())) == 1:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event.mimeData().urls())
        if self.task is None and len(files) == 1:
            self.set_file(files[0])
            event.acceptProposedAction()
        else:
            event.ignore()

    # --- the choices ------------------------------------------------------------------

    def _loaded(self, choices: jobs.CaptureChoices) -> None:
        self.choices = choices
        may = choices.abilities.import_file
        if not may.allowed:
            self.explain.setText(may.reason)
        else:
            self.explain.setText(
                "The file is stored exactly as it is, with its SHA-256. Only requests that "
                "allow material to be recorded now are listed, with their viewings left and "
                "the people they name. A look you made yourself uses a viewing and must fit "
                "the request's scope; material someone gave you uses none and is recorded "
                "with who gave it."
            )
        self._fill_requests()

    def offered(self) -> tuple[jobs.RequestChoice, ...]:
        """The requests this import may go under: a look of one's own needs a viewing left."""
        if self.choices is None:
            return ()
        if self.origin_value == "self":
            return self.choices.for_looking()
        return self.choices.requests

    def _fill_requests(self) -> None:
        """List the requests for the origin chosen, keeping the chosen one if it stays."""
        chosen = self.request.currentData()
        self.request.blockSignals(True)
        self.request.clear()
        for choice in self.offered():
            self.request.addItem(choice.label, choice.record.id)
        index = self.request.findData(chosen)
        self.request.setCurrentIndex(index if index >= 0 else 0)
        self.request.blockSignals(False)
        self._request_chosen()

    def _no_request(self) -> str:
        """Why no request is offered, or "" when one is."""
        if self.choices is None or self.offered():
            return ""
        if self.choices.requests:
            return (
                "No request allows a look of your own now: each one approved and in date has "
                "used its planned viewings. Material someone gave you can still be recorded."
            )
        return (
            "No request may be used now: a request must be approved (or an emergency in "
            "use) and in date."
        )

    def _request_chosen(self) -> None:
        self.subject.clear()
        if self.choices is not None:
            chosen = self.request.currentData()
            for choice in self.offered():
                if choice.record.id == chosen:
                    for subject in choice.subjects:
                        self.subject.addItem(f"{subject.name} ({subject.role.value})", subject.id)
        self._form_changed()

    def _origin_chosen(self) -> None:
        self_collected = self.origin.currentData() == "self"
        self.supplied_by.setEnabled(not self_collected)
        self.attest.setEnabled(self_collected)
        if self_collected:
            self.attest.setToolTip("Recorded with the import, as the promise for your look.")
        else:
            self.attest.setChecked(False)
            self.attest.setToolTip("Not asked: you did not view this yourself.")
        self.supplied_by.setToolTip(
            "Not asked: you viewed it yourself."
            if self_collected
            else "Who gave it to you, as you would write it in the case record."
        )
        if self.choices is not None:
            self._fill_requests()
        self._update()

    # --- the gate, as the form is filled in -------------------------------------------

    def _form_changed(self) -> None:
        self.answer = None
        self._asked += 1  # any answer still on its way is about the old form
        self._check_timer.start()
        self._update()

    def _question(self) -> tuple[int, int, str, datetime, str, bool] | None:
        request, subject = self.request.currentData(), self.subject.currentData()
        url = self.url.text().strip()
        if request is None or subject is None or not url:
            return None
        return (
            int(request),
            int(subject),
            url,
            aware(self.viewed_at.dateTime()),
            self.origin_value,
            self.attest.isChecked(),
        )

    @property
    def origin_value(self) -> str:
        return str(self.origin.currentData())

    def check_gate(self) -> None:
        """Ask the gate about the form as it stands (in the background)."""
        question = self._question()
        if question is None or self.choices is None or self.refusal():
            self.gate.setText("" if self.refusal() else self._no_request())
            return
        asked = self._asked
        run_task(
            admin_jobs.import_check,
            self.who,
            self.case_id,
            *question,
            on_returned=lambda answer: self._answered(asked, answer),
            on_errored=lambda exc: self._check_failed(asked, exc),
            owner=self,
        )

    def _answered(self, asked: int, answer: admin_jobs.GateAnswer) -> None:
        if asked != self._asked:
            return
        self.answer = answer
        if answer.allowed:
            self.gate.setText(
                "The gate allows this import." + (f" {answer.warning}" if answer.warning else "")
            )
        else:
            self.gate.setText(f"Refused ({answer.rule}): {answer.message}")
        self._update()

    def _check_failed(self, asked: int, exc: BaseException) -> None:
        if asked != self._asked:
            return
        if isinstance(exc, CaseviewError):
            self.gate.setText(str(exc))
        else:
            crash.report(self, exc)

    # --- importing ----------------------------------------------------------------------

    def refusal(self) -> str:
        """Why nothing can be imported into this case now ("" if it can, or not known yet)."""
        return self.choices.abilities.import_file.reason if self.choices is not None else ""

    def missing(self) -> str:
        """What still has to be given before importing, or "" when nothing."""
        if self.refusal():
            return self.refusal()
        if not self.file.text().strip():
            return "Choose the file to import, or drop it on this window."
        if not self.url.text().strip():
            return "Give the address the file shows."
        if self.request.currentData() is None or self.subject.currentData() is None:
            return "Choose the request and the person it is about."
        if self.origin_value != "self" and not self.supplied_by.text().strip():
            return "Say who supplied it."
        if aware(self.viewed_at.dateTime()) > datetime.now(UTC):
            return "The viewing time is in the future. Give the time the page was viewed."
        if self.answer is not None and not self.answer.allowed:
            return f"The gate refuses this ({self.answer.rule}); see its reason above."
        return ""

    def _update(self) -> None:
        running = self.task is not None
        missing = self.missing()
        self.import_button.setEnabled(not missing and not running)
        self.import_button.setToolTip(missing)
        self.import_button.setAccessibleDescription(missing)
        for widget in (
            self.file,
            self.choose_button,
            self.url,
            self.viewed_at,
            self.origin,
            self.request,
            self.subject,
        ):
            widget.setEnabled(not running)
        self.supplied_by.setEnabled(not running and self.origin_value != "self")
        self.attest.setEnabled(not running and self.origin_value == "self")
        self.progress.setVisible(running)

    def start_import(self) -> None:
        if self.task is not None:
            return
        question = self._question()
        if question is None or not self.file.text().strip():
            messages.error(self, self.missing() or "Fill in the form first.")
            return
        request, subject, url, viewed_at, origin, attested = question
        self.task = run_task(
            admin_jobs.import_file,
            self.who,
            self.case_id,
            Path(self.file.text().strip()),
            url,
            viewed_at,
            request,
            subject,
            origin,
            self.supplied_by.text().strip() if origin != "self" else "",
            attested,
            on_returned=self._done,
            on_errored=self._failed,
            on_finished=self._finished,
            owner=self,
        )
        self._update()

    def _finished(self) -> None:
        self.task = None
        self._update()

    def _done(self, record: SourceRecord) -> None:
        self.imported.emit(record.id)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, CaseviewError):
            self.gate.setText(f"Not imported. {exc}")
        crash.report(self, exc)

    def reject(self) -> None:
        if self.task is not None:
            # A local import is quick and saved whole or not at all; let it finish.
            messages.info(self, "The file is being imported; this window closes when it is done.")
            return
        super().reject()
