"""What a newcomer walking the app by keyboard ran into: layouts that broke on screen."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractButton, QLabel, QListView, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot
from ui_support import (
    Boxes,
    Team,
    approved_request,
    complete_request,
    submitted,
    with_sources,
)

from caseview.audit import Checkpoint, VerifyResult
from ui import tasks, widgets
from ui.capture import CaptureDialog
from ui.case_admin import CaseAdminDialog
from ui.case_view import verify_text
from ui.import_dialog import ImportDialog
from ui.main_window import MainWindow
from ui.models import SourcesModel
from ui.review import ReviewQueueDialog
from ui.source_view import SourceDetailDialog
from ui.users_dialog import UsersDialog
from ui.wizard import JustificationWizard

WAIT = 15_000
LONG = (
    "Must fix: Choose the 'Statutory function' you are acting under (in the file, one of "
    "s47, s17, s31, s20, missing_child, leaving_care, court_direction, other)."
)


def overlaps(view: QListView) -> list[int]:
    """The rows drawn over the row above them."""
    model = view.model()
    assert isinstance(model, QAbstractItemModel)
    rects = [view.visualRect(model.index(row, 0)) for row in range(model.rowCount())]
    return [row for row in range(1, len(rects)) if rects[row].top() <= rects[row - 1].bottom()]


def test_a_wrapped_list_lays_out_again_when_only_its_width_changes(qtbot: QtBot) -> None:
    model = QStandardItemModel()
    for number in range(12):
        model.appendRow(QStandardItem(LONG if number % 2 else "Short finding."))
    view = widgets.item_list(model, 0, "findingsList", "Findings")
    host = QWidget()
    QVBoxLayout(host).addWidget(view)
    qtbot.addWidget(host)
    host.resize(700, 400)
    host.show()
    qtbot.waitExposed(host)
    qtbot.waitUntil(lambda: not overlaps(view), timeout=WAIT)
    wide = view.visualRect(model.index(1, 0)).height()

    host.resize(260, 400)  # the same height: only the width changes

    qtbot.waitUntil(lambda: view.visualRect(model.index(1, 0)).height() > wide, timeout=WAIT)
    qtbot.waitUntil(lambda: not overlaps(view), timeout=WAIT)
    assert not overlaps(view)


def test_choosing_another_file_clears_why_the_last_one_was_not_imported(
    qtbot: QtBot, team: Team, tmp_path: Path, boxes: Boxes
) -> None:
    approved_request(team)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    dialog = ImportDialog(None, team.who("wren"), team.case.id, empty)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT)
    dialog.origin.setCurrentIndex(dialog.origin.findData("family"))
    qtbot.keyClicks(dialog.supplied_by, "maternal grandmother")
    qtbot.keyClicks(dialog.url, "https://social.example/kerry/photos/1")
    qtbot.waitUntil(lambda: dialog.answer is not None, timeout=WAIT)
    dialog.start_import()
    qtbot.waitUntil(lambda: "Not imported" in dialog.gate.text(), timeout=WAIT)
    assert "empty.txt is empty" in dialog.gate.text()

    other = tmp_path / "note.txt"
    other.write_text("Kerry's post, as the grandmother saved it.", encoding="utf-8")
    dialog.file.clear()
    qtbot.keyClicks(dialog.file, str(other))  # typed in, as a path can be

    qtbot.waitUntil(lambda: "Not imported" not in dialog.gate.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: dialog.answer is not None, timeout=WAIT)
    assert dialog.import_button.isEnabled()


def test_reasons_written_for_one_request_stay_with_it_in_the_review_queue(
    qtbot: QtBot, team: Team
) -> None:
    with team.session("wren") as wren:
        for _ in range(2):
            submitted(wren, team.case.id, complete_request([team.kerry.id]))
    queue = ReviewQueueDialog(None, team.who("max"))
    qtbot.addWidget(queue)
    with qtbot.waitSignal(queue.context_loaded, timeout=WAIT):
        queue.start()
    assert queue.queue.rowCount() == 2
    first = queue.entry
    qtbot.keyClicks(queue.reasons, "Proportionate: one look at the public photos.")

    queue.queue_view.selectRow(1)  # the manager moves to the other request

    assert queue.entry is not None and queue.entry != first
    assert queue.reasons.toPlainText() == ""
    assert not queue.approve_button.isEnabled()
    queue.queue_view.selectRow(0)
    assert queue.entry == first
    assert queue.reasons.toPlainText() == "Proportionate: one look at the public photos."


def mnemonic(text: str) -> str | None:
    """The Alt+letter in a menu item's text, if it has one."""
    found = re.search(r"&([^&])", text.replace("&&", ""))
    return found.group(1).lower() if found else None


@pytest.mark.parametrize("name", ["mona", "wren", "ada"])
def test_every_menu_item_has_its_own_letter(qtbot: QtBot, team: Team, name: str) -> None:
    """Two items on one letter: the key only moves between them and opens neither."""
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    clashes = []
    for top in window.menuBar().actions():
        menu = top.menu()
        assert menu is not None
        items: dict[str | None, list[str]] = defaultdict(list)
        for action in menu.actions():
            if action.isVisible() and not action.isSeparator():
                items[mnemonic(action.text())].append(action.text())
        clashes += [texts for letter, texts in items.items() if letter and len(texts) > 1]
    assert clashes == []


def window_clashes(window: QWidget, also: list[str] | None = None) -> list[list[str]]:
    """Buttons and labelled fields shown together (and ``also``, say the menu bar's
    titles) that share an Alt+letter."""
    found: dict[str | None, list[str]] = defaultdict(list)
    for text in also or []:
        found[mnemonic(text)].append(text)
    for button in window.findChildren(QAbstractButton):
        if button.isVisibleTo(window):
            found[mnemonic(button.text())].append(button.text())
    for label in window.findChildren(QLabel):
        if label.isVisibleTo(window) and label.buddy() is not None:
            found[mnemonic(label.text())].append(label.text())
    return [texts for letter, texts in found.items() if letter and len(texts) > 1]


def test_the_wizards_letters_each_reach_one_place(qtbot: QtBot, team: Team) -> None:
    """Alt+B submits, rather than moving between Submit and the data-protection basis."""
    wizard = JustificationWizard(None, team.who("wren"))
    qtbot.addWidget(wizard)
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        wizard.start(team.case.id, None)
    wizard.show()
    assert window_clashes(wizard) == []


def test_the_capture_dialogs_letters_each_reach_one_place(qtbot: QtBot, team: Team) -> None:
    approved_request(team)
    dialog = CaptureDialog(None, team.who("wren"), team.case.id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    assert window_clashes(dialog) == []


def test_the_sources_title_column_keeps_room_to_be_read(qtbot: QtBot, team: Team) -> None:
    with_sources(team, ("Kerry's public profile: photos from the summer barbecue",))
    window = MainWindow(team.who("wren"))
    qtbot.addWidget(window)
    window.resize(1020, 620)
    window.show()
    qtbot.waitUntil(lambda: window.current_case() is not None, timeout=WAIT)
    window.case_view.show_tab(1)
    sources = window.case_view.sources
    qtbot.waitUntil(lambda: sources.model.rowCount() == 1 and sources._sized, timeout=WAIT)
    header = sources.view.horizontalHeader()
    qtbot.waitUntil(
        lambda: header.sectionSize(SourcesModel.TITLE) >= widgets.chars(sources.view, 20),
        timeout=WAIT,
    )
    hash_tip = sources.model.index(0, SourcesModel.SHA256).data(Qt.ItemDataRole.ToolTipRole)
    assert sources.model.rows[0].sha256 in hash_tip


def test_each_tab_of_the_main_window_has_one_place_per_letter(qtbot: QtBot, team: Team) -> None:
    """Alt+S went nowhere on the Sources tab: 'Search' and the case list's 'Cases'."""
    window = MainWindow(team.who("wren"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_case() is not None, timeout=WAIT)
    for tab in range(len(window.case_view.TABS)):
        window.case_view.show_tab(tab)
        menus = [action.text() for action in window.menuBar().actions()]
        assert window_clashes(window, menus) == [], window.case_view.TABS[tab]


def test_an_intact_verification_does_not_claim_what_only_a_checkpoint_shows() -> None:
    """A hash chain cannot tell that its last events were cut off; a kept checkpoint can."""
    text = verify_text(VerifyResult(events=45, head=Checkpoint(45, "ab" * 32)))
    assert text.startswith("Intact. All 45 audit events")
    assert "removed" not in text
    assert "--expect-head" in text


def test_closing_user_accounts_asks_before_losing_a_half_added_user(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    dialog = UsersDialog(None, team.who("mona"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    qtbot.keyClicks(dialog.new_username, "jsmith")
    qtbot.keyClicks(dialog.new_display, "Jo Smith")

    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # the answer is No: the form stays

    assert boxes.confirms and "Close without adding the user" in boxes.confirms[0]
    assert dialog.isVisible()
    assert dialog.new_username.text() == "jsmith"
    boxes.confirm_answer = True
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_closing_user_accounts_with_nothing_typed_asks_nothing(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    dialog = UsersDialog(None, team.who("mona"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert (boxes.confirms, dialog.isVisible()) == ([], False)


def test_closing_the_case_admin_asks_before_losing_a_person_half_typed_in(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    dialog = CaseAdminDialog(None, team.who("mona"), team.case.id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.state is not None and dialog.task is None, timeout=WAIT)
    dialog.person_name.setText("سارة الحسن")  # QTest cannot type Arabic
    dialog.person_handles.setPlainText("https://social.example/sara\nhttps://video.example/@sara")

    qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    assert boxes.confirms and "Close without adding the person" in boxes.confirms[0]
    assert dialog.isVisible() and dialog.person_name.text() == "سارة الحسن"


def test_a_page_with_a_very_long_title_keeps_its_window_on_the_screen(
    qtbot: QtBot, team: Team
) -> None:
    """A title is what the page's author wrote: here an address of 400 characters."""
    (source,) = with_sources(team, ("عنوان طويل https://social.example/" + "y" * 400,))
    view = SourceDetailDialog(None, team.who("wren"), source.id)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.detail is not None and tasks.running() == 0, timeout=WAIT)
    assert view.title.text().endswith("y" * 400)
    assert view.minimumSizeHint().width() < widgets.chars(view, 120)


def test_help_tells_a_newcomer_the_keys(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    window = MainWindow(team.who("wren"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    window.about()
    (text,) = boxes.infos
    assert "F10 opens the menus" in text
    assert "Ctrl+N" in text and "New request to look" in text
    assert "Ctrl+Shift+C" in text and "Capture a page" in text


def test_signing_out_asks_before_losing_a_request_being_written(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    window = MainWindow(team.who("wren"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_case() is not None, timeout=WAIT)
    with qtbot.waitSignal(window.wizard.findings_updated, timeout=WAIT):
        window.open_wizard(team.case.id)
    qtbot.keyClicks(window.wizard.question, "Is the man in the photos living at the house?")
    assert window.wizard.dirty

    with qtbot.assertNotEmitted(window.sign_out_requested):
        window.sign_out_action.trigger()  # the answer is No

    assert "Request to look at public online information" in boxes.confirms[0]
    assert window.isVisible() and window.wizard.isVisible()


def test_signing_out_asks_before_losing_reasons_written_in_the_review_queue(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    with team.session("wren") as wren:
        submitted(wren, team.case.id, complete_request([team.kerry.id]))
    window = MainWindow(team.who("max"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_case() is not None, timeout=WAIT)
    queue = window.review_queue
    with qtbot.waitSignal(queue.context_loaded, timeout=WAIT):
        queue.start()
    qtbot.keyClicks(queue.reasons, "Proportionate: one look at the public photos.")
    queue.reject()  # Escape hides the queue; the reasons wait in it

    with qtbot.assertNotEmitted(window.sign_out_requested):
        window.sign_out_action.trigger()

    assert "Review queue" in boxes.confirms[0]
