"""Install Caseview's schema and security into an empty PostgreSQL database, and manage
the login roles of the people who use it.

``schema.sql`` is the SQLite case file's schema (migrations 0001..0012) for PostgreSQL;
``security.sql`` the roles, grants, row-level security and identity checks. Both are
plain SQL written for psql (``:"worker"`` is a psql variable); :func:`install` fills in
the variables and runs them in one transaction as the database owner.

Roles are cluster-wide, so every name carries a prefix chosen per database
(:func:`default_prefix`): group roles ``PREFIX_worker``, ``PREFIX_manager`` and
``PREFIX_auditor``, and one login role per person, ``PREFIX_u_USERNAME``.

The other functions call the database's own ``caseview_*`` functions, which check who
is asking (the owner, or a manager) whatever the client; passwords travel as SCRAM
verifiers computed here, never in clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from caseview.errors import CaseFileError, ValidationError

ROLES = ("worker", "manager", "auditor")
MIN_SERVER_VERSION = 150000  # PUBLIC has no CREATE on schema public from 15 on
MAX_ROLE_NAME = 63  # bytes; PostgreSQL would silently cut a longer name
MAX_PREFIX = 20
# The same rule as caseview.accounts.USERNAME (a test keeps them equal).
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PREFIX = re.compile(r"^[a-z][a-z0-9_]*$")
_VARIABLE = re.compile(r"(?<!:):(\"|')([a-z_]+)\1")

Connection = psycopg.Connection[Any]


@dataclass(frozen=True)
class RoleNames:
    """The PostgreSQL role names of one Caseview database."""

    prefix: str

    @property
    def worker(self) -> str:
        return f"{self.prefix}_worker"

    @property
    def manager(self) -> str:
        return f"{self.prefix}_manager"

    @property
    def auditor(self) -> str:
        return f"{self.prefix}_auditor"

    @property
    def login_prefix(self) -> str:
        return f"{self.prefix}_u_"

    def group(self, role: str) -> str:
        """The group role of a Caseview role (worker, manager or auditor)."""
        if role not in ROLES:
            raise ValidationError(f"'{role}' is not a role. Use worker, manager or auditor.")
        return f"{self.prefix}_{role}"

    def login(self, username: str) -> str:
        """The login role of a Caseview user name."""
        if not USERNAME.match(username):
            raise ValidationError(
                f"'{username}' cannot be a user name. Use 1 to 64 lower-case letters, digits, "
                "dots, dashes or underscores, starting with a letter or digit."
            )
        name = self.login_prefix + username
        if len(name.encode()) > MAX_ROLE_NAME:
            longest = MAX_ROLE_NAME - len(self.login_prefix)
            raise ValidationError(
                f"The user name '{username}' is too long for this server: use at most "
                f"{longest} characters."
            )
        return name


def role_names(prefix: str) -> RoleNames:
    """Check ``prefix`` and give the role names made from it."""
    if not PREFIX.match(prefix) or len(prefix) > MAX_PREFIX:
        raise ValidationError(
            f"'{prefix}' cannot prefix role names: use up to {MAX_PREFIX} lower-case letters, "
            "digits or underscores, starting with a letter."
        )
    return RoleNames(prefix)


def default_prefix(dbname: str) -> str:
    """``cv_`` and the database's name, cut to fit (``cv_team`` for database ``team``)."""
    tail = re.sub(r"[^a-z0-9_]+", "_", dbname.lower()).strip("_") or "db"
    return f"cv_{tail}"[:MAX_PREFIX].rstrip("_")


def script(name: str) -> str:
    """The text of ``schema.sql`` or ``security.sql``."""
    return resources.files("caseview.storage.postgres").joinpath(name).read_text(encoding="utf-8")


def fill(text: str, conn: Connection, values: dict[str, str]) -> str:
    """``text`` with psql's ``:"name"`` as a quoted identifier and ``:'name'`` as a literal."""

    def quoted(match: re.Match[str]) -> str:
        quote, name = match.groups()
        if name not in values:
            raise KeyError(f"no value for the SQL variable {name}")
        value = sql.Identifier(values[name]) if quote == '"' else sql.Literal(values[name])
        return value.as_string(conn)

    return _VARIABLE.sub(quoted, text)


def install(conn: Connection, *, prefix: str) -> None:
    """Create the schema, its group roles, grants and policies in this empty database.

    ``conn`` is the database owner's connection, with CREATEROLE; everything happens in
    one transaction, so a failure leaves the database as it was (roles included). It is
    committed here unless the caller already had a transaction open.
    """
    names = role_names(prefix)
    with conn.transaction():
        _check_installer(conn, names)
        values = {
            "database": str(_one(conn, "SELECT current_database()")),
            "prefix": prefix,
            "login_prefix": names.login_prefix,
            "worker": names.worker,
            "manager": names.manager,
            "auditor": names.auditor,
        }
        conn.execute(script("schema.sql"))
        conn.execute(fill(script("security.sql"), conn, values))


def _check_installer(conn: Connection, names: RoleNames) -> None:
    version = conn.info.server_version
    if version < MIN_SERVER_VERSION:
        raise CaseFileError(
            f"Caseview needs PostgreSQL 15 or newer; this server is {version // 10000}. "
            "Ask IT to upgrade it."
        )
    row = conn.execute(
        "SELECT d.datdba = r.oid, r.rolcreaterole FROM pg_database d, pg_roles r"
        " WHERE d.datname = current_database() AND r.rolname = current_user"
    ).fetchone()
    if row is None or not row[0] or not row[1]:
        raise CaseFileError(
            "Set up the database as its owner, with a role that may create roles "
            "(CREATEROLE): ask IT for that account."
        )
    if _one(conn, "SELECT to_regclass('public.audit_log') IS NOT NULL"):
        raise CaseFileError("This database already holds a Caseview schema; it was left unchanged.")
    encoding = database_encoding(conn)
    if encoding != "UTF8":
        raise CaseFileError(
            f"This database stores text as {encoding}, which cannot hold every language a "
            "case may be in, so it was left unchanged. Ask IT to create it again with "
            "ENCODING 'UTF8', then run init again."
        )
    taken = conn.execute(
        "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s) ORDER BY rolname",
        [[names.worker, names.manager, names.auditor]],
    ).fetchall()
    if taken:
        raise CaseFileError(
            f"The roles {', '.join(r[0] for r in taken)} already exist on this server "
            "(another database uses the same prefix). Choose another prefix."
        )


def database_encoding(conn: Connection) -> str:
    """The encoding this database stores text in ('UTF8' is the one Caseview needs)."""
    found = _one(
        conn,
        "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()",
    )
    # Over a SQL_ASCII connection psycopg gives text as the bytes it is.
    return found.decode("ascii", "replace") if isinstance(found, bytes) else str(found)


def installed_prefix(conn: Connection) -> str:
    """The prefix this database was installed with."""
    return str(_one(conn, "SELECT prefix FROM caseview_roles"))


def _names(conn: Connection, prefix: str) -> RoleNames:
    names = role_names(prefix)
    if installed_prefix(conn) != prefix:
        raise CaseFileError(
            f"This database's roles are not prefixed '{prefix}'. Use the prefix it was set up with."
        )
    return names


def _verifier(conn: Connection, login: str, password: str) -> str:
    # libpq computes the SCRAM verifier, so the password itself never reaches the server
    # (nor its statement log).
    raw = conn.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256")
    return raw.decode("ascii")


def create_login(conn: Connection, prefix: str, username: str, password: str, role: str) -> None:
    """Create ``username``'s login role in the group of ``role``. The owner or a manager."""
    names = _names(conn, prefix)
    login = names.login(username)
    names.group(role)
    conn.execute(
        "SELECT caseview_create_login(%s, %s, %s)",
        [username, _verifier(conn, login, password), role],
    )


def set_role(conn: Connection, prefix: str, username: str, role: str) -> None:
    """Move ``username``'s login to the group of ``role``. Another manager, or the owner."""
    names = _names(conn, prefix)
    names.login(username)
    names.group(role)
    conn.execute("SELECT caseview_set_group(%s, %s)", [username, role])


def set_login_enabled(conn: Connection, prefix: str, username: str, enabled: bool) -> None:
    """Let ``username`` sign in, or not. Another manager, or the owner.

    Sessions already open stay open, but read and write no case data once the account's
    ``users.active`` is 0 (Caseview sets both in one transaction).
    """
    names = _names(conn, prefix)
    names.login(username)
    conn.execute("SELECT caseview_set_login_enabled(%s, %s)", [username, enabled])


def reset_password(conn: Connection, prefix: str, username: str, password: str) -> None:
    """Set ``username``'s password: their own, or anyone's for a manager or the owner."""
    names = _names(conn, prefix)
    login = names.login(username)
    conn.execute(
        "SELECT caseview_set_password(%s, %s)", [username, _verifier(conn, login, password)]
    )


def _one(conn: Connection, query: str) -> object:
    row = conn.execute(query).fetchone()
    if row is None:
        raise CaseFileError("The database did not answer as expected.")
    return row[0]
