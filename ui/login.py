"""Signing in, creating the first manager of a new case file, and a team server's address.

The sign-in dialogs check the password in the background (argon2 is slow on purpose;
a server checks it itself) and show the service's own message when it refuses,
lockout wording included. Each has ``ask(parent, ...) -> value | None``; tests drive
them with ``show()`` instead.

Signing in to a team server is the same dialog on a :class:`~ui.server_link.ServerLink`
(a server has no first-manager dialog: ``caseview init`` on the server creates the
first manager). On success the link keeps what the window needs to open more
connections; the dialog itself keeps nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from caseview.domain import User
from caseview.errors import CaseviewError
from caseview.storage.store import is_server_address, without_password
from ui import crash, jobs, messages, widgets
from ui.tasks import run_task

if TYPE_CHECKING:
    from ui.server_link import ServerLink

SERVER_HINT = "postgresql://HOST:PORT/DATABASE"


class _AccountDialog(QDialog):
    """Shared shape: a form, OK/Cancel, and a background call while the form is locked."""

    def __init__(self, parent: QWidget | None, path: Path | ServerLink, ok_text: str) -> None:
        super().__init__(parent)
        self.path = path
        self.user: User | None = None
        self.layout_ = QVBoxLayout(self)
        self.form = QFormLayout()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.ok_button.setAccessibleName(widgets.plain(ok_text))
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.status = widgets.note()
        self.status.setAccessibleName("Status")

    def finish_layout(self) -> None:
        self.layout_.addLayout(self.form)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.buttons)
        self.setMinimumWidth(widgets.chars(self, 60))

    def set_busy(self, busy: bool, text: str = "") -> None:
        for field in self.findChildren(QLineEdit):
            field.setEnabled(not busy)
        self.ok_button.setEnabled(not busy)
        self.status.setText(text)

    def submit(self) -> None:
        raise NotImplementedError

    def failed(self, exc: BaseException) -> None:
        self.set_busy(False)
        if isinstance(exc, CaseviewError):
            messages.error(self, str(exc))
        else:
            crash.report(self, exc)

    def succeeded(self, user: User) -> None:
        self.user = user
        self.accept()


class LoginDialog(_AccountDialog):
    """Who is signing in, to a case file (a Path) or a team server (a ServerLink)."""

    def __init__(
        self, parent: QWidget | None, path: Path | ServerLink, username: str = "", hint: str = ""
    ) -> None:
        super().__init__(parent, path, "&Sign in")
        self.setObjectName("loginDialog")
        self.setWindowTitle("Sign in to Caseview")
        self.layout_.addWidget(widgets.heading("Sign in"))
        where = widgets.note(
            f"Case file: {path}"
            if isinstance(path, Path)
            else f"Team server: {path.label}\n{path.path}\n\nSign in with your own user name "
            "and password: the server checks them."
        )
        where.setObjectName("loginWhere")
        self.layout_.addWidget(where)
        if hint:  # the demo's accounts, say
            shown = widgets.note(hint)
            shown.setObjectName("loginHint")
            self.layout_.addWidget(shown)
        self.username = QLineEdit(username)
        self.username.setObjectName("loginUser")
        self.password = QLineEdit()
        self.password.setObjectName("loginPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        widgets.add_row(self.form, "&User name:", self.username)
        widgets.add_row(self.form, "&Password:", self.password)
        self.finish_layout()
        (self.password if username else self.username).setFocus()

    def submit(self) -> None:
        if not self.username.text().strip():
            messages.error(self, "Type your user name.")
            self.username.setFocus()
            return
        self.set_busy(True, "Checking your password…")
        run_task(
            jobs.sign_in,
            self.path,
            self.username.text(),
            self.password.text(),
            on_returned=self.succeeded,
            on_errored=self.failed,
            owner=self,
        )

    def failed(self, exc: BaseException) -> None:
        super().failed(exc)
        self.password.clear()
        self.password.setFocus()

    @classmethod
    def ask(
        cls, parent: QWidget | None, path: Path | ServerLink, username: str = "", hint: str = ""
    ) -> User | None:
        dialog = cls(parent, path, username, hint)
        return dialog.user if dialog.exec() == QDialog.DialogCode.Accepted else None


class FirstManagerDialog(_AccountDialog):
    def __init__(self, parent: QWidget | None, path: Path) -> None:
        super().__init__(parent, path, "&Create account")
        self.setObjectName("firstManagerDialog")
        self.setWindowTitle("Caseview: create the first manager")
        self.layout_.addWidget(widgets.heading("Create the first manager"))
        what = (
            "This case file has no accounts yet." if path.exists() else "This is a new case file."
        )
        self.layout_.addWidget(
            widgets.note(
                f"{what} Create the first account: a manager, who then adds the workers, "
                f"other managers and auditors.\nCase file: {path}"
            )
        )
        self.username = QLineEdit()
        self.username.setObjectName("firstUser")
        self.display_name = QLineEdit()
        self.display_name.setObjectName("firstDisplayName")
        self.password = QLineEdit()
        self.password.setObjectName("firstPassword")
        self.repeat = QLineEdit()
        self.repeat.setObjectName("firstPasswordAgain")
        for field in (self.password, self.repeat):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        widgets.add_row(
            self.form,
            "&User name:",
            self.username,
            description="Lower-case letters, digits, dots, dashes or underscores.",
        )
        widgets.add_row(self.form, "&Full name:", self.display_name)
        widgets.add_row(
            self.form, "&Password:", self.password, description="At least 8 characters."
        )
        widgets.add_row(self.form, "&Repeat password:", self.repeat)
        self.finish_layout()
        self.username.setFocus()

    def submit(self) -> None:
        if self.password.text() != self.repeat.text():
            messages.error(self, "The two passwords are different. Type the same one twice.")
            self.repeat.clear()
            self.repeat.setFocus()
            return
        self.set_busy(True, "Creating the account…")
        run_task(
            jobs.create_first_manager,
            self.path,
            self.username.text(),
            self.password.text(),
            self.display_name.text().strip(),
            on_returned=self.succeeded,
            on_errored=self.failed,
            owner=self,
        )

    @classmethod
    def ask(cls, parent: QWidget | None, path: Path) -> User | None:
        dialog = cls(parent, path)
        return dialog.user if dialog.exec() == QDialog.DialogCode.Accepted else None


def server_address_problem(text: str) -> str:
    """Why ``text`` cannot be a team server's address, or "" (checked before connecting)."""
    address = text.strip()
    if not address:
        return f"Type the server's address, as IT gave it: {SERVER_HINT}."
    if not is_server_address(address):
        return f"A team server's address starts with postgresql://, as in {SERVER_HINT}."
    if without_password(address) != address:
        # Typed into a field that is shown, and kept: the password belongs in the sign-in.
        return (
            "Leave the password out of the address: you type it when you sign in. "
            f"Write it as {SERVER_HINT}."
        )
    return ""


class ServerAddressDialog(QDialog):
    """File > Connect to a team server: its address (then the sign-in dialog)."""

    def __init__(self, parent: QWidget | None, suggested: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("serverAddressDialog")
        self.setWindowTitle("Connect to a team server")
        self.value: str | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(widgets.heading("Connect to a team server"))
        layout.addWidget(
            widgets.note(
                "Your team's Caseview server, as IT gave you its address. You sign in "
                "with your own user name and password next."
            )
        )
        form = QFormLayout()
        self.address = QLineEdit(suggested)
        self.address.setObjectName("serverAddress")
        self.address.setPlaceholderText(SERVER_HINT)
        widgets.add_row(form, "Server &address:", self.address)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("&Connect")
        ok.setAccessibleName("Connect")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(widgets.chars(self, 60))
        self.address.setFocus()

    def submit(self) -> None:
        problem = server_address_problem(self.address.text())
        if problem:
            messages.error(self, problem)
            self.address.setFocus()
            return
        self.value = self.address.text().strip()
        self.accept()

    @classmethod
    def ask(cls, parent: QWidget | None, suggested: str = "") -> str | None:
        dialog = cls(parent, suggested)
        return dialog.value if dialog.exec() == QDialog.DialogCode.Accepted else None
