"""Where the command line's log goes: a file in the user log folder, never the terminal.

Without a handler, Python's logging falls back to printing records on stderr (its
"last resort"), so a logged traceback reached the person as a wall of text. The log
file is the desktop app's (``caseview.log`` in the platform's user log folder, e.g.
``~/.local/state/caseview/log``); with ``CASEVIEW_DEBUG=1`` the records also go to
stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import platformdirs

LOG_NAME = "caseview.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_path() -> Path:
    """The log file: the same one the desktop app's crash reports go to."""
    return Path(platformdirs.user_log_dir("caseview", appauthor=False)) / LOG_NAME


def debugging() -> bool:
    return os.environ.get("CASEVIEW_DEBUG", "") not in ("", "0")


class _LogFile(logging.FileHandler):
    """A log file created (with its folder, private) only when there is something to log.

    A log that cannot be written must not turn into a traceback on the terminal either:
    logging's own error report is shown only when debugging.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=True)
        self.marker = "caseview-cli"
        self.lost = False  # the file could not be opened: what was logged went nowhere

    def _open(self):  # type: ignore[no-untyped-def]  # logging's own signature
        try:
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            # logging opens the file outside its own error handling: a log folder that
            # cannot be made must not become the traceback this handler is here to stop.
            if debugging():
                sys.stderr.write(f"caseview: cannot write the log {self.baseFilename}: {exc}\n")
            self.lost = True
            return open(os.devnull, "w", encoding="utf-8")
        return os.fdopen(fd, "a", encoding="utf-8")

    def handleError(self, record: logging.LogRecord) -> None:  # logging names it so
        if debugging():
            super().handleError(record)


def setup() -> bool:
    """Send log records to the log file (and to stderr when debugging); once per process.

    Leaves logging alone (returns False) when something else set it up already: an
    application embedding the command, or a test harness capturing the records.
    """
    root = logging.getLogger()
    if any(getattr(h, "marker", None) == "caseview-cli" for h in root.handlers):
        return True
    if root.handlers:
        return False
    handler = _LogFile(log_path())
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    if debugging():
        debug = logging.StreamHandler(sys.stderr)
        debug.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(debug)
    return True


def kept() -> bool:
    """Did the log file keep what was logged? (False when it could not be written, so
    nobody is sent to look for it.)"""
    return any(
        getattr(h, "marker", None) == "caseview-cli" and not getattr(h, "lost", False)
        for h in logging.getLogger().handlers
    )
