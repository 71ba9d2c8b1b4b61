"""A team's case store on a PostgreSQL server, opened as the person signed in.

:class:`ServerFile` stands where :class:`~caseview.storage.casefile.CaseFile` stands for a
case file, with the same ``conn``, ``write()``, ``read()`` and ``close()``, so the
services run unchanged:

- ``conn`` is a :class:`~caseview.storage.pg.PgConnection`, logged in as the person's
  own login role: the database's grants and row-level security apply to every query;
- ``write()`` is one transaction that first takes the audit log's advisory lock (the
  same lock every append takes, so two clients' writes queue instead of deadlocking
  between the lock and the rows they touch); a nested ``write()`` is a savepoint;
- ``read()`` is one REPEATABLE READ snapshot for several reads.

Issue 14 in progress: opening a server from ``--db`` is not wired yet.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from caseview.storage.pg import PgConnection

_savepoints = itertools.count(1)


class ServerFile:
    """An open connection to a team's Caseview database, as one person."""

    engine = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any], display: str) -> None:
        conn.autocommit = True  # transactions are begun and ended here, explicitly
        self.conn = PgConnection(conn)
        self.path = display
        """Where the store is, for messages (the address without any password)."""

    @contextlib.contextmanager
    def write(self) -> Iterator[PgConnection]:
        """One atomic write: everything inside commits together or not at all."""
        if self.conn.in_transaction:
            name = f"caseview_{next(_savepoints)}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                raise
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        self.conn.execute("BEGIN")
        try:
            self.conn.execute("SELECT pg_advisory_xact_lock(caseview_audit_lock_key())")
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def read(self) -> Iterator[PgConnection]:
        """A consistent snapshot for several reads."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield self.conn
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ServerFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def display_address(url: str) -> str:
    """``url`` as it may be shown: host, port and database, never a password."""
    params = conninfo_to_dict(url)
    params.pop("password", None)
    return make_conninfo(**{k: str(v) for k, v in params.items()})


def open_server(url: str, *, login: str, password: str) -> ServerFile:
    """Connect to the Caseview database at ``url`` as the login role ``login``."""
    params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    params.update(user=login, password=password)
    return ServerFile(psycopg.connect(make_conninfo(**params)), display_address(url))
