"""Issue 13, item 5 (the app's rough edges): Case > Workers and people, a Stop that
stops, request choices with their viewings left, sign out and switch user, and the
auditor's file-wide audit log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, approved_request

from caseview import accounts, audit, captures, viewings
from caseview.errors import LoginFailed
from caseview.justifications import JustificationRecord
from caseview.storage import open_case_file
from ui import app as ui_app
from ui import jobs, tasks
from ui.audit_file_view import KINDS, FileAuditDialog
from ui.capture import CaptureDialog
from ui.case_admin import CaseAdminDialog
from ui.import_dialog import ImportDialog
from ui.main_window import MainWindow
from ui.models import FileAuditModel

WAIT = 15_000


def open_window(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    return window


# --- Case > Workers and people… ----------------------------------------------------------


@pytest.mark.parametrize("name", ["mona", "wren"])
def test_workers_and_people_opens_for_the_chosen_case(
    qtbot: QtBot, team: Team, boxes: Boxes, name: str
) -> None:
    window = open_window(qtbot, team, name)
    qtbot.waitUntil(lambda: window.case_admin_action.isEnabled(), timeout=WAIT)
    window.case_admin_action.trigger()  # the menu's triggered(bool) signal, as a click sends
    dialogs = window.findChildren(CaseAdminDialog)
    assert len(dialogs) == 1 and dialogs[0].case_id == team.case.id
    qtbot.waitUntil(lambda: dialogs[0].state is not None and tasks.running() == 0, timeout=WAIT)
    assert (boxes.errors, boxes.crashes) == ([], [])
    assert dialogs[0].state is not None and dialogs[0].state.case.id == team.case.id


# --- Stop the capture ---------------------------------------------------------------------


class _Stalling(BaseHTTPRequestHandler):
    """Sends its headers and a first line, then nothing until the test ends: a read that
    only a timeout (20 s) or Stop can end."""

    release = threading.Event()
    stalled = threading.Event()  # the first line is sent: the client is in the body's read

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"<html><body><p>loading")
        self.wfile.flush()
        self.stalled.set()
        self.release.wait(60)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def stalling_site() -> Iterator[str]:
    _Stalling.release.clear()
    _Stalling.stalled.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stalling)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _Stalling.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def stalling(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CASEVIEW_ALLOW_HOSTS", "127.0.0.1")
    with stalling_site() as base:
        yield base


def test_stop_ends_a_stalled_capture_at_once_and_is_recorded_as_stopped(
    qtbot: QtBot, team: Team, boxes: Boxes, stalling: str
) -> None:
    approved_request(team, scope_hosts=("127.0.0.1",), planned_viewings=2)
    dialog = CaptureDialog(None, team.who("wren"), team.case.id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT)
    qtbot.keyClicks(dialog.url, f"{stalling}/kerry")
    dialog.attest.setChecked(True)
    qtbot.mouseClick(dialog.capture_button, Qt.MouseButton.LeftButton)
    task = dialog.task
    assert task is not None
    # Stop once the capture is under way (connected, headers read, in the body's read):
    # pressed before the background task starts, it would end it before it fetched.
    qtbot.waitUntil(_Stalling.stalled.is_set, timeout=WAIT)
    assert not task.done
    with qtbot.waitSignal(task.finished, timeout=WAIT):
        stopped_at = time.monotonic()
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert time.monotonic() - stopped_at < 3.0  # within a second or so, not the 20 s timeout
    assert (boxes.errors, boxes.crashes) == ([captures.STOPPED], [])
    with team.session("ada") as ada:
        failed = [e for e in audit.list_events(ada, team.case.id) if e.action == "capture.failed"]
    assert [(e.data["kind"], e.data["message"]) for e in failed] == [("stopped", captures.STOPPED)]
    assert failed[0].data["url"] == f"{stalling}/kerry"


# --- requests offered with their viewings left --------------------------------------------


def look_once(team: Team, request: JustificationRecord) -> None:
    """A look of wren's own under ``request``, recorded as a self-collected import."""
    with team.session("wren") as wren:
        captures.import_file(
            wren,
            team.case.id,
            b"<html><head><title>Kerry</title></head><body><p>A post.</p></body></html>",
            url="https://social.example/kerry",
            viewed_at=wren.now(),
            justification_id=request.id,
            subject_id=team.kerry.id,
            origin="self",
            supplied_by="",
            filename="kerry.html",
            attested=True,
        )


@pytest.fixture
def used_and_open(team: Team) -> tuple[JustificationRecord, JustificationRecord]:
    """One request with its only viewing used, one with both of its two left."""
    used = approved_request(team, planned_viewings=1)
    look_once(team, used)
    return used, approved_request(team, planned_viewings=2)


def items(combo: Any) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_service_gives_each_open_request_its_viewings_left(
    team: Team, used_and_open: tuple[JustificationRecord, JustificationRecord]
) -> None:
    used, fresh = used_and_open
    with team.session("wren") as wren:
        found = viewings.requests_open_for(wren, team.case.id)
    assert [(o.record.id, o.viewings_left, o.allows_look) for o in found] == [
        (used.id, 0, False),
        (fresh.id, 2, True),
    ]
    with team.session("ada") as ada:  # an auditor looks at nothing
        assert viewings.requests_open_for(ada, team.case.id) == []


def test_capture_offers_only_requests_with_a_viewing_left(
    qtbot: QtBot, team: Team, used_and_open: tuple[JustificationRecord, JustificationRecord]
) -> None:
    _used, fresh = used_and_open
    dialog = CaptureDialog(None, team.who("wren"), team.case.id)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT)
    until = fresh.request.valid_until.isoformat()
    assert items(dialog.request) == [
        f"#{fresh.id} — 2 of 2 viewings left, valid until {until}: {fresh.request.question[:59]}…"
    ]
    assert dialog.request.currentData() == fresh.id


def test_capture_says_why_when_every_viewing_is_used(qtbot: QtBot, team: Team) -> None:
    look_once(team, approved_request(team, planned_viewings=1))
    dialog = CaptureDialog(None, team.who("wren"), team.case.id)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT)
    qtbot.keyClicks(dialog.url, "https://social.example/kerry")
    dialog.attest.setChecked(True)
    assert (dialog.request.count(), dialog.capture_button.isEnabled()) == (0, False)
    assert "used its planned viewings" in dialog.explain.text()


def test_import_offers_used_requests_only_for_supplied_material(
    qtbot: QtBot, team: Team, used_and_open: tuple[JustificationRecord, JustificationRecord]
) -> None:
    used, fresh = used_and_open
    dialog = ImportDialog(None, team.who("wren"), team.case.id)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT)
    assert dialog.origin_value == "self"
    assert [dialog.request.itemData(i) for i in range(dialog.request.count())] == [fresh.id]
    dialog.origin.setCurrentIndex(dialog.origin.findData("family"))
    assert [dialog.request.itemData(i) for i in range(dialog.request.count())] == [
        used.id,
        fresh.id,
    ]
    assert items(dialog.request)[0].startswith(f"#{used.id} — 0 of 1 viewing left, valid until")
    dialog.request.setCurrentIndex(0)
    assert dialog.subject.currentData() == team.kerry.id
    dialog.origin.setCurrentIndex(dialog.origin.findData("self"))  # the used one goes again
    assert dialog.request.currentData() == fresh.id


# --- the auditor's file-wide audit log ---------------------------------------------------


@pytest.fixture
def failed_login(team: Team) -> None:
    with open_case_file(team.path) as casefile, pytest.raises(LoginFailed):
        accounts.login(casefile, "wren", "not the password")


def open_file_audit(qtbot: QtBot, window: MainWindow) -> FileAuditDialog:
    window.file_audit_action.trigger()
    [dialog] = window.findChildren(FileAuditDialog)
    qtbot.waitUntil(lambda: dialog.loaded is not None and tasks.running() == 0, timeout=WAIT)
    return dialog


def shown_actions(dialog: FileAuditDialog) -> list[str]:
    model = dialog.model
    return [model.data(model.index(row, FileAuditModel.ACTION)) for row in range(model.rowCount())]


def reloaded(qtbot: QtBot, dialog: FileAuditDialog) -> None:
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)


def test_the_kinds_offered_are_the_services_kinds() -> None:
    assert [value for value, _text in KINDS] == list(audit.EVENT_KINDS)


def test_an_auditor_sees_failed_logins_and_filters_by_kind_who_and_day(
    qtbot: QtBot, team: Team, failed_login: None
) -> None:
    window = open_window(qtbot, team, "ada")
    dialog = open_file_audit(qtbot, window)
    assert {"login.failed", "user.added", "case.created"} <= set(shown_actions(dialog))
    case_column = [
        dialog.model.data(dialog.model.index(r, FileAuditModel.CASE))
        for r in range(dialog.model.rowCount())
    ]
    assert "CP-2026-0042" in case_column and "(the whole file)" in case_column

    dialog.kind.setCurrentIndex(dialog.kind.findData("logins"))
    reloaded(qtbot, dialog)
    assert set(shown_actions(dialog)) == {"login", "login.failed"}

    dialog.actor.setText("wren")
    dialog.actor.editingFinished.emit()
    reloaded(qtbot, dialog)
    assert shown_actions(dialog) == ["login.failed"]

    tomorrow = QDate.currentDate().addDays(1)
    dialog.since.setDate(tomorrow)
    reloaded(qtbot, dialog)
    assert (shown_actions(dialog), dialog.count.text()) == ([], "No events match these filters.")


def test_the_file_audit_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, team: Team, failed_login: None
) -> None:
    model = FileAuditModel()
    model.set_rows(jobs.load_file_audit(team.who("mona"), jobs.FileAuditFilter()))
    assert model.rowCount() > 3
    qtmodeltester.check(model, force_py=True)


def test_a_worker_sees_only_their_cases_events(
    qtbot: QtBot, team: Team, failed_login: None
) -> None:
    window = open_window(qtbot, team, "wren")
    dialog = open_file_audit(qtbot, window)
    events = [row.event for row in dialog.model.rows]
    assert events and {e.case_id for e in events} == {team.case.id}
    assert "allocated to you" in dialog.findChild(type(dialog.count), "fileAuditExplain").text()


# --- sign out and switch user --------------------------------------------------------------


class SignIn:
    """Stands in for the sign-in dialog: who signs in next (None: cancelled)."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.asked = 0

    def ask(self, parent: object, path: object, username: str = "", hint: str = "") -> Any:
        self.asked += 1
        return self.user


@pytest.fixture
def sign_in(monkeypatch: pytest.MonkeyPatch) -> SignIn:
    answer = SignIn(None)
    monkeypatch.setattr(ui_app.LoginDialog, "ask", answer.ask)
    return answer


def gone(qtbot: QtBot, window: MainWindow) -> None:
    """Wait until the window is closed and deleted (WA_DeleteOnClose)."""
    qtbot.waitUntil(lambda: window not in ui_app.open_windows, timeout=WAIT)


def app_window(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = ui_app.open_main_window(team.path, team.users[name])
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    return window


def test_sign_out_is_ctrl_shift_q_and_switch_user_is_in_the_file_menu(
    qtbot: QtBot, team: Team
) -> None:
    window = app_window(qtbot, team, "wren")
    file_menu = window.menuBar().actions()[0].menu()
    names = [action.objectName() for action in file_menu.actions()]
    assert {"signOutAction", "switchUserAction"} <= set(names)
    assert window.sign_out_action.shortcut().toString() == "Ctrl+Shift+Q"


def test_sign_out_shows_the_sign_in_again_and_opens_the_next_persons_window(
    qtbot: QtBot, team: Team, sign_in: SignIn
) -> None:
    window = app_window(qtbot, team, "wren")
    sign_in.user = team.users["mona"]
    window.sign_out_action.trigger()
    gone(qtbot, window)
    [now_open] = ui_app.open_windows
    assert sign_in.asked == 1 and now_open.who.user.username == "mona" and now_open.isVisible()


def test_signing_out_and_cancelling_closes_the_window(
    qtbot: QtBot, team: Team, sign_in: SignIn
) -> None:
    window = app_window(qtbot, team, "wren")
    window.sign_out_action.trigger()
    gone(qtbot, window)
    assert (sign_in.asked, ui_app.open_windows) == (1, [])


def test_switching_user_and_cancelling_keeps_the_person_signed_in(
    qtbot: QtBot, team: Team, sign_in: SignIn
) -> None:
    window = app_window(qtbot, team, "wren")
    window.switch_user_action.trigger()
    assert sign_in.asked == 1
    assert ui_app.open_windows == [window] and window.isVisible() and not window.leaving


def test_sign_out_asks_about_unsaved_work_first(
    qtbot: QtBot,
    team: Team,
    sign_in: SignIn,
    boxes: Boxes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = app_window(qtbot, team, "wren")
    monkeypatch.setattr(window.case_view, "unsaved_work", lambda: ["Note for CP-2026-0042"])
    boxes.confirm_answer = False
    window.sign_out_action.trigger()
    assert sign_in.asked == 0 and window.isVisible()
    assert "Sign out and lose them?" in boxes.confirms[0]
    boxes.confirm_answer = True
    sign_in.user = team.users["wren"]
    window.sign_out_action.trigger()
    gone(qtbot, window)
    assert len(boxes.confirms) == 2  # asked once for signing out, not again on closing
    assert [w.who.user.username for w in ui_app.open_windows] == ["wren"]
