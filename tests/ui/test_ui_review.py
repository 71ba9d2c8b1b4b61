"""The review queue: a second manager decides; overdue emergencies come first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot
from ui_support import EMERGENCY_REASON, Boxes, Team, complete_request, submitted

from caseview import justifications
from caseview.clock import FixedClock, system_clock
from caseview.justifications import JustificationRecord
from ui import tasks
from ui.review import ReviewQueueDialog

WAIT = 10_000


@pytest.fixture
def waiting(team: Team) -> JustificationRecord:
    with team.session("wren") as wren:
        return submitted(wren, team.case.id, complete_request([team.kerry.id]))


def open_queue(qtbot: QtBot, team: Team, name: str) -> ReviewQueueDialog:
    dialog = ReviewQueueDialog(None, team.who(name))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.context_loaded, timeout=WAIT):
        dialog.start()
    return dialog


def status(team: Team, justification_id: int) -> str:
    with team.session("ada") as ada:
        return justifications.get(ada, justification_id).status


def test_a_second_manager_approves_from_the_queue(
    qtbot: QtBot, team: Team, waiting: JustificationRecord
) -> None:
    queue = open_queue(qtbot, team, "max")
    assert queue.entry is not None and queue.entry.record.id == waiting.id
    qtbot.keyClicks(queue.reasons, "Proportionate to the risk to the baby; one look only.")
    with qtbot.waitSignal(queue.decided, timeout=WAIT) as decided:
        qtbot.mouseClick(queue.approve_button, Qt.MouseButton.LeftButton)
    assert (decided.args[0].status, status(team, waiting.id)) == ("approved", "approved")
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)
    assert (queue.queue.rowCount(), queue.outcome.text()) == (
        0,
        f"Request #{waiting.id} is approved.",
    )


def test_the_screen_holds_the_request_findings_and_history(
    qtbot: QtBot, team: Team, waiting: JustificationRecord
) -> None:
    queue = open_queue(qtbot, team, "max")
    text = queue.request_view.toPlainText()
    assert waiting.request.safety_case[:40] in text and waiting.request.ethics_case[:40] in text
    assert "Kerry Smith" in queue.meters.text()


def test_returning_needs_reasons(
    qtbot: QtBot, team: Team, waiting: JustificationRecord, boxes: Boxes
) -> None:
    queue = open_queue(qtbot, team, "max")
    qtbot.mouseClick(queue.return_button, Qt.MouseButton.LeftButton)
    assert (queue.return_button.isEnabled(), boxes.errors) == (False, [])
    assert "Write your reasons first" in queue.return_button.toolTip()
    assert status(team, waiting.id) == "submitted"


def test_a_return_with_reasons_goes_back_to_the_worker(
    qtbot: QtBot, team: Team, waiting: JustificationRecord
) -> None:
    queue = open_queue(qtbot, team, "max")
    qtbot.keyClicks(queue.reasons, "Say which posts you will record.")
    with qtbot.waitSignal(queue.decided, timeout=WAIT):
        qtbot.mouseClick(queue.return_button, Qt.MouseButton.LeftButton)
    assert status(team, waiting.id) == "returned"


def test_a_manager_cannot_decide_their_own_request(qtbot: QtBot, team: Team) -> None:
    with team.session("mona") as mona:
        own = submitted(mona, team.case.id, complete_request([team.kerry.id]))
    queue = open_queue(qtbot, team, "mona")
    assert queue.entry is not None and (queue.entry.record.id, queue.entry.own) == (own.id, True)
    assert not queue.approve_button.isEnabled()
    assert "another manager must decide" in queue.approve_button.toolTip()


def test_an_overdue_emergency_comes_first(qtbot: QtBot, team: Team) -> None:
    with team.session("wren") as wren:
        routine = submitted(wren, team.case.id, complete_request([team.jay.id]))
    long_ago = FixedClock(system_clock() - timedelta(hours=30))
    with team.session("wren", clock=long_ago) as wren:
        emergency = submitted(
            wren,
            team.case.id,
            complete_request([team.kerry.id], emergency=True, emergency_reason=EMERGENCY_REASON),
        )
    queue = open_queue(qtbot, team, "max")
    ids = [entry.record.id for entry in queue.queue.rows]
    assert ids == [emergency.id, routine.id]
    assert "OVERDUE" in queue.queue_summary.text()


def test_a_decision_offers_no_free_text_authorisation(
    qtbot: QtBot, team: Team, waiting: JustificationRecord
) -> None:
    # An authorisation is a structured document confirmed by a second manager
    # (caseview.authorisations), never a line typed beside an approval.
    queue = open_queue(qtbot, team, "max")
    assert queue.findChild(QLineEdit, "authorisationRef") is None
