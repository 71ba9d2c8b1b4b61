"""One whole piece of work through the windows: request, approval, capture, observations,
the note, export, verify; then the auditor reads it all and can change none of it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, complete_request

from caseview import notes, observations
from caseview.errors import PermissionDenied
from ui import case_view, tasks
from ui.capture import CaptureDialog
from ui.main_window import MainWindow
from ui.note_editor import NoteEditor
from ui.observation_editor import ObservationEditor

WAIT = 15_000
# The services' own refusals (caseview.permissions), which the controls show.
AUDITOR_OBSERVATIONS = (
    "Only a worker or a manager can record observations; you are signed in as an auditor."
)
AUDITOR_NOTE = "Only a worker or a manager can write the note; you are signed in as an auditor."


@pytest.fixture
def opened_documents(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """What the app asked the desktop to open (nothing is really opened)."""
    calls: list[Path] = []
    monkeypatch.setattr(case_view, "open_document", lambda path: calls.append(path) or True)
    return calls


def window_for(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    return window


def test_request_approve_capture_observe_note_export_verify(
    qtbot: QtBot,
    team: Team,
    site: str,
    boxes: Boxes,
    tmp_path: Path,
    opened_documents: list[Path],
) -> None:
    # The worker writes the request in the wizard and submits it.
    worker = window_for(qtbot, team, "wren")
    qtbot.mouseClick(worker.case_view.new_request_button, Qt.MouseButton.LeftButton)
    wizard = worker.wizard
    qtbot.waitUntil(lambda: wizard.context is not None and tasks.running() == 0, timeout=WAIT)
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        wizard.fill(complete_request([team.kerry.id], scope_hosts=("127.0.0.1",)))
        wizard.compute_findings()
    with qtbot.waitSignal(wizard.saved, timeout=WAIT) as submitted:
        qtbot.mouseClick(wizard.submit_button, Qt.MouseButton.LeftButton)
    request_id = submitted.args[0].id

    # Another manager approves it from the queue.
    manager = window_for(qtbot, team, "max")
    manager.open_review_queue()
    queue = manager.review_queue
    qtbot.waitUntil(lambda: queue.entry is not None and tasks.running() == 0, timeout=WAIT)
    assert queue.entry is not None and queue.entry.record.id == request_id
    qtbot.keyClicks(queue.reasons, "Proportionate: one named man, one look.")
    with qtbot.waitSignal(queue.decided, timeout=WAIT):
        qtbot.mouseClick(queue.approve_button, Qt.MouseButton.LeftButton)

    # The worker captures the page from the local site (capture is on once the
    # case view has read that a request can be used).
    worker.case_view.refresh()
    qtbot.waitUntil(worker.case_view.capture_button.isEnabled, timeout=WAIT)
    qtbot.mouseClick(worker.case_view.capture_button, Qt.MouseButton.LeftButton)
    capture = worker.findChild(CaptureDialog, "captureDialog")
    assert capture is not None
    qtbot.waitUntil(lambda: capture.request.count() == 1, timeout=WAIT)
    qtbot.keyClicks(capture.url, f"{site}/kerry")
    capture.attest.setChecked(True)
    with qtbot.waitSignal(capture.captured, timeout=WAIT) as captured:
        qtbot.mouseClick(capture.capture_button, Qt.MouseButton.LeftButton)
    source_id = captured.args[0]
    qtbot.waitUntil(lambda: worker.case_view.sources.model.total == 1, timeout=WAIT)

    # Two observations through the editor: the second is corroborated by an external check.
    view = worker.case_view
    view.show_tab(2)
    tab = view.observations
    for text, credibility, check in (
        ("Kerry's page mentions a barbecue with 'Dan' on Saturday.", 3, ("", "", "")),
        (
            "The page says the children were at the barbecue.",
            4,
            ("The children were there", "The nursery, by phone", "2024-11-03"),
        ),
    ):
        with qtbot.waitSignal(tab.editor_opened, timeout=WAIT) as opened:
            qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)
        editor = opened.args[0]
        assert isinstance(editor, ObservationEditor)
        qtbot.waitUntil(lambda e=editor: e.context is not None, timeout=WAIT)
        editor.source.setCurrentIndex(editor.source.findData(source_id))
        qtbot.keyClicks(editor.text, text)
        editor.domain.setCurrentIndex(editor.domain.findData("family_environment"))
        editor.reliability.setCurrentIndex(editor.reliability.findData("B"))
        editor.credibility.setCurrentIndex(editor.credibility.findData(credibility))
        editor.risk_boxes["identity_uncertain"].setChecked(True)
        for line, value in zip(
            (editor.check_what, editor.check_who, editor.check_when), check, strict=True
        ):
            qtbot.keyClicks(line, value)
        with qtbot.waitSignal(editor.saved, timeout=WAIT):
            qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2, timeout=WAIT)
    assert [(row.grading, row.relied_upon) for row in tab.model.rows] == [
        ("B3", False),
        ("B4", True),
    ]

    # The note, written in its editor and saved with Ctrl+S.
    view.show_tab(3)
    with qtbot.waitSignal(view.note.editor_opened, timeout=WAIT) as opened:
        qtbot.mouseClick(view.note.edit_button, Qt.MouseButton.LeftButton)
    note_editor = opened.args[0]
    assert isinstance(note_editor, NoteEditor)
    qtbot.waitUntil(lambda: note_editor.ready, timeout=WAIT)
    qtbot.keyClicks(note_editor.fields["analysis"], "The page names a 'Dan'; who he is is unknown.")
    qtbot.keyClicks(note_editor.fields["conclusion"], "Ask the police who Dan is.")
    note_editor.activateWindow()
    with qtbot.waitSignal(note_editor.saved, timeout=WAIT):
        qtbot.keyClick(
            note_editor.fields["conclusion"], Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier
        )
    qtbot.mouseClick(note_editor.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Ask the police" in view.note.view.toPlainText(), timeout=WAIT)
    with team.session("ada") as ada:
        stored = observations.list_for_case(ada, team.case.id)
        note = notes.current(ada, team.case.id)
    assert [(row.author, row.source_id) for row in stored] == [("wren", source_id)] * 2
    assert note is not None and (note.version, note.author) == (1, "wren")

    # The export, and the offer to open the PDF (answered yes; nothing really opens).
    boxes.confirm_answer = True
    if importlib.util.find_spec("caseview.report.pdf") is not None:
        boxes.save_to = tmp_path / "note.pdf"
        worker.case_view.export_pdf()
        qtbot.waitUntil(lambda: bool(opened_documents), timeout=WAIT)
        assert opened_documents == [boxes.save_to]
        assert boxes.save_to.read_bytes().startswith(b"%PDF")
    else:
        boxes.save_to = tmp_path / "captures.warc.gz"
        shown = len(boxes.infos)
        worker.case_view.export_warc()
        qtbot.waitUntil(lambda: len(boxes.infos) > shown, timeout=WAIT)
        assert boxes.infos[-1] == f"Saved 1 capture to {boxes.save_to}."
    assert boxes.save_to.stat().st_size > 0

    # The auditor verifies the whole case file.
    auditor = window_for(qtbot, team, "ada")
    auditor.verify()
    result = auditor.case_view.audit.verify_result
    qtbot.waitUntil(lambda: result.text().startswith("Intact."), timeout=WAIT)

    # The auditor reads the observations and the note, and can change neither.
    audit_view = auditor.case_view
    qtbot.waitUntil(lambda: audit_view.observations.model.rowCount() == 2, timeout=WAIT)
    assert "Ask the police" in audit_view.note.view.toPlainText()
    for control, reason in (
        (audit_view.observations.add_button, AUDITOR_OBSERVATIONS),
        (audit_view.note.edit_button, AUDITOR_NOTE),
    ):
        assert (control.isEnabled(), control.toolTip()) == (False, reason)
    audit_view.observations.view.selectRow(0)
    with qtbot.waitSignal(audit_view.observations.editor_opened, timeout=WAIT) as opened:
        qtbot.mouseClick(audit_view.observations.edit_button, Qt.MouseButton.LeftButton)
    reader = opened.args[0]
    assert isinstance(reader, ObservationEditor)
    assert not reader.save_button.isEnabled() and reader.text.isReadOnly()
    with team.session("ada") as ada, pytest.raises(PermissionDenied):
        notes.save(ada, team.case.id, analysis="An auditor's words.")
    assert (boxes.errors, boxes.crashes) == ([], [])
