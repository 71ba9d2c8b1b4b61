"""The main window: the case list on the left, the chosen case on the right, menus.

A saved file dropped on the window opens the import dialog for the chosen case, and a
dropped web link the capture dialog. Menu items a role cannot use are switched off
with a tooltip and status tip saying why (the services enforce the same rules).

Its objectName and its widgets' objectNames are a contract (DESIGN section 8):
``mainWindow``, ``caseList``, ``sourcesTable``, ``captureButton``, ``auditView``,
``verifyButton``, ``exportPdfButton``, and the two dialogs it owns from the start,
``justificationWizard`` and ``reviewQueue`` (hidden until asked for, so an outside
check can find them by name straight away).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QItemSelection, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from caseview import __version__
from caseview.abilities import Abilities
from caseview.domain import Case, Role
from caseview.errors import CaseviewError
from caseview.justifications import JustificationRecord
from ui import crash, jobs, messages, tasks, widgets
from ui.audit_file_view import FileAuditDialog
from ui.capture import BrowseDialog, CaptureDialog
from ui.case_admin import CaseAdminDialog, NewCaseDialog
from ui.case_view import LOADING_REASON, NO_CASE_REASON, CaseView
from ui.identity import Identity
from ui.import_dialog import ImportDialog, local_files
from ui.live import ServerNews
from ui.login import ServerAddressDialog
from ui.models import ROW_ROLE, CasesModel
from ui.review import ReviewQueueDialog
from ui.source_view import SourceDetailDialog
from ui.tasks import run_task
from ui.users_dialog import ChangePasswordDialog, UsersDialog
from ui.wizard import JustificationWizard

if TYPE_CHECKING:
    from caseview.storage.notify import Seen  # psycopg: loaded only for a server

DEMO_BANNER = "DEMO — fictional data; password demo"
ROLE_WORDS = {Role.WORKER: "worker", Role.MANAGER: "manager", Role.AUDITOR: "auditor (read-only)"}
DROP_ONE = "Drop one file at a time: each import records the address that file shows."
NEWS_DEBOUNCE_MS = 300
"""A burst of changes elsewhere (a capture writes several events) is one look, this late."""
NOT_HEARING = "Not hearing of others' changes: reconnecting… (F5 reloads)"


def web_links(urls: list[QUrl]) -> list[str]:
    """The http(s) links among dropped URLs (a link dragged from a browser)."""
    return [url.toString() for url in urls if url.scheme() in ("http", "https")]


def queue_notice(count: jobs.QueueCount) -> str:
    """What a manager is told at sign-in about the review queue ("" when nothing waits)."""
    if not count.waiting:
        return ""
    waits = "1 request waits" if count.waiting == 1 else f"{count.waiting} requests wait"
    overdue = ""
    if count.overdue:
        emergencies = "an overdue emergency" if count.overdue == 1 else "overdue emergencies"
        overdue = (
            f", and it is {emergencies}"
            if count.waiting == 1
            else f", {count.overdue} of them {emergencies}"
        )
    return f"{waits} for your review{overdue} — open the queue (Ctrl+R)."


def set_reason(action: QAction, reason: str, tip: str) -> None:
    """Enable ``action``, or switch it off with a tooltip and status tip saying why."""
    action.setEnabled(not reason)
    action.setToolTip(reason or tip)
    action.setStatusTip(reason or tip)


class MainWindow(QMainWindow):
    open_requested = Signal(object)
    """File > Open: the person chose another case file (a Path) to sign in to."""
    connect_requested = Signal(str)
    """File > Connect to server: the address of a team server to sign in to."""
    sign_out_requested = Signal(bool)
    """File > Sign out (False) or Switch user (True), unsaved work already agreed to lose."""

    def __init__(self, who: Identity, *, demo_banner: bool = False) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.who = who
        self.demo_banner = demo_banner
        self.leaving = False
        """Set once the person agreed to sign out: closing then asks nothing more."""
        self.browser_windows: list[QWidget] = []
        """Open evidence browser windows; each session ends when its window closes."""
        title = f"Caseview — {who.user.display_name} ({ROLE_WORDS[who.role]}) — {who.label}"
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
        # For a manager: how many requests wait, told at sign-in (loaded in the background).
        self.queue_banner = QLabel()
        self.queue_banner.setObjectName("queueBanner")
        self.queue_banner.setAccessibleName("Requests waiting for review")
        self.queue_banner.setWordWrap(True)
        self.queue_banner.setTextFormat(Qt.TextFormat.RichText)
        self.queue_banner.linkActivated.connect(lambda _link: self.open_review_queue())
        self.queue_banner.hide()
        central_layout.addWidget(self.queue_banner)
        central_layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.wizard = JustificationWizard(self, who)
        self.review_queue = ReviewQueueDialog(self, who)
        signed_in = (
            f"Signed in as {who.user.display_name} ({who.user.username}), {ROLE_WORDS[who.role]}"
        )
        if who.file_read_only:
            signed_in += " · the case file is read-only: nothing can be recorded"
        self.signed_in = QLabel(signed_in)
        self.signed_in.setAccessibleName("Signed in as")
        self.live_status = QLabel()
        self.live_status.setObjectName("liveStatus")
        self.live_status.setAccessibleName("Live updates")
        self.live_status.hide()
        self.statusBar().addPermanentWidget(self.live_status)
        self.statusBar().addPermanentWidget(self.signed_in)
        self._build_menus()

        self.case_list.selectionModel().selectionChanged.connect(self._case_chosen)
        self.case_view.wizard_requested.connect(self.open_wizard)
        self.case_view.capture_requested.connect(self.open_capture)
        self.case_view.browse_requested.connect(self.open_browse)
        self.case_view.import_requested.connect(lambda: self.open_import())
        self.case_view.source_opened.connect(self.open_source)
        self.case_view.busy_changed.connect(self._busy)
        self.wizard.saved.connect(lambda _record: self.case_view.refresh())
        self.review_queue.decided.connect(lambda _record: self.case_view.refresh())
        self.review_queue.decided.connect(lambda _record: self.count_queue())
        # The case view switches its capture button on and off as the case, its status
        # and the role allow; the menu items that add material follow it.
        self.case_view.capture_button.installEventFilter(self)
        self._select_after: int | None = None
        self.general: Abilities | None = None
        # Asked for before the answer about general actions arrived: done when it does.
        self._when_known: list[Callable[[], None]] = []
        """What the user may do that is not about one case (loaded in the background)."""
        self.setAcceptDrops(True)
        self.resize(widgets.chars(self, 170), widgets.lines(self, 44))
        self.sync_actions()
        self.refresh_cases()
        self.count_queue()

        # On a team server: others' changes, heard as they commit (ui.live).
        self.news: ServerNews | None = None
        self.seen: Seen | None = None
        """What the person could see when last looked (``caseview.storage.notify``)."""
        self._looking = False
        self._heard_more = False
        self._heard = QTimer(self)
        self._heard.setSingleShot(True)
        self._heard.setInterval(NEWS_DEBOUNCE_MS)
        self._heard.timeout.connect(self._look_again)
        if who.link is not None:
            self.news = ServerNews(who.link, self)
            self.news.changed.connect(self.heard_of_change)
            self.news.listening_changed.connect(self._listening)
            self.news.start()
            self._look_again()  # what is seen now, to compare the next news with

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
        file_menu.addAction(
            self._action(
                "&Connect to a team server…",
                self.choose_server,
                name="connectServerAction",
                tip="Sign in to your team's Caseview server (its address is from IT).",
            )
        )
        file_menu.addSeparator()
        self.import_action = self._action(
            "&Import a saved file…", lambda: self.open_import(), "Ctrl+I", "importAction"
        )
        file_menu.addAction(self.import_action)
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
        self.sign_out_action = self._action(
            "Sign ou&t",
            lambda: self.sign_out(switching=False),
            "Ctrl+Shift+Q",
            "signOutAction",
            "Close this case file's window and sign in again (or let someone else sign in).",
        )
        self.switch_user_action = self._action(
            "&Switch user…",
            lambda: self.sign_out(switching=True),
            name="switchUserAction",
            tip="Sign in as someone else; cancel to stay signed in as you are.",
        )
        file_menu.addAction(self.sign_out_action)
        file_menu.addAction(self.switch_user_action)
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
        self.browse_action = self._action(
            "&Browse in the evidence browser…",
            self.case_view.browse_button.click,
            "Ctrl+B",
            "browseAction",
        )
        self.review_action = self._action(
            "&Review queue…", self.open_review_queue, "Ctrl+R", "reviewQueueAction"
        )
        self.new_case_action = self._action(
            "New c&ase…", self.open_new_case, "Ctrl+Shift+N", "newCaseAction"
        )
        # A lambda: triggered(bool) would otherwise arrive as the case id ("no case False").
        self.case_admin_action = self._action(
            "&Workers and people…",
            lambda: self.open_case_admin(),
            "Ctrl+Shift+M",
            "caseAdminAction",
        )
        # Ctrl+Shift+O works from anywhere in the window, as the menu item says.
        self.add_observation_action = self._action(
            "Add an &observation…", self.add_observation, "Ctrl+Shift+O", "addObservationAction"
        )
        for action in (
            self.new_request_action,
            self.capture_action,
            self.browse_action,
            self.import_action,
            self.add_observation_action,
        ):
            case_menu.addAction(action)
        case_menu.addSeparator()
        case_menu.addAction(self.review_action)
        case_menu.addSeparator()
        case_menu.addAction(self.new_case_action)
        case_menu.addAction(self.case_admin_action)

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
                "&Verify the case file" if self.who.link is None else "&Verify the team's store",
                self.verify,
                "Ctrl+Shift+V",
                "verifyAction",
                "Recompute every audit and evidence hash.",
            )
        )
        self.file_audit_action = self._action(
            "&Audit log of the whole file…"
            if self.who.link is None
            else "&Audit log of the whole store…",
            self.open_file_audit,
            name="fileAuditAction",
            tip="Every event in the case file, filtered: logins, accounts, policy, exports.",
        )
        tools_menu.addAction(self.file_audit_action)
        tools_menu.addSeparator()
        self.users_action = self._action(
            "&User accounts…", self.open_users, "Ctrl+Shift+U", "usersAction"
        )
        tools_menu.addAction(self.users_action)
        tools_menu.addAction(
            self._action(
                "Change my &password…",
                self.change_password,
                name="changePasswordAction",
                tip="Change the password you sign in with.",
            )
        )

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(
            self._action("&About Caseview", self.about, QKeySequence.StandardKey.HelpContents)
        )
        # F10 goes to the menu bar, as in other desktop apps (Alt alone does too).
        to_menus = QShortcut(QKeySequence(Qt.Key.Key_F10), self)
        to_menus.setObjectName("menuBarShortcut")
        to_menus.activated.connect(self.focus_menu_bar)
        for menu in (file_menu, case_menu, view_menu, tools_menu, help_menu):
            # Hovering a switched-off item shows why it is off.
            menu.setToolTipsVisible(True)
            menu.aboutToShow.connect(self.sync_actions)

    def focus_menu_bar(self) -> None:
        """Open the first menu, so the arrow keys move along the menu bar."""
        bar = self.menuBar()
        menus = [action for action in bar.actions() if action.menu() is not None]
        if menus:
            bar.setFocus(Qt.FocusReason.ShortcutFocusReason)
            bar.setActiveAction(menus[0])

    def count_queue(self) -> None:
        """For a manager, how many requests wait for review, in the banner."""
        if self.who.role is not Role.MANAGER:
            return
        run_task(jobs.count_queue, self.who, on_returned=self._queue_counted, owner=self)

    def _queue_counted(self, count: jobs.QueueCount) -> None:
        text = queue_notice(count)
        self.queue_banner.setVisible(bool(text))
        if not text:
            return
        link = text.replace("open the queue", "<a href='#queue'>open the queue</a>")
        self.queue_banner.setText(f"&nbsp;&nbsp;{link}")
        urgent = count.overdue > 0
        self.queue_banner.setStyleSheet(
            "padding: 4px; font-weight: bold; "
            + ("background: #fde2e1; color: #7a1410;" if urgent else "background: #e3eefc;")
        )

    def sync_actions(self) -> None:
        """Switch each menu item on or off for this user and case, saying why: the
        services' own answers (``caseview.abilities``), loaded in the background."""
        view = self.case_view
        set_reason(
            self.new_request_action,
            view.reason("write_justification"),
            "Write a justification: the question, the safety case and the ethics case.",
        )
        set_reason(
            self.capture_action,
            view.reason("capture"),
            "Capture a public web page under an approved request.",
        )
        set_reason(
            self.add_observation_action,
            view.reason("observe"),
            "Record what a source shows, graded for reliability and credibility.",
        )
        set_reason(
            self.import_action,
            view.reason("import_file"),
            "Import a saved screenshot, PDF, web page or text file into this case. You can "
            "also drop the file on this window.",
        )
        set_reason(
            self.review_action,
            self.general_reason("review_queue"),
            "Requests waiting for a decision, overdue emergencies first.",
        )
        set_reason(
            self.new_case_action,
            self.general_reason("create_case"),
            "Open a new case: its reference and title.",
        )
        managing = not view.reason("manage_case")
        set_reason(
            self.case_admin_action,
            self.case_admin_reason(),
            "Allocate workers, add people, close or reopen this case."
            if managing
            else "Add people to this case.",
        )
        set_reason(
            self.users_action,
            self.general_reason("see_users"),
            "See the accounts of this case file (read-only)."
            if self.general_reason("manage_users")
            else "Add accounts, reset passwords, unlock or switch off accounts.",
        )

    def general_reason(self, action: str) -> str:
        """Why ``action``, not about one case (review queue, new case, accounts), cannot
        be done, or "" when it can."""
        return LOADING_REASON if self.general is None else self.general[action].reason

    def case_admin_reason(self) -> str:
        """The case's workers and people window is for those who may change either."""
        people = self.case_view.reason("add_person")
        return self.case_view.reason("manage_case") and people

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.case_view.capture_button and event.type() in (
            QEvent.Type.EnabledChange,
            QEvent.Type.ToolTipChange,
        ):
            self.sync_actions()
        return super().eventFilter(watched, event)

    # --- cases --------------------------------------------------------------------------

    def refresh_cases(self) -> None:
        run_task(jobs.load_cases, self.who, on_returned=self._cases_loaded, owner=self)

    def _general(self, found: Abilities) -> None:
        self.general = found
        self.sync_actions()
        waiting, self._when_known = self._when_known, []
        for action in waiting:
            action()

    def _cases_loaded(self, found: list[Case]) -> None:
        # Then what the user may do beyond one case (after the cases, so an account
        # switched off meanwhile is told once).
        run_task(jobs.load_abilities, self.who, None, on_returned=self._general, owner=self)
        chosen = self.current_case()
        wanted = self._select_after or (chosen.id if chosen is not None else None)
        self._select_after = None
        self.cases.set_rows(found)
        widgets.fit_columns(self.case_list)
        ids = [case.id for case in found]
        if not found:
            self.case_view.show_case(None)
            self.sync_actions()
            self.statusBar().showMessage("No cases to show yet.")
            return
        self.case_list.selectRow(ids.index(wanted) if wanted in ids else 0)
        self.sync_actions()

    def current_case(self) -> Case | None:
        return self.case_view.case

    def _case_chosen(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        case = self.cases.data(indexes[0], ROW_ROLE)
        if isinstance(case, Case) and (self.current_case() is None or case != self.current_case()):
            self.case_view.show_case(case)
            self.sync_actions()

    def refresh(self) -> None:
        self.refresh_cases()
        self.case_view.refresh_all()
        self.count_queue()

    # --- others' changes (team server) --------------------------------------------------

    def heard_of_change(self) -> None:
        """Someone else changed something: look, once the burst is over, whether it is
        anything this window shows."""
        if not self._heard.isActive():
            self._heard.start()

    def _look_again(self) -> None:
        if self._looking:
            self._heard_more = True  # look once more when this look is done
            return
        self._looking = True
        run_task(
            jobs.what_is_seen,
            self.who,
            on_returned=self._seen_now,
            on_errored=self._look_failed,
            on_finished=self._looked,
            owner=self,
        )

    def _seen_now(self, seen: Seen) -> None:
        before, self.seen = self.seen, seen
        if before is None or before == seen:
            return  # the first look is what the window just loaded; or nothing shown changed
        self.refresh_cases()
        self.count_queue()
        self.review_queue.refresh_when_free()
        case = self.current_case()
        latest = seen.latest(case.id) if case is not None else None
        # A case no longer seen (taken off it) goes with the case list's reload.
        if case is not None and latest is not None and latest != before.latest(case.id):
            self.case_view.refresh_all()

    def _look_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, CaseviewError):
            crash.report(self, exc)
        # Otherwise the server is out of reach for now: the next news, or F5, looks again.

    def _looked(self) -> None:
        self._looking = False
        if self._heard_more:
            self._heard_more = False
            self.heard_of_change()

    def _listening(self, listening: bool) -> None:
        self.live_status.setText("" if listening else NOT_HEARING)
        self.live_status.setVisible(not listening)

    def find_sources(self) -> None:
        self.case_view.show_tab(1)
        self.case_view.sources.search.setFocus()
        self.case_view.sources.search.selectAll()

    # --- dialogs -----------------------------------------------------------------------

    def open_wizard(self, case_id: int, record: JustificationRecord | None = None) -> None:
        self.wizard.start(case_id, record)

    def open_review_queue(self) -> None:
        if self.general is None:
            self._when_known.append(self.open_review_queue)
            return
        reason = self.general_reason("review_queue")
        if reason:
            self._refused(reason)
        else:
            self.review_queue.start()

    def open_capture(self, case_id: int, url: str = "") -> CaptureDialog:
        dialog = CaptureDialog(self, self.who, case_id)
        dialog.captured.connect(self._captured)
        if self.demo_banner:
            from caseview import demo  # local: only the demo has made-up sites

            dialog.add_note(demo.CAPTURE_HINT)
        if url:
            dialog.url.setText(url)
        dialog.show()
        return dialog

    def open_browse(self, case_id: int, url: str = "") -> BrowseDialog | None:
        """Choose the request and person, promise, and open the evidence browser."""
        from ui.browser import engine_available

        problem = engine_available()
        if problem is not None:
            messages.error(self, problem)
            return None
        if not url and self.demo_banner:
            from caseview import demo  # local: only the demo has a page to suggest

            url = demo.BROWSE_START  # served on this machine while the demo app runs
        dialog = BrowseDialog(self, self.who, case_id)
        dialog.opened.connect(lambda opened: self.open_browser_window(opened, dialog))
        if url:
            dialog.url.setText(url)
        dialog.show()
        return dialog

    def open_browser_window(self, opened: object, dialog: BrowseDialog) -> QWidget:
        from caseview.browsing import BrowseSession
        from ui.browser.window import EvidenceBrowser  # local: QtWebEngine loads on first use

        assert isinstance(opened, BrowseSession)

        window = EvidenceBrowser(self.who, opened, request_label=dialog.request_label())
        window.captured.connect(lambda _id: self.case_view.refresh_all())
        window.closed.connect(lambda: self.case_view.refresh_all())
        window.show()
        self.browser_windows.append(window)
        window.destroyed.connect(
            lambda: self.browser_windows.remove(window) if window in self.browser_windows else None
        )
        return window

    def _refused(self, reason: str) -> None:
        """Say in the status bar why something cannot be done here now."""
        self.statusBar().showMessage(reason, 10_000)

    def open_import(self, path: Path | None = None) -> ImportDialog | None:
        """The import dialog for the chosen case (with ``path`` filled in, if given)."""
        case = self.current_case()
        reason = self.case_view.reason("import_file")
        if case is None or reason:
            self._refused(reason or NO_CASE_REASON)
            return None
        dialog = ImportDialog(self, self.who, case.id, path)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.imported.connect(self._captured)
        dialog.show()
        if path is None:
            dialog.choose_file()
        return dialog

    def open_new_case(self) -> NewCaseDialog | None:
        reason = self.general_reason("create_case")
        if reason:
            self._refused(reason)
            return None
        dialog = NewCaseDialog(self, self.who)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.created.connect(self._case_created)
        dialog.show()
        return dialog

    def _case_created(self, case: Case) -> None:
        """Show the new case, and open its workers and people to fill in."""
        self._select_after = case.id
        self.refresh_cases()
        self.statusBar().showMessage(f"Case {case.reference} created.", 10_000)
        self.open_case_admin(case.id)

    def open_case_admin(self, case_id: int | None = None) -> CaseAdminDialog | None:
        case = self.current_case()
        chosen = case_id if case_id is not None else (case.id if case is not None else None)
        if chosen is None:
            self._refused(NO_CASE_REASON)
            return None
        reason = self.case_admin_reason() if case is not None and case.id == chosen else ""
        if reason:
            self._refused(reason)
            return None
        dialog = CaseAdminDialog(self, self.who, chosen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.changed.connect(self._case_changed)
        dialog.show()
        return dialog

    def _case_changed(self, _case_id: int) -> None:
        self.refresh_cases()
        self.case_view.refresh_all()

    def open_users(self) -> UsersDialog | None:
        reason = self.general_reason("see_users")
        if reason:
            self._refused(reason)
            return None
        dialog = UsersDialog(self, self.who)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.changed.connect(self.case_view.refresh)
        dialog.show()
        return dialog

    def open_file_audit(self) -> FileAuditDialog:
        dialog = FileAuditDialog(self, self.who)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def change_password(self) -> ChangePasswordDialog:
        dialog = ChangePasswordDialog(self, self.who)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # --- drag and drop ------------------------------------------------------------------

    def _drop_reason(self, urls: list[QUrl]) -> str:
        """Why these dropped things cannot be taken in here, or "" if they can."""
        files, links = local_files(urls), web_links(urls)
        if len(files) + len(links) == 0:
            return "Only files and web links can be dropped here."
        if len(files) + len(links) > 1:
            return DROP_ONE
        files = local_files(urls)
        return self.case_view.reason("import_file" if files else "capture")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if not event.mimeData().hasUrls():
            event.ignore()
            return
        reason = self._drop_reason(event.mimeData().urls())
        if reason:
            self._refused(f"This cannot be dropped here. {reason}")
            event.ignore()
            return
        self.statusBar().showMessage("Drop it to bring it into the chosen case.")
        event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasUrls() and not self._drop_reason(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        reason = self._drop_reason(urls) if urls else "Only files and web links can be dropped."
        case = self.current_case()
        if reason or case is None:
            self._refused(reason or NO_CASE_REASON)
            event.ignore()
            return
        event.acceptProposedAction()
        self.statusBar().clearMessage()
        files = local_files(urls)
        if files:
            self.open_import(files[0])
        else:
            self.open_capture(case.id, web_links(urls)[0])

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
            self, "Open a case file", self.who.folder, "Case files (*.db);;All files (*)"
        )
        if path is not None:
            self.open_requested.emit(Path(path))

    def choose_server(self) -> None:
        suggested = self.who.path if self.who.link is not None else ""
        address = ServerAddressDialog.ask(self, str(suggested))
        if address is not None:
            self.connect_requested.emit(address)

    def about(self) -> None:
        """Help > About (F1): what Caseview is, and the keys that reach every part of it."""
        menus = [top.menu() for top in self.menuBar().actions()]
        keys = [
            (widgets.plain(action.text()).rstrip("…"), action.shortcut().toString())
            for menu in menus
            if isinstance(menu, QMenu)
            for action in menu.actions()
            if action.isVisible() and not action.isSeparator() and not action.shortcut().isEmpty()
        ]
        rows = "".join(
            f"<tr><td>{html.escape(key)}&nbsp;&nbsp;</td><td>{html.escape(text)}</td></tr>"
            for text, key in keys
        )
        messages.about(
            self,
            "About Caseview",
            f"<p><b>Caseview {__version__}</b></p><p>Record public online information in "
            "child protection work, behind an ethics gate, with provenance and a "
            "tamper-evident audit log.</p>"
            "<p>Every part of Caseview can be reached from the keyboard: F10 opens the "
            "menus, Alt with an underlined letter reaches a button or a field, Tab moves "
            "on, Escape closes a window (asking first if something typed would be lost).</p>"
            f"<table>{rows}</table>",
        )

    def _busy(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    def add_observation(self) -> None:
        """Case > Add an observation: the Observations tab, and its editor opened."""
        self.case_view.show_tab(2)
        self.case_view.observations.add_button.click()  # does nothing while it is off

    def unsaved_work(self) -> list[str]:
        """The windows holding work not yet saved: the case's editors, a request being
        written in the wizard, reasons written in the review queue."""
        unsaved = self.case_view.unsaved_work()
        if self.wizard.isVisible() and self.wizard.dirty and not self.wizard.read_only:
            unsaved.append(self.wizard.windowTitle().replace("[*]", ""))
        if self.review_queue.unsaved():
            unsaved.append("Review queue (reasons not yet recorded)")
        return unsaved

    def may_leave(self, doing: str) -> bool:
        """True if nothing is unsaved, or the person agrees to lose it to ``doing``."""
        unsaved = self.unsaved_work()
        return not unsaved or messages.confirm(
            self,
            "These windows have changes that are not saved: "
            + "; ".join(unsaved)
            + f". {doing} and lose them?",
            title="Unsaved changes",
        )

    def sign_out(self, *, switching: bool) -> None:
        """File > Sign out / Switch user: asks about unsaved work, then the app signs in
        again (``ui.app``); the window closes without asking a second time."""
        if not self.may_leave("Switch user" if switching else "Sign out"):
            return
        self.leaving = True
        self.sign_out_requested.emit(switching)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.leaving and not self.may_leave("Close Caseview"):
            event.ignore()
            return
        # Ask running work to stop at its next step; a write in progress still completes
        # whole (each is one transaction), so closing never leaves half a change.
        tasks.cancel_owned_by(self)
        for window in list(self.browser_windows):
            window.close()  # ends its viewing session
        if self.news is not None:
            self.news.stop()
        if self.who.link is not None:
            # Its idle connections close now, those still lent as they come back.
            self.who.link.close()
        super().closeEvent(event)
