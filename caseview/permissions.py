"""Who may do what. Every rule lives here, once, and services call it first.

- worker: sees and acts on the cases allocated to them;
- manager: sees and acts on every case, adds users, creates and allocates cases;
- auditor: reads everything, changes nothing.
A closed case accepts no new material from anyone.
"""

from __future__ import annotations

import sqlite3
from typing import NoReturn

from caseview.domain import CaseStatus, Role
from caseview.errors import NotFound, PermissionDenied
from caseview.session import Session
from caseview.storage import people as sql


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def require_role(session: Session, *roles: Role, doing: str) -> None:
    if session.role not in roles:
        allowed = " or ".join(_a(role.value) for role in roles)
        raise PermissionDenied(
            f"Only {allowed} can {doing}; you are signed in as {_a(session.role.value)}.",
            rule="role",
        )


def can_see_case(session: Session, case_id: int) -> bool:
    if session.role in (Role.MANAGER, Role.AUDITOR):
        return True
    return sql.is_member(session.casefile.conn, case_id, session.user.id)


def case_for_reading(session: Session, case_id: int) -> sqlite3.Row:
    """The case row, if this user may see it. An unallocated worker is told plainly."""
    row = sql.case_by_id(session.casefile.conn, case_id)
    if row is None and not sql.case_exists(session.casefile.conn, case_id):
        raise NotFound(f"There is no case {case_id}. Run 'caseview case list' to see yours.")
    # On a server the database itself hides a case not allocated to the reader.
    if row is None or not can_see_case(session, case_id):
        raise PermissionDenied(
            f"Case {case_id} is not allocated to you. Ask a manager to allocate it "
            "if you need to work on it.",
            rule="allocation",
        )
    return row


def subject_for_reading(session: Session, subject_id: int) -> sqlite3.Row:
    """The subject's row, if this user may see its case."""
    row = sql.subject_by_id(session.casefile.conn, subject_id)
    if row is None:
        not_found(session, "subject", subject_id, f"There is no subject {subject_id}.")
    case_for_reading(session, int(row["case_id"]))
    return row


def not_found(session: Session, kind: str, item_id: int, message: str) -> NoReturn:
    """Raise for a subject, source, observation or request the reader could not find:
    "not allocated to you" if it is in a case they may not see (on a server the database
    hides such rows itself), else ``NotFound`` with ``message``."""
    hidden_in = sql.case_of(session.casefile.conn, kind, item_id)
    if hidden_in is not None:
        case_for_reading(session, hidden_in)
    raise NotFound(message)


def case_for_changing(session: Session, case_id: int, *, doing: str) -> sqlite3.Row:
    """The case row, if this user may add to or change it now."""
    require_role(session, Role.WORKER, Role.MANAGER, doing=doing)
    row = case_for_reading(session, case_id)
    if row["status"] == CaseStatus.CLOSED.value:
        raise PermissionDenied(
            f"Case {row['reference']} is closed and accepts no new material. "
            "A manager can reopen it if work must continue.",
            rule="case_closed",
        )
    return row


MANAGE_CASE = "allocate workers to a case, or close or reopen it"


def case_for_managing(session: Session, case_id: int) -> sqlite3.Row:
    """The case row, if this user may allocate workers to it, take them off it, or close
    or reopen it: managers only, and only on a case that exists."""
    require_role(session, Role.MANAGER, doing=MANAGE_CASE)
    return case_for_reading(session, case_id)


LOOK_ROLE = (
    "Only workers allocated to the case, or managers, can view or capture sources; "
    "auditors read the record but add nothing to it."
)


def case_for_looking(session: Session, case_id: int) -> sqlite3.Row:
    """The case row, if this user may look at a subject's pages for it now (view, capture,
    import, record supplied material): the rules for adding to a case (a worker allocated
    to it, or a manager, on an open case), with the role refusal in the gate's words.
    Whether a request allows the look is the gate's question (``viewings``), asked after
    this.
    """
    try:
        return case_for_changing(session, case_id, doing="view or capture sources")
    except PermissionDenied as refused:
        if refused.rule == "role":
            raise PermissionDenied(LOOK_ROLE, rule="role") from None
        raise


def require_case_creator(session: Session) -> None:
    """Managers open new cases."""
    require_role(session, Role.MANAGER, doing="create cases")


def require_reviewer(session: Session, *, doing: str = "review justifications") -> None:
    """Managers decide requests to look (and see the queue of them)."""
    require_role(session, Role.MANAGER, doing=doing)


def require_account_manager(
    session: Session, *, doing: str = "add users, reset passwords, unlock or switch off accounts"
) -> None:
    """Managers look after user accounts."""
    require_role(session, Role.MANAGER, doing=doing)


def require_account_reader(session: Session, *, doing: str = "list users") -> None:
    """Managers and auditors see the accounts of the case file."""
    require_role(session, Role.MANAGER, Role.AUDITOR, doing=doing)
