"""``caseview migrate`` when things go wrong half-way: a migration cut off, a connection
lost, a server failing for its own reasons, a case file written to while it is copied.

Whatever fails, the database is left as it was and the message says what to do; a run
after the failure works.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg_seed import what_is_there
from pg_server import pg_database, shared_pg_server, unique_name
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from caseview import accounts, demo, migration
from caseview.errors import CaseFileError
from caseview.storage import open_case_file
from caseview.storage.pg import ConnectionLost
from caseview.storage.postgres import copy, install
from caseview.storage.server import ServerAddress, ServerFile

ADMIN = "demo-manager"
ADMIN_PASSWORD = "the manager's server password"
__all__ = ["pg_database"]  # a fixture, used by name


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.build(tmp_path_factory.mktemp("migrate-review") / "demo.db")


@pytest.fixture
def demo_file(built: Path, tmp_path: Path) -> Path:
    copied = tmp_path / built.name
    shutil.copy(built, copied)
    return copied


@pytest.fixture
def owner(pg_database: str) -> Iterator[ServerFile]:
    with ServerAddress(pg_database).connect_owner() as connected:
        yield connected


def migrate_again(source: Path, owner_url: str) -> migration.Migrated:
    checked = migration.check_source(source, ADMIN)
    with ServerAddress(owner_url).connect_owner() as again:
        return migration.migrate(checked, again, ADMIN_PASSWORD)


def run_cli(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CASEVIEW_", "PG"))}
    done = subprocess.run(
        [sys.executable, "-m", "caseview.cli", *argv],
        capture_output=True,
        text=True,
        env=base | {"CASEVIEW_PASSWORD": ADMIN_PASSWORD, "PGPASSFILE": os.devnull} | env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


# --- a migration cut off, or another one running -----------------------------------------


@pytest.mark.timeout(60)
def test_a_migration_still_holding_the_database_is_said_not_waited_for(
    demo_file: Path, pg_database: str, owner: ServerFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A migration cut off (its client gone, the server not yet aware) holds its locks:
    # here, one that has installed the schema and not committed.
    monkeypatch.setattr(migration, "LOCK_WAIT_MS", 300)
    before = what_is_there(pg_database)
    with psycopg.connect(pg_database) as other:
        other.execute("SELECT 1")  # a transaction open: install does not commit
        install.install(other, prefix=ServerAddress(pg_database).prefix)
        checked = migration.check_source(demo_file, ADMIN)
        with pytest.raises(CaseFileError, match="Another connection is using the database"):
            migration.migrate(checked, owner, ADMIN_PASSWORD)
        other.rollback()
    assert what_is_there(pg_database) == before
    done = migrate_again(demo_file, pg_database)
    assert done.head == checked.head


# --- the connection lost, the server failing ----------------------------------------------


@pytest.mark.parametrize("table", ["users", "blobs", "audit_log", "search_index"])
def test_a_connection_lost_half_way_is_said_and_a_run_after_it_works(
    demo_file: Path, pg_database: str, owner: ServerFile, table: str
) -> None:
    before = what_is_there(pg_database)
    pid = owner.pg.raw.info.backend_pid

    def cut_off(copying: str, done: int, total: int) -> None:
        if copying == table:
            with psycopg.connect(pg_database, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    checked = migration.check_source(demo_file, ADMIN)
    with pytest.raises(ConnectionLost) as raised:
        migration.migrate(checked, owner, ADMIN_PASSWORD, progress=cut_off)
    said = str(raised.value)
    assert said.startswith("The connection to the server was lost")
    assert "nothing was copied" in said and "run migrate again" in said
    assert "refused" not in said and "verify" not in said
    assert what_is_there(pg_database) == before
    assert migrate_again(demo_file, pg_database).head == checked.head


@pytest.fixture
def failing_server(pg_database: str, request: pytest.FixtureRequest) -> str:
    """The database whose server fails as a full disk does when a table is created (the
    trigger's function in pg_catalog, where a database that is empty may hold it)."""
    server = shared_pg_server(request.session)
    dbname = str(conninfo_to_dict(pg_database)["dbname"])
    with server.connect(dbname) as superuser:
        superuser.execute(
            "CREATE FUNCTION pg_catalog.caseview_test_disk_full() RETURNS event_trigger"
            " LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'"
            " USING ERRCODE = 'disk_full'; END $$"
        )
        superuser.execute(
            "CREATE EVENT TRIGGER disk_full ON ddl_command_start"
            " WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION pg_catalog.caseview_test_disk_full()"
        )
    return pg_database


def test_a_server_failing_for_its_own_reasons_is_said_plainly(
    demo_file: Path, failing_server: str
) -> None:
    before = what_is_there(failing_server)
    done = run_cli("migrate", "--from", str(demo_file), "--to", failing_server, "--admin", ADMIN)
    assert done.returncode == 1
    assert "The server stopped the migration (could not extend file" in done.stderr
    assert "nothing was copied" in done.stderr
    assert "Ask IT to check the server (its disk space, say)" in done.stderr
    assert "unexpected" not in done.stderr
    assert what_is_there(failing_server) == before


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (psycopg.errors.DiskFull("could not extend file"), "The server stopped while copying"),
        (psycopg.errors.AdminShutdown("terminating connection"), "The server stopped while"),
        (psycopg.errors.CheckViolation("violates check constraint"), "The server refused"),
        (psycopg.errors.RaiseException("a submitted request cannot change"), "The server refused"),
    ],
)
def test_a_row_refused_is_told_apart_from_the_server_failing(
    owner: ServerFile, error: psycopg.Error, said: str
) -> None:
    explained = str(copy.refused(owner.pg.raw, error, "a row of blobs", [(1, "x")]))
    assert explained.startswith(said)
    assert ("verify" in explained) == ("refused" in said)


def test_text_postgresql_cannot_hold_is_named(demo_file: Path, pg_database: str) -> None:
    # The search index is not vouched for by the log, so the file still verifies.
    conn = sqlite3.connect(demo_file)
    [(kind, ref)] = conn.execute(
        "SELECT kind, ref_id FROM search_index ORDER BY rowid LIMIT 1"
    ).fetchall()
    conn.execute(
        "UPDATE search_index SET body = body || char(0) WHERE rowid ="
        " (SELECT min(rowid) FROM search_index)"
    )
    conn.commit()
    conn.close()
    before = what_is_there(pg_database)
    done = run_cli("migrate", "--from", str(demo_file), "--to", pg_database, "--admin", ADMIN)
    assert done.returncode == 1
    assert f"{kind.capitalize()} {ref} for search holds text with a NUL character" in done.stderr
    assert what_is_there(pg_database) == before


# --- the case file written to meanwhile ---------------------------------------------------


def _sign_in(path: Path) -> None:
    """A manager signs in to the case file: one more event in its log."""
    with open_case_file(path) as casefile:
        accounts.login(casefile, ADMIN, demo.PASSWORD)


def test_a_case_file_written_to_while_it_is_copied_is_refused(
    demo_file: Path, pg_database: str, owner: ServerFile
) -> None:
    before = what_is_there(pg_database)
    checked = migration.check_source(demo_file, ADMIN)

    def someone_works(table: str, done: int, total: int) -> None:
        if table == "cases":
            _sign_in(demo_file)

    with pytest.raises(CaseFileError, match="changed while it was being moved") as raised:
        migration.migrate(checked, owner, ADMIN_PASSWORD, progress=someone_works)
    assert "Ask everyone to close the case file" in str(raised.value)
    assert what_is_there(pg_database) == before
    # Once nobody is working in it, the whole file moves, the new event included.
    done = migrate_again(demo_file, pg_database)
    assert done.head.seq == checked.head.seq + 1


def test_a_case_file_written_to_after_it_was_checked_is_refused(
    demo_file: Path, pg_database: str, owner: ServerFile
) -> None:
    before = what_is_there(pg_database)
    checked = migration.check_source(demo_file, ADMIN)
    _sign_in(demo_file)
    with pytest.raises(CaseFileError, match="changed while it was being moved"):
        migration.migrate(checked, owner, ADMIN_PASSWORD)
    assert what_is_there(pg_database) == before


# --- a case file damaged where verify does not look ----------------------------------------


def test_a_search_index_holding_text_that_is_not_utf8_still_moves(
    demo_file: Path, pg_database: str
) -> None:
    # The index is Caseview's working copy (no event vouches for it): it is indexed again
    # on the server, as a reader would show the bytes.
    conn = sqlite3.connect(demo_file)
    conn.execute(
        "UPDATE search_index SET body = body || ' ' || CAST(x'fffe' AS TEXT) || ' zebrafinch'"
        " WHERE rowid = (SELECT min(rowid) FROM search_index)"
    )
    conn.commit()
    conn.close()
    done = run_cli("migrate", "--from", str(demo_file), "--to", pg_database, "--admin", ADMIN)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(pg_database, autocommit=True) as server:
        found = server.execute(
            "SELECT count(*) FROM search_index WHERE body LIKE %s", ["%\ufffd\ufffd zebrafinch%"]
        ).fetchone()
    assert found == (1,)


def test_a_case_file_that_cannot_be_read_half_way_is_named(
    demo_file: Path, pg_database: str, owner: ServerFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_table = copy._copy_table

    def damaged(casefile: sqlite3.Connection, target: Any, table: str, *rest: Any) -> int:
        if table == "blobs":
            raise sqlite3.DatabaseError("database disk image is malformed")
        return copy_table(casefile, target, table, *rest)

    monkeypatch.setattr(copy, "_copy_table", damaged)
    before = what_is_there(pg_database)
    checked = migration.check_source(demo_file, ADMIN)
    with pytest.raises(CaseFileError) as raised:
        migration.migrate(checked, owner, ADMIN_PASSWORD)
    said = str(raised.value)
    assert said.startswith(f"{demo_file} could not be read (database disk image is malformed)")
    assert "nothing was copied" in said and "restore it from your backup" in said
    assert what_is_there(pg_database) == before


def test_a_connection_lost_while_saving_says_the_copy_may_have_been_kept(
    demo_file: Path, pg_database: str, owner: ServerFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = owner.pg.raw.info.backend_pid
    execute = owner.pg.execute

    def cut_at_commit(text: str, *args: Any) -> Any:
        if text == "COMMIT":
            with psycopg.connect(pg_database, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        return execute(text, *args)

    monkeypatch.setattr(owner.pg, "execute", cut_at_commit)
    checked = migration.check_source(demo_file, ADMIN)
    with pytest.raises(ConnectionLost) as raised:
        migration.migrate(checked, owner, ADMIN_PASSWORD)
    said = str(raised.value)
    assert "may or may not have been kept" in said and "Run migrate again" in said
    people = ServerAddress(pg_database).for_people
    assert f"'caseview --db {people} --user {ADMIN} verify'" in said
    # Here it was not: the run after it moves the case file.
    assert migrate_again(demo_file, pg_database).head == checked.head


@pytest.fixture
def standby(pg_database: str, request: pytest.FixtureRequest) -> str:
    """The database as a standby shows it: every transaction read-only."""
    server = shared_pg_server(request.session)
    dbname = str(conninfo_to_dict(pg_database)["dbname"])
    with server.connect() as superuser:
        superuser.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
                sql.Identifier(dbname)
            )
        )
    return pg_database


def test_a_database_that_only_reads_is_said(demo_file: Path, standby: str) -> None:
    done = run_cli("migrate", "--from", str(demo_file), "--to", standby, "--admin", ADMIN)
    assert done.returncode == 1
    assert "only lets this connection read" in done.stderr
    assert "Ask IT for the address of the main server" in done.stderr


def test_a_table_added_by_hand_is_a_break_not_a_version_to_update(
    demo_file: Path, pg_database: str
) -> None:
    conn = sqlite3.connect(demo_file)
    conn.execute("CREATE TABLE my_notes (line TEXT)")
    conn.commit()
    conn.close()
    before = what_is_there(pg_database)
    done = run_cli("migrate", "--from", str(demo_file), "--to", pg_database, "--admin", ADMIN)
    assert done.returncode == 4
    assert "does not verify" in done.stderr and "my_notes" in done.stderr
    assert "Update Caseview" not in done.stderr
    assert f"'caseview --db {demo_file} verify'" in done.stderr
    assert what_is_there(pg_database) == before


# --- a database that cannot hold every language ---------------------------------------------


@pytest.fixture(params=["LATIN1", "SQL_ASCII"])
def narrow_database(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """An empty database IT created in an encoding narrower than UTF-8, and its owner."""
    server = shared_pg_server(request.session)
    encoding = str(request.param)
    name = unique_name(encoding.lower())
    owner, password = f"{name}_owner", "an owner's password"
    with server.connect() as superuser:
        superuser.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                sql.Identifier(owner), sql.Literal(password)
            )
        )
        superuser.execute(
            sql.SQL(
                "CREATE DATABASE {} OWNER {} ENCODING {} LC_COLLATE 'C' LC_CTYPE 'C'"
                " TEMPLATE template0"
            ).format(sql.Identifier(name), sql.Identifier(owner), sql.Literal(encoding))
        )
    before = server.roles()
    try:
        yield server.url(name, owner, password), encoding
    finally:
        with server.connect() as superuser:
            superuser.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        server.drop_roles((server.roles() - before) | {owner})


def test_a_database_in_a_narrower_encoding_is_refused_before_anything_is_done(
    demo_file: Path, narrow_database: tuple[str, str]
) -> None:
    url, encoding = narrow_database
    before = what_is_there(url)
    done = run_cli("migrate", "--from", str(demo_file), "--to", url, "--admin", ADMIN)
    assert done.returncode == 1
    assert f"stores text as {encoding}, which cannot hold every language" in done.stderr
    assert "ENCODING 'UTF8'" in done.stderr and "unexpected" not in done.stderr
    assert what_is_there(url) == before


def test_a_client_set_to_another_encoding_still_sends_every_character(
    demo_file: Path, pg_database: str
) -> None:
    done = run_cli(
        "migrate",
        "--from",
        str(demo_file),
        "--to",
        pg_database,
        "--admin",
        ADMIN,
        PGCLIENTENCODING="LATIN1",
    )
    assert done.returncode == 0, done.stderr


def test_init_into_a_database_in_a_narrower_encoding_is_refused(
    narrow_database: tuple[str, str],
) -> None:
    url, encoding = narrow_database
    before = what_is_there(url)
    done = run_cli("--db", url, "init", "--admin", "mona")
    assert done.returncode == 1
    assert f"This database stores text as {encoding}, which cannot hold every" in done.stderr
    assert "ENCODING 'UTF8'" in done.stderr and "unexpected" not in done.stderr
    assert what_is_there(url) == before


def test_a_client_set_to_another_encoding_records_any_language(pg_database: str) -> None:
    assert run_cli("--db", pg_database, "init", "--admin", "mona").returncode == 0
    info = conninfo_to_dict(pg_database)
    people = f"postgresql://{info['host']}:{info['port']}/{info['dbname']}"
    title = "Zażółć gęślą jaźń, 子供, طفل"
    done = run_cli(
        "--db", people, "--user", "mona", "case", "new", "--ref", "CP-1", "--title", title,
        PGCLIENTENCODING="LATIN1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = run_cli("--db", people, "--user", "mona", "--json", "case", "list")
    assert title in json.dumps(json.loads(shown.stdout), ensure_ascii=False)


@pytest.fixture
def schema_not_theirs(pg_database: str, request: pytest.FixtureRequest) -> str:
    """The database with its schema public owned by the superuser: the owner may use it
    but not create in it (as a database created from an old template can be)."""
    server = shared_pg_server(request.session)
    info = conninfo_to_dict(pg_database)
    with server.connect(str(info["dbname"])) as superuser:
        superuser.execute(f"ALTER SCHEMA public OWNER TO {server.superuser}")
        superuser.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        superuser.execute(
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(str(info["user"])))
        )
    return pg_database


def test_an_owner_who_may_not_create_tables_is_told_what_to_ask_for(
    demo_file: Path, schema_not_theirs: str
) -> None:
    before = what_is_there(schema_not_theirs)
    done = run_cli("migrate", "--from", str(demo_file), "--to", schema_not_theirs, "--admin", ADMIN)
    assert done.returncode == 1
    owner = conninfo_to_dict(schema_not_theirs)["user"]
    assert f"Ask IT to make {owner} the owner of the database and of its schema" in done.stderr
    assert "ask a manager" not in done.stderr
    assert what_is_there(schema_not_theirs) == before


# --- what an empty database may and may not hold ---------------------------------------------


def test_a_database_holding_a_function_is_not_empty(demo_file: Path, pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION caseview_is_date(value text) RETURNS boolean"
            " LANGUAGE sql AS $$ SELECT true $$"
        )
    done = run_cli("migrate", "--from", str(demo_file), "--to", pg_database, "--admin", ADMIN)
    assert done.returncode == 1
    assert "is not empty (it holds public.caseview_is_date())" in done.stderr
    assert "Migrate into a new, empty database" in done.stderr


def test_an_extension_it_made_ready_is_no_matter(demo_file: Path, pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_trgm")
    done = run_cli("migrate", "--from", str(demo_file), "--to", pg_database, "--admin", ADMIN)
    assert done.returncode == 0, done.stderr


def test_after_the_move_the_team_is_told_to_work_on_the_server_with_its_prefix(
    demo_file: Path, pg_database: str
) -> None:
    done = run_cli(
        "migrate", "--from", str(demo_file), "--to", pg_database, "--admin", ADMIN,
        CASEVIEW_ROLE_PREFIX="cv_moved",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert "On every desktop, set CASEVIEW_ROLE_PREFIX=cv_moved too, as here." in said
    assert f"From now on the team works on the server: keep {demo_file} as it is" in said


@pytest.fixture
def schema_closed(pg_database: str, request: pytest.FixtureRequest) -> str:
    """The database with its schema public owned by the superuser and closed to others."""
    server = shared_pg_server(request.session)
    info = conninfo_to_dict(pg_database)
    with server.connect(str(info["dbname"])) as superuser:
        superuser.execute(f"ALTER SCHEMA public OWNER TO {server.superuser}")
        superuser.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    return pg_database


def test_init_by_an_owner_shut_out_of_schema_public_says_what_to_ask_it(
    schema_closed: str,
) -> None:
    before = what_is_there(schema_closed)
    done = run_cli("--db", schema_closed, "init", "--admin", "mona")
    assert done.returncode == 1
    said = " ".join(done.stderr.split())
    assert "may not use the schema public" in said and "Ask IT" in said
    assert "ask a manager" not in said.lower()
    assert what_is_there(schema_closed) == before
