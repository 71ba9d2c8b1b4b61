"""Verifying the audit log: checkpoints, the command's faces, the triggers behind it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from _audit_helpers import GENERATED, T0, head, rows
from hypothesis import given
from hypothesis import strategies as st

from caseview import audit
from caseview.audit import Checkpoint
from caseview.cli import main
from caseview.errors import UsageError
from caseview.session import Session
from caseview.storage import CaseFile
from caseview.storage.schema import GENESIS_HASH

HASH = "ab" * 32
PASSWORD = "correct horse"  # every fixture user's, see tests/conftest.py


@pytest.fixture(autouse=True)
def no_user_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)


def run(
    capsys: pytest.CaptureFixture[str], path: Path, *argv: str
) -> tuple[int, dict[str, Any], str]:
    """``caseview --db PATH --json ARGV``: exit code, the JSON object, stderr."""
    code = main(["--db", str(path), "--json", *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def fingerprint(path: Path) -> dict[str, str]:
    """The bytes of the database and its WAL (the -shm index may change on any read)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (path, path.with_name(path.name + "-wal"))
        if p.exists()
    }


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# --- the empty log, checkpoints ---------------------------------------------------------


def test_empty_log_verifies(casefile: CaseFile, db_path: Path) -> None:
    result = audit.verify_chain(db_path)
    assert result.intact
    assert (result.events, result.head) == (0, Checkpoint(0, GENESIS_HASH))


def test_head_of_an_empty_log_is_accepted_as_checkpoint(casefile: CaseFile, db_path: Path) -> None:
    # What verify prints for an empty log must work as --expect-head (found by this test).
    empty_head = audit.verify_chain(db_path).head
    result = audit.verify_chain(db_path, empty_head)
    assert (result.intact, result.events) == (True, 0)


def test_empty_log_checkpoint_still_holds_once_the_log_grows(
    manager: Session, db_path: Path
) -> None:
    # Appending is what a log is for: only removing or rewriting breaks a checkpoint.
    assert audit.verify_chain(db_path, Checkpoint(0, GENESIS_HASH)).intact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"12:{HASH}", Checkpoint(12, HASH)),
        (f"  7:{HASH.upper()}\n", Checkpoint(7, HASH)),  # as copied from a PDF
        (f"0:{GENESIS_HASH}", Checkpoint(0, GENESIS_HASH)),
    ],
)
def test_parse_checkpoint_accepts_seq_colon_hash(text: str, expected: Checkpoint) -> None:
    assert audit.parse_checkpoint(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12",
        HASH,
        f"12:{HASH[:-1]}",
        f"12:{HASH}0",
        f"12:{HASH[:-1]}g",
        f"-1:{HASH}",
        f"x:{HASH}",
        f"12 :{HASH}",
        f"12:{HASH}:3",
        f"1.5:{HASH}",
    ],
)
def test_parse_checkpoint_rejects_junk(text: str) -> None:
    with pytest.raises(UsageError, match="SEQ:HASH"):
        audit.parse_checkpoint(text)


@given(seq=st.integers(0, 10**12), digest=st.binary(min_size=32, max_size=32))
def test_checkpoint_round_trips_through_its_text(seq: int, digest: bytes) -> None:
    checkpoint = Checkpoint(seq, digest.hex())
    assert audit.parse_checkpoint(str(checkpoint)) == checkpoint


def test_cli_refuses_a_malformed_checkpoint_as_usage(
    manager: Session, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result, err = run(capsys, db_path, "verify", "--expect-head", "12:abc")
    assert (code, result["exit_code"]) == (2, 2)
    assert "SEQ:HASH" in err


def test_checkpoint_beyond_the_end_names_the_first_missing_seq(
    manager: Session, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tip = head(db_path)
    beyond = Checkpoint(tip.seq + 5, HASH)

    result = audit.verify_chain(db_path, beyond)

    assert (result.first_break, result.events) == (tip.seq + 1, tip.seq)
    assert f"event {tip.seq}" in result.problem
    code, out, _ = run(capsys, db_path, "verify", "--expect-head", str(beyond))
    assert (code, out["first_break"]) == (4, tip.seq + 1)


def test_checkpoint_with_another_hash_names_its_seq(manager: Session, db_path: Path) -> None:
    tip = head(db_path)
    assert audit.verify_chain(db_path, Checkpoint(1, HASH)).first_break == 1
    assert audit.verify_chain(db_path, Checkpoint(tip.seq, HASH)).first_break == tip.seq


def test_every_earlier_head_is_a_valid_checkpoint(manager: Session, db_path: Path) -> None:
    for row in rows(db_path):
        assert audit.verify_chain(db_path, Checkpoint(row["seq"], row["hash"])).intact


# --- who verifies: anyone holding the file, or a signed-in user -----------------------


def test_cli_verify_without_a_user_is_read_only(
    manager: Session, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = fingerprint(db_path)
    events = len(rows(db_path))

    code, result, _ = run(capsys, db_path, "verify")

    assert (code, result["intact"], result["events"]) == (0, True, events)
    assert result["head"] == str(head(db_path))
    assert len(rows(db_path)) == events
    assert fingerprint(db_path) == before


@pytest.mark.parametrize("user", ["mona", "ada"])  # a manager, and the read-only auditor
def test_cli_verify_with_a_user_logs_integrity_verified(
    auditor: Session, db_path: Path, capsys: pytest.CaptureFixture[str], user: str
) -> None:
    checked = head(db_path)

    code, result, _ = run(capsys, db_path, "--user", user, "verify", "--expect-head", str(checked))

    assert code == 0
    # After the checked head come the sign-in, then the verification, which covers
    # everything before it.
    *_, signed_in, last = rows(db_path)
    assert (signed_in["seq"], signed_in["actor"]) == (checked.seq + 1, user)
    assert (last["action"], last["actor"]) == ("integrity.verified", user)
    data = json.loads(last["payload"])["data"]
    assert {k: data[k] for k in ("intact", "events", "head", "first_break", "expected_head")} == {
        "intact": True,
        "events": signed_in["seq"],
        "head": f"{signed_in['seq']}:{signed_in['hash']}",
        "first_break": None,
        "expected_head": str(checked),
    }
    assert result["head"] == data["head"]
    assert audit.verify_chain(db_path, head(db_path)).intact


def test_a_failed_verification_is_on_the_record_too(
    manager: Session, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = Checkpoint(head(db_path).seq + 3, HASH)

    code, result, _ = run(
        capsys, db_path, "--user", "mona", "verify", "--expect-head", str(checkpoint)
    )

    assert (code, result["intact"]) == (4, False)
    data = json.loads(rows(db_path)[-1]["payload"])["data"]
    assert (data["intact"], data["first_break"]) == (False, result["first_break"])


# --- files that are not case files: exit 1 and a sentence, never a traceback ------------


def _other_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, note TEXT)")
    conn.execute("INSERT INTO audit_log VALUES (1, 'not ours')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_other_sqlite, "not a Caseview case file"),
        (lambda p: p.write_text("seq,hash\n1,abc\n", encoding="utf-8"), "not a Caseview case file"),
        (lambda p: p.write_bytes(b""), "not a Caseview case file"),
        (lambda p: p.mkdir(), "folder"),
        (lambda p: None, "No case file"),
    ],
    ids=["other sqlite", "text file", "empty file", "folder", "missing"],
)
@pytest.mark.parametrize("user", [None, "mona"])
def test_verify_on_something_else_is_a_clear_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Any,
    says: str,
    user: str | None,
) -> None:
    path = tmp_path / "not-a-case.db"
    make(path)
    before = path.read_bytes() if path.is_file() else None

    argv = ["--db", str(path), *(["--user", user] if user else []), "verify"]
    code = main(argv)

    err = capsys.readouterr().err
    assert code == 1
    assert says in err
    assert "Traceback" not in err
    assert "unexpected" not in err
    if before is not None:
        assert path.read_bytes() == before  # left unchanged


# --- a case file SQLite cannot read as a whole: what verify found, exit 4 ----------------


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _header_damaged(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[20:23] = b"\xff\xff\xff"  # past "SQLite format 3": still SQLite's header
    path.write_bytes(bytes(data))


def _log_dropped(path: Path) -> None:
    conn = raw(path)
    conn.execute("DROP TABLE audit_log")
    conn.close()


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        (_truncated, "malformed"),
        (_header_damaged, "not a database"),
        (_log_dropped, "no such table: audit_log"),
    ],
    ids=["truncated", "header", "log dropped"],
)
def test_a_case_file_sqlite_cannot_read_is_a_finding_of_verify(
    manager: Session,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Any,
    detail: str,
) -> None:
    manager.casefile.close()
    damage(db_path)
    before = db_path.read_bytes()
    code, data, err = run(capsys, db_path, "verify")
    assert code == 4
    assert data["intact"] is False
    [problem] = data["evidence_problems"]
    assert problem.startswith("the case file cannot be read as a whole (") and detail in problem
    assert "Traceback" not in err and "unexpected" not in err
    assert db_path.read_bytes() == before  # left unchanged


# --- the triggers that make the log append-only -----------------------------------------


def _next_row(path: Path, **changes: Any) -> dict[str, Any]:
    """A well-formed next event for the log at ``path`` (its stored columns only, the
    payload canonical JSON as ``audit.record`` writes it), with ``changes`` applied."""
    tip = head(path)
    seq = changes.pop("seq", tip.seq + 1)
    payload = audit.canonical_json(
        {
            "seq": seq,
            "at": "2026-11-24T09:00:00.000000Z",
            "actor": "mallory",
            "action": "note.forged",
            "entity": "note",
            "entity_id": None,
            "case_id": None,
            "data": {"text": "Zoë"},
        }
    )
    prev_hash = changes.pop("prev_hash", tip.hash)
    row = {
        "seq": seq,
        "payload": payload,
        "prev_hash": prev_hash,
        "hash": audit.chain_hash(prev_hash, payload),
    }
    return row | changes


def _insert(path: Path, row: dict[str, Any]) -> None:
    conn = raw(path)
    try:
        conn.execute(
            f"INSERT INTO audit_log ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
    finally:
        conn.close()


def test_insert_trigger_accepts_an_event_that_extends_the_head(
    manager: Session, db_path: Path
) -> None:
    # The control for the refusals below: a well-formed row goes in (and verifies).
    _insert(db_path, _next_row(db_path))
    last = rows(db_path)[-1]
    assert (last["actor"], last["action"], last["entity"]) == ("mallory", "note.forged", "note")
    assert audit.verify_chain(db_path).intact
    assert audit.verify(None, db_path).intact


@pytest.mark.parametrize(
    "change",
    [
        {"prev_hash": HASH},
        {"prev_hash": GENESIS_HASH},
        {"prev_hash": "X"},
        {"actor": "mona"},  # a generated column: SQLite takes it from the payload only
        "skip a seq",
        "reuse the head's seq",
        "seq zero",
    ],
    ids=str,
)
def test_insert_trigger_refuses_an_event_that_does_not_extend_the_head(
    manager: Session, db_path: Path, change: Any
) -> None:
    tip = head(db_path)
    seqs = {"skip a seq": tip.seq + 2, "reuse the head's seq": tip.seq, "seq zero": 0}
    row = _next_row(db_path, **change) if isinstance(change, dict) else _next_row(db_path)
    if isinstance(change, str):
        row["seq"] = seqs[change]

    with pytest.raises((sqlite3.IntegrityError, sqlite3.OperationalError)):
        _insert(db_path, row)

    assert head(db_path) == tip


def test_insert_trigger_message_says_what_is_wrong(manager: Session, db_path: Path) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="must extend the head"):
        _insert(db_path, _next_row(db_path, prev_hash=HASH))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET payload = json_set(payload, '$.actor', 'mallory') WHERE seq = 1",
        "UPDATE audit_log SET payload = payload",  # even a no-op rewrite
        "UPDATE audit_log SET seq = seq + 1000",
        "UPDATE audit_log SET prev_hash = prev_hash, hash = hash",
        "DELETE FROM audit_log WHERE seq = 1",
        "DELETE FROM audit_log",
        "INSERT OR REPLACE INTO audit_log (seq, payload, prev_hash, hash)"
        " SELECT seq, payload, prev_hash, hash FROM audit_log WHERE seq = 1",
    ],
)
def test_triggers_refuse_changing_or_deleting_events(
    manager: Session, db_path: Path, statement: str
) -> None:
    before = rows(db_path)
    conn = raw(db_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="audit_log"):
            conn.execute(statement)
    finally:
        conn.close()
    assert rows(db_path) == before


# --- record: the only way in ------------------------------------------------------------


def test_record_refuses_to_run_outside_a_transaction(casefile: CaseFile, db_path: Path) -> None:
    with pytest.raises(RuntimeError, match="transaction"):
        audit.record(casefile.conn, at=T0, actor="wren", action="x.y", entity="case")
    assert rows(db_path) == []


@pytest.mark.parametrize(
    "names",
    [
        {"actor": "wren smith"},
        {"actor": ""},
        {"action": 'x","actor":"mona'},  # would forge the envelope
        {"entity": "Zoë"},
        {"actor": "a" * 65},
    ],
)
def test_record_refuses_names_that_are_not_plain(
    casefile: CaseFile, db_path: Path, names: dict[str, str]
) -> None:
    fields = {"actor": "wren", "action": "x.y", "entity": "case"} | names
    with pytest.raises(ValueError, match="plain"), casefile.write() as conn:
        audit.record(conn, at=T0, **fields)
    assert rows(db_path) == []


def test_record_keeps_non_ascii_data_as_itself(casefile: CaseFile, db_path: Path) -> None:
    data = {"name": "Дмитрий Zoë 李", "emoji": "👶🏽", "nested": {"b": 1, "a": [None, 1.5]}}
    with casefile.write() as conn:
        event = audit.record(conn, at=T0, actor="wren", action="x.y", entity="case", data=data)
    (row,) = rows(db_path)
    assert "Дмитрий Zoë 李" in row["payload"]  # not \u-escaped: what an auditor reads
    assert json.loads(row["payload"])["data"] == data
    assert row["hash"] == event.hash == audit.chain_hash(GENESIS_HASH, row["payload"])
    assert audit.verify_chain(db_path).intact


def test_record_stores_canonical_json_and_the_columns_are_its_values(
    casefile: CaseFile, db_path: Path
) -> None:
    with casefile.write() as conn:
        audit.record(
            conn,
            at=T0,
            actor="wren",
            action="subject.added",
            entity="subject",
            entity_id=7,
            case_id=3,
            data={"z": 1, "a": {"y": 2, "b": "Zoë"}},
        )
    (row,) = rows(db_path)
    payload = json.loads(row["payload"])
    assert row["payload"] == audit.canonical_json(payload)  # sorted keys, no spaces
    assert list(payload) == sorted(payload)
    assert payload == {
        "seq": 1,
        "at": "2026-11-24T09:00:00.000000Z",
        "actor": "wren",
        "action": "subject.added",
        "entity": "subject",
        "entity_id": 7,
        "case_id": 3,
        "data": {"z": 1, "a": {"y": 2, "b": "Zoë"}},
    }
    assert {column: row[column] for column in GENERATED} == {
        column: payload[column] for column in GENERATED
    }
