"""The meter counts looks at a person in every case, also for a worker on a team server,
who may see only the cases allocated to them (issue 14): there it reads keyed hashes of
the other cases' handles and addresses, and nothing of them it could read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from gate_support import PASSWORD, approved, make_request

from caseview import cases, persons, viewings
from caseview.domain import Case, Subject
from caseview.errors import GateRefused
from caseview.session import Session

pytestmark = pytest.mark.both_engines

KERRY = "https://social.example/kerry"


@dataclass(frozen=True)
class CaseB:
    """Otto's case: Kerry again (by her profile, written differently), and Lee."""

    case: Case
    kerry: Subject
    lee: Subject
    request: int


@pytest.fixture
def lee_a(manager: Session, case: Case) -> Subject:
    return cases.add_subject(manager, case.id, "Lee Smith", "carer", handles=["07700 900123"])


@pytest.fixture
def case_b(manager: Session, other_worker: Session, lee_a: Subject, subject: Subject) -> CaseB:
    created = cases.create_case(manager, "CP-2026-0077", "Smith, the cousins")
    cases.allocate(manager, created.id, other_worker.user.username)
    kerry = cases.add_subject(
        manager, created.id, "K. Smith", "parent", handles=["www.social.example/Kerry/", "@kez"]
    )
    lee = cases.add_subject(manager, created.id, "L. Smith", "carer")
    persons.link(manager, lee_a.id, lee.id, "Same date of birth and address in both files")
    request = make_request([kerry.id, lee.id], other_worker.now(), planned_viewings=3)
    request_id = approved(other_worker, manager, created.id, request).id
    return CaseB(created, kerry, lee, request_id)


def _request(worker: Session, manager: Session, case: Case, subjects: list[int]) -> int:
    request = make_request(subjects, worker.now(), planned_viewings=3)
    return approved(worker, manager, case.id, request).id


def _look(session: Session, case_id: int, request_id: int, subject_id: int, url: str) -> int:
    return viewings.record_view(session, case_id, request_id, subject_id, url, attested=True)[0]


def test_looks_in_a_case_the_worker_cannot_see_count_and_stop_her_look(
    manager: Session,
    worker: Session,
    other_worker: Session,
    case: Case,
    subject: Subject,
    case_b: CaseB,
) -> None:
    here = _request(worker, manager, case, [subject.id])
    for url in (KERRY, KERRY + "/photos", "https://m.social.example/kerry/posts/1"):
        _look(other_worker, case_b.case.id, case_b.request, case_b.kerry.id, url)
    reading = viewings.meter_for(worker, subject.id)
    assert (reading.count_in_window, reading.state) == (3, "stop")
    with pytest.raises(GateRefused) as refused:
        _look(worker, case.id, here, subject.id, KERRY)
    assert refused.value.rule == "meter_stop"


def test_a_look_filed_under_someone_else_at_her_page_counts_for_her(
    manager: Session, worker: Session, other_worker: Session, subject: Subject, case_b: CaseB
) -> None:
    _look(other_worker, case_b.case.id, case_b.request, case_b.lee.id, KERRY + "/photos/2")
    _look(
        other_worker, case_b.case.id, case_b.request, case_b.lee.id, "https://social.example/kerryx"
    )
    assert viewings.meter_for(worker, subject.id).count_in_window == 1


def test_a_managers_link_to_a_subject_of_another_case_counts(
    manager: Session,
    worker: Session,
    other_worker: Session,
    case: Case,
    lee_a: Subject,
    case_b: CaseB,
) -> None:
    here = _request(worker, manager, case, [lee_a.id])
    for n in range(3):
        _look(
            other_worker,
            case_b.case.id,
            case_b.request,
            case_b.lee.id,
            f"https://social.example/lee/{n}",
        )
    assert viewings.meter_for(worker, lee_a.id).count_in_window == 3
    with pytest.raises(GateRefused) as refused:
        _look(worker, case.id, here, lee_a.id, "https://social.example/lee")
    assert refused.value.rule == "meter_stop"


def test_the_worker_is_refused_another_cases_known_page_she_cannot_see(
    manager: Session, worker: Session, case: Case, lee_a: Subject, case_b: CaseB
) -> None:
    # Kerry B's page is Kerry's (the same person as Kerry A, not named in this request).
    here = _request(worker, manager, case, [lee_a.id])
    with pytest.raises(GateRefused) as refused:
        _look(worker, case.id, here, lee_a.id, "https://social.example/kerry/about")
    assert refused.value.rule == "page_of_other_person"


def test_the_meter_reads_the_same_for_the_worker_and_the_manager(
    manager: Session, worker: Session, other_worker: Session, subject: Subject, case_b: CaseB
) -> None:
    for _ in range(2):
        _look(other_worker, case_b.case.id, case_b.request, case_b.kerry.id, KERRY)
    assert viewings.meter_for(worker, subject.id) == viewings.meter_for(manager, subject.id)
    mine = persons.known_people(worker.casefile.conn)
    theirs = persons.known_people(manager.casefile.conn)
    assert (mine.person_of, mine.members) == (theirs.person_of, theirs.members)


# --- what a worker connecting as herself (psql) can learn on a server ---------------------


@pytest.fixture
def wren_psql(engine: str, worker: Session) -> Any:
    """Wren's own login, as psql would use it: plain SQL, no Caseview in between (tests
    that use it run on the server only: a case file has no login roles)."""
    assert engine == "postgresql"
    store = worker.casefile.connect_as(worker.user.username, PASSWORD)  # type: ignore[attr-defined]
    raw = store.pg.raw
    yield raw
    store.close()


def _refused(raw: Any, query: str, params: tuple[Any, ...] = ()) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), raw.transaction():
        raw.execute(query, params)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM person_keys",
        "SELECT * FROM look_keys",
        "SELECT * FROM caseview_meter_secret",
        "SELECT caseview_meter_hash('social.example/kerry')",
        "DELETE FROM person_keys",
        "DELETE FROM look_keys",
    ],
)
def test_a_worker_cannot_read_or_change_the_keys(wren_psql: Any, case_b: CaseB, query: str) -> None:
    _refused(wren_psql, query)


def test_the_basis_shows_a_worker_no_handle_address_or_other_looker(
    wren_psql: Any, other_worker: Session, subject: Subject, case_b: CaseB
) -> None:
    _look(other_worker, case_b.case.id, case_b.request, case_b.kerry.id, KERRY)
    basis = wren_psql.execute("SELECT caseview_meter_basis('2000-01-01')").fetchone()[0]
    text = json.dumps(basis).casefold()
    for secret in ("kerry", "kez", "social.example", "otto", "smith", "cousins"):
        assert secret not in text
    [look] = basis["looks"]
    assert look[0] == case_b.kerry.id and look[2] is None
    hashes = wren_psql.execute(
        "SELECT caseview_meter_key_hashes(ARRAY['social.example/kerry'])"
    ).fetchone()[0]
    assert bytes(hashes[0]).hex() in look[3]  # the oracle the meter is


def test_a_worker_cannot_write_keys_for_another_case(
    wren_psql: Any,
    manager: Session,
    worker: Session,
    other_worker: Session,
    case: Case,
    subject: Subject,
    case_b: CaseB,
) -> None:
    mine = _request(worker, manager, case, [subject.id])
    looks = [
        _look(other_worker, case_b.case.id, case_b.request, case_b.kerry.id, KERRY)
        for _ in range(3)
    ]
    _refused(
        wren_psql,
        "SELECT caseview_add_person_keys(%s, ARRAY['@unrelated'], ARRAY[false])",
        (case_b.kerry.id,),
    )
    _refused(wren_psql, "SELECT caseview_add_look_keys(%s, ARRAY['a.example/b'])", (looks[0],))
    assert viewings.meter_for(worker, subject.id).state == "stop"
    with pytest.raises(GateRefused):
        _look(worker, case.id, mine, subject.id, KERRY)
