"""SQL for evidence: content-addressed blobs, sources, exposure findings."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from caseview.storage.inserts import inserted_id


def put_blob(
    conn: sqlite3.Connection, sha256: str, content: bytes, media_type: str | None, at: str
) -> bool:
    """Store bytes under their sha256 unless already there; True when newly stored.

    ``ON CONFLICT`` names no target: on PostgreSQL a named target would check the new
    row against the reading policy, which a blob no source names yet cannot pass."""
    cursor = conn.execute(
        "INSERT INTO blobs (sha256, size, media_type, content, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (sha256, len(content), media_type, content, at),
    )
    return cursor.rowcount == 1


def blob(conn: sqlite3.Connection, sha256: str) -> bytes | None:
    row = conn.execute("SELECT content FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else bytes(row[0])


def blob_size(conn: sqlite3.Connection, sha256: str) -> int | None:
    row = conn.execute("SELECT size FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else int(row[0])


def insert_source(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    columns = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    return inserted_id(conn, f"INSERT INTO sources ({columns}) VALUES ({marks})", row)


_SOURCE = (
    "SELECT s.*, u.username AS captured_by_name FROM sources s JOIN users u ON u.id = s.captured_by"
)


def source(conn: sqlite3.Connection, source_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(_SOURCE + " WHERE s.id = ?", (source_id,)).fetchone()
    return row


def sources_of_case(
    conn: sqlite3.Connection, case_id: int, *, with_text: bool = True
) -> list[sqlite3.Row]:
    """The case's sources in capture order. Without their text (``with_text=False``: it
    reads as ""), a case of many long pages is listed in little memory: the note, say,
    shows no page's text."""
    select = _SOURCE if with_text else _SOURCE.replace("s.*", _columns_but_text(conn), 1)
    return list(
        conn.execute(
            select + " WHERE s.case_id = ? ORDER BY s.captured_started_at, s.id", (case_id,)
        )
    )


def _columns_but_text(conn: sqlite3.Connection) -> str:
    """Every column of sources, in order, with the text replaced by ""."""
    cursor = conn.execute("SELECT * FROM sources WHERE 0 = 1")
    names = [column[0] for column in cursor.description]
    cursor.fetchall()
    return ", ".join("'' AS text" if name == "text" else f"s.{name}" for name in names)


def warc_blobs_of_case(conn: sqlite3.Connection, case_id: int) -> Iterator[bytes]:
    """Each capture's WARC records in capture order, read one at a time."""
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT warc_sha256 FROM sources WHERE case_id = ? AND warc_sha256 IS NOT NULL"
            " ORDER BY captured_started_at, id",
            (case_id,),
        )
    ]
    for sha in ids:
        content = blob(conn, sha)
        if content is not None:
            yield content


def insert_exposure(
    conn: sqlite3.Connection, source_id: int, kind: str, value: str, context: str
) -> int:
    return inserted_id(
        conn,
        "INSERT INTO exposure_findings (source_id, kind, value, context) VALUES (?, ?, ?, ?)",
        (source_id, kind, value, context),
    )


def exposure_of(conn: sqlite3.Connection, source_id: int) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            "SELECT e.*, u.username AS reviewed_by_name FROM exposure_findings e"
            " LEFT JOIN users u ON u.id = e.reviewed_by WHERE e.source_id = ? ORDER BY e.id",
            (source_id,),
        )
    )


def review_exposure(
    conn: sqlite3.Connection, finding_id: int, confirmed: bool, user_id: int, at: str
) -> None:
    conn.execute(
        "UPDATE exposure_findings SET confirmed = ?, reviewed_by = ?, reviewed_at = ? WHERE id = ?",
        (int(confirmed), user_id, at, finding_id),
    )


def exposure_finding(conn: sqlite3.Connection, finding_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT e.*, s.case_id FROM exposure_findings e JOIN sources s ON s.id = e.source_id"
        " WHERE e.id = ?",
        (finding_id,),
    ).fetchone()
    return row
