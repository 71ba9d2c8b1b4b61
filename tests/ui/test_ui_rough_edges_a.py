"""Issue 13, item 5 (part): the gate in the form's words, reasons for every approval,
the queue told at sign-in, the keyboard, the checkpoint whole, and no display."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QGroupBox, QLabel
from pytestqt.qtbot import QtBot
from ui_support import (
    EMERGENCY_REASON,
    Boxes,
    Team,
    complete_request,
    submitted,
    with_sources,
)

from caseview import justifications
from caseview.cli.display import display_problem
from caseview.clock import FixedClock, system_clock
from ethics.vocabulary import FIELD_LABELS
from ui import jobs, tasks, widgets
from ui.main_window import MainWindow, queue_notice
from ui.review import ReviewQueueDialog, request_html
from ui.wizard import JustificationWizard

WAIT = 10_000
CHECKPOINT = re.compile(r"^\d+:[0-9a-f]{64}$")


def idle(qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)


def open_window(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    return window


def open_queue(qtbot: QtBot, team: Team, name: str) -> ReviewQueueDialog:
    dialog = ReviewQueueDialog(None, team.who(name))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.context_loaded, timeout=WAIT):
        dialog.start()
    return dialog


def status(team: Team, justification_id: int) -> str:
    with team.session("ada") as ada:
        return justifications.get(ada, justification_id).status


def waiting_requests(team: Team, count: int) -> list[justifications.JustificationRecord]:
    with team.session("wren") as wren:
        return [
            submitted(wren, team.case.id, complete_request([team.kerry.id])) for _ in range(count)
        ]


def overdue_emergency(team: Team) -> justifications.JustificationRecord:
    long_ago = FixedClock(system_clock() - timedelta(hours=30))
    with team.session("wren", clock=long_ago) as wren:
        return submitted(
            wren,
            team.case.id,
            complete_request([team.kerry.id], emergency=True, emergency_reason=EMERGENCY_REASON),
        )


# --- the gate in the form's words -------------------------------------------------------


def shown_label(wizard: JustificationWizard, key: str) -> str:
    """What the form shows as the name of ``key``'s field."""
    widget = wizard.fields[key]
    if isinstance(widget, QGroupBox):
        return widget.title()
    if isinstance(widget, QCheckBox):
        return widget.text()
    (label,) = [w for w in wizard.findChildren(QLabel) if w.buddy() is widget]
    return widgets.plain(label.text().split("\n")[0]).rstrip(":")


def test_the_wizard_labels_every_field_as_the_gate_names_it(qtbot: QtBot, team: Team) -> None:
    wizard = JustificationWizard(None, team.who("wren"))
    qtbot.addWidget(wizard)
    for key, words in FIELD_LABELS.items():
        assert shown_label(wizard, key) == words, key


def test_the_wizard_lists_a_missing_promise_by_its_box(qtbot: QtBot, team: Team) -> None:
    wizard = JustificationWizard(None, team.who("wren"))
    qtbot.addWidget(wizard)
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        wizard.start(team.case.id)
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        wizard.fill(complete_request([team.kerry.id], attest_logged_out=False))
        wizard.compute_findings()
    (finding,) = [f for f in wizard.findings.rows if f.code == "attest_logged_out.not_attested"]
    box = wizard.attest_boxes["attest_logged_out"]
    assert finding.message.startswith(f"Tick '{box.text()}' only if")
    assert "attest_logged_out" not in finding.message


def test_the_review_screen_has_plain_headings(team: Team) -> None:
    (record,) = waiting_requests(team, 1)
    text = request_html(record, ("Kerry Smith",))
    headings = re.findall(r"<h3>(.*?)</h3>", text)
    assert "Where and how long" in headings and "Telling the family" in headings
    assert not [h for h in headings if "_" in h]
    assert "Sites to look at" in text and "Exact pages" in text
    assert "Family told" not in headings and "Scope" not in headings


# --- approval needs reasons; no single key decides ---------------------------------------


def test_approve_waits_for_reasons_and_is_never_the_default(qtbot: QtBot, team: Team) -> None:
    (record,) = waiting_requests(team, 1)
    queue = open_queue(qtbot, team, "max")
    buttons = (queue.approve_button, queue.return_button, queue.reject_button)
    assert [b.isEnabled() for b in buttons] == [False, False, False]
    assert "Write your reasons first" in queue.approve_button.toolTip()
    assert not any(b.isDefault() or b.autoDefault() for b in buttons)
    qtbot.keyClicks(queue.reasons, "   ")
    assert not queue.approve_button.isEnabled()
    qtbot.keyClicks(queue.reasons, "Proportionate: one named man, one look.")
    assert all(b.isEnabled() for b in buttons)
    assert status(team, record.id) == "submitted"


def test_enter_in_the_queue_decides_nothing(qtbot: QtBot, team: Team) -> None:
    (record,) = waiting_requests(team, 1)
    queue = open_queue(qtbot, team, "max")
    queue.activateWindow()
    queue.queue_view.setFocus()
    qtbot.keyClicks(queue.reasons, "Proportionate: one named man, one look.")
    queue.queue_view.setFocus()
    qtbot.keyClick(queue.queue_view, Qt.Key.Key_Return)
    qtbot.keyClick(queue, Qt.Key.Key_Enter)
    idle(qtbot)
    assert status(team, record.id) == "submitted"


def test_a_stock_reason_is_refused_with_what_to_write(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    (record,) = waiting_requests(team, 1)
    queue = open_queue(qtbot, team, "max")
    qtbot.keyClicks(queue.reasons, "OK")
    qtbot.mouseClick(queue.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert "say why looking is necessary and proportionate" in boxes.errors[0]
    assert (status(team, record.id), queue.approve_button.isEnabled()) == ("submitted", True)


def test_after_a_decision_the_queue_has_focus_on_the_next_request(qtbot: QtBot, team: Team) -> None:
    first, second, third = waiting_requests(team, 3)
    queue = open_queue(qtbot, team, "max")
    queue.activateWindow()
    queue.queue_view.selectRow(1)
    qtbot.waitUntil(
        lambda: queue.entry is not None and queue.entry.record.id == second.id, timeout=WAIT
    )
    qtbot.keyClicks(queue.reasons, "Proportionate: one named man, one look.")
    with qtbot.waitSignal(queue.decided, timeout=WAIT):
        qtbot.mouseClick(queue.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: queue.queue.rowCount() == 2, timeout=WAIT)
    idle(qtbot)
    assert queue.entry is not None and queue.entry.record.id == third.id
    assert queue.queue_view.currentIndex().row() == 1
    assert queue.focusWidget() is queue.queue_view
    assert status(team, first.id) == "submitted"


# --- a manager is told at sign-in what waits -----------------------------------------------


@pytest.mark.parametrize(
    ("waiting", "overdue", "text"),
    [
        (0, 0, ""),
        (1, 0, "1 request waits for your review — open the queue (Ctrl+R)."),
        (
            1,
            1,
            "1 request waits for your review, and it is an overdue emergency — open the "
            "queue (Ctrl+R).",
        ),
        (
            3,
            1,
            "3 requests wait for your review, 1 of them an overdue emergency — open the "
            "queue (Ctrl+R).",
        ),
        (
            4,
            2,
            "4 requests wait for your review, 2 of them overdue emergencies — open the "
            "queue (Ctrl+R).",
        ),
    ],
)
def test_the_queue_notice_says_how_many_wait_overdue_first(
    waiting: int, overdue: int, text: str
) -> None:
    assert queue_notice(jobs.QueueCount(waiting, overdue)) == text


def test_a_manager_sees_at_sign_in_how_many_requests_wait(qtbot: QtBot, team: Team) -> None:
    waiting_requests(team, 2)
    overdue_emergency(team)
    window = open_window(qtbot, team, "max")
    qtbot.waitUntil(window.queue_banner.isVisible, timeout=WAIT)
    assert "3 requests wait for your review, 1 of them an overdue emergency" in (
        window.queue_banner.text()
    )


def test_a_managers_own_requests_are_not_counted_as_waiting_for_them(
    qtbot: QtBot, team: Team
) -> None:
    with team.session("mona") as mona:
        submitted(mona, team.case.id, complete_request([team.kerry.id]))
    assert jobs.count_queue(team.who("mona")) == jobs.QueueCount(0, 0)
    assert jobs.count_queue(team.who("max")) == jobs.QueueCount(1, 0)


def test_a_worker_is_told_nothing_about_the_queue(qtbot: QtBot, team: Team) -> None:
    waiting_requests(team, 1)
    window = open_window(qtbot, team, "wren")
    idle(qtbot)
    assert window.queue_banner.isHidden()


def test_the_notice_follows_a_decision(qtbot: QtBot, team: Team) -> None:
    (record,) = waiting_requests(team, 1)
    window = open_window(qtbot, team, "max")
    qtbot.waitUntil(window.queue_banner.isVisible, timeout=WAIT)
    with team.session("mona") as mona:
        justifications.review(mona, record.id, "approve", "Proportionate: one look.")
    window.review_queue.decided.emit(record)
    qtbot.waitUntil(window.queue_banner.isHidden, timeout=WAIT)


# --- keyboard ------------------------------------------------------------------------------


def mnemonic(text: str) -> str:
    found = re.search(r"&([^&])", text.replace("&&", ""))
    return found.group(1).lower() if found else ""


def test_no_button_or_label_takes_a_menu_bar_key(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "max")
    menus = {mnemonic(a.text()) for a in window.menuBar().actions()}
    assert "c" in menus
    # A label's Alt+letter works only when it names a field (its buddy).
    labels = [w for w in window.findChildren(QLabel) if w.buddy() is not None]
    controls: list[QAbstractButton | QLabel] = [*window.findChildren(QAbstractButton), *labels]
    taken = {
        f"{type(w).__name__} {w.text()!r}": mnemonic(w.text())
        for w in controls
        if w.window() is window
    }
    assert {name: key for name, key in taken.items() if key in menus} == {}


def test_alt_c_opens_the_case_menu_not_a_button(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    assert window.case_view.capture_button.text() == "Captu&re a page…"


def test_f10_goes_to_the_menu_bar(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    window.activateWindow()
    qtbot.keyClick(window.case_list, Qt.Key.Key_F10)
    active = window.menuBar().activeAction()
    assert active is not None and active.text() == "&File"
    menu = active.menu()
    if menu is not None:
        menu.hide()


# --- the checkpoint, whole and copyable ----------------------------------------------------


def test_verify_shows_the_whole_checkpoint_and_copies_it(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "ada")
    audit_tab = window.case_view.audit
    window.verify()
    qtbot.waitUntil(lambda: audit_tab.verify_result.text().startswith("Intact."), timeout=WAIT)
    field = audit_tab.checkpoint
    assert field.isVisible() and CHECKPOINT.match(field.text())
    assert "…" not in audit_tab.verify_result.text()
    shown = field.field
    assert shown.isReadOnly()
    assert shown.width() >= shown.fontMetrics().horizontalAdvance(field.text())
    qtbot.mouseClick(field.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == field.text()


def test_an_exported_note_shows_its_checkpoint_whole(
    qtbot: QtBot, team: Team, boxes: Boxes, tmp_path: Path
) -> None:
    with_sources(team, ("Beach day",))
    boxes.save_to = tmp_path / "note.pdf"
    window = open_window(qtbot, team, "wren")
    qtbot.mouseClick(window.case_view.export_pdf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(boxes.confirms), timeout=30_000)
    field = window.case_view.audit.checkpoint
    assert CHECKPOINT.match(field.text())
    assert field.text() in boxes.confirms[0]


# --- no display ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "platform", "usable"),
    [
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
        ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", False),
        ({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":1"}, "linux", True),
        ({}, "win32", True),
        ({}, "darwin", True),
    ],
)
def test_whether_there_is_a_display(environ: dict[str, str], platform: str, usable: bool) -> None:
    assert (display_problem(environ, platform) == "") is usable


def headless_run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
        and not k.startswith("CASEVIEW_")
    }
    env["HOME"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "caseview.cli", "--db", str(tmp_path / "case.db"), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux display server")
def test_demo_without_a_display_says_to_use_no_gui(tmp_path: Path) -> None:
    done = headless_run(tmp_path, "demo")
    assert done.returncode == 1, done.stderr
    assert "no display" in done.stderr and "caseview demo --no-gui" in done.stderr
    assert "reinstalling" not in done.stderr
    assert not (tmp_path / "case.db").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux display server")
def test_the_app_without_a_display_says_so(tmp_path: Path) -> None:
    done = headless_run(tmp_path, "gui")
    assert done.returncode == 1, done.stderr
    assert "no display" in done.stderr and "--no-gui" in done.stderr
