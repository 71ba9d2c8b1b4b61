"""Background work for importing files and looking after cases and accounts (no Qt).

Plain functions like :mod:`ui.jobs` (STYLE rule 9): each takes the signed-in
:class:`~ui.identity.Identity` first, opens its own session, calls the ``caseview``
services (which check every permission) and returns frozen data. A function that
changes something returns the fresh state the dialog shows next, so a change and its
result need one trip to the thread pool, not two.

``caseview.captures`` is imported inside the functions that use it, as in
:mod:`ui.jobs`: it pulls in the collectors, which would slow the app's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from caseview import accounts, cases
from caseview.accounts import Account
from caseview.domain import Case, Role, Subject, User
from ui.identity import Identity, session_for

if TYPE_CHECKING:
    from caseview.captures import SourceRecord

# --- importing a saved file ----------------------------------------------------------


@dataclass(frozen=True)
class GateAnswer:
    """What the gate would say about an import as the form stands now."""

    allowed: bool
    rule: str
    message: str
    warning: str = ""
    """The repeat-viewing meter's caution, when allowed but near its limit."""


def import_check(
    who: Identity,
    case_id: int,
    justification_id: int,
    subject_id: int,
    url: str,
    viewed_at: datetime,
    origin: str,
    attested: bool,
) -> GateAnswer:
    """Ask the gate, without recording anything, whether this import would be allowed.

    ``captures.check_import`` is the decision ``captures.import_file`` itself makes
    before storing anything; the import checks again and records a refusal.
    """
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        permission = captures.check_import(
            session,
            case_id,
            url=url,
            viewed_at=viewed_at,
            justification_id=justification_id,
            subject_id=subject_id,
            origin=origin,
            attested=attested,
        )
    if permission.allowed:
        return GateAnswer(True, "", "", permission.warning)
    return GateAnswer(False, permission.rule or "gate", permission.message)


def import_file(
    who: Identity,
    case_id: int,
    path: Path,
    url: str,
    viewed_at: datetime,
    justification_id: int,
    subject_id: int,
    origin: str,
    supplied_by: str,
    attested: bool,
) -> SourceRecord:
    """Import a saved screenshot, PDF, web page or text file through the gate."""
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        return captures.import_file(
            session,
            case_id,
            path,
            url=url,
            viewed_at=viewed_at,
            justification_id=justification_id,
            subject_id=subject_id,
            origin=origin,
            supplied_by=supplied_by or None,
            attested=attested,
        )


# --- a case: its workers, its people, open or closed --------------------------------


@dataclass(frozen=True)
class CaseAdmin:
    case: Case
    members: tuple[User, ...]
    subjects: tuple[Subject, ...]
    candidates: tuple[User, ...]
    """Active workers and managers not yet allocated (empty unless a manager asks)."""


def load_case_admin(who: Identity, case_id: int) -> CaseAdmin:
    with session_for(who) as session:
        case = cases.get_case(session, case_id)
        members = tuple(cases.members(session, case_id))
        subjects = tuple(cases.list_subjects(session, case_id))
        candidates: tuple[User, ...] = ()
        if session.role is Role.MANAGER:
            allocated = {user.id for user in members}
            candidates = tuple(
                user
                for user in accounts.list_users(session)
                if user.active
                and user.role in (Role.WORKER, Role.MANAGER)
                and user.id not in allocated
            )
        return CaseAdmin(case, members, subjects, candidates)


def create_case(who: Identity, reference: str, title: str) -> Case:
    with session_for(who) as session:
        return cases.create_case(session, reference, title)


def allocate(who: Identity, case_id: int, username: str) -> CaseAdmin:
    with session_for(who) as session:
        cases.allocate(session, case_id, username)
    return load_case_admin(who, case_id)


def deallocate(who: Identity, case_id: int, username: str) -> CaseAdmin:
    with session_for(who) as session:
        cases.deallocate(session, case_id, username)
    return load_case_admin(who, case_id)


def add_subject(
    who: Identity,
    case_id: int,
    name: str,
    role: str,
    date_of_birth: date | None,
    handles: Sequence[str],
) -> CaseAdmin:
    with session_for(who) as session:
        cases.add_subject(
            session, case_id, name, role, date_of_birth=date_of_birth, handles=handles
        )
    return load_case_admin(who, case_id)


def set_case_status(who: Identity, case_id: int, status: str) -> CaseAdmin:
    with session_for(who) as session:
        cases.set_status(session, case_id, status)
    return load_case_admin(who, case_id)


# --- accounts -----------------------------------------------------------------------


def load_accounts(who: Identity) -> list[Account]:
    with session_for(who) as session:
        return accounts.list_accounts(session)


def add_user(
    who: Identity, username: str, role: str, password: str, display_name: str
) -> list[Account]:
    """Add an account (argon2 hashing is slow on purpose, hence off the GUI thread)."""
    with session_for(who) as session:
        accounts.add_user(session, username, role, password, display_name=display_name)
        return accounts.list_accounts(session)


def reset_password(who: Identity, username: str, password: str) -> list[Account]:
    with session_for(who) as session:
        accounts.reset_password(session, username, password)
        return accounts.list_accounts(session)


def unlock(who: Identity, username: str) -> list[Account]:
    with session_for(who) as session:
        accounts.unlock(session, username)
        return accounts.list_accounts(session)


def set_role(who: Identity, username: str, role: str) -> list[Account]:
    with session_for(who) as session:
        accounts.set_role(session, username, role)
        return accounts.list_accounts(session)


def set_active(who: Identity, username: str, active: bool) -> list[Account]:
    with session_for(who) as session:
        accounts.set_active(session, username, active)
        return accounts.list_accounts(session)


def change_own_password(who: Identity, current: str, new: str) -> None:
    """The signed-in user changes their own password, proving the current one first."""
    with session_for(who) as session:
        accounts.change_password(session, current, new)
    if who.link is not None:
        who.link.password_changed(new)  # the window's next connections sign in with it
