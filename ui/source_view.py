"""One source in full: its provenance, hashes, extracted text, exposure indicators and
the other people on the page (collateral intrusion).

The worker confirms or dismisses each exposure indicator and each collateral finding
here; anyone who may read the case saves the evidence file or the source's WARC records
(each save is an audit event).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui import jobs, messages, widgets
from ui.identity import Identity
from ui.models import ORIGIN_WORDS, ExposureModel, ObservationsModel, utc
from ui.tasks import run_task

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTableView

    from caseview.captures import ExposureFinding, SourceRecord  # typing only: light start-up

# The kinds of collectors.COLLATERAL_KINDS, in words; not imported from collectors, which
# pulls in the HTTP stack, so that the app starts quickly.
COLLATERAL_WORDS = {
    "collateral_child": "Another child's details",
    "collateral_many_people": "Many people on the page",
}


def is_collateral(finding: ExposureFinding) -> bool:
    return finding.kind in COLLATERAL_WORDS


class CollateralModel(ExposureModel):
    """Other people on a page: what was seen of them, and whether the worker agrees."""

    COLUMNS = ("Who or what", "Found", "Where on the page", "Review")

    def text(self, row: ExposureFinding, column: int) -> str:
        if column == self.KIND:
            return COLLATERAL_WORDS.get(row.kind, row.kind)
        return super().text(row, column)


def provenance(record: SourceRecord, subject: str) -> list[tuple[str, str]]:
    """The provenance fields, labelled, in the order an auditor reads them."""
    origin = ORIGIN_WORDS.get(record.origin, record.origin)
    if record.supplied_by:
        origin += f" ({record.supplied_by})"
    redirects = " → ".join(str(hop.get("url", "")) for hop in record.redirect_chain)
    rows = [
        ("Source", f"#{record.id}"),
        ("About", subject),
        ("Origin", origin),
        (
            "Method",
            {"http": "Captured over HTTP", "file_import": "Imported file"}.get(
                record.method, record.method
            ),
        ),
        ("Address asked for", record.requested_url),
        ("Address reached", record.final_url or ""),
        ("Redirects", redirects),
        ("HTTP status", str(record.http_status or "")),
        ("Server address", record.server_ip or ""),
        ("Content type", record.content_type or record.media_type or ""),
        ("Size", f"{record.body_size:,} bytes"),
        ("SHA-256 of the stored bytes", record.body_sha256),
        ("SHA-256 as received", record.raw_sha256 or ""),
        ("SHA-256 of its WARC records", record.warc_sha256 or ""),
        ("File name", record.file_name or ""),
        ("Published (as the page says)", record.published_at or ""),
        ("Viewed at (UTC)", utc(record.viewed_at)),
        ("Capture started (UTC)", f"{record.captured_started_at:%Y-%m-%d %H:%M:%S}"),
        ("Capture ended (UTC)", f"{record.captured_ended_at:%Y-%m-%d %H:%M:%S}"),
        ("Captured by", record.captured_by),
        ("On machine", record.machine),
        ("Tool", record.tool),
        (
            "Under request",
            f"#{record.justification_id} (content {record.justification_hash[:16]}…)",
        ),
        ("Corrects source", f"#{record.corrects}" if record.corrects else ""),
        ("Notes", "\n".join(record.notes)),
    ]
    return [(label, value) for label, value in rows if value]


class SourceDetailDialog(QDialog):
    def __init__(self, parent: QWidget | None, who: Identity, source_id: int) -> None:
        super().__init__(parent)
        self.setObjectName("sourceDetail")
        self.setWindowTitle(f"Source #{source_id}")
        self.who = who
        self.source_id = source_id
        self.detail: jobs.SourceDetail | None = None
        layout = QVBoxLayout(self)
        self.title = widgets.heading(f"Source #{source_id}")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Source details")
        scroll = QScrollArea()
        scroll.setObjectName("sourceProvenance")
        scroll.setAccessibleName("Provenance")  # a Tab stop: the arrow keys scroll it
        scroll.setWidgetResizable(True)
        holder = QWidget()
        self.form = QFormLayout(holder)
        scroll.setWidget(holder)
        self.tabs.addTab(scroll, "&Provenance")
        self.text = QPlainTextEdit()
        self.text.setObjectName("sourceText")
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Extracted text")
        self.tabs.addTab(self.text, "E&xtracted text")
        self.tabs.addTab(self._exposure_tab(), "Exposure &indicators")
        self.tabs.addTab(self._collateral_tab(), "Other p&eople")
        self.observations = ObservationsModel(self)
        self.tabs.addTab(
            widgets.table(
                self.observations,
                "sourceObservations",
                "Observations on this source",
                stretch=ObservationsModel.TEXT,
            ),
            "&Observations",
        )
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox()
        self.save_button = QPushButton("&Save the evidence file…")
        self.save_button.setObjectName("saveEvidenceButton")
        self.save_button.setAccessibleName("Save the evidence file")
        self.save_button.setEnabled(False)
        self.warc_button = QPushButton("Save its &WARC…")
        self.warc_button.setObjectName("saveSourceWarcButton")
        self.warc_button.setAccessibleName("Save this source's WARC records")
        self.warc_button.setEnabled(False)
        # Added in the order they are shown, so Tab goes left to right along them.
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.warc_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(self.save_evidence)
        self.warc_button.clicked.connect(self.save_warc)
        layout.addWidget(buttons)
        self.resize(widgets.chars(self, 120), widgets.lines(self, 36))
        run_task(jobs.load_source, who, source_id, on_returned=self._loaded, owner=self)

    def _exposure_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.exposure_note = widgets.note()
        self.exposure_note.setObjectName("sourceExposureNote")
        layout.addWidget(self.exposure_note)
        self.exposure = ExposureModel(self)
        self.exposure_view = widgets.table(
            self.exposure,
            "sourceExposure",
            "Exposure indicators",
            stretch=ExposureModel.CONTEXT,
        )
        layout.addWidget(self.exposure_view, 1)
        row = QHBoxLayout()
        self.confirm_button = QPushButton("&Confirm")
        self.confirm_button.setObjectName("confirmExposureButton")
        self.confirm_button.setAccessibleName("Confirm the selected exposure indicator")
        self.dismiss_button = QPushButton("&Dismiss")
        self.dismiss_button.setObjectName("dismissExposureButton")
        self.dismiss_button.setAccessibleName("Dismiss the selected exposure indicator")
        for button, confirmed in ((self.confirm_button, True), (self.dismiss_button, False)):
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, c=confirmed: self.review_selected(c))
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.exposure_view.selectionModel().selectionChanged.connect(self._update_review)
        self.reviewing = False
        return tab

    def _collateral_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(widgets.heading("Other people on this page (collateral intrusion)"))
        self.collateral_note = widgets.note()
        self.collateral_note.setObjectName("sourceCollateralNote")
        layout.addWidget(self.collateral_note)
        self.collateral = CollateralModel(self)
        self.collateral_view = widgets.table(
            self.collateral,
            "sourceCollateral",
            "Other people on this page (collateral intrusion)",
            stretch=CollateralModel.CONTEXT,
        )
        layout.addWidget(self.collateral_view, 1)
        row = QHBoxLayout()
        self.confirm_collateral_button = QPushButton("Con&firm")
        self.confirm_collateral_button.setObjectName("confirmCollateralButton")
        self.confirm_collateral_button.setAccessibleName("Confirm the selected collateral finding")
        self.dismiss_collateral_button = QPushButton("Dis&miss")
        self.dismiss_collateral_button.setObjectName("dismissCollateralButton")
        self.dismiss_collateral_button.setAccessibleName("Dismiss the selected collateral finding")
        for button, confirmed in (
            (self.confirm_collateral_button, True),
            (self.dismiss_collateral_button, False),
        ):
            button.setEnabled(False)
            button.clicked.connect(
                lambda _=False, c=confirmed: self.review_selected(c, self.collateral_view)
            )
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.collateral_view.selectionModel().selectionChanged.connect(self._update_review)
        return tab

    def review_refusal(self) -> str:
        """Why this person cannot review findings here ('' if they can): the service's
        rule, as ``caseview.abilities`` answers it, said before they try."""
        return self.detail.review_exposure.reason if self.detail is not None else ""

    def _update_review(self) -> None:
        refusal = self.review_refusal()
        for view, confirm, dismiss, what in (
            (self.exposure_view, self.confirm_button, self.dismiss_button, "indicator"),
            (
                self.collateral_view,
                self.confirm_collateral_button,
                self.dismiss_collateral_button,
                "finding",
            ),
        ):
            chosen = self.selected_finding(view) is not None
            on = self.detail is not None and not refusal and chosen and not self.reviewing
            for button, action in ((confirm, "Confirm"), (dismiss, "Dismiss")):
                button.setEnabled(on)
                button.setToolTip(
                    refusal
                    or (
                        f"{action} the selected {what} (recorded in the audit trail)."
                        if chosen
                        else f"Select {'an' if what[0] == 'i' else 'a'} {what} in the table first."
                    )
                )

    def selected_finding(self, view: QTableView | None = None) -> int | None:
        """The id of the finding selected in ``view`` (the exposure table by default)."""
        view = self.exposure_view if view is None else view
        rows = view.selectionModel().selectedRows()
        if not rows:
            return None
        model = self.collateral if view is self.collateral_view else self.exposure
        finding = model.row_at(rows[0])
        return finding.id if finding is not None else None

    def review_selected(self, confirmed: bool, view: QTableView | None = None) -> None:
        finding_id = self.selected_finding(view)
        if finding_id is None or self.review_refusal() or self.reviewing:
            return
        self.reviewing = True
        self._update_review()
        run_task(
            jobs.review_exposure,
            self.who,
            finding_id,
            confirmed,
            on_returned=lambda _: self.reload(),
            on_finished=self._reviewed,
            owner=self,
        )

    def _reviewed(self) -> None:
        self.reviewing = False
        self._update_review()

    def reload(self) -> None:
        run_task(jobs.load_source, self.who, self.source_id, on_returned=self._loaded, owner=self)

    def _loaded(self, detail: jobs.SourceDetail) -> None:
        self.detail = detail
        record = detail.record
        self.title.setText(record.title or record.final_url or record.requested_url)
        while self.form.rowCount():  # a reload replaces the fields
            self.form.removeRow(0)
        for label, value in provenance(record, detail.subject):
            field = QLabel(value)
            field.setWordWrap(True)
            field.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse
                | Qt.TextInteractionFlag.TextSelectableByKeyboard
            )
            field.setAccessibleName(label)
            self.form.addRow(f"{label}:", field)
        self.text.setPlainText(record.text or "(no text could be extracted)")
        exposure = [f for f in record.exposure if not is_collateral(f)]
        collateral = [f for f in record.exposure if is_collateral(f)]
        for view, model, rows in (
            (self.exposure_view, self.exposure, exposure),
            (self.collateral_view, self.collateral, collateral),
        ):
            chosen = self.selected_finding(view)
            model.set_rows(rows)
            widgets.fit_columns(view)  # the context column takes what is left
            if chosen is not None:  # keep the reviewed finding selected after a reload
                for row, finding in enumerate(rows):
                    if finding.id == chosen:
                        view.selectRow(row)
        self.exposure_note.setText(
            "What a stranger could learn about the child from this page. Confirm each "
            "indicator that is right, or dismiss it if it is not about the child."
            if exposure
            else "No exposure indicators were found. They are looked for (name, school, "
            "town, phone, email, postcode, date of birth, geotags) only on pages about a child."
        )
        self.collateral_note.setText(
            "People who are not subjects of this case were seen on this page: another "
            "child's details, or many people (a friends list, a team sheet, a group photo). "
            "Do not record or rely on their details. Confirm each finding that is right, or "
            "dismiss it if it is about a subject of the case or about no one."
            if collateral
            else "No other people's details were found. Every page is checked for another "
            "child's name with an age, school, school year, date of birth or town, and for "
            "lists of friends, team sheets and group photos; only the words are read, not "
            "the faces in images."
        )
        self._update_review()
        self.observations.set_rows(detail.observations)
        self.save_button.setEnabled(True)
        self.warc_button.setEnabled(record.warc_sha256 is not None)
        self.warc_button.setToolTip(
            "Save this capture's WARC request and response records as a .warc.gz file."
            if record.warc_sha256 is not None
            else "An imported file has no WARC records. Save the evidence file instead."
        )

    def save_evidence(self) -> None:
        if self.detail is None:
            return
        record = self.detail.record
        name = record.file_name or f"source-{record.id}"
        target = messages.save_path(
            self, "Save the evidence file", Path.home() / name, "All files (*)"
        )
        if target is None:
            return
        run_task(
            jobs.save_evidence,
            self.who,
            record.id,
            target,
            on_returned=lambda _: messages.info(
                self, f"Saved the evidence bytes (sha256 {record.body_sha256}) to {target}."
            ),
            owner=self,
        )

    def save_warc(self) -> None:
        if self.detail is None or self.detail.record.warc_sha256 is None:
            return
        record = self.detail.record
        target = messages.save_path(
            self,
            "Save the source's WARC records",
            Path.home() / f"source-{record.id}.warc.gz",
            "WARC files (*.warc.gz)",
        )
        if target is None:
            return
        run_task(
            jobs.save_source_warc,
            self.who,
            record.id,
            target,
            on_returned=lambda _: messages.info(
                self, f"Saved the WARC records of source #{record.id} to {target}."
            ),
            owner=self,
        )
