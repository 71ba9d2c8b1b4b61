"""Observations: grading, the relied-upon rule, corroboration, versions, audit, permissions."""

from __future__ import annotations

from typing import Any

import engines
import pytest
from analysis_support import approved_request, event_count, events, import_page

from caseview import cases, observations
from caseview.captures import SourceRecord
from caseview.domain import Case, Subject
from caseview.errors import NotFound, PermissionDenied, ValidationError
from caseview.justifications import JustificationRecord
from caseview.observations import Observation
from caseview.session import Session

# The assessment domains of DESIGN section 7 (a contract).
DOMAINS = ("developmental_needs", "parenting_capacity", "family_environment", "online_exposure")

pytestmark = pytest.mark.both_engines


@pytest.fixture
def request_(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> JustificationRecord:
    return approved_request(worker, manager, case.id, [subject.id])


@pytest.fixture
def source(
    worker: Session, case: Case, subject: Subject, request_: JustificationRecord
) -> SourceRecord:
    return import_page(worker, case.id, request_.id, subject.id, "Kerry posted a photo at 2am.")


@pytest.fixture
def other_source(
    worker: Session, case: Case, subject: Subject, request_: JustificationRecord
) -> SourceRecord:
    return import_page(worker, case.id, request_.id, subject.id, "A friend shared the photo.")


def _add(
    session: Session, source_id: int, text: str = "Shows a party late at night.", **changes: Any
) -> Observation:
    options: dict[str, Any] = {
        "domain": "parenting_capacity",
        "reliability": "B",
        "credibility": 2,
    }
    options.update(changes)
    if options["credibility"] == 1:
        # Credibility 1 must name what confirmed it (tests/caseview/test_reliance.py).
        options.setdefault("confirmed_by", "The police incident log.")
    return observations.add(session, source_id, text, **options)


CHECK = {
    "check_what": "The bruise on Kerry's arm.",
    "check_who": "The health visitor.",
    "check_when": "2024-11-03",
}


def _row(session: Session, observation_id: int) -> tuple[object, ...]:
    row = session.casefile.conn.execute(
        "SELECT * FROM observations WHERE id = ?", (observation_id,)
    ).fetchone()
    return tuple(row)


def _observation_rows(session: Session) -> int:
    return int(session.casefile.conn.execute("SELECT count(*) FROM observations").fetchone()[0])


# --- adding, and the grading --------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_add_records_each_assessment_domain(
    worker: Session, case: Case, source: SourceRecord, domain: str
) -> None:
    added = _add(worker, source.id, domain=domain)
    assert [(o.id, o.domain) for o in observations.list_for_case(worker, case.id)] == [
        (added.id, domain)
    ]


def test_add_keeps_text_grading_author_and_source(
    worker: Session, case: Case, source: SourceRecord
) -> None:
    added = _add(worker, source.id, "  Kerry says she was home alone.  ", credibility=3)
    assert (
        added.text,
        added.reliability,
        added.credibility,
        added.author,
        added.source_id,
        added.case_id,
        added.version,
        added.root_id,
    ) == ("Kerry says she was home alone.", "B", 3, "wren", source.id, case.id, 1, added.id)


def test_reliability_letter_is_accepted_in_lower_case(
    worker: Session, source: SourceRecord
) -> None:
    assert _add(worker, source.id, reliability=" c ").reliability == "C"


@pytest.mark.parametrize("bad", ["G", "", "AB", "1", "Z"])
def test_bad_reliability_refused_naming_a_to_f(
    worker: Session, source: SourceRecord, bad: str
) -> None:
    with pytest.raises(ValidationError, match="Use A to F"):
        _add(worker, source.id, reliability=bad)


@pytest.mark.parametrize("bad", [0, 7, -1, 100])
def test_bad_credibility_refused_naming_1_to_6(
    worker: Session, source: SourceRecord, bad: int
) -> None:
    with pytest.raises(ValidationError, match="1 to 6"):
        _add(worker, source.id, credibility=bad)


def test_bad_domain_refused_naming_every_domain(worker: Session, source: SourceRecord) -> None:
    with pytest.raises(ValidationError) as refused:
        _add(worker, source.id, domain="housing")
    assert all(domain in str(refused.value) for domain in DOMAINS)


def test_refused_grading_stores_nothing(worker: Session, source: SourceRecord) -> None:
    before = (_observation_rows(worker), event_count(worker.casefile))
    with pytest.raises(ValidationError):
        _add(worker, source.id, credibility=9)
    assert (_observation_rows(worker), event_count(worker.casefile)) == before


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_refused(worker: Session, source: SourceRecord, text: str) -> None:
    with pytest.raises(ValidationError, match="empty"):
        _add(worker, source.id, text)


def test_text_of_20000_characters_accepted(worker: Session, source: SourceRecord) -> None:
    assert len(_add(worker, source.id, "x" * 20_000).text) == 20_000


def test_text_over_20000_characters_refused_storing_nothing(
    worker: Session, source: SourceRecord
) -> None:
    before = (_observation_rows(worker), event_count(worker.casefile))
    with pytest.raises(ValidationError, match="20,000"):
        _add(worker, source.id, "x" * 20_001)
    assert (_observation_rows(worker), event_count(worker.casefile)) == before


def test_revision_over_20000_characters_refused(worker: Session, source: SourceRecord) -> None:
    added = _add(worker, source.id)
    with pytest.raises(ValidationError, match="20,000"):
        observations.revise(worker, added.id, text="x" * 20_001)


def test_observation_on_a_missing_source_is_not_found(worker: Session, case: Case) -> None:
    with pytest.raises(NotFound):
        _add(worker, 999)


@pytest.mark.parametrize(
    ("reliability", "credibility", "grading", "uk"),
    [
        ("A", 1, "A1", "1/B"),
        ("B", 2, "B2", "1/C"),
        ("C", 3, "C3", "2/C"),
        ("D", 4, "D4", "3/D"),
        ("E", 5, "E5", "3/E"),
        ("F", 6, "F6", "2/D"),
        ("F", 3, "F3", "2/C"),  # the typical anonymous social account
    ],
)
def test_grading_shown_with_its_uk_3x5x2_reading(
    worker: Session,
    source: SourceRecord,
    reliability: str,
    credibility: int,
    grading: str,
    uk: str,
) -> None:
    added = _add(worker, source.id, reliability=reliability, credibility=credibility)
    assert (added.grading, added.uk_equivalent) == (grading, uk)


# --- relied upon, and corroboration -------------------------------------------------


@pytest.mark.parametrize("corroborated", [False, True], ids=["alone", "corroborated"])
@pytest.mark.parametrize("credibility", [1, 2, 3, 4, 5, 6])
def test_relied_upon_only_if_corroborated_whatever_its_own_credibility(
    worker: Session,
    source: SourceRecord,
    other_source: SourceRecord,
    credibility: int,
    corroborated: bool,
) -> None:
    support = _add(worker, other_source.id, "The friend's share confirms the date.")
    added = _add(
        worker,
        source.id,
        credibility=credibility,
        corroborates=[support.id] if corroborated else [],
    )
    assert (bool(added.supported_by), added.relied_upon) == (corroborated, corroborated)


def test_relied_upon_survives_a_reload(
    worker: Session, case: Case, source: SourceRecord, other_source: SourceRecord
) -> None:
    support = _add(worker, other_source.id, "Same party, another account.", credibility=3)
    added = _add(worker, source.id, credibility=5, corroborates=[support.id])
    found = {o.id: o for o in observations.list_for_case(worker, case.id)}
    assert (found[added.id].corroborates, found[added.id].relied_upon) == ((support.id,), True)


def test_external_check_counts_as_corroboration(worker: Session, source: SourceRecord) -> None:
    added = _add(worker, source.id, credibility=4, **CHECK)
    assert (bool(added.supported_by), added.relied_upon) == (True, True)


def test_blank_external_check_is_not_corroboration(worker: Session, source: SourceRecord) -> None:
    added = _add(worker, source.id, credibility=4, check_what="   ")
    assert (added.check, added.supported_by, added.relied_upon) == (None, (), False)


def test_corroboration_from_the_same_source_refused(worker: Session, source: SourceRecord) -> None:
    first = _add(worker, source.id, "The photo is dated 2 November.")
    with pytest.raises(ValidationError, match="same source"):
        _add(worker, source.id, credibility=4, corroborates=[first.id])


def test_observation_cannot_corroborate_itself(worker: Session, source: SourceRecord) -> None:
    added = _add(worker, source.id, credibility=4)
    with pytest.raises(ValidationError):
        observations.revise(worker, added.id, corroborates=[added.id])


def test_corroboration_from_another_case_refused(
    manager: Session, worker: Session, source: SourceRecord
) -> None:
    elsewhere = cases.create_case(manager, "CP-2026-0099", "Jones family")
    cases.allocate(manager, elsewhere.id, worker.user.username)
    person = cases.add_subject(manager, elsewhere.id, "Dana Jones", "parent")
    request = approved_request(worker, manager, elsewhere.id, [person.id])
    far = import_page(worker, elsewhere.id, request.id, person.id, "Another family's page.")
    foreign = _add(worker, far.id, "Unrelated.")
    with pytest.raises(ValidationError, match="not in this case"):
        _add(worker, source.id, credibility=4, corroborates=[foreign.id])


def test_corroboration_by_a_missing_observation_refused(
    worker: Session, source: SourceRecord
) -> None:
    with pytest.raises(ValidationError, match="not in this case"):
        _add(worker, source.id, credibility=4, corroborates=[999])


# --- versions ---------------------------------------------------------------------


def test_revise_makes_version_2_superseding_version_1(
    worker: Session, source: SourceRecord
) -> None:
    first = _add(worker, source.id, "First reading.")
    second = observations.revise(worker, first.id, text="Second reading.")
    supersedes = worker.casefile.conn.execute(
        "SELECT supersedes FROM observations WHERE id = ?", (second.id,)
    ).fetchone()[0]
    assert (second.id != first.id, second.version, second.root_id, supersedes) == (
        True,
        2,
        first.id,
        first.id,
    )


def test_revise_leaves_the_old_row_unchanged(worker: Session, source: SourceRecord) -> None:
    first = _add(worker, source.id, "First reading.")
    before = _row(worker, first.id)
    observations.revise(worker, first.id, text="Second reading.", credibility=5)
    assert _row(worker, first.id) == before


def test_history_returns_both_versions_oldest_first(worker: Session, source: SourceRecord) -> None:
    first = _add(worker, source.id, "First reading.")
    second = observations.revise(worker, first.id, text="Second reading.")
    assert [(o.id, o.version, o.text) for o in observations.history(worker, second.id)] == [
        (first.id, 1, "First reading."),
        (second.id, 2, "Second reading."),
    ]


def test_list_for_case_shows_only_the_current_version(
    worker: Session, case: Case, source: SourceRecord
) -> None:
    first = _add(worker, source.id, "First reading.")
    second = observations.revise(worker, first.id, text="Second reading.")
    assert [o.id for o in observations.list_for_case(worker, case.id)] == [second.id]


def test_list_for_source_shows_only_the_current_version(
    worker: Session, source: SourceRecord
) -> None:
    first = _add(worker, source.id, "First reading.")
    second = observations.revise(worker, first.id, text="Second reading.")
    assert [o.id for o in observations.list_for_source(worker, source.id)] == [second.id]


def test_revise_keeps_what_it_is_not_given(worker: Session, source: SourceRecord) -> None:
    first = _add(
        worker,
        source.id,
        domain="online_exposure",
        reliability="C",
        credibility=3,
        risks=["old_post"],
        **CHECK,
    )
    second = observations.revise(worker, first.id, text="Reworded.")
    assert (
        second.domain,
        second.reliability,
        second.credibility,
        second.risks,
        second.check,
    ) == ("online_exposure", "C", 3, ("old_post",), first.check)


def test_revise_can_change_the_grading(worker: Session, source: SourceRecord) -> None:
    first = _add(worker, source.id, credibility=2)
    second = observations.revise(worker, first.id, reliability="E", credibility=5)
    assert (second.grading, second.relied_upon) == ("E5", False)


def test_revising_a_superseded_version_refused(worker: Session, source: SourceRecord) -> None:
    first = _add(worker, source.id, "First reading.")
    observations.revise(worker, first.id, text="Second reading.")
    with pytest.raises(PermissionDenied) as refused:
        observations.revise(worker, first.id, text="A fork of the first.")
    assert refused.value.rule == "superseded"


def test_revise_validates_like_add(worker: Session, source: SourceRecord) -> None:
    first = _add(worker, source.id)
    with pytest.raises(ValidationError, match="1 to 6"):
        observations.revise(worker, first.id, credibility=0)


def test_revising_a_missing_observation_is_not_found(worker: Session, case: Case) -> None:
    with pytest.raises(NotFound):
        observations.revise(worker, 999, text="Nothing to revise.")


def test_raw_sql_update_of_text_refused_by_trigger(worker: Session, source: SourceRecord) -> None:
    added = _add(worker, source.id)
    with engines.database_refuses(worker.casefile, "versioned"):
        worker.casefile.conn.execute(
            "UPDATE observations SET text = 'rewritten' WHERE id = ?", (added.id,)
        )


def test_raw_sql_update_of_grading_refused_by_trigger(
    worker: Session, source: SourceRecord
) -> None:
    added = _add(worker, source.id, credibility=5)
    with engines.database_refuses(worker.casefile, "versioned"):
        worker.casefile.conn.execute(
            "UPDATE observations SET credibility = 1 WHERE id = ?", (added.id,)
        )


def test_raw_sql_delete_refused_by_trigger(worker: Session, source: SourceRecord) -> None:
    added = _add(worker, source.id)
    with engines.database_refuses(worker.casefile, "never deleted"):
        worker.casefile.conn.execute("DELETE FROM observations WHERE id = ?", (added.id,))


def test_raw_sql_fill_of_root_id_with_another_id_refused_by_trigger(
    worker: Session, source: SourceRecord
) -> None:
    first = _add(worker, source.id, "One.")
    conn = worker.casefile.conn
    new_id = conn.execute(
        "INSERT INTO observations (source_id, case_id, text, domain, reliability,"
        " credibility, author_id, created_at) SELECT source_id, case_id, 'Two.', domain,"
        " reliability, credibility, author_id, created_at FROM observations WHERE id = ?"
        " RETURNING id",
        (first.id,),
    ).fetchone()[0]
    with engines.database_refuses(worker.casefile, "root_id"):
        conn.execute("UPDATE observations SET root_id = ? WHERE id = ?", (first.id, new_id))


def test_raw_sql_rewrite_of_root_id_refused_by_trigger(
    worker: Session, source: SourceRecord
) -> None:
    first = _add(worker, source.id, "One.")
    other = _add(worker, source.id, "Two.")
    with engines.database_refuses(worker.casefile):
        worker.casefile.conn.execute(
            "UPDATE observations SET root_id = ? WHERE id = ?", (first.id, other.id)
        )


# --- the audit trail --------------------------------------------------------------


def test_add_writes_one_audit_event(worker: Session, source: SourceRecord) -> None:
    before = event_count(worker.casefile)
    _add(worker, source.id)
    assert event_count(worker.casefile) == before + 1


def test_add_event_holds_the_full_content(
    worker: Session, case: Case, source: SourceRecord, other_source: SourceRecord
) -> None:
    support = _add(worker, other_source.id, "The share is dated.")
    added = _add(
        worker,
        source.id,
        "Kerry at a party.",
        domain="family_environment",
        reliability="C",
        credibility=4,
        risks=["old post", "Posted by a cousin"],
        corroborates=[support.id],
        check_what="Police log 12/11.",
        check_who="PC Daly",
        check_when="2024-11-12",
    )
    event = events(worker.casefile, "observation.recorded")[-1]
    assert {k: event[k] for k in ("actor", "entity", "entity_id", "case_id", "data")} == {
        "actor": "wren",
        "entity": "observation",
        "entity_id": added.id,
        "case_id": case.id,
        "data": {
            "source_id": source.id,
            "supersedes": None,
            "version": 1,
            "text": "Kerry at a party.",
            "domain": "family_environment",
            "reliability": "C",
            "credibility": 4,
            "risks": ["old_post", "Posted by a cousin"],
            "corroborates": [support.id],
            "external_check": None,
            "check_what": "Police log 12/11.",
            "check_who": "PC Daly",
            "check_when": "2024-11-12",
            "confirmed_by": None,
        },
    }


def test_revise_writes_one_audit_event(worker: Session, source: SourceRecord) -> None:
    first = _add(worker, source.id)
    before = event_count(worker.casefile)
    observations.revise(worker, first.id, text="Reworded.")
    assert event_count(worker.casefile) == before + 1


def test_revise_event_holds_the_full_content(worker: Session, source: SourceRecord) -> None:
    first = _add(worker, source.id, "First.", risks=["irony"])
    second = observations.revise(worker, first.id, text="Second.", credibility=6)
    event = events(worker.casefile, "observation.revised")[-1]
    assert (event["entity_id"], event["data"]) == (
        second.id,
        {
            "source_id": source.id,
            "supersedes": first.id,
            "version": 2,
            "text": "Second.",
            "domain": "parenting_capacity",
            "reliability": "B",
            "credibility": 6,
            "risks": ["irony"],
            "corroborates": [],
            "external_check": None,
            "check_what": None,
            "check_who": None,
            "check_when": None,
            "confirmed_by": None,
        },
    )


# --- permissions ------------------------------------------------------------------


def test_auditor_cannot_add(auditor: Session, source: SourceRecord) -> None:
    with pytest.raises(PermissionDenied) as refused:
        _add(auditor, source.id)
    assert refused.value.rule == "role"


def test_unallocated_worker_cannot_add(other_worker: Session, source: SourceRecord) -> None:
    with pytest.raises(PermissionDenied) as refused:
        _add(other_worker, source.id)
    assert refused.value.rule == "allocation"


def test_no_one_adds_to_a_closed_case(
    manager: Session, worker: Session, case: Case, source: SourceRecord
) -> None:
    cases.set_status(manager, case.id, "closed")
    with pytest.raises(PermissionDenied) as refused:
        _add(worker, source.id)
    assert refused.value.rule == "case_closed"


def test_refused_add_stores_nothing(
    manager: Session, other_worker: Session, source: SourceRecord
) -> None:
    before = (_observation_rows(manager), event_count(manager.casefile))
    with pytest.raises(PermissionDenied):
        _add(other_worker, source.id)
    assert (_observation_rows(manager), event_count(manager.casefile)) == before


def test_manager_can_add(manager: Session, source: SourceRecord) -> None:
    assert _add(manager, source.id).author == "mona"


def test_auditor_cannot_revise(worker: Session, auditor: Session, source: SourceRecord) -> None:
    first = _add(worker, source.id)
    with pytest.raises(PermissionDenied) as refused:
        observations.revise(auditor, first.id, text="Audited away.")
    assert refused.value.rule == "role"


def test_unallocated_worker_cannot_revise(
    worker: Session, other_worker: Session, source: SourceRecord
) -> None:
    first = _add(worker, source.id)
    with pytest.raises(PermissionDenied) as refused:
        observations.revise(other_worker, first.id, text="Not my case.")
    assert refused.value.rule == "allocation"


def test_revise_in_a_closed_case_refused(
    manager: Session, worker: Session, case: Case, source: SourceRecord
) -> None:
    first = _add(worker, source.id)
    cases.set_status(manager, case.id, "closed")
    with pytest.raises(PermissionDenied) as refused:
        observations.revise(worker, first.id, text="Too late.")
    assert refused.value.rule == "case_closed"


def test_unallocated_worker_cannot_list(
    worker: Session, other_worker: Session, case: Case, source: SourceRecord
) -> None:
    _add(worker, source.id)
    with pytest.raises(PermissionDenied):
        observations.list_for_case(other_worker, case.id)


def test_unallocated_worker_cannot_read_history(
    worker: Session, other_worker: Session, source: SourceRecord
) -> None:
    first = _add(worker, source.id)
    with pytest.raises(PermissionDenied):
        observations.history(other_worker, first.id)


def test_auditor_can_list(
    worker: Session, auditor: Session, case: Case, source: SourceRecord
) -> None:
    added = _add(worker, source.id)
    assert [o.id for o in observations.list_for_case(auditor, case.id)] == [added.id]


# --- interpretation risks ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("old_post", "old_post"),
        ("Old post", "old_post"),
        ("old-post", "old_post"),
        ("repost", "repost"),
        ("IRONY", "irony"),
        ("identity uncertain", "identity_uncertain"),
        ("context_missing", "context_missing"),
        ("other", "other"),
    ],
)
def test_known_risks_stored_by_key(
    worker: Session, source: SourceRecord, typed: str, stored: str
) -> None:
    assert _add(worker, source.id, risks=[typed]).risks == (stored,)


def test_other_risks_stored_verbatim(worker: Session, source: SourceRecord) -> None:
    added = _add(worker, source.id, risks=["  Posted from Kerry's sister's phone  "])
    assert added.risks == ("Posted from Kerry's sister's phone",)


def test_blank_risks_dropped_and_order_kept(worker: Session, source: SourceRecord) -> None:
    added = _add(worker, source.id, risks=["irony", "  ", "Screenshot of a screenshot", ""])
    assert added.risks == ("irony", "Screenshot of a screenshot")


def test_a_known_risk_spelled_twice_is_stored_once(worker: Session, source: SourceRecord) -> None:
    added = _add(worker, source.id, risks=["old_post", "Old post", "irony", "old-post"])
    assert added.risks == ("old_post", "irony")


def test_an_other_risk_written_twice_is_stored_once_as_first_written(
    worker: Session, source: SourceRecord
) -> None:
    added = _add(worker, source.id, risks=["Posted by a cousin", "posted  by a COUSIN"])
    assert added.risks == ("Posted by a cousin",)
