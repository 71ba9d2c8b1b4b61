"""Where the two engines differ: every SQL difference between SQLite and PostgreSQL.

The storage layer writes its SQL once, in the subset both engines read the same way
(SQLite's ``?`` and ``:name`` parameters are rewritten for psycopg by
:mod:`caseview.storage.pg`). What cannot be written once is here, as a pair of
answers chosen by the connection: the rest of ``caseview.storage`` asks this module and
never tests the engine itself. So a reader who wants to know what the server does
differently reads one file.

The differences, each with its reason:

- :func:`string_agg`: SQLite's ``group_concat`` is PostgreSQL's ``string_agg``.
- :func:`table_names`: the catalogue (``sqlite_master`` against ``pg_tables``).
- :func:`audit_head_query`: on a server a worker sees only their cases' events, so the
  head comes from the database's own function (which also takes the log's lock).
- :func:`audit_insert_query`: on a server an event is appended through the database's
  function (an auditor may append only some events, and has no INSERT grant).
"""

from __future__ import annotations

import sqlite3
from typing import Any


def is_server(conn: Any) -> bool:
    """Whether ``conn`` talks to a PostgreSQL server (a :class:`~caseview.storage.pg.
    PgConnection`) rather than a case file. By name: psycopg stays optional here."""
    return type(conn).__name__ == "PgConnection"


def engine(conn: Any) -> str:
    """``"postgresql"`` or ``"sqlite"``."""
    return "postgresql" if is_server(conn) else "sqlite"


def string_agg(conn: Any, expression: str, separator_literal: str) -> str:
    """An aggregate joining ``expression`` with ``separator_literal`` (an SQL literal)."""
    return pick(
        conn,
        sqlite=f"group_concat({expression}, {separator_literal})",
        postgresql=f"string_agg({expression}, {separator_literal})",
    )


def pick(conn: Any, *, sqlite: str, postgresql: str) -> str:
    """One of two spellings of the same SQL, for ``conn``'s engine."""
    return postgresql if is_server(conn) else sqlite


def table_names(conn: sqlite3.Connection | Any) -> set[str]:
    """The names of the ordinary tables of the store."""
    query = pick(
        conn,
        sqlite="SELECT name FROM sqlite_master WHERE type = 'table'",
        postgresql="SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    )
    return {_text(row[0]) for row in conn.execute(query)}


AUDIT_HEAD = {
    "sqlite": "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    "postgresql": "SELECT seq, hash FROM caseview_audit_head() WHERE seq IS NOT NULL",
}


def audit_head_query(conn: Any) -> str:
    return AUDIT_HEAD[engine(conn)]


AUDIT_INSERT = {
    "sqlite": (
        "INSERT INTO audit_log (seq, payload, prev_hash, hash)"
        " VALUES (:seq, :payload, :prev_hash, :hash)"
    ),
    # Through the database's function, which anyone may call: an auditor has no INSERT
    # on audit_log, yet their sign-ins, checks and exports are events too.
    "postgresql": "SELECT caseview_append_audit(:seq, :payload, :prev_hash, :hash)",
}


def audit_insert_query(conn: Any) -> str:
    return AUDIT_INSERT[engine(conn)]


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
