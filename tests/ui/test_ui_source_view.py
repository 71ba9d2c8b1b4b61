"""The source detail view: exposure indicators and other people on the page (collateral
intrusion) reviewed, evidence and WARC saved (logged)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, complete_request, local_site, submitted, with_sources

import collectors
from caseview import audit, captures, cases, justifications
from caseview.captures import ExposureFinding, SourceRecord
from ui import tasks
from ui.models import ExposureModel
from ui.source_view import COLLATERAL_WORDS, CollateralModel, SourceDetailDialog

WAIT = 15_000


@pytest.fixture
def jay_page(monkeypatch: pytest.MonkeyPatch, team: Team) -> Iterator[SourceRecord]:
    """Jay's own public page (name, school, phone), captured under an approved request."""
    monkeypatch.setenv("CASEVIEW_ALLOW_HOSTS", "127.0.0.1")
    with local_site() as base:
        with team.session("wren") as wren:
            request = complete_request([team.jay.id], scope_hosts=("127.0.0.1",))
            record = submitted(wren, team.case.id, request)
        with team.session("max") as max_:
            justifications.review(max_, record.id, "approve", "Proportionate; one look.")
        with team.session("wren") as wren:
            yield captures.capture_url(
                wren,
                team.case.id,
                f"{base}/jay",
                justification_id=record.id,
                subject_id=team.jay.id,
                attested=True,
            )


def open_view(qtbot: QtBot, team: Team, name: str, source_id: int) -> SourceDetailDialog:
    view = SourceDetailDialog(None, team.who(name), source_id)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.detail is not None and tasks.running() == 0, timeout=WAIT)
    return view


def row_of(view: SourceDetailDialog, kind: str) -> int:
    return next(i for i, f in enumerate(view.exposure.rows) if f.kind == kind)


def state(view: SourceDetailDialog, row: int) -> str:
    return str(view.exposure.index(row, ExposureModel.STATE).data())


def actions(team: Team) -> list[str]:
    with team.session("mona") as mona:
        return [e.action for e in audit.list_events(mona, team.case.id)]


@pytest.mark.parametrize(
    ("button", "expected"),
    [("confirm_button", "Confirmed by wren"), ("dismiss_button", "Dismissed by wren")],
)
def test_a_worker_reviews_a_finding(
    qtbot: QtBot, team: Team, jay_page: SourceRecord, button: str, expected: str
) -> None:
    view = open_view(qtbot, team, "wren", jay_page.id)
    school = row_of(view, "school")
    assert state(view, school) == "Not reviewed"
    view.exposure_view.selectRow(school)
    qtbot.mouseClick(getattr(view, button), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state(view, row_of(view, "school")) == expected, timeout=WAIT)
    qtbot.waitUntil(lambda: not view.reviewing, timeout=WAIT)
    assert view.selected_finding() == jay_page.exposure[school].id  # still selected
    assert actions(team).count("exposure.reviewed") == 1


def test_review_buttons_wait_for_a_selection(
    qtbot: QtBot, team: Team, jay_page: SourceRecord
) -> None:
    view = open_view(qtbot, team, "wren", jay_page.id)
    assert not view.confirm_button.isEnabled()
    assert "Select an indicator" in view.confirm_button.toolTip()
    view.exposure_view.selectRow(0)
    assert view.confirm_button.isEnabled() and view.dismiss_button.isEnabled()


def test_an_auditor_sees_the_review_buttons_off(
    qtbot: QtBot, team: Team, jay_page: SourceRecord
) -> None:
    view = open_view(qtbot, team, "ada", jay_page.id)
    view.exposure_view.selectRow(0)
    assert not view.confirm_button.isEnabled() and not view.dismiss_button.isEnabled()
    assert "signed in as an auditor" in view.dismiss_button.toolTip()


def test_a_closed_case_has_the_review_buttons_off(
    qtbot: QtBot, team: Team, jay_page: SourceRecord
) -> None:
    with team.session("mona") as mona:
        cases.set_status(mona, team.case.id, "closed")
    view = open_view(qtbot, team, "wren", jay_page.id)
    view.exposure_view.selectRow(0)
    assert not view.confirm_button.isEnabled()
    assert "is closed" in view.confirm_button.toolTip()


def test_saving_the_evidence_file_writes_it_and_logs_it(
    qtbot: QtBot, team: Team, jay_page: SourceRecord, boxes: Boxes, tmp_path: Path
) -> None:
    boxes.save_to = tmp_path / "jay.html"
    view = open_view(qtbot, team, "ada", jay_page.id)
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tasks.running() == 0 and bool(boxes.infos), timeout=WAIT)
    with team.session("ada") as ada:
        assert boxes.save_to.read_bytes() == captures.evidence_bytes(ada, jay_page.id)
    assert "export.evidence" in actions(team)


def test_saving_the_warc_writes_a_valid_file_and_logs_it(
    qtbot: QtBot, team: Team, jay_page: SourceRecord, boxes: Boxes, tmp_path: Path
) -> None:
    boxes.save_to = tmp_path / "jay.warc.gz"
    view = open_view(qtbot, team, "wren", jay_page.id)
    assert view.warc_button.isEnabled()
    qtbot.mouseClick(view.warc_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tasks.running() == 0 and bool(boxes.infos), timeout=WAIT)
    assert collectors.check_warc(io.BytesIO(boxes.save_to.read_bytes())) == ()
    assert "export.source_warc" in actions(team)
    assert boxes.errors == []


def test_an_imported_file_offers_no_warc(qtbot: QtBot, team: Team) -> None:
    [source] = with_sources(team, ("Beach day",))
    view = open_view(qtbot, team, "wren", source.id)
    assert not view.warc_button.isEnabled()
    assert "no WARC records" in view.warc_button.toolTip()
    assert view.exposure.rowCount() == 0


def test_other_people_on_a_page_are_listed_apart_for_review(qtbot: QtBot, team: Team) -> None:
    [source] = with_sources(team, ("My friend's son Leo Barnes, 6, goes to Oakfield Primary",))
    view = open_view(qtbot, team, "wren", source.id)
    assert view.exposure.rowCount() == 0
    assert view.collateral.rowCount() == 1
    kind = view.collateral.index(0, CollateralModel.KIND).data()
    context = view.collateral.index(0, CollateralModel.CONTEXT).data()
    assert (kind, context) == (
        "Another child's details",
        "My friend's son Leo Barnes, 6, goes to Oakfield Primary",
    )
    assert "Do not record or rely on their details" in view.collateral_note.text()
    assert not view.confirm_collateral_button.isEnabled()
    view.collateral_view.selectRow(0)
    qtbot.mouseClick(view.dismiss_collateral_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: view.collateral.index(0, CollateralModel.STATE).data() == "Dismissed by wren",
        timeout=WAIT,
    )
    qtbot.waitUntil(lambda: not view.reviewing, timeout=WAIT)
    assert actions(team).count("exposure.reviewed") == 1


def test_the_collateral_model_says_each_finding_in_words(qtmodeltester: ModelTester) -> None:
    model = CollateralModel()
    model.set_rows(
        [
            ExposureFinding(1, "collateral_child", "Leo (age 6)", "her son Leo, 6,", None, None),
            ExposureFinding(
                2, "collateral_many_people", "a team photo", "Team photo!", True, "max"
            ),
        ]
    )
    qtmodeltester.check(model)
    kinds = [model.index(r, CollateralModel.KIND).data() for r in range(2)]
    assert kinds == ["Another child's details", "Many people on the page"]
    assert model.index(1, CollateralModel.STATE).data() == "Confirmed by max"


def test_the_collateral_words_are_the_collectors_kinds() -> None:
    assert COLLATERAL_WORDS == collectors.COLLATERAL_KINDS
