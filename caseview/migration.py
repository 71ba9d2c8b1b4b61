"""Moving a case file onto a team's server (``caseview migrate``), its audit chain intact.

Two steps, so that nothing is asked for or connected to before the case file is known
to be sound:

1. :func:`check_source` opens the case file read-only and verifies it as ``caseview
   verify`` does (chain, evidence, every row the log vouches for); a broken file is
   refused, since copying it would launder the break into a fresh server.
2. :func:`migrate`, as the owner of an empty database, installs Caseview's schema and
   roles, copies every row (``storage.postgres.copy``), checks that the server's audit
   head is the case file's, gives every person a login role, and records the move as
   one more event (:data:`MIGRATED`), all in one transaction: afterwards the database
   holds the whole case file, or nothing at all.

A case file someone writes to meanwhile is refused (what they wrote would be left
behind), and a cut-off or concurrent migration is said, not waited for (its locks
outlive it until the server notices): whatever fails, migrating again is safe.

The migration event comes after the copied head, so a checkpoint taken on the case file
(``SEQ:HASH`` from an exported note) still verifies on the server: ``verify
--expect-head`` checks that event SEQ still has HASH.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg

from caseview import audit
from caseview.clock import Clock, system_clock
from caseview.domain import AuditEvent, Role
from caseview.errors import CaseFileError, CaseviewError, IntegrityError, UsageError
from caseview.storage import open_case_file
from caseview.storage import people as people_sql
from caseview.storage.pg import ConnectionLost
from caseview.storage.postgres import copy
from caseview.storage.server import ServerAddress, ServerFile

MIGRATED = "case_file.migrated"
"""The event that records the move: actor ``system`` (the database owner did it, who is
nobody's Caseview account), entity ``case_file``, no case; its data names the case file
(``from``), the head copied (``head``, SEQ:HASH), the rows copied per table (``rows``),
the manager given the first password (``admin``) and the owner's role (``owner``)."""


@dataclass(frozen=True)
class Source:
    """A case file checked for migrating."""

    path: Path
    head: audit.Checkpoint
    """The head verified: the copy refuses a case file that has moved on from it."""
    admin: str
    """The manager who gets the first password on the server."""


@dataclass(frozen=True)
class Migrated:
    """What :func:`migrate` did."""

    source: Path
    head: audit.Checkpoint
    """The case file's head, now the server's copy of it."""
    event: AuditEvent
    """The move's own event, right after the copied head."""
    rows: Mapping[str, int]
    """Rows copied, per table."""
    admin: str
    need_password: tuple[str, ...]
    """Active people who cannot sign in until a manager sets them a password."""
    switched_off: tuple[str, ...]
    """People whose accounts are switched off, on the server too."""


def check_source(path: Path, admin: str) -> Source:
    """Open the case file at ``path`` read-only and verify it; ``admin`` must be one of
    its managers, switched on. Changes nothing."""
    with open_case_file(path, read_only=True) as casefile:
        copy.check_current(casefile.conn, path)
        row = people_sql.user_by_name(casefile.conn, admin)
        managers = sorted(
            str(r["username"])
            for r in people_sql.list_users(casefile.conn)
            if r["role"] == Role.MANAGER.value and r["active"]
        )
    if row is None or row["role"] != Role.MANAGER.value or not row["active"]:
        raise UsageError(
            f"'{admin}' is not a manager whose account is switched on in {path}. Give "
            f"--admin one of: {', '.join(managers) or 'none (add a manager first)'}."
        )
    result = audit.verify(None, path)
    if not result.intact:
        where = (
            f"event {result.first_break}: {result.problem}"
            if result.first_break is not None
            else result.evidence_problems[0]
        )
        raise IntegrityError(
            f"{path} does not verify ({where}), so nothing was copied. Keep it as it is, "
            f"check it with 'caseview --db {path} verify', and tell your information "
            "governance team."
        )
    # After verify: a table added by hand is a break verify names, not a version to update.
    with open_case_file(path, read_only=True) as casefile:
        copy.source_tables(casefile.conn, path)
    return Source(path, result.head, admin)


LOCK_WAIT_MS = 15_000
"""How long the copy waits for a lock another connection holds (a migration still
running, or one cut off whose connection the server has not yet noticed is gone)
before it gives up and says so, instead of waiting for ever."""


def migrate(
    source: Source,
    owner: ServerFile,
    admin_password: str,
    *,
    clock: Clock = system_clock,
    progress: copy.Progress | None = None,
) -> Migrated:
    """Copy the checked case file into the empty database ``owner`` is connected to
    (as its owner), in one transaction; see the module's docstring.

    A failure leaves the database as it was and says what to do; migrating again is
    always safe (an empty database takes the copy, one that holds it refuses it)."""
    if owner.address is None:
        raise UsageError("Connect to the server by its address to migrate into it.")
    committing = False
    try:
        with open_case_file(source.path, read_only=True) as casefile, casefile.read():
            tip = audit.head(casefile.conn)
            _check_unchanged(source.path, source.head, tip)
            tables = copy.source_tables(casefile.conn, source.path)
            _refuse_unless_ready(owner, owner.address, casefile.conn)
            with _waiting_at_most(owner, LOCK_WAIT_MS), owner.setting_up() as conn:
                copied = copy.copy_case_file(casefile.conn, owner.pg, tables, progress=progress)
                if copied.head != (tip.seq, tip.hash):
                    raise IntegrityError(
                        f"The server's audit log ends at event {copied.head[0]} but the case "
                        f"file's at {tip}, so nothing was copied. Run migrate again; if it "
                        "goes on, ask IT."
                    )
                logins = copy.create_logins(
                    owner.pg.raw,
                    owner.address.prefix,
                    admin=source.admin,
                    admin_password=admin_password,
                )
                event = audit.record(
                    conn,
                    at=clock(),
                    actor="system",
                    action=MIGRATED,
                    entity="case_file",
                    data={
                        "from": str(source.path.resolve()),
                        "head": str(tip),
                        "rows": copied.rows,
                        "admin": source.admin,
                        "owner": owner.address.given_user,
                    },
                )
                # Whatever was written to the case file while it was copied would be left
                # behind: the snapshot copied must still be the whole file.
                _check_unchanged(source.path, tip, _head_now(source.path))
                committing = True
    except (psycopg.Error, ConnectionLost) as exc:
        raise _explain(exc, owner, owner.address, source, committing=committing) from exc
    except sqlite3.Error as exc:
        # Verified, yet a part no event vouches for could not be read.
        detail = _first_line(exc).partition(" with text ")[0]
        raise CaseFileError(
            f"{source.path} could not be read ({detail}), so nothing was copied and the "
            "database was left empty. The case file may be damaged: keep it as it is, "
            "restore it from your backup, and tell your information governance team."
        ) from exc
    return Migrated(
        source=source.path,
        head=tip,
        event=event,
        rows=copied.rows,
        admin=source.admin,
        need_password=logins.need_password,
        switched_off=logins.switched_off,
    )


def _refuse_unless_ready(
    owner: ServerFile, address: ServerAddress, casefile: sqlite3.Connection
) -> None:
    """The database must be empty, able to hold any text, and every login role's name free."""
    copy.refuse_unless_utf8(owner.pg.raw, owner.label)
    copy.refuse_unless_empty(owner.pg.raw, owner.label)
    usernames = [str(r["username"]) for r in people_sql.list_users(casefile)]
    copy.check_logins_free(owner.pg.raw, address.prefix, usernames)


def _head_now(path: Path) -> audit.Checkpoint:
    """The case file's head as it is now, outside any snapshot."""
    with open_case_file(path, read_only=True) as casefile:
        return audit.head(casefile.conn)


def _check_unchanged(path: Path, checked: audit.Checkpoint, now: audit.Checkpoint) -> None:
    if now != checked:
        raise CaseFileError(
            f"{path} changed while it was being moved (its audit log went from event "
            f"{checked.seq} to {now.seq}: someone is working in it), so nothing was copied. "
            "Ask everyone to close the case file, then run migrate again."
        )


@contextlib.contextmanager
def _waiting_at_most(owner: ServerFile, milliseconds: int) -> Iterator[None]:
    """Give up waiting for another connection's lock after ``milliseconds``."""
    raw = owner.pg.raw
    raw.execute("SELECT set_config('lock_timeout', %s, false)", [f"{milliseconds}ms"])
    try:
        yield
    finally:
        if not (raw.broken or raw.closed):
            raw.execute("RESET lock_timeout")


def _explain(
    exc: psycopg.Error | ConnectionLost,
    owner: ServerFile,
    address: ServerAddress,
    source: Source,
    *,
    committing: bool,
) -> CaseviewError:
    """A failure of the server or the connection, after the transaction was rolled back,
    as a sentence that says what to do."""
    raw = owner.pg.raw
    cause = exc.__cause__ if isinstance(exc, ConnectionLost) and exc.__cause__ else exc
    said = _first_line(cause)
    if raw.broken or raw.closed or isinstance(exc, ConnectionLost):
        if committing:
            return ConnectionLost(
                f"The connection to the server was lost while the copy was being saved "
                f"({said}), so it may or may not have been kept. Run migrate again: if it "
                "says the database already holds a Caseview case store, the copy was kept "
                f"(check it with 'caseview --db {address.for_people} --user {source.admin} "
                "verify')."
            )
        if isinstance(exc, copy.CopyLost):
            return exc  # the copy has said what it was copying
        return ConnectionLost(
            f"The connection to the server was lost ({said}), so nothing was copied and "
            "the database was left empty. Check the network connection and run migrate "
            "again; if it goes on, ask IT."
        )
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return CaseFileError(
            f"Another connection is using the database {owner.label} (a migration still "
            "running, or one that was cut off), so nothing was copied. Wait a few minutes "
            "and run migrate again; if it goes on, ask IT to end the other connections to "
            "the database."
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return CaseFileError(
            f"The server would not let {address.given_user} set up Caseview in {owner.label} "
            f"({said}), so nothing was copied. Ask IT to make {address.given_user} the owner "
            "of the database and of its schema public, then run migrate again."
        )
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return CaseFileError(
            f"The database {owner.label} only lets this connection read ({said}): it may be "
            "a standby copy of the server, so nothing was copied. Ask IT for the address of "
            "the main server, then run migrate again."
        )
    # Another migration may have finished first, or taken the role names meanwhile.
    with open_case_file(source.path, read_only=True) as casefile:
        _refuse_unless_ready(owner, address, casefile.conn)
    resources = " (its disk space, say)" if (exc.sqlstate or "").startswith("53") else ""
    return CaseFileError(
        f"The server stopped the migration ({said}), so nothing was copied and the "
        f"database was left empty. Ask IT to check the server{resources}, then run migrate "
        "again."
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
