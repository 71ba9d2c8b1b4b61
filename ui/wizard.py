"""The justification wizard: the request to look, with the gate's findings live.

Niven's two sides, the safety case and the ethics case, sit next to each other with
the balance under both. As the worker types, a short timer restarts; when typing
pauses, the gate evaluates the form in the background (``jobs.gate_findings``) and the
findings list updates. Each finding names the answer to fix: activating it moves the
cursor there, and answers with blocking findings are outlined. Submission is offered
only when nothing blocks; the service runs the gate again and has the last word.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from PySide6.QtCore import QDate, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

import ethics
from caseview.errors import CaseviewError
from caseview.justifications import JustificationRecord
from caseview.returns import reason_items
from ethics.vocabulary import FIELD_LABELS
from ui import crash, jobs, messages, widgets
from ui.identity import Identity
from ui.models import ROW_ROLE, FindingsModel, status_text
from ui.tasks import run_task

# Short labels for the choice list; the note and the file form use the keys' full wording.
FUNCTIONS = {
    "s47": "s47 enquiry: suspected significant harm",
    "s17": "s17 assessment: child in need",
    "s31": "s31 care or supervision proceedings",
    "s20": "s20 accommodation",
    "missing_child": "Locating a missing child",
    "leaving_care": "Leaving care duties",
    "court_direction": "A court's direction",
    "other": "Other (name it below)",
}
ROUTES = {
    "asked_family": "Asked the family",
    "partner_agencies": "Partner agencies",
    "police": "Police",
    "school": "School",
    "health": "Health",
    "other": "Other",
}
INTRUSION = {"": "Choose…", "low": "Low", "medium": "Medium", "high": "High"}
FAMILY_TOLD = {"": "Choose…", "yes": "Yes", "no": "No", "later": "Later"}
# The form's sections, in plain words; the review screen uses the same headings.
SECTIONS = {
    "who": "1. Who and why",
    "sides": "2. Niven's two sides, and the balance",
    "necessity": "3. Necessity: why a less intrusive route will not do",
    "proportion": "4. Proportionality: how far the look will go",
    "scope": "5. Where and how long",
    "family": "6. Telling the family",
    "promises": "7. Promises",
    "emergency": "8. Emergency (break-glass)",
}
# The promises in the words the gate quotes when one is missing.
ATTESTATIONS = {key: FIELD_LABELS[key] for key in ethics.ATTESTATION_KEYS}
EDITABLE = ("draft", "returned", "submitted", "approved")
DEBOUNCE_MS = 400
STYLE = """
QPlainTextEdit[problem="true"], QLineEdit[problem="true"], QComboBox[problem="true"],
QSpinBox[problem="true"], QDateEdit[problem="true"] { border: 2px solid #b3261e; }
QCheckBox[problem="true"], QGroupBox[problem="true"] { color: #b3261e; }
"""


def label(key: str, mnemonic: str = "") -> str:
    """The form's label for a key of the file (one list, ``ethics.vocabulary``, which
    the gate's findings quote), with Alt+letter on the first ``mnemonic`` in it."""
    text = FIELD_LABELS[key]
    if mnemonic:
        at = text.index(mnemonic)
        text = f"{text[:at]}&{text[at:]}"
    return text if text.endswith("?") else f"{text}:"


def qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


class TextBox(QPlainTextEdit):
    """Several lines of prose; Tab moves on to the next field, as in a form."""

    def __init__(self, name: str, rows: float = 3) -> None:
        super().__init__()
        self.setObjectName(name)
        self.setTabChangesFocus(True)
        # Room for ``rows`` lines, then it scrolls; the form stays compact.
        self.setFixedHeight(widgets.lines(self, rows + 0.9))


def labelled(text: str, field: QWidget) -> QWidget:
    """A field with its label above it (for the side-by-side columns)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    label = QLabel(text)
    label.setWordWrap(True)
    label.setBuddy(field)
    field.setAccessibleName(widgets.plain(text.split("\n")[0]))
    layout.addWidget(label)
    layout.addWidget(field)
    return box


class JustificationWizard(QDialog):
    saved = Signal(object)
    """A draft was saved or a request submitted: its JustificationRecord."""
    findings_updated = Signal()

    def __init__(self, parent: QWidget | None, who: Identity) -> None:
        super().__init__(parent)
        self.setObjectName("justificationWizard")
        self.setWindowTitle("Request to look at public online information")
        self.setStyleSheet(STYLE)
        self.who = who
        self.case_id: int | None = None
        self.justification_id: int | None = None
        self.record: JustificationRecord | None = None
        self.read_only = who.read_only
        self.context: jobs.WizardContext | None = None
        self._generation = 0
        self._fresh = False
        self._filling = False
        self.dirty = False
        self.fields: dict[str, QWidget] = {}
        self.subject_boxes: dict[int, QCheckBox] = {}
        # Answers are outlined once touched (or after a save), not all red at the start.
        self.touched: set[str] = set()
        self.show_all_problems = False
        self._key_of: dict[QWidget, str] = {}

        outer = QVBoxLayout(self)
        self.title = widgets.heading("Request to look")
        outer.addWidget(self.title)
        self.status = widgets.note()
        self.status.setObjectName("wizardStatus")
        self.status.setAccessibleName("Request status")
        outer.addWidget(self.status)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.form_scroll = QScrollArea()
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Tab goes to the fields (the scroll area follows them), not to an unnamed frame.
        self.form_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        form_host = QWidget()
        self.form_layout = QVBoxLayout(form_host)
        self._build_form()
        self.form_scroll.setWidget(form_host)
        splitter.addWidget(self.form_scroll)
        splitter.addWidget(self._build_findings())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([widgets.chars(self, 105), widgets.chars(self, 65)])
        outer.addWidget(splitter, 1)

        buttons = QHBoxLayout()
        self.save_button = QPushButton("&Save draft")
        self.save_button.setObjectName("saveDraftButton")
        self.save_button.setAccessibleName("Save draft")
        self.submit_button = QPushButton("Su&bmit for review")
        self.submit_button.setObjectName("submitButton")
        self.submit_button.setAccessibleName("Submit for review")
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("wizardCloseButton")
        self.close_button.setAccessibleName("Close")
        buttons.addStretch(1)
        for button in (self.save_button, self.submit_button, self.close_button):
            buttons.addWidget(button)
        outer.addLayout(buttons)
        self.save_button.clicked.connect(self.save_draft)
        self.submit_button.clicked.connect(self.submit)
        self.close_button.clicked.connect(self.reject)

        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self.compute_findings)
        self._watch_changes()
        self._update_buttons()
        self.resize(widgets.chars(self, 175), widgets.lines(self, 46))

    # --- building the form ---------------------------------------------------------------

    def _section(self, title: str) -> QGroupBox:
        group = QGroupBox(title)
        group.setAccessibleName(widgets.plain(title))
        self.form_layout.addWidget(group)
        return group

    def _text(self, key: str, rows: float = 3) -> TextBox:
        box = TextBox(f"field_{key}", rows)
        self.fields[key] = box
        return box

    def _line(self, key: str, placeholder: str = "") -> QLineEdit:
        line = QLineEdit()
        line.setObjectName(f"field_{key}")
        line.setPlaceholderText(placeholder)
        self.fields[key] = line
        return line

    def _combo(self, key: str, choices: dict[str, str]) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(f"field_{key}")
        # Long choices must not widen the form; the open list shows them in full.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(16)
        for value, text in choices.items():
            combo.addItem(text, value)
        self.fields[key] = combo
        return combo

    def _build_form(self) -> None:
        # Shown only for a returned request (or its new version): one answer per reason.
        self.returns_group = QGroupBox("The manager's reasons for returning this request")
        self.returns_group.setObjectName("returnReasons")
        self.returns_group.setAccessibleName("The manager's reasons for returning this request")
        self.returns_layout = QFormLayout(self.returns_group)
        self.returns_layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.answer_boxes: list[TextBox] = []
        self.returns_group.hide()
        self.form_layout.addWidget(self.returns_group)

        who = self._section(SECTIONS["who"])
        form = QFormLayout(who)
        self.subjects_group = QGroupBox(FIELD_LABELS["subjects"])
        self.subjects_group.setObjectName("field_subjects")
        self.subjects_group.setAccessibleName(FIELD_LABELS["subjects"])
        self.subjects_layout = QVBoxLayout(self.subjects_group)
        self.fields["subjects"] = self.subjects_group
        form.addRow(self.subjects_group)
        functions = {
            "": "Choose…",
            **{key: FUNCTIONS.get(key, key) for key in ethics.STATUTORY_FUNCTIONS},
        }
        self.statutory = self._combo("statutory_function", functions)
        widgets.add_row(form, label("statutory_function", "function"), self.statutory)
        self.statutory_other = self._line("statutory_function_other", "Name the duty")
        widgets.add_row(form, label("statutory_function_other", "which"), self.statutory_other)
        self.basis = self._line("data_protection_basis")
        widgets.add_row(
            form,
            label("data_protection_basis", "Data"),
            self.basis,
            description="Leave empty for the policy's default; change only on advice.",
        )
        self.question = self._text("question", 2)
        widgets.add_row(form, label("question", "question"), self.question)

        sides = self._section(SECTIONS["sides"])
        grid = QGridLayout(sides)
        self.safety = self._text("safety_case", 6)
        self.ethics_case = self._text("ethics_case", 6)
        grid.addWidget(
            labelled(
                label("safety_case") + "\nthe risk to the child, and why it must be checked now",
                self.safety,
            ),
            0,
            0,
        )
        grid.addWidget(
            labelled(
                label("ethics_case")
                + "\nthe intrusion on privacy, trust and the working relationship",
                self.ethics_case,
            ),
            0,
            1,
        )
        self.balance = self._text("balance", 3)
        grid.addWidget(
            labelled(label("balance") + "\nwhy, weighing both, looking is right", self.balance),
            1,
            0,
            1,
            2,
        )
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

        necessity = self._section(SECTIONS["necessity"])
        form = QFormLayout(necessity)
        self.routes_group = QGroupBox(FIELD_LABELS["less_intrusive_considered"])
        self.routes_group.setObjectName("field_less_intrusive_considered")
        self.routes_group.setAccessibleName(FIELD_LABELS["less_intrusive_considered"])
        routes = QGridLayout(self.routes_group)
        self.route_boxes: dict[str, QCheckBox] = {}
        for number, (key, text) in enumerate(ROUTES.items()):
            box = QCheckBox(text)
            box.setObjectName(f"route_{key}")
            box.setAccessibleName(text)
            routes.addWidget(box, number // 3, number % 3)
            self.route_boxes[key] = box
        self.fields["less_intrusive_considered"] = self.routes_group
        form.addRow(self.routes_group)
        self.why_not_enough = self._text("why_not_enough", 2)
        widgets.add_row(form, label("why_not_enough", "enough"), self.why_not_enough)

        proportion = self._section(SECTIONS["proportion"])
        form = QFormLayout(proportion)
        self.proportionality = self._text("proportionality", 2)
        widgets.add_row(form, label("proportionality", "go"), self.proportionality)
        self.intrusion = self._combo("intrusion_level", INTRUSION)
        widgets.add_row(form, label("intrusion_level", "I"), self.intrusion)
        self.collateral = self._text("collateral_intrusion", 2)
        widgets.add_row(form, label("collateral_intrusion", "O"), self.collateral)

        scope = self._section(SECTIONS["scope"])
        form = QFormLayout(scope)
        self.hosts = self._line("scope_hosts", "e.g. social.example (sub-sites included)")
        widgets.add_row(
            form,
            label("scope_hosts", "at"),
            self.hosts,
            description="Whole sites, sub-sites included. Separate several with spaces.",
        )
        self.urls = self._line("scope_urls", "e.g. https://social.example/some.name")
        widgets.add_row(
            form,
            label("scope_urls", "pages"),
            self.urls,
            description="The subject's own page addresses. Separate several with spaces.",
        )
        self.planned = QSpinBox()
        self.planned.setObjectName("field_planned_viewings")
        self.planned.setRange(0, 1000)
        self.planned.setValue(1)
        self.fields["planned_viewings"] = self.planned
        widgets.add_row(form, label("planned_viewings", "viewings"), self.planned)
        self.valid_until = QDateEdit()
        self.valid_until.setObjectName("field_valid_until")
        self.valid_until.setCalendarPopup(True)
        self.valid_until.setDisplayFormat("yyyy-MM-dd")
        self.fields["valid_until"] = self.valid_until
        widgets.add_row(
            form,
            label("valid_until", "until"),
            self.valid_until,
            description="The last day it may be used (a UK date: to the end of that day).",
        )

        family = self._section(SECTIONS["family"])
        form = QFormLayout(family)
        self.family_told = self._combo("family_told", FAMILY_TOLD)
        widgets.add_row(form, label("family_told", "y be"), self.family_told)
        self.family_reason = self._text("family_told_reason", 2)
        widgets.add_row(form, label("family_told_reason", "hy"), self.family_reason)

        promises = self._section(SECTIONS["promises"])
        promise_layout = QVBoxLayout(promises)
        self.attest_boxes: dict[str, QCheckBox] = {}
        for key, text in ATTESTATIONS.items():
            box = QCheckBox(text)
            box.setObjectName(f"field_{key}")
            box.setAccessibleName(text)
            promise_layout.addWidget(box)
            self.attest_boxes[key] = box
            self.fields[key] = box

        emergency = self._section(SECTIONS["emergency"])
        form = QFormLayout(emergency)
        self.emergency = QCheckBox(FIELD_LABELS["emergency"])
        self.emergency.setObjectName("field_emergency")
        self.emergency.setAccessibleName("Emergency")
        self.fields["emergency"] = self.emergency
        form.addRow(self.emergency)
        self.emergency_reason = self._text("emergency_reason", 2)
        widgets.add_row(form, label("emergency_reason", "reason"), self.emergency_reason)
        self.form_layout.addStretch(1)

    def _build_findings(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.addWidget(widgets.heading("What the gate says", 1.1))
        self.summary = widgets.note("Fill in the request; findings appear as you type.")
        self.summary.setObjectName("findingsSummary")
        self.summary.setAccessibleName("Findings summary")
        layout.addWidget(self.summary)
        self.findings = FindingsModel(self)
        self.findings_view = widgets.item_list(
            self.findings, FindingsModel.SUMMARY, "findingsList", "Findings"
        )
        self.findings_view.activated.connect(self._go_to_finding)
        self.findings_view.setToolTip("Press Enter or double-click to go to the answer to fix.")
        layout.addWidget(self.findings_view, 1)
        return panel

    def _watch_changes(self) -> None:
        self._key_of = {widget: key for key, widget in self.fields.items()}
        self._key_of.update({box: "less_intrusive_considered" for box in self.route_boxes.values()})
        for widget in self.findChildren(QWidget):
            if isinstance(widget, (QPlainTextEdit, QLineEdit)):
                widget.textChanged.connect(self.changed)
            elif isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(self.changed)
            elif isinstance(widget, QCheckBox):
                widget.toggled.connect(self.changed)
            elif isinstance(widget, QSpinBox):
                widget.valueChanged.connect(self.changed)
            elif isinstance(widget, QDateEdit):
                widget.dateChanged.connect(self.changed)

    # --- starting ----------------------------------------------------------------------

    def start(self, case_id: int, record: JustificationRecord | None = None) -> None:
        """Open the wizard on a new request for the case, or on an existing one."""
        if (
            self.isVisible()
            and self.dirty
            and not messages.confirm(self, "Leave the request you are writing without saving it?")
        ):
            self.raise_()
            return
        self.case_id = case_id
        self.record = record
        self.justification_id = record.id if record is not None else None
        self.read_only = self.who.read_only or (
            record is not None and record.status not in EDITABLE
        )
        self.findings.set_rows(())
        self._fresh = False
        self.touched = set()
        self.show_all_problems = record is not None
        self.summary.setText("Loading…")
        self._describe()
        self._filling = True
        try:
            self._show_return(record)
        finally:
            self._filling = False
        self._set_read_only(self.read_only)
        self.show()
        self.raise_()
        self.activateWindow()
        run_task(
            jobs.wizard_context, self.who, case_id, on_returned=self._context_loaded, owner=self
        )

    def _describe(self) -> None:
        record = self.record
        if record is None:
            self.title.setText("New request to look")
            self.status.setText("Not saved yet.")
            return
        self.title.setText(f"Request #{record.id} (version {record.version})")
        text = f"{status_text(record)}. Written by {record.author}."
        if record.decisions:
            last = record.decisions[-1]
            text += f" Last decision: {last.decision} by {last.reviewer_name}: {last.reasons}"
        if self.read_only and not self.who.read_only:
            text += " It can no longer be changed; write a new request instead."
        elif record.status in ("submitted", "approved"):
            text += " Saving a change makes a new version for a manager to decide."
        self.status.setText(text)

    @staticmethod
    def _return_items(record: JustificationRecord | None) -> list[tuple[str, str]]:
        """The reasons to answer, each with its answer so far."""
        if record is None:
            return []
        if record.answering is not None:
            return [(item.reason, item.answer) for item in record.answering.items]
        last = record.decisions[-1] if record.decisions else None
        if record.status == "returned" and last is not None and last.decision == "return":
            return [(reason, "") for reason in reason_items(last.reasons)]
        return []

    def _show_return(self, record: JustificationRecord | None) -> None:
        """One answer box per reason the manager gave, under the reason it answers."""
        while self.returns_layout.rowCount():
            self.returns_layout.removeRow(0)
        self.answer_boxes = []
        items = self._return_items(record)
        if items:
            intro = widgets.note(
                "Answer each reason before you submit again: say what you changed, or why "
                "you did not. The manager reads each answer beside its reason."
            )
            self.returns_layout.addRow(intro)
        for number, (reason, answer) in enumerate(items, start=1):
            box = TextBox(f"returnAnswer{number}", 2)
            label = QLabel(f"Reason {number}: {reason}")
            label.setWordWrap(True)
            label.setBuddy(box)
            box.setAccessibleName(f"Answer to reason {number}")
            box.setAccessibleDescription(reason)
            box.setPlainText(answer)
            box.setReadOnly(self.read_only)
            box.textChanged.connect(self.changed)
            self.returns_layout.addRow(label, box)
            self.answer_boxes.append(box)
        self.returns_group.setVisible(bool(items))

    def return_answers(self) -> list[str] | None:
        """The answers typed, one per reason, or None when there is no return to answer."""
        return [box.toPlainText() for box in self.answer_boxes] if self.answer_boxes else None

    def _context_loaded(self, context: jobs.WizardContext) -> None:
        self.context = context
        self.title.setText(f"{self.title.text()}: case {context.case.reference}")
        self.basis.setPlaceholderText(f"Policy default: {context.default_basis}")
        self.planned.setMaximum(max(1, context.max_planned_viewings) + 10)
        for old in self.subjects_group.findChildren(QWidget):
            old.deleteLater()  # the previous case's people (the wizard is reused)
            self._key_of.pop(old, None)
        self.subject_boxes = {}
        for subject in context.subjects:
            box = QCheckBox(f"{subject.name} ({subject.role.value})")
            box.setObjectName(f"subject_{subject.id}")
            box.setAccessibleName(f"{subject.name}, {subject.role.value}")
            box.toggled.connect(self.changed)
            box.setEnabled(not self.read_only)
            self._key_of[box] = "subjects"
            self.subjects_layout.addWidget(box)
            self.subject_boxes[subject.id] = box
        if not context.subjects:
            self.subjects_layout.addWidget(
                widgets.note("This case has no people recorded yet; a manager adds them.")
            )
        self._set_tab_order()
        self._filling = True
        try:
            if self.record is not None:
                self.fill(self.record.request)
            else:
                self.fill_blank(context)
        finally:
            self._filling = False
        self.dirty = False
        self.compute_findings()

    def _set_tab_order(self) -> None:
        """Tab follows the form top to bottom, then the findings and the buttons.

        The people's boxes are made when a case's people arrive, so Qt would put them
        last in the Tab order, after Close; this puts them first, where they are shown.
        """
        order: list[QWidget] = [
            *self.answer_boxes,
            *self.subject_boxes.values(),
            self.statutory,
            self.statutory_other,
            self.basis,
            self.question,
            self.safety,
            self.ethics_case,
            self.balance,
            *self.route_boxes.values(),
            self.why_not_enough,
            self.proportionality,
            self.intrusion,
            self.collateral,
            self.hosts,
            self.urls,
            self.planned,
            self.valid_until,
            self.family_told,
            self.family_reason,
            *self.attest_boxes.values(),
            self.emergency,
            self.emergency_reason,
            self.findings_view,
            self.save_button,
            self.submit_button,
            self.close_button,
        ]
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

    def fill_blank(self, context: jobs.WizardContext) -> None:
        for widget in self.fields.values():
            if isinstance(widget, QPlainTextEdit | QLineEdit):
                widget.clear()
            elif isinstance(widget, QComboBox):
                widget.setCurrentIndex(0)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(False)
        for box in [*self.route_boxes.values(), *self.subject_boxes.values()]:
            box.setChecked(False)
        self.planned.setValue(1)
        days = min(14, context.max_validity_days)
        self.valid_until.setDate(qdate(datetime.now(UTC).date() + timedelta(days=days)))

    def fill(self, request: ethics.Justification) -> None:
        """Put a stored request into the form."""
        for sid, box in self.subject_boxes.items():
            box.setChecked(sid in request.subjects)
        self._choose(self.statutory, request.statutory_function)
        self.statutory_other.setText(request.statutory_function_other)
        basis = request.data_protection_basis
        default = self.context.default_basis if self.context else ""
        self.basis.setText("" if basis == default else basis)
        for key in (
            "question",
            "safety_case",
            "ethics_case",
            "balance",
            "why_not_enough",
            "proportionality",
            "collateral_intrusion",
            "family_told_reason",
            "emergency_reason",
        ):
            widget = self.fields[key]
            assert isinstance(widget, QPlainTextEdit)
            widget.setPlainText(getattr(request, key))
        for key, box in self.route_boxes.items():
            box.setChecked(key in request.less_intrusive_considered)
        self._choose(self.intrusion, request.intrusion_level)
        self.hosts.setText(" ".join(request.scope_hosts))
        self.urls.setText(" ".join(request.scope_urls))
        self.planned.setValue(request.planned_viewings)
        self.valid_until.setDate(qdate(request.valid_until))
        self._choose(self.family_told, request.family_told)
        for key, box in self.attest_boxes.items():
            box.setChecked(bool(getattr(request, key)))
        self.emergency.setChecked(request.emergency)

    @staticmethod
    def _choose(combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        combo.setCurrentIndex(max(index, 0))

    def _set_read_only(self, read_only: bool) -> None:
        for widget in self.fields.values():
            if isinstance(widget, QPlainTextEdit | QLineEdit):
                widget.setReadOnly(read_only)
            else:
                widget.setEnabled(not read_only)
        for box in self.subject_boxes.values():
            box.setEnabled(not read_only)
        self._update_buttons()

    # --- the form as data ------------------------------------------------------------------

    def form_fields(self) -> dict[str, object]:
        """The answers as the justification file's keys and plain values."""

        def text(key: str) -> str:
            widget = self.fields[key]
            if isinstance(widget, QPlainTextEdit):
                return widget.toPlainText()
            assert isinstance(widget, QLineEdit)
            return widget.text()

        return {
            "subjects": [sid for sid, box in self.subject_boxes.items() if box.isChecked()],
            "statutory_function": str(self.statutory.currentData() or ""),
            "statutory_function_other": text("statutory_function_other"),
            "data_protection_basis": text("data_protection_basis"),
            "question": text("question"),
            "safety_case": text("safety_case"),
            "ethics_case": text("ethics_case"),
            "balance": text("balance"),
            "less_intrusive_considered": [k for k, b in self.route_boxes.items() if b.isChecked()],
            "why_not_enough": text("why_not_enough"),
            "proportionality": text("proportionality"),
            "intrusion_level": str(self.intrusion.currentData() or ""),
            "collateral_intrusion": text("collateral_intrusion"),
            "scope_hosts": text("scope_hosts").replace(",", " ").split(),
            "scope_urls": text("scope_urls").replace(",", " ").split(),
            "planned_viewings": self.planned.value(),
            "valid_until": self.valid_until.date().toPython(),
            "family_told": str(self.family_told.currentData() or ""),
            "family_told_reason": text("family_told_reason"),
            **{key: box.isChecked() for key, box in self.attest_boxes.items()},
            "emergency": self.emergency.isChecked(),
            "emergency_reason": text("emergency_reason"),
        }

    # --- live findings ---------------------------------------------------------------------

    def changed(self) -> None:
        if self._filling:
            return
        key = self._key_of.get(self.sender())  # type: ignore[call-overload]
        if key is not None:
            self.touched.add(key)
        self.dirty = True
        self._fresh = False
        self._update_buttons()
        self.debounce.start()

    def compute_findings(self) -> None:
        """Ask the gate about the form as it stands (in the background)."""
        self.debounce.stop()
        if self.case_id is None or self.context is None:
            return
        self._generation += 1
        generation = self._generation
        run_task(
            jobs.gate_findings,
            self.who,
            self.case_id,
            self.form_fields(),
            on_returned=lambda found: self._findings_loaded(generation, found),
            on_errored=lambda exc: self._findings_failed(generation, exc),
            owner=self,
        )

    def _findings_loaded(self, generation: int, found: list[ethics.Finding]) -> None:
        if generation != self._generation or self.debounce.isActive():
            return  # the worker has typed since; a fresher answer is on its way
        self.findings.set_rows(found)
        self._fresh = True
        blocking = self.findings.blocking
        if blocking:
            self.summary.setText(
                f"{blocking} thing{'s' if blocking != 1 else ''} must change before you can "
                "submit. Press Enter on a finding to go to its answer."
            )
        elif found:
            self.summary.setText("Nothing blocks submission. Weigh the notes below.")
        else:
            self.summary.setText("Nothing blocks submission.")
        self._highlight(found)
        self._update_buttons()
        self.findings_updated.emit()

    def _findings_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if isinstance(exc, CaseviewError):
            self.summary.setText(str(exc))  # no box while typing: say it in the panel
        else:
            crash.report(self, exc)

    def _highlight(self, found: list[ethics.Finding]) -> None:
        problems: dict[str, list[str]] = {}
        for finding in found:
            if finding.severity is ethics.Severity.BLOCK and finding.field in self.fields:
                problems.setdefault(finding.field, []).append(finding.message)
        for key, widget in self.fields.items():
            flagged = key in problems and (self.show_all_problems or key in self.touched)
            if bool(widget.property("problem")) != flagged:
                widget.setProperty("problem", flagged)
                widget.style().unpolish(widget)
                widget.style().polish(widget)
            widget.setAccessibleDescription(" ".join(problems.get(key, [])))

    def _go_to_finding(self, index: QModelIndex) -> None:
        finding = self.findings.data(index, ROW_ROLE)
        if not isinstance(finding, ethics.Finding) or finding.field not in self.fields:
            return
        widget = self.fields[finding.field]
        self.form_scroll.ensureWidgetVisible(widget)
        target = widget
        if isinstance(widget, QGroupBox):
            boxes = widget.findChildren(QCheckBox)
            target = boxes[0] if boxes else widget
        target.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_buttons(self) -> None:
        editable = not self.read_only and self.case_id is not None
        self.save_button.setEnabled(editable)
        may_submit = editable and self._fresh and self.findings.blocking == 0
        self.submit_button.setEnabled(may_submit)
        self.submit_button.setToolTip(
            "Send the request to a manager for review."
            if may_submit
            else "Available once the gate finds nothing that must change."
        )

    # --- saving ----------------------------------------------------------------------------

    def save_draft(self) -> None:
        if self.case_id is None or self.read_only:
            return
        self._show_all_problems()
        self.save_button.setEnabled(False)
        run_task(
            jobs.save_draft,
            self.who,
            self.case_id,
            self.justification_id,
            self.form_fields(),
            self.return_answers(),
            on_returned=self._draft_saved,
            on_finished=self._update_buttons,
            owner=self,
        )

    def _draft_saved(self, record: JustificationRecord) -> None:
        self.record = record
        self.justification_id = record.id
        self._filling = True
        try:
            self._show_return(record)
        finally:
            self._filling = False
        if self.context is not None:
            self._set_tab_order()
        self.dirty = False
        self._describe()
        self.status.setText(self.status.text() + " Saved.")
        self.saved.emit(record)

    def _show_all_problems(self) -> None:
        self.show_all_problems = True
        self._highlight(list(self.findings.rows))

    def submit(self) -> None:
        if self.case_id is None or self.read_only:
            return
        self._show_all_problems()
        self.submit_button.setEnabled(False)
        run_task(
            jobs.submit_request,
            self.who,
            self.case_id,
            self.justification_id,
            self.form_fields(),
            self.return_answers(),
            on_returned=self._submitted,
            on_finished=self._update_buttons,
            owner=self,
        )

    def _submitted(self, record: JustificationRecord) -> None:
        self.record = record
        self.justification_id = record.id
        self.dirty = False
        self.saved.emit(record)
        note = (
            " As an emergency it may be used at once; a manager must review it soon."
            if record.request.emergency
            else " A manager other than you must approve it before anything is viewed."
        )
        messages.info(self, f"Request #{record.id} is submitted for review.{note}")
        self.hide()

    def reject(self) -> None:
        """Close, Escape and the window's close box all come here: ask before losing work."""
        if (
            self.dirty
            and not self.read_only
            and not messages.confirm(self, "Close the request without saving your changes?")
        ):
            return
        self.dirty = False
        super().reject()
