"""One source in full: its provenance, hashes, extracted text and exposure indicators."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
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
from ui.models import ORIGIN_WORDS, ObservationsModel, utc
from ui.tasks import run_task

if TYPE_CHECKING:
    from caseview.captures import SourceRecord  # typing only: keeps start-up light


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
        self.exposure = QPlainTextEdit()
        self.exposure.setObjectName("sourceExposure")
        self.exposure.setReadOnly(True)
        self.exposure.setAccessibleName("Exposure indicators")
        self.tabs.addTab(self.exposure, "Exposure &indicators")
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
        # Added in the order they are shown, so Tab goes left to right along them.
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(self.save_evidence)
        layout.addWidget(buttons)
        self.resize(widgets.chars(self, 120), widgets.lines(self, 36))
        run_task(jobs.load_source, who, source_id, on_returned=self._loaded, owner=self)

    def _loaded(self, detail: jobs.SourceDetail) -> None:
        self.detail = detail
        record = detail.record
        self.title.setText(record.title or record.final_url or record.requested_url)
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
        self.exposure.setPlainText(
            "\n".join(
                f"{finding.kind}: {finding.value}  ({finding.context})"
                + (
                    ""
                    if finding.confirmed is None
                    else f"  [{'confirmed' if finding.confirmed else 'dismissed'} by "
                    f"{finding.reviewed_by}]"
                )
                for finding in record.exposure
            )
            or "No exposure indicators found (addresses, schools, locations, phone numbers)."
        )
        self.observations.set_rows(detail.observations)
        self.save_button.setEnabled(True)

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
