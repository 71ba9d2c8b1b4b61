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
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QWidget

from ui import crash

logger = logging.getLogger(__name__)


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


# Tasks still running; holding them keeps their Python objects alive until delivered.
_running: set[Task] = set()


class Task(QObject):
    """One background call. Its signals fire on the GUI thread, for tests to wait on.

    The signals carry no values: the answer is in ``result`` or ``error``, set on the
    worker thread before the completion signal and read on the GUI thread after it.
    """

    returned = Signal()
    errored = Signal()
    finished = Signal()
    # Emitted on the worker thread; the queued connection carries it to the GUI thread.
    _completed = Signal()

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
        # Set by the worker thread once it holds no reference to this task any more.
        self._released = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None
        self._completed.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def cancel(self) -> None:
        self.flag.cancel()

    def _run(self) -> None:
        """On the worker thread."""
        if self.flag():
            self.error = TaskCancelled()
        else:
            try:
                self.result = self._fn(*self._args, **self._kwargs)
            except BaseException as exc:  # handed to the GUI thread, which reports it
                self.error = exc
        self._completed.emit()

    def _owner_alive(self) -> bool:
        return not self._has_owner or (self._owner is not None and shiboken6.isValid(self._owner))

    @Slot()
    def _deliver(self) -> None:
        """On the GUI thread."""
        result, error = self.result, self.error
        self.done = True
        self._release()
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
            if error is None:
                self.returned.emit()
            else:
                self.errored.emit()
            self.finished.emit()

    def _release(self) -> None:
        """Forget the task on the GUI thread, but only after the worker has let go of it.

        A QObject must be destroyed on the thread it lives on. If the worker thread
        dropped the last reference, the task would be destroyed there, racing the GUI
        thread (an intermittent segfault); waiting for the worker makes the GUI thread's
        reference the last one.
        """
        if self._released.is_set():
            _running.discard(self)
        else:
            QTimer.singleShot(5, self._release)


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task: Task | None = task

    def run(self) -> None:
        task, self.task = self.task, None
        assert task is not None
        released = task._released
        try:
            task._run()
        finally:
            del task  # drop this thread's reference before saying so
            released.set()


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
    _running.add(task)
    QThreadPool.globalInstance().start(_Runnable(task))
    return task


def running() -> int:
    """How many tasks have not yet been delivered (tests wait for 0)."""
    return len(_running)


def cancel_all() -> None:
    for task in list(_running):
        task.cancel()


def cancel_owned_by(owner: QObject) -> None:
    """Cancel the tasks started for ``owner`` or anything inside it (a closing window)."""
    for task in list(_running):
        current = task._owner if task._owner_alive() else None
        while current is not None:
            if current is owner:
                task.cancel()
                break
            current = current.parent()


def wait_for_all(timeout_ms: int = 10_000) -> bool:
    """Block until the pool is idle (shutdown and tests only); True if it emptied."""
    return bool(QThreadPool.globalInstance().waitForDone(timeout_ms))
