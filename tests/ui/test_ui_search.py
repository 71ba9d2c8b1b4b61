"""Issue 13: the sources tab's search box takes any text without breaking."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, with_sources

from ui import tasks
from ui.main_window import MainWindow

WAIT = 10_000


def type_text(widget: QWidget, text: str) -> None:
    """Type each character as a key press carrying it (QTest's keyClicks is Latin-1 only;
    a Polish or Chinese keyboard delivers ł and 北 as the text of a key event)."""
    for char in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, char)
            QApplication.sendEvent(widget, event)


@pytest.fixture
def window(qtbot: QtBot, team: Team) -> MainWindow:
    with_sources(team, ("Michał Kowalski at the park", "Bjørn Ødegård", "北京市朝阳区的照片"))
    opened = MainWindow(team.who("wren"))
    qtbot.addWidget(opened)
    opened.show()
    qtbot.waitUntil(
        lambda: opened.current_case() is not None and tasks.running() == 0, timeout=WAIT
    )
    return opened


def test_typing_a_name_with_unfoldable_letters_shows_it(
    qtbot: QtBot, window: MainWindow, boxes: Boxes
) -> None:
    sources = window.case_view.sources
    type_text(sources.search, "Michał Kowalski")
    qtbot.waitUntil(lambda: sources.count.text() == "1 source match", timeout=WAIT)
    assert (
        [row.title for row in sources.model.rows],
        boxes.errors,
        boxes.crashes,
    ) == (["Michał Kowalski at the park"], [], [])


@pytest.mark.parametrize(
    ("typed", "titles"),
    [
        ("北京", ["北京市朝阳区的照片"]),
        ("Ødegård", ["Bjørn Ødegård"]),
        ('"unbalanced NEAR(a b) OR * ^ -x col:x', []),
        ("% _ \\ ' 😀 שלום", []),
    ],
)
def test_any_text_in_the_search_box_is_a_search(
    qtbot: QtBot, window: MainWindow, boxes: Boxes, typed: str, titles: list[str]
) -> None:
    sources = window.case_view.sources
    type_text(sources.search, typed)
    assert sources.search.text() == typed
    expected = f"{len(titles)} {'source' if len(titles) == 1 else 'sources'} match"
    qtbot.waitUntil(lambda: sources.count.text() == expected, timeout=WAIT)
    assert ([row.title for row in sources.model.rows], boxes.errors, boxes.crashes) == (
        titles,
        [],
        [],
    )
