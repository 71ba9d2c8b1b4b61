"""The manager's review queue: overdue emergencies first, then the rest, oldest first.

One screen holds the whole decision: the request as written (Niven's two sides next to
each other), what the gate says about it now, and who has looked at its subjects
before. The manager approves, returns or rejects with reasons. (A surveillance
authorisation is a document recorded and confirmed by two managers apart from the
decision: `caseview justification authorise`.) The service refuses a manager who
wrote or edited the request; the buttons say so first.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

import ethics
from caseview.justifications import JustificationRecord
from ethics.vocabulary import FIELD_LABELS
from ui import crash, jobs, messages, widgets
from ui.identity import Identity
from ui.models import ROW_ROLE, FindingsModel, QueueModel, ViewingsModel, emergency_text
from ui.tasks import run_task
from ui.wizard import ATTESTATIONS, FAMILY_TOLD, FUNCTIONS, INTRUSION, ROUTES, SECTIONS

DECISION_WORDS = {"approve": "approved", "reject": "rejected", "return": "returned"}


def _h(section: str) -> str:
    """A section's heading as the wizard words it, without its number."""
    return html.escape(SECTIONS[section].partition(". ")[2])


def _b(key: str) -> str:
    """A field's label as the wizard words it, in bold."""
    return f"<b>{html.escape(FIELD_LABELS[key])}</b>"


def _p(text: str) -> str:
    return html.escape(text).replace("\n", "<br>") if text.strip() else "<i>(empty)</i>"


def request_html(record: JustificationRecord, subjects: tuple[str, ...]) -> str:
    """The request as the manager reads it; the two sides in two columns."""
    r = record.request
    function = FUNCTIONS.get(r.statutory_function, r.statutory_function or "(not chosen)")
    if r.statutory_function == "other":
        function = f"Other: {r.statutory_function_other}"
    routes = ", ".join(ROUTES.get(k, k) for k in r.less_intrusive_considered) or "(none)"
    promises = "".join(
        f"<li>{'Yes' if getattr(r, key) else '<b>NO</b>'}: {html.escape(text)}</li>"
        for key, text in ATTESTATIONS.items()
    )
    emergency = (
        f"<p><b>{html.escape(emergency_text(record))}.</b> {_p(r.emergency_reason)}</p>"
        if r.emergency
        else ""
    )
    hosts = " ".join(r.scope_hosts) or "(none)"
    urls = " ".join(r.scope_urls) or "(none)"
    intrusion = INTRUSION.get(r.intrusion_level, r.intrusion_level) if r.intrusion_level else ""
    told = FAMILY_TOLD.get(r.family_told, r.family_told) if r.family_told else ""
    return f"""
<h2>Request #{record.id} (version {record.version}) by {html.escape(record.author)}</h2>
{emergency}{return_html(record)}
<h3>{_h("who")}</h3>
<p>{_b("subjects")}: {html.escape(", ".join(subjects))}<br>
{_b("statutory_function")}: {html.escape(function)}<br>
{_b("data_protection_basis")}: {html.escape(r.data_protection_basis)}</p>
<p>{_b("question")}:<br>{_p(r.question)}</p>
<h3>{_h("sides")}</h3>
<table width="100%" cellspacing="0" cellpadding="6" border="1">
<tr><th width="50%" align="left">{html.escape(FIELD_LABELS["safety_case"])}</th>
<th width="50%" align="left">{html.escape(FIELD_LABELS["ethics_case"])}</th></tr>
<tr><td valign="top">{_p(r.safety_case)}</td><td valign="top">{_p(r.ethics_case)}</td></tr>
<tr><th colspan="2" align="left">{html.escape(FIELD_LABELS["balance"])}</th></tr>
<tr><td colspan="2">{_p(r.balance)}</td></tr>
</table>
<h3>{_h("necessity")}</h3>
<p>{_b("less_intrusive_considered")}: {html.escape(routes)}<br>
{_b("why_not_enough")}:<br>{_p(r.why_not_enough)}</p>
<h3>{_h("proportion")}</h3>
<p>{_b("proportionality")}:<br>{_p(r.proportionality)}<br>
{_b("intrusion_level")}: {html.escape(intrusion or "(not chosen)")}</p>
<p>{_b("collateral_intrusion")}:<br>{_p(r.collateral_intrusion)}</p>
<h3>{_h("scope")}</h3>
<p>{_b("scope_hosts")}: {html.escape(hosts)}<br>{_b("scope_urls")}: {html.escape(urls)}<br>
{_b("planned_viewings")}: {r.planned_viewings}<br>
{_b("valid_until")}: {r.valid_until.isoformat()} (a UK date: to the end of that day)</p>
<h3>{_h("family")}</h3>
<p>{_b("family_told")} {html.escape(told or "(not chosen)")}<br>
{_b("family_told_reason")}: {_p(r.family_told_reason)}</p>
<h3>{_h("promises")}</h3><ul>{promises}</ul>
"""


def return_html(record: JustificationRecord) -> str:
    """For a resubmission: each reason the request was returned for, beside its answer."""
    returned = record.answering
    if returned is None:
        return ""
    rows = "".join(
        f"<tr><td valign='top'>{number}. {_p(item.reason)}</td>"
        f"<td valign='top'>{_p(item.answer) if item.answer.strip() else '<b>Not answered</b>'}"
        "</td></tr>"
        for number, item in enumerate(returned.items, start=1)
    )
    who = returned.reviewer_name or returned.reviewer
    return f"""
<h3>Returned earlier: the reasons, and the worker's answers</h3>
<p>Version {returned.returned_version} was returned by {html.escape(who)} on
{returned.at:%d %B %Y}.</p>
<table width="100%" cellspacing="0" cellpadding="6" border="1">
<tr><th width="50%" align="left">Reason for returning it</th>
<th width="50%" align="left">Answer</th></tr>
{rows}
</table>
"""


class ReviewQueueDialog(QDialog):
    decided = Signal(object)
    """A decision was recorded: the JustificationRecord as it now stands."""
    context_loaded = Signal()

    def __init__(self, parent: QWidget | None, who: Identity) -> None:
        super().__init__(parent)
        self.setObjectName("reviewQueue")
        self.setWindowTitle("Review queue")
        self.who = who
        self.entry: jobs.QueueEntry | None = None
        self._generation = 0
        self._may_decide = False
        # Reasons being written, by request: moving to another request never carries
        # them over to it (they would be recorded on the wrong one), and coming back
        # finds them again.
        self._drafts: dict[int, str] = {}
        self._why_not = "Choose a request in the queue."
        self._next_row = 0
        """The queue row to choose after a decision: where the decided one was."""
        self._stale = False
        """Someone changed the queue while reasons were being written (reload after)."""

        outer = QVBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(widgets.heading("Waiting for review", 1.1))
        self.queue_summary = widgets.note()
        self.queue_summary.setObjectName("queueSummary")
        self.queue_summary.setAccessibleName("Queue summary")
        left_layout.addWidget(self.queue_summary)
        self.queue = QueueModel(self)
        self.queue_view = widgets.table(
            self.queue, "queueTable", "Requests waiting for review", stretch=QueueModel.QUESTION
        )
        for column in (QueueModel.SUBMITTED, QueueModel.SUBJECTS):
            self.queue_view.hideColumn(column)  # shown in full on the right
        left_layout.addWidget(self.queue_view, 1)
        refresh = QPushButton("Re&fresh")
        refresh.setAutoDefault(False)
        refresh.setAccessibleName("Refresh the queue")
        refresh.clicked.connect(self.load_queue)
        left_layout.addWidget(refresh)
        splitter.addWidget(left)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        self.request_view = QTextBrowser()
        self.request_view.setObjectName("requestView")
        self.request_view.setAccessibleName("The request")
        right_layout.addWidget(self.request_view, 5)
        right_layout.addWidget(widgets.heading("What the gate says now", 1.05))
        self.findings = FindingsModel(self)
        self.findings_view = widgets.item_list(
            self.findings, FindingsModel.SUMMARY, "reviewFindings", "Findings"
        )
        right_layout.addWidget(self.findings_view, 2)
        right_layout.addWidget(widgets.heading("Earlier looks at these people", 1.05))
        self.meters = widgets.note()
        self.meters.setObjectName("reviewMeters")
        self.meters.setAccessibleName("Repeat-viewing meters")
        right_layout.addWidget(self.meters)
        self.history = ViewingsModel(self)
        self.history_view = widgets.table(
            self.history, "viewingHistory", "Viewing history", stretch=ViewingsModel.URL
        )
        right_layout.addWidget(self.history_view, 2)

        decision = QFormLayout()
        self.reasons = QPlainTextEdit()
        self.reasons.setObjectName("reviewReasons")
        self.reasons.setTabChangesFocus(True)
        self.reasons.setMaximumHeight(widgets.lines(self, 4))
        widgets.add_row(
            decision,
            "Your &reasons:",
            self.reasons,
            description="Recorded and shown to the worker; every decision needs them.",
        )
        self.reasons.textChanged.connect(self._update_buttons)
        self.reasons.textChanged.connect(self._reload_if_stale)
        right_layout.addLayout(decision)
        buttons = QHBoxLayout()
        self.approve_button = QPushButton("A&pprove")
        self.approve_button.setObjectName("approveButton")
        self.return_button = QPushButton("Re&turn for changes")
        self.return_button.setObjectName("returnButton")
        self.reject_button = QPushButton("Re&ject")
        self.reject_button.setObjectName("rejectButton")
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.setAccessibleName("Close")
        close.clicked.connect(self.reject)
        buttons.addStretch(1)
        for button, decision_name in (
            (self.approve_button, "approve"),
            (self.return_button, "return"),
            (self.reject_button, "reject"),
        ):
            # Enter never decides: a decision is its button (or Alt+letter) after reasons.
            button.setAutoDefault(False)
            button.setDefault(False)
            button.setAccessibleName(widgets.plain(button.text()))
            button.clicked.connect(lambda _=False, d=decision_name: self.decide(d))
            buttons.addWidget(button)
        buttons.addWidget(close)
        right_layout.addLayout(buttons)
        self.decision_status = widgets.note()
        self.decision_status.setObjectName("decisionStatus")
        self.decision_status.setAccessibleName("Decision status")
        right_layout.addWidget(self.decision_status)
        self.outcome = widgets.note()
        self.outcome.setObjectName("decisionOutcome")
        self.outcome.setAccessibleName("Last decision")
        right_layout.addWidget(self.outcome)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([widgets.chars(self, 72), widgets.chars(self, 118)])
        outer.addWidget(splitter)

        self.queue_view.selectionModel().selectionChanged.connect(self._chosen)
        self._show_entry(None)
        self.resize(widgets.chars(self, 190), widgets.lines(self, 46))

    def start(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()
        self.load_queue()

    def load_queue(self) -> None:
        self._stale = False
        run_task(jobs.load_queue, self.who, on_returned=self._queue_loaded, owner=self)

    def refresh_when_free(self) -> None:
        """Someone else changed something: reload the queue if it is open, but not under
        a manager writing reasons (the request they are about could move or change);
        then it reloads once they decide or clear the reasons."""
        if not self.isVisible():
            return  # opening it loads it
        if self.reasons.toPlainText().strip():
            self._stale = True
            self.queue_summary.setText(
                "The queue has changed since it was loaded; it will reload once you decide "
                "or clear your reasons."
            )
            return
        self.load_queue()

    def unsaved(self) -> bool:
        """True if reasons are written for a request (shown or not) and not yet decided."""
        return bool(self.reasons.toPlainText().strip()) or any(
            text.strip() for text in self._drafts.values()
        )

    def _reload_if_stale(self) -> None:
        if self._stale and not self.reasons.toPlainText().strip():
            self.load_queue()

    def _queue_loaded(self, entries: list[jobs.QueueEntry]) -> None:
        chosen = self.entry.record.id if self.entry is not None else None
        self.queue.set_rows(entries)
        widgets.fit_columns(self.queue_view)
        overdue = sum(1 for e in entries if e.record.overdue)
        self.queue_summary.setText(
            f"{len(entries)} request{'s' if len(entries) != 1 else ''} waiting"
            + (
                f"; {overdue} emergency review{'s' if overdue != 1 else ''} OVERDUE"
                if overdue
                else ""
            )
            + "."
        )
        ids = [e.record.id for e in entries]
        if chosen in ids:
            self.queue_view.selectRow(ids.index(chosen))
        elif entries:
            # After a decision: the request that moved up into the decided one's place.
            self.queue_view.selectRow(min(self._next_row, len(entries) - 1))
        else:
            self._show_entry(None)
        self._next_row = 0

    def _chosen(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        entry = self.queue.data(indexes[0], ROW_ROLE) if indexes else None
        if entry is not None and entry == self.entry:
            return  # the same request, reloaded unchanged: the manager keeps their place
        self._show_entry(entry if isinstance(entry, jobs.QueueEntry) else None)

    def _show_entry(self, entry: jobs.QueueEntry | None) -> None:
        if self.entry is not None:
            self._drafts[self.entry.record.id] = self.reasons.toPlainText()
        self.entry = entry
        self.reasons.setPlainText(self._drafts.pop(entry.record.id, "") if entry else "")
        self.findings.set_rows(())
        self.history.set_rows(())
        self.meters.clear()
        self.decision_status.clear()
        if entry is None:
            self.request_view.setHtml("<p>Nothing is waiting for review.</p>")
            self._enable(False, "Choose a request in the queue.")
            return
        self.request_view.setHtml(request_html(entry.record, entry.subject_names))
        if entry.own:
            self._enable(False, "You wrote this request, so another manager must decide it.")
        else:
            self._enable(True, "")
        self._generation += 1
        generation = self._generation
        run_task(
            jobs.load_review_context,
            self.who,
            entry.record.id,
            on_returned=lambda context: self._context(generation, context),
            owner=self,
        )

    def _enable(self, enabled: bool, reason: str) -> None:
        self._may_decide, self._why_not = enabled, reason
        self.reasons.setEnabled(enabled)
        if reason:
            self.decision_status.setText(reason)
        self._update_buttons()

    def _update_buttons(self) -> None:
        """Each decision needs the reasons written first, so no key press decides alone."""
        written = bool(self.reasons.toPlainText().strip())
        reason = self._why_not
        if self._may_decide and not written:
            reason = "Write your reasons first: they are recorded and shown to the worker."
        for button in (self.approve_button, self.return_button, self.reject_button):
            button.setEnabled(self._may_decide and written)
            button.setToolTip(reason)
            button.setAccessibleDescription(reason)

    def _context(self, generation: int, context: jobs.ReviewContext) -> None:
        if generation != self._generation:
            return
        self.findings.set_rows(context.findings)
        blocking = len(ethics.blocking(context.findings))
        if blocking:
            self.decision_status.setText(
                f"The gate now finds {blocking} blocking problem"
                f"{'s' if blocking != 1 else ''} (things may have changed since it was "
                "submitted): consider returning it."
            )
        self.meters.setText(
            "\n".join(f"{subject.name}: {meter.message}" for subject, _, meter in context.history)
        )
        self.history.set_rows(
            [(subject.name, viewing) for subject, looks, _ in context.history for viewing in looks]
        )
        widgets.fit_columns(self.history_view)
        self.context_loaded.emit()

    def decide(self, decision: str) -> None:
        entry = self.entry
        if entry is None:
            return
        reasons = self.reasons.toPlainText().strip()
        if not reasons:
            messages.error(
                self,
                f"Give your reasons to {decision} this request; they are recorded and shown "
                "to the worker.",
            )
            self.reasons.setFocus()
            return
        self._enable(False, "")
        run_task(
            jobs.decide,
            self.who,
            entry.record.id,
            decision,
            reasons,
            on_returned=lambda record: self._decided(decision, record),
            on_errored=self._failed,
            owner=self,
        )

    def _failed(self, exc: BaseException) -> None:
        self._enable(True, "")
        crash.report(self, exc)

    def _decided(self, decision: str, record: JustificationRecord) -> None:
        current = self.queue_view.currentIndex()
        self._next_row = current.row() if current.isValid() else 0
        self.reasons.clear()
        self._drafts.pop(record.id, None)
        self.entry = None
        self.decided.emit(record)
        self.load_queue()
        self.outcome.setText(f"Request #{record.id} is {DECISION_WORDS[decision]}.")
        # Back to the queue, on the next request, to read it and decide again.
        self.queue_view.setFocus(Qt.FocusReason.OtherFocusReason)
