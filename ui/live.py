"""Hearing, on the GUI thread, that someone else changed what a window shows.

On a team server, :class:`ServerNews` opens a listening connection of its own in the
background (``ServerLink.listen``) and watches its socket with a ``QSocketNotifier``
here on the GUI thread, so there is no thread of its own and reading never waits. When
a change arrives that none of this window's own connections made, it emits
:attr:`ServerNews.changed`; the window then asks what the person may see and reloads
only what changed (``MainWindow.heard_of_change``). Each time it starts listening,
the first time too, it emits ``changed`` once: a change made before it listened was not
heard. If the connection drops it tries again quietly, waiting longer each time (1 s,
doubling to a minute). :meth:`ServerNews.stop` ends it.

A case file has no such news. It is one person's file on one machine, so another
writer is rare (the command line, or a second window); the app does not poll it
(``PRAGMA data_version`` could, but SQLite cannot tell the window's own writes from
anyone else's, so it would reload after every save and lose the person's place). View >
Refresh (F5) reloads on demand.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from caseview.errors import CaseviewError
from ui.tasks import run_task

if TYPE_CHECKING:
    from caseview.storage.notify import Listener
    from ui.server_link import ServerLink

logger = logging.getLogger(__name__)

FIRST_RETRY_MS = 1_000
LAST_RETRY_MS = 60_000


class ServerNews(QObject):
    """News of other people's changes on a team server, for one window."""

    changed = Signal()
    """Someone else changed something (or the connection came back): look again."""
    listening_changed = Signal(bool)
    """True once listening; False when the connection was lost (trying again)."""

    def __init__(self, link: ServerLink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.listener: Listener | None = None
        self.notifier: QSocketNotifier | None = None
        self.stopped = False
        self.connecting = False
        self.lost = False
        """The connection dropped (or never came up), and the window says so."""
        self.delay_ms = FIRST_RETRY_MS
        self.retry = QTimer(self)
        self.retry.setSingleShot(True)
        self.retry.timeout.connect(self.start)

    @property
    def listening(self) -> bool:
        return self.listener is not None

    def start(self) -> None:
        """Connect and listen, in the background (again, after a loss)."""
        if self.stopped or self.connecting or self.listener is not None:
            return
        self.connecting = True
        run_task(
            self.link.listen,
            on_returned=self._listening,
            on_errored=self._failed,
            owner=self,
        )

    def _listening(self, listener: Listener) -> None:
        self.connecting = False
        if self.stopped:
            self.link.stop_listening(listener)
            return
        self.listener = listener
        self.notifier = QSocketNotifier(listener.fileno(), QSocketNotifier.Type.Read, self)
        self.notifier.activated.connect(self._readable)
        self.lost = False
        self.delay_ms = FIRST_RETRY_MS
        self.listening_changed.emit(True)
        self._readable()  # whatever arrived while LISTEN itself ran
        self.changed.emit()  # and whatever happened before it listened

    def _failed(self, exc: BaseException) -> None:
        self.connecting = False
        if self.stopped:
            return
        # Quietly: the window says it is not hearing news; the next try may work.
        # (The messages name the server, never a password.)
        logger.info(
            "cannot listen for changes (trying again in %d s): %s", self.delay_ms // 1000, exc
        )
        self._try_later()

    def _readable(self) -> None:
        listener = self.listener
        if listener is None:
            return
        try:
            senders = listener.received()
        except CaseviewError as exc:
            self._lose(str(exc))
            return
        if not senders and listener.broken:
            self._lose("The listening connection broke.")
            return
        own = self.link.own_processes()
        if any(sender not in own for sender in senders):
            self.changed.emit()

    def _lose(self, why: str) -> None:
        logger.info("%s Listening again.", why)
        self._drop()
        self._try_later()

    def _try_later(self) -> None:
        if not self.lost:
            self.lost = True
            self.listening_changed.emit(False)
        self.retry.start(self.delay_ms)
        self.delay_ms = min(self.delay_ms * 2, LAST_RETRY_MS)

    def _drop(self) -> None:
        """Stop watching the socket (first: Qt must not watch a closed one), then close it."""
        if self.notifier is not None:
            self.notifier.setEnabled(False)
            self.notifier.deleteLater()
            self.notifier = None
        if self.listener is not None:
            self.link.stop_listening(self.listener)
            self.listener = None

    def stop(self) -> None:
        """No more news: the window is closing."""
        self.stopped = True
        self.retry.stop()
        self._drop()
