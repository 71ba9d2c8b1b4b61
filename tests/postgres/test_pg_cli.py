"""The command line on a team server: set up as the owner, then everyone signs in as
their own login role, and account changes reach the login roles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from pg_server import pg_database  # noqa: F401  (a fixture)
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from caseview.cli import main
from caseview.storage.postgres import install

MONA = "mona's password"
WREN = "wren's password"


@dataclass
class Team:
    owner_url: str
    people_url: str
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def run(self, *args: str, user: str | None = None, password: str | None = None) -> int:
        self.capsys.readouterr()
        if password is not None:
            self.monkeypatch.setenv("CASEVIEW_PASSWORD", password)
        db = ["--db", self.people_url] + (["--user", user] if user else [])
        return main([*db, *args])

    def out(self) -> tuple[str, str]:
        captured = self.capsys.readouterr()
        return captured.out, captured.err


@pytest.fixture
def cli_team(
    pg_database: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Team]:
    for name in ("CASEVIEW_DB", "CASEVIEW_USER", "CASEVIEW_PASSWORD", "CASEVIEW_ROLE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    params = conninfo_to_dict(pg_database)
    people = f"postgresql://{params['host']}:{params['port']}/{params['dbname']}"
    monkeypatch.setenv("CASEVIEW_PASSWORD", MONA)
    assert main(["--db", pg_database, "init", "--admin", "mona"]) == 0
    yield Team(pg_database, people, capsys, monkeypatch)


def test_init_sets_up_the_database_and_the_first_manager_signs_in_as_herself(
    cli_team: Team,
) -> None:
    out, _ = cli_team.out()
    assert cli_team.people_url in out
    assert cli_team.run("case", "new", "--ref", "CP-1", "--title", "One", user="mona") == 0
    params = conninfo_to_dict(cli_team.people_url)
    login = install.role_names(install.default_prefix(str(params["dbname"]))).login("mona")
    with psycopg.connect(make_conninfo(cli_team.people_url, user=login, password=MONA)) as conn:
        row = conn.execute("SELECT actor, action FROM audit_log ORDER BY seq DESC LIMIT 1")
        assert row.fetchone() == ("mona", "case.created")


def test_init_with_a_prefix_of_its_own_says_every_desktop_needs_it(
    pg_database: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("CASEVIEW_DB", "CASEVIEW_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASEVIEW_PASSWORD", MONA)
    monkeypatch.setenv("CASEVIEW_ROLE_PREFIX", "cv_ourteam")
    assert main(["--db", pg_database, "init", "--admin", "mona"]) == 0
    err = capsys.readouterr().err
    assert "On every desktop, set CASEVIEW_ROLE_PREFIX=cv_ourteam too, as here." in err


def test_init_with_the_default_prefix_says_nothing_of_it(cli_team: Team) -> None:
    assert "CASEVIEW_ROLE_PREFIX" not in "".join(cli_team.out())


def test_a_login_the_database_does_not_let_in_is_told_so(cli_team: Team) -> None:
    cli_team.monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", WREN)
    assert cli_team.run("user", "add", "wren", "--role", "worker", user="mona", password=MONA) == 0
    params = conninfo_to_dict(cli_team.people_url)
    worker = install.role_names(install.default_prefix(str(params["dbname"]))).worker
    with psycopg.connect(cli_team.owner_url, autocommit=True) as owner:
        owner.execute(f'REVOKE CONNECT ON DATABASE "{params["dbname"]}" FROM "{worker}"')
    assert cli_team.run("case", "list", user="wren", password=WREN) == 1
    err = cli_team.out()[1]
    assert f"does not let 'wren' connect to the database '{params['dbname']}'" in err
    assert "CASEVIEW_ROLE_PREFIX" in err and "Cannot reach" not in err


def test_a_port_out_of_range_is_an_address_to_correct(cli_team: Team) -> None:
    address = "postgresql://127.0.0.1:99999/x"
    assert cli_team.run("--db", address, "case", "list", user="mona", password=MONA) == 2
    assert "invalid port number" in cli_team.out()[1]


def test_init_into_a_database_already_set_up_is_refused(cli_team: Team) -> None:
    cli_team.monkeypatch.setenv("CASEVIEW_PASSWORD", MONA)
    assert main(["--db", cli_team.owner_url, "init", "--admin", "max"]) == 1
    assert "already holds a Caseview schema" in cli_team.out()[1]


def test_a_worker_added_by_the_manager_signs_in_with_their_own_password(cli_team: Team) -> None:
    cli_team.monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", WREN)
    assert cli_team.run("user", "add", "wren", "--role", "worker", user="mona", password=MONA) == 0
    assert cli_team.run("case", "list", user="wren", password=WREN) == 0
    assert cli_team.run("case", "list", user="wren", password=MONA) == 3
    err = cli_team.out()[1]
    assert "user name or password is wrong" in err and MONA not in err


def test_switched_off_people_cannot_sign_in_and_a_reset_password_works(cli_team: Team) -> None:
    cli_team.monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", WREN)
    assert cli_team.run("user", "add", "wren", "--role", "worker", user="mona", password=MONA) == 0
    assert cli_team.run("user", "deactivate", "wren", user="mona", password=MONA) == 0
    assert cli_team.run("case", "list", user="wren", password=WREN) == 3
    assert "switched off" in cli_team.out()[1]
    assert cli_team.run("user", "activate", "wren", user="mona", password=MONA) == 0
    cli_team.monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", "a new one for wren")
    assert cli_team.run("user", "reset-password", "wren", user="mona", password=MONA) == 0
    assert cli_team.run("case", "list", user="wren", password=WREN) == 3
    assert cli_team.run("case", "list", user="wren", password="a new one for wren") == 0


def test_people_change_their_own_password_on_the_server(cli_team: Team) -> None:
    cli_team.monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", "mona's second password")
    assert cli_team.run("user", "passwd", user="mona", password=MONA) == 0
    assert cli_team.run("case", "list", user="mona", password=MONA) == 3
    assert cli_team.run("case", "list", user="mona", password="mona's second password") == 0


def test_unlocking_on_the_server_says_lockouts_are_the_servers(cli_team: Team) -> None:
    cli_team.monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", WREN)
    assert cli_team.run("user", "add", "wren", "--role", "worker", user="mona", password=MONA) == 0
    assert cli_team.run("user", "unlock", "wren", user="mona", password=MONA) == 1
    assert "ask IT" in cli_team.out()[1]


def test_a_wrong_owner_password_is_one_sentence(
    pg_database: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = {k: str(v) for k, v in conninfo_to_dict(pg_database).items()}
    params["password"] = "not the owner's"
    monkeypatch.setenv("CASEVIEW_PASSWORD", MONA)
    url = make_conninfo(**params)
    address = (
        f"postgresql://{params['user']}:{params['password'].replace(' ', '%20')}@"
        f"{params['host']}:{params['port']}/{params['dbname']}"
    )
    assert url  # the same settings, as a URL a person would type:
    assert main(["--db", address, "init", "--admin", "mona"]) == 1
    err = capsys.readouterr().err
    assert "refused the password" in err and "not the owner" not in err
    assert "Traceback" not in err


def test_an_address_without_a_database_says_how_to_write_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGSERVICEFILE", raising=False)
    monkeypatch.setenv("CASEVIEW_PASSWORD", MONA)
    assert main(["--db", "postgresql://127.0.0.1:1", "--user", "mona", "case", "list"]) == 2
    assert "postgresql://HOST:PORT/DATABASE" in capsys.readouterr().err


def test_a_service_file_names_the_database(
    cli_team: Team, tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = conninfo_to_dict(cli_team.people_url)
    service = tmp_path / "pg_service.conf"  # type: ignore[operator]
    service.write_text(
        f"[caseview]\nhost={params['host']}\nport={params['port']}\ndbname={params['dbname']}\n"
    )
    monkeypatch.setenv("PGSERVICEFILE", str(service))
    monkeypatch.setenv("CASEVIEW_PASSWORD", MONA)
    cli_team.capsys.readouterr()
    code = main(["--db", "postgresql:///?service=caseview", "--user", "mona", "case", "list"])
    assert code == 0, cli_team.out()


def test_a_role_change_moves_the_login_role_to_the_new_group(cli_team: Team) -> None:
    cli_team.monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", WREN)
    assert cli_team.run("user", "add", "wren", "--role", "worker", user="mona", password=MONA) == 0
    assert cli_team.run("user", "role", "wren", "auditor", user="mona", password=MONA) == 0
    # The database now treats wren as an auditor: reading is allowed, writing is not.
    assert cli_team.run("case", "list", user="wren", password=WREN) == 0
    code = cli_team.run("case", "new", "--ref", "CP-9", "--title", "No", user="wren", password=WREN)
    assert code == 3
    params = conninfo_to_dict(cli_team.people_url)
    names = install.role_names(install.default_prefix(str(params["dbname"])))
    login = names.login("wren")
    with psycopg.connect(make_conninfo(cli_team.people_url, user=login, password=WREN)) as conn:
        groups = {
            str(r[0])
            for r in conn.execute(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
                " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
                [login],
            )
        }
        assert groups == {names.auditor}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO cases (reference, title, created_by, created_at)"
                " VALUES ('CP-X', 'x', 2, '2026-01-01')"
            )


def test_an_address_caseview_cannot_read_is_never_repeated_with_its_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEVIEW_PASSWORD", MONA)
    address = "postgresql://mona:hunter2secret@127.0.0.1:1/db?bogus=1"
    assert main(["--db", address, "--user", "mona", "case", "list"]) == 2
    err = capsys.readouterr().err
    assert "not a server address Caseview can read" in err
    assert "hunter2secret" not in err and "Traceback" not in err


def test_an_export_on_the_server_says_how_to_check_it_there(cli_team: Team, tmp_path: Path) -> None:
    """The note after 'export pdf' named 'caseview --db FILE', which on a server is no
    command anyone can run: it names the server's address (no password) and a user."""
    assert cli_team.run("case", "new", "--ref", "CP-9", "--title", "Nine", user="mona") == 0
    target = tmp_path / "note.pdf"
    assert cli_team.run("export", "pdf", "1", "-o", str(target), user="mona", password=MONA) == 0
    err = cli_team.out()[1]
    assert f"caseview --db {cli_team.people_url} --user NAME verify --expect-head" in err
    assert MONA not in err and target.read_bytes().startswith(b"%PDF")
