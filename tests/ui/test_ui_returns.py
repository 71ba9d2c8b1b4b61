"""A returned request in the desktop app: the worker answers each reason in the wizard,
and the manager reads each answer beside its reason in the review queue."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_support import Team, complete_request, submitted, tab_stops

from caseview import justifications
from caseview.justifications import JustificationRecord
from ui.review import ReviewQueueDialog
from ui.wizard import JustificationWizard

WAIT = 10_000
REASONS = "- Name the man you expect to see.\n- Say why the school cannot tell you this."
ANSWERS = (
    "The question now names Dan Jones, the man in the police disclosure.",
    "The school has not seen Kerry since September and knows nothing of the home.",
)


@pytest.fixture
def returned(team: Team) -> JustificationRecord:
    with team.session("wren") as wren:
        record = submitted(wren, team.case.id, complete_request([team.kerry.id]))
    with team.session("max") as max_:
        return justifications.review(max_, record.id, "return", REASONS)


def open_wizard(qtbot: QtBot, team: Team, record: JustificationRecord) -> JustificationWizard:
    dialog = JustificationWizard(None, team.who("wren"))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.findings_updated, timeout=WAIT):
        dialog.start(team.case.id, record)
    return dialog


def test_the_wizard_asks_for_one_answer_per_reason(
    qtbot: QtBot, team: Team, returned: JustificationRecord
) -> None:
    wizard = open_wizard(qtbot, team, returned)
    assert wizard.returns_group.isVisible()
    assert [box.accessibleName() for box in wizard.answer_boxes] == [
        "Answer to reason 1",
        "Answer to reason 2",
    ]
    assert [box.accessibleDescription() for box in wizard.answer_boxes] == [
        "Name the man you expect to see.",
        "Say why the school cannot tell you this.",
    ]
    # Keyboard first: the answers come first in the Tab order.
    stops = tab_stops(wizard.answer_boxes[0])
    assert stops[:2] == ["returnAnswer1", "returnAnswer2"]
    assert stops.index("returnAnswer2") < stops.index("field_question")


def test_answered_and_changed_in_the_wizard_the_manager_sees_answers_beside_reasons(
    qtbot: QtBot, team: Team, returned: JustificationRecord
) -> None:
    wizard = open_wizard(qtbot, team, returned)
    for box, answer in zip(wizard.answer_boxes, ANSWERS, strict=True):
        qtbot.keyClicks(box, answer)
    changed = replace(returned.request, question=returned.request.question + " Is it Dan?")
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        wizard.fill(changed)
        wizard.compute_findings()
    with qtbot.waitSignal(wizard.saved, timeout=WAIT) as saved:
        qtbot.mouseClick(wizard.submit_button, Qt.MouseButton.LeftButton)
    record: JustificationRecord = saved.args[0]
    assert record.status == "submitted" and record.id != returned.id

    queue = ReviewQueueDialog(None, team.who("max"))
    qtbot.addWidget(queue)
    with qtbot.waitSignal(queue.context_loaded, timeout=WAIT):
        queue.start()
    text = queue.request_view.toPlainText()
    assert "Returned earlier" in text
    for reason, answer in (
        ("Name the man you expect to see.", ANSWERS[0]),
        ("Say why the school cannot tell you this.", ANSWERS[1]),
    ):
        assert reason in text and answer in text
        assert text.index(reason) < text.index(answer)
