"""What a person meets when the server changes under a command: the connection lost in
the middle of it, or an account changed since signing in. Each is a sentence with the
right exit code (a ``CaseviewError``), never a psycopg traceback."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pg_seed import PREFIX, Team, event, head

from caseview import cases
from caseview.browse import signed_in_user
from caseview.domain import Role
from caseview.errors import CaseviewError, LoginFailed, PermissionDenied, UsageError
from caseview.session import Session
from caseview.storage import integrity, notify
from caseview.storage.pg import ConnectionLost
from caseview.storage.postgres import install
from caseview.storage.server import ROLE_PREFIX_ENV, ServerAddress, ServerFile, open_server


def _open(team: Team, name: str) -> ServerFile:
    login = install.role_names(PREFIX).login(name)
    return open_server(team.url, login=login, password=team[name].password)


@pytest.fixture
def wren(team: Team) -> Iterator[ServerFile]:
    server = _open(team, "wren")
    yield server
    server.close()


def _cut_off(team: Team, server: ServerFile) -> None:
    """End ``server``'s session from another connection of the same person, as a server
    restart or an administrator would."""
    with _open(team, "wren") as other:
        other.pg.execute("SELECT pg_terminate_backend(?)", [server.pg.raw.info.backend_pid])


def test_a_read_after_the_connection_is_lost_says_so(team: Team, wren: ServerFile) -> None:
    _cut_off(team, wren)
    with pytest.raises(ConnectionLost, match=r"connection to the Caseview server .* was lost"):
        wren.conn.execute("SELECT id FROM cases").fetchall()
    assert not wren.conn.in_transaction  # nothing left to end


def test_a_write_that_loses_the_connection_says_so_and_that_it_was_not_saved(
    team: Team, wren: ServerFile
) -> None:
    with pytest.raises(ConnectionLost, match="was not saved"), wren.write() as conn:
        _cut_off(team, wren)
        conn.execute("SELECT id FROM cases")


def test_a_connection_lost_at_commit_says_the_step_may_have_been_kept(
    team: Team, wren: ServerFile
) -> None:
    with pytest.raises(ConnectionLost, match="may or may not have been kept"), wren.write():
        _cut_off(team, wren)


def test_a_lost_connection_reaches_the_service_as_a_caseview_error(
    team: Team, wren: ServerFile
) -> None:
    session = Session(wren, signed_in_user(wren, team["wren"].id))  # type: ignore[arg-type]
    _cut_off(team, wren)
    with pytest.raises(CaseviewError) as caught:
        cases.list_cases(session)
    assert caught.value.exit_code == 1
    assert not isinstance(caught.value.__cause__, CaseviewError)


def test_a_lost_connection_is_not_usable(team: Team, wren: ServerFile) -> None:
    _cut_off(team, wren)
    assert not notify.is_usable(wren)


def test_a_server_refusal_after_a_role_change_is_a_refusal(team: Team, wren: ServerFile) -> None:
    """Signed in as a manager, moved to worker since: the app still thinks them a
    manager, the database does not, and its refusal reads as one (exit 3)."""
    user = signed_in_user(wren, team["wren"].id)
    stale = Session(wren, dataclasses.replace(user, role=Role.MANAGER))  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied, match=r"refused this .*sign in again") as caught:
        cases.create_case(stale, "CP-RACE", "Made after a role change")
    assert caught.value.exit_code == 3
    assert isinstance(caught.value.__cause__, psycopg.errors.InsufficientPrivilege)
    assert not wren.conn.in_transaction


# --- a login follows its users row -----------------------------------------------------


def _group(team: Team, name: str) -> str:
    row = team.owner.execute(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
        [install.role_names(PREFIX).login(name)],
    ).fetchone()
    team.owner.rollback()
    assert row is not None
    return str(row[0])


def test_a_manager_cannot_give_a_worker_a_managers_login_behind_the_log(team: Team) -> None:
    """With psql, moving wren's login to the managers' group while the users row (and
    so Caseview and verify) still say worker is refused."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="follows their users row"):
        install.set_role(team["mona"].c, PREFIX, "wren", "manager")
    team["mona"].c.rollback()
    assert _group(team, "wren") == f"{PREFIX}_worker"


def test_a_manager_cannot_let_a_switched_off_account_sign_in_behind_the_log(team: Team) -> None:
    mona = team["mona"].c
    mona.execute("UPDATE users SET active = 0 WHERE username = 'otto'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="switched off"):
        install.set_login_enabled(mona, PREFIX, "otto", True)


def test_a_manager_cannot_add_a_login_in_another_group_than_the_row(team: Team) -> None:
    mona = team["mona"].c
    mona.execute(
        "INSERT INTO users (username, display_name, role, password_hash, created_at,"
        " created_by) VALUES ('vic', 'Vic', 'worker', '!postgresql', '2026-11-24T09:00:00Z',"
        " %s)",
        [team["mona"].id],
    )
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="follows their users row"):
        install.create_login(mona, PREFIX, "vic", "a password of vic's", "manager")


def test_a_login_moves_with_its_row_in_one_transaction(team: Team) -> None:
    """What Caseview itself does (accounts.set_role): the row, then the login."""
    mona = team["mona"].c
    mona.execute("UPDATE users SET role = 'auditor' WHERE username = 'otto'")
    install.set_role(mona, PREFIX, "otto", "auditor")
    groups = mona.execute(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
        [install.role_names(PREFIX).login("otto")],
    ).fetchall()
    assert groups == [(f"{PREFIX}_auditor",)]
    # rolled back by the fixture: otto stays a worker for the other tests


# --- verify checks the logins against the users rows -----------------------------------


@pytest.fixture
def ada(team: Team) -> Iterator[ServerFile]:
    server = _open(team, "ada")
    yield server
    server.close()


def _checks(server: ServerFile) -> list[str]:
    """What verify's evidence checks say about the logins (the seeded rows have other
    problems of their own)."""
    with server.read() as conn:
        return [p for p in integrity.run_checks(conn) if "login of" in p]


@contextlib.contextmanager
def _changed_by_it(team: Team, change: str, undo: str) -> Iterator[None]:
    """A change to a login made outside Caseview (committed), undone afterwards."""
    login = install.role_names(PREFIX).login("otto")
    team.owner.execute(change.format(login=login, manager=f"{PREFIX}_manager"))
    team.owner.commit()
    try:
        yield
    finally:
        team.owner.execute(undo.format(login=login, manager=f"{PREFIX}_manager"))
        team.owner.commit()


def test_verify_passes_logins_that_follow_their_rows(ada: ServerFile) -> None:
    assert _checks(ada) == []


def test_verify_finds_a_login_given_another_group_outside_caseview(
    team: Team, ada: ServerFile
) -> None:
    with _changed_by_it(team, "GRANT {manager} TO {login}", "REVOKE {manager} FROM {login}"):
        problems = _checks(ada)
    assert len(problems) == 1
    assert "login of otto" in problems[0] and "say worker" in problems[0]
    assert _checks(ada) == []  # undone


def test_verify_finds_a_switched_off_account_that_can_sign_in(team: Team, ada: ServerFile) -> None:
    mona = team["mona"].c
    mona.execute("UPDATE users SET active = 0 WHERE username = 'otto'")
    mona.commit()
    try:
        problems = _checks(ada)
    finally:
        mona.execute("UPDATE users SET active = 1 WHERE username = 'otto'")
        mona.commit()
    assert len(problems) == 1 and "login of otto may sign in" in problems[0]


# --- signing in to the wrong database ----------------------------------------------------


def test_a_mistyped_database_name_is_named_as_a_possible_cause(team: Team) -> None:
    """wren has no login role for that database: the server says only that the
    password failed, so the message must not blame the password alone."""
    url = team.url.rsplit("/", 1)[0] + "/not_the_team_database"
    with pytest.raises(LoginFailed, match="names another database"):
        ServerAddress(url).connect_as("wren", team["wren"].password)


def test_an_unknown_connection_service_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = tmp_path / "pg_service.conf"
    services.write_text("[caseview]\nhost=127.0.0.1\ndbname=caseview\n", encoding="utf-8")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ServerAddress("postgresql:///?service=caseview").dbname == "caseview"
    with pytest.raises(UsageError, match="no connection service 'casevue'"):
        ServerAddress("postgresql:///?service=casevue")


@pytest.mark.parametrize(
    ("setting", "named"), [("sslmode=bogus", "sslmode"), ("connect_timeout=soon", "soon")]
)
def test_an_address_with_a_setting_libpq_cannot_use_is_a_usage_error(
    team: Team, setting: str, named: str
) -> None:
    url = team.url.rsplit("?", 1)[0] + "?" + setting
    with pytest.raises(UsageError, match="setting that cannot be used") as caught:
        ServerAddress(url).connect_as("wren", team["wren"].password)
    assert named in str(caught.value) and team["wren"].password not in str(caught.value)


def test_a_login_in_no_caseview_group_is_told_so(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login IT made by hand, in none of Caseview's groups, reads nothing: a sentence,
    not the server's refusal to read schema_version."""
    monkeypatch.setenv(ROLE_PREFIX_ENV, PREFIX)
    login = install.role_names(PREFIX).login("stray")
    dbname = team.owner.info.dbname
    team.owner.execute(f"CREATE ROLE {login} LOGIN PASSWORD 'stray-password'")
    team.owner.execute(f"GRANT CONNECT ON DATABASE {dbname} TO {login}")
    team.owner.commit()
    try:
        with pytest.raises(LoginFailed, match="not one of Caseview's people"):
            ServerAddress(team.url).connect_as("stray", "stray-password")
    finally:
        team.owner.execute(f"REVOKE CONNECT ON DATABASE {dbname} FROM {login}")
        team.owner.execute(f"DROP ROLE {login}")
        team.owner.commit()


# --- verify compares exposure findings with their reviews -------------------------------


def _findings_store(confirmed: int | None, reviewed_by: int | None) -> sqlite3.Connection:
    """The tables exposure_reviews reads, as a case file holds them, with one finding
    reviewed (confirmed, by wren) in the log of case 3."""
    conn = sqlite3.connect(":memory:")
    conn.text_factory = bytes  # as verify reads a case file
    conn.executescript(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT);"
        "CREATE TABLE sources (id INTEGER PRIMARY KEY, case_id INTEGER);"
        "CREATE TABLE exposure_findings (id INTEGER PRIMARY KEY, source_id INTEGER,"
        " confirmed INTEGER, reviewed_by INTEGER);"
        "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, action TEXT, entity_id INTEGER,"
        " case_id INTEGER, payload TEXT);"
        "INSERT INTO users VALUES (1, 'mona'), (2, 'wren');"
        "INSERT INTO sources VALUES (5, 3);"
    )
    payload = json.dumps(
        {"action": "exposure.reviewed", "actor": "wren", "data": {"confirmed": True}}
    )
    conn.execute("INSERT INTO audit_log VALUES (7, 'exposure.reviewed', 1, 3, ?)", [payload])
    conn.execute(
        "INSERT INTO exposure_findings VALUES (1, 5, ?, ?), (2, 5, NULL, NULL)",
        [confirmed, reviewed_by],
    )
    return conn


def test_verify_passes_findings_that_hold_their_last_review() -> None:
    assert integrity.exposure_reviews(_findings_store(1, 2)) is None


@pytest.mark.parametrize(
    ("confirmed", "reviewed_by"),
    [(0, 2), (None, None), (1, 1)],
    ids=["dismissed", "unreviewed", "by-another"],
)
def test_verify_finds_a_review_changed_behind_the_log(
    confirmed: int | None, reviewed_by: int | None
) -> None:
    problem = integrity.exposure_reviews(_findings_store(confirmed, reviewed_by))
    assert problem is not None and "exposure_findings row 1" in problem and "event 7" in problem


def test_verify_finds_a_review_no_event_records() -> None:
    conn = _findings_store(1, 2)
    conn.execute("UPDATE exposure_findings SET confirmed = 0, reviewed_by = 1 WHERE id = 2")
    problem = integrity.exposure_reviews(conn)
    assert problem is not None and "row 2 is marked reviewed" in problem


# --- the chain's check cannot be switched off by a session setting -----------------------


@pytest.mark.parametrize("broken", ["prev_hash", "hash"])
def test_a_mark_set_by_the_caller_does_not_let_a_broken_link_in(team: Team, broken: str) -> None:
    """caseview.appended marks caseview_append_event's own insert; a worker who sets it
    and then appends through caseview_append_audit (which also runs as the owner) is
    checked all the same, or could break the append-only chain for good."""
    wren = team["wren"].c
    seq, prev = head(wren)
    row = list(event(seq + 1, prev, actor="wren", action="login", entity="user"))
    row[2 if broken == "prev_hash" else 3] = "f" * 64
    wren.execute("SELECT set_config('caseview.appended', %s, true)", [str(seq + 1)])
    with pytest.raises(psycopg.errors.IntegrityError):
        wren.execute("SELECT caseview_append_audit(%s, %s, %s, %s)", row)
