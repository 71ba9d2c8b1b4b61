"""SQL for the append-only audit log (table ``audit_log``, a contract).

Stored per event: ``seq``, the ``payload`` (canonical JSON holding every field of the
event), ``prev_hash`` and ``hash``. The other columns (at, actor, action, entity,
entity_id, case_id) are generated from the payload by SQLite, so they cannot disagree
with it; verifying an event is then one sha256 and two comparisons.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from typing import Any

from caseview.storage import dialect
from caseview.storage.chain import RangeWalk as RangeWalk
from caseview.storage.chain import walk_range as walk_range
from caseview.storage.chain import walk_server as walk_server
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


def last_event(conn: sqlite3.Connection) -> tuple[int, str]:
    """The last event's (seq, hash) as this connection sees it; (0, genesis) for an
    empty log. For ``verify``: unlike :func:`head` it takes no lock, so appends go on
    while a snapshot is checked (it sees every event only as a manager or an auditor)."""
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return 0, GENESIS_HASH
    value = row[1]
    return int(row[0]), value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def append(conn: sqlite3.Connection, body: str) -> tuple[int, str]:
    """Append one event after the head, inside the caller's write; its (seq, hash).

    ``body`` is the event in canonical JSON without its seq; the stored payload is
    ``body`` with ``"seq"`` added as its last key (:func:`with_seq`: every other key
    of an event sorts before it, so the payload stays canonical). On a team server the
    database does this itself, in one call that holds the append lock for the least
    time (``caseview_append_event``, the same payload and hash).
    """
    if dialect.is_server(conn):
        row = conn.execute(dialect.SERVER_APPEND, (body,)).fetchone()
        return int(row[0]), _str(row[1])
    prev_seq, prev_hash = head(conn)
    seq = prev_seq + 1
    payload = with_seq(body, seq)
    digest = chain_hash(prev_hash, payload)
    # Only the stored columns: the copies beside the payload are generated from it.
    conn.execute(
        "INSERT INTO audit_log (seq, payload, prev_hash, hash) VALUES (?, ?, ?, ?)",
        (seq, payload, prev_hash, digest),
    )
    return seq, digest


def with_seq(body: str, seq: int) -> str:
    """The payload of the event ``body`` (a JSON object, without its seq) numbered ``seq``."""
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError("an audit event is a JSON object")
    return f'{body[:-1]}{"," if body != "{}" else ""}"seq":{seq}}}'


def chain_hash(prev_hash: str, payload: str) -> str:
    """An event's hash: sha256 of the previous hash (ASCII) then the payload (UTF-8)."""
    return hashlib.sha256(prev_hash.encode("ascii") + payload.encode("utf-8")).hexdigest()


def _str(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


_REDEFINED = (
    "audit_log's definition was changed: its columns may no longer be the payload's own values"
)


def definition_intact(conn: sqlite3.Connection) -> str | None:
    """None when audit_log is still defined as Caseview made it, else the problem.

    On a case file, its CREATE TABLE whole: the copy columns are still generated from
    the payload. On a server, also what keeps the log append-only there (see
    :func:`_server_definition_problem`).
    """
    if dialect.is_server(conn):
        return _server_definition_problem(conn)
    row = conn.execute(dialect.SQLITE_AUDIT_DEFINITION).fetchone()
    found = (
        row[0].decode()
        if row is not None and isinstance(row[0], bytes)
        else (row[0] if row is not None else None)
    )
    return _REDEFINED if found != AUDIT_LOG_TABLE else None


# On a server: the copies of the payload's fields, each generated from it by this function.
_SERVER_COPIES = {
    "at": "caseview_payload_text",
    "actor": "caseview_payload_text",
    "action": "caseview_payload_text",
    "entity": "caseview_payload_text",
    "entity_id": "caseview_payload_bigint",
    "case_id": "caseview_payload_bigint",
}
_SERVER_STORED = {"seq": "bigint", "payload": "text", "prev_hash": "text", "hash": "text"}
# The triggers of schema.sql and security.sql: append-only, chained, by the signed-in user.
_GUARD_TRIGGERS = (
    "audit_log_append_only_update",
    "audit_log_append_only_delete",
    "audit_log_append_only_truncate",
    "audit_log_chain_on_insert",
    "audit_log_actor_is_the_caller",
)


def _server_definition_problem(conn: sqlite3.Connection) -> str | None:
    """What keeps a server's audit log as Caseview installed it, checked in the catalogue:

    - its columns: the stored four, and the copies still generated from the payload;
    - its triggers, all present and in force (not switched off, not for replication only);
    - no role but the owner granted UPDATE, DELETE or TRUNCATE on it.

    Not checked: the bodies of the functions those triggers and columns call, nor who
    holds the owner's or a superuser's rights. Whoever holds those can change anything,
    this check included; the chain and the row check still show what they changed.
    """
    columns = {
        str(r[0]): (str(r[1]), str(r[2]), r[3]) for r in conn.execute(dialect.SERVER_AUDIT_COLUMNS)
    }
    expected = set(_SERVER_STORED) | set(_SERVER_COPIES)
    if set(columns) != expected:
        return _REDEFINED
    for name, kind in _SERVER_STORED.items():
        if columns[name][:2] != (kind, ""):
            return _REDEFINED
    for name, function in _SERVER_COPIES.items():
        generated, expression = columns[name][1], str(columns[name][2] or "")
        if generated != "s" or not re.fullmatch(
            rf"{function}\(payload, '{name}'(::text)?\)", expression
        ):
            return _REDEFINED
    triggers = {str(r[0]): str(r[1]) for r in conn.execute(dialect.SERVER_AUDIT_TRIGGERS)}
    off = [name for name in _GUARD_TRIGGERS if triggers.get(name) not in ("O", "A")]
    if off:
        return (
            f"audit_log's guard triggers are not all in force ({', '.join(off)} switched off "
            "or dropped): the database no longer refuses changes to the log"
        )
    changers = [f"{r[0]} ({r[1]})" for r in conn.execute(dialect.SERVER_AUDIT_CHANGERS)]
    if changers:
        return (
            f"audit_log can be changed by {', '.join(changers)}: Caseview grants nobody but "
            "the database's owner more than SELECT and INSERT on the log"
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
