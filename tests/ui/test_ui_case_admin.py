"""Cases for managers: create, allocate and take off workers, add people, close, reopen.

Each test checks the case file afterwards (members, subjects, status, audit events),
and that workers and auditors are stopped: by a switched-off control that says why in
the window, and by the service's own refusal behind it.
"""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from ui_support import PASSWORD, Boxes, Team, approved_request, tab_stops

from caseview import accounts, audit, cases
from caseview.domain import AuditEvent, CaseStatus
from caseview.errors import PermissionDenied
from ui import admin_jobs, tasks
from ui.case_admin import (
    CaseAdminDialog,
    MembersModel,
    NewCaseDialog,
    PeopleModel,
)
from ui.main_window import MainWindow

WAIT = 15_000
# The services' own refusals (caseview.permissions), which the controls show.
MANAGERS_CREATE = "Only a manager can create cases; you are signed in as a worker."
MANAGERS_ONLY = (
    "Only a manager can allocate workers to a case, or close or reopen it; you are signed "
    "in as a worker."
)
AUDITORS_ADD_NOTHING = (
    "Only a worker or a manager can add people to a case; you are signed in as an auditor."
)
CLOSED = (
    "Case CP-2026-0042 is closed and accepts no new material. A manager can reopen it if "
    "work must continue."
)


@pytest.fixture
def otto(team: Team) -> None:
    """A second worker, not allocated to the case."""
    with team.session("mona") as mona:
        accounts.add_user(mona, "otto", "worker", PASSWORD, display_name="Otto Worker")


def idle(qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)


def open_admin(qtbot: QtBot, team: Team, name: str = "mona") -> CaseAdminDialog:
    dialog = CaseAdminDialog(None, team.who(name), team.case.id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.state is not None and dialog.task is None, timeout=WAIT)
    return dialog


def open_window(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    return window


def case_events(team: Team, case_id: int) -> list[AuditEvent]:
    with team.session("ada") as ada:
        return audit.list_events(ada, case_id)


def member_names(team: Team) -> list[str]:
    with team.session("ada") as ada:
        return [user.username for user in cases.members(ada, team.case.id)]


def choose(dialog: CaseAdminDialog, username: str) -> None:
    dialog.candidate.setCurrentIndex(dialog.candidate.findData(username))


def select_member(dialog: CaseAdminDialog, username: str) -> None:
    names = [user.username for user in dialog.members.rows]
    dialog.members_view.selectRow(names.index(username))


def done(qtbot: QtBot, dialog: CaseAdminDialog) -> None:
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)


# --- a new case ------------------------------------------------------------------------


def test_a_manager_creates_a_case(qtbot: QtBot, team: Team) -> None:
    dialog = NewCaseDialog(None, team.who("mona"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.reference, "CP-2026-0099")
    qtbot.keyClicks(dialog.title, "Jones family")
    with qtbot.waitSignal(dialog.created, timeout=WAIT) as created:
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    case = created.args[0]
    assert (case.reference, case.title, case.status) == (
        "CP-2026-0099",
        "Jones family",
        CaseStatus.OPEN,
    )
    [event] = case_events(team, case.id)
    assert (event.actor, event.action) == ("mona", "case.created")


def test_a_duplicate_reference_is_refused_and_the_dialog_stays(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    dialog = NewCaseDialog(None, team.who("mona"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.reference, team.case.reference)
    qtbot.keyClicks(dialog.title, "Smith family again")
    dialog.submit()
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert "already exists" in boxes.errors[0]
    assert dialog.isVisible() and dialog.create_button.isEnabled()


def test_a_new_case_is_chosen_and_opened_for_its_workers_and_people(
    qtbot: QtBot, team: Team
) -> None:
    window = open_window(qtbot, team, "mona")
    dialog = window.open_new_case()
    assert dialog is not None
    qtbot.keyClicks(dialog.reference, "CP-2026-0100")
    qtbot.keyClicks(dialog.title, "Brown family")
    dialog.submit()
    qtbot.waitUntil(
        lambda: (
            window.current_case() is not None and window.current_case().reference == "CP-2026-0100"
        ),  # type: ignore[union-attr]
        timeout=WAIT,
    )
    [admin] = window.findChildren(CaseAdminDialog)
    qtbot.waitUntil(lambda: admin.state is not None, timeout=WAIT)
    assert admin.heading.text() == "CP-2026-0100: Brown family"
    idle(qtbot)


def test_only_managers_create_cases(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "wren")
    assert not window.new_case_action.isEnabled()
    assert window.new_case_action.toolTip() == MANAGERS_CREATE
    assert window.open_new_case() is None
    with pytest.raises(PermissionDenied) as refused:
        admin_jobs.create_case(team.who("wren"), "CP-1", "A worker's own case")
    assert refused.value.rule == "role"


# --- workers ------------------------------------------------------------------------


def test_a_manager_allocates_a_worker(qtbot: QtBot, team: Team, otto: None) -> None:
    dialog = open_admin(qtbot, team)
    assert "otto" in [dialog.candidate.itemData(i) for i in range(dialog.candidate.count())]
    choose(dialog, "otto")
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.allocate_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    assert member_names(team) == ["otto", "wren"]
    assert [user.username for user in dialog.members.rows] == ["otto", "wren"]
    assert dialog.candidate.findData("otto") == -1  # allocated: no longer offered
    event = case_events(team, team.case.id)[-1]
    assert (event.action, event.data["user"]) == ("case.allocated", "otto")


def test_a_manager_takes_a_worker_off_the_case_after_confirming(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    dialog = open_admin(qtbot, team)
    select_member(dialog, "wren")
    boxes.confirm_answer = True
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.deallocate_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    assert "Everything they recorded on it stays" in boxes.confirms[0]
    assert member_names(team) == []
    event = case_events(team, team.case.id)[-1]
    assert (event.action, event.data["user"]) == ("case.deallocated", "wren")


def test_saying_no_keeps_the_worker_on_the_case(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    dialog = open_admin(qtbot, team)
    select_member(dialog, "wren")
    qtbot.mouseClick(dialog.deallocate_button, Qt.MouseButton.LeftButton)
    assert (boxes.confirms != [], dialog.task, member_names(team)) == (True, None, ["wren"])


def test_a_worker_sees_why_they_cannot_allocate_or_close(qtbot: QtBot, team: Team) -> None:
    dialog = open_admin(qtbot, team, "wren")
    assert (dialog.allocate_button.isEnabled(), dialog.allocate_button.toolTip()) == (
        False,
        MANAGERS_ONLY,
    )
    assert (dialog.status_button.isEnabled(), dialog.status_button.toolTip()) == (
        False,
        MANAGERS_ONLY,
    )
    select_member(dialog, "wren")
    assert not dialog.deallocate_button.isEnabled()


@pytest.mark.parametrize("name", ["wren", "ada"])
def test_the_service_refuses_allocation_to_anyone_but_a_manager(
    team: Team, otto: None, name: str
) -> None:
    for change, username in ((admin_jobs.allocate, "otto"), (admin_jobs.deallocate, "wren")):
        with pytest.raises(PermissionDenied) as refused:
            change(team.who(name), team.case.id, username)
        assert refused.value.rule == "role"
    assert member_names(team) == ["wren"]


# --- people ---------------------------------------------------------------------------


def test_a_person_is_added_with_every_field(qtbot: QtBot, team: Team) -> None:
    dialog = open_admin(qtbot, team, "wren")  # a worker on the case may add people
    qtbot.keyClicks(dialog.person_name, "Lee Smith")
    dialog.person_role.setCurrentIndex(dialog.person_role.findData("relative"))
    qtbot.keyClicks(dialog.person_born, "1980-01-02")
    dialog.person_handles.setPlainText("https://social.example/lee\n\n@lee.smith\n")
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.add_person_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    with team.session("ada") as ada:
        lee = cases.list_subjects(ada, team.case.id)[-1]
    assert (lee.name, lee.role.value, lee.date_of_birth, lee.handles) == (
        "Lee Smith",
        "relative",
        date(1980, 1, 2),
        ("https://social.example/lee", "@lee.smith"),
    )
    assert [s.name for s in dialog.people.rows][-1] == "Lee Smith"
    assert dialog.person_name.text() == ""  # ready for the next person
    event = case_events(team, team.case.id)[-1]
    assert (event.actor, event.action) == ("wren", "subject.added")


def test_a_date_of_birth_that_is_not_a_date_is_refused_before_saving(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    dialog = open_admin(qtbot, team)
    qtbot.keyClicks(dialog.person_name, "Lee Smith")
    qtbot.keyClicks(dialog.person_born, "2nd Jan 1980")
    qtbot.mouseClick(dialog.add_person_button, Qt.MouseButton.LeftButton)
    assert "is not a date" in boxes.errors[0]
    assert (dialog.task, len(dialog.people.rows)) == (None, 2)


def test_a_future_date_of_birth_is_refused_by_the_service(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    dialog = open_admin(qtbot, team)
    qtbot.keyClicks(dialog.person_name, "Not Born Yet")
    qtbot.keyClicks(dialog.person_born, "2999-01-01")
    dialog.add_person()
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=WAIT)
    assert boxes.errors == ["The date of birth is in the future. Check it."]
    assert dialog.outcome.text() == boxes.errors[0]


def test_an_auditor_cannot_reach_the_dialog_nor_add_people(qtbot: QtBot, team: Team) -> None:
    window = open_window(qtbot, team, "ada")
    assert (window.case_admin_action.isEnabled(), window.case_admin_action.toolTip()) == (
        False,
        AUDITORS_ADD_NOTHING,
    )
    assert window.open_case_admin() is None
    with pytest.raises(PermissionDenied) as refused:
        admin_jobs.add_subject(team.who("ada"), team.case.id, "Lee Smith", "relative", None, [])
    assert refused.value.rule == "role"


# --- open or closed -------------------------------------------------------------------


def test_a_manager_closes_and_reopens_the_case(qtbot: QtBot, team: Team, boxes: Boxes) -> None:
    dialog = open_admin(qtbot, team)
    boxes.confirm_answer = True
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.status_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    assert dialog.heading.text().endswith("(closed)")
    assert dialog.status_button.accessibleName() == "Reopen the case"
    assert (dialog.add_person_button.isEnabled(), dialog.person_name.toolTip()) == (False, CLOSED)
    with qtbot.waitSignal(dialog.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.status_button, Qt.MouseButton.LeftButton)
    done(qtbot, dialog)
    actions = [e.action for e in case_events(team, team.case.id)][-2:]
    assert actions == ["case.closed", "case.reopened"]
    assert len(boxes.confirms) == 1  # reopening needs no warning


def test_closing_from_the_window_switches_off_capture_and_import(
    qtbot: QtBot, team: Team, boxes: Boxes
) -> None:
    approved_request(team)  # so import is on until the case closes
    window = open_window(qtbot, team, "mona")
    assert window.import_action.isEnabled()
    dialog = window.open_case_admin()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.state is not None and dialog.task is None, timeout=WAIT)
    boxes.confirm_answer = True
    dialog.toggle_status()
    qtbot.waitUntil(lambda: not window.import_action.isEnabled(), timeout=WAIT)
    idle(qtbot)
    assert window.capture_action.statusTip() == CLOSED
    assert window.cases.rows[0].status is CaseStatus.CLOSED


# --- models, keyboard and names -------------------------------------------------------


def test_the_tables_pass_the_model_tester(qtbot: QtBot, team: Team, qtmodeltester: object) -> None:
    dialog = open_admin(qtbot, team)
    for model in (dialog.members, dialog.people):
        qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert (MembersModel.COLUMNS[0], PeopleModel.COLUMNS[0]) == ("User name", "Name")


def test_every_control_is_named_and_tab_follows_the_layout(qtbot: QtBot, team: Team) -> None:
    dialog = open_admin(qtbot, team)
    unnamed = [
        w.objectName()
        for w in dialog.findChildren(QWidget)
        if w.objectName().startswith("caseAdmin")
        and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and not w.accessibleName()
    ]
    assert unnamed == []
    order = [n for n in tab_stops(dialog.members_view) if n.startswith("caseAdmin")]
    assert order == [
        "caseAdminMembers",
        "caseAdminCandidate",
        "caseAdminAllocateButton",
        "caseAdminDeallocateButton",
        "caseAdminSubjects",
        "caseAdminPersonName",
        "caseAdminPersonRole",
        "caseAdminPersonBorn",
        "caseAdminPersonHandles",
        "caseAdminAddPersonButton",
        "caseAdminStatusButton",
        "caseAdminCloseButton",
    ]
