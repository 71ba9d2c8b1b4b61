"""The desktop app on a team server (PostgreSQL): signing in there, and windows that
refresh when someone else changes the case (LISTEN/NOTIFY), on a real server.

Screenshots of the server sign-in and of a queue refreshed by someone else's request go
to ``CASEVIEW_SCREENSHOTS`` if set (to look at), else to the test's own folder.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pg_server import pg_database, shared_pg_server  # noqa: F401 (a fixture)
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialogButtonBox, QWidget
from pytestqt.qtbot import QtBot
from ui_support import (
    PASSWORD,
    Boxes,
    build_team,
    complete_fields,
    complete_request,
    submitted,
)

from caseview import accounts, cases, justifications
from caseview.cli import main
from caseview.domain import Case, Subject
from caseview.session import Session
from caseview.storage.server import WRONG_LOGIN, ServerAddress
from ui import app as ui_app
from ui import jobs, tasks
from ui.login import LoginDialog, ServerAddressDialog, server_address_problem
from ui.main_window import NOT_HEARING, MainWindow
from ui.server_link import ServerLink

WAIT = 30_000  # a generous ceiling, never a timing assertion
WORKER_PASSWORD = "lantern-kiwi-7431"
"""Wren's, distinctive enough to search every log record and repr for."""


@dataclass(frozen=True)
class Server:
    """A team database set up as ``caseview init`` leaves it, with a worker and a case."""

    address: str
    """As people sign in with it: postgresql://HOST:PORT/DB, no user, no password."""
    case: Case
    kerry: Subject

    def session(self, name: str, password: str = PASSWORD) -> Session:
        """Another connection, as ``name``, for the test to act through the services."""
        return accounts.login(ServerAddress(self.address), name, password)


@pytest.fixture
def server(pg_database: str) -> Server:  # noqa: F811 (the fixture, imported above)
    owner = ServerAddress(pg_database).connect_owner()
    try:
        accounts.set_up_server(owner, "mona", PASSWORD, display_name="Mona Manager")
    finally:
        owner.close()
    address = ServerAddress(pg_database).for_people
    with accounts.login(ServerAddress(address), "mona", PASSWORD) as mona:
        accounts.add_user(mona, "wren", "worker", WORKER_PASSWORD, display_name="Wren Worker")
        case = cases.create_case(mona, "CP-2026-0042", "Smith family")
        cases.allocate(mona, case.id, "wren")
        kerry = cases.add_subject(
            mona, case.id, "Kerry Smith", "parent", handles=["https://social.example/kerry"]
        )
    return Server(address, case, kerry)


@pytest.fixture
def windows(qtbot: QtBot, server: Server) -> Iterator[list[MainWindow]]:
    """The app's windows of the test, closed (with their connections) before the
    database goes away."""
    yield ui_app.open_windows
    for window in list(ui_app.open_windows):
        window.close()
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CASEVIEW_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def press_ok(qtbot: QtBot, buttons: QDialogButtonBox) -> None:
    qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def sign_in_dialog(qtbot: QtBot, link: ServerLink, name: str) -> LoginDialog:
    dialog = LoginDialog(None, link, name)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def signed_in_window(qtbot: QtBot, server: Server, name: str, password: str) -> MainWindow:
    """Through the sign-in dialog, as a person would; then the window it opens."""
    link = ui_app.server_link(server.address)
    dialog = sign_in_dialog(qtbot, link, name)
    qtbot.keyClicks(dialog.password, password)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        press_ok(qtbot, dialog.buttons)
    assert dialog.user is not None
    window = ui_app.open_main_window(link, dialog.user)
    settle(qtbot, window)
    return window


def settle(qtbot: QtBot, window: MainWindow) -> None:
    """Loaded, and listening for news."""
    qtbot.waitUntil(
        lambda: (
            tasks.running() == 0
            and window.news is not None
            and window.news.listening
            and window.seen is not None
        ),
        timeout=WAIT,
    )


def request_statuses(window: MainWindow) -> list[str]:
    return [record.status for record in window.case_view.overview.requests.rows]


# --- signing in --------------------------------------------------------------------------


def test_gui_on_a_server_address_signs_in_there_as_the_person(
    qtbot: QtBot, server: Server, windows: list[MainWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEVIEW_USER", "wren")
    monkeypatch.setenv("CASEVIEW_PASSWORD", WORKER_PASSWORD)
    assert main(["--db", server.address, "gui"]) == 0
    [window] = windows
    settle(qtbot, window)
    assert window.who.link is not None and window.who.user.username == "wren"
    label = ServerAddress(server.address).label  # "DATABASE on 127.0.0.1"
    assert (window.who.label, window.windowTitle().endswith(f"— {label}")) == (label, True)
    assert [case.reference for case in window.cases.rows] == ["CP-2026-0042"]


def test_the_server_sign_in_names_the_server_and_a_wrong_password_is_refused_in_words(
    qtbot: QtBot, server: Server, boxes: Boxes, shots: Path
) -> None:
    link = ui_app.server_link(server.address)
    dialog = sign_in_dialog(qtbot, link, "wren")
    dialog.grab().save(str(shots / "server-sign-in.png"))
    assert ServerAddress(server.address).label in dialog.findChild(QWidget, "loginWhere").text()
    qtbot.keyClicks(dialog.password, "not the password")
    press_ok(qtbot, dialog.buttons)
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert boxes.errors == [WRONG_LOGIN]
    assert (dialog.isVisible(), dialog.password.text(), dialog.user) == (True, "", None)
    link.close()


def test_a_name_with_no_account_on_the_server_is_the_same_wrong_sign_in(
    qtbot: QtBot, server: Server, boxes: Boxes
) -> None:
    dialog = sign_in_dialog(qtbot, ui_app.server_link(server.address), "nobody")
    qtbot.keyClicks(dialog.password, PASSWORD)
    press_ok(qtbot, dialog.buttons)
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert boxes.errors == [WRONG_LOGIN]


def test_a_server_never_asks_for_a_first_manager(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(
        ui_app.FirstManagerDialog, "ask", classmethod(lambda cls, *a: asked.append("first"))
    )
    monkeypatch.setattr(
        ui_app.LoginDialog, "ask", classmethod(lambda cls, *a, **k: asked.append("sign in"))
    )
    link = ui_app.server_link(server.address)
    assert (ui_app.sign_in(link), asked) == (None, ["sign in"])


def test_an_unreachable_server_is_told_in_words(qtbot: QtBot, boxes: Boxes) -> None:
    # A port held bound but not listening: connecting is refused, and no other program
    # can start listening on it meanwhile (as it could on a port found free and let go).
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = f"postgresql://127.0.0.1:{unused.getsockname()[1]}/team"
        dialog = sign_in_dialog(qtbot, ui_app.server_link(address), "wren")
        qtbot.keyClicks(dialog.password, WORKER_PASSWORD)
        press_ok(qtbot, dialog.buttons)
        qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    [message] = boxes.errors
    assert message.startswith(f"Cannot reach the Caseview server at {address} (")
    assert "Check the address and your network connection" in message
    assert WORKER_PASSWORD not in message


def test_the_password_is_in_no_log_record_repr_or_message(
    qtbot: QtBot,
    server: Server,
    windows: list[MainWindow],
    boxes: Boxes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, psycopg's too
    link = ui_app.server_link(server.address)
    with pytest.raises(Exception, match="wrong"):
        jobs.sign_in(link, "wren", WORKER_PASSWORD + "x")
    window = signed_in_window(qtbot, server, "wren", WORKER_PASSWORD)
    with server.session("mona") as mona:  # news from elsewhere: the window looks again
        cases.add_subject(mona, server.case.id, "Jay Smith", "child")
    qtbot.waitUntil(lambda: len(window.case_view.overview.subjects.rows) == 2, timeout=WAIT)
    shown = [
        *(record.getMessage() for record in caplog.records),
        *(repr(record.args) for record in caplog.records),
        repr(window.who),
        str(window.who),
        repr(window.who.link),
        repr(link),
        window.windowTitle(),
        *boxes.errors,
    ]
    assert not [text for text in shown if WORKER_PASSWORD in text]


def test_an_address_with_a_password_in_it_is_refused_before_connecting() -> None:
    problem = server_address_problem("postgresql://wren:lantern@db.council.local/team")
    assert problem.startswith("Leave the password out of the address")
    assert "lantern" not in problem
    assert server_address_problem("postgresql://db.council.local:5432/team") == ""


def test_file_connect_to_a_team_server_replaces_the_case_file_window(
    qtbot: QtBot,
    server: Server,
    windows: list[MainWindow],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    team = build_team(tmp_path / "case.db")
    first = ui_app.open_main_window(team.path, team.users["wren"])
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    monkeypatch.setattr(
        ServerAddressDialog, "ask", classmethod(lambda cls, parent, suggested="": server.address)
    )
    # The sign-in dialog, answered as the person would (the dialog's own tests are above).
    monkeypatch.setattr(
        ui_app.LoginDialog,
        "ask",
        classmethod(
            lambda cls, parent, link, name="", hint="": jobs.sign_in(link, "wren", WORKER_PASSWORD)
        ),
    )
    action = first.findChild(QAction, "connectServerAction")
    assert action is not None and "team server" in action.text()
    action.trigger()
    qtbot.waitUntil(lambda: first not in ui_app.open_windows, timeout=WAIT)
    [now_open] = windows
    settle(qtbot, now_open)
    assert now_open.who.link is not None
    assert now_open.windowTitle().endswith(ServerAddress(server.address).label)


def test_signing_out_on_a_server_signs_the_next_person_in_on_a_link_of_their_own(
    qtbot: QtBot, server: Server, windows: list[MainWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = signed_in_window(qtbot, server, "mona", PASSWORD)
    old_link = first.who.link
    monkeypatch.setattr(
        ui_app.LoginDialog,
        "ask",
        classmethod(
            lambda cls, parent, link, name="", hint="": jobs.sign_in(link, "wren", WORKER_PASSWORD)
        ),
    )
    first.sign_out_action.trigger()
    qtbot.waitUntil(lambda: first not in ui_app.open_windows, timeout=WAIT)
    [now_open] = windows
    settle(qtbot, now_open)
    assert now_open.who.user.username == "wren"
    assert old_link is not None and old_link.closed and now_open.who.link is not old_link


# --- seeing each other's work ----------------------------------------------------------------


def test_a_managers_queue_shows_a_new_request_and_the_worker_sees_the_decision(
    qtbot: QtBot, server: Server, windows: list[MainWindow], shots: Path
) -> None:
    manager = signed_in_window(qtbot, server, "mona", PASSWORD)
    worker = signed_in_window(qtbot, server, "wren", WORKER_PASSWORD)
    manager.open_review_queue()
    queue = manager.review_queue
    qtbot.waitUntil(lambda: queue.isVisible() and tasks.running() == 0, timeout=WAIT)
    assert (queue.queue.rowCount(), request_statuses(worker)) == (0, [])

    # Wren asks, on a connection of her own (another desk, as far as the app knows).
    with server.session("wren", WORKER_PASSWORD) as wren:
        record = submitted(wren, server.case.id, complete_request([server.kerry.id]))

    qtbot.waitUntil(lambda: queue.queue.rowCount() == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: request_statuses(worker) == ["submitted"], timeout=WAIT)
    qtbot.waitUntil(lambda: manager.queue_banner.isVisible(), timeout=WAIT)
    assert "1 request waits" in manager.queue_banner.text()
    qtbot.waitUntil(lambda: queue.entry is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    queue.grab().save(str(shots / "server-queue-refreshed.png"))

    # Mona decides in her queue; Wren's window shows the decision without a restart.
    qtbot.keyClicks(queue.reasons, "Proportionate; one look at her public posts.")
    qtbot.mouseClick(queue.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: request_statuses(worker) == ["approved"], timeout=WAIT)
    qtbot.waitUntil(lambda: queue.queue.rowCount() == 0, timeout=WAIT)
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    worker.grab().save(str(shots / "server-worker-sees-the-decision.png"))
    with server.session("wren", WORKER_PASSWORD) as wren:
        assert justifications.get(wren, record.id).status == "approved"


def test_a_manager_verifies_the_server_from_the_app(
    qtbot: QtBot, server: Server, windows: list[MainWindow]
) -> None:
    manager = signed_in_window(qtbot, server, "mona", PASSWORD)
    action = manager.findChild(QAction, "verifyAction")
    assert action is not None and action.text().replace("&", "") == "Verify the team's store"
    manager.verify()
    audit_tab = manager.case_view.audit
    qtbot.waitUntil(lambda: "Verifying" not in audit_tab.verify_result.text(), timeout=WAIT)
    assert audit_tab.verify_result.text().startswith("Intact")


def test_a_queue_being_answered_waits_until_the_reasons_are_done(
    qtbot: QtBot, server: Server, windows: list[MainWindow]
) -> None:
    manager = signed_in_window(qtbot, server, "mona", PASSWORD)
    with server.session("wren", WORKER_PASSWORD) as wren:
        submitted(wren, server.case.id, complete_request([server.kerry.id]))
    manager.open_review_queue()
    queue = manager.review_queue
    qtbot.waitUntil(lambda: queue.entry is not None and tasks.running() == 0, timeout=WAIT)
    qtbot.keyClicks(queue.reasons, "Thinking about it")
    with server.session("wren", WORKER_PASSWORD) as wren:
        submitted(wren, server.case.id, complete_request([server.kerry.id]))
    qtbot.waitUntil(lambda: "has changed" in queue.queue_summary.text(), timeout=WAIT)
    assert (queue.queue.rowCount(), queue.reasons.toPlainText()) == (1, "Thinking about it")
    queue.reasons.clear()
    qtbot.waitUntil(lambda: queue.queue.rowCount() == 2, timeout=WAIT)


def test_the_windows_own_changes_are_not_news(
    qtbot: QtBot, server: Server, windows: list[MainWindow]
) -> None:
    worker = signed_in_window(qtbot, server, "wren", WORKER_PASSWORD)
    heard: list[bool] = []
    assert worker.news is not None
    worker.news.changed.connect(lambda: heard.append(True))
    draft = tasks.run_task(
        jobs.save_draft, worker.who, server.case.id, None, complete_fields([server.kerry.id])
    )
    qtbot.waitUntil(lambda: draft.done, timeout=WAIT)
    assert draft.error is None
    # Then a change from elsewhere: notices arrive in the order their changes committed,
    # so by the time this one is heard, the window's own has been read (and ignored).
    with server.session("mona") as mona:
        cases.add_subject(mona, server.case.id, "Jay Smith", "child")
    qtbot.waitUntil(lambda: bool(heard), timeout=WAIT)
    assert heard == [True]


def test_listening_starts_again_after_the_connection_drops(
    qtbot: QtBot, server: Server, windows: list[MainWindow], shots: Path
) -> None:
    worker = signed_in_window(qtbot, server, "wren", WORKER_PASSWORD)
    assert worker.news is not None and worker.news.listener is not None
    before = worker.news.listener.server.pg.raw.info.backend_pid
    with shared_pg_server().connect() as su:
        su.execute("SELECT pg_terminate_backend(%s)", [before])
    qtbot.waitUntil(lambda: worker.news is not None and not worker.news.listening, timeout=WAIT)
    assert (worker.live_status.isVisible(), worker.live_status.text()) == (True, NOT_HEARING)
    worker.statusBar().grab().save(str(shots / "server-not-hearing.png"))
    qtbot.waitUntil(lambda: worker.news is not None and worker.news.listening, timeout=WAIT)
    assert worker.news.listener is not None
    assert worker.news.listener.server.pg.raw.info.backend_pid != before
    with server.session("mona") as mona:
        cases.add_subject(mona, server.case.id, "Jay Smith", "child")
    qtbot.waitUntil(lambda: len(worker.case_view.overview.subjects.rows) == 2, timeout=WAIT)
    assert worker.live_status.isHidden()
