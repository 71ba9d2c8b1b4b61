"""People sign in as themselves: login roles in one group each, managed by managers
through the database's own functions, with passwords sent only as SCRAM verifiers."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from pg_seed import AT, PREFIX, Team, event, insert
from psycopg import errors

from caseview.errors import CaseFileError, ValidationError
from caseview.storage.postgres import install

PASSWORD = "a long enough secret"


def groups_of(team: Team, username: str) -> list[str]:
    rows = team.owner.execute(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s ORDER BY 1",
        [install.role_names(PREFIX).login(username)],
    ).fetchall()
    team.owner.rollback()
    return [r[0] for r in rows]


def added(team: Team, username: str, role: str = "worker") -> None:
    """A login added by mona, committed."""
    mona = team["mona"].c
    install.create_login(mona, PREFIX, username, PASSWORD, role)
    mona.commit()


def test_the_owner_and_every_person_sign_in_as_themselves(team: Team) -> None:
    for name, person in team.people.items():
        row = person.c.execute(
            "SELECT session_user, caseview_username(), caseview_user_id(), caseview_group()"
        ).fetchone()
        assert row == (f"{PREFIX}_u_{name}", name, person.id, person.role)
    assert team.owner.execute("SELECT caseview_username()").fetchone() == (None,)


def test_a_login_is_in_exactly_one_group(team: Team) -> None:
    for name, person in team.people.items():
        assert groups_of(team, name) == [f"{PREFIX}_{person.role}"]


def test_a_manager_adds_a_login_that_signs_in(team: Team) -> None:
    added(team, "nell")
    with team.connect("nell", PASSWORD) as conn:
        assert conn.execute("SELECT caseview_group()").fetchone() == ("worker",)
    assert groups_of(team, "nell") == [f"{PREFIX}_worker"]


def test_a_login_without_a_users_row_reads_no_case_data(team: Team) -> None:
    added(team, "ghost", "manager")
    with team.connect("ghost", PASSWORD) as conn:
        assert conn.execute("SELECT caseview_user_id()").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)


def test_a_manager_moves_someone_to_another_group(team: Team) -> None:
    added(team, "moss")
    install.set_role(team["mona"].c, PREFIX, "moss", "auditor")
    team["mona"].c.commit()
    assert groups_of(team, "moss") == [f"{PREFIX}_auditor"]


def test_a_switched_off_login_cannot_sign_in_until_switched_on(team: Team) -> None:
    added(team, "flo")
    mona = team["mona"].c
    install.set_login_enabled(mona, PREFIX, "flo", False)
    mona.commit()
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        team.connect("flo", PASSWORD)
    install.set_login_enabled(mona, PREFIX, "flo", True)
    mona.commit()
    team.connect("flo", PASSWORD).close()


APPEND_EVENT = "SELECT event_seq FROM caseview_append_event(%s)"


def _body(**fields: Any) -> str:
    """An event as Caseview sends it to caseview_append_event: everything but its seq."""
    seq, payload, _, _ = event(1, "0" * 64, **fields)
    return payload[: -len(f',"seq":{seq}}}')] + "}"


def person(team: Team, username: str) -> int:
    """A worker with a users row (added by mona, with its event) and a login; their id."""
    mona = team["mona"].c
    with mona.transaction():
        user_id = int(
            insert(
                mona,
                "users",
                {
                    "username": username,
                    "display_name": username.title(),
                    "role": "worker",
                    "password_hash": "!postgresql",
                    "created_at": AT,
                    "created_by": team["mona"].id,
                },
            )
        )
        mona.execute(
            APPEND_EVENT,
            [_body(actor="mona", action="user.added", entity="user", entity_id=user_id)],
        )
        install.create_login(mona, PREFIX, username, PASSWORD, "worker")
    return user_id


def test_a_manager_resets_a_password_just_after_its_event(team: Team) -> None:
    rae = person(team, "rae")
    mona = team["mona"].c
    with mona.transaction():
        mona.execute(
            APPEND_EVENT,
            [_body(actor="mona", action="user.password_reset", entity="user", entity_id=rae)],
        )
        install.reset_password(mona, PREFIX, "rae", "the new password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        team.connect("rae", PASSWORD)
    team.connect("rae", "the new password").close()


def test_a_password_reset_without_its_event_is_refused(team: Team) -> None:
    """With psql, a manager could otherwise set anyone's password and sign in as them
    with nothing in the log."""
    person(team, "tam")
    mona = team["mona"].c
    with pytest.raises(errors.InsufficientPrivilege, match="just after its audit event"):
        install.reset_password(mona, PREFIX, "tam", "taken over quietly")
    mona.rollback()
    team.connect("tam", PASSWORD).close()


def test_anyone_changes_their_own_password(team: Team) -> None:
    sal = person(team, "sal")
    with team.connect("sal", PASSWORD) as conn:
        conn.execute(
            APPEND_EVENT,
            [_body(actor="sal", action="user.password_changed", entity="user", entity_id=sal)],
        )
        install.reset_password(conn, PREFIX, "sal", "my own choice")
    team.connect("sal", "my own choice").close()


def test_a_worker_cannot_reset_someone_elses_password(team: Team) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="only a manager"):
        install.reset_password(team["wren"].c, PREFIX, "otto", "taken over")


def test_a_manager_cannot_switch_themselves_off(team: Team) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="your own account"):
        install.set_login_enabled(team["mona"].c, PREFIX, "mona", False)


def test_passwords_reach_the_server_only_as_verifiers(team: Team) -> None:
    with pytest.raises(errors.InvalidParameterValue, match="SCRAM-SHA-256 verifier"):
        team["mona"].c.execute("SELECT caseview_create_login('pat', 'in clear', 'worker')")


def test_a_login_for_a_name_that_has_one_is_refused(team: Team) -> None:
    with pytest.raises(errors.DuplicateObject, match="already a login"):
        install.create_login(team["mona"].c, PREFIX, "wren", PASSWORD, "worker")


def test_only_caseviews_own_roles_are_touched(team: Team) -> None:
    # The owner's role is not a Caseview login: its name cannot even be formed.
    with pytest.raises(errors.InvalidParameterValue, match="cannot be a Caseview user name"):
        team["mona"].c.execute("SELECT caseview_set_group('../owner', 'manager')")


@pytest.mark.parametrize("username", ["Wren", "wren smith", "-wren", "", "é"])
def test_a_bad_user_name_is_refused_before_asking_the_server(team: Team, username: str) -> None:
    with pytest.raises(ValidationError):
        install.create_login(team["mona"].c, PREFIX, username, PASSWORD, "worker")


def test_an_unknown_role_is_refused(team: Team) -> None:
    with pytest.raises(ValidationError, match="not a role"):
        install.create_login(team["mona"].c, PREFIX, "kit", PASSWORD, "admin")


def test_the_wrong_prefix_is_refused(team: Team) -> None:
    with pytest.raises(CaseFileError, match="not prefixed"):
        install.create_login(team["mona"].c, "cv_elsewhere", "kit", PASSWORD, "worker")
