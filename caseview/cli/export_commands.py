"""Commands that export a case: the reasoned note (PDF) and the captures (WARC).

Both write through :func:`caseview.files.atomic_write`: whole or not at all, never onto
a device, a pipe or a folder.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from caseview import captures, files
from caseview.cli.io import Output
from caseview.cli.session import (
    case_file_path,
    case_id,
    is_server,
    open_session,
    server_address,
)


def _check_target(args: argparse.Namespace) -> Path:
    """Where the export goes, checked before the password is asked: a file that may be
    written, and never the case file (the services check again when they write)."""
    return files.check_target(
        Path(args.output), case_file=None if is_server(args) else case_file_path(args)
    )


def _verify_command(args: argparse.Namespace, checkpoint: object) -> str:
    """The command that checks the log against this export's checkpoint, for this store:
    the case file's path, or the team server's address (never its password) and a user
    name, since a server is checked by a manager or an auditor signed in."""
    if is_server(args):
        where = shlex.quote(server_address(args).path)
        return f"caseview --db {where} --user NAME verify --expect-head {checkpoint}"
    return (
        f"caseview --db {shlex.quote(str(case_file_path(args)))} verify --expect-head {checkpoint}"
    )


def export_pdf(args: argparse.Namespace, out: Output) -> int:
    from caseview.report.build import export_pdf as export  # local: loads reportlab

    target = _check_target(args)  # before the password is asked
    with open_session(args) as session:
        checkpoint = export(session, case_id(session, args.case), target)
    out.result({"path": str(target), "checkpoint": str(checkpoint)}, str(checkpoint))
    out.note(f"Wrote {target}. Anyone can check it later with: {_verify_command(args, checkpoint)}")
    return 0


def export_warc(args: argparse.Namespace, out: Output) -> int:
    target = _check_target(args)  # before the password is asked
    with open_session(args) as session:
        count = captures.export_warc(session, case_id(session, args.case), target)
    out.result({"path": str(target), "captures": count}, str(target))
    out.note(f"Wrote {count} capture(s) to {target}.")
    return 0


HANDLERS = {
    ("export", "pdf"): export_pdf,
    ("export", "warc"): export_warc,
}
