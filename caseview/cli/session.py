"""Finding the case file and signing in, shared by every command."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from caseview import accounts
from caseview.cli.io import read_secret
from caseview.errors import CaseFileError, NotFound, UsageError
from caseview.session import Session
from caseview.storage import default_case_file_path, open_case_file
from caseview.storage import people as people_sql


def case_file_path(args: argparse.Namespace) -> Path:
    given = args.db or os.environ.get("CASEVIEW_DB")
    return Path(given).expanduser() if given else default_case_file_path()


def open_session(args: argparse.Namespace) -> Session:
    casefile = open_case_file(case_file_path(args))
    if accounts.needs_first_manager(casefile):
        casefile.close()
        raise CaseFileError(
            f"The case file {casefile.path} has no accounts yet. "
            "Create the first manager with 'caseview init --admin NAME'."
        )
    username = args.user or os.environ.get("CASEVIEW_USER")
    if not username:
        casefile.close()
        raise UsageError("Say who you are: --user NAME before the command, or set CASEVIEW_USER.")
    password = read_secret(f"Password for {username}: ", env="CASEVIEW_PASSWORD")
    try:
        return accounts.login(casefile, username, password)
    except BaseException:
        casefile.close()
        raise


def case_id(session: Session, text: str) -> int:
    """A case given by id (digits) or by its reference."""
    if text.isdigit():
        return int(text)
    row = people_sql.case_by_reference(session.casefile.conn, text)
    if row is None:
        raise NotFound(f"There is no case with reference {text}. Run 'caseview case list'.")
    return int(row["id"])
