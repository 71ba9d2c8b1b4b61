"""The ``caseview`` command. ``main(argv) -> int`` is the contract entry point."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Sequence

from caseview.cli.io import Output
from caseview.cli.parser import UsageFailure, build
from caseview.errors import CaseviewError

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (0 done, 1 error, 2 usage, 3 refused, 4 broken)."""
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
    from caseview.cli import commands  # local: keeps '--help' fast (no Qt, no argon2)

    try:
        return commands.run(args, out)
    except CaseviewError as exc:
        out.error(str(exc), exc.exit_code, getattr(exc, "rule", None))
        return exc.exit_code
    except KeyboardInterrupt:
        out.error("Stopped. Nothing half-done was saved.", 1)
        return 1
    except Exception as exc:  # the last line of defence: never a bare traceback
        logger.exception("unexpected error")
        if os.environ.get("CASEVIEW_DEBUG"):
            traceback.print_exc()
        out.error(
            f"Something unexpected went wrong ({type(exc).__name__}: {exc}). Nothing half-done "
            "was saved. Please report it with the command you ran (see the README); set "
            "CASEVIEW_DEBUG=1 to see the details.",
            1,
        )
        return 1
