"""The permission matrix: every service function a signed-in user can call, as every actor.

The tables below ARE the policy (issue 2, item 5): read them as "who may do what".
``OK`` means allowed; any other value is the ``rule`` a refusal must name. A refusal
must change nothing at all in the case file; an allowed call writes exactly the audit
event in the last column (reads write none).

``abilities`` (what the app and ``case show`` offer) is held to the services: for every
actor and an open or a closed case, each action it answers is tried on the real
service, and its ``allowed`` (and, when refused, its rule and reason) must agree.
"""

from __future__ import annotations

import inspect
import io
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from analysis_support import import_page
from gate_support import URL, approved, make_request, submitted

from caseview import (
    abilities,
    accounts,
    audit,
    captures,
    cases,
    justifications,
    notes,
    observations,
)
from caseview.domain import Case, Subject
from caseview.errors import PermissionDenied
from caseview.justifications import JustificationRecord
from caseview.report import build as report
from caseview.session import Session
from caseview.storage import CaseFile
from caseview.viewings import Permission

PASSWORD = "correct horse"  # the password conftest gives every account

OK = "allowed"
ACTORS = ("manager", "worker", "other_worker", "auditor")
# worker: allocated to the case; other_worker: a worker NOT allocated to it.

# fmt: off
#   service function      manager  worker        other_worker  auditor   audit event if allowed
MATRIX = [
    ("add_user",          OK,      "role",       "role",       "role",   "user.added"),
    ("list_users",        OK,      "role",       "role",       OK,       None),
    ("list_accounts",     OK,      "role",       "role",       OK,       None),
    ("reset_password",    OK,      "role",       "role",       "role",   "user.password_reset"),
    ("unlock",            OK,      "role",       "role",       "role",   "user.unlocked"),
    ("set_active",        OK,      "role",       "role",       "role",   "user.deactivated"),
    ("set_role",          OK,      "role",       "role",       "role",   "user.role_changed"),
    ("change_password",   OK,      OK,           OK,           OK,       "user.password_changed"),
    ("create_case",       OK,      "role",       "role",       "role",   "case.created"),
    ("list_cases",        OK,      OK,           OK,           OK,       None),
    ("get_case",          OK,      OK,           "allocation", OK,       None),
    ("allocate",          OK,      "role",       "role",       "role",   "case.allocated"),
    ("deallocate",        OK,      "role",       "role",       "role",   "case.deallocated"),
    ("members",           OK,      OK,           "allocation", OK,       None),
    ("set_status",        OK,      "role",       "role",       "role",   "case.closed"),
    ("add_subject",       OK,      OK,           "allocation", "role",   "subject.added"),
    ("list_subjects",     OK,      OK,           "allocation", OK,       None),
    ("get_subject",       OK,      OK,           "allocation", OK,       None),
    ("list_events(case)", OK,      OK,           "allocation", OK,       None),
    ("list_events(all)",  OK,      "role",       "role",       OK,       None),
    ("verify",            OK,      OK,           OK,           OK,       "integrity.verified"),
    ("require_verifier",  OK,      OK,           OK,           OK,       None),
    ("list_file_events",  OK,      OK,           OK,           OK,       None),
    ("abilities",         OK,      OK,           OK,           OK,       None),
]

# On a CLOSED case nobody can add material; the rule named is the first one that bites.
#   service function      manager        worker         other_worker  auditor
CLOSED_CASE = [
    ("add_subject",       "case_closed", "case_closed", "allocation", "role"),
]

# Questions to the ethics gate answer with a Permission instead of raising, and write
# nothing whatever the answer; the rule is the one the action itself would refuse by.
#   gate question             manager  worker  other_worker  auditor
GATE_QUESTIONS = [
    ("check_import(self)",     OK,      OK,     "allocation", "role"),
    ("check_import(supplied)", OK,      OK,     "allocation", "role"),
]

# Which cases each actor's list_cases shows (the second case is allocated to nobody).
VISIBLE_CASES = {
    "manager":      {"CP-2026-0042", "CP-2026-0050"},
    "worker":       {"CP-2026-0042"},
    "other_worker": set(),
    "auditor":      {"CP-2026-0042", "CP-2026-0050"},
}
# fmt: on


@dataclass(frozen=True)
class World:
    case: Case
    subject: Subject


CALLS: dict[str, Callable[[Session, World], object]] = {
    "add_user": lambda s, w: accounts.add_user(s, "newbie", "worker", "a long password"),
    "list_users": lambda s, w: accounts.list_users(s),
    "list_accounts": lambda s, w: accounts.list_accounts(s),
    "reset_password": lambda s, w: accounts.reset_password(s, "otto", "a new long password"),
    "unlock": lambda s, w: accounts.unlock(s, "otto"),
    "set_active": lambda s, w: accounts.set_active(s, "otto", False),
    "set_role": lambda s, w: accounts.set_role(s, "otto", "auditor"),
    "change_password": lambda s, w: accounts.change_password(s, PASSWORD, "a new long password"),
    "create_case": lambda s, w: cases.create_case(s, "CP-2026-0099", "Jones family"),
    "list_cases": lambda s, w: cases.list_cases(s),
    "get_case": lambda s, w: cases.get_case(s, w.case.id),
    "allocate": lambda s, w: cases.allocate(s, w.case.id, "otto"),
    "deallocate": lambda s, w: cases.deallocate(s, w.case.id, "wren"),
    "members": lambda s, w: cases.members(s, w.case.id),
    "set_status": lambda s, w: cases.set_status(s, w.case.id, "closed"),
    "add_subject": lambda s, w: cases.add_subject(s, w.case.id, "Lee Smith", "relative"),
    "list_subjects": lambda s, w: cases.list_subjects(s, w.case.id),
    "get_subject": lambda s, w: cases.get_subject(s, w.subject.id),
    "list_events(case)": lambda s, w: audit.list_events(s, w.case.id),
    "list_events(all)": lambda s, w: audit.list_events(s),
    "verify": lambda s, w: audit.verify(s, s.casefile.path),
    "require_verifier": lambda s, w: audit.require_verifier(s),
    # Everyone may read the file's log; a worker's answer holds only their cases' events.
    "list_file_events": lambda s, w: audit.list_file_events(s),
    # Answers for a case the actor may not see too: each action refused, saying why.
    "abilities": lambda s, w: abilities.abilities(s, w.case.id),
}


GATE_CALLS: dict[str, Callable[[Session, World, JustificationRecord], Permission]] = {
    "check_import(self)": lambda s, w, r: captures.check_import(
        s,
        w.case.id,
        url=URL,
        viewed_at=s.now(),
        justification_id=r.id,
        subject_id=w.subject.id,
        attested=True,
    ),
    "check_import(supplied)": lambda s, w, r: captures.check_import(
        s,
        w.case.id,
        url=URL,
        viewed_at=s.now(),
        justification_id=r.id,
        subject_id=w.subject.id,
        origin="family",
    ),
}


def _expand(table: list[tuple[str, ...]]) -> list[Any]:
    return [
        pytest.param(row[0], actor, row[1 + i], id=f"{row[0]}-{actor}")
        for row in table
        for i, actor in enumerate(ACTORS)
    ]


AUDIT_ACTION = {row[0]: row[5] for row in MATRIX}


def snapshot(casefile: CaseFile) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table: what "changes nothing" is measured against."""
    conn = casefile.conn
    # Full-text search keeps shadow tables WITHOUT ROWID; its virtual table stands for them.
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND coalesce(sql, '') NOT LIKE '%WITHOUT ROWID%'"
        )
    ]
    return {
        t: [tuple(row) for row in conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid')]
        for t in tables
    }


def actions_after(conn: sqlite3.Connection, seq: int) -> list[str]:
    return [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE seq > ?", (seq,))]


@pytest.fixture
def world(
    manager: Session,
    worker: Session,
    other_worker: Session,
    auditor: Session,
    case: Case,
    subject: Subject,
) -> World:
    return World(case, subject)


def _check(session: Session, world: World, function: str, expected: str) -> None:
    before = snapshot(session.casefile)
    head = audit.head(session.casefile.conn).seq
    call = CALLS[function]
    if expected == OK:
        call(session, world)
        wanted = AUDIT_ACTION[function]
        assert actions_after(session.casefile.conn, head) == ([wanted] if wanted else [])
    else:
        with pytest.raises(PermissionDenied) as refused:
            call(session, world)
        assert refused.value.rule == expected
        assert snapshot(session.casefile) == before


@pytest.mark.parametrize(("function", "actor", "expected"), _expand(MATRIX))
def test_permission_matrix(
    request: pytest.FixtureRequest, world: World, function: str, actor: str, expected: str
) -> None:
    _check(request.getfixturevalue(actor), world, function, expected)


@pytest.mark.parametrize(("function", "actor", "expected"), _expand(CLOSED_CASE))
def test_closed_case_matrix(
    request: pytest.FixtureRequest,
    world: World,
    manager: Session,
    function: str,
    actor: str,
    expected: str,
) -> None:
    cases.set_status(manager, world.case.id, "closed")
    _check(request.getfixturevalue(actor), world, function, expected)


@pytest.mark.parametrize(("function", "actor", "expected"), _expand(GATE_QUESTIONS))
def test_gate_question_matrix(
    request: pytest.FixtureRequest,
    world: World,
    manager: Session,
    worker: Session,
    function: str,
    actor: str,
    expected: str,
) -> None:
    record = approved(
        worker, manager, world.case.id, make_request([world.subject.id], worker.now())
    )
    session: Session = request.getfixturevalue(actor)
    before = snapshot(session.casefile)
    answer = GATE_CALLS[function](session, world, record)
    assert (answer.allowed, answer.rule or OK) == (expected == OK, expected)
    assert snapshot(session.casefile) == before


@pytest.mark.parametrize("actor", ACTORS)
def test_list_cases_shows_only_what_the_actor_may_see(
    request: pytest.FixtureRequest, world: World, manager: Session, actor: str
) -> None:
    cases.create_case(manager, "CP-2026-0050", "Jones family")
    seen = {c.reference for c in cases.list_cases(request.getfixturevalue(actor))}
    assert seen == VISIBLE_CASES[actor]


def _service_functions(module: ModuleType) -> set[str]:
    """Public functions of ``module`` whose first parameter is a session."""
    found = set()
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        if name.startswith("_") or fn.__module__ != module.__name__:
            continue
        params = list(inspect.signature(fn).parameters.values())
        if params and "Session" in str(params[0].annotation):
            found.add(name)
    return found


def test_matrix_covers_every_service_function() -> None:
    """A new service function fails this test until its row is written above."""
    in_code = set().union(*(_service_functions(m) for m in (accounts, cases, audit, abilities)))
    in_matrix = {row[0].split("(")[0] for row in MATRIX}
    assert in_code == in_matrix


def test_gate_questions_cover_every_check_in_captures() -> None:
    """A new ``captures.check_*`` fails this test until its row is written above."""
    in_code = {name for name in _service_functions(captures) if name.startswith("check_")}
    assert in_code == {row[0].split("(")[0] for row in GATE_QUESTIONS}


def test_allocation_refusal_says_what_to_do(other_worker: Session, case: Case) -> None:
    with pytest.raises(PermissionDenied, match=r"not allocated to you\. Ask a manager"):
        cases.get_case(other_worker, case.id)


def test_role_refusal_reads_as_english(auditor: Session) -> None:
    with pytest.raises(PermissionDenied) as refused:
        accounts.add_user(auditor, "newbie", "worker", "a long password")
    assert "signed in as an auditor" in str(refused.value)


# --- abilities agree with the services ---------------------------------------------


@dataclass(frozen=True)
class Stage:
    """A case with something to act on: an approved request (material can be recorded
    under it), a source, and a worker's request waiting for a manager's decision."""

    case: Case
    status: str
    subject: Subject
    approved: JustificationRecord
    waiting: JustificationRecord
    source_id: int
    folder: Path


# Each action ``abilities`` answers, tried on the real service. Captures, imports of
# one's own look, views and the browser need the network or a page; supplied material
# stands for them (the same case rules and the same need of a usable request).
ACTION_CALLS: dict[str, Callable[[Session, Stage], object]] = {
    "read": lambda s, t: cases.get_case(s, t.case.id),
    "export_pdf": lambda s, t: report.export_pdf(s, t.case.id, t.folder / f"{s.actor}.pdf"),
    "export_warc": lambda s, t: captures.export_warc(s, t.case.id, io.BytesIO()),
    "verify": lambda s, t: audit.verify(s, s.casefile.path),
    "write_justification": lambda s, t: justifications.create(
        s, t.case.id, make_request([t.subject.id], s.now())
    ),
    "review_justifications": lambda s, t: justifications.review(
        s, t.waiting.id, "return", "Say more about the risk."
    ),
    "record_supplied": lambda s, t: import_page(
        s, t.case.id, t.approved.id, t.subject.id, "Shared by the grandmother."
    ),
    "observe": lambda s, t: observations.add(
        s, t.source_id, "Up late.", domain="parenting_capacity", reliability="B", credibility=2
    ),
    "write_note": lambda s, t: notes.save(s, t.case.id, analysis="What the sources show."),
    "add_person": lambda s, t: cases.add_subject(s, t.case.id, "Lee Smith", "relative"),
    "manage_case": lambda s, t: cases.set_status(s, t.case.id, t.status),  # no change
    "create_case": lambda s, t: cases.create_case(s, f"CP-{s.actor}", "Jones family"),
    "manage_users": lambda s, t: accounts.unlock(s, "otto"),
    "see_users": lambda s, t: accounts.list_users(s),
    "review_queue": lambda s, t: justifications.review_queue(s),
}
# One rule guards several services here, each naming its own task ("unlock accounts"),
# so only the rule, not the wording, is the same.
SAME_RULE_OTHER_WORDS = {"manage_users"}


@pytest.fixture(params=["open", "closed"])
def stage(
    request: pytest.FixtureRequest,
    world: World,
    manager: Session,
    worker: Session,
    tmp_path: Path,
) -> Stage:
    record = approved(
        worker, manager, world.case.id, make_request([world.subject.id], worker.now())
    )
    source = import_page(worker, world.case.id, record.id, world.subject.id, "Kerry at 2am.")
    waiting = submitted(worker, world.case.id, make_request([world.subject.id], worker.now()))
    if request.param == "closed":
        cases.set_status(manager, world.case.id, "closed")
    return Stage(world.case, request.param, world.subject, record, waiting, source.id, tmp_path)


@pytest.mark.parametrize("actor", ACTORS)
def test_abilities_agree_with_the_services(
    request: pytest.FixtureRequest, stage: Stage, actor: str
) -> None:
    session: Session = request.getfixturevalue(actor)
    answer = abilities.abilities(session, stage.case.id)
    disagreements = []
    for action, call in ACTION_CALLS.items():
        ability = getattr(answer, action)
        try:
            call(session, stage)
        except PermissionDenied as refused:
            # The gate prefixes the rule it refused by ("Refused (role): ...").
            got = (False, refused.rule, str(refused).removeprefix(f"Refused ({refused.rule}): "))
        else:
            got = (True, "", "")
        said = (ability.allowed, ability.rule, ability.reason)
        if action in SAME_RULE_OTHER_WORDS:
            got, said = got[:2], said[:2]
        if got != said:
            disagreements.append(f"{action}: abilities say {said}, the service did {got}")
    assert disagreements == []


def test_abilities_answer_every_action_they_offer() -> None:
    """A new action fails this test until the service it stands for is tried above, or
    the reason it cannot be tried here is written down."""
    untried = {"submit_justification", "review_exposure", "view", "capture", "import_file"}
    untried |= {"browse"}
    assert set(abilities.ACTIONS) == set(ACTION_CALLS) | untried
