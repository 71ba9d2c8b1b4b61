"""Finding the case file and signing in, shared by every command."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from caseview import accounts, justifications
from caseview.cli.io import Output, read_secret, utf8_text
from caseview.cli.parser import LARGEST_ID
from caseview.errors import CaseFileError, NotFound, UsageError
from caseview.session import Session
from caseview.storage import Store, default_case_file_path, open_case_file
from caseview.storage import people as people_sql
from caseview.storage.store import is_server_address, without_password

if TYPE_CHECKING:
    from caseview.storage.server import ServerAddress


def store_address(args: argparse.Namespace) -> str | None:
    """What --db or CASEVIEW_DB names, as given (None: the default case file)."""
    given = args.db or os.environ.get("CASEVIEW_DB")
    return given or None


def is_server(args: argparse.Namespace) -> bool:
    given = store_address(args)
    return given is not None and is_server_address(given)


def case_file_path(args: argparse.Namespace) -> Path:
    """The case file a command works on; a command that works on a case file only
    (the demo, verifying without signing in) says so for a server address."""
    given = store_address(args)
    if given and is_server_address(given):
        raise UsageError(
            f"'{args.command}' works on a case file, and {without_password(given)} is a "
            "PostgreSQL server. Give --db the path of a case file."
        )
    return Path(given).expanduser() if given else default_case_file_path()


def server_address(args: argparse.Namespace) -> ServerAddress:
    given = store_address(args)
    assert given is not None and is_server_address(given)
    from caseview.storage.server import ServerAddress  # psycopg loads only for a server

    return ServerAddress(given)


def open_store(args: argparse.Namespace) -> Store | ServerAddress:
    """The case file, opened; or the server, not yet signed in to."""
    if is_server(args):
        return server_address(args)
    return open_case_file(case_file_path(args))


def open_session(args: argparse.Namespace) -> Session:
    store = open_store(args)
    if not store.authenticates and accounts.needs_first_manager(store):  # type: ignore[arg-type]
        store.close()
        raise CaseFileError(
            f"The case file {store.path} has no accounts yet. "
            "Create the first manager with 'caseview init --admin NAME'."
        )
    username = args.user or os.environ.get("CASEVIEW_USER")
    if not username:
        store.close()
        raise UsageError("Say who you are: --user NAME before the command, or set CASEVIEW_USER.")
    utf8_text(username, "The user name")
    password = read_secret(f"Password for {username}: ", env="CASEVIEW_PASSWORD")
    try:
        session = accounts.login(store, username, password)
        if store.read_only:
            Output(as_json=False).note(
                f"The case file {store.path} is read-only: it can be read, but nothing can be "
                "recorded in it, not even this sign-in."
            )
        else:
            # Signing in is one of the moments a lapsed emergency review is noticed (reads
            # never notice it); cheap when there is none.
            justifications.notice_overdue(session)
    except BaseException:
        store.close()
        raise
    return session


def case_id(session: Session, text: str) -> int:
    """A case given by its reference or by its id.

    A council's references can be all digits, so a reference that matches wins, and a
    text that is both one case's reference and another case's id is refused as
    ambiguous rather than guessed.
    """
    conn = session.casefile.conn
    # Only 0-9 make an id: str.isdigit() also accepts "²" and "①", which int() refuses,
    # and "١" (Arabic-Indic one), which would quietly name case 1.
    is_number = text.isascii() and text.isdigit()
    # Found even if the case is not the reader's (on a server the database hides it):
    # the service then says it is not theirs, as for an id.
    found = people_sql.case_id_by_reference(conn, text)
    if found is not None:
        if (
            is_number
            and int(text) != found
            and int(text) <= LARGEST_ID
            and people_sql.case_exists(conn, int(text))
        ):
            raise UsageError(
                f"'{text}' is the reference of case {found} and the id of another case. "
                f"Give the id instead: {found} for reference {text}."
            )
        return found
    if is_number and int(text) <= LARGEST_ID:
        return int(text)
    shown = text if len(text) <= 80 else text[:80] + "…"  # a pasted page is not a reference
    raise NotFound(f"There is no case with reference {shown}. Run 'caseview case list'.")
