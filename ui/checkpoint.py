"""The audit checkpoint ``SEQ:HASH``, shown whole and copyable.

A checkpoint is what an auditor writes down or pastes into ``caseview verify
--expect-head``; a hash cut short, or text that cannot be selected, is no use to them.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from caseview.audit import Checkpoint


def checkpoint_text(checkpoint: Checkpoint) -> str:
    """The form the command line takes and prints: ``SEQ:HASH``."""
    return f"{checkpoint.seq}:{checkpoint.hash}"


class CheckpointField(QWidget):
    """A caption, the checkpoint in a read-only field wide enough for all of it, and a
    Copy button that puts ``SEQ:HASH`` on the clipboard. Hidden until it has one."""

    copied = Signal(str)
    """The checkpoint text was put on the clipboard."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.caption = QLabel()
        self.caption.setObjectName(f"{name}Caption")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        row = QHBoxLayout()
        self.field = QLineEdit()
        self.field.setObjectName(f"{name}Text")
        self.field.setReadOnly(True)  # selectable and copyable, never edited
        self.field.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.field.setAccessibleName("Audit checkpoint")
        self.field.setAccessibleDescription(
            "The audit log's sequence number and hash; 'caseview verify --expect-head' "
            "checks a case file against it."
        )
        self.caption.setBuddy(self.field)
        row.addWidget(self.field, 1)
        self.copy_button = QPushButton("Cop&y")
        self.copy_button.setObjectName(f"{name}Copy")
        self.copy_button.setAutoDefault(False)
        self.copy_button.setAccessibleName("Copy the checkpoint")
        self.copy_button.setToolTip("Put the checkpoint (SEQ:HASH) on the clipboard.")
        self.copy_button.clicked.connect(self.copy)
        row.addWidget(self.copy_button)
        layout.addLayout(row)
        self.hide()

    def show_checkpoint(self, checkpoint: Checkpoint, caption: str) -> None:
        text = checkpoint_text(checkpoint)
        self.caption.setText(caption)
        self.field.setText(text)
        self.field.setCursorPosition(0)
        # Wide enough for the whole hash: nothing is cut off or scrolled out of sight.
        metrics = self.field.fontMetrics()
        self.field.setMinimumWidth(metrics.horizontalAdvance(text + "MM"))
        self.show()

    def text(self) -> str:
        return self.field.text()

    def copy(self) -> None:
        text = self.field.text()
        if not text:
            return
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(text)
