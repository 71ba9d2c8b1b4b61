"""The PostgreSQL schema is the SQLite case file's: the same tables, columns, keys and
constraints, triggers refusing the same things with the same messages; and installing it
is all or nothing."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg_seed import AT, PREFIX, Team, chain_hash, head
from pg_server import pg_database
from psycopg import errors

from caseview import accounts
from caseview.errors import CaseFileError, ValidationError
from caseview.storage import open_case_file
from caseview.storage import schema as sqlite_schema
from caseview.storage.postgres import install

__all__ = ["pg_database"]  # a fixture, used by name

SQLITE_ONLY = re.compile(r"^(_sqlite_migrations|search_index.*|search_trigram.*)$")
POSTGRES_ONLY = {
    "schema_version",
    "caseview_roles",
    "search_index",
    # The meter's keyed hashes, for reading every case without showing it (security.sql).
    "caseview_meter_secret",
    "person_keys",
    "look_keys",
}
TYPES = {"INTEGER": {"bigint", "integer"}, "TEXT": {"text"}, "BLOB": {"bytea"}}
# CHECKs PostgreSQL has beyond SQLite's, by table.
EXTRA_CHECKS = {"blobs": 1}


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path = tmp_path_factory.mktemp("sqlite") / "case.db"
    with open_case_file(path, create=True):
        pass
    return sqlite3.connect(path)


def sqlite_tables(db: sqlite3.Connection) -> list[str]:
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return sorted(n for n in names if not SQLITE_ONLY.match(n))


def pg_columns(team: Team, table: str) -> list[tuple[str, str, bool]]:
    rows = team.owner.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [table],
    ).fetchall()
    return [(str(n), str(t), bool(nn)) for n, t, nn in rows]


def test_the_same_tables(team: Team, sqlite_file: sqlite3.Connection) -> None:
    rows = team.owner.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).fetchall()
    assert sorted({r[0] for r in rows} - POSTGRES_ONLY) == sqlite_tables(sqlite_file)


def test_the_same_columns_in_the_same_order(team: Team, sqlite_file: sqlite3.Connection) -> None:
    for table in sqlite_tables(sqlite_file):
        info = list(sqlite_file.execute(f"PRAGMA table_xinfo('{table}')"))
        expected = [(r[1], r[2].split()[0].upper(), bool(r[3]) or r[5] > 0) for r in info]
        found = pg_columns(team, table)
        assert [c[0] for c in found] == [c[0] for c in expected], table
        for (name, kind, notnull), (_, pg_type, pg_notnull) in zip(expected, found, strict=True):
            assert pg_type in TYPES[kind], (table, name, pg_type)
            assert pg_notnull == notnull, (table, name)


def test_the_same_foreign_keys(team: Team, sqlite_file: sqlite3.Connection) -> None:
    for table in sqlite_tables(sqlite_file):
        expected = {
            (r[3], r[2], r[4]) for r in sqlite_file.execute(f"PRAGMA foreign_key_list('{table}')")
        }
        rows = team.owner.execute(
            "SELECT a.attname, c.confrelid::regclass::text, f.attname FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1]"
            " WHERE c.conrelid = %s::regclass AND c.contype = 'f'",
            [table],
        ).fetchall()
        assert {tuple(r) for r in rows} == expected, table


def test_the_same_unique_keys(team: Team, sqlite_file: sqlite3.Connection) -> None:
    for table in sqlite_tables(sqlite_file):
        expected = set()
        for index in sqlite_file.execute(f"PRAGMA index_list('{table}')"):
            if index[3] in ("u", "pk"):
                columns = [r[2] for r in sqlite_file.execute(f"PRAGMA index_info('{index[1]}')")]
                expected.add(tuple(columns))
        key = [
            r[1]
            for r in sorted(
                sqlite_file.execute(f"PRAGMA table_info('{table}')"), key=lambda r: r[5]
            )
            if r[5]
        ]
        expected.add(tuple(key))  # INTEGER PRIMARY KEY has no index of its own
        rows = team.owner.execute(
            "SELECT array_agg(a.attname ORDER BY k.i) FROM pg_constraint c"
            " CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, i)"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum"
            " WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u') GROUP BY c.oid",
            [table],
        ).fetchall()
        found = {tuple(r[0]) for r in rows}
        if table == "users":  # username is unique ignoring case, through an index
            found.add(("username",))
        assert found == expected, table


def test_the_same_number_of_checks(team: Team, sqlite_file: sqlite3.Connection) -> None:
    for table in sqlite_tables(sqlite_file):
        (definition,) = sqlite_file.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", [table]
        ).fetchone()
        row = team.owner.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'",
            [table],
        ).fetchone()
        assert row is not None
        assert row[0] == definition.count("CHECK") + EXTRA_CHECKS.get(table, 0), table


def test_usernames_follow_caseviews_rule() -> None:
    assert install.USERNAME.pattern == accounts.USERNAME.pattern


def test_schema_version_names_every_migration(team: Team) -> None:
    rows = team.owner.execute("SELECT step FROM schema_version ORDER BY position").fetchall()
    assert [r[0] for r in rows] == sqlite_schema._KNOWN_STEPS


def _messages(source: str) -> list[str]:
    return [m.replace("''", "'") for m in re.findall(r"RAISE\(ABORT, '((?:[^']|'')*)'\)", source)]


def test_every_sqlite_trigger_message_is_in_the_postgresql_schema() -> None:
    sqlite_source = Path(sqlite_schema.__file__).read_text()
    postgres = install.script("schema.sql").replace("''", "'")
    messages = set(_messages(sqlite_source))
    assert len(messages) > 30
    assert [m for m in sorted(messages) if m not in postgres] == []


# ---- triggers refuse what SQLite's refuse, even to the owner ------------------------------

# (statements that must succeed..., the statement refused, its message). %(name)s are the
# seeded ids of case A.
TRIGGERS: dict[str, tuple[list[str], str]] = {
    "justifications_content_frozen": (
        [],
        "UPDATE justifications SET content = 'x' WHERE id = %(approved)s",
    ),
    "reviews_append_only_update": ([], "UPDATE reviews SET reasons = 'x' WHERE id = %(review)s"),
    "reviews_append_only_delete": ([], "DELETE FROM reviews WHERE id = %(review)s"),
    "reviews_author_is_the_author": (
        ["UPDATE justifications SET status = 'submitted', content_hash = 'h' WHERE id = %(draft)s"],
        "INSERT INTO reviews (justification_id, author_id, reviewer_id, decision, content_hash,"
        " at) VALUES (%(draft)s, %(mona)s, %(otto)s, 'approve', 'h', 'now')",
    ),
    "reviews_not_by_an_editor": (
        [
            "UPDATE justifications SET status = 'submitted', content_hash = 'h'"
            " WHERE id = %(draft)s",
            "INSERT INTO justification_editors VALUES (%(draft)s, %(mona)s)",
        ],
        "INSERT INTO reviews (justification_id, author_id, reviewer_id, decision, content_hash,"
        " at) VALUES (%(draft)s, %(wren)s, %(mona)s, 'approve', 'h', 'now')",
    ),
    "viewings_append_only_delete": ([], "DELETE FROM viewings WHERE case_id = %(case)s"),
    "observations_versioned_not_updated": (
        [],
        "UPDATE observations SET text = 'x' WHERE case_id = %(case)s",
    ),
    "observations_root_id_set_once": (
        [],
        "UPDATE observations SET root_id = root_id WHERE case_id = %(case)s",
    ),
    "observations_never_deleted": ([], "DELETE FROM observations WHERE case_id = %(case)s"),
    "notes_versioned_not_updated": ([], "UPDATE notes SET analysis = 'x' WHERE case_id = %(case)s"),
    "notes_never_deleted": ([], "DELETE FROM notes WHERE case_id = %(case)s"),
    "authorisations_content_never_updated": (
        [],
        "UPDATE authorisations SET reference = 'x' WHERE id = %(authorisation)s",
    ),
    "authorisations_confirmed_once": (
        [
            "UPDATE authorisations SET confirmed_by = %(otto)s, confirmed_at = 'now'"
            " WHERE id = %(authorisation)s"
        ],
        "UPDATE authorisations SET confirmed_by = %(ada)s WHERE id = %(authorisation)s",
    ),
    "authorisations_not_by_the_requests_writers": (
        [],
        "INSERT INTO authorisations (justification_id, subject_id, reference,"
        " authorising_officer, magistrate_approved_on, expires_on, recorded_by, recorded_at)"
        " VALUES (%(approved)s, %(subject)s, 'R', 'O', '2026-01-01', '2026-02-01', %(wren)s,"
        " 'now')",
    ),
    "authorisations_not_confirmed_by_the_requests_writers": (
        [],
        "UPDATE authorisations SET confirmed_by = %(wren)s, confirmed_at = 'now'"
        " WHERE id = %(authorisation)s",
    ),
    "authorisations_never_deleted": ([], "DELETE FROM authorisations WHERE id = %(authorisation)s"),
    "policies_text_never_updated": (
        [
            "INSERT INTO policies (id, toml, set_by, set_at, status) VALUES"
            " (900, 't', %(mona)s, 'now', 'pending')"
        ],
        "UPDATE policies SET toml = 'u' WHERE id = 900",
    ),
    "policies_confirmed_by_another_manager": (
        [
            "INSERT INTO policies (id, toml, set_by, set_at, status) VALUES"
            " (900, 't', %(mona)s, 'now', 'pending')"
        ],
        "UPDATE policies SET status = 'in_force', confirmed_by = %(mona)s, confirmed_at = 'now'"
        " WHERE id = 900",
    ),
    "policies_never_deleted": (
        ["INSERT INTO policies (id, toml, set_by, set_at) VALUES (900, 't', %(mona)s, 'now')"],
        "DELETE FROM policies WHERE id = 900",
    ),
    "person_links_not_updated": ([], "UPDATE person_links SET reason = 'x'"),
    "person_links_not_deleted": ([], "DELETE FROM person_links"),
    "return_answers_only_on_a_draft_insert": (
        [],
        "INSERT INTO return_answers (justification_id, review_id, item, reason, answered_by,"
        " answered_at) VALUES (%(approved)s, %(review)s, 2, 'r', %(wren)s, 'now')",
    ),
    "return_answers_only_on_a_draft_update": (
        [],
        "UPDATE return_answers SET answer = 'x' WHERE justification_id = %(approved)s",
    ),
    "return_answers_only_on_a_draft_delete": (
        [],
        "DELETE FROM return_answers WHERE justification_id = %(approved)s",
    ),
    "browse_sessions_end_once": (
        [],
        "UPDATE browse_sessions SET ended_at = 'later' WHERE case_id = %(case)s",
    ),
    "browse_sessions_not_deleted": ([], "DELETE FROM browse_sessions WHERE case_id = %(case)s"),
    "browse_pages_not_updated": ([], "UPDATE browse_pages SET url = 'x'"),
    "browse_pages_not_deleted": ([], "DELETE FROM browse_pages"),
    "browse_requests_not_updated": ([], "UPDATE browse_requests SET url = 'x'"),
    "browse_requests_not_deleted": ([], "DELETE FROM browse_requests"),
}


def sqlite_message(trigger: str) -> str:
    source = Path(sqlite_schema.__file__).read_text()
    body = source[source.rindex(f"CREATE TRIGGER {trigger}") :]
    return _messages(body)[0]


def seeded_ids(team: Team) -> dict[str, Any]:
    a = team.cases["A"]
    one = team.owner.execute
    review = one(
        "SELECT min(id) FROM reviews WHERE justification_id = %s", [a.justifications["returned"]]
    ).fetchone()
    authorisation = one(
        "SELECT min(id) FROM authorisations WHERE justification_id = %s",
        [a.justifications["approved"]],
    ).fetchone()
    assert review is not None and authorisation is not None
    return {
        "case": a.case_id,
        "draft": a.justifications["draft"],
        "approved": a.justifications["approved"],
        "subject": a.subjects[0],
        "review": review[0],
        "authorisation": authorisation[0],
        **{name: person.id for name, person in team.people.items()},
    }


@pytest.mark.parametrize("trigger", sorted(TRIGGERS))
def test_a_trigger_refuses_the_owner_with_sqlites_message(team: Team, trigger: str) -> None:
    before, statement = TRIGGERS[trigger]
    ids = seeded_ids(team)
    for step in before:
        team.owner.execute(step, ids)
    with pytest.raises(psycopg.IntegrityError) as caught:
        team.owner.execute(statement, ids)
    assert caught.value.diag.message_primary == sqlite_message(trigger)


def test_a_session_gains_its_end_once(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    browse = team.owner.execute(
        "SELECT viewing_id FROM browse_sessions WHERE case_id = %s", [a.case_id]
    ).fetchone()
    assert browse is not None
    with pytest.raises(psycopg.IntegrityError, match="only ever gains its end, once"):
        wren.c.execute(
            "UPDATE browse_sessions SET ended_at = %s WHERE viewing_id = %s", [AT, browse[0]]
        )


# ---- the audit log's columns are copies of its payload ------------------------------------


def test_the_columns_beside_the_payload_are_generated_from_it(team: Team) -> None:
    rows = team.owner.execute(
        "SELECT at, actor, action, entity, entity_id, case_id, payload FROM audit_log"
    ).fetchall()
    assert len(rows) > 40
    for at, actor, action, entity, entity_id, case_id, payload in rows:
        data = json.loads(payload)
        assert (at, actor, action, entity, entity_id, case_id) == (
            data["at"],
            data["actor"],
            data["action"],
            data["entity"],
            data["entity_id"],
            data["case_id"],
        )


def test_a_payload_that_is_not_json_is_kept_with_empty_copies(team: Team) -> None:
    seq, prev = head(team.owner)
    payload = '{"seq": 1, not json'
    team.owner.execute(
        "INSERT INTO audit_log (seq, payload, prev_hash, hash) VALUES (%s, %s, %s, %s)",
        [seq + 1, payload, prev, chain_hash(prev, payload)],
    )
    row = team.owner.execute(
        "SELECT at, actor, entity_id, payload FROM audit_log WHERE seq = %s", [seq + 1]
    ).fetchone()
    assert row == (None, None, None, payload)


def test_the_generated_columns_cannot_be_written(team: Team) -> None:
    with pytest.raises(errors.GeneratedAlways):
        team.owner.execute("INSERT INTO audit_log (seq, actor) VALUES (1000, 'x')")


# ---- search -------------------------------------------------------------------------------


def test_search_words_have_a_gin_index(team: Team) -> None:
    # Caseview writes the words as FTS5 makes them (storage/fts.py); that they are found
    # as on a case file, whatever their case and accents, is test_pg_search.py's.
    row = team.owner.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'search_index_document'"
    ).fetchone()
    assert row is not None and "USING gin (document)" in row[0]


def test_search_has_a_trigram_index(team: Team) -> None:
    row = team.owner.execute(
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'search_index_trigram'"
    ).fetchone()
    assert row == (1,)


# ---- installing ---------------------------------------------------------------------------


def test_installing_twice_is_refused(team: Team) -> None:
    with pytest.raises(CaseFileError, match="already holds a Caseview schema"):
        install.install(team.owner, prefix="cv_other")


def test_installing_is_all_or_nothing(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as owner:
        # schema.sql runs, security.sql creates the roles and then stops here.
        owner.execute("CREATE TABLE caseview_roles (x int)")
        with pytest.raises(psycopg.errors.DuplicateTable):
            install.install(owner, prefix="cv_half")
        rows = owner.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        roles = owner.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'cv_half%'")
        assert rows == [("caseview_roles",)]
        assert roles.fetchall() == []


def test_a_prefix_another_database_uses_is_refused(team: Team, pg_database: str) -> None:
    with (
        psycopg.connect(pg_database, autocommit=True) as owner,
        pytest.raises(CaseFileError, match="already exist"),
    ):
        install.install(owner, prefix=PREFIX)  # the team's database took it


@pytest.mark.parametrize("prefix", ["", "9lives", "cv-team", "Cv", "cv_" + "x" * 30])
def test_a_bad_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError):
        install.role_names(prefix)


@pytest.mark.parametrize(
    ("dbname", "prefix"),
    [
        ("team", "cv_team"),
        ("Social-Care 2026", "cv_social_care_2026"),
        ("a" * 40, "cv_" + "a" * 17),
    ],
)
def test_the_default_prefix(dbname: str, prefix: str) -> None:
    assert install.default_prefix(dbname) == prefix


def test_a_user_name_too_long_for_a_role_name_is_refused() -> None:
    names = install.role_names("cv_team")
    assert names.login("a" * 53) == "cv_team_u_" + "a" * 53
    with pytest.raises(ValidationError, match="at most 53 characters"):
        names.login("a" * 54)
