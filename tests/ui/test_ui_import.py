"""Importing a saved file: by the dialog, by Ctrl+I, by dropping it on the window.

What is checked is what lands in the case file (the source, its origin, the audit
event), what the gate refuses (named by its rule, before and at the import), and that
roles that may not import cannot reach it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QDateTime, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, approved_request, tab_stops

from caseview import audit, captures, cases, viewings
from caseview.errors import PermissionDenied
from ui import admin_jobs, tasks
from ui.capture import CaptureDialog
from ui.import_dialog import ImportDialog
from ui.main_window import DROP_ONE, MainWindow
from ui.source_view import SourceDetailDialog

WAIT = 15_000
# The services' own refusals (caseview.permissions), which the controls show.
AUDITOR_LOOKS = (
    "Only workers allocated to the case, or managers, can view or capture sources; "
    "auditors read the record but add nothing to it."
)
CLOSED = (
    "Case CP-2026-0042 is closed and accepts no new material. A manager can reopen it if "
    "work must continue."
)
IN_SCOPE = "https://social.example/kerry/photos/1"


@pytest.fixture
def approved(team: Team) -> int:
    return approved_request(team).id


@pytest.fixture
def screenshot(tmp_path: Path) -> Path:
    path = tmp_path / "kerry-profile.png"
    Image.new("RGB", (8, 6), "white").save(path)
    return path


def idle(qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)


def open_dialog(qtbot: QtBot, team: Team, path: Path | None, name: str = "wren") -> ImportDialog:
    dialog = ImportDialog(None, team.who(name), team.case.id, path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT)
    return dialog


def viewed_now(dialog: ImportDialog) -> None:
    """The look was just now (after the request was approved), to the second."""
    dialog.viewed_at.setDateTime(QDateTime.currentDateTime())


def settled_gate(qtbot: QtBot, dialog: ImportDialog) -> None:
    """Wait until the gate has answered about the form as it stands."""
    qtbot.waitUntil(lambda: dialog.answer is not None, timeout=WAIT)


def open_window(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    return window


def import_dialogs(window: MainWindow) -> list[ImportDialog]:
    return window.findChildren(ImportDialog, "importDialog")


def drop(window: QWidget, *urls: QUrl) -> QDropEvent:
    """Drag these URLs onto the window and let go, as a file manager or browser would."""
    data = QMimeData()
    data.setUrls(list(urls))
    enter = QDragEnterEvent(
        QPoint(20, 20),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    event = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, event)
    return event


# --- the form -------------------------------------------------------------------------


def test_only_usable_requests_and_their_people_are_offered(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    assert (dialog.request.count(), dialog.request.currentData()) == (1, approved)
    assert [dialog.subject.itemText(i) for i in range(dialog.subject.count())] == [
        "Kerry Smith (parent)"
    ]


def test_without_an_approved_request_nothing_can_be_imported(
    qtbot: QtBot, team: Team, screenshot: Path
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    qtbot.keyClicks(dialog.url, IN_SCOPE)
    assert (dialog.request.count(), dialog.import_button.isEnabled()) == (0, False)
    assert "must be approved" in dialog.explain.text()


def test_the_file_chosen_sets_a_first_guess_at_the_viewing_time(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path, boxes: Boxes
) -> None:
    dialog = open_dialog(qtbot, team, None)
    boxes.open_from = screenshot
    qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)
    modified = int(screenshot.stat().st_mtime)
    assert dialog.file.text() == str(screenshot)
    assert dialog.viewed_at.dateTime().toSecsSinceEpoch() == modified
    assert "from the file's date" in dialog.viewed_hint.text()


def test_supplied_material_needs_who_supplied_it(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    qtbot.keyClicks(dialog.url, IN_SCOPE)
    dialog.origin.setCurrentIndex(dialog.origin.findData("family"))
    assert not dialog.import_button.isEnabled()
    assert dialog.import_button.toolTip() == "Say who supplied it."
    assert not dialog.attest.isEnabled()  # they did not view it, so nothing to promise
    qtbot.keyClicks(dialog.supplied_by, "maternal grandmother")
    assert dialog.import_button.isEnabled()


def test_a_viewing_time_in_the_future_is_not_accepted(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    qtbot.keyClicks(dialog.url, IN_SCOPE)
    dialog.viewed_at.setDateTime(QDateTime.currentDateTime().addSecs(3600))
    assert not dialog.import_button.isEnabled()
    assert "in the future" in dialog.import_button.toolTip()


def test_a_file_dropped_on_the_dialog_replaces_the_one_chosen(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path, tmp_path: Path
) -> None:
    other = tmp_path / "later.png"
    Image.new("RGB", (2, 2)).save(other)
    dialog = open_dialog(qtbot, team, screenshot)
    event = drop(dialog, QUrl.fromLocalFile(str(other)))
    assert (event.isAccepted(), dialog.file.text()) == (True, str(other))


# --- importing ------------------------------------------------------------------------


def test_a_screenshot_the_worker_took_is_imported_as_a_viewing(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    qtbot.keyClicks(dialog.url, IN_SCOPE)
    viewed_now(dialog)
    dialog.attest.setChecked(True)
    settled_gate(qtbot, dialog)
    assert dialog.gate.text().startswith("The gate allows this import.")
    with qtbot.waitSignal(dialog.imported, timeout=WAIT) as imported:
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
        assert dialog.progress.isVisibleTo(dialog)
    with team.session("ada") as ada:
        record = captures.get(ada, imported.args[0])
        [event] = [e for e in audit.list_events(ada, team.case.id) if e.entity == "source"]
        meter = viewings.meter_for(ada, team.kerry.id)
    assert (record.method, record.origin, record.requested_url) == (
        "file_import",
        "self_collected",
        IN_SCOPE,
    )
    assert (record.file_name, record.media_type) == ("kerry-profile.png", "image/png")
    assert (event.action, event.data["attested"]) == ("source.recorded", True)
    assert meter.count_in_window == 1  # the worker's own look counts on the repeat-viewing meter


def test_supplied_material_is_recorded_with_who_supplied_it(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    qtbot.keyClicks(dialog.url, "https://elsewhere.example/post/9")  # not a look: no scope
    dialog.origin.setCurrentIndex(dialog.origin.findData("family"))
    qtbot.keyClicks(dialog.supplied_by, "maternal grandmother")
    settled_gate(qtbot, dialog)
    with qtbot.waitSignal(dialog.imported, timeout=WAIT) as imported:
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    with team.session("ada") as ada:
        record = captures.get(ada, imported.args[0])
        meter = viewings.meter_for(ada, team.kerry.id)
    assert (record.origin, record.supplied_by) == ("supplied_by_family", "maternal grandmother")
    assert meter.count_in_window == 0


def test_the_gate_names_the_rule_before_anything_is_imported(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    qtbot.keyClicks(dialog.url, "https://elsewhere.example/kerry")
    viewed_now(dialog)
    settled_gate(qtbot, dialog)
    assert dialog.gate.text().startswith("Refused (host_out_of_scope):")
    assert "elsewhere.example" in dialog.gate.text()
    assert not dialog.import_button.isEnabled()
    assert "host_out_of_scope" in dialog.import_button.toolTip()
    with team.session("ada") as ada:  # asking the gate is not a look: nothing recorded
        assert viewings.list_for_subject(ada, team.kerry.id) == []


def test_a_look_before_the_approval_is_refused_by_its_rule(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    qtbot.keyClicks(dialog.url, IN_SCOPE)
    dialog.attest.setChecked(True)
    dialog.viewed_at.setDateTime(QDateTime.currentDateTime().addDays(-2))
    settled_gate(qtbot, dialog)
    assert dialog.gate.text().startswith("Refused (viewed_before_approval):")


def test_a_refusal_at_import_is_recorded_and_shown_with_its_rule(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path, boxes: Boxes
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    qtbot.keyClicks(dialog.url, "https://elsewhere.example/kerry")
    viewed_now(dialog)
    dialog.start_import()  # before the gate's early answer: the service decides
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert boxes.errors[0].startswith("Refused (host_out_of_scope):")
    assert dialog.isVisible() and dialog.gate.text().startswith("Not imported.")
    with team.session("ada") as ada:
        [refused] = viewings.list_for_subject(ada, team.kerry.id)
        actions = [e.action for e in audit.list_events(ada, team.case.id)]
        assert captures.list_for_case(ada, team.case.id) == []
    assert (refused.outcome, refused.rule) == ("refused", "host_out_of_scope")
    assert actions[-1] == "viewing.refused"


def test_a_file_caseview_cannot_read_is_refused_plainly(
    qtbot: QtBot, team: Team, approved: int, tmp_path: Path, boxes: Boxes
) -> None:
    odd = tmp_path / "archive.zip"
    odd.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    dialog = open_dialog(qtbot, team, odd)
    dialog.origin.setCurrentIndex(dialog.origin.findData("family"))
    qtbot.keyClicks(dialog.supplied_by, "school safeguarding lead")
    qtbot.keyClicks(dialog.url, IN_SCOPE)
    dialog.start_import()
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert "Caseview imports screenshots" in boxes.errors[0]
    assert boxes.crashes == []


@pytest.mark.parametrize("origin", ["self", "family"])
def test_the_service_refuses_an_auditor_by_the_role_rule(
    team: Team, approved: int, screenshot: Path, origin: str
) -> None:
    now = datetime.now(UTC)
    answer = admin_jobs.import_check(
        team.who("ada"), team.case.id, approved, team.kerry.id, IN_SCOPE, now, origin, True
    )
    assert (answer.allowed, answer.rule) == (False, "role")
    with pytest.raises(PermissionDenied) as refused:
        admin_jobs.import_file(
            team.who("ada"),
            team.case.id,
            screenshot,
            IN_SCOPE,
            now,
            approved,
            team.kerry.id,
            origin,
            "" if origin == "self" else "the family",
            True,
        )
    assert refused.value.rule == "role"


@pytest.mark.parametrize(
    ("origin", "allowed", "rule"),
    [("self", False, "host_out_of_scope"), ("family", True, "")],
)
def test_the_form_asks_the_service_whose_look_it_was(
    team: Team, approved: int, origin: str, allowed: bool, rule: str
) -> None:
    # An address outside the request's scope bars one's own look, not supplied material.
    answer = admin_jobs.import_check(
        team.who("wren"),
        team.case.id,
        approved,
        team.kerry.id,
        "https://elsewhere.example/kerry",
        datetime.now(UTC),
        origin,
        True,
    )
    assert (answer.allowed, answer.rule) == (allowed, rule)


@pytest.mark.parametrize(("attested", "allowed"), [(False, False), (True, True)])
def test_the_form_asks_for_the_promises_of_ones_own_look(
    team: Team, approved: int, attested: bool, allowed: bool
) -> None:
    answer = admin_jobs.import_check(
        team.who("wren"),
        team.case.id,
        approved,
        team.kerry.id,
        IN_SCOPE,
        datetime.now(UTC),
        "self",
        attested,
    )
    assert (answer.allowed, answer.rule) == (allowed, "" if allowed else "attestation_missing")


# --- the main window: menu, shortcut, drag and drop ----------------------------------


def test_ctrl_i_opens_the_import_dialog_with_the_chosen_file(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path, boxes: Boxes
) -> None:
    boxes.open_from = screenshot
    window = open_window(qtbot, team, "wren")
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    [dialog] = import_dialogs(window)
    assert (dialog.case_id, dialog.file.text()) == (team.case.id, str(screenshot))
    idle(qtbot)


def test_an_import_opens_the_source_in_the_detail_view(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    window = open_window(qtbot, team, "wren")
    dialog = window.open_import(screenshot)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT)
    qtbot.keyClicks(dialog.url, IN_SCOPE)
    dialog.attest.setChecked(True)
    viewed_now(dialog)
    with qtbot.waitSignal(dialog.imported, timeout=WAIT) as imported:
        dialog.start_import()
    idle(qtbot)
    [view] = window.findChildren(SourceDetailDialog)
    assert view.source_id == imported.args[0]
    qtbot.waitUntil(lambda: window.case_view.sources.count.text() == "1 source", timeout=WAIT)


def test_dropping_a_file_on_the_window_opens_the_import_dialog_with_it(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    window = open_window(qtbot, team, "wren")
    event = drop(window, QUrl.fromLocalFile(str(screenshot)))
    assert event.isAccepted()
    [dialog] = import_dialogs(window)
    assert (dialog.case_id, dialog.file.text()) == (team.case.id, str(screenshot))
    idle(qtbot)


def test_dropping_a_link_opens_the_capture_dialog_with_its_address(
    qtbot: QtBot, team: Team, approved: int
) -> None:
    window = open_window(qtbot, team, "wren")
    drop(window, QUrl(IN_SCOPE))
    [dialog] = window.findChildren(CaptureDialog)
    assert dialog.url.text() == IN_SCOPE
    idle(qtbot)


def test_dropping_two_files_at_once_is_refused(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.png"
    Image.new("RGB", (2, 2)).save(other)
    window = open_window(qtbot, team, "wren")
    event = drop(window, QUrl.fromLocalFile(str(screenshot)), QUrl.fromLocalFile(str(other)))
    assert (event.isAccepted(), import_dialogs(window)) == (False, [])
    assert DROP_ONE in window.statusBar().currentMessage()


def test_an_auditor_cannot_import_by_menu_or_by_dropping(
    qtbot: QtBot, team: Team, screenshot: Path
) -> None:
    window = open_window(qtbot, team, "ada")
    assert not window.import_action.isEnabled()
    assert window.import_action.toolTip() == AUDITOR_LOOKS
    event = drop(window, QUrl.fromLocalFile(str(screenshot)))
    assert (event.isAccepted(), import_dialogs(window)) == (False, [])
    assert AUDITOR_LOOKS in window.statusBar().currentMessage()


def test_a_closed_case_takes_no_import_and_says_why(
    qtbot: QtBot, team: Team, screenshot: Path
) -> None:
    with team.session("mona") as mona:
        cases.set_status(mona, team.case.id, "closed")
    window = open_window(qtbot, team, "wren")
    qtbot.waitUntil(lambda: not window.import_action.isEnabled(), timeout=WAIT)
    assert window.import_action.statusTip() == CLOSED
    assert window.open_import(screenshot) is None
    assert import_dialogs(window) == []


# --- keyboard and names --------------------------------------------------------------


def test_every_control_has_a_name_and_tab_follows_the_form(
    qtbot: QtBot, team: Team, approved: int, screenshot: Path
) -> None:
    dialog = open_dialog(qtbot, team, screenshot)
    unnamed = [
        w.objectName()
        for w in dialog.findChildren(QWidget)
        if w.objectName().startswith("import")
        and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and not w.accessibleName()
    ]
    assert unnamed == []
    order = [name for name in tab_stops(dialog.file) if name.startswith("import")]
    assert order == [
        "importFile",
        "importChooseButton",
        "importUrl",
        "importViewedAt",
        "importOrigin",
        "importSuppliedBy",
        "importJustification",
        "importSubject",
        "importAttest",
        "importStartButton",
        "importCancelButton",
    ]
