"""One source in full: its provenance, hashes, extracted text, exposure indicators and
the other people on the page (collateral intrusion), and what was kept of it.

The worker confirms or dismisses each exposure indicator and each collateral finding
here; anyone who may read the case saves the evidence file or the source's WARC records
(each save is an audit event).

What was kept (issue 12): the picture of the page (a rendered capture's screenshot, or
an imported image) in a zoomable viewer (``ui.picture_view``); every kept form with its
media type, size and SHA-256; and, for a page kept as MHTML, "Open the saved page", a
read-only replay that never reaches the network (``ui.browser.replay``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
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

from ui import browser, jobs, messages, widgets
from ui.identity import Identity
from ui.models import ORIGIN_WORDS, ExposureModel, ObservationsModel, RowTableModel, utc
from ui.picture_view import PictureView
from ui.tasks import run_task

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTableView

    # typing only: light start-up
    from caseview.captures import Artefact, ExposureFinding, SourceRecord
    from ui.browser.replay import ReplayWindow

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


ARTEFACT_WORDS = {
    "mhtml": "Saved page (MHTML)",
    "dom": "Page as rendered (HTML)",
    "screenshot": "Picture",
    "http_body": "Response body",
    "warc": "WARC records",
    "file": "Imported file",
}


class ArtefactModel(RowTableModel["Artefact"]):
    """The kept forms of a source: what each is, its media type, size and SHA-256."""

    KIND, MEDIA, SIZE, SHA256 = range(4)
    COLUMNS = ("Kept as", "Media type", "Size", "SHA-256")

    def text(self, row: Artefact, column: int) -> str:
        values = (
            ARTEFACT_WORDS.get(row.kind, row.kind),
            row.media_type,
            f"{row.size:,} bytes",
            row.sha256,
        )
        return values[column]

    def tooltip(self, row: Artefact, column: int) -> str | None:
        if column == self.KIND:
            return f"Kind: {row.kind}"
        if column == self.SHA256:
            return row.sha256
        return None


def picture_note(record: SourceRecord, kept: jobs.KeptForms) -> str:
    """What the picture is, in a sentence or two (and where a long page was cut)."""
    shot = next((a for a in kept.artefacts if a.kind == "screenshot"), None)
    if shot is None:
        return ""
    if record.method != "rendered":
        return f"The picture as it was imported ({shot.media_type}, {shot.size:,} bytes)."
    text = "The whole page as the evidence browser showed it when it was captured."
    full, height = shot.details.get("full_height"), shot.details.get("height")
    if shot.details.get("cut") and isinstance(full, int) and isinstance(height, int):
        text += (
            f" The page was {full:,} pixels long; the picture keeps the first {height:,}. "
            "The saved page (MHTML) holds all of it."
        )
    return text


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
            {
                "http": "Captured over HTTP",
                "file_import": "Imported file",
                "rendered": "Captured in the evidence browser",
            }.get(record.method, record.method),
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
    replay_opened = Signal()
    """A window on the saved page (MHTML) was opened (it is the last of ``replays``)."""

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
        self.kept: jobs.KeptForms | None = None
        self.picture_opened = False
        self.picture_tab = self._picture_tab()
        self.tabs.addTab(self.picture_tab, "Pic&ture")
        self.tabs.setTabVisible(self.tabs.indexOf(self.picture_tab), False)  # until one is found
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
        self.artefacts = ArtefactModel(self)
        self.artefacts_view = widgets.table(
            self.artefacts, "sourceArtefacts", "What was kept", stretch=ArtefactModel.SHA256
        )
        self.tabs.addTab(self.artefacts_view, "&Kept files")
        self.tabs.currentChanged.connect(self._tab_shown)
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
        self.replay_button = QPushButton("Open the saved page (M&HTML)…")
        self.replay_button.setObjectName("openSavedPageButton")
        self.replay_button.setAccessibleName("Open the saved page (MHTML), read-only")
        self.replay_button.setEnabled(False)
        self.replays: list[ReplayWindow] = []
        # Added in the order they are shown, so Tab goes left to right along them.
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.warc_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.replay_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(self.save_evidence)
        self.warc_button.clicked.connect(self.save_warc)
        self.replay_button.clicked.connect(self.open_saved_page)
        layout.addWidget(buttons)
        self.resize(widgets.chars(self, 120), widgets.lines(self, 36))
        run_task(jobs.load_source, who, source_id, on_returned=self._loaded, owner=self)
        run_task(jobs.load_kept_forms, who, source_id, on_returned=self._kept, owner=self)

    def _picture_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.picture_note = widgets.note()
        self.picture_note.setObjectName("sourcePictureNote")
        layout.addWidget(self.picture_note)
        self.picture = PictureView(
            name="Picture of the source as kept",
            advice="What was kept is unchanged: its size and SHA-256 are under Kept files.",
        )
        self.picture.setObjectName("sourcePicture")
        layout.addWidget(self.picture, 1)
        return tab

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
        self._show_picture_note()
        self.observations.set_rows(detail.observations)
        self.save_button.setEnabled(True)
        self.warc_button.setEnabled(record.warc_sha256 is not None)
        self.warc_button.setToolTip(
            "Save this capture's WARC request and response records as a .warc.gz file."
            if record.warc_sha256 is not None
            else "An imported file has no WARC records. Save the evidence file instead."
        )

    def _kept(self, kept: jobs.KeptForms) -> None:
        self.kept = kept
        self.artefacts.set_rows(kept.artefacts)
        widgets.fit_columns(self.artefacts_view)
        has_page = any(a.kind == "mhtml" for a in kept.artefacts)
        self.replay_button.setEnabled(has_page)
        self.replay_button.setToolTip(
            "Show the page as it was kept, read-only: nothing is fetched from the internet."
            if has_page
            else "Only a page captured in the evidence browser, or an imported MHTML file, "
            "has a saved page to open."
        )
        self.tabs.setTabVisible(self.tabs.indexOf(self.picture_tab), kept.picture is not None)
        self._show_picture_note()
        self._tab_shown(self.tabs.currentIndex())

    def _show_picture_note(self) -> None:
        if self.kept is not None and self.detail is not None:
            self.picture_note.setText(picture_note(self.detail.record, self.kept))

    def _tab_shown(self, index: int) -> None:
        """The picture is decoded the first time its tab is shown, not before: a long
        page's screenshot takes a moment and much memory, and may never be looked at."""
        if (
            self.tabs.widget(index) is self.picture_tab
            and self.kept is not None
            and self.kept.picture is not None
            and not self.picture_opened
        ):
            self.picture_opened = True
            self.picture.show_picture(self.kept.picture)

    def show_picture_tab(self) -> None:
        """Bring the picture to the front (it is decoded then, if it was not yet)."""
        self.tabs.setCurrentWidget(self.picture_tab)

    def open_saved_page(self) -> None:
        """Open the page's MHTML, read-only and sealed off from the network."""
        if self.kept is None or not any(a.kind == "mhtml" for a in self.kept.artefacts):
            return
        problem = browser.engine_available()
        if problem is not None:
            messages.error(self, problem)
            return
        self.replay_button.setEnabled(False)  # one at a time; on again when it is open
        run_task(
            jobs.load_artefact,
            self.who,
            self.source_id,
            "mhtml",
            on_returned=self._show_saved_page,
            on_finished=lambda: self.replay_button.setEnabled(True),
            owner=self,
        )

    def _show_saved_page(self, content: bytes) -> None:
        # Local: this loads QtWebEngine (Chromium), which only a replay needs.
        from ui.browser.replay import ReplayWindow

        record = self.detail.record if self.detail is not None else None
        title = (record.title or record.final_url or record.requested_url) if record else ""
        mhtml = next(a for a in self.kept.artefacts if a.kind == "mhtml") if self.kept else None
        about = f"Source #{self.source_id}"
        if record is not None:
            about += (
                f", {record.final_url or record.requested_url}, kept on "
                f"{record.captured_ended_at:%d %B %Y at %H:%M} UTC"
            )
        if mhtml is not None:
            about += f" (MHTML, SHA-256 {mhtml.sha256[:16]}…)"
        if not self.isVisible():
            return  # closed while the page was read
        try:
            window = ReplayWindow(
                self, content, title=title or f"Source #{self.source_id}", about=about + "."
            )
        except OSError as exc:
            messages.error(
                self,
                f"The saved page could not be opened: its private copy could not be written "
                f"({exc.strerror or exc}). Check there is free space in the temporary folder, "
                "then try again.",
            )
            return
        self.replays.append(window)
        window.destroyed.connect(lambda _=None, w=window: self._forget_replay(w))
        window.show()
        self.replay_opened.emit()

    def _forget_replay(self, window: ReplayWindow) -> None:
        if window in self.replays:
            self.replays.remove(window)

    def done(self, result: int) -> None:
        for window in list(self.replays):  # a saved page goes with its source
            window.close()
        super().done(result)

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
