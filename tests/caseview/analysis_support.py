"""Builders shared by the analysis tests: an approved request, imported pages, events.

Imported by name (pytest puts this folder on ``sys.path``). Sources are made with
``captures.import_file`` from bytes, so no test here needs the network.
"""

from __future__ import annotations

import html
import json
from itertools import count
from typing import Any

from gate_support import approved, make_request

from caseview import captures
from caseview.captures import SourceRecord
from caseview.justifications import JustificationRecord
from caseview.session import Session
from caseview.storage import CaseFile

# The example request's scope is the host social.example.
PAGE_URL = "https://social.example/kerry/posts/{n}"

_numbers = count(1)


def approved_request(
    author: Session, reviewer: Session, case_id: int, subject_ids: list[int], *, planned: int = 3
) -> JustificationRecord:
    """An approved request about these subjects, valid for 14 days from the author's now."""
    request = make_request(subject_ids, author.now(), planned_viewings=planned)
    return approved(author, reviewer, case_id, request)


def page(text: str, title: str | None = "A public post") -> bytes:
    """A small UTF-8 HTML page whose visible text is ``text``."""
    head = f"<title>{html.escape(title)}</title>" if title is not None else ""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"{head}</head><body><p>{html.escape(text)}</p></body></html>"
    ).encode()


def import_page(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    text: str,
    *,
    title: str | None = "A public post",
    origin: str = "family",
    supplied_by: str | None = "maternal grandmother",
) -> SourceRecord:
    """Import an HTML page as a source. Supplied material (the default) is not a viewing,
    so a test can add as many as it likes without meeting the repeat-viewing meter."""
    n = next(_numbers)
    return captures.import_file(
        session,
        case_id,
        page(text, title),
        filename=f"page-{n}.html",
        url=PAGE_URL.format(n=n),
        viewed_at=session.now(),  # a self-collected look must follow the approval
        justification_id=justification_id,
        subject_id=subject_id,
        origin=origin,
        supplied_by=supplied_by if origin != "self" else None,
        attested=True,
    )


def events(casefile: CaseFile, action: str) -> list[dict[str, Any]]:
    """Every audit event with this action, oldest first: its columns and parsed data."""
    rows = casefile.conn.execute(
        "SELECT seq, at, actor, entity, entity_id, case_id, payload FROM audit_log"
        " WHERE action = ? ORDER BY seq",
        (action,),
    )
    return [
        {
            "seq": row["seq"],
            "at": row["at"],
            "actor": row["actor"],
            "entity": row["entity"],
            "entity_id": row["entity_id"],
            "case_id": row["case_id"],
            "data": json.loads(row["payload"])["data"],
        }
        for row in rows
    ]


def event_count(casefile: CaseFile) -> int:
    return int(casefile.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])
