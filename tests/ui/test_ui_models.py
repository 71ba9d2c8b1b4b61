"""The table models, without any widget: qtmodeltester, and what each one shows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from ui_support import (
    EMERGENCY_REASON,
    Team,
    approved_request,
    complete_request,
    submitted,
    with_sources,
)

import ethics
from caseview import justifications, observations
from caseview.browse import SourcePage, SourceRow
from caseview.captures import ExposureFinding
from caseview.domain import AuditEvent
from ui import jobs
from ui.models import (
    BADGES,
    ID_ROLE,
    ROW_ROLE,
    AuditModel,
    CasesModel,
    ExposureModel,
    FindingsModel,
    JustificationsModel,
    ObservationsModel,
    QueueModel,
    SourcesModel,
    SubjectsModel,
    ViewingsModel,
)

DISPLAY = Qt.ItemDataRole.DisplayRole


def source_row(number: int, title: str = "") -> SourceRow:
    return SourceRow(
        id=number,
        captured_at=datetime(2026, 11, 20, 14, number % 60, tzinfo=UTC),
        title=title or f"Post {number}",
        url=f"https://social.example/post/{number}",
        origin="self_collected",
        method="http",
        grading="B2" if number % 2 else "",
        sha256=f"{number:064x}",
        size=1000 + number,
        media_type="text/html",
        subject="Kerry Smith",
        captured_by="wren",
    )


def page(offset: int, count: int, total: int) -> SourcePage:
    return SourcePage(tuple(source_row(n) for n in range(offset, offset + count)), total, offset)


def cell(model: object, row: int, column: int, role: int = DISPLAY) -> object:
    return model.data(model.index(row, column), role)  # type: ignore[attr-defined]


# --- every model passes qtmodeltester ---------------------------------------------------


@pytest.fixture
def overview(team: Team) -> jobs.Overview:
    approved_request(team)
    with team.session("wren") as wren:
        submitted(
            wren,
            team.case.id,
            complete_request([team.jay.id], emergency=True, emergency_reason=EMERGENCY_REASON),
        )
    return jobs.load_overview(team.who("mona"), team.case.id)


def test_cases_model(qtmodeltester: ModelTester, team: Team) -> None:
    model = CasesModel()
    model.set_rows(jobs.load_cases(team.who("mona")))
    qtmodeltester.check(model)
    assert cell(model, 0, CasesModel.REFERENCE) == "CP-2026-0042"


def test_subjects_model_shows_the_meter(
    qtmodeltester: ModelTester, overview: jobs.Overview
) -> None:
    model = SubjectsModel()
    model.set_rows(overview.subjects)
    qtmodeltester.check(model)
    meter = cell(model, 0, SubjectsModel.METER)
    assert meter == "0 looks in 90 days: clear (the 4th is stopped)"
    assert cell(model, 0, SubjectsModel.METER, Qt.ItemDataRole.ToolTipRole) == (
        overview.subjects[0].meter.message
    )


def test_justifications_model_badges_each_status(
    qtmodeltester: ModelTester, overview: jobs.Overview
) -> None:
    model = JustificationsModel()
    model.set_rows(overview.justifications)
    qtmodeltester.check(model)
    statuses = [cell(model, row, JustificationsModel.STATUS) for row in range(model.rowCount())]
    background = cell(model, 0, JustificationsModel.STATUS, Qt.ItemDataRole.BackgroundRole)
    assert sorted(statuses) == ["Approved", "Waiting for review"]  # type: ignore[type-var]
    assert isinstance(background, QBrush) and background.color() in BADGES.values()


def test_an_emergency_in_use_says_so(overview: jobs.Overview) -> None:
    model = JustificationsModel()
    model.set_rows(overview.justifications)
    texts = [cell(model, row, JustificationsModel.EMERGENCY) for row in range(2)]
    assert "Emergency: in use, review due" in texts


def test_observations_model(qtmodeltester: ModelTester, team: Team) -> None:
    [source] = with_sources(team, ("Beach day",))
    with team.session("wren") as wren:
        observations.add(
            wren,
            source.id,
            "The photo shows the child at the beach.",
            domain="family_environment",
            reliability="B",
            credibility=2,
            risks=["old_post"],
        )
    model = ObservationsModel()
    model.set_rows(jobs.load_observations(team.who("ada"), team.case.id))
    qtmodeltester.check(model)
    # Credibility 2 alone is not relied upon (relied upon is earned); the tooltip says why.
    assert [cell(model, 0, c) for c in (ObservationsModel.GRADING, ObservationsModel.RELIED)] == [
        "B2",
        "No",
    ]
    why = model.data(model.index(0, ObservationsModel.RELIED), Qt.ItemDataRole.ToolTipRole)
    assert why.startswith("Not relied upon: its own grading (credibility 2)")


def test_audit_model(qtmodeltester: ModelTester, team: Team) -> None:
    model = AuditModel()
    model.set_rows(jobs.load_audit(team.who("ada"), team.case.id))
    qtmodeltester.check(model)
    actions = [cell(model, row, AuditModel.ACTION) for row in range(model.rowCount())]
    assert actions[:2] == ["case.created", "case.allocated"]


def test_audit_details_read_as_words() -> None:
    model = AuditModel()
    model.set_rows(
        [
            AuditEvent(
                1,
                datetime(2026, 11, 24, tzinfo=UTC),
                "mona",
                "subject.added",
                "subject",
                3,
                1,
                {"name": "Kerry Smith", "handles": ["a", "b"], "date_of_birth": None},
                "0" * 64,
            )
        ]
    )
    assert cell(model, 0, AuditModel.DETAILS) == (
        "date_of_birth: none; handles: a, b; name: Kerry Smith"
    )


def test_findings_model_counts_what_blocks(qtmodeltester: ModelTester, team: Team) -> None:
    request = complete_request([team.kerry.id], question="")
    with team.session("wren") as wren:
        found = justifications.findings(wren, team.case.id, request)
    model = FindingsModel()
    model.set_rows(found)
    qtmodeltester.check(model)
    summary = cell(model, 0, FindingsModel.SUMMARY)
    assert model.blocking == len(ethics.blocking(found)) >= 1
    assert isinstance(summary, str) and summary.startswith("Must fix: ")


def test_queue_model_puts_overdue_first(qtmodeltester: ModelTester, team: Team) -> None:
    approved_request(team)
    with team.session("wren") as wren:
        submitted(wren, team.case.id, complete_request([team.jay.id]))
    model = QueueModel()
    model.set_rows(jobs.load_queue(team.who("max")))
    qtmodeltester.check(model)
    assert (model.rowCount(), cell(model, 0, QueueModel.URGENCY)) == (1, "Routine")
    assert isinstance(cell(model, 0, QueueModel.ID, ID_ROLE), int)


def test_viewings_model(qtmodeltester: ModelTester, team: Team) -> None:
    approved_request(team)
    context = jobs.load_review_context(team.who("max"), 1)
    model = ViewingsModel()
    model.set_rows([(s.name, v) for s, looks, _ in context.history for v in looks])
    qtmodeltester.check(model)


# --- the paged sources model --------------------------------------------------------------


def test_sources_model_passes_the_tester_while_paging(qtmodeltester: ModelTester) -> None:
    model = SourcesModel()
    model.set_page(page(0, 3, 10))
    qtmodeltester.check(model)
    assert (model.rowCount(), model.total) == (3, 10)


def test_sources_model_asks_for_the_next_page_once(qtbot: QtBot) -> None:
    model = SourcesModel()
    model.set_page(page(0, 200, 450))
    with qtbot.waitSignal(model.more_requested, timeout=1000) as asked:
        model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())  # already waiting: no second request
    assert (asked.args, model.canFetchMore(QModelIndex())) == ([200], False)


def test_sources_model_appends_the_next_page() -> None:
    model = SourcesModel()
    model.set_page(page(0, 200, 450))
    model.fetchMore(QModelIndex())
    model.set_page(page(200, 200, 450))
    assert (model.rowCount(), cell(model, 399, SourcesModel.TITLE)) == (400, "Post 399")


def test_sources_model_ignores_a_page_for_an_older_order() -> None:
    model = SourcesModel()
    model.set_page(page(0, 200, 450))
    model.set_page(page(400, 50, 450))
    assert model.rowCount() == 200


def test_sorting_asks_for_a_new_order_instead_of_sorting_in_memory(qtbot: QtBot) -> None:
    model = SourcesModel()
    model.set_page(page(0, 3, 3))
    with qtbot.waitSignal(model.order_changed, timeout=1000):
        model.sort(SourcesModel.TITLE, Qt.SortOrder.DescendingOrder)
    assert (model.sort_key, model.descending, cell(model, 0, SourcesModel.TITLE)) == (
        "title",
        True,
        "Post 0",
    )


def test_sources_model_shows_ungraded_and_the_hash() -> None:
    model = SourcesModel()
    model.set_page(page(0, 2, 2))
    assert [cell(model, 0, c) for c in (SourcesModel.GRADING, SourcesModel.SHA256)] == [
        "Not graded",
        f"{0:064x}",
    ]


def test_data_outside_the_rows_is_none_not_an_error() -> None:
    model = SourcesModel()
    model.set_page(page(0, 1, 1))
    assert [model.data(model.index(5, 0)), model.data(QModelIndex(), ROW_ROLE)] == [None, None]


def test_a_row_role_gives_the_dataclass() -> None:
    model = SourcesModel()
    model.set_page(page(0, 1, 1))
    row = cell(model, 0, 0, ROW_ROLE)
    assert dataclasses.is_dataclass(row) and cell(model, 0, 3, ID_ROLE) == 0


@pytest.mark.parametrize(
    ("state", "count", "expected"),
    [
        ("warn", 1, "1 look in 90 days: the next look warns (the 4th is stopped)"),
        ("stop", 3, "3 looks in 90 days: stopped"),
    ],
)
def test_the_meter_says_what_it_means_for_the_next_look(
    overview: jobs.Overview, state: str, count: int, expected: str
) -> None:
    line = overview.subjects[0]
    reading = dataclasses.replace(line.meter, state=state, count_in_window=count)
    model = SubjectsModel()
    model.set_rows([dataclasses.replace(line, meter=reading)])
    assert cell(model, 0, SubjectsModel.METER) == expected


def test_exposure_model_says_each_finding_and_its_review(qtmodeltester: ModelTester) -> None:
    model = ExposureModel()
    model.set_rows(
        [
            ExposureFinding(1, "school", "Oakfield Primary School", "I go to Oakfield", None, None),
            ExposureFinding(2, "phone", "07700 900123", "Text me on 07700", True, "wren"),
            ExposureFinding(3, "full_name", "Jay Smith", "I am Jay Smith", False, "max"),
        ]
    )
    qtmodeltester.check(model)
    assert [cell(model, r, ExposureModel.KIND) for r in range(3)] == [
        "School",
        "Phone number",
        "Full name",
    ]
    assert [cell(model, r, ExposureModel.STATE) for r in range(3)] == [
        "Not reviewed",
        "Confirmed by wren",
        "Dismissed by max",
    ]
    attention = cell(model, 0, ExposureModel.STATE, Qt.ItemDataRole.BackgroundRole)
    assert isinstance(attention, QBrush) and attention.color() == BADGES["attention"]
    assert cell(model, 1, ExposureModel.VALUE, ID_ROLE) == 2
