"""Evidence checks beside the audit chain: stored content against its recorded hash.

Each check reads with ``text_factory = bytes`` so it hashes exactly what is stored,
and returns the first problem it finds as a sentence naming the table and row, or
None. Later tables (blobs, sources) add their checks to ``CHECKS``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

Check = Callable[[sqlite3.Connection], str | None]


def justification_hashes(conn: sqlite3.Connection) -> str | None:
    """Every submitted justification's content still hashes to its frozen content_hash."""
    rows = conn.execute(
        "SELECT id, content, content_hash FROM justifications"
        " WHERE content_hash IS NOT NULL ORDER BY id"
    )
    for row_id, content, digest in rows:
        if not isinstance(content, bytes) or not isinstance(digest, bytes):
            return f"justifications row {row_id}: its content or hash has the wrong type"
        if hashlib.sha256(content).hexdigest().encode() != digest:
            return (
                f"justifications row {row_id}: its content no longer matches the hash "
                "frozen when it was submitted"
            )
    return None


def review_hashes(conn: sqlite3.Connection) -> str | None:
    """Every decision names the content hash of the request it decided."""
    row = conn.execute(
        "SELECT r.id, r.justification_id FROM reviews r JOIN justifications j"
        " ON j.id = r.justification_id WHERE r.content_hash IS NOT j.content_hash"
        " ORDER BY r.id LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return (
        f"reviews row {row[0]}: the decision was made on a different text than "
        f"justification {row[1]} now holds"
    )


def blob_hashes(conn: sqlite3.Connection) -> str | None:
    """Every blob's bytes still hash to the sha256 it is filed under."""
    for sha, content in conn.execute("SELECT sha256, content FROM blobs ORDER BY rowid"):
        if not isinstance(content, bytes) or hashlib.sha256(content).hexdigest().encode() != sha:
            name = sha.decode("ascii", "replace") if isinstance(sha, bytes) else str(sha)
            return f"blobs row {name[:16]}…: its bytes no longer match their sha256"
    return None


def source_links(conn: sqlite3.Connection) -> str | None:
    """Every source's evidence exists, and its justification still has the hash it cited."""
    row = conn.execute(
        "SELECT s.id FROM sources s LEFT JOIN justifications j ON j.id = s.justification_id"
        " WHERE j.content_hash IS NOT s.justification_hash"
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


def run_checks(path: str) -> list[str]:
    """Run every evidence check on a read-only connection; one problem per failing check."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.text_factory = bytes
        tables = {
            r[0].decode()
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        problems = []
        for check in CHECKS:
            try:
                problem = check(conn)
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc) and not tables:
                    continue
                problem = f"{check.__name__}: the check could not run ({exc})"
            if problem:
                problems.append(problem)
        return problems
    finally:
        conn.close()
