"""The services, unchanged, on a team's PostgreSQL database (issue 14, in progress):
each person's ``ServerFile`` is logged in as their own role, so the database's
row-level security applies to what the services read and write."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg_seed import PREFIX, Team

from caseview import audit, cases
from caseview.browse import signed_in_user
from caseview.errors import PermissionDenied
from caseview.session import Session
from caseview.storage.postgres import install
from caseview.storage.server import ServerFile, open_server


@pytest.fixture
def opened(team: Team) -> Iterator[dict[str, Session]]:
    files: list[ServerFile] = []
    sessions = {}
    for name, person in team.people.items():
        server = open_server(
            team.url, login=install.role_names(PREFIX).login(name), password=person.password
        )
        files.append(server)
        sessions[name] = Session(server, signed_in_user(server, person.id))  # type: ignore[arg-type]
    yield sessions
    for server in files:
        server.close()


def test_each_person_sees_the_cases_the_database_lets_them(opened: dict[str, Session]) -> None:
    assert [c.reference for c in cases.list_cases(opened["wren"])] == ["CP-A"]
    assert [c.reference for c in cases.list_cases(opened["otto"])] == ["CP-B"]
    assert sorted(c.reference for c in cases.list_cases(opened["mona"])) == ["CP-A", "CP-B"]
    assert sorted(c.reference for c in cases.list_cases(opened["ada"])) == ["CP-A", "CP-B"]


def test_a_write_takes_the_log_lock_and_a_nested_write_is_a_savepoint(
    opened: dict[str, Session],
) -> None:
    server = opened["mona"].casefile
    with server.write() as conn:
        held = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        ).fetchone()
        assert held is not None and held[0] == 1
        with pytest.raises(RuntimeError), server.write():
            conn.execute("SELECT 1")
            raise RuntimeError("the inner write fails")
        assert conn.in_transaction
    assert not server.conn.in_transaction
    assert audit.head(server.conn).seq > 0  # type: ignore[arg-type]


def test_a_worker_writes_through_the_services_and_the_chain_holds(
    opened: dict[str, Session], team: Team
) -> None:
    from caseview import notes

    wren = opened["wren"]
    [case_a] = cases.list_cases(wren)
    saved = notes.save(wren, case_a.id, analysis="The posts place the baby at a party.")
    assert saved.version >= 1
    checkpoint = audit.head(opened["mona"].casefile.conn)  # type: ignore[arg-type]
    seq, last = checkpoint.seq, checkpoint.hash
    event = team.owner.execute(
        "SELECT actor, action, case_id, hash FROM audit_log WHERE seq = %s", (seq,)
    ).fetchone()
    assert event == ("wren", "note.saved", case_a.id, last)
    # The database hides case B from wren; she is told it is not hers, as on a case file.
    with pytest.raises(PermissionDenied, match="not allocated to you"):
        notes.save(
            wren,
            next(c for c in cases.list_cases(opened["mona"]) if c.id != case_a.id).id,
            analysis="Not my case.",
        )


def test_on_a_server_only_managers_and_auditors_may_verify(opened: dict[str, Session]) -> None:
    from caseview.errors import PermissionDenied as Refused

    for name in ("mona", "ada"):
        audit.require_verifier(opened[name])  # no refusal
    with pytest.raises(Refused, match="manager or an auditor") as refused:
        audit.require_verifier(opened["wren"])
    assert refused.value.rule == "role"
