"""The ``caseview`` command. ``main(argv) -> int`` is the contract entry point.

Every failure reaches the person as one sentence (what happened, what to do) with the
contract's exit code; a traceback goes to the log file (:mod:`caseview.cli.logs`), and
to stderr only with ``CASEVIEW_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import logging
import os
import shlex
import sqlite3
import sys
import traceback
from collections.abc import Sequence

import caseview.cli.starting as starting  # first: Ctrl+C while loading the rest is quiet
import ethics
from caseview.cli import logs
from caseview.cli.io import Output
from caseview.cli.parser import UsageFailure, build, check_given, check_numbers, check_text
from caseview.errors import (
    CaseFileError,
    CaseviewError,
    FileError,
    UsageError,
    ValidationError,
)

logger = logging.getLogger(__name__)
starting.loaded()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (0 done, 1 error, 2 usage, 3 refused, 4 broken)."""
    logged = logs.setup()
    args_list = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args_list
    out = Output(as_json)
    try:
        args = build().parse_args(args_list)
    except UsageFailure as exc:
        out.error(_usage_advice(str(exc), args_list), 2)
        return 2
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return int(exc.code or 0)
    except KeyboardInterrupt:
        out.error("Stopped. Nothing was done.", 1)
        return 1
    # What was parsed decides, now that it can: 'search -- --json' looks for the word.
    out.as_json = bool(args.json)
    if args.command is None:
        args.command = "gui"
    try:
        from caseview.cli import commands  # local: keeps '--help' fast (no Qt, no argon2)

        check_numbers(args)
        check_text(args)
        check_given(args)
        code = commands.run(args, out)
    except CaseviewError as exc:
        rule = getattr(exc, "rule", None)
        out.error(str(exc) + _option_for(rule, args), exc.exit_code, rule)
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
        if not logged:
            where = "The details are in the log; please send them"
        elif logs.kept():
            where = f"The details are in {logs.log_path()}; please send them"
        else:
            where = (
                f"The details could not be kept (the log {logs.log_path()} cannot be "
                "written); please send what CASEVIEW_DEBUG=1 shows"
            )
        out.error(
            f"Something unexpected went wrong ({type(exc).__name__}: {_brief(exc)}). Nothing "
            f"half-done was saved. {where}, with the command you ran, to your IT support "
            "(set CASEVIEW_DEBUG=1 to see them here).",
            1,
        )
        return 1
    if out.lost and code == 0:
        out.error(
            f"The command was done, but what it printed was lost ({out.lost}). Check where "
            "its output goes before running it again.",
            1,
        )
        return 1
    return code


# A refusal whose remedy is an option of the command: the rule's words are the desktop
# app's too, so the option is named here.
_OPTION_FOR_RULE = {ethics.RULE_ATTESTATION: ("attest", "--attest")}


def _option_for(rule: str | None, args: argparse.Namespace) -> str:
    dest, option = _OPTION_FOR_RULE.get(rule or "", ("", ""))
    if not dest or not hasattr(args, dest):
        return ""
    return f" On the command line, that promise is {option}."


# The options that belong before the command, and the value each takes ("": none).
_GLOBAL_OPTIONS = {"--db": "PATH", "--user": "NAME", "--json": ""}


def _usage_advice(message: str, argv: Sequence[str]) -> str:
    """argparse's complaint, or plainer advice for two slips it explains badly: a global
    option typed after the command ('caseview case list --json'), and a file whose name
    starts with '-' (taken for an option)."""
    before, after = _split_at_command(argv)
    moved: list[str] = []
    rest: list[str] = []
    tokens = iter(after)
    for token in tokens:
        name = _global(token)
        if name is not None:
            moved.append(token)
            if _GLOBAL_OPTIONS[name] and "=" not in token:
                moved.append(next(tokens, _GLOBAL_OPTIONS[name]))
        else:
            rest.append(token)
    if moved:
        names = " and ".join(dict.fromkeys(filter(None, map(_global, moved))))
        fixed = shlex.join(["caseview", *before, *moved, *rest])
        return f"{names} must come before the command: {fixed}"
    unknown = [t for t in before if t.startswith("-") and _global(t) is None]
    if unknown and unknown[0] not in ("-h", "--help", "--version"):
        near = difflib.get_close_matches(unknown[0].split("=", 1)[0], list(_GLOBAL_OPTIONS), n=1)
        hint = f"; did you mean {near[0]}?" if near else "."
        return (
            f"{unknown[0]} is not an option of caseview{hint} The options before the command "
            "are --db PATH, --user NAME and --json (see 'caseview --help')."
        )
    dashed = [t for t in after if _file_like(t)]
    if dashed:
        return (
            f"{message} If {dashed[0]} is a file, write it as ./{dashed[0]} so that it is not "
            "taken for an option."
        )
    return message


def _file_like(token: str) -> bool:
    """Is this a file name that argparse took for an option ('-shot.png', '-x.pdf')?"""
    if not token.startswith("-") or token in ("-", "--"):
        return False
    return os.path.lexists(token) or (not token.startswith("--") and "." in token[2:])


def _global(token: str) -> str | None:
    """The global option ``token`` names (argparse takes '--us' for '--user'), or None."""
    name = token.split("=", 1)[0]
    if len(name) < 3 or not name.startswith("--"):
        return None
    found = [option for option in _GLOBAL_OPTIONS if option.startswith(name)]
    return found[0] if len(found) == 1 else None


def _split_at_command(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """The global options before the command, and the command with everything after."""
    index = 0
    while index < len(argv):
        name = _global(argv[index])
        if name is not None:
            index += 2 if _GLOBAL_OPTIONS[name] and "=" not in argv[index] else 1
        elif argv[index].startswith("-") and argv[index] != "-":
            index += 1  # --help, --version, or a slip argparse names itself
        else:
            break
    return list(argv[:index]), list(argv[index:])


def _known(exc: Exception, args: argparse.Namespace) -> CaseviewError | None:
    """A failure that is not a bug, as the sentence to show; None for a bug."""
    # local: these load the storage and account stack, which '--help' does not need
    from caseview.cli.session import case_file_path
    from caseview.storage import casefile

    if isinstance(exc, sqlite3.Error):
        path = case_file_path(args)
        text = str(exc).lower()
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_BUSY" or "database is locked" in text:
            return CaseFileError(
                f"The case file {path} is busy: another person or program is saving to it, "
                "and Caseview waited as long as it may, so nothing was done. Try again in a "
                "few minutes; if it stays busy, ask who has it open."
            )
        if args.command == "verify" and ("readonly" in text or "unable to open" in text):
            return CaseFileError(
                f"Cannot check {path} where it is: SQLite keeps a small working file beside "
                "a case file, and that folder may not be written. Copy the case file to a "
                "folder of your own and verify the copy."
            )
        # Reads meet a damaged file here; writes were explained by CaseFile.write.
        return casefile.explain(exc, path)
    if isinstance(exc, RecursionError):
        form = (
            "'caseview policy show' prints the policy"
            if args.command == "policy"
            else "'caseview justification template' shows the form"
        )
        return ValidationError(
            "The file given nests tables or lists inside one another too deeply to be read, "
            f"so nothing was stored. Check that it is the right file; {form}."
        )
    if isinstance(exc, OverflowError):
        # A number past what SQLite or Python's dates hold (an id, or a year 1 time that
        # cannot be shown in UK time).
        return UsageError(
            "A number or date given is out of range. Check the ids, numbers and dates you typed."
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return FileError("The disk is full, so nothing was saved. Free some space and try again.")
    if isinstance(exc, OSError) and exc.filename is not None:
        return _path_failure(exc)
    return None


# What a path the file system refused means, by what it said.
_PATH_FAILURES = {
    errno.ENAMETOOLONG: "is too long for the file system; give a shorter path",
    errno.ENOTDIR: "runs through something that is not a folder; check the path",
    errno.EACCES: "may not be used (permission denied); check its permissions, or choose "
    "another place",
    errno.EPERM: "may not be used (not permitted); check its permissions, or choose another place",
    errno.EROFS: "is on a read-only disk; choose another place",
    errno.ELOOP: "goes round in a loop of symbolic links; check the path",
    errno.ENOENT: "is not there; check the path",
}


def _path_failure(exc: OSError) -> CaseviewError:
    """A path that the file system refused (too long, through a file, no permission):
    a sentence naming the path, not an 'unexpected' error."""
    name = os.fsdecode(exc.filename)
    shown = name if len(name) <= 120 else name[:120] + "…"
    said = _PATH_FAILURES.get(exc.errno or 0)
    if said is None:
        said = f"cannot be used ({exc.strerror or exc}); check the path"
    return FileError(f"The path {shown} {said}.")


def _brief(exc: BaseException, most: int = 160) -> str:
    """The start of an unexpected error's message, on one line: it can quote case
    content at any length (a page's text, say); the log keeps it whole."""
    text = " ".join(str(exc).split())
    return text if len(text) <= most else text[: most - 1] + "…"
