"""The observations tab and editor: add, change (a new version), grading in words,
refusals next to their field, and read-only for auditors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLabel,
    QWidget,
)
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, unnamed, with_sources

from caseview import cases, observations
from caseview.captures import SourceRecord
from caseview.errors import CaseviewError
from caseview.observations import MAX_TEXT, Observation
from caseview.session import Session
from ui import tasks
from ui.case_view import ObservationsTab
from ui.main_window import MainWindow
from ui.observation_editor import ObservationEditor, field_for

WAIT = 10_000
# The services' own refusals (caseview.permissions), which the controls show.
AUDITOR_OBSERVATIONS = (
    "Only a worker or a manager can record observations; you are signed in as an auditor."
)
CLOSED = (
    "Case CP-2026-0042 is closed and accepts no new material. A manager can reopen it if "
    "work must continue."
)


@pytest.fixture
def sources(team: Team) -> list[SourceRecord]:
    return with_sources(team, ("Beach photo", "Party invitation"))


def add(team: Team, source_id: int, text: str, credibility: int = 3, **extra: Any) -> Observation:
    with team.session("wren") as wren:
        return observations.add(
            wren,
            source_id,
            text,
            domain="family_environment",
            reliability="B",
            credibility=credibility,
            **extra,
        )


def stored(team: Team) -> list[Observation]:
    with team.session("ada") as ada:
        return observations.list_for_case(ada, team.case.id)


def open_window(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    window.case_view.show_tab(2)
    return window


def opened(qtbot: QtBot, tab: ObservationsTab, action: Callable[[], object]) -> ObservationEditor:
    """Do ``action`` and return the editor it opened, once its choices have loaded."""
    with qtbot.waitSignal(tab.editor_opened, timeout=WAIT) as blocker:
        action()
    editor = blocker.args[0]
    assert isinstance(editor, ObservationEditor)
    qtbot.waitUntil(lambda: editor.context is not None and tasks.running() == 0, timeout=WAIT)
    return editor


def choose(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


def fill(qtbot: QtBot, editor: ObservationEditor, source_id: int, text: str) -> None:
    choose(editor.source, source_id)
    qtbot.keyClicks(editor.text, text)
    choose(editor.domain, "family_environment")
    choose(editor.reliability, "B")
    choose(editor.credibility, 3)


def save(qtbot: QtBot, editor: ObservationEditor) -> Observation:
    with qtbot.waitSignal(editor.saved, timeout=WAIT) as blocker:
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    row = blocker.args[0]
    assert isinstance(row, Observation)
    return row


def test_a_worker_adds_an_observation_through_the_editor(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    tab = window.case_view.observations
    editor = opened(qtbot, tab, lambda: qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton))
    fill(qtbot, editor, sources[0].id, "The photo places the child at the beach.")
    editor.risk_boxes["old_post"].setChecked(True)
    qtbot.keyClicks(editor.other_risks, "Filter on the photo; date unclear")
    saved = save(qtbot, editor)
    [row] = stored(team)
    assert (row.id, row.source_id, row.text, row.grading, row.version) == (
        saved.id,
        sources[0].id,
        "The photo places the child at the beach.",
        "B3",
        1,
    )
    assert row.risks == ("old_post", "Filter on the photo", "date unclear")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=WAIT)
    assert tab.current() is not None and tab.current().id == saved.id  # the new row is chosen
    assert tab.count.text() == "1 observation"


def test_the_grading_is_explained_and_says_how_the_note_treats_it(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    other = add(team, sources[1].id, "The invitation names Dan as host.")
    window = open_window(qtbot, team, "wren")
    tab = window.case_view.observations
    editor = opened(qtbot, tab, tab.add)
    assert "Choose both grades" in editor.grading.text()
    choose(editor.source, sources[0].id)
    choose(editor.reliability, "F")
    assert "Nothing to judge it by" in editor.reliability_words.text()
    choose(editor.credibility, 3)
    assert "not confirmed" in editor.credibility_words.text()
    assert editor.grading.text().startswith("Grading F3 (nearest UK 3x5x2 reading 2/C).")
    assert "Not relied upon: source reliability F" in editor.grading.text()
    choose(editor.reliability, "B")
    choose(editor.credibility, 2)
    assert "Not relied upon: its own grading (credibility 2)" in editor.grading.text()
    choose(editor.credibility, 4)
    editor.corroborates.item(0).setCheckState(Qt.CheckState.Checked)
    assert editor.ticked() == {other.root_id}
    assert "Findings relied upon'. Relied upon: corroborated by observation" in (
        editor.grading.text()
    )
    editor.dirty = False


def test_the_editor_asks_the_service_about_an_external_check_as_it_is_typed(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    fill(qtbot, editor, sources[0].id, "Kerry was at the party.")
    qtbot.keyClicks(editor.check_what, "The bruise")
    qtbot.keyClicks(editor.check_who, "The health visitor")
    assert "does not record when" in editor.grading.text()
    qtbot.keyClicks(editor.check_when, "2024-11-03")
    assert "Relied upon: corroborated by external check: The bruise, by The health " in (
        editor.grading.text()
    )
    editor.dirty = False


def test_confirmed_by_is_asked_for_credibility_1_only(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    fill(qtbot, editor, sources[0].id, "Confirmed by the police.")
    assert not editor.confirmed_by.isVisibleTo(editor)
    choose(editor.credibility, 1)
    assert editor.confirmed_by.isVisibleTo(editor)
    assert editor.confirmed_by.accessibleName() == "Confirmed by"
    assert tab_chain(editor.credibility, editor)[:2] == [
        "observationCredibility",
        "observationConfirmedBy",
    ]
    qtbot.keyClicks(editor.confirmed_by, "The police incident log")
    row = save(qtbot, editor)
    assert (row.credibility, row.confirmed_by, row.relied_upon) == (
        1,
        "The police incident log",
        False,
    )


def test_observations_on_the_same_source_cannot_be_ticked_as_corroboration(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    add(team, sources[0].id, "The photo is from August.")
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    choose(editor.source, sources[0].id)
    item = editor.corroborates.item(0)
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled
    assert "independent source" in item.toolTip()
    choose(editor.source, sources[1].id)
    assert item.flags() & Qt.ItemFlag.ItemIsEnabled
    editor.dirty = False


def test_what_must_be_chosen_is_said_next_to_each_field(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    qtbot.keyClicks(editor.text, "Something")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert tasks.running() == 0  # nothing was sent to the service
    shown = {key: label.text() for key, label in editor.problems.items() if label.text()}
    assert set(shown) == {"source", "domain", "reliability", "credibility"}
    assert "F if you cannot judge" in shown["reliability"]
    assert editor.reliability.property("problem") is True
    assert editor.reliability.accessibleDescription() == shown["reliability"]
    assert stored(team) == []
    editor.dirty = False


def test_the_services_refusal_is_shown_beside_the_text(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    fill(qtbot, editor, sources[0].id, "   ")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(editor.problems["text"].text()), timeout=WAIT)
    assert editor.problems["text"].text().startswith("The observation is empty.")
    assert (editor.isVisible(), editor.save_button.isEnabled(), stored(team)) == (True, True, [])
    editor.dirty = False


def refusal(session: Session, source: SourceRecord, other: SourceRecord, kind: str) -> str:
    """A real refusal from the service, to check which field the editor shows it by."""
    good: dict[str, Any] = {"domain": "family_environment", "reliability": "B", "credibility": 3}
    first = observations.add(session, other.id, "Elsewhere.", **good)
    same = observations.add(session, source.id, "Same source.", **good)
    calls: dict[str, Callable[[], object]] = {
        "empty": lambda: observations.add(session, source.id, " ", **good),
        "long": lambda: observations.add(session, source.id, "x" * (MAX_TEXT + 1), **good),
        "domain": lambda: observations.add(session, source.id, "t", **{**good, "domain": "x"}),
        "reliability": lambda: observations.add(
            session, source.id, "t", **{**good, "reliability": "Z"}
        ),
        "credibility": lambda: observations.add(
            session, source.id, "t", **{**good, "credibility": 9}
        ),
        "same_source": lambda: observations.add(
            session, source.id, "t", corroborates=[same.id], **good
        ),
        "other_case": lambda: observations.add(
            session, source.id, "t", corroborates=[first.id + 100], **good
        ),
        "itself": lambda: observations.revise(session, first.id, corroborates=[first.id]),
        "no_source": lambda: observations.add(session, 9999, "t", **good),
        "confirmed": lambda: observations.add(
            session, source.id, "t", **{**good, "credibility": 1}
        ),
        "check_partial": lambda: observations.add(
            session, source.id, "t", check_what="The bruise", **good
        ),
        "check_date": lambda: observations.add(
            session,
            source.id,
            "t",
            check_what="The bruise",
            check_who="The health visitor",
            check_when="3 November",
            **good,
        ),
    }
    with pytest.raises(CaseviewError) as caught:
        calls[kind]()
    return field_for(caught.value)


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("empty", "text"),
        ("long", "text"),
        ("domain", "domain"),
        ("reliability", "reliability"),
        ("credibility", "credibility"),
        ("same_source", "corroboration"),
        ("other_case", "corroboration"),
        ("itself", "corroboration"),
        ("no_source", "source"),
        ("confirmed", "confirmed_by"),
        ("check_partial", "check"),
        ("check_date", "check"),
    ],
)
def test_each_refusal_of_the_service_is_placed_by_its_field(
    team: Team, sources: list[SourceRecord], kind: str, field: str
) -> None:
    with team.session("wren") as wren:
        assert refusal(wren, sources[0], sources[1], kind) == field


def test_enter_on_a_row_opens_it_and_saving_makes_a_new_version(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    first = add(team, sources[0].id, "The photo places the child at the beach.", risks=["repost"])
    window = open_window(qtbot, team, "wren")
    tab = window.case_view.observations
    tab.view.setFocus()
    tab.view.selectRow(0)
    editor = opened(qtbot, tab, lambda: qtbot.keyClick(tab.view, Qt.Key.Key_Return))
    assert editor.text.toPlainText() == first.text
    assert editor.risk_boxes["repost"].isChecked()
    assert editor.source.currentData() == sources[0].id and not editor.source.isEnabled()
    assert not editor.save_button.isEnabled()  # nothing changed yet: no empty version
    assert "Version 1, saved by wren" in editor.status.text()
    choose(editor.credibility, 2)
    saved = save(qtbot, editor)
    with team.session("ada") as ada:
        versions = observations.history(ada, saved.id)
    assert [(v.version, v.grading) for v in versions] == [(1, "B3"), (2, "B2")]
    assert [row.id for row in stored(team)] == [saved.id]
    qtbot.waitUntil(lambda: tab.model.rows[:1] and tab.model.rows[0].id == saved.id, timeout=WAIT)


def test_the_editor_lists_the_versions_so_far(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    first = add(team, sources[0].id, "First reading.")
    with team.session("wren") as wren:
        observations.revise(wren, first.id, text="Second reading.")
    window = open_window(qtbot, team, "wren")
    tab = window.case_view.observations
    tab.view.selectRow(0)
    editor = opened(qtbot, tab, tab.edit_button.click)
    texts = [editor.history.item(i).text() for i in range(editor.history.count())]
    assert [t.split(",")[0] for t in texts] == ["Version 2", "Version 1"]
    assert texts[1].endswith("First reading.")


def test_ctrl_s_saves_the_observation(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    fill(qtbot, editor, sources[1].id, "The invitation names Dan.")
    editor.activateWindow()
    with qtbot.waitSignal(editor.saved, timeout=WAIT):
        qtbot.keyClick(editor.text, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert [row.text for row in stored(team)] == ["The invitation names Dan."]


def test_the_source_chosen_in_the_sources_tab_is_offered_first(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    view = window.case_view
    qtbot.waitUntil(lambda: view.sources.model.total == 2, timeout=WAIT)
    row = [r.id for r in view.sources.model.rows].index(sources[1].id)
    view.sources.view.selectRow(row)
    editor = opened(qtbot, view.observations, view.observations.add)
    assert editor.source.currentData() == sources[1].id


def test_the_source_list_can_be_searched(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    assert editor.source.count() == 2
    with qtbot.waitSignal(editor.loaded, timeout=WAIT):
        qtbot.keyClicks(editor.source_filter, "invitation")
    assert [editor.source.itemData(i) for i in range(editor.source.count())] == [sources[1].id]


def test_enter_in_the_source_search_searches_and_does_not_save(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    fill(qtbot, editor, sources[0].id, "Not finished.")
    editor.source_filter.setText("beach")
    with qtbot.waitSignal(editor.loaded, timeout=WAIT):
        qtbot.keyClick(editor.source_filter, Qt.Key.Key_Return)
    assert (editor.isVisible(), stored(team)) == (True, [])
    assert editor.source.currentData() == sources[0].id  # the choice survived the search
    editor.dirty = False


def mnemonics(root: QWidget) -> list[str]:
    """The Alt+letter keys of the labels and buttons under ``root``."""
    keys = []
    for widget in root.findChildren(QWidget):
        text = widget.text() if isinstance(widget, QLabel | QAbstractButton) else ""
        plain = text.replace("&&", "")
        if "&" in plain and widget.isVisibleTo(root):
            keys.append(plain[plain.index("&") + 1].lower())
    return keys


def test_each_alt_key_of_the_editor_is_used_once(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    keys = mnemonics(editor)
    assert len(keys) >= 9 and sorted(keys) == sorted(set(keys))


def test_closing_with_changes_asks_first(
    qtbot: QtBot, team: Team, sources: list[SourceRecord], boxes: Boxes
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    qtbot.keyClicks(editor.text, "Half a thought")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert len(boxes.confirms) == 1 and editor.isVisible()  # answered no: still open
    boxes.confirm_answer = True
    qtbot.mouseClick(editor.cancel_button, Qt.MouseButton.LeftButton)
    assert len(boxes.confirms) == 2
    qtbot.waitUntil(lambda: not window.findChildren(ObservationEditor), timeout=WAIT)
    assert stored(team) == []


def test_a_case_closed_meanwhile_refuses_the_save_and_says_why(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    fill(qtbot, editor, sources[0].id, "Written as the case closed.")
    with team.session("mona") as mona:
        cases.set_status(mona, team.case.id, "closed")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(editor.problems["general"].text()), timeout=WAIT)
    assert "is closed and accepts no new material" in editor.problems["general"].text()
    assert stored(team) == []
    editor.dirty = False


def test_an_auditor_reads_observations_but_cannot_add_or_change_them(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    add(team, sources[0].id, "The photo places the child at the beach.")
    window = open_window(qtbot, team, "ada")
    tab = window.case_view.observations
    assert (tab.add_button.isEnabled(), tab.add_button.toolTip()) == (False, AUDITOR_OBSERVATIONS)
    tab.add()
    assert not window.findChildren(ObservationEditor)
    tab.view.selectRow(0)
    assert tab.edit_button.text() == "&Open the observation…" and tab.edit_button.isEnabled()
    editor = opened(qtbot, tab, lambda: tab.open_row(tab.model.index(0, 0)))
    assert editor.save_button.isEnabled() is False
    assert editor.save_button.toolTip() == AUDITOR_OBSERVATIONS
    assert editor.text.isReadOnly() and not editor.reliability.isEnabled()
    assert AUDITOR_OBSERVATIONS in editor.status.text()
    editor.save()
    assert tasks.running() == 0
    with team.session("ada") as ada:
        assert len(observations.history(ada, tab.model.rows[0].id)) == 1


def test_a_closed_case_says_why_observations_cannot_be_added(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    with team.session("mona") as mona:
        cases.set_status(mona, team.case.id, "closed")
    window = open_window(qtbot, team, "mona")
    qtbot.waitUntil(lambda: window.current_case().status.value == "closed", timeout=WAIT)
    tab = window.case_view.observations
    assert (tab.add_button.isEnabled(), tab.add_button.toolTip()) == (False, CLOSED)


def test_a_manager_may_add_observations_to_any_open_case(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "mona")
    tab = window.case_view.observations
    assert tab.add_button.isEnabled()
    editor = opened(qtbot, tab, tab.add)
    fill(qtbot, editor, sources[0].id, "A manager's reading.")
    save(qtbot, editor)
    assert [row.author for row in stored(team)] == ["mona"]


def test_ctrl_shift_o_opens_a_new_observation(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    window = open_window(qtbot, team, "wren")
    window.activateWindow()
    tab = window.case_view.observations
    opened(
        qtbot,
        tab,
        lambda: qtbot.keyClick(
            tab.view,
            Qt.Key.Key_O,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        ),
    )


def tab_chain(start: QWidget, root: QWidget) -> list[str]:
    """The object names Tab visits from ``start``, as far as the first repeat."""
    seen: list[str] = []
    widget = start
    for _ in range(200):
        if (
            widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            and widget.isVisibleTo(root)
            and widget.isEnabled()
        ):
            if widget.objectName() in seen:
                break
            seen.append(widget.objectName())
        widget = widget.nextInFocusChain()
    return seen


def test_every_control_of_the_editor_is_named_and_in_order(
    qtbot: QtBot, team: Team, sources: list[SourceRecord]
) -> None:
    add(team, sources[1].id, "Another reading.")
    window = open_window(qtbot, team, "wren")
    editor = opened(qtbot, window.case_view.observations, window.case_view.observations.add)
    assert unnamed(editor) == []
    assert unnamed(window.case_view.observations) == []
    assert tab_chain(editor.source_filter, editor) == [
        "observationSourceFilter",
        "observationSource",
        "observationText",
        "observationDomain",
        "risk_old_post",
        "risk_repost",
        "risk_irony",
        "risk_identity_uncertain",
        "risk_context_missing",
        "observationOtherRisks",
        "observationReliability",
        "observationCredibility",
        "observationCorroborates",
        "observationCheckWhat",
        "observationCheckWho",
        "observationCheckWhen",
        "observationSaveButton",
        "observationCancelButton",
    ]
