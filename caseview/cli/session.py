"""Finding the case file and signing in, shared by every command."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from caseview import accounts, justifications
from caseview.cli.io import read_secret
from caseview.cli.parser import LARGEST_ID
from caseview.errors import CaseFileError, NotFound, UsageError
from caseview.session import Session
from caseview.storage import default_case_file_path, open_case_file
from caseview.storage import people as people_sql

SERVER_SCHEMES = ("postgresql://", "postgres://")


def case_file_path(args: argparse.Namespace) -> Path:
    given = args.db or os.environ.get("CASEVIEW_DB")
    if given and given.lower().startswith(SERVER_SCHEMES):
        # Issue 14 is building the team server; until it lands, say so rather than
        # look for a file of that name.
        raise UsageError(
            f"{given} is a PostgreSQL server address. This version of Caseview works on "
            "a case file only (the team server mode is being built; see docs/server.md): "
            "give --db the path of a case file."
        )
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
        session = accounts.login(casefile, username, password)
        # Signing in is one of the moments a lapsed emergency review is noticed (reads
        # never notice it); cheap when there is none.
        justifications.notice_overdue(session)
    except BaseException:
        casefile.close()
        raise
    return session


def case_id(session: Session, text: str) -> int:
    """A case given by its reference or by its id.

    A council's references can be all digits, so a reference that matches wins, and a
    text that is both one case's reference and another case's id is refused as
    ambiguous rather than guessed.
    """
    conn = session.casefile.conn
    by_reference = people_sql.case_by_reference(conn, text)
    if by_reference is not None:
        found = int(by_reference["id"])
        if text.isdigit() and int(text) != found and people_sql.case_by_id(conn, int(text)):
            raise UsageError(
                f"'{text}' is the reference of case {found} and the id of another case. "
                f"Give the id instead: {found} for reference {text}."
            )
        return found
    if text.isdigit() and int(text) <= LARGEST_ID:
        return int(text)
    raise NotFound(f"There is no case with reference {text}. Run 'caseview case list'.")
