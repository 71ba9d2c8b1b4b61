"""A team's server (PostgreSQL, issue 14): appends by 20 clients at once, and verify.

Runs a throwaway server of its own, started by the tests' ``tests/pg_server.py``
(Debian's ``postgresql`` package; imported by path), with the tests' settings (fsync,
synchronous_commit and full_page_writes off: the same for both sides of every ratio)
and a buffer pool of ``SHARED_BUFFERS``, as a server sized for a million events has.

Appends: 20 client processes, each signed in as a different worker allocated to one
case, append audit events through Caseview's real paths, in two kinds:

- *events on their own* (``audit.record_alone``): what a sign-in, an export or a check
  records, with no other change. One statement, ``caseview_append_event``, its own
  transaction: the database takes the log's lock, numbers, links, hashes and inserts
  the event, and commits, with no round trip to the client while it holds the lock.
  This is the audit append itself; the target applies to it.
- *events with a change* (``ServerFile.write()`` + ``audit.record``): what every other
  action does. A write holds the log's lock from BEGIN to COMMIT, so that a service's
  checks and the change they allow are one step (the meter's count and the look, a
  request's state and the decision), as on a case file; three round trips, two of
  them under the lock. Reported beside it.

Against them, in the same run, on the same server, the same 20 processes on the same
connections each INSERT a row of the same size into a plain table (an identity seq,
payload, prev_hash, hash; no lock, no trigger, no row-level security), one per
transaction. Target: events on their own at least half the bare rate.

Between the two, a *bare chained append*: a function that takes a lock, reads the head,
hashes and inserts into a table like the bare one, with none of Caseview's checks (who
is signed in, their account, group and allocation), generated copies or notice. It
shows what serialising the chain costs by itself, and so how much of the gap to the
bare rate the database's checks make.

The four alternate, run by run. Afterwards the chain must verify and hold every event
appended (none lost). Before them, one client alone does all four: what each costs
when nobody waits for the lock.

Verify: a log of 1,000,000 events (``bench_audit``'s: payloads of about 300 bytes,
non-ASCII text) written with COPY by the superuser with triggers off, then a manager
added through the services; ``audit.verify`` must find it intact before anything is
timed. Timed: the chain walk alone (``audit.verify_chain`` over the manager's own
connection, in one snapshot: the server hashes and links every event itself and sends
counts), and the whole ``verify`` (chain, row
check, evidence checks, and its own ``integrity.verified`` event). Target: 500,000
events/s. Then the same on a second 1,000,000-event log whose events make rows
(``bench_audit.row_events``: sources with their blobs, observations, viewings, logins),
where the row check has work to do (reported; as on a case file, no target).

Beside each wall-clock figure: this process's CPU seconds, and the server backend's,
per event; on a machine with few CPUs, the client and the server share them.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_audit import event, row_events, rows
from psycopg import sql
from run import REPEATS, rate, ratio, scaled, timed

from caseview import accounts, audit, cases
from caseview.clock import system_clock
from caseview.session import Session
from caseview.storage.logins import SERVER_PASSWORD_RECORD
from caseview.storage.postgres import install
from caseview.storage.server import ServerAddress, ServerFile

CLIENTS = 20
RATIO_TARGET = 0.5
VERIFY_TARGET = 500_000  # events/s
SHARED_BUFFERS = "1GB"
PASSWORD = "benchmark pass phrase"
BARE_TABLE = (
    "CREATE TABLE bench_bare (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " payload text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL)"
)
BARE_INSERT = "INSERT INTO bench_bare (payload, prev_hash, hash) VALUES (?, ?, ?)"
# The chain with nothing else: the same lock, head, hash and insert as
# caseview_append_event, into a table like bench_bare, with no checks, copies or notice.
BARE_CHAIN = (
    "CREATE TABLE bench_chain (seq bigint PRIMARY KEY,"
    " payload text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL)",
    """CREATE FUNCTION bench_chain_append(body text, OUT event_seq bigint, OUT event_hash text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    DECLARE
        prev text;
        payload text;
    BEGIN
        PERFORM pg_advisory_xact_lock(7161052019141700002);
        SELECT c.seq, c.hash INTO event_seq, prev FROM bench_chain c ORDER BY c.seq DESC LIMIT 1;
        event_seq := coalesce(event_seq, 0) + 1;
        prev := coalesce(prev, repeat('0', 64));
        payload := left(body, -1) || ',"seq":' || event_seq || '}';
        event_hash := encode(sha256(convert_to(prev || payload, 'UTF8')), 'hex');
        INSERT INTO bench_chain VALUES (event_seq, payload, prev, event_hash);
    END $$""",
)
BARE_CHAIN_APPEND = "SELECT * FROM bench_chain_append(?)"
WAIT_S = 600  # for a client: a benchmark that waits longer has gone wrong
TESTS = Path(__file__).resolve().parent.parent / "tests"


def start_server() -> Any:
    """The tests' throwaway server, with a bigger buffer pool."""
    # By path: the tests' helper is not part of the package (it needs Debian's server).
    sys.path.insert(0, str(TESTS))
    import pg_server

    pg_server.SETTINGS["shared_buffers"] = SHARED_BUFFERS
    return pg_server.start_pg_server()


def server_cpu(conn: Any) -> Callable[[], float]:
    """Seconds of CPU the server backend of ``conn`` has used so far (Linux /proc)."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    return used


# --- appends -------------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    people_url: str
    username: str
    case_id: int
    count: int


def _appends(store: ServerFile, me: Client, phase: str) -> None:
    """``me.count`` events by ``me``: bare INSERTs, or Caseview's appends."""
    data = event(0)["data"]
    body = audit.canonical_json(event(0) | {"at": "2026-11-24T09:00:00Z"})
    if phase == "bare":
        for _ in range(me.count):
            store.pg.execute(BARE_INSERT, (body, "0" * 64, "0" * 64))  # one transaction each
        return
    if phase == "chain":
        for _ in range(me.count):
            store.pg.execute(BARE_CHAIN_APPEND, (body,))
        return
    fields = {
        "actor": me.username,
        "action": "bench.appended",
        "entity": "case",
        "entity_id": me.case_id,
        "case_id": me.case_id,
        "data": data,
    }
    if phase == "alone":
        for _ in range(me.count):
            audit.record_alone(store, at=system_clock(), **fields)
        return
    for _ in range(me.count):
        with store.write() as conn:
            audit.record(conn, at=system_clock(), **fields)


def _client(me: Client, commands: Any, results: Any, barrier: Any) -> None:
    """One client process: signed in as ``me.username``, runs each phase it is told to."""
    store = ServerAddress(me.people_url).connect_as(me.username, PASSWORD)
    try:
        while (phase := commands.get()) is not None:
            barrier.wait(WAIT_S)
            start = time.perf_counter()
            _appends(store, me, phase)
            results.put(time.perf_counter() - start)
    except BaseException as exc:
        results.put(exc)  # the parent raises it rather than wait for this client for ever
        barrier.abort()
        raise
    finally:
        store.close()


def bench_appends(server: Any) -> None:
    per_client = scaled(250)
    total = per_client * CLIENTS
    address = ServerAddress(server.create_database("bench_appends"))
    with address.connect_owner() as owner:
        accounts.set_up_server(owner, "boss", PASSWORD)
        boss = accounts.login(owner, "boss", PASSWORD)
        case = cases.create_case(boss, "BENCH-1", "Twenty people at once")
        names = [f"worker{n:02d}" for n in range(CLIENTS)]
        for name in names:
            accounts.add_user(boss, name, "worker", PASSWORD)
            cases.allocate(boss, case.id, name)
        with owner.write() as conn:
            conn.execute(BARE_TABLE)
            conn.execute(f"GRANT INSERT ON bench_bare TO {address.prefix}_worker")
            for statement in BARE_CHAIN:
                conn.execute(statement)
        start_seq = audit.head(boss.casefile.conn).seq

    # One client alone first: what one append costs, with nobody waiting for the lock.
    alone = Client(address.for_people, names[0], case.id, scaled(200))
    with ServerAddress(alone.people_url).connect_as(alone.username, PASSWORD) as store:
        _appends(store, alone, "caseview")  # warm-up
        one_bare = timed(lambda: _appends(store, alone, "bare"))
        one_chain = timed(lambda: _appends(store, alone, "chain"))
        one_alone = timed(lambda: _appends(store, alone, "alone"))
        one_appended = timed(lambda: _appends(store, alone, "caseview"))
    rate("one client alone: bare INSERT loop", alone.count, one_bare, unit="rows/s")
    rate("one client alone: bare chained append", alone.count, one_chain)
    rate("one client alone: events on their own (record_alone)", alone.count, one_alone)
    rate("one client alone: events with a change (write + record)", alone.count, one_appended)
    start_seq += alone.count * (2 * REPEATS + 1)

    context = multiprocessing.get_context("spawn")  # no fork of a process with connections
    barrier = context.Barrier(CLIENTS + 1)
    results = context.Queue()
    commands = [context.Queue() for _ in names]
    processes = [
        context.Process(
            target=_client,
            args=(Client(address.for_people, name, case.id, per_client), queue, results, barrier),
        )
        for name, queue in zip(names, commands, strict=True)
    ]
    for process in processes:
        process.start()

    def run(phase: str) -> float:
        for queue in commands:
            queue.put(phase)
        barrier.wait(WAIT_S)
        start = time.perf_counter()
        for _ in processes:
            if isinstance(found := results.get(timeout=WAIT_S), BaseException):
                raise RuntimeError("a client failed") from found
        return time.perf_counter() - start

    phases = ("bare", "chain", "alone", "caseview")
    seconds: dict[str, list[float]] = {phase: [] for phase in phases}
    try:
        for phase in phases:  # a warm-up of each
            run(phase)
        for _ in range(REPEATS):
            for phase in phases:
                seconds[phase].append(run(phase))
    finally:
        for queue in commands:
            queue.put(None)
        for process in processes:
            process.join(WAIT_S)

    bare = rate(f"bare INSERT loop, {CLIENTS} clients", total, seconds["bare"], unit="rows/s")
    chained = rate(f"bare chained append, {CLIENTS} clients", total, seconds["chain"])
    ratio("bare chained append / bare INSERTs", chained, bare)
    on_own = rate(f"events on their own (record_alone), {CLIENTS} clients", total, seconds["alone"])
    ratio("events on their own / bare INSERTs", on_own, bare, target=RATIO_TARGET)
    ratio("events on their own / bare chained append", on_own, chained)
    with_change = rate(
        f"events with a change (write + record), {CLIENTS} clients", total, seconds["caseview"]
    )
    ratio("events with a change / bare INSERTs", with_change, bare)

    with address.connect_owner() as owner:
        manager = accounts.login(owner, "boss", PASSWORD)
        result = audit.verify(manager, None)
        expected = start_seq + 2 * total * (REPEATS + 1) + 1  # the manager's sign-in too
        assert result.intact and result.events == expected, (result, expected)
        print(f"  (the chain verifies: {result.events:,} events, none lost)")
    server.drop_database("bench_appends")


# --- verify ----------------------------------------------------------------------------


def _copy(conn: Any, table: str, columns: list[str], values: Iterator[tuple[Any, ...]]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with conn.cursor().copy(statement) as copy:
        for row in values:
            copy.write_row(row)


def fill_chain(su: Any, count: int) -> None:
    """``count`` events from the genesis, exactly as ``audit.record`` writes them."""
    _copy(su, "audit_log", ["seq", "payload", "prev_hash", "hash"], rows(count))


def fill_rows(su: Any, count: int) -> None:
    """A log of ``count`` events that make rows, and those rows (``bench_audit``'s)."""
    prev = "0" * 64
    log: list[tuple[Any, ...]] = []
    tables: dict[str, list[dict[str, Any]]] = {}
    blobs: list[tuple[Any, ...]] = []

    def flush() -> None:
        _copy(su, "audit_log", ["seq", "payload", "prev_hash", "hash"], iter(log))
        for table, found in tables.items():
            columns = list(found[0])
            _copy(su, table, columns, (tuple(r[c] for c in columns) for r in found))
        _copy(su, "blobs", ["sha256", "size", "media_type", "content", "created_at"], iter(blobs))
        log.clear(), tables.clear(), blobs.clear()

    for seq, (table, e, row) in enumerate(row_events(count), 1):
        payload = audit.canonical_json({**e, "seq": seq})
        digest = audit.chain_hash(prev, payload)
        log.append((seq, payload, prev, digest))
        prev = digest
        if row is not None:
            body = row.pop("_body", None)
            if body is not None:
                blobs.append((row["body_sha256"], len(body), "text/html", body, row["created_at"]))
            if table == "users":  # on a server the login role keeps the password
                row["password_hash"] = SERVER_PASSWORD_RECORD
            tables.setdefault(table, []).append(row)
        if len(log) >= 50_000:
            flush()
    flush()


@dataclass
class Log:
    name: str
    session: Session
    owner: ServerFile


def build_log(server: Any, name: str, fill: Callable[[Any, int], None], count: int) -> Log:
    """A database holding a ``count``-event log, written by ``fill`` as the superuser with
    triggers off, and a manager who signs in to verify it."""
    address = ServerAddress(server.create_database(name))
    owner = address.connect_owner()
    install.install(owner.pg.raw, prefix=address.prefix)
    with server.connect(name) as su:
        su.execute("SET session_replication_role = replica")  # no triggers: a bulk load
        with su.transaction():
            fill(su, count)
        su.execute("VACUUM ANALYZE")  # as autovacuum would, before anyone reads
    with server.connect(name) as su:
        users = su.execute("SELECT count(*) FROM users").fetchone()[0]
    if users == 0:
        accounts.create_first_manager(owner, "mona", PASSWORD)
    else:  # the rows' own users: mona, a manager, only needs a login of her own
        install.create_login(owner.pg.raw, address.prefix, "mona", PASSWORD, "manager")
    session = accounts.login(owner, "mona", PASSWORD)
    check = audit.verify(session, None)
    assert check.intact, (check.problem, check.evidence_problems)
    return Log(name, session, owner)


def bench_verify(log: Log, count: int, what: str, *, target: float | None) -> None:
    """The chain walk alone, then the whole verify, each with the CPU it took here and
    in the server's backend."""
    store = log.session.casefile
    backend = server_cpu(store.conn)
    for name, run in (
        (f"chain walk (verify_chain), {what}", lambda: audit.verify_chain(store)),
        (f"whole verify, {what}", lambda: audit.verify(log.session, None)),
    ):
        cpu: list[float] = []
        before = backend()
        rate(name, count, timed(run, cpu=cpu), target=target)
        server_s = (backend() - before) / REPEATS
        rate("  its CPU here", count, cpu, unit="events/CPU-s")
        print(f"  {'  its CPU in the server':<52} {count / server_s:>12,.0f} events/CPU-s   (mean)")


def main() -> None:
    server = start_server()
    try:
        print(f"  (PostgreSQL {server.version}, shared_buffers {SHARED_BUFFERS}, test settings)")
        bench_appends(server)
        count = scaled(1_000_000)
        chain = build_log(server, "bench_chain", fill_chain, count)
        print(f"  (a log of {count:,} events and the manager's own)")
        bench_verify(chain, count, "events only", target=VERIFY_TARGET)
        chain.owner.close()
        server.drop_database("bench_chain")
        made = build_log(server, "bench_rows", fill_rows, count)
        print(f"  (a log of {count:,} events that make rows)")
        bench_verify(made, count, "events making rows", target=None)
        made.owner.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
