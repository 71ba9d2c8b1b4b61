"""Starting the desktop app: the QApplication, first run, signing in, the main window.

``run_gui(path)`` is what ``caseview gui`` (and ``caseview`` with no command) calls.
It reuses a ``QApplication`` that already exists (a test, or an outside GUI check,
made it) or creates one. Only when it created the application does it run the event
loop (``app.exec()``) and return its exit code; with an application that exists it
shows the main window and returns 0 at once, because whoever made the application owns
its event loop. The window is kept alive in :data:`open_windows` until it is closed.

Signing in: with ``CASEVIEW_USER`` and ``CASEVIEW_PASSWORD`` set, the app logs in
without a dialog (a refusal is shown, then the dialog is offered). A case file that
does not exist yet, or has no accounts, asks for the first manager first. File > Sign
out (Ctrl+Shift+Q) and File > Switch user show the sign-in dialog again (:func:`sign_out`).

A team server (``--db postgresql://HOST:PORT/DB``, or File > Connect to a team server)
is a :class:`~ui.server_link.ServerLink`, one per window: the server checks the
password, and the link keeps what the window needs to open its further connections.
A server never asks for a first manager (``caseview init`` on the server made one).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from caseview.domain import User
from caseview.errors import CaseviewError
from caseview.storage.store import is_server_address, without_password
from ui import crash, jobs, messages, tasks
from ui.identity import Identity
from ui.login import FirstManagerDialog, LoginDialog
from ui.main_window import MainWindow

if TYPE_CHECKING:
    from caseview.storage.server import ServerAddress
    from ui.server_link import ServerLink

logger = logging.getLogger(__name__)

# Windows we opened; Qt does not own a parentless window, so Python must hold it.
open_windows: list[MainWindow] = []


def application(engine_args: Sequence[str] = ()) -> tuple[QApplication, bool]:
    """The running QApplication, or a new one; True if we created it.

    ``engine_args``: flags for the evidence browser's Chromium (Qt passes on what follows
    ``--webEngineArgs``); only a new application can take them.
    """
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing, False
    from ui.browser import prepare_environment  # the evidence browser's engine needs it first

    prepare_environment()
    app = QApplication([*sys.argv[:1], *(["--webEngineArgs", *engine_args] if engine_args else [])])
    app.setApplicationName("Caseview")
    app.setOrganizationName("Caseview")
    app.setApplicationDisplayName("Caseview")
    return app, True


def server_link(address: str | ServerAddress) -> ServerLink:
    """A window's way into the team server at ``address`` (nobody signed in yet)."""
    # Local imports: psycopg (300 ms) loads only when a server is used.
    from caseview.storage.server import ServerAddress
    from ui.server_link import ServerLink

    if isinstance(address, ServerAddress):
        return ServerLink(address)
    try:
        return ServerLink(ServerAddress(address))
    except CaseviewError as exc:
        shown = without_password(address)
        if shown == address.strip():
            raise
        # The message would repeat the address as typed, password and all.
        raise type(exc)(
            f"The server address {shown} cannot be read. Write it as "
            "postgresql://HOST:PORT/DATABASE, and leave the password out of it."
        ) from None


def sign_in(path: Path | ServerLink, *, username: str = "", hint: str = "") -> User | None:
    """Whoever will use ``path`` (a case file, or a team server's link): first manager,
    environment credentials, or the dialog.

    None if the person cancelled; a case file that cannot be opened raises CaseviewError.
    """
    if isinstance(path, Path) and jobs.needs_first_manager(path):
        return FirstManagerDialog.ask(None, path)
    env_user = os.environ.get("CASEVIEW_USER", "")
    env_password = os.environ.get("CASEVIEW_PASSWORD")
    if env_user and env_password is not None:
        try:
            # Before any window exists, so waiting for argon2 here freezes nothing.
            return jobs.sign_in(path, env_user, env_password)
        except CaseviewError as exc:
            messages.error(None, str(exc))
    return LoginDialog.ask(None, path, username or env_user, hint)


def open_main_window(
    path: Path | ServerLink, user: User, *, demo_banner: bool = False
) -> MainWindow:
    """Show the main window for a signed-in user and return it, without an event loop.

    On a team server, ``path`` is the link ``user`` signed in through; the window owns
    it from now on and closes it when it closes.
    """
    who = (
        Identity(path.resolve(), user)
        if isinstance(path, Path)
        else Identity(path.path, user, link=path)
    )
    window = MainWindow(who, demo_banner=demo_banner)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    open_windows.append(window)
    window.destroyed.connect(lambda _=None: _forget(window))
    window.open_requested.connect(lambda other: switch_case_file(window, other))
    window.connect_requested.connect(lambda address: connect_to_server(window, address))
    window.sign_out_requested.connect(lambda switching: sign_out(window, switching=switching))
    window.show()
    return window


def _forget(window: MainWindow) -> None:
    if window in open_windows:
        open_windows.remove(window)


def switch_case_file(current: MainWindow, path: Path | ServerLink) -> MainWindow | None:
    """File > Open: sign in to another case file (or server); its window replaces this one."""
    try:
        user = sign_in(path)
    except CaseviewError as exc:
        messages.error(current, str(exc))
        user = None
    if user is None:
        if not isinstance(path, Path):
            path.close()
        return None
    window = open_main_window(path, user, demo_banner=False)
    current.close()
    return window


def connect_to_server(current: MainWindow, address: str) -> MainWindow | None:
    """File > Connect to a team server: sign in there; its window replaces this one."""
    try:
        link = server_link(address)
    except CaseviewError as exc:  # an address it cannot read (the dialog refused passwords)
        messages.error(current, str(exc))
        return None
    return switch_case_file(current, link)


def sign_out(current: MainWindow, *, switching: bool) -> MainWindow | None:
    """File > Sign out / Switch user: the window's work stops and it is hidden, and the
    sign-in dialog asks who is next (never the environment's credentials: that would
    sign the same person straight back in). Whoever signs in gets a new window. On
    cancel, switching keeps the current person signed in; signing out closes the window.
    """
    link, demo_banner = current.who.link, current.demo_banner
    # On a server, a link of its own for whoever signs in next.
    path: Path | ServerLink = Path(current.who.path) if link is None else link.fresh()
    tasks.cancel_owned_by(current)
    current.hide()  # not closed yet: the app must not quit while the dialog is up
    user = LoginDialog.ask(None, path, hint=_hint(demo_banner))
    if user is None:
        if not isinstance(path, Path):
            path.close()
        if switching:
            current.leaving = False
            current.show()
            return current
        current.close()
        return None
    window = open_main_window(path, user, demo_banner=demo_banner)
    current.close()
    return window


def _hint(demo_banner: bool) -> str:
    """What the sign-in dialog tells a newcomer: the demo's accounts, on the demo."""
    if not demo_banner:
        return ""
    from caseview import demo  # local: only the demo has accounts to suggest

    return demo.SIGN_IN_HINT


def _place(db_path: Path | str | ServerAddress) -> Path | ServerLink:
    """A case file's path, or a link to the team server the address names."""
    if isinstance(db_path, Path):
        return db_path.expanduser()
    if isinstance(db_path, str) and not is_server_address(db_path):
        return Path(db_path).expanduser()
    return server_link(db_path)


def run_gui(
    db_path: Path | str | ServerAddress,
    *,
    demo_banner: bool = False,
    username: str = "",
    engine_args: Sequence[str] = (),
) -> int:
    """Open the app on ``db_path`` (a case file, or a team server's address); see the
    module docstring for when it blocks."""
    app, created = application(engine_args)
    if created:
        # Our own app: a bug in a slot reaches the crash dialog instead of stderr.
        # (In a test the harness's hook stays in charge.)
        sys.excepthook = crash.excepthook
    try:
        path = _place(db_path)
        user = sign_in(path, username=username, hint=_hint(demo_banner))
    except CaseviewError as exc:
        messages.error(None, str(exc))  # a desktop launch has no console to read
        return exc.exit_code
    if user is None:
        if not isinstance(path, Path):
            path.close()
        return 0
    open_main_window(path, user, demo_banner=demo_banner)
    if not created:
        return 0
    code = int(app.exec())
    tasks.cancel_all()
    tasks.wait_for_all()  # let a write in progress finish before the interpreter ends
    return code
