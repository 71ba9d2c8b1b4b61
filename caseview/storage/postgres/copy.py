"""Copying a case file into an empty team database, as its owner (``caseview migrate``).

The rows go across verbatim, ids included, in an order that satisfies every foreign
key; the audit log goes in ``seq`` order, so the server's chain trigger checks each
event's link and hash as it arrives and the copied head is the case file's own. Then each
identity sequence is moved past the largest id copied, so the next case, request or
source gets the next number.

Three things are not copied verbatim, each for a reason:

- ``users.password_hash``: an argon2 hash cannot become a SCRAM verifier, and on a
  server the password lives with the person's login role, so each row gets
  :data:`~caseview.storage.logins.SERVER_PASSWORD_RECORD` (:func:`create_logins` makes
  the login roles);
- the generated columns (audit_log's copies of the payload, search_index's document):
  the server computes them;
- the search index: the server's ``search_index`` holds words Caseview computes
  itself (:mod:`caseview.storage.fts`), so each item the case file's FTS5 index holds
  (kind, id, case, title and body) is indexed again through the storage layer's own
  :func:`~caseview.storage.analysis.index`; ``search_trigram`` and the FTS5 shadow
  tables are not copied (on the server one table serves both searches).

Everything runs on the owner's connection inside the caller's transaction (see
:meth:`~caseview.storage.server.ServerFile.setting_up`), so a failure leaves the
database as it was. Rows are streamed, a batch at a time bounded in count and bytes, so
memory stays flat however big the case file and its blobs.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg import sql
from psycopg.abc import Query

from caseview.errors import CaseFileError, CaseviewError, IntegrityError, ValidationError
from caseview.storage import analysis, schema
from caseview.storage import gate as gate_sql
from caseview.storage import people as people_sql
from caseview.storage.logins import SERVER_PASSWORD_RECORD
from caseview.storage.pg import ConnectionLost, PgConnection
from caseview.storage.postgres import install

Connection = psycopg.Connection[Any]
Progress = Callable[[str, int, int], None]
"""Called as rows go across: (table, rows copied so far, rows in all)."""

TABLES = (
    "users",
    "cases",
    "case_members",
    "subjects",
    "person_links",
    "policies",
    "justifications",
    "reviews",
    "authorisations",
    # After reviews and authorisations: their triggers refuse a reviewer or recorder who
    # edited the request, which held when each was written; copied later, the editors
    # cannot make a historic review look like self-approval.
    "justification_editors",
    "return_answers",
    "viewings",
    "blobs",
    "sources",
    "exposure_findings",
    "observations",
    "notes",
    "browse_sessions",
    "browse_pages",
    "browse_requests",
    "source_artefacts",
    "search_index",
    "audit_log",
)
"""Every table copied, parents before children (the foreign keys are not deferrable)."""

NOT_COPIED = {
    "_sqlite_migrations": "the server records its schema in schema_version",
    "search_trigram": "on the server search_index's trigram index serves it",
}

ORDER_BY = {"audit_log": "seq"}
"""The order rows are copied in; by default the table's primary key (rowid)."""

REINDEXED = "search_index"
"""Not copied but indexed again, item by item, as the services index (see above)."""

HISTORIC_REFUSALS = {
    # Return answers are given on a draft; by the time a case file is copied their
    # request has long been submitted, so the rule would refuse every one.
    "return_answers": ("return_answers_only_on_a_draft_insert",),
}
"""Triggers that refuse rows for the state they are written in, not for what they are:
switched off while their table is copied, and on again before the transaction ends."""

OVERRIDES = {"users": {"password_hash": SERVER_PASSWORD_RECORD}}

BATCH_ROWS = 500
BATCH_BYTES = 8 * 1024 * 1024
"""A batch is sent when it holds this many rows or bytes (a large blob goes alone)."""


@dataclass(frozen=True)
class Copied:
    """What :func:`copy_case_file` copied."""

    rows: dict[str, int]
    """Rows per table, in the order copied."""
    head: tuple[int, str]
    """The server's audit head (seq, hash) after the copy: the case file's."""


@dataclass(frozen=True)
class Logins:
    """The login roles :func:`create_logins` made, beside the admin's."""

    need_password: tuple[str, ...]
    """Active people with no password on the server yet (a manager must set one)."""
    switched_off: tuple[str, ...]
    """People whose account is switched off: their login role may not sign in."""


# ---- before anything is copied -------------------------------------------------------


def check_current(casefile: sqlite3.Connection, path: Path) -> None:
    """Refuse a case file whose schema this Caseview would still bring up to date.

    Opened read-only, a case file is not migrated; the server's schema is the latest,
    so an older file's tables would not match it.
    """
    applied = {
        str(row[0])
        for row in casefile.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?",
            (schema.MIGRATION_SET,),
        )
    }
    if set(schema.known_steps()) - applied:
        raise CaseFileError(
            f"{path} was last opened by an older version of Caseview. Sign in to it once "
            f"with this version ('caseview --db {path} --user NAME case list' brings it up "
            "to date), then run migrate again."
        )


def source_tables(casefile: sqlite3.Connection, path: Path) -> list[str]:
    """The tables of the case file that are copied, in :data:`TABLES` order.

    A table this version does not know is refused rather than left behind.
    """
    rows = casefile.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    found = {str(name): str(text or "") for name, text in rows}
    virtual = [name for name, text in found.items() if text.upper().startswith("CREATE VIRTUAL")]
    names = {
        name
        for name in found
        if name not in NOT_COPIED
        and not name.startswith("sqlite_")
        and not any(name.startswith(f"{v}_") for v in virtual)
    }
    unknown = sorted(names - set(TABLES))
    if unknown:
        raise CaseFileError(
            f"{path} holds tables this version of Caseview cannot copy ({', '.join(unknown)}). "
            "Update Caseview, then run migrate again."
        )
    return [name for name in TABLES if name in names]


def refuse_unless_empty(conn: Connection, where: str) -> None:
    """Refuse a database that holds anything: a Caseview schema, or any table, data or
    function of its own (an extension's, such as pg_trgm made ready by IT, is no matter)."""
    if _one(conn, "SELECT to_regclass('public.audit_log') IS NOT NULL"):
        raise CaseFileError(
            f"The database {where} already holds a Caseview case store, so nothing was "
            "copied and it was left unchanged. Migrate into a new, empty database (ask IT "
            "for one)."
        )
    held = [
        f"{row[0]}.{row[1]}"
        for row in conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
            " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
            " UNION ALL"
            " SELECT n.nspname, p.proname || '()' FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
            " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass"
            " AND d.objid = p.oid AND d.deptype = 'e')"
            " ORDER BY 1, 2 LIMIT 4"
        )
    ]
    if held:
        shown = ", ".join(held[:3]) + (" and more" if len(held) > 3 else "")
        raise CaseFileError(
            f"The database {where} is not empty (it holds {shown}), so nothing was copied "
            "and it was left unchanged. Migrate into a new, empty database (ask IT for one)."
        )


def refuse_unless_utf8(conn: Connection, where: str) -> None:
    """Refuse a database that cannot store every character a case file may hold (a
    capture can be in any language), and speak UTF-8 to the one that can."""
    encoding = install.database_encoding(conn)
    if encoding != "UTF8":
        raise CaseFileError(
            f"The database {where} stores text as {encoding}, which cannot hold every "
            "language a case file may, so nothing was copied and it was left unchanged. Ask "
            "IT to create it again with ENCODING 'UTF8', then run migrate again."
        )
    # A client set to another encoding (PGCLIENTENCODING) could not send every capture.
    conn.execute("SET client_encoding TO 'UTF8'")


def check_logins_free(conn: Connection, prefix: str, usernames: Iterable[str]) -> None:
    """Refuse when a person's login role name is not available on this server.

    Roles are cluster-wide: another database set up with the same prefix, or a user
    name too long for the prefix, would otherwise fail half-way through the copy.
    """
    names = install.role_names(prefix)
    try:
        logins = [names.login(username) for username in usernames]
    except ValidationError as exc:  # a name too long for the prefix
        raise CaseFileError(
            f"{exc} A case file's user names cannot change, so nothing was copied: ask IT "
            "for a shorter role prefix (CASEVIEW_ROLE_PREFIX), then run migrate again."
        ) from None
    taken = [
        str(row[0])
        for row in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s) ORDER BY rolname",
            [[names.worker, names.manager, names.auditor, *logins]],
        )
    ]
    if taken:
        raise CaseFileError(
            f"The roles {', '.join(taken)} already exist on this server (another database "
            f"uses the prefix '{prefix}'), so nothing was copied. Ask IT to choose another "
            "prefix (CASEVIEW_ROLE_PREFIX) or remove the old roles, then run migrate again."
        )


# ---- the copy ------------------------------------------------------------------------


def copy_case_file(
    casefile: sqlite3.Connection,
    server: PgConnection,
    tables: Sequence[str],
    *,
    progress: Progress | None = None,
) -> Copied:
    """Copy ``tables`` of the case file into the server's freshly installed schema.

    ``casefile`` should be in a read transaction (one snapshot for every table);
    ``server`` is the owner's connection, inside the transaction that installed the
    schema. Raises :class:`CaseFileError` naming the table when the server refuses a row,
    and :class:`IntegrityError` when a table's count or the audit head come out different.
    """
    target = server.raw
    rows: dict[str, int] = {}
    for table in tables:
        total = int(casefile.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
        if table == REINDEXED:
            rows[table] = _reindex(casefile, server, total, progress)
        else:
            with _historic_refusals_off(target, table):
                rows[table] = _copy_table(casefile, target, table, total, progress)
        counted = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        landed = int(str(_one(target, counted)))
        if rows[table] != total or landed != total:
            raise IntegrityError(
                f"{table}: {total} rows in the case file but {landed} on the server, so "
                "nothing was copied. Run migrate again; if it goes on, ask IT."
            )
    _move_sequences(target)
    if "subjects" in tables and "viewings" in tables:
        _meter_keys(casefile, server)
    return Copied(rows, server_head(target))


def _meter_keys(casefile: sqlite3.Connection, server: PgConnection) -> None:
    """Record the keyed hashes the meter of every case reads on a server (security.sql):
    each subject's handle keys and each completed look's address prefixes, computed here
    as Caseview computes them when it writes a subject or a look."""
    conn = cast(sqlite3.Connection, server)  # as ServerFile.conn: it speaks sqlite3's calls
    for subject_id, handles in casefile.execute("SELECT id, handles FROM subjects ORDER BY id"):
        found = json.loads(handles or "[]")
        listed = [str(h) for h in found] if isinstance(found, list) else []
        people_sql.record_person_keys(conn, int(subject_id), listed)
    for viewing_id, url in casefile.execute(
        "SELECT id, url FROM viewings WHERE outcome = 'completed' ORDER BY id"
    ):
        gate_sql.record_look_keys(conn, int(viewing_id), str(url or ""))


def _copy_table(
    casefile: sqlite3.Connection,
    target: Connection,
    table: str,
    total: int,
    progress: Progress | None,
) -> int:
    columns = _columns(casefile, target, table)
    overrides = OVERRIDES.get(table, {})
    replaced = [(columns.index(name), value) for name, value in overrides.items()]
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(sql.Placeholder() for _ in columns),
    )
    picked = ", ".join(f'"{c}"' for c in columns)
    order = ORDER_BY.get(table, "rowid")
    cursor = casefile.execute(f'SELECT {picked} FROM "{table}" ORDER BY {order}')
    copied = 0
    for batch in _batches(cursor):
        if replaced:
            batch = [_replace(row, replaced) for row in batch]
        try:
            with target.cursor() as out:
                out.executemany(insert, batch)
        except psycopg.Error as exc:
            raise refused(target, exc, f"a row of {table}", batch, key=columns[0]) from exc
        copied += len(batch)
        if progress is not None:
            progress(table, copied, total)
    return copied


def _reindex(
    casefile: sqlite3.Connection, server: PgConnection, total: int, progress: Progress | None
) -> int:
    """Index every item of the case file's search index again, on the server."""
    # As bytes: the index is Caseview's own working copy, which no event vouches for,
    # so text a damaged file holds there that is not UTF-8 is indexed as a reader shows it.
    items = casefile.execute(
        f"SELECT kind, ref_id, case_id, CAST(title AS BLOB), CAST(body AS BLOB) FROM {REINDEXED}"
        " ORDER BY rowid"
    )
    conn = cast(sqlite3.Connection, server)  # as ServerFile.conn: it speaks sqlite3's calls
    target = server.raw
    done = 0
    for kind, ref_id, case_id, title_bytes, body_bytes in items:
        title = _text(title_bytes)
        body = _text(body_bytes)
        try:
            analysis.index(conn, str(kind), int(ref_id), int(case_id), title, body)
        except ConnectionLost as exc:
            raise lost(f"{kind} {ref_id} for search", exc.__cause__ or exc) from exc
        except psycopg.Error as exc:
            rows = [(ref_id, title, body)]
            raise refused(target, exc, f"{kind} {ref_id} for search", rows) from exc
        done += 1
        if progress is not None and (done % BATCH_ROWS == 0 or done == total):
            progress(REINDEXED, done, total)
    return done


ROW_REFUSALS = ("22", "23", "42", "P0")
"""SQLSTATE classes in which the server refuses a row for what it holds (bad data, a
broken constraint, a trigger's refusal); any other failure is the server's own."""


def refused(
    target: Connection,
    exc: psycopg.Error,
    what: str,
    rows: Iterable[tuple[Any, ...]] = (),
    *,
    key: str = "",
) -> CaseviewError:
    """Why the server did not take ``what`` (``a row of TABLE``, one of ``rows``, whose
    first value is their ``key``), as a sentence that says what to do: the transaction
    is rolled back, so nothing was kept."""
    if target.broken or target.closed:
        return lost(what, exc)
    nul = _with_nul(rows) if isinstance(exc, psycopg.DataError) else None
    if nul is not None:
        # psycopg refuses these before the server sees them: PostgreSQL's text cannot
        # hold a NUL, and changing the text would break the hashes the log vouches for.
        which = f" ({key} {nul})" if key else ""
        return CaseFileError(
            f"{what[0].upper()}{what[1:]}{which} holds text with a NUL character (0x00), "
            "which PostgreSQL cannot store, so nothing was copied and the database was left "
            "empty. Keep working in the case file and ask IT: it cannot move to a server "
            "with this version of Caseview."
        )
    if (exc.sqlstate or "")[:2] in ROW_REFUSALS:
        return CaseFileError(
            f"The server refused {what} ({_first_line(exc)}), so nothing was copied and the "
            "database was left empty. Check the case file with 'caseview --db FILE verify'; "
            "if it is intact, ask IT."
        )
    return CaseFileError(
        f"The server stopped while copying {what} ({_first_line(exc)}), so nothing was "
        "copied and the database was left empty. Ask IT to check the server (its disk "
        "space, say), then run migrate again."
    )


class CopyLost(ConnectionLost):
    """The connection broke during the copy, so the server rolled it back."""


def lost(what: str, exc: BaseException) -> CopyLost:
    """The connection broke before the copy was committed: the server rolled it back."""
    return CopyLost(
        f"The connection to the server was lost while copying {what} ({_first_line(exc)}), "
        "so nothing was copied and the database was left empty. Check the network "
        "connection and run migrate again; if it goes on, ask IT."
    )


def _with_nul(rows: Iterable[tuple[Any, ...]]) -> object | None:
    """The first value (the id) of the first row holding text with a NUL, if any."""
    for row in rows:
        if any(isinstance(v, str) and "\x00" in v for v in row):
            first: object = row[0]
            return first
    return None


def _text(value: bytes | None) -> str:
    return (value or b"").decode("utf-8", errors="replace")


def _columns(casefile: sqlite3.Connection, target: Connection, table: str) -> list[str]:
    """The case file's stored columns of ``table``, each of which the server must take."""
    ours = [str(row[1]) for row in casefile.execute(f'PRAGMA table_info("{table}")')]
    theirs = {
        str(row[0])
        for row in target.execute(
            "SELECT a.attname FROM pg_attribute a"
            " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0"
            " AND NOT a.attisdropped AND a.attgenerated = ''",
            [f"public.{table}"],
        )
    }
    missing = [c for c in ours if c not in theirs]
    if missing:
        raise CaseFileError(
            f"The server's table {table} has no column {', '.join(missing)}, so nothing was "
            "copied. Use the same version of Caseview that set up the server."
        )
    return ours


def _batches(cursor: sqlite3.Cursor) -> Iterator[list[tuple[Any, ...]]]:
    """Rows a batch at a time, each batch at most BATCH_ROWS rows or about BATCH_BYTES."""
    batch: list[tuple[Any, ...]] = []
    size = 0
    for row in cursor:  # sqlite3 steps one row at a time: nothing else is held
        values = tuple(row)
        batch.append(values)
        size += sum(len(v) for v in values if isinstance(v, str | bytes))
        if len(batch) >= BATCH_ROWS or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _replace(row: tuple[Any, ...], replaced: list[tuple[int, Any]]) -> tuple[Any, ...]:
    values = list(row)
    for index, value in replaced:
        values[index] = value
    return tuple(values)


@contextlib.contextmanager
def _historic_refusals_off(target: Connection, table: str) -> Iterator[None]:
    triggers = HISTORIC_REFUSALS.get(table, ())
    for name in triggers:
        target.execute(
            sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
    yield
    # Only on success: after a failure the transaction is rolled back, the switch too.
    for name in triggers:
        target.execute(
            sql.SQL("ALTER TABLE {} ENABLE TRIGGER {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )


def _move_sequences(target: Connection) -> None:
    """Each identity sequence to the largest id copied: the next row takes the next id."""
    identities = target.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND a.attidentity <> '' AND NOT a.attisdropped"
        " ORDER BY 1"
    ).fetchall()
    for table, column in identities:
        target.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({}, {}), m) FROM"
                " (SELECT max({}) AS m FROM {}) AS copied WHERE m IS NOT NULL"
            ).format(
                sql.Literal(sql.Identifier("public", table).as_string(target)),
                sql.Literal(column),
                sql.Identifier(column),
                sql.Identifier("public", table),
            )
        )


# ---- after the copy ------------------------------------------------------------------


def create_logins(target: Connection, prefix: str, *, admin: str, admin_password: str) -> Logins:
    """A login role for every copied user, in their role's group.

    The admin's gets ``admin_password``; the others get none (nobody can sign in as
    them until a manager sets one: ``caseview user reset-password``). A switched-off
    account's role may not log in (NOLOGIN).
    """
    names = install.role_names(prefix)
    need_password: list[str] = []
    switched_off: list[str] = []
    people = target.execute("SELECT username, role, active FROM users ORDER BY id").fetchall()
    for username, role, active in people:
        username = str(username)
        if username == admin:
            install.create_login(target, prefix, username, admin_password, str(role))
            continue
        target.execute(
            sql.SQL(
                "CREATE ROLE {} {} INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                " NOBYPASSRLS IN ROLE {}"
            ).format(
                sql.Identifier(names.login(username)),
                sql.SQL("LOGIN" if active else "NOLOGIN"),
                sql.Identifier(names.group(str(role))),
            )
        )
        (need_password if active else switched_off).append(username)
    return Logins(tuple(need_password), tuple(switched_off))


def server_head(target: Connection) -> tuple[int, str]:
    """The last event's (seq, hash) on the server; (0, genesis) for an empty log."""
    row = target.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (0, schema.GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def _one(conn: Connection, query: Query) -> object:
    row = conn.execute(query).fetchone()
    if row is None:
        raise CaseFileError("The database did not answer as expected.")
    return row[0]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
