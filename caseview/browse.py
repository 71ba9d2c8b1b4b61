"""Read queries for browsing: a case's sources a page at a time, and the signed-in user.

The desktop app's sources table asks for one page at a time, sorted and filtered in
SQL, so a case with 10,000 sources opens and re-sorts at once. Every query checks that
the user may read the case, like every other service.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from caseview.accounts import user_from_row
from caseview.clock import from_iso
from caseview.domain import User
from caseview.errors import LoginFailed, ValidationError
from caseview.permissions import case_for_reading
from caseview.session import Session
from caseview.storage import Store
from caseview.storage import browse as sql
from caseview.storage import people as people_sql

SORT_KEYS = tuple(sql.SORTS)
MAX_PAGE = 1000


@dataclass(frozen=True)
class SourceRow:
    """What one line of a sources table shows (the full record: ``captures.get``)."""

    id: int
    captured_at: datetime
    title: str
    url: str
    origin: str
    method: str
    grading: str
    """The grades of its current observations, e.g. ``"B2 C3"``; empty when ungraded."""
    sha256: str
    size: int
    media_type: str
    subject: str
    captured_by: str


@dataclass(frozen=True)
class SourcePage:
    """One page of a case's sources, and how many sources match in all."""

    rows: tuple[SourceRow, ...]
    total: int
    offset: int


def _row(row: sqlite3.Row) -> SourceRow:
    return SourceRow(
        id=int(row["id"]),
        captured_at=from_iso(row["captured_started_at"]),
        title=str(row["title"] or ""),
        url=str(row["final_url"] or row["requested_url"]),
        origin=str(row["origin"]),
        method=str(row["method"]),
        grading=str(row["grading"] or ""),
        sha256=str(row["body_sha256"]),
        size=int(row["body_size"]),
        media_type=str(row["media_type"] or ""),
        subject=str(row["subject_name"]),
        captured_by=str(row["captured_by_name"]),
    )


def search_words(query: str) -> tuple[str, ...]:
    """The words of a search box; each must match (title, address, hash, subject, origin)."""
    return tuple(word for word in query.split() if word)


def source_page(
    session: Session,
    case_id: int,
    *,
    query: str = "",
    sort: str = "captured_at",
    descending: bool = False,
    offset: int = 0,
    limit: int = 200,
) -> SourcePage:
    """A page of the case's sources, sorted by ``sort`` (one of :data:`SORT_KEYS`)."""
    if sort not in sql.SORTS:
        raise ValidationError(f"'{sort}' is not a sort key. Use one of {', '.join(SORT_KEYS)}.")
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"Ask for 1 to {MAX_PAGE} sources from offset 0 or more.")
    case_for_reading(session, case_id)
    words = search_words(query)
    with session.casefile.read() as conn:
        total = sql.count_sources(conn, case_id, words)
        rows = sql.source_page(
            conn, case_id, words, sort=sort, descending=descending, offset=offset, limit=limit
        )
    return SourcePage(tuple(_row(row) for row in rows), total, offset)


def signed_in_user(casefile: Store, user_id: int) -> User:
    """The account of someone this process has already authenticated, read afresh.

    For the desktop app's background threads, which each open their own connection
    and act for the user who logged in through :func:`caseview.accounts.login`. It
    checks no password (never call it with an id a person typed), but a switched-off
    account, or a changed role, takes effect on the very next action.
    """
    row = people_sql.user_by_id(casefile.conn, user_id)
    if row is None:
        raise LoginFailed("Your account no longer exists in this case file. Log in again.")
    user = user_from_row(row)
    if not user.active:
        raise LoginFailed(
            f"The account '{user.username}' has been switched off. Ask a manager to switch it on."
        )
    return user
