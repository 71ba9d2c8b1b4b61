"""Viewing sessions in the evidence browser: one look, gated before anything loads.

A worker opens the evidence browser from a case under an approved request and a person,
and re-attests. :func:`start` puts the session to the gate (``ethics.BROWSE``: status,
expiry, scope of the first address, planned viewings, the meter, the promises) and
records it as ONE completed look, whatever pages it then shows: the meter counts the
session once. It ends when the window closes (:func:`end`) or at the policy's maximum
length, and a new session is a new look.

Inside a session every top-level navigation is put to the gate again
(``ethics.NAVIGATE``: the request still usable and in date, the address in scope, not
another person's page) by :func:`navigate`; a refusal is recorded exactly like a refused
capture (a refused viewing and ``viewing.refused``). Each page shown is logged
(:func:`log_page`), each request the page made (:func:`log_requests`), and each thing the
browser refused the page (:func:`log_blocked`); all are audit events. "Capture this page"
(:func:`capture`) stores a ``rendered`` source through ``captures.store_rendered``.

This module is Qt-free: the browser (``ui.browser``) hands it plain data.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ethics
from caseview import audit, captures, justifications, policy, viewings
from caseview.clock import from_iso, to_iso
from caseview.errors import NotFound, PermissionDenied, ValidationError
from caseview.permissions import case_for_looking, case_for_reading
from caseview.session import Session
from caseview.storage import browsing as sql
from caseview.storage import people as people_sql
from caseview.viewings import Permission
from collectors import rendered

RULE_SESSION_ENDED = "session_ended"
"""The rule that refuses a navigation or capture after the session ended or ran out."""
PAGE_HOWS = ("load", "same_document")
MAX_LOGGED_URL = 8192
"""Longer addresses are kept cut, with the cut marked (a page can make any address)."""
MAX_REQUESTS_PER_EVENT = 500
MAX_REQUESTS_PER_SESSION = 20_000
"""Beyond this a session's further requests are counted, not listed one by one."""
MAX_TITLE = 2000
MAX_HEADERS = 200
MAX_HEADER_VALUE = 8192
"""A page chooses its own title and a server its headers: what is logged is bounded."""


@dataclass(frozen=True)
class BrowseSession:
    """One viewing session: one look at one person under one request."""

    id: int
    """The session's viewing id."""
    case_id: int
    justification_id: int
    subject_id: int
    subject_name: str
    user: str
    start_url: str
    started_at: datetime
    ends_by: datetime
    ended_at: datetime | None
    end_reason: str | None
    capture_every_page: bool
    meter: ethics.MeterReading | None = None
    warnings: tuple[str, ...] = ()

    @property
    def max_minutes(self) -> int:
        return round((self.ends_by - self.started_at).total_seconds() / 60)

    def open_at(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.ends_by


PageView = rendered.PageShown
"""One top-level page the browser showed, or an in-page address change."""
RequestEntry = rendered.RequestSeen
"""One request the page made (sub-resources too), or one the browser blocked."""


def _log(
    conn: Any,
    session: Session,
    found: BrowseSession,
    action: str,
    now: datetime,
    data: dict[str, object],
) -> None:
    """One audit event about the session, inside the caller's write transaction."""
    audit.record(
        conn,
        at=now,
        actor=session.actor,
        action=action,
        entity="viewing",
        entity_id=found.id,
        case_id=found.case_id,
        data=data,
    )


def _clip(url: str) -> str:
    return url if len(url) <= MAX_LOGGED_URL else url[:MAX_LOGGED_URL] + "…[cut]"


def _session(session: Session, viewing_id: int) -> BrowseSession:
    row = sql.session(session.casefile.conn, viewing_id)
    if row is None:
        raise NotFound(f"There is no viewing session {viewing_id}.")
    case_for_reading(session, int(row["case_id"]))
    subject = people_sql.subject_by_id(session.casefile.conn, int(row["subject_id"]))
    rules = policy.current(session.casefile)
    return BrowseSession(
        id=viewing_id,
        case_id=int(row["case_id"]),
        justification_id=int(row["justification_id"]),
        subject_id=int(row["subject_id"]),
        subject_name=str(subject["name"]) if subject is not None else "",
        user=str(row["username"]),
        start_url=str(row["start_url"]),
        started_at=from_iso(row["started_at"]),
        ends_by=from_iso(row["ends_by"]),
        ended_at=from_iso(row["ended_at"]) if row["ended_at"] else None,
        end_reason=row["end_reason"],
        capture_every_page=rules.browse_capture_every_page,
    )


def get(session: Session, viewing_id: int) -> BrowseSession:
    """The session as stored (access checked)."""
    return _session(session, viewing_id)


def start(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    *,
    attested: bool,
) -> BrowseSession:
    """Open a viewing session, if the gate allows it: one look, counted now.

    A refusal is recorded as a refused look (``viewing.refused``) and raised as
    ``GateRefused``; nothing loads. The check runs again inside the write transaction,
    so two sessions cannot both take the last planned viewing.
    """
    viewings.authorise(
        session, case_id, justification_id, subject_id, url, attested=attested, kind="browse"
    )
    rules = policy.current(session.casefile)
    viewing_id = 0
    with session.casefile.write() as conn:
        permission = viewings.check(
            session, case_id, justification_id, subject_id, url, attested=attested, kind="browse"
        )
        if permission.allowed:
            now = session.now()
            ends_by = now + timedelta(minutes=rules.browse_session_max_minutes)
            viewing_id = viewings.record_completed(
                conn,
                session,
                permission,
                case_id,
                subject_id,
                url,
                ethics.BROWSE,
                attested=attested,
                data={
                    "session": {
                        "ends_by": to_iso(ends_by),
                        "max_minutes": rules.browse_session_max_minutes,
                        "capture_every_page": rules.browse_capture_every_page,
                    }
                },
                logged_at=now,
            )
            sql.insert_session(
                conn,
                {
                    "viewing_id": viewing_id,
                    "case_id": case_id,
                    "justification_id": justification_id,
                    "subject_id": subject_id,
                    "user_id": session.user.id,
                    "start_url": url,
                    "started_at": to_iso(now),
                    "ends_by": to_iso(ends_by),
                },
            )
    if not permission.allowed:
        viewings.refuse(session, permission, case_id, justification_id, subject_id, url, "browse")
    return dataclasses.replace(
        _session(session, viewing_id), meter=permission.meter, warnings=permission.warnings
    )


def _own_open_session(session: Session, viewing_id: int) -> tuple[BrowseSession, Permission | None]:
    """The session, if it is this user's; with a refusal when it has ended or run out."""
    found = _session(session, viewing_id)
    if found.user != session.actor:
        raise PermissionDenied(
            "Only the worker who opened a viewing session can use it; open your own.",
            rule="not_your_session",
        )
    case_for_looking(session, found.case_id)
    now = session.now()
    if found.ended_at is not None or now >= found.ends_by:
        when = "ended" if found.ended_at is not None else "reached its maximum length"
        return found, Permission(
            False,
            RULE_SESSION_ENDED,
            f"This viewing session has {when}. Open a new session to look again; it will "
            "count as a new look.",
            "",
            None,
            None,
        )
    return found, None


def check_navigation(session: Session, viewing_id: int, url: str) -> Permission:
    """May the session's browser go to ``url`` now? Nothing is recorded."""
    found, ended = _own_open_session(session, viewing_id)
    if ended is not None:
        return ended
    record = justifications.get(session, found.justification_id)
    return viewings.decide(session, record, ethics.NAVIGATE, found.subject_id, url)


def navigate(session: Session, viewing_id: int, url: str, kind: str) -> str | None:
    """Put one top-level navigation to the gate: None to go ahead, else the message to
    show; a refusal is recorded as a refused look (``viewing.refused``), as for a
    capture. ``kind`` says how it started (typed, link, redirect, pop-up, ...)."""
    permission = check_navigation(session, viewing_id, url)
    if permission.allowed:
        return None
    found = _session(session, viewing_id)
    viewings.record_refusal(
        session,
        permission,
        found.case_id,
        found.justification_id,
        found.subject_id,
        _clip(url),
        ethics.BROWSE,
    )
    rule = permission.rule or "gate"
    return f"Refused ({rule}): {permission.message}"


def log_page(session: Session, viewing_id: int, page: PageView) -> int:
    """Log one page the session showed (an audit event with the row); its id."""
    if page.how not in PAGE_HOWS:
        raise ValidationError(
            f"A page is shown by one of {', '.join(PAGE_HOWS)}, not {page.how!r}."
        )
    found, _ = _own_open_session(session, viewing_id)  # logged even once it ran out
    now = session.now()
    headers = [
        [str(name)[:MAX_HEADER_VALUE], str(value)[:MAX_HEADER_VALUE]]
        for name, value in page.headers[:MAX_HEADERS]
    ]
    row = {
        "viewing_id": viewing_id,
        "at": to_iso(page.at),
        "url": _clip(page.url),
        "title": None if page.title is None else page.title[:MAX_TITLE],
        "http_status": page.http_status,
        "response_headers": json.dumps(headers),
        "document_sha256": page.document_sha256,
        "how": page.how,
    }
    with session.casefile.write() as conn:
        page_id = sql.insert_page(conn, row)
        _log(
            conn,
            session,
            found,
            "browse.page",
            now,
            {**row, "page_id": page_id, "response_headers": headers},
        )
    return page_id


def log_requests(session: Session, viewing_id: int, entries: Sequence[RequestEntry]) -> None:
    """Append requests the page made to the session's request log (audit events in
    batches of :data:`MAX_REQUESTS_PER_EVENT`)."""
    if not entries:
        return
    found, _ = _own_open_session(session, viewing_id)
    now = session.now()
    rows = [
        {
            "viewing_id": viewing_id,
            "at": to_iso(e.at),
            "url": _clip(e.url),
            "method": e.method[:16],
            "resource_type": e.resource_type[:32],
            "status": e.status,
            "blocked": 1 if e.blocked else 0,
            "reason": e.reason,
        }
        for e in entries
    ]
    with session.casefile.write() as conn:
        room = max(0, MAX_REQUESTS_PER_SESSION - sql.request_count(conn, viewing_id))
        rows, beyond = rows[:room], len(rows) - min(room, len(rows))
        sql.insert_requests(conn, rows)
        if beyond:
            _log(
                conn,
                session,
                found,
                "browse.requests",
                now,
                {"requests": [], "not_listed": beyond},
            )
        for start_at in range(0, len(rows), MAX_REQUESTS_PER_EVENT):
            batch = rows[start_at : start_at + MAX_REQUESTS_PER_EVENT]
            _log(
                conn,
                session,
                found,
                "browse.requests",
                now,
                {
                    "requests": [
                        [
                            r["at"],
                            r["method"],
                            r["resource_type"],
                            r["status"],
                            r["blocked"],
                            r["url"],
                            r["reason"],
                        ]
                        for r in batch
                    ]
                },
            )


def log_blocked(session: Session, viewing_id: int, what: str, url: str, detail: str) -> None:
    """Record something the browser refused the page: a POST, a form, a download, a
    permission, a pop-up window."""
    found, _ = _own_open_session(session, viewing_id)
    now = session.now()
    with session.casefile.write() as conn:
        _log(
            conn,
            session,
            found,
            "browse.blocked",
            now,
            {"what": what[:64], "url": _clip(url), "detail": detail[:2000]},
        )


def end(session: Session, viewing_id: int, reason: str = "closed") -> BrowseSession:
    """End the session (window closed, time up, signed out); ending twice does nothing."""
    found = _session(session, viewing_id)
    if found.user != session.actor:
        raise PermissionDenied(
            "Only the worker who opened a viewing session can end it.", rule="not_your_session"
        )
    if found.ended_at is not None:
        return found
    now = session.now()
    with session.casefile.write() as conn:
        if sql.end_session(conn, viewing_id, to_iso(now), reason[:64]):
            _log(
                conn,
                session,
                found,
                "browse.ended",
                now,
                {"reason": reason[:64], "ended_at": to_iso(now)},
            )
    return _session(session, viewing_id)


def capture(
    session: Session, viewing_id: int, page: captures.RenderedPage
) -> captures.SourceRecord:
    """Keep the page shown in the session as a ``rendered`` source. The session is the
    look (already counted), so the capture uses no planned viewing; it needs the session
    open and every address of the page in scope, checked again under the write lock."""
    found, ended = _own_open_session(session, viewing_id)
    if ended is not None:
        viewings.refuse(
            session,
            ended,
            found.case_id,
            found.justification_id,
            found.subject_id,
            _clip(page.url),
            "capture",
        )
    return captures.store_rendered(
        session,
        found.case_id,
        found.justification_id,
        found.subject_id,
        page,
        attested=True,
        kind="capture",
        browse_session=viewing_id,
        session_check=lambda visited: recheck_capture(session, viewing_id, visited),
    )


def recheck_capture(session: Session, viewing_id: int, visited: Sequence[str]) -> Permission:
    """Under the write lock: the session still open and every address in scope."""
    found, ended = _own_open_session(session, viewing_id)
    if ended is not None:
        return ended
    record = justifications.get(session, found.justification_id)
    permission: Permission | None = None
    for address in visited:
        permission = viewings.decide(session, record, ethics.NAVIGATE, found.subject_id, address)
        if not permission.allowed:
            return permission
    assert permission is not None
    return permission


def pages(session: Session, viewing_id: int) -> list[PageView]:
    """The pages the session showed, in order (access checked)."""
    _session(session, viewing_id)
    return [
        PageView(
            url=str(r["url"]),
            title=r["title"],
            at=from_iso(r["at"]),
            http_status=r["http_status"],
            headers=tuple((str(k), str(v)) for k, v in json.loads(r["response_headers"])),
            document_sha256=r["document_sha256"],
            how=str(r["how"]),
        )
        for r in sql.pages(session.casefile.conn, viewing_id)
    ]


def requests(session: Session, viewing_id: int) -> list[RequestEntry]:
    """The session's request log, in order (access checked)."""
    _session(session, viewing_id)
    return [
        RequestEntry(
            url=str(r["url"]),
            method=str(r["method"]),
            resource_type=str(r["resource_type"]),
            at=from_iso(r["at"]),
            status=r["status"],
            blocked=bool(r["blocked"]),
            reason=r["reason"],
        )
        for r in sql.requests(session.casefile.conn, viewing_id)
    ]


def sessions_of_case(session: Session, case_id: int) -> list[BrowseSession]:
    case_for_reading(session, case_id)
    return [
        _session(session, int(r["viewing_id"]))
        for r in sql.sessions_of_case(session.casefile.conn, case_id)
    ]
