"""The evidence browser window (issue 12): opened from a case through the gate, it shows
the request, the person, the clock and the meter; it logs each page, refuses what is out
of scope, captures what was seen, and ends its session when it closes."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team

from caseview import audit, browsing, captures
from ui import tasks
from ui.browser.window import EvidenceBrowser, _draining
from ui.main_window import MainWindow

WAIT = 30_000


def _events(team: Team, action: str) -> list[dict[str, object]]:
    with team.session("ada") as ada:
        rows = ada.casefile.conn.execute(
            "SELECT payload FROM audit_log WHERE action = ? ORDER BY seq", (action,)
        )
        return [json.loads(r[0])["data"] for r in rows]


def _drained() -> bool:
    return not _draining and tasks.running() == 0


def open_browser(
    qtbot: QtBot, team: Team, url: str, boxes: Boxes
) -> tuple[MainWindow, EvidenceBrowser]:
    window = MainWindow(team.who("wren"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None or window.cases.rowCount() > 0, timeout=WAIT
    )
    window.case_list.setCurrentIndex(window.cases.index(0, 0))
    qtbot.waitUntil(lambda: window.case_view.browse_button.isEnabled(), timeout=WAIT)
    dialog = window.open_browse(team.case.id, url)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT)
    dialog.attest.setChecked(True)
    assert dialog.capture_button.isEnabled(), dialog.capture_button.toolTip()
    qtbot.mouseClick(dialog.capture_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(window.browser_windows) or bool(boxes.errors), timeout=WAIT)
    assert not boxes.errors and not boxes.crashes
    browser = window.browser_windows[0]
    assert isinstance(browser, EvidenceBrowser)
    return window, browser


def test_browse_capture_close_and_verify(
    qtbot: QtBot, team: Team, approved: int, site: str, boxes: Boxes
) -> None:
    _window, browser = open_browser(qtbot, team, f"{site}/kerry", boxes)
    assert browser.objectName() == "evidenceBrowser"
    assert browser.findChild(QLineEdit, "browserAddress") is browser.address
    assert browser.findChild(QPushButton, "browserCaptureButton") is browser.capture_button
    assert "Kerry Smith" in browser.findChild(QLabel, "browserPerson").text()
    assert "of 60:00" in browser.clock_label.text()
    assert "look 1 at Kerry Smith" in browser.meter_label.text()
    qtbot.waitUntil(lambda: len(browser.engine.pages()) >= 1, timeout=WAIT)
    browser.address.setText(f"{site}/jay")
    browser.go()
    qtbot.waitUntil(
        lambda: any(p.url.endswith("/jay") for p in browser.engine.pages()), timeout=WAIT
    )
    with qtbot.waitSignal(browser.captured, timeout=WAIT) as captured:
        qtbot.keyClick(browser, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    source_id = int(captured.args[0])
    browser.close()
    qtbot.waitUntil(_drained, timeout=WAIT)

    with team.session("wren") as wren:
        record = captures.get(wren, source_id)
        assert record.method == "rendered"
        assert "Oakfield Primary School" in record.text
        picture = captures.picture_of(wren, source_id)
        assert picture is not None and picture.startswith(b"\x89PNG")
        sessions = browsing.sessions_of_case(wren, team.case.id)
        assert len(sessions) == 1 and sessions[0].end_reason == "closed"
        shown = [p.url for p in browsing.pages(wren, sessions[0].id)]
        assert shown[0].endswith("/kerry") and shown[-1].endswith("/jay")
        assert audit.verify(wren, wren.casefile.path).intact
    # One session, one look: the meter counted it once.
    assert len(_events(team, "viewing.browse")) == 1
    assert len(_events(team, "browse.ended")) == 1


def test_a_page_out_of_scope_is_refused_in_the_window(
    qtbot: QtBot, team: Team, approved: int, site: str, boxes: Boxes
) -> None:
    _window, browser = open_browser(qtbot, team, f"{site}/kerry", boxes)
    qtbot.waitUntil(lambda: len(browser.engine.pages()) >= 1, timeout=WAIT)
    browser.address.setText("https://elsewhere.example/kerry")
    browser.go()
    qtbot.waitUntil(lambda: browser.message.isVisibleTo(browser), timeout=WAIT)
    assert "host_out_of_scope" in browser.message.text()
    assert browser.engine.page.url().toString().endswith("/kerry")
    browser.close()
    qtbot.waitUntil(_drained, timeout=WAIT)
    refused = _events(team, "viewing.refused")
    assert [r["rule"] for r in refused] == ["host_out_of_scope"]
    assert refused[0]["url"] == "https://elsewhere.example/kerry"


def test_without_the_engine_the_browse_action_says_what_to_do(
    qtbot: QtBot, team: Team, approved: int, boxes: Boxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.browser

    advice = "The evidence browser needs QtWebEngine: install PySide6-Addons."
    monkeypatch.setattr(ui.browser, "engine_available", lambda: advice)
    window = MainWindow(team.who("wren"))
    qtbot.addWidget(window)
    assert window.open_browse(team.case.id) is None
    assert boxes.errors == [advice]
    assert not window.browser_windows


def test_with_the_policy_on_every_page_shown_is_kept(
    qtbot: QtBot, team: Team, approved: int, site: str, boxes: Boxes
) -> None:
    from caseview import policy

    with team.session("mona") as mona:
        proposed = policy.set_policy(mona, "browse_capture_every_page = true\n")
    assert proposed.id is not None
    with team.session("max") as max_:
        policy.confirm_policy(max_, proposed.id)  # keeping more is a loosening: two managers
    _window, browser = open_browser(qtbot, team, f"{site}/kerry", boxes)
    assert browser.opened.capture_every_page
    qtbot.waitUntil(lambda: "Captured as source" in browser.message.text(), timeout=WAIT)
    browser.close()  # the first page shown was captured without a click
    qtbot.waitUntil(_drained, timeout=WAIT)
    with team.session("wren") as wren:
        kept = captures.list_for_case(wren, team.case.id)
    assert [s.method for s in kept] == ["rendered"]
    assert kept[0].requested_url.endswith("/kerry")


def test_the_session_ends_at_its_maximum_length(
    qtbot: QtBot, team: Team, approved: int, site: str, boxes: Boxes
) -> None:
    import dataclasses
    from datetime import UTC, datetime, timedelta

    _window, browser = open_browser(qtbot, team, f"{site}/kerry", boxes)
    qtbot.waitUntil(lambda: len(browser.engine.pages()) >= 1, timeout=WAIT)
    browser.opened = dataclasses.replace(
        browser.opened, ends_by=datetime.now(UTC) - timedelta(seconds=1)
    )
    browser._tick()
    assert browser.ended and not browser.capture_button.isEnabled()
    assert "maximum" in browser.message.text()
    qtbot.waitUntil(_drained, timeout=WAIT)
    assert [e["reason"] for e in _events(team, "browse.ended")] == ["time_limit"]
    browser.close()
    qtbot.waitUntil(_drained, timeout=WAIT)
    assert len(_events(team, "browse.ended")) == 1
