"""Issue 13: search never breaks. Any text is a literal query (never FTS5 syntax), every
Latin letter folds, and Chinese, Japanese and Thai words are found inside running text."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from analysis_support import approved_request, import_page
from gate_support import PASSWORD
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from caseview import accounts, cases, observations
from caseview.captures import SourceRecord
from caseview.cli import main
from caseview.domain import Case, Subject
from caseview.justifications import JustificationRecord
from caseview.observations import MAX_QUERY, SearchHit, parse_query
from caseview.session import Session
from caseview.storage import analysis as analysis_sql
from caseview.storage import open_case_file, schema

AddSource = Callable[..., SourceRecord]


@pytest.fixture
def add_source(worker: Session, manager: Session, case: Case, subject: Subject) -> AddSource:
    request: JustificationRecord = approved_request(worker, manager, case.id, [subject.id])

    def add(text: str, **options: Any) -> SourceRecord:
        return import_page(worker, case.id, request.id, subject.id, text, **options)

    return add


def _found(hits: list[SearchHit]) -> set[int]:
    return {h.ref_id for h in hits}


# --- names that broke search --------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Michał Kowalski", "Michał Kowalski"),
        ("Michał Kowalski", "Michal Kowalski"),
        ("Michal Kowalski", "Michał Kowalski"),
        ("Michał Kowalski", "kowalski michał"),
        ("Bjørn Ødegård", "Bjørn Ødegård"),
        ("Bjørn Ødegård", "Bjorn Odegard"),
        ("Bjorn Odegard", "Bjørn Ødegård"),
        ("Straße", "Strasse"),
        ("Strasse", "Straße"),
        ("Đorđe Đoković", "Dorde Dokovic"),
        ("Þóra Ægisdóttir", "Thora AEgisdottir"),
        ("Ħamrun Ħal", "hamrun hal"),
        ("coŀlegi", "collegi"),
        ("Ɗanjuma Ƙano", "Danjuma Kano"),
        ("Yıldız Ilıcak", "Yildiz Ilicak"),
    ],
)
def test_two_word_names_with_unfoldable_letters_are_found(
    worker: Session, add_source: AddSource, stored: str, typed: str
) -> None:
    source = add_source(f"A post by {stored} last week.")
    add_source("Nothing relevant here.")
    assert _found(observations.search(worker, typed)) == {source.id}


def test_a_folded_name_of_two_words_is_marked_in_the_snippet(
    worker: Session, add_source: AddSource
) -> None:
    add_source("A post by Michał Kowalski last week.")
    [hit] = observations.search(worker, "Michał Kowalski")
    assert "[Michał] [Kowalski]" in hit.snippet


def test_an_apostrophe_in_a_name_is_part_of_the_name(
    worker: Session, add_source: AddSource
) -> None:
    source = add_source("Siobhan O'Brien moved to Leeds.")
    add_source("Brien is a word here, O is not.")
    assert _found(observations.search(worker, "O'Brien")) == {source.id}


# --- every Latin letter folds -------------------------------------------------------


def _latin_letters() -> Iterator[tuple[str, str]]:
    """(letter, its plain spelling) for every Latin letter that is an ASCII letter with
    marks, by its decomposition or by its Unicode name ("LATIN … LETTER X WITH …")."""
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00), *range(0x2C60, 0x2C80)]:
        letter = chr(code)
        name = unicodedata.name(letter, "")
        decomposed = unicodedata.normalize("NFKD", letter)
        plain = "".join(c for c in decomposed if not unicodedata.combining(c))
        parts = name.split(" WITH ")[0].split()
        if not unicodedata.category(letter).startswith("L") or plain == letter:
            continue
        if plain.isascii():
            yield letter, plain.lower()
        elif name.startswith("LATIN ") and len(parts) == 4 and len(parts[3]) == 1:
            yield letter, parts[3].lower()


def test_every_latin_letter_with_a_mark_is_found_by_its_plain_letter(manager: Session) -> None:
    letters = list(_latin_letters())
    assert len(letters) > 400
    with manager.casefile.write() as conn:
        for n, (letter, _) in enumerate(letters):
            analysis_sql.index(conn, "observation", n, 1, "", f"zz{letter}zz")
    missed = [
        letter
        for n, (letter, plain) in enumerate(letters)
        if n not in _found(observations.search(manager, f"zz{plain}zz", limit=500))
    ]
    assert missed == []


def test_every_latin_letter_with_a_mark_typed_finds_the_plain_letter(manager: Session) -> None:
    letters = list(_latin_letters())
    ids = {plain: n for n, plain in enumerate(sorted({p for _, p in letters}))}
    with manager.casefile.write() as conn:
        for plain, n in ids.items():
            analysis_sql.index(conn, "observation", n, 1, "", f"zz{plain}zz")
    missed = [
        letter
        for letter, plain in letters
        if ids[plain] not in _found(observations.search(manager, f"zz{letter}zz"))
    ]
    assert missed == []


def test_fold_spells_unfoldable_letters_plainly() -> None:
    assert (
        analysis_sql.fold("Łódź Øresund Straße Þór ŀ æ Œ ı")
        == "Lódź Oresund Strasse THór l ae OE i"
    )


def test_fold_leaves_letters_unicode61_folds_itself() -> None:
    # Text with only these is not indexed a second time (see analysis.index).
    assert (
        analysis_sql.fold("Zoë Nguyễn, Ştefan, café, Wójcik") == "Zoë Nguyễn, Ştefan, café, Wójcik"
    )


# --- syntax is never syntax ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "finds_it"),
    [
        ('"kerry', True),
        ('kerry"', True),
        ('"unbalanced', False),
        ("NEAR(kerry baby)", False),  # "near kerry" would have to be a phrase
        ("kerry OR dog", False),  # OR is a word: this page has no "or" and no dog
        ("kerry AND baby", False),  # no "and" in the page either
        ("*", False),
        ("kerry *", True),  # a term with no letters is left out
        ("^", False),
        ("^kerry", True),
        ("-x", False),
        ("-kerry", True),
        ("col:x", False),
        ("body:kerry", False),  # "body" is not in the page
        ("title:party", False),  # "title party" would have to be a phrase
        ("party: photo", True),
        ("kerry 😀", True),
        ("😀", False),
        ("kerry\x00", True),
        ("\x00", False),
        ("كيري baby", False),
        ("שלום", False),
        ("\u202ekerry", True),
    ],
)
def test_operators_and_symbols_are_literal(
    worker: Session, add_source: AddSource, query: str, finds_it: bool
) -> None:
    source = add_source("Kerry said the baby was fed near the shop.", title="Party photo")
    add_source("The dog barked all night.", title="Neighbour")
    assert _found(observations.search(worker, query)) == ({source.id} if finds_it else set())


@pytest.mark.parametrize("text", ["مريم أحمد", "שרה כהן"])
def test_right_to_left_names_are_found(worker: Session, add_source: AddSource, text: str) -> None:
    source = add_source(f"A post by {text} on Sunday.")
    add_source("Nothing relevant here.")
    assert _found(observations.search(worker, text)) == {source.id}


@pytest.mark.parametrize("query", ["", "   ", "*", "- ^ :", '""', "😀 🎉", "\x00\x01"])
def test_a_query_with_nothing_to_search_for_finds_nothing_and_says_why(
    worker: Session, add_source: AddSource, query: str
) -> None:
    add_source("Some text.")
    found = observations.find(worker, query)
    assert (found.hits, [n.startswith("Nothing to search for") for n in found.notes]) == (
        (),
        [True],
    )


def test_terms_without_letters_are_left_out_with_a_note() -> None:
    assert parse_query("Kerry * -").notes == (
        "Left out of the search (no letters or digits): '*', '-'",
    )


def test_a_long_query_is_cut_with_a_note(worker: Session, add_source: AddSource) -> None:
    source = add_source("The baby was fed.")
    found = observations.find(worker, "baby " + "x" * 2 * MAX_QUERY)
    assert (_found(list(found.hits)), found.notes) == (
        set(),  # the long word is kept, cut: nothing holds it
        (f"Only the first {MAX_QUERY} characters of the search were used.",),
    )
    assert _found(observations.search(worker, "baby " * 200)) == {source.id}


def test_an_ordinary_query_has_no_notes() -> None:
    assert parse_query("Michał Kowalski").notes == ()


# --- Chinese, Japanese, Thai ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("他住在北京市朝阳区", "北京"),
        ("他住在北京市朝阳区", "北京市"),
        ("他住在北京市朝阳区", "朝阳区"),
        ("他住在北京市朝阳区", "京"),
        ("他住在北京市朝阳区", "北京 朝阳"),
        ("他住在北京市朝阳区", "北京，朝阳"),
        ("他住在北京市朝阳区。", "「朝阳区」"),
        ("私は東京都に住んでいます", "東京"),
        ("私は東京都に住んでいます", "住んでいます"),
        ("カタカナのテキストです", "カタカナ"),
        ("ฉันอาศัยอยู่ในกรุงเทพมหานคร", "กรุงเทพ"),
        ("ฉันอาศัยอยู่ในกรุงเทพมหานคร", "อาศัย"),
        ("서울에서 살고 있어요", "서울"),
        ("Kerry met 王小明 in 上海市", "王小明 Kerry"),
        ("Kerry met 王小明 in 上海市", "上海 kerry"),
    ],
)
def test_unspaced_scripts_are_found_inside_running_text(
    worker: Session, add_source: AddSource, text: str, typed: str
) -> None:
    source = add_source(text)
    add_source("他住在上海。Nothing relevant here. ที่นี่")
    assert _found(observations.search(worker, typed)) == {source.id}


@pytest.mark.parametrize("typed", ["广州", "广州市", "北京 dog", "朝阳 上海"])
def test_unspaced_scripts_must_all_match(
    worker: Session, add_source: AddSource, typed: str
) -> None:
    add_source("Kerry: 他住在北京市朝阳区")
    assert observations.search(worker, typed) == []


@pytest.mark.parametrize(("typed", "marked"), [("北京市", "[北京市]"), ("北京", "[北京]")])
def test_an_unspaced_match_is_marked_in_the_snippet(
    worker: Session, add_source: AddSource, typed: str, marked: str
) -> None:
    add_source("他住在北京市朝阳区")
    [hit] = observations.search(worker, typed)
    assert marked in hit.snippet


def test_unspaced_text_in_a_title_and_an_observation_is_found(
    worker: Session, add_source: AddSource
) -> None:
    source = add_source("Body text.", title="北京的照片")
    seen = observations.add(
        worker,
        source.id,
        "照片里的人住在朝阳区。",
        domain="parenting_capacity",
        reliability="C",
        credibility=3,
    )
    assert (
        {(h.kind, h.ref_id) for h in observations.search(worker, "北京")},
        {(h.kind, h.ref_id) for h in observations.search(worker, "朝阳区")},
    ) == ({("source", source.id)}, {("observation", seen.id)})


def test_a_revised_observation_is_found_by_its_new_unspaced_text_only(
    worker: Session, add_source: AddSource
) -> None:
    source = add_source("A photo.")
    first = observations.add(
        worker, source.id, "在广州。", domain="parenting_capacity", reliability="C", credibility=3
    )
    newer = observations.revise(worker, first.id, text="在北京。")
    assert (
        _found(observations.search(worker, "广州")),
        _found(observations.search(worker, "北京")),
    ) == (
        set(),
        {newer.id},
    )


def test_text_without_unspaced_scripts_is_not_indexed_by_trigram(
    worker: Session, add_source: AddSource
) -> None:
    add_source("Kerry moved to Leeds.")
    chinese = add_source("他住在北京")
    rows = worker.casefile.conn.execute("SELECT ref_id FROM search_trigram").fetchall()
    assert [r[0] for r in rows] == [chinese.id]


def test_short_unspaced_terms_stay_within_the_cases_a_worker_may_see(
    manager: Session, worker: Session, case: Case, add_source: AddSource
) -> None:
    add_source("他住在北京")
    other = cases.create_case(manager, "CP-2026-0077", "Jones family")
    with manager.casefile.write() as conn:
        analysis_sql.index(conn, "observation", 99, other.id, "", "她也住在北京")
    assert (
        {h.case_id for h in observations.search(worker, "北京")},
        {h.case_id for h in observations.search(worker, "住在北京")},
        {h.case_id for h in observations.search(manager, "北京")},
    ) == ({case.id}, {case.id}, {case.id, other.id})


def test_short_unspaced_terms_respect_the_limit(manager: Session, case: Case) -> None:
    with manager.casefile.write() as conn:
        for n in range(30):
            analysis_sql.index(conn, "observation", n, case.id, "", f"第{n}号在北京")
    assert len(observations.search(manager, "北京", limit=7)) == 7


# --- the migration --------------------------------------------------------------------


def test_the_trigram_migration_indexes_what_was_indexed_before(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "old.db")
    schema.migrations.apply(db, stop_before="0011_search_trigram")
    db.execute(
        "INSERT INTO search_index (kind, ref_id, case_id, title, body, folded)"
        " VALUES ('source', 1, 1, 'Post', '他住在北京市', ''), ('source', 2, 1, 'Post',"
        " 'Coŀlegi Ɗanjuma', ''), ('source', 3, 1, 'Łódź', 'x', 'Lódź\nx')"
    )
    schema.migrations.apply(db)
    assert (
        db.execute(
            "SELECT ref_id FROM search_trigram WHERE search_trigram MATCH '北京市'"
        ).fetchall(),
        db.execute("SELECT ref_id, folded FROM search_index ORDER BY ref_id").fetchall(),
    ) == ([(1,)], [(1, ""), (2, "Post\nCollegi Danjuma"), (3, "Lódź\nx")])


def test_sqlite_has_the_trigram_tokenizer() -> None:
    assert sqlite3.sqlite_version_info >= (3, 34, 0)


# --- any text at all --------------------------------------------------------------------


SYNTAX = [
    *"\"*^-:(){}+'",
    *("NEAR(", "NEAR", "OR", "AND", "NOT", '""', "title:", "{title body}:"),
    *("Michał", "北京", "住在北京市", "baby", "ﬁ", "ẞ", "😀", "\x00", "\ud800", "\u202e"),
]
UNSPACED = st.characters(
    codec="utf-8", categories=["L", "M", "P", "Z"], min_codepoint=0x0E00, max_codepoint=0x9FFF
)


@pytest.fixture
def corpus(worker: Session, add_source: AddSource, case: Case) -> Case:
    """Text in every kind of script the index treats differently, in the worker's case."""
    add_source("Michał Kowalski, 他住在北京市朝阳区, the baby.", title="Ægir Þór")
    add_source("私は東京都に住んでいます。ฉันอาศัยอยู่ในกรุงเทพ 서울에서")
    add_source("Kerry said the baby was fed near the shop.")
    return case


def _valid(session: Session, query: str, case: Case) -> None:
    found = observations.find(session, query)
    assert all(h.case_id == case.id for h in found.hits)
    assert not found.hits or not parse_query(query).empty


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text())
def test_any_text_is_a_valid_query(worker: Session, corpus: Case, query: str) -> None:
    _valid(worker, query, corpus)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(UNSPACED, max_size=12))
def test_any_text_in_unspaced_scripts_is_a_valid_query(
    worker: Session, corpus: Case, query: str
) -> None:
    _valid(worker, query, corpus)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(st.sampled_from(SYNTAX) | st.text(max_size=5), max_size=12),
    joiner=st.sampled_from(["", " ", "\t", "\u3000"]),
)
def test_any_mix_of_words_and_fts5_syntax_is_a_valid_query(
    worker: Session, corpus: Case, parts: list[str], joiner: str
) -> None:
    _valid(worker, joiner.join(parts), corpus)


@pytest.fixture
def cli_db(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A case file the command line signs in to as wren, a worker with one case."""
    db = tmp_path / "cli.db"
    monkeypatch.setenv("CASEVIEW_DB", str(db))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    with open_case_file(db, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD, display_name="Mona Manager")
        mona = accounts.login(casefile, "mona", PASSWORD)
        accounts.add_user(mona, "wren", "worker", PASSWORD)
        wren = accounts.login(casefile, "wren", PASSWORD)
        case = cases.create_case(mona, "CP-2026-0042", "Kowalski family")
        cases.allocate(mona, case.id, "wren")
        person = cases.add_subject(mona, case.id, "Michał Kowalski", "parent")
        request = approved_request(wren, mona, case.id, [person.id])
        import_page(wren, case.id, request.id, person.id, "Michał Kowalski, 他住在北京市朝阳区.")
    capsys.readouterr()
    return db


def test_cli_finds_a_two_word_name_with_unfoldable_letters(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--user", "wren", "search", "Michał Kowalski", "--case", "CP-2026-0042"])
    out = capsys.readouterr().out
    assert (code, "[Michał] [Kowalski]" in out) == (0, True)


def test_cli_finds_chinese_inside_running_text(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--user", "wren", "search", "北京"])
    out = capsys.readouterr().out
    assert (code, "[北京]" in out) == (0, True)


def test_cli_says_why_a_query_of_symbols_finds_nothing(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--user", "wren", "search", "*"])
    captured = capsys.readouterr()
    assert (code, captured.out.strip(), captured.err.startswith("Nothing to search for")) == (
        0,
        "Nothing found.",
        True,
    )


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text())
@example(query="--")
@example(query="-x")
@example(query="\x00")
@example(query="Michał Kowalski")
def test_any_text_is_a_valid_query_on_the_command_line(
    cli_db: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    # "--" ends the options, as for any command: a query may start with "-".
    code = main(["--user", "wren", "--json", "search", "--case", "CP-2026-0042", "--", query])
    captured = capsys.readouterr()
    assert (code, captured.out.startswith('{"hits": [')) == (0, True), captured.err
