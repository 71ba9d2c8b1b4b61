"""User accounts, for managers: add, reset a password, unlock, switch off and on.

Each test checks the case file afterwards (the account, whether it can log in, the
audit event) and that auditors and workers are stopped, in the window and by the
service behind it.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from ui_support import PASSWORD, Boxes, Team, tab_stops

from caseview import accounts, audit
from caseview.domain import AuditEvent, Role
from caseview.errors import LoginFailed, PermissionDenied
from caseview.storage import open_case_file
from ui import admin_jobs, tasks
from ui.main_window import MainWindow
from ui.users_dialog import (
    OWN_ACCOUNT,
    READ_ONLY,
    AccountsModel,
    ChangePasswordDialog,
    UsersDialog,
)

WAIT = 15_000
NEW_PASSWORD = "a brand new password"


def open_users(qtbot: QtBot, team: Team, name: str = "mona") -> UsersDialog:
    dialog = UsersDialog(None, team.who(name))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    return dialog


def done(qtbot: QtBot, dialog: UsersDialog) -> None:
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)


def can_log_in(team: Team, name: str, password: str) -> bool:
    with open_case_file(team.path) as casefile:
        try:
            accounts.login(casefile, name, password)
        except LoginFailed:
            return False
    return True


def fail_logins(team: Team, name: str, times: int) -> None:
    for _ in range(times):
        assert not can_log_in(team, name, "wrong horse")


def last_event(team: Team) -> AuditEvent:
    """The newest event before the auditor's own login to read it."""
    with team.session("ada") as ada:
        return audit.list_events(ada)[-2]


def states(dialog: UsersDialog) -> dict[str, str]:
    return {
        dialog.model.text(account, AccountsModel.USERNAME): dialog.model.text(
            account, AccountsModel.STATE
        )
        for account in dialog.model.rows
    }


# --- the list ---------------------------------------------------------------------------


def test_a_manager_sees_every_account_and_its_state(qtbot: QtBot, team: Team) -> None:
    fail_logins(team, "wren", 5)
    dialog = open_users(qtbot, team)
    found = states(dialog)
    assert list(found) == ["ada", "max", "mona", "wren"]
    assert found["mona"] == "Active"
    assert found["wren"].startswith("Locked until ")


def test_the_accounts_table_passes_the_model_tester(
    qtbot: QtBot, team: Team, qtmodeltester: object
) -> None:
    dialog = open_users(qtbot, team)
    qtmodeltester.check(dialog.model)  # type: ignore[attr-defined]
    assert dialog.model.rowCount() == 4


# --- adding ---------------------------------------------------------------------------


def test_a_manager_adds_a_worker_who_can_then_log_in(qtbot: QtBot, team: Team) -> None:
    dialog = open_users(qtbot, team)
    qtbot.keyClicks(dialog.new_username, "otto")
    qtbot.keyClicks(dialog.new_display, "Otto Worker")
    dialog.new_role.setCurrentIndex(dialog.new_role.findData("worker"))
    qtbot.keyClicks(dialog.new_password, NEW_PASSWORD)
    qtbot.keyClicks(dialog.new_repeat, NEW_PASSWORD)
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    chosen = dialog.selected()
    assert chosen is not None and chosen.user.username == "otto"
    assert (chosen.user.role, chosen.user.display_name) == (Role.WORKER, "Otto Worker")
    assert dialog.new_username.text() == dialog.new_password.text() == ""
    assert can_log_in(team, "otto", NEW_PASSWORD)
    with team.session("ada") as ada:
        added = [e for e in audit.list_events(ada) if e.action == "user.added"][-1]
    assert (added.actor, added.data["username"], added.data["role"]) == ("mona", "otto", "worker")


def test_passwords_that_differ_cannot_be_used(qtbot: QtBot, team: Team) -> None:
    dialog = open_users(qtbot, team)
    qtbot.keyClicks(dialog.new_username, "otto")
    qtbot.keyClicks(dialog.new_password, NEW_PASSWORD)
    qtbot.keyClicks(dialog.new_repeat, "a brand new passwort")
    assert not dialog.add_button.isEnabled()
    assert "differ" in dialog.add_button.toolTip()


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("wren", NEW_PASSWORD, "There is already a user called 'wren'"),
        ("Not A Name!", NEW_PASSWORD, "cannot be a user name"),
        ("otto", "short", "The password is too short"),
    ],
)
def test_the_services_refusal_is_shown_and_nothing_is_added(
    qtbot: QtBot, team: Team, boxes: Boxes, name: str, password: str, message: str
) -> None:
    dialog = open_users(qtbot, team)
    qtbot.keyClicks(dialog.new_username, name)
    qtbot.keyClicks(dialog.new_password, password)
    qtbot.keyClicks(dialog.new_repeat, password)
    dialog.add_user()
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert message in boxes.errors[0]
    assert dialog.outcome.text() == boxes.errors[0]
    assert dialog.model.rowCount() == 4


# --- the chosen account ---------------------------------------------------------------


def test_a_manager_resets_a_forgotten_password(qtbot: QtBot, team: Team) -> None:
    fail_logins(team, "wren", 5)
    dialog = open_users(qtbot, team)
    dialog.select("wren")
    qtbot.keyClicks(dialog.reset_password, NEW_PASSWORD)
    qtbot.keyClicks(dialog.reset_repeat, NEW_PASSWORD)
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.reset_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    assert states(dialog)["wren"] == "Active"  # the reset lifts the lockout too
    assert dialog.reset_password.text() == ""
    event = last_event(team)
    assert (event.actor, event.action, event.data["username"]) == (
        "mona",
        "user.password_reset",
        "wren",
    )
    assert NEW_PASSWORD not in str(event.data)  # the hash's digest only
    assert can_log_in(team, "wren", NEW_PASSWORD)
    assert not can_log_in(team, "wren", PASSWORD)


def test_a_manager_unlocks_an_account(qtbot: QtBot, team: Team) -> None:
    fail_logins(team, "wren", 5)
    dialog = open_users(qtbot, team)
    dialog.select("wren")
    assert dialog.unlock_button.isEnabled()
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    assert last_event(team).action == "user.unlocked"
    assert states(dialog)["wren"] == "Active"
    assert not dialog.unlock_button.isEnabled()
    assert can_log_in(team, "wren", PASSWORD)


def test_an_account_that_is_not_locked_has_nothing_to_unlock(qtbot: QtBot, team: Team) -> None:
    dialog = open_users(qtbot, team)
    dialog.select("wren")
    assert (dialog.unlock_button.isEnabled(), dialog.unlock_button.toolTip()) == (
        False,
        "This account is not locked.",
    )


def test_a_manager_switches_an_account_off_and_on(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    dialog = open_users(qtbot, team)
    dialog.select("wren")
    boxes.confirm_answer = True
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.active_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    assert "Everything they recorded stays" in boxes.confirms[0]
    assert (states(dialog)["wren"], dialog.active_button.accessibleName()) == (
        "Switched off",
        "Switch on",
    )
    assert not can_log_in(team, "wren", PASSWORD)
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.active_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    assert can_log_in(team, "wren", PASSWORD)
    with team.session("ada") as ada:
        actions = [e.action for e in audit.list_events(ada) if e.action.startswith("user.")]
    assert actions[-2:] == ["user.deactivated", "user.reactivated"]


def test_a_manager_changes_someones_role(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    dialog = open_users(qtbot, team)
    dialog.select("wren")
    assert dialog.role_choice.currentData() == "worker"
    assert (dialog.role_button.isEnabled(), dialog.role_button.toolTip()) == (
        False,
        "Choose another role first.",
    )
    dialog.role_choice.setCurrentIndex(dialog.role_choice.findData("auditor"))
    assert dialog.role_button.isEnabled()
    boxes.confirm_answer = True
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.role_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    assert "Make wren an auditor (read-only)?" in boxes.confirms[0]
    assert dialog.outcome.text() == "wren is now an auditor (read-only)."
    with team.session("ada") as ada:
        last = [e for e in audit.list_events(ada) if e.action.startswith("user.")][-1]
    assert (last.action, last.data["role"], last.data["previous"]) == (
        "user.role_changed",
        "auditor",
        "worker",
    )
    with team.session("wren") as wren:
        assert wren.role is Role.AUDITOR


def test_saying_no_leaves_the_account_on(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    dialog = open_users(qtbot, team)
    dialog.select("wren")
    dialog.toggle_active()
    assert (len(boxes.confirms), dialog.task) == (1, None)
    assert can_log_in(team, "wren", PASSWORD)


def test_a_manager_cannot_change_their_own_account_here(qtbot: QtBot, team: Team) -> None:
    dialog = open_users(qtbot, team)
    dialog.select("mona")
    for button in (dialog.reset_button, dialog.active_button, dialog.role_button):
        assert (button.isEnabled(), button.toolTip()) == (False, OWN_ACCOUNT)
    with pytest.raises(PermissionDenied) as refused:
        admin_jobs.set_active(team.who("mona"), "mona", False)
    assert refused.value.rule == "own_account"


# --- other roles ----------------------------------------------------------------------


def test_an_auditor_reads_the_accounts_and_changes_nothing(qtbot: QtBot, team: Team) -> None:
    dialog = open_users(qtbot, team, "ada")
    dialog.select("wren")
    assert dialog.model.rowCount() == 4
    for widget in (
        dialog.reset_button,
        dialog.unlock_button,
        dialog.active_button,
        dialog.new_username,
        dialog.add_button,
    ):
        assert (widget.isEnabled(), widget.toolTip()) == (False, READ_ONLY)
    for change in (
        lambda: admin_jobs.unlock(team.who("ada"), "wren"),
        lambda: admin_jobs.add_user(team.who("ada"), "otto", "worker", NEW_PASSWORD, ""),
    ):
        with pytest.raises(PermissionDenied) as refused:
            change()
        assert refused.value.rule == "role"


def test_a_worker_cannot_reach_the_accounts(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    window = MainWindow(team.who("wren"))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    refusal = "Only a manager or an auditor can list users; you are signed in as a worker."
    assert (window.users_action.isEnabled(), window.users_action.toolTip()) == (False, refusal)
    assert window.open_users() is None
    dialog = open_users(qtbot, team, "wren")  # even if it were opened, the service says no
    assert dialog.model.rowCount() == 0
    assert boxes.errors == [refusal]


# --- keyboard and names ---------------------------------------------------------------


def test_every_control_is_named_and_tab_follows_the_layout(qtbot: QtBot, team: Team) -> None:
    dialog = open_users(qtbot, team)
    unnamed = [
        w.objectName()
        for w in dialog.findChildren(QWidget)
        if w.objectName().startswith("users")
        and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and not w.accessibleName()
    ]
    assert unnamed == []
    order = [n for n in tab_stops(dialog.view) if n.startswith("users")]
    assert order == [
        "usersTable",
        "usersRoleChoice",
        "usersRoleButton",
        "usersResetPassword",
        "usersResetRepeat",
        "usersResetButton",
        "usersUnlockButton",
        "usersActiveButton",
        "usersNewUsername",
        "usersNewDisplayName",
        "usersNewRole",
        "usersNewPassword",
        "usersNewRepeat",
        "usersAddButton",
        "usersCloseButton",
    ]


# --- one's own password -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["wren", "mona", "ada"])
def test_anyone_changes_their_own_password_from_the_window(
    qtbot: QtBot, team: Team, boxes: Boxes, name: str
) -> None:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    dialog = window.change_password()
    qtbot.keyClicks(dialog.current, PASSWORD)
    qtbot.keyClicks(dialog.new, NEW_PASSWORD)
    qtbot.keyClicks(dialog.repeat, NEW_PASSWORD)
    qtbot.mouseClick(dialog.change_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(boxes.infos), timeout=WAIT)
    assert boxes.infos == ["Your password is changed. Use the new one next time you sign in."]
    assert can_log_in(team, name, NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    dialog = ChangePasswordDialog(None, team.who("wren"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.current, "wrong horse")
    qtbot.keyClicks(dialog.new, NEW_PASSWORD)
    qtbot.keyClicks(dialog.repeat, NEW_PASSWORD)
    dialog.submit()
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert "current password is wrong" in boxes.errors[0]
    assert (dialog.isVisible(), dialog.current.text()) == (True, "")
    assert can_log_in(team, "wren", PASSWORD)
