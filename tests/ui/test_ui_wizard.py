"""The justification wizard: live findings, fields to fix, drafts and submission."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, complete_request

import ethics
from caseview import justifications
from ui.models import FindingsModel
from ui.wizard import JustificationWizard

WAIT = 10_000


def codes(wizard: JustificationWizard) -> set[str]:
    return {finding.code for finding in wizard.findings.rows}


@pytest.fixture
def wizard(qtbot: QtBot, team: Team) -> JustificationWizard:
    return open_wizard(qtbot, team, "wren")


def open_wizard(
    qtbot: QtBot, team: Team, name: str, record: justifications.JustificationRecord | None = None
) -> JustificationWizard:
    dialog = JustificationWizard(None, team.who(name))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.findings_updated, timeout=WAIT):
        dialog.start(team.case.id, record)
    return dialog


def fill(qtbot: QtBot, wizard: JustificationWizard, request: ethics.Justification) -> None:
    """Put a whole request in the form, then wait for the gate's answer about it."""
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        wizard.fill(request)
        wizard.compute_findings()


def test_a_blank_request_lists_what_must_be_filled_in(wizard: JustificationWizard) -> None:
    assert {"subjects.missing", "question.missing", "safety_case.missing"} <= codes(wizard)
    assert not wizard.submit_button.isEnabled()


def test_findings_update_as_the_worker_types(qtbot: QtBot, wizard: JustificationWizard) -> None:
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        qtbot.keyClicks(wizard.safety, "The baby may be at risk")
    assert "safety_case.missing" not in codes(wizard)
    assert "safety_case.too_short" in codes(wizard)


def test_typing_fast_asks_the_gate_once_the_typing_pauses(
    qtbot: QtBot, wizard: JustificationWizard, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import jobs

    calls: list[int] = []
    real = jobs.gate_findings

    def counted(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "gate_findings", counted)
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        qtbot.keyClicks(wizard.question, "Who is the man in the photos?")
    assert len(calls) == 1


def test_a_finding_points_at_the_answer_to_fix(qtbot: QtBot, wizard: JustificationWizard) -> None:
    row = next(i for i, f in enumerate(wizard.findings.rows) if f.field == "balance")
    wizard.findings_view.setCurrentIndex(wizard.findings.index(row, FindingsModel.SUMMARY))
    qtbot.keyClick(wizard.findings_view, Qt.Key.Key_Return)
    assert wizard.focusWidget() is wizard.balance


def test_touched_answers_with_blocking_findings_are_outlined(
    qtbot: QtBot, wizard: JustificationWizard
) -> None:
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        qtbot.keyClicks(wizard.balance, "Yes")
    assert (
        bool(wizard.balance.property("problem")),
        bool(wizard.ethics_case.property("problem")),
    ) == (
        True,
        False,
    )
    assert "balance" in wizard.balance.accessibleDescription().lower()


def test_a_complete_request_may_be_submitted(
    qtbot: QtBot, team: Team, wizard: JustificationWizard, boxes: Boxes
) -> None:
    fill(qtbot, wizard, complete_request([team.kerry.id]))
    assert [f for f in wizard.findings.rows if f.severity.value == "block"] == []
    assert wizard.submit_button.isEnabled()
    with qtbot.waitSignal(wizard.saved, timeout=WAIT) as saved:
        qtbot.mouseClick(wizard.submit_button, Qt.MouseButton.LeftButton)
    record = saved.args[0]
    assert (record.status, record.author) == ("submitted", "wren")
    assert boxes.infos[0].startswith(f"Request #{record.id} is submitted for review.")


def test_a_draft_is_saved_and_then_changed_in_place(
    qtbot: QtBot, team: Team, wizard: JustificationWizard
) -> None:
    qtbot.keyClicks(wizard.question, "Who is the man in the photos?")
    with qtbot.waitSignal(wizard.saved, timeout=WAIT) as first:
        qtbot.mouseClick(wizard.save_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(wizard.question, " And is he living there?")
    with qtbot.waitSignal(wizard.saved, timeout=WAIT) as second:
        qtbot.mouseClick(wizard.save_button, Qt.MouseButton.LeftButton)
    one, two = first.args[0], second.args[0]
    assert (one.id, one.status) == (two.id, "draft")
    assert two.request.question == "Who is the man in the photos? And is he living there?"


def test_an_existing_request_opens_with_its_answers(qtbot: QtBot, team: Team) -> None:
    with team.session("wren") as wren:
        record = justifications.create(wren, team.case.id, complete_request([team.jay.id]))
    wizard = open_wizard(qtbot, team, "wren", record)
    assert wizard.form_fields()["question"] == record.request.question
    assert (wizard.subject_boxes[team.jay.id].isChecked(), wizard.justification_id) == (
        True,
        record.id,
    )


def test_closing_with_unsaved_answers_asks_first(
    qtbot: QtBot, wizard: JustificationWizard, boxes: Boxes
) -> None:
    qtbot.keyClicks(wizard.question, "Who?")
    wizard.reject()
    assert (boxes.confirms, wizard.isVisible()) == (
        ["Close the request without saving your changes?"],
        True,
    )


def test_an_auditor_sees_a_request_read_only(qtbot: QtBot, team: Team) -> None:
    with team.session("wren") as wren:
        record = justifications.create(wren, team.case.id, complete_request([team.jay.id]))
    wizard = open_wizard(qtbot, team, "ada", record)
    assert (wizard.question.isReadOnly(), wizard.save_button.isEnabled()) == (True, False)
    assert not wizard.submit_button.isEnabled()
