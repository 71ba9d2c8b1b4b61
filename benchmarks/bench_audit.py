"""The audit log: events appended per second, and events verified per second.

Appends go through the real path (``CaseFile.write`` + ``audit.record``, WAL,
``synchronous=FULL``): one event per transaction, as each user action is, and in
batches of 1,000, as an import is. Verification walks a 1,000,000-event log built
once (the bulk insert writes the stored columns in the documented format: seq, the
canonical sorted-key JSON payload, prev_hash and hash; ``audit.verify`` must find it
intact before anything is timed), by the single walk and by the default (parallel) path.
Target (issue 2): verify >= 500,000 events/s, 1M in under 2 s; the default chain walk
(issue 11) >= 1,000,000 events/s.

The row check (issue 11: every row the log vouches for, against its events) is timed on
a second 1,000,000-event log whose events make rows, as a case file's do: per 100
events, 25 captured sources (each with its body blob), 25 observations, 25 viewings
(each with its row, the meter's history) and 25 logins, after the users, cases and
requests they name. On it: the chain walk alone, the row check alone, and the two
together, with their ratio.
Its events are larger (610 bytes hashed an event on average, against 373), so its chain
walk is reported beside the target's log, not against it, as bench_pg reports its own.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from run import rate, ratio, scaled, timed

from caseview import audit
from caseview.captures import ATTESTATIONS
from caseview.clock import to_iso
from caseview.storage import CaseFile, open_case_file, rowcheck
from caseview.storage.schema import GENESIS_HASH

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
VERIFY_TARGET = 500_000  # events/s (issue 2)
CHAIN_TARGET = 1_000_000  # events/s, the default chain walk on the 1M-event log (issue 11)
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
        target=CHAIN_TARGET,
    )
    ratio("verify speed-up, default over single walk", default, single)
    # What 'caseview verify' does without a user: the chain plus the evidence checks.
    rate(
        "verify command, read-only (chain and evidence)",
        count,
        timed(lambda: audit.verify(None, path)),
        target=VERIFY_TARGET,
    )


# --- a log whose events make rows, for the row check ---------------------------------

CASES = 50
PAGE_META = json.dumps({"canonical_url": None, "charset": "utf-8", "word_count": 212, "notes": []})
HEADERS = json.dumps([["Content-Type", "text/html; charset=utf-8"], ["Server", "nginx"]])


def _source_row(i: int, at: str) -> dict[str, Any]:
    """A captured source's own columns, as captures.capture_url stores them."""
    body = f"<html><body><p>Post {i} by Zoë Дмитриева</p></body></html>".encode()
    return {
        "method": "http",
        "requested_url": f"https://social.example/kerry/posts/{i}",
        "final_url": f"https://social.example/kerry/posts/{i}",
        "host_unicode": "social.example",
        "host_punycode": "social.example",
        "redirect_chain": "[]",
        "http_status": 200,
        "response_headers": HEADERS,
        "content_type": "text/html; charset=utf-8",
        "media_type": "text/html",
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_size": len(body),
        "body_encoding_note": None,
        "raw_sha256": hashlib.sha256(body).hexdigest(),
        "server_ip": "192.0.2.10",
        "file_name": None,
        "title": f"Post {i}",
        "text": f"Post {i} by Zoë Дмитриева",
        "page_meta": PAGE_META,
        "published_at": None,
        "captured_started_at": at,
        "captured_ended_at": at,
        "tool": "caseview 0.1",
        "notes": "[]",
        "origin": "self_collected",
        "supplied_by": None,
        "viewed_at": None,
        "_body": body,
    }


def row_events(count: int) -> Iterator[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """(table, event, row) for a log of ``count`` events; row None for no row."""
    made = 0

    def ev(action: str, entity: str, i: int, case: int | None, data: dict[str, Any]) -> Any:
        return {
            "at": to_iso(T0 + timedelta(milliseconds=made)),
            "actor": ACTORS[i % 4] if action != "user.added" else "wren",
            "action": action,
            "entity": entity,
            "entity_id": i,
            "case_id": case,
            "data": data,
        }

    for n, name in enumerate(ACTORS, 1):
        e = ev(
            "user.added",
            "user",
            n,
            None,
            {"username": name, "display_name": name, "role": "manager"},
        )
        made += 1
        yield (
            "users",
            e,
            {
                "id": n,
                "username": name,
                "display_name": name,
                "role": "manager",
                "password_hash": "x",
                "created_at": e["at"],
                "created_by": None if name == "wren" else 1,
            },
        )
    for c in range(1, CASES + 1):
        e = ev("case.created", "case", c, c, {"reference": f"C-{c}", "title": f"Case {c}"})
        made += 1
        yield (
            "cases",
            e,
            {
                "id": c,
                "reference": f"C-{c}",
                "title": f"Case {c}",
                "created_by": ACTORS.index(e["actor"]) + 1,
                "created_at": e["at"],
            },
        )
    request = {"emergency": False, "valid_until": "2026-12-08", "question": "Is Kerry safe?"}
    content = audit.canonical_json(request)
    digest = hashlib.sha256(content.encode()).hexdigest()
    for c in range(1, CASES + 1):
        e = ev(
            "justification.created",
            "justification",
            c,
            c,
            {
                "version": 1,
                "supersedes": None,
                "request": request,
            },
        )
        made += 1
        # Who wrote the request (and so may not approve it), as Caseview records it.
        author = ACTORS.index(e["actor"]) + 1
        yield "justification_editors", e, {"justification_id": c, "user_id": author}
        s = ev("justification.submitted", "justification", c, c, {"content_hash": digest})
        made += 1
        yield (
            "justifications",
            s,
            {
                "id": c,
                "case_id": c,
                "author_id": ACTORS.index(e["actor"]) + 1,
                "version": 1,
                "status": "submitted",
                "emergency": 0,
                "content": content,
                "content_hash": digest,
                "valid_until": "2026-12-08",
                "created_at": e["at"],
                "updated_at": s["at"],
                "submitted_at": s["at"],
            },
        )
    sources = observations = viewings = 0
    while made < count:
        kind = made % 4
        case = 1 + made % CASES
        if kind == 0:
            sources += 1
            at = to_iso(T0 + timedelta(milliseconds=made))
            row = _source_row(sources, at)
            body = row.pop("_body")
            e = ev(
                "source.recorded",
                "source",
                sources,
                case,
                {
                    **{k: v for k, v in row.items() if k != "text"},
                    "text_sha256": hashlib.sha256(row["text"].encode()).hexdigest(),
                    "subject_id": case,
                    "justification_id": case,
                    "justification_hash": digest,
                    "viewing_id": None,
                    "warc_sha256": None,
                    "machine": "bench",
                    "attested": True,
                    "exposure": [],
                },
            )
            e["at"] = at
            yield (
                "sources",
                e,
                {
                    **row,
                    "id": sources,
                    "case_id": case,
                    "subject_id": case,
                    "justification_id": case,
                    "justification_hash": digest,
                    "captured_by": ACTORS.index(e["actor"]) + 1,
                    "machine": "bench",
                    "attestations": json.dumps(ATTESTATIONS),
                    "warc_sha256": None,
                    "created_at": at,
                    "_body": body,
                },
            )
        elif kind == 1:
            observations += 1
            data = {
                "source_id": sources,
                "supersedes": None,
                "version": 1,
                "text": f"What post {sources} shows",
                "domain": "online_exposure",
                "reliability": "B",
                "credibility": 2,
                "risks": ["exposure"],
                "corroborates": [],
                "external_check": None,
                "check_what": None,
                "check_who": None,
                "check_when": None,
                "confirmed_by": None,
            }
            e = ev("observation.recorded", "observation", observations, case, data)
            yield (
                "observations",
                e,
                {
                    **{k: v for k, v in data.items() if k not in ("risks", "corroborates")},
                    "id": observations,
                    "root_id": observations,
                    "case_id": case,
                    "risks": json.dumps(data["risks"]),
                    "corroborates": "[]",
                    "author_id": ACTORS.index(e["actor"]) + 1,
                    "created_at": e["at"],
                },
            )
        elif kind == 2:
            viewings += 1
            url = f"https://social.example/kerry/posts/{sources}"
            e = ev("viewing.capture", "viewing", viewings, case, {"url": url})
            yield (
                "viewings",
                e,
                {
                    "id": viewings,
                    "case_id": case,
                    "user_id": ACTORS.index(e["actor"]) + 1,
                    "at": e["at"],
                    "url": url,
                    "kind": "capture",
                    "outcome": "completed",
                },
            )
        else:
            yield "", ev("login", "user", 1 + made % 4, None, {}), None
        made += 1


def build_row_log(path: Path, count: int) -> None:
    open_case_file(path, create=True).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        prev = GENESIS_HASH
        log: list[tuple[Any, ...]] = []
        tables: dict[str, list[dict[str, Any]]] = {}
        blobs: list[tuple[Any, ...]] = []

        def flush() -> None:
            conn.executemany(
                "INSERT INTO audit_log (seq, payload, prev_hash, hash) VALUES (?, ?, ?, ?)", log
            )
            for table, found in tables.items():
                columns = list(found[0])
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)})"
                    f" VALUES ({', '.join(':' + c for c in columns)})",
                    found,
                )
            conn.executemany("INSERT INTO blobs VALUES (?, ?, ?, ?, ?)", blobs)
            log.clear(), tables.clear(), blobs.clear()

        for seq, (table, e, row) in enumerate(row_events(count), 1):
            payload = audit.canonical_json({**e, "seq": seq})
            digest = audit.chain_hash(prev, payload)
            log.append((seq, payload, prev, digest))
            prev = digest
            if row is not None:
                body = row.pop("_body", None)
                if body is not None:
                    blobs.append(
                        (row["body_sha256"], len(body), "text/html", body, row["created_at"])
                    )
                tables.setdefault(table, []).append(row)
            if len(log) >= 50_000:
                flush()
        flush()
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def bench_rows(scratch: Path) -> None:
    count = scaled(1_000_000)
    path = scratch / "rows.db"
    build_row_log(path, count)
    check = audit.verify(None, path)
    assert check.intact, (check.problem, check.evidence_problems)
    print(
        f"  (a log of {count:,} events that make rows; "
        f"{path.stat().st_size / count:,.0f} bytes per event on disk)"
    )
    chain = rate(
        "verify chain walk, default path, on it",
        count,
        timed(lambda: audit.verify_chain(path)),
    )
    rows = rate(
        "row check alone (rowcheck.check_rows)",
        count,
        timed(lambda: rowcheck.check_rows(str(path), ATTESTATIONS)),
    )
    both = rate(
        "chain walk + row check",
        count,
        timed(lambda: (audit.verify_chain(path), rowcheck.check_rows(str(path), ATTESTATIONS))),
    )
    ratio("chain + rows over chain alone (speed)", both, chain)
    ratio("row check over chain walk (speed)", rows, chain)
    rate(
        "verify command, read-only (chain, evidence, rows)",
        count,
        timed(lambda: audit.verify(None, path)),
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="caseview-bench-") as scratch:
        per_tx, per_batch = bench_appends(Path(scratch))
        ratio("append speed-up, batched over one per transaction", per_batch, per_tx)
        bench_verify(Path(scratch))
        bench_rows(Path(scratch))


if __name__ == "__main__":
    main()
