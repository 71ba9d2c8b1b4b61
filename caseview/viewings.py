"""Looks at people's public pages, and the one gate every look passes through.

The decision about a look is ``ethics.decide_look``'s alone; this module gathers its
facts from the case file (the request, the people, the looks already made, the
authorisations in force, open emergencies), asks it, and records the answer. Before
that come the case rules (role, allocation, closed case), which are ``permissions``'.
A refusal is stored as a refused viewing with an audit event, in one transaction, and
nothing else is stored. Completed looks feed the meter, at the time the look was made.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import ethics
from caseview import audit, justifications, persons, policy
from caseview.clock import from_iso, to_iso
from caseview.errors import GateRefused, NotFound, PermissionDenied
from caseview.permissions import case_for_looking, case_for_reading, subject_for_reading
from caseview.session import Session
from caseview.storage import gate as sql
from caseview.storage import people as people_sql

KINDS = ("capture", "import", "view", "browse")
RULE_VIEWED_BEFORE_APPROVAL = ethics.RULE_VIEWED_BEFORE_APPROVAL


@dataclass(frozen=True)
class Permission:
    """The gate's answer for one intended look."""

    allowed: bool
    rule: str | None
    message: str
    reference: str
    meter: ethics.MeterReading | None
    justification: justifications.JustificationRecord | None
    warnings: tuple[str, ...] = ()
    persons: frozenset[int] = frozenset()

    @property
    def warning(self) -> str:
        """The meter's warnings to show even when the look is allowed."""
        return " ".join(self.warnings) if self.allowed else ""


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


def meter_for(session: Session, subject_id: int) -> ethics.MeterReading:
    """The repeat-viewing meter now for the person this subject is (every look at that
    person, by everyone, in any case and under any label)."""
    subject_for_reading(session, subject_id)
    conn, now = session.casefile.conn, session.now()
    rules = policy.current(session.casefile)
    people = persons.known_people(conn)
    history = persons.look_history(conn, people, now, rules)
    return ethics.read_meter(history, people.person(subject_id), now, rules, authorised=False)


def _case_rules(session: Session, case_id: int) -> Permission | None:
    """Role, allocation and closed case: ``permissions.case_for_looking``, before any
    request is read."""
    try:
        case_for_looking(session, case_id)
    except PermissionDenied as exc:
        return _refused(exc.rule or "permission", str(exc))
    return None


def _justification_for(
    session: Session, case_id: int, justification_id: int
) -> justifications.JustificationRecord | Permission:
    """The case rules, then the justification if it belongs to this case (else a refusal)."""
    refused = _case_rules(session, case_id)
    if refused is not None:
        return refused
    row = sql.justification(session.casefile.conn, justification_id)
    # On a server another case's request is hidden from a worker: it is still another
    # case's request, refused as such, not a missing one.
    found_in = (
        int(row["case_id"])
        if row is not None
        else people_sql.case_of(session.casefile.conn, "justification", justification_id)
    )
    if found_in is None:
        raise NotFound(f"There is no justification {justification_id}.")
    if found_in != case_id:
        return _refused(
            "wrong_case",
            f"Justification {justification_id} belongs to another case. Use one written for "
            "this case.",
        )
    return justifications.get(session, justification_id)


def look_facts(session: Session, record: justifications.JustificationRecord) -> ethics.LookFacts:
    """Everything ``ethics.decide_look`` needs to know around a look under ``record``."""
    case_for_reading(session, record.case_id)  # the facts include the person's meter
    conn, now = session.casefile.conn, session.now()
    rules = policy.current(session.casefile)
    people = persons.known_people(conn)
    stored = "approved" if record.status == "expired" else record.status
    return ethics.LookFacts(
        request=ethics.RequestFacts(
            id=record.id,
            status=stored,
            author=record.author,
            submitted_at=record.submitted_at,
            approvals=tuple(d.at for d in record.decisions if d.decision == "approve"),
            first_decision_at=min((d.at for d in record.decisions), default=None),
            viewings_made=sql.completed_under_versions(conn, record.id),
        ),
        people=people,
        history=persons.look_history(conn, people, now, rules),
        authorised_subjects=persons.authorised_subjects(conn, record.id, now),
        open_emergencies=persons.open_emergencies(conn, people),
    )


def decide(
    session: Session,
    record: justifications.JustificationRecord,
    kind: str,
    subject_id: int,
    url: str,
    *,
    attested: bool = False,
    made_at: datetime | None = None,
    by_colleague: bool = False,
) -> Permission:
    """``ethics.decide_look`` for one look under ``record``, as a Permission."""
    look = ethics.Look(
        kind=kind,
        subject_id=subject_id,
        url=url,
        actor=session.actor,
        now=session.now(),
        attested=attested,
        made_at=made_at,
        by_colleague=by_colleague,
    )
    decision = ethics.decide_look(
        record.request, look_facts(session, record), look, policy.current(session.casefile)
    )
    return Permission(
        decision.allowed,
        decision.rule,
        decision.message,
        decision.reference,
        decision.meter,
        record,
        decision.warnings,
        decision.persons,
    )


def check(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    *,
    attested: bool,
    viewed_at: datetime | None = None,
    kind: str = "capture",
) -> Permission:
    """May this user look at ``url`` about this subject now, under this justification?

    ``viewed_at`` is when a look being imported now was actually made (a self-collected
    import): the request must also have been usable, and in date, at that time.
    """
    found = _justification_for(session, case_id, justification_id)
    if isinstance(found, Permission):
        return found
    return decide(session, found, kind, subject_id, url, attested=attested, made_at=viewed_at)


def hop_refusal(
    session: Session, record: justifications.JustificationRecord, subject_id: int, url: str
) -> Permission | None:
    """None if a capture may be sent on to ``url`` (a redirect), else the refusal.

    The check before the fetch covers only the address the worker asked for; every
    address the capture goes to is a look of its own kind (``ethics.HOP``).
    """
    permission = decide(session, record, ethics.HOP, subject_id, url)
    return None if permission.allowed else permission


def check_supplied(
    session: Session,
    case_id: int,
    justification_id: int,
    subject_id: int,
    *,
    url: str = "",
    by_colleague: bool = False,
) -> Permission:
    """May this user record material about a subject that someone else supplied?

    Material from outside the authority is not a look of ours: the request must be
    usable, in date and about this subject. Material a colleague gathered is a look by
    the authority (Home Office Code 3.17): the meter counts it and can stop it.
    """
    found = _justification_for(session, case_id, justification_id)
    if isinstance(found, Permission):
        return found
    return decide(session, found, ethics.SUPPLIED, subject_id, url, by_colleague=by_colleague)


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
        kind=kind,
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
    record_refusal(session, permission, case_id, justification_id, subject_id, url, kind)
    rule = permission.rule or "gate"
    raise GateRefused(f"Refused ({rule}): {permission.message}", rule=rule)


def record_refusal(
    session: Session,
    permission: Permission,
    case_id: int,
    justification_id: int | None,
    subject_id: int | None,
    url: str,
    kind: str,
) -> int:
    """Record a refused look (viewing + audit event, one transaction); its viewing id."""
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
    return viewing_id


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
            "meter_months": meter.months if meter else None,
            "persons": sorted(permission.persons),
            "authorisations_in_force": [
                {"id": auth_id, "reference": reference}
                for auth_id, reference in persons.covering(conn, record.id, permission.persons, now)
            ],
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
        permission = check(
            session, case_id, justification_id, subject_id, url, attested=attested, kind="view"
        )
        if permission.allowed:
            return record_completed(
                conn, session, permission, case_id, subject_id, url, "view", attested=attested
            ), permission
    refuse(session, permission, case_id, justification_id, subject_id, url, "view")
    raise AssertionError("unreachable")  # refuse() always raises


def list_for_subject(session: Session, subject_id: int, limit: int = 500) -> list[ViewingRecord]:
    subject_for_reading(session, subject_id)
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


@dataclass(frozen=True)
class OpenRequest:
    """A request that material may be recorded under now, and its viewings left."""

    record: justifications.JustificationRecord
    viewings_left: int
    """Planned viewings not yet made. At 0 only material others supplied (which uses no
    viewing) may still be recorded under it; a look of one's own may not."""

    @property
    def allows_look(self) -> bool:
        """Whether a look of one's own (capture, view, self-collected import) may use it."""
        return self.viewings_left > 0


def requests_open_for(session: Session, case_id: int) -> list[OpenRequest]:
    """The case's requests that may be used now, oldest first, each with its viewings left.

    Each is put to ``ethics.decide_look`` as supplied material, which checks everything
    not about one address or look (status, emergency rules, dates, people); the viewings
    left are the planned viewings less the looks made, the facts the gate's
    ``RULE_VIEWINGS_USED`` decides on. The address, the promise and the meter are still
    checked when the look is made. Someone who may not look in this case (role,
    allocation, closed case) gets none. Reads only.
    """
    if _case_rules(session, case_id) is not None:
        return []
    rules = policy.current(session.casefile)
    found: list[OpenRequest] = []
    for record in justifications.list_for_case(session, case_id):
        if not record.request.subjects:
            continue
        facts = look_facts(session, record)
        look = ethics.Look(
            kind=ethics.SUPPLIED,
            subject_id=record.request.subjects[0],
            url="",
            actor=session.actor,
            now=session.now(),
        )
        if not ethics.decide_look(record.request, facts, look, rules).allowed:
            continue
        left = record.request.planned_viewings - facts.request.viewings_made
        found.append(OpenRequest(record, max(left, 0)))
    return found
