"""One case on screen: its header and buttons, and the tabs (overview, sources,
observations, note, audit trail). Every load runs in the background (``ui.jobs``)."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import shiboken6
from PySide6.QtCore import QModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from caseview.abilities import Abilities
from caseview.audit import Checkpoint, VerifyResult
from caseview.browse import SourcePage, SourceRow
from caseview.domain import Case, CaseStatus, Role
from caseview.justifications import JustificationRecord
from caseview.notes import Note
from caseview.observations import Observation
from ui import crash, jobs, messages, widgets
from ui.checkpoint import CheckpointField
from ui.identity import Identity
from ui.models import (
    ID_ROLE,
    ROW_ROLE,
    AuditModel,
    JustificationsModel,
    ObservationsModel,
    SourcesModel,
    SubjectsModel,
)
from ui.note_editor import NOTE_SECTIONS, NoteEditor
from ui.note_editor import version_text as note_version_text
from ui.observation_editor import ObservationEditor, source_text
from ui.tasks import run_task

NO_CASE_REASON = "Choose a case in the list first."
LOADING_REASON = "Finding out what you may do on this case…"


_T = TypeVar("_T")


def open_document(path: Path) -> bool:
    """Open ``path`` in the desktop's program for it; False if none did.

    Tests replace this function, as they replace ``ui.messages``.
    """
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))


def button(text: str, name: str, tip: str = "") -> QPushButton:
    widget = QPushButton(text)
    widget.setObjectName(name)
    widget.setAccessibleName(widgets.plain(text).rstrip("…"))
    if tip:
        widget.setToolTip(tip)
        widget.setAccessibleDescription(tip)
    return widget


def allow(widget: QWidget, reason: str, default_tip: str = "") -> None:
    """Enable ``widget``, or disable it with a tooltip saying why (``reason``)."""
    widget.setEnabled(not reason)
    widget.setToolTip(reason or default_tip)
    widget.setAccessibleDescription(reason or default_tip)


class OverviewTab(QWidget):
    request_opened = Signal(object)
    """A request was activated (Enter or double-click): its JustificationRecord."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("overviewTab")
        layout = QVBoxLayout(self)
        self.summary = widgets.note()
        self.summary.setObjectName("caseSummary")
        self.summary.setAccessibleName("Case summary")
        layout.addWidget(self.summary)
        layout.addWidget(widgets.heading("People in this case", 1.1))
        self.subjects = SubjectsModel(self)
        self.subjects_view = widgets.table(
            self.subjects, "subjectsTable", "People in this case", stretch=SubjectsModel.METER
        )
        layout.addWidget(self.subjects_view, 1)
        layout.addWidget(widgets.heading("Requests to look", 1.1))
        self.requests = JustificationsModel(self)
        self.requests_view = widgets.table(
            self.requests,
            "justificationsTable",
            "Requests to look (justifications)",
            stretch=JustificationsModel.QUESTION,
        )
        self.requests_view.setToolTip("Press Enter or double-click to open a request.")
        self.requests_view.activated.connect(self._activated)
        layout.addWidget(self.requests_view, 2)

    def show_overview(self, overview: jobs.Overview) -> None:
        case = overview.case
        staff = ", ".join(f"{u.display_name} ({u.username})" for u in overview.members)
        self.summary.setText(
            f"Opened by {case.created_by} on {case.created_at:%d %B %Y}. "
            f"Allocated to: {staff or 'nobody yet'}."
        )
        self.subjects.set_rows(overview.subjects)
        self.requests.set_rows(overview.justifications)
        widgets.fit_columns(self.subjects_view)
        widgets.fit_columns(self.requests_view)

    def clear(self) -> None:
        self.summary.clear()
        self.subjects.set_rows(())
        self.requests.set_rows(())

    def _activated(self, index: QModelIndex) -> None:
        record = self.requests.data(index, ROW_ROLE)
        if isinstance(record, JustificationRecord):
            self.request_opened.emit(record)


class SourcesTab(QWidget):
    source_opened = Signal(int)

    def __init__(self, who: Identity) -> None:
        super().__init__()
        self.setObjectName("sourcesTab")
        self.who = who
        self.case_id: int | None = None
        self._generation = 0
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("sourceSearch")
        self.search.setPlaceholderText("Search titles, addresses, people and hashes")
        self.search.setClearButtonEnabled(True)
        self.search.setAcceptDrops(False)  # a dropped file goes to the window: an import
        search_label = QLabel("Se&arch:")
        search_label.setBuddy(self.search)
        self.search.setAccessibleName("Search sources")
        row.addWidget(search_label)
        row.addWidget(self.search, 1)
        self.count = QLabel()
        self.count.setObjectName("sourceCount")
        self.count.setAccessibleName("Number of sources")
        row.addWidget(self.count)
        layout.addLayout(row)
        self.model = SourcesModel(self)
        self.view = widgets.table(self.model, "sourcesTable", "Sources", stretch=SourcesModel.TITLE)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(
            SourcesModel.CAPTURED, Qt.SortOrder.AscendingOrder
        )
        self.view.setToolTip("Press Enter or double-click to open a source.")
        self.view.activated.connect(self._activated)
        layout.addWidget(self.view)
        # Typing restarts the timer; the query runs once the typing pauses.
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(250)
        self.debounce.timeout.connect(self.reload)
        self.search.textChanged.connect(self.debounce.start)
        self.model.order_changed.connect(self.reload)
        self.model.more_requested.connect(self._load_more)
        self._sized = False

    def show_case(self, case_id: int | None) -> None:
        self.case_id = case_id
        self.reload()

    def reload(self) -> None:
        """Ask for the first page in the current order and search."""
        self.debounce.stop()
        self._generation += 1
        if self.case_id is None:
            self.model.set_page(SourcePage((), 0, 0))
            self.count.clear()
            return
        self._load(0)

    def _load(self, offset: int) -> None:
        assert self.case_id is not None
        generation = self._generation
        run_task(
            jobs.load_sources,
            self.who,
            self.case_id,
            self.search.text(),
            self.model.sort_key,
            self.model.descending,
            offset,
            SourcesModel.PAGE,
            on_returned=lambda page: self._loaded(generation, page),
            on_errored=lambda exc: self._failed(generation, exc),
            owner=self,
        )

    def _load_more(self, offset: int) -> None:
        if self.case_id is not None:
            self._load(offset)

    def _loaded(self, generation: int, page: SourcePage) -> None:
        if generation != self._generation:
            return  # an answer for an older search or order
        chosen = self._chosen_id() if page.offset == 0 else None
        self.model.set_page(page)
        ids = [row.id for row in page.rows]
        if chosen in ids:
            self.view.selectRow(ids.index(chosen))  # a reload keeps the person's place
        shown = "source" if page.total == 1 else "sources"
        self.count.setText(
            f"{page.total:,} {shown}" + (" match" if self.search.text().strip() else "")
        )
        if not self._sized and page.rows:
            # Short columns stay short (the full hash is in its tooltip and the source's
            # detail), so the stretched title keeps room to be read.
            widgets.fit_columns(self.view, limit_chars=16)
            self._sized = True

    def _chosen_id(self) -> int | None:
        indexes = self.view.selectionModel().selectedRows()
        row = self.model.data(indexes[0], ROW_ROLE) if indexes else None
        return row.id if isinstance(row, SourceRow) else None

    def _failed(self, generation: int, exc: BaseException) -> None:
        self.model.page_failed()
        if generation == self._generation:
            crash.report(self, exc)

    def _activated(self, index: QModelIndex) -> None:
        source_id = self.model.data(index, ID_ROLE)
        if isinstance(source_id, int):
            self.source_opened.emit(source_id)


class ObservationsTab(QWidget):
    """The case's current observations, with buttons to add one and change one.

    Enter or a double-click on a row opens it: to change for those who may, read-only
    for the rest. Saving happens in the editor (in the background); ``changed`` asks
    the case view to reload.
    """

    changed = Signal(object)
    """An observation was saved: the new Observation (version)."""
    editor_opened = Signal(object)
    """An editor window opened (tests and the flow reach it through this)."""

    def __init__(self, who: Identity, source_hint: Callable[[], tuple[int, str] | None]) -> None:
        super().__init__()
        self.setObjectName("observationsTab")
        self.who = who
        self.case_id: int | None = None
        self.reason = NO_CASE_REASON
        self.source_hint = source_hint
        self._select_root: int | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(
            widgets.note(
                "What was concluded from each source, graded (source reliability A-F, "
                "information credibility 1-6). Only observations relied upon are treated "
                "as fact in the note."
            )
        )
        row = QHBoxLayout()
        self.add_button = button("A&dd an observation…", "addObservationButton")
        self.edit_button = button("&Edit the observation…", "editObservationButton")
        row.addWidget(self.add_button)
        row.addWidget(self.edit_button)
        row.addStretch(1)
        self.count = QLabel()
        self.count.setObjectName("observationCount")
        self.count.setAccessibleName("Number of observations")
        row.addWidget(self.count)
        layout.addLayout(row)
        self.model = ObservationsModel(self)
        self.view = widgets.table(self.model, "observationsTable", "Observations")
        self.view.horizontalHeader().setStretchLastSection(False)  # see _size_text_column
        self.view.setToolTip("Press Enter or double-click to open an observation.")
        layout.addWidget(self.view)
        QWidget.setTabOrder(self.add_button, self.edit_button)
        QWidget.setTabOrder(self.edit_button, self.view)
        self.add_button.clicked.connect(self.add)
        self.edit_button.clicked.connect(self.open_current)
        self.view.activated.connect(self.open_row)
        self.view.selectionModel().selectionChanged.connect(self._update)
        self.model.modelReset.connect(self._update)
        self._update()

    def show_case(self, case_id: int | None) -> None:
        if case_id != self.case_id:
            self.model.set_rows(())
        self.case_id = case_id

    def allow_changes(self, reason: str) -> None:
        """``reason`` why nothing may be added or changed now, or "" when it may."""
        self.reason = reason
        self._update()

    def show_rows(self, rows: list[Observation]) -> None:
        chosen = self.current()
        keep = self._select_root or (chosen.root_id if chosen is not None else None)
        self._select_root = None
        self.model.set_rows(rows)
        widgets.fit_columns(self.view, limit_chars=16)  # full texts are in the tooltips
        self._size_text_column()
        for number, row in enumerate(self.model.rows):
            if row.root_id == keep:
                self.view.selectRow(number)
        shown = len(rows)
        self.count.setText(f"{shown} observation{'s' if shown != 1 else ''}")

    def _size_text_column(self) -> None:
        """The observation gets what the short columns leave, but never under 40
        characters (a stretched column can shrink to nothing; this one scrolls instead)."""
        header = self.view.horizontalHeader()
        others = sum(
            header.sectionSize(column)
            for column in range(self.model.columnCount())
            if column != ObservationsModel.TEXT and not header.isSectionHidden(column)
        )
        room = self.view.viewport().width() - others
        self.view.setColumnWidth(ObservationsModel.TEXT, max(widgets.chars(self.view, 40), room))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._size_text_column()

    def current(self) -> Observation | None:
        indexes = self.view.selectionModel().selectedRows()
        row = self.model.data(indexes[0], ROW_ROLE) if indexes else None
        return row if isinstance(row, Observation) else None

    def _update(self) -> None:
        no_case = NO_CASE_REASON if self.case_id is None else ""
        allow(
            self.add_button,
            no_case or self.reason,
            "Record what you conclude from a source, with its grading (Ctrl+Shift+O).",
        )
        read_only = bool(self.reason) and self.case_id is not None
        self.edit_button.setText(
            "&Open the observation…" if read_only else "&Edit the observation…"
        )
        self.edit_button.setAccessibleName(widgets.plain(self.edit_button.text()).rstrip("…"))
        chosen = "" if self.current() is not None else "Choose an observation in the table first."
        allow(
            self.edit_button,
            no_case or chosen,
            f"{self.reason} It opens read-only." if read_only else "Change it: a new version.",
        )

    def add(self) -> None:
        if self.case_id is None or self.reason:
            return
        self._open(ObservationEditor(self, self.who, self.case_id, source=self.source_hint()))

    def open_current(self) -> None:
        row = self.current()
        if row is not None:
            self.open_observation(row)

    def open_row(self, index: QModelIndex) -> None:
        row = self.model.data(index, ROW_ROLE)
        if isinstance(row, Observation):
            self.open_observation(row)

    def open_observation(self, row: Observation) -> None:
        """Change ``row``, or read it if changes are not allowed (and say why)."""
        if self.case_id is None:
            return
        self._open(
            ObservationEditor(self, self.who, self.case_id, observation=row, reason=self.reason)
        )

    def _open(self, editor: ObservationEditor) -> None:
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(self._saved)
        editor.show()
        self.editor_opened.emit(editor)

    def _saved(self, row: Observation) -> None:
        self._select_root = row.root_id
        self.changed.emit(row)


def note_html(note: Note | None) -> str:
    """The note's sections as HTML, every user text escaped."""
    if note is None:
        return "<p>No note has been written for this case yet.</p>"
    parts = []  # which version, by whom and when is shown above the note (NoteTab.status)
    for field, title in NOTE_SECTIONS:
        text = getattr(note, field)
        if text:
            body = html.escape(text).replace("\n", "<br>")
            parts.append(f"<h3>{html.escape(title)}</h3><p>{body}</p>")
    return "".join(parts)


class NoteTab(QWidget):
    """The note as last saved, and a button that opens the editor (one per case)."""

    changed = Signal(object)
    """A new version of the note was saved: the Note."""
    editor_opened = Signal(object)

    def __init__(self, who: Identity) -> None:
        super().__init__()
        self.setObjectName("noteTab")
        self.who = who
        self.case_id: int | None = None
        self.reason = NO_CASE_REASON
        self.note: Note | None = None
        self.editors: dict[int, NoteEditor] = {}
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.status = widgets.note()
        self.status.setObjectName("noteVersion")
        self.status.setAccessibleName("Note version")
        row.addWidget(self.status, 1)
        self.edit_button = button("Ed&it the note…", "editNoteButton")
        row.addWidget(self.edit_button)
        layout.addLayout(row)
        self.view = QTextBrowser()
        self.view.setObjectName("noteView")
        self.view.setAccessibleName("The reasoned note")
        self.view.setOpenLinks(False)
        layout.addWidget(self.view)
        QWidget.setTabOrder(self.edit_button, self.view)
        self.edit_button.clicked.connect(self.edit)
        self._update()

    def show_case(self, case_id: int | None) -> None:
        if case_id != self.case_id:
            self.note = None
            self.view.clear()
            self.status.clear()
        self.case_id = case_id
        self._update()

    def allow_changes(self, reason: str) -> None:
        self.reason = reason
        self._update()

    def _update(self) -> None:
        allow(
            self.edit_button,
            NO_CASE_REASON if self.case_id is None else self.reason,
            "Write or change the note; each save is a new version (Ctrl+S saves).",
        )

    def show_note(self, note: Note | None) -> None:
        self.note = note
        self.view.setHtml(note_html(note))
        self.status.setText(note_version_text(note))

    def editor(self) -> NoteEditor | None:
        """The open editor of the current case's note, if any."""
        if self.case_id is None:
            return None
        editor = self.editors.get(self.case_id)
        return editor if editor is not None and shiboken6.isValid(editor) else None

    def edit(self) -> None:
        """Open the note editor, or bring the open one to the front."""
        if self.case_id is None or self.reason:
            return
        editor = self.editor()
        if editor is None:
            editor = NoteEditor(self, self.who, self.case_id)
            editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            editor.saved.connect(self.changed)
            self.editors[self.case_id] = editor
            editor.destroyed.connect(
                lambda _=None, case_id=self.case_id: self.editors.pop(case_id, None)
            )
            self.editor_opened.emit(editor)
        editor.show()
        editor.raise_()
        editor.activateWindow()

    def unsaved(self) -> bool:
        """True if the open editor of this case's note has changes not yet saved."""
        editor = self.editor()
        return editor is not None and editor.dirty


def verify_text(result: VerifyResult) -> str:
    """The verification result in plain words."""
    if result.intact:
        return (
            f"Intact. All {result.events:,} audit events and every stored piece of evidence "
            "check out: nothing recorded in them has been changed. On its own this cannot "
            "show that no event was cut from the end of the log, or the log rewritten "
            "whole; checking the file against a checkpoint kept earlier ('caseview verify "
            "--expect-head') does."
        )
    lines = []
    if result.first_break is not None:
        lines.append(
            f"BROKEN at audit event {result.first_break}: {result.problem}. The record from "
            f"that event on cannot be trusted; the events before it are intact."
        )
    lines += [f"Evidence does not match its recorded hash: {p}." for p in result.evidence_problems]
    lines.append(
        "The case file has been changed outside Caseview or damaged. Keep it exactly as it "
        "is and tell your information governance team."
    )
    return "\n".join(lines)


class AuditTab(QWidget):
    def __init__(self, who: Identity) -> None:
        super().__init__()
        self.setObjectName("auditTab")
        self.who = who
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.verify_button = button(
            "V&erify the case file",  # Alt+V is the View menu
            "verifyButton",
            "Recompute every audit hash and evidence hash; the check is itself logged.",
        )
        row.addWidget(self.verify_button)
        self.verify_result = widgets.note("Not verified in this session yet.")
        self.verify_result.setObjectName("verifyResult")
        self.verify_result.setAccessibleName("Verification result")
        row.addWidget(self.verify_result, 1)
        layout.addLayout(row)
        self.checkpoint = CheckpointField("verifyCheckpoint")
        layout.addWidget(self.checkpoint)
        self.model = AuditModel(self)
        self.view = widgets.table(
            self.model, "auditView", "Audit trail of this case", stretch=AuditModel.DETAILS
        )
        layout.addWidget(self.view)
        self.verify_button.clicked.connect(self.verify)

    def show_events(self, events: list[object]) -> None:
        self.model.set_rows(events)  # type: ignore[arg-type]
        widgets.fit_columns(self.view)
        self.view.scrollToBottom()

    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.verify_result.setText("Verifying… (the window stays usable)")
        run_task(
            jobs.verify_case_file,
            self.who,
            on_returned=self._verified,
            on_finished=lambda: self.verify_button.setEnabled(True),
            owner=self,
        )

    def _verified(self, result: VerifyResult) -> None:
        self.verify_result.setText(verify_text(result))
        colour = "#1e6b34" if result.intact else "#a4161a"
        self.verify_result.setStyleSheet(f"color: {colour}; font-weight: bold;")
        if result.intact:
            self.checkpoint.show_checkpoint(
                result.head,
                f"Checkpoint: the audit log up to event {result.head.seq}, whole (give it to "
                "'caseview verify --expect-head' to check this file later):",
            )
        else:
            self.checkpoint.hide()


class CaseView(QWidget):
    """The right-hand side of the main window."""

    wizard_requested = Signal(object, object)
    """(case_id, JustificationRecord or None): open the justification wizard."""
    capture_requested = Signal(int)
    browse_requested = Signal(int)
    import_requested = Signal()
    source_opened = Signal(int)
    busy_changed = Signal(str)
    """A background export started (its description) or ended (empty)."""

    TABS = ("Overview", "Sources", "Observations", "Note", "Audit trail")

    def __init__(self, who: Identity) -> None:
        super().__init__()
        self.setObjectName("caseView")
        self.who = who
        self.case: Case | None = None
        self.may: Abilities | None = None
        """What the user may do on ``case``, as the services answer it (loaded with it)."""
        layout = QVBoxLayout(self)
        self.title = widgets.heading("No case chosen")
        self.title.setObjectName("caseTitle")
        layout.addWidget(self.title)
        actions = QHBoxLayout()
        self.new_request_button = button("&New request to look…", "newRequestButton")
        # Alt+C is the Case menu; Alt+R reaches the button.
        self.capture_button = button("Captu&re a page…", "captureButton")
        self.browse_button = button("&Browse…", "browseButton")
        self.import_button = button("I&mport a saved file…", "importButton")
        self.export_pdf_button = button("Export note as &PDF…", "exportPdfButton")
        self.export_warc_button = button("Export &WARC…", "exportWarcButton")
        for widget in (
            self.new_request_button,
            self.capture_button,
            self.browse_button,
            self.import_button,
            self.export_pdf_button,
            self.export_warc_button,
        ):
            actions.addWidget(widget)
        actions.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setObjectName("busyBar")
        self.progress.setAccessibleName("Working")
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(widgets.chars(self, 24))
        self.progress.hide()
        actions.addWidget(self.progress)
        layout.addLayout(actions)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("caseTabs")
        self.tabs.setAccessibleName("Case tabs")
        self.overview = OverviewTab()
        self.sources = SourcesTab(who)
        self.observations = ObservationsTab(who, self.chosen_source)
        self.note = NoteTab(who)
        self.audit = AuditTab(who)
        for tab, title in zip(
            (self.overview, self.sources, self.observations, self.note, self.audit),
            self.TABS,
            strict=True,
        ):
            self.tabs.addTab(tab, title)
        layout.addWidget(self.tabs, 1)
        self.new_request_button.clicked.connect(self.new_request)
        self.capture_button.clicked.connect(self._capture)
        self.browse_button.clicked.connect(self._browse)
        self.import_button.clicked.connect(self._import)
        self.export_pdf_button.clicked.connect(self.export_pdf)
        self.export_warc_button.clicked.connect(self.export_warc)
        self.overview.request_opened.connect(
            lambda record: self.wizard_requested.emit(record.case_id, record)
        )
        self.sources.source_opened.connect(self.source_opened)
        self.observations.changed.connect(lambda _row: self.refresh_all())
        self.note.changed.connect(lambda _note: self.refresh())
        self._busy = 0
        self.apply_permissions()

    # --- which buttons work -----------------------------------------------------------

    def reason(self, action: str) -> str:
        """Why ``action`` (one of ``caseview.abilities.ACTIONS``) cannot be done on the
        chosen case now, or "" when it can: the services' own answer, loaded with the case."""
        if self.case is None:
            return NO_CASE_REASON
        if self.may is None or self.may.case_id != self.case.id:
            return LOADING_REASON
        return self.may[action].reason

    def apply_permissions(self) -> None:
        allow(
            self.new_request_button,
            self.reason("write_justification"),
            "Write a justification: the question, the safety case and the ethics case.",
        )
        allow(
            self.capture_button,
            self.reason("capture"),
            "Capture a public web page under an approved request.",
        )
        allow(
            self.browse_button,
            self.reason("capture"),
            "Look at public pages in Caseview's evidence browser under an approved request: "
            "the session is one look, and every page it shows is logged (Ctrl+B).",
        )
        allow(
            self.import_button,
            self.reason("import_file"),
            "Import a screenshot, PDF or page you saved, or one you were given (Ctrl+I).",
        )
        self.observations.allow_changes(self.reason("observe"))
        self.note.allow_changes(self.reason("write_note"))
        allow(
            self.export_pdf_button,
            self.reason("export_pdf"),
            "Export the reasoned note of this case as a PDF.",
        )
        allow(
            self.export_warc_button,
            self.reason("export_warc"),
            "Export this case's captures as one WARC file.",
        )

    # --- loading ----------------------------------------------------------------------

    def show_case(self, case: Case | None) -> None:
        if case is None or self.case is None or case.id != self.case.id:
            self.may = None
        self.case = case
        self.observations.show_case(case.id if case is not None else None)
        self.note.show_case(case.id if case is not None else None)
        self.apply_permissions()
        if case is None:
            self.title.setText("No case chosen")
            self.overview.clear()
            self.sources.show_case(None)
            return
        self.title.setText(f"{case.reference}: {case.title}")
        self.title.setAccessibleName(self.title.text())
        self.sources.show_case(case.id)
        self.refresh()

    def refresh(self) -> None:
        """Reload every tab of the current case (the sources tab keeps its search)."""
        if self.case is None:
            return
        case_id = self.case.id
        run_task(jobs.load_overview, self.who, case_id, on_returned=self._overview, owner=self)
        run_task(
            jobs.load_observations,
            self.who,
            case_id,
            on_returned=lambda rows: self._for_case(case_id, self.observations.show_rows, rows),
            owner=self,
        )
        run_task(
            jobs.load_note,
            self.who,
            case_id,
            on_returned=lambda note: self._for_case(case_id, self.note.show_note, note),
            owner=self,
        )
        run_task(jobs.load_audit, self.who, case_id, on_returned=self.audit.show_events, owner=self)

    def _for_case(self, case_id: int, show: Callable[[_T], None], value: _T) -> None:
        """Show ``value`` unless another case was chosen while it loaded."""
        if self.case is not None and self.case.id == case_id:
            show(value)

    def chosen_source(self) -> tuple[int, str] | None:
        """The source chosen in the sources tab (id, words), to add an observation to."""
        indexes = self.sources.view.selectionModel().selectedRows()
        if not indexes:
            return None
        row = self.sources.model.data(indexes[0], ROW_ROLE)
        if not isinstance(row, SourceRow):
            return None
        return row.id, source_text(row)

    def refresh_all(self) -> None:
        self.refresh()
        self.sources.reload()

    def _overview(self, overview: jobs.Overview) -> None:
        if self.case is None or overview.case.id != self.case.id:
            return
        self.case = overview.case
        self.may = overview.abilities
        self.title.setText(
            f"{overview.case.reference}: {overview.case.title}"
            + (" (closed)" if overview.case.status is CaseStatus.CLOSED else "")
        )
        self.apply_permissions()
        self.overview.show_overview(overview)

    # --- actions ------------------------------------------------------------------------

    def new_request(self) -> None:
        if self.case is not None and not self.reason("write_justification"):
            self.wizard_requested.emit(self.case.id, None)

    def _capture(self) -> None:
        if self.case is not None and not self.reason("capture"):
            self.capture_requested.emit(self.case.id)

    def _browse(self) -> None:
        if self.case is not None and not self.reason("capture"):
            self.browse_requested.emit(self.case.id)

    def _import(self) -> None:
        if self.case is not None and not self.reason("import_file"):
            self.import_requested.emit()

    def unsaved_work(self) -> list[str]:
        """The open editors (any case) holding changes not yet saved, by window title."""
        editors: list[NoteEditor | ObservationEditor] = [
            *self.note.editors.values(),
            *self.findChildren(ObservationEditor),
        ]
        return [
            editor.windowTitle().replace("[*]", "")
            for editor in editors
            if shiboken6.isValid(editor) and editor.isVisible() and editor.dirty
        ]

    def _set_busy(self, text: str) -> None:
        self._busy += 1 if text else -1
        self.progress.setVisible(self._busy > 0)
        if text:
            self.progress.setFormat(text)
            self.progress.setToolTip(text)
        self.busy_changed.emit(text)

    def _suggested(self, suffix: str) -> Path:
        assert self.case is not None
        folder = Path.home() / "Documents"
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in self.case.reference)
        return (folder if folder.is_dir() else Path.home()) / f"{safe}{suffix}"

    def export_pdf(self) -> None:
        if self.case is None:
            return
        if self.note.unsaved() and not messages.confirm(
            self,
            "The note has changes you have not saved; the PDF will hold the last saved "
            "version. Export it anyway?",
        ):
            return
        target = messages.save_path(
            self, "Export the note as PDF", self._suggested("-note.pdf"), "PDF files (*.pdf)"
        )
        if target is None:
            return
        self.export_pdf_button.setEnabled(False)
        self._set_busy("Exporting the PDF…")
        done: list[Checkpoint] = []
        run_task(
            jobs.export_pdf,
            self.who,
            self.case.id,
            target,
            on_returned=done.append,
            on_finished=lambda: self._export_finished(
                lambda: self._exported_pdf(target, done[0]) if done else None
            ),
            owner=self,
        )

    def _export_finished(self, then: Callable[[], None] | None = None) -> None:
        """Tidy up after an export, then ``then`` (what it says when it is done): the
        busy bar and the disabled button must not stay on behind that message."""
        self._set_busy("")
        self.apply_permissions()
        self.refresh()
        if then is not None:
            then()

    def _exported_pdf(self, target: Path, checkpoint: Checkpoint) -> None:
        # Whole and copyable on the audit tab; a message box's text cannot be copied.
        self.audit.checkpoint.show_checkpoint(
            checkpoint, f"Checkpoint recorded in the note exported to {target.name}:"
        )
        if messages.confirm(
            self,
            f"The note is saved as {target}.\nIt records the audit log's checkpoint "
            f"{checkpoint.seq}:{checkpoint.hash}, so anyone can check later that the log "
            "was not changed after it (the checkpoint is on the Audit trail tab, with a Copy "
            "button).\n\nOpen it now?",
            title="PDF exported",
        ) and not open_document(target):
            messages.error(
                self,
                f"The PDF is saved, but no program opened it. Open {target} with a PDF reader.",
            )

    def export_warc(self) -> None:
        if self.case is None:
            return
        target = messages.save_path(
            self,
            "Export the captures as WARC",
            self._suggested("-captures.warc.gz"),
            "WARC files (*.warc.gz)",
        )
        if target is None:
            return
        self.export_warc_button.setEnabled(False)
        self._set_busy("Exporting the WARC…")
        saved: list[int] = []
        run_task(
            jobs.export_warc,
            self.who,
            self.case.id,
            target,
            on_returned=saved.append,
            on_finished=lambda: self._export_finished(
                lambda: (
                    messages.info(
                        self,
                        f"Saved {saved[0]} capture{'s' if saved[0] != 1 else ''} to {target}.",
                        title="WARC exported",
                    )
                    if saved
                    else None
                )
            ),
            owner=self,
        )

    def show_tab(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)
        self.tabs.currentWidget().setFocus()

    @property
    def role(self) -> Role:
        return self.who.role
