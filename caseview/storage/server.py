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

:class:`ServerAddress` is the store before anyone has signed in: only where it is. The
server checks passwords (``authenticates``), so signing in is connecting as the
person's login role (:meth:`ServerAddress.connect_as`); a case file instead checks
them itself (``CaseFile.authenticates`` is False).
"""

from __future__ import annotations

import configparser
import contextlib
import itertools
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from caseview.errors import (
    CaseFileError,
    LoginFailed,
    PermissionDenied,
    UsageError,
    ValidationError,
)
from caseview.storage.pg import ConnectionLost, PgConnection
from caseview.storage.store import without_password

_BAD_SETTING = re.compile(r"invalid \w+ value|invalid port number")
"""How libpq words a setting it cannot use ("invalid sslmode value: ...", "invalid port
number: "99999"")."""
_BEGIN_WRITE = "BEGIN; SELECT pg_advisory_xact_lock(caseview_audit_lock_key())"
_savepoints = itertools.count(1)


class ServerFile:
    """An open connection to a team's Caseview database, as one person."""

    engine = "postgresql"
    authenticates = True
    read_only = False

    def __init__(
        self, conn: psycopg.Connection[Any], display: str, *, address: ServerAddress | None = None
    ) -> None:
        conn.autocommit = True  # transactions are begun and ended here, explicitly
        self.pg = PgConnection(conn, display)
        # The services' SQL is written for sqlite3's interface, which PgConnection speaks.
        self.conn: sqlite3.Connection = cast(sqlite3.Connection, self.pg)
        self.path = display
        """Where the store is, for messages (the address without any password)."""
        self.address = address
        self._opened: list[ServerFile] = []
        """Sign-ins opened through this one, closed with it."""

    @property
    def label(self) -> str:
        return self.address.label if self.address is not None else self.path

    def connect_as(self, username: str, password: str) -> ServerFile:
        """Another connection to the same database, signed in as ``username``."""
        if self.address is None:
            raise CaseFileError("This connection does not know its address; sign in again.")
        other = self.address.connect_as(username, password)
        self._opened.append(other)
        return other

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        if self.pg.in_transaction:
            name = f"caseview_{next(_savepoints)}"
            self.pg.execute(f"SAVEPOINT {name}")
            try:
                yield self.conn
            except BaseException:
                self.pg.execute(f"ROLLBACK TO SAVEPOINT {name}")
                raise
            self.pg.execute(f"RELEASE SAVEPOINT {name}")
            return
        # Writes follow one another, as on a case file: a service's checks and the change
        # they allow are one step (the meter's count and the look, a request's state and
        # the decision). The log's lock does it, taken with BEGIN in one round trip.
        self.pg.execute(_BEGIN_WRITE)
        try:
            yield self.conn
        except ConnectionLost as exc:
            # Lost before COMMIT: the server rolls the transaction back.
            raise ConnectionLost(
                f"The connection to the Caseview server at {self.path} was lost "
                f"({_first_line(exc.__cause__ or exc)}), so this step was not saved. Check "
                "your network connection and try again; if it goes on, ask IT."
            ) from exc
        except BaseException:
            if self.pg.in_transaction:
                self.pg.execute("ROLLBACK")
            raise
        try:
            self.pg.execute("COMMIT")
        except ConnectionLost as exc:
            # The server may have committed before the connection went: say so.
            raise ConnectionLost(
                f"The connection to the Caseview server at {self.path} was lost while this "
                "step was being saved, so it may or may not have been kept. Look before you "
                "do it again; if the connection keeps failing, ask IT."
            ) from exc
        except BaseException:
            if self.pg.in_transaction:
                self.pg.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def appending(self) -> Iterator[sqlite3.Connection]:
        """One audit event with no other change: its one statement (``caseview_append_event``)
        is its own transaction, and takes the log's lock only to number, link and insert
        the event, with no round trip to the client while it holds it. Inside a write,
        part of that write."""
        if self.pg.in_transaction:
            with self.write() as conn:
                yield conn
            return
        yield self.conn

    @contextlib.contextmanager
    def setting_up(self) -> Iterator[sqlite3.Connection]:
        """As the database's owner: install Caseview's schema and roles, then whatever
        runs inside (the first manager), all in one transaction, or nothing at all."""
        from caseview.storage.postgres import install

        if self.address is None:
            raise CaseFileError("This connection does not know its address; connect again.")
        self.pg.execute("BEGIN")
        try:
            install.install(self.pg.raw, prefix=self.address.prefix)
            yield self.conn
            self.pg.execute("COMMIT")
        except BaseException:
            if self.pg.in_transaction:
                self.pg.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads."""
        if self.pg.in_transaction:
            yield self.conn
            return
        self.pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield self.conn
        finally:
            if self.pg.in_transaction:
                self.pg.execute("COMMIT")

    def close(self) -> None:
        """Close the connection, and those of the sign-ins opened through it."""
        for other in self._opened:
            other.close()
        self._opened.clear()
        self.pg.close()

    def __enter__(self) -> ServerFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


CONNECT_TIMEOUT_S = 15
ROLE_PREFIX_ENV = "CASEVIEW_ROLE_PREFIX"
"""Set when IT installed the database with a role prefix other than the default."""


class ServerAddress:
    """Where a team's Caseview database is, before anyone has signed in."""

    engine = "postgresql"
    authenticates = True
    """The server checks passwords: signing in is connecting as the person."""
    read_only = False

    def __init__(self, url: str) -> None:
        try:
            params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
        except psycopg.ProgrammingError as exc:
            raise UsageError(
                f"'{without_password(url)}' is not a server address Caseview can read "
                f"({_first_line(exc).replace(url, '…')}). "
                "Write it as postgresql://HOST:PORT/DATABASE."
            ) from None
        if not params.get("dbname") and params.get("service"):
            found = _service_setting(params["service"], "dbname")
            if found:
                params["dbname"] = found
            elif not _service_setting(params["service"], None):
                raise UsageError(
                    f"There is no connection service '{params['service']}' in the service "
                    "file (PGSERVICEFILE, or ~/.pg_service.conf). Check its name and "
                    "PGSERVICEFILE, or ask IT."
                )
        if not params.get("dbname"):
            raise UsageError(
                "Name the database in the server address: postgresql://HOST:PORT/DATABASE."
            )
        params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
        params.setdefault("application_name", "caseview")
        self._params = params
        self.path = self.for_people
        """Where the store is, for messages (the address without any password)."""

    @property
    def label(self) -> str:
        host = self._params.get("host") or "localhost"
        return f"{self.dbname} on {host}"

    @property
    def dbname(self) -> str:
        return self._params["dbname"]

    @property
    def for_people(self) -> str:
        """The address as people sign in with it: no owner's name, no password."""
        params = {k: v for k, v in self._params.items() if k not in ("user", "password")}
        params.pop("connect_timeout", None)
        params.pop("application_name", None)
        host, port = params.pop("host", ""), params.pop("port", "")
        dbname = params.pop("dbname")
        where = f"{host}:{port}" if port else host
        extra = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        return f"postgresql://{where}/{dbname}" + (f"?{extra}" if extra else "")

    @property
    def given_user(self) -> str | None:
        """The role named in the address itself (the owner's, for ``init``)."""
        return self._params.get("user")

    @property
    def prefix(self) -> str:
        """The prefix of this database's role names (see ``postgres.install``)."""
        from caseview.storage.postgres import install

        return os.environ.get(ROLE_PREFIX_ENV) or install.default_prefix(self.dbname)

    def login_role(self, username: str) -> str:
        from caseview.storage.postgres import install

        return install.role_names(self.prefix).login(username)

    def connect_as(self, username: str, password: str) -> ServerFile:
        """Sign in as the Caseview user ``username``: the server checks the password."""
        try:
            login = self.login_role(username)
        except ValidationError:
            raise LoginFailed(WRONG_LOGIN) from None
        return self._connect(login, password, who=username)

    def connect_owner(self, password: str | None = None) -> ServerFile:
        """Connect as the role the address names (the database owner, for ``init``)."""
        if not self.given_user:
            raise UsageError(
                "Name the database owner in the address to set up the database: "
                "postgresql://OWNER@HOST:PORT/DATABASE."
            )
        return self._connect(self.given_user, password, who=None)

    def _connect(self, login: str, password: str | None, *, who: str | None) -> ServerFile:
        # Caseview speaks UTF-8 whatever the address or PGCLIENTENCODING says: a case may
        # be in any language.
        params = dict(self._params, user=login, client_encoding="UTF8")
        if password is not None:
            params["password"] = password
        try:
            raw = psycopg.connect(make_conninfo(**params))
        except psycopg.OperationalError as exc:
            raise self._explain(exc, login, who) from None
        except psycopg.ProgrammingError as exc:  # psycopg's own check of a setting
            raise UsageError(
                f"The server address {self.path} has a setting that cannot be used "
                f"({_first_line(exc)}). Correct the address "
                "(postgresql://HOST:PORT/DATABASE) and try again."
            ) from None
        server = ServerFile(raw, self.path, address=self)
        try:
            _check_installed(server, owner=who is None)
        except BaseException:
            server.close()
            raise
        return server

    def _explain(self, exc: psycopg.OperationalError, login: str, who: str | None) -> Exception:
        text = str(exc)
        lower = text.lower()
        if who is None and "no password supplied" in lower:
            return OwnerPasswordNeeded(
                f"The server at {self.path} asks for the password of '{login}'. Give it in "
                "PGPASSWORD or a .pgpass file, or run the command in a terminal to be asked."
            )
        if "password authentication failed" in lower or "no password supplied" in lower:
            if who is None:
                return CaseFileError(
                    f"The server at {self.path} refused the password of '{login}'. "
                    "Give the owner's password (PGPASSWORD or a .pgpass file) and try again."
                )
            return LoginFailed(WRONG_LOGIN)
        if "not permitted to log in" in lower:
            return LoginFailed(
                f"The account '{who or login}' is switched off. Ask a manager to switch it on."
            )
        if "for connection option" in lower or _BAD_SETTING.search(lower):
            # libpq refused a setting of the address itself: no use checking the network.
            return UsageError(
                f"The server address {self.path} has a setting that cannot be used "
                f"({_first_line(exc).removeprefix('connection is bad: ')}). Correct the "
                "address (postgresql://HOST:PORT/DATABASE) and try again."
            )
        if "permission denied for database" in lower:
            return CaseFileError(
                f"The server at {self.path} does not let '{who or login}' connect to the "
                f"database '{self.dbname}'. If the council runs several Caseview databases "
                f"on this server, check {ROLE_PREFIX_ENV} (it must be the one the database "
                "was set up with); otherwise ask IT."
            )
        if "does not exist" in lower and "database" in lower:
            return CaseFileError(
                f"There is no database '{self.dbname}' on the server at {self.path}. "
                "Check the address, or ask IT to create it."
            )
        return CaseFileError(
            f"Cannot reach the Caseview server at {self.path} ({_first_line(exc)}). Check "
            "the address and your network connection; if it goes on, ask IT."
        )

    def close(self) -> None:
        """Nothing is open until someone signs in."""

    def __enter__(self) -> ServerAddress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OwnerPasswordNeeded(CaseFileError):
    """The owner's connection needs a password that libpq did not find."""


# Each database's login roles are named after it, so a mistyped database name reaches
# the server as an unknown login, which it refuses exactly as a wrong password.
WRONG_LOGIN = (
    "The user name or password is wrong, or the server address names another database. "
    "Check them and try again. (The server may lock an account after repeated failures: "
    "if it does, ask IT.)"
)


def _check_installed(server: ServerFile, *, owner: bool) -> None:
    try:
        installed = server.pg.execute("SELECT to_regclass('public.schema_version')").fetchone()
    except PermissionDenied:
        # The schema itself is closed to this login: a matter for IT, not a manager.
        who = server.pg.raw.info.user
        if owner:
            raise CaseFileError(
                f"The database owner '{who}' may not use the schema public of {server.label}, "
                f"so nothing was done. Ask IT to let it (GRANT USAGE, CREATE ON SCHEMA public "
                f'TO "{who}").'
            ) from None
        raise LoginFailed(
            f"'{who}' may sign in to the server but may not use the schema public of "
            f"{server.label}. Ask IT to check the database's set-up."
        ) from None
    if installed is None or installed[0] is None:
        if owner:
            return  # init sets it up
        raise CaseFileError(
            f"The database at {server.path} is not set up for Caseview. Set it up with "
            "'caseview --db postgresql://OWNER@HOST:PORT/DATABASE init --admin NAME'."
        )
    from caseview.storage import schema

    try:
        steps = {str(r[0]) for r in server.pg.execute("SELECT step FROM schema_version")}
    except PermissionDenied:
        # Every Caseview group may read it: this login is in none of them.
        raise LoginFailed(
            f"'{server.pg.raw.info.user}' may sign in to the server but is not one of "
            f"Caseview's people in {server.label}. Ask a manager to add them, or IT to "
            "check the login."
        ) from None
    unknown = sorted(steps - set(schema.known_steps()))
    if unknown:
        raise CaseFileError(
            f"The database at {server.path} was set up by a newer version of Caseview (schema "
            f"step {unknown[-1]}). Update Caseview to use it."
        )


def _service_setting(service: str, key: str | None) -> str | None:
    """``key`` of ``service`` in libpq's connection service files (PGSERVICEFILE, then
    ~/.pg_service.conf, then PGSYSCONFDIR/pg_service.conf): the database's name decides
    its role names before anyone is connected. With ``key`` None, the service's own name
    if a file has it."""
    candidates = [
        os.environ.get("PGSERVICEFILE"),
        str(Path.home() / ".pg_service.conf"),
        str(Path(os.environ["PGSYSCONFDIR"]) / "pg_service.conf")
        if os.environ.get("PGSYSCONFDIR")
        else None,
    ]
    for name in filter(None, candidates):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            if not parser.read(name, encoding="utf-8"):
                continue
        except (configparser.Error, UnicodeDecodeError, OSError):
            continue
        if key is None and parser.has_section(service):
            return service
        if key is not None and parser.has_option(service, key):
            return parser.get(service, key).strip() or None
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def open_server(url: str, *, login: str, password: str) -> ServerFile:
    """Connect to the Caseview database at ``url`` as the login role ``login`` (a role
    name, not a Caseview user name), with the same checks and messages as signing in."""
    return ServerAddress(url)._connect(login, password, who=login)
