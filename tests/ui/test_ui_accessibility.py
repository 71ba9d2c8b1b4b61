"""Accessibility of every window and dialog: keyboard, names, tab order, text size.

Each window the app shows is built as the other tests build it (shown, never
``exec()``-ed, its background loads finished) and checked four ways. A window with tab
pages is checked on every page in turn, as a person paging through it would meet them.

(a) Reachable: every enabled, visible control (a button, line or text edit, combo box,
    spin or date box, item view, tab bar or slider) takes focus from the Tab key.
    Qt's own parts of a control (a combo box's list, a spin box's editor, a table's
    header, a line edit's clear button) are left out: Tab reaches the control itself.
    So is a tool button on a toolbar whose action is also in a menu: the menu reaches it.
(b) Named: each visible control, enabled or not (a screen reader also reads what is
    switched off), and any other widget Tab stops at (a scroll area), has a name as a
    screen reader gets it: the Name text of its ``QAccessibleInterface``, which is its
    accessible name, a button's own text or its label's, when the label is its buddy.
(c) Tab order: following ``nextInFocusChain()`` from the first control Tab stops at,
    the controls come in reading order. Each step, from one stop A to the next B, must
    go forward, with a tolerance of half a line of text:
      - down: B's top edge is below A's; or
      - along the line: their top edges are level and B does not start left of A; or
      - into the next column: B starts at or right of A's right edge (side-by-side
        panes are read one column down, then the next, so B may start higher up).
    Going up or left within a column is the failure. Switched-off controls count too:
    they take their place in the order once they are on. Positions are mapped to the
    window; a control inside a scroll area is placed by where it is in the scrolled
    content when compared with a control in the same scroll area, and by where the
    scroll area is when compared with one outside it.
(d) Text scales with the system font: built afresh with the application font 1.5 times
    the default (what a desktop's large-text setting does), no widget has a font sized
    in pixels, and every label and button is at least 0.8 times the application's
    point size. And no style sheet in ui/ sizes a font in pixels.

The about box is Qt's own ``QMessageBox.about`` (through ``ui.messages``), not one of
our widgets, so it is not built here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QAccessible, QFont
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QScrollArea,
    QSlider,
    QTabBar,
    QTabWidget,
    QTextEdit,
    QToolBar,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot
from ui_support import Team, approved_request, complete_request, submitted, with_sources

from caseview import notes, observations
from caseview.justifications import JustificationRecord
from caseview.observations import Observation
from ui import tasks
from ui.capture import CaptureDialog
from ui.case_admin import CaseAdminDialog, NewCaseDialog
from ui.crash import CrashDialog
from ui.import_dialog import ImportDialog
from ui.login import FirstManagerDialog, LoginDialog
from ui.main_window import MainWindow
from ui.note_editor import NoteEditor
from ui.observation_editor import ObservationEditor
from ui.review import ReviewQueueDialog
from ui.source_view import SourceDetailDialog
from ui.users_dialog import ChangePasswordDialog, UsersDialog
from ui.wizard import JustificationWizard

WAIT = 15_000
READ_ONLY_REASON = "Auditors read the record but add nothing to it."  # an editor's reason
UI = Path(__file__).resolve().parents[2] / "ui"
CONTROLS = (
    QAbstractButton,
    QLineEdit,
    QTextEdit,
    QPlainTextEdit,
    QComboBox,
    QAbstractSpinBox,  # QDateTimeEdit and QSpinBox among them
    QAbstractItemView,
    QTabBar,
    QSlider,
)
LARGE = 1.5  # the application font, as a multiple of the default, for (d)
SMALLEST = 0.8  # the smallest label or button text, as a multiple of the application's


# --- building each window ----------------------------------------------------------------


def idle(qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: tasks.running() == 0, timeout=WAIT)


@dataclass(frozen=True)
class Story:
    sources: list[int]
    observation: Observation
    waiting: JustificationRecord


def story(team: Team) -> Story:
    """Something in every tab: two sources, an observation, a note, a request waiting."""
    sources = [s.id for s in with_sources(team, ("Beach day", "Archery club"))]
    with team.session("wren") as wren:
        observation = observations.add(
            wren,
            sources[1],
            "The photo places the child at the archery club in August.",
            domain="family_environment",
            reliability="B",
            credibility=2,
        )
        notes.save(wren, team.case.id, analysis="The posts show no contact with the man.")
        waiting = submitted(wren, team.case.id, complete_request([team.kerry.id]))
    return Story(sources, observation, waiting)


def shown(qtbot: QtBot, widget: QWidget, ready: Callable[[], bool] = lambda: True) -> QWidget:
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: ready() and tasks.running() == 0, timeout=WAIT)
    return widget


def main_window(name: str) -> Callable[[QtBot, Team, Path], QWidget]:
    def build(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
        story(team)
        window = MainWindow(team.who(name))
        shown(qtbot, window, lambda: window.current_case() is not None)
        idle(qtbot)
        observations_view = window.case_view.observations.view
        observations_view.selectRow(0)  # so "Edit the observation" is on, as in use
        return window

    return build


def login(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    return shown(qtbot, LoginDialog(None, team.path, "wren"))


def first_run(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    return shown(qtbot, FirstManagerDialog(None, tmp_path / "new" / "case.db"))


def wizard(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    dialog = JustificationWizard(None, team.who("wren"))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.findings_updated, timeout=WAIT):
        dialog.start(team.case.id)
    idle(qtbot)
    return dialog


def wizard_read_only(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    """An auditor opens a submitted request from the overview."""
    waiting = story(team).waiting
    dialog = JustificationWizard(None, team.who("ada"))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.findings_updated, timeout=WAIT):
        dialog.start(team.case.id, waiting)
    idle(qtbot)
    return dialog


def review_queue(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    with team.session("wren") as wren:
        submitted(wren, team.case.id, complete_request([team.kerry.id]))
    dialog = ReviewQueueDialog(None, team.who("max"))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.context_loaded, timeout=WAIT):
        dialog.start()
    idle(qtbot)
    return dialog


def capture(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    approved_request(team)
    dialog = CaptureDialog(None, team.who("wren"), team.case.id)
    return shown(qtbot, dialog, lambda: dialog.choices is not None)


def import_dialog(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    approved_request(team)
    dialog = ImportDialog(None, team.who("wren"), team.case.id)
    return shown(qtbot, dialog, lambda: dialog.choices is not None)


def source_detail(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    sources = story(team).sources
    dialog = SourceDetailDialog(None, team.who("wren"), sources[1])
    return shown(qtbot, dialog, lambda: dialog.detail is not None)


def case_admin(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    dialog = CaseAdminDialog(None, team.who("mona"), team.case.id)
    shown(qtbot, dialog, lambda: dialog.state is not None and dialog.task is None)
    dialog.members_view.selectRow(0)  # so "Take off the case" is on, as in use
    return dialog


def new_case(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    return shown(qtbot, NewCaseDialog(None, team.who("mona")))


def users(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    dialog = UsersDialog(None, team.who("mona"))
    shown(qtbot, dialog, lambda: dialog.loaded and dialog.task is None)
    dialog.select("wren")  # so the chosen account's buttons are on, as in use
    return dialog


def change_password(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    return shown(qtbot, ChangePasswordDialog(None, team.who("wren")))


def observation_editor(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    story(team)  # an observation on another source, so there is one to tick as agreeing
    editor = ObservationEditor(None, team.who("wren"), team.case.id)
    return shown(qtbot, editor, lambda: editor.context is not None)


def observation_read_only(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    """An auditor opens an observation: read, not changed."""
    observation = story(team).observation
    editor = ObservationEditor(
        None, team.who("ada"), team.case.id, observation=observation, reason=READ_ONLY_REASON
    )
    return shown(qtbot, editor, lambda: editor.context is not None)


def note_editor(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    story(team)
    editor = NoteEditor(None, team.who("wren"), team.case.id)
    return shown(qtbot, editor, lambda: editor.ready)


def note_read_only(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    story(team)
    editor = NoteEditor(None, team.who("ada"), team.case.id, reason=READ_ONLY_REASON)
    return shown(qtbot, editor, lambda: editor.ready)


def crash_dialog(qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    text = "Traceback (most recent call last):\nValueError: an example"
    return shown(qtbot, CrashDialog(None, text, tmp_path / "caseview.log"))


WINDOWS: dict[str, Callable[[QtBot, Team, Path], QWidget]] = {
    "main window, worker": main_window("wren"),
    "main window, manager": main_window("mona"),
    "main window, auditor": main_window("ada"),
    "login": login,
    "first run": first_run,
    "justification wizard": wizard,
    "justification wizard, read-only": wizard_read_only,
    "review queue": review_queue,
    "capture": capture,
    "import": import_dialog,
    "source detail": source_detail,
    "case admin": case_admin,
    "new case": new_case,
    "users": users,
    "change password": change_password,
    "observation editor": observation_editor,
    "observation editor, read-only": observation_read_only,
    "note editor": note_editor,
    "note editor, read-only": note_read_only,
    "crash": crash_dialog,
}


@pytest.fixture(params=list(WINDOWS))
def window(request: pytest.FixtureRequest, qtbot: QtBot, team: Team, tmp_path: Path) -> QWidget:
    return WINDOWS[request.param](qtbot, team, tmp_path)


@pytest.fixture
def large_text(qapp: QApplication) -> Iterator[QFont]:
    """The application font 1.5 times the default, as a desktop's large-text setting."""
    before = QApplication.font()
    font = QFont(before)
    font.setPointSizeF(before.pointSizeF() * LARGE)
    QApplication.setFont(font)
    yield QApplication.font()
    QApplication.setFont(before)


# --- what is checked -----------------------------------------------------------------------


def describe(widget: QWidget) -> str:
    name = widget.objectName() or "(no objectName)"
    text = widget.text() if isinstance(widget, QAbstractButton | QLabel) else ""
    return f"{type(widget).__name__} {name}" + (f" {text!r}" if text else "")


def part_of_another_control(widget: QWidget, root: QWidget) -> bool:
    """Qt's own inner widgets: a combo box's list, a spin box's editor, a table's header."""
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if isinstance(parent, CONTROLS):
            return True
        parent = parent.parentWidget()
    return False


def reached_by_menu(widget: QWidget) -> bool:
    """A toolbar's tool button whose action is also in a menu (Alt reaches it there)."""
    if not isinstance(widget, QToolButton) or not isinstance(widget.parentWidget(), QToolBar):
        return False
    action = widget.defaultAction()
    return action is not None and any(isinstance(o, QMenu) for o in action.associatedObjects())


def controls(root: QWidget) -> list[QWidget]:
    """The visible controls of the window ``root`` (not of its popups or other windows)."""
    return [
        widget
        for widget in root.findChildren(QWidget)
        if isinstance(widget, CONTROLS)
        and widget.window() is root
        and widget.isVisible()
        and not part_of_another_control(widget, root)
        and not reached_by_menu(widget)
    ]


def takes_tab(widget: QWidget) -> bool:
    target = widget.focusProxy() or widget
    return bool(target.focusPolicy() & Qt.FocusPolicy.TabFocus)


def is_tab_stop(widget: QWidget, root: QWidget, *, switched_off: bool = False) -> bool:
    """Where Tab stops, by Qt's rule: in this window, shown, on, without a focus proxy.

    With ``switched_off``, also where it will stop once a switched-off control is on.
    """
    return (
        widget.window() is root
        and widget is not root
        and widget.isVisible()
        and (widget.isEnabled() or switched_off)
        and widget.focusProxy() is None
        and bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus)
    )


def tab_stops(root: QWidget, *, switched_off: bool = False) -> list[QWidget]:
    """The widgets Tab visits, in order, from the first one round to the last."""
    stops: list[QWidget] = []
    widget = root.nextInFocusChain()
    for _ in range(10_000):
        if widget is root:
            break
        if is_tab_stop(widget, root, switched_off=switched_off) and widget not in stops:
            stops.append(widget)
        widget = widget.nextInFocusChain()
    return stops


def accessible_name(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name).strip() if interface is not None else ""


def place(widget: QWidget, other: QWidget, root: QWidget) -> QRect:
    """Where ``widget`` is in the window, to compare with ``other``: inside a scroll area
    that does not also hold ``other``, the scroll area's place stands for it."""
    target = widget
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if isinstance(parent, QScrollArea) and not parent.isAncestorOf(other):
            target = parent  # the outermost such scroll area wins
        parent = parent.parentWidget()
    return QRect(target.mapTo(root, QPoint(0, 0)), target.size())


def forward(a: QRect, b: QRect, tolerance: int) -> bool:
    """True if ``b`` comes after ``a`` in reading order (see the module docstring)."""
    if b.top() > a.top() + tolerance:
        return True  # down
    if abs(b.top() - a.top()) <= tolerance:
        return b.left() >= a.left() - tolerance  # along the line
    return b.left() >= a.right() - tolerance  # up, but into the next column


def pages(root: QWidget) -> Iterator[str]:
    """Show each page of each tab widget in turn; yields which page is showing."""
    yield "as opened"
    for tabs in root.findChildren(QTabWidget):
        if tabs.window() is not root or not tabs.isVisible():
            continue
        before = tabs.currentIndex()
        for index in range(tabs.count()):
            if index == before or not tabs.isTabEnabled(index):
                continue
            tabs.setCurrentIndex(index)
            QApplication.processEvents()  # lay the page out
            yield f"tab {tabs.tabText(index)!r}"
        tabs.setCurrentIndex(before)
        QApplication.processEvents()


def unreachable(root: QWidget) -> list[str]:
    return [describe(w) for w in controls(root) if w.isEnabled() and not takes_tab(w)]


def unnamed(root: QWidget) -> list[str]:
    """Controls, and any other widget Tab stops at (a scroll area), with no name."""
    named = controls(root)
    named += [w for w in tab_stops(root) if w not in named]
    return [describe(w) for w in named if not accessible_name(w)]


def out_of_order(root: QWidget) -> list[str]:
    """Each Tab step that goes back up or left, with both positions in the window."""
    tolerance = root.fontMetrics().height() // 2
    stops = tab_stops(root, switched_off=True)
    steps = []
    for a, b in itertools.pairwise(stops):
        where_a, where_b = place(a, b, root), place(b, a, root)
        if not forward(where_a, where_b, tolerance):
            steps.append(
                f"{describe(a)} at ({where_a.x()}, {where_a.y()}) -> "
                f"{describe(b)} at ({where_b.x()}, {where_b.y()})"
            )
    return steps


def missing_from_chain(root: QWidget) -> list[str]:
    """Enabled controls that take Tab but that following the chain never reaches."""
    stops = tab_stops(root)
    return [
        describe(w)
        for w in controls(root)
        if w.isEnabled() and takes_tab(w) and (w.focusProxy() or w) not in stops
    ]


def on_every_page(root: QWidget, check: Callable[[QWidget], list[str]]) -> list[str]:
    found: list[str] = []
    for page in pages(root):
        found += [f"{page}: {problem}" for problem in check(root) if problem]
    return found


def pixel_fonts(root: QWidget) -> list[str]:
    return [describe(w) for w in [root, *root.findChildren(QWidget)] if w.font().pixelSize() != -1]


def small_text(root: QWidget, points: float) -> list[str]:
    return [
        f"{describe(w)}: {w.font().pointSizeF():g} pt"
        for w in root.findChildren(QWidget)
        if isinstance(w, QLabel | QAbstractButton) and w.font().pointSizeF() < SMALLEST * points
    ]


# --- the tests ----------------------------------------------------------------------------


def test_every_control_is_reached_by_the_tab_key(window: QWidget) -> None:
    assert on_every_page(window, unreachable) == []
    assert on_every_page(window, missing_from_chain) == []


def test_every_control_has_a_name_a_screen_reader_reads(window: QWidget) -> None:
    assert on_every_page(window, unnamed) == []


def test_the_tab_key_follows_reading_order(window: QWidget) -> None:
    assert on_every_page(window, out_of_order) == []


@pytest.mark.parametrize("name", list(WINDOWS))
def test_text_follows_the_system_font(
    large_text: QFont, qtbot: QtBot, team: Team, tmp_path: Path, name: str
) -> None:
    root = WINDOWS[name](qtbot, team, tmp_path)
    assert root.font().pointSizeF() == pytest.approx(large_text.pointSizeF())
    assert on_every_page(root, pixel_fonts) == []
    assert on_every_page(root, lambda w: small_text(w, large_text.pointSizeF())) == []


PIXEL_SIZES = re.compile(r"font(-size)?\s*:[^;\"'}]*\d\s*px|setPixelSize\(", re.IGNORECASE)


def test_no_style_sheet_sizes_text_in_pixels() -> None:
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(UI.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PIXEL_SIZES.search(line)
    ]
    assert found == []
