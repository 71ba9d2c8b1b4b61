"""Who is signed in to which case file, and a session for them on any thread.

The app checks the password once, at login. Each background function then opens its
own connection (SQLite connections belong to one thread) and acts as that user through
:func:`session_for`, which re-reads the account, so a switched-off account or changed
role takes effect on the next action, but does not ask for the password again. Writes
from several threads are serialised by SQLite's write lock (``CaseFile.write``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from caseview import browse
from caseview.domain import Role, User
from caseview.session import Session
from caseview.storage import open_case_file


@dataclass(frozen=True)
class Identity:
    """The signed-in user of one case file: plain data, safe to hand to any thread."""

    path: Path
    user: User

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def read_only(self) -> bool:
        """Auditors read everything and change nothing."""
        return self.user.role is Role.AUDITOR


@contextmanager
def session_for(path: Path, user_id: int) -> Iterator[Session]:
    """A session for an already-authenticated user, on a connection of this thread."""
    casefile = open_case_file(path)
    try:
        yield Session(casefile, browse.signed_in_user(casefile, user_id))
    finally:
        casefile.close()
