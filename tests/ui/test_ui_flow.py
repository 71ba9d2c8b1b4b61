"""One whole piece of work through the windows: request, approval, capture, export, verify.

The observation and the note are written through the services: their editors are not
in the app yet (the tabs show them read-only).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, complete_request, local_site

from caseview import notes, observations
from ui import tasks
from ui.capture import CaptureDialog
from ui.main_window import MainWindow

WAIT = 15_000


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CASEVIEW_ALLOW_HOSTS", "127.0.0.1")
    with local_site() as base:
        yield base


def window_for(qtbot: QtBot, team: Team, name: str) -> MainWindow:
    window = MainWindow(team.who(name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(
        lambda: window.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    return window


def test_request_approve_capture_export_verify(
    qtbot: QtBot, team: Team, site: str, boxes: Boxes, tmp_path: Path
) -> None:
    # The worker writes the request in the wizard and submits it.
    worker = window_for(qtbot, team, "wren")
    qtbot.mouseClick(worker.case_view.new_request_button, Qt.MouseButton.LeftButton)
    wizard = worker.wizard
    qtbot.waitUntil(lambda: wizard.context is not None and tasks.running() == 0, timeout=WAIT)
    with qtbot.waitSignal(wizard.findings_updated, timeout=WAIT):
        wizard.fill(complete_request([team.kerry.id], scope_hosts=("127.0.0.1",)))
        wizard.compute_findings()
    with qtbot.waitSignal(wizard.saved, timeout=WAIT) as submitted:
        qtbot.mouseClick(wizard.submit_button, Qt.MouseButton.LeftButton)
    request_id = submitted.args[0].id

    # Another manager approves it from the queue.
    manager = window_for(qtbot, team, "max")
    manager.open_review_queue()
    queue = manager.review_queue
    qtbot.waitUntil(lambda: queue.entry is not None and tasks.running() == 0, timeout=WAIT)
    assert queue.entry is not None and queue.entry.record.id == request_id
    with qtbot.waitSignal(queue.decided, timeout=WAIT):
        qtbot.mouseClick(queue.approve_button, Qt.MouseButton.LeftButton)

    # The worker captures the page from the local site.
    worker.case_view.refresh()
    qtbot.mouseClick(worker.case_view.capture_button, Qt.MouseButton.LeftButton)
    capture = worker.findChild(CaptureDialog, "captureDialog")
    assert capture is not None
    qtbot.waitUntil(lambda: capture.request.count() == 1, timeout=WAIT)
    qtbot.keyClicks(capture.url, f"{site}/kerry")
    capture.attest.setChecked(True)
    with qtbot.waitSignal(capture.captured, timeout=WAIT) as captured:
        qtbot.mouseClick(capture.capture_button, Qt.MouseButton.LeftButton)
    source_id = captured.args[0]
    qtbot.waitUntil(lambda: worker.case_view.sources.model.total == 1, timeout=WAIT)

    # Observation and note (no editors in the app yet), then the export.
    with team.session("wren") as wren:
        observations.add(
            wren,
            source_id,
            "Kerry's page mentions a barbecue with 'Dan' on Saturday.",
            domain="family_environment",
            reliability="B",
            credibility=3,
            risks=["identity_uncertain"],
        )
        notes.save(wren, team.case.id, analysis="The page names a 'Dan'; who he is is unknown.")
    worker.refresh()
    qtbot.waitUntil(lambda: worker.case_view.observations.model.rowCount() == 1, timeout=WAIT)
    if importlib.util.find_spec("caseview.report.pdf") is not None:
        boxes.save_to = tmp_path / "note.pdf"
        worker.case_view.export_pdf()
        qtbot.waitUntil(lambda: bool(boxes.confirms), timeout=WAIT)
    else:
        boxes.save_to = tmp_path / "captures.warc.gz"
        shown = len(boxes.infos)
        worker.case_view.export_warc()
        qtbot.waitUntil(lambda: len(boxes.infos) > shown, timeout=WAIT)
        assert boxes.infos[-1] == f"Saved 1 capture to {boxes.save_to}."
    assert boxes.save_to.stat().st_size > 0

    # The auditor verifies the whole case file.
    auditor = window_for(qtbot, team, "ada")
    auditor.verify()
    result = auditor.case_view.audit.verify_result
    qtbot.waitUntil(lambda: result.text().startswith("Intact."), timeout=WAIT)
    assert (boxes.errors, boxes.crashes) == ([], [])
