"""Sign-in records beside the ``users`` rows: PostgreSQL login roles on a team server.

On a case file Caseview checks passwords itself (an argon2 hash in ``users``), and the
functions here do nothing. On a server each person signs in as their own login role and
the server checks the password, so adding a person, changing their role, switching them
off or setting a password changes their login role too, in the same transaction as the
``users`` row and its audit event (role changes in PostgreSQL are transactional). The
database's own ``caseview_*`` functions check who may do it (see ``postgres/security.sql``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from caseview.storage import dialect

SERVER_PASSWORD_RECORD = "!postgresql"
"""``users.password_hash`` on a server: the password lives with the login role, never here."""


def server_checks_passwords(conn: sqlite3.Connection | Any) -> bool:
    return dialect.is_server(conn)


def _raw(conn: Any) -> Any:
    """The psycopg connection under the storage layer's ``PgConnection``."""
    return conn.raw


def _prefix(conn: Any) -> str:
    from caseview.storage.postgres import install

    return install.installed_prefix(_raw(conn))


def create(conn: sqlite3.Connection | Any, username: str, password: str, role: str) -> None:
    """Give ``username`` a login role in ``role``'s group, with ``password``."""
    if not dialect.is_server(conn):
        return
    from caseview.storage.postgres import install

    install.create_login(_raw(conn), _prefix(conn), username, password, role)


def set_role(conn: sqlite3.Connection | Any, username: str, role: str) -> None:
    if not dialect.is_server(conn):
        return
    from caseview.storage.postgres import install

    install.set_role(_raw(conn), _prefix(conn), username, role)


def set_enabled(conn: sqlite3.Connection | Any, username: str, enabled: bool) -> None:
    if not dialect.is_server(conn):
        return
    from caseview.storage.postgres import install

    install.set_login_enabled(_raw(conn), _prefix(conn), username, enabled)


def set_password(conn: sqlite3.Connection | Any, username: str, password: str) -> None:
    if not dialect.is_server(conn):
        return
    from caseview.storage.postgres import install

    install.reset_password(_raw(conn), _prefix(conn), username, password)
