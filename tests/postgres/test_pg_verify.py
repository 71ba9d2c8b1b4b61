"""``verify`` on a team's server finds what it finds on a case file, in the same words.

The demo's story is told twice, once into a case file and once into a PostgreSQL
database (as its owner, through the same services), each built once per module. Each
test tampers with its own copies of both, the same way: on the server as the superuser,
with the table's triggers switched off (``ALTER TABLE ... DISABLE TRIGGER ALL``) and on
again afterwards; on the case file with its triggers dropped. Then ``verify`` must
report the same first break, problem, row and event on both. What only a server has
(who may verify, the triggers and grants that keep the log append-only there) is tested
on the server alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import argon2
import psycopg
import pytest
from pg_server import PgServer, shared_pg_server
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from tamper_support import tampering

from caseview import accounts, audit, demo
from caseview.audit import Checkpoint, VerifyResult
from caseview.errors import PermissionDenied
from caseview.session import Session
from caseview.storage import open_case_file
from caseview.storage.postgres import install
from caseview.storage.rowcheck import RULES
from caseview.storage.server import ROLE_PREFIX_ENV, ServerAddress, ServerFile

PREFIX = "cvv"
OBSERVATION = next(rule for rule in RULES if rule.table == "observations")


@dataclass
class World:
    """The demo told into a case file and into a template database on the server."""

    server: PgServer
    case_file: Path
    template: str
    owner: str
    owner_password: str


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    server = shared_pg_server(request.session)
    with pytest.MonkeyPatch.context() as patch:
        # Quick password hashing for the case file's accounts (as tests/conftest.py does).
        cheap = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        patch.setattr(accounts, "hasher", cheap)
        patch.setenv(ROLE_PREFIX_ENV, PREFIX)
        case_file = tmp_path_factory.mktemp("verify") / "demo.db"
        with server.temporary_database("verify") as url:
            with (
                open_case_file(case_file, create=True) as casefile,
                ServerAddress(url).connect_owner() as owner,
            ):
                install.install(owner.pg.raw, prefix=PREFIX)
                with demo._DemoSite() as site:
                    demo._tell_the_story(casefile, site)
                    demo._tell_the_story(owner, site)
            params = conninfo_to_dict(url)
            built = World(
                server,
                case_file,
                str(params["dbname"]),
                str(params["user"]),
                str(params["password"]),
            )
            assert actions_of_file(built.case_file) == actions_on_server(built, built.template)
            yield built


@dataclass
class Copies:
    """One test's own copies of the two stores."""

    world: World
    case_file: Path
    dbname: str
    owner: ServerFile
    manager: Session
    """The demo's manager, signed in on the server before anything was tampered with (as
    on the case file, so both logs hold the same events)."""

    def session(self, username: str) -> Session:
        """``username`` signed in on the server (as themselves: their own login role)."""
        return accounts.login(self.owner, username, demo.PASSWORD)

    def tamper(self, *statements: str, tables: tuple[str, ...]) -> None:
        """Run ``statements`` on both: on the server as the superuser with the triggers of
        ``tables`` switched off meanwhile, on the case file with every trigger dropped."""
        with self.world.server.connect(self.dbname) as su:
            for table in tables:
                su.execute(
                    sql.SQL("ALTER TABLE {} DISABLE TRIGGER ALL").format(sql.Identifier(table))
                )
            for statement in statements:
                su.execute(statement)
            for table in tables:
                su.execute(
                    sql.SQL("ALTER TABLE {} ENABLE TRIGGER ALL").format(sql.Identifier(table))
                )
        with tampering(self.case_file) as conn:
            for statement in statements:
                conn.execute(statement)

    def superuser(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]:
        return self.world.server.connect(self.dbname)


@pytest.fixture
def copies(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Copies]:
    monkeypatch.setenv(ROLE_PREFIX_ENV, PREFIX)
    case_file = tmp_path / "demo.db"
    shutil.copy(world.case_file, case_file)
    dbname = f"verify_{secrets.token_hex(4)}"
    names = install.role_names(PREFIX)
    with world.server.connect() as su:
        su.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(world.template), sql.Identifier(world.owner)
            )
        )
        su.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))
        su.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}, {}").format(
                sql.Identifier(dbname),
                sql.Identifier(names.worker),
                sql.Identifier(names.manager),
                sql.Identifier(names.auditor),
            )
        )
    url = world.server.url(dbname, world.owner, world.owner_password)
    owner = ServerAddress(url).connect_owner()
    try:
        manager = accounts.login(owner, "demo-manager", demo.PASSWORD)
        with open_case_file(case_file) as casefile:
            accounts.login(casefile, "demo-manager", demo.PASSWORD)
        yield Copies(world, case_file, dbname, owner, manager)
    finally:
        owner.close()  # and the sessions signed in through it
        with world.server.connect() as su:
            su.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))


def actions_of_file(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [str(row[0]) for row in conn.execute("SELECT action FROM audit_log ORDER BY seq")]
    finally:
        conn.close()


def actions_on_server(world: World, dbname: str) -> list[str]:
    with world.server.connect(dbname) as su:
        return [str(row[0]) for row in su.execute("SELECT action FROM audit_log ORDER BY seq")]


def first_seq(copies: Copies, action: str) -> int:
    return actions_of_file(copies.case_file).index(action) + 1


def head_of_file(path: Path) -> Checkpoint:
    return audit.verify_chain(path).head


def found(result: VerifyResult) -> tuple[Any, ...]:
    """What verify found, without the head's hash (each store's story has its own times)."""
    return (
        result.intact,
        result.events,
        result.head.seq,
        result.first_break,
        result.problem,
        result.row_break,
        result.evidence_problems,
    )


def both(
    copies: Copies, expect: Callable[[Path], Checkpoint | None] | None = None
) -> tuple[VerifyResult, VerifyResult]:
    """Verify the server's copy as its manager and the case file's, read-only; ``expect``
    gives each its checkpoint (from the case file, or the server's owner connection)."""
    on_server = audit.verify(copies.manager, None, expect(Path()) if expect else None)
    on_file = audit.verify(None, copies.case_file, expect(copies.case_file) if expect else None)
    return on_server, on_file


# ---- who may verify, and an intact store -----------------------------------------------


def test_an_untouched_store_is_intact_for_a_manager_and_an_auditor(copies: Copies) -> None:
    for username in ("demo-manager", "demo-auditor"):
        session = copies.session(username)
        before = audit.head(session.casefile.conn)
        result = audit.verify(session, None)
        assert result.intact, (result.problem, result.evidence_problems)
        assert (result.events, result.head) == (before.seq, before)


def test_an_auditors_check_is_itself_an_event(copies: Copies) -> None:
    ada = copies.session("demo-auditor")
    result = audit.verify(ada, None)
    with copies.superuser() as su:
        row = su.execute(
            "SELECT seq, actor, action, payload FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert row is not None
    seq, actor, action, payload = row
    assert (seq, actor, action) == (result.head.seq + 1, "demo-auditor", "integrity.verified")
    data = json.loads(payload)["data"]
    assert (data["intact"], data["events"], data["head"]) == (True, result.events, str(result.head))
    # The event extends the chain the check vouched for, so the next check holds too.
    assert audit.verify(ada, None, result.head).intact


def test_a_worker_is_refused_rather_than_shown_breaks(copies: Copies) -> None:
    worker = copies.session("demo-worker")
    before = audit.head(copies.owner.conn)
    with pytest.raises(PermissionDenied, match="needs a manager or an auditor"):
        audit.verify(worker, None)
    assert audit.head(copies.owner.conn) == before  # and nothing was recorded


def test_verify_chain_walks_a_server_over_its_connection(copies: Copies) -> None:
    manager = copies.manager
    result = audit.verify_chain(manager.casefile)
    assert result.intact and result.events == result.head.seq
    assert not manager.casefile.conn.in_transaction  # its snapshot has ended


def test_the_server_checks_the_chain_as_the_rows_walked_here_would(copies: Copies) -> None:
    """The server hashes and links the events itself; walked here row by row (as when
    something does not hold), the same range gives the same ends, and the same first
    break once an event is altered."""
    from caseview.storage import chain

    conn = copies.manager.casefile.conn
    last = audit.head(conn).seq
    for lo, hi in ((1, last), (2, last - 1), (last, last)):
        with copies.manager.casefile.read() as snapshot:
            assert chain.walk_server(snapshot, lo, hi) == chain.walk_server_rows(snapshot, lo, hi)
    seq = first_seq(copies, "subject.added")
    copies.tamper(
        f"UPDATE audit_log SET hash = upper(hash) WHERE seq = {seq}", tables=("audit_log",)
    )
    with copies.manager.casefile.read() as snapshot:
        walked = chain.walk_server(snapshot, 1, last)
        assert walked == chain.walk_server_rows(snapshot, 1, last)
    assert walked.break_seq == seq


def note(session: Session) -> None:
    """One event appended by ``session``, in a write of its own."""
    with session.casefile.write() as conn:
        audit.record(
            conn, at=session.now(), actor=session.actor, action="drill.noted", entity="case"
        )


def test_the_chain_walk_waits_for_no_one(copies: Copies) -> None:
    """It reads the head of its snapshot without the append lock, so a write held open
    elsewhere does not stop it (nor does it stop anyone appending)."""
    worker = copies.session("demo-worker")
    copies.manager.casefile.conn.execute("SET lock_timeout = '5s'")  # a wait fails, not hangs
    with worker.casefile.write():  # holds the log's lock until the block ends
        note(worker)
        result = audit.verify_chain(copies.manager.casefile)
    assert result.intact


def test_events_appended_during_a_check_are_not_part_of_it(copies: Copies) -> None:
    manager, worker = copies.manager, copies.session("demo-worker")
    with manager.casefile.read() as conn:
        seen = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]  # the snapshot
        note(worker)
        during = audit.verify_chain(manager.casefile)
    assert during.intact and during.head.seq == seen
    after = audit.verify_chain(manager.casefile)
    assert after.intact and after.head.seq == seen + 1


# ---- tampering: the same report on both engines ---------------------------------------


def test_an_edited_payload_is_a_break_at_its_event(copies: Copies) -> None:
    seq = first_seq(copies, "subject.added")
    copies.tamper(
        f"UPDATE audit_log SET payload = replace(payload, 'Jordan', 'Jordi') WHERE seq = {seq}",
        tables=("audit_log",),
    )
    on_server, on_file = both(copies)
    assert on_server.first_break == seq
    assert on_server.problem == f"event {seq} was altered: its hash does not match its content"
    assert on_server.row_break is None  # a broken chain vouches for nothing after it
    assert found(on_server) == found(on_file)


def test_a_deleted_event_is_a_break_at_its_seq(copies: Copies) -> None:
    seq = first_seq(copies, "case.allocated")
    copies.tamper(f"DELETE FROM audit_log WHERE seq = {seq}", tables=("audit_log",))
    on_server, on_file = both(copies)
    assert on_server.first_break == seq
    assert on_server.problem == (
        f"event {seq} is missing or out of place (event {seq + 1} comes next): "
        "events were deleted or reordered"
    )
    assert found(on_server) == found(on_file)


def test_an_event_moved_out_of_the_numbering_is_found(copies: Copies) -> None:
    last = len(actions_of_file(copies.case_file))
    copies.tamper(f"UPDATE audit_log SET seq = -7 WHERE seq = {last}", tables=("audit_log",))
    on_server, on_file = both(copies)
    assert on_server.first_break == last
    assert "an event is numbered -7" in on_server.problem
    assert found(on_server) == found(on_file)


def test_an_edited_evidence_column_names_the_source_and_its_event(copies: Copies) -> None:
    seq = first_seq(copies, "source.recorded")
    copies.tamper(
        "UPDATE sources SET final_url = 'https://elsewhere.example/' WHERE id = 1",
        tables=("sources",),
    )
    on_server, on_file = both(copies)
    broken = on_server.row_break
    assert broken is not None
    assert (broken.table, broken.row, broken.kind, broken.seq, broken.action, broken.columns) == (
        "sources",
        "1",
        "changed",
        seq,
        "source.recorded",
        ("final_url",),
    )
    assert on_server.first_break is None and not on_server.intact
    assert on_server.evidence_problems[0] == str(broken)
    assert found(on_server) == found(on_file)


def test_a_password_record_put_on_an_account_is_named_on_both(copies: Copies) -> None:
    # On a case file the hash of a known password; on a server, where the login role
    # keeps the password, any record but the marker is not Caseview's.
    copies.tamper(
        "UPDATE users SET password_hash = (SELECT password_hash FROM users"
        " WHERE username = 'demo-worker') || 'x' WHERE username = 'demo-manager'",
        tables=("users",),
    )
    on_server, on_file = both(copies)
    for result in (on_server, on_file):
        broken = result.row_break
        assert broken is not None
        assert (broken.table, broken.kind, broken.columns) == (
            "users",
            "changed",
            ("password_hash",),
        )
    assert found(on_server) == found(on_file)


def test_a_row_added_behind_the_logs_back_is_named(copies: Copies) -> None:
    columns = OBSERVATION.key + OBSERVATION.compared
    made = {"id": "900", "root_id": "900", "supersedes": "NULL", "text": "'Added later'"}
    copies.tamper(
        f"INSERT INTO observations ({', '.join(columns)})"
        f" SELECT {', '.join(made.get(c, c) for c in columns)} FROM observations WHERE id = 1",
        tables=("observations",),
    )
    on_server, on_file = both(copies)
    broken = on_server.row_break
    assert broken is not None
    assert (broken.table, broken.row, broken.kind, broken.seq) == (
        "observations",
        "900",
        "added",
        None,
    )
    assert "observations row 900 is in no audit event" in on_server.evidence_problems[0]
    assert found(on_server) == found(on_file)


def test_a_deleted_row_names_the_event_that_made_it(copies: Copies) -> None:
    seq = first_seq(copies, "note.saved")
    copies.tamper("DELETE FROM notes WHERE id = 1", tables=("notes",))
    on_server, on_file = both(copies)
    broken = on_server.row_break
    assert broken is not None
    assert (broken.table, broken.row, broken.kind, broken.seq) == ("notes", "1", "deleted", seq)
    assert found(on_server) == found(on_file)


# ---- checkpoints --------------------------------------------------------------------------


def test_a_checkpoint_beyond_the_log_says_events_were_removed(copies: Copies) -> None:
    total = len(actions_of_file(copies.case_file))
    checkpoints = {
        copies.case_file: head_of_file(copies.case_file),
        Path(): audit.head(copies.owner.conn),
    }
    copies.tamper(f"DELETE FROM audit_log WHERE seq > {total - 3}", tables=("audit_log",))
    on_server, on_file = both(copies, checkpoints.__getitem__)
    assert on_server.first_break == total - 2
    assert on_server.problem == (
        f"the log ends at event {total - 3} but the checkpoint names event {total}: "
        f"events from {total - 2} on were removed"
    )
    assert found(on_server) == found(on_file)


def test_a_rewritten_log_no_longer_holds_its_checkpoint(copies: Copies) -> None:
    """Someone rewrites the last event (the manager's sign-in) with a hash to match: the
    chain walks, but no longer has the hash the checkpoint printed in an exported note."""
    checkpoints = {
        copies.case_file: head_of_file(copies.case_file),
        Path(): audit.head(copies.owner.conn),
    }
    last = checkpoints[Path()].seq
    with copies.superuser() as su:
        su.execute("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        rewrite_last(su, "%s", last)
        su.execute("ALTER TABLE audit_log ENABLE TRIGGER ALL")
    with tampering(copies.case_file) as conn:
        rewrite_last(conn, "?", last)
    assert audit.verify(None, copies.case_file).intact  # without the checkpoint
    on_server, on_file = both(copies, checkpoints.__getitem__)
    assert on_server.first_break == last
    assert on_server.problem == (
        f"event {last} no longer has the checkpoint's hash: the log was rewritten since "
        "the checkpoint was taken"
    )
    assert found(on_server) == found(on_file)


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda payload: '{"0":1,' + payload[1:],  # a key before its action
        lambda payload: payload[:-1] + ",",  # not JSON
    ],
    ids=["a key before its action", "not JSON"],
)
def test_an_event_rewritten_into_one_caseview_never_writes_is_the_same_break_on_both(
    copies: Copies, rewrite: Callable[[str], str]
) -> None:
    last = audit.head(copies.owner.conn).seq
    with copies.superuser() as su:
        su.execute("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        rewrite_last(su, "%s", last, rewrite)
        su.execute("ALTER TABLE audit_log ENABLE TRIGGER ALL")
    with tampering(copies.case_file) as conn:
        rewrite_last(conn, "?", last, rewrite)
    on_server, on_file = both(copies)
    assert on_server.first_break is None and on_server.row_break is not None
    assert (on_server.row_break.kind, on_server.row_break.seq) == ("malformed", last)
    assert found(on_server) == found(on_file)


def _note_added(payload: str) -> str:
    return payload.replace('"data":{}', '"data":{"note":"nothing to see"}')


def rewrite_last(
    conn: Any, mark: str, seq: int, rewrite: Callable[[str], str] = _note_added
) -> None:
    """Change event ``seq``'s payload (by default not its row's data) and give it a
    matching hash."""
    prev, payload = conn.execute(
        f"SELECT prev_hash, payload FROM audit_log WHERE seq = {mark}", (seq,)
    ).fetchone()
    changed = rewrite(payload)
    assert changed != payload
    digest = hashlib.sha256((prev + changed).encode()).hexdigest()
    conn.execute(
        f"UPDATE audit_log SET payload = {mark}, hash = {mark} WHERE seq = {mark}",
        (changed, digest, seq),
    )


# ---- what keeps the log append-only on a server ----------------------------------------


def test_triggers_left_switched_off_are_reported(copies: Copies) -> None:
    with copies.superuser() as su:
        su.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only_update")
    result = audit.verify(copies.manager, None)
    assert result.first_break is None and not result.intact
    assert result.evidence_problems == (
        "audit_log's guard triggers are not all in force (audit_log_append_only_update "
        "switched off or dropped): the database no longer refuses changes to the log",
    )


def test_a_grant_to_change_the_log_is_reported(copies: Copies) -> None:
    worker = install.role_names(PREFIX).worker
    with copies.superuser() as su:
        su.execute(
            sql.SQL("GRANT UPDATE (payload) ON audit_log TO {}").format(sql.Identifier(worker))
        )
        su.execute(sql.SQL("GRANT DELETE ON audit_log TO {}").format(sql.Identifier(worker)))
    result = audit.verify(copies.session("demo-auditor"), None)
    assert result.evidence_problems == (
        f"audit_log can be changed by {worker} (DELETE), {worker} (UPDATE): Caseview grants "
        "nobody but the database's owner more than SELECT and INSERT on the log",
    )


def test_a_copy_column_no_longer_generated_is_a_changed_definition(copies: Copies) -> None:
    with copies.superuser() as su:
        su.execute("ALTER TABLE audit_log ALTER COLUMN actor DROP EXPRESSION")
    result = audit.verify(copies.manager, None)
    assert result.evidence_problems == (
        "audit_log's definition was changed: its columns may no longer be the payload's own values",
    )
