"""The ``caseview`` command. ``main(argv) -> int`` is the contract entry point.

Every failure reaches the person as one sentence (what happened, what to do) with the
contract's exit code; a traceback goes to the log file (:mod:`caseview.cli.logs`), and
to stderr only with ``CASEVIEW_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sqlite3
import sys
import traceback
from collections.abc import Sequence

from caseview.cli import logs
from caseview.cli.io import Output
from caseview.cli.parser import UsageFailure, build, check_numbers
from caseview.errors import (
    CaseFileError,
    CaseviewError,
    FileError,
    UsageError,
    ValidationError,
)

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (0 done, 1 error, 2 usage, 3 refused, 4 broken)."""
    logged = logs.setup()
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build()
    as_json = "--json" in args_list
    out = Output(as_json)
    try:
        args = parser.parse_args(args_list)
    except UsageFailure as exc:
        out.error(str(exc), 2)
        return 2
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return int(exc.code or 0)
    if args.command is None:
        args.command = "gui"
    try:
        from caseview.cli import commands  # local: keeps '--help' fast (no Qt, no argon2)

        check_numbers(args)
        return commands.run(args, out)
    except CaseviewError as exc:
        out.error(str(exc), exc.exit_code, getattr(exc, "rule", None))
        return exc.exit_code
    except KeyboardInterrupt:
        out.error("Stopped. Nothing half-done was saved.", 1)
        return 1
    except Exception as exc:  # the last line of defence: never a bare traceback
        known = _known(exc, args)
        if known is not None:
            # A recursion's traceback is thousands of identical lines: the message will do.
            logger.warning("%s", known, exc_info=None if isinstance(exc, RecursionError) else exc)
            out.error(str(known), known.exit_code)
            return known.exit_code
        logger.exception("unexpected error")
        if logs.debugging() and not logged:
            traceback.print_exc()
        where = f"in {logs.log_path()}" if logged else "in the log"
        out.error(
            f"Something unexpected went wrong ({type(exc).__name__}: {exc}). Nothing half-done "
            f"was saved. The details are {where}; please send them, with the command you "
            "ran, to your IT support (set CASEVIEW_DEBUG=1 to see them here).",
            1,
        )
        return 1


def _known(exc: Exception, args: argparse.Namespace) -> CaseviewError | None:
    """A failure that is not a bug, as the sentence to show; None for a bug."""
    # local: these load the storage and account stack, which '--help' does not need
    from caseview.cli.session import case_file_path
    from caseview.storage import casefile

    if isinstance(exc, sqlite3.Error):
        path = case_file_path(args)
        text = str(exc).lower()
        if args.command == "verify" and ("readonly" in text or "unable to open" in text):
            return CaseFileError(
                f"Cannot check {path} where it is: SQLite keeps a small working file beside "
                "a case file, and that folder may not be written. Copy the case file to a "
                "folder of your own and verify the copy."
            )
        # Reads meet a damaged file here; writes were explained by CaseFile.write.
        return casefile.explain(exc, path)
    if isinstance(exc, RecursionError):
        return ValidationError(
            "The file given nests tables or lists inside one another too deeply to be read, "
            "so nothing was stored. Check that it is the right file; 'caseview justification "
            "template' shows the form."
        )
    if isinstance(exc, OverflowError):
        return UsageError("A number given is too large. Check the ids and numbers you typed.")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return FileError("The disk is full, so nothing was saved. Free some space and try again.")
    return None
