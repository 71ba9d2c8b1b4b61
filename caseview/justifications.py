"""The request to look: draft, submit through the gate, review, expire, cancel.

A draft may be edited in place. Submitting runs the gate; blocking findings refuse it
and list every one. At submission the content is hashed (sha256 of its canonical
JSON) and frozen, by this module and by a database trigger: a change after that is a
new version that supersedes the old one. A manager other than the author decides
(database CHECK too). An emergency (break-glass) request is usable at once, and
overdue if no manager has reviewed it within the policy window.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import ethics
from caseview import audit, persons, policy, returns
from caseview.clock import from_iso, system_clock, to_iso
from caseview.domain import Role
from caseview.errors import GateRefused, PermissionDenied, ValidationError
from caseview.permissions import case_for_changing, case_for_reading, not_found, require_role
from caseview.session import Session
from caseview.storage import gate as sql
from caseview.storage import people as people_sql
from ethics.textcheck import is_boilerplate, word_count

DECISIONS = {"approve": "approved", "reject": "rejected", "return": "returned"}


@dataclass(frozen=True)
class Decision:
    reviewer: str
    reviewer_name: str
    decision: str
    reasons: str
    content_hash: str
    at: datetime


@dataclass(frozen=True)
class JustificationRecord:
    id: int
    case_id: int
    author: str
    version: int
    supersedes: int | None
    status: str
    """Stored status, with ``expired`` shown once an approved request's date has passed."""
    emergency_state: str | None
    """For an emergency: live, overdue or reviewed. None otherwise."""
    request: ethics.Justification
    content_hash: str | None
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    authorisation_ref: str | None
    """Legacy: free text older case files hold. It lifts nothing; see caseview.authorisations."""
    authorised_by: str | None
    decisions: tuple[Decision, ...]
    answering: returns.ReturnAnswers | None = None
    """For a version made after a manager returned the request: each of the manager's
    reasons with this version's answer to it."""

    @property
    def overdue(self) -> bool:
        return self.emergency_state == "overdue"

    @property
    def usable(self) -> bool:
        """Whether captures may be made under it (subject to the capture rules)."""
        return self.status == "approved" or self.emergency_state == "live"


def _log(
    conn: sqlite3.Connection,
    session: Session,
    action: str,
    justification_id: int,
    case_id: int,
    now: datetime,
    data: dict[str, object],
) -> None:
    """The audit event for a change to one justification."""
    audit.record(
        conn,
        at=now,
        actor=session.actor,
        action=action,
        entity="justification",
        entity_id=justification_id,
        case_id=case_id,
        data=data,
    )


def content_hash(request: ethics.Justification) -> str:
    return hashlib.sha256(ethics.canonical_json(request)).hexdigest()


def template(session: Session | None = None) -> str:
    """A commented justification file to start from, valid for two weeks from today."""
    today = ethics.uk_day(session.now() if session else system_clock())  # valid_until is a UK day
    rules = policy.current(session.casefile) if session else ethics.default_policy()
    return ethics.template_toml(valid_until=today + timedelta(days=14), policy=rules)


def parse(session: Session, text: str) -> ethics.Justification:
    """Read a justification file; a malformed one is refused naming the key."""
    try:
        return ethics.load_justification_toml(text, policy=policy.current(session.casefile))
    except ethics.JustificationFormatError as exc:
        raise ValidationError(f"{exc} Nothing was stored.") from exc


def _check_subjects(conn: sqlite3.Connection, case_id: int, request: ethics.Justification) -> None:
    for subject_id in request.subjects:
        row = people_sql.subject_by_id(conn, subject_id)
        if row is None or int(row["case_id"]) != case_id:
            raise ValidationError(
                f"Key 'subjects' names subject {subject_id}, who is not in this case. Use the "
                "ids that 'caseview subject list CASE' shows. Nothing was stored."
            )


@functools.lru_cache(maxsize=256)
def _request(content: str) -> ethics.Justification:
    """The request a stored content string holds. Both are immutable (the content by a
    trigger, the Justification by being frozen), so a capture's two gate checks and a
    queue of many rows parse each request once."""
    return ethics.parse_justification(json.loads(content))


def _row_to_record(
    conn: sqlite3.Connection, row: sqlite3.Row, now: datetime, rules: ethics.Policy
) -> JustificationRecord:
    request = _request(str(row["content"]))
    status = str(row["status"])
    if status == "approved" and ethics.uk_day(now) > request.valid_until:
        status = "expired"
    emergency_state: str | None = None
    if row["emergency"] and row["submitted_at"] and status not in ("draft", "cancelled"):
        reviewed = from_iso(row["decided_at"]) if row["decided_at"] else None
        emergency_state = ethics.emergency_state(
            from_iso(row["submitted_at"]), reviewed, now, rules
        )
    decisions = tuple(
        Decision(
            r["reviewer_name"],
            r["reviewer_display"],
            r["decision"],
            r["reasons"],
            r["content_hash"],
            from_iso(r["at"]),
        )
        for r in sql.reviews_of(conn, int(row["id"]))
    )
    return JustificationRecord(
        id=int(row["id"]),
        case_id=int(row["case_id"]),
        author=str(row["author_name"]),
        version=int(row["version"]),
        supersedes=row["supersedes"],
        status=status,
        emergency_state=emergency_state,
        request=request,
        content_hash=row["content_hash"],
        created_at=from_iso(row["created_at"]),
        submitted_at=from_iso(row["submitted_at"]) if row["submitted_at"] else None,
        decided_at=from_iso(row["decided_at"]) if row["decided_at"] else None,
        authorisation_ref=row["authorisation_ref"],
        authorised_by=row["authorised_by_name"],
        decisions=decisions,
        answering=returns.answering(conn, row),
    )


def _load(session: Session, justification_id: int) -> tuple[sqlite3.Row, JustificationRecord]:
    conn = session.casefile.conn
    row = sql.justification(conn, justification_id)
    if row is None:
        not_found(
            session,
            "justification",
            justification_id,
            f"There is no justification {justification_id}.",
        )
    case_for_reading(session, int(row["case_id"]))
    return row, _row_to_record(conn, row, session.now(), policy.current(session.casefile))


def _still(conn: sqlite3.Connection, justification_id: int, status: str) -> sqlite3.Row:
    """Re-read under the write lock: someone may have decided or revised it meanwhile."""
    row = sql.justification(conn, justification_id)
    if row is None or row["status"] != status:
        now = row["status"] if row is not None else "gone"
        raise PermissionDenied(
            f"Justification {justification_id} changed while you were working on it (it is "
            f"now {now}). Look at it again.",
            rule="status",
        )
    return row


def get(session: Session, justification_id: int) -> JustificationRecord:
    """One request as it stands now. Reads only: see :func:`notice_overdue`."""
    return _load(session, justification_id)[1]


def list_for_case(session: Session, case_id: int) -> list[JustificationRecord]:
    """The case's requests, oldest first. Reads only: see :func:`notice_overdue`."""
    case_for_reading(session, case_id)
    conn, now = session.casefile.conn, session.now()
    rules = policy.current(session.casefile)
    return [
        _row_to_record(conn, row, now, rules) for row in sql.justifications_of_case(conn, case_id)
    ]


def findings(
    session: Session,
    case_id: int,
    request: ethics.Justification,
    justification_id: int | None = None,
) -> list[ethics.Finding]:
    """What the gate says about a request now (the wizard calls this as the worker types).

    ``justification_id`` is the stored request's id, if it is stored: its author and the
    authorisations confirmed for it are then taken into account.
    """
    case_for_reading(session, case_id)
    conn, now = session.casefile.conn, session.now()
    rules = policy.current(session.casefile)
    roles = {}
    for subject_id in request.subjects:
        row = people_sql.subject_by_id(conn, subject_id)
        if row is not None:
            # The findings read the person's meter: a subject of a case the reader may
            # not see is refused, not measured.
            case_for_reading(session, int(row["case_id"]))
            if int(row["case_id"]) == case_id:
                roles[subject_id] = str(row["role"])
    # A person of another case (or nobody) is refused as creating the request would
    # refuse it: 'justification check' must not say a request may be submitted when
    # 'justification new' would not store it. (Ids below 1 are the gate's to name.)
    _check_subjects(
        conn,
        case_id,
        dataclasses.replace(request, subjects=tuple(s for s in request.subjects if s >= 1)),
    )
    people = persons.known_people(conn)
    author = session.actor
    if justification_id is not None:
        stored = sql.justification(conn, justification_id)
        if stored is not None:
            case_for_reading(session, int(stored["case_id"]))
            author = str(stored["author_name"])
    return ethics.evaluate(
        request,
        persons.look_history(conn, people, now, rules),
        rules,
        now=now,
        subject_roles=roles,
        facts=ethics.SubmissionFacts(
            request_id=justification_id,
            author=author,
            people=people,
            authorised_subjects=persons.authorised_subjects(conn, justification_id, now),
            open_emergencies=persons.open_emergencies(conn, people),
        ),
    )


def create(session: Session, case_id: int, request: ethics.Justification) -> JustificationRecord:
    """Store a new draft. Its author is the session's user."""
    case_for_changing(session, case_id, doing="write a justification")
    now = session.now()
    with session.casefile.write() as conn:
        _check_subjects(conn, case_id, request)
        new_id = _insert(conn, session, case_id, request, version=1, supersedes=None, now=now)
    return get(session, new_id)


def create_from_toml(session: Session, case_id: int, text: str) -> JustificationRecord:
    return create(session, case_id, parse(session, text))


def _insert(
    conn: sqlite3.Connection,
    session: Session,
    case_id: int,
    request: ethics.Justification,
    *,
    version: int,
    supersedes: int | None,
    now: datetime,
) -> int:
    content = ethics.canonical_json(request).decode("utf-8")
    new_id = sql.insert_justification(
        conn,
        {
            "case_id": case_id,
            "author_id": session.user.id,
            "version": version,
            "supersedes": supersedes,
            "emergency": int(request.emergency),
            "content": content,
            "valid_until": request.valid_until.isoformat(),
            "created_at": to_iso(now),
            "updated_at": to_iso(now),
        },
    )
    sql.add_editor(conn, new_id, session.user.id)
    _log(
        conn,
        session,
        "justification.created",
        new_id,
        case_id,
        now,
        {
            "version": version,
            "supersedes": supersedes,
            "request": ethics.canonical_dict(request),
        },
    )
    return new_id


def edit(
    session: Session, justification_id: int, request: ethics.Justification
) -> JustificationRecord:
    """Change a request. A draft changes in place; anything submitted gets a new version.

    Revising a request that is waiting for review (or was returned) withdraws the old
    version, so a manager never approves a superseded text. An approved request stays
    in force until its new version is decided.
    """
    row, record = _load(session, justification_id)
    _require_author_or_manager(session, record, doing="change this justification")
    case_for_changing(session, record.case_id, doing="change a justification")
    now = session.now()
    with session.casefile.write() as conn:
        _check_subjects(conn, record.case_id, request)
        if row["status"] == "draft":
            content = ethics.canonical_json(request).decode("utf-8")
            sql.add_editor(conn, justification_id, session.user.id)
            sql.update_draft(
                conn,
                justification_id,
                content,
                request.emergency,
                request.valid_until.isoformat(),
                to_iso(now),
            )
            _log(
                conn,
                session,
                "justification.edited",
                justification_id,
                record.case_id,
                now,
                {"request": ethics.canonical_dict(request)},
            )
            new_id = justification_id
        else:
            if row["status"] in ("cancelled",):
                raise PermissionDenied(
                    "This justification was cancelled. Write a new one instead.", rule="status"
                )
            new_id = _insert(
                conn,
                session,
                record.case_id,
                request,
                version=record.version + 1,
                supersedes=justification_id,
                now=now,
            )
            _carry_answers(conn, session, record, new_id, now)
            if row["status"] in ("submitted", "returned") and not _used_emergency(conn, row):
                reason = f"superseded by version {record.version + 1} (justification {new_id})"
                sql.set_status(
                    conn,
                    justification_id,
                    status="cancelled",
                    cancel_reason=reason,
                    updated_at=to_iso(now),
                )
                _log(
                    conn,
                    session,
                    "justification.cancelled",
                    justification_id,
                    record.case_id,
                    now,
                    {"reason": reason},
                )
    return get(session, new_id)


def _carry_answers(
    conn: sqlite3.Connection,
    session: Session,
    record: JustificationRecord,
    new_id: int,
    now: datetime,
) -> None:
    """A resubmission revised before anyone decided it answers the same return: its
    answers move to the new version, for the worker to keep or change."""
    answered = record.answering
    if answered is None or sql.latest_review(conn, record.id) is not None:
        return
    sql.set_return_answers(
        conn,
        new_id,
        answered.review_id,
        [(item.reason, item.answer) for item in answered.items],
        session.user.id,
        to_iso(now),
    )


def answer_return(
    session: Session, justification_id: int, answers: Sequence[str]
) -> JustificationRecord:
    """The author answers each reason the manager gave for returning the request.

    ``justification_id`` is the new version (a draft made by editing the returned
    request); ``answers`` are one per reason, in the order the reasons were given. They
    replace any earlier answers and are frozen when the version is submitted.
    """
    row, record = _load(session, justification_id)
    case_for_changing(session, record.case_id, doing="answer a manager's reasons")
    if session.actor != record.author:
        raise PermissionDenied(
            "Only the author of the request can answer the manager's reasons.", rule="author"
        )
    if row["status"] == "returned":
        raise PermissionDenied(
            f"Justification {justification_id} is the returned version. Change it first "
            "(this makes a new version), then answer the reasons on the new version.",
            rule="status",
        )
    if row["status"] != "draft":
        raise PermissionDenied(
            f"Justification {justification_id} is {record.status}; reasons are answered "
            "on a draft, before it is submitted again.",
            rule="status",
        )
    returned = record.answering
    if returned is None:
        raise ValidationError(
            f"Justification {justification_id} does not follow a returned request, so "
            "there are no reasons to answer."
        )
    if len(answers) != len(returned.items):
        raise ValidationError(
            f"The manager gave {len(returned.items)} reason(s) for returning the request; "
            f"give one answer for each, in order (you gave {len(answers)}). Nothing was "
            "stored."
        )
    items = returns.pair(returned, answers)
    now = session.now()
    with session.casefile.write() as conn:
        _still(conn, justification_id, "draft")
        sql.set_return_answers(
            conn, justification_id, returned.review_id, items, session.user.id, to_iso(now)
        )
        _log(
            conn,
            session,
            "justification.return_answered",
            justification_id,
            record.case_id,
            now,
            {
                "returned": returned.returned_id,
                "review": returned.review_id,
                "answers": [{"reason": r, "answer": a} for r, a in items],
            },
        )
    return get(session, justification_id)


def _require_author_or_manager(
    session: Session, record: JustificationRecord, *, doing: str
) -> None:
    if session.role is Role.MANAGER or session.actor == record.author:
        return
    raise PermissionDenied(f"Only its author or a manager can {doing}.", rule="author")


def submit(
    session: Session, justification_id: int
) -> tuple[JustificationRecord, list[ethics.Finding]]:
    """Run the gate. Blocking findings refuse submission (GateRefused lists every one)."""
    row, record = _load(session, justification_id)
    case_for_changing(session, record.case_id, doing="submit a justification")
    if session.actor != record.author:
        raise PermissionDenied("Only the author can submit a justification.", rule="author")
    if row["status"] != "draft":
        raise PermissionDenied(
            f"Justification {justification_id} is {record.status}, not a draft; only a draft "
            "can be submitted. Edit it to make a new version.",
            rule="status",
        )
    _check_return_answered(session, record)
    found = findings(session, record.case_id, record.request, justification_id)
    blocking = ethics.blocking(found)
    now = session.now()
    rules = policy.current(session.casefile)
    with session.casefile.write() as conn:
        _still(conn, justification_id, "draft")
        if blocking:
            _log(
                conn,
                session,
                "justification.submit_refused",
                justification_id,
                record.case_id,
                now,
                {
                    "blocking": [f.code for f in blocking],
                    "findings": [f.code for f in found],
                    "policy": rules.name,
                },
            )
        else:
            digest = content_hash(record.request)
            sql.set_status(
                conn,
                justification_id,
                status="submitted",
                content_hash=digest,
                submitted_at=to_iso(now),
                updated_at=to_iso(now),
            )
            _log(
                conn,
                session,
                "justification.submitted",
                justification_id,
                record.case_id,
                now,
                {
                    "content_hash": digest,
                    "emergency": record.request.emergency,
                    "findings": [f.code for f in found],
                    "policy": rules.name,
                },
            )
    if blocking:
        lines = "\n".join(
            f"  - [{f.field or 'request'}] {f.message} ({f.reference})" for f in blocking
        )
        raise GateRefused(
            f"The gate refused justification {justification_id}: {len(blocking)} thing(s) "
            f"must change before it can be submitted:\n{lines}",
            rule="gate",
            findings=tuple(blocking),
        )
    return get(session, justification_id), found


def _check_return_answered(session: Session, record: JustificationRecord) -> None:
    """After a return, the new version must change and answer every reason (else refused,
    recorded, and GateRefused naming the rule)."""
    rules = policy.current(session.casefile)
    refused = returns.refusal(record.answering, content_hash(record.request), rules)
    if refused is None:
        return
    rule, message = refused
    with session.casefile.write() as conn:
        _still(conn, record.id, "draft")
        _log(
            conn,
            session,
            "justification.submit_refused",
            record.id,
            record.case_id,
            session.now(),
            {"rule": rule, "blocking": [], "findings": [], "policy": rules.name},
        )
    raise GateRefused(f"Justification {record.id} cannot be submitted yet: {message}", rule=rule)


def wrote_part(session: Session, row: sqlite3.Row) -> bool:
    """The author, or anyone who edited the text, may not decide on it (nor authorise it).

    ``row`` is the justification's stored row.
    """
    return session.user.id == int(row["author_id"]) or sql.is_editor(
        session.casefile.conn, int(row["id"]), session.user.id
    )


def review(
    session: Session,
    justification_id: int,
    decision: str,
    reasons: str,
) -> JustificationRecord:
    """A manager other than the author approves, rejects or returns a submitted request.

    A surveillance authorisation is not part of a decision: it is recorded, and
    confirmed by a second manager, with :mod:`caseview.authorisations`.
    """
    require_role(session, Role.MANAGER, doing="review justifications")
    if decision not in DECISIONS:
        raise ValidationError(f"'{decision}' is not a decision. Use approve, reject or return.")
    row, record = _load(session, justification_id)
    if wrote_part(session, row):
        raise PermissionDenied(
            "You wrote this justification (or part of it), so you cannot review it. Another "
            "manager must decide.",
            rule="self_review",
        )
    if row["status"] != "submitted":
        raise PermissionDenied(
            f"Justification {justification_id} is {record.status}; only a submitted request "
            "can be reviewed.",
            rule="status",
        )
    reasons = reasons.strip()
    if decision == "approve":
        _check_approval_reasons(reasons, policy.current(session.casefile))
    elif not reasons:
        raise ValidationError(
            f"Give your reasons to {decision} this request; they are recorded "
            "and shown to the worker."
        )
    now = session.now()
    if decision == "approve" and ethics.uk_day(now) > record.request.valid_until:
        raise PermissionDenied(
            f"This request was valid until {record.request.valid_until}; it cannot be approved "
            "now. Return it so the worker can set a new date.",
            rule="expired",
        )
    with session.casefile.write() as conn:
        _still(conn, justification_id, "submitted")
        sql.insert_review(
            conn,
            {
                "justification_id": justification_id,
                "author_id": int(row["author_id"]),
                "reviewer_id": session.user.id,
                "decision": decision,
                "reasons": reasons,
                "content_hash": row["content_hash"],
                "at": to_iso(now),
            },
        )
        sql.set_status(
            conn,
            justification_id,
            status=DECISIONS[decision],
            decided_at=to_iso(now),
            updated_at=to_iso(now),
        )
        late = record.emergency_state == "overdue"
        _log(
            conn,
            session,
            f"justification.{DECISIONS[decision]}",
            justification_id,
            record.case_id,
            now,
            {
                "reasons": reasons,
                "content_hash": row["content_hash"],
                "author": record.author,
                "emergency": record.request.emergency,
                "reviewed_late": late,
            },
        )
        if decision == "approve":
            _close_earlier_versions(conn, session, record, now)
    return get(session, justification_id)


def _close_earlier_versions(
    conn: sqlite3.Connection, session: Session, record: JustificationRecord, now: datetime
) -> None:
    """An earlier version stays in force only until its revision is decided: once the
    revision is approved, the earlier one ends, so one request never gives two
    allowances at once. (A rejected or returned revision leaves it in force.)"""
    for earlier in sql.approved_earlier_versions(conn, record.id):
        reason = (
            f"superseded by version {record.version} (justification {record.id}), "
            "which was approved"
        )
        sql.set_status(
            conn, earlier, status="cancelled", cancel_reason=reason, updated_at=to_iso(now)
        )
        _log(
            conn,
            session,
            "justification.cancelled",
            earlier,
            record.case_id,
            now,
            {"reason": reason},
        )


# Words that approve without giving a reason; with the policy's stock phrases, an
# approval made only of one of these records no reasoning anyone could follow.
APPROVAL_STOCK_PHRASES = (
    "ok",
    "okay",
    "yes",
    "y",
    "approve",
    "approved",
    "agree",
    "agreed",
    "fine",
    "granted",
    "authorised",
    "authorized",
    "go ahead",
    "as above",
    "see above",
    "as requested",
    "lgtm",
    "n a",
    "na",
    "none",
    "no comment",
)
_APPROVAL_ASKS = (
    "say why looking is necessary and proportionate, weighing the safety case against "
    "the ethics case (for example what the look must establish that a less intrusive "
    "route could not). They are recorded and shown to the worker."
)


RULE_REASONS = "approval_reasons"


def _check_approval_reasons(reasons: str, rules: ethics.Policy) -> None:
    """An approval needs reasons of its own: not empty (a missing value, as for every
    decision), not a stock phrase (refused by the gate's rule, as stock phrases in a
    request are at submission: exit 3, naming it)."""
    if word_count(reasons) == 0:
        raise ValidationError(f"Give your reasons to approve this request: {_APPROVAL_ASKS}")
    if is_boilerplate(reasons, (*APPROVAL_STOCK_PHRASES, *rules.boilerplate_phrases)):
        raise GateRefused(
            f"'{reasons[:40]}' is not a reason to approve this request: {_APPROVAL_ASKS}",
            rule=RULE_REASONS,
        )


def _used_emergency(conn: sqlite3.Connection, row: sqlite3.Row) -> bool:
    """A break-glass request already looked under must stay in the review queue."""
    return (
        bool(row["emergency"])
        and row["status"] == "submitted"
        and sql.completed_under(conn, int(row["id"])) > 0
    )


def cancel(session: Session, justification_id: int, reason: str) -> JustificationRecord:
    row, record = _load(session, justification_id)
    _require_author_or_manager(session, record, doing="cancel this justification")
    require_role(session, Role.WORKER, Role.MANAGER, doing="cancel justifications")
    if row["status"] in ("cancelled", "rejected"):
        raise PermissionDenied(
            f"Justification {justification_id} is already {row['status']}.", rule="status"
        )
    if not reason.strip():
        raise ValidationError("Say why the justification is cancelled.")
    now = session.now()
    with session.casefile.write() as conn:
        if _used_emergency(conn, row):
            raise PermissionDenied(
                "This emergency request has been used and a manager has not reviewed it yet; "
                "it cannot be cancelled until they have.",
                rule="emergency_review_required",
            )
        sql.set_status(
            conn,
            justification_id,
            status="cancelled",
            cancel_reason=reason.strip(),
            updated_at=to_iso(now),
        )
        _log(
            conn,
            session,
            "justification.cancelled",
            justification_id,
            record.case_id,
            now,
            {"reason": reason.strip()},
        )
    return get(session, justification_id)


def review_queue(session: Session) -> list[JustificationRecord]:
    """Submitted requests for a manager: overdue emergencies first, then live ones, then
    the rest, oldest first. A manager's own requests are listed but they cannot decide them.

    Reads only: whoever opens the queue calls :func:`notice_overdue` first.
    """
    require_role(session, Role.MANAGER, doing="see the review queue")
    conn, now = session.casefile.conn, session.now()
    rules = policy.current(session.casefile)
    records = [
        _row_to_record(conn, row, now, rules)
        for row in sql.justifications_with_status(conn, ["submitted"])
    ]
    rank = {"overdue": 0, "live": 1}
    return sorted(
        records,
        key=lambda r: (rank.get(r.emergency_state or "", 2), r.submitted_at or r.created_at, r.id),
    )


def notice_overdue(session: Session) -> int:
    """Record each emergency found past its review window: one ``justification.overdue``
    audit event per emergency, the first time it is noticed. Returns how many were
    noticed now (0 when there is nothing new, which needs no write).

    A desktop app has no scheduler, so this is an explicit step, taken where a lapse
    matters: at sign-in, when a manager opens the review queue, and before a note's
    checkpoint is taken (so the note certifies the case with the lapse recorded, and a
    second export finds nothing new). Reads never take it (STYLE rule 24): showing a
    request changes nothing. The event records when the lapse was noticed and when the
    review was due.
    """
    if session.casefile.read_only:
        return 0  # nothing can be recorded; reading goes on without it
    conn, now = session.casefile.conn, session.now()
    rules = policy.current(session.casefile)
    due_before = to_iso(now - timedelta(hours=rules.emergency_review_hours))
    # Cheap at every sign-in: only undecided emergencies are read, and in full only those
    # already past their window.
    lapsed = [
        int(row["id"]) for row in sql.open_emergencies(conn) if row["submitted_at"] < due_before
    ]
    if not any(_unnoticed(conn, justification_id) for justification_id in lapsed):
        return 0
    noticed = 0
    with session.casefile.write() as wconn:
        for justification_id in lapsed:
            fresh = _unnoticed(wconn, justification_id)  # re-read under the write lock
            if fresh is None:
                continue
            due = ethics.emergency_review_due(from_iso(fresh["submitted_at"]), rules)
            sql.set_status(wconn, justification_id, overdue_flagged_at=to_iso(now))
            audit.record(
                wconn,
                at=now,
                actor="system",
                action="justification.overdue",
                entity="justification",
                entity_id=justification_id,
                case_id=int(fresh["case_id"]),
                data={"review_due": to_iso(due), "noticed_by": session.actor},
            )
            noticed += 1
    return noticed


def _unnoticed(conn: sqlite3.Connection, justification_id: int) -> sqlite3.Row | None:
    """The request's row if it is still an undecided emergency not yet noticed overdue."""
    row = sql.justification(conn, justification_id)
    if row is None or row["overdue_flagged_at"] or row["status"] != "submitted":
        return None
    return row
