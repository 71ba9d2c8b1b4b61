"""ui.tasks: plain functions run off the GUI thread, answers delivered on it."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from ui_support import Boxes

from caseview.errors import NotFound
from ui import crash
from ui.tasks import CancelFlag, Task, run_task

WAIT = 15_000


def test_the_function_runs_off_the_gui_thread_and_the_answer_arrives_on_it(
    qtbot: QtBot,
) -> None:
    gui = threading.get_ident()
    heard: list[tuple[int, int]] = []
    task = run_task(
        threading.get_ident, on_returned=lambda ran: heard.append((ran, threading.get_ident()))
    )
    with qtbot.waitSignal(task.finished, timeout=WAIT):
        pass
    [(ran_on, delivered_on)] = heard
    assert (ran_on != gui, delivered_on == gui) == (True, True)


def test_arguments_are_passed_and_the_result_returned(qtbot: QtBot) -> None:
    task = run_task(pow, 2, 10)
    with qtbot.waitSignal(task.returned, timeout=WAIT):
        pass
    assert (task.result, task.error) == (1024, None)


def test_a_bool_result_survives_the_trip(qtbot: QtBot) -> None:
    heard: list[bool] = []
    tasks = [run_task(bool, n % 2, on_returned=heard.append) for n in range(300)]
    qtbot.waitUntil(lambda: all(task.done for task in tasks), timeout=WAIT)
    assert sorted(heard) == [False] * 150 + [True] * 150


def test_an_error_goes_to_on_errored_and_finished_still_fires(qtbot: QtBot) -> None:
    order: list[str] = []

    def fail() -> None:
        raise ValueError("no")

    task = run_task(
        fail,
        on_returned=lambda _: order.append("returned"),
        on_errored=lambda exc: order.append(f"errored {exc}"),
        on_finished=lambda: order.append("finished"),
    )
    with qtbot.waitSignal(task.finished, timeout=WAIT):
        pass
    assert order == ["errored no", "finished"]


def test_a_caseview_error_with_no_handler_is_shown_as_its_message(
    qtbot: QtBot, boxes: Boxes
) -> None:
    def missing() -> None:
        raise NotFound("There is no case 9.")

    with qtbot.waitSignal(run_task(missing).finished, timeout=WAIT):
        pass
    assert (boxes.errors, boxes.crashes) == (["There is no case 9."], [])


@pytest.mark.allow_logs
def test_an_unexpected_error_reaches_the_crash_dialog_and_the_log(
    qtbot: QtBot, boxes: Boxes
) -> None:
    def bug() -> None:
        raise RuntimeError("unexpected state")

    with qtbot.waitSignal(run_task(bug).finished, timeout=WAIT):
        pass
    log = crash.log_path().read_text(encoding="utf-8")
    assert len(boxes.crashes) == 1
    assert "RuntimeError: unexpected state" in boxes.crashes[0]
    assert "RuntimeError: unexpected state" in log


def test_a_cancellable_task_stops_when_asked(qtbot: QtBot, boxes: Boxes) -> None:
    started = threading.Event()
    steps: list[int] = []
    finished: list[bool] = []

    def long_work(*, cancel: CancelFlag) -> None:
        started.set()
        for step in range(500):
            cancel.check()
            steps.append(step)
            threading.Event().wait(0.01)

    task = run_task(
        long_work,
        on_returned=lambda _: finished.append(False),
        on_finished=lambda: finished.append(True),
        cancellable=True,
    )
    assert started.wait(WAIT / 1000)
    task.cancel()
    with qtbot.waitSignal(task.finished, timeout=WAIT):
        pass
    assert (finished, len(steps) < 500, boxes.errors, boxes.crashes) == ([True], True, [], [])


def test_no_callback_reaches_a_deleted_owner(qtbot: QtBot) -> None:
    release = threading.Event()
    heard: list[object] = []
    owner = QWidget()
    task = run_task(
        lambda: release.wait(WAIT / 1000),
        on_returned=heard.append,
        on_finished=lambda: heard.append("finished"),
        owner=owner,
    )
    shiboken6.delete(owner)
    release.set()
    with qtbot.waitSignal(task.finished, timeout=WAIT):
        pass
    assert heard == []


def test_the_cancel_flag_is_a_callable_for_the_services() -> None:
    flag = CancelFlag()
    before = flag()
    flag.cancel()
    assert (before, flag()) == (False, True)


def test_crash_details_name_the_versions_and_the_traceback(tmp_path: Path) -> None:
    try:
        raise KeyError("missing")
    except KeyError as exc:
        text = crash.details(exc)
    assert "Caseview" in text and "PySide6" in text and "KeyError: 'missing'" in text


def test_pyside_keeps_none_and_true_alive() -> None:
    """PySide6 6.12.0 on Python 3.11 dropped a reference to None per void call and to True
    per emit, until the interpreter aborted; pyproject.toml keeps 3.11 on 6.11."""
    widget = QWidget()
    task = Task(
        int, (), on_returned=None, on_errored=None, on_finished=None, owner=None, cancellable=False
    )
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1000):
        widget.setEnabled(True)
        task.finished.emit()
    assert sys.getrefcount(None) >= none_before - 10
    assert sys.getrefcount(True) >= true_before - 10


def test_a_delivered_task_lets_go_of_its_owner(qtbot: QtBot) -> None:
    # A test (or a widget) that keeps the task must not keep its owner alive with it.
    import weakref

    owner = QWidget()
    gone = weakref.ref(owner)
    task = run_task(pow, 2, 3, on_returned=lambda _: None, owner=owner)
    with qtbot.waitSignal(task.finished, timeout=WAIT):
        pass
    assert task.result == 8
    shiboken6.delete(owner)
    del owner
    import gc

    gc.collect()
    assert gone() is None


def test_the_worker_never_holds_the_task(qtbot: QtBot) -> None:
    # Only plain data crosses to the worker thread: no Qt object can be freed there.
    seen: list[object] = []

    def look_around() -> int:
        import inspect

        frame = inspect.currentframe()
        while frame is not None:
            seen.extend(v for v in frame.f_locals.values() if isinstance(v, Task))
            frame = frame.f_back
        return 1

    task = run_task(look_around)
    with qtbot.waitSignal(task.finished, timeout=WAIT):
        pass
    assert (task.result, seen) == (1, [])
