"""The main window: cases, the tabs, roles, verify and export, keyboard and names."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, approved_request, unnamed, with_sources

from caseview import cases, notes, observations
from caseview.abilities import NO_USABLE_REQUEST
from caseview.storage import open_case_file, people
from ui import messages, tasks
from ui.main_window import MainWindow
from ui.models import SourcesModel

WAIT = 10_000
# The services' own refusals (caseview.permissions), which the controls show.
LOOKS_NOT_FOR_AUDITORS = (
    "Only workers allocated to the case, or managers, can view or capture sources; "
    "auditors read the record but add nothing to it."
)
NO_OBSERVING = (
    "Only a worker or a manager can record observations; you are signed in as an auditor."
)


def open_window(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    return window


def idle(qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)


def test_a_worker_sees_only_the_cases_allocated_to_them(qtbot: QtBot, team: Team) -> None:
    with team.session("mona") as mona:
        cases.create_case(mona, "CP-2026-0099", "Jones family")
    worker = open_window(qtbot, team, "wren")
    manager = open_window(qtbot, team, "mona")
    assert (worker.cases.rowCount(), manager.cases.rowCount()) == (1, 2)


def test_the_overview_lists_people_with_their_meter(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    subjects = window.case_view.overview.subjects
    names = [row.subject.name for row in subjects.rows]
    assert names == ["Kerry Smith", "Jay Smith"]
    assert [row.meter.state for row in subjects.rows] == ["ok", "ok"]


def test_an_auditor_reads_everything_but_cannot_capture_or_write(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "ada")
    view = window.case_view
    assert (view.capture_button.isEnabled(), view.new_request_button.isEnabled()) == (False, False)
    assert view.capture_button.toolTip() == LOOKS_NOT_FOR_AUDITORS
    assert (view.export_pdf_button.isEnabled(), view.audit.verify_button.isEnabled()) == (
        True,
        True,
    )


def test_a_worker_may_capture_on_an_open_case(qtbot: QtBot, team: Team) -> None:
    approved_request(team)
    window = open_window(qtbot, team, "wren")
    assert window.case_view.capture_button.isEnabled()


def test_without_a_usable_request_capture_says_what_to_do(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    button = window.case_view.capture_button
    assert (button.isEnabled(), button.toolTip()) == (False, NO_USABLE_REQUEST)


def test_a_closed_case_says_why_nothing_can_be_added(qtbot: QtBot, team: Team) -> None:
    with team.session("mona") as mona:
        cases.set_status(mona, team.case.id, "closed")
    window = open_window(qtbot, team, "wren")
    button = window.case_view.capture_button
    assert (button.isEnabled(), "closed" in button.toolTip()) == (False, True)


def test_only_managers_have_the_review_queue(qtbot: QtBot, team: Team) -> None:
    worker = open_window(qtbot, team, "wren")
    manager = open_window(qtbot, team, "max")
    assert (worker.review_action.isEnabled(), manager.review_action.isEnabled()) == (False, True)


def test_verify_runs_in_the_background_and_says_intact(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "ada")
    audit_tab = window.case_view.audit
    qtbot.mouseClick(audit_tab.verify_button, Qt.MouseButton.LeftButton)
    assert not audit_tab.verify_button.isEnabled()  # the click returned before the work
    qtbot.waitUntil(lambda: audit_tab.verify_result.text().startswith("Intact."), timeout=WAIT)
    assert audit_tab.verify_button.isEnabled()


def test_verify_names_the_first_break_in_plain_words(qtbot: QtBot, team: Team) -> None:
    conn = sqlite3.connect(team.path)
    conn.execute("DROP TRIGGER audit_log_append_only_update")
    [(seq,)] = conn.execute("SELECT seq FROM audit_log WHERE action = 'case.created'")
    conn.execute(
        "UPDATE audit_log SET payload = replace(payload, 'Smith', 'Smyth') WHERE seq = ?", (seq,)
    )
    conn.commit()
    conn.close()
    window = open_window(qtbot, team, "ada")
    audit_tab = window.case_view.audit
    audit_tab.verify()
    qtbot.waitUntil(lambda: audit_tab.verify_result.text().startswith("BROKEN"), timeout=WAIT)
    text = audit_tab.verify_result.text()
    assert text.startswith(f"BROKEN at audit event {seq}:")
    assert "tell your information governance team" in text


def test_the_audit_trail_lists_the_case_events(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "ada")
    actions = [event.action for event in window.case_view.audit.model.rows]
    assert actions[:4] == ["case.created", "case.allocated", "subject.added", "subject.added"]


@pytest.fixture
def three(team: Team) -> list[int]:
    return [s.id for s in with_sources(team, ("Beach day", "Archery club", "Camping trip"))]


def test_the_sources_tab_shows_the_first_page(qtbot: QtBot, team: Team, three: list[int]) -> None:
    window = open_window(qtbot, team, "wren")
    sources = window.case_view.sources
    assert [row.title for row in sources.model.rows] == [
        "Beach day",
        "Archery club",
        "Camping trip",
    ]
    assert sources.count.text() == "3 sources"


def test_searching_sources_filters_in_the_query(qtbot: QtBot, team: Team, three: list[int]) -> None:
    window = open_window(qtbot, team, "wren")
    sources = window.case_view.sources
    qtbot.keyClicks(sources.search, "camp")
    qtbot.waitUntil(lambda: sources.count.text() == "1 source match", timeout=WAIT)
    assert [row.title for row in sources.model.rows] == ["Camping trip"]


def test_clicking_a_header_sorts_by_that_column(qtbot: QtBot, team: Team, three: list[int]) -> None:
    window = open_window(qtbot, team, "wren")
    sources = window.case_view.sources
    sources.view.sortByColumn(SourcesModel.TITLE, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(
        lambda: [row.title for row in sources.model.rows][:1] == ["Archery club"], timeout=WAIT
    )
    assert sources.model.sort_key == "title"


def test_the_observations_and_note_tabs_show_what_was_written(
    qtbot: QtBot, team: Team, three: list[int]
) -> None:
    with team.session("wren") as wren:
        observations.add(
            wren,
            three[0],
            "The photo places the child at the beach in August.",
            domain="family_environment",
            reliability="B",
            credibility=2,
        )
        notes.save(wren, team.case.id, analysis="The posts show no contact with the man.")
    window = open_window(qtbot, team, "wren")
    assert window.case_view.observations.model.rowCount() == 1
    assert "no contact with the man" in window.case_view.note.view.toPlainText()


def test_export_warc_runs_in_the_background_and_reports(
    qtbot: QtBot, team: Team, three: list[int], boxes: Boxes, tmp_path: Path
) -> None:
    boxes.save_to = tmp_path / "out.warc.gz"
    window = open_window(qtbot, team, "ada")
    qtbot.mouseClick(window.case_view.export_warc_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(boxes.infos), timeout=WAIT)
    assert boxes.infos == [f"Saved 0 captures to {boxes.save_to}."]
    assert boxes.save_to.exists()


@pytest.mark.skipif(
    importlib.util.find_spec("caseview.report.pdf") is None, reason="PDF renderer not built yet"
)
def test_export_pdf_offers_to_open_the_note(
    qtbot: QtBot, team: Team, three: list[int], boxes: Boxes, tmp_path: Path
) -> None:
    boxes.save_to = tmp_path / "note.pdf"
    window = open_window(qtbot, team, "wren")
    qtbot.mouseClick(window.case_view.export_pdf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(boxes.confirms), timeout=30_000)
    assert boxes.save_to.read_bytes().startswith(b"%PDF")
    assert "Open it now?" in boxes.confirms[0]


@pytest.mark.parametrize("which", ["pdf", "warc"])
def test_the_message_after_an_export_comes_once_the_window_is_no_longer_busy(
    qtbot: QtBot,
    team: Team,
    three: list[int],
    boxes: Boxes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    which: str,
) -> None:
    """While 'The note is saved…' (or 'Saved 3 captures…') waits for an answer, the busy
    bar is gone and the export button works again: the export is over."""
    boxes.save_to = tmp_path / f"export.{which}"
    window = open_window(qtbot, team, "wren")
    view = window.case_view
    seen: list[tuple[bool, bool]] = []

    def state(*_: object, **__: object) -> bool:
        button = view.export_pdf_button if which == "pdf" else view.export_warc_button
        seen.append((view.progress.isHidden(), button.isEnabled()))
        return False

    monkeypatch.setattr(messages, "confirm", state)
    monkeypatch.setattr(messages, "info", state)
    button = view.export_pdf_button if which == "pdf" else view.export_warc_button
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(seen), timeout=30_000)
    assert seen == [(True, True)]


def test_cancelling_the_save_dialog_exports_nothing(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    window = open_window(qtbot, team, "wren")
    window.case_view.export_pdf()
    assert (tasks.running(), boxes.infos, boxes.confirms) == (0, [], [])


@pytest.mark.parametrize("name", ["wren", "mona", "ada"])
def test_every_control_has_an_accessible_name(qtbot: QtBot, team: Team, name: str) -> None:
    window = open_window(qtbot, team, name)
    window.open_wizard(team.case.id)
    qtbot.waitUntil(
        lambda: tasks.running() == 0 and bool(window.wizard.subject_boxes), timeout=WAIT
    )
    assert unnamed(window) == []


def test_the_view_menu_switches_tabs_by_keyboard(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    assert window.case_view.tabs.currentIndex() == 4


def test_find_goes_to_the_source_search(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    window.find_sources()
    assert (window.case_view.tabs.currentIndex(), window.case_view.sources.search.hasFocus()) in {
        (1, True),
        (1, False),  # offscreen windows may not take focus; the tab switch is what counts
    }


def test_a_switched_off_account_is_stopped_at_its_next_action(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    window = open_window(qtbot, team, "wren")
    with open_case_file(team.path) as casefile, casefile.write() as conn:
        people.set_active(conn, team.users["wren"].id, False)
    window.refresh_cases()
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert boxes.errors == [
        "The account 'wren' has been switched off. Ask a manager to switch it on."
    ]


# --- import, observations from the menu, and quitting with work unsaved -----------------


def test_the_import_button_opens_the_import_dialog(qtbot: QtBot, team: Team) -> None:
    from ui.import_dialog import ImportDialog

    approved_request(team)
    window = open_window(qtbot, team, "wren")
    assert window.case_view.import_button.isEnabled()
    qtbot.mouseClick(window.case_view.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(window.findChildren(ImportDialog)), timeout=WAIT)
    idle(qtbot)


def test_an_auditor_cannot_import_and_is_told_why(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "ada")
    button = window.case_view.import_button
    assert not button.isEnabled() and button.toolTip() == LOOKS_NOT_FOR_AUDITORS


def test_the_case_menu_adds_an_observation_from_any_tab(qtbot: QtBot, team: Team) -> None:
    with_sources(team, ("Beach day",))
    window = open_window(qtbot, team, "wren")
    window.case_view.show_tab(1)
    tab = window.case_view.observations
    with qtbot.waitSignal(tab.editor_opened, timeout=WAIT):
        window.add_observation_action.trigger()
    assert window.case_view.tabs.currentIndex() == 2
    idle(qtbot)


def test_an_auditor_is_offered_no_observation_to_add(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "ada")
    window.sync_actions()
    assert not window.add_observation_action.isEnabled()
    assert window.add_observation_action.toolTip() == NO_OBSERVING


def test_closing_the_window_with_a_note_half_written_asks_first(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    from ui.note_editor import NoteEditor

    window = open_window(qtbot, team, "wren")
    window.case_view.show_tab(3)
    note_tab = window.case_view.note
    with qtbot.waitSignal(note_tab.editor_opened, timeout=WAIT) as blocker:
        qtbot.mouseClick(note_tab.edit_button, Qt.MouseButton.LeftButton)
    editor = blocker.args[0]
    assert isinstance(editor, NoteEditor)
    qtbot.waitUntil(lambda: editor.ready and tasks.running() == 0, timeout=WAIT)
    qtbot.keyClicks(editor.fields["balance"], "Half written")
    boxes.confirm_answer = False
    window.close()
    assert window.isVisible() and editor.isVisible()
    assert len(boxes.confirms) == 1 and "The reasoned note" in boxes.confirms[0]
    boxes.confirm_answer = True
    window.close()
    assert not window.isVisible()


def test_closing_the_window_with_nothing_unsaved_asks_nothing(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    window = open_window(qtbot, team, "wren")
    window.close()
    assert not window.isVisible() and boxes.confirms == []


def test_a_file_dropped_on_the_search_box_is_not_typed_into_it(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    assert not window.case_view.sources.search.acceptDrops()


def test_a_read_only_case_file_is_read_and_the_window_says_nothing_can_be_recorded(
    qtbot: QtBot, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a read-only disk (tests may run as root, whom permissions do not stop).
    import caseview.storage.casefile
    import ui.identity

    monkeypatch.setattr(caseview.storage.casefile, "unchangeable", lambda path: True)
    monkeypatch.setattr(ui.identity, "unchangeable", lambda path: True)
    window = open_window(qtbot, team, "wren")
    assert window.cases.rowCount() == 1
    assert "the case file is read-only" in window.signed_in.text()
    monkeypatch.undo()
    assert "read-only" not in open_window(qtbot, team, "mona").signed_in.text()
