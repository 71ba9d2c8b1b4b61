"""Helpers for the audit tests, and the writer process the concurrency and crash tests run.

Imported by the tests, it gives raw SQL access to a case file's audit log with the
append-only triggers dropped (the position of someone tampering with the file). Only
``STORED`` columns can be written; the ``GENERATED`` ones are SQLite's reading of the
payload, so changing what they say means changing the payload (``set_field``).

Run as a script, it is a writer in its own OS process (``sys.executable THIS MODE ...``):

``append PATH NAME COUNT PAUSE``
    print ``ready``, wait for a line on stdin (so that all writers start together),
    open the case file and append COUNT events, one per write transaction, PAUSE
    seconds apart (0: back to back); then print
    one JSON line: the writer, how many it appended, and when it started and finished
    (``time.monotonic``, which all processes on the machine share).

``zygote PATH``
    pay for importing Caseview once, then for each stdin line ``run N`` fork a writer
    that appends events to PATH forever, one per transaction. The writer prints
    ``opened`` once the case file is open, then one JSON line per event *after its
    commit returned* (seq, hash, data), with a single
    ``write`` so a kill never leaves half a line. The zygote prints ``pid PID`` after
    forking and ``exited {...}`` once the writer is dead, so every line the writer wrote
    comes before it. Forking from a warm process makes each crash round cost
    milliseconds instead of a fresh interpreter's import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caseview import audit
from caseview.storage import open_case_file

HELPER = Path(__file__).resolve()
# What audit_log stores per event, and what SQLite generates from the payload.
STORED = ("seq", "payload", "prev_hash", "hash")
GENERATED = ("at", "actor", "action", "entity", "entity_id", "case_id")
COLUMNS = STORED + GENERATED
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def append_events(path: Path, events: Sequence[Mapping[str, Any]]) -> None:
    """Append ``events`` (keyword arguments of ``audit.record``), one transaction each."""
    with open_case_file(path, create=not path.exists()) as casefile:
        for event in events:
            with casefile.write() as conn:
                audit.record(conn, **event)


def head(path: Path) -> audit.Checkpoint:
    """The head of the log, as an exported note would quote it."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return audit.head(conn)
    finally:
        conn.close()


@contextlib.contextmanager
def tamper(path: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection to the case file with the audit_log triggers dropped, put back
    as they were when the block ends (as someone covering their tracks would: verify
    reports guards left changed).

    Everything done inside commits together when the block ends.
    """
    with contextlib.closing(sqlite3.connect(path)) as conn:
        triggers = list(
            conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
            )
        )
    assert len(triggers) == 3, f"expected the three audit_log triggers, found {triggers}"
    # Here, not at the top: this module also runs alone as the drills' child process,
    # where only its own folder is on the path.
    from tamper_support import tampering

    with tampering(path, table="audit_log") as conn:
        yield conn


def rows(path: Path) -> list[dict[str, Any]]:
    """Every audit row, stored and generated columns, in seq order (text as str)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY seq")]
    finally:
        conn.close()


def rehash_from(conn: sqlite3.Connection, first: int) -> None:
    """Recompute prev_hash and hash from seq ``first`` on: a consistent rewrite."""
    prev = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (first - 1,)).fetchone()
    prev_hash = prev[0] if prev else "0" * 64
    for seq, payload in conn.execute(
        "SELECT seq, payload FROM audit_log WHERE seq >= ? ORDER BY seq", (first,)
    ).fetchall():
        digest = audit.chain_hash(prev_hash, payload)
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev_hash, digest, seq)
        )
        prev_hash = digest


def set_field(conn: sqlite3.Connection, seq: int, field: str, value: Any) -> str:
    """Put ``value`` as the payload's ``field`` of event ``seq``, re-serialised canonically.

    Only the payload is written (prev_hash and hash are left alone); returns the new payload.
    """
    (payload,) = conn.execute("SELECT payload FROM audit_log WHERE seq = ?", (seq,)).fetchone()
    forged = audit.canonical_json({**json.loads(payload), field: value})
    conn.execute("UPDATE audit_log SET payload = ? WHERE seq = ?", (forged, seq))
    return forged


def rebuild_with_stored_columns(conn: sqlite3.Connection) -> None:
    """Rebuild audit_log with every column an ordinary stored one, keeping every row.

    The way to make the copies beside the payload writable (and so able to disagree
    with it): a new table, the rows copied, the old one dropped, the new one renamed.
    """
    conn.execute(
        "CREATE TABLE audit_log_rebuilt (seq INTEGER PRIMARY KEY, at TEXT, actor TEXT,"
        " action TEXT, entity TEXT, entity_id INTEGER, case_id INTEGER,"
        " payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)"
    )
    names = ", ".join(COLUMNS)
    conn.execute(f"INSERT INTO audit_log_rebuilt ({names}) SELECT {names} FROM audit_log")
    conn.execute("DROP TABLE audit_log")
    conn.execute("ALTER TABLE audit_log_rebuilt RENAME TO audit_log")
    conn.execute("CREATE INDEX audit_log_case ON audit_log(case_id, seq)")


def drill_data(run: int, i: int) -> dict[str, object]:
    """What the crash writer records as event ``i`` of round ``run`` (non-ASCII on purpose)."""
    return {"run": run, "i": i, "note": f"événement {i} — проверка №{run} ✓"}


# --- the writer process ------------------------------------------------------------


def _say(text: str) -> None:
    # One write() of less than PIPE_BUF bytes: a line arrives whole or not at all.
    os.write(sys.stdout.fileno(), (text + "\n").encode("utf-8"))


def _append(path: str, name: str, count: int, pause: float) -> None:
    _say("ready")
    sys.stdin.readline()
    start = time.monotonic()
    with open_case_file(path) as casefile:
        for i in range(count):
            if pause:
                time.sleep(pause)  # a person's think time between two changes
            with casefile.write() as conn:
                audit.record(
                    conn,
                    at=T0 + timedelta(microseconds=i),
                    actor=name,
                    action="drill.append",
                    entity="drill",
                    entity_id=i,
                    data={"writer": name, "i": i},
                )
        end = time.monotonic()
    _say(json.dumps({"writer": name, "appended": count, "start": start, "end": end}))


def _write_forever(path: str, run: int) -> None:
    with open_case_file(path) as casefile:
        _say("opened")
        i = 0
        while True:
            data = drill_data(run, i)
            with casefile.write() as conn:
                event = audit.record(
                    conn,
                    at=T0 + timedelta(seconds=run, microseconds=i),
                    actor="crash-drill",
                    action="drill.append",
                    entity="drill",
                    entity_id=i,
                    case_id=run,
                    data=data,
                )
            # Reported only after the commit returned: these events must survive a kill.
            _say(json.dumps({"seq": event.seq, "hash": event.hash, "data": data}))
            i += 1


def _zygote(path: str) -> None:
    for line in sys.stdin:
        run = int(line.split()[1])
        pid = os.fork()
        if pid == 0:  # the writer
            try:
                _write_forever(path, run)
            finally:
                os._exit(70)  # never fall back into the zygote's loop
        _say(f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        _say("exited " + json.dumps({"signal": signal, "code": code}))


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "append":
        _append(args[0], args[1], int(args[2]), float(args[3]))
    elif mode == "zygote":
        _zygote(args[0])
    else:
        sys.exit(f"unknown mode {mode!r}")
