"""SQL for the append-only audit log (table ``audit_log``, a contract).

Stored per event: ``seq``, the ``payload`` (canonical JSON holding every field of the
event), ``prev_hash`` and ``hash``. The other columns (at, actor, action, entity,
entity_id, case_id) are generated from the payload by SQLite, so they cannot disagree
with it; verifying an event is then one sha256 and two comparisons.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from caseview.storage import dialect
from caseview.storage.chain import RangeWalk as RangeWalk
from caseview.storage.chain import walk_range as walk_range
from caseview.storage.schema import AUDIT_LOG_TABLE, GENESIS_HASH


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """The last event's (seq, hash); (0, genesis) for an empty log.

    On a server a worker sees only their cases' events, so the head comes from the
    database's own function, which also takes the log's lock (a write holds it already).
    """
    query = dialect.audit_head_query(conn)
    row = conn.execute(query).fetchone()
    if row is None:
        return 0, GENESIS_HASH
    value = row[1]
    return int(row[0]), value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def insert(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    # Only the stored columns: the copies beside the payload are generated from it.
    conn.execute(dialect.audit_insert_query(conn), row)


def definition_intact(conn: sqlite3.Connection) -> str | None:
    """None when audit_log is still defined as Caseview made it, else the problem."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_log'").fetchone()
    found = (
        row[0].decode()
        if row is not None and isinstance(row[0], bytes)
        else (row[0] if row is not None else None)
    )
    if found != AUDIT_LOG_TABLE:
        return (
            "audit_log's definition was changed: its columns may no longer be the "
            "payload's own values"
        )
    return None


def stray_seq(conn: sqlite3.Connection) -> int | None:
    """A seq outside the numbering (below 1), which only tampering can produce."""
    row = conn.execute("SELECT min(seq) FROM audit_log WHERE seq < 1").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def hash_at(conn: sqlite3.Connection, seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        return None
    value = row[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def events(
    conn: sqlite3.Connection, *, case_id: int | None = None, limit: int = 1000, after: int = 0
) -> list[sqlite3.Row]:
    if case_id is None:
        sql = "SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"
        return list(conn.execute(sql, (after, limit)))
    sql = "SELECT * FROM audit_log WHERE case_id = ? AND seq > ? ORDER BY seq LIMIT ?"
    return list(conn.execute(sql, (case_id, after, limit)))


def filtered_events(
    conn: sqlite3.Connection,
    *,
    families: tuple[str, ...] = (),
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    case_ids: tuple[int, ...] | None = None,
    limit: int = 1000,
) -> list[sqlite3.Row]:
    """Events newest first: actions in ``families`` ("login" is ``login`` and
    ``login.*``), by ``actor``, at or after ``since`` and before ``until`` (ISO text),
    about ``case_ids`` only (None: any, file-wide events included)."""
    where: list[str] = []
    params: list[object] = []
    if families:
        where.append("(" + " OR ".join("action = ? OR action LIKE ?" for _ in families) + ")")
        for family in families:
            params.extend([family, f"{family}.%"])
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if since:
        where.append("at >= ?")
        params.append(since)
    if until:
        where.append("at < ?")
        params.append(until)
    if case_ids is not None:
        where.append(f"case_id IN ({', '.join('?' for _ in case_ids)})")
        params.extend(case_ids)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    sql = f"SELECT * FROM audit_log{clause} ORDER BY seq DESC LIMIT ?"
    return list(conn.execute(sql, (*params, limit)))
