"""The reasoned note: versions, partial saves, limits, audit events, permissions."""

from __future__ import annotations

import engines
import pytest
from analysis_support import event_count, events

from caseview import cases, notes
from caseview.domain import Case
from caseview.errors import PermissionDenied, ValidationError
from caseview.session import Session

FULL = {
    "analysis": "The posts place the named man at the house on two dates.",
    "balance": "One look at public posts was proportionate to the risk to a baby.",
    "conclusion": "Recommend a strategy discussion today.",
    "evaluation_useful": "Yes: it settled the question of contact.",
    "evaluation_decision": "Informed the decision to convene a strategy discussion.",
    "evaluation_family_told": "Told the mother on 25 November.",
    "evaluation_family_response": "She said the photos were old; the dates say otherwise.",
}

pytestmark = pytest.mark.both_engines


def _versions(session: Session, case_id: int) -> list[int]:
    rows = session.casefile.conn.execute(
        "SELECT version FROM notes WHERE case_id = ? ORDER BY version", (case_id,)
    )
    return [int(r[0]) for r in rows]


def test_no_note_until_one_is_saved(worker: Session, case: Case) -> None:
    assert notes.current(worker, case.id) is None


def test_save_keeps_every_field(worker: Session, case: Case) -> None:
    notes.save(worker, case.id, **FULL)
    saved = notes.current(worker, case.id)
    assert saved is not None
    assert {f: getattr(saved, f) for f in notes.FIELDS} == FULL


def test_save_records_author_and_time(worker: Session, case: Case) -> None:
    saved = notes.save(worker, case.id, analysis="Analysis.")
    assert (saved.author, saved.version, saved.saved_at) == ("wren", 1, worker.now())


def test_save_strips_surrounding_space(worker: Session, case: Case) -> None:
    saved = notes.save(worker, case.id, analysis="  Analysis.\n", conclusion="\tDone. ")
    assert (saved.analysis, saved.conclusion) == ("Analysis.", "Done.")


def test_each_changed_save_is_a_new_version(worker: Session, case: Case) -> None:
    notes.save(worker, case.id, analysis="First.")
    notes.save(worker, case.id, analysis="Second.")
    third = notes.save(worker, case.id, conclusion="Third.")
    assert (third.version, _versions(worker, case.id)) == (3, [1, 2, 3])


def test_old_versions_are_kept_unchanged(worker: Session, case: Case) -> None:
    first = notes.save(worker, case.id, analysis="First.")
    notes.save(worker, case.id, analysis="Second.")
    text = worker.casefile.conn.execute(
        "SELECT analysis FROM notes WHERE id = ?", (first.id,)
    ).fetchone()[0]
    assert text == "First."


def test_current_is_the_latest_version(worker: Session, case: Case) -> None:
    notes.save(worker, case.id, analysis="First.")
    latest = notes.save(worker, case.id, analysis="Second.")
    current = notes.current(worker, case.id)
    assert current is not None
    assert (current.id, current.analysis) == (latest.id, "Second.")


def test_unchanged_save_creates_no_version(worker: Session, case: Case) -> None:
    first = notes.save(worker, case.id, **FULL)
    again = notes.save(worker, case.id, **FULL)
    assert (again.id, _versions(worker, case.id)) == (first.id, [1])


def test_unchanged_save_writes_no_event(worker: Session, case: Case) -> None:
    notes.save(worker, case.id, **FULL)
    before = event_count(worker.casefile)
    notes.save(worker, case.id, analysis=FULL["analysis"] + "  ")
    assert event_count(worker.casefile) == before


def test_partial_save_keeps_the_other_fields(worker: Session, case: Case) -> None:
    notes.save(worker, case.id, **FULL)
    saved = notes.save(worker, case.id, conclusion="Close the enquiry.")
    assert {f: getattr(saved, f) for f in notes.FIELDS} == {
        **FULL,
        "conclusion": "Close the enquiry.",
    }


def test_an_empty_string_clears_a_field(worker: Session, case: Case) -> None:
    notes.save(worker, case.id, **FULL)
    assert notes.save(worker, case.id, balance="").balance == ""


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_note_refused(worker: Session, case: Case, text: str) -> None:
    with pytest.raises(ValidationError, match="empty"):
        notes.save(worker, case.id, analysis=text, conclusion=text)


def test_save_with_nothing_given_refused(worker: Session, case: Case) -> None:
    with pytest.raises(ValidationError, match="empty"):
        notes.save(worker, case.id)


def test_clearing_every_field_refused(worker: Session, case: Case) -> None:
    notes.save(worker, case.id, analysis="Only field.")
    with pytest.raises(ValidationError, match="empty"):
        notes.save(worker, case.id, analysis="")


def test_unknown_field_refused(worker: Session, case: Case) -> None:
    with pytest.raises(ValidationError, match="no field"):
        notes.save(worker, case.id, analysis="A.", summary="Not a field.")


def test_longest_allowed_field_accepted(worker: Session, case: Case) -> None:
    saved = notes.save(worker, case.id, analysis="x" * notes.LIMIT)
    assert len(saved.analysis) == notes.LIMIT


@pytest.mark.parametrize("field", notes.FIELDS)
def test_oversized_field_refused(worker: Session, case: Case, field: str) -> None:
    with pytest.raises(ValidationError, match="longer than"):
        notes.save(worker, case.id, **{field: "x" * (notes.LIMIT + 1)})


def test_oversized_save_stores_nothing(worker: Session, case: Case) -> None:
    notes.save(worker, case.id, analysis="Kept.")
    with pytest.raises(ValidationError):
        notes.save(worker, case.id, conclusion="y" * (notes.LIMIT + 1))
    assert _versions(worker, case.id) == [1]


def test_names_and_scripts_kept_as_typed(worker: Session, case: Case) -> None:
    text = "Łucja Wójcik, Ştefan Popescu, Zoë Nguyễn, Олена Коваль <b>&amp;"
    assert notes.save(worker, case.id, analysis=text).analysis == text


def test_each_version_writes_one_audit_event(worker: Session, case: Case) -> None:
    before = event_count(worker.casefile)
    notes.save(worker, case.id, analysis="First.")
    notes.save(worker, case.id, analysis="Second.")
    assert event_count(worker.casefile) == before + 2


def test_audit_event_holds_the_whole_version(worker: Session, case: Case) -> None:
    notes.save(worker, case.id, **FULL)
    saved = notes.save(worker, case.id, conclusion="Changed.")
    event = events(worker.casefile, "note.saved")[-1]
    assert {k: event[k] for k in ("actor", "entity", "entity_id", "case_id", "data")} == {
        "actor": "wren",
        "entity": "note",
        "entity_id": saved.id,
        "case_id": case.id,
        "data": {"version": 2, **FULL, "conclusion": "Changed."},
    }


def test_raw_sql_update_refused_by_trigger(worker: Session, case: Case) -> None:
    saved = notes.save(worker, case.id, analysis="Original.")
    with engines.database_refuses(worker.casefile, "versioned"):
        worker.casefile.conn.execute(
            "UPDATE notes SET analysis = 'rewritten' WHERE id = ?", (saved.id,)
        )


def test_raw_sql_delete_refused_by_trigger(worker: Session, case: Case) -> None:
    saved = notes.save(worker, case.id, analysis="Original.")
    with engines.database_refuses(worker.casefile, "never deleted"):
        worker.casefile.conn.execute("DELETE FROM notes WHERE id = ?", (saved.id,))


def test_another_allocated_worker_continues_the_versions(
    manager: Session, worker: Session, case: Case
) -> None:
    notes.save(worker, case.id, analysis="By wren.")
    saved = notes.save(manager, case.id, conclusion="By mona.")
    assert (saved.version, saved.author, saved.analysis) == (2, "mona", "By wren.")


# --- permissions ------------------------------------------------------------------


def test_auditor_cannot_save(auditor: Session, case: Case) -> None:
    with pytest.raises(PermissionDenied) as refused:
        notes.save(auditor, case.id, analysis="Audit.")
    assert refused.value.rule == "role"


def test_unallocated_worker_cannot_save(other_worker: Session, case: Case) -> None:
    with pytest.raises(PermissionDenied) as refused:
        notes.save(other_worker, case.id, analysis="Not mine.")
    assert refused.value.rule == "allocation"


def test_closed_case_refuses_a_note(manager: Session, worker: Session, case: Case) -> None:
    cases.set_status(manager, case.id, "closed")
    with pytest.raises(PermissionDenied) as refused:
        notes.save(worker, case.id, analysis="Too late.")
    assert refused.value.rule == "case_closed"


def test_refused_save_stores_nothing(other_worker: Session, case: Case) -> None:
    before = event_count(other_worker.casefile)
    with pytest.raises(PermissionDenied):
        notes.save(other_worker, case.id, analysis="Not mine.")
    assert (_versions(other_worker, case.id), event_count(other_worker.casefile)) == ([], before)


def test_unallocated_worker_cannot_read(worker: Session, other_worker: Session, case: Case) -> None:
    notes.save(worker, case.id, analysis="Private to the case.")
    with pytest.raises(PermissionDenied):
        notes.current(other_worker, case.id)


def test_auditor_can_read(worker: Session, auditor: Session, case: Case) -> None:
    notes.save(worker, case.id, analysis="Readable.")
    current = notes.current(auditor, case.id)
    assert current is not None
    assert current.analysis == "Readable."
