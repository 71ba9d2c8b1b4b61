"""Signing in, and creating the first manager of a new case file.

Both dialogs check the password in the background (argon2 is slow on purpose) and
show the service's own message when it refuses, lockout wording included. Each has
``ask(parent, path) -> User | None``; tests drive them with ``show()`` instead.
"""

from __future__ import annotations

from pathlib import Path

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
from ui import crash, jobs, messages, widgets
from ui.tasks import run_task


class _AccountDialog(QDialog):
    """Shared shape: a form, OK/Cancel, and a background call while the form is locked."""

    def __init__(self, parent: QWidget | None, path: Path, ok_text: str) -> None:
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
    def __init__(self, parent: QWidget | None, path: Path, username: str = "") -> None:
        super().__init__(parent, path, "&Sign in")
        self.setObjectName("loginDialog")
        self.setWindowTitle("Sign in to Caseview")
        self.layout_.addWidget(widgets.heading("Sign in"))
        self.layout_.addWidget(widgets.note(f"Case file: {path}"))
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
    def ask(cls, parent: QWidget | None, path: Path, username: str = "") -> User | None:
        dialog = cls(parent, path, username)
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
