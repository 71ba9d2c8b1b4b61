"""SQL for the evidence browser: viewing sessions, the pages they showed, their requests,
and the artefacts of rendered captures."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from caseview.storage.inserts import inserted_id


def insert_session(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO browse_sessions (viewing_id, case_id, justification_id, subject_id,"
        " user_id, start_url, started_at, ends_by) VALUES (:viewing_id, :case_id,"
        " :justification_id, :subject_id, :user_id, :start_url, :started_at, :ends_by)",
        row,
    )


def session(conn: sqlite3.Connection, viewing_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT b.*, u.username FROM browse_sessions b JOIN users u ON u.id = b.user_id"
        " WHERE b.viewing_id = ?",
        (viewing_id,),
    ).fetchone()
    return row


def end_session(conn: sqlite3.Connection, viewing_id: int, at: str, reason: str) -> bool:
    """Mark the session ended; False if it had already ended."""
    cursor = conn.execute(
        "UPDATE browse_sessions SET ended_at = ?, end_reason = ?"
        " WHERE viewing_id = ? AND ended_at IS NULL",
        (at, reason, viewing_id),
    )
    return cursor.rowcount == 1


def insert_page(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return inserted_id(
        conn,
        "INSERT INTO browse_pages (viewing_id, at, url, title, http_status, response_headers,"
        " document_sha256, how) VALUES (:viewing_id, :at, :url, :title, :http_status,"
        " :response_headers, :document_sha256, :how)",
        row,
    )


def pages(conn: sqlite3.Connection, viewing_id: int) -> list[sqlite3.Row]:
    return list(
        conn.execute("SELECT * FROM browse_pages WHERE viewing_id = ? ORDER BY id", (viewing_id,))
    )


def insert_requests(conn: sqlite3.Connection, rows: Iterable[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO browse_requests (viewing_id, at, url, method, resource_type, status,"
        " blocked, reason) VALUES (:viewing_id, :at, :url, :method, :resource_type, :status,"
        " :blocked, :reason)",
        rows,
    )


def request_count(conn: sqlite3.Connection, viewing_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM browse_requests WHERE viewing_id = ?", (viewing_id,)
    ).fetchone()
    return int(row[0])


def requests(conn: sqlite3.Connection, viewing_id: int) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            "SELECT * FROM browse_requests WHERE viewing_id = ? ORDER BY id", (viewing_id,)
        )
    )


def sessions_of_case(conn: sqlite3.Connection, case_id: int) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            "SELECT b.*, u.username FROM browse_sessions b JOIN users u ON u.id = b.user_id"
            " WHERE b.case_id = ? ORDER BY b.viewing_id",
            (case_id,),
        )
    )


def insert_artefacts(conn: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO source_artefacts (source_id, kind, sha256, size, media_type, details)"
        " VALUES (:source_id, :kind, :sha256, :size, :media_type, :details)",
        rows,
    )


def artefacts(conn: sqlite3.Connection, source_id: int) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            "SELECT * FROM source_artefacts WHERE source_id = ? ORDER BY kind", (source_id,)
        )
    )
