"""Every message box and file chooser the app shows, in one place (STYLE rule 11).

Widgets call these functions and never build a ``QMessageBox`` or ``QFileDialog``
themselves, so tests replace this module's functions and never block on a modal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

TITLE = "Caseview"


def error(parent: QWidget | None, text: str, *, title: str = TITLE) -> None:
    """Something the person can act on went wrong (a ``CaseviewError``'s message)."""
    QMessageBox.warning(parent, title, text)


def info(parent: QWidget | None, text: str, *, title: str = TITLE) -> None:
    QMessageBox.information(parent, title, text)


def about(parent: QWidget | None, title: str, rich_text: str) -> None:
    QMessageBox.about(parent, title, rich_text)


def confirm(parent: QWidget | None, text: str, *, title: str = TITLE) -> bool:
    """A yes/no question; True for yes. No is the default (Enter does not agree)."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def save_path(parent: QWidget | None, title: str, suggested: Path, file_filter: str) -> Path | None:
    """Where to save a file, or None if the person cancelled."""
    name, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), file_filter)
    return Path(name) if name else None


def open_path(parent: QWidget | None, title: str, start: Path, file_filter: str) -> Path | None:
    """An existing file to open, or None if the person cancelled."""
    name, _ = QFileDialog.getOpenFileName(parent, title, str(start), file_filter)
    return Path(name) if name else None
