"""Walking the audit chain: the part of ``verify`` that reads every event.

Kept apart from the rest of the storage layer, and importing nothing of it, because
``caseview.audit.verify_chain`` runs it in a child process for each range of a long
case file's log: a child that only imports this module starts in a few milliseconds
instead of the quarter of a second the storage package takes to import.

A case file is walked by path (:func:`walk_range`, in as many processes as there are
ranges). A team server is checked over the session's own connection, inside the
caller's snapshot (:func:`walk_server`): the server hashes and links every event
itself, and only when something does not hold are its rows read here, through a
server-side cursor, and walked as a case file's are. Both walks get each text as its
stored bytes, and name the same first break in the same words.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import sqlite3
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from caseview.storage.reading import read_only_uri


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


CHUNK = 20_000  # events checked together by _chunk_holds (and fetched together on a server)
Chunk = list[tuple[Any, ...]]
EVENTS = (
    "SELECT seq, prev_hash, payload, hash FROM audit_log WHERE seq BETWEEN ? AND ? ORDER BY seq"
)
"""Events ``lo..hi``, read with their text as the exact bytes stored, on either engine."""


def walk_range(path: str, lo: int, hi: int) -> RangeWalk:
    """Check events ``lo..hi`` (inclusive) of the case file at ``path``.

    Runs in a worker process for big logs, so it takes a path and opens its own
    read-only connection. Text comes back as the exact stored bytes.
    """
    conn = sqlite3.connect(read_only_uri(path), uri=True)
    try:
        conn.text_factory = bytes
        try:
            walk = _walk(conn, lo, hi)
        except sqlite3.DatabaseError as exc:  # a damaged page, a table gone
            walk = _broken(lo, hi, None, lo, f"events {lo} to {hi} could not all be read ({exc})")
        if walk.break_seq is None:
            return walk
        # A break may be damage rather than tampering (a page of events garbled reads as
        # events missing): asked of SQLite only then, as its check reads the whole log.
        damage = _damage(conn)
        if damage is None:
            return walk
        return dataclasses.replace(
            walk,
            problem=f"event {walk.break_seq} cannot be read as it was written: the case file "
            f"is damaged where it keeps the log (SQLite's own check finds {damage!r})",
        )
    finally:
        conn.close()


def _damage(conn: sqlite3.Connection) -> str | None:
    """What SQLite's own check of the log's pages finds wrong, or None."""
    try:
        found = [_text(row[0]) or "" for row in conn.execute("PRAGMA quick_check(audit_log)")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if found == ["ok"]:
        return None
    lines = [line for text in found for line in text.splitlines() if not line.startswith("***")]
    return (lines[0] if lines else "damaged")[:200]


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
    each event carries the hash before it (one self-join on seq, in C), joins each
    event's previous hash to its payload, and hands a chunk's hashes over as one text, so
    Python does one sha256 per event and a few comparisons per chunk. Anything odd (a
    value of the wrong type, text that is not UTF-8) makes it answer False, and the
    row-by-row walk names what is wrong.
    """
    # Every event but the last has its successor, carrying its hash, which is no blob:
    # then the numbers run on without a gap, and each link holds (NULLs do not count; a
    # blob of the same bytes would read the same through text_factory bytes). SQLite
    # sorts every text and number below every blob, the empty one first, so "< x''" says
    # "not a blob" in one comparison (typeof() cost a third of the join); a number is no
    # 64-character hash, which the chunks' check below refuses. A text never equals a
    # blob, so each previous hash but the first is no blob either.
    linked = conn.execute(
        "SELECT count(*) FROM audit_log a JOIN audit_log b ON b.seq = a.seq + 1"
        " WHERE a.seq BETWEEN ? AND ? AND b.prev_hash = a.hash AND a.hash < x''",
        (lo, hi - 1),
    ).fetchone()[0]
    if linked != hi - lo:
        return False
    # Left to look at: the first event's previous hash and the last one's hash.
    ends = conn.execute(
        "SELECT (SELECT typeof(prev_hash) FROM audit_log WHERE seq = ?),"
        " (SELECT typeof(hash) FROM audit_log WHERE seq = ?)",
        (lo, hi),
    ).fetchone()
    if ends != ("text", "text") and ends != (b"text", b"text"):
        return False
    sha256 = hashlib.sha256
    factory = conn.text_factory
    conn.text_factory = str
    try:
        for first in range(lo, hi + 1, CHUNK):
            last = min(hi, first + CHUNK - 1)
            joined = [both for (both,) in conn.execute(_JOINED, (first, last))]
            (hashes,) = conn.execute(_HASHES, (first, last)).fetchone()
            count = len(joined)
            if count != last - first + 1 or not isinstance(hashes, str):
                return False
            # The chunk's stored hashes come as one text, separated by commas: a comma
            # every 65th character and nowhere else says each hash is 64 characters
            # (written end to end, hashes of 65 and 63 would read as two of 64).
            if len(hashes) != 65 * count - 1 or hashes.count(",") != count - 1:
                return False
            if hashes[64::65] != "," * (count - 1):
                return False
            # The chunk's digests written as hex at once, against its stored hashes as
            # they are (so a hash stored in capitals, say, does not hold): cheaper than
            # formatting each digest on its own.
            digests = b"".join([sha256(both).digest() for both in joined]).hex()
            if digests != hashes.replace(",", ""):
                return False
    except (sqlite3.Error, TypeError, ValueError):  # wrong types, text that is not UTF-8
        return False
    finally:
        conn.text_factory = factory
    return True


_JOINED = (
    "SELECT CAST(prev_hash || payload AS BLOB) FROM audit_log"
    " WHERE seq BETWEEN ? AND ? ORDER BY seq"
)
"""Each event's previous hash and payload, as the bytes hashed: one value a row."""
_HASHES = (
    "SELECT group_concat(hash, ',') FROM"
    " (SELECT hash FROM audit_log WHERE seq BETWEEN ? AND ? ORDER BY seq)"
)
"""A chunk's stored hashes in one text, in seq order (none a blob: see the link check
above). (Were SQLite ever to join them in another order, they would not match and the
row walk would decide: never a false pass.)"""


_FILE_EVENTS = (
    "SELECT seq, CASE WHEN typeof(prev_hash) = 'text' THEN prev_hash END, payload,"
    " CASE WHEN typeof(hash) = 'text' THEN hash END"
    " FROM audit_log WHERE seq BETWEEN ? AND ? ORDER BY seq"
)
"""Events ``lo..hi`` of a case file, as :data:`EVENTS`, but a hash stored as anything
but text (a blob of the same bytes reads the same through ``text_factory = bytes``)
read as NULL, which links to nothing and matches no content: a break at that event.
(A payload stored so is the row check's: "not one Caseview wrote".)"""


def _walk_rows(conn: sqlite3.Connection, lo: int, hi: int) -> RangeWalk:
    cursor = conn.execute(_FILE_EVENTS, (lo, hi))
    return _walk_chunks(iter(lambda: cursor.fetchmany(CHUNK), []), lo, hi)


SERVER_HASHES = (
    "SELECT count(*), min(seq), max(seq), count(*) FILTER (WHERE hash IS DISTINCT FROM"
    " encode(pg_catalog.sha256(pg_catalog.convert_to(prev_hash || payload, 'UTF8')), 'hex'))"
    " FROM audit_log WHERE seq BETWEEN ? AND ?"
)
"""On a server: how many events ``lo..hi`` there are, the lowest and highest seq, and
how many do not hash to their stored hash, each hashed by the server itself over the
exact bytes stored (the text's UTF-8), in parallel where it can."""
SERVER_LINKS = (
    "SELECT count(*) FILTER (WHERE before <> prev_hash) FROM (SELECT prev_hash,"
    " lag(hash) OVER (ORDER BY seq) AS before FROM audit_log WHERE seq BETWEEN ? AND ?) t"
)
"""On a server: how many events ``lo..hi`` do not carry the hash of the one before."""


def walk_server(conn: Any, lo: int, hi: int) -> RangeWalk:
    """Check events ``lo..hi`` (inclusive) over a team server's connection.

    Runs inside the caller's snapshot (the store's ``read()``). The server checks every
    hash and every link itself (:data:`SERVER_HASHES`, :data:`SERVER_LINKS`): only counts
    travel, and it hashes on several cores. That is no less trustworthy than reading the
    rows here, which the same server would send: what anchors a server's log is the
    checkpoint in an exported note (``verify --expect-head``). When anything does not
    hold, the rows are walked here, as on a case file, to name the first break in the
    same words.
    """
    if lo > hi:
        return RangeWalk(lo, hi, None, None)
    count, low, high, unhashed = conn.execute(SERVER_HASHES, (lo, hi)).fetchone()
    if (count, low, high, unhashed) == (hi - lo + 1, lo, hi, 0):
        (unlinked,) = conn.execute(SERVER_LINKS, (lo, hi)).fetchone()
        if unlinked == 0:
            ends = conn.execute(
                "SELECT (SELECT prev_hash FROM audit_log WHERE seq = ?),"
                " (SELECT hash FROM audit_log WHERE seq = ?)",
                (lo, hi),
            ).fetchone()
            return RangeWalk(lo, hi, _text(_bytes(ends[0])), _text(_bytes(ends[1])))
    return walk_server_rows(conn, lo, hi)


def walk_server_rows(conn: Any, lo: int, hi: int) -> RangeWalk:
    """Events ``lo..hi`` of a server walked here, row by row where a chunk does not hold.

    Through a server-side cursor, so memory stays flat however long the log. The rows
    arrive as on a case file (text as its stored bytes), and are checked as there.
    """
    with _read_ahead(conn.exact_chunks(EVENTS, (lo, hi), size=CHUNK)) as chunks:
        return _walk_chunks(chunks, lo, hi)


def _bytes(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


@contextlib.contextmanager
def _read_ahead(chunks: Generator[Chunk, None, None]) -> Iterator[Iterator[Chunk]]:
    """``chunks`` read one ahead by a second thread: the server finds and sends the next
    chunk while this thread checks the last (psycopg waits for the network without the
    GIL). The connection is never used by both threads at once: each read is awaited
    before the next begins, and the last before the cursor is closed, here."""
    import concurrent.futures  # local: a case file's child processes start without it

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="verify-read") as reader:
        pending = reader.submit(next, chunks, None)

        def ahead() -> Iterator[Chunk]:
            nonlocal pending
            while (chunk := pending.result()) is not None:
                pending = reader.submit(next, chunks, None)
                yield chunk

        try:
            yield ahead()
        finally:
            concurrent.futures.wait([pending])  # its outcome no longer matters
            chunks.close()


def _walk_chunks(chunks: Iterable[Chunk], lo: int, hi: int) -> RangeWalk:
    """Walk events ``lo..hi`` given as chunks of (seq, prev_hash, payload, hash), each
    text as its stored bytes; name the first that does not hold."""
    sha256 = hashlib.sha256
    expected = lo
    first_prev: bytes | None = None
    prev = b""
    for rows in chunks:
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
    import json
    import sys

    result = walk_range(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    print(json.dumps(dataclasses.asdict(result)))
