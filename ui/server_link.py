"""One window's way into a team server: who signed in, and the connections it lends out.

On a case file each background job opens the file and closes it again. On a team server
each connection is a sign-in (the server checks the password), so a window keeps what
it needs to open more without asking the person again: the server's address and the
password, in memory only. The password is never logged, never shown and not in ``repr``.

Connections are lent to one job at a time (a psycopg connection must not be used by two
threads at once) and come back to a few idle ones for the next job; one idle for a
while is checked before it is lent. A job that finds the connection broken is told in
words (:data:`LOST`), and the broken connection is dropped.

When the window closes, :meth:`ServerLink.close` closes the idle and listening
connections, and each one still lent as it comes back. Work the window started still
finishes as that person (the evidence browser's log drains after its window closes):
such a late job gets a connection of its own, closed straight after.

Imported only for a server address: it brings psycopg (about 300 ms).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from caseview import accounts, justifications
from caseview.domain import User
from caseview.errors import CaseFileError, CaseviewError, LoginFailed
from caseview.storage import notify
from caseview.storage.server import ServerAddress, ServerFile

MAX_IDLE = 4
"""Idle connections kept per window; more are opened when jobs run side by side."""
CHECK_AFTER_S = 60.0
"""A connection idle longer than this is checked before it is lent."""
LOST = (
    "The connection to the Caseview server at {where} was lost, so this was not done. "
    "Check your network connection and try again; if it goes on, ask IT."
)
CLOSED = "This window's connection to the Caseview server at {where} is closed."
PASSWORD_REFUSED = (
    "The Caseview server at {where} no longer accepts the password you signed in with "
    "(was it changed elsewhere?). Sign out and sign in again."
)


class ServerLink:
    """Where a window's data lives on a team server, and who it is signed in as."""

    def __init__(self, address: ServerAddress) -> None:
        self.address = address
        self._lock = threading.Lock()
        self._username = ""
        self._password = ""
        self._idle: list[tuple[ServerFile, float]] = []
        self._listeners: list[notify.Listener] = []
        self._pid_of: dict[ServerFile, int] = {}
        """The server process of each open connection (what its changes' notices name)."""
        self._old_pids: collections.deque[int] = collections.deque(maxlen=64)
        self._closed = False

    def __repr__(self) -> str:
        return f"<ServerLink {self.address.path} as {self._username or 'nobody yet'}>"

    @property
    def path(self) -> str:
        """The server's address as people know it (never a password)."""
        return self.address.path

    @property
    def label(self) -> str:
        """e.g. ``team on db.council.local``, for the window title."""
        return self.address.label

    @property
    def username(self) -> str:
        return self._username

    def fresh(self) -> ServerLink:
        """A new link to the same server, nobody signed in (for the next person)."""
        return ServerLink(self.address)

    # --- signing in -------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> User:
        """Sign in (the server checks the password; the person's own connection records
        it) and keep the connection for the window's first job. Background thread."""
        session = accounts.login(self.address, username, password)
        try:
            # A moment to notice lapsed emergency reviews (reads never do).
            justifications.notice_overdue(session)
        except BaseException:
            session.close()
            raise
        server = session.casefile
        assert isinstance(server, ServerFile)
        with self._lock:
            if self._closed:
                server.close()
                raise CaseFileError(CLOSED.format(where=self.path))
            stale, self._idle = self._idle, [(server, time.monotonic())]
            self._username, self._password = session.user.username, password
            self._pid_of[server] = notify.backend_pid(server)
        for old, _ in stale:  # someone else's connections, if this link was reused
            self._close(old)
        return session.user

    def password_changed(self, password: str) -> None:
        """The person changed their password: connections from now on use the new one."""
        with self._lock:
            self._password = password

    # --- lending connections ----------------------------------------------------------

    @contextmanager
    def connection(self) -> Iterator[ServerFile]:
        """A connection of this thread's own until the ``with`` ends. Background thread."""
        server = self._borrow()
        try:
            yield server
        except Exception as exc:
            if notify.is_broken(server):
                self._close(server)
                if isinstance(exc, CaseviewError):
                    raise
                raise CaseFileError(LOST.format(where=self.path)) from exc
            self._give_back(server)
            raise
        except BaseException:
            self._close(server)
            raise
        self._give_back(server)

    def _credentials(self) -> tuple[str, str]:
        if not self._username:
            raise CaseFileError("Sign in to the Caseview server first.")
        return self._username, self._password

    def _borrow(self) -> ServerFile:
        while True:
            with self._lock:
                username, password = self._credentials()
                if not self._idle:
                    break
                server, since = self._idle.pop()
            if time.monotonic() - since < CHECK_AFTER_S and not notify.is_broken(server):
                return server
            if notify.is_usable(server):
                return server
            self._close(server)
        try:
            server = self.address.connect_as(username, password)
        except LoginFailed:
            raise LoginFailed(PASSWORD_REFUSED.format(where=self.path)) from None
        with self._lock:
            self._pid_of[server] = notify.backend_pid(server)
        return server

    def _give_back(self, server: ServerFile) -> None:
        usable = not notify.is_broken(server) and not server.pg.in_transaction
        with self._lock:
            if usable and not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append((server, time.monotonic()))
                return
        self._close(server)

    def _close(self, server: ServerFile) -> None:
        with self._lock:
            pid = self._pid_of.pop(server, None)
            if pid is not None:
                # A change it made may still be on its way to the listener.
                self._old_pids.append(pid)
        server.close()

    def own_processes(self) -> frozenset[int]:
        """The server processes of this window's connections (its own changes, which it
        has already shown, are not news)."""
        with self._lock:
            return frozenset(self._pid_of.values()) | frozenset(self._old_pids)

    # --- hearing of changes -----------------------------------------------------------

    def listen(self) -> notify.Listener:
        """A listening connection for this window, closed with the link. Background thread."""
        with self._lock:
            if self._closed:
                raise CaseFileError(CLOSED.format(where=self.path))
            username, password = self._credentials()
        listener = notify.listen(self.address, username, password)
        with self._lock:
            closed = self._closed
            if not closed:
                self._listeners.append(listener)
        if closed:
            listener.close()
            raise CaseFileError(CLOSED.format(where=self.path))
        return listener

    def stop_listening(self, listener: notify.Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)
        listener.close()

    # --- the end ------------------------------------------------------------------------

    def close(self) -> None:
        """The window closed: close the idle and listening connections, and each lent
        one as it comes back (no more are kept)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            listeners, self._listeners = self._listeners, []
        for server, _ in idle:
            self._close(server)
        for listener in listeners:
            listener.close()

    @property
    def closed(self) -> bool:
        return self._closed
