"""The capture dialog: only usable requests offered, a refusal names its rule, cancel works."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from ui_support import SLOW_PAGE_STARTED, Boxes, Team

from caseview import captures
from ui import tasks
from ui.capture import CaptureDialog
from ui.source_view import SourceDetailDialog

WAIT = 15_000


def open_dialog(qtbot: QtBot, team: Team, name: str = "wren") -> CaptureDialog:
    dialog = CaptureDialog(None, team.who(name), team.case.id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT)
    return dialog


def fill(qtbot: QtBot, dialog: CaptureDialog, url: str) -> None:
    qtbot.keyClicks(dialog.url, url)
    dialog.attest.setChecked(True)


def test_only_usable_requests_and_their_people_are_offered(
    qtbot: QtBot, team: Team, approved: int
) -> None:
    dialog = open_dialog(qtbot, team)
    assert (dialog.request.count(), dialog.request.currentData()) == (1, approved)
    assert [dialog.subject.itemText(i) for i in range(dialog.subject.count())] == [
        "Kerry Smith (parent)"
    ]


def test_without_an_approved_request_nothing_can_be_captured(qtbot: QtBot, team: Team) -> None:
    dialog = open_dialog(qtbot, team)
    fill(qtbot, dialog, "https://social.example/kerry")
    assert (dialog.request.count(), dialog.capture_button.isEnabled()) == (0, False)
    assert "must be approved" in dialog.explain.text()


def test_capture_needs_the_promise(qtbot: QtBot, team: Team, approved: int) -> None:
    dialog = open_dialog(qtbot, team)
    qtbot.keyClicks(dialog.url, "http://127.0.0.1/kerry")
    assert not dialog.capture_button.isEnabled()
    dialog.attest.setChecked(True)
    assert dialog.capture_button.isEnabled()


def test_a_page_is_captured_in_the_background(
    qtbot: QtBot, team: Team, approved: int, site: str
) -> None:
    dialog = open_dialog(qtbot, team)
    fill(qtbot, dialog, f"{site}/kerry")
    with qtbot.waitSignal(dialog.captured, timeout=WAIT) as captured:
        qtbot.mouseClick(dialog.capture_button, Qt.MouseButton.LeftButton)
        assert dialog.progress.isVisibleTo(dialog)  # busy, and the window still responds
    with team.session("ada") as ada:
        record = captures.get(ada, captured.args[0])
    assert (record.title, record.http_status) == ("Kerry Smith's public page", 200)


def test_an_address_outside_the_request_is_refused_naming_the_rule(
    qtbot: QtBot, team: Team, approved: int, boxes: Boxes
) -> None:
    dialog = open_dialog(qtbot, team)
    fill(qtbot, dialog, "https://elsewhere.example/kerry")
    qtbot.mouseClick(dialog.capture_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert "elsewhere.example" in boxes.errors[0]
    assert dialog.isVisible() and dialog.capture_button.isEnabled()


def test_a_slow_capture_can_be_stopped(
    qtbot: QtBot, team: Team, approved: int, site: str, boxes: Boxes
) -> None:
    dialog = open_dialog(qtbot, team)
    fill(qtbot, dialog, f"{site}/slow")
    qtbot.mouseClick(dialog.capture_button, Qt.MouseButton.LeftButton)
    task = dialog.task
    assert task is not None
    # Stop mid-fetch: pressed before the background task has started, it ends it unrun.
    qtbot.waitUntil(SLOW_PAGE_STARTED.is_set, timeout=WAIT)
    with qtbot.waitSignal(task.finished, timeout=WAIT):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert (dialog.task, dialog.capture_button.isEnabled()) == (None, True)
    assert (boxes.errors, boxes.crashes) == ([captures.STOPPED], [])


def test_the_source_view_shows_provenance_and_text(
    qtbot: QtBot, team: Team, approved: int, site: str
) -> None:
    dialog = open_dialog(qtbot, team)
    fill(qtbot, dialog, f"{site}/kerry")
    with qtbot.waitSignal(dialog.captured, timeout=WAIT) as captured:
        qtbot.mouseClick(dialog.capture_button, Qt.MouseButton.LeftButton)
    view = SourceDetailDialog(None, team.who("ada"), captured.args[0])
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.detail is not None and tasks.running() == 0, timeout=WAIT)
    assert view.detail is not None
    labels = [view.form.itemAt(i).widget().text() for i in range(view.form.count())]
    assert view.detail.record.body_sha256 in labels
    assert "Barbecue on Saturday" in view.text.toPlainText()


def test_the_demos_capture_dialog_says_its_sites_open_in_the_evidence_browser(
    qtbot: QtBot, team: Team
) -> None:
    """The demo's made-up sites are served only to the evidence browser: a newcomer who
    types one into Capture a page is told where to look, before the capture fails."""
    from caseview import demo
    from ui.main_window import MainWindow

    plain = MainWindow(team.who("wren"))
    in_demo = MainWindow(team.who("wren"), demo_banner=True)
    for window in (plain, in_demo):
        qtbot.addWidget(window)
    notes = [
        [
            w.text()
            for w in window.open_capture(team.case.id).findChildren(QLabel)
            if w.objectName() == "captureNote"
        ]
        for window in (plain, in_demo)
    ]
    assert notes == [[], [demo.CAPTURE_HINT]]
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=10_000)
