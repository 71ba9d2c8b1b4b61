"""Ctrl+C while Python is still loading the command stops it quietly.

Loading the command's modules takes its first half second, before :func:`caseview.cli.main`
can catch anything; nothing has been done yet, so that is all there is to say, where
Python would print a traceback through its imports. :mod:`caseview.cli` imports this
module before any other of its own and calls :func:`loaded` once they are all in.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _stopped(signum: int, frame: FrameType | None) -> None:
    if sys.stderr is not None:
        sys.stderr.write("caseview: Stopped. Nothing was done.\n")
    raise SystemExit(1)


# Only in place of Python's own handler: a process started with Ctrl+C ignored (a
# background job) keeps ignoring it, and a thread may not change handlers at all.
_taken = False
if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    try:
        signal.signal(signal.SIGINT, _stopped)
        _taken = True
    except ValueError:  # not the main thread
        pass


def loaded() -> None:
    """Hand Ctrl+C back to Python (a KeyboardInterrupt, which ``main`` answers)."""
    global _taken
    if _taken and signal.getsignal(signal.SIGINT) is _stopped:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _taken = False
