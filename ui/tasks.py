"""Run plain functions off the GUI thread and hear back on it (STYLE rule 8).

``run_task(fn, *args, on_returned=..., on_errored=..., on_finished=...)`` runs
``fn(*args)`` on Qt's global thread pool and calls the callbacks on the GUI thread:
``on_returned(result)`` or ``on_errored(exception)``, then ``on_finished()``.

- Background functions take and return plain data (``ui.jobs``). They never touch a
  widget or a model, and each opens its own case-file connection.
- A task started with ``cancellable=True`` gets ``cancel=<CancelFlag>`` as a keyword;
  long work checks it between steps. ``Task.cancel()`` sets it.
- With an ``owner`` widget, the callbacks are skipped once the owner is deleted (a
  closed dialog must not be updated by a late answer); ``finished`` still fires.
- With no ``on_errored``, a ``CaseviewError`` is shown as a message and anything else
  reaches the crash dialog (``ui.crash.report``).

Threads and Qt objects. A Qt object must be created, used and destroyed on its own
thread, so the worker thread never holds one, not even through a Python object:

- The worker gets only the function, its plain arguments and a task number. It never
  sees the :class:`Task` (a QObject holding the callbacks, and through them the owner
  widget); the task stays in :data:`_running` on the GUI thread until it is delivered,
  so the GUI thread always drops the last reference to it.
- The worker hands back plain data (the result, or the exception) by number, and wakes
  the GUI thread through one relay QObject that lives there for the life of the app.
  After shutdown has begun (:func:`shut_down`) it posts nothing, so nothing is emitted
  through an object Qt has already deleted.
- Python's cyclic garbage collector runs on whichever thread happens to allocate, and
  a Qt object's wrapper in unreachable garbage would be destroyed there (a segfault).
  While any task runs, automatic collection is off and the GUI thread collects instead,
  on a timer, by the interpreter's own thresholds.
"""

from __future__ import annotations

import atexit
import gc
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QWidget

from ui import crash

logger = logging.getLogger(__name__)

COLLECT_EVERY_MS = 250  # how often the GUI thread collects garbage while tasks run


class TaskCancelled(Exception):
    """Raised by a background function that noticed its cancel flag; not an error."""


class CancelFlag:
    """Set on the GUI thread, read by the background function between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        """True once cancelled (so it can be passed where a ``cancel()`` callable is due)."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`TaskCancelled` if cancelled; call it between steps."""
        if self._event.is_set():
            raise TaskCancelled()


# Tasks not yet delivered, by number; only the GUI thread touches this.
_running: dict[int, Task] = {}
_numbers = itertools.count(1)
# What the workers handed back, by task number: (result, error), plain data only.
_outcomes: dict[int, tuple[object, BaseException | None]] = {}
# Guards _outcomes, _shutting_down and every post through the relay.
_lock = threading.Lock()
_shutting_down = False
_collection_was_on = True  # whether automatic collection was on when tasks began


class _Relay(QObject):
    """Lives on the GUI thread; a worker's ``completed.emit`` is queued to it."""

    completed = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.completed.connect(self._on_completed, Qt.ConnectionType.QueuedConnection)
        # Automatic collection is off while tasks run; this collects on the GUI thread.
        self.collector = QTimer(self)
        self.collector.setInterval(COLLECT_EVERY_MS)
        self.collector.timeout.connect(_collect_garbage)

    @Slot(int)
    def _on_completed(self, number: int) -> None:
        _deliver(number)


_relay: _Relay | None = None


def _relay_on_gui_thread() -> _Relay:
    global _relay
    if _relay is None or not shiboken6.isValid(_relay):
        _relay = _Relay()
    return _relay


class Task(QObject):
    """One background call. Its signals fire on the GUI thread, for tests to wait on.

    The signals carry no values: the answer is in ``result`` or ``error``, set on the
    GUI thread just before they fire.
    """

    returned = Signal()
    errored = Signal()
    finished = Signal()

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        *,
        on_returned: Callable[[Any], None] | None,
        on_errored: Callable[[BaseException], None] | None,
        on_finished: Callable[[], None] | None,
        owner: QObject | None,
        cancellable: bool,
    ) -> None:
        super().__init__()
        self.number = next(_numbers)
        self.flag = CancelFlag()
        self._fn = fn
        self._args = args
        self._kwargs: dict[str, Any] = {"cancel": self.flag} if cancellable else {}
        self._on_returned = on_returned
        self._on_errored = on_errored
        self._on_finished = on_finished
        self._owner = owner
        self._has_owner = owner is not None
        self.done = False
        self.result: object = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        self.flag.cancel()

    def _runnable(self) -> _Runnable:
        """What the worker thread gets: the call and its plain data, not this task."""
        return _Runnable(self.number, self._fn, self._args, self._kwargs, self.flag)

    def _owner_alive(self) -> bool:
        return not self._has_owner or (self._owner is not None and shiboken6.isValid(self._owner))

    def _deliver(self, result: object, error: BaseException | None) -> None:
        """On the GUI thread."""
        self.result, self.error = result, error
        self.done = True
        try:
            if self._owner_alive():
                if error is None:
                    if self._on_returned is not None:
                        self._on_returned(result)
                elif isinstance(error, TaskCancelled):
                    pass  # the person asked for it; the finished callback tidies up
                elif self._on_errored is not None:
                    self._on_errored(error)
                else:
                    parent = self._owner if isinstance(self._owner, QWidget) else None
                    crash.report(parent, error)
                if self._on_finished is not None:
                    self._on_finished()
        finally:
            # Let go of the owner and the callbacks (bound to it) here, on the GUI
            # thread: a test may keep the task, and must not keep the owner with it.
            self._owner = None
            self._on_returned = self._on_errored = self._on_finished = None
            self._fn, self._args, self._kwargs = _done, (), {}
            if error is None:
                self.returned.emit()
            else:
                self.errored.emit()
            self.finished.emit()


def _done() -> None:
    """What a delivered task's function becomes (it holds nothing)."""


def _call(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], flag: CancelFlag
) -> tuple[object, BaseException | None]:
    """On the worker thread: the result, or the exception (whose traceback keeps only
    this frame's plain data, never a task)."""
    if flag():
        return None, TaskCancelled()
    try:
        return fn(*args, **kwargs), None
    except BaseException as exc:  # handed to the GUI thread, which reports it
        return None, exc


class _Runnable(QRunnable):
    """Holds plain data only: it is destroyed on the worker thread."""

    def __init__(
        self,
        number: int,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        flag: CancelFlag,
    ) -> None:
        super().__init__()
        self.number = number
        self.flag = flag  # a task not yet started when cancelled does not start
        self.call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None = (
            fn,
            args,
            kwargs,
        )

    def run(self) -> None:
        call, self.call = self.call, None
        assert call is not None
        fn, args, kwargs = call
        outcome = _call(fn, args, kwargs, self.flag)
        with _lock:
            if _shutting_down or _relay is None:
                return  # nobody is left to hear it; the relay may be gone
            _outcomes[self.number] = outcome
            _relay.completed.emit(self.number)


def _deliver(number: int) -> None:
    """On the GUI thread: hand the outcome of task ``number`` to its callbacks."""
    with _lock:
        result, error = _outcomes.pop(number)
    task = _running.get(number)
    if task is None:
        return
    try:
        task._deliver(result, error)
    finally:
        del _running[number]
        if not _running:
            _tasks_idle()


def _tasks_busy() -> None:
    """The first task starts: collection moves to the GUI thread."""
    global _collection_was_on
    relay = _relay_on_gui_thread()
    _collection_was_on = gc.isenabled()
    gc.disable()
    relay.collector.start()


def _tasks_idle() -> None:
    """The last task is delivered (no worker of ours runs): collection as usual."""
    if _relay is not None and shiboken6.isValid(_relay):
        _relay.collector.stop()
    if _collection_was_on:
        gc.enable()


def _collect_garbage() -> None:
    """What automatic collection would do now, by the interpreter's thresholds."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in reversed(range(len(thresholds))):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return


def run_task(
    fn: Callable[..., Any],
    *args: Any,
    on_returned: Callable[[Any], None] | None = None,
    on_errored: Callable[[BaseException], None] | None = None,
    on_finished: Callable[[], None] | None = None,
    owner: QObject | None = None,
    cancellable: bool = False,
) -> Task:
    """Start ``fn(*args)`` on the thread pool; see the module docstring."""
    task = Task(
        fn,
        args,
        on_returned=on_returned,
        on_errored=on_errored,
        on_finished=on_finished,
        owner=owner,
        cancellable=cancellable,
    )
    if not _running:
        _tasks_busy()
    _running[task.number] = task
    QThreadPool.globalInstance().start(task._runnable())
    return task


def running() -> int:
    """How many tasks have not yet been delivered (tests wait for 0)."""
    return len(_running)


def cancel_all() -> None:
    for task in list(_running.values()):
        task.cancel()


def cancel_owned_by(owner: QObject) -> None:
    """Cancel the tasks started for ``owner`` or anything inside it (a closing window)."""
    for task in list(_running.values()):
        current = task._owner if task._owner_alive() else None
        while current is not None:
            if current is owner:
                task.cancel()
                break
            current = current.parent()


def wait_for_all(timeout_ms: int = 10_000) -> bool:
    """Block until the pool is idle (shutdown and tests only); True if it emptied."""
    return bool(QThreadPool.globalInstance().waitForDone(timeout_ms))


def shut_down(timeout_ms: int = 10_000) -> None:
    """At exit: stop the tasks, wait for them, and let none post an answer afterwards
    (Qt is about to delete the objects an answer would be emitted through)."""
    global _shutting_down
    cancel_all()
    wait_for_all(timeout_ms)
    with _lock:
        _shutting_down = True
    if _collection_was_on:
        gc.enable()


# Registered after PySide6's own exit handler (imported above), so it runs before it.
atexit.register(shut_down)
