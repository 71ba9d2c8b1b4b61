"""The storage, service and CLI tests on both engines: a case file, or a team server.

A test module opts in with ``pytestmark = pytest.mark.both_engines``: every test of it
that uses the ``casefile`` fixture (directly, or through ``manager``, ``worker``, ``case``
...) then runs twice, ``[sqlite]`` and ``[postgresql]``. ``CASEVIEW_TEST_ENGINE=postgresql``
runs every test that can on the server instead (to find out which can).

On PostgreSQL, ``casefile`` is the database owner's :class:`ServerFile` on a fresh
database with Caseview's schema and roles installed, exactly as ``caseview init`` leaves
it before the first manager exists; ``accounts.create_first_manager`` and
``accounts.login`` then work on it as on a case file (signing in opens the person's own
connection, as their own login role).

Installing takes a second, so it happens once per test session, into a template
database; each test gets a copy (``CREATE DATABASE ... TEMPLATE``), with the group roles
of the template (roles are cluster-wide) and login roles of its own, dropped after it.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from pg_server import PgServer, shared_pg_server
from psycopg import sql

from caseview.errors import PermissionDenied
from caseview.session import Session
from caseview.storage import dialect
from caseview.storage.postgres import install
from caseview.storage.server import ROLE_PREFIX_ENV, ServerAddress, ServerFile

ENGINES = ("sqlite", "postgresql")
PREFIX = "cvt"
TEMPLATE = "caseview_template"
OWNER = "cvt_owner"


@dataclass
class _Template:
    server: PgServer
    owner_password: str


_template: _Template | None = None


def _ensure_template(session: pytest.Session) -> _Template:
    global _template
    if _template is not None:
        return _template
    server = shared_pg_server(session)
    password = secrets.token_urlsafe(18)
    with server.connect() as su:
        su.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                sql.Identifier(OWNER), sql.Literal(password)
            )
        )
        su.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(TEMPLATE), sql.Identifier(OWNER)
            )
        )
    address = ServerAddress(server.url(TEMPLATE, OWNER, password))
    with address.connect_owner() as owner:
        install.install(owner.pg.raw, prefix=PREFIX)
    _template = _Template(server, password)
    session.addfinalizer(_forget_template)
    return _template


def _forget_template() -> None:
    global _template
    _template = None  # the server, with everything in it, stops with the session


@contextlib.contextmanager
def server_store(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerFile]:
    """The owner's connection to a fresh copy of the installed template database."""
    template = _ensure_template(request.session)
    server = template.server
    name = f"t_{secrets.token_hex(6)}"
    names = install.role_names(PREFIX)
    with server.connect() as su:
        su.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE), sql.Identifier(OWNER)
            )
        )
        su.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
        su.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}, {}").format(
                sql.Identifier(name),
                sql.Identifier(names.worker),
                sql.Identifier(names.manager),
                sql.Identifier(names.auditor),
            )
        )
    monkeypatch.setenv(ROLE_PREFIX_ENV, PREFIX)
    owner = ServerAddress(server.url(name, OWNER, template.owner_password)).connect_owner()
    try:
        yield owner
    finally:
        owner.close()
        with server.connect() as su:
            su.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            logins = [
                str(row[0])
                for row in su.execute(
                    "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)",
                    [names.login_prefix],
                )
            ]
        server.drop_roles(logins)


@contextlib.contextmanager
def empty_server_database(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A new empty database on the test server, for ``caseview init`` to set up: its
    owner's address (password included) and the address people sign in with."""
    server = shared_pg_server(request.session)
    with server.temporary_database("cli") as owner_url:
        yield owner_url, ServerAddress(owner_url).for_people


def people_address(store: ServerFile) -> str:
    """The address people sign in with (``--db`` of the CLI) for a test's database."""
    assert store.address is not None
    return store.address.for_people


def snapshot(store: Any) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order: to show that nothing changed.

    On a case file, SQLite's full-text shadow tables are left to their virtual table.
    """
    conn = store.conn
    if dialect.is_server(conn):
        # Less the meter's keyed hashes, which no Caseview role may read (security.sql).
        hidden = {"schema_version", "caseview_roles", "caseview_meter_secret"}
        tables = sorted(dialect.table_names(conn) - hidden - {"person_keys", "look_keys"})
        return {
            t: [tuple(row) for row in conn.execute(f'SELECT * FROM "{t}" ORDER BY 1')]
            for t in tables
        }
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND coalesce(sql, '') NOT LIKE '%WITHOUT ROWID%'"
        )
    ]
    return {
        t: [tuple(row) for row in conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid')]
        for t in tables
    }


def second_connection(session: Session, password: str) -> Any:
    """The same person's store opened again, as another process of theirs would."""
    store = session.casefile
    if store.authenticates:
        return store.connect_as(session.actor, password)
    from caseview.storage import open_case_file

    return open_case_file(store.path)


def no_waiting(store: Any) -> None:
    """Make ``store``'s writes fail at once, rather than wait, when another holds the lock."""
    if dialect.is_server(store.conn):
        store.conn.execute("SET lock_timeout = '50ms'")
    else:
        store.conn.execute("PRAGMA busy_timeout = 0")


LOCKED = (sqlite3.OperationalError, psycopg.errors.LockNotAvailable)
"""What a write that could not wait for the lock raises, on either engine."""

REFUSED = (sqlite3.IntegrityError, psycopg.IntegrityError)
"""What a change the database's own rules refuse raises, on either engine."""


def database_refuses(
    store: Any, match: str | None = None, *, sqlite_error: type[Exception] = sqlite3.IntegrityError
) -> Any:
    """``pytest.raises`` for a change the database itself refuses.

    A case file refuses with its triggers and checks (``match`` the message); a server
    refuses the same change earlier still when the role has no grant for it at all
    (permission denied), or with its own triggers and constraints.
    """
    if dialect.is_server(store.conn):
        # Through the store's connection a missing grant reads as the refusal a person
        # is shown (PermissionDenied); through a bare connection, as psycopg's own error.
        return pytest.raises(
            (psycopg.IntegrityError, psycopg.errors.InsufficientPrivilege, PermissionDenied)
        )
    return pytest.raises(sqlite_error, match=match)
