"""verify checks every row the audit log vouches for against the events that made it.

A case file with rows in every vouched-for table is built once (the demo, then a second
manager, a refused login, an authorisation, a policy, a person link and the rest); each
test copies it and tampers with it at the SQL level, triggers dropped, as someone
holding the file could.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from browse_support import rendered_page
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tamper_support import tampering

from caseview import (
    accounts,
    audit,
    authorisations,
    browsing,
    cases,
    demo,
    justifications,
    notes,
    observations,
    persons,
    policy,
)
from caseview.cli import main
from caseview.errors import LoginFailed
from caseview.session import Session
from caseview.storage import integrity, open_case_file, rowcheck, schema
from caseview.storage.rowcheck import RULES, UNVOUCHED_TABLES

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A case file with rows in every table the log vouches for, made by the services."""
    path = tmp_path_factory.mktemp("rows") / "rich.db"
    assert main(["--db", str(path), "demo", "--no-gui"]) == 0
    with open_case_file(path) as casefile:
        manager = accounts.login(casefile, "demo-manager", "demo")
        worker = accounts.login(casefile, "demo-worker", "demo")
        with contextlib.suppress(LoginFailed):
            accounts.login(casefile, "demo-worker", "not the password")
        accounts.add_user(manager, "second", "manager", PASSWORD)
        accounts.add_user(manager, "leaver", "worker", PASSWORD)
        accounts.set_active(manager, "leaver", False)
        second = accounts.login(casefile, "second", PASSWORD)
        [case] = cases.list_cases(manager)
        cases.allocate(manager, case.id, "second")
        cases.allocate(manager, case.id, "leaver")
        cases.deallocate(manager, case.id, "leaver")
        other = cases.create_case(manager, "ROWS-2", "A second case")
        first, child = (s.id for s in cases.list_subjects(manager, case.id)[:2])
        twin = cases.add_subject(manager, other.id, "Jordan Example", "child", handles=["@j"])
        persons.link(manager, child, twin.id, "Same date of birth and address in both files")
        cases.set_status(manager, other.id, "closed")
        proposed = policy.set_policy(manager, 'name = "Test council"\nmeter_stop_at = 5\n')
        assert proposed.id is not None
        policy.confirm_policy(second, proposed.id)
        requests = justifications.list_for_case(manager, case.id)
        approved = next(r for r in requests if r.status == "approved")
        subject = approved.request.subjects[0]
        today = manager.now().date()
        made = authorisations.record(
            manager,
            approved.id,
            reference="DSA/2026/0042",
            officer="A. Senior, Head of Service",
            magistrate_approved_on=today - timedelta(days=1),
            expires_on=today + timedelta(days=60),
            subject_id=subject,
        )
        authorisations.confirm(second, made.id)
        justifications.review_queue(manager)  # notices the overdue emergency
        waiting = [
            r for r in justifications.list_for_case(manager, case.id) if r.status == "submitted"
        ]
        justifications.review(second, waiting[0].id, "return", "Say why a look is needed now.")
        justifications.cancel(worker, waiting[-1].id, "No longer needed")
        [seen, *_] = observations.list_for_case(worker, case.id)
        observations.revise(worker, seen.id, text="A revised reading of the post.")
        notes.save(worker, case.id, conclusion="A second version of the conclusion.")
        _rendered_capture(worker, manager, case.id, subject)
        assert first != child
    return path


def _rendered_capture(worker: Session, manager: Session, case_id: int, subject: int) -> None:
    """A page kept in the evidence browser: a source with its artefacts."""
    request = demo._request([subject], worker.now().date(), {**demo.LEE, "planned_viewings": 1})
    made = justifications.create(worker, case_id, request)
    justifications.submit(worker, made.id)
    justifications.review(manager, made.id, "approve", "One session in the evidence browser.")
    url = "https://social.example/alex.example"
    opened = browsing.start(worker, case_id, made.id, subject, url, attested=True)
    page = rendered_page(worker.now(), url, title="Alex", text="New chapter", width=1280)
    shown = browsing.PageView(url, "Alex", worker.now(), 200, (("server", "x"),), "ab" * 32)
    browsing.log_page(worker, opened.id, shown)
    browsing.capture(worker, opened.id, page)
    browsing.end(worker, opened.id)


@pytest.fixture
def copy(rich: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copy(rich, target)
    return target


def cli_verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["--db", str(path), "--json", "verify"])
    return code, json.loads(capsys.readouterr().out)


def events_by_seq(path: Path) -> dict[int, str]:
    conn = sqlite3.connect(path)
    try:
        return {int(s): str(a) for s, a in conn.execute("SELECT seq, action FROM audit_log")}
    finally:
        conn.close()


def rows_of(path: Path, table: str, key: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(f"SELECT {key}, * FROM {table} ORDER BY {key}"))
    finally:
        conn.close()


def keyed(rule: rowcheck.TableRule) -> str:
    return ", ".join(rule.key)


VOUCHED = [rule for rule in RULES]


# --- the rules cover the schema -------------------------------------------------------


def test_every_table_is_vouched_for_or_listed_with_a_reason(rich: Path) -> None:
    conn = sqlite3.connect(rich)
    found = list(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    virtual = [name for name, sql in found if sql.startswith("CREATE VIRTUAL TABLE")]
    tables = {  # fts5's shadow tables belong to their virtual table
        name
        for name, _ in found
        if not name.startswith("sqlite_") and not name.startswith(tuple(f"{v}_" for v in virtual))
    }
    conn.close()
    server_only = {"person_keys", "look_keys"}  # the meter's keyed hashes (security.sql)
    assert tables == {r.table for r in RULES} | (set(UNVOUCHED_TABLES) - server_only)


@pytest.mark.parametrize("rule", VOUCHED, ids=lambda r: r.table)
def test_every_column_is_compared_or_listed_as_not_vouched(
    rich: Path, rule: rowcheck.TableRule
) -> None:
    conn = sqlite3.connect(rich)
    columns = [row[1] for row in conn.execute(f"PRAGMA table_info({rule.table})")]
    conn.close()
    named = list(rule.key) + list(rule.compared) + list(rule.not_vouched)
    assert sorted(named) == sorted(columns)
    assert all(reason.strip() for reason in rule.not_vouched.values())


@pytest.mark.parametrize("rule", VOUCHED, ids=lambda r: r.table)
def test_the_built_file_has_rows_in_every_vouched_table(
    rich: Path, rule: rowcheck.TableRule
) -> None:
    assert rows_of(rich, rule.table, keyed(rule))


def test_the_untouched_file_is_intact(rich: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli_verify(rich, capsys)
    assert (code, out["intact"], out["evidence_problems"]) == (0, True, [])


# --- the case ----------------------------------------------------------------


def test_an_edited_address_and_capturer_break_verify_naming_row_and_event(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE sources SET final_url = 'https://elsewhere.example/', captured_by = 1"
            " WHERE id = 2"
        )
    code, out = cli_verify(copy, capsys)
    assert code == 4 and not out["intact"]
    [problem, *_] = out["evidence_problems"]
    result = audit.verify(None, copy)
    found = result.row_break
    assert found is not None and (found.table, found.row, found.kind) == ("sources", "2", "changed")
    assert events_by_seq(copy)[found.seq] == "source.recorded"
    assert "final_url" in found.columns
    assert problem == str(found)
    assert f"sources row 2 does not match audit event {found.seq} (source.recorded)" in problem


def test_a_source_text_is_vouched_by_its_hash(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with tampering(copy) as conn:
        conn.execute("UPDATE sources SET text = text || ' and more' WHERE id = 1")
    result = audit.verify(None, copy)
    assert result.row_break is not None and result.row_break.columns == ("text",)


def rechain(path: Path, rewrite: Callable[[int, str], str]) -> None:
    """Rewrite each event's payload with ``rewrite(seq, payload)``, every hash recomputed,
    so the chain itself is intact: what someone holding the file could do."""
    with tampering(path) as conn:
        prev = "0" * 64
        for seq, payload in list(conn.execute("SELECT seq, payload FROM audit_log ORDER BY seq")):
            text = rewrite(seq, payload)
            digest = audit.chain_hash(prev, text)
            conn.execute(
                "UPDATE audit_log SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (text, prev, digest, seq),
            )
            prev = digest


def rechain_without_text_hashes(path: Path) -> None:
    """Rewrite the log as an older Caseview wrote it: source.recorded without text_sha256."""

    def older(seq: int, payload: str) -> str:
        event = json.loads(payload)
        event["data"].pop("text_sha256", None)
        return audit.canonical_json(event)

    rechain(path, older)


def test_old_source_events_without_a_text_hash_leave_only_text_unchecked(copy: Path) -> None:
    rechain_without_text_hashes(copy)
    with tampering(copy) as conn:
        conn.execute("UPDATE sources SET text = 'rewritten' WHERE id = 1")
    assert audit.verify(None, copy).intact
    with tampering(copy) as conn:
        conn.execute("UPDATE sources SET title = 'rewritten' WHERE id = 1")
    found = audit.verify(None, copy).row_break
    assert found is not None and found.columns == ("title",)


# --- hypothesis: any column of any row of each table ------------------------------------


def _tamperable(rule: rowcheck.TableRule) -> list[str]:
    return list(rule.compared)


CHANGES = st.sampled_from([(rule.table, column) for rule in RULES for column in _tamperable(rule)])
VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-3, max_value=10**12),
    st.text(max_size=40),
    st.sampled_from(["", "[]", "{}", "approved", "2026-11-24T09:00:00.000000Z", "worker"]),
)


def _same_by_meaning(before: object, after: object) -> bool:
    if before == after and type(before) is type(after):
        return True
    if isinstance(before, str) and isinstance(after, str):
        try:
            return bool(json.loads(before) == json.loads(after))
        except ValueError:
            return False
    return False


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(change=CHANGES, pick=st.integers(min_value=0), value=VALUES, data=st.data())
def test_changing_any_column_of_any_row_is_a_break_naming_table_row_and_event(
    rich: Path,
    tmp_path: Path,
    change: tuple[str, str],
    pick: int,
    value: object,
    data: st.DataObject,
) -> None:
    table, column = change
    rule = next(r for r in RULES if r.table == table)
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "case.db"  # a fresh file per example
    shutil.copy(rich, path)
    rows = rows_of(path, table, keyed(rule))
    width = len(rule.key)
    row = rows[pick % len(rows)]
    key = row[:width] if width > 1 else (row[0],)
    names = [r[1] for r in sqlite3.connect(path).execute(f"PRAGMA table_info({table})")]
    before = row[width + names.index(column)]
    others = [r[width + names.index(column)] for r in rows]
    new = data.draw(st.one_of(st.just(value), st.sampled_from(others)))
    assume(not _same_by_meaning(before, new))
    where = " AND ".join(f"{k} = ?" for k in rule.key)
    try:
        with tampering(path) as conn:
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (new, *key))
            stored = conn.execute(f"SELECT {column} FROM {table} WHERE {where}", key).fetchone()
    except sqlite3.IntegrityError:
        assume(False)  # the schema's own CHECK refused the value
        return
    assume(not _same_by_meaning(before, stored[0]))  # e.g. 5 stored as '5' in a TEXT column
    result = audit.verify(None, path)
    found = result.row_break
    assert not result.intact and found is not None
    assert found.table == table and found.kind == "changed"
    assert found.row == (str(key[0]) if width == 1 else found.row)
    assert column in found.columns
    assert found.seq is not None and found.action == events_by_seq(path)[found.seq]
    assert str(found) in result.evidence_problems


@pytest.mark.parametrize("rule", VOUCHED, ids=lambda r: r.table)
def test_deleting_a_row_is_a_break_naming_the_event_that_made_it(
    copy: Path, rule: rowcheck.TableRule, capsys: pytest.CaptureFixture[str]
) -> None:
    [first, *_] = rows_of(copy, rule.table, keyed(rule))
    key = first[: len(rule.key)]
    with tampering(copy) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(
            f"DELETE FROM {rule.table} WHERE " + " AND ".join(f"{k} = ?" for k in rule.key), key
        )
    code, out = cli_verify(copy, capsys)
    found = audit.verify(None, copy).row_break
    assert code == 4 and found is not None
    assert (found.table, found.kind) == (rule.table, "deleted")
    assert found.seq is not None and found.action == events_by_seq(copy)[found.seq]
    assert str(found) in out["evidence_problems"]


ADDED = {
    "users": "INSERT INTO users (id, username, display_name, role, password_hash, created_at)"
    " VALUES (900, 'mallory', 'Mallory', 'manager', 'x', '2026-01-01T00:00:00.000000Z')",
    "cases": "INSERT INTO cases (id, reference, title, created_by, created_at)"
    " VALUES (900, 'X-9', 'X', 1, 'z')",
    "case_members": "INSERT INTO case_members VALUES (1, 3, 1, 'z')",
    "subjects": "INSERT INTO subjects (id, case_id, name, role, created_by, created_at)"
    " VALUES (900, 1, 'Someone', 'other', 1, 'z')",
    "person_links": "INSERT INTO person_links VALUES (900, 1, 2, 'r', 1, 'z')",
    "policies": "INSERT INTO policies (id, toml, set_by, set_at) VALUES (900, '', 1, 'z')",
    "justifications": "INSERT INTO justifications SELECT 900, case_id, author_id, version,"
    " supersedes, status, emergency, content, content_hash, valid_until, created_at,"
    " updated_at, submitted_at, decided_at, overdue_flagged_at, authorisation_ref,"
    " authorised_by, authorised_at, cancel_reason FROM justifications WHERE id = 1",
    "reviews": "INSERT INTO reviews SELECT 900, justification_id, author_id, reviewer_id,"
    " decision, reasons, content_hash, at FROM reviews WHERE id = 1",
    "authorisations": "INSERT INTO authorisations SELECT 900, justification_id, subject_id,"
    " reference, authorising_officer, magistrate_approved_on, expires_on, recorded_by,"
    " recorded_at, confirmed_by, confirmed_at FROM authorisations WHERE id = 1",
    "sources": "CREATE TEMP TABLE s AS SELECT * FROM sources WHERE id = 1;"
    " UPDATE s SET id = 900; INSERT INTO sources SELECT * FROM s",
    "observations": "CREATE TEMP TABLE o AS SELECT * FROM observations WHERE id = 1;"
    " UPDATE o SET id = 900, root_id = 900, supersedes = NULL; INSERT INTO observations"
    " SELECT * FROM o",
    "notes": "INSERT INTO notes (id, case_id, version, author_id, analysis, created_at)"
    " VALUES (900, 1, 99, 2, 'forged', 'z')",
    "blobs": "INSERT INTO blobs VALUES ('" + "a" * 64 + "', 1, NULL, x'00', 'z')",
    "browse_pages": "CREATE TEMP TABLE p AS SELECT * FROM browse_pages LIMIT 1;"
    " UPDATE p SET id = 900; INSERT INTO browse_pages SELECT * FROM p",
    "browse_sessions": "CREATE TEMP TABLE b AS SELECT * FROM browse_sessions LIMIT 1;"
    " UPDATE b SET viewing_id = (SELECT id FROM viewings WHERE kind = 'capture' LIMIT 1);"
    " INSERT INTO browse_sessions SELECT * FROM b",
    "source_artefacts": "CREATE TEMP TABLE a AS SELECT * FROM source_artefacts LIMIT 1;"
    " UPDATE a SET source_id = 1; INSERT INTO source_artefacts SELECT * FROM a",
}


@pytest.mark.parametrize("rule", VOUCHED, ids=lambda r: r.table)
def test_adding_a_row_is_a_break_naming_the_row(
    copy: Path, rule: rowcheck.TableRule, capsys: pytest.CaptureFixture[str]
) -> None:
    with tampering(copy) as conn:
        for statement in ADDED[rule.table].split(";"):
            conn.execute(statement)
    code, out = cli_verify(copy, capsys)
    found = audit.verify(None, copy).row_break
    assert code == 4 and found is not None
    assert (found.table, found.kind, found.seq) == (rule.table, "added", None)
    row = (
        "a" * 64
        if rule.table == "blobs"
        else "case_id 1, user_id 3"
        if rule.table == "case_members"
        else "source_id 1, kind mhtml"
        if rule.table == "source_artefacts"
        else "1"  # the demo's first capture's viewing, made a session behind the log's back
        if rule.table == "browse_sessions"
        else "900"
    )
    assert found.row == row
    assert f"{rule.table} row {row} is in no audit event" in out["evidence_problems"][0]


def test_a_value_that_is_not_utf8_is_a_break(copy: Path) -> None:
    with tampering(copy) as conn:
        conn.execute("UPDATE notes SET analysis = CAST(x'ff00fe' AS TEXT) WHERE id = 1")
    found = audit.verify(None, copy).row_break
    assert found is not None and (found.table, found.row) == ("notes", "1")
    assert "analysis" in found.columns


def test_the_first_break_in_log_order_is_reported(copy: Path) -> None:
    with tampering(copy) as conn:
        conn.execute("UPDATE notes SET analysis = 'late' WHERE id = (SELECT max(id) FROM notes)")
        conn.execute("UPDATE users SET display_name = 'early' WHERE id = 1")
    found = audit.verify(None, copy).row_break
    assert found is not None and (found.table, found.row, found.action) == (
        "users",
        "1",
        "user.added",
    )


# --- a password hash swapped: signing in as someone else ---------------------------------


def test_a_password_hash_swapped_behind_the_logs_back_is_a_break(copy: Path) -> None:
    # Someone holding the file puts a hash whose password they know on the manager's
    # account: they could sign in as her, and what they did would read as hers.
    with tampering(copy) as conn:
        (known,) = conn.execute(
            "SELECT password_hash FROM users WHERE username = 'demo-worker'"
        ).fetchone()
        conn.execute("UPDATE users SET password_hash = ? WHERE username = 'demo-manager'", (known,))
    found = audit.verify(None, copy).row_break
    assert found is not None
    assert (found.table, found.kind, found.columns) == ("users", "changed", ("password_hash",))
    assert found.action in ("user.added", "user.password_reset", "user.password_changed")


def test_a_password_set_through_caseview_keeps_the_file_intact(copy: Path) -> None:
    with open_case_file(copy) as casefile:
        manager = accounts.login(casefile, "demo-manager", "demo")
        accounts.reset_password(manager, "second", "a new pass phrase")
        accounts.change_password(manager, "demo", "my own new phrase")
    assert audit.verify(None, copy).intact
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE"
            " username = 'leaver') WHERE username = 'second'"
        )
    found = audit.verify(None, copy).row_break
    assert found is not None and (found.columns, found.action) == (
        ("password_hash",),
        "user.password_reset",
    )


# --- the file's guards ---------------------------------------------------------------


def test_triggers_dropped_and_left_so_are_reported(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(copy)
    try:
        conn.execute("DROP TRIGGER sources_evidence_never_updated")
        conn.execute("DROP TRIGGER audit_log_append_only_delete")
        conn.commit()
    finally:
        conn.close()
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert out["evidence_problems"] == [
        "the case file's guards were changed outside Caseview (triggers removed: "
        "audit_log_append_only_delete, sources_evidence_never_updated): Caseview never "
        "changes them, so the file was edited with another tool"
    ]


def test_a_trigger_changed_or_added_is_reported(copy: Path) -> None:
    conn = sqlite3.connect(copy)
    try:
        conn.execute("DROP TRIGGER notes_never_deleted")
        conn.execute(
            "CREATE TRIGGER notes_never_deleted BEFORE DELETE ON notes"
            " WHEN old.id > 1000 BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
        conn.execute(
            "CREATE TRIGGER quietly AFTER INSERT ON observations"
            " BEGIN UPDATE observations SET text = 'x' WHERE id = new.id; END"
        )
        conn.commit()
    finally:
        conn.close()
    problems = audit.verify(None, copy).evidence_problems
    assert problems == (
        "the case file's guards were changed outside Caseview (triggers changed: "
        "notes_never_deleted; added: quietly): Caseview never changes them, so the file "
        "was edited with another tool",
    )


def test_a_file_of_an_older_schema_is_held_to_the_guards_of_its_own_steps(
    tmp_path: Path,
) -> None:
    older = schema.known_steps()[:3]
    path = tmp_path / "older.db"
    db = sqlite_utils.Database(path)
    schema.migrations.apply(db, stop_before=list(schema.known_steps()[3:]))
    db.close()
    conn = sqlite3.connect(path)
    try:
        assert integrity.case_file_guards(conn) is None
    finally:
        conn.close()
    assert set(schema.triggers_after(older)) < set(schema.triggers_after(schema.known_steps()))


# --- an event rewritten into one Caseview never writes ----------------------------------


def first_seq(path: Path, action: str) -> int:
    return min(seq for seq, found in events_by_seq(path).items() if found == action)


def _without(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda event: audit.canonical_json({k: v for k, v in event.items() if k != key})


MALFORMED: dict[str, Callable[[dict[str, Any]], str]] = {
    "not JSON": lambda event: '{"action":"case.created",not JSON',
    "its row's id missing": _without("entity_id"),
    "a key before its action": lambda event: audit.canonical_json({**event, "0": 1}),
    "its action given twice": lambda event: (
        '{"action":"case.created","action":"no.such"' + audit.canonical_json(event)[24:]
    ),
}


@pytest.mark.parametrize("how", list(MALFORMED))
def test_an_event_rewritten_into_one_caseview_never_writes_is_a_break_not_a_crash(
    copy: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = first_seq(copy, "case.created")
    rewrite = MALFORMED[how]
    rechain(copy, lambda seq, payload: rewrite(json.loads(payload)) if seq == target else payload)
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert out["evidence_problems"][0] == (
        f"audit event {target} (case.created) is not one Caseview wrote: the log was "
        "rewritten from there on, so the rows were checked only up to it"
    )


def test_an_event_stored_as_bytes_is_a_break(copy: Path) -> None:
    # The chain hashes the same bytes, so only the row check can see it.
    target = first_seq(copy, "case.created")
    with tampering(copy) as conn:
        conn.execute("UPDATE audit_log SET payload = CAST(payload AS BLOB) WHERE seq = ?", [target])
    result = audit.verify(None, copy)
    assert result.first_break is None
    assert result.row_break is not None
    assert (result.row_break.kind, result.row_break.seq) == ("malformed", target)


def test_a_row_break_found_before_a_rewritten_event_is_still_the_one_reported(
    copy: Path,
) -> None:
    # Notes are compared as their events arrive; the users table, replayed to the end,
    # cannot be once the replay stops.
    with tampering(copy) as conn:
        conn.execute("UPDATE notes SET analysis = 'early' WHERE id = 1")
        conn.execute("UPDATE users SET display_name = 'early' WHERE id = 1")
    last = max(events_by_seq(copy))
    rechain(copy, lambda seq, payload: "{" + payload[1:-1] + ",}" if seq == last else payload)
    found = audit.verify(None, copy).row_break
    assert found is not None and (found.table, found.row, found.kind) == ("notes", "1", "changed")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pick=st.integers(min_value=0), key=st.text(max_size=12), value=VALUES)
def test_verify_answers_whatever_an_event_is_rewritten_to(
    rich: Path, tmp_path_factory: pytest.TempPathFactory, pick: int, key: str, value: object
) -> None:
    path = tmp_path_factory.mktemp("rewritten") / "copy.db"
    shutil.copy(rich, path)
    seqs = sorted(events_by_seq(path))
    target = seqs[pick % len(seqs)]

    def rewrite(seq: int, payload: str) -> str:
        if seq != target:
            return payload
        event = json.loads(payload)
        event[key or "entity_id"] = value
        return audit.canonical_json(event)

    rechain(path, rewrite)
    result = audit.verify(None, path)  # an answer, never an exception
    assert result.first_break is None
    if result.row_break is not None:
        assert result.row_break.seq is None or result.row_break.seq <= target


def test_a_broken_chain_is_reported_and_rows_are_not_checked(copy: Path) -> None:
    with tampering(copy) as conn:
        conn.execute("UPDATE users SET display_name = 'x' WHERE id = 1")
        conn.execute("UPDATE audit_log SET hash = prev_hash WHERE seq = 3")
    result = audit.verify(None, copy)
    assert result.first_break == 3 and result.row_break is None
