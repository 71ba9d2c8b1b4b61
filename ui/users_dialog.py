"""User accounts, for managers: list them, add one, reset a password, unlock, switch off.

Auditors see the list and change nothing; workers do not reach this window (the menu
item is switched off for them, and the service refuses them anyway). A manager cannot
reset, unlock or switch off their own account here, so a case file always keeps a
manager who can switch accounts back on. Passwords are hashed in the background.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseview.accounts import MIN_PASSWORD_LENGTH, Account
from caseview.domain import Role
from caseview.errors import CaseviewError
from ui import admin_jobs, crash, messages, widgets
from ui.identity import Identity
from ui.models import ROW_ROLE, RowTableModel
from ui.tasks import Task, run_task

READ_ONLY = "Auditors read the accounts but change nothing."
MANAGERS_ONLY = "Only managers look after user accounts."
OWN_ACCOUNT = (
    "This is your own account: another manager must do this for you. To change your own "
    "password, use Tools > Change my password."
)
CHOOSE_FIRST = "Choose an account in the list first."
ROLE_WORDS = {Role.WORKER: "Worker", Role.MANAGER: "Manager", Role.AUDITOR: "Auditor (read-only)"}


def state_text(account: Account) -> str:
    if not account.user.active:
        return "Switched off"
    if account.locked_until is not None:
        return f"Locked until {account.locked_until:%H:%M} UTC"
    return "Active"


class AccountsModel(RowTableModel[Account]):
    USERNAME, NAME, ROLE, STATE, FAILED = range(5)
    COLUMNS = ("User name", "Name", "Role", "State", "Failed logins")

    def text(self, row: Account, column: int) -> str:
        return (
            row.user.username,
            row.user.display_name,
            ROLE_WORDS[row.user.role],
            state_text(row),
            str(row.failed_logins),
        )[column]

    def badge(self, row: Account, column: int) -> str | None:
        if column != self.STATE:
            return None
        if not row.user.active:
            return "neutral"
        return "bad" if row.locked_until is not None else None


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAccessibleName(widgets.plain(text).rstrip("…"))
    return button


def _password(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters")
    return field


def _allow(widget: QWidget, reason: str, tip: str = "") -> None:
    widget.setEnabled(not reason)
    widget.setToolTip(reason or tip)
    widget.setAccessibleDescription(reason or tip)


def password_problem(password: str, repeated: str) -> str:
    """Why two typed passwords cannot be used, or "" (the service checks the length too)."""
    if not password:
        return "Type the new password."
    if password != repeated:
        return "The two passwords differ. Type the same password twice."
    return ""


class UsersDialog(QDialog):
    changed = Signal()
    """An account was added or changed."""

    def __init__(self, parent: QWidget | None, who: Identity) -> None:
        super().__init__(parent)
        self.setObjectName("usersDialog")
        self.setWindowTitle("User accounts")
        self.who = who
        self.accounts: tuple[Account, ...] = ()
        self.loaded = False
        self.task: Task | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(widgets.heading("User accounts"))
        layout.addWidget(
            widgets.note(
                "Workers see the cases allocated to them; managers see every case, review "
                "requests and look after accounts; auditors read everything and change "
                "nothing. Five failed logins lock an account for 15 minutes."
                + ("" if who.role is Role.MANAGER else f" {READ_ONLY}")
            )
        )
        self.model = AccountsModel(self)
        self.view = widgets.table(
            self.model, "usersTable", "User accounts", stretch=AccountsModel.NAME
        )
        self.view.setMinimumHeight(widgets.lines(self, 8))
        layout.addWidget(self.view, 1)

        chosen = QGroupBox("The chosen account")
        chosen.setObjectName("usersChosenBox")
        chosen_layout = QVBoxLayout(chosen)
        self.chosen = widgets.note(CHOOSE_FIRST)
        self.chosen.setObjectName("usersChosen")
        self.chosen.setAccessibleName("Chosen account")
        chosen_layout.addWidget(self.chosen)
        role_row = QHBoxLayout()
        self.role_choice = QComboBox()
        self.role_choice.setObjectName("usersRoleChoice")
        self.role_choice.setAccessibleName("Role for the chosen account")
        for role in (Role.WORKER, Role.MANAGER, Role.AUDITOR):
            self.role_choice.addItem(ROLE_WORDS[role], role.value)
        role_label = QLabel("Ro&le:")
        role_label.setBuddy(self.role_choice)
        self.role_button = _button("C&hange role…", "usersRoleButton")
        role_row.addWidget(role_label)
        role_row.addWidget(self.role_choice)
        role_row.addWidget(self.role_button)
        role_row.addStretch(1)
        chosen_layout.addLayout(role_row)
        reset_form = QFormLayout()
        self.reset_password = _password("usersResetPassword")
        widgets.add_row(reset_form, "New pass&word:", self.reset_password)
        self.reset_repeat = _password("usersResetRepeat")
        widgets.add_row(reset_form, "Repeat the new passwor&d:", self.reset_repeat)
        chosen_layout.addLayout(reset_form)
        chosen_buttons = QHBoxLayout()
        self.reset_button = _button("&Set the new password", "usersResetButton")
        self.unlock_button = _button("&Unlock", "usersUnlockButton")
        self.active_button = _button("Switch &off…", "usersActiveButton")
        chosen_buttons.addWidget(self.reset_button)
        chosen_buttons.addWidget(self.unlock_button)
        chosen_buttons.addStretch(1)
        chosen_buttons.addWidget(self.active_button)
        chosen_layout.addLayout(chosen_buttons)
        layout.addWidget(chosen)

        add = QGroupBox("Add a user")
        add.setObjectName("usersAddBox")
        add_layout = QVBoxLayout(add)
        add_form = QFormLayout()
        self.new_username = QLineEdit()
        self.new_username.setObjectName("usersNewUsername")
        self.new_username.setPlaceholderText("lower case, e.g. jsmith")
        self.new_username.setMaxLength(64)
        widgets.add_row(add_form, "User na&me:", self.new_username)
        self.new_display = QLineEdit()
        self.new_display.setObjectName("usersNewDisplayName")
        self.new_display.setPlaceholderText("e.g. Jo Smith")
        widgets.add_row(add_form, "&Full name:", self.new_display)
        self.new_role = QComboBox()
        self.new_role.setObjectName("usersNewRole")
        for role in (Role.WORKER, Role.MANAGER, Role.AUDITOR):
            self.new_role.addItem(ROLE_WORDS[role], role.value)
        widgets.add_row(add_form, "&Role:", self.new_role)
        self.new_password = _password("usersNewPassword")
        widgets.add_row(
            add_form,
            "First &password:",
            self.new_password,
            description="Give it to the person privately; they can change it later.",
        )
        self.new_repeat = _password("usersNewRepeat")
        widgets.add_row(add_form, "Repea&t the first password:", self.new_repeat)
        add_layout.addLayout(add_form)
        add_buttons = QHBoxLayout()
        add_buttons.addStretch(1)
        self.add_button = _button("&Add user", "usersAddButton")
        add_buttons.addWidget(self.add_button)
        add_layout.addLayout(add_buttons)
        layout.addWidget(add)

        self.outcome = widgets.note()
        self.outcome.setObjectName("usersOutcome")
        self.outcome.setAccessibleName("Result")
        layout.addWidget(self.outcome)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("usersCloseButton")
        close.setAccessibleName("Close this window")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.view.selectionModel().selectionChanged.connect(self._chosen_changed)
        self.role_choice.currentIndexChanged.connect(self._update)
        self.role_button.clicked.connect(self.change_role)
        self.reset_button.clicked.connect(self.reset)
        self.unlock_button.clicked.connect(self.unlock)
        self.active_button.clicked.connect(self.toggle_active)
        self.add_button.clicked.connect(self.add_user)
        for field in (
            self.reset_password,
            self.reset_repeat,
            self.new_username,
            self.new_password,
            self.new_repeat,
        ):
            field.textChanged.connect(self._update)
        self.resize(widgets.chars(self, 96), widgets.lines(self, 40))
        self._update()
        self._run(admin_jobs.load_accounts, "")

    # --- showing ----------------------------------------------------------------------

    def _show(self, found: list[Account]) -> None:
        chosen = self.selected()
        self.accounts = tuple(found)
        self.loaded = True
        self.model.set_rows(found)
        widgets.fit_columns(self.view)
        names = [account.user.username for account in found]
        if chosen is not None and chosen.user.username in names:
            self.view.selectRow(names.index(chosen.user.username))
        self._update()

    def _chosen_changed(self) -> None:
        """Show the chosen account's own role in the role box, then update the buttons."""
        account = self.selected()
        if account is not None:
            self.role_choice.blockSignals(True)
            self.role_choice.setCurrentIndex(self.role_choice.findData(account.user.role.value))
            self.role_choice.blockSignals(False)
        self._update()

    def selected(self) -> Account | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        account = self.model.data(rows[0], ROW_ROLE)
        return account if isinstance(account, Account) else None

    def select(self, username: str) -> None:
        """Choose the account with this user name in the list (no-op if absent)."""
        names = [account.user.username for account in self.accounts]
        if username in names:
            self.view.selectRow(names.index(username))

    def _update(self) -> None:
        account = self.selected()
        if self.who.role is Role.AUDITOR:
            role_reason = READ_ONLY
        elif self.who.role is not Role.MANAGER:
            role_reason = MANAGERS_ONLY
        else:
            role_reason = ""
        if account is None:
            self.chosen.setText(CHOOSE_FIRST)
            chosen_reason = CHOOSE_FIRST
        else:
            user = account.user
            chosen_reason = OWN_ACCOUNT if user.id == self.who.user.id else ""
            self.chosen.setText(
                f"{user.display_name} ({user.username}), {ROLE_WORDS[user.role].lower()}: "
                f"{state_text(account).lower()}."
                + (f" {account.failed_logins} failed logins." if account.failed_logins else "")
                + (f" {chosen_reason}" if chosen_reason and not role_reason else "")
            )
        base = role_reason or chosen_reason
        for field in (self.reset_password, self.reset_repeat):
            _allow(field, base)
        _allow(
            self.reset_button,
            base or password_problem(self.reset_password.text(), self.reset_repeat.text()),
            "Set this password; it also lifts a lockout. Tell the person privately.",
        )
        locked = account is not None and (
            account.locked_until is not None or account.failed_logins > 0
        )
        _allow(
            self.unlock_button,
            base or ("" if locked else "This account is not locked."),
            "Lift the lockout after failed logins; the password stays as it is.",
        )
        _allow(self.role_choice, base)
        same_role = (
            account is not None and self.role_choice.currentData() == account.user.role.value
        )
        _allow(
            self.role_button,
            base or ("Choose another role first." if same_role else ""),
            "Give this account the role chosen; what they recorded stays as it was.",
        )
        active = account is None or account.user.active
        self.active_button.setText("Switch &off…" if active else "Switch o&n")
        self.active_button.setAccessibleName("Switch off" if active else "Switch on")
        _allow(
            self.active_button,
            base,
            "Stop this account logging in or acting; nothing it recorded is removed."
            if active
            else "Let this account log in again.",
        )
        new_fields: tuple[QWidget, ...] = (
            self.new_username,
            self.new_display,
            self.new_role,
            self.new_password,
            self.new_repeat,
        )
        for widget in new_fields:
            _allow(widget, role_reason)
        if not self.new_username.text().strip():
            add_problem = "Give a user name."
        else:
            add_problem = password_problem(self.new_password.text(), self.new_repeat.text())
        _allow(self.add_button, role_reason or add_problem, "Add this account.")
        if self.task is not None or not self.loaded:
            for widget in (
                self.role_button,
                self.reset_button,
                self.unlock_button,
                self.active_button,
                self.add_button,
            ):
                widget.setEnabled(False)

    # --- changing ---------------------------------------------------------------------

    def _run(
        self,
        fn: Callable[..., list[Account]],
        done: str,
        *args: Any,
        after: Callable[[], None] | None = None,
    ) -> None:
        """Run one change (or the first load, when ``done`` is empty) in the background."""
        if self.task is not None:
            return

        def returned(found: list[Account]) -> None:
            self._show(found)
            if done:
                self.outcome.setText(done)
                self.changed.emit()
            if after is not None:
                after()

        self.task = run_task(
            fn,
            self.who,
            *args,
            on_returned=returned,
            on_errored=self._failed,
            on_finished=self._finished,
            owner=self,
        )
        self._update()

    def _finished(self) -> None:
        self.task = None
        self._update()

    def _failed(self, exc: BaseException) -> None:
        self.outcome.setText(str(exc) if isinstance(exc, CaseviewError) else "")
        crash.report(self, exc)

    def reset(self) -> None:
        account = self.selected()
        if account is None:
            return
        name = account.user.username
        self._run(
            admin_jobs.reset_password,
            f"The password of {name} is changed and the account unlocked. Tell them the new "
            "password privately.",
            name,
            self.reset_password.text(),
            after=self._clear_reset,
        )

    def _clear_reset(self) -> None:
        self.reset_password.clear()
        self.reset_repeat.clear()

    def unlock(self) -> None:
        account = self.selected()
        if account is not None:
            name = account.user.username
            self._run(admin_jobs.unlock, f"{name} is unlocked.", name)

    def change_role(self) -> None:
        account = self.selected()
        role = str(self.role_choice.currentData())
        if account is None or role == account.user.role.value:
            return
        name, words = account.user.username, ROLE_WORDS[Role(role)].lower()
        words = f"{'an' if words[0] in 'aeiou' else 'a'} {words}"
        if not messages.confirm(
            self,
            f"Make {name} {words}? From their next "
            "action they may do what that role may, and no more; everything they recorded "
            "stays as it was.",
        ):
            return
        self._run(admin_jobs.set_role, f"{name} is now {words}.", name, role)

    def toggle_active(self) -> None:
        account = self.selected()
        if account is None:
            return
        name = account.user.username
        if account.user.active:
            if not messages.confirm(
                self,
                f"Switch off the account {name}? They will not be able to log in or do "
                "anything more. Everything they recorded stays; you can switch it on again.",
            ):
                return
            self._run(admin_jobs.set_active, f"{name} is switched off.", name, False)
        else:
            self._run(admin_jobs.set_active, f"{name} is switched on again.", name, True)

    def add_user(self) -> None:
        name = self.new_username.text().strip()

        def added() -> None:
            for field in (self.new_username, self.new_display, self.new_password, self.new_repeat):
                field.clear()
            self.select(name.lower())

        self._run(
            admin_jobs.add_user,
            f"{name} is added. Give them their first password privately.",
            name,
            str(self.new_role.currentData()),
            self.new_password.text(),
            self.new_display.text().strip(),
            after=added,
        )

    def unsaved(self) -> bool:
        """True if a new account or a new password is half typed in."""
        return any(
            field.text()
            for field in (
                self.new_username,
                self.new_display,
                self.new_password,
                self.new_repeat,
                self.reset_password,
                self.reset_repeat,
            )
        )

    def reject(self) -> None:
        """Close, Escape and the close box come here: ask before losing what was typed."""
        if self.unsaved() and not messages.confirm(
            self, "Close without adding the user or setting the password you typed?"
        ):
            return
        super().reject()


class ChangePasswordDialog(QDialog):
    """Anyone changes their own password, typing the current one first."""

    def __init__(self, parent: QWidget | None, who: Identity) -> None:
        super().__init__(parent)
        self.setObjectName("changePasswordDialog")
        self.setWindowTitle("Change my password")
        self.who = who
        self.task: Task | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(widgets.heading("Change my password"))
        layout.addWidget(widgets.note(f"For {who.user.display_name} ({who.user.username})."))
        form = QFormLayout()
        self.current = _password("passwordCurrent")
        self.current.setPlaceholderText("")
        widgets.add_row(form, "&Current password:", self.current)
        self.new = _password("passwordNew")
        widgets.add_row(form, "&New password:", self.new)
        self.repeat = _password("passwordRepeat")
        widgets.add_row(form, "&Repeat the new password:", self.repeat)
        layout.addLayout(form)
        self.outcome = widgets.note()
        self.outcome.setObjectName("passwordOutcome")
        self.outcome.setAccessibleName("Result")
        layout.addWidget(self.outcome)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.change_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.change_button.setText("C&hange password")
        self.change_button.setObjectName("passwordChangeButton")
        self.change_button.setAccessibleName("Change password")
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setObjectName("passwordCancelButton")
        cancel.setAccessibleName("Cancel")
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for field in (self.current, self.new, self.repeat):
            field.textChanged.connect(self._update)
        self.setMinimumWidth(widgets.chars(self, 60))
        self._update()

    def _update(self) -> None:
        problem = (
            "Type your current password."
            if not self.current.text()
            else password_problem(self.new.text(), self.repeat.text())
        )
        _allow(self.change_button, problem or ("Please wait…" if self.task else ""))
        for field in (self.current, self.new, self.repeat):
            field.setEnabled(self.task is None)

    def submit(self) -> None:
        if self.task is not None or not self.change_button.isEnabled():
            return
        self.task = run_task(
            admin_jobs.change_own_password,
            self.who,
            self.current.text(),
            self.new.text(),
            on_returned=self._changed,
            on_errored=self._failed,
            on_finished=self._finished,
            owner=self,
        )
        self._update()

    def _finished(self) -> None:
        self.task = None
        self._update()

    def _changed(self, _nothing: None) -> None:
        messages.info(self, "Your password is changed. Use the new one next time you sign in.")
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.outcome.setText(str(exc) if isinstance(exc, CaseviewError) else "")
        self.current.clear()
        self.current.setFocus()
        crash.report(self, exc)
