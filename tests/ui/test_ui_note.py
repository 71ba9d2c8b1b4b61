"""The note tab and editor: versions saved in the background, who and when, the guard
against losing changes, someone saving meanwhile, auditors read-only, and the PDF."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, with_sources

from caseview import notes
from caseview.errors import ValidationError
from caseview.notes import Note
from ui import case_view, tasks
from ui.case_view import NoteTab
from ui.main_window import MainWindow
from ui.note_editor import NoteEditor, field_for

WAIT = 10_000
# The services' own refusals (caseview.permissions), which the controls show.
AUDITOR_NOTE = "Only a worker or a manager can write the note; you are signed in as an auditor."
READ_ONLY_REASON = "Auditors read the note; they do not change it."  # an editor's reason
needs_pdf = pytest.mark.skipif(
    importlib.util.find_spec("caseview.report.pdf") is None, reason="PDF renderer not built yet"
)


def open_window(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    window.case_view.show_tab(3)
    return window


def open_editor(qtbot: QtBot, tab: NoteTab) -> NoteEditor:
    with qtbot.waitSignal(tab.editor_opened, timeout=WAIT) as blocker:
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    editor = blocker.args[0]
    assert isinstance(editor, NoteEditor)
    qtbot.waitUntil(lambda: editor.ready and tasks.running() == 0, timeout=WAIT)
    return editor


def save(qtbot: QtBot, editor: NoteEditor) -> Note:
    with qtbot.waitSignal(editor.saved, timeout=WAIT) as blocker:
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    note = blocker.args[0]
    assert isinstance(note, Note)
    return note


def current(team: Team) -> Note | None:
    with team.session("ada") as ada:
        return notes.current(ada, team.case.id)


def test_a_worker_writes_the_note_and_each_save_is_a_version(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    tab = window.case_view.note
    editor = open_editor(qtbot, tab)
    assert editor.status.text().startswith("No note has been written")
    assert not editor.save_button.isEnabled()  # nothing typed yet
    qtbot.keyClicks(editor.fields["analysis"], "The page names a 'Dan'; who he is is unknown.")
    assert editor.isWindowModified() and "unsaved changes" in editor.status.text()
    first = save(qtbot, editor)
    qtbot.keyClicks(editor.fields["conclusion"], "Ask the police who Dan is.")
    second = save(qtbot, editor)
    assert (first.version, second.version) == (1, 2)
    stored = current(team)
    assert stored is not None
    assert (stored.version, stored.author, stored.conclusion) == (
        2,
        "wren",
        "Ask the police who Dan is.",
    )
    assert stored.analysis == "The page names a 'Dan'; who he is is unknown."
    assert editor.status.text().startswith("Version 2, saved by Wren Worker (wren) on ")
    assert editor.outcome.text() == "Saved as version 2."
    assert not editor.isWindowModified()
    qtbot.waitUntil(lambda: "Ask the police" in tab.view.toPlainText(), timeout=WAIT)
    assert tab.status.text().startswith("Version 2, saved by Wren Worker (wren)")


def test_the_editor_opens_on_the_latest_version(qtbot: QtBot, team: Team) -> None:
    with team.session("wren") as wren:
        notes.save(wren, team.case.id, analysis="First thoughts.", balance="Proportionate.")
    window = open_window(qtbot, team, "wren")
    editor = open_editor(qtbot, window.case_view.note)
    assert editor.fields["analysis"].toPlainText() == "First thoughts."
    assert editor.fields["balance"].toPlainText() == "Proportionate."
    assert editor.status.text().startswith("Version 1, saved by Wren Worker (wren)")
    assert editor.focusWidget() is editor.fields["analysis"]  # ready to write


def test_ctrl_s_saves_the_note(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    editor = open_editor(qtbot, window.case_view.note)
    editor.activateWindow()
    qtbot.keyClicks(editor.fields["analysis"], "Saved from the keyboard.")
    with qtbot.waitSignal(editor.saved, timeout=WAIT):
        qtbot.keyClick(editor.fields["analysis"], Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    stored = current(team)
    assert stored is not None and stored.analysis == "Saved from the keyboard."


def test_one_editor_per_case(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    tab = window.case_view.note
    editor = open_editor(qtbot, tab)
    tab.edit()
    assert window.findChildren(NoteEditor) == [editor]


def test_closing_with_unsaved_changes_asks_first(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    window = open_window(qtbot, team, "wren")
    editor = open_editor(qtbot, window.case_view.note)
    qtbot.keyClicks(editor.fields["balance"], "Half written")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert len(boxes.confirms) == 1 and "not saved" in boxes.confirms[0]
    assert editor.isVisible() and editor.fields["balance"].toPlainText() == "Half written"
    boxes.confirm_answer = True
    qtbot.mouseClick(editor.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.findChildren(NoteEditor), timeout=WAIT)
    assert current(team) is None


def test_closing_without_changes_asks_nothing(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    window = open_window(qtbot, team, "wren")
    editor = open_editor(qtbot, window.case_view.note)
    qtbot.mouseClick(editor.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.findChildren(NoteEditor), timeout=WAIT)
    assert boxes.confirms == []


def test_an_empty_note_is_refused_beside_the_analysis(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    editor = open_editor(qtbot, window.case_view.note)
    qtbot.keyClicks(editor.fields["analysis"], "   ")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(editor.problems["analysis"].text()), timeout=WAIT)
    assert editor.problems["analysis"].text().startswith("The note is empty.")
    assert editor.fields["analysis"].property("problem") is True
    assert (current(team), editor.dirty) == (None, True)
    editor.dirty = False


@pytest.mark.parametrize("field", ["analysis", "evaluation_family_response"])
def test_a_section_too_long_is_refused_beside_it(team: Team, field: str) -> None:
    with team.session("wren") as wren, pytest.raises(ValidationError) as caught:
        notes.save(wren, team.case.id, **{field: "x" * (notes.LIMIT + 1)})
    assert field_for(caught.value) == field


def test_someone_saving_meanwhile_is_not_overwritten_silently(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    with team.session("wren") as wren:
        notes.save(wren, team.case.id, analysis="Version one.")
    window = open_window(qtbot, team, "wren")
    editor = open_editor(qtbot, window.case_view.note)
    with team.session("mona") as mona:
        notes.save(mona, team.case.id, analysis="Mona's version two.")
    editor.fields["analysis"].setPlainText("Wren's rewrite.")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(editor.problems["general"].text()), timeout=WAIT)
    assert "Mona Manager (mona) saved version 2" in boxes.confirms[0]
    stored = current(team)
    assert stored is not None and (stored.version, stored.analysis) == (2, "Mona's version two.")
    assert editor.dirty and editor.fields["analysis"].toPlainText() == "Wren's rewrite."

    boxes.confirm_answer = True  # this time, save it anyway
    with qtbot.waitSignal(editor.saved, timeout=WAIT):
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    stored = current(team)
    assert stored is not None and (stored.version, stored.analysis) == (3, "Wren's rewrite.")
    qtbot.waitUntil(lambda: not editor.saving and tasks.running() == 0, timeout=WAIT)
    assert editor.status.text().startswith("Version 3")


def test_an_auditor_reads_the_note_but_cannot_edit_it(qtbot: QtBot, team: Team) -> None:
    with team.session("wren") as wren:
        notes.save(wren, team.case.id, analysis="Written by the worker.")
    window = open_window(qtbot, team, "ada")
    tab = window.case_view.note
    qtbot.waitUntil(lambda: "Written by the worker." in tab.view.toPlainText(), timeout=WAIT)
    assert (tab.edit_button.isEnabled(), tab.edit_button.toolTip()) == (False, AUDITOR_NOTE)
    tab.edit()
    assert window.findChildren(NoteEditor) == []


def test_the_service_refuses_an_auditor_even_in_an_editor(qtbot: QtBot, team: Team) -> None:
    """The buttons mirror the rule; the service is what enforces it."""
    editor = NoteEditor(None, team.who("ada"), team.case.id)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitUntil(lambda: editor.ready, timeout=WAIT)
    qtbot.keyClicks(editor.fields["analysis"], "An auditor's words.")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(editor.problems["general"].text()), timeout=WAIT)
    assert "Only a worker or a manager can write the note" in editor.problems["general"].text()
    assert current(team) is None
    editor.dirty = False


def test_a_read_only_editor_says_why_and_saves_nothing(qtbot: QtBot, team: Team) -> None:
    editor = NoteEditor(None, team.who("ada"), team.case.id, reason=READ_ONLY_REASON)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitUntil(lambda: editor.ready, timeout=WAIT)
    assert all(box.isReadOnly() for box in editor.fields.values())
    assert (editor.save_button.isEnabled(), editor.save_button.toolTip()) == (
        False,
        READ_ONLY_REASON,
    )


def test_every_control_of_the_editor_is_named_and_in_order(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    editor = open_editor(qtbot, window.case_view.note)
    fields = list(editor.fields.values())
    assert all(box.accessibleName() for box in fields)
    assert all(button.accessibleName() for button in (editor.save_button, editor.close_button))
    chain: list[QWidget] = []
    widget: QWidget = fields[0]
    while widget not in chain:
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisibleTo(editor):
            chain.append(widget)
        widget = widget.nextInFocusChain()
    assert chain == [*fields, editor.save_button, editor.close_button]
    assert window.case_view.note.edit_button.accessibleName() == "Edit the note"


def test_each_alt_key_of_the_editor_is_used_once(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    editor = open_editor(qtbot, window.case_view.note)
    keys = [
        widget.text().split("&")[1][0].lower()
        for widget in editor.findChildren(QLabel) + editor.findChildren(QPushButton)
        if "&" in widget.text()
    ]
    assert len(keys) == 8 and sorted(keys) == sorted(set(keys))


# --- exporting the note -----------------------------------------------------------------


@pytest.fixture
def opened_documents(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """What the app asked the desktop to open (nothing is really opened)."""
    calls: list[Path] = []

    def open_document(path: Path) -> bool:
        calls.append(path)
        return True

    monkeypatch.setattr(case_view, "open_document", open_document)
    return calls


@needs_pdf
def test_after_the_export_the_pdf_is_opened_if_asked(
    qtbot: QtBot, team: Team, boxes: Boxes, tmp_path: Path, opened_documents: list[Path]
) -> None:
    with_sources(team, ("Beach photo",))
    boxes.save_to = tmp_path / "note.pdf"
    boxes.confirm_answer = True
    window = open_window(qtbot, team, "wren")
    qtbot.mouseClick(window.case_view.export_pdf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(opened_documents), timeout=30_000)
    assert opened_documents == [boxes.save_to]
    assert "Open it now?" in boxes.confirms[0]
    assert boxes.save_to.read_bytes().startswith(b"%PDF")


@needs_pdf
def test_the_pdf_is_not_opened_when_declined(
    qtbot: QtBot, team: Team, boxes: Boxes, tmp_path: Path, opened_documents: list[Path]
) -> None:
    boxes.save_to = tmp_path / "note.pdf"
    window = open_window(qtbot, team, "wren")
    window.case_view.export_pdf()
    qtbot.waitUntil(lambda: bool(boxes.confirms) and tasks.running() == 0, timeout=30_000)
    assert opened_documents == []


@needs_pdf
def test_a_pdf_no_program_could_open_is_reported(
    qtbot: QtBot,
    team: Team,
    boxes: Boxes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(case_view, "open_document", lambda path: False)
    boxes.save_to = tmp_path / "note.pdf"
    boxes.confirm_answer = True
    window = open_window(qtbot, team, "wren")
    window.case_view.export_pdf()
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=30_000)
    assert boxes.errors == [
        f"The PDF is saved, but no program opened it. Open {boxes.save_to} with a PDF reader."
    ]


def test_exporting_with_unsaved_note_changes_asks_first(
    qtbot: QtBot, team: Team, boxes: Boxes, tmp_path: Path
) -> None:
    boxes.save_to = tmp_path / "note.pdf"
    window = open_window(qtbot, team, "wren")
    editor = open_editor(qtbot, window.case_view.note)
    qtbot.keyClicks(editor.fields["analysis"], "Not saved yet")
    window.case_view.export_pdf()  # answered no: nothing exported
    assert len(boxes.confirms) == 1 and "last saved version" in boxes.confirms[0]
    assert (tasks.running(), boxes.save_to.exists()) == (0, False)
    editor.dirty = False
