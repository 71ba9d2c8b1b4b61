"""Looks at a subject's public pages, and the one gate every look passes through.

``authorise`` is the capture permission: it answers allowed, or refuses with the rule
that refused (role, allocation, case closed, justification status or date, subject,
host scope, planned viewings used up, the repeat-viewing meter's stop line, missing
attestation, and for a look made earlier and imported now, a look made before the
request could be used). A refusal is stored as a refused viewing with an audit event,
in one transaction, and nothing else is stored. Completed looks feed the meter, at
the time the look was made. ``hop_refusal`` applies the request's scope to every
address a capture is sent on to (redirects), not only the one the worker asked for.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

import ethics
from caseview import audit, justifications, policy
from caseview.clock import from_iso, to_iso
from caseview.domain import CaseStatus, Role
from caseview.errors import GateRefused, NotFound
from caseview.permissions import can_see_case, case_for_reading
from caseview.session import Session
from caseview.storage import gate as sql
from caseview.storage import people as people_sql
from ethics import references

KINDS = ("capture", "import", "view")
RULE_VIEWED_BEFORE_APPROVAL = "viewed_before_approval"


@dataclass(frozen=True)
class Permission:
    """The gate's answer for one intended look."""

    allowed: bool
    rule: str | None
    message: str
    reference: str
    meter: ethics.MeterReading | None
    justification: justifications.JustificationRecord | None

    @property
    def warning(self) -> str:
        """The meter's warning to show even when the look is allowed."""
        if self.allowed and self.meter is not None and self.meter.state in ("warn", "authorised"):
            return self.meter.message
        return ""


@dataclass(frozen=True)
class ViewingRecord:
    id: int
    case_id: int
    subject_id: int | None
    justification_id: int | None
    user: str
    at: datetime
    url: str
    kind: str
    outcome: str
    rule: str | None
    message: str | None


def _refused(
    rule: str,
    message: str,
    reference: str = "",
    meter: ethics.MeterReading | None = None,
    record: justifications.JustificationRecord | None = None,
) -> Permission:
    return Permission(False, rule, message, reference, meter, record)


def meter_for(
    session: Session, subject_id: int, authorisation_ref: str | None = None
) -> ethics.MeterReading:
    """The repeat-viewing meter for a subject now (viewings by everyone, rolling window)."""
    row = people_sql.subject_by_id(session.casefile.conn, subject_id)
    if row is None:
        raise NotFound(f"There is no subject {subject_id}.")
    case_for_reading(session, int(row["case_id"]))
    return _meter(session.casefile.conn, session, subject_id, authorisation_ref)


def _meter(
    conn: sqlite3.Connection, session: Session, subject_id: int, authorisation_ref: str | None
) -> ethics.MeterReading:
    history = justifications.viewing_history(conn, [subject_id])
    return ethics.read_meter(
        history,
        subject_id,
        session.now(),
        policy.current(session.casefile),
        authorised=bool(authorisation_ref),
    )


def _case_rules(session: Session, case_id: int) -> Permission | None:
    """Role, allocation and closed case: the rules before any justification is read."""
    case_row = people_sql.case_by_id(session.casefile.conn, case_id)
    if case_row is None:
        raise NotFound(f"There is no case {case_id}.")
    if session.role not in (Role.WORKER, Role.MANAGER):
        return _refused(
            "role",
            "Only workers allocated to the case, or managers, can view or "
            "capture sources; auditors read the record but add nothing to it.",
        )
    if not can_see_case(session, case_id):
        return _refused(
            "allocation",
            f"Case {case_row['reference']} is not allocated to you. "
            "Ask a manager to allocate it before viewing anything for it.",
        )
    if case_row["status"] == CaseStatus.CLOSED.value:
        return _refused(
            "case_closed", f"Case {case_row['reference']} is closed and accepts no new material."
        )
    return None


def _justification_for(
    session: Session, case_id: int, justification_id: int
) -> justifications.JustificationRecord | Permission:
    """The case rules, then the justification if it belongs to this case (else a refusal)."""
    refused = _case_rules(session, case_id)
    if refused is not None:
        return refused
    row = sql.justification(session.casefile.conn, justification_id)
    if row is None:
        raise NotFound(f"There is no justification {justification_id}.")
    if int(row["case_id"]) != case_id:
        return _refused(
            "wrong_case",
            f"Justification {justification_id} belongs to another case. Use one written for "
            "this case.",
        )
    return justifications.get(session, justification_id)


def check(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    *,
    attested: bool,
    viewed_at: datetime | None = None,
) -> Permission:
    """May this user look at ``url`` about this subject now, under this justification?

    ``viewed_at`` is when a look being imported now was actually made (a self-collected
    import): the request must also have been usable, and in date, at that time.
    """
    found = _justification_for(session, case_id, justification_id)
    if isinstance(found, Permission):
        return found
    record = found
    conn = session.casefile.conn
    not_theirs = _emergency_not_theirs(session, record)
    if not_theirs is not None:
        return not_theirs
    meter = _meter(conn, session, subject_id, record.authorisation_ref)
    refusal = ethics.check_capture(
        record.request,
        status=record.status,
        emergency_live=record.emergency_state == "live",
        subject_id=subject_id,
        url=url,
        now=session.now(),
        viewings_made=sql.completed_under(conn, justification_id),
        meter=meter,
        attested=attested,
    )
    if refusal is not None:
        return _refused(refusal.rule, refusal.message, refusal.reference, meter, record)
    if viewed_at is not None:
        too_early_or_late = _look_time_refusal(session, record, viewed_at)
        if too_early_or_late is not None:
            return too_early_or_late
    return Permission(True, None, "", "", meter, record)


def _look_time_refusal(
    session: Session, record: justifications.JustificationRecord, viewed_at: datetime
) -> Permission | None:
    """A look made at ``viewed_at`` needed the request usable and in date at that time."""
    shown = viewed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if viewed_at.astimezone(UTC).date() > record.request.valid_until:
        return _refused(
            ethics.RULE_EXPIRED,
            f"The look was made on {shown}, after justification {record.id} ran out "
            f"(valid until {record.request.valid_until.isoformat()}, UTC). It cannot be "
            "recorded under it; speak to your manager.",
            references.COUNCIL_PROTOCOL,
            record=record,
        )
    if not _usable_at(session, record, viewed_at):
        return _refused(
            RULE_VIEWED_BEFORE_APPROVAL,
            f"The look was made on {shown}, before justification {record.id} was approved. "
            "A look must be authorised before it is made, so it cannot be recorded under "
            "this request; speak to your manager.",
            references.COUNCIL_PROTOCOL + "; " + references.HOME_OFFICE_CODE,
            record=record,
        )
    return None


def _usable_at(
    session: Session, record: justifications.JustificationRecord, moment: datetime
) -> bool:
    """Whether the request could be used at ``moment``: from its (latest) approval on, or
    for an emergency, by its author while it was live (from submission until the first
    decision on it or the review deadline, whichever came first)."""
    approvals = [d.at for d in record.decisions if d.decision == "approve"]
    if approvals and moment >= max(approvals):
        return True
    if not record.request.emergency or record.submitted_at is None:
        return False
    if session.actor != record.author:  # a live emergency is its author's alone
        return False
    live_until = ethics.emergency_review_due(record.submitted_at, policy.current(session.casefile))
    if record.decisions:
        live_until = min(live_until, min(d.at for d in record.decisions))
    return record.submitted_at <= moment <= live_until


def hop_refusal(record: justifications.JustificationRecord, url: str) -> Permission | None:
    """None if ``url`` is inside the request's scope, else the refusal to record.

    For every address a capture goes to, redirects included: the check before the fetch
    covers only the address the worker asked for.
    """
    try:
        page = ethics.parse_web_url(url)
    except ValueError as exc:
        return _refused(
            ethics.RULE_URL,
            f"The capture was sent on to an address that cannot be captured ({exc}), so "
            "Caseview did not go there and nothing was captured.",
            references.COUNCIL_PROTOCOL,
            record=record,
        )
    if ethics.url_in_scope(page, record.request.scope_hosts, record.request.scope_urls):
        return None
    return _refused(
        ethics.RULE_HOST_SCOPE,
        f"The capture was sent on to {url}, and {page.host} is outside the scope of "
        f"justification {record.id}, so Caseview did not go there and nothing was "
        "captured. Capture only the sites and pages the request lists, or ask for a new "
        "request.",
        references.GDPR_MINIMISATION,
        record=record,
    )


def _emergency_not_theirs(
    session: Session, record: justifications.JustificationRecord
) -> Permission | None:
    """An unreviewed emergency is its author's authority alone, for looking and recording."""
    if record.emergency_state == "live" and session.actor != record.author:
        return _refused(
            "emergency_author_only",
            "This emergency request has not been reviewed "
            "yet, so only its author can use it. Ask a manager to review it, or "
            "make your own request.",
            record=record,
        )
    return None


def check_supplied(
    session: Session, case_id: int, justification_id: int, subject_id: int
) -> Permission:
    """May this user record material about a subject that someone else supplied?

    It is not a viewing, so planned viewings, the meter, the host scope and the
    re-attestation do not apply; the request must still be usable, in date and about
    this subject, because recording it still needs a lawful reason.
    """
    found = _justification_for(session, case_id, justification_id)
    if isinstance(found, Permission):
        return found
    record = found
    # As for a look: an approved request past its date has the status "expired" and is
    # refused by that rule, not as unusable.
    if not record.usable and record.status != "expired":
        return _refused(
            "status",
            f"Justification {justification_id} is {record.status}; "
            "material about someone can be recorded only under an approved "
            "request.",
            record=record,
        )
    if session.now().date() > record.request.valid_until:
        return _refused(
            "expired",
            f"Justification {justification_id} was valid until {record.request.valid_until}. "
            "Make a new request if this material still needs to be recorded.",
            record=record,
        )
    if subject_id not in record.request.subjects:
        return _refused(
            "subject_not_covered",
            f"Subject {subject_id} is not named in justification {justification_id}.",
            record=record,
        )
    refusal = _emergency_not_theirs(session, record)
    if refusal is not None:
        return refusal
    return Permission(True, None, "", "", None, record)


def insert_failed(
    conn: sqlite3.Connection,
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    rule: str,
    message: str,
) -> int:
    """A capture attempt that produced nothing (network, size, deadline); not a viewing."""
    return sql.insert_viewing(
        conn,
        {
            "case_id": case_id,
            "subject_id": subject_id,
            "justification_id": justification_id,
            "user_id": session.user.id,
            "at": to_iso(session.now()),
            "url": url,
            "kind": "capture",
            "outcome": "failed",
            "rule": rule,
            "message": message,
        },
    )


def authorise(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    *,
    attested: bool,
    kind: str = "capture",
    viewed_at: datetime | None = None,
) -> Permission:
    """``check``, and on refusal store the refused viewing and raise ``GateRefused``."""
    permission = check(
        session,
        case_id,
        justification_id,
        subject_id,
        url,
        attested=attested,
        viewed_at=viewed_at,
    )
    if not permission.allowed:
        refuse(session, permission, case_id, justification_id, subject_id, url, kind)
    return permission


def refuse(
    session: Session,
    permission: Permission,
    case_id: int,
    justification_id: int | None,
    subject_id: int | None,
    url: str,
    kind: str,
) -> None:
    """Record a refused look (viewing + audit event, one transaction), then raise."""
    now = session.now()
    rule = permission.rule or "gate"
    # The refusal may come before the ids were checked (e.g. allocation): store only
    # references that exist; the audit event keeps the ids as given.
    conn = session.casefile.conn
    valid_subject = (
        subject_id
        if subject_id is not None and people_sql.subject_by_id(conn, subject_id) is not None
        else None
    )
    valid_justification = (
        justification_id
        if justification_id is not None and sql.justification(conn, justification_id) is not None
        else None
    )
    with session.casefile.write() as conn:
        viewing_id = sql.insert_viewing(
            conn,
            {
                "case_id": case_id,
                "subject_id": valid_subject,
                "justification_id": valid_justification,
                "user_id": session.user.id,
                "at": to_iso(now),
                "url": url,
                "kind": kind,
                "outcome": "refused",
                "rule": rule,
                "message": permission.message,
            },
        )
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="viewing.refused",
            entity="viewing",
            entity_id=viewing_id,
            case_id=case_id,
            data={
                "rule": rule,
                "url": url,
                "kind": kind,
                "subject_id": subject_id,
                "justification_id": justification_id,
                "message": permission.message,
            },
        )
    raise GateRefused(f"Refused ({rule}): {permission.message}", rule=rule)


def record_completed(
    conn: sqlite3.Connection,
    session: Session,
    permission: Permission,
    case_id: int,
    subject_id: int,
    url: str,
    kind: str,
    *,
    attested: bool,
    at: datetime | None = None,
    source_id: int | None = None,
    data: dict[str, object] | None = None,
    logged_at: datetime | None = None,
) -> int:
    """Store a completed look inside the caller's write transaction (with its audit event).

    ``attested`` is whether the worker re-attested for this look, as given. ``at`` is
    when the look was made, if earlier than now (an imported look): the viewing is
    stored at that time, so the meter's window counts it when it happened; the audit
    event is still written now. ``logged_at`` is the caller's "now", so that the
    events of one transaction carry one time and never run backwards in the log.
    """
    assert permission.allowed and permission.justification is not None
    record = permission.justification
    now = logged_at if logged_at is not None else session.now()
    viewing_id = sql.insert_viewing(
        conn,
        {
            "case_id": case_id,
            "subject_id": subject_id,
            "justification_id": record.id,
            "user_id": session.user.id,
            "at": to_iso(at if at is not None else now),
            "url": url,
            "kind": kind,
            "outcome": "completed",
            "source_id": source_id,
        },
    )
    meter = permission.meter
    audit.record(
        conn,
        at=now,
        actor=session.actor,
        action=f"viewing.{kind}",
        entity="viewing",
        entity_id=viewing_id,
        case_id=case_id,
        data={
            "url": url,
            "subject_id": subject_id,
            "justification_id": record.id,
            "justification_hash": record.content_hash,
            "attested": attested,
            **({"viewed_at": to_iso(at)} if at is not None else {}),
            "meter_count_before": meter.count_in_window if meter else None,
            "meter_state": meter.state if meter else None,
            "authorisation_ref": record.authorisation_ref,
            "source_id": source_id,
            **(data or {}),
        },
    )
    return viewing_id


def record_view(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    *,
    attested: bool,
) -> tuple[int, Permission]:
    """Record a look made without capturing anything. It counts towards the meter.

    The check runs again inside the write transaction, so two people cannot both use
    the last planned viewing.
    """
    authorise(session, case_id, justification_id, subject_id, url, attested=attested, kind="view")
    with session.casefile.write() as conn:
        permission = check(session, case_id, justification_id, subject_id, url, attested=attested)
        if permission.allowed:
            return record_completed(
                conn, session, permission, case_id, subject_id, url, "view", attested=attested
            ), permission
    refuse(session, permission, case_id, justification_id, subject_id, url, "view")
    raise AssertionError("unreachable")  # refuse() always raises


def list_for_subject(session: Session, subject_id: int, limit: int = 500) -> list[ViewingRecord]:
    row = people_sql.subject_by_id(session.casefile.conn, subject_id)
    if row is None:
        raise NotFound(f"There is no subject {subject_id}.")
    case_for_reading(session, int(row["case_id"]))
    return [
        ViewingRecord(
            int(r["id"]),
            int(r["case_id"]),
            r["subject_id"],
            r["justification_id"],
            str(r["username"]),
            from_iso(r["at"]),
            str(r["url"]),
            str(r["kind"]),
            str(r["outcome"]),
            r["rule"],
            r["message"],
        )
        for r in sql.viewings_of_subject(session.casefile.conn, subject_id, limit)
    ]
