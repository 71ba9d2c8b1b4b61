"""Capturing a public page, importing a saved file, and exporting the case's WARC.

Order of work for a capture: the gate's permission check (a refusal is recorded and
nothing else), then the fetch with no database lock held, in which every hop (each
redirect) must be inside the request's scope before it is contacted, then the reading
of the content (text, exposure and collateral indicators, the search entry), still with
no lock held and inside the capture's deadline, then ONE write transaction that
re-checks the permission (and the scope of every address the capture went to) and
stores the precomputed values: the blobs, the source, the completed viewing and the
audit event together. Nothing from a page runs under the case file's write lock, so a
crafted page can slow only its own capture, never another worker's write. A crash at
any point leaves either all of it or none.
A fetch that fails is recorded as a failed viewing with an audit event; material that
needs a login is refused as not public; a site answering 429 or 5xx is not answering
now (a failed look that uses no planned viewing); a page that is gone (404, 410) is kept
as evidence that it was gone, and says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import collectors
from caseview import __version__, audit, files, viewings
from caseview.clock import from_iso, to_iso
from caseview.domain import SubjectRole
from caseview.errors import CaptureError, NotFound, UsageError
from caseview.permissions import (
    case_for_changing,
    case_for_looking,
    case_for_reading,
    not_found,
)
from caseview.session import Session
from caseview.storage import analysis as analysis_sql
from caseview.storage import browsing as browsing_sql
from caseview.storage import people as people_sql
from caseview.storage import sources as sql
from caseview.viewings import Permission
from collectors import rendered
from collectors import warc as warc_records

ORIGINS = {
    "self": "self_collected",
    "family": "supplied_by_family",
    "agency": "supplied_by_agency",
    "colleague": "supplied_by_colleague",
    "public": "supplied_by_public",
}
TOOL = f"caseview/{__version__} {collectors.TOOL_NAME}/{collectors.TOOL_VERSION}"
STOPPED_KIND = "stopped"
STOPPED = "The capture was stopped by the worker; nothing was kept."
"""How a capture the worker stopped is recorded (its failed look and ``capture.failed``)."""
ATTESTATIONS = {
    "logged_out": True,
    "no_personal_or_fake_profile": True,
    "no_interaction": True,
    "no_restricted_content": True,
}


@dataclass(frozen=True)
class ExposureFinding:
    id: int
    kind: str
    value: str
    context: str
    confirmed: bool | None
    reviewed_by: str | None


@dataclass(frozen=True)
class SourceRecord:
    id: int
    case_id: int
    subject_id: int
    justification_id: int
    justification_hash: str
    origin: str
    supplied_by: str | None
    method: str
    requested_url: str
    final_url: str | None
    host_unicode: str | None
    host_punycode: str | None
    redirect_chain: tuple[dict[str, object], ...]
    http_status: int | None
    content_type: str | None
    media_type: str | None
    body_sha256: str
    body_size: int
    raw_sha256: str | None
    server_ip: str | None
    file_name: str | None
    title: str | None
    text: str
    page_meta: dict[str, object]
    published_at: str | None
    viewed_at: datetime | None
    captured_started_at: datetime
    captured_ended_at: datetime
    captured_by: str
    machine: str
    tool: str
    warc_sha256: str | None
    notes: tuple[str, ...]
    exposure: tuple[ExposureFinding, ...]
    corrects: int | None
    attested: bool = False
    """Whether the worker gave the promises for this look (logged out, no personal or
    fake profile, no interaction, nothing friends-only) when it was recorded."""
    gate_warnings: tuple[str, ...] = ()
    """The gate's warnings about this look (the meter from a person's 2nd look on)."""

    @property
    def gone_status(self) -> int | None:
        """404 or 410 when the capture is evidence that the page was gone, else None."""
        return self.http_status if self.http_status in collectors.GONE_STATUS else None


def _record(conn: sqlite3.Connection, row: sqlite3.Row) -> SourceRecord:
    exposure = tuple(
        ExposureFinding(
            int(e["id"]),
            str(e["kind"]),
            str(e["value"]),
            str(e["context"]),
            None if e["confirmed"] is None else bool(e["confirmed"]),
            e["reviewed_by_name"],
        )
        for e in sql.exposure_of(conn, int(row["id"]))
    )
    return SourceRecord(
        id=int(row["id"]),
        case_id=int(row["case_id"]),
        subject_id=int(row["subject_id"]),
        justification_id=int(row["justification_id"]),
        justification_hash=str(row["justification_hash"]),
        origin=str(row["origin"]),
        supplied_by=row["supplied_by"],
        method=str(row["method"]),
        requested_url=str(row["requested_url"]),
        final_url=row["final_url"],
        host_unicode=row["host_unicode"],
        host_punycode=row["host_punycode"],
        redirect_chain=tuple(json.loads(row["redirect_chain"])),
        http_status=row["http_status"],
        content_type=row["content_type"],
        media_type=row["media_type"],
        body_sha256=str(row["body_sha256"]),
        body_size=int(row["body_size"]),
        raw_sha256=row["raw_sha256"],
        server_ip=row["server_ip"],
        file_name=row["file_name"],
        title=row["title"],
        text=row["text"] or "",
        page_meta=json.loads(row["page_meta"]),
        published_at=row["published_at"],
        viewed_at=from_iso(row["viewed_at"]) if row["viewed_at"] else None,
        captured_started_at=from_iso(row["captured_started_at"]),
        captured_ended_at=from_iso(row["captured_ended_at"]),
        captured_by=str(row["captured_by_name"]),
        machine=str(row["machine"]),
        tool=str(row["tool"]),
        warc_sha256=row["warc_sha256"],
        notes=tuple(json.loads(row["notes"])),
        exposure=exposure,
        corrects=row["corrects"],
        attested=bool(json.loads(row["attestations"] or "{}")),
    )


def get(session: Session, source_id: int) -> SourceRecord:
    conn = session.casefile.conn
    row = sql.source(conn, source_id)
    if row is None:
        not_found(session, "source", source_id, f"There is no source {source_id}.")
    case_for_reading(session, int(row["case_id"]))
    return _record(conn, row)


def list_for_case(session: Session, case_id: int, *, with_text: bool = True) -> list[SourceRecord]:
    """The case's sources; ``with_text=False`` leaves each page's text out ("")."""
    case_for_reading(session, case_id)
    conn = session.casefile.conn
    return [_record(conn, row) for row in sql.sources_of_case(conn, case_id, with_text=with_text)]


def evidence_bytes(session: Session, source_id: int) -> bytes:
    """The captured bytes exactly as stored (for the source view and exports)."""
    record = get(session, source_id)
    content = sql.blob(session.casefile.conn, record.body_sha256)
    if content is None:
        raise CaptureError(
            f"The bytes of source {source_id} are missing from the case file. "
            "Run 'caseview verify' and tell your information governance team."
        )
    return content


# --- artefacts: what each source keeps, by kind -------------------------------------

ARTEFACT_KINDS = ("mhtml", "dom", "screenshot", "http_body", "warc", "file")
"""``http_body`` and ``warc``: an HTTP capture's body and WARC records. ``mhtml``,
``dom`` and ``screenshot``: a rendered capture's page as Chromium saved it, its rendered
HTML and its full-page PNG. An imported file is a ``screenshot`` (an image), ``mhtml``
(a saved page) or ``file`` (anything else)."""


@dataclass(frozen=True)
class Artefact:
    """One kept form of a source: a content-addressed blob, hashed when it was captured."""

    kind: str
    sha256: str
    size: int
    media_type: str
    details: Mapping[str, object] = dataclasses.field(default_factory=dict)
    """E.g. a screenshot's width, height, full page height and whether it was cut."""


@dataclass(frozen=True)
class ArtefactContent:
    """An artefact to store: its kind, bytes, media type and details."""

    kind: str
    content: bytes
    media_type: str
    details: Mapping[str, object] = dataclasses.field(default_factory=dict)


def _hashed(item: ArtefactContent) -> tuple[Artefact, bytes]:
    digest = hashlib.sha256(item.content).hexdigest()
    return (
        Artefact(item.kind, digest, len(item.content), item.media_type, dict(item.details)),
        item.content,
    )


_IMPORTED_KIND = {"message/rfc822": "file", "multipart/related": "mhtml"}


def artefacts(session: Session, source_id: int) -> tuple[Artefact, ...]:
    """Every kept form of the source (access checked), in a stable order."""
    record = get(session, source_id)
    conn = session.casefile.conn
    media = record.media_type or "application/octet-stream"
    found: list[Artefact] = []
    if record.method == "http":
        found.append(Artefact("http_body", record.body_sha256, record.body_size, media))
    elif record.method == "file_import":
        kind = _IMPORTED_KIND.get(media, "screenshot" if media.startswith("image/") else "file")
        found.append(Artefact(kind, record.body_sha256, record.body_size, media))
    for row in browsing_sql.artefacts(conn, source_id):
        found.append(
            Artefact(
                str(row["kind"]),
                str(row["sha256"]),
                int(row["size"]),
                str(row["media_type"]),
                json.loads(row["details"]),
            )
        )
    if record.warc_sha256 is not None:
        size = sql.blob_size(conn, record.warc_sha256) or 0
        found.append(Artefact("warc", record.warc_sha256, size, "application/warc"))
    order = {kind: i for i, kind in enumerate(ARTEFACT_KINDS)}
    return tuple(sorted(found, key=lambda a: order.get(a.kind, len(order))))


def artefact_bytes(session: Session, source_id: int, kind: str) -> bytes:
    """The stored bytes of one artefact of the source (access checked)."""
    for artefact in artefacts(session, source_id):
        if artefact.kind == kind:
            return _artefact_content(session, source_id, artefact)
    raise NotFound(f"Source {source_id} has no {kind} artefact.")


def _artefact_content(session: Session, source_id: int, artefact: Artefact) -> bytes:
    content = sql.blob(session.casefile.conn, artefact.sha256)
    if content is None:
        raise CaptureError(
            f"The {artefact.kind} of source {source_id} is missing from the case file. "
            "Run 'caseview verify' and tell your information governance team."
        )
    return content


def picture_of(session: Session, source_id: int) -> bytes | None:
    """What the source looked like: a rendered capture's screenshot or an imported
    image's bytes; None for anything else."""
    for artefact in artefacts(session, source_id):  # access checked here, once
        if artefact.kind == "screenshot":
            return _artefact_content(session, source_id, artefact)
    return None


# --- capturing a public page ------------------------------------------------------


Fetcher = Callable[..., collectors.HttpCapture]


@dataclass(frozen=True)
class _Reading:
    """What was read from a capture's or import's content, before any lock is taken."""

    indicators: tuple[collectors.Indicator, ...]
    search_title: str
    search_text: str
    notes: tuple[str, ...]  # about the reading itself (e.g. text too long to check whole)


def capture_url(
    session: Session,
    case_id: int,
    url: str,
    *,
    justification_id: int,
    subject_id: int,
    attested: bool,
    fetcher: Fetcher = collectors.fetch,
    cancel: Callable[[], bool] | None = None,
    **fetch_options: Any,
) -> SourceRecord:
    """Capture a public web page as evidence, if the gate allows it.

    A redirect is followed only to an address inside the justification's scope: one
    outside it is never contacted, and the attempt is a refused viewing.
    """
    permission = viewings.authorise(
        session, case_id, justification_id, subject_id, url, attested=attested, kind="capture"
    )
    record = permission.justification
    assert record is not None
    out_of_scope: list[Permission] = []

    def in_scope(hop_url: str) -> str | None:
        refusal = viewings.hop_refusal(session, record, subject_id, hop_url)
        if refusal is None:
            return None
        out_of_scope.append(refusal)
        return refusal.message

    deadline = time.monotonic() + float(
        fetch_options.get("deadline_s", collectors.DEFAULT_DEADLINE_S)
    )
    try:
        captured = fetcher(url, cancel=cancel, check_url=in_scope, **fetch_options)
    except collectors.CollectorError as exc:
        if out_of_scope and isinstance(exc, collectors.Refused):
            viewings.refuse(
                session, out_of_scope[-1], case_id, justification_id, subject_id, url, "capture"
            )
        _record_failure(session, case_id, justification_id, subject_id, url, exc)
        raise AssertionError("unreachable") from exc  # _record_failure always raises
    warc = collectors.records_for(captured)
    page = captured.page
    # A photo fetched by its address says where it was taken as an imported one does.
    gps = collectors.image_gps(captured.body) if page is None else None
    reading = _read(
        session,
        subject_id,
        title=page.title if page else None,
        url=captured.requested_url,
        text=page.text if page else "",
        indicator_text=page.indicator_text if page else "",
        meta=page.meta if page else {},
        images_gps=[gps] if gps else (),
    )
    if time.monotonic() > deadline or (cancel is not None and cancel()):
        late: collectors.CollectorError = (
            collectors.Cancelled("The capture was cancelled; nothing was kept.")
            if cancel is not None and cancel()
            else collectors.Timeout(
                "Reading the page took longer than the time allowed for a capture, so "
                "nothing was kept. Try again; if it keeps happening, import a screenshot "
                "of the part that matters instead."
            )
        )
        _record_failure(session, case_id, justification_id, subject_id, url, late)
    gone = captured.status if captured.status in collectors.GONE_STATUS else None
    row = {
        "method": "http",
        "requested_url": captured.requested_url,
        "final_url": captured.final_url,
        "host_unicode": captured.final_host.unicode,
        "host_punycode": captured.final_host.ascii,
        "redirect_chain": json.dumps(
            [
                {"url": h.url, "status": h.status, "location": h.location, "server_ip": h.server_ip}
                for h in captured.redirect_chain
            ]
        ),
        "http_status": captured.status,
        "response_headers": json.dumps([list(pair) for pair in captured.headers]),
        "content_type": captured.content_type,
        "media_type": captured.media_type,
        "body_sha256": captured.body_sha256,
        "body_size": captured.body_size,
        "body_encoding_note": captured.body_encoding_note,
        "raw_sha256": captured.raw_sha256,
        "server_ip": captured.server_ip,
        "title": page.title if page else None,
        "text": page.text if page else None,
        "page_meta": json.dumps(
            {**_page_meta(page), **({"gone": {"http_status": gone}} if gone else {})}
        ),
        "published_at": to_iso(page.published_at)
        if page and page.published_at
        else (page.published if page else None),
        "captured_started_at": to_iso(captured.started_at),
        "captured_ended_at": to_iso(captured.ended_at),
        "tool": TOOL,
        "notes": json.dumps([*captured.notes, *reading.notes]),
        "origin": "self_collected",
        "supplied_by": None,
        "viewed_at": None,
        "file_name": None,
    }
    stored = _store(
        session,
        case_id,
        justification_id,
        subject_id,
        url,
        "capture",
        row,
        captured.body,
        captured.media_type,
        warc,
        attested,
        reading,
        visited=(*(hop.url for hop in captured.redirect_chain), captured.final_url),
    )
    return dataclasses.replace(stored, gate_warnings=permission.warnings)


def _page_meta(page: collectors.PageInfo | None) -> dict[str, object]:
    if page is None:
        return {}
    return {
        "canonical_url": page.canonical_url,
        "opengraph": page.opengraph,
        "meta": page.meta,
        "author": page.author,
        "published": page.published,
        "links": list(page.links),
        "links_truncated": page.links_truncated,
        "charset": page.charset,
        "charset_source": page.charset_source,
        "word_count": page.word_count,
        "notes": list(page.notes),
    }


def _record_failure(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    exc: collectors.CollectorError,
) -> None:
    """Store what happened to an attempt that produced no capture, then raise."""
    kind, message = exc.kind, exc.message
    if isinstance(exc, collectors.Cancelled):
        # The worker pressed Stop: the record names it as theirs, not as a fault.
        kind, message = STOPPED_KIND, STOPPED
    if isinstance(exc, collectors.NotPublic | collectors.Refused):
        rule = "not_public" if isinstance(exc, collectors.NotPublic) else "address_refused"
        refusal = Permission(False, rule, exc.message, "", None, None)
        viewings.refuse(session, refusal, case_id, justification_id, subject_id, url, "capture")
    now = session.now()
    attempt = exc.attempt
    with session.casefile.write() as conn:
        viewing_id = viewings.insert_failed(
            conn, session, case_id, justification_id, subject_id, url, kind, message
        )
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="capture.failed",
            entity="viewing",
            entity_id=viewing_id,
            case_id=case_id,
            data={
                "url": url,
                "kind": kind,
                "message": message,
                "last_url": attempt.last_url if attempt else None,
                "status": attempt.status if attempt else None,
                "redirect_chain": [list(h) for h in attempt.redirect_chain] if attempt else [],
                "started_at": to_iso(attempt.started_at) if attempt else None,
                "ended_at": to_iso(attempt.ended_at) if attempt else None,
                **(
                    {"retry_after": exc.retry_after}
                    if isinstance(exc, collectors.Unavailable) and exc.retry_after
                    else {}
                ),
            },
        )
    raise CaptureError(message) from exc


def _no_nul(text: str) -> str:
    """``text`` with each NUL character (a plain-text page or a PDF may hold them; the
    bytes kept as the body are unchanged) shown as U+FFFD: text with a NUL cannot be held
    on a team server, so a case file with one could never move there."""
    return text.replace("\x00", "\ufffd")


def _storable(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its text as :func:`_no_nul` shows it."""
    return {k: _no_nul(v) if isinstance(v, str) else v for k, v in row.items()}


def _store(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    kind: str,
    row: dict[str, Any],
    body: bytes,
    media_type: str | None,
    warc: bytes | None,
    attested: bool,
    reading: _Reading,
    *,
    visited: tuple[str, ...] = (),
    viewed_at: datetime | None = None,
    origin: str = "self",
    artefacts: Sequence[ArtefactContent] = (),
    browse_session: int | None = None,
    session_check: SessionCheck | None = None,
) -> SourceRecord:
    """Store a capture or import in one transaction, after checking the gate again.

    Only inserts: everything read from the content is in ``reading``, computed before
    (see :func:`_read`), so nothing from a page runs while the write lock is held.
    ``visited``: every address a capture went to (each hop and the final page), all of
    which must be in the request's scope. ``viewed_at``: when an imported look was made.
    ``artefacts``: a rendered capture's MHTML, DOM and screenshot, stored as blobs with
    the source. ``browse_session``: the viewing session a rendered capture was made in;
    the session is the look (already counted), so no viewing of its own is recorded;
    ``session_check`` then replaces the gate's recheck under the lock (the session still
    open, every address in scope).
    """
    now = session.now()
    stamp = to_iso(now)
    row = _storable(row)
    body_sha = hashlib.sha256(body).hexdigest()
    if body_sha != row["body_sha256"]:  # never store a hash the bytes do not have
        raise CaptureError(
            "The captured bytes changed while being stored; nothing was saved. Try again."
        )
    stored_artefacts = [_hashed(a) for a in artefacts]
    with session.casefile.write() as conn:
        permission = _recheck(
            session,
            case_id,
            justification_id,
            subject_id,
            url,
            attested,
            kind,
            visited=visited,
            viewed_at=viewed_at,
            origin=origin,
            session_check=session_check,
        )
        if not permission.allowed:
            break_out = permission
        else:
            break_out = None
            record = permission.justification
            assert record is not None and record.content_hash is not None
            sql.put_blob(conn, body_sha, body, media_type, stamp)
            warc_sha = None
            if warc is not None:
                warc_sha = hashlib.sha256(warc).hexdigest()
                sql.put_blob(conn, warc_sha, warc, "application/warc", stamp)
            source_id = sql.insert_source(
                conn,
                {
                    **row,
                    "case_id": case_id,
                    "subject_id": subject_id,
                    "justification_id": justification_id,
                    "justification_hash": record.content_hash,
                    "captured_by": session.user.id,
                    "machine": socket.gethostname(),
                    "attestations": json.dumps(ATTESTATIONS if attested else {}),
                    "warc_sha256": warc_sha,
                    "created_at": stamp,
                },
            )
            for artefact, content in stored_artefacts:
                sql.put_blob(conn, artefact.sha256, content, artefact.media_type, stamp)
            browsing_sql.insert_artefacts(
                conn,
                [
                    {
                        "source_id": source_id,
                        "kind": a.kind,
                        "sha256": a.sha256,
                        "size": a.size,
                        "media_type": a.media_type,
                        "details": json.dumps(dict(a.details), sort_keys=True),
                    }
                    for a, _ in stored_artefacts
                ],
            )
            if browse_session is not None:
                viewing_id = browse_session  # the session is the look; it names no source
            else:
                viewing_kind = "supplied" if kind == "supplied" else kind
                viewing_id = viewings.record_completed(
                    conn,
                    session,
                    permission,
                    case_id,
                    subject_id,
                    url,
                    viewing_kind,
                    attested=attested,
                    at=viewed_at if kind == "import" else None,
                    source_id=source_id,
                    data={"body_sha256": body_sha, "warc_sha256": warc_sha},
                    logged_at=now,
                )
            analysis_sql.index(
                conn, "source", source_id, case_id, reading.search_title, reading.search_text
            )
            indicators = reading.indicators
            for indicator in indicators:
                sql.insert_exposure(
                    conn, source_id, indicator.kind, indicator.value, indicator.context
                )
            audit.record(
                conn,
                at=now,
                actor=session.actor,
                action="source.recorded",
                entity="source",
                entity_id=source_id,
                case_id=case_id,
                data={
                    **{k: v for k, v in row.items() if k != "text"},
                    "text_sha256": None
                    if row.get("text") is None
                    else hashlib.sha256(row["text"].encode("utf-8")).hexdigest(),
                    "subject_id": subject_id,
                    "justification_id": justification_id,
                    "justification_hash": record.content_hash,
                    "viewing_id": viewing_id,
                    "warc_sha256": warc_sha,
                    "machine": socket.gethostname(),
                    "attested": attested,
                    "exposure": [[i.kind, i.value] for i in indicators],
                    **(
                        {
                            "artefacts": [
                                {
                                    "kind": a.kind,
                                    "sha256": a.sha256,
                                    "size": a.size,
                                    "media_type": a.media_type,
                                    "details": dict(a.details),
                                }
                                for a, _ in stored_artefacts
                            ]
                        }
                        if stored_artefacts
                        else {}
                    ),
                    **({"browse_session": browse_session} if browse_session is not None else {}),
                },
            )
    if break_out is not None:
        viewings.refuse(session, break_out, case_id, justification_id, subject_id, url, kind)
    return get(session, source_id)


def _recheck(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    attested: bool,
    kind: str,
    *,
    visited: tuple[str, ...] = (),
    viewed_at: datetime | None = None,
    origin: str = "self",
    session_check: SessionCheck | None = None,
) -> Permission:
    """The permission again, under the write lock: the last planned viewing goes once.

    A capture's every address (redirects and final page) must be in scope, whatever the
    fetcher did; an import's look must have been made while the request was usable. A
    capture inside a viewing session needs the session still open and the page in scope.
    """
    if session_check is not None:
        return session_check(visited or (url,))
    if kind in ("import", "supplied"):
        assert viewed_at is not None
        return _import_gate(
            session, case_id, origin, url, viewed_at, justification_id, subject_id, attested
        )
    permission = viewings.check(
        session, case_id, justification_id, subject_id, url, attested=attested
    )
    if not permission.allowed or permission.justification is None:
        return permission
    for address in visited:
        refusal = viewings.hop_refusal(session, permission.justification, subject_id, address)
        if refusal is not None:
            return refusal
    return permission


def _read(
    session: Session,
    subject_id: int,
    *,
    title: str | None,
    url: str,
    text: str,
    indicator_text: str,
    meta: dict[str, str],
    images_gps: Iterable[collectors.GpsPoint],
) -> _Reading:
    """Everything the store needs from the content, computed with no lock held.

    The checks read at most ``collectors.exposure.MAX_TEXT`` characters (each pattern
    is linear in what it reads); a longer text is noted, so the worker knows the rest
    was not checked.
    """
    # As the row will hold them (_storable): the search index and findings from the same.
    title, text, indicator_text = (
        None if title is None else _no_nul(title),
        _no_nul(text),
        _no_nul(indicator_text),
    )
    meta = {_no_nul(k): _no_nul(v) for k, v in meta.items()}
    indicators = _exposure(session.casefile.conn, subject_id, indicator_text, meta, images_gps)
    notes: tuple[str, ...] = ()
    if len(text) > collectors.COLLATERAL_MAX_TEXT:
        notes = (
            f"The text is long ({len(text):,} characters): the check for other people on "
            f"the page read its first {collectors.COLLATERAL_MAX_TEXT:,} characters and the "
            f"exposure check its first {collectors.EXPOSURE_MAX_TEXT:,}. Read the rest "
            "yourself for details that identify or locate someone.",
        )
    return _Reading(indicators, str(title or url), text, notes)


def _exposure(
    conn: sqlite3.Connection,
    subject_id: int,
    text: str,
    meta: dict[str, str],
    images_gps: Iterable[collectors.GpsPoint],
) -> tuple[collectors.Indicator, ...]:
    """What a stranger could learn, listed for a source about a child; and, on every
    page, the other people on it (collateral intrusion). The case's subjects are known
    people, never collateral."""
    subject = people_sql.subject_by_id(conn, subject_id)
    if subject is None:
        return ()
    found: tuple[collectors.Indicator, ...] = ()
    if subject["role"] == SubjectRole.CHILD.value:
        found = collectors.exposure_indicators(
            text, html_meta=meta, subject_name=subject["name"], images_gps=images_gps
        )
    known = [str(s["name"]) for s in people_sql.subjects_of(conn, int(subject["case_id"]))]
    return found + collectors.collateral_indicators(text, html_meta=meta, subject_names=known)


def review_exposure(session: Session, finding_id: int, confirmed: bool) -> None:
    """The worker confirms (or dismisses) an exposure indicator found on a child's page."""
    row = sql.exposure_finding(session.casefile.conn, finding_id)
    if row is None:
        raise NotFound(f"There is no exposure finding {finding_id}.")
    # A review is a change to the case, so a closed case refuses it like new material.
    case_for_changing(session, int(row["case_id"]), doing="confirm exposure findings")
    now = session.now()
    with session.casefile.write() as conn:
        sql.review_exposure(conn, finding_id, confirmed, session.user.id, to_iso(now))
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="exposure.reviewed",
            entity="exposure_finding",
            entity_id=finding_id,
            case_id=int(row["case_id"]),
            data={
                "source_id": int(row["source_id"]),
                "kind": row["kind"],
                "value": row["value"],
                "confirmed": confirmed,
            },
        )


# --- a rendered capture (the evidence browser, in a window or headless) --------------

SCREENSHOT_MEDIA = "image/png"
MHTML_MEDIA = "multipart/related"
DOM_MEDIA = "text/html"


RenderedPage = rendered.Rendered
"""What the evidence browser showed and kept of one page (``collectors.rendered``)."""


SessionCheck = Callable[[Sequence[str]], Permission]
"""Under the write lock, for a capture inside a viewing session: may it be stored?"""
NavigationPolicy = Callable[[str, str], str | None]
"""``(url, kind) -> None`` when a top-level navigation may go ahead, else the message."""
Renderer = Callable[[str, NavigationPolicy], RenderedPage]
"""Renders ``url`` (putting each top-level navigation to the policy) and captures it."""


def headless_renderer(deadline_s: float = rendered.DEFAULT_RENDER_DEADLINE_S) -> Renderer:
    """The evidence browser with no window, in a child process (``collectors.rendered``)."""

    def render(url: str, policy: NavigationPolicy) -> RenderedPage:
        return rendered.render(url, navigation_policy=policy, deadline_s=deadline_s)

    return render


def capture_rendered(
    session: Session,
    case_id: int,
    url: str,
    *,
    justification_id: int,
    subject_id: int,
    attested: bool,
    renderer: Renderer,
) -> SourceRecord:
    """One headless rendered capture (``capture --render``): the gate as for any
    capture, every top-level navigation the page makes put to the gate, then the same
    single transaction. A navigation out of scope is refused and recorded."""
    permission = viewings.authorise(
        session, case_id, justification_id, subject_id, url, attested=attested, kind="capture"
    )
    record = permission.justification
    assert record is not None
    refused: list[Permission] = []

    def navigation(target: str, kind: str) -> str | None:
        refusal = viewings.hop_refusal(session, record, subject_id, target)
        if refusal is None:
            return None
        refused.append(refusal)
        return refusal.message

    try:
        page = renderer(url, navigation)
    except collectors.CollectorError as exc:
        if refused:
            viewings.refuse(
                session, refused[0], case_id, justification_id, subject_id, url, "capture"
            )
        _record_failure(session, case_id, justification_id, subject_id, url, exc)
        raise AssertionError("unreachable") from exc  # _record_failure always raises
    if refused:
        viewings.refuse(session, refused[0], case_id, justification_id, subject_id, url, "capture")
    stored = store_rendered(
        session,
        case_id,
        justification_id,
        subject_id,
        page,
        attested=attested,
        kind="capture",
    )
    return dataclasses.replace(stored, gate_warnings=permission.warnings)


def rendered_artefacts(page: RenderedPage) -> tuple[ArtefactContent, ...]:
    shot = {
        "width": page.shot_width,
        "height": page.shot_height,
        "full_height": page.full_height,
        "cut": page.screenshot_cut,
    }
    return (
        ArtefactContent("mhtml", page.mhtml, MHTML_MEDIA),
        ArtefactContent("dom", page.dom, DOM_MEDIA),
        ArtefactContent("screenshot", page.screenshot_png, SCREENSHOT_MEDIA, shot),
    )


def store_rendered(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    page: RenderedPage,
    *,
    attested: bool,
    kind: str,
    requested_url: str | None = None,
    browse_session: int | None = None,
    session_check: SessionCheck | None = None,
) -> SourceRecord:
    """Read a rendered page (no lock held) and store it as a ``rendered`` source with its
    artefacts, in one transaction. The DOM is the source's body; the text is what the
    browser showed. ``requested_url``: the address the look began at (default: the
    headless capture's own, else the page's)."""
    case_for_looking(session, case_id)  # before anything of the case is read
    sizes = {
        "mhtml": len(page.mhtml),
        "dom": len(page.dom),
        "screenshot": len(page.screenshot_png),
        "text": len(page.text),
    }
    for part, size in sizes.items():
        limit = rendered.ARTEFACT_LIMITS[part]
        if size > limit:
            raise CaptureError(
                f"This page is too large to keep: its {part} is {size // 2**20:,} MB and "
                f"the limit is {limit // 2**20:,} MB. Nothing was stored. Capture a smaller "
                "part of the site (a single post), or import a screenshot instead."
            )
    asked = requested_url or getattr(page, "requested_url", "") or page.url
    parsed = collectors.parse_html(page.dom, charset="utf-8", base_url=page.url)
    text = page.text
    reading = _read(
        session,
        subject_id,
        title=page.title,
        url=page.url,
        text=text,
        indicator_text=parsed.main_text if parsed.main_text is not None else text,
        meta=parsed.meta,
        images_gps=(),
    )
    try:
        host: collectors.HostName | None = collectors.parse_target(page.url).host
    except collectors.CollectorError:
        host = None
    gone = page.http_status if page.http_status in collectors.GONE_STATUS else None
    shot_note = (
        (
            f"The page was {page.full_height:,} pixels long; its screenshot keeps the first "
            f"{page.shot_height:,} (the evidence browser's limit). The MHTML and the DOM "
            "hold the whole page.",
        )
        if page.screenshot_cut
        else ()
    )
    row = {
        "method": "rendered",
        "requested_url": asked,
        "final_url": page.url,
        "host_unicode": host.unicode if host else None,
        "host_punycode": host.ascii if host else None,
        "redirect_chain": json.dumps(
            [
                {"url": hop, "status": None, "location": None, "server_ip": None}
                for hop in page.redirect_chain
            ]
        ),
        "http_status": page.http_status,
        "response_headers": json.dumps([list(pair) for pair in page.headers]),
        "content_type": "text/html; charset=utf-8",
        "media_type": DOM_MEDIA,
        "body_sha256": hashlib.sha256(page.dom).hexdigest(),
        "body_size": len(page.dom),
        "body_encoding_note": None,
        "raw_sha256": None,
        "server_ip": None,
        "title": page.title or parsed.title,
        "text": text,
        "page_meta": json.dumps(
            {
                **_page_meta(parsed),
                "rendered": {
                    "screenshot": {
                        "width": page.shot_width,
                        "height": page.shot_height,
                        "full_height": page.full_height,
                        "cut": page.screenshot_cut,
                    },
                },
                **({"gone": {"http_status": gone}} if gone else {}),
            }
        ),
        "published_at": to_iso(parsed.published_at) if parsed.published_at else parsed.published,
        "captured_started_at": to_iso(page.started_at),
        "captured_ended_at": to_iso(page.ended_at),
        "tool": TOOL + " (rendered)",
        "notes": json.dumps([*page.notes, *shot_note, *reading.notes]),
        "origin": "self_collected",
        "supplied_by": None,
        "viewed_at": None,
        "file_name": None,
    }
    return _store(
        session,
        case_id,
        justification_id,
        subject_id,
        asked,
        kind,
        row,
        page.dom,
        DOM_MEDIA,
        None,
        attested,
        reading,
        visited=(*page.redirect_chain, page.url),
        artefacts=rendered_artefacts(page),
        browse_session=browse_session,
        session_check=session_check,
    )


# --- importing a saved file ---------------------------------------------------------


def _import_kind(origin: str) -> str:
    """The viewing kind of an import: "import" for one's own look, else "supplied"."""
    if origin not in ORIGINS:
        raise UsageError(f"'{origin}' is not an origin. Use one of {', '.join(ORIGINS)}.")
    return "import" if origin == "self" else "supplied"


def _import_gate(
    session: Session,
    case_id: int,
    origin: str,
    url: str,
    viewed_at: datetime,
    justification_id: int,
    subject_id: int,
    attested: bool,
) -> Permission:
    """The gate's one decision about an import, asked before storing and again under
    the write lock (see ``_recheck``), so the two can never differ."""
    if _import_kind(origin) == "supplied":
        # Not our look, unless a colleague gathered it for the authority (Code 3.17).
        return viewings.check_supplied(
            session,
            case_id,
            justification_id,
            subject_id,
            url=url,
            by_colleague=origin == "colleague",
        )
    # One's own look happened before the import: it needed the same promises as a
    # capture, given for that look, and the request usable and in date when it was made.
    return viewings.check(
        session,
        case_id,
        justification_id,
        subject_id,
        url,
        attested=attested,
        viewed_at=viewed_at,
        kind="import",
    )


def check_import(
    session: Session,
    case_id: int,
    *,
    url: str,
    viewed_at: datetime,
    justification_id: int,
    subject_id: int,
    origin: str = "self",
    attested: bool = False,
) -> Permission:
    """Would the gate allow importing this material now? Records nothing.

    The same decision :func:`import_file` makes before it stores anything (and again
    under the write lock): a look the worker made themselves (``origin="self"``) is a
    viewing, so the scope, the planned viewings, the meter and the request being usable
    when the look was made all apply; material someone else supplied needs a usable
    request naming the person. A refusal comes back as a ``Permission`` whose ``rule``
    names it. Raises ``UsageError`` for an unknown origin, or a viewing time without a
    zone or in the future, and ``NotFound`` for a case or justification that does not
    exist.
    """
    _import_kind(origin)  # an unknown origin is a usage error
    if viewed_at.tzinfo is None:
        raise UsageError("Give the viewing time with its time zone, e.g. 2026-11-20T14:05Z.")
    if viewed_at > session.now():
        raise UsageError(
            "The viewing time is in the future. Give the time the page was actually viewed."
        )
    return _import_gate(
        session, case_id, origin, url, viewed_at, justification_id, subject_id, attested
    )


def import_file(
    session: Session,
    case_id: int,
    source: Path | bytes,
    *,
    url: str,
    viewed_at: datetime,
    justification_id: int,
    subject_id: int,
    origin: str = "self",
    supplied_by: str | None = None,
    attested: bool = False,
    filename: str | None = None,
) -> SourceRecord:
    """Import a screenshot, PDF, web page or text file the worker saved (or was given).

    Material the worker viewed themselves passes the same gate as a capture and counts
    towards the meter; material supplied by someone else needs an approved request for
    the subject but is not a viewing, and who supplied it is recorded. The gate's
    decision is :func:`check_import`'s; a refusal is recorded, then raised.
    A path must be a regular file itself: a link, a folder, a device or a pipe is refused.
    """
    if isinstance(source, Path):
        files.check_regular_file(source, "file to import", verb="import")
    kind = _import_kind(origin)
    if kind == "supplied" and not (supplied_by or "").strip():
        raise UsageError(
            "Say who supplied this material, e.g. 'maternal grandmother' or "
            "'school safeguarding lead'."
        )
    permission = check_import(
        session,
        case_id,
        url=url,
        viewed_at=viewed_at,
        justification_id=justification_id,
        subject_id=subject_id,
        origin=origin,
        attested=attested,
    )
    if not permission.allowed:
        viewings.refuse(session, permission, case_id, justification_id, subject_id, url, kind)
    try:
        captured = collectors.import_file(
            source, filename=filename or (source.name if isinstance(source, Path) else None)
        )
    except collectors.CollectorError as exc:
        raise CaptureError(exc.message) from exc
    except OSError as exc:
        raise CaptureError(
            f"Cannot read the file ({exc.strerror or exc}). Check the path."
        ) from exc
    page = captured.page
    gps = [captured.image.gps] if captured.image and captured.image.gps else []
    reading = _read(
        session,
        subject_id,
        title=page.title if page else None,
        url=url,
        text=page.text if page else "",
        indicator_text=page.indicator_text if page else "",
        meta=page.meta if page else {},
        images_gps=gps,
    )
    findings = [*captured.warnings, *captured.findings, *reading.notes]
    row = {
        "method": "file_import",
        "requested_url": url,
        "final_url": captured.shown_url,
        "host_unicode": None,
        "host_punycode": None,
        "redirect_chain": "[]",
        "http_status": None,
        "response_headers": "[]",
        "content_type": captured.media_type,
        "media_type": captured.media_type,
        "body_sha256": captured.sha256,
        "body_size": captured.size,
        "body_encoding_note": "the file's bytes as imported",
        "raw_sha256": captured.sha256,
        "server_ip": None,
        "file_name": captured.filename,
        "title": page.title if page else None,
        "text": page.text if page else None,
        "page_meta": json.dumps({**_page_meta(page), "image": _image_meta(captured.image)}),
        "published_at": page.published if page else None,
        "viewed_at": to_iso(viewed_at),
        "captured_started_at": to_iso(captured.imported_at),
        "captured_ended_at": to_iso(captured.imported_at),
        "tool": TOOL,
        "notes": json.dumps(findings),
        "origin": ORIGINS[origin],
        "supplied_by": (supplied_by or "").strip() or None,
    }
    stored = _store(
        session,
        case_id,
        justification_id,
        subject_id,
        url,
        kind,
        row,
        captured.body,
        captured.media_type,
        None,
        attested,
        reading,
        viewed_at=viewed_at,
        origin=origin,
    )
    return dataclasses.replace(stored, gate_warnings=permission.warnings)


def _image_meta(image: collectors.ImageInfo | None) -> dict[str, object] | None:
    if image is None:
        return None
    return {
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "camera": image.camera,
        "camera_time": image.camera_time,
        "camera_time_utc": to_iso(image.camera_time_utc) if image.camera_time_utc else None,
        "gps": {"latitude": image.gps.latitude, "longitude": image.gps.longitude}
        if image.gps
        else None,
        "exif": image.exif,
    }


# --- exporting ----------------------------------------------------------------------


def export_evidence(session: Session, source_id: int, target: Path) -> Path:
    """Write a source's stored bytes, exactly as captured, to ``target``; log the export.

    Anyone who may read the case may export its evidence (auditors included). The file
    is written through :func:`caseview.files.atomic_write`: whole or not at all.
    """
    files.check_target(target, case_file=session.casefile.path)
    record = get(session, source_id)
    content = evidence_bytes(session, source_id)
    written = files.Written()

    def logged() -> None:  # before the file takes its name: no export the log lacks
        _record_export(
            session,
            "export.evidence",
            record,
            {
                "body_sha256": record.body_sha256,
                "body_size": record.body_size,
                **written.audit_data(),
            },
        )

    with files.atomic_write(
        target, written, case_file=session.casefile.path, before_rename=logged
    ) as handle:
        handle.write(content)
    return target


def export_source_warc(session: Session, source_id: int, out: BinaryIO | Path) -> None:
    """Write one source's WARC records as a ``.warc.gz`` (warcinfo first); log the export.

    ``out`` is an open stream, or a path written through :func:`caseview.files.atomic_write`.
    A capture over HTTP has the records stored with it; a rendered capture's artefacts are
    written as ``resource`` records (:func:`_rendered_warc`). An imported file has no WARC
    records: it raises ``UsageError``.
    """
    if isinstance(out, Path):
        files.check_target(out, case_file=session.casefile.path)
    record = get(session, source_id)
    if record.warc_sha256 is not None:
        blob = sql.blob(session.casefile.conn, record.warc_sha256)
        if blob is None:
            raise CaptureError(
                f"The WARC records of source {source_id} are missing from the case file. "
                "Run 'caseview verify' and tell your information governance team."
            )
        said: dict[str, object] = {"warc_sha256": record.warc_sha256}
    elif record.method == "rendered":
        blob, kept = _rendered_warc(session, record)
        said = {"artefacts": {a.kind: a.sha256 for a in kept}}
    else:
        raise UsageError(
            f"Source {source_id} was imported from a file, so it has no WARC records. "
            "Save the evidence file instead."
        )
    case_row = case_for_reading(session, record.case_id)
    warcinfo = {
        "software": TOOL,
        "format": "WARC File Format 1.1",
        "description": f"Caseview source {source_id} of case {case_row['reference']}",
        "isPartOf": str(case_row["reference"]),
    }
    written = files.Written()
    files.write_to(
        out,
        lambda handle: collectors.write_case_warc([blob], handle, warcinfo=warcinfo),
        written,
        case_file=session.casefile.path,
        then=lambda _: _record_export(
            session, "export.source_warc", record, {**said, **written.audit_data()}
        ),
    )


RENDERED_WARC_KINDS = ("mhtml", "dom", "screenshot")
"""A rendered capture's artefacts, in the order its WARC ``resource`` records are written
(the MHTML, the page as Chromium saved it, first: the others are concurrent to it)."""


def _rendered_warc(session: Session, record: SourceRecord) -> tuple[bytes, list[Artefact]]:
    """A rendered capture's WARC records, made at export from its artefacts (each
    checked against its recorded SHA-256 first), and the artefacts written."""
    conn = session.casefile.conn
    kept = sorted(
        (a for a in artefacts(session, record.id) if a.kind in RENDERED_WARC_KINDS),
        key=lambda a: RENDERED_WARC_KINDS.index(a.kind),
    )
    resources = []
    for artefact in kept:
        content = sql.blob(conn, artefact.sha256)
        if content is None or hashlib.sha256(content).hexdigest() != artefact.sha256:
            raise CaptureError(
                f"The {artefact.kind} of source {record.id} is missing from the case file "
                "or no longer matches its SHA-256. Run 'caseview verify' and tell your "
                "information governance team."
            )
        resources.append(warc_records.Resource(artefact.kind, artefact.media_type, content))
    if not resources:
        raise CaptureError(
            f"Source {record.id} was captured in the evidence browser but none of its "
            "artefacts is in the case file. Run 'caseview verify' and tell your "
            "information governance team."
        )
    log: list[tuple[str, str]] = [
        ("caseview-tool", record.tool),
        ("requested-url", record.requested_url),
        *(("redirect", str(hop.get("url", ""))) for hop in record.redirect_chain),
        ("final-url", record.final_url or record.requested_url),
        *([("http-status", str(record.http_status))] if record.http_status is not None else []),
        ("capture-started", warc_records.warc_date(record.captured_started_at)),
        ("capture-ended", warc_records.warc_date(record.captured_ended_at)),
        *(
            (f"screenshot-{key.replace('_', '-')}", str(value).lower())
            for a in kept
            if a.kind == "screenshot"
            for key, value in a.details.items()
        ),
        *(("note", note) for note in record.notes),
    ]
    blob = warc_records.resource_records(
        record.final_url or record.requested_url, record.captured_started_at, resources, log
    )
    return blob, kept


def _record_export(
    session: Session, action: str, record: SourceRecord, data: dict[str, object]
) -> None:
    audit.record_alone(
        session.casefile,
        at=session.now(),
        actor=session.actor,
        action=action,
        entity="source",
        entity_id=record.id,
        case_id=record.case_id,
        data=data,
    )


def export_warc(session: Session, case_id: int, out: BinaryIO | Path) -> int:
    """Write the case's captures as one .warc.gz; returns how many captures it holds.

    Captures over HTTP as their stored records, rendered captures as ``resource`` records
    of their artefacts (:func:`_rendered_warc`), in capture order; imported files have
    none. ``out`` is an open stream, or a path written through
    :func:`caseview.files.atomic_write` (the export is logged once the file is complete).
    """
    if isinstance(out, Path):
        files.check_target(out, case_file=session.casefile.path)
    case_row = case_for_reading(session, case_id)
    conn = session.casefile.conn
    warcinfo = {
        "software": TOOL,
        "format": "WARC File Format 1.1",
        "description": f"Caseview captures for case {case_row['reference']}",
        "isPartOf": str(case_row["reference"]),
    }

    def blobs() -> Iterator[bytes]:
        # One capture's records at a time: only the source list is held, never the file.
        listed = [
            (int(r["id"]), r["warc_sha256"], str(r["method"]))
            for r in sql.sources_of_case(conn, case_id)
        ]
        for source_id, warc_sha256, method in listed:
            if warc_sha256 is not None:
                content = sql.blob(conn, warc_sha256)
                if content is not None:
                    yield content
            elif method == "rendered":
                yield _rendered_warc(session, get(session, source_id))[0]

    written = files.Written()

    def logged(count: int) -> None:  # for a path, before the file takes its name
        audit.record_alone(
            session.casefile,
            at=session.now(),
            actor=session.actor,
            action="export.warc",
            entity="case",
            entity_id=case_id,
            case_id=case_id,
            data={"captures": count, **written.audit_data()},
        )

    return files.write_to(
        out,
        lambda handle: collectors.write_case_warc(blobs(), handle, warcinfo=warcinfo),
        written,
        case_file=session.casefile.path,
        then=logged,
    )
