"""What the services need of where the case data lives: a case file or a team server.

:class:`~caseview.storage.casefile.CaseFile` (SQLite, one person's file) and
:class:`~caseview.storage.server.ServerFile` (PostgreSQL, signed in as one person) both
are a :class:`Store`. The services use only what is named here, so they run unchanged on
either; the connection of a server speaks sqlite3's interface (``storage.pg``).
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

SERVER_SCHEMES = ("postgresql://", "postgres://")


def is_server_address(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL server rather than a case file."""
    return text.strip().lower().startswith(SERVER_SCHEMES)


def without_password(address: str) -> str:
    """A server address as it may be shown in a message: any password taken out."""
    try:
        parts = urlsplit(address.strip())
        if parts.password is None:
            return address.strip()
        host = parts.hostname or ""
        user = f"{parts.username}@" if parts.username else ""
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))
    except ValueError:
        return "the server address given"


class Entrance(Protocol):
    """Where people sign in: a store, or a server nobody has signed in to yet."""

    authenticates: bool
    """True when the store checks passwords itself (a server signs people in)."""

    @property
    def path(self) -> Path | str: ...

    def close(self) -> None: ...

    def connect_as(self, username: str, password: str) -> Store:
        """The store signed in as ``username`` (a server only)."""
        ...


class Store(Protocol):
    engine: str
    """``"sqlite"`` or ``"postgresql"``."""
    authenticates: bool
    """True when the store checks passwords itself (a server signs people in)."""
    read_only: bool
    """Opened to be read only (a case file nobody here may change): writes are refused."""

    @property
    def path(self) -> Path | str:
        """Where it is, for messages: a case file's path, a server's address."""
        ...

    @property
    def label(self) -> str:
        """A short name for it, for the note and window titles."""
        ...

    @property
    def conn(self) -> sqlite3.Connection: ...

    def write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def appending(self) -> AbstractContextManager[sqlite3.Connection]:
        """For one audit event that goes with no other change (a sign-in, an export, a
        check): a write on a case file; on a server, the event's own statement,
        committed by itself, so the log's lock is held only inside the database."""
        ...

    def read(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def close(self) -> None: ...

    def connect_as(self, username: str, password: str) -> Store:
        """The same store signed in as someone else (a server only)."""
        ...


class Owner(Store, Protocol):
    """A server signed in to as its database's owner, to set it up (``init``)."""

    def setting_up(self) -> AbstractContextManager[sqlite3.Connection]:
        """Install Caseview's schema and roles, then the body, in one transaction."""
        ...
