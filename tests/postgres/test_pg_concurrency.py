"""Twenty client processes write to one case on the server at once (issue 14): captures,
observations and requests, each through the services as its own signed-in person.

Nothing is lost (every row each client made is there, with its audit event), no
deadlock or lock error reaches anyone, and the chain verifies afterwards.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from pg_server import pg_database  # noqa: F401  (a fixture)
from psycopg.conninfo import conninfo_to_dict

from caseview import accounts, audit, cases
from caseview.clock import system_clock
from caseview.session import Session
from caseview.storage.server import ServerAddress

CLIENT = Path(__file__).with_name("pg_client.py")
CLIENTS = 20
ROUNDS = 3
PASSWORD = "a password for the drill"

# Twenty Python processes on a loaded two-core machine: far beyond the suite's default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _all_say(procs: list[subprocess.Popen[str]], word: str) -> None:
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == f"{word}\n", proc.stderr.read() if proc.stderr else line


def _tell_all(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    """Ends any client still running (a failed assertion or a timeout): nothing is left."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _people_url(owner_url: str) -> str:
    p = conninfo_to_dict(owner_url)
    return f"postgresql://{p['host']}:{p['port']}/{p['dbname']}"


def test_twenty_clients_write_to_one_case_at_once_and_nothing_is_lost(
    pg_database: str,  # noqa: F811
) -> None:
    with ServerAddress(pg_database).connect_owner() as owner:
        accounts.set_up_server(owner, "mona", PASSWORD)
    address = ServerAddress(_people_url(pg_database))
    mona = accounts.login(address, "mona", PASSWORD, clock=system_clock)
    try:
        _drill(mona, address)
    finally:
        mona.close()


def _drill(mona: Session, address: ServerAddress) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "caseview"))
    from analysis_support import approved_request

    accounts.add_user(mona, "max", "manager", PASSWORD)
    names = [f"w{n:02}" for n in range(CLIENTS)]
    case = cases.create_case(mona, "CP-DRILL", "The drill family")
    subject = cases.add_subject(
        mona, case.id, "Kerry Drill", "parent", handles=["https://social.example/kerry"]
    )
    for name in names:
        accounts.add_user(mona, name, "worker", PASSWORD)
        cases.allocate(mona, case.id, name)
    with (
        accounts.login(address, names[0], PASSWORD, clock=system_clock) as first,
        accounts.login(address, "max", PASSWORD, clock=system_clock) as reviewer,
    ):
        request = approved_request(first, reviewer, case.id, [subject.id])

    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(
                subprocess.Popen(
                    [
                        sys.executable,
                        str(CLIENT),
                        address.path,
                        name,
                        PASSWORD,
                        str(case.id),
                        str(subject.id),
                        str(request.id),
                        str(ROUNDS),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            for name in names
        ]
        stack.callback(_stop, procs)
        _all_say(procs, "ready")  # every client signed in and waiting: then all go at once
        _tell_all(procs)
        # They overlap: none goes past its first round until every one has written.
        _all_say(procs, "wrote")
        _tell_all(procs)
        outcomes = [proc.communicate(timeout=600) for proc in procs]

    for name, proc, (_, err) in zip(names, procs, outcomes, strict=True):
        assert proc.returncode == 0, f"{name} failed:\n{err}"
        assert "deadlock" not in err.lower() and "Traceback" not in err
    reports = [json.loads(out) for out, _ in outcomes]
    assert sorted(r["user"] for r in reports) == names

    events = audit.list_events(mona, case.id, limit=100_000)
    recorded = Counter((e.action, e.entity_id) for e in events)
    for report in reports:
        made = report["made"]
        assert len(made["sources"]) == len(made["observations"]) == ROUNDS
        for source_id in made["sources"]:
            assert recorded[("source.recorded", source_id)] == 1
        for observation_id in made["observations"]:
            assert recorded[("observation.recorded", observation_id)] == 1
        for request_id in made["requests"]:
            assert recorded[("justification.submitted", request_id)] == 1
    by_actor = Counter(e.actor for e in events if e.action == "source.recorded")
    assert by_actor == dict.fromkeys(names, ROUNDS)

    result = audit.verify(mona, None)
    assert result.intact, (result.first_break, result.problem, result.evidence_problems)
    assert result.events == audit.head(mona.casefile.conn).seq - 1  # verify logs itself
