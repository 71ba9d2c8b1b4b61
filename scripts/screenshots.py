"""Screenshots of the desktop app's main screens, from the demo case file, offscreen.

    uv run python scripts/screenshots.py            # writes docs/screenshots/*.png

Builds the fictional demo case file (``caseview.demo``: requests in each state, captures,
observations and a note) in a temporary folder, opens the app on it without a screen
(Qt's offscreen platform) and saves one PNG per screen, so the pictures in the README
always show the current app. Look at each one after a change to the UI.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSize  # after the platform is chosen, above
from PySide6.QtWidgets import QApplication, QWidget

from caseview import demo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SIZE = QSize(1280, 800)


def pump(app: QApplication, seconds: float = 0.4) -> None:
    """Let background loads finish and the screen settle."""
    from ui import tasks

    end = time.monotonic() + seconds
    while time.monotonic() < end or tasks.running():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end + 20:
            raise RuntimeError("background work did not finish within 20 s")


def shoot(app: QApplication, widget: QWidget, name: str) -> Path:
    pump(app)
    target = OUT / f"{name}.png"
    widget.grab().save(str(target))
    print(f"wrote {target.relative_to(ROOT)}")
    return target


def supplied_by_grandmother(dialog: QWidget | None) -> None:
    """The import form filled in for the page the grandmother saved (supplied material)."""
    from ui.import_dialog import ImportDialog

    assert isinstance(dialog, ImportDialog)
    dialog.origin.setCurrentIndex(dialog.origin.findData("family"))
    dialog.supplied_by.setText("Jordan's grandmother")
    dialog.url.setText(demo.SUPPLIED_URL)


def main() -> int:
    from ui import jobs
    from ui.app import open_main_window
    from ui.browser import prepare_environment

    OUT.mkdir(parents=True, exist_ok=True)
    prepare_environment()
    # The demo's pages, served here for the evidence browser (as `caseview demo` does).
    chromium = ["--webEngineArgs", demo.serve_for_browsing().resolver_rules()]
    app = QApplication.instance() or QApplication([*sys.argv[:1], *chromium])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory() as folder:
        path = demo.build(Path(folder) / "demo.db")
        worker = open_main_window(
            path, jobs.sign_in(path, "demo-worker", demo.PASSWORD), demo_banner=True
        )
        worker.resize(SIZE)
        pump(app, 1.0)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("main-overview", lambda: worker.case_view.show_tab(0)),
            ("main-sources", lambda: worker.case_view.show_tab(1)),
            ("main-observations", lambda: worker.case_view.show_tab(2)),
            ("main-note", lambda: worker.case_view.show_tab(3)),
            ("main-audit", lambda: worker.case_view.show_tab(4)),
        ]
        for name, step in steps:
            step()
            shoot(app, worker, name)
        worker.case_view.audit.verify()
        shoot(app, worker, "main-audit-verified")

        case = worker.current_case()
        assert case is not None
        worker.open_wizard(case.id)
        wizard = worker.wizard
        wizard.resize(SIZE)
        pump(app, 1.0)
        wizard.question.setPlainText("Who is the man in the barbecue photos?")
        wizard.safety.setPlainText(str(demo.LEE["safety_case"]))
        wizard.ethics_case.setPlainText("It intrudes.")
        wizard.compute_findings()
        shoot(app, wizard, "justification-wizard")
        wizard.dirty = False
        wizard.hide()

        # The worker's dialogs: a source's provenance, an observation, the note, import.
        saved = Path(folder) / "post-saved-by-grandmother.html"
        saved.write_bytes(demo.page_bytes(demo.SUPPLIED_PAGE))
        from ui.capture import CaptureDialog
        from ui.import_dialog import ImportDialog
        from ui.note_editor import NoteEditor
        from ui.observation_editor import ObservationEditor
        from ui.source_view import SourceDetailDialog

        worker.case_view.show_tab(1)
        pump(app, 0.5)
        first_source = worker.case_view.sources.model.index(0, 0)
        worker.case_view.sources.view.setCurrentIndex(first_source)
        worker.case_view.sources.view.activated.emit(first_source)
        dialogs: list[tuple[str, type[QWidget], Callable[[], object]]] = [
            ("source-detail", SourceDetailDialog, lambda: None),
            (
                "observation-editor",
                ObservationEditor,
                lambda: (
                    worker.case_view.show_tab(2),
                    worker.case_view.observations.view.setCurrentIndex(
                        worker.case_view.observations.model.index(0, 0)
                    ),
                    worker.case_view.observations.edit_button.click(),
                ),
            ),
            (
                "note-editor",
                NoteEditor,
                lambda: (worker.case_view.show_tab(3), worker.case_view.note.edit_button.click()),
            ),
            (
                "import-dialog",
                ImportDialog,
                lambda: supplied_by_grandmother(worker.open_import(saved)),
            ),
            ("capture-dialog", CaptureDialog, lambda: worker.open_capture(case.id)),
        ]
        for name, kind, open_it in dialogs:
            open_it()
            pump(app, 1.0)
            found = worker.findChildren(kind)
            if not found:
                raise RuntimeError(f"{name}: the dialog did not open")
            dialog = found[-1]
            # Forms at their natural height; the tall editors at a laptop-sized one.
            tall = name in ("source-detail", "observation-editor", "note-editor")
            dialog.resize(dialog.sizeHint().expandedTo(QSize(900, 640 if tall else 0)))
            shoot(app, dialog, name)
            if hasattr(dialog, "dirty"):
                dialog.dirty = False
            dialog.close()
            pump(app, 0.2)

        # The club page about Jordan (a child): its exposure indicators, for review.
        model = worker.case_view.sources.model
        child_rows = [r for r in model.rows if r.subject.startswith("Jordan")]
        if child_rows:
            worker.open_source(child_rows[0].id)
            pump(app, 1.0)
            detail = worker.findChildren(SourceDetailDialog)[-1]
            detail.tabs.setCurrentIndex(2)
            detail.resize(QSize(900, 640))
            shoot(app, detail, "source-exposure")
            detail.close()

        manager = open_main_window(
            path, jobs.sign_in(path, "demo-manager", demo.PASSWORD), demo_banner=True
        )
        manager.resize(SIZE)
        manager.open_review_queue()
        manager.review_queue.resize(SIZE)
        pump(app, 1.0)
        shoot(app, manager.review_queue, "review-queue")
        manager.review_queue.hide()

        # The auditor's audit log of the whole file, a mistyped password included.
        from caseview.errors import CaseviewError

        with contextlib.suppress(CaseviewError):  # the failed login the audit log shows
            jobs.sign_in(path, "demo-auditor", "not the password")
        auditor = open_main_window(
            path, jobs.sign_in(path, "demo-auditor", demo.PASSWORD), demo_banner=True
        )
        auditor.resize(SIZE)
        pump(app, 1.0)
        file_audit = auditor.open_file_audit()
        file_audit.resize(SIZE)
        pump(app, 1.0)
        if file_audit.loaded is None:
            raise RuntimeError("file-audit-log: the events did not load")
        shoot(app, file_audit, "file-audit-log")
        file_audit.close()
        browser_shots(app, worker)
        for window in (worker, manager, auditor):
            window.close()
        pump(app, 0.2)
    return 0


def browser_shots(app: QApplication, worker: QWidget) -> None:
    """The evidence browser on the demo's profile page, and a page out of scope refused
    (the demo leaves one look for it)."""
    from ui.browser.window import EvidenceBrowser
    from ui.main_window import MainWindow

    assert isinstance(worker, MainWindow)
    case = worker.current_case()
    assert case is not None
    dialog = worker.open_browse(case.id)
    pump(app, 1.0)
    if dialog is None:
        raise RuntimeError("evidence-browser: the engine cannot start here")
    if dialog.request.count() == 0:
        raise RuntimeError("evidence-browser: the demo has no request with a look left")
    dialog.attest.setChecked(True)
    dialog.capture_button.click()
    pump(app, 2.0)
    if not worker.browser_windows:
        raise RuntimeError("evidence-browser: the window did not open")
    browser = worker.browser_windows[-1]
    assert isinstance(browser, EvidenceBrowser)
    browser.resize(SIZE)
    deadline = time.monotonic() + 20
    while not browser.engine.pages() and time.monotonic() < deadline:
        pump(app, 0.2)
    pump(app, 1.0)
    shoot(app, browser, "evidence-browser")
    browser.address.setText("https://elsewhere.example/alex")
    browser.go()
    pump(app, 1.0)
    shoot(app, browser, "evidence-browser-refused")
    browser.close()
    pump(app, 0.5)


if __name__ == "__main__":
    raise SystemExit(main())
