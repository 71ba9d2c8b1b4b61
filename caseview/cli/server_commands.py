"""Commands about a team's server: ``migrate`` (a case file onto an empty database).

Loaded only when one of them runs (``commands.LAZY``): they need psycopg.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from caseview import accounts, migration
from caseview.cli.io import Output, read_secret
from caseview.errors import UsageError
from caseview.storage.postgres import install
from caseview.storage.postgres.copy import Progress
from caseview.storage.server import ROLE_PREFIX_ENV, OwnerPasswordNeeded, ServerAddress, ServerFile
from caseview.storage.store import is_server_address, without_password

PROGRESS_EVERY = 10_000
"""Rows between progress lines for a big table (each table also says when it is done)."""


def _migrate(args: argparse.Namespace, out: Output) -> int:
    if is_server_address(args.source):
        raise UsageError(
            f"--from takes the path of a case file, and {without_password(args.source)} is "
            "a server. Give --from FILE.db and --to postgresql://OWNER@HOST:PORT/DATABASE."
        )
    if not is_server_address(args.target):
        raise UsageError(
            "--to takes the address of an empty database on a team server, as its owner: "
            "postgresql://OWNER@HOST:PORT/DATABASE."
        )
    address = ServerAddress(args.target)
    if not address.given_user:
        raise UsageError(
            "Name the database owner in the address to migrate into it: "
            "postgresql://OWNER@HOST:PORT/DATABASE."
        )
    admin = accounts._check_username(args.admin)
    address.login_role(admin)  # fits this server's role names, before anything is read
    path = Path(args.source).expanduser()

    source = migration.check_source(path, admin)
    out.note(f"Checked {path}: intact, audit head {source.head}.")
    password = read_secret(
        f"Choose {admin}'s password on the server: ", env="CASEVIEW_PASSWORD", confirm=True
    )
    accounts._check_password(password)
    with _connect_owner(address) as owner:
        done = migration.migrate(source, owner, password, progress=_reporter(out))

    total = sum(done.rows.values())
    sign_in = f"caseview --db {address.for_people} --user"
    out.result(
        {
            "from": str(done.source),
            "to": address.for_people,
            "head": str(done.head),
            "migrated_event": done.event.seq,
            "rows": dict(done.rows),
            "admin": done.admin,
            "need_password": list(done.need_password),
            "switched_off": list(done.switched_off),
        },
        f"Copied {done.source} to {address.label}: {total} rows, audit chain intact to "
        f"{done.head}.",
    )
    out.note(
        f"The move is recorded as event {done.event.seq} ({migration.MIGRATED}). To check "
        f"the server against the case file's checkpoint: {sign_in} {done.admin} verify "
        f"--expect-head {done.head}"
    )
    if done.need_password:
        out.note(
            f"{done.admin} signs in with the password just chosen. These people have no "
            f"password on the server yet and cannot sign in until a manager sets one "
            f"('{sign_in} {done.admin} user reset-password NAME'): "
            f"{', '.join(done.need_password)}."
        )
    if done.switched_off:
        out.note(
            f"Switched off here and on the server (they cannot sign in): "
            f"{', '.join(done.switched_off)}."
        )
    chosen = os.environ.get(ROLE_PREFIX_ENV)
    if chosen and chosen != install.default_prefix(address.dbname):
        out.note(f"On every desktop, set {ROLE_PREFIX_ENV}={chosen} too, as here.")
    out.note(
        f"From now on the team works on the server: keep {done.source} as it is, as a "
        "record of the case file that was moved, and record nothing more in it (what is "
        "recorded there now would not reach the server)."
    )
    return 0


def _connect_owner(address: ServerAddress) -> ServerFile:
    try:
        return address.connect_owner()
    except OwnerPasswordNeeded:
        return address.connect_owner(
            read_secret(
                f"Password for the database owner {address.given_user}: ",
                env="CASEVIEW_OWNER_PASSWORD",
            )
        )


def _reporter(out: Output) -> Progress:
    """Progress on stderr: a line per table copied, and every PROGRESS_EVERY rows of a
    big one (events copied / total for the audit log)."""
    said: dict[str, int] = {}

    def report(table: str, done: int, total: int) -> None:
        before = said.get(table, 0)
        said[table] = done
        what = ("event" if table == "audit_log" else "row") + ("" if total == 1 else "s")
        if done >= total:
            out.note(f"Copied {table}: {done} {what}.")
        elif done // PROGRESS_EVERY > before // PROGRESS_EVERY:
            out.note(f"Copying {table}: {done} of {total} {what}.")

    return report


HANDLERS = {
    ("migrate", None): _migrate,
}
