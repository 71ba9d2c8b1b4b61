"""Shared fixtures: a fresh case file per test, one session per role, a movable clock."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

# Qt must never look for a screen in tests; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argon2
import hypothesis
import pytest

from caseview import accounts, cases
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.session import Session
from caseview.storage import CaseFile, open_case_file
from ui.browser import prepare_environment

# QtWebEngine (the evidence browser) needs this before any QApplication exists.
prepare_environment()

PASSWORD = "correct horse"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

# No per-example deadline (Hypothesis's default is 200 ms): none of the property tests is
# about speed, and on a loaded machine one slow example would fail a test as "Flaky".
hypothesis.settings.register_profile("caseview", deadline=None)
hypothesis.settings.load_profile("caseview")


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with tiny costs: same code path, milliseconds instead of a second per test."""
    monkeypatch.setattr(
        accounts, "hasher", argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture(autouse=True)
def no_unexpected_logs(
    caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Iterator[None]:
    """A test fails if code logs a warning or error it did not expect (mark allow_logs)."""
    caplog.set_level(logging.WARNING)
    yield
    if request.node.get_closest_marker("allow_logs"):
        return
    loud = [r for r in caplog.get_records("call") if r.levelno >= logging.WARNING]
    assert not loud, f"unexpected log records: {[r.getMessage() for r in loud]}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_logs: the test expects warnings or errors logged")
    config.addinivalue_line(
        "markers", "both_engines: run on a case file and on a PostgreSQL server (tests/engines.py)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test of a ``both_engines`` module that uses a case file runs once per engine;
    one that signs in as a PostgreSQL login role (``wren_psql``) on the server only."""
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines"):
        server_only = "wren_psql" in metafunc.fixturenames
        chosen = ["postgresql"] if server_only else ["sqlite", "postgresql"]
        metafunc.parametrize("engine", chosen, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: where this test's ``casefile`` lives."""
    return str(getattr(request, "param", os.environ.get("CASEVIEW_TEST_ENGINE", "sqlite")))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "case.db"


@pytest.fixture
def casefile(
    engine: str, db_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CaseFile]:
    """A new case file; on ``postgresql``, the owner's connection to a new team database."""
    if engine == "postgresql":
        from engines import server_store

        with server_store(request, monkeypatch) as store:
            yield store  # type: ignore[misc]
        return
    with open_case_file(db_path, create=True) as cf:
        yield cf


@pytest.fixture
def manager(casefile: CaseFile, clock: FixedClock) -> Session:
    accounts.create_first_manager(
        casefile, "mona", PASSWORD, display_name="Mona Manager", clock=clock
    )
    return accounts.login(casefile, "mona", PASSWORD, clock=clock)


def _user(manager: Session, name: str, role: str) -> Session:
    accounts.add_user(manager, name, role, PASSWORD)
    return accounts.login(manager.casefile, name, PASSWORD, clock=manager.clock)


@pytest.fixture
def second_manager(manager: Session) -> Session:
    return _user(manager, "max", "manager")


@pytest.fixture
def worker(manager: Session) -> Session:
    return _user(manager, "wren", "worker")


@pytest.fixture
def other_worker(manager: Session) -> Session:
    """A worker who is NOT allocated to ``case``."""
    return _user(manager, "otto", "worker")


@pytest.fixture
def auditor(manager: Session) -> Session:
    return _user(manager, "ada", "auditor")


@pytest.fixture
def case(manager: Session, worker: Session) -> Case:
    created = cases.create_case(manager, "CP-2026-0042", "Smith family")
    cases.allocate(manager, created.id, worker.user.username)
    return created


@pytest.fixture
def subject(manager: Session, case: Case) -> Subject:
    return cases.add_subject(
        manager, case.id, "Kerry Smith", "parent", handles=["https://social.example/kerry"]
    )


@pytest.fixture
def child(manager: Session, case: Case) -> Subject:
    return cases.add_subject(manager, case.id, "Jay Smith", "child")
