"""The whole file's audit log, for auditors and managers: Tools > Audit log of the file.

A case's Audit trail tab shows that case's events; logins, failed logins, account and
policy changes belong to no case, so they are only seen here. Filters: the kind of
event (``caseview.audit.EVENT_KINDS``), who did it, and the days (UK dates, both
included). Newest first. A worker sees the events of the cases allocated to them (the
service decides: ``audit.list_file_events``).
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from caseview.domain import Role
from ui import jobs, widgets
from ui.identity import Identity
from ui.models import FileAuditModel
from ui.tasks import run_task

KINDS = (
    ("all", "All events"),
    ("logins", "Logins and failed logins"),
    ("users", "User account changes"),
    ("policies", "Policy changes"),
    ("exports", "Exports"),
)
ANY_DAY = QDate(2000, 1, 1)
"""A date edit at this date means "any day" (shown as the word "any")."""
LIMIT = 1000


def _day(edit: QDateEdit) -> date | None:
    chosen = edit.date()
    if chosen == edit.minimumDate():
        return None
    return date(chosen.year(), chosen.month(), chosen.day())


class FileAuditDialog(QDialog):
    """Every event in the case file, filtered; opened from the Tools menu."""

    def __init__(self, parent: QWidget | None, who: Identity) -> None:
        super().__init__(parent)
        self.setObjectName("fileAuditDialog")
        self.setWindowTitle("Audit log of the whole case file")
        self.who = who
        self.loaded: tuple[jobs.FileEvent, ...] | None = None
        self._asked = 0
        layout = QVBoxLayout(self)
        layout.addWidget(widgets.heading("Audit log of the whole case file"))
        scope = (
            "You see the events of the cases allocated to you."
            if who.role is Role.WORKER
            else "Every event in the file: logins and failed logins, account and policy "
            "changes, exports, and every case's events."
        )
        explain = widgets.note(f"{scope} Newest first; times are UTC.")
        explain.setObjectName("fileAuditExplain")
        layout.addWidget(explain)

        filters = QHBoxLayout()
        left, right = QFormLayout(), QFormLayout()
        self.kind = QComboBox()
        self.kind.setObjectName("fileAuditKind")
        for value, text in KINDS:
            self.kind.addItem(text, value)
        widgets.add_row(left, "&Kind of event:", self.kind)
        self.actor = QLineEdit()
        self.actor.setObjectName("fileAuditWho")
        self.actor.setPlaceholderText("anyone (or a user name, e.g. wren)")
        self.actor.setClearButtonEnabled(True)
        widgets.add_row(left, "&Who:", self.actor)
        self.since = self._date_edit("fileAuditFrom")
        widgets.add_row(right, "&From (UK date):", self.since)
        self.until = self._date_edit("fileAuditTo")
        widgets.add_row(right, "&To (UK date):", self.until)
        filters.addLayout(left, 1)
        filters.addLayout(right, 1)
        layout.addLayout(filters)

        self.model = FileAuditModel(self)
        self.view = widgets.table(
            self.model,
            "fileAuditView",
            "Audit log of the whole case file",
            stretch=FileAuditModel.DETAILS,
        )
        layout.addWidget(self.view, 1)
        self.count = widgets.note("Loading…")
        self.count.setObjectName("fileAuditCount")
        self.count.setAccessibleName("How many events are shown")
        layout.addWidget(self.count)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.kind.currentIndexChanged.connect(self.reload)
        self.actor.editingFinished.connect(self.reload)
        self.since.dateChanged.connect(self.reload)
        self.until.dateChanged.connect(self.reload)
        self.resize(widgets.chars(self, 150), widgets.lines(self, 34))
        self.reload()

    def _date_edit(self, name: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(ANY_DAY)
        edit.setSpecialValueText("any")  # shown at the minimum date: no limit
        edit.setDate(ANY_DAY)
        return edit

    def wanted(self) -> jobs.FileAuditFilter:
        return jobs.FileAuditFilter(
            kind=str(self.kind.currentData()),
            actor=self.actor.text().strip(),
            since=_day(self.since),
            until=_day(self.until),
            limit=LIMIT,
        )

    def reload(self) -> None:
        """Ask again for the events the filters choose (in the background)."""
        self._asked += 1
        asked = self._asked
        self.count.setText("Loading…")
        run_task(
            jobs.load_file_audit,
            self.who,
            self.wanted(),
            on_returned=lambda found: self._loaded(asked, found),
            owner=self,
        )

    def _loaded(self, asked: int, found: tuple[jobs.FileEvent, ...]) -> None:
        if asked != self._asked:
            return  # the filters changed while this answer was on its way
        self.loaded = found
        self.model.set_rows(found)
        widgets.fit_columns(self.view)
        if not found:
            self.count.setText("No events match these filters.")
        elif len(found) >= LIMIT:
            self.count.setText(
                f"The newest {LIMIT} matching events are shown; narrow the filters to see "
                "older ones."
            )
        else:
            self.count.setText(f"{len(found)} event{'s' if len(found) != 1 else ''}.")
