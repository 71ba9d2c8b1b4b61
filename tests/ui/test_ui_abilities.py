"""The case's buttons follow ``caseview.abilities``: switched off with the services' own
reason as the tooltip, for a closed case and for an auditor; on when the services allow."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from ui_support import Team, approved_request

from caseview import abilities, cases
from ui import tasks
from ui.main_window import MainWindow

WAIT = 10_000


def open_window(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.case_view.may is not None and tasks.running() == 0, timeout=WAIT)
    return window


def expected(team: Team, name: str) -> abilities.Abilities:
    with team.session(name) as session:
        return abilities.abilities(session, team.case.id)


def buttons(window: MainWindow) -> dict[str, tuple[bool, str]]:
    view = window.case_view
    return {
        "capture": (view.capture_button.isEnabled(), view.capture_button.toolTip()),
        "import_file": (view.import_button.isEnabled(), view.import_button.toolTip()),
    }


@pytest.mark.parametrize(("name", "closed"), [("wren", True), ("mona", True), ("ada", False)])
def test_capture_and_import_are_off_with_the_services_reason(
    qtbot: QtBot, team: Team, name: str, closed: bool
) -> None:
    approved_request(team)  # so the refusal is the case's, not the want of a request
    if closed:
        with team.session("mona") as mona:
            cases.set_status(mona, team.case.id, "closed")
    window = open_window(qtbot, team, name)
    may = expected(team, name)
    assert buttons(window) == {
        "capture": (False, may.capture.reason),
        "import_file": (False, may.import_file.reason),
    }
    assert may.capture.rule == ("case_closed" if closed else "role")
    window.sync_actions()
    assert (window.capture_action.isEnabled(), window.capture_action.statusTip()) == (
        False,
        may.capture.reason,
    )


def test_capture_and_import_are_on_when_the_services_allow(qtbot: QtBot, team: Team) -> None:
    approved_request(team)
    window = open_window(qtbot, team, "wren")
    assert [enabled for enabled, _tip in buttons(window).values()] == [True, True]


def test_closing_the_case_switches_them_off_at_the_next_load(qtbot: QtBot, team: Team) -> None:
    approved_request(team)
    window = open_window(qtbot, team, "wren")
    with team.session("mona") as mona:
        cases.set_status(mona, team.case.id, "closed")
    window.refresh()
    qtbot.waitUntil(lambda: not window.case_view.capture_button.isEnabled(), timeout=WAIT)
    assert "closed" in window.case_view.capture_button.toolTip()


def test_the_review_queue_asked_for_at_once_opens_when_the_answer_arrives(
    qtbot: QtBot, team: Team
) -> None:
    # A manager's first keystroke can come before the answer about general actions: the
    # queue must open then, not be refused as "finding out what you may do".
    window = MainWindow(team.who("mona"))
    qtbot.addWidget(window)
    window.show()
    assert window.general is None
    window.open_review_queue()
    qtbot.waitUntil(lambda: window.review_queue.isVisible(), timeout=WAIT)
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
