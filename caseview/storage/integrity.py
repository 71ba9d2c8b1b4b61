"""Evidence checks beside the audit chain: stored content against its recorded hash.

Each check hashes exactly what is stored: a case file is read with ``text_factory =
bytes``; a server's text (always UTF-8 there) as its UTF-8 bytes. Each returns the
first problem it finds as a sentence naming the table and row, or None. Later tables
(blobs, sources) add their checks to ``CHECKS``.
"""

from __future__ import annotations

import hashlib
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


def audit_definition(conn: sqlite3.Connection) -> str | None:
    """audit_log's copy columns are still generated from the payload."""
    from caseview.storage.audit import definition_intact  # local: audit imports schema

    return definition_intact(conn)


CHECKS: list[Check] = [
    audit_definition,
    justification_hashes,
    review_hashes,
    blob_hashes,
    source_links,
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
