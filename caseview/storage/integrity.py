"""Evidence checks beside the audit chain: stored content against its recorded hash.

Each check hashes exactly what is stored: a case file is read with ``text_factory =
bytes``; a server's text (always UTF-8 there) as its UTF-8 bytes. Each returns the
first problem it finds as a sentence naming the table and row, or None. Later tables
(blobs, sources) add their checks to ``CHECKS``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Mapping

import sqlite_utils

from caseview.storage import dialect
from caseview.storage.reading import read_only_uri

Check = Callable[[sqlite3.Connection], str | None]


def _stored(value: object) -> bytes | None:
    """A stored text as the bytes it is hashed as; None for a value of another type."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):  # a server's text
        return value.encode("utf-8")
    return None


def justification_hashes(conn: sqlite3.Connection) -> str | None:
    """Every submitted justification's content still hashes to its frozen content_hash."""
    rows = conn.execute(
        "SELECT id, content, content_hash FROM justifications"
        " WHERE content_hash IS NOT NULL ORDER BY id"
    )
    for row_id, stored_content, stored_digest in rows:
        content, digest = _stored(stored_content), _stored(stored_digest)
        if content is None or digest is None:
            return f"justifications row {row_id}: its content or hash has the wrong type"
        if hashlib.sha256(content).hexdigest().encode() != digest:
            return (
                f"justifications row {row_id}: its content no longer matches the hash "
                "frozen when it was submitted"
            )
    return None


def review_hashes(conn: sqlite3.Connection) -> str | None:
    """Every decision names the content hash of the request it decided."""
    differs = dialect.is_distinct(conn, "r.content_hash", "j.content_hash")
    row = conn.execute(
        "SELECT r.id, r.justification_id FROM reviews r JOIN justifications j"
        f" ON j.id = r.justification_id WHERE {differs} ORDER BY r.id LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return (
        f"reviews row {row[0]}: the decision was made on a different text than "
        f"justification {row[1]} now holds"
    )


def blob_hashes(conn: sqlite3.Connection) -> str | None:
    """Every blob's bytes still hash to the sha256 it is filed under, and are stored as
    bytes: a case file is read with text as bytes, so content turned into text of the
    same bytes would otherwise pass (and reach readers that expect bytes)."""
    # A server's content column is bytea: only bytes can be stored there.
    kind = dialect.pick(conn, sqlite="typeof(content) = 'blob'", postgresql="true")
    query = f"SELECT sha256, content, {kind} FROM blobs ORDER BY {dialect.blob_order(conn)}"
    with dialect.stream(conn, query) as blobs:  # a few at a time, never all at once
        for sha, content, is_bytes in blobs:
            name = sha.decode("ascii", "replace") if isinstance(sha, bytes) else str(sha)
            if not is_bytes:
                return (
                    f"blobs row {name[:16]}…: its content is stored as text, not bytes: "
                    "changed with another tool"
                )
            digest = hashlib.sha256(content).hexdigest() if isinstance(content, bytes) else None
            if digest is None or digest.encode() != _stored(sha):
                return f"blobs row {name[:16]}…: its bytes no longer match their sha256"
    return None


def source_links(conn: sqlite3.Connection) -> str | None:
    """Every source's evidence exists, and its justification still has the hash it cited."""
    differs = dialect.is_distinct(conn, "j.content_hash", "s.justification_hash")
    row = conn.execute(
        "SELECT s.id FROM sources s LEFT JOIN justifications j ON j.id = s.justification_id"
        f" WHERE {differs}"
        " OR NOT EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = s.body_sha256)"
        " OR (s.warc_sha256 IS NOT NULL"
        "     AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = s.warc_sha256))"
        " ORDER BY s.id LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return (
        f"sources row {row[0]}: its bytes are missing or its justification no longer "
        "has the hash recorded at capture"
    )


def exposure_reviews(conn: sqlite3.Connection) -> str | None:
    """Each exposure finding's review (confirmed or dismissed, and by whom) is what the
    last exposure.reviewed event about it recorded; a finding no such event names is
    unreviewed. (The row check compares what was found, on a case file: see rowcheck's
    EXPOSURE_FINDINGS.)"""
    last: dict[int, tuple[int, bool, str]] = {}
    # Only the events of cases that have findings (through the log's case index): a
    # case file with no findings costs nothing, whatever the length of its log.
    for seq, entity_id, payload in conn.execute(
        "SELECT seq, entity_id, payload FROM audit_log WHERE case_id IN"
        " (SELECT s.case_id FROM exposure_findings e JOIN sources s ON s.id = e.source_id)"
        " AND action = 'exposure.reviewed' ORDER BY seq"
    ):
        try:
            event = json.loads(payload)
            confirmed = event["data"]["confirmed"]
            actor = event["actor"]
        except (ValueError, TypeError, KeyError, RecursionError):
            continue  # not an event Caseview writes: the chain and row checks speak of it
        if entity_id is not None and isinstance(confirmed, bool) and isinstance(actor, str):
            last[int(entity_id)] = (int(seq), confirmed, actor)
    rows = conn.execute(
        "SELECT e.id, e.confirmed, u.username FROM exposure_findings e"
        " LEFT JOIN users u ON u.id = e.reviewed_by ORDER BY e.id"
    )
    for finding_id, confirmed, reviewer in rows:
        reviewer_name = _stored(reviewer)
        review = last.get(int(finding_id))
        if review is None:
            if confirmed is None and reviewer is None:
                continue
            return (
                f"exposure_findings row {finding_id} is marked reviewed, but no "
                "exposure.reviewed event records a review of it"
            )
        seq, expected, actor = review
        if confirmed is None or bool(confirmed) != expected or reviewer_name != actor.encode():
            return (
                f"exposure_findings row {finding_id} does not match its last review, audit "
                f"event {seq} (exposure.reviewed): changed behind the log's back"
            )
    return None


def server_logins(conn: sqlite3.Connection) -> str | None:
    """On a server: each person's login role is in the group their users row names, and
    signs in only while the row says they are switched on. Caseview changes both in one
    transaction; a login that differs was changed outside Caseview, with nothing in the
    log, and gives its holder what the log says they do not have. A case file has no
    logins."""
    if not dialect.is_server(conn):
        return None
    rows = conn.execute(
        "SELECT u.username, u.role, u.active, l.rolcanlogin,"
        "  ARRAY(SELECT g.rolname::text FROM pg_auth_members m"
        "        JOIN pg_roles g ON g.oid = m.roleid"
        "        WHERE m.member = l.oid"
        "          AND g.rolname IN (r.worker_role, r.manager_role, r.auditor_role)"
        "        ORDER BY g.rolname),"
        "  CASE u.role WHEN 'worker' THEN r.worker_role WHEN 'manager' THEN r.manager_role"
        "              WHEN 'auditor' THEN r.auditor_role END"
        " FROM users u CROSS JOIN caseview_roles r"
        " JOIN pg_roles l ON l.rolname = r.login_prefix || u.username"
        " ORDER BY u.id"
    )
    for username, role, active, can_login, groups, expected in rows:
        if list(groups) != [expected]:
            return (
                f"the login of {username} is in {', '.join(groups) or 'no group'}, but their "
                f"users row (and the audit log) say {role}: it was changed outside Caseview"
            )
        if can_login and not active:
            return (
                f"the login of {username} may sign in, but their users row (and the audit "
                "log) say they are switched off: it was changed outside Caseview"
            )
    return None


def case_file_guards(conn: sqlite3.Connection) -> str | None:
    """On a case file: its triggers (what refuses a change to the log, the evidence, a
    decision) are exactly those Caseview's schema made, for the steps applied to it.
    Caseview never drops, changes or adds one, so a difference says the file was edited
    with another tool: with the guards gone, or a trigger added to rewrite what is
    written. (A server's are checked in its catalogue: audit_definition.)"""
    if dialect.is_server(conn):
        return None
    from caseview.storage import schema  # local: the schema is only needed here

    expected = schema.triggers_after(_applied(conn))
    found = {
        _text(name): _text(sql)
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    }
    differences = [
        (what, sorted(names))
        for what, names in (
            ("removed", expected.keys() - found.keys()),
            ("changed", {n for n in expected.keys() & found.keys() if expected[n] != found[n]}),
            ("added", found.keys() - expected.keys()),
        )
        if names
    ]
    if not differences:
        return None
    listed = "; ".join(f"{what}: {_some(names)}" for what, names in differences)
    return (
        f"the case file's guards were changed outside Caseview (triggers {listed}): "
        "Caseview never changes them, so the file was edited with another tool"
    )


def case_file_schema(conn: sqlite3.Connection) -> str | None:
    """On a case file: its tables, indexes and views are exactly those Caseview's schema
    made for the steps applied to it, each CREATE statement as SQLite keeps it. Caseview
    changes them only through those steps, so a difference (a column added to a vouched
    table, a CHECK removed, a default changed, an index dropped, a view added) says the
    file was edited with another tool. Triggers are :func:`case_file_guards`'. Not
    compared: SQLite's own objects (``sqlite_*``), the search indexes' shadow tables,
    which SQLite's FTS5 words itself, and ``_sqlite_migrations``, which sqlite-utils
    words (its rows name the steps everything else is held to)."""
    if dialect.is_server(conn):
        return None
    expected = _schema_after(_applied(conn))
    found = {
        (_text(kind), _text(name)): _text(sql)
        for kind, name, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'index', 'view')"
        )
    }
    found = {key: sql for key, sql in found.items() if not _unworded(key[1], expected)}
    differences = [
        (f"{_PLURAL[kind]} {what}", sorted(name for k, name in keys if k == kind))
        for what, keys in (
            ("removed", expected.keys() - found.keys()),
            ("changed", {k for k in expected.keys() & found.keys() if expected[k] != found[k]}),
            ("added", found.keys() - expected.keys()),
        )
        for kind in ("table", "index", "view")
        if any(k == kind for k, _ in keys)
    ]
    if not differences:
        return None
    listed = "; ".join(f"{what}: {_some(names)}" for what, names in differences)
    return (
        f"the case file's schema was changed outside Caseview ({listed}): Caseview changes "
        "it only by its own steps, so the file was edited with another tool"
    )


def _applied(conn: sqlite3.Connection) -> tuple[str, ...]:
    from caseview.storage import schema  # local: the schema is only needed here

    return tuple(
        _text(name)
        for (name,) in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
            (schema.MIGRATION_SET,),
        )
    )


@functools.lru_cache(maxsize=8)
def _schema_after(applied: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """The tables, indexes and views (type and name: CREATE statement) of a case file to
    which the steps ``applied`` have been applied: built afresh in memory."""
    from caseview.storage import schema  # local: the schema is only needed here

    db = sqlite_utils.Database(memory=True)
    try:
        known = schema.known_steps()
        schema.migrations.apply(db, stop_before=[s for s in known if s not in applied])
        made = {
            (str(kind), str(name)): str(sql)
            for kind, name, sql in db.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'index', 'view')"
            ).fetchall()
        }
    finally:
        db.close()
    return {key: sql for key, sql in made.items() if not _unworded(key[1], made)}


_PLURAL = {"table": "tables", "index": "indexes", "view": "views"}
_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")


def _unworded(name: str, schema_objects: Mapping[tuple[str, str], str]) -> bool:
    """Whether ``name`` is an object whose CREATE statement Caseview does not word."""
    if name.startswith("sqlite_") or name.startswith("_sqlite_migrations"):
        return True
    if name.startswith("idx__sqlite_migrations"):
        return True
    return any(
        name == table + shadow
        for (kind, table), sql in schema_objects.items()
        if kind == "table" and sql.upper().startswith("CREATE VIRTUAL")
        for shadow in _SHADOWS
    )


def case_file_structure(conn: sqlite3.Connection) -> str | None:
    """On a case file: SQLite's own check of each table's pages and of its indexes
    against it (``PRAGMA integrity_check``), so a damaged page or an index that no longer
    matches its table is named, even where no other check reads. Not audit_log's: the
    chain walk reads every page of it (a damaged one is a break), and checking its
    index as well would double the time of a long log's check."""
    if dialect.is_server(conn):
        return None
    tables = [
        _text(name)
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
        if not _text(sql).upper().startswith("CREATE VIRTUAL")
    ]
    for table in tables:
        if table == "audit_log":
            found = _log_indexes_readable(conn)
        else:
            quoted = table.replace('"', '""')
            try:
                found = [_text(r[0]) for r in conn.execute(f'PRAGMA integrity_check("{quoted}")')]
            except sqlite3.DatabaseError as exc:
                found = [str(exc)]
        if found != ["ok"]:
            lines = [line for text in found for line in text.splitlines()]
            detail = next((line for line in lines if not line.startswith("***")), "damaged")
            return (
                f"the case file is damaged: SQLite's own check of table {table} finds "
                f"{detail[:200]!r}. Restore it from a backup; a damaged file vouches only "
                "for what can still be read"
            )
    return None


def _log_indexes_readable(conn: sqlite3.Connection) -> list[str]:
    """["ok"] when each index of audit_log reads through and holds one entry per event.

    Cheaper than SQLite's whole check of the log (which would double a long log's
    verify): the chain walk reads the log's own pages; this reads its indexes, which
    the checks that look events up by case rely on."""
    try:
        (events,) = conn.execute("SELECT count(*) FROM audit_log").fetchone()
        indexes = [
            _text(name)
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_log'"
                " AND sql IS NOT NULL ORDER BY name"
            )
        ]
        for index in indexes:
            quoted = index.replace('"', '""')
            first = conn.execute(f'PRAGMA index_info("{quoted}")').fetchone()
            if first is None or first[2] is None:
                continue  # an index on an expression: the schema check speaks of it
            column = _text(first[2]).replace('"', '""')
            (entries,) = conn.execute(
                f'SELECT count(*) FROM audit_log INDEXED BY "{quoted}"'
                f' WHERE "{column}" IS NULL OR "{column}" IS NOT NULL'
            ).fetchone()
            if entries != events:
                return [f"index {index} has {entries} entries for {events} events"]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return ["ok"]


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _some(names: list[str], shown: int = 4) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def audit_definition(conn: sqlite3.Connection) -> str | None:
    """audit_log's copy columns are still generated from the payload."""
    from caseview.storage.audit import definition_intact  # local: audit imports schema

    return definition_intact(conn)


CHECKS: list[Check] = [
    case_file_structure,
    audit_definition,
    case_file_guards,
    case_file_schema,
    justification_hashes,
    review_hashes,
    blob_hashes,
    source_links,
    exposure_reviews,
    server_logins,
]


def run_checks(store: str | os.PathLike[str] | sqlite3.Connection) -> list[str]:
    """Run every evidence check; one problem per failing check.

    ``store`` is a case file's path, opened here read-only, or an open connection: a
    server's, inside the caller's snapshot (the store's ``read()``).
    """
    if not isinstance(store, str | os.PathLike):
        return _run_checks(store)
    conn = sqlite3.connect(read_only_uri(store), uri=True)
    try:
        conn.text_factory = bytes
        return _run_checks(conn)
    finally:
        conn.close()


def _run_checks(conn: sqlite3.Connection) -> list[str]:
    tables = dialect.table_names(conn)
    problems = []
    for check in CHECKS:
        try:
            with dialect.contained(conn):
                problem = check(conn)
        except dialect.check_errors(conn) as exc:
            if "no such table" in str(exc) and not tables:
                continue
            problem = f"{check.__name__}: the check could not run ({exc})"
        except sqlite3.DatabaseError as exc:  # a case file's page that cannot be read
            problem = f"{check.__name__}: the check could not read the case file ({exc})"
        if problem:
            problems.append(problem)
    return problems
