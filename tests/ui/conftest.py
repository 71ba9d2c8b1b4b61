"""Fixtures for the desktop app's tests: a case file with a team, message boxes that
never block, and a clean slate (no task still running) after every test."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from pytestqt.qtbot import QtBot
from ui_support import PASSWORD, Boxes, Team, approved_request, build_team, local_site

from ui import app as ui_app
from ui import crash, messages, tasks


@pytest.fixture(autouse=True)
def boxes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Boxes:
    """Replace every modal: no test can block on a message box or file chooser."""
    shown = Boxes()
    monkeypatch.setattr(messages, "error", lambda parent, text, **_: shown.errors.append(text))
    monkeypatch.setattr(messages, "info", lambda parent, text, **_: shown.infos.append(text))
    monkeypatch.setattr(messages, "about", lambda parent, title, text: shown.infos.append(text))

    def confirm(parent: object, text: str, **_: object) -> bool:
        shown.confirms.append(text)
        return shown.confirm_answer

    monkeypatch.setattr(messages, "confirm", confirm)
    monkeypatch.setattr(messages, "save_path", lambda *args: shown.save_to)
    monkeypatch.setattr(messages, "open_path", lambda *args: shown.open_from)
    monkeypatch.setattr(crash, "show_dialog", lambda parent, text, log: shown.crashes.append(text))
    monkeypatch.setattr(
        platformdirs, "user_log_dir", lambda app, appauthor=None: str(tmp_path / "logs")
    )
    for name in ("CASEVIEW_USER", "CASEVIEW_PASSWORD", "CASEVIEW_DB"):
        monkeypatch.delenv(name, raising=False)
    return shown


def delete_closed_widgets() -> None:
    """Delete, here on the GUI thread, what was closed: ``deleteLater`` waits for an
    event loop, and a window left for the next test (or for the garbage collector on a
    worker thread) upsets it. Then collect garbage here, for the same reason."""
    for _ in range(3):  # deleting one window can schedule another's deletion
        QCoreApplication.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(autouse=True)
def settled(qtbot: QtBot) -> Iterator[None]:
    """After each test: every background task delivered, every window closed and
    deleted (pytest-qt has already closed the widgets given to ``qtbot.addWidget``)."""
    yield
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=15_000)
    for window in list(ui_app.open_windows):
        window.close()
    ui_app.open_windows.clear()
    delete_closed_widgets()


@pytest.fixture
def team(db_path: Path) -> Team:
    return build_team(db_path)


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The local test site, which the app may reach (``CASEVIEW_ALLOW_HOSTS``)."""
    monkeypatch.setenv("CASEVIEW_ALLOW_HOSTS", "127.0.0.1")
    with local_site() as base:
        yield base


@pytest.fixture
def approved(team: Team) -> int:
    """An approved request about Kerry whose scope is the local site; two viewings."""
    return approved_request(team, scope_hosts=("127.0.0.1",), planned_viewings=2).id
