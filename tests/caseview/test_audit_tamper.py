"""Tampering with the audit log at the SQL level, triggers dropped: verify names the seq.

Each example builds a fresh log from generated events (any actor, action, entity, case
and data, non-ASCII text included), tampers with it the way someone holding the file
could, and checks that ``verify_chain`` reports the break at the right seq: on its own,
against a checkpoint taken before the tampering, and through the parallel walk (worker
processes) as well as the single one.

audit_log stores seq, payload, prev_hash and hash; at, actor, action, entity, entity_id
and case_id are generated from the payload. SQLite refuses to set those, so changing
what they say means changing the payload (a break at that seq), or rebuilding the table
with stored columns (which ``audit.verify`` reports as a changed definition).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import string
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _audit_helpers import (
    GENERATED,
    STORED,
    T0,
    append_events,
    head,
    rebuild_with_stored_columns,
    rehash_from,
    rows,
    set_field,
    tamper,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from caseview import audit
from caseview.audit import Checkpoint, VerifyResult
from caseview.cli import main
from caseview.storage import audit as audit_sql
from caseview.storage import chain as chain_sql

# Each example gets its own directory under tmp_path, so the function-scoped fixture
# is safe to share between examples.
TAMPER = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FEWER = settings(TAMPER, max_examples=40)

PLAIN = st.text(alphabet=string.ascii_letters + string.digits + "_.@:+-", min_size=1, max_size=16)
NAMES = st.sampled_from(["Zoë Kowalczyk", "Дмитрий Иванов", "李小龍", "Siân Ó Dónaill", "👶🏽 Jay"])
TEXT = st.text(max_size=20) | NAMES
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
DATA = st.builds(lambda name, extra: {**extra, "subject": name}, NAMES, st.dictionaries(TEXT, JSON))
EVENT = st.fixed_dictionaries(
    {
        "at": st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
        "actor": PLAIN,
        "action": PLAIN,
        "entity": PLAIN,
        "entity_id": st.none() | st.integers(-(2**63), 2**63 - 1),
        "case_id": st.none() | st.integers(1, 10**6),
        "data": DATA,
    }
)
LOGS = st.lists(EVENT, min_size=1, max_size=10)
# Workers for a second verification: 2 and 3 split even these small logs into ranges
# walked by child processes. Each split costs a process start (0.3 s, more on a busy
# machine), so only some examples take it; test_parallel_walk_* cover every kind of
# tampering at range boundaries on the split path.
WORKERS = st.sampled_from([1, 1, 1, 1, 2, 3])
TEXT_COLUMNS = ("payload", "prev_hash", "hash")
# Values a tampered payload may hold for a generated field: any JSON scalar at all.
ID_VALUES = (
    st.none() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(min_size=1)
)


def new_log(tmp_path: Path, events: list[dict[str, Any]]) -> Path:
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "case.db"
    append_events(path, events)
    return path


def _event(i: int) -> dict[str, Any]:
    return {
        "at": T0,
        "actor": "wren",
        # Not an action that makes a row: these logs have events and no tables' rows.
        "action": "drill.subject_noted",
        "entity": "subject",
        "entity_id": i,
        "case_id": 1,
        "data": {"name": f"Zoë Дмитрий {i}"},
    }


def check(
    path: Path, first_break: int | None, expect: Checkpoint | None = None, workers: int = 1
) -> VerifyResult:
    """Verify by the single walk and by ``workers``; both must name ``first_break``."""
    single = audit.verify_chain(path, expect, workers=1)
    assert single.first_break == first_break, single.problem
    assert single.intact is (first_break is None)
    if first_break is not None:
        assert single.problem
        assert single.events == first_break - 1
    if workers > 1:
        split = audit.verify_chain(path, expect, workers=workers)
        assert (split.first_break, split.events) == (single.first_break, single.events)
    return single


# --- (a) any stored value of any row ---------------------------------------------


@st.composite
def changes(draw: st.DrawFn, column: str, original: Any, events: int) -> tuple[str, Any]:
    """A different value for the stored ``column``: (SQL expression, parameter)."""
    if column == "seq":
        # Every seq from 1 to the head is taken: move the row before or beyond them.
        return "?", draw(st.integers(-(2**63), 0) | st.integers(events + 1, 2**63 - 1), label="seq")
    assert column in TEXT_COLUMNS
    text: str = original
    how = draw(st.sampled_from(["character", "byte as blob", "byte as text"]), label="how")
    if how == "character":
        at = draw(st.integers(0, len(text) - 1), label="position")
        other = draw(st.characters(exclude_categories=["Cs"]).filter(lambda c: c != text[at]))
        return "?", text[:at] + other + text[at + 1 :]
    raw = bytearray(text.encode("utf-8"))
    at = draw(st.integers(0, len(raw) - 1), label="byte position")
    raw[at] ^= draw(st.integers(1, 255), label="xor")
    # A blob keeps the bytes as they are; CAST(... AS TEXT) stores them as TEXT even
    # when they are not valid UTF-8, as a hex editor would.
    return ("?" if how == "byte as blob" else "CAST(? AS TEXT)"), bytes(raw)


@TAMPER
@given(events=LOGS, data=st.data(), workers=WORKERS)
def test_changing_any_value_of_any_row_names_that_row(
    tmp_path: Path, events: list[dict[str, Any]], data: st.DataObject, workers: int
) -> None:
    path = new_log(tmp_path, events)
    last = len(events)
    checkpoint = head(path)
    seq = data.draw(st.integers(1, last), label="row")
    column = data.draw(st.sampled_from(STORED), label="column")
    original = rows(path)[seq - 1][column]
    expression, value = data.draw(changes(column, original, last), label="change")

    with tamper(path) as conn:
        quoted = f"SELECT typeof({column}), CAST({column} AS BLOB) FROM audit_log WHERE rowid = ?"
        before = conn.execute(quoted, (seq,)).fetchone()
        conn.execute(f"UPDATE audit_log SET {column} = {expression} WHERE seq = ?", (value, seq))
        if column != "seq":
            # Column affinity may turn the new value back into the old one ('5' -> 5).
            assume(conn.execute(quoted, (seq,)).fetchone() != before)

    check(path, seq, checkpoint, workers)
    check(path, seq)


# --- (a') the generated columns: only the payload says what they say ---------------------


@pytest.mark.parametrize("column", GENERATED)
def test_sqlite_refuses_setting_a_generated_column_even_without_the_triggers(
    tmp_path: Path, column: str
) -> None:
    path = new_log(tmp_path, [_event(i) for i in range(3)])
    before = rows(path)
    with tamper(path) as conn:
        with pytest.raises(sqlite3.OperationalError, match="cannot UPDATE generated column"):
            conn.execute(f"UPDATE audit_log SET {column} = ? WHERE seq = 2", (before[0][column],))
        with pytest.raises(sqlite3.OperationalError, match="cannot INSERT into generated column"):
            conn.execute(
                f"INSERT OR REPLACE INTO audit_log (seq, payload, prev_hash, hash, {column})"
                " SELECT seq, payload, prev_hash, hash, ? FROM audit_log WHERE seq = 2",
                (before[0][column],),
            )

    assert rows(path) == before
    check(path, None, head(path), workers=2)


@st.composite
def field_values(draw: st.DrawFn, field: str, original: Any) -> Any:
    """Another value for the payload's ``field``; texts may also turn into other JSON."""
    if field in ("entity_id", "case_id"):
        return draw(ID_VALUES, label=field)
    other = st.text().filter(lambda text: text != original)
    return draw(other | ID_VALUES, label=field)


@TAMPER
@given(events=LOGS, data=st.data(), workers=WORKERS)
def test_changing_a_generated_field_in_the_payload_names_that_row(
    tmp_path: Path, events: list[dict[str, Any]], data: st.DataObject, workers: int
) -> None:
    path = new_log(tmp_path, events)
    last = len(events)
    checkpoint = head(path)
    seq = data.draw(st.integers(1, last), label="row")
    field = data.draw(st.sampled_from(GENERATED), label="field")
    before = rows(path)[seq - 1]
    value = data.draw(field_values(field, json.loads(before["payload"])[field]), label="value")

    with tamper(path) as conn:
        forged = set_field(conn, seq, field, value)
        # 5 and 5.0 are equal but serialise apart: any other text is a change.
        assume(forged != before["payload"])

    after = rows(path)[seq - 1]
    assert {k: after[k] for k in ("prev_hash", "hash")} == {
        k: before[k] for k in ("prev_hash", "hash")
    }
    assert json.loads(after["payload"])[field] == value
    check(path, seq, checkpoint, workers)
    check(path, seq)


@pytest.mark.parametrize("column", GENERATED)
def test_generated_column_follows_the_forged_payload_and_verify_names_the_row(
    tmp_path: Path, column: str
) -> None:
    path = new_log(tmp_path, [_event(i) for i in range(4)])
    forged = {"at": "2030-01-01T00:00:00.000000Z", "entity_id": 99, "case_id": 99}
    value = forged.get(column, "mallory")
    with tamper(path) as conn:
        set_field(conn, 3, column, value)

    # What someone querying the columns reads is the forgery; the hash is not fooled.
    assert rows(path)[2][column] == value
    result = check(path, 3, workers=2)
    assert "event 3 was altered" in result.problem


@pytest.mark.parametrize("column", GENERATED)
def test_audit_log_rebuilt_with_stored_columns_is_not_intact(tmp_path: Path, column: str) -> None:
    path = new_log(tmp_path, [_event(i) for i in range(4)])
    original = rows(path)
    assert audit.verify(None, path).intact
    value = {"entity_id": 99, "case_id": 99, "at": "2030-01-01T00:00:00.000000Z"}.get(
        column, "mallory"
    )
    with tamper(path) as conn:
        rebuild_with_stored_columns(conn)
        conn.execute(f"UPDATE audit_log SET {column} = ? WHERE seq = 2", (value,))

    # The copied column now disagrees with the payload, which still matches its hash:
    # the chain alone holds, so it is the table's definition that gives this away.
    edited = rows(path)
    assert edited[1][column] == value != original[1][column]
    assert [r["payload"] for r in edited] == [r["payload"] for r in original]
    assert audit.verify_chain(path, head(path)).intact
    result = audit.verify(None, path)
    assert not result.intact
    assert any("audit_log's definition" in p for p in result.evidence_problems), (
        result.evidence_problems
    )


# --- (b) delete a row -------------------------------------------------------------


@FEWER
@given(events=LOGS, data=st.data())
def test_deleting_any_row_names_it(
    tmp_path: Path, events: list[dict[str, Any]], data: st.DataObject
) -> None:
    path = new_log(tmp_path, events)
    last = len(events)
    checkpoint = head(path)
    seq = data.draw(st.integers(1, last), label="deleted")
    with tamper(path) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = ?", (seq,))

    check(path, seq, checkpoint)
    # Deleting the head is truncation: only a checkpoint can tell.
    check(path, seq if seq < last else None)


# --- (c) reorder rows -------------------------------------------------------------


@FEWER
@given(events=st.lists(EVENT, min_size=2, max_size=10), data=st.data())
def test_reordering_rows_names_the_lower_seq(
    tmp_path: Path, events: list[dict[str, Any]], data: st.DataObject
) -> None:
    path = new_log(tmp_path, events)
    checkpoint = head(path)
    low, high = sorted(
        data.draw(st.lists(st.integers(1, len(events)), min_size=2, max_size=2, unique=True))
    )
    how = data.draw(st.sampled_from(["payload and hash", "all but seq", "seq numbers"]))
    swapped = {"payload and hash": ("payload", "hash"), "all but seq": STORED[1:]}
    with tamper(path) as conn:
        if how == "seq numbers":
            conn.execute("UPDATE audit_log SET seq = -1 WHERE seq = ?", (low,))
            conn.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", (low, high))
            conn.execute("UPDATE audit_log SET seq = ? WHERE seq = -1", (high,))
        else:
            names = swapped[how]
            get = f"SELECT {', '.join(names)} FROM audit_log WHERE seq = ?"
            put = f"UPDATE audit_log SET {', '.join(f'{n} = ?' for n in names)} WHERE seq = ?"
            a = conn.execute(get, (low,)).fetchone()
            b = conn.execute(get, (high,)).fetchone()
            conn.execute(put, (*b, low))
            conn.execute(put, (*a, high))

    check(path, low, checkpoint)
    check(path, low)


# --- (d) drop the last rows -------------------------------------------------------


@FEWER
@given(events=LOGS, data=st.data())
def test_dropping_the_last_rows_is_caught_by_a_checkpoint(
    tmp_path: Path, events: list[dict[str, Any]], data: st.DataObject
) -> None:
    path = new_log(tmp_path, events)
    last = len(events)
    hashes = {row["seq"]: row["hash"] for row in rows(path)}
    dropped = data.draw(st.integers(1, last), label="rows dropped")
    at = data.draw(st.integers(1, last), label="checkpoint seq")
    kept = last - dropped
    with tamper(path) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq > ?", (kept,))

    # A shortened log is still a valid chain on its own: that is why checkpoints exist.
    assert check(path, None).head.seq == kept
    result = check(path, kept + 1 if at > kept else None, Checkpoint(at, hashes[at]))
    if at > kept:
        assert "removed" in result.problem


# --- (e) rewrite a suffix consistently ---------------------------------------------


@FEWER
@given(events=LOGS, data=st.data(), forged=DATA, workers=WORKERS)
def test_consistent_rewrite_verifies_alone_but_not_against_a_checkpoint(
    tmp_path: Path,
    events: list[dict[str, Any]],
    data: st.DataObject,
    forged: dict[str, object],
    workers: int,
) -> None:
    path = new_log(tmp_path, events)
    last = len(events)
    hashes = {row["seq"]: row["hash"] for row in rows(path)}
    first = data.draw(st.integers(1, last), label="first rewritten seq")
    at = data.draw(st.integers(1, last), label="checkpoint seq")
    with tamper(path) as conn:
        (payload,) = conn.execute(
            "SELECT payload FROM audit_log WHERE seq = ?", (first,)
        ).fetchone()
        rewritten = set_field(conn, first, "data", forged)
        assume(rewritten != payload)
        rehash_from(conn, first)

    assert check(path, None).head.hash != hashes[last]
    result = check(path, at if at >= first else None, Checkpoint(at, hashes[at]), workers)
    if at >= first:
        assert "rewritten" in result.problem


# --- the parallel walk, range by range -----------------------------------------------


def _swap_seq(conn: sqlite3.Connection, low: int, high: int) -> None:
    conn.execute("UPDATE audit_log SET seq = -1 WHERE seq = ?", (low,))
    conn.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", (low, high))
    conn.execute("UPDATE audit_log SET seq = ? WHERE seq = -1", (high,))


def _rewrite_from(conn: sqlite3.Connection, first: int) -> None:
    conn.execute(
        "UPDATE audit_log SET payload = replace(payload, 'Zoë', 'Zoe') WHERE seq = ?", (first,)
    )
    rehash_from(conn, first)


# Seven events in three ranges: (1-3) walked here, (4-6) and (7-7) by child processes.
SPLIT_CASES: dict[str, tuple[str, tuple[int, ...], bool, int]] = {
    "prev_hash of a range's first event": (
        "UPDATE audit_log SET prev_hash = prev_hash || 'x' WHERE seq = ?",
        (4,),
        False,
        4,
    ),
    "prev_hash of the last range's only event": (
        "UPDATE audit_log SET prev_hash = prev_hash || 'x' WHERE seq = ?",
        (7,),
        False,
        7,
    ),
    "hash of a range's last event": (
        "UPDATE audit_log SET hash = upper(hash) WHERE seq = ?",
        (3,),
        False,
        3,
    ),
    "payload": ("UPDATE audit_log SET payload = payload || ' ' WHERE seq = ?", (5,), False, 5),
    "actor": ("actor", (6,), False, 6),
    "delete a range's first event": ("DELETE FROM audit_log WHERE seq = ?", (4,), False, 4),
    "delete a range's last event": ("DELETE FROM audit_log WHERE seq = ?", (6,), False, 6),
    "swap across a range boundary": ("swap", (3, 4), False, 3),
    "truncate": ("DELETE FROM audit_log WHERE seq > ?", (5,), True, 6),
    "consistent rewrite": ("rewrite", (5,), True, 7),
}


@pytest.mark.parametrize("case", SPLIT_CASES)
def test_parallel_walk_names_the_break_in_any_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    sql, args, against_checkpoint, first_break = SPLIT_CASES[case]
    path = new_log(tmp_path, [_event(i) for i in range(7)])
    checkpoint = head(path)
    with tamper(path) as conn:
        if sql == "swap":
            _swap_seq(conn, *args)
        elif sql == "rewrite":
            _rewrite_from(conn, *args)
        elif sql == "actor":
            set_field(conn, *args, "actor", "mona")  # in the payload: the column follows
        else:
            conn.execute(sql, args)
    walked_here: list[tuple[int, int]] = []
    walk = audit_sql.walk_range

    def spy(path: str, lo: int, hi: int) -> audit_sql.RangeWalk:
        walked_here.append((lo, hi))
        return walk(path, lo, hi)

    monkeypatch.setattr(audit_sql, "walk_range", spy)

    result = audit.verify_chain(path, checkpoint if against_checkpoint else None, workers=3)

    assert result.first_break == first_break, result.problem
    # Only the first range was walked in this process: the others came back from child
    # processes that ran (a child that fails is walked here instead).
    assert len(walked_here) == 1
    assert walked_here[0][0] == 1


def test_intact_log_verifies_through_every_path(tmp_path: Path) -> None:
    path = new_log(tmp_path, [_event(i) for i in range(5)])
    for workers in (1, 2, 4):
        result = audit.verify_chain(path, head(path), workers=workers)
        assert (result.intact, result.events) == (True, 5)


# --- corners found while writing these tests (regressions) ------------------------------


@pytest.mark.parametrize(("delta", "reads_as"), [(0.5, "real"), (0.0, "integer")])
@pytest.mark.parametrize("column", ["entity_id", "case_id"])
@pytest.mark.parametrize("workers", [1, 2])
def test_real_number_in_an_id_column_is_a_break(
    tmp_path: Path, column: str, workers: int, delta: float, reads_as: str
) -> None:
    # b"%d" % 7.5 == b"7": formatting a REAL like an integer would hide the change. And
    # 2.0 reads back from the INTEGER column as 2, looking untouched: only the payload's
    # bytes, which the hash covers, show it.
    path = new_log(tmp_path, [_event(i) for i in range(3)])
    original = rows(path)[1][column]
    with tamper(path) as conn:
        set_field(conn, 2, column, original + delta)
        stored = conn.execute(f"SELECT typeof({column}) FROM audit_log WHERE seq = 2").fetchone()
        assert stored == (reads_as,)
    assert (rows(path)[1][column] == original) is (delta == 0)
    check(path, 2, workers=workers)


@pytest.mark.parametrize("expect_head", [False, True])
def test_invalid_utf8_in_the_head_hash_is_a_break_not_a_crash(
    cli_log: Path, capsys: pytest.CaptureFixture[str], expect_head: bool
) -> None:
    checkpoint = head(cli_log)
    with tamper(cli_log) as conn:
        conn.execute("UPDATE audit_log SET hash = CAST(? AS TEXT) WHERE seq = 6", (b"\xff" * 64,))
    extra = ("--expect-head", str(checkpoint)) if expect_head else ()
    code, result = _verify(capsys, cli_log, *extra)
    assert (code, result["first_break"]) == (4, 6)


@pytest.mark.parametrize("moved_to", [0, -1, -(2**63)])
def test_last_row_moved_before_seq_1_is_a_break_without_checkpoint(
    tmp_path: Path, moved_to: int
) -> None:
    path = new_log(tmp_path, [_event(i) for i in range(3)])
    with tamper(path) as conn:
        conn.execute("UPDATE audit_log SET seq = ? WHERE seq = 3", (moved_to,))
    check(path, 3, workers=2)


# --- the command line -------------------------------------------------------------------


def _verify(
    capsys: pytest.CaptureFixture[str], path: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    code = main(["--db", str(path), "--json", "verify", *extra])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def cli_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    return new_log(tmp_path, [_event(i) for i in range(6)])


def test_cli_verify_exits_0_when_intact_and_4_naming_the_changed_event(
    cli_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(cli_log), "verify"]) == 0
    assert capsys.readouterr().out.startswith("Intact: 6 audit events")
    with tamper(cli_log) as conn:
        conn.execute("UPDATE audit_log SET payload = replace(payload, 'Zoë', 'Zoe') WHERE seq = 3")

    assert main(["--db", str(cli_log), "verify"]) == 4
    captured = capsys.readouterr()
    assert "BROKEN at event 3" in captured.out
    assert "information governance" in captured.err
    code, result = _verify(capsys, cli_log)
    assert code == 4
    assert {k: result[k] for k in ("intact", "events", "head", "first_break")} == {
        "intact": False,
        "events": 2,
        "head": str(head(cli_log)),
        "first_break": 3,
    }
    assert "event 3" in result["problem"]


def test_cli_expect_head_catches_truncation(
    cli_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = str(head(cli_log))
    assert _verify(capsys, cli_log, "--expect-head", checkpoint)[0] == 0
    with tamper(cli_log) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq > 4")

    assert _verify(capsys, cli_log)[0] == 0
    code, result = _verify(capsys, cli_log, "--expect-head", checkpoint)
    assert (code, result["first_break"]) == (4, 5)
    assert main(["--db", str(cli_log), "verify", "--expect-head", checkpoint]) == 4
    assert "BROKEN at event 5" in capsys.readouterr().out


def test_cli_expect_head_catches_a_consistent_rewrite(
    cli_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = str(head(cli_log)).upper()  # as someone might copy it: case does not matter
    with tamper(cli_log) as conn:
        conn.execute("UPDATE audit_log SET payload = replace(payload, 'Zoë', 'Zoe') WHERE seq = 2")
        rehash_from(conn, 2)

    assert _verify(capsys, cli_log)[0] == 0
    code, result = _verify(capsys, cli_log, "--expect-head", checkpoint)
    assert (code, result["first_break"]) == (4, 6)
    assert "rewritten" in result["problem"]


# --- the walk checks a chunk of events at once, and row by row only where one fails ----


@pytest.mark.parametrize("chunk", [1, 3, 4, 20_000])
@pytest.mark.parametrize(
    ("change", "seq"),
    [
        ("UPDATE audit_log SET payload = payload || ' ' WHERE seq = ?", 1),
        ("UPDATE audit_log SET payload = payload || ' ' WHERE seq = ?", 5),
        ("UPDATE audit_log SET payload = payload || ' ' WHERE seq = ?", 10),
        ("UPDATE audit_log SET hash = upper(hash) WHERE seq = ?", 7),
        # The head: no later event carries its hash, so only its own check can see it.
        ("UPDATE audit_log SET hash = upper(hash) WHERE seq = ?", 10),
        ("UPDATE audit_log SET prev_hash = 0 WHERE seq = ?", 4),
        ("UPDATE audit_log SET payload = 42 WHERE seq = ?", 8),
        ("DELETE FROM audit_log WHERE seq = ?", 6),
    ],
)
def test_a_break_is_named_whichever_chunk_it_falls_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, change: str, seq: int
) -> None:
    monkeypatch.setattr(chain_sql, "CHUNK", chunk)
    path = new_log(tmp_path, [_event(i) for i in range(10)])
    check(path, None)
    with tamper(path) as conn:
        conn.execute(change, (seq,))
    check(path, seq)


@pytest.mark.parametrize("extra", ["x", "0" * 64, "é"])
def test_a_prev_hash_with_more_after_the_hash_is_a_break_even_rehashed(
    tmp_path: Path, extra: str
) -> None:
    """Event 3 carries event 2's hash and more; its own hash and every later one are
    recomputed to match, so only that link does not hold. The fast walk reads a prev_hash
    as the first 64 bytes of what it hashes: it must not take this one for a link."""
    path = new_log(tmp_path, [_event(i) for i in range(1, 6)])
    with tamper(path) as conn:
        conn.execute("UPDATE audit_log SET prev_hash = prev_hash || ? WHERE seq = 3", (extra,))
        prev, payload = conn.execute(
            "SELECT prev_hash, payload FROM audit_log WHERE seq = 3"
        ).fetchone()
        digest = hashlib.sha256((prev + payload).encode("utf-8")).hexdigest()
        conn.execute("UPDATE audit_log SET hash = ? WHERE seq = 3", (digest,))
        rehash_from(conn, 4)
    result = check(path, 3, workers=3)
    assert "does not carry the hash of event 2" in result.problem


def test_a_hash_one_character_long_whose_next_is_one_short_is_a_break(tmp_path: Path) -> None:
    """Event k's stored hash is its digest and one more character; event k+1 carries that
    as its prev_hash and stores its own digest less that first character; every later
    event is rehashed. Written end to end the stored hashes read exactly as the digests
    do, so a walk that compares a chunk's hashes joined together must also hold each
    hash to 64 characters: event k is altered, whichever walk finds it."""
    path = new_log(tmp_path, [_event(i) for i in range(1, 7)])
    with tamper(path) as conn:
        rows = dict(
            (seq, (prev, payload, digest))
            for seq, prev, payload, digest in conn.execute(
                "SELECT seq, prev_hash, payload, hash FROM audit_log"
            )
        )
        # A character c with sha256(hash_k + c + payload_k+1) starting with c: one in 16
        # hex digits does on average, so some event of six has one (the log is fixed).
        found = next(
            (k, c)
            for k in range(2, 5)
            for c in "0123456789abcdef"
            if audit.chain_hash(rows[k][2] + c, rows[k + 1][1])[0] == c
        )
        k, c = found
        longer = rows[k][2] + c
        after = audit.chain_hash(longer, rows[k + 1][1])
        conn.execute("UPDATE audit_log SET hash = ? WHERE seq = ?", (longer, k))
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (longer, after[1:], k + 1)
        )
        rehash_from(conn, k + 2)
        joined = "".join(h for (h,) in conn.execute("SELECT hash FROM audit_log ORDER BY seq"))
        assert len(joined) == 64 * 6  # the hashes written end to end are the right length
    result = check(path, k, workers=3)
    assert f"event {k} was altered" in result.problem
