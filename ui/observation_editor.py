"""Add or change an observation: what the worker concludes from a source, graded.

The grading is explained in plain words beside each choice, and the editor says as the
worker chooses whether the note will rely on the observation or list it apart as
material not relied upon, and why: it asks the service (``observations.assess``, with
the case's facts loaded in the background), so the rule lives in one place. Only
corroboration by an independent source or an external check recorded with what, who
and when earns reliance; credibility 1 asks what confirmed it. Saving runs in the
background through the service, which checks everything again; a refusal is shown
next to the field it is about. A change is a new version: the old one stays, and the
editor lists the versions so far.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from caseview import observations
from caseview.browse import SourceRow
from caseview.errors import CaseviewError, NotFound
from caseview.observations import CREDIBILITY, RELIABILITY, Observation
from caseview.report.model import DOMAINS, RISKS
from ui import crash, jobs, messages, widgets
from ui.identity import Identity
from ui.models import BADGES
from ui.tasks import run_task
from ui.wizard import STYLE, TextBox

# The Admiralty grades in plain words (the service's one-line labels go in the lists).
RELIABILITY_WORDS = {
    "A": "No doubt about where this comes from; it has always been right before.",
    "B": "Minor doubts about where this comes from; it has mostly been right before.",
    "C": "Some doubts about where this comes from; it has sometimes been right before.",
    "D": "Real doubts about where this comes from; it has often been wrong.",
    "E": "This source has been wrong or misleading before.",
    "F": "Nothing to judge it by yet (a new account, an unknown site). Choose this rather "
    "than guess.",
}
CREDIBILITY_WORDS = {
    1: "Other, independent sources say the same thing.",
    2: "It fits what else is known, though nothing independent confirms it.",
    3: "It fits reasonably well with what is known, but is not confirmed.",
    4: "It could be true, but fits badly with what is known and nothing supports it.",
    5: "What else is known contradicts it.",
    6: "There is no way to tell yet. Choose this rather than guess.",
}
GRADING_HELP = (
    "Grade two things separately. Source reliability is about where the information "
    "comes from (the account, the site, the person who supplied it). Information "
    "credibility is about this piece of information itself. A reliable source can pass "
    "on something doubtful, and an unknown account can post something true."
)
CORROBORATION_HELP = (
    "Tick observations from other sources that say the same thing (a copy of the same "
    "page does not count), or record a check made outside Caseview (for example a call "
    "to the health visitor): what was checked, who checked it and when, all three."
)
CONFIRMED_HELP = "Credibility 1 means confirmed: name what confirmed it."
SAME_SOURCE = "About the same source: corroboration needs an independent source."
SOURCE_FIXED = (
    "An observation stays with its source. To conclude something about another source, "
    "add a new observation."
)
OTHER_RISKS_SEPARATOR = ";"
# Which field a service refusal is about, from words its message uses (the service's
# ValidationError carries no field name). tests/ui/test_ui_observations.py checks each
# against the service's real messages, so a reworded message fails a test, not a user.
ERROR_FIELDS = (
    ("'confirmed by'", "confirmed_by"),
    ("external check", "check"),
    ("observation is empty", "text"),
    ("characters long", "text"),
    ("assessment domain", "domain"),
    ("source reliability", "reliability"),
    ("credibility grade", "credibility"),
    ("corroborat", "corroboration"),
    ("independent source", "corroboration"),
    ("no source", "source"),
)
SEARCH_DELAY_MS = 300


def field_for(exc: CaseviewError) -> str:
    """The editor field a refusal is about, or "general"."""
    text = str(exc).casefold()
    if isinstance(exc, NotFound) and "source" in text:
        return "source"
    for words, field in ERROR_FIELDS:
        if words in text:
            return field
    return "general"


def preview(reliability: str, credibility: int) -> Observation:
    """An unsaved observation with this grading, so the editor reads the grading with
    the service's own tables (``uk_equivalent``) instead of copies."""
    return Observation(
        id=0,
        root_id=0,
        version=0,
        source_id=0,
        case_id=0,
        text="",
        domain="",
        reliability=reliability,
        credibility=credibility,
        risks=(),
        corroborates=(),
        external_check=None,
        author="",
        created_at=datetime.now(UTC),
    )


def source_text(row: SourceRow) -> str:
    title = row.title or row.url
    short = title if len(title) <= 70 else title[:69] + "…"
    return f"#{row.id} {short} ({row.captured_at:%d %b %Y})"


def observation_text(row: Observation) -> str:
    short = row.text if len(row.text) <= 90 else row.text[:89] + "…"
    return f"On source #{row.source_id}, {row.grading} by {row.author}: {short}"


def version_text(row: Observation) -> str:
    return (
        f"Version {row.version}, {row.created_at:%d %b %Y %H:%M} UTC, by {row.author}: "
        f"{row.grading}, {DOMAINS.get(row.domain, row.domain)}. {row.text}"
    )


class ObservationEditor(QDialog):
    """The editor for one observation, new or existing; ``reason`` makes it read-only."""

    saved = Signal(object)
    """The observation is stored: the new Observation (version)."""
    loaded = Signal()
    """The sources and observations to choose from have arrived."""

    def __init__(
        self,
        parent: QWidget | None,
        who: Identity,
        case_id: int,
        *,
        observation: Observation | None = None,
        source: tuple[int, str] | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("observationEditor")
        self.setStyleSheet(STYLE)
        self.who = who
        self.case_id = case_id
        self.observation = observation
        self.reason = reason
        self.context: jobs.ObservationContext | None = None
        self.dirty = False
        self.saving = False
        self._filling = False
        self._generation = 0
        self._wanted_source = source
        if observation is None:
            title = "New observation"
        elif reason:
            title = f"Observation on source #{observation.source_id}"
        else:
            title = f"Change the observation on source #{observation.source_id}"
        self.setWindowTitle(title)

        layout = QVBoxLayout(self)
        self.heading = widgets.heading(title)
        layout.addWidget(self.heading)
        self.status = widgets.note(self._status_text())
        self.status.setObjectName("observationStatus")
        self.status.setAccessibleName("About this observation")
        layout.addWidget(self.status)
        self.problems: dict[str, QLabel] = {}
        self.fields: dict[str, QWidget] = {}
        # The form scrolls when the window is small (or the text large) rather than squash.
        scroll = QScrollArea()
        scroll.setObjectName("observationScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the fields; it follows
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        holder = QWidget()
        columns = QHBoxLayout(holder)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.addWidget(self._build_conclusion(), 1)
        columns.addWidget(self._build_trust(), 1)
        scroll.setWidget(holder)
        layout.addWidget(scroll, 1)
        self.history = QListWidget()
        self.history.setObjectName("observationHistory")
        self.history.setAccessibleName("Earlier versions of this observation")
        self.history.setWordWrap(True)
        self.history.setMaximumHeight(widgets.lines(self, 4))
        self.history_label = QLabel("&Versions so far (each change is kept):")
        self.history_label.setBuddy(self.history)
        layout.addWidget(self.history_label)
        layout.addWidget(self.history)
        self.history_label.hide()
        self.history.hide()
        layout.addWidget(self._problem_label("general", "Problem saving"))

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.save_button = QPushButton("&Save")
        self.save_button.setObjectName("observationSaveButton")
        self.save_button.setAccessibleName("Save the observation")
        self.save_button.setDefault(True)
        self.cancel_button = QPushButton("Close" if reason else "Cancel")
        self.cancel_button.setObjectName("observationCancelButton")
        self.cancel_button.setAccessibleName(self.cancel_button.text())
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        self.save_shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        self.save_shortcut.activated.connect(self.save)
        self.save_button.setToolTip("Save the observation (Ctrl+S).")

        self._set_tab_order()
        self._connect_changes()
        if observation is not None:
            self.fill(observation)
        self._update()
        self.resize(widgets.chars(self, 150), widgets.lines(self, 48))
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.load)
        self.source_filter.textChanged.connect(self.search_timer.start)
        self.source_filter.installEventFilter(self)
        self.load()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter in the source search searches now; it must not save the observation."""
        if (
            watched is self.source_filter
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self.load()
            return True
        return super().eventFilter(watched, event)

    # --- building ----------------------------------------------------------------------

    def _problem_label(self, field: str, name: str) -> QLabel:
        label = widgets.note()
        label.setObjectName(f"{field}Problem")
        label.setAccessibleName(name)
        label.setStyleSheet("color: #b3261e;")
        label.hide()
        self.problems[field] = label
        return label

    def _build_conclusion(self) -> QWidget:
        box = QGroupBox("What you conclude")
        box.setObjectName("conclusionGroup")
        outer = QVBoxLayout(box)
        self.source_filter = QLineEdit()
        self.source_filter.setObjectName("observationSourceFilter")
        self.source_filter.setPlaceholderText("Type to find a source by title, address or hash")
        self.source_filter.setClearButtonEnabled(True)
        self.source_filter.setAccessibleName("Find a source")
        self.source = QComboBox()
        self.source.setObjectName("observationSource")
        self.source.setPlaceholderText("Choose the source…")
        self.source.setMinimumContentsLength(40)
        self.source.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self._row(outer, "So&urce:", "source", self.source, before=self.source_filter)
        self.text = TextBox("observationText", rows=6)
        self.text.setPlaceholderText(
            "What the source shows, in your words, and what you conclude from it."
        )
        self._row(outer, "&Observation:", "text", self.text)
        self.domain = QComboBox()
        self.domain.setObjectName("observationDomain")
        self.domain.setPlaceholderText("Choose…")
        for key, words in DOMAINS.items():
            self.domain.addItem(words, key)
        self.domain.setCurrentIndex(-1)
        self.domain.setToolTip("The part of the assessment framework this informs.")
        self._row(outer, "Assessment &domain:", "domain", self.domain)

        risks = QGroupBox("Risks of misreading it")
        risks.setObjectName("observationRisks")
        risks.setAccessibleName("Risks of misreading it")
        risks_layout = QVBoxLayout(risks)
        risks_layout.addWidget(
            widgets.note("Tick each reason this could be misread. They are printed with it.")
        )
        self.risk_boxes: dict[str, QCheckBox] = {}
        for key, words in RISKS.items():
            if key == "other":
                continue
            check = QCheckBox(words)
            check.setObjectName(f"risk_{key}")
            check.setAccessibleName(words)
            risks_layout.addWidget(check)
            self.risk_boxes[key] = check
        other_row = QHBoxLayout()
        self.other_risks = QLineEdit()
        self.other_risks.setObjectName("observationOtherRisks")
        self.other_risks.setPlaceholderText("In your words; separate several with ;")
        other_label = QLabel("O&ther:")
        other_label.setBuddy(self.other_risks)
        self.other_risks.setAccessibleName("Other risks of misreading")
        other_row.addWidget(other_label)
        other_row.addWidget(self.other_risks, 1)
        risks_layout.addLayout(other_row)
        self.fields["risks"] = risks
        outer.addWidget(risks)
        outer.addStretch(1)
        return box

    def _build_trust(self) -> QWidget:
        box = QGroupBox("How far it can be trusted")
        box.setObjectName("trustGroup")
        outer = QVBoxLayout(box)
        outer.addWidget(widgets.note(GRADING_HELP))
        self.reliability = QComboBox()
        self.reliability.setObjectName("observationReliability")
        self.reliability.setPlaceholderText("Choose A to F…")
        for key, words in RELIABILITY.items():
            self.reliability.addItem(f"{key}: {words}", key)
            self.reliability.setItemData(
                self.reliability.count() - 1, RELIABILITY_WORDS[key], Qt.ItemDataRole.ToolTipRole
            )
        self.reliability.setCurrentIndex(-1)
        self.reliability_words = widgets.note()
        self.reliability_words.setObjectName("reliabilityWords")
        self.reliability_words.setAccessibleName("What this reliability grade means")
        self._row(
            outer, "Source &reliability:", "reliability", self.reliability, self.reliability_words
        )
        self.credibility = QComboBox()
        self.credibility.setObjectName("observationCredibility")
        self.credibility.setPlaceholderText("Choose 1 to 6…")
        for grade, words in CREDIBILITY.items():
            self.credibility.addItem(f"{grade}: {words}", grade)
            self.credibility.setItemData(
                self.credibility.count() - 1,
                CREDIBILITY_WORDS[grade],
                Qt.ItemDataRole.ToolTipRole,
            )
        self.credibility.setCurrentIndex(-1)
        self.credibility_words = widgets.note()
        self.credibility_words.setObjectName("credibilityWords")
        self.credibility_words.setAccessibleName("What this credibility grade means")
        self._row(
            outer,
            "Information &credibility:",
            "credibility",
            self.credibility,
            self.credibility_words,
        )
        # Shown only for credibility 1: the service refuses 1 without it.
        self.confirmed_box = QWidget()
        self.confirmed_box.setObjectName("confirmedByBox")
        confirmed_layout = QVBoxLayout(self.confirmed_box)
        confirmed_layout.setContentsMargins(0, 0, 0, 0)
        self.confirmed_by = QLineEdit()
        self.confirmed_by.setObjectName("observationConfirmedBy")
        self.confirmed_by.setPlaceholderText("e.g. the police incident log of 12 November")
        self.confirmed_by.setAccessibleName("Confirmed by")
        self.confirmed_by.setAccessibleDescription(CONFIRMED_HELP)
        self.confirmed_by.setToolTip(CONFIRMED_HELP)
        confirmed_label = QLabel("Confirmed &by:")
        confirmed_label.setBuddy(self.confirmed_by)
        confirmed_layout.addWidget(confirmed_label)
        confirmed_layout.addWidget(self.confirmed_by)
        confirmed_layout.addWidget(self._problem_label("confirmed_by", "Problem with confirmed by"))
        self.fields["confirmed_by"] = self.confirmed_by
        self.confirmed_box.hide()
        outer.addWidget(self.confirmed_box)
        self.grading = widgets.note()
        self.grading.setObjectName("gradingSummary")
        self.grading.setAccessibleName("What the grading means for the note")
        self.grading.setMargin(6)
        outer.addWidget(self.grading)

        corroboration = QGroupBox("Corroboration")
        corroboration.setObjectName("observationCorroboration")
        corroboration.setAccessibleName("Corroboration")
        c_layout = QVBoxLayout(corroboration)
        c_layout.addWidget(widgets.note(CORROBORATION_HELP))
        self.corroborates = QListWidget()
        self.corroborates.setObjectName("observationCorroborates")
        self.corroborates.setAccessibleName("Observations on other sources that agree")
        self.corroborates.setMinimumHeight(widgets.lines(self, 5))
        self.corroborates.setWordWrap(True)
        self.corroborates.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        c_label = QLabel("Observations that &agree:")
        c_label.setBuddy(self.corroborates)
        c_layout.addWidget(c_label)
        c_layout.addWidget(self.corroborates)
        c_layout.addWidget(self._problem_label("corroboration", "Problem with the corroboration"))
        self.fields["corroboration"] = self.corroborates
        c_layout.addWidget(widgets.note("External check (what, who and when, or none):"))
        self.check_what = self._check_line(
            c_layout,
            "observationCheckWhat",
            "What was c&hecked:",
            "External check: what was checked",
            "e.g. the bruise on Kerry's arm",
        )
        self.check_who = self._check_line(
            c_layout,
            "observationCheckWho",
            "&Who checked it:",
            "External check: who checked it",
            "e.g. the health visitor, Sam Okoro",
        )
        self.check_when = self._check_line(
            c_layout,
            "observationCheckWhen",
            "Whe&n (YYYY-MM-DD):",
            "External check: when, as YYYY-MM-DD",
            "e.g. 2024-11-03",
        )
        c_layout.addWidget(self._problem_label("check", "Problem with the external check"))
        self.fields["check"] = self.check_what
        outer.addWidget(corroboration, 1)
        return box

    def _check_line(
        self, layout: QVBoxLayout, name: str, text: str, accessible: str, example: str
    ) -> QLineEdit:
        line = QLineEdit()
        line.setObjectName(name)
        line.setPlaceholderText(example)
        line.setAccessibleName(accessible)
        label = QLabel(text)
        label.setBuddy(line)
        row = QHBoxLayout()
        row.addWidget(label)
        row.addWidget(line, 1)
        layout.addLayout(row)
        return line

    def _row(
        self,
        column: QVBoxLayout,
        text: str,
        key: str,
        field: QWidget,
        after: QWidget | None = None,
        *,
        before: QWidget | None = None,
    ) -> None:
        """Its label, ``before``, the field, ``after``, then where its problem shows."""
        label = QLabel(text)
        label.setBuddy(before or field)
        field.setAccessibleName(widgets.plain(text))
        column.addWidget(label)
        for widget in (before, field, after):
            if widget is not None:
                column.addWidget(widget)
        column.addWidget(self._problem_label(key, f"Problem with {widgets.plain(text).lower()}"))
        self.fields[key] = field

    def _set_tab_order(self) -> None:
        order: list[QWidget] = [
            self.source_filter,
            self.source,
            self.text,
            self.domain,
            *self.risk_boxes.values(),
            self.other_risks,
            self.reliability,
            self.credibility,
            self.confirmed_by,
            self.corroborates,
            self.check_what,
            self.check_who,
            self.check_when,
            self.history,
            self.save_button,
            self.cancel_button,
        ]
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

    def _connect_changes(self) -> None:
        self.text.textChanged.connect(self._changed)
        self.other_risks.textChanged.connect(self._changed)
        for line in (self.check_what, self.check_who, self.check_when, self.confirmed_by):
            line.textChanged.connect(self._changed)
        for combo in (self.domain, self.reliability, self.credibility):
            combo.currentIndexChanged.connect(self._changed)
        self.source.currentIndexChanged.connect(self._source_chosen)
        for check in self.risk_boxes.values():
            check.toggled.connect(self._changed)
        self.corroborates.itemChanged.connect(self._changed)

    # --- loading -------------------------------------------------------------------------

    def _status_text(self) -> str:
        if self.observation is None:
            return (
                "Record what you conclude from one source. It is kept with the source and "
                "printed in the note; a later change is a new version, and the old one stays."
            )
        row = self.observation
        saved = (
            f"Version {row.version}, saved by {row.author} on "
            f"{row.created_at:%d %B %Y at %H:%M} UTC."
        )
        if self.reason:
            return f"{saved} {self.reason}"
        return (
            f"{saved} Saving a change makes version {row.version + 1}; earlier versions "
            "stay in the record."
        )

    def load(self) -> None:
        """Fetch the sources (matching the filter) and the case's observations."""
        self.search_timer.stop()
        self._generation += 1
        generation = self._generation
        run_task(
            jobs.observation_context,
            self.who,
            self.case_id,
            self.observation.id if self.observation is not None else None,
            self.source_filter.text(),
            on_returned=lambda context: self._loaded(generation, context),
            on_errored=self._load_failed,
            owner=self,
        )

    def _load_failed(self, exc: BaseException) -> None:
        if isinstance(exc, CaseviewError):
            self.show_problem("general", str(exc))
        else:
            crash.report(self, exc)

    def _loaded(self, generation: int, context: jobs.ObservationContext) -> None:
        if generation != self._generation:
            return  # the filter changed since; a fresher answer is on its way
        self.context = context
        self._filling = True
        try:
            chosen = self.source.currentData()
            self.source.clear()
            if self.observation is not None:
                self.source.addItem(context.source_label, self.observation.source_id)
                self.source.setCurrentIndex(0)
            else:
                wanted = self._wanted_source
                ids = [row.id for row in context.sources.rows]
                if wanted is not None and wanted[0] not in ids and not self.source_filter.text():
                    self.source.addItem(wanted[1], wanted[0])
                for source in context.sources.rows:
                    self.source.addItem(source_text(source), source.id)
                    self.source.setItemData(
                        self.source.count() - 1, source.url, Qt.ItemDataRole.ToolTipRole
                    )
                target = chosen if chosen is not None else (wanted[0] if wanted else None)
                self.source.setCurrentIndex(self.source.findData(target))
                shown, total = len(context.sources.rows), context.sources.total
                self.source_filter.setToolTip(
                    f"Showing the {shown:,} most recent of {total:,} matching sources; "
                    "type to narrow."
                    if total > shown
                    else f"{total:,} source{'s' if total != 1 else ''} match."
                )
            self._fill_corroborates(context)
            if len(context.history) > 1:
                self.history.clear()
                for version in reversed(context.history):
                    item = QListWidgetItem(version_text(version))
                    item.setToolTip(version.text)
                    self.history.addItem(item)
                self.history_label.show()
                self.history.show()
        finally:
            self._filling = False
        self._update()
        self.loaded.emit()

    def _fill_corroborates(self, context: jobs.ObservationContext) -> None:
        ticked = self.ticked() if self.corroborates.count() else None
        if ticked is None:
            ticked = set(self.observation.corroborates) if self.observation else set()
        own = self.observation.root_id if self.observation is not None else None
        self.corroborates.clear()
        for row in context.observations:
            if row.root_id == own:
                continue
            item = QListWidgetItem(observation_text(row))
            item.setData(Qt.ItemDataRole.UserRole, row.root_id)
            item.setData(Qt.ItemDataRole.UserRole + 1, row.source_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if row.root_id in ticked else Qt.CheckState.Unchecked
            )
            item.setToolTip(row.text)
            self.corroborates.addItem(item)
        if not self.corroborates.count():
            placeholder = QListWidgetItem("No observations on other sources yet.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.corroborates.addItem(placeholder)
        self._mark_same_source()

    def _mark_same_source(self) -> None:
        """Observations on the chosen source cannot corroborate: say so on each."""
        source_id = self.source.currentData()
        for index in range(self.corroborates.count()):
            item = self.corroborates.item(index)
            root = item.data(Qt.ItemDataRole.UserRole)
            if root is None:
                continue
            same = item.data(Qt.ItemDataRole.UserRole + 1) == source_id
            flags = Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
            if not same and not self.reason:
                flags |= Qt.ItemFlag.ItemIsEnabled
            item.setFlags(flags)
            item.setToolTip(SAME_SOURCE if same else item.text())

    def fill(self, row: Observation) -> None:
        """Show a saved observation in the fields."""
        self._filling = True
        try:
            self.text.setPlainText(row.text)
            self.domain.setCurrentIndex(self.domain.findData(row.domain))
            self.reliability.setCurrentIndex(self.reliability.findData(row.reliability))
            self.credibility.setCurrentIndex(self.credibility.findData(row.credibility))
            others = [risk for risk in row.risks if risk not in self.risk_boxes]
            for key, check in self.risk_boxes.items():
                check.setChecked(key in row.risks)
            self.other_risks.setText(f"{OTHER_RISKS_SEPARATOR} ".join(others))
            self.check_what.setText(row.check_what or "")
            if row.external_check:
                # A free-text check from an older file: kept, but without who and when
                # it supports nothing; show it so the worker can record it properly.
                self.check_what.setPlaceholderText(
                    f"Earlier, without who or when: {row.external_check}"
                )
            self.check_who.setText(row.check_who or "")
            self.check_when.setText(row.check_when.isoformat() if row.check_when else "")
            self.confirmed_by.setText(row.confirmed_by or "")
        finally:
            self._filling = False
        self.dirty = False

    # --- reading the form ----------------------------------------------------------------

    def ticked(self) -> set[int]:
        return {
            int(item.data(Qt.ItemDataRole.UserRole))
            for item in (self.corroborates.item(i) for i in range(self.corroborates.count()))
            if item.data(Qt.ItemDataRole.UserRole) is not None
            and item.checkState() == Qt.CheckState.Checked
            and item.flags() & Qt.ItemFlag.ItemIsEnabled
        }

    def risks(self) -> tuple[str, ...]:
        named = [key for key, check in self.risk_boxes.items() if check.isChecked()]
        others = [part.strip() for part in self.other_risks.text().split(OTHER_RISKS_SEPARATOR)]
        return tuple(named + [part for part in others if part])

    def form(self) -> jobs.ObservationForm | dict[str, str]:
        """The fields as the service takes them, or what must be chosen first."""
        missing: dict[str, str] = {}
        if self.source.currentData() is None:
            missing["source"] = "Choose the source this observation is about."
        if self.domain.currentData() is None:
            missing["domain"] = "Choose the part of the assessment this informs."
        if self.reliability.currentData() is None:
            missing["reliability"] = "Choose how reliable the source is (F if you cannot judge it)."
        if self.credibility.currentData() is None:
            missing["credibility"] = (
                "Choose how credible the information is (6 if you cannot judge it)."
            )
        if missing:
            return missing
        return jobs.ObservationForm(
            text=self.text.toPlainText(),
            domain=str(self.domain.currentData()),
            reliability=str(self.reliability.currentData()),
            credibility=int(self.credibility.currentData()),
            risks=self.risks(),
            corroborates=tuple(sorted(self.ticked())),
            check_what=self.check_what.text().strip(),
            check_who=self.check_who.text().strip(),
            check_when=self.check_when.text().strip(),
            confirmed_by=self.confirmed_by.text().strip() if self._confirming() else "",
        )

    # --- reacting --------------------------------------------------------------------------

    def _source_chosen(self) -> None:
        self._mark_same_source()
        self._changed()

    def _changed(self) -> None:
        if self._filling:
            return
        self.dirty = True
        self._update()

    def _update(self) -> None:
        read_only = bool(self.reason)
        editing = self.observation is not None
        for widget in (
            self.source_filter,
            self.domain,
            self.reliability,
            self.credibility,
            *self.risk_boxes.values(),
            self.corroborates,
        ):
            widget.setEnabled(not read_only and not self.saving)
        for line in (
            self.text,
            self.other_risks,
            self.check_what,
            self.check_who,
            self.check_when,
            self.confirmed_by,
        ):
            line.setReadOnly(read_only or self.saving)  # still readable and focusable
        self.source.setEnabled(not read_only and not editing and not self.saving)
        self.source_filter.setVisible(not editing)
        if editing:
            self.source.setToolTip(SOURCE_FIXED)
        if read_only:
            for widget in (self.save_button, *self.fields.values()):
                widget.setToolTip(self.reason)
        may_save = not read_only and not self.saving and (self.dirty or not editing)
        self.save_button.setEnabled(may_save)
        if not read_only:
            self.save_button.setToolTip(
                "Save the observation (Ctrl+S)."
                if may_save
                else "Nothing has changed yet."
                if not self.saving
                else "Saving…"
            )
        self._describe_grading()

    def _describe_grading(self) -> None:
        reliability = self.reliability.currentData()
        credibility = self.credibility.currentData()
        self.reliability_words.setText(RELIABILITY_WORDS.get(reliability, ""))
        self.credibility_words.setText(CREDIBILITY_WORDS.get(credibility, ""))
        self.confirmed_box.setVisible(self._confirming())
        if reliability is None or credibility is None:
            self.grading.setText("Choose both grades to see how the note will treat this.")
            self.grading.setStyleSheet("")
            return
        row = preview(str(reliability), int(credibility))
        if self.context is None:
            self.grading.setText(
                f"Grading {row.grading} (nearest UK 3x5x2 reading {row.uk_equivalent}). "
                "Reading the case to say whether the note will rely on it…"
            )
            self.grading.setStyleSheet("")
            return
        source_id = self.source.currentData()
        answer = observations.assess(
            self.context.reliance,
            int(source_id) if source_id is not None else 0,
            row.reliability,
            row.credibility,
            sorted(self.ticked()),
            observations.draft_check(
                self.check_what.text(), self.check_who.text(), self.check_when.text()
            ),
            self.confirmed_by.text() if self._confirming() else None,
        )
        why = " ".join((*answer.reasons, answer.advice)).strip()
        if answer.relied:
            verdict = f"The note lists it under 'Findings relied upon'. {why}"
            badge = "good"
        else:
            verdict = (
                "The note lists it apart, under 'Material not relied upon', with its risks. " + why
            )
            badge = "attention"
        self.grading.setText(
            f"Grading {row.grading} (nearest UK 3x5x2 reading {row.uk_equivalent}). {verdict}"
        )
        self.grading.setStyleSheet(
            f"background: {BADGES[badge].name()}; color: #1a1a1a; border-radius: 4px;"
        )

    def _confirming(self) -> bool:
        return bool(self.credibility.currentData() == 1)

    def show_problem(self, field: str, text: str) -> None:
        """Show ``text`` next to ``field`` (and tell assistive technology about it)."""
        label = self.problems.get(field, self.problems["general"])
        label.setText(text)
        label.setVisible(bool(text))
        widget = self.fields.get(field)
        if widget is not None:
            widget.setProperty("problem", bool(text))
            widget.style().unpolish(widget)
            widget.style().polish(widget)
            widget.setAccessibleDescription(text)

    def clear_problems(self) -> None:
        for field in self.problems:
            self.show_problem(field, "")

    # --- saving ----------------------------------------------------------------------------

    def save(self) -> None:
        if self.reason or self.saving or not self.save_button.isEnabled():
            return
        self.clear_problems()
        form = self.form()
        if isinstance(form, dict):
            for field, text in form.items():
                self.show_problem(field, text)
            self.fields[next(iter(form))].setFocus()
            return
        self.saving = True
        self._update()
        run_task(
            jobs.save_observation,
            self.who,
            int(self.source.currentData()),
            self.observation.id if self.observation is not None else None,
            form,
            on_returned=self._saved,
            on_errored=self._failed,
            on_finished=self._finished,
            owner=self,
        )

    def _finished(self) -> None:
        self.saving = False
        self._update()

    def _failed(self, exc: BaseException) -> None:
        if not isinstance(exc, CaseviewError):
            crash.report(self, exc)
            return
        field = field_for(exc)
        self.show_problem(field, str(exc))
        self.fields.get(field, self.save_button).setFocus()

    def _saved(self, row: Observation) -> None:
        self.dirty = False
        self.observation = row
        self.saved.emit(row)
        self.accept()

    # --- closing ---------------------------------------------------------------------------

    def reject(self) -> None:
        """Cancel, Escape and the close box come here: ask before losing work."""
        if self.dirty and not self.reason:
            if not messages.confirm(self, "Close without saving this observation?"):
                return
            self.dirty = False
        super().reject()
