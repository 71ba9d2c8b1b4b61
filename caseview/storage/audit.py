"""SQL for the append-only audit log (table ``audit_log``, a contract).

Stored per event: ``seq``, the ``payload`` (canonical JSON holding every field of the
event), ``prev_hash`` and ``hash``. The other columns (at, actor, action, entity,
entity_id, case_id) are generated from the payload by SQLite, so they cannot disagree
with it; verifying an event is then one sha256 and two comparisons.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caseview.storage.schema import AUDIT_LOG_TABLE, GENESIS_HASH


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """The last event's (seq, hash); (0, genesis) for an empty log."""
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return 0, GENESIS_HASH
    value = row[1]
    return int(row[0]), value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def insert(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    # Only the stored columns: the copies beside the payload are generated from it.
    conn.execute(
        "INSERT INTO audit_log (seq, payload, prev_hash, hash)"
        " VALUES (:seq, :payload, :prev_hash, :hash)",
        row,
    )


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


@dataclass(frozen=True)
class RangeWalk:
    """What one walk over seq ``lo..hi`` found.

    ``first_prev`` and ``last_hash`` let the caller link neighbouring ranges.
    ``break_seq`` is the first event in the range that does not hold, if any.
    """

    lo: int
    hi: int
    first_prev: str | None
    last_hash: str | None
    break_seq: int | None = None
    problem: str = ""


CHUNK = 20_000  # events checked together by _chunk_holds


def walk_range(path: str, lo: int, hi: int) -> RangeWalk:
    """Check events ``lo..hi`` (inclusive) of the case file at ``path``.

    Runs in a worker process for big logs, so it takes a path and opens its own
    read-only connection. Text comes back as the exact stored bytes.
    """
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.text_factory = bytes
        return _walk(conn, lo, hi)
    finally:
        conn.close()


def _walk(conn: sqlite3.Connection, lo: int, hi: int) -> RangeWalk:
    if lo <= hi and _range_holds(conn, lo, hi):
        ends = conn.execute(
            "SELECT (SELECT prev_hash FROM audit_log WHERE seq = ?),"
            " (SELECT hash FROM audit_log WHERE seq = ?)",
            (lo, hi),
        ).fetchone()
        return RangeWalk(lo, hi, _text(ends[0]), _text(ends[1]))
    return _walk_rows(conn, lo, hi)


def _range_holds(conn: sqlite3.Connection, lo: int, hi: int) -> bool:
    """True when every event ``lo..hi`` holds; False says only "walk it row by row".

    The fast path: SQLite itself checks that the numbers run on without a gap and that
    each event carries the hash before it (a self-join on seq, in C), and joins each
    event's previous hash to its payload, so Python does one sha256 and one comparison
    per event and nothing else. Anything odd (a value of the wrong type, text that is
    not UTF-8) makes it answer False, and the row-by-row walk names what is wrong.
    """
    count, low, high = conn.execute(
        "SELECT count(*), min(seq), max(seq) FROM audit_log WHERE seq BETWEEN ? AND ?",
        (lo, hi),
    ).fetchone()
    if (count, low, high) != (hi - lo + 1, lo, hi):
        return False
    unlinked = conn.execute(
        "SELECT count(*) FROM audit_log a JOIN audit_log b ON b.seq = a.seq + 1"
        " WHERE a.seq BETWEEN ? AND ? AND b.prev_hash IS NOT a.hash",
        (lo, hi - 1),
    ).fetchone()[0]
    if unlinked:
        return False
    sha256 = hashlib.sha256
    factory = conn.text_factory
    conn.text_factory = str
    try:
        cursor = conn.execute(
            "SELECT CAST(prev_hash || payload AS BLOB), hash FROM audit_log"
            " WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (lo, hi),
        )
        while rows := cursor.fetchmany(CHUNK):
            joined, digests = zip(*rows, strict=True)
            if [sha256(both).hexdigest() for both in joined] != list(digests):
                return False
    except (sqlite3.Error, TypeError, ValueError):  # wrong types, text that is not UTF-8
        return False
    finally:
        conn.text_factory = factory
    return True


def _walk_rows(conn: sqlite3.Connection, lo: int, hi: int) -> RangeWalk:
    sha256 = hashlib.sha256
    cursor = conn.execute(
        "SELECT seq, prev_hash, payload, hash FROM audit_log WHERE seq BETWEEN ? AND ?"
        " ORDER BY seq",
        (lo, hi),
    )
    expected = lo
    first_prev: bytes | None = None
    prev = b""
    while rows := cursor.fetchmany(CHUNK):
        if first_prev is None:
            given = rows[0][1]
            first_prev = prev = given if isinstance(given, bytes) else b"?"
        if _chunk_holds(rows, expected, prev):
            expected += len(rows)
            prev = rows[-1][3]
            continue
        # Something in this chunk does not hold: walk it row by row to name the first.
        for seq, prev_hash, payload, digest in rows:
            if seq != expected:
                return _broken(
                    lo,
                    hi,
                    first_prev,
                    expected,
                    f"event {expected} is missing or out of place (event {seq} comes next): "
                    "events were deleted or reordered",
                )
            if prev_hash != prev:
                return _broken(
                    lo,
                    hi,
                    first_prev,
                    seq,
                    f"event {seq} does not carry the hash of event {seq - 1}",
                )
            try:
                ok = sha256(prev_hash + payload).hexdigest().encode() == digest
            except TypeError:  # a tampered value of the wrong type
                ok = False
            if not ok:
                return _broken(
                    lo,
                    hi,
                    first_prev,
                    seq,
                    f"event {seq} was altered: its hash does not match its content",
                )
            prev = digest
            expected += 1
    if expected <= hi:
        return _broken(
            lo, hi, first_prev, expected, f"event {expected} is missing: events were deleted"
        )
    return RangeWalk(lo, hi, _text(first_prev), _text(prev) if first_prev is not None else None)


def _chunk_holds(rows: list[tuple[Any, ...]], expected: int, prev: bytes) -> bool:
    """True when every event of ``rows`` holds: numbered on from ``expected``, each
    carrying the hash before it (the first, ``prev``), each hash matching its content.

    The same three checks as the row-by-row walk, done a chunk at a time with
    comparisons of whole tuples and one comprehension for the hashes, which is about
    a third faster. False says only that the chunk must be walked row by row.
    """
    seqs, prevs, payloads, digests = zip(*rows, strict=True)
    if seqs != tuple(range(expected, expected + len(rows))):
        return False
    if prevs[0] != prev or prevs[1:] != digests[:-1]:
        return False
    sha256 = hashlib.sha256
    try:
        computed = tuple(
            [
                sha256(before + payload).hexdigest().encode()
                for before, payload in zip(prevs, payloads, strict=True)
            ]
        )
    except TypeError:  # a tampered value of the wrong type
        return False
    return computed == digests


def _broken(lo: int, hi: int, first_prev: bytes | None, seq: int, problem: str) -> RangeWalk:
    return RangeWalk(lo, hi, _text(first_prev), None, seq, problem)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


if __name__ == "__main__":
    # Worker entry for caseview.audit.verify_chain: walk one range, print it as JSON.
    import dataclasses
    import json
    import sys

    result = walk_range(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    print(json.dumps(dataclasses.asdict(result)))


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
