"""Full-text search (FTS5) over source text and observations, within what a user may see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from analysis_support import approved_request, import_page

from caseview import cases, observations
from caseview.captures import SourceRecord
from caseview.domain import Case, Subject
from caseview.errors import PermissionDenied
from caseview.justifications import JustificationRecord
from caseview.observations import Observation, SearchHit
from caseview.session import Session
from caseview.storage import analysis as analysis_sql

AddSource = Callable[..., SourceRecord]


@pytest.fixture
def request_(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> JustificationRecord:
    return approved_request(worker, manager, case.id, [subject.id])


@pytest.fixture
def add_source(
    worker: Session, case: Case, subject: Subject, request_: JustificationRecord
) -> AddSource:
    def add(text: str, **options: Any) -> SourceRecord:
        return import_page(worker, case.id, request_.id, subject.id, text, **options)

    return add


def _observe(session: Session, source_id: int, text: str, **changes: Any) -> Observation:
    options: dict[str, Any] = {"domain": "parenting_capacity", "reliability": "C", "credibility": 3}
    options.update(changes)
    return observations.add(session, source_id, text, **options)


def _found(hits: list[SearchHit]) -> set[tuple[str, int]]:
    return {(h.kind, h.ref_id) for h in hits}


# --- what is found ------------------------------------------------------------------


def test_finds_a_word_in_source_text(worker: Session, case: Case, add_source: AddSource) -> None:
    source = add_source("Kerry left the baby with a neighbour overnight.")
    add_source("Nothing relevant here.")
    hits = observations.search(worker, "neighbour")
    assert [(h.kind, h.ref_id, h.case_id) for h in hits] == [("source", source.id, case.id)]


def test_finds_a_word_in_a_source_title(worker: Session, add_source: AddSource) -> None:
    source = add_source("Body text.", title="Birthday party at the flat")
    assert _found(observations.search(worker, "birthday")) == {("source", source.id)}


def test_finds_a_word_in_observation_text(worker: Session, add_source: AddSource) -> None:
    source = add_source("A photo.")
    seen = _observe(worker, source.id, "The bruise on the child's arm is visible.")
    assert _found(observations.search(worker, "bruise")) == {("observation", seen.id)}


def test_finds_a_word_in_an_observations_external_check(
    worker: Session, add_source: AddSource
) -> None:
    source = add_source("A photo.")
    seen = _observe(
        worker,
        source.id,
        "Looks recent.",
        check_what="The date of the photo.",
        check_who="The GP.",
        check_when="2024-11-03",
    )
    assert _found(observations.search(worker, "GP")) == {("observation", seen.id)}


def test_finds_source_and_observation_together(worker: Session, add_source: AddSource) -> None:
    source = add_source("The caravan by the river.")
    seen = _observe(worker, source.id, "The caravan has no heating.")
    assert _found(observations.search(worker, "caravan")) == {
        ("source", source.id),
        ("observation", seen.id),
    }


def test_search_ignores_letter_case(worker: Session, add_source: AddSource) -> None:
    source = add_source("Kerry moved to Sheffield.")
    assert _found(observations.search(worker, "SHEFFIELD")) == {("source", source.id)}


def test_every_word_must_match(worker: Session, add_source: AddSource) -> None:
    add_source("The baby was crying.")
    assert observations.search(worker, "baby dog") == []


def test_snippet_marks_the_match(worker: Session, add_source: AddSource) -> None:
    add_source("Kerry left the baby with a neighbour overnight.")
    [hit] = observations.search(worker, "neighbour")
    assert "[neighbour]" in hit.snippet


@pytest.mark.parametrize("query", ["", "   ", '""', '"', "\t\n"])
def test_a_query_without_words_finds_nothing(
    worker: Session, add_source: AddSource, query: str
) -> None:
    add_source("Some text.")
    assert observations.search(worker, query) == []


# --- names with diacritics ----------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Łucja Wójcik", "Wojcik"),
        ("Wojcik family", "Wójcik"),
        ("Ştefan Popescu", "Stefan"),
        ("Zoë Nguyễn", "Zoe"),
        ("Zoë Nguyễn", "Nguyen"),
        ("Олена Коваль", "КОВАЛЬ"),
        ("Moved to Łódź", "Łodz"),
    ],
)
def test_diacritics_are_folded(
    worker: Session, add_source: AddSource, stored: str, typed: str
) -> None:
    source = add_source(f"A post by {stored}.")
    assert _found(observations.search(worker, typed)) == {("source", source.id)}


def test_polish_l_with_stroke_is_folded(worker: Session, add_source: AddSource) -> None:
    source = add_source("A post by Łucja Wójcik from Łódź.")
    assert _found(observations.search(worker, "Lucja")) == {("source", source.id)}


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Łucja", "lucja"),
        ("Lucja", "Łucja"),
        ("Łódź", "lodz"),
        ("Łódź", "ŁÓDŹ"),
        ("Søren Ødegård", "Soren"),
        ("Søren Ødegård", "odegard"),
        ("Đorđe", "Dorde"),
        ("Straße", "strasse"),
        ("Strasse", "Straße"),
        ("Ægir", "AEgir"),
        ("Cœur", "coeur"),
        ("Þóra", "Thora"),
        ("Yıldız", "Yildiz"),
    ],
)
def test_letters_without_a_decomposition_are_folded(
    worker: Session, add_source: AddSource, stored: str, typed: str
) -> None:
    source = add_source(f"A post by {stored}.")
    add_source("Nothing relevant here.")
    assert _found(observations.search(worker, typed)) == {("source", source.id)}


def test_text_that_folding_leaves_alone_is_indexed_once(
    worker: Session, add_source: AddSource
) -> None:
    plain = add_source("Kerry moved to Leeds in March.")
    polish = add_source("Kerry moved to Łódź in March.")
    rows = dict(
        worker.casefile.conn.execute(
            "SELECT ref_id, folded FROM search_index WHERE kind = 'source'"
        ).fetchall()
    )
    assert rows[plain.id] == ""
    assert "Lódź" in rows[polish.id]
    assert _found(observations.search(worker, "leeds")) == {("source", plain.id)}
    assert _found(observations.search(worker, "Lodz")) == {("source", polish.id)}


def test_folded_words_in_a_title_and_an_observation_are_found(
    worker: Session, add_source: AddSource
) -> None:
    source = add_source("Body text.", title="Party in Łódź")
    seen = _observe(worker, source.id, "Jørgen is the neighbour.")
    assert (
        _found(observations.search(worker, "lodz")),
        _found(observations.search(worker, "jorgen")),
    ) == ({("source", source.id)}, {("observation", seen.id)})


def test_a_folded_word_typed_as_written_is_marked_in_the_snippet(
    worker: Session, add_source: AddSource
) -> None:
    add_source("Kerry moved to Łódź last spring.")
    [hit] = observations.search(worker, "Łódź")
    assert "[Łódź]" in hit.snippet


def test_a_snippet_shows_the_body_as_written_not_folded(
    worker: Session, add_source: AddSource
) -> None:
    add_source("Kerry moved to Łódź last spring.")
    [hit] = observations.search(worker, "lodz")
    assert "Łódź" in hit.snippet


def test_a_revised_observation_is_found_by_its_folded_new_text_only(
    worker: Session, add_source: AddSource
) -> None:
    source = add_source("A photo.")
    first = _observe(worker, source.id, "Seen in Gdańsk.")
    newer = observations.revise(worker, first.id, text="Seen in Łódź.")
    assert (
        _found(observations.search(worker, "gdansk")),
        _found(observations.search(worker, "lodz")),
    ) == (set(), {("observation", newer.id)})


# --- FTS5 syntax is never syntax ----------------------------------------------------


NASTY = [
    "NEAR(",
    "NEAR(baby fed, 2)",
    '"',
    'baby"',
    'a"b',
    '""""',
    "*",
    "baby*",
    "OR",
    "AND",
    "NOT",
    "baby OR",
    "NOT baby",
    "-",
    "-baby",
    "^",
    "^baby",
    "(",
    ")",
    "baby AND (",
    "title:",
    "title:baby",
    "body:baby",
    "kind:source",
    "{title body}: baby",
    "-title: baby",
    ":",
    "+",
    "{",
    "}",
    "'",
    ";",
    "DROP TABLE search_index",
    "\\",
    "%",
    "_",
    "\u202e",
    "😀",
    "baby\tfed",
    "x" * 5000,
]


@pytest.mark.parametrize("query", NASTY)
def test_fts5_syntax_in_a_query_never_raises(
    worker: Session, case: Case, add_source: AddSource, query: str
) -> None:
    add_source("Kerry said the baby was not fed near the shop.", title="Party photo")
    hits = observations.search(worker, query)
    assert all(h.case_id == case.id for h in hits)


def test_search_still_works_after_a_query_naming_sql(
    worker: Session, add_source: AddSource
) -> None:
    source = add_source("The baby was not fed.")
    observations.search(worker, "DROP TABLE search_index; --")
    assert _found(observations.search(worker, "fed")) == {("source", source.id)}


@pytest.mark.parametrize(
    ("query", "finds_it"),
    [
        ("baby NOT fed", True),  # NOT as an operator would exclude it
        ('"baby fed"', True),  # a phrase would need the words side by side
        ("^kerry", True),  # ^ as a word character is dropped
        ("-baby", True),
        ("dog OR shop", False),  # OR as an operator would find it
        ("bab*", False),  # a prefix query would find "baby"
        ("title:party", False),  # a column filter would find the title
        ("NEAR(baby fed)", False),  # NEAR would find it
    ],
)
def test_fts5_operators_are_treated_as_words(
    worker: Session, add_source: AddSource, query: str, finds_it: bool
) -> None:
    source = add_source("Kerry said the baby was not fed near the shop.", title="Party photo")
    add_source("The dog barked all night.", title="Neighbour")
    expected = {("source", source.id)} if finds_it else set()
    assert _found(observations.search(worker, query)) == expected


def test_a_nul_character_in_a_query_never_raises(worker: Session, add_source: AddSource) -> None:
    source = add_source("The baby was not fed.")
    assert _found(observations.search(worker, "baby \x00")) == {("source", source.id)}


@pytest.mark.parametrize(
    "query", ["ba\x00by", "baby\x00", "\x00baby", "baby \x07\x1b\x7f", "baby \x85", "baby \ud800"]
)
def test_control_characters_are_dropped_from_the_query(
    worker: Session, add_source: AddSource, query: str
) -> None:
    source = add_source("The baby was not fed.")
    assert _found(observations.search(worker, query)) == {("source", source.id)}


@pytest.mark.parametrize("query", ["\x00", "\x00 \x01", '"\x00"', "\ud800"])
def test_a_query_of_only_control_characters_finds_nothing(
    worker: Session, add_source: AddSource, query: str
) -> None:
    add_source("Some text.")
    assert observations.search(worker, query) == []


# --- limits -----------------------------------------------------------------------


def test_limit_is_respected(worker: Session, add_source: AddSource) -> None:
    source = add_source("A photo.")
    for n in range(5):
        _observe(worker, source.id, f"Bruise number {n}.")
    assert len(observations.search(worker, "bruise", limit=2)) == 2


def test_default_limit_returns_every_hit_of_a_small_case(
    worker: Session, add_source: AddSource
) -> None:
    source = add_source("A photo.")
    for n in range(5):
        _observe(worker, source.id, f"Bruise number {n}.")
    assert len(observations.search(worker, "bruise")) == 5


def test_limit_is_capped_at_500(manager: Session, case: Case) -> None:
    with manager.casefile.write() as conn:
        for n in range(600):
            analysis_sql.index(conn, "observation", 10_000 + n, case.id, "Bulk", "needle")
    assert len(observations.search(manager, "needle", limit=100_000)) == 500


# --- who sees what ------------------------------------------------------------------


@pytest.fixture
def other_case(manager: Session, other_worker: Session) -> Case:
    """A second case, allocated to other_worker only, holding one source about 'bruise'."""
    created = cases.create_case(manager, "CP-2026-0077", "Jones family")
    cases.allocate(manager, created.id, other_worker.user.username)
    person = cases.add_subject(manager, created.id, "Dana Jones", "parent")
    request = approved_request(other_worker, manager, created.id, [person.id])
    import_page(other_worker, created.id, request.id, person.id, "A bruise in the Jones photo.")
    return created


def test_worker_finds_only_their_allocated_cases(
    worker: Session, case: Case, other_case: Case, add_source: AddSource
) -> None:
    add_source("A bruise in the Smith photo.")
    assert {h.case_id for h in observations.search(worker, "bruise")} == {case.id}


def test_other_worker_finds_only_their_case(
    other_worker: Session, case: Case, other_case: Case, add_source: AddSource
) -> None:
    add_source("A bruise in the Smith photo.")
    assert {h.case_id for h in observations.search(other_worker, "bruise")} == {other_case.id}


def test_worker_cannot_search_a_case_not_allocated_to_them(
    worker: Session, other_case: Case
) -> None:
    with pytest.raises(PermissionDenied):
        observations.search(worker, "bruise", case_id=other_case.id)


def test_search_within_one_case(
    manager: Session, case: Case, other_case: Case, add_source: AddSource
) -> None:
    add_source("A bruise in the Smith photo.")
    assert {h.case_id for h in observations.search(manager, "bruise", case_id=case.id)} == {case.id}


def test_manager_finds_every_case(
    manager: Session, case: Case, other_case: Case, add_source: AddSource
) -> None:
    add_source("A bruise in the Smith photo.")
    assert {h.case_id for h in observations.search(manager, "bruise")} == {case.id, other_case.id}


def test_auditor_finds_every_case(
    auditor: Session, case: Case, other_case: Case, add_source: AddSource
) -> None:
    add_source("A bruise in the Smith photo.")
    assert {h.case_id for h in observations.search(auditor, "bruise")} == {case.id, other_case.id}


def test_worker_with_no_cases_finds_nothing(
    manager: Session, case: Case, add_source: AddSource
) -> None:
    add_source("A bruise in the Smith photo.")
    from caseview import accounts  # local: only this test adds a user

    accounts.add_user(manager, "nell", "worker", "correct horse")
    nell = accounts.login(manager.casefile, "nell", "correct horse", clock=manager.clock)
    assert observations.search(nell, "bruise") == []


# --- versions ---------------------------------------------------------------------


def test_revised_observations_old_text_is_no_longer_found(
    worker: Session, add_source: AddSource
) -> None:
    source = add_source("A photo.")
    first = _observe(worker, source.id, "The man in the photo has a tattoo.")
    observations.revise(worker, first.id, text="The man in the photo has a beard.")
    assert observations.search(worker, "tattoo") == []


def test_revised_observations_new_text_is_found(worker: Session, add_source: AddSource) -> None:
    source = add_source("A photo.")
    first = _observe(worker, source.id, "The man in the photo has a tattoo.")
    second = observations.revise(worker, first.id, text="The man in the photo has a beard.")
    assert _found(observations.search(worker, "beard")) == {("observation", second.id)}
