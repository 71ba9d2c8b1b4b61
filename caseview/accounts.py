"""Accounts and roles: first manager, adding users, logging in, lockout.

Passwords are hashed with argon2id. Five failed logins in a row lock an account for
15 minutes; each failure is an audit event written in the same transaction as the
counter, so the log shows every attempt even if the process dies straight after.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

import argon2

from caseview import audit
from caseview.clock import Clock, from_iso, system_clock, to_iso
from caseview.domain import Role, User
from caseview.errors import LoginFailed, NotFound, PermissionDenied, ValidationError
from caseview.permissions import require_account_manager, require_account_reader
from caseview.session import Session
from caseview.storage import CaseFile, Store, logins
from caseview.storage import people as sql
from caseview.storage.store import Entrance, Owner

logger = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile. Tests
# swap in a cheaper hasher; verification always uses the parameters in the hash.
hasher = argon2.PasswordHasher()


def user_from_row(row: sqlite3.Row) -> User:
    return User(
        id=int(row["id"]),
        username=str(row["username"]),
        display_name=str(row["display_name"]),
        role=Role(row["role"]),
        active=bool(row["active"]),
    )


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise ValidationError(
            f"'{username}' cannot be a user name. Use 1 to 64 lower-case letters, digits, "
            "dots, dashes or underscores, starting with a letter or digit."
        )
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password is too short. Use at least {MIN_PASSWORD_LENGTH} characters."
        )


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationError(f"'{value}' is not a role. Use worker, manager or auditor.") from None


def _insert(
    conn: sqlite3.Connection,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    created_by: User | None,
    clock: Clock,
) -> User:
    if sql.user_by_name(conn, username) is not None:
        raise ValidationError(f"There is already a user called '{username}'. Choose another name.")
    now = clock()
    record = _password_record(conn, password)
    user_id = sql.insert_user(
        conn,
        {
            "username": username,
            "display_name": display_name or username,
            "role": role.value,
            "password_hash": record,
            "created_at": to_iso(now),
            "created_by": created_by.id if created_by else None,
        },
    )
    logins.create(conn, username, password, role.value)
    audit.record(
        conn,
        at=now,
        actor=created_by.username if created_by else username,
        action="user.added",
        entity="user",
        entity_id=user_id,
        data={
            "username": username,
            "display_name": display_name or username,
            "role": role.value,
            **_vouching(conn, record),
        },
    )
    return User(user_id, username, display_name or username, role, True)


def _password_record(conn: sqlite3.Connection, password: str) -> str:
    """What ``users.password_hash`` holds: an argon2 hash, or on a server (which checks
    passwords itself, against the person's login role) a marker and nothing of the password."""
    if logins.server_checks_passwords(conn):
        return logins.SERVER_PASSWORD_RECORD
    return hasher.hash(password)


def _vouching(conn: sqlite3.Connection, record: str) -> dict[str, str]:
    """What the log records of a case file's new password record: the sha256 of the
    stored argon2 hash (nothing of the password; the hash's salt is not in the log), so
    that verify finds a hash swapped behind the log's back, which would let its holder
    sign in as that person. A server keeps no hash (the marker is checked as such)."""
    if logins.server_checks_passwords(conn):
        return {}
    return {"password_record_sha256": hashlib.sha256(record.encode()).hexdigest()}


def create_first_manager(
    casefile: Store,
    username: str,
    password: str,
    *,
    display_name: str = "",
    clock: Clock = system_clock,
) -> User:
    """The first account of a new case file, always a manager. Refused once anyone exists."""
    name = _check_username(username)
    _check_password(password)
    with casefile.write() as conn:
        if sql.count_users(conn):
            raise PermissionDenied(
                "This case file already has accounts. Ask a manager to add you.",
                rule="first_manager_only_once",
            )
        return _insert(
            conn,
            username=name,
            display_name=display_name,
            role=Role.MANAGER,
            password=password,
            created_by=None,
            clock=clock,
        )


def set_up_server(
    owner: Owner,
    username: str,
    password: str,
    *,
    display_name: str = "",
    clock: Clock = system_clock,
) -> User:
    """Set up an empty database on a team server, as its owner: Caseview's schema, its
    roles and the first manager with their own login, in one transaction (a name or
    password :func:`create_first_manager` refuses leaves the database as it was)."""
    with owner.setting_up():
        return create_first_manager(
            owner, username, password, display_name=display_name, clock=clock
        )


def add_user(
    session: Session, username: str, role: str, password: str, *, display_name: str = ""
) -> User:
    """Managers add users. The new user's first password is set by the manager."""
    require_account_manager(session, doing="add users")
    name = _check_username(username)
    _check_password(password)
    with session.casefile.write() as conn:
        return _insert(
            conn,
            username=name,
            display_name=display_name,
            role=_role(role),
            password=password,
            created_by=session.user,
            clock=session.clock,
        )


def list_users(session: Session) -> list[User]:
    require_account_reader(session)
    return [user_from_row(row) for row in sql.list_users(session.casefile.conn)]


@dataclass(frozen=True)
class Account:
    """A user as a manager sees them: the account and its login state now."""

    user: User
    failed_logins: int
    locked_until: datetime | None
    """When a lockout in force now ends; None if the account is not locked."""
    created_at: datetime


def list_accounts(session: Session) -> list[Account]:
    """Every account with its login state, for managing them (managers and auditors)."""
    require_account_reader(session)
    now = session.now()
    found = []
    for row in sql.list_users(session.casefile.conn):
        until = from_iso(row["locked_until"]) if row["locked_until"] else None
        lapsed = until is not None and now >= until  # the next failure counts from 1
        found.append(
            Account(
                user_from_row(row),
                0 if lapsed else int(row["failed_logins"]),
                until if until is not None and now < until else None,
                from_iso(row["created_at"]),
            )
        )
    return found


def _other_account(session: Session, username: str, doing: str) -> sqlite3.Row:
    """The row of someone else's account, for a manager changing it."""
    require_account_manager(session, doing=doing)
    row = sql.user_by_name(session.casefile.conn, username.strip().lower())
    if row is None:
        raise NotFound(f"There is no user called '{username}'. Check the spelling.")
    if int(row["id"]) == session.user.id:
        raise PermissionDenied(
            "You cannot do this to your own account: ask another manager. To change your "
            "own password, use 'Change my password' (or 'caseview user passwd').",
            rule="own_account",
        )
    return row


def reset_password(session: Session, username: str, password: str) -> None:
    """A manager sets a new password for someone who forgot theirs; it also unlocks them."""
    row = _other_account(session, username, "reset passwords")
    _check_password(password)
    # Hashed before the write: argon2 takes its time, and nobody waits on the lock for it.
    record = _password_record(session.casefile.conn, password)
    with session.casefile.write() as conn:
        # The event first: on a server, the password is set only just after it.
        audit.record(
            conn,
            at=session.now(),
            actor=session.actor,
            action="user.password_reset",
            entity="user",
            entity_id=int(row["id"]),
            data={"username": row["username"], **_vouching(conn, record)},
        )
        if logins.server_checks_passwords(conn):
            logins.set_password(conn, str(row["username"]), password)
        else:
            sql.set_password_hash(conn, int(row["id"]), record)
            sql.set_login_state(conn, int(row["id"]), 0, None)


def unlock(session: Session, username: str) -> None:
    """A manager lifts a lockout after failed logins (the password is unchanged)."""
    row = _other_account(session, username, "unlock accounts")
    if logins.server_checks_passwords(session.casefile.conn):
        raise ValidationError(
            "On a team server, sign-in lockouts are kept by the server's own sign-in (the "
            "council's directory, or PostgreSQL's settings), not by Caseview: ask IT to "
            f"unlock '{row['username']}'."
        )
    with session.casefile.write() as conn:
        sql.set_login_state(conn, int(row["id"]), 0, None)
        audit.record(
            conn,
            at=session.now(),
            actor=session.actor,
            action="user.unlocked",
            entity="user",
            entity_id=int(row["id"]),
            data={"username": row["username"], "failed_logins": int(row["failed_logins"])},
        )


def set_active(session: Session, username: str, active: bool) -> None:
    """A manager switches an account off (it can no longer log in or act) or on again.

    Nothing the person recorded is removed. Managers cannot switch themselves off, so a
    case file always keeps at least one manager who can switch accounts back on.
    """
    row = _other_account(session, username, "switch accounts on or off")
    if bool(row["active"]) == active:
        return
    with session.casefile.write() as conn:
        sql.set_active(conn, int(row["id"]), active)
        logins.set_enabled(conn, str(row["username"]), active)
        audit.record(
            conn,
            at=session.now(),
            actor=session.actor,
            action="user.reactivated" if active else "user.deactivated",
            entity="user",
            entity_id=int(row["id"]),
            data={"username": row["username"], "active": active},
        )


def set_role(session: Session, username: str, role: str) -> User:
    """A manager moves someone else to another role (worker, manager or auditor).

    What they recorded stays as it was; from their next action they may do what the new
    role may. On a server their login role moves to the new group in the same transaction.
    """
    row = _other_account(session, username, "change people's roles")
    new = _role(role)
    previous = str(row["role"])
    if previous != new.value:
        with session.casefile.write() as conn:
            sql.set_role(conn, int(row["id"]), new.value)
            logins.set_role(conn, str(row["username"]), new.value)
            audit.record(
                conn,
                at=session.now(),
                actor=session.actor,
                action="user.role_changed",
                entity="user",
                entity_id=int(row["id"]),
                data={"username": row["username"], "role": new.value, "previous": previous},
            )
    return User(
        int(row["id"]), str(row["username"]), str(row["display_name"]), new, bool(row["active"])
    )


def needs_first_manager(casefile: Store) -> bool:
    return sql.count_users(casefile.conn) == 0


def login(
    casefile: Store | Entrance, username: str, password: str, *, clock: Clock = system_clock
) -> Session:
    """Check a password and open a session; count, audit and lock on failure.

    The password is checked before the write lock is taken (argon2 is slow on
    purpose and must not hold up everyone else's writes); the outcome is then recorded
    against a fresh read of the account, so concurrent failures all count.
    """
    if casefile.authenticates:
        return _login_on_server(casefile, username, password, clock)
    assert isinstance(casefile, CaseFile)
    name = username.strip().lower()
    row = sql.user_by_name(casefile.conn, name) if USERNAME.match(name) else None
    verdict = _password_verdict(row, password) if row is not None else "unknown"
    now = clock()
    if casefile.read_only:
        return _login_to_read(casefile, row, verdict, now, clock)
    with casefile.write() as conn:
        fresh = sql.user_by_name(conn, name) if row is not None else None
        if fresh is None:
            # The typed name may be a password typed into the wrong box: keep only its
            # hash, which still lets an auditor check whether a given name was tried.
            audit.record(
                conn,
                at=now,
                actor="anonymous",
                action="login.failed",
                entity="user",
                data={
                    "reason": "unknown user",
                    "username_sha256": hashlib.sha256(name.encode("utf-8")).hexdigest(),
                },
            )
            failure = "The user name or password is wrong. Check both and try again."
        else:
            failure = _record_login(conn, fresh, verdict, now)
            if not failure:
                user = user_from_row(fresh)
                audit.record(
                    conn,
                    at=now,
                    actor=user.username,
                    action="login",
                    entity="user",
                    entity_id=user.id,
                )
                return Session(casefile, user, clock)
    raise LoginFailed(failure)


def _login_on_server(store: Entrance, username: str, password: str, clock: Clock) -> Session:
    """Sign in on a team server: the server checks the password (and keeps any lockout),
    the person's own connection records the sign-in."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise LoginFailed("The user name or password is wrong. Check both and try again.")
    person = store.connect_as(name, password)
    try:
        row = sql.user_by_name(person.conn, name)
        if row is None:
            raise LoginFailed(
                f"'{name}' may sign in to the server but has no Caseview account in this "
                "database. Ask a manager."
            )
        user = user_from_row(row)
        if not user.active:
            raise LoginFailed(
                f"The account '{name}' is switched off. Ask a manager to switch it on."
            )
        audit.record_alone(
            person,
            at=clock(),
            actor=user.username,
            action="login",
            entity="user",
            entity_id=user.id,
        )
    except BaseException:
        person.close()
        raise
    return Session(person, user, clock)


def _password_verdict(row: sqlite3.Row, password: str) -> str:
    """'ok', 'wrong' or 'damaged' (the stored hash is not an argon2 hash)."""
    try:
        hasher.verify(row["password_hash"], password)
    except argon2.exceptions.VerificationError:
        return "wrong"
    except argon2.exceptions.InvalidHashError:
        logger.error("stored password hash for %s is not an argon2 hash", row["username"])
        return "damaged"
    return "ok"


def _login_to_read(
    casefile: CaseFile, row: sqlite3.Row | None, verdict: str, now: datetime, clock: Clock
) -> Session:
    """Sign in to a case file nobody here may change (a read-only disk, an archived copy).

    The password, a lockout and a switched-off account are checked as always, but nothing
    can be recorded: not the sign-in, nor a failure, nor a count towards a lockout.
    Anyone holding such a file can read it with SQLite anyway; the sign-in only shows its
    contents as the person's role allows, and every write says the file is read-only.
    """
    if row is None or verdict == "wrong":
        raise LoginFailed("The user name or password is wrong. Check both and try again.")
    refused = _refusal(row, verdict, now)
    if refused is not None:
        raise LoginFailed(refused[1])
    return Session(casefile, user_from_row(row), clock)


def _refusal(row: sqlite3.Row, verdict: str, now: datetime) -> tuple[str, str] | None:
    """Why an account may not sign in whatever the password (locked, switched off, a
    damaged password record), as (the reason logged, the message), or ``None``."""
    name = str(row["username"])
    locked_until = from_iso(row["locked_until"]) if row["locked_until"] else None
    if locked_until is not None and now < locked_until:
        return "locked", (
            f"The account '{name}' is locked after {MAX_FAILED_LOGINS} failed logins, until "
            f"{locked_until:%H:%M} UTC. Try again then, or ask a manager."
        )
    if not row["active"]:
        return "inactive", f"The account '{name}' is switched off. Ask a manager to switch it on."
    if verdict == "damaged":
        return "damaged password record", (
            f"The account '{name}' cannot log in: its password record is damaged. Ask a manager."
        )
    return None


def _record_login(conn: sqlite3.Connection, row: sqlite3.Row, verdict: str, now: datetime) -> str:
    """Record one attempt; empty string when it succeeded, else the message to show."""
    user_id, name = int(row["id"]), str(row["username"])
    locked_until = from_iso(row["locked_until"]) if row["locked_until"] else None

    def failed(reason: str, **more: object) -> None:
        data = {"reason": reason, **more}
        audit.record(
            conn,
            at=now,
            actor=name,
            action="login.failed",
            entity="user",
            entity_id=user_id,
            data=data,
        )

    refused = _refusal(row, verdict, now)
    if refused is not None:
        failed(refused[0])
        return refused[1]
    if verdict != "ok":
        failures = (0 if locked_until is not None else int(row["failed_logins"])) + 1
        lock = now + LOCKOUT if failures >= MAX_FAILED_LOGINS else None
        sql.set_login_state(conn, user_id, failures, to_iso(lock) if lock else None)
        failed("wrong password", failures=failures, locked_until=to_iso(lock) if lock else None)
        if lock is not None:
            return (
                f"The password is wrong. After {MAX_FAILED_LOGINS} failed logins the account "
                f"'{name}' is locked until {lock:%H:%M} UTC."
            )
        left = MAX_FAILED_LOGINS - failures
        return (
            f"The user name or password is wrong. {left} more failed "
            f"{'try' if left == 1 else 'tries'} will lock the account for 15 minutes."
        )
    if row["failed_logins"] or row["locked_until"]:
        sql.set_login_state(conn, user_id, 0, None)
    return ""


def change_password(session: Session, old: str, new: str) -> None:
    """A user changes their own password, proving the old one first."""
    store = session.casefile
    if store.authenticates:
        try:  # the server checks the old password: sign in with it once more
            store.connect_as(session.actor, old).close()
        except LoginFailed:
            raise LoginFailed(
                "The current password is wrong; the password was not changed."
            ) from None
    else:
        row = sql.user_by_id(store.conn, session.user.id)
        assert row is not None
        try:
            hasher.verify(row["password_hash"], old)
        except argon2.exceptions.VerificationError:
            raise LoginFailed(
                "The current password is wrong; the password was not changed."
            ) from None
    _check_password(new)
    record = _password_record(store.conn, new)  # before the write, as reset_password
    with store.write() as conn:
        # The event first: on a server, the password is set only just after it.
        audit.record(
            conn,
            at=session.now(),
            actor=session.actor,
            action="user.password_changed",
            entity="user",
            entity_id=session.user.id,
            data=_vouching(conn, record),
        )
        if store.authenticates:
            logins.set_password(conn, session.actor, new)
        else:
            sql.set_password_hash(conn, session.user.id, record)
