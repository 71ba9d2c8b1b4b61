"""Table models over frozen rows (STYLE rule 10, after Vorta's ArchiveTableModel).

Each model holds a tuple of frozen dataclasses handed to it by the GUI thread after a
background load; ``set_rows`` wraps the swap in ``beginResetModel``/``endResetModel``.
``data()`` only formats what it holds: it never raises for a valid index and never
does I/O. Column numbers are named constants; ``ROW_ROLE`` gives a row's dataclass and
``ID_ROLE`` its id. The sources model pages: it asks for more rows with a signal
(``more_requested``) and for a new order with another (``order_changed``); whoever owns
it runs the query in the background and hands the page back with ``set_page``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

import ethics
from caseview.browse import SourcePage, SourceRow
from caseview.domain import AuditEvent, Case
from caseview.justifications import JustificationRecord
from caseview.observations import Observation
from caseview.report.model import DOMAINS, RISKS
from caseview.viewings import ViewingRecord
from ethics.vocabulary import FIELD_LABELS
from ui.jobs import FileEvent, QueueEntry, SubjectMeter

if TYPE_CHECKING:
    from caseview.captures import ExposureFinding  # typing only: keeps start-up light

Row = TypeVar("Row")
AnyIndex = QModelIndex | QPersistentModelIndex

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2

_INK = QBrush(QColor("#1a1a1a"))
# Soft badge colours, always with dark text, so they read on light and dark themes;
# the text itself always says the status, so colour is never the only cue.
BADGES = {
    "good": QColor("#d4edda"),
    "waiting": QColor("#dbe7fb"),
    "neutral": QColor("#e9ecef"),
    "attention": QColor("#fde8c4"),
    "bad": QColor("#f5c6cb"),
}


def utc(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else ""


class RowTableModel(QAbstractTableModel, Generic[Row]):
    """A read-only table over a tuple of frozen rows."""

    COLUMNS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: tuple[Row, ...] = ()

    def set_rows(self, rows: Sequence[Row]) -> None:
        self.beginResetModel()
        self.rows = tuple(rows)
        self.endResetModel()

    def row_at(self, index: AnyIndex) -> Row | None:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        return self.rows[index.row()]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        if row is None or not 0 <= index.column() < len(self.COLUMNS):
            return None
        if role == ROW_ROLE:
            return row
        if role == ID_ROLE:
            return getattr(row, "id", None)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.text(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, index.column())
        badge = self.badge(row, index.column())
        if badge is not None:
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(BADGES[badge])
            if role == Qt.ItemDataRole.ForegroundRole:
                return _INK
        return None

    def text(self, row: Row, column: int) -> str:
        raise NotImplementedError

    def tooltip(self, row: Row, column: int) -> str | None:
        return None

    def badge(self, row: Row, column: int) -> str | None:
        """A key of :data:`BADGES` to colour this cell, or None."""
        return None


class CasesModel(RowTableModel[Case]):
    REFERENCE, TITLE, STATUS = range(3)
    COLUMNS = ("Reference", "Title", "Status")

    def text(self, row: Case, column: int) -> str:
        return (row.reference, row.title, row.status.value.capitalize())[column]

    def badge(self, row: Case, column: int) -> str | None:
        return "neutral" if column == self.STATUS and row.status.value == "closed" else None


# What the meter's state means for the next look (the state is the gate's reading of
# the next viewing, not of the looks already made).
METER_WORDS = {
    "ok": "clear",
    "warn": "the next look warns",
    "stop": "stopped",
    "authorised": "over the line, under a surveillance authorisation",
}
METER_BADGES = {"ok": "good", "warn": "attention", "stop": "bad", "authorised": "waiting"}


def meter_text(line: SubjectMeter) -> str:
    """E.g. "1 look in 90 days: the next look warns (the 4th is stopped)"."""
    reading = line.meter
    looks = "look" if reading.count_in_window == 1 else "looks"
    state = METER_WORDS.get(reading.state, reading.state)
    limit = "" if reading.state == "stop" else f" (the {ordinal(line.stop_at)} is stopped)"
    return f"{reading.count_in_window} {looks} in {line.window_days} days: {state}{limit}"


def ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


class SubjectsModel(RowTableModel[SubjectMeter]):
    NAME, ROLE, BORN, ACCOUNTS, METER = range(5)
    COLUMNS = ("Name", "Role", "Born", "Online accounts", "Repeat-viewing meter")

    def text(self, row: SubjectMeter, column: int) -> str:
        subject = row.subject
        if column == self.NAME:
            return subject.name
        if column == self.ROLE:
            return subject.role.value.capitalize()
        if column == self.BORN:
            return subject.date_of_birth.isoformat() if subject.date_of_birth else ""
        if column == self.ACCOUNTS:
            return " ".join(subject.handles)
        return meter_text(row)

    def tooltip(self, row: SubjectMeter, column: int) -> str | None:
        return row.meter.message if column == self.METER else None

    def badge(self, row: SubjectMeter, column: int) -> str | None:
        return METER_BADGES.get(row.meter.state) if column == self.METER else None


STATUS_WORDS = {
    "draft": "Draft",
    "submitted": "Waiting for review",
    "approved": "Approved",
    "returned": "Returned for changes",
    "rejected": "Rejected",
    "expired": "Expired",
    "cancelled": "Cancelled",
}
STATUS_BADGES = {
    "draft": "neutral",
    "submitted": "waiting",
    "approved": "good",
    "returned": "attention",
    "rejected": "bad",
    "expired": "neutral",
    "cancelled": "neutral",
}
EMERGENCY_WORDS = {
    "live": "Emergency: in use, review due",
    "overdue": "Emergency: review OVERDUE",
    "reviewed": "Emergency: reviewed",
}


def status_text(record: JustificationRecord) -> str:
    return STATUS_WORDS.get(record.status, record.status.capitalize())


def emergency_text(record: JustificationRecord) -> str:
    if record.emergency_state is not None:
        return EMERGENCY_WORDS.get(record.emergency_state, record.emergency_state)
    return "Emergency (draft)" if record.request.emergency else ""


class JustificationsModel(RowTableModel[JustificationRecord]):
    ID, STATUS, EMERGENCY, VALID_UNTIL, AUTHOR, QUESTION = range(6)
    COLUMNS = ("Request", "Status", "Emergency", "Valid until", "Author", "Question")

    def text(self, row: JustificationRecord, column: int) -> str:
        if column == self.ID:
            return f"#{row.id} v{row.version}"
        if column == self.STATUS:
            return status_text(row)
        if column == self.EMERGENCY:
            return emergency_text(row)
        if column == self.VALID_UNTIL:
            return row.request.valid_until.isoformat()
        if column == self.AUTHOR:
            return row.author
        return row.request.question

    def tooltip(self, row: JustificationRecord, column: int) -> str | None:
        if column == self.QUESTION:
            return row.request.question
        if column == self.STATUS and row.decisions:
            last = row.decisions[-1]
            return f"{last.decision} by {last.reviewer_name}: {last.reasons}"
        return None

    def badge(self, row: JustificationRecord, column: int) -> str | None:
        if column == self.STATUS:
            return STATUS_BADGES.get(row.status, "neutral")
        if column == self.EMERGENCY and row.emergency_state is not None:
            return "bad" if row.overdue else "attention"
        return None


ORIGIN_WORDS = {
    "self_collected": "Collected by worker",
    "supplied_by_family": "Supplied by family",
    "supplied_by_agency": "Supplied by agency",
    "supplied_by_colleague": "Supplied by colleague",
    "supplied_by_public": "Supplied by public",
}


class SourcesModel(RowTableModel[SourceRow]):
    """A page-at-a-time view of a case's sources; sorting and search happen in SQL."""

    CAPTURED, TITLE, ORIGIN, GRADING, SUBJECT, SHA256 = range(6)
    COLUMNS = ("Captured (UTC)", "Title or address", "Origin", "Grading", "Subject", "SHA-256")
    SORT_KEYS = ("captured_at", "title", "origin", "grading", "subject", "sha256")
    PAGE = 200

    more_requested = Signal(int)
    """The view scrolled to the end: load the page at this offset."""
    order_changed = Signal()
    """A header was clicked: reload from the first page in ``sort_key`` order."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.total = 0
        self.sort_key = "captured_at"
        self.descending = False
        self._waiting = False

    def set_page(self, page: SourcePage) -> None:
        """The first page replaces everything; a following page is appended."""
        self._waiting = False
        if page.offset == 0:
            self.beginResetModel()
            self.rows = page.rows
            self.total = page.total
            self.endResetModel()
            return
        if page.offset != len(self.rows) or not page.rows:
            return  # a late answer for an order or search that has since changed
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page.rows) - 1)
        self.rows = self.rows + page.rows
        self.total = page.total
        self.endInsertRows()

    def page_failed(self) -> None:
        """A load failed (its error is shown elsewhere); let the view ask again later."""
        self._waiting = False

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._waiting and len(self.rows) < self.total

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._waiting = True
            self.more_requested.emit(len(self.rows))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.SORT_KEYS):
            return
        key, descending = self.SORT_KEYS[column], order == Qt.SortOrder.DescendingOrder
        if (key, descending) != (self.sort_key, self.descending):
            self.sort_key, self.descending = key, descending
            self.order_changed.emit()

    def text(self, row: SourceRow, column: int) -> str:
        if column == self.CAPTURED:
            return utc(row.captured_at)
        if column == self.TITLE:
            return row.title or row.url
        if column == self.ORIGIN:
            return ORIGIN_WORDS.get(row.origin, row.origin)
        if column == self.GRADING:
            return row.grading or "Not graded"
        if column == self.SUBJECT:
            return row.subject
        return row.sha256

    def tooltip(self, row: SourceRow, column: int) -> str | None:
        if column == self.TITLE:
            return f"{row.title}\n{row.url}" if row.title else row.url
        if column == self.SHA256:
            return (
                f"{row.sha256}\nsha256 of the stored bytes ({row.size:,} bytes, {row.media_type})"
            )
        return None


class ObservationsModel(RowTableModel[Observation]):
    SOURCE, TEXT, GRADING, UK, RELIED, DOMAIN, RISKS_, AUTHOR, SAVED = range(9)
    COLUMNS = (
        "Source",
        "Observation",
        "Grading",
        "UK 3x5x2",
        "Relied upon",
        "Domain",
        "Risks of misreading",
        "By",
        "Saved (UTC)",
    )

    def text(self, row: Observation, column: int) -> str:
        values = (
            f"#{row.source_id}",
            row.text,
            row.grading,
            row.uk_equivalent,
            "Yes" if row.relied_upon else "No",
            DOMAINS.get(row.domain, row.domain),
            "; ".join(RISKS.get(risk, risk) for risk in row.risks),
            row.author,
            utc(row.created_at),
        )
        return values[column]

    def tooltip(self, row: Observation, column: int) -> str | None:
        if column in (self.TEXT, self.DOMAIN, self.RISKS_):
            return self.text(row, column) or None
        if column == self.RELIED:
            # The service's reasons (ethics.assess_reliance): why relied upon, or why not.
            return " ".join((*row.reliance_reasons, row.reliance_advice)).strip() or None
        return None

    def badge(self, row: Observation, column: int) -> str | None:
        if column == self.RELIED:
            return "good" if row.relied_upon else "attention"
        return None


# What each exposure indicator is, in words (collectors.exposure's kinds).
EXPOSURE_WORDS = {
    "full_name": "Full name",
    "school": "School",
    "town": "Town",
    "phone": "Phone number",
    "email": "Email address",
    "postcode": "Postcode",
    "date_of_birth": "Date of birth",
    "geotag": "Geotagged image",
}


# The finding's type lives in caseview.captures, which the app imports only when needed
# (it pulls in the collectors); a string keeps it out of start-up.
class ExposureModel(RowTableModel["ExposureFinding"]):
    """A child's page: what a stranger could learn, and whether the worker agrees."""

    KIND, VALUE, CONTEXT, STATE = range(4)
    COLUMNS = ("Indicator", "Found", "Where on the page", "Review")

    def text(self, row: ExposureFinding, column: int) -> str:
        values = (
            EXPOSURE_WORDS.get(row.kind, row.kind),
            row.value,
            row.context,
            self.state(row),
        )
        return values[column]

    @staticmethod
    def state(row: ExposureFinding) -> str:
        if row.confirmed is None:
            return "Not reviewed"
        return f"{'Confirmed' if row.confirmed else 'Dismissed'} by {row.reviewed_by}"

    def tooltip(self, row: ExposureFinding, column: int) -> str | None:
        if column in (self.VALUE, self.CONTEXT):
            return self.text(row, column) or None
        return None

    def badge(self, row: ExposureFinding, column: int) -> str | None:
        if column != self.STATE:
            return None
        if row.confirmed is None:
            return "attention"
        return "bad" if row.confirmed else "neutral"


class AuditModel(RowTableModel[AuditEvent]):
    SEQ, AT, ACTOR, ACTION, ENTITY, DETAILS = range(6)
    COLUMNS = ("#", "Time (UTC)", "Who", "What", "Record", "Details")

    def text(self, row: AuditEvent, column: int) -> str:
        if column == self.SEQ:
            return str(row.seq)
        if column == self.AT:
            return f"{row.at:%Y-%m-%d %H:%M:%S}"
        if column == self.ACTOR:
            return row.actor
        if column == self.ACTION:
            return row.action
        if column == self.ENTITY:
            return f"{row.entity} {row.entity_id}" if row.entity_id is not None else row.entity
        summary = "; ".join(f"{key}: {_plain(value)}" for key, value in sorted(row.data.items()))
        return summary if len(summary) <= 160 else summary[:159] + "…"

    def tooltip(self, row: AuditEvent, column: int) -> str | None:
        if column == self.DETAILS:
            return json.dumps(row.data, ensure_ascii=False, indent=1, sort_keys=True, default=str)
        if column == self.SEQ:
            return f"hash {row.hash}"
        return None


class FileAuditModel(RowTableModel[FileEvent]):
    """The whole file's audit log (logins, accounts, policy, exports, every case)."""

    SEQ, AT, ACTOR, ACTION, CASE, ENTITY, DETAILS = range(7)
    COLUMNS = ("#", "Time (UTC)", "Who", "What", "Case", "Record", "Details")
    _EVENT_COLUMNS: ClassVar[dict[int, int]] = {
        SEQ: AuditModel.SEQ,
        AT: AuditModel.AT,
        ACTOR: AuditModel.ACTOR,
        ACTION: AuditModel.ACTION,
        ENTITY: AuditModel.ENTITY,
        DETAILS: AuditModel.DETAILS,
    }

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._events = AuditModel(self)  # formats each event as a case's audit trail does

    def text(self, row: FileEvent, column: int) -> str:
        if column == self.CASE:
            return row.case_reference or "(the whole file)"
        return self._events.text(row.event, self._EVENT_COLUMNS[column])

    def tooltip(self, row: FileEvent, column: int) -> str | None:
        if column == self.CASE:
            return None
        return self._events.tooltip(row.event, self._EVENT_COLUMNS[column])


def _plain(value: object) -> str:
    """An audit data value as short text: lists joined, nested data as compact JSON."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


SEVERITY_WORDS = {"block": "Must fix", "warn": "Weigh this", "info": "Note"}
SEVERITY_BADGES = {"block": "bad", "warn": "attention", "info": "waiting"}


class FindingsModel(RowTableModel[ethics.Finding]):
    """The gate's findings. ``SUMMARY`` is one cell per finding, for a list view."""

    SEVERITY, MESSAGE, FIELD, SUMMARY = range(4)
    COLUMNS = ("", "What the gate says", "Answer", "Finding")

    def text(self, row: ethics.Finding, column: int) -> str:
        severity = SEVERITY_WORDS.get(row.severity.value, row.severity.value)
        if column == self.SEVERITY:
            return severity
        if column == self.MESSAGE:
            return row.message
        # The answer as the wizard labels it, never the file's key.
        answer = FIELD_LABELS.get(row.field, row.field.replace("_", " ")) if row.field else ""
        if column == self.FIELD:
            return answer
        return f"{severity}: {row.message}" + (f" ({answer})" if answer else "")

    def tooltip(self, row: ethics.Finding, column: int) -> str | None:
        return f"{row.message}\n\nRests on: {row.reference}"

    def badge(self, row: ethics.Finding, column: int) -> str | None:
        if column in (self.SEVERITY, self.SUMMARY):
            return SEVERITY_BADGES.get(row.severity.value)
        return None

    @property
    def blocking(self) -> int:
        return len(ethics.blocking(self.rows))


QUEUE_URGENCY = {"overdue": "Emergency OVERDUE", "live": "Emergency", "reviewed": "Emergency"}


class QueueModel(RowTableModel[QueueEntry]):
    URGENCY, ID, CASE, AUTHOR, SUBJECTS, SUBMITTED, QUESTION = range(7)
    COLUMNS = ("Urgency", "Request", "Case", "Author", "About", "Submitted (UTC)", "Question")

    def text(self, row: QueueEntry, column: int) -> str:
        record = row.record
        values = (
            QUEUE_URGENCY.get(record.emergency_state or "", "Routine"),
            f"#{record.id} v{record.version}",
            row.case_reference,
            record.author + (" (you)" if row.own else ""),
            ", ".join(row.subject_names),
            utc(record.submitted_at),
            record.request.question,
        )
        return values[column]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == ID_ROLE:
            row = self.row_at(index)
            return row.record.id if row is not None else None
        return super().data(index, role)

    def tooltip(self, row: QueueEntry, column: int) -> str | None:
        if column == self.URGENCY and row.record.emergency_state is not None:
            return emergency_text(row.record)
        if row.own:
            return "You wrote this request, so another manager must decide it."
        return row.record.request.question if column == self.QUESTION else None

    def badge(self, row: QueueEntry, column: int) -> str | None:
        if column == self.URGENCY and row.record.emergency_state is not None:
            return "bad" if row.record.overdue else "attention"
        return None


class ViewingsModel(RowTableModel[tuple[str, ViewingRecord]]):
    """Who looked at whom, when, and what happened (for the reviewer)."""

    SUBJECT, AT, USER, KIND, OUTCOME, URL = range(6)
    COLUMNS = ("Subject", "When (UTC)", "By", "Kind", "Outcome", "Address")

    def text(self, row: tuple[str, ViewingRecord], column: int) -> str:
        name, viewing = row
        values = (
            name,
            utc(viewing.at),
            viewing.user,
            viewing.kind,
            viewing.outcome + (f" ({viewing.rule})" if viewing.rule else ""),
            viewing.url,
        )
        return values[column]

    def tooltip(self, row: tuple[str, ViewingRecord], column: int) -> str | None:
        return row[1].message or None
