"""The evidence browser's work on the case file: plain functions over ``caseview.browsing``.

Like :mod:`ui.jobs`, each takes the signed-in :class:`~ui.identity.Identity`, opens its
own session on the calling thread and returns plain data. :func:`navigate` is the one
the browser calls on the GUI thread, because Chromium asks "may this page load?" and
needs the answer before it goes on: it is a read of the request and the people (a few
milliseconds) and, only on a refusal, one small insert.
"""

from __future__ import annotations

from collections.abc import Sequence

from caseview import browsing
from caseview.browsing import BrowseSession, PageView, RequestEntry
from caseview.captures import RenderedPage, SourceRecord
from ui.identity import Identity, session_for


def start(
    who: Identity, case_id: int, justification_id: int, subject_id: int, url: str, attested: bool
) -> BrowseSession:
    """Open a viewing session through the gate (one look); raises GateRefused."""
    with session_for(who) as session:
        return browsing.start(
            session, case_id, justification_id, subject_id, url, attested=attested
        )


def navigate(who: Identity, session_id: int, url: str, kind: str) -> str | None:
    """None if the browser may go to ``url``; else the refusal (already recorded)."""
    with session_for(who) as session:
        return browsing.navigate(session, session_id, url, kind)


def log_page(who: Identity, session_id: int, page: PageView) -> int:
    with session_for(who) as session:
        return browsing.log_page(session, session_id, page)


def log_requests(who: Identity, session_id: int, entries: Sequence[RequestEntry]) -> None:
    with session_for(who) as session:
        browsing.log_requests(session, session_id, entries)


def log_blocked(who: Identity, session_id: int, what: str, url: str, detail: str) -> None:
    with session_for(who) as session:
        browsing.log_blocked(session, session_id, what, url, detail)


def capture(who: Identity, session_id: int, page: RenderedPage) -> SourceRecord:
    with session_for(who) as session:
        return browsing.capture(session, session_id, page)


def end(who: Identity, session_id: int, reason: str) -> BrowseSession:
    with session_for(who) as session:
        return browsing.end(session, session_id, reason)


def describe(who: Identity, session_id: int) -> BrowseSession:
    with session_for(who) as session:
        return browsing.get(session, session_id)
