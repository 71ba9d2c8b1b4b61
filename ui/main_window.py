"""The main window: the case list on the left, the chosen case on the right, menus.

Its objectName and its widgets' objectNames are a contract (DESIGN section 8):
``mainWindow``, ``caseList``, ``sourcesTable``, ``captureButton``, ``auditView``,
``verifyButton``, ``exportPdfButton``, and the two dialogs it owns from the start,
``justificationWizard`` and ``reviewQueue`` (hidden until asked for, so an outside
check can find them by name straight away).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from caseview import __version__
from caseview.domain import Case, Role
from caseview.justifications import JustificationRecord
from ui import jobs, messages, tasks, widgets
from ui.capture import CaptureDialog
from ui.case_view import READ_ONLY_REASON, CaseView
from ui.identity import Identity
from ui.models import ROW_ROLE, CasesModel
from ui.review import ReviewQueueDialog
from ui.source_view import SourceDetailDialog
from ui.tasks import run_task
from ui.wizard import JustificationWizard

DEMO_BANNER = "DEMO — fictional data; password demo"
ROLE_WORDS = {Role.WORKER: "worker", Role.MANAGER: "manager", Role.AUDITOR: "auditor (read-only)"}


class MainWindow(QMainWindow):
    open_requested = Signal(object)
    """File > Open: the person chose another case file (a Path) to sign in to."""

    def __init__(self, who: Identity, *, demo_banner: bool = False) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.who = who
        self.demo_banner = demo_banner
        title = f"Caseview — {who.user.display_name} ({ROLE_WORDS[who.role]}) — {who.path.name}"
        self.setWindowTitle(f"{title} — {DEMO_BANNER}" if demo_banner else title)

        self.cases = CasesModel(self)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 0, 6)
        cases_label = QLabel("Ca&ses")
        left_layout.addWidget(cases_label)
        self.case_list = widgets.table(self.cases, "caseList", "Cases", stretch=CasesModel.TITLE)
        self.case_list.hideColumn(CasesModel.STATUS)
        cases_label.setBuddy(self.case_list)
        left_layout.addWidget(self.case_list)
        self.case_view = CaseView(who)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("mainSplitter")
        splitter.addWidget(left)
        splitter.addWidget(self.case_view)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([widgets.chars(self, 44), widgets.chars(self, 126)])
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        if demo_banner:
            banner = QLabel(f"  {DEMO_BANNER}. Every name and account in it is invented.")
            banner.setObjectName("demoBanner")
            banner.setAccessibleName(DEMO_BANNER)
            banner.setStyleSheet(
                "background: #fff3bf; color: #3d2e00; padding: 4px; font-weight: bold;"
            )
            central_layout.addWidget(banner)
        central_layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.wizard = JustificationWizard(self, who)
        self.review_queue = ReviewQueueDialog(self, who)
        self.signed_in = QLabel(
            f"Signed in as {who.user.display_name} ({who.user.username}), {ROLE_WORDS[who.role]}"
        )
        self.signed_in.setAccessibleName("Signed in as")
        self.statusBar().addPermanentWidget(self.signed_in)
        self._build_menus()

        self.case_list.selectionModel().selectionChanged.connect(self._case_chosen)
        self.case_view.wizard_requested.connect(self.open_wizard)
        self.case_view.capture_requested.connect(self.open_capture)
        self.case_view.source_opened.connect(self.open_source)
        self.case_view.busy_changed.connect(self._busy)
        self.wizard.saved.connect(lambda _record: self.case_view.refresh())
        self.review_queue.decided.connect(lambda _record: self.case_view.refresh())
        self.resize(widgets.chars(self, 170), widgets.lines(self, 44))
        self.refresh_cases()

    # --- menus --------------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: object,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        name: str = "",
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if name:
            action.setObjectName(name)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(
            self._action("&Open case file…", self.choose_case_file, QKeySequence.StandardKey.Open)
        )
        file_menu.addSeparator()
        self.export_pdf_action = self._action(
            "Export note as &PDF…", self.case_view.export_pdf, "Ctrl+E", "exportPdfAction"
        )
        self.export_warc_action = self._action(
            "Export captures as &WARC…",
            self.case_view.export_warc,
            "Ctrl+Shift+E",
            "exportWarcAction",
        )
        file_menu.addAction(self.export_pdf_action)
        file_menu.addAction(self.export_warc_action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        case_menu = bar.addMenu("&Case")
        self.new_request_action = self._action(
            "&New request to look…",
            self.case_view.new_request,
            QKeySequence.StandardKey.New,
            "newRequestAction",
        )
        self.capture_action = self._action(
            "&Capture a page…", self.case_view.capture_button.click, "Ctrl+Shift+C", "captureAction"
        )
        self.review_action = self._action(
            "&Review queue…", self.open_review_queue, "Ctrl+R", "reviewQueueAction"
        )
        for action in (self.new_request_action, self.capture_action):
            case_menu.addAction(action)
        case_menu.addSeparator()
        case_menu.addAction(self.review_action)
        if self.who.role is not Role.MANAGER:
            self.review_action.setEnabled(False)
            self.review_action.setStatusTip("Only managers review requests.")
        if self.who.read_only:
            for action in (self.new_request_action, self.capture_action):
                action.setEnabled(False)
                action.setStatusTip(READ_ONLY_REASON)

        view_menu = bar.addMenu("&View")
        view_menu.addAction(
            self._action("&Refresh", self.refresh, QKeySequence.StandardKey.Refresh)
        )
        view_menu.addAction(
            self._action("&Find in sources", self.find_sources, QKeySequence.StandardKey.Find)
        )
        view_menu.addAction(self._action("Go to the case &list", self.case_list.setFocus, "Ctrl+L"))
        view_menu.addSeparator()
        for number, title in enumerate(CaseView.TABS):
            view_menu.addAction(
                self._action(
                    f"&{number + 1} {title}",
                    lambda _=False, n=number: self.case_view.show_tab(n),
                    f"Ctrl+{number + 1}",
                )
            )

        tools_menu = bar.addMenu("&Tools")
        tools_menu.addAction(
            self._action(
                "&Verify the case file",
                self.verify,
                "Ctrl+Shift+V",
                "verifyAction",
                "Recompute every audit and evidence hash.",
            )
        )

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(
            self._action("&About Caseview", self.about, QKeySequence.StandardKey.HelpContents)
        )

    # --- cases --------------------------------------------------------------------------

    def refresh_cases(self) -> None:
        run_task(jobs.load_cases, self.who, on_returned=self._cases_loaded, owner=self)

    def _cases_loaded(self, found: list[Case]) -> None:
        chosen = self.current_case()
        self.cases.set_rows(found)
        widgets.fit_columns(self.case_list)
        ids = [case.id for case in found]
        if not found:
            self.case_view.show_case(None)
            self.statusBar().showMessage("No cases to show yet.")
            return
        row = ids.index(chosen.id) if chosen is not None and chosen.id in ids else 0
        self.case_list.selectRow(row)

    def current_case(self) -> Case | None:
        return self.case_view.case

    def _case_chosen(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        case = self.cases.data(indexes[0], ROW_ROLE)
        if isinstance(case, Case) and (self.current_case() is None or case != self.current_case()):
            self.case_view.show_case(case)

    def refresh(self) -> None:
        self.refresh_cases()
        self.case_view.refresh_all()

    def find_sources(self) -> None:
        self.case_view.show_tab(1)
        self.case_view.sources.search.setFocus()
        self.case_view.sources.search.selectAll()

    # --- dialogs -----------------------------------------------------------------------

    def open_wizard(self, case_id: int, record: JustificationRecord | None = None) -> None:
        self.wizard.start(case_id, record)

    def open_review_queue(self) -> None:
        if self.who.role is Role.MANAGER:
            self.review_queue.start()

    def open_capture(self, case_id: int) -> None:
        dialog = CaptureDialog(self, self.who, case_id)
        dialog.captured.connect(self._captured)
        dialog.show()

    def _captured(self, source_id: int) -> None:
        self.case_view.refresh_all()
        self.open_source(source_id)

    def open_source(self, source_id: int) -> None:
        SourceDetailDialog(self, self.who, source_id).show()

    def verify(self) -> None:
        self.case_view.show_tab(len(CaseView.TABS) - 1)
        self.case_view.audit.verify()

    def choose_case_file(self) -> None:
        path = messages.open_path(
            self, "Open a case file", self.who.path.parent, "Case files (*.db);;All files (*)"
        )
        if path is not None:
            self.open_requested.emit(Path(path))

    def about(self) -> None:
        messages.about(
            self,
            "About Caseview",
            f"<p><b>Caseview {__version__}</b></p><p>Record public online information in "
            "child protection work, behind an ethics gate, with provenance and a "
            "tamper-evident audit log.</p>",
        )

    def _busy(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    def closeEvent(self, event: QCloseEvent) -> None:
        # Ask running work to stop at its next step; a write in progress still completes
        # whole (each is one transaction), so closing never leaves half a change.
        tasks.cancel_owned_by(self)
        super().closeEvent(event)
