"""Fixtures for the evidence browser: a local site, a recording gate, an engine in a view.

QtWebEngine needs two things before the QApplication exists (pytest-qt creates it on
first use): the OpenGL share attribute, and, as root, no Chromium sandbox. Both are set
here, at import, which is before any test runs.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ui.browser import engine_available, prepare_environment

prepare_environment()

import pytest  # noqa: E402
from browser_site import Site  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402
from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from collectors.rendered import PageShown  # noqa: E402
from ui.browser.engine import APPLICATION_WORLD, EvidenceEngine  # noqa: E402

WAIT_MS = 20_000  # generous: Chromium starts slowly on a loaded machine
OUT_OF_SCOPE = "/out-of-scope"
REFUSAL = "Refused (scope): that address is not in the request's scope."


@pytest.fixture(autouse=True)
def engine_here() -> None:
    problem = engine_available()
    if problem is not None:
        pytest.fail(problem)


@pytest.fixture(scope="session")
def server() -> Iterator[Site]:
    site = Site()
    site.start()
    yield site
    site.stop()


@pytest.fixture
def site(server: Site) -> Site:
    server.reset()
    return server


@pytest.fixture(autouse=True)
def allow_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test site is on 127.0.0.1, which the browser refuses unless allowed."""
    monkeypatch.setenv("CASEVIEW_ALLOW_HOSTS", "127.0.0.1")


@dataclass
class Gate:
    """A navigation policy that records what it was asked, refusing ``/out-of-scope``."""

    asked: list[tuple[str, str]] = field(default_factory=list)
    refuse: Callable[[str], bool] = lambda url: OUT_OF_SCOPE in url

    def __call__(self, url: str, kind: str) -> str | None:
        self.asked.append((url, kind))
        return REFUSAL if self.refuse(url) else None

    def kinds(self) -> list[str]:
        return [kind for _, kind in self.asked]


@pytest.fixture
def gate() -> Gate:
    return Gate()


@dataclass
class Browser:
    engine: EvidenceEngine
    view: QWebEngineView
    qtbot: QtBot
    blocked: list[tuple[str, str, str]] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)

    def open(self, url: str) -> PageShown:
        """Load ``url`` and wait until it has been shown (logged)."""
        before = len(self.engine.pages())
        self.engine.load(url)
        self.qtbot.waitUntil(lambda: len(self.engine.pages()) > before, timeout=WAIT_MS)
        return self.engine.pages()[-1]

    def run_isolated(self, script: str) -> Any:
        """Run ``script`` in the isolated world (as the engine does) and return its value."""
        results: list[Any] = []
        self.engine.page.runJavaScript(script, APPLICATION_WORLD, results.append)
        self.qtbot.waitUntil(lambda: bool(results), timeout=WAIT_MS)
        return results[0]

    def click(self, element_id: str) -> None:
        """Click an element, from the isolated world (nothing enters the page's world)."""
        self.run_isolated(f"document.getElementById('{element_id}').click(); true")

    def wait_blocked(self, what: str, count: int = 1) -> list[tuple[str, str, str]]:
        self.qtbot.waitUntil(
            lambda: len([b for b in self.blocked if b[0] == what]) >= count, timeout=WAIT_MS
        )
        return [b for b in self.blocked if b[0] == what]


def delete_later_now() -> None:
    for _ in range(3):
        QCoreApplication.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def browser(qtbot: QtBot, gate: Gate) -> Iterator[Browser]:
    engine = EvidenceEngine(gate)
    view = QWebEngineView()
    view.resize(1280, 900)
    view.setPage(engine.page)
    view.show()
    found = Browser(engine, view, qtbot)
    engine.blocked.connect(lambda *args: found.blocked.append(args))
    engine.refused.connect(lambda *args: found.refused.append(args))
    yield found
    engine.close()
    delete_later_now()  # the page, then the profile
    view.close()
    view.deleteLater()
    engine.deleteLater()
    delete_later_now()


@pytest.fixture
def scratch_gone() -> Callable[[EvidenceEngine], bool]:
    return lambda engine: not os.path.exists(engine.download_dir)
