"""The audit log: events appended per second, and events verified per second.

Appends go through the real path (``CaseFile.write`` + ``audit.record``, WAL,
``synchronous=FULL``): one event per transaction, as each user action is, and in
batches of 1,000, as an import is. Verification walks a 1,000,000-event log built
once (the bulk insert writes the stored columns in the documented format: seq, the
canonical sorted-key JSON payload, prev_hash and hash; ``audit.verify`` must find it
intact before anything is timed), by the single walk and by the default (parallel) path.
Target (issue 2): verify >= 500,000 events/s, 1M in under 2 s.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from run import rate, ratio, scaled, timed

from caseview import audit
from caseview.clock import to_iso
from caseview.storage import CaseFile, open_case_file
from caseview.storage.schema import GENESIS_HASH

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
VERIFY_TARGET = 500_000  # events/s
ACTORS = ("wren", "otto", "mona", "ada")
ACTIONS = ("source.captured", "observation.added", "viewing.recorded", "user.login")


def event(i: int) -> dict[str, Any]:
    """A capture-like event: about 300 bytes of payload (the demo's average 214), non-ASCII."""
    return {
        "at": T0 + timedelta(milliseconds=i),
        "actor": ACTORS[i % 4],
        "action": ACTIONS[i % 4],
        "entity": "source",
        "entity_id": i,
        "case_id": 1 + i % 50,
        "data": {
            "subject": "Zoë Дмитриева",
            "url": f"https://social.example/kerry/posts/{i}",
            "sha256": f"{i:064x}",
        },
    }


def fresh(scratch: Path) -> CaseFile:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{scratch / 'append.db'}{suffix}").unlink(missing_ok=True)
    return open_case_file(scratch / "append.db", create=True)


def bench_appends(scratch: Path) -> tuple[float, float]:
    single, batched, batch = scaled(5_000), scaled(100_000), 1_000
    files: list[CaseFile] = []

    def setup() -> None:
        while files:
            files.pop().close()
        files.append(fresh(scratch))

    def one_per_transaction() -> None:
        casefile = files[0]
        for i in range(single):
            with casefile.write() as conn:
                audit.record(conn, **event(i))

    def in_batches() -> None:
        casefile = files[0]
        for start in range(0, batched, batch):
            with casefile.write() as conn:
                for i in range(start, min(start + batch, batched)):
                    audit.record(conn, **event(i))

    per_tx = rate(
        "append, one event per transaction",
        single,
        timed(one_per_transaction, setup=setup),
    )
    per_batch = rate(
        f"append, {batch:,} events per transaction",
        batched,
        timed(in_batches, setup=setup),
    )
    setup()
    files.pop().close()
    return per_tx, per_batch


def rows(count: int) -> Iterator[tuple[Any, ...]]:
    """``count`` audit rows exactly as ``audit.record`` would write them.

    Only the stored columns (seq, payload, prev_hash, hash): SQLite generates the
    others from the payload.
    """
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        e = event(seq)
        payload = audit.canonical_json({**e, "seq": seq, "at": to_iso(e["at"])})
        digest = audit.chain_hash(prev, payload)
        yield seq, payload, prev, digest
        prev = digest


def build_log(path: Path, count: int) -> None:
    open_case_file(path, create=True).close()
    source = rows(count)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for chunk in iter(lambda: list(itertools.islice(source, 50_000)), []):
            conn.executemany(
                "INSERT INTO audit_log (seq, payload, prev_hash, hash) VALUES (?, ?, ?, ?)",
                chunk,
            )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def bench_verify(scratch: Path) -> None:
    count = scaled(1_000_000)
    path = scratch / "verify.db"
    build_log(path, count)
    # The chain and the evidence checks (audit_log's definition among them).
    check = audit.verify(None, path)
    assert check.intact and check.events == count, (check.problem, check.evidence_problems)
    conn = sqlite3.connect(path)
    try:
        (payload,) = conn.execute(
            "SELECT avg(length(CAST(payload AS BLOB))) FROM audit_log"
        ).fetchone()
    finally:
        conn.close()
    print(
        f"  (a log of {count:,} events: payloads of {payload:.0f} bytes on average, "
        f"{path.stat().st_size / count:,.0f} bytes per event on disk)"
    )

    cpu: list[float] = []
    single = rate(
        "verify, single walk (workers=1)",
        count,
        timed(lambda: audit.verify_chain(path, workers=1), cpu=cpu),
        target=VERIFY_TARGET,
    )
    # Wall time above includes waiting for a CPU when other work runs; this does not.
    rate("verify, single walk, per CPU-second", count, cpu, unit="events/CPU-s")
    workers = os.cpu_count() or 1
    how = f"{workers} workers" if count >= audit.PARALLEL_FROM else "one walk below 200,000"
    default = rate(
        f"verify, default ({how})",
        count,
        timed(lambda: audit.verify_chain(path)),
        target=VERIFY_TARGET,
    )
    ratio("verify speed-up, default over single walk", default, single)
    # What 'caseview verify' does without a user: the chain plus the evidence checks.
    rate(
        "verify command, read-only (chain and evidence)",
        count,
        timed(lambda: audit.verify(None, path)),
        target=VERIFY_TARGET,
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="caseview-bench-") as scratch:
        per_tx, per_batch = bench_appends(Path(scratch))
        ratio("append speed-up, batched over one per transaction", per_batch, per_tx)
        bench_verify(Path(scratch))


if __name__ == "__main__":
    main()
