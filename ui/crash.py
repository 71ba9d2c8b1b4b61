"""What the person sees when something goes wrong (STYLE rule 14).

A ``CaseviewError`` is a sentence they can act on: it is shown as a message. Anything
else is a bug: its details are appended to ``caseview.log`` in the user log directory
and shown in a dialog whose text can be copied into a support request.
"""

from __future__ import annotations

import logging
import platform
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import platformdirs
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseview import __version__
from caseview.errors import CaseviewError
from ui import messages

logger = logging.getLogger(__name__)

LOG_NAME = "caseview.log"
MESSAGE = (
    "Caseview met a problem it did not expect, so what you were doing may not have "
    "finished. Everything already saved is safe: each change is saved whole or not at "
    "all. Please copy the details below and send them to your IT support."
)


def log_path() -> Path:
    return Path(platformdirs.user_log_dir("caseview", appauthor=False)) / LOG_NAME


def details(exc: BaseException) -> str:
    """The traceback and the versions, as text to copy."""
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (
        f"Caseview {__version__}, PySide6 {pyside_version}, Python {platform.python_version()}, "
        f"{platform.platform()}\n\n{trace}"
    )


def write_log(text: str) -> Path | None:
    """Append to the log file; None if even that fails (the dialog still shows the text)."""
    path = log_path()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            log.write(f"--- {stamp} unexpected error\n{text}\n")
    except OSError:
        logger.exception("cannot write the crash log at %s", path)
        return None
    return path


class CrashDialog(QDialog):
    """The details of an unexpected error, selectable and copyable."""

    def __init__(self, parent: QWidget | None, text: str, log: Path | None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("Caseview: unexpected problem")
        layout = QVBoxLayout(self)
        message = QLabel(MESSAGE)
        message.setWordWrap(True)
        layout.addWidget(message)
        self.details = QPlainTextEdit(text)
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Error details")
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout.addWidget(self.details)
        where = (
            f"The details are also saved in {log}."
            if log is not None
            else "The details could not be saved to the log file."
        )
        saved = QLabel(where)
        saved.setWordWrap(True)
        saved.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(saved)
        buttons = QDialogButtonBox()
        self.copy_button = QPushButton("&Copy details")
        self.copy_button.setAccessibleName("Copy details")
        # Added in the order they are shown, so Tab goes left to right along them.
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(self.fontMetrics().averageCharWidth() * 90, self.fontMetrics().height() * 24)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())


def show_dialog(parent: QWidget | None, text: str, log: Path | None) -> None:
    """Show the crash dialog (modal). Tests replace this function."""
    CrashDialog(parent, text, log).exec()


def report(parent: QWidget | None, exc: BaseException) -> None:
    """Show a failure: a ``CaseviewError`` as its message, anything else as a crash."""
    if isinstance(exc, CaseviewError):
        messages.error(parent, str(exc))
        return
    text = details(exc)
    logger.error("unexpected error: %s", text)
    show_dialog(parent, text, write_log(text))


def excepthook(kind: type[BaseException], exc: BaseException, trace: TracebackType | None) -> None:
    """``sys.excepthook`` for an app we run ourselves: a slot's bug reaches the dialog."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, trace)
        return
    report(None, exc.with_traceback(trace))
