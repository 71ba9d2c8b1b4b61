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

The migration event comes after the copied head, so a checkpoint taken on the case file
(``SEQ:HASH`` from an exported note) still verifies on the server: ``verify
--expect-head`` checks that event SEQ still has HASH.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from caseview import audit
from caseview.clock import Clock, system_clock
from caseview.domain import AuditEvent, Role
from caseview.errors import IntegrityError, UsageError
from caseview.storage import open_case_file
from caseview.storage import people as people_sql
from caseview.storage.postgres import copy
from caseview.storage.server import ServerFile

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
    """The head verified (the file may have grown since; the copy checks those too)."""
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
        copy.source_tables(casefile.conn, path)
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
            "check it with 'caseview --db FILE verify', and tell your information "
            "governance team."
        )
    return Source(path, result.head, admin)


def migrate(
    source: Source,
    owner: ServerFile,
    admin_password: str,
    *,
    clock: Clock = system_clock,
    progress: copy.Progress | None = None,
) -> Migrated:
    """Copy the checked case file into the empty database ``owner`` is connected to
    (as its owner), in one transaction; see the module's docstring."""
    if owner.address is None:
        raise UsageError("Connect to the server by its address to migrate into it.")
    raw = owner.pg.raw
    copy.refuse_unless_empty(raw, owner.label)
    with open_case_file(source.path, read_only=True) as casefile, casefile.read():
        tables = copy.source_tables(casefile.conn, source.path)
        usernames = [str(r["username"]) for r in people_sql.list_users(casefile.conn)]
        copy.check_logins_free(raw, owner.address.prefix, usernames)
        tip = audit.head(casefile.conn)
        with owner.setting_up() as conn:
            copied = copy.copy_case_file(casefile.conn, owner.pg, tables, progress=progress)
            if copied.head != (tip.seq, tip.hash):
                raise IntegrityError(
                    f"The server's audit log ends at event {copied.head[0]} but the case "
                    f"file's at {tip}, so nothing was copied. Run migrate again; if it "
                    "goes on, ask IT."
                )
            logins = copy.create_logins(
                raw, owner.address.prefix, admin=source.admin, admin_password=admin_password
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
    return Migrated(
        source=source.path,
        head=tip,
        event=event,
        rows=copied.rows,
        admin=source.admin,
        need_password=logins.need_password,
        switched_off=logins.switched_off,
    )
