"""Who is signed in to which case file or team server, and a session for them on any thread.

The app checks the password once, at login. Each background function then acts as that
user through :func:`session_for`, on a connection of its own thread, and re-reads the
account, so a switched-off account or changed role takes effect on the next action, but
does not ask for the password again.

- A case file: each job opens the file and closes it again (SQLite connections belong to
  one thread); writes from several threads are serialised by SQLite's write lock.
- A team server: each connection is a sign-in the server checks, so the window's
  :class:`~ui.server_link.ServerLink` keeps the address and the password (in memory only)
  and lends each job a connection of its own, kept for the next job afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from caseview import browse
from caseview.domain import Role, User
from caseview.session import Session
from caseview.storage import open_case_file
from caseview.storage.reading import unchangeable

if TYPE_CHECKING:
    from ui.server_link import ServerLink  # imported only for a server: it brings psycopg


@dataclass(frozen=True)
class Identity:
    """The signed-in user of one case file or team server: safe to hand to any thread."""

    path: Path | str
    """The case file; on a team server, its address as people know it (no password)."""
    user: User
    link: ServerLink | None = field(default=None, repr=False, compare=False)
    """On a team server, the window's way in (it holds the password): None on a case file."""

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def read_only(self) -> bool:
        """Auditors read everything and change nothing."""
        return self.user.role is Role.AUDITOR

    @property
    def label(self) -> str:
        """What the window title names: the case file's name, or e.g. "team on db.local"."""
        if self.link is not None:
            return self.link.label
        return Path(self.path).name

    @property
    def where(self) -> str:
        """The same in a phrase: "case file case.db", "team on db.local"."""
        return self.label if self.link is not None else f"case file {self.label}"

    @property
    def file_read_only(self) -> bool:
        """The case file may not be changed here (an archived copy, a read-only disk):
        it is read, and each thing that would record says it cannot."""
        return self.link is None and unchangeable(Path(self.path))

    @property
    def folder(self) -> Path:
        """Where File > Open starts looking for a case file."""
        if self.link is not None:
            return Path.home()
        return Path(self.path).parent


@contextmanager
def session_for(who: Identity) -> Iterator[Session]:
    """A session for an already-authenticated user, on a connection of this thread."""
    if who.link is not None:
        with who.link.connection() as server:
            yield Session(server, browse.signed_in_user(server, who.user.id))
        return
    casefile = open_case_file(Path(who.path))
    try:
        yield Session(casefile, browse.signed_in_user(casefile, who.user.id))
    finally:
        casefile.close()
