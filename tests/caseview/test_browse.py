"""Browsing a case's sources a page at a time, and resuming the signed-in user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from gate_support import approved, make_request

from caseview import accounts, browse, captures, observations
from caseview.captures import SourceRecord
from caseview.domain import Case, Role, Subject
from caseview.errors import LoginFailed, PermissionDenied, ValidationError
from caseview.justifications import JustificationRecord
from caseview.session import Session
from caseview.storage import people as people_sql


@pytest.fixture
def request_ok(
    worker: Session, second_manager: Session, case: Case, subject: Subject
) -> JustificationRecord:
    return approved(worker, second_manager, case.id, make_request([subject.id], worker.now()))


def supplied(
    worker: Session, case: Case, subject: Subject, record: JustificationRecord, title: str
) -> SourceRecord:
    """A page the family handed over (supplied material: no viewing, no meter)."""
    page = f"<html><head><title>{title}</title></head><body><p>{title}</p></body></html>"
    return captures.import_file(
        worker,
        case.id,
        page.encode(),
        url=f"https://social.example/{title.lower().replace(' ', '-')}",
        viewed_at=worker.now() - timedelta(hours=1),
        justification_id=record.id,
        subject_id=subject.id,
        origin="family",
        supplied_by="maternal grandmother",
        filename="page.html",
        attested=True,
    )


@pytest.fixture
def three(
    worker: Session, case: Case, subject: Subject, request_ok: JustificationRecord
) -> list[SourceRecord]:
    return [
        supplied(worker, case, subject, request_ok, title)
        for title in ("Beach day", "Archery club", "Camping trip")
    ]


def titles(page: browse.SourcePage) -> list[str]:
    return [row.title for row in page.rows]


def test_a_page_lists_the_case_sources_in_capture_order(
    worker: Session, case: Case, three: list[SourceRecord]
) -> None:
    page = browse.source_page(worker, case.id)
    assert (titles(page), page.total) == (["Beach day", "Archery club", "Camping trip"], 3)


def test_a_row_carries_what_the_table_shows(
    worker: Session, case: Case, subject: Subject, three: list[SourceRecord]
) -> None:
    row = browse.source_page(worker, case.id).rows[0]
    assert (row.id, row.sha256, row.origin, row.subject, row.captured_by) == (
        three[0].id,
        three[0].body_sha256,
        "supplied_by_family",
        subject.name,
        worker.actor,
    )


@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        ("title", False, ["Archery club", "Beach day", "Camping trip"]),
        ("title", True, ["Camping trip", "Beach day", "Archery club"]),
        ("captured_at", True, ["Camping trip", "Archery club", "Beach day"]),
        ("subject", False, ["Beach day", "Archery club", "Camping trip"]),
        ("captured_by", True, ["Camping trip", "Archery club", "Beach day"]),
    ],
)
def test_sorting_is_done_by_the_query(
    worker: Session,
    case: Case,
    three: list[SourceRecord],
    sort: str,
    descending: bool,
    expected: list[str],
) -> None:
    page = browse.source_page(worker, case.id, sort=sort, descending=descending)
    assert titles(page) == expected


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", ["captured_at", "title", "url", "origin", "sha256"])
def test_a_page_in_an_indexed_order_is_read_from_an_index_not_sorted(
    worker: Session, case: Case, three: list[SourceRecord], sort: str, descending: bool
) -> None:
    conn = worker.casefile.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        browse.source_page(worker, case.id, sort=sort, descending=descending)
    finally:
        conn.set_trace_callback(None)
    (ordered,) = [sql for sql in statements if "LIMIT" in sql]
    plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + ordered))
    assert "INDEX sources_case" in plan and "TEMP B-TREE" not in plan, (ordered, plan)


def test_paging_returns_the_slice_and_the_full_count(
    worker: Session, case: Case, three: list[SourceRecord]
) -> None:
    page = browse.source_page(worker, case.id, sort="title", offset=1, limit=1)
    assert (titles(page), page.total, page.offset) == (["Beach day"], 3, 1)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("camping", ["Camping trip"]),
        ("CLUB archery", ["Archery club"]),
        ("trip beach", []),
        ("100%", []),
    ],
)
def test_every_search_word_must_match(
    worker: Session, case: Case, three: list[SourceRecord], query: str, expected: list[str]
) -> None:
    page = browse.source_page(worker, case.id, query=query)
    assert (titles(page), page.total) == (expected, len(expected))


def test_a_hash_prefix_finds_its_source(
    worker: Session, case: Case, three: list[SourceRecord]
) -> None:
    page = browse.source_page(worker, case.id, query=three[1].body_sha256[:12])
    assert titles(page) == ["Archery club"]


def test_grading_shows_the_current_observations(
    worker: Session, case: Case, three: list[SourceRecord]
) -> None:
    first = observations.add(
        worker,
        three[0].id,
        "Photo shows the child at the beach.",
        domain="family_environment",
        reliability="B",
        credibility=3,
    )
    observations.add(
        worker,
        three[0].id,
        "The adult beside the child is not named.",
        domain="family_environment",
        reliability="C",
        credibility=4,
    )
    observations.revise(worker, first.id, credibility=2)
    page = browse.source_page(worker, case.id, sort="grading")
    assert [row.grading for row in page.rows] == ["B2 C4", "", ""]


def test_an_unallocated_worker_is_refused(
    other_worker: Session, case: Case, three: list[SourceRecord]
) -> None:
    with pytest.raises(PermissionDenied, match="not allocated to you"):
        browse.source_page(other_worker, case.id)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sort": "text; DROP TABLE sources"}, "not a sort key"),
        ({"limit": 0}, "Ask for 1 to"),
        ({"limit": browse.MAX_PAGE + 1}, "Ask for 1 to"),
        ({"offset": -1}, "Ask for 1 to"),
    ],
)
def test_a_bad_page_request_is_refused(
    worker: Session, case: Case, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        browse.source_page(worker, case.id, **options)  # type: ignore[arg-type]


def test_signed_in_user_reads_the_account_afresh(manager: Session, worker: Session) -> None:
    user = browse.signed_in_user(manager.casefile, worker.user.id)
    assert (user.username, user.role) == (worker.actor, Role.WORKER)


def test_a_switched_off_account_cannot_resume(manager: Session, worker: Session) -> None:
    with manager.casefile.write() as conn:
        people_sql.set_active(conn, worker.user.id, False)
    with pytest.raises(LoginFailed, match="switched off"):
        browse.signed_in_user(manager.casefile, worker.user.id)


def test_an_unknown_account_cannot_resume(manager: Session) -> None:
    with pytest.raises(LoginFailed, match="no longer exists"):
        browse.signed_in_user(manager.casefile, 999)


def test_resuming_checks_no_password(manager: Session, worker: Session) -> None:
    accounts.login(manager.casefile, worker.actor, "correct horse")
    assert browse.signed_in_user(manager.casefile, worker.user.id).active


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Michal", ["Michał Kowalski at the park"]),
        ("MICHAŁ", ["Michał Kowalski at the park"]),
        ("odegard", ["Bjørn Ødegård's birthday"]),
        ("strasse", ["Fest in der Straße"]),
        ("Straße", ["Fest in der Straße"]),
        ("cafe", ["Café trip"]),
        # A LIKE wildcard typed in is a literal character: no title has one.
        ("%", []),
    ],
)
def test_the_filter_compares_plain_letters(
    worker: Session,
    case: Case,
    subject: Subject,
    request_ok: JustificationRecord,
    query: str,
    expected: list[str],
) -> None:
    for title in (
        "Michał Kowalski at the park",
        "Bjørn Ødegård's birthday",
        "Fest in der Straße",
        "Café trip",
    ):
        supplied(worker, case, subject, request_ok, title)
    page = browse.source_page(worker, case.id, query=query)
    assert titles(page) == expected
