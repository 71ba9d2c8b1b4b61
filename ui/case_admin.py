"""Cases for managers: create one; allocate and take off workers; add people; close, reopen.

Managers do all of it; a worker allocated to an open case may add people to it (as the
service allows); auditors only read. Each control the user cannot use is switched off
with a tooltip saying why: the services' own answer (``caseview.abilities``), read
with the case, and the services check every rule again. Every change runs in the
background and is followed by a fresh read of the case and of that answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseview.abilities import Abilities
from caseview.domain import Case, CaseStatus, Role, Subject, SubjectRole, User
from caseview.errors import CaseviewError
from ui import admin_jobs, crash, jobs, messages, widgets
from ui.identity import Identity
from ui.models import ROW_ROLE, RowTableModel
from ui.tasks import Task, run_task

LOADING = "Loading the case…"
ROLE_WORDS = {Role.WORKER: "Worker", Role.MANAGER: "Manager", Role.AUDITOR: "Auditor"}


class MembersModel(RowTableModel[User]):
    """The people allocated to a case."""

    USERNAME, NAME, ROLE = range(3)
    COLUMNS = ("User name", "Name", "Role")

    def text(self, row: User, column: int) -> str:
        return (row.username, row.display_name, ROLE_WORDS[row.role])[column]


class PeopleModel(RowTableModel[Subject]):
    """The subjects of a case: whom the research may be about."""

    NAME, ROLE, BORN, HANDLES = range(4)
    COLUMNS = ("Name", "Role", "Date of birth", "Public handles and addresses")

    def text(self, row: Subject, column: int) -> str:
        if column == self.NAME:
            return row.name
        if column == self.ROLE:
            return row.role.value.capitalize()
        if column == self.BORN:
            return row.date_of_birth.isoformat() if row.date_of_birth else ""
        return ", ".join(row.handles)


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAccessibleName(widgets.plain(text).rstrip("…"))
    return button


def _allow(widget: QWidget, reason: str, tip: str = "") -> None:
    """Enable ``widget``, or switch it off with a tooltip saying why."""
    widget.setEnabled(not reason)
    widget.setToolTip(reason or tip)
    widget.setAccessibleDescription(reason or tip)


def parse_birth_date(text: str) -> date | None:
    """An optional date of birth typed as YYYY-MM-DD; ValueError with a readable message."""
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f"'{cleaned}' is not a date. Write the date of birth like 2019-04-30, or leave "
            "it empty if it is not known."
        ) from None


class NewCaseDialog(QDialog):
    """A manager opens a new case: its reference and a title."""

    created = Signal(object)
    """The new :class:`~caseview.domain.Case`."""

    def __init__(self, parent: QWidget | None, who: Identity) -> None:
        super().__init__(parent)
        self.setObjectName("newCaseDialog")
        self.setWindowTitle("New case")
        self.who = who
        self.task: Task | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(widgets.heading("New case"))
        layout.addWidget(
            widgets.note(
                "Give the council's case number and a short title. Then allocate the "
                "workers and add the people the case is about."
            )
        )
        form = QFormLayout()
        self.reference = QLineEdit()
        self.reference.setObjectName("newCaseReference")
        self.reference.setPlaceholderText("e.g. CP-2026-0042")
        self.reference.setMaxLength(64)
        widgets.add_row(form, "Case &reference:", self.reference)
        self.title = QLineEdit()
        self.title.setObjectName("newCaseTitle")
        self.title.setPlaceholderText("e.g. Smith family")
        self.title.setMaxLength(200)
        widgets.add_row(form, "&Title:", self.title)
        layout.addLayout(form)
        self.status = widgets.note()
        self.status.setObjectName("newCaseStatus")
        self.status.setAccessibleName("Status")
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.create_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("&Create case")
        self.create_button.setObjectName("newCaseCreateButton")
        self.create_button.setAccessibleName("Create case")
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.reference.textChanged.connect(self._update)
        self.title.textChanged.connect(self._update)
        self.setMinimumWidth(widgets.chars(self, 60))
        self._update()

    def _update(self) -> None:
        # Opened only for those the service lets create cases (MainWindow.open_new_case);
        # the service checks again, and says so here if it refuses.
        ready = bool(self.reference.text().strip() and self.title.text().strip())
        self.create_button.setEnabled(ready and self.task is None)
        self.create_button.setToolTip("" if ready else "Give the case reference and a title.")
        for field in (self.reference, self.title):
            field.setEnabled(self.task is None)

    def submit(self) -> None:
        if self.task is not None or not self.create_button.isEnabled():
            return
        self.status.setText("Creating the case…")
        self.task = run_task(
            admin_jobs.create_case,
            self.who,
            self.reference.text(),
            self.title.text(),
            on_returned=self._created,
            on_errored=self._failed,
            on_finished=self._finished,
            owner=self,
        )
        self._update()

    def _finished(self) -> None:
        self.task = None
        self._update()

    def _created(self, case: Case) -> None:
        self.created.emit(case)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(str(exc) if isinstance(exc, CaseviewError) else "")
        crash.report(self, exc)


class CaseAdminDialog(QDialog):
    """One case's workers, people and status."""

    changed = Signal(int)
    """Something about the case changed (its id): the main window reloads it."""

    def __init__(self, parent: QWidget | None, who: Identity, case_id: int) -> None:
        super().__init__(parent)
        self.setObjectName("caseAdminDialog")
        self.setWindowTitle("Workers and people of the case")
        self.who = who
        self.case_id = case_id
        self.state: admin_jobs.CaseAdmin | None = None
        self.may: Abilities | None = None
        """What the user may do on the case, read with it."""
        self.task: Task | None = None
        layout = QVBoxLayout(self)
        self.heading = widgets.heading(LOADING)
        self.heading.setObjectName("caseAdminHeading")
        layout.addWidget(self.heading)

        # Workers allocated
        workers_box = QGroupBox("Workers allocated")
        workers_box.setObjectName("caseAdminWorkers")
        workers_layout = QVBoxLayout(workers_box)
        workers_layout.addWidget(
            widgets.note(
                "Workers see and work on the cases allocated to them. Taking someone off "
                "a case keeps everything they recorded on it."
            )
        )
        self.members = MembersModel(self)
        self.members_view = widgets.table(
            self.members, "caseAdminMembers", "Workers allocated", stretch=MembersModel.NAME
        )
        self.members_view.setMinimumHeight(widgets.lines(self, 6))
        workers_layout.addWidget(self.members_view)
        allocate_form = QFormLayout()
        self.candidate = QComboBox()
        self.candidate.setObjectName("caseAdminCandidate")
        widgets.add_row(allocate_form, "&Worker to allocate:", self.candidate)
        workers_layout.addLayout(allocate_form)
        allocate_row = QHBoxLayout()
        self.allocate_button = _button("&Allocate", "caseAdminAllocateButton")
        self.deallocate_button = _button("Take &off the case…", "caseAdminDeallocateButton")
        allocate_row.addWidget(self.allocate_button)
        allocate_row.addStretch(1)
        allocate_row.addWidget(self.deallocate_button)
        workers_layout.addLayout(allocate_row)
        columns = QHBoxLayout()
        columns.addWidget(workers_box, 1)
        layout.addLayout(columns, 1)

        # People in the case
        people_box = QGroupBox("People in the case")
        people_box.setObjectName("caseAdminPeople")
        people_layout = QVBoxLayout(people_box)
        people_layout.addWidget(
            widgets.note(
                "A request to look can only be about people listed here. Add their known "
                "public handles or addresses, one a line."
            )
        )
        self.people = PeopleModel(self)
        self.people_view = widgets.table(
            self.people, "caseAdminSubjects", "People in the case", stretch=PeopleModel.HANDLES
        )
        self.people_view.setMinimumHeight(widgets.lines(self, 6))
        people_layout.addWidget(self.people_view)
        person = QFormLayout()
        self.person_name = QLineEdit()
        self.person_name.setObjectName("caseAdminPersonName")
        self.person_name.setMaxLength(200)
        widgets.add_row(person, "&Name:", self.person_name)
        self.person_role = QComboBox()
        self.person_role.setObjectName("caseAdminPersonRole")
        for role in SubjectRole:
            self.person_role.addItem(role.value.capitalize(), role.value)
        widgets.add_row(person, "&Role in the case:", self.person_role)
        self.person_born = QLineEdit()
        self.person_born.setObjectName("caseAdminPersonBorn")
        self.person_born.setPlaceholderText("YYYY-MM-DD, if known")
        widgets.add_row(
            person,
            "&Date of birth:",
            self.person_born,
            description="Optional. Write it like 2019-04-30.",
        )
        self.person_handles = QPlainTextEdit()
        self.person_handles.setObjectName("caseAdminPersonHandles")
        self.person_handles.setTabChangesFocus(True)
        self.person_handles.setPlaceholderText("https://social.example/name (one a line)")
        self.person_handles.setFixedHeight(widgets.lines(self, 4))
        widgets.add_row(person, "Public &handles:", self.person_handles)
        people_layout.addLayout(person)
        add_row = QHBoxLayout()
        add_row.addStretch(1)
        self.add_person_button = _button("Add &person", "caseAdminAddPersonButton")
        add_row.addWidget(self.add_person_button)
        people_layout.addLayout(add_row)
        columns.addWidget(people_box, 1)

        # Open or closed
        status_box = QGroupBox("Open or closed")
        status_box.setObjectName("caseAdminStatusBox")
        status_layout = QHBoxLayout(status_box)
        self.case_status = widgets.note()
        self.case_status.setObjectName("caseAdminCaseStatus")
        self.case_status.setAccessibleName("Case status")
        status_layout.addWidget(self.case_status, 1)
        self.status_button = _button("Close the cas&e…", "caseAdminStatusButton")
        status_layout.addWidget(self.status_button)
        layout.addWidget(status_box)

        self.outcome = widgets.note()
        self.outcome.setObjectName("caseAdminResult")
        self.outcome.setAccessibleName("Result")
        layout.addWidget(self.outcome)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("caseAdminCloseButton")
        close.setAccessibleName("Close this window")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.allocate_button.clicked.connect(self.allocate)
        self.deallocate_button.clicked.connect(self.deallocate)
        self.add_person_button.clicked.connect(self.add_person)
        self.status_button.clicked.connect(self.toggle_status)
        self.person_name.textChanged.connect(self._update)
        self.members_view.selectionModel().selectionChanged.connect(self._update)
        self.candidate.currentIndexChanged.connect(self._update)
        self.resize(widgets.chars(self, 150), widgets.lines(self, 36))
        self._update()
        self._run(admin_jobs.load_case_admin, "")

    # --- showing ----------------------------------------------------------------------

    def _show(self, state: admin_jobs.CaseAdmin) -> None:
        self.state = state
        case = state.case
        closed = case.status is CaseStatus.CLOSED
        self.heading.setText(f"{case.reference}: {case.title}" + (" (closed)" if closed else ""))
        self.heading.setAccessibleName(self.heading.text())
        self.members.set_rows(state.members)
        widgets.fit_columns(self.members_view)
        self.people.set_rows(state.subjects)
        widgets.fit_columns(self.people_view)
        self.candidate.clear()
        for user in state.candidates:
            self.candidate.addItem(
                f"{user.display_name} ({user.username}, {user.role.value})", user.username
            )
        self.case_status.setText(
            "This case is closed: nothing new can be recorded on it."
            if closed
            else "This case is open."
        )
        self.status_button.setText("Reopen the cas&e" if closed else "Close the cas&e…")
        self.status_button.setAccessibleName("Reopen the case" if closed else "Close the case")
        self._update()

    def selected_member(self) -> User | None:
        rows = self.members_view.selectionModel().selectedRows()
        if not rows:
            return None
        member = self.members.data(rows[0], ROW_ROLE)
        return member if isinstance(member, User) else None

    def _update(self) -> None:
        busy = self.task is not None
        closed = self.state is not None and self.state.case.status is CaseStatus.CLOSED
        if self.state is None or self.may is None:
            manager = adding = LOADING
        else:
            manager = self.may.manage_case.reason
            adding = self.may.add_person.reason
        no_candidate = (
            "Everyone who can be allocated is allocated already."
            if self.state is not None and not self.state.candidates
            else ""
        )
        _allow(self.candidate, manager or no_candidate)
        _allow(
            self.allocate_button,
            manager or no_candidate,
            "Allocate the chosen worker to this case.",
        )
        _allow(
            self.deallocate_button,
            manager or ("" if self.selected_member() else "Choose someone in the list first."),
            "Take the chosen worker off this case.",
        )
        for field in (self.person_name, self.person_role, self.person_born, self.person_handles):
            _allow(field, adding)
        _allow(
            self.add_person_button,
            adding or ("" if self.person_name.text().strip() else "Give the person's name."),
            "Add this person to the case.",
        )
        _allow(
            self.status_button,
            manager,
            "Reopen the case so work can continue."
            if closed
            else "Close the case: nothing new can be recorded on it until it is reopened.",
        )
        if busy:
            for widget in (
                self.candidate,
                self.allocate_button,
                self.deallocate_button,
                self.add_person_button,
                self.status_button,
            ):
                widget.setEnabled(False)

    # --- changing ---------------------------------------------------------------------

    def _run(
        self,
        fn: Callable[..., admin_jobs.CaseAdmin],
        done: str,
        *args: Any,
        after: Callable[[], None] | None = None,
    ) -> None:
        """Run one change (or the first load, when ``done`` is empty) in the background."""
        if self.task is not None:
            return

        def returned(answer: tuple[admin_jobs.CaseAdmin, Abilities]) -> None:
            state, self.may = answer
            self._changed(state, done)
            if after is not None:
                after()

        self.task = run_task(
            jobs.then_abilities,
            fn,
            self.who,
            self.case_id,
            *args,
            on_returned=returned,
            on_errored=self._failed,
            on_finished=self._finished,
            owner=self,
        )
        self._update()

    def _changed(self, state: admin_jobs.CaseAdmin, done: str) -> None:
        self._show(state)
        if done:
            self.outcome.setText(done)
            self.changed.emit(self.case_id)

    def _finished(self) -> None:
        self.task = None
        self._update()

    def _failed(self, exc: BaseException) -> None:
        self.outcome.setText(str(exc) if isinstance(exc, CaseviewError) else "")
        crash.report(self, exc)

    def allocate(self) -> None:
        username = self.candidate.currentData()
        if username is None:
            return
        self._run(admin_jobs.allocate, f"{username} is allocated to this case.", str(username))

    def deallocate(self) -> None:
        member = self.selected_member()
        if member is None:
            return
        if not messages.confirm(
            self,
            f"Take {member.display_name} ({member.username}) off this case? They will no "
            "longer see it. Everything they recorded on it stays.",
        ):
            return
        self._run(
            admin_jobs.deallocate, f"{member.username} is taken off this case.", member.username
        )

    def add_person(self) -> None:
        try:
            born = parse_birth_date(self.person_born.text())
        except ValueError as exc:
            messages.error(self, str(exc))
            self.person_born.setFocus()
            return
        name = self.person_name.text().strip()
        handles = [line.strip() for line in self.person_handles.toPlainText().splitlines()]
        self._run(
            admin_jobs.add_subject,
            f"{name} is added to the case.",
            name,
            str(self.person_role.currentData()),
            born,
            [handle for handle in handles if handle],
            after=self._clear_person,
        )

    def _clear_person(self) -> None:
        self.person_name.clear()
        self.person_born.clear()
        self.person_handles.clear()

    def reject(self) -> None:
        """Close, Escape and the close box come here: ask before losing a person half
        typed in (their accounts can be a long list)."""
        typed = (
            self.person_name.text().strip()
            or self.person_born.text().strip()
            or self.person_handles.toPlainText().strip()
        )
        if typed and not messages.confirm(
            self, "Close without adding the person you typed in? What you typed is not kept."
        ):
            return
        super().reject()

    def toggle_status(self) -> None:
        if self.state is None:
            return
        if self.state.case.status is CaseStatus.CLOSED:
            self._run(admin_jobs.set_case_status, "The case is open again.", "open")
            return
        if not messages.confirm(
            self,
            f"Close case {self.state.case.reference}? Nothing new can be recorded on it "
            "until a manager reopens it. Everything already recorded stays readable.",
        ):
            return
        self._run(admin_jobs.set_case_status, "The case is closed.", "closed")
