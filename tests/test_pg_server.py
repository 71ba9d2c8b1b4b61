"""The throwaway PostgreSQL server the tests use: sign-in is really checked, databases are
apart, the server never runs as root, and a test's roles do not outlive it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pg_server as pg_server_module
import psycopg
import pytest
from pg_server import PgServer, find_bindir, pg_database, pg_server, unique_name
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

__all__ = ["pg_database", "pg_server"]  # fixtures, used by name


def _as(url: str, **changes: str) -> str:
    """``url`` with some connection parameters replaced (user, password, dbname)."""
    params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    params.update(changes)
    return psycopg.conninfo.make_conninfo(**params)


def test_owner_connects_over_tcp_and_owns_the_database(pg_database: str) -> None:
    params = conninfo_to_dict(pg_database)
    assert params["host"] == "127.0.0.1"
    with psycopg.connect(pg_database) as conn:
        row = conn.execute(
            "SELECT current_user, inet_server_addr()::text,"
            " pg_get_userbyid(datdba), rolcreaterole, rolsuper"
            " FROM pg_database, pg_roles"
            " WHERE datname = current_database() AND rolname = current_user"
        ).fetchone()
    assert row == (params["user"], "127.0.0.1/32", params["user"], True, False)


def test_a_login_role_signs_in_with_its_password_and_not_with_another(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as owner:
        owner.execute("CREATE ROLE wren LOGIN PASSWORD 'right one'")
        dbname = owner.execute("SELECT current_database()").fetchone()
        assert dbname is not None
        owner.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO wren").format(sql.Identifier(dbname[0]))
        )
    with psycopg.connect(_as(pg_database, user="wren", password="right one")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("wren",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_as(pg_database, user="wren", password="wrong one"))


def test_host_connections_use_scram(pg_server: PgServer) -> None:
    with pg_server.connect() as conn:
        methods = {
            row[0]
            for row in conn.execute("SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host'")
        }
        stored = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [pg_server.superuser]
        ).fetchone()
    assert methods == {"scram-sha-256"}
    assert stored is not None and str(stored[0]).startswith("SCRAM-SHA-256$")


def test_databases_are_apart(pg_server: PgServer, pg_database: str) -> None:
    with pg_server.temporary_database("other") as other:
        with psycopg.connect(other) as conn:
            conn.execute("CREATE TABLE secrets (x text)")
            conn.execute("INSERT INTO secrets VALUES ('theirs')")
        with psycopg.connect(pg_database) as conn:
            found = conn.execute("SELECT to_regclass('public.secrets')").fetchone()
        assert found == (None,)
        # Nor may one database's owner connect to the other (PUBLIC has no CONNECT).
        theirs = conninfo_to_dict(other)["dbname"]
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(_as(pg_database, dbname=str(theirs)))


def test_the_server_runs_as_a_user_other_than_root(pg_server: PgServer) -> None:
    with pg_server.connect() as conn:
        row = conn.execute("SELECT current_setting('data_directory'), pg_backend_pid()").fetchone()
        assert row is not None
        data_dir, backend = Path(str(row[0])), int(str(row[1]))
        # Read while the connection is open: its backend ends when it closes.
        status = Path(f"/proc/{backend}/status").read_text()
    info = data_dir.stat()
    assert info.st_uid != 0
    assert stat.S_IMODE(info.st_mode) == 0o700
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids and all(int(uid) == info.st_uid for uid in uids)
    if os.geteuid() == 0:
        assert pg_server.run_as == "postgres"


def test_a_temporary_database_takes_its_roles_with_it(pg_server: PgServer) -> None:
    before = pg_server.roles()
    with pg_server.temporary_database("roles") as url:
        name = str(conninfo_to_dict(url)["dbname"])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE ROLE cv_team_worker NOLOGIN")
            conn.execute("CREATE ROLE wren LOGIN PASSWORD 'x' IN ROLE cv_team_worker")
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO cv_team_worker").format(
                    sql.Identifier(name)
                )
            )
            conn.execute("CREATE TABLE notes (x text)")
            conn.execute("GRANT SELECT ON notes TO cv_team_worker")
        # Still signed in when the test ends: the clean-up must not wait for it.
        lingering = psycopg.connect(_as(url, user="wren", password="x"))
        assert {"cv_team_worker", "wren", f"{name}_owner"} <= pg_server.roles()
    assert _is_gone(lingering)
    assert pg_server.roles() == before
    with pg_server.connect() as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None
        )


def _is_gone(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    finally:
        conn.close()
    return False


def test_unique_names_fit_postgres_limits() -> None:
    name = unique_name("test_something[with-params-" + "x" * 80 + "]")
    assert name != unique_name("test_something[with-params-" + "x" * 80 + "]")
    assert len(f"{name}_owner".encode()) <= 63
    assert name[0].isalpha() and name.replace("_", "").isalnum() and name == name.lower()


def test_find_bindir_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CASEVIEW_PG_BINDIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pg_server_module, "DEBIAN_ROOT", tmp_path / "none")
    with pytest.raises(RuntimeError, match="apt-get install postgresql"):
        find_bindir()
