from caseview import cases
from caseview.domain import Case
from caseview.session import Session


def test_worker_sees_allocated_case(worker: Session, case: Case) -> None:
    assert [c.reference for c in cases.list_cases(worker)] == ["CP-2026-0042"]
