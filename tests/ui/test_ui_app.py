"""Starting the app: the CLI contract, signing in, and the first run of a new case file."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QThreadPool
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QWidget
from pytestqt.qtbot import QtBot
from ui_support import PASSWORD, Boxes, Team

from caseview import accounts, demo
from caseview.cli import main
from caseview.domain import Role
from caseview.storage import open_case_file
from ui import app as ui_app
from ui import tasks as tasks_module
from ui.login import FirstManagerDialog, LoginDialog
from ui.main_window import DEMO_BANNER, MainWindow

WAIT = 10_000
CONTRACT_NAMES = (
    "caseList",
    "sourcesTable",
    "captureButton",
    "justificationWizard",
    "reviewQueue",
    "auditView",
    "verifyButton",
    "exportPdfButton",
)


def main_windows() -> list[QWidget]:
    return [w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow"]


def signed_in_as(monkeypatch: pytest.MonkeyPatch, name: str, password: str = PASSWORD) -> None:
    monkeypatch.setenv("CASEVIEW_USER", name)
    monkeypatch.setenv("CASEVIEW_PASSWORD", password)


# --- the contract: caseview.cli.main(["--db", PATH, "gui"]) ------------------------------


def test_gui_reuses_the_application_and_opens_the_main_window_signed_in(
    qapp: QApplication, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in_as(monkeypatch, "wren")
    code = main(["--db", str(team.path), "gui"])
    [window] = main_windows()
    assert (code, QApplication.instance() is qapp, window.isVisible()) == (0, True, True)
    assert "Wren Worker" in window.windowTitle()


def test_the_main_window_has_every_contract_widget(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in_as(monkeypatch, "mona")
    main(["--db", str(team.path), "gui"])
    [window] = main_windows()
    missing = [name for name in CONTRACT_NAMES if window.findChild(QObject, name) is None]
    assert missing == []


def test_no_command_means_the_desktop_app(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    signed_in_as(monkeypatch, "ada")
    monkeypatch.setenv("CASEVIEW_DB", str(team.path))
    assert (main([]), len(main_windows())) == (0, 1)


def test_demo_opens_the_app_with_the_banner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    signed_in_as(monkeypatch, "demo-worker", "demo")
    code = main(["--db", str(tmp_path / "demo.db"), "demo"])
    [window] = main_windows()
    assert (code, DEMO_BANNER in window.windowTitle()) == (0, True)
    assert "password for each: demo" in capsys.readouterr().out


def test_the_demo_sign_in_names_its_accounts_and_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    """Run from a launcher, the demo's terminal (which printed the accounts) is hidden:
    the sign-in dialog says them. An ordinary case file's dialog does not."""
    hints: list[str] = []
    monkeypatch.setattr(
        LoginDialog,
        "ask",
        classmethod(lambda cls, parent, path, name="", hint="": hints.append(hint)),
    )
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    monkeypatch.delenv("CASEVIEW_PASSWORD", raising=False)
    assert main(["--db", str(tmp_path / "demo.db"), "demo"]) == 0
    assert hints == [demo.SIGN_IN_HINT]
    assert "demo-worker" in hints[0] and "password for each is demo" in hints[0]
    dialog = LoginDialog(None, tmp_path / "demo.db", "", hints[0])
    qtbot.addWidget(dialog)
    [shown] = [w for w in dialog.findChildren(QLabel) if w.objectName() == "loginHint"]
    assert shown.text() == demo.SIGN_IN_HINT
    plain = LoginDialog(None, tmp_path / "demo.db")
    qtbot.addWidget(plain)
    assert [w for w in plain.findChildren(QLabel) if w.objectName() == "loginHint"] == []


def test_demo_no_gui_opens_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (main(["--db", str(tmp_path / "demo.db"), "demo", "--no-gui"]), main_windows()) == (
        0,
        [],
    )


def test_a_wrong_environment_password_is_shown_then_the_dialog_offered(
    team: Team, monkeypatch: pytest.MonkeyPatch, boxes: Boxes
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(
        LoginDialog,
        "ask",
        classmethod(lambda cls, parent, path, name="", hint="": asked.append(name)),
    )
    signed_in_as(monkeypatch, "wren", "not the password")
    assert main(["--db", str(team.path), "gui"]) == 0
    assert (asked, main_windows()) == (["wren"], [])
    assert boxes.errors[0].startswith("The user name or password is wrong.")


def test_an_empty_case_file_asks_for_the_first_manager(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Path] = []
    monkeypatch.setattr(
        FirstManagerDialog, "ask", classmethod(lambda cls, parent, path: asked.append(path))
    )
    path = tmp_path / "new.db"
    assert (ui_app.sign_in(path), asked) == (None, [path])


# --- the login dialog --------------------------------------------------------------------


@pytest.fixture
def login(qtbot: QtBot, team: Team) -> LoginDialog:
    dialog = LoginDialog(None, team.path, "wren")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def press_ok(qtbot: QtBot, buttons: QDialogButtonBox) -> None:
    qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def test_a_wrong_password_shows_the_service_message(
    qtbot: QtBot, login: LoginDialog, boxes: Boxes
) -> None:
    qtbot.keyClicks(login.password, "wrong password")
    press_ok(qtbot, login.buttons)
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert boxes.errors == [
        "The user name or password is wrong. 4 more failed tries will lock the account "
        "for 15 minutes."
    ]
    assert (login.isVisible(), login.password.text(), login.user) == (True, "", None)


def test_a_locked_account_is_told_when_it_unlocks(
    qtbot: QtBot, team: Team, login: LoginDialog, boxes: Boxes
) -> None:
    with open_case_file(team.path) as casefile:
        for _ in range(accounts.MAX_FAILED_LOGINS):
            with pytest.raises(Exception, match="wrong"):
                accounts.login(casefile, "wren", "nope")
    qtbot.keyClicks(login.password, PASSWORD)
    press_ok(qtbot, login.buttons)
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert "is locked after 5 failed logins, until" in boxes.errors[0]


def test_the_right_password_signs_in(qtbot: QtBot, login: LoginDialog) -> None:
    qtbot.keyClicks(login.password, PASSWORD)
    with qtbot.waitSignal(login.accepted, timeout=WAIT):
        press_ok(qtbot, login.buttons)
    assert login.user is not None and (login.user.username, login.user.role) == (
        "wren",
        Role.WORKER,
    )


# --- the first run --------------------------------------------------------------------------


@pytest.fixture
def first_run(qtbot: QtBot, tmp_path: Path) -> FirstManagerDialog:
    dialog = FirstManagerDialog(None, tmp_path / "team" / "case.db")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def fill_first_run(
    qtbot: QtBot, dialog: FirstManagerDialog, again: str = "a long password"
) -> None:
    qtbot.keyClicks(dialog.username, "mona")
    qtbot.keyClicks(dialog.display_name, "Mona Manager")
    qtbot.keyClicks(dialog.password, "a long password")
    qtbot.keyClicks(dialog.repeat, again)


def test_the_first_run_creates_the_case_file_and_its_manager(
    qtbot: QtBot, first_run: FirstManagerDialog
) -> None:
    fill_first_run(qtbot, first_run)
    with qtbot.waitSignal(first_run.accepted, timeout=WAIT):
        press_ok(qtbot, first_run.buttons)
    with open_case_file(first_run.path) as casefile:
        session = accounts.login(casefile, "mona", "a long password")
        assert (session.role, session.user.display_name) == (Role.MANAGER, "Mona Manager")


def test_two_different_passwords_create_nothing(
    qtbot: QtBot, first_run: FirstManagerDialog, boxes: Boxes
) -> None:
    fill_first_run(qtbot, first_run, again="another password")
    press_ok(qtbot, first_run.buttons)
    assert boxes.errors == ["The two passwords are different. Type the same one twice."]
    assert not first_run.path.exists()


def test_a_short_password_is_refused_with_the_rule_and_no_file_is_left(
    qtbot: QtBot, first_run: FirstManagerDialog, boxes: Boxes
) -> None:
    qtbot.keyClicks(first_run.username, "mona")
    qtbot.keyClicks(first_run.password, "short")
    qtbot.keyClicks(first_run.repeat, "short")
    press_ok(qtbot, first_run.buttons)
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert (boxes.errors, first_run.path.exists()) == (
        ["The password is too short. Use at least 8 characters."],
        False,
    )


def test_open_main_window_returns_the_window_without_an_event_loop(
    qtbot: QtBot, team: Team
) -> None:
    window = ui_app.open_main_window(team.path, team.users["max"])
    qtbot.waitUntil(lambda: window.cases.rowCount() == 1, timeout=WAIT)
    assert isinstance(window, MainWindow) and window in ui_app.open_windows


def test_a_file_that_is_not_a_case_file_is_refused_in_words(tmp_path: Path, boxes: Boxes) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list")
    assert main(["--db", str(path), "gui"]) == 1
    assert "is not a Caseview case file" in boxes.errors[0]
    assert main_windows() == []


def test_closing_one_window_leaves_the_others_work_alone(qtbot: QtBot, team: Team) -> None:
    first = ui_app.open_main_window(team.path, team.users["max"])
    qtbot.waitUntil(lambda: tasks_module.running() == 0, timeout=WAIT)
    # Hold every pool thread, so the second window's loads are still waiting to start.
    release = threading.Event()
    holders = [
        tasks_module.run_task(release.wait, 10)
        for _ in range(QThreadPool.globalInstance().maxThreadCount())
    ]
    second = ui_app.open_main_window(team.path, team.users["ada"])
    first.close()
    release.set()
    qtbot.waitUntil(lambda: all(task.done for task in holders), timeout=WAIT)
    qtbot.waitUntil(lambda: second.cases.rowCount() == 1, timeout=WAIT)
