"""Write the reasoned note of a case: analysis, balance, conclusion, evaluation.

Each save is a new version (``caseview.notes``), made in the background; the editor
says which version it shows, who saved it and when, and asks before closing with
unsaved changes. If someone else saves the note while it is open, the editor says so
and lets the writer decide whether theirs becomes the next version (both are kept).
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from caseview.errors import CaseviewError
from caseview.notes import Note
from ui import crash, jobs, messages, widgets
from ui.identity import Identity
from ui.tasks import run_task
from ui.wizard import STYLE, TextBox

# (field, heading, label with its mnemonic, what to write, lines shown)
SECTIONS = (
    (
        "analysis",
        "Analysis",
        "&Analysis",
        "What the findings relied upon show, how sure you are, and what they do not show.",
        8,
    ),
    (
        "balance",
        "Ethics and safety: the balance",
        "Ethics and safety: the &balance",
        "Now that you have seen what you saw: was looking justified against the family's privacy?",
        4,
    ),
    (
        "conclusion",
        "Conclusion",
        "Co&nclusion",
        "Your answer to the question you asked, and what happens next.",
        5,
    ),
    (
        "evaluation_useful",
        "Evaluation: was it useful?",
        "Evaluation: was it &useful?",
        "Did looking help? Would you look again in a similar case?",
        2,
    ),
    (
        "evaluation_decision",
        "Evaluation: what did it change?",
        "Evaluation: what did it c&hange?",
        "Which decision or plan it informed.",
        2,
    ),
    (
        "evaluation_family_told",
        "Evaluation: was the family told?",
        "Evaluation: was the family &told?",
        "Whether and when the family was told about the looking, or why not.",
        2,
    ),
    (
        "evaluation_family_response",
        "Evaluation: the family's response",
        "Evaluation: the family's res&ponse",
        "What the family said, in their words where you can.",
        2,
    ),
)
NOTE_SECTIONS = tuple((field, heading) for field, heading, *_ in SECTIONS)
"""(field, heading) of each part of the note, in the order the note prints them."""


def version_text(note: Note | None) -> str:
    """Which version this is, who saved it and when, in a sentence."""
    if note is None:
        return "No note has been written for this case yet; saving makes version 1."
    return (
        f"Version {note.version}, saved by {note.author_display} ({note.author}) on "
        f"{note.saved_at:%d %B %Y at %H:%M} UTC."
    )


def field_for(exc: CaseviewError) -> str:
    """The section a refusal is about, or "general" (the service names it in words)."""
    text = str(exc).casefold()
    if "note is empty" in text:
        return "analysis"
    for field, *_ in SECTIONS:
        if f"the {field.replace('_', ' ')} is" in text:
            return field
    return "general"


class NoteEditor(QDialog):
    """The note of one case, as a form; ``reason`` (why not) makes it read-only."""

    saved = Signal(object)
    """A save finished: the Note as it now stands (the same version if nothing changed)."""
    loaded = Signal()

    def __init__(
        self, parent: QWidget | None, who: Identity, case_id: int, *, reason: str = ""
    ) -> None:
        super().__init__(parent)
        self.setObjectName("noteEditor")
        self.setWindowTitle("The reasoned note[*]")
        self.setStyleSheet(STYLE)
        self.who = who
        self.case_id = case_id
        self.reason = reason
        self.note: Note | None = None
        self.ready = False
        self.saving = False
        self.dirty = False
        self._filling = False
        self._saves = 0  # counts saves, so only the latest one's end clears ``saving``

        layout = QVBoxLayout(self)
        layout.addWidget(widgets.heading("The reasoned note"))
        self.status = widgets.note("Loading the note…")
        self.status.setObjectName("noteStatus")
        self.status.setAccessibleName("Note version")
        layout.addWidget(self.status)
        if reason:
            why = widgets.note(reason)
            why.setAccessibleName("Why this is read-only")
            layout.addWidget(why)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setObjectName("noteScroll")
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the fields; it follows
        holder = QWidget()
        form = QVBoxLayout(holder)
        self.fields: dict[str, QPlainTextEdit] = {}
        self.problems: dict[str, QLabel] = {}
        for field, _heading, label_text, hint, rows in SECTIONS:
            box = TextBox(f"note_{field}", rows=rows)
            label = QLabel(label_text)
            label.setBuddy(box)
            font = label.font()
            font.setBold(True)
            label.setFont(font)
            box.setAccessibleName(widgets.plain(label_text))
            box.setAccessibleDescription(hint)
            box.setPlaceholderText(hint)
            box.setToolTip(hint)
            form.addWidget(label)
            form.addWidget(box)
            form.addWidget(self._problem_label(field, f"Problem with the {label.text()}"))
            self.fields[field] = box
            box.textChanged.connect(self._changed)
        form.addStretch(1)
        scroll.setWidget(holder)
        layout.addWidget(scroll, 1)
        layout.addWidget(self._problem_label("general", "Problem saving the note"))

        buttons = QHBoxLayout()
        self.outcome = widgets.note()
        self.outcome.setObjectName("noteOutcome")
        self.outcome.setAccessibleName("Last save")
        buttons.addWidget(self.outcome, 1)
        self.save_button = QPushButton("&Save")
        self.save_button.setObjectName("noteSaveButton")
        self.save_button.setAccessibleName("Save the note")
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("noteCloseButton")
        self.close_button.setAccessibleName("Close the note editor")
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.save_button.clicked.connect(self.save)
        self.close_button.clicked.connect(self.reject)
        self.save_shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        self.save_shortcut.activated.connect(self.save)

        order: list[QWidget] = [*self.fields.values(), self.save_button, self.close_button]
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)
        self._update()
        self.resize(widgets.chars(self, 100), widgets.lines(self, 42))
        self.load()

    def _problem_label(self, field: str, name: str) -> QLabel:
        label = widgets.note()
        label.setObjectName(f"{field}Problem")
        label.setAccessibleName(name)
        label.setStyleSheet("color: #b3261e;")
        label.hide()
        self.problems[field] = label
        return label

    # --- loading ----------------------------------------------------------------------

    def load(self) -> None:
        """Fetch the latest version (in the background) and show it."""
        self.ready = False
        self._update()
        run_task(
            jobs.load_note,
            self.who,
            self.case_id,
            on_returned=self._loaded,
            on_errored=self._failed,
            owner=self,
        )

    def _loaded(self, note: Note | None) -> None:
        self.fill(note)
        self.ready = True
        self._update()
        self.fields["analysis"].setFocus()
        self.loaded.emit()

    def fill(self, note: Note | None) -> None:
        self._filling = True
        try:
            for field, box in self.fields.items():
                box.setPlainText(getattr(note, field) if note is not None else "")
        finally:
            self._filling = False
        self.note = note
        self._set_dirty(False)

    def fields_text(self) -> dict[str, str]:
        return {field: box.toPlainText() for field, box in self.fields.items()}

    # --- editing ----------------------------------------------------------------------

    def _changed(self) -> None:
        if not self._filling:
            self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self.dirty = dirty
        self.setWindowModified(dirty)
        self._update()

    def _update(self) -> None:
        editable = self.ready and not self.reason and not self.saving
        for box in self.fields.values():
            box.setReadOnly(not editable)  # read-only, not disabled: still readable by keyboard
        self.save_button.setEnabled(editable and self.dirty)
        if self.reason:
            self.save_button.setToolTip(self.reason)
        elif self.saving:
            self.save_button.setToolTip("Saving…")
        else:
            self.save_button.setToolTip(
                "Save a new version of the note (Ctrl+S)." if self.dirty else "Nothing to save."
            )
        self.save_button.setAccessibleDescription(self.save_button.toolTip())
        status = version_text(self.note) if self.ready else "Loading the note…"
        if self.dirty:
            status += " You have unsaved changes."
        self.status.setText(status)

    def show_problem(self, field: str, text: str) -> None:
        label = self.problems.get(field, self.problems["general"])
        label.setText(text)
        label.setVisible(bool(text))
        box = self.fields.get(field)
        if box is not None:
            box.setProperty("problem", bool(text))
            box.style().unpolish(box)
            box.style().polish(box)

    # --- saving -------------------------------------------------------------------------

    def save(self, *, overwrite: bool = False) -> None:
        if not (self.ready and self.dirty) or self.reason or self.saving:
            return
        for field in self.problems:
            self.show_problem(field, "")
        self.saving = True
        self._saves += 1
        save_number = self._saves
        self.outcome.setText("Saving…")
        self._update()
        run_task(
            jobs.save_note,
            self.who,
            self.case_id,
            self.fields_text(),
            self.note.version if self.note is not None else None,
            overwrite,
            on_returned=self._saved,
            on_errored=self._failed,
            on_finished=lambda: self._finished(save_number),
            owner=self,
        )

    def _finished(self, save_number: int) -> None:
        if save_number == self._saves:  # not a save that was followed by another
            self.saving = False
            self._update()

    def _saved(self, note: Note) -> None:
        before = self.note.version if self.note is not None else None
        self.note = note
        self._set_dirty(False)
        self.outcome.setText(
            f"Saved as version {note.version}."
            if note.version != before
            else f"Nothing had changed since version {note.version}; nothing new was saved."
        )
        self.saved.emit(note)

    def _failed(self, exc: BaseException) -> None:
        self.outcome.setText("")
        if isinstance(exc, jobs.NoteChanged):
            self.saving = False
            if messages.confirm(
                self,
                f"{exc}\n\nSave yours as version {exc.newer.version + 1}? "
                f"Version {exc.newer.version} stays in the note's history.",
                title="The note was changed meanwhile",
            ):
                self.note = exc.newer
                self.save(overwrite=True)
            else:
                self.show_problem(
                    "general",
                    f"Not saved: version {exc.newer.version} by {exc.newer.author} is newer. "
                    "Copy what you need, close, and open the note again to see theirs.",
                )
            return
        if isinstance(exc, CaseviewError):
            field = field_for(exc)
            self.show_problem(field, str(exc))
            self.fields.get(field, self.save_button).setFocus()
            return
        crash.report(self, exc)

    # --- closing ------------------------------------------------------------------------

    def reject(self) -> None:
        """Close, Escape and the close box come here: ask before losing work."""
        if self.dirty and not messages.confirm(
            self, "The note has changes you have not saved. Close without saving them?"
        ):
            return
        self._set_dirty(False)
        super().reject()
