"""verify on a case file, as someone holding the file and a hex editor or sqlite3 would
attack it: damaged pages, the schema edited, tables dropped, JSON nested too deeply.

Each must make ``verify`` exit 4 with a sentence naming what and where: never 0
("Intact"), never a crash (exit 1 and a traceback in the log).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from gate_support import URL, approved, make_request
from tamper_support import tampering

from caseview import audit, browsing
from caseview.cli import main
from caseview.domain import Case, Subject
from caseview.session import Session

PAGE_FILL = 0x55


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("adversary") / "demo.db"
    assert main(["--db", str(path), "demo", "--no-gui"]) == 0
    return path


@pytest.fixture
def copy(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copy(built, target)
    return target


def cli_verify(
    path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any]]:
    code = main(["--db", str(path), "--json", "verify", *extra])
    return code, json.loads(capsys.readouterr().out)


def problems(out: dict[str, Any]) -> str:
    return "\n".join([out.get("problem") or "", *out["evidence_problems"]])


def broken_by(path: Path, sql: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Run ``sql`` (changing one row) behind the log's back; verify must exit 4. Returns
    what it said."""
    with tampering(path) as conn:
        assert conn.execute(sql).rowcount == 1
    code, out = cli_verify(path, capsys)
    assert code == 4
    return out


def rewrite_schema(path: Path, name: str, old: str, new: str) -> None:
    """Edit the CREATE statement SQLite keeps for ``name``, as PRAGMA writable_schema allows."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [name]).fetchone()
        assert old in sql
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = ? WHERE name = ?", [sql.replace(old, new), name]
        )
        conn.execute("PRAGMA writable_schema = OFF")
    finally:
        conn.close()


def execute(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(sql)
    finally:
        conn.close()


def page_size_and_root(path: Path, name: str) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        (size,) = conn.execute("PRAGMA page_size").fetchone()
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", [name]
        ).fetchone()
        return int(size), int(root)
    finally:
        conn.close()


def leaf_of(path: Path, name: str) -> int:
    """A leaf page of table or index ``name``: its root, or the root's first child."""
    size, page = page_size_and_root(path, name)
    data = path.read_bytes()
    while True:
        start = (page - 1) * size + (100 if page == 1 else 0)
        if data[start] not in (0x02, 0x05):  # an interior page (index, table)
            return page
        first_cell = int.from_bytes(data[start + 12 : start + 14], "big")
        cell = (page - 1) * size + first_cell
        page = int.from_bytes(data[cell : cell + 4], "big")


def damage_page(path: Path, page: int) -> None:
    """Overwrite a page's body, past its header and cell pointers: disk damage, or an
    edit made without SQLite."""
    size, _ = page_size_and_root(path, "audit_log")
    data = bytearray(path.read_bytes())
    start = (page - 1) * size
    data[start + 200 : start + size] = bytes([PAGE_FILL]) * (size - 200)
    path.write_bytes(bytes(data))


def rehash_from(conn: sqlite3.Connection, first: int) -> None:
    (prev,) = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", [first - 1]).fetchone()
    for seq, payload in conn.execute(
        "SELECT seq, payload FROM audit_log WHERE seq >= ? ORDER BY seq", [first]
    ).fetchall():
        digest = hashlib.sha256(prev.encode() + payload.encode()).hexdigest()
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, digest, seq]
        )
        prev = digest


def head(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        seq, digest = conn.execute(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return f"{seq}:{digest}"
    finally:
        conn.close()


# --- damaged pages ------------------------------------------------------------------


@pytest.mark.parametrize("index", ["sqlite_autoindex_notes_1", "search_index_idx"])
def test_a_damaged_page_no_other_check_reads_is_a_break(
    copy: Path, index: str, capsys: pytest.CaptureFixture[str]
) -> None:
    damage_page(copy, leaf_of(copy, index))
    code, out = cli_verify(copy, capsys)
    assert (code, out["intact"]) == (4, False)
    assert "the case file is damaged: SQLite's own check of table" in problems(out)


def test_a_damaged_index_of_the_log_is_a_break_naming_the_log(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage_page(copy, leaf_of(copy, "audit_log_case"))
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert "the case file is damaged: SQLite's own check of table audit_log" in problems(out)


def test_a_damaged_page_of_the_log_is_named_as_damage_not_deletion(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage_page(copy, leaf_of(copy, "audit_log"))
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert out["first_break"] is not None
    assert "the case file is damaged where it keeps the log" in out["problem"]


def test_a_damaged_page_of_a_vouched_table_is_a_break_not_a_crash(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage_page(copy, leaf_of(copy, "users"))
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert "SQLite's own check of table users" in problems(out)


# --- the schema -------------------------------------------------------------------


@pytest.mark.parametrize("table", ["notes", "sources", "blobs", "users"])
def test_a_vouched_table_dropped_is_a_break_not_a_crash(
    copy: Path, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    execute(copy, f"DROP TABLE {table}")
    code, out = cli_verify(copy, capsys)
    assert code == 4
    text = problems(out)
    assert f"{table} row " in text and "is missing: audit event" in text
    assert f"tables removed: {table}" in text


SCHEMA_EDITS = {
    "a CHECK removed": ("users", " CHECK (active IN (0, 1))", "", "tables changed: users"),
    "a default changed": ("users", "DEFAULT 1", "DEFAULT 0", "tables changed: users"),
}


@pytest.mark.parametrize("edit", list(SCHEMA_EDITS))
def test_a_create_statement_edited_through_writable_schema_is_a_break(
    copy: Path, edit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name, old, new, named = SCHEMA_EDITS[edit]
    rewrite_schema(copy, name, old, new)
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert named in problems(out)


SCHEMA_CHANGES = {
    "a column added to a vouched table": (
        "ALTER TABLE sources ADD COLUMN checked_by_police TEXT DEFAULT 'yes'",
        "tables changed: sources",
    ),
    "an index dropped": ("DROP INDEX sources_case", "indexes removed: sources_case"),
    "an index added": ("CREATE INDEX cases_title ON cases(title)", "indexes added: cases_title"),
    "a view added": (
        "CREATE VIEW sources_checked AS SELECT id FROM sources",
        "views added: sources_checked",
    ),
}


@pytest.mark.parametrize("change", list(SCHEMA_CHANGES))
def test_a_schema_change_caseview_never_makes_is_a_break(
    copy: Path, change: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sql, named = SCHEMA_CHANGES[change]
    execute(copy, sql)
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert "the case file's schema was changed outside Caseview" in problems(out)
    assert named in problems(out)


# --- JSON nested too deeply to read -------------------------------------------------

DEPTH = 990  # under SQLite's JSON limit (1,000), over what Python's parser can read


def nested_event(action: str, seq: int) -> str:
    data = "[" * DEPTH + "]" * DEPTH
    return (
        f'{{"action":"{action}","actor":"demo-manager","at":"2026-01-01T00:00:00Z",'
        f'"case_id":1,"data":{data},"entity":"note","entity_id":1,"seq":{seq}}}'
    )


@pytest.mark.parametrize("action", ["note.saved", "exposure.reviewed"])
def test_a_rehashed_event_nested_too_deeply_is_a_break_not_a_crash(
    copy: Path, action: str, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = head(copy)
    seq = int(checkpoint.split(":")[0])
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE audit_log SET payload = ? WHERE seq = ?", [nested_event(action, seq), seq]
        )
        rehash_from(conn, seq)
    code, out = cli_verify(copy, capsys, "--expect-head", checkpoint)
    assert (code, out["first_break"]) == (4, seq)


def test_a_rehashed_note_nested_too_deeply_is_named_by_the_row_check(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = int(head(copy).split(":")[0])
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE audit_log SET payload = ? WHERE seq = ?", [nested_event("note.saved", seq), seq]
        )
        rehash_from(conn, seq)
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert f"audit event {seq} (note.saved) is not one Caseview wrote" in problems(out)


def test_a_stored_json_column_nested_too_deeply_is_a_change(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE subjects SET handles = ? WHERE id = (SELECT min(id) FROM subjects)",
            ["[" * DEPTH + "]" * DEPTH],
        )
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert "handles changed behind the log's back" in problems(out)


def test_the_untouched_demo_is_intact(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli_verify(built, capsys)
    assert (code, out["intact"], out["evidence_problems"]) == (0, True, [])


# --- the looks the meter counts ------------------------------------------------------

LOOK_TAMPERING = {
    "a completed look deleted": (
        "DELETE FROM viewings WHERE id = 1",
        "viewings row 1 is missing: audit event",
    ),
    "a look moved out of the meter's window": (
        "UPDATE viewings SET at = '2020-01-01T00:00:00.000000Z' WHERE id = 2",
        "viewings row 2 does not match audit event",
    ),
    "a completed look marked failed": (
        "UPDATE viewings SET outcome = 'failed' WHERE id = 3",
        "outcome changed behind the log's back",
    ),
    "a look added": (
        "INSERT INTO viewings (id, case_id, user_id, at, url, kind, outcome)"
        " VALUES (900, 1, 2, '2026-01-01T00:00:00.000000Z', 'https://x.example/', 'capture',"
        " 'completed')",
        "viewings row 900 is in no audit event",
    ),
}


@pytest.mark.parametrize("how", list(LOOK_TAMPERING))
def test_a_look_changed_behind_the_logs_back_is_a_break(
    copy: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The meter counts these rows: one deleted or moved gives a worker looks the log
    # says they have had.
    sql, named = LOOK_TAMPERING[how]
    with tampering(copy) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(sql)
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert named in problems(out)


# --- values of another type ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        (
            "UPDATE sources SET attestations = replace(attestations, 'true', '1') WHERE id = 1",
            "sources row 1 does not match",
        ),
        (
            "UPDATE observations SET corroborates = '[1.0]' WHERE id = 2",
            "observations row 2 does not match",
        ),
    ],
    ids=["an attestation's true as 1", "an id as 1.0"],
)
def test_a_json_value_of_another_type_is_a_change(
    copy: Path, sql: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Python's == takes true for 1 and 1 for 1.0; the recorded JSON does not.
    out = broken_by(copy, sql, capsys)
    assert named in problems(out)


def test_json_spacing_alone_is_not_a_change(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The writer's spacing is not recorded: only what the text says is compared.
    with tampering(copy) as conn:
        conn.execute("UPDATE observations SET risks = replace(risks, ', ', ',') WHERE id = 1")
    code, out = cli_verify(copy, capsys)
    assert (code, out["evidence_problems"]) == (0, [])


# --- what a capture found that could expose a child ------------------------------------

FINDING_TAMPERING = {
    "a finding deleted": ("DELETE FROM exposure_findings WHERE id = 4", "row 4 is missing"),
    "a finding's value changed": (
        "UPDATE exposure_findings SET value = 'nowhere' WHERE id = 3",
        "value changed behind the log's back",
    ),
    "a finding added": (
        "INSERT INTO exposure_findings (id, source_id, kind, value) VALUES (900, 3, 'x', 'y')",
        "exposure_findings row 900 is in no audit event",
    ),
}


@pytest.mark.parametrize("how", list(FINDING_TAMPERING))
def test_an_exposure_finding_changed_behind_the_logs_back_is_a_break(
    copy: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # No trigger guards these rows: anyone with sqlite3 can hide a child's phone number.
    sql, named = FINDING_TAMPERING[how]
    out = broken_by(copy, sql, capsys)
    assert named in problems(out)
    assert "exposure_findings row" in problems(out)


# --- who wrote a request (and so may not approve it) -----------------------------------


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        (
            "DELETE FROM justification_editors WHERE justification_id = 1 AND user_id = 2",
            "justification_editors row justification_id 1, user_id 2 is missing: audit event",
        ),
        (
            "INSERT INTO justification_editors VALUES (1, 1)",
            "justification_editors row justification_id 1, user_id 1 is in no audit event",
        ),
    ],
    ids=["an editor removed", "an editor added"],
)
def test_an_editor_changed_behind_the_logs_back_is_a_break(
    copy: Path, sql: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # An editor removed could then approve the request they wrote (the database's guard
    # against self-approval reads this table).
    out = broken_by(copy, sql, capsys)
    assert named in problems(out)


# --- what the evidence browser fetched and refused ------------------------------------


def browsed(worker: Session, manager: Session, case: Case, subject: Subject) -> Path:
    """A case file with a browse session that logged three requests, one refused."""
    request = make_request([subject.id], worker.now(), planned_viewings=1)
    opened = browsing.start(
        worker,
        case.id,
        approved(worker, manager, case.id, request).id,
        subject.id,
        URL,
        attested=True,
    )
    now = worker.now()
    browsing.log_requests(
        worker,
        opened.id,
        [
            browsing.RequestEntry("https://cdn.example/a.png", "GET", "image", now, 200),
            browsing.RequestEntry(URL + "/like", "POST", "xhr", now, None, True, "not GET"),
            browsing.RequestEntry("https://cdn.example/b.js", "GET", "script", now, 200),
        ],
    )
    browsing.end(worker, opened.id, "closed")
    return Path(worker.casefile.path)


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("DELETE FROM browse_requests WHERE id = 2", "browse_requests row 2 is missing"),
        (
            "UPDATE browse_requests SET blocked = 0, reason = NULL WHERE id = 2",
            "browse_requests row 2 does not match",
        ),
        (
            "UPDATE browse_requests SET url = 'https://elsewhere.example/' WHERE id = 1",
            "url changed behind the log's back",
        ),
    ],
    ids=["a refused request deleted", "a refusal undone", "an address changed"],
)
def test_a_browse_request_changed_behind_the_logs_back_is_a_break(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    sql: str,
    named: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = browsed(worker, manager, case, subject)
    assert audit.verify(None, path).intact
    with tampering(path) as conn:
        assert conn.execute(sql).rowcount == 1
    code, out = cli_verify(path, capsys)
    assert code == 4
    assert named in problems(out)


# --- blobs ----------------------------------------------------------------------------


def test_a_blob_turned_into_text_of_the_same_bytes_is_a_break(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its sha256 still matches when read as bytes; what reads it back gets text.
    with tampering(copy) as conn:
        # (size follows, as the schema's CHECK counts text in characters)
        changed = conn.execute(
            "UPDATE blobs SET content = CAST(content AS TEXT),"
            " size = length(CAST(content AS TEXT)) WHERE rowid = 1"
        )
        assert changed.rowcount == 1
    code, out = cli_verify(copy, capsys)
    assert code == 4
    assert "its content is stored as text, not bytes" in problems(out)


# --- the log's own values of another type ----------------------------------------------


@pytest.mark.parametrize(
    ("sql", "seq", "problem"),
    [
        (
            "UPDATE audit_log SET hash = CAST(hash AS BLOB), prev_hash = CAST(prev_hash AS BLOB)",
            1,
            "event 1 does not carry the hash of event 0",
        ),
        (
            "UPDATE audit_log SET hash = CAST(hash AS BLOB) WHERE seq = 10",
            10,
            "event 10 was altered: its hash does not match its content",
        ),
        (
            "UPDATE audit_log SET prev_hash = CAST(prev_hash AS BLOB) WHERE seq = 11",
            11,
            "event 11 does not carry the hash of event 10",
        ),
    ],
    ids=["every hash a blob", "one hash a blob", "one previous hash a blob"],
)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_hash_stored_as_a_blob_of_the_same_bytes_is_a_break(
    copy: Path,
    sql: str,
    seq: int,
    problem: str,
    workers: str,
) -> None:
    # Read as bytes, a blob and a text of the same bytes look alike; to sqlite3, an
    # auditor's query or a comparison in SQL, they are not the same value.
    with tampering(copy) as conn:
        conn.execute(sql)
    result = audit.verify_chain(copy, workers=int(workers))
    assert (result.first_break, result.problem) == (seq, problem)
