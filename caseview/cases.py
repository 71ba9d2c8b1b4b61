"""Cases, their allocation to workers, and the people (subjects) in them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date

from caseview import audit
from caseview.accounts import user_from_row
from caseview.clock import from_iso, to_iso
from caseview.domain import Case, CaseStatus, Role, Subject, SubjectRole, User
from caseview.errors import NotFound, PermissionDenied, ValidationError
from caseview.permissions import (
    case_for_changing,
    case_for_managing,
    case_for_reading,
    require_case_creator,
    subject_for_reading,
)
from caseview.session import Session
from caseview.storage import people as sql


def case_from_row(row: sqlite3.Row) -> Case:
    return Case(
        id=int(row["id"]),
        reference=str(row["reference"]),
        title=str(row["title"]),
        status=CaseStatus(row["status"]),
        created_by=str(row["created_by_name"]),
        created_at=from_iso(row["created_at"]),
    )


def subject_from_row(row: sqlite3.Row) -> Subject:
    dob = row["date_of_birth"]
    return Subject(
        id=int(row["id"]),
        case_id=int(row["case_id"]),
        name=str(row["name"]),
        role=SubjectRole(row["role"]),
        date_of_birth=date.fromisoformat(dob) if dob else None,
        handles=tuple(sql.handles_of(row)),
    )


def _text(value: str, what: str, limit: int) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise ValidationError(f"The {what} is empty. Give a {what}.")
    if len(cleaned) > limit:
        raise ValidationError(f"The {what} is longer than {limit} characters. Shorten it.")
    return cleaned


def create_case(session: Session, reference: str, title: str) -> Case:
    require_case_creator(session)
    ref = _text(reference, "case reference", 64)
    heading = _text(title, "case title", 200)
    now = session.now()
    with session.casefile.write() as conn:
        if sql.case_by_reference(conn, ref) is not None:
            raise ValidationError(f"A case with reference {ref} already exists. Open that one.")
        case_id = sql.insert_case(
            conn,
            {
                "reference": ref,
                "title": heading,
                "created_by": session.user.id,
                "created_at": to_iso(now),
            },
        )
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="case.created",
            entity="case",
            entity_id=case_id,
            case_id=case_id,
            data={"reference": ref, "title": heading},
        )
    return Case(case_id, ref, heading, CaseStatus.OPEN, session.actor, now)


def list_cases(session: Session) -> list[Case]:
    """Managers and auditors see every case; a worker sees the ones allocated to them."""
    member = session.user.id if session.role is Role.WORKER else None
    return [case_from_row(row) for row in sql.list_cases(session.casefile.conn, member)]


def get_case(session: Session, case_id: int) -> Case:
    return case_from_row(case_for_reading(session, case_id))


def _find_user(session: Session, username: str) -> User:
    row = sql.user_by_name(session.casefile.conn, username.strip().lower())
    if row is None:
        raise NotFound(f"There is no user called '{username}'. Check the spelling.")
    return user_from_row(row)


def allocate(session: Session, case_id: int, username: str) -> None:
    """A manager allocates a worker (or another manager) to a case."""
    case_for_managing(session, case_id)
    member = _find_user(session, username)
    if member.role is Role.AUDITOR:
        raise PermissionDenied(
            "Auditors read every case already and cannot be allocated to one.",
            rule="role",
        )
    now = session.now()
    with session.casefile.write() as conn:
        case_row = case_for_reading(session, case_id)
        if sql.is_member(conn, case_id, member.id):
            return
        sql.insert_member(
            conn,
            {
                "case_id": case_id,
                "user_id": member.id,
                "allocated_by": session.user.id,
                "allocated_at": to_iso(now),
            },
        )
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="case.allocated",
            entity="case",
            entity_id=case_id,
            case_id=case_id,
            data={"reference": case_row["reference"], "user": member.username},
        )


def deallocate(session: Session, case_id: int, username: str) -> None:
    """A manager takes someone off a case. What they recorded on it stays, and the
    audit log keeps the allocation; they simply stop seeing the case."""
    case_for_managing(session, case_id)
    member = _find_user(session, username)
    now = session.now()
    with session.casefile.write() as conn:
        case_row = case_for_reading(session, case_id)
        if not sql.is_member(conn, case_id, member.id):
            return
        sql.delete_member(conn, case_id, member.id)
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="case.deallocated",
            entity="case",
            entity_id=case_id,
            case_id=case_id,
            data={"reference": case_row["reference"], "user": member.username},
        )


def members(session: Session, case_id: int) -> list[User]:
    case_for_reading(session, case_id)
    return [user_from_row(row) for row in sql.members(session.casefile.conn, case_id)]


def set_status(session: Session, case_id: int, status: str) -> None:
    """Close a case (no new material) or reopen it. Managers only."""
    case_for_managing(session, case_id)
    try:
        new = CaseStatus(status)
    except ValueError:
        raise ValidationError(f"'{status}' is not a case status. Use open or closed.") from None
    now = session.now()
    with session.casefile.write() as conn:
        if case_for_reading(session, case_id)["status"] == new.value:
            return
        sql.set_case_status(
            conn, case_id, new.value, to_iso(now) if new is CaseStatus.CLOSED else None
        )
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="case.closed" if new is CaseStatus.CLOSED else "case.reopened",
            entity="case",
            entity_id=case_id,
            case_id=case_id,
            data={"status": new.value},
        )


def add_subject(
    session: Session,
    case_id: int,
    name: str,
    role: str,
    *,
    date_of_birth: date | None = None,
    handles: Sequence[str] = (),
) -> Subject:
    case_for_changing(session, case_id, doing="add people to a case")  # fail fast
    clean_name = _text(name, "name", 200)
    try:
        subject_role = SubjectRole(role)
    except ValueError:
        allowed = ", ".join(r.value for r in SubjectRole)
        raise ValidationError(f"'{role}' is not a subject role. Use one of {allowed}.") from None
    now = session.now()
    if date_of_birth is not None and date_of_birth > now.date():
        raise ValidationError("The date of birth is in the future. Check it.")
    clean_handles = tuple(h.strip() for h in handles if h.strip())
    with session.casefile.write() as conn:
        # Again under the write lock: the case may have been closed meanwhile.
        case_for_changing(session, case_id, doing="add people to a case")
        subject_id = sql.insert_subject(
            conn,
            {
                "case_id": case_id,
                "name": clean_name,
                "role": subject_role.value,
                "date_of_birth": date_of_birth.isoformat() if date_of_birth else None,
                "handles": clean_handles,
                "created_by": session.user.id,
                "created_at": to_iso(now),
            },
        )
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="subject.added",
            entity="subject",
            entity_id=subject_id,
            case_id=case_id,
            data={
                "name": clean_name,
                "role": subject_role.value,
                "date_of_birth": date_of_birth.isoformat() if date_of_birth else None,
                "handles": list(clean_handles),
            },
        )
    return Subject(subject_id, case_id, clean_name, subject_role, date_of_birth, clean_handles)


def list_subjects(session: Session, case_id: int) -> list[Subject]:
    case_for_reading(session, case_id)
    return [subject_from_row(row) for row in sql.subjects_of(session.casefile.conn, case_id)]


def get_subject(session: Session, subject_id: int) -> Subject:
    row = subject_for_reading(session, subject_id)
    return subject_from_row(row)
