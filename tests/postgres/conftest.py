"""One installed, seeded team database per test module (installing takes a second; the
tests only read, or roll back what they try)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg_seed import Team, build_team
from pg_server import shared_pg_server


@pytest.fixture(scope="module")
def team(request: pytest.FixtureRequest) -> Iterator[Team]:
    """Case A allocated to wren, case B to otto; mona manages, ada audits."""
    server = shared_pg_server(request.session)
    with server.temporary_database(request.module.__name__) as url:
        built = build_team(url)
        try:
            yield built
        finally:
            for person in built.people.values():
                if person.conn is not None:
                    person.conn.close()
            built.owner.close()


@pytest.fixture(autouse=True)
def rolled_back(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test leaves uncommitted on the team's connections is rolled back."""
    yield
    if "team" not in request.fixturenames:
        return
    built: Team = request.getfixturevalue("team")
    for conn in [built.owner, *(p.c for p in built.people.values())]:
        conn.rollback()
