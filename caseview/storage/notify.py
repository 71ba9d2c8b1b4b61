"""Keeping an open window current on a team server: LISTEN/NOTIFY, and what a person sees.

On a team server, every committed change that a window shows sends a notification on
:data:`CHANNEL`: a trigger on the audit log does it (``postgres/security.sql``), since
every change writes its audit event in its own transaction. PostgreSQL delivers it only
when that transaction commits, and once per transaction however many events it wrote.

The notification carries nothing. PostgreSQL lets anyone connected LISTEN to any
channel, whatever their role, so a case id in it would tell a worker when cases not
allocated to them are worked on, which row-level security hides from them. A window that
hears something asks :func:`what_is_seen` (what the person may see, in brief: one number
per case) and reloads only when that changed. Sign-ins send nothing: they change nothing
a window shows.

A case file has no notifications (the app does without; see ``ui/live.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.conninfo import make_conninfo

from caseview.errors import CaseFileError
from caseview.storage.pg import ConnectionLost
from caseview.storage.server import ServerAddress, ServerFile
from caseview.storage.store import Store

CHANNEL = "caseview"
# A listening connection sends nothing for hours; without keepalives a network that
# silently went away (a laptop's sleep, a dropped VPN) would leave it deaf for ever.
# With these the operating system notices within about a minute.
KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}


class Listener:
    """A connection of its own, signed in as the person, that waits to hear of changes.

    One thread at a time: the app reads it on its GUI thread when its socket has data
    (:meth:`fileno`), without waiting.
    """

    def __init__(self, server: ServerFile, where: str) -> None:
        self.server = server
        self.where = where
        """The server's address as people know it, for messages."""
        server.pg.raw.execute(f"LISTEN {CHANNEL}")

    def fileno(self) -> int:
        """The socket to watch: readable when a notification (or the end) arrives."""
        return self.server.pg.raw.fileno()

    def received(self) -> list[int]:
        """The server processes (``backend_pid``) whose changes were heard since last
        asked, one per notification; empty if none. Never waits.

        Raises :class:`ConnectionLost` once the connection is gone.
        """
        try:
            return [note.pid for note in self.server.pg.raw.notifies(timeout=0)]
        except psycopg.Error as exc:
            raise ConnectionLost(
                f"The connection to the Caseview server at {self.where} was lost "
                f"({_first_line(exc)})."
            ) from None

    @property
    def broken(self) -> bool:
        return is_broken(self.server)

    def close(self) -> None:
        self.server.close()


def listen(address: ServerAddress, username: str, password: str) -> Listener:
    """Connect as ``username`` (the server checks the password) and LISTEN."""
    with_keepalives = ServerAddress(make_conninfo(address.for_people, **KEEPALIVES))
    server = with_keepalives.connect_as(username, password)
    try:
        return Listener(server, address.path)
    except BaseException:
        server.close()
        raise


def backend_pid(server: ServerFile) -> int:
    """The server process of this connection (what a notification it caused names)."""
    return int(server.pg.raw.info.backend_pid)


def is_usable(server: ServerFile) -> bool:
    """Whether a connection that sat idle still works (a server may end idle sessions,
    or have restarted): one round trip."""
    if server.pg.raw.closed or server.pg.raw.broken or server.pg.in_transaction:
        return False
    try:
        server.pg.execute("SELECT 1").fetchone()
    except (psycopg.Error, CaseFileError):  # CaseFileError: the connection was lost
        return False
    return True


def is_broken(server: ServerFile) -> bool:
    """Whether the connection is gone (after an error: was the network the cause?)."""
    return bool(server.pg.raw.closed or server.pg.raw.broken)


@dataclass(frozen=True)
class Seen:
    """What the signed-in person may see, in brief: every case visible to them with the
    number of its latest audit event (0: none). Any change to a case, its people,
    requests, decisions, looks, sources, observations, note or allocation writes an
    event, so a different answer means something shown may have changed."""

    cases: tuple[tuple[int, int], ...]

    def latest(self, case_id: int) -> int | None:
        """The latest event of ``case_id``, or None if the person cannot see the case."""
        return dict(self.cases).get(case_id)


def what_is_seen(store: Store) -> Seen:
    """:class:`Seen` for the person ``store`` is signed in as (row-level security decides
    which cases; one index probe per case)."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT c.id, (SELECT max(a.seq) FROM audit_log a WHERE a.case_id = c.id) "
            "FROM cases c ORDER BY c.id"
        ).fetchall()
    return Seen(tuple((int(row[0]), int(row[1] or 0)) for row in rows))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
