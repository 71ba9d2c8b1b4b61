"""Accounts: argon2id hashes, the first manager, user names, passwords, login and lockout."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from caseview import accounts, audit
from caseview.clock import FixedClock
from caseview.domain import Role
from caseview.errors import LoginFailed, NotFound, PermissionDenied, ValidationError
from caseview.session import Session
from caseview.storage import CaseFile
from caseview.storage import people as people_sql

PASSWORD = "correct horse"  # the password conftest gives every account
WRONG = "wrong horse"


def stored_hash(casefile: CaseFile, username: str) -> str:
    row = casefile.conn.execute(
        "SELECT password_hash FROM users WHERE username = ?", (username,)
    ).fetchone()
    return str(row[0])


def fail_login(casefile: CaseFile, username: str, clock: FixedClock, times: int) -> None:
    for _ in range(times):
        with pytest.raises(LoginFailed):
            accounts.login(casefile, username, WRONG, clock=clock)


def last_event(db_path: Path) -> tuple[str, str, dict[str, object]]:
    """(actor, action, data) of the newest audit event, read through a separate connection,
    so the event is known to be committed, not just written in an open transaction."""
    conn = sqlite3.connect(db_path)
    try:
        actor, action, payload = conn.execute(
            "SELECT actor, action, payload FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return actor, action, json.loads(payload)["data"]


# --- hashes and the first manager ----------------------------------------------------


def test_password_is_stored_as_an_argon2id_hash(manager: Session) -> None:
    stored = stored_hash(manager.casefile, "mona")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_first_manager_is_a_manager(casefile: CaseFile, clock: FixedClock) -> None:
    user = accounts.create_first_manager(casefile, "mona", PASSWORD, clock=clock)
    assert user.role is Role.MANAGER


def test_first_manager_only_once(manager: Session, clock: FixedClock) -> None:
    with pytest.raises(PermissionDenied) as refused:
        accounts.create_first_manager(manager.casefile, "mallory", PASSWORD, clock=clock)
    assert refused.value.rule == "first_manager_only_once"
    assert [u.username for u in accounts.list_users(manager)] == ["mona"]


def test_needs_first_manager_only_while_empty(casefile: CaseFile, clock: FixedClock) -> None:
    assert accounts.needs_first_manager(casefile)
    accounts.create_first_manager(casefile, "mona", PASSWORD, clock=clock)
    assert not accounts.needs_first_manager(casefile)


def test_first_manager_password_too_short(casefile: CaseFile, clock: FixedClock) -> None:
    with pytest.raises(ValidationError, match="too short"):
        accounts.create_first_manager(casefile, "mona", "short", clock=clock)
    assert accounts.needs_first_manager(casefile)


# --- adding users --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("wren", "wren"),
        ("  Wren  ", "wren"),
        ("WREN.Smith-2_x", "wren.smith-2_x"),
        ("7eleven", "7eleven"),
        ("a" * 64, "a" * 64),
    ],
)
def test_user_names_are_normalised(manager: Session, given: str, stored: str) -> None:
    assert accounts.add_user(manager, given, "worker", PASSWORD).username == stored


def test_a_normalised_name_logs_in_whatever_its_case(manager: Session, clock: FixedClock) -> None:
    accounts.add_user(manager, "Wren", "worker", PASSWORD)
    assert accounts.login(manager.casefile, " WREN ", PASSWORD, clock=clock).actor == "wren"


@pytest.mark.parametrize(
    "name",
    ["", "   ", "-wren", ".wren", "wren smith", "wren/../x", "émile", "a" * 65, "wren\nx", "w@x"],
)
def test_invalid_user_names_are_refused(manager: Session, name: str) -> None:
    with pytest.raises(ValidationError, match="cannot be a user name"):
        accounts.add_user(manager, name, "worker", PASSWORD)
    assert len(accounts.list_users(manager)) == 1


@pytest.mark.parametrize(("password", "accepted"), [("1234567", False), ("12345678", True)])
def test_minimum_password_length(manager: Session, password: str, accepted: bool) -> None:
    if accepted:
        accounts.add_user(manager, "wren", "worker", password)
    else:
        with pytest.raises(ValidationError, match="too short"):
            accounts.add_user(manager, "wren", "worker", password)
    assert ("wren" in {u.username for u in accounts.list_users(manager)}) is accepted


@pytest.mark.parametrize("name", ["wren", "WREN", " wren "])
def test_duplicate_user_is_refused(manager: Session, worker: Session, name: str) -> None:
    with pytest.raises(ValidationError, match="already a user called 'wren'"):
        accounts.add_user(manager, name, "auditor", PASSWORD)
    assert [u.username for u in accounts.list_users(manager)].count("wren") == 1


def test_unknown_role_is_refused(manager: Session) -> None:
    with pytest.raises(ValidationError, match="not a role"):
        accounts.add_user(manager, "wren", "admin", PASSWORD)


def test_added_user_has_display_name_and_role(manager: Session) -> None:
    user = accounts.add_user(manager, "wren", "auditor", PASSWORD, display_name="Wren Lee")
    assert (user.display_name, user.role, user.active) == ("Wren Lee", Role.AUDITOR, True)


def test_adding_a_user_is_audited(manager: Session) -> None:
    accounts.add_user(manager, "wren", "worker", PASSWORD)
    actor, action, data = last_event(manager.casefile.path)
    assert (actor, action) == ("mona", "user.added")
    record = (
        sqlite3.connect(manager.casefile.path)
        .execute("SELECT password_hash FROM users WHERE username = 'wren'")
        .fetchone()[0]
    )
    assert data == {
        "username": "wren",
        "display_name": "wren",
        "role": "worker",
        # What verify holds the stored hash to; nothing of the password itself.
        "password_record_sha256": hashlib.sha256(record.encode()).hexdigest(),
    }
    assert PASSWORD not in json.dumps(data)


def test_list_users_is_sorted_by_name(manager: Session, worker: Session, auditor: Session) -> None:
    assert [u.username for u in accounts.list_users(manager)] == ["ada", "mona", "wren"]


# --- login and lockout ---------------------------------------------------------------


def test_login_opens_a_session_for_the_user(worker: Session, clock: FixedClock) -> None:
    session = accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)
    assert (session.actor, session.role) == ("wren", Role.WORKER)


def test_successful_login_is_audited(worker: Session, clock: FixedClock) -> None:
    accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)
    actor, action, _ = last_event(worker.casefile.path)
    assert (actor, action) == ("wren", "login")


def test_wrong_password_is_refused(worker: Session, clock: FixedClock) -> None:
    with pytest.raises(LoginFailed, match="user name or password is wrong"):
        accounts.login(worker.casefile, "wren", WRONG, clock=clock)


def test_five_failures_lock_out_the_right_password(worker: Session, clock: FixedClock) -> None:
    fail_login(worker.casefile, "wren", clock, 5)
    with pytest.raises(LoginFailed, match="locked"):
        accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)


def test_fifth_failure_says_the_account_is_now_locked(worker: Session, clock: FixedClock) -> None:
    fail_login(worker.casefile, "wren", clock, 4)
    with pytest.raises(LoginFailed, match="locked until 09:15 UTC"):
        accounts.login(worker.casefile, "wren", WRONG, clock=clock)


def test_four_failures_do_not_lock(worker: Session, clock: FixedClock) -> None:
    fail_login(worker.casefile, "wren", clock, 4)
    assert accounts.login(worker.casefile, "wren", PASSWORD, clock=clock).actor == "wren"


def test_lock_holds_until_fifteen_minutes_have_passed(worker: Session, clock: FixedClock) -> None:
    fail_login(worker.casefile, "wren", clock, 5)
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(LoginFailed, match="locked"):
        accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)


def test_right_password_works_after_fifteen_minutes(worker: Session, clock: FixedClock) -> None:
    fail_login(worker.casefile, "wren", clock, 5)
    clock.advance(minutes=15)
    assert accounts.login(worker.casefile, "wren", PASSWORD, clock=clock).actor == "wren"


def test_counter_resets_after_the_lock_and_a_good_login(worker: Session, clock: FixedClock) -> None:
    fail_login(worker.casefile, "wren", clock, 5)
    clock.advance(minutes=15)
    accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)
    fail_login(worker.casefile, "wren", clock, 4)
    assert accounts.login(worker.casefile, "wren", PASSWORD, clock=clock).actor == "wren"


def test_one_failure_after_the_lock_expires_does_not_relock(
    worker: Session, clock: FixedClock
) -> None:
    fail_login(worker.casefile, "wren", clock, 5)
    clock.advance(minutes=15)
    fail_login(worker.casefile, "wren", clock, 1)
    assert accounts.login(worker.casefile, "wren", PASSWORD, clock=clock).actor == "wren"


def test_a_good_login_resets_the_counter(worker: Session, clock: FixedClock) -> None:
    fail_login(worker.casefile, "wren", clock, 4)
    accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)
    fail_login(worker.casefile, "wren", clock, 4)
    assert accounts.login(worker.casefile, "wren", PASSWORD, clock=clock).actor == "wren"


def test_lockout_is_per_account(worker: Session, other_worker: Session, clock: FixedClock) -> None:
    fail_login(worker.casefile, "wren", clock, 5)
    assert accounts.login(worker.casefile, "otto", PASSWORD, clock=clock).actor == "otto"


def _unknown_user(casefile: CaseFile, clock: FixedClock) -> tuple[str, str]:
    return "nobody", PASSWORD


def _wrong_password(casefile: CaseFile, clock: FixedClock) -> tuple[str, str]:
    return "wren", WRONG


def _locked(casefile: CaseFile, clock: FixedClock) -> tuple[str, str]:
    fail_login(casefile, "wren", clock, 5)
    return "wren", PASSWORD


def _inactive(casefile: CaseFile, clock: FixedClock) -> tuple[str, str]:
    with casefile.write() as conn:
        people_sql.set_active(conn, int(people_sql.user_by_name(conn, "wren")["id"]), False)
    return "wren", PASSWORD


@pytest.mark.parametrize(
    ("setup", "actor", "reason"),
    [
        (_unknown_user, "anonymous", "unknown user"),
        (_wrong_password, "wren", "wrong password"),
        (_locked, "wren", "locked"),
        (_inactive, "wren", "inactive"),
    ],
)
def test_every_failed_login_is_an_audit_event(
    worker: Session,
    clock: FixedClock,
    setup: Callable[[CaseFile, FixedClock], tuple[str, str]],
    actor: str,
    reason: str,
) -> None:
    username, password = setup(worker.casefile, clock)
    head = audit.head(worker.casefile.conn).seq
    with pytest.raises(LoginFailed):
        accounts.login(worker.casefile, username, password, clock=clock)
    assert audit.head(worker.casefile.conn).seq == head + 1
    event_actor, action, data = last_event(worker.casefile.path)
    assert (event_actor, action, data["reason"]) == (actor, "login.failed", reason)


def test_inactive_account_cannot_log_in(worker: Session, clock: FixedClock) -> None:
    _inactive(worker.casefile, clock)
    with pytest.raises(LoginFailed, match="switched off"):
        accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)


def test_wrong_password_event_records_the_count(worker: Session, clock: FixedClock) -> None:
    fail_login(worker.casefile, "wren", clock, 2)
    _, _, data = last_event(worker.casefile.path)
    assert (data["failures"], data["locked_until"]) == (2, None)


# --- changing a password -------------------------------------------------------------


def test_change_password_needs_the_old_one(worker: Session, clock: FixedClock) -> None:
    with pytest.raises(LoginFailed, match="current password is wrong"):
        accounts.change_password(worker, WRONG, "a brand new password")
    assert accounts.login(worker.casefile, "wren", PASSWORD, clock=clock).actor == "wren"


def test_changed_password_replaces_the_old_one(worker: Session, clock: FixedClock) -> None:
    accounts.change_password(worker, PASSWORD, "a brand new password")
    assert accounts.login(worker.casefile, "wren", "a brand new password", clock=clock)
    with pytest.raises(LoginFailed):
        accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)


def test_new_password_must_be_long_enough(worker: Session, clock: FixedClock) -> None:
    with pytest.raises(ValidationError, match="too short"):
        accounts.change_password(worker, PASSWORD, "short")
    assert accounts.login(worker.casefile, "wren", PASSWORD, clock=clock).actor == "wren"


def test_new_password_is_stored_as_argon2id(worker: Session) -> None:
    accounts.change_password(worker, PASSWORD, "a brand new password")
    stored = stored_hash(worker.casefile, "wren")
    assert stored.startswith("$argon2id$")
    assert "a brand new password" not in stored


def test_password_change_is_audited(worker: Session) -> None:
    accounts.change_password(worker, PASSWORD, "a brand new password")
    actor, action, data = last_event(worker.casefile.path)
    assert (actor, action) == ("wren", "user.password_changed")
    digest = hashlib.sha256(stored_hash(worker.casefile, "wren").encode()).hexdigest()
    assert data == {"password_record_sha256": digest}


# --- managers looking after accounts -------------------------------------------------


def test_a_reset_password_replaces_the_old_one(
    manager: Session, worker: Session, clock: FixedClock
) -> None:
    accounts.reset_password(manager, "wren", "a brand new password")
    assert accounts.login(worker.casefile, "wren", "a brand new password", clock=clock)
    with pytest.raises(LoginFailed):
        accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)


def test_a_reset_password_also_lifts_a_lockout(
    manager: Session, worker: Session, clock: FixedClock
) -> None:
    fail_login(worker.casefile, "wren", clock, 5)
    accounts.reset_password(manager, "wren", "a brand new password")
    assert accounts.login(worker.casefile, "wren", "a brand new password", clock=clock)


def test_a_reset_password_is_audited_without_the_password(
    manager: Session, worker: Session
) -> None:
    accounts.reset_password(manager, "wren", "a brand new password")
    actor, action, data = last_event(manager.casefile.path)
    digest = hashlib.sha256(stored_hash(manager.casefile, "wren").encode()).hexdigest()
    assert (actor, action, data) == (
        "mona",
        "user.password_reset",
        {"username": "wren", "password_record_sha256": digest},
    )
    assert "a brand new password" not in json.dumps(data)


def test_a_reset_password_must_be_long_enough(manager: Session, worker: Session) -> None:
    before = stored_hash(manager.casefile, "wren")
    with pytest.raises(ValidationError, match="too short"):
        accounts.reset_password(manager, "wren", "short")
    assert stored_hash(manager.casefile, "wren") == before


def test_unlocking_lets_the_right_password_in_at_once(
    manager: Session, worker: Session, clock: FixedClock
) -> None:
    fail_login(worker.casefile, "wren", clock, 5)
    [locked] = [a for a in accounts.list_accounts(manager) if a.user.username == "wren"]
    accounts.unlock(manager, "wren")
    assert locked.locked_until is not None and locked.failed_logins == 5
    assert accounts.login(worker.casefile, "wren", PASSWORD, clock=clock).actor == "wren"
    assert [e.action for e in audit.list_events(manager)][-2:] == ["user.unlocked", "login"]


def test_a_lock_that_has_run_out_is_not_listed(
    manager: Session, worker: Session, clock: FixedClock
) -> None:
    fail_login(worker.casefile, "wren", clock, 5)
    clock.advance(minutes=15)
    [account] = [a for a in accounts.list_accounts(manager) if a.user.username == "wren"]
    assert account.locked_until is None
    # Its failures are spent too: the next wrong password counts from one.
    assert account.failed_logins == 0
    fail_login(worker.casefile, "wren", clock, 1)
    [account] = [a for a in accounts.list_accounts(manager) if a.user.username == "wren"]
    assert account.failed_logins == 1


def test_a_switched_off_account_cannot_log_in_until_switched_on(
    manager: Session, worker: Session, clock: FixedClock
) -> None:
    accounts.set_active(manager, "wren", False)
    with pytest.raises(LoginFailed, match="switched off"):
        accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)
    accounts.set_active(manager, "wren", True)
    assert accounts.login(worker.casefile, "wren", PASSWORD, clock=clock).actor == "wren"


def test_switching_off_and_on_is_audited(manager: Session, worker: Session) -> None:
    head = audit.head(manager.casefile.conn).seq
    accounts.set_active(manager, "wren", False)
    accounts.set_active(manager, "wren", False)  # already off: nothing to record
    accounts.set_active(manager, "wren", True)
    events = audit.list_events(manager, after=head)
    assert [(e.action, e.data) for e in events] == [
        ("user.deactivated", {"username": "wren", "active": False}),
        ("user.reactivated", {"username": "wren", "active": True}),
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda s: accounts.reset_password(s, "mona", "a brand new password"),
        lambda s: accounts.unlock(s, "mona"),
        lambda s: accounts.set_active(s, "mona", False),
    ],
    ids=["reset", "unlock", "switch off"],
)
def test_a_manager_cannot_change_their_own_account_this_way(
    manager: Session, change: Callable[[Session], None]
) -> None:
    with pytest.raises(PermissionDenied) as refused:
        change(manager)
    assert refused.value.rule == "own_account"


@pytest.mark.parametrize("who", ["worker", "auditor"])
@pytest.mark.parametrize(
    "change",
    [
        lambda s: accounts.reset_password(s, "otto", "a brand new password"),
        lambda s: accounts.unlock(s, "otto"),
        lambda s: accounts.set_active(s, "otto", False),
    ],
    ids=["reset", "unlock", "switch off"],
)
def test_only_managers_look_after_accounts(
    request: pytest.FixtureRequest,
    other_worker: Session,
    who: str,
    change: Callable[[Session], None],
) -> None:
    session: Session = request.getfixturevalue(who)
    head = audit.head(session.casefile.conn).seq
    with pytest.raises(PermissionDenied) as refused:
        change(session)
    assert refused.value.rule == "role"
    assert audit.head(session.casefile.conn).seq == head


def test_changing_an_unknown_account_is_not_found(manager: Session) -> None:
    with pytest.raises(NotFound, match="no user called 'nobody'"):
        accounts.unlock(manager, "nobody")


def test_workers_cannot_list_accounts(worker: Session) -> None:
    with pytest.raises(PermissionDenied):
        accounts.list_accounts(worker)


# --- changing someone's role ------------------------------------------------------------


def test_a_manager_changes_someones_role_and_it_takes_effect_at_once(
    manager: Session, worker: Session
) -> None:
    moved = accounts.set_role(manager, "wren", "auditor")
    assert moved.role is Role.AUDITOR
    again = accounts.login(manager.casefile, "wren", PASSWORD, clock=manager.clock)
    assert again.role is Role.AUDITOR
    event = audit.list_file_events(manager, kind="users")[0]
    assert (event.action, event.data) == (
        "user.role_changed",
        {"username": "wren", "role": "auditor", "previous": "worker"},
    )
    assert audit.verify(manager, manager.casefile.path).intact


def test_nobody_changes_their_own_role_and_workers_change_nobodys(
    manager: Session, worker: Session
) -> None:
    with pytest.raises(PermissionDenied) as own:
        accounts.set_role(manager, "mona", "worker")
    assert own.value.rule == "own_account"
    with pytest.raises(PermissionDenied):
        accounts.set_role(worker, "mona", "worker")
    with pytest.raises(ValidationError, match="not a role"):
        accounts.set_role(manager, "wren", "boss")
