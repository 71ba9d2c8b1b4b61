"""Where the two engines differ: every SQL difference between SQLite and PostgreSQL.

The storage layer writes its SQL once, in the subset both engines read the same way
(SQLite's ``?`` and ``:name`` parameters are rewritten for psycopg by
:mod:`caseview.storage.pg`). What cannot be written once is here, as a pair of
answers chosen by the connection: the rest of ``caseview.storage`` asks this module and
never tests the engine itself. So a reader who wants to know what the server does
differently reads one file.

The differences, each with its reason:

- :func:`string_agg`: SQLite's ``group_concat`` is PostgreSQL's ``string_agg``.
- :func:`table_names`: the catalogue (``sqlite_master`` against ``pg_tables``).
- :func:`audit_head_query`: on a server a worker sees only their cases' events, so the
  head comes from the database's own function (which also takes the log's lock).
- :func:`case_exists_query`, :func:`case_by_reference_query`, :func:`case_of_query`:
  whether a case exists, a reference's case, and the case of a subject, source,
  observation or request, even one hidden from the reader (who is then told it is not
  theirs, as on a case file).
- :func:`refused_look_insert`: a refused look by someone who may not write about the
  case (an unallocated worker, an auditor) is recorded through the database's function.
- :data:`SERVER_APPEND`: on a server the database numbers, links and hashes an event
  itself, in one call holding the append lock for the least time (an auditor may
  append only some events, and has no INSERT grant).
- :func:`meter_reads_server_basis`, :func:`person_keys_insert`, :func:`look_keys_insert`,
  :data:`METER_BASIS`, :data:`METER_KEY_HASHES`: the repeat-viewing meter counts looks in
  every case, which a worker cannot read on a server; there it reads keyed hashes of
  handles and addresses through the database's functions (security.sql), which whoever
  writes a subject or a completed look fills. A case file computes the keys when read.

Search and the sources table:

- :func:`full_text`: SQLite has FTS5; PostgreSQL a tsvector column with a GIN index, on
  which :mod:`caseview.storage.fts` finds and ranks as FTS5 does (its words, bm25 and
  snippets), since PostgreSQL's own parsers split and fold words differently.
- :func:`like`: SQLite's LIKE ignores the case of ASCII letters; PostgreSQL's LIKE
  heeds case, and its ILIKE on ``COLLATE "C"`` columns does just what SQLite's LIKE does.
- :func:`beyond_ascii`: SQLite's GLOB character class is PostgreSQL's regular expression.
- :func:`compares_plain_text` and :func:`plain_like`: SQLite compares names in their
  plain form through a Python function registered on the connection; PostgreSQL cannot
  run one, so the caller compares non-ASCII names in Python.
- :func:`one_of`: a list of ids as one parameter (``json_each`` against ``= ANY``).
- :func:`sorted_string_agg`: PostgreSQL is told the order of ``string_agg``; SQLite
  joins in the order of its subquery.

Verification (``verify``: the chain, the rows it vouches for, the evidence):

- :func:`shows_workers_only_their_cases`: row-level security on a server hides other
  cases from a worker, so only a manager or an auditor can check every row there.
- :func:`stream`: a large result without holding it all; on a server a server-side
  cursor, closed before the snapshot it reads ends.
- :func:`begins_with_one_of`: the row check's filter on the payload's first bytes,
  the text before a comma looked up in a list (SQLite) or a hashed array (PostgreSQL).
- :func:`is_distinct`: SQLite's ``IS NOT`` is PostgreSQL's ``IS DISTINCT FROM``.
- :func:`blob_order`: blobs in stored order (SQLite's rowid; a server has none).
- :func:`check_errors`, :func:`contained`: what a check that cannot run raises, and a
  savepoint around each check on a server, where a failed statement ends the transaction.
- :data:`SQLITE_AUDIT_DEFINITION`, :data:`SERVER_AUDIT_COLUMNS`,
  :data:`SERVER_AUDIT_TRIGGERS`, :data:`SERVER_AUDIT_CHANGERS`: audit_log's definition in
  each catalogue (on a server also its triggers and who may change it).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from caseview.errors import PermissionDenied


def is_server(conn: Any) -> bool:
    """Whether ``conn`` talks to a PostgreSQL server (a :class:`~caseview.storage.pg.
    PgConnection`) rather than a case file. By name: psycopg stays optional here."""
    return type(conn).__name__ == "PgConnection"


def engine(conn: Any) -> str:
    """``"postgresql"`` or ``"sqlite"``."""
    return "postgresql" if is_server(conn) else "sqlite"


def string_agg(conn: Any, expression: str, separator_literal: str) -> str:
    """An aggregate joining ``expression`` with ``separator_literal`` (an SQL literal)."""
    return pick(
        conn,
        sqlite=f"group_concat({expression}, {separator_literal})",
        postgresql=f"string_agg({expression}, {separator_literal})",
    )


def pick(conn: Any, *, sqlite: str, postgresql: str) -> str:
    """One of two spellings of the same SQL, for ``conn``'s engine."""
    return postgresql if is_server(conn) else sqlite


def table_names(conn: sqlite3.Connection | Any) -> set[str]:
    """The names of the ordinary tables of the store."""
    query = pick(
        conn,
        sqlite="SELECT name FROM sqlite_master WHERE type = 'table'",
        postgresql="SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    )
    return {_text(row[0]) for row in conn.execute(query)}


AUDIT_HEAD = {
    "sqlite": "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    "postgresql": "SELECT seq, hash FROM caseview_audit_head() WHERE seq IS NOT NULL",
}


def audit_head_query(conn: Any) -> str:
    return AUDIT_HEAD[engine(conn)]


SERVER_APPEND = "SELECT event_seq, event_hash FROM caseview_append_event(?)"
"""On a server the database numbers, links and hashes an event itself, under the append
lock, in one call (storage/audit.append does the same in Python on a case file). Every
role may call it: an auditor has no INSERT on audit_log, yet their sign-ins, checks and
exports are events too."""


CASE_EXISTS = {
    "sqlite": "SELECT EXISTS (SELECT 1 FROM cases WHERE id = ?)",
    # Row-level security hides a case from a worker not allocated to it; the database's
    # function says only whether it exists.
    "postgresql": "SELECT caseview_case_exists(?)",
}


def case_exists_query(conn: Any) -> str:
    return CASE_EXISTS[engine(conn)]


CASE_BY_REFERENCE = {
    "sqlite": "SELECT id FROM cases WHERE reference = ?",
    "postgresql": "SELECT caseview_case_by_reference(?)",
}


def case_by_reference_query(conn: Any) -> str:
    """The id of the case with a reference, even one hidden from the reader."""
    return CASE_BY_REFERENCE[engine(conn)]


HOLDING_TABLES = {
    "subject": "subjects",
    "source": "sources",
    "observation": "observations",
    "justification": "justifications",
}
"""The things whose case can be asked for even when the reader may not see them."""


def case_of_query(conn: Any, kind: str) -> str:
    """The case of a ``kind`` (see :data:`HOLDING_TABLES`) by id, even one hidden from the
    reader: on a server through the database's function, which says nothing else."""
    table = HOLDING_TABLES[kind]
    return pick(
        conn,
        sqlite=f"SELECT case_id FROM {table} WHERE id = ?",
        postgresql=f"SELECT caseview_case_of('{kind}', ?)",
    )


REFUSED_LOOK_BY_FUNCTION = (
    "SELECT caseview_record_refused_look(:case_id, :subject_id, :justification_id,"
    " :user_id, :at, :url, :kind, :rule, :message)"
)


def refused_look_insert(conn: Any) -> str | None:
    """On a server, how a refused look is recorded (the database's function: the person
    may not otherwise write about that case); None where a plain INSERT does."""
    return REFUSED_LOOK_BY_FUNCTION if is_server(conn) else None


def meter_reads_server_basis(conn: Any) -> bool:
    """Whether the meter reads its facts about every case through the database's
    ``caseview_meter_basis`` (a server, where row-level security hides other cases from a
    worker) rather than from the rows themselves (a case file)."""
    return is_server(conn)


PERSON_KEYS_BY_FUNCTION = "SELECT caseview_add_person_keys(?, ?::text[], ?::boolean[])"
LOOK_KEYS_BY_FUNCTION = "SELECT caseview_add_look_keys(?, ?::text[])"
METER_BASIS = "SELECT caseview_meter_basis(?)"
"""The meter's facts about every case, as JSON with nothing readable (server only)."""
METER_KEY_HASHES = "SELECT caseview_meter_key_hashes(?::text[])"
"""The keyed hashes of the keys given, in order (server only)."""


def person_keys_insert(conn: Any) -> str | None:
    """On a server, how a subject's handle keys are recorded, with (subject id, keys,
    page flags); None on a case file, which computes them when it reads."""
    return PERSON_KEYS_BY_FUNCTION if is_server(conn) else None


def look_keys_insert(conn: Any) -> str | None:
    """On a server, how a completed look's address prefixes are recorded, with (viewing
    id, prefix keys); None on a case file, which computes them when it reads."""
    return LOOK_KEYS_BY_FUNCTION if is_server(conn) else None


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# ---- search and the sources table ----


def full_text(conn: Any) -> str:
    """``"fts5"``: SQLite's FTS5 tables search_index and search_trigram; ``"tsvector"``:
    PostgreSQL's search_index, on which :mod:`caseview.storage.fts` finds, ranks and
    makes snippets as FTS5 does."""
    return "tsvector" if is_server(conn) else "fts5"


def like(conn: Any, column: str) -> str:
    """``column`` matches the LIKE pattern given as a parameter (``\\`` escapes),
    ignoring the case of ASCII letters only: SQLite's LIKE, and PostgreSQL's ILIKE on
    our ``COLLATE "C"`` columns (its LIKE heeds case)."""
    return pick(
        conn,
        sqlite=f"{column} LIKE ? ESCAPE '\\'",
        postgresql=f"{column} ILIKE ? ESCAPE '\\'",
    )


def beyond_ascii(conn: Any, column: str) -> str:
    """``column`` holds a character other than printable ASCII."""
    return pick(
        conn,
        sqlite=f"{column} GLOB '*[^ -~]*'",
        postgresql=f"{column} ~ '[^ -~]'",
    )


def compares_plain_text(conn: Any) -> bool:
    """Whether :func:`plain_like` compares every value in its plain form (without accents,
    ł spelled l: ``browse.plain``). SQLite runs that Python function inside its queries;
    PostgreSQL cannot, so on a server it compares printable-ASCII values only (whose
    plain form is their lower case), and the caller compares the rest in Python."""
    return not is_server(conn)


PLAIN_FUNCTION = "cv_plain"
"""The name of ``browse.plain`` inside SQLite's queries (registered by casefile.py)."""


def plain_like(conn: Any, column: str) -> str:
    """``column``, in its plain form, matches the LIKE pattern given as a parameter; on a
    server, only when it is printable ASCII (see :func:`compares_plain_text`)."""
    return pick(
        conn,
        sqlite=(
            f"(CASE WHEN {beyond_ascii(conn, column)} THEN {PLAIN_FUNCTION}({column})"
            f" ELSE {column} END) LIKE ? ESCAPE '\\'"
        ),
        postgresql=f"(NOT {beyond_ascii(conn, column)} AND {like(conn, column)})",
    )


def one_of(conn: Any, column: str, values: list[int]) -> tuple[str, object]:
    """SQL that ``column`` is one of ``values`` (however many), and its parameter."""
    if is_server(conn):
        return f"{column} = ANY(?)", values
    return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(values)


def sorted_string_agg(conn: Any, expression: str, separator_literal: str) -> str:
    """:func:`string_agg` in the order of ``expression``. SQLite joins in the order its
    subquery delivers (so sort there too); PostgreSQL is told the order."""
    return pick(
        conn,
        sqlite=f"group_concat({expression}, {separator_literal})",
        postgresql=f"string_agg({expression}, {separator_literal} ORDER BY {expression})",
    )


# ---- verification ----
# What ``verify`` reads (caseview.audit, storage.chain, storage.rowcheck,
# storage.integrity, storage.audit.definition_intact). On a server it runs inside one
# REPEATABLE READ snapshot (the store's ``read()``), so the chain, the rows and the
# evidence it checks are those of one moment, while others go on appending.


def shows_workers_only_their_cases(conn: Any) -> bool:
    """Whether the database itself hides other cases' rows from a worker (row-level
    security on a server): there only a manager or an auditor sees every row to check.
    A case file holds everything for whoever opens it."""
    return is_server(conn)


@contextlib.contextmanager
def stream(conn: Any, sql: str, params: Sequence[Any] = ()) -> Iterator[Iterator[Any]]:
    """The rows of a large result without holding them all: sqlite3's cursor reads as
    it goes; on a server, a server-side cursor inside the caller's transaction, closed
    at the end of the ``with`` (it must be, before that transaction ends)."""
    rows = conn.stream(sql, params) if is_server(conn) else conn.execute(sql, params)
    try:
        yield iter(rows)
    finally:
        rows.close()


def is_distinct(conn: Any, left: str, right: str) -> str:
    """``left`` and ``right`` differ, NULL counting as a value: SQLite's ``IS NOT`` is
    PostgreSQL's ``IS DISTINCT FROM`` (which SQLite reads only from 3.39)."""
    return pick(
        conn,
        sqlite=f"{left} IS NOT {right}",
        postgresql=f"{left} IS DISTINCT FROM {right}",
    )


def begins_with_one_of(
    conn: Any, column: str, heads: Sequence[str], then: str
) -> tuple[str, list[Any]]:
    """SQL that ``column`` begins with one of ``heads`` followed by ``then`` (a character
    no head contains), and its parameters: the text before the first ``then`` is one of
    the heads. Both engines look it up in the list at once (SQLite builds an index of an
    IN list, PostgreSQL hashes an array); a test per head, as ranges, cost SQLite 1.6 s
    over a million events where this costs 0.34 s, about what reading them costs."""
    if any(then in head for head in heads):
        raise ValueError(f"a head contains {then!r}, which ends it")
    if is_server(conn):
        where = f"split_part({column}, ?, 1) = ANY(?) AND strpos({column}, ?) > 0"
        return where, [then, list(heads), then]
    listed = ", ".join("?" * len(heads))
    return f"substr({column}, 1, instr({column}, ?) - 1) IN ({listed})", [then, *heads]


def blob_order(conn: Any) -> str:
    """The order blobs are re-hashed in: as stored (SQLite's rowid); a server has no
    rowid, so by their sha256."""
    return pick(conn, sqlite="rowid", postgresql="sha256")


def check_errors(conn: Any) -> tuple[type[Exception], ...]:
    """What a check that cannot run raises: sqlite3's OperationalError (a table missing,
    text that is not UTF-8), or any of psycopg's errors."""
    if is_server(conn):
        import psycopg  # local: only a server's connection gets here

        # PermissionDenied: the server refused a read (PgConnection turns its refusal
        # into one); a lost connection (ConnectionLost) stops the whole check instead.
        return (psycopg.Error, PermissionDenied)
    return (sqlite3.OperationalError,)


@contextlib.contextmanager
def contained(conn: Any) -> Iterator[None]:
    """One check whose failure must not stop the next. On a server a failed statement
    spoils its whole transaction, so there the check runs in a savepoint, rolled back
    if it fails; a case file needs nothing."""
    if not is_server(conn):
        yield
        return
    conn.execute("SAVEPOINT caseview_check")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO SAVEPOINT caseview_check")
        raise
    conn.execute("RELEASE SAVEPOINT caseview_check")


SQLITE_AUDIT_DEFINITION = "SELECT sql FROM sqlite_master WHERE name = 'audit_log'"
"""audit_log's CREATE TABLE as SQLite keeps it (compared whole with the schema's)."""

SERVER_AUDIT_COLUMNS = (
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated,"
    " pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a"
    " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " WHERE a.attrelid = to_regclass('public.audit_log') AND a.attnum > 0"
    " AND NOT a.attisdropped ORDER BY a.attnum"
)
"""audit_log's columns on a server: (name, type, 's' if generated, its expression)."""

SERVER_AUDIT_TRIGGERS = (
    "SELECT t.tgname, t.tgenabled FROM pg_trigger t"
    " WHERE t.tgrelid = to_regclass('public.audit_log') AND NOT t.tgisinternal"
)
"""audit_log's own triggers: (name, 'O' or 'A' while in force, 'D' switched off, 'R'
only for replication)."""

SERVER_AUDIT_CHANGERS = (
    "SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type"
    " FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a"
    " LEFT JOIN pg_roles r ON r.oid = a.grantee"
    " WHERE c.oid = to_regclass('public.audit_log') AND a.grantee <> c.relowner"
    " AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')"
    " UNION"
    " SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type"
    " FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid"
    " CROSS JOIN LATERAL aclexplode(t.attacl) a"
    " LEFT JOIN pg_roles r ON r.oid = a.grantee"
    " WHERE t.attrelid = to_regclass('public.audit_log') AND a.grantee <> c.relowner"
    " AND a.privilege_type = 'UPDATE'"
    " ORDER BY 1, 2"
)
"""Who besides the owner was granted UPDATE (of the table or a column), DELETE or
TRUNCATE on audit_log: (role, privilege). Caseview grants only SELECT and INSERT."""
