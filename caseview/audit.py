"""The tamper-evident audit log: append inside the change's transaction, verify later.

Each event's payload is canonical JSON (sorted keys, no spaces, UTF-8) holding every
field of the event; the columns beside it are generated from it. Its hash is
``sha256(prev_hash || payload)``, where ``prev_hash`` is the previous event's hash as
64 ASCII hex characters (64 zeros before the first event) and ``payload`` is the exact
UTF-8 bytes stored. An auditor can recompute every hash with sqlite3 and any sha256
tool; ``caseview verify`` does the same, faster.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from caseview.clock import from_iso, to_iso
from caseview.domain import AuditEvent, Role
from caseview.errors import PermissionDenied, UsageError
from caseview.permissions import case_for_reading, require_role
from caseview.session import Session
from caseview.storage import Store, dialect, integrity, rowcheck
from caseview.storage import audit as sql
from caseview.storage import people as people_sql
from caseview.storage.reading import read_only_uri
from caseview.storage.schema import GENESIS_HASH

_CHECKPOINT = re.compile(r"^(\d+):([0-9a-f]{64})$")
# Actors, actions and entities are identifiers: a plain alphabet keeps them greppable.
_PLAIN = re.compile(r"^[A-Za-z0-9_.@:+-]{1,64}$")
# Below this many events a single walk is faster than starting worker processes.
PARALLEL_FROM = 200_000


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, non-ASCII kept as itself: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


chain_hash = sql.chain_hash


def record(
    conn: sqlite3.Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    case_id: int | None = None,
    data: Mapping[str, object] | None = None,
) -> AuditEvent:
    """Append one event. Must run inside the write transaction of the change it records."""
    if not conn.in_transaction:
        raise RuntimeError("audit.record must run inside the change's write transaction")
    return _append(conn, at, actor, action, entity, entity_id, case_id, data)


def record_alone(
    store: Store,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    case_id: int | None = None,
    data: Mapping[str, object] | None = None,
) -> AuditEvent:
    """Append one event that goes with no other change: a sign-in, an export, a check.

    On a team server it is one statement, its own transaction (``Store.appending``), so
    the log's lock is held only while the database numbers and inserts it.
    """
    with store.appending() as conn:
        return _append(conn, at, actor, action, entity, entity_id, case_id, data)


def _append(
    conn: sqlite3.Connection,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    case_id: int | None,
    data: Mapping[str, object] | None,
) -> AuditEvent:
    for name, value in (("actor", actor), ("action", action), ("entity", entity)):
        if not _PLAIN.match(value):
            raise ValueError(f"audit {name} {value!r} must be a plain identifier")
    stamp = to_iso(at)
    body = dict(data or {})
    # Every key sorts before "seq", which the append adds last (storage.audit.with_seq).
    seq, digest = sql.append(
        conn,
        canonical_json(
            {
                "at": stamp,
                "actor": actor,
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "case_id": case_id,
                "data": body,
            }
        ),
    )
    return AuditEvent(seq, at, actor, action, entity, entity_id, case_id, body, digest)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def parse_checkpoint(text: str) -> Checkpoint:
    match = _CHECKPOINT.match(text.strip().lower())
    if match is None:
        raise UsageError(
            f"'{text}' is not a checkpoint. Give it as SEQ:HASH (a number, a colon and "
            "64 hexadecimal characters), exactly as printed in the exported note."
        )
    return Checkpoint(int(match.group(1)), match.group(2))


def head(conn: sqlite3.Connection) -> Checkpoint:
    seq, digest = sql.head(conn)
    return Checkpoint(seq, digest)


@dataclass(frozen=True)
class VerifyResult:
    """What verification found. ``first_break`` is None when everything is intact."""

    events: int
    head: Checkpoint
    first_break: int | None = None
    problem: str = ""
    evidence_problems: tuple[str, ...] = ()
    """Stored content that no longer matches its recorded hash, or a row that no longer
    matches the events that made it (table, row and event named)."""
    row_break: rowcheck.RowBreak | None = None
    """The first row changed, added or deleted behind the log's back (also, as a
    sentence, the first of ``evidence_problems``). Only looked for on an intact chain:
    a broken chain vouches for nothing after its break."""

    @property
    def intact(self) -> bool:
        return self.first_break is None and not self.evidence_problems


def verify_chain(
    store: Path | Store, expect: Checkpoint | None = None, *, workers: int | None = None
) -> VerifyResult:
    """Recompute the whole chain; report the earliest break.

    ``store`` is a case file's path, or an open store. A case file is read by path: big
    logs are split into seq ranges walked by worker processes (every event carries its
    predecessor's hash, so ranges check on their own and are then linked end to start).
    A team server is read over the store's own connection, in one snapshot (its
    ``read()``), through a server-side cursor; ``workers`` does not apply there.

    Events appended while this runs are not part of this check: it verifies up to the
    head it saw when it started.
    """
    if isinstance(store, str | os.PathLike):
        return _verify_file(Path(store), expect, workers)
    if not dialect.is_server(store.conn):
        return _verify_file(Path(store.path), expect, workers)
    with store.read() as conn:
        return _verify_server(conn, expect)


def _verify_file(path: Path, expect: Checkpoint | None, workers: int | None) -> VerifyResult:
    conn = sqlite3.connect(read_only_uri(path), uri=True)
    conn.text_factory = bytes  # a tampered value may not even be valid UTF-8
    try:
        tip, expect_hash, stray = _chain_ends(conn, expect)
    finally:
        conn.close()
    walks = _walk_all(str(path), max(tip.seq, 0), workers)
    return _chain_result(walks, tip, expect, expect_hash, stray)


def _verify_server(conn: sqlite3.Connection, expect: Checkpoint | None) -> VerifyResult:
    """The chain of a server, over ``conn`` inside the caller's snapshot."""
    tip, expect_hash, stray = _chain_ends(conn, expect)
    walks = [sql.walk_server(conn, 1, tip.seq)] if tip.seq > 0 else []
    return _chain_result(walks, tip, expect, expect_hash, stray)


def _chain_ends(
    conn: sqlite3.Connection, expect: Checkpoint | None
) -> tuple[Checkpoint, str | None, int | None]:
    """The head as seen now, the hash of the event ``expect`` names, and a stray seq."""
    tip = Checkpoint(*sql.last_event(conn))
    expect_hash = (
        None
        if expect is None
        else GENESIS_HASH
        if expect.seq == 0  # the head of an empty log
        else sql.hash_at(conn, expect.seq)
    )
    return tip, expect_hash, sql.stray_seq(conn)


def _chain_result(
    walks: list[sql.RangeWalk],
    tip: Checkpoint,
    expect: Checkpoint | None,
    expect_hash: str | None,
    stray: int | None,
) -> VerifyResult:
    """The first break of the walked ranges, linked end to start, then the checks on the
    whole log: no event numbered out of the sequence, and the checkpoint still in it."""
    first_break: int | None = None
    problem = ""
    previous_end = GENESIS_HASH
    for walk in walks:
        if walk.first_prev is not None and walk.first_prev != previous_end:
            first_break, problem = (
                walk.lo,
                (f"event {walk.lo} does not carry the hash of event {walk.lo - 1}"),
            )
            break
        if walk.break_seq is not None:
            first_break, problem = walk.break_seq, walk.problem
            break
        previous_end = walk.last_hash or previous_end

    if stray is not None and first_break is None:
        # A row numbered below 1 was moved out of the sequence; the walk found no gap,
        # so the event that is missing is the one after the last it saw.
        first_break = max(tip.seq, 0) + 1
        problem = (
            f"event {first_break} is missing or out of place (an event is numbered {stray}): "
            "events were renumbered"
        )
    if expect is not None and first_break is None:
        if tip.seq < expect.seq:
            first_break = tip.seq + 1
            problem = (
                f"the log ends at event {tip.seq} but the checkpoint names event {expect.seq}: "
                f"events from {tip.seq + 1} on were removed"
            )
        elif expect_hash != expect.hash:
            first_break = expect.seq
            problem = (
                f"event {expect.seq} no longer has the checkpoint's hash: the log was "
                "rewritten since the checkpoint was taken"
            )
    counted = max(tip.seq, 0) if first_break is None else first_break - 1
    return VerifyResult(events=counted, head=tip, first_break=first_break, problem=problem)


def _walk_all(path: str, last: int, workers: int | None) -> list[sql.RangeWalk]:
    if last == 0:
        return []
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count <= 1 or (workers is None and last < PARALLEL_FROM):
        return [sql.walk_range(path, 1, last)]
    step = -(-last // count)
    bounds = [(lo, min(lo + step - 1, last)) for lo in range(1, last + 1, step)]
    # Extra ranges run as plain child processes ("python -m"), not multiprocessing:
    # that needs no importable __main__ and no fork of a threaded GUI process.
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "caseview.storage.chain", path, str(lo), str(hi)],
            stdout=subprocess.PIPE,
        )
        for lo, hi in bounds[1:]
    ]
    walks = [sql.walk_range(path, *bounds[0])]
    for (lo, hi), child in zip(bounds[1:], children, strict=True):
        out, _ = child.communicate()
        if child.returncode == 0:
            walks.append(sql.RangeWalk(**json.loads(out)))
        else:  # the child could not run: walk that range here instead
            walks.append(sql.walk_range(path, lo, hi))
    return walks


# --- services over the log -------------------------------------------------------


def list_events(
    session: Session, case_id: int | None = None, *, limit: int = 1000, after: int = 0
) -> list[AuditEvent]:
    """The audit trail: a case's events, or (managers and auditors) the whole log."""
    if case_id is None:
        require_role(session, Role.MANAGER, Role.AUDITOR, doing="read the whole audit log")
    else:
        case_for_reading(session, case_id)
    rows = sql.events(session.casefile.conn, case_id=case_id, limit=limit, after=after)
    return [_event(row) for row in rows]


def _event(row: sqlite3.Row) -> AuditEvent:
    payload = json.loads(row["payload"])
    data = payload.get("data") if isinstance(payload, dict) else None
    return AuditEvent(
        seq=int(row["seq"]),
        at=from_iso(row["at"]),
        actor=str(row["actor"]),
        action=str(row["action"]),
        entity=str(row["entity"]),
        entity_id=row["entity_id"],
        case_id=row["case_id"],
        data=data if isinstance(data, dict) else {},
        hash=str(row["hash"]),
    )


def verify(
    session: Session | None, path: Path | None = None, expect: Checkpoint | None = None
) -> VerifyResult:
    """Verify the audit chain, the evidence, and every row the log vouches for
    (:mod:`caseview.storage.rowcheck`); with ``expect``, that the log still holds that
    checkpoint.

    With a session it is the session's own store that is verified (``path`` is then
    not used), and the check is itself logged as an ``integrity.verified`` event. On a
    case file anyone holding it may check it. On a team server the database shows a
    worker only their own cases, so only a manager or an auditor can verify it
    (:func:`_require_verifier`); there everything is read in one snapshot over the
    session's own connection, while others go on working.

    Without a session, ``path`` is a case file, checked read-only and not logged: an
    independent third party must be able to repeat the check.
    """
    if session is None:
        if path is None:
            raise UsageError("Say which case file to verify.")
        return _verify_all_of_file(path, expect)
    require_verifier(session)
    store = session.casefile
    if dialect.is_server(store.conn):
        with store.read() as conn:
            result = _with_evidence(_verify_server(conn, expect), conn)
    else:
        result = _verify_all_of_file(Path(store.path), expect)
    record_alone(
        store,
        at=session.now(),
        actor=session.actor,
        action="integrity.verified",
        entity="case_file",
        data={
            "intact": result.intact,
            "events": result.events,
            "head": str(result.head),
            "first_break": result.first_break,
            "evidence_problems": list(result.evidence_problems),
            "expected_head": str(expect) if expect else None,
        },
    )
    return result


def require_verifier(session: Session) -> None:
    """Whether ``session`` may verify its store: anyone holding a case file; on a team
    server a manager or an auditor, as the database hides other cases from a worker
    (whose check would find breaks that are only rows they cannot see)."""
    if session.role is Role.WORKER and dialect.shows_workers_only_their_cases(
        session.casefile.conn
    ):
        raise PermissionDenied(
            "Verifying the whole store on the server needs a manager or an auditor: the "
            "server shows a worker only the cases allocated to them. Ask a manager or an "
            "auditor to run the check.",
            rule="role",
        )


def _verify_all_of_file(path: Path, expect: Checkpoint | None) -> VerifyResult:
    try:
        return _with_evidence(verify_chain(path, expect), str(path.resolve()))
    except sqlite3.DatabaseError as exc:  # its log cannot be read at all: removed, damaged
        return unreadable(str(exc))


def unreadable(detail: str) -> VerifyResult:
    """What verify finds in a case file SQLite cannot read as a whole (its header is
    SQLite's, but a page, its schema or its log cannot be read): a finding, exit 4 on the
    command line, not a failure to check."""
    return VerifyResult(
        events=0,
        head=Checkpoint(0, GENESIS_HASH),
        evidence_problems=(
            f"the case file cannot be read as a whole ({detail}): it is damaged, or was "
            "changed with another tool, so it vouches for nothing until it is restored "
            "from a backup",
        ),
    )


def _with_evidence(chain: VerifyResult, store: str | sqlite3.Connection) -> VerifyResult:
    """``chain`` with the row check (on an intact chain only: a broken one vouches for
    nothing after its break) and the evidence checks, of the case file at ``store`` or
    over a server's connection, in the same snapshot as the chain."""
    # Local import: captures records its events through this module.
    from caseview.captures import ATTESTATIONS

    row_break = rowcheck.check_rows(store, ATTESTATIONS) if chain.first_break is None else None
    problems = ([str(row_break)] if row_break is not None else []) + integrity.run_checks(store)
    return dataclasses.replace(chain, evidence_problems=tuple(problems), row_break=row_break)


# --- the file-wide view -------------------------------------------------------------------

EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "all": (),
    "logins": ("login",),
    "users": ("user",),
    "policies": ("policy",),
    "exports": ("export",),
}
"""The kinds of event the file-wide view filters by: each names its action families
(``login`` is ``login`` and every ``login.*``); "all" is every event."""


def list_file_events(
    session: Session,
    *,
    kind: str = "all",
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[AuditEvent]:
    """The whole file's events, newest first, filtered: a ``kind`` of
    :data:`EVENT_KINDS`, by ``actor``, at or after ``since`` and before ``until``.

    Managers and auditors see every event, those about no case too (logins, failed
    logins, accounts, policy); a worker sees only the events of the cases allocated to
    them.
    """
    if kind not in EVENT_KINDS:
        raise UsageError(
            f"There is no kind of event {kind!r}; use one of {', '.join(EVENT_KINDS)}."
        )
    case_ids: tuple[int, ...] | None = None
    if session.role is Role.WORKER:
        case_ids = tuple(
            int(row["id"]) for row in people_sql.list_cases(session.casefile.conn, session.user.id)
        )
    rows = sql.filtered_events(
        session.casefile.conn,
        families=EVENT_KINDS[kind],
        actor=actor.strip().lower() if actor and actor.strip() else None,
        since=to_iso(since) if since is not None else None,
        until=to_iso(until) if until is not None else None,
        case_ids=case_ids,
        limit=limit,
    )
    return [_event(row) for row in rows]
