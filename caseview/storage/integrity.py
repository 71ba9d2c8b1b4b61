"""Evidence checks beside the audit chain: stored content against its recorded hash.

Each check hashes exactly what is stored: a case file is read with ``text_factory =
bytes``; a server's text (always UTF-8 there) as its UTF-8 bytes. Each returns the
first problem it finds as a sentence naming the table and row, or None. Later tables
(blobs, sources) add their checks to ``CHECKS``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from caseview.storage import dialect

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
    """Every blob's bytes still hash to the sha256 it is filed under."""
    query = f"SELECT sha256, content FROM blobs ORDER BY {dialect.blob_order(conn)}"
    with dialect.stream(conn, query) as blobs:  # a few at a time, never all at once
        for sha, content in blobs:
            digest = hashlib.sha256(content).hexdigest() if isinstance(content, bytes) else None
            if digest is None or digest.encode() != _stored(sha):
                name = sha.decode("ascii", "replace") if isinstance(sha, bytes) else str(sha)
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
    unreviewed. (The row check does not compare these rows yet: see rowcheck's
    UNVOUCHED_TABLES.)"""
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
        except (ValueError, TypeError, KeyError):
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

    applied = tuple(
        _text(name)
        for (name,) in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
            (schema.MIGRATION_SET,),
        )
    )
    expected = schema.triggers_after(applied)
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
    audit_definition,
    case_file_guards,
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
    conn = sqlite3.connect(f"{Path(store).resolve().as_uri()}?mode=ro", uri=True)
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
        if problem:
            problems.append(problem)
    return problems
