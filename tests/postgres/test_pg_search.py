"""Search and the sources table on a team's server give what they give on a case file:
the same items, in the same order (bm25, then the order of indexing), with the same
snippets, in many languages, for every role.

One world is built twice through the services, identically: on a PostgreSQL database
(``build_team``: mona manages, wren and otto work, ada audits; the seeded cases' index
rows are removed, so only this world is searchable) and on a case file. A worker's ranks
on a server come from the cases they may see (row-level security), so their results are
also compared with case files that hold only their case. A second part compares the
storage functions alone on a corpus, with and without pg_trgm, and FTS5's tokenizers
with the ones :mod:`caseview.storage.fts` reproduces.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import argon2
import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pg_seed import PREFIX, build_team
from pg_server import PgServer, shared_pg_server

import ethics
from caseview import accounts, browse, captures, cases, demo, justifications, observations
from caseview.browse import signed_in_user
from caseview.clock import FixedClock
from caseview.errors import PermissionDenied
from caseview.observations import parse_query
from caseview.session import Session
from caseview.storage import analysis, fts, open_case_file
from caseview.storage.pg import PgConnection
from caseview.storage.postgres import install
from caseview.storage.server import ServerFile, open_server

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse"
PEOPLE = {"mona": "manager", "wren": "worker", "otto": "worker", "ada": "auditor"}

# ---- the world ---------------------------------------------------------------------------

# Case label: reference, title, the worker allocated, its subjects.
CASES = {
    "C1": ("CP-SEARCH-1", "Kowalski family", "wren", ("Michał Kowalski", "Bjørn Ødegård")),
    "C2": ("CP-SEARCH-2", "Jones family", "otto", ("Dana Jones",)),
}
LONG = " ".join(
    ["The", "report", "from", "the", "school", "describes", "a", "long", "afternoon"] * 8
    + ["and", "one", "bruise"]
)
# Source label: case, subject (index into the case's), title, text.
SOURCES: dict[str, tuple[str, int, str, str]] = {
    "en_party": (
        "C1",
        0,
        "Party at the flat",
        "Kerry left the baby with a neighbour overnight. The baby was crying and the "
        "neighbour called the police.",
    ),
    "en_dog": ("C1", 0, "Neighbour", "The dog barked all night near the shop. Nobody fed it."),
    "en_obrien": (
        "C1",
        0,
        "Siobhan O'Brien",
        "Siobhan O'Brien moved to Sheffield in March. Ha-ha-ha-ha, she wrote under the photo.",
    ),
    "pl": (
        "C1",
        0,
        "Michał Kowalski w Łodzi",
        "Michał Kowalski i Łucja Wójcik mieszkają w Łódź, nie w Gdańsk. Fest in der Straße.",
    ),
    "tr": (
        "C1",
        0,
        "Yıldız Şahin İstanbul'da",
        "Yıldız Şahin artık Şişli'de yaşıyor; ILIK bir akşam, ılık hava.",
    ),
    "vi": (
        "C1",
        0,
        "Nguyễn Văn An ở Hà Nội",
        "Nguyễn Văn An đã chuyển đến Đà Nẵng năm ngoái cùng con gái.",
    ),
    "ar": ("C1", 0, "مريم أحمد", "نشرت مريم أحمد صورة من الحفلة يوم الأحد مع الطفل."),
    "zh": ("C1", 0, "北京的照片", "他住在北京市朝阳区。哈哈哈哈哈，Kerry 说。北京很大。"),
    "ja": ("C1", 0, "東京のカタカナ", "私は東京都に住んでいます。カタカナのテキストです。"),
    "th": ("C1", 0, "กรุงเทพ", "ฉันอาศัยอยู่ในกรุงเทพมหานครกับลูกสาว"),
    "bruise_one": ("C1", 0, "Arm", "A bruise on the arm."),
    "bruise_many": (
        "C1",
        0,
        "School gate",
        "Bruise, bruise and another bruise were seen on the child's arm at the school gate "
        "yesterday afternoon by two staff.",
    ),
    "bruise_long": ("C1", 0, "Long report", LONG),
    "mixed": ("C1", 0, "Kerry met 王小明", "Kerry met 王小明 in 上海市 and Michał in Łódź."),
    "odegard": (
        "C1",
        1,
        "Bjørn Ødegård's birthday",
        "Bjørn Ødegård turned forty; a Strasse party, then the café.",
    ),
    "cafe": ("C1", 1, "Café trip_50%", "A trip to the café with the children."),
    # One word twice in a longer text, or once in a short one: which ranks first depends
    # on the average length of the texts ranked, which c2_long raises.
    "quokka_x": ("C1", 0, "Zoo", "quokka quokka " + " ".join(["zzfill"] * 18)),
    "quokka_y": ("C1", 0, "Zoo", "quokka"),
    "c2_bruise": ("C2", 0, "Jones photo", "A bruise in the Jones photo, near Gdańsk."),
    "c2_long": ("C2", 0, "Long notes", " ".join(["ipsum"] * 3000)),
    "c2_zh": ("C2", 0, "上海", "她也住在北京，Kerry 不知道。"),
    "c2_pl": ("C2", 0, "Michał w Gdańsku", "Michał Kowalski był w Gdańsku; Łódź później."),
}
# Observation label: source, text, reliability, credibility, extra fields.
OBSERVATIONS: dict[str, tuple[str, str, str, int, dict[str, Any]]] = {
    "o_bruise": ("bruise_one", "The bruise on the child's arm is visible.", "B", 2, {}),
    "o_tie1": ("en_party", "Bruise seen.", "C", 3, {}),
    "o_tie2": ("en_dog", "Bruise seen.", "C", 4, {}),
    "o_zh": ("zh", "照片里的人住在朝阳区。", "B", 3, {}),
    "o_rev": ("pl", "Seen in Gdańsk.", "A", 2, {}),
    "o_check": (
        "vi",
        "Looks recent.",
        "B",
        3,
        {
            "check_what": "The date of the photo.",
            "check_who": "The GP.",
            "check_when": "2024-11-03",
        },
    ),
    "c2_obs": ("c2_bruise", "Bruise matches the report.", "C", 3, {}),
}
REVISIONS = {"o_rev": "Seen in Łódź."}


@dataclass
class World:
    """One engine's copy of the world, and the labels of what it holds."""

    sessions: dict[str, Session]
    case_ids: dict[str, int] = field(default_factory=dict)
    sources: dict[str, captures.SourceRecord] = field(default_factory=dict)
    labels: dict[tuple[str, int], str] = field(default_factory=dict)

    def case_label(self, case_id: int) -> str:
        return next(label for label, id_ in self.case_ids.items() if id_ == case_id)

    def source_label(self, source_id: int) -> str:
        return self.labels[("source", source_id)]

    def search(
        self, who: str, query: str, *, case: str | None = None, limit: int = 50
    ) -> list[tuple[str, str, str, str]]:
        """(label, case, title, snippet) of each hit, in order; ids as labels."""
        hits = observations.search(
            self.sessions[who],
            query,
            case_id=None if case is None else self.case_ids[case],
            limit=limit,
        )
        return [
            (
                self.labels[(h.kind, h.ref_id)],
                self.case_label(h.case_id),
                # An observation's title names its source by id.
                re.sub(
                    r"source (\d+)", lambda m: "source " + self.source_label(int(m[1])), h.title
                ),
                h.snippet,
            )
            for h in hits
        ]

    def page(self, who: str, case: str, **options: Any) -> tuple[list[tuple[Any, ...]], int]:
        """The rows of a sources-table page, ids as labels, and the total."""
        page = browse.source_page(self.sessions[who], self.case_ids[case], **options)
        rows = [(self.source_label(r.id), *(getattr(r, f) for f in ROW_FIELDS)) for r in page.rows]
        return rows, page.total


# Not captured_at: an import is stamped with the machine's clock, not the session's (the
# order, which is what the table shows, is compared).
ROW_FIELDS = (
    "title",
    "url",
    "origin",
    "method",
    "grading",
    "sha256",
    "size",
    "media_type",
    "subject",
    "captured_by",
)


def _page(title: str, text: str) -> bytes:
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><p>{text}</p></body></html>"
    ).encode()


def populate(world: World, clock: FixedClock, only: set[str]) -> None:
    """The same cases, sources and observations, in the same order, on any engine."""
    mona = world.sessions["mona"]
    subjects: dict[str, list[int]] = {}
    requests: dict[str, int] = {}
    for label, (reference, title, worker, names) in CASES.items():
        if label not in only:
            continue
        case = cases.create_case(mona, reference, title)
        cases.allocate(mona, case.id, worker)
        world.case_ids[label] = case.id
        subjects[label] = [cases.add_subject(mona, case.id, n, "parent").id for n in names]
        author = world.sessions[worker]
        request = ethics.parse_justification(
            {
                **demo.REQUEST,
                **demo.LEE,
                "subjects": subjects[label],
                "valid_until": clock().date() + timedelta(days=14),
            }
        )
        record = justifications.create(author, case.id, request)
        justifications.submit(author, record.id)
        requests[label] = justifications.review(mona, record.id, "approve", "Proportionate.").id
    for label, (case_label, subject, title, text) in SOURCES.items():
        if case_label not in only:
            continue
        clock.advance(minutes=1)
        source = captures.import_file(
            world.sessions[CASES[case_label][2]],
            world.case_ids[case_label],
            _page(title, text),
            filename=f"{label}.html",
            url=f"https://social.example/{label}",
            viewed_at=clock(),
            justification_id=requests[case_label],
            subject_id=subjects[case_label][subject],
            origin="family",
            supplied_by="maternal grandmother",
            attested=True,
        )
        world.sources[label] = source
        world.labels[("source", source.id)] = label
    for label, (source_label, text, reliability, credibility, extra) in OBSERVATIONS.items():
        case_label = SOURCES[source_label][0]
        if case_label not in only:
            continue
        clock.advance(minutes=1)
        author = world.sessions[CASES[case_label][2]]
        seen = observations.add(
            author,
            world.sources[source_label].id,
            text,
            domain="family_environment",
            reliability=reliability,
            credibility=credibility,
            **extra,
        )
        if label in REVISIONS:
            seen = observations.revise(author, seen.id, text=REVISIONS[label])
        world.labels[("observation", seen.id)] = label


@contextlib.contextmanager
def fast_passwords() -> Iterator[None]:
    """argon2 with tiny costs, as tests/conftest.py's fixture (module fixtures miss it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            accounts, "hasher", argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        )
        yield


@contextlib.contextmanager
def case_file_world(path: Path, only: set[str]) -> Iterator[World]:
    clock = FixedClock(START)
    with fast_passwords(), open_case_file(path, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD, clock=clock)
        mona = accounts.login(casefile, "mona", PASSWORD, clock=clock)
        sessions = {"mona": mona}
        for name, role in PEOPLE.items():
            if name != "mona":
                accounts.add_user(mona, name, role, PASSWORD)
                sessions[name] = accounts.login(casefile, name, PASSWORD, clock=clock)
        world = World(sessions)
        populate(world, clock, only)
        yield world


@pytest.fixture(scope="module")
def pg_server(request: pytest.FixtureRequest) -> PgServer:
    return shared_pg_server(request.session)


@pytest.fixture(scope="module")
def server(pg_server: PgServer) -> Iterator[World]:
    """The world on a team database of this module's own."""
    with pg_server.temporary_database("search_world") as url:
        team = build_team(url)
        files: list[ServerFile] = []
        try:
            with team.owner.transaction():
                team.owner.execute("DELETE FROM search_index")  # the seeded cases' rows
            clock = FixedClock(START)
            sessions = {}
            for name, person in team.people.items():
                opened = open_server(
                    url, login=install.role_names(PREFIX).login(name), password=person.password
                )
                files.append(opened)
                sessions[name] = Session(opened, signed_in_user(opened, person.id), clock)
            world = World(sessions)
            populate(world, clock, set(CASES))
            yield world
        finally:
            for opened in files:
                opened.close()
            for person in team.people.values():
                if person.conn is not None:
                    person.conn.close()
            team.owner.close()


@pytest.fixture(scope="module")
def case_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with case_file_world(tmp_path_factory.mktemp("all") / "case.db", set(CASES)) as world:
        yield world


@pytest.fixture(scope="module")
def only_their_case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, World]]:
    """For each worker, a case file holding only the case allocated to them."""
    with contextlib.ExitStack() as stack:
        worlds = {}
        for label, (_, _, worker, _) in CASES.items():
            path = tmp_path_factory.mktemp(label) / "case.db"
            worlds[worker] = stack.enter_context(case_file_world(path, {label}))
        yield worlds


# ---- full-text search ---------------------------------------------------------------------

# A query, and the items a manager finds with it in every case.
QUERIES: dict[str, set[str]] = {
    # English: words, case, several words, a word FTS5 splits, common words.
    "neighbour": {"en_party", "en_dog"},
    "SHEFFIELD": {"en_obrien"},
    "the baby": {"en_party"},
    "baby neighbour police": {"en_party"},
    "bruise": {
        "bruise_one",
        "bruise_many",
        "bruise_long",
        "o_bruise",
        "o_tie1",
        "o_tie2",
        "c2_bruise",
        "c2_obs",
    },
    "BRUISE seen": {"o_tie1", "o_tie2", "bruise_many"},
    "the": {
        "en_party",
        "en_dog",
        "en_obrien",
        "bruise_one",
        "bruise_many",
        "bruise_long",
        "odegard",
        "cafe",
        "c2_bruise",
        "c2_obs",
        "o_bruise",
        "o_check",
    },
    "O'Brien": {"en_obrien"},
    "ha-ha": {"en_obrien"},  # a phrase whose occurrences overlap
    "GP": {"o_check"},
    "quokka": {"quokka_x", "quokka_y"},
    "kerry": {"en_party", "zh", "mixed", "c2_zh"},
    # Polish: letters without a decomposition, folded either way.
    "Michał": {"pl", "mixed", "c2_pl"},
    "Michal Kowalski": {"pl", "c2_pl"},
    "kowalski michał": {"pl", "c2_pl"},
    "Łódź": {"pl", "mixed", "c2_pl", "o_rev"},
    "lodz": {"pl", "mixed", "c2_pl", "o_rev"},
    "Gdansk": {"pl", "c2_bruise"},
    "wojcik Łucja": {"pl"},
    "Strasse": {"pl", "odegard"},
    "Straße": {"pl", "odegard"},
    "odegard": {"odegard"},
    "cafe": {"odegard", "cafe"},
    # Turkish: dotted and dotless i.
    "Yildiz": {"tr"},
    "Yıldız Şahin": {"tr"},
    "istanbul": {"tr"},
    "ŞİŞLİ": {"tr"},
    "sisli": {"tr"},
    "ılık": {"tr"},
    # Vietnamese: stacked accents, đ.
    "Nguyen": {"vi"},
    "Hà Nội": {"vi"},
    "da nang": {"vi"},
    # Arabic.
    "مريم": {"ar"},
    "مريم أحمد": {"ar"},
    "الطفل": {"ar"},
    # Chinese, Japanese, Thai: inside running text, by trigram or (short) by scan.
    "北京": {"zh", "c2_zh"},
    "京": {"zh", "c2_zh", "ja"},
    "北京市": {"zh"},
    "朝阳区": {"zh", "o_zh"},
    "哈哈哈": {"zh"},  # overlapping occurrences
    "北京 Kerry": {"zh", "c2_zh"},
    "上海 kerry": {"mixed", "c2_zh"},
    "王小明 Kerry": {"mixed"},
    "住在北京": {"zh", "c2_zh"},
    "東京": {"ja"},
    "住んでいます": {"ja"},
    "カタカナ": {"ja"},
    "กรุงเทพ": {"th"},
    "อาศัย": {"th"},
    # FTS5's syntax is words like any other.
    "-baby": {"en_party"},
    "^kerry *": {"en_party", "zh", "mixed", "c2_zh"},
    "NEAR(baby crying)": set(),
    "bab*": set(),
    "title:party": set(),
    "dog OR shop": set(),
    "😀": set(),
    "nothing-here": set(),
}


def _labels(hits: list[tuple[str, str, str, str]]) -> set[str]:
    return {label for label, *_ in hits}


@pytest.mark.parametrize("query", list(QUERIES))
def test_managers_and_auditors_find_the_same_on_both_engines(
    server: World, case_file: World, query: str
) -> None:
    for who in ("mona", "ada"):
        for case in (None, "C1", "C2"):
            assert server.search(who, query, case=case) == case_file.search(
                who, query, case=case
            ), (who, case)
    assert _labels(server.search("mona", query)) == QUERIES[query]


@pytest.mark.parametrize("query", list(QUERIES))
@pytest.mark.parametrize("worker", ["wren", "otto"])
def test_a_worker_finds_what_a_case_file_of_their_case_finds(
    server: World,
    case_file: World,
    only_their_case: dict[str, World],
    query: str,
    worker: str,
) -> None:
    found = server.search(worker, query)
    # Ranked by the statistics of what they may see: a case file of their case alone.
    assert found == only_their_case[worker].search(worker, query)
    # The same hits and snippets as on the case file holding every case.
    assert sorted(found) == sorted(case_file.search(worker, query))
    mine = next(label for label, c in CASES.items() if c[2] == worker)
    assert {case for _, case, _, _ in found} <= {mine}
    assert _labels(found) == {label for label in QUERIES[query] if _case_of(label) == mine}


def _case_of(label: str) -> str:
    source = OBSERVATIONS[label][0] if label in OBSERVATIONS else label
    return SOURCES[source][0]


def test_a_workers_ranks_do_not_depend_on_cases_not_theirs(
    server: World, case_file: World, only_their_case: dict[str, World]
) -> None:
    def order(world: World, who: str) -> list[str]:
        return [label for label, *_ in world.search(who, "quokka")]

    # On a case file every text counts, otto's long notes too; on a server wren's ranks
    # come from what she may see, as on a case file of her case alone. A manager sees all.
    assert (order(case_file, "wren"), order(server, "wren")) == (
        ["quokka_x", "quokka_y"],
        ["quokka_y", "quokka_x"],
    )
    assert order(server, "wren") == order(only_their_case["wren"], "wren")
    assert order(server, "mona") == order(case_file, "mona") == ["quokka_x", "quokka_y"]


@pytest.mark.parametrize("worker", ["wren", "otto"])
def test_a_worker_cannot_search_a_case_not_allocated_to_them(
    server: World, case_file: World, worker: str
) -> None:
    other = next(label for label, c in CASES.items() if c[2] != worker)
    for world in (server, case_file):
        with pytest.raises(PermissionDenied):
            world.search(worker, "bruise", case=other)


def test_the_best_hit_comes_first_and_equal_ranks_in_indexing_order(
    server: World, case_file: World
) -> None:
    ranked = [label for label, *_ in server.search("mona", "bruise")]
    assert ranked == [label for label, *_ in case_file.search("mona", "bruise")]
    # Three bruises in a short text beat one in a long report; the two identical
    # observations tie, and come in the order they were written.
    assert ranked.index("bruise_many") < ranked.index("bruise_long")
    assert ranked.index("o_tie1") + 1 == ranked.index("o_tie2")


@pytest.mark.parametrize(
    ("query", "limit"), [("bruise", 1), ("bruise", 3), ("the", 2), ("北京", 1)]
)
def test_limits_are_the_same(server: World, case_file: World, query: str, limit: int) -> None:
    found = server.search("mona", query, limit=limit)
    assert (found, len(found)) == (case_file.search("mona", query, limit=limit), limit)


@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ("Łódź", "[Łódź]"),
        ("Michał Kowalski", "[Michał] [Kowalski]"),
        ("O'Brien", "[O'Brien]"),
        ("北京市", "[北京市]"),
        ("北京", "[北京]"),
        ("ŞİŞLİ", "[Şişli]"),
        ("مريم", "[مريم]"),
        ("Nguyen", "[Nguyễn]"),
        ("กรุงเทพ", "[กรุงเทพ]"),
    ],
)
def test_snippets_mark_the_hit_on_a_server(server: World, query: str, marked: str) -> None:
    assert any(marked in snippet for *_, snippet in server.search("mona", query))


def test_a_revised_observation_is_found_by_its_new_text_only(server: World) -> None:
    assert (_labels(server.search("wren", "gdansk")), _labels(server.search("wren", "lodz"))) == (
        {"pl"},
        {"pl", "mixed", "o_rev"},
    )


# ---- the sources table --------------------------------------------------------------------

FILTERS: dict[str, set[str] | None] = {
    "": None,
    "michal": None,
    "MICHAŁ": None,
    "odegard": {"odegard", "cafe"},
    "Ødegård birthday": {"odegard"},
    "BJORN": {"odegard", "cafe"},
    "cafe": {"cafe"},
    "CAFÉ trip": {"cafe"},
    "%": {"cafe"},
    "_": None,  # in addresses and in every origin (supplied_by_family)
    "trip_": {"cafe"},
    "50%": {"cafe"},
    "yildiz": {"tr"},
    "İSTANBUL'DA": {"tr"},
    "nguyen": {"vi"},
    "hà nội": {"vi"},
    "北京": {"zh"},
    "مريم": {"ar"},
    "łodzi": {"pl"},
    "siobhan": {"en_obrien"},
    "social.example/en_": {"en_party", "en_dog", "en_obrien"},
    "FAMILY": None,
    "supplied_by": None,
    "nothing-like-this": set(),
}


@pytest.mark.parametrize("query", list(FILTERS))
def test_the_sources_table_filters_sorts_and_pages_the_same(
    server: World, case_file: World, query: str
) -> None:
    for sort in browse.SORT_KEYS:
        for descending in (False, True):
            options = {"query": query, "sort": sort, "descending": descending}
            for who in ("wren", "mona", "ada"):
                assert server.page(who, "C1", **options) == case_file.page(who, "C1", **options)
            assert server.page("otto", "C2", **options) == case_file.page("otto", "C2", **options)
            for offset in (0, 4, 8):
                paged = dict(options, offset=offset, limit=4)
                assert server.page("wren", "C1", **paged) == case_file.page("wren", "C1", **paged)
    rows, total = server.page("wren", "C1", query=query)
    expected = FILTERS[query]
    if expected is None:  # the origin, the address or the subject's name
        subject = 0 if query.lower().startswith("micha") else None
        expected = {
            label for label, s in SOURCES.items() if s[0] == "C1" and subject in (None, s[1])
        }
    assert ({row[0] for row in rows}, total) == (expected, len(expected))


def test_a_hash_prefix_finds_its_source_on_both_engines(server: World, case_file: World) -> None:
    prefix = server.sources["pl"].body_sha256[:12].upper()
    assert server.page("wren", "C1", query=prefix) == case_file.page("wren", "C1", query=prefix)
    assert [row[0] for row in server.page("wren", "C1", query=prefix)[0]] == ["pl"]


def test_grading_sorts_the_same(server: World, case_file: World) -> None:
    rows, _ = server.page("mona", "C1", sort="grading", descending=True)
    assert rows == case_file.page("mona", "C1", sort="grading", descending=True)[0]
    # Highest first, equal grades by id (descending too), ungraded sources last.
    assert [(row[0], row[5]) for row in rows[:6]] == [
        ("en_dog", "C4"),
        ("en_party", "C3"),
        ("zh", "B3"),
        ("vi", "B3"),
        ("bruise_one", "B2"),
        ("pl", "A2"),
    ]
    assert {row[5] for row in rows[6:]} == {""}


def test_a_worker_cannot_page_a_case_not_allocated_to_them(server: World, case_file: World) -> None:
    for world in (server, case_file):
        with pytest.raises(PermissionDenied, match="not allocated to you"):
            world.page("otto", "C1")


# ---- the storage functions on a corpus, with and without pg_trgm ---------------------------

CORPUS = [
    *(text for _, _, title, text in SOURCES.values() for text in (title, text)),
    *(text for _, text, *_ in OBSERVATIONS.values()),
    "Coŀlegi Ɗanjuma Ĳssel ǆ ﬁnal Œuvre Þóra Ægir ẞ Ħal",
    "e-mail E-MAIL email e‐mail: a a a a; b a b a b",
    "Ｆｕｌｌ ｗｉｄｔｈ ＡＢＣ and ﬁ and ½ and №5 and ⅻ",
    "ΣΊΣΥΦΟΣ Σίσυφος σίσυφος; Ελλάδα ελλαδα; Русский ЁЖИК ёжик",
    "ह\u093fन्दी हिन्दी; עִבְרִית עברית; ქართული; Ελληνικά; 한국어 서울에서 살고 있어요",
    "naïve cafe\u0301 Cafe\u0301 \u0301lone combining marks \u0301\u0302 x\u0301\u0302y",
    "北京北京北京北京 哈哈 哈哈哈 哈哈哈哈; 東京タワーとトウキョウ; ｶﾀｶﾅ ＡＢＣ",
    "Kerry kerry KERRY Kerry's kerry-ann the the the the the",
    "x" * 40 + " " + "y" * 3,
]


@dataclass
class Stores:
    """The same corpus indexed on a case file and on a server, both read in full."""

    sqlite: sqlite3.Connection
    server: PgConnection
    trigram_index: bool


@pytest.fixture(scope="module", params=["with pg_trgm", "without pg_trgm"])
def stores(
    request: pytest.FixtureRequest, pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stores]:
    with_trgm = request.param == "with pg_trgm"
    path = tmp_path_factory.mktemp("corpus") / "case.db"
    with (
        open_case_file(path, create=True) as casefile,
        pg_server.temporary_database("search_corpus") as url,
    ):
        owner = psycopg.connect(url, autocommit=True)
        if not with_trgm:
            # What a server without the extension meets: creating it fails (here, on a
            # function of its name), and the schema goes on without a trigram index.
            owner.execute(
                "CREATE FUNCTION show_trgm(text) RETURNS text[] LANGUAGE sql"
                " AS 'SELECT ARRAY[]::text[]'"
            )
        install.install(owner, prefix="cv_fts")
        conn = PgConnection(owner)
        for n, text in [*enumerate(CORPUS, 1), (3, CORPUS[2]), (7, CORPUS[6])]:
            # Items 3 and 7 are indexed again: later in the order of equal ranks.
            for engine in (casefile.conn, cast(sqlite3.Connection, conn)):
                analysis.index(engine, "observation", n, n % 3, f"Item {n}", text)
        try:
            yield Stores(casefile.conn, conn, with_trgm)
        finally:
            conn.close()


def test_the_trigram_index_exists_only_with_pg_trgm(stores: Stores) -> None:
    row = stores.server.execute(
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'search_index_trigram'"
    ).fetchone()
    assert row is not None and row[0] == int(stores.trigram_index)


def _both(stores: Stores, query: str, case_ids: list[int] | None = None, limit: int = 50) -> Any:
    asked = parse_query(query)
    if asked.empty:
        return None
    results = [
        analysis.search(
            conn,
            case_ids,
            words=asked.words,
            phrases=asked.phrases,
            fragments=asked.fragments,
            limit=limit,
        )
        for conn in (stores.sqlite, cast(sqlite3.Connection, stores.server))
    ]
    return results


CORPUS_QUERIES = [
    "the",
    "kerry",
    "e-mail",
    "a a",
    "b a b",
    "email",
    "collegi danjuma",
    "ijssel",
    "ǆ",
    "final",
    "oeuvre",
    "thora aegir",
    "ss",
    "full width abc",
    "fi",
    "σίσυφος",
    "ΣΊΣΥΦΟΣ",
    "ελλαδα",
    "ёжик",
    "ЕЖИК",
    "हिन्दी",
    "עברית",
    "서울에서",
    "서울",
    "naive cafe",
    "café",
    "lone",
    "xy",
    "北京北京",
    "北京",
    "哈哈",
    "哈哈哈",
    "哈哈哈哈",
    "トウキョウ",
    "ｶﾀｶﾅ",
    "x" * 40,
    "yyy",
    "kerry's",
    "bruise seen",
]


@pytest.mark.parametrize("query", CORPUS_QUERIES)
def test_the_storage_search_gives_what_fts5_gives(stores: Stores, query: str) -> None:
    for case_ids in (None, [0], [1, 2]):
        for limit in (50, 2):
            on_file, on_server = _both(stores, query, case_ids, limit)
            assert on_server == on_file, (case_ids, limit)


# unicode61 folds neither ligatures and full-width letters (compatibility forms) nor Ё:
# a case file does not find these, and neither does a server.
UNFOUND = {"fi", "final", "full width abc", "ЕЖИК"}


def test_the_corpus_queries_find_what_a_case_file_finds(stores: Stores) -> None:
    unfound = {q for q in CORPUS_QUERIES if not _both(stores, q)[1]}
    assert unfound == UNFOUND


WORDS = st.sampled_from(sorted({w for text in CORPUS for w in text.split()}))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(parts=st.lists(WORDS | st.text(max_size=4), min_size=1, max_size=4))
@example(parts=["哈哈哈哈"])
@example(parts=["the", "the"])
def test_any_query_gives_what_fts5_gives(stores: Stores, parts: list[str]) -> None:
    results = _both(stores, " ".join(parts))
    if results is not None:
        assert results[1] == results[0]


# ---- FTS5's tokenizers, reproduced ----------------------------------------------------------


def _sqlite_words(text: str) -> list[str]:
    db = sqlite3.connect(":memory:")
    db.text_factory = bytes
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = '{fts.WORD_TOKENIZER}')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.execute("INSERT INTO t (x) VALUES (?)", (text,))
    rows = db.execute("SELECT offset, term FROM v ORDER BY offset").fetchall()
    db.close()
    return [term.decode("utf-8", "backslashreplace") for _, term in rows]


def _sqlite_trigram_folded(text: str) -> str:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'trigram')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.execute("INSERT INTO t (x) VALUES (?)", (text,))
    rows = db.execute("SELECT offset, term FROM v ORDER BY offset").fetchall()
    db.close()
    return rows[0][1] + "".join(term[-1] for _, term in rows[1:]) if rows else ""


TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=400, deadline=None)
@given(text=TEXT | st.lists(st.sampled_from(CORPUS), max_size=3).map(" ".join))
@example(text="a\u0301b \u0301c d\u0301\u0302")
@example(text="x" * 40000 + "北" + "z")
@example(text="İstanbul ŁÓDŹ ǅemal ẞ ß ﬃ")
def test_words_are_those_of_unicode61(text: str) -> None:
    assert fts.words_of(text) == _sqlite_words(text)


@settings(max_examples=300, deadline=None)
@given(text=TEXT.filter(lambda t: len(t) >= 3 and "\x00" not in t))
@example(text="ÅÄÖ İI Σς ΑΒΓ")
def test_trigram_folding_is_that_of_the_trigram_tokenizer(text: str) -> None:
    assert (fts.trigram_folded(text), fts.trigram_count(text)) == (
        _sqlite_trigram_folded(text),
        len(text) - 2,
    )


def test_a_document_too_big_for_a_tsvector_keeps_buckets() -> None:
    words = {f"w{n:07d}" for n in range(150_000)}
    lexemes = fts._lexemes(words)
    assert all(lexeme.startswith("%") for lexeme in lexemes) and len(lexemes) <= 65536


def test_a_long_word_is_kept_as_a_hash() -> None:
    digest = hashlib.blake2b(b"x" * 300, digest_size=16).hexdigest()
    assert fts._lexemes({"x" * 300, "short"}) == sorted(["short", "#" + digest])
