"""What the database refuses to people who connect with psql using their own password.

Each refusal is its own test: every statement runs on the person's own login connection
(wren works case A, otto case B, mona manages, ada audits) and is rolled back after.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from pg_seed import (
    AT,
    CASE_ROWS,
    INSERT_EVENT,
    PREFIX,
    Conn,
    Team,
    append,
    case_keys,
    count_rows,
    event,
    head,
    insert,
    sha,
)
from psycopg import errors, sql

from caseview.storage.postgres import install

CASE_TABLES = sorted(CASE_ROWS)
ALL_TABLES = sorted([*CASE_TABLES, "users", "policies", "schema_version", "caseview_roles"])
EVIDENCE = ["audit_log", "blobs", "sources", "source_artefacts"]


def refused(conn: Conn, statement: sql.Composable | str, params: Any = None) -> str:
    """Run ``statement``, which must fail; its message. The transaction is rolled back."""
    try:
        conn.execute(statement, params)
    except psycopg.Error as exc:
        conn.rollback()
        return exc.diag.message_primary or str(exc)
    conn.rollback()
    raise AssertionError(f"not refused: {statement!r}")


def first_column(team: Team, table: str) -> str:
    row = team.owner.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum DESC LIMIT 1",
        [table],
    ).fetchone()
    assert row is not None
    return str(row[0])


# ---- allocation: an unallocated worker reads nothing of another case -------------------


@pytest.mark.parametrize("table", CASE_TABLES)
def test_a_worker_reads_nothing_of_a_case_not_allocated_to_them(team: Team, table: str) -> None:
    theirs, others = case_keys(team, table, "B"), case_keys(team, table, "A")
    assert theirs and others, f"the seed left {table} empty"
    assert count_rows(team["otto"].c, table, theirs) == len(theirs)
    assert count_rows(team["otto"].c, table, others) == 0


@pytest.mark.parametrize("table", CASE_TABLES)
@pytest.mark.parametrize("who", ["mona", "ada"])
def test_managers_and_auditors_read_every_case(team: Team, table: str, who: str) -> None:
    keys = case_keys(team, table, "A") + case_keys(team, table, "B")
    assert count_rows(team[who].c, table, keys) == len(keys)


def test_a_worker_reads_their_own_events_about_no_case_and_nobody_elses(team: Team) -> None:
    otto = team["otto"]
    rows = otto.c.execute(
        "SELECT actor, action, entity_id FROM audit_log WHERE case_id IS NULL ORDER BY seq"
    ).fetchall()
    assert rows == [("mona", "user.added", otto.id), ("otto", "login", otto.id)]


def _into_case_a(team: Team) -> dict[str, tuple[str, dict[str, Any]]]:
    """For each table a worker may add to: a row about case A, written as otto."""
    otto, a = team["otto"], team.cases["A"]
    approved = a.justifications["approved"]
    seq, prev = head(otto.c)
    otto.c.rollback()
    _, payload, _, digest = event(
        seq + 1, prev, actor="otto", action="note.saved", entity="note", case_id=a.case_id
    )
    return {
        "subjects": (
            "id",
            {
                "case_id": a.case_id,
                "name": "X",
                "role": "other",
                "created_by": otto.id,
                "created_at": AT,
            },
        ),
        "justifications": (
            "id",
            {
                "case_id": a.case_id,
                "author_id": otto.id,
                "content": "{}",
                "valid_until": "2026-12-01",
                "created_at": AT,
                "updated_at": AT,
            },
        ),
        "justification_editors": (
            "",
            {"justification_id": a.justifications["draft"], "user_id": otto.id},
        ),
        "return_answers": (
            "",
            {
                "justification_id": a.justifications["draft"],
                "review_id": _review_of(team, "A"),
                "item": 9,
                "reason": "r",
                "answered_by": otto.id,
                "answered_at": AT,
            },
        ),
        "viewings": (
            "id",
            {
                "case_id": a.case_id,
                "user_id": otto.id,
                "at": AT,
                "url": "u",
                "kind": "view",
                "outcome": "completed",
            },
        ),
        "sources": (
            "id",
            {
                "case_id": a.case_id,
                "subject_id": a.subjects[0],
                "justification_id": approved,
                "justification_hash": "h",
                "origin": "self_collected",
                "method": "http",
                "requested_url": "u",
                "body_sha256": a.blobs[0],
                "body_size": 1,
                "captured_started_at": AT,
                "captured_ended_at": AT,
                "captured_by": otto.id,
                "machine": "m",
                "tool": "t",
                "created_at": AT,
            },
        ),
        "exposure_findings": ("id", {"source_id": a.source_id, "kind": "k", "value": "v"}),
        "observations": (
            "id",
            {
                "source_id": a.source_id,
                "case_id": a.case_id,
                "text": "t",
                "domain": "online_exposure",
                "reliability": "C",
                "credibility": 3,
                "author_id": otto.id,
                "created_at": AT,
            },
        ),
        "notes": (
            "id",
            {"case_id": a.case_id, "version": 99, "author_id": otto.id, "created_at": AT},
        ),
        "browse_sessions": (
            "",
            {
                "viewing_id": _browse_of(team, "A"),
                "case_id": a.case_id,
                "justification_id": approved,
                "subject_id": a.subjects[0],
                "user_id": otto.id,
                "start_url": "u",
                "started_at": AT,
                "ends_by": AT,
            },
        ),
        "browse_pages": (
            "id",
            {"viewing_id": _browse_of(team, "A"), "at": AT, "url": "u", "how": "load"},
        ),
        "browse_requests": (
            "id",
            {
                "viewing_id": _browse_of(team, "A"),
                "at": AT,
                "url": "u",
                "method": "GET",
                "resource_type": "image",
            },
        ),
        "source_artefacts": (
            "",
            {
                "source_id": a.source_id,
                "kind": "dom",
                "sha256": a.blobs[0],
                "size": 1,
                "media_type": "text/html",
            },
        ),
        "search_index": (
            "",
            {
                "kind": "note",
                "ref_id": 1,
                "case_id": a.case_id,
                "title": "t",
                "body": "b",
                "folded": "",
            },
        ),
        "audit_log": ("", {"seq": seq + 1, "payload": payload, "prev_hash": prev, "hash": digest}),
    }


def _review_of(team: Team, case: str) -> int:
    return int(case_keys(team, "reviews", case)[0])


def _browse_of(team: Team, case: str) -> int:
    return int(case_keys(team, "browse_sessions", case)[0])


WORKER_INSERTS = [
    "subjects",
    "justifications",
    "justification_editors",
    "return_answers",
    "viewings",
    "sources",
    "exposure_findings",
    "observations",
    "notes",
    "browse_sessions",
    "browse_pages",
    "browse_requests",
    "source_artefacts",
    "search_index",
    "audit_log",
]


@pytest.mark.parametrize("table", WORKER_INSERTS)
def test_a_worker_cannot_add_to_a_case_not_allocated_to_them(team: Team, table: str) -> None:
    returning, row = _into_case_a(team)[table]
    otto = team["otto"].c
    with pytest.raises(psycopg.Error) as caught:
        insert(otto, table, row, returning=returning or None)
    otto.rollback()
    message = caught.value.diag.message_primary or ""
    assert isinstance(caught.value, errors.InsufficientPrivilege), message
    assert "row-level security" in message or "not allocated" in message


@pytest.mark.parametrize("table", ["sources", "viewings", "browse_sessions", "observations"])
def test_a_worker_cannot_name_another_cases_rows_in_their_own(team: Team, table: str) -> None:
    returning, row = _into_case_a(team)[table]
    row = {**row, "case_id": team.cases["B"].case_id}
    if table == "viewings":
        row["justification_id"] = team.cases["A"].justifications["approved"]
    if table == "browse_sessions":
        row["viewing_id"] = _browse_of(team, "B")
    otto = team["otto"].c
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        insert(otto, table, row, returning=returning or None)


# ---- what Caseview itself does is allowed --------------------------------------------------


def test_a_worker_does_the_everyday_writes_on_their_case(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    draft = a.justifications["draft"]
    # Re-index an item; replace a draft's return answers; edit and cancel their own draft.
    wren.c.execute("DELETE FROM search_index WHERE kind = 'source' AND ref_id = %s", [a.source_id])
    insert(
        wren.c,
        "search_index",
        {
            "kind": "source",
            "ref_id": a.source_id,
            "case_id": a.case_id,
            "title": "t",
            "body": "b",
            "folded": "",
        },
        returning=None,
    )
    wren.c.execute("DELETE FROM return_answers WHERE justification_id = %s", [draft])
    insert(
        wren.c,
        "return_answers",
        {
            "justification_id": draft,
            "review_id": _review_of(team, "A"),
            "item": 1,
            "reason": "r",
            "answer": "a",
            "answered_by": wren.id,
            "answered_at": AT,
        },
        returning=None,
    )
    wren.c.execute(
        "UPDATE justifications SET content = '{}', emergency = 1, valid_until = %s,"
        " updated_at = %s WHERE id = %s",
        ["2026-12-31", AT, draft],
    )
    cursor = wren.c.execute(
        "UPDATE justifications SET status = 'cancelled', cancel_reason = 'no longer needed',"
        " updated_at = %s WHERE id = %s",
        [AT, draft],
    )
    assert cursor.rowcount == 1


def test_a_manager_does_the_everyday_writes(team: Team) -> None:
    mona, otto, b = team["mona"], team["otto"], team.cases["B"]
    policy = insert(
        mona.c,
        "policies",
        {"toml": "name = 'stricter'", "set_by": mona.id, "set_at": AT},
    )
    assert policy
    mona.c.execute(
        "UPDATE cases SET status = 'closed', closed_at = %s WHERE id = %s", [AT, b.case_id]
    )
    mona.c.execute(
        "DELETE FROM case_members WHERE case_id = %s AND user_id = %s", [b.case_id, otto.id]
    )
    cursor = mona.c.execute(
        "UPDATE users SET active = 0, role = 'auditor' WHERE id = %s", [otto.id]
    )
    assert cursor.rowcount == 1


# ---- auditors change nothing -------------------------------------------------------------


@pytest.mark.parametrize("table", ALL_TABLES)
@pytest.mark.parametrize("statement", ["INSERT", "UPDATE", "DELETE"])
def test_an_auditor_cannot_write(team: Team, table: str, statement: str) -> None:
    ident = sql.Identifier(table)
    query = {
        "INSERT": sql.SQL("INSERT INTO {} DEFAULT VALUES").format(ident),
        "UPDATE": sql.SQL("UPDATE {} SET {} = {}").format(
            ident,
            sql.Identifier(first_column(team, table)),
            sql.Identifier(first_column(team, table)),
        ),
        "DELETE": sql.SQL("DELETE FROM {}").format(ident),
    }[statement]
    message = refused(team["ada"].c, query)
    assert message == f"permission denied for table {table}"


def test_an_auditor_records_their_own_sign_in_through_the_function(team: Team) -> None:
    ada = team["ada"]
    seq = append(
        ada.c, via_function=True, actor="ada", action="integrity.verified", entity="audit_log"
    )
    assert head(ada.c)[0] == seq


def test_an_auditor_records_nothing_else_through_the_function(team: Team) -> None:
    ada = team["ada"]
    with pytest.raises(errors.InsufficientPrivilege, match="auditor records only"):
        append(
            ada.c,
            via_function=True,
            actor="ada",
            action="case.closed",
            entity="case",
            case_id=team.cases["A"].case_id,
        )


# ---- evidence is never changed or removed, by anyone ------------------------------------


def _evidence_row(team: Team, table: str) -> sql.Composable:
    column, _ = CASE_ROWS[table]
    key = case_keys(team, table, "A")[0]
    return sql.SQL("{} = {}").format(sql.Identifier(column), sql.Literal(key))


@pytest.mark.parametrize("table", EVIDENCE)
@pytest.mark.parametrize("who", ["wren", "mona", "ada"])
@pytest.mark.parametrize("statement", ["UPDATE", "DELETE", "TRUNCATE"])
def test_no_caseview_role_may_change_evidence(
    team: Team, table: str, who: str, statement: str
) -> None:
    where = _evidence_row(team, table)
    ident, column = sql.Identifier(table), sql.Identifier(first_column(team, table))
    query = {
        "UPDATE": sql.SQL("UPDATE {} SET {} = {} WHERE {}").format(ident, column, column, where),
        "DELETE": sql.SQL("DELETE FROM {} WHERE {}").format(ident, where),
        "TRUNCATE": sql.SQL("TRUNCATE {}").format(ident),
    }[statement]
    assert refused(team[who].c, query) == f"permission denied for table {table}"


OWNER_REFUSALS = {
    ("audit_log", "UPDATE"): "audit_log is append-only: events cannot be changed",
    ("audit_log", "DELETE"): "audit_log is append-only: events cannot be deleted",
    ("blobs", "UPDATE"): "blobs are evidence and are never changed",
    ("blobs", "DELETE"): "blobs are evidence and are never deleted",
    ("sources", "UPDATE"): "sources are evidence: record a correction as a new source instead",
    ("sources", "DELETE"): "sources are evidence and are never deleted",
    ("source_artefacts", "UPDATE"): "source_artefacts are evidence and are never changed",
    ("source_artefacts", "DELETE"): "source_artefacts are evidence and are never deleted",
}


@pytest.mark.parametrize(("table", "statement"), sorted(OWNER_REFUSALS))
def test_not_even_the_owner_may_change_evidence(team: Team, table: str, statement: str) -> None:
    where = _evidence_row(team, table)
    column = sql.Identifier(first_column(team, table))
    query = (
        sql.SQL("UPDATE {} SET {} = {} WHERE {}").format(
            sql.Identifier(table), column, column, where
        )
        if statement == "UPDATE"
        else sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(table), where)
    )
    assert refused(team.owner, query) == OWNER_REFUSALS[(table, statement)]


@pytest.mark.parametrize("table", EVIDENCE)
def test_not_even_the_owner_may_truncate_evidence(team: Team, table: str) -> None:
    message = refused(team.owner, sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(table)))
    assert "never deleted" in message or "cannot be deleted" in message


# ---- the gate: requests, reviews and self-approval --------------------------------------


def test_a_worker_cannot_insert_a_review(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    message = refused(
        wren.c,
        "INSERT INTO reviews (justification_id, author_id, reviewer_id, decision, content_hash,"
        " at) VALUES (%s, %s, %s, 'approve', 'h', %s)",
        [a.justifications["draft"], wren.id, team["mona"].id, AT],
    )
    assert message == "permission denied for table reviews"


def _managers_own_submitted_request(team: Team, *, as_editor: bool = True) -> int:
    mona, a = team["mona"], team.cases["A"]
    jid = insert(
        mona.c,
        "justifications",
        {
            "case_id": a.case_id,
            "author_id": mona.id,
            "content": "{}",
            "valid_until": AT[:10],
            "created_at": AT,
            "updated_at": AT,
        },
    )
    if as_editor:
        insert(
            mona.c,
            "justification_editors",
            {"justification_id": jid, "user_id": mona.id},
            returning=None,
        )
    mona.c.execute(
        "UPDATE justifications SET status = 'submitted', content_hash = 'hm' WHERE id = %s",
        [jid],
    )
    return int(jid)


REVIEW = (
    "INSERT INTO reviews (justification_id, author_id, reviewer_id, decision, reasons,"
    " content_hash, at) VALUES (%s, %s, %s, 'approve', 'fine', 'hm', %s)"
)


@pytest.mark.parametrize(
    ("as_editor", "refusal"),
    [
        (True, "the author of a request, or an editor, cannot review it"),  # as Caseview writes
        (False, 'violates check constraint "reviews_check"'),  # reviewer_id <> author_id
    ],
)
def test_a_manager_cannot_review_their_own_request(
    team: Team, as_editor: bool, refusal: str
) -> None:
    mona = team["mona"]
    jid = _managers_own_submitted_request(team, as_editor=as_editor)
    with pytest.raises(errors.IntegrityError, match=refusal):
        mona.c.execute(REVIEW, [jid, mona.id, mona.id, AT])


def test_a_manager_cannot_review_their_own_request_naming_another_author(team: Team) -> None:
    mona = team["mona"]
    jid = _managers_own_submitted_request(team)
    with pytest.raises(errors.IntegrityError, match="must be the author of the justification"):
        mona.c.execute(REVIEW, [jid, team["wren"].id, mona.id, AT])


def test_a_manager_cannot_review_in_someone_elses_name(team: Team) -> None:
    mona = team["mona"]
    jid = _managers_own_submitted_request(team)
    with pytest.raises(errors.InsufficientPrivilege, match="must be the signed-in user"):
        mona.c.execute(REVIEW, [jid, mona.id, team["wren"].id, AT])


def test_a_manager_cannot_approve_without_a_review(team: Team) -> None:
    mona = team["mona"]
    jid = _managers_own_submitted_request(team)
    with pytest.raises(errors.InsufficientPrivilege, match="decided only by its reviewer"):
        mona.c.execute("UPDATE justifications SET status = 'approved' WHERE id = %s", [jid])


def test_a_worker_cannot_create_a_request_already_approved(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    with pytest.raises(errors.InsufficientPrivilege, match="starts as a draft"):
        insert(
            wren.c,
            "justifications",
            {
                "case_id": a.case_id,
                "author_id": wren.id,
                "content": "{}",
                "valid_until": AT[:10],
                "created_at": AT,
                "updated_at": AT,
                "status": "approved",
                "content_hash": "h",
            },
        )


def test_a_worker_cannot_approve_their_own_request(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    wren.c.execute(
        "UPDATE justifications SET status = 'submitted', content_hash = 'hd' WHERE id = %s",
        [a.justifications["draft"]],
    )
    with pytest.raises(errors.InsufficientPrivilege, match="decided only by its reviewer"):
        wren.c.execute(
            "UPDATE justifications SET status = 'approved' WHERE id = %s",
            [a.justifications["draft"]],
        )


def test_a_manager_who_changes_a_draft_without_being_its_editor_is_refused(team: Team) -> None:
    mona, a = team["mona"], team.cases["A"]
    with pytest.raises(errors.InsufficientPrivilege, match="first recorded as its editor"):
        mona.c.execute(
            'UPDATE justifications SET content = \'{"purpose":"mine"}\' WHERE id = %s',
            [a.justifications["draft"]],
        )


def test_a_worker_cannot_choose_an_id(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied for table notes"):
        insert(
            wren.c,
            "notes",
            {
                "id": 10_000,
                "case_id": a.case_id,
                "version": 50,
                "author_id": wren.id,
                "created_at": AT,
            },
        )


# ---- identity: nobody acts as someone else -----------------------------------------------


@pytest.mark.parametrize("actor", ["mona", "otto", "system"])
def test_a_worker_cannot_write_an_event_as_someone_else(team: Team, actor: str) -> None:
    wren = team["wren"]
    with pytest.raises(errors.InsufficientPrivilege, match="actor must be the signed-in user"):
        append(wren.c, actor=actor, action="login", entity="user")


def test_a_worker_writes_an_event_about_their_own_case(team: Team) -> None:
    wren = team["wren"]
    seq = append(
        wren.c, actor="wren", action="note.saved", entity="note", case_id=team.cases["A"].case_id
    )
    assert head(wren.c)[0] == seq


def test_a_worker_cannot_write_an_event_about_another_case(team: Team) -> None:
    wren = team["wren"]
    with pytest.raises(errors.InsufficientPrivilege, match="not allocated to wren"):
        append(
            wren.c,
            actor="wren",
            action="note.saved",
            entity="note",
            case_id=team.cases["B"].case_id,
        )


def test_a_worker_cannot_record_a_capture_in_someone_elses_name(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    with pytest.raises(errors.InsufficientPrivilege, match=r"viewings\.user_id must be"):
        insert(
            wren.c,
            "viewings",
            {
                "case_id": a.case_id,
                "user_id": team["otto"].id,
                "at": AT,
                "url": "u",
                "kind": "view",
                "outcome": "completed",
            },
        )


def test_a_switched_off_account_reads_and_writes_no_case_data(team: Team) -> None:
    mona, otto = team["mona"], team["otto"]
    mona.c.execute("UPDATE users SET active = 0 WHERE id = %s", [otto.id])
    mona.c.commit()
    try:
        assert otto.c.execute("SELECT count(*) FROM cases").fetchone() == (0,)
        otto.c.rollback()
        with pytest.raises(errors.InsufficientPrivilege, match="not an active Caseview user"):
            append(otto.c, actor="otto", action="login", entity="user")
    finally:
        otto.c.rollback()
        mona.c.execute("UPDATE users SET active = 1 WHERE id = %s", [otto.id])
        mona.c.commit()


# ---- the chain: appends are serialised, a fork is refused --------------------------------


def test_two_events_extending_the_same_head_are_refused(team: Team) -> None:
    wren = team["wren"]
    seq, prev = head(wren.c)
    wren.c.execute(INSERT_EVENT, event(seq + 1, prev, actor="wren", action="login", entity="u"))
    fork = event(seq + 1, prev, actor="wren", action="export.pdf", entity="u")
    with pytest.raises(errors.IntegrityError, match="must extend the head of the chain"):
        wren.c.execute(INSERT_EVENT, fork)


def test_an_event_whose_hash_does_not_hold_is_refused(team: Team) -> None:
    wren = team["wren"]
    seq, prev = head(wren.c)
    row = event(seq + 1, prev, actor="wren", action="login", entity="u")
    with pytest.raises(errors.IntegrityError, match="sha256"):
        wren.c.execute(INSERT_EVENT, (*row[:3], "f" * 64))


def test_concurrent_appends_are_serialised_and_the_loser_is_refused(team: Team) -> None:
    mona, wren = team["mona"], team["wren"]
    seq, prev = head(wren.c)
    wren.c.rollback()  # wren read the head, but did not keep the lock
    winner = event(seq + 1, prev, actor="mona", action="login", entity="u")
    mona.c.execute(INSERT_EVENT, winner)  # takes the lock until mona commits
    outcome: list[BaseException | None] = []

    def wren_appends() -> None:
        try:
            wren.c.execute(
                INSERT_EVENT, event(seq + 1, prev, actor="wren", action="login", entity="u")
            )
            outcome.append(None)
        except psycopg.Error as exc:
            outcome.append(exc)

    racer = threading.Thread(target=wren_appends)
    racer.start()
    time.sleep(0.3)
    assert not outcome, "wren's append did not wait for mona's"
    mona.c.commit()
    racer.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], errors.IntegrityError)
    assert "must extend the head of the chain" in str(outcome[0])
    wren.c.rollback()
    assert head(wren.c) == (seq + 1, winner[3])


# ---- blobs --------------------------------------------------------------------------------


def test_a_worker_adds_a_blob_before_the_source_that_names_it(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    content = b"a new page"
    insert(
        wren.c,
        "blobs",
        {"sha256": sha(content), "size": len(content), "content": content, "created_at": AT},
        returning=None,
    )
    visible = "SELECT count(*) FROM blobs WHERE sha256 = %s"
    assert wren.c.execute(visible, [sha(content)]).fetchone() == (0,)
    insert(
        wren.c,
        "sources",
        {
            "case_id": a.case_id,
            "subject_id": a.subjects[0],
            "justification_id": a.justifications["approved"],
            "justification_hash": "h",
            "origin": "self_collected",
            "method": "http",
            "requested_url": "u",
            "body_sha256": sha(content),
            "body_size": len(content),
            "captured_started_at": AT,
            "captured_ended_at": AT,
            "captured_by": wren.id,
            "machine": "m",
            "tool": "t",
            "created_at": AT,
        },
    )
    assert wren.c.execute(visible, [sha(content)]).fetchone() == (1,)


def test_storing_bytes_another_case_holds_is_ignored_and_reveals_nothing(team: Team) -> None:
    otto, a = team["otto"], team.cases["A"]
    content = b"<html>page of CP-A</html>"
    assert sha(content) in a.blobs
    cursor = otto.c.execute(
        "INSERT INTO blobs (sha256, size, content, created_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        [sha(content), len(content), content, AT],
    )
    assert cursor.rowcount == 0
    assert otto.c.execute("SELECT count(*) FROM blobs").fetchone() == (3,)


@pytest.mark.parametrize("seen_elsewhere", [False, True])
def test_naming_a_conflict_target_makes_a_worker_unable_to_store_a_blob(
    team: Team, seen_elsewhere: bool
) -> None:
    """ON CONFLICT (sha256) needs SELECT on sha256, so PostgreSQL checks the new row
    against the SELECT policy: a blob no source of the worker's names yet fails it. The
    storage layer must write ON CONFLICT DO NOTHING, without a target, on PostgreSQL."""
    otto = team["otto"]
    content = b"<html>page of CP-A</html>" if seen_elsewhere else b"brand new"
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        otto.c.execute(
            "INSERT INTO blobs (sha256, size, content, created_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (sha256) DO NOTHING",
            [sha(content), len(content), content, AT],
        )


def test_an_editor_is_recorded_once_with_a_conflict_target(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    cursor = wren.c.execute(  # as storage/gate.py add_editor does
        "INSERT INTO justification_editors (justification_id, user_id) VALUES (%s, %s)"
        " ON CONFLICT (justification_id, user_id) DO NOTHING",
        [a.justifications["draft"], wren.id],
    )
    assert cursor.rowcount == 0


def test_a_blob_must_be_stored_under_its_own_hash(team: Team) -> None:
    wren = team["wren"]
    with pytest.raises(errors.CheckViolation, match="blobs_content_addressed"):
        insert(
            wren.c,
            "blobs",
            {"sha256": sha(b"one thing"), "size": 7, "content": b"another", "created_at": AT},
            returning=None,
        )


# ---- the server around the tables ---------------------------------------------------------


def test_a_worker_cannot_create_temporary_tables(team: Team) -> None:
    message = refused(team["wren"].c, "CREATE TEMPORARY TABLE audit_log (seq bigint)")
    assert message.startswith("permission denied to create temporary tables")


def test_a_worker_who_takes_on_their_group_role_is_still_themselves(team: Team) -> None:
    otto = team["otto"].c
    otto.execute(f"SET ROLE {PREFIX}_worker")
    assert otto.execute("SELECT caseview_username()").fetchone() == ("otto",)
    keys = case_keys(team, "sources", "A")
    assert count_rows(otto, "sources", keys) == 0


def test_a_worker_cannot_take_on_the_managers_role(team: Team) -> None:
    message = refused(team["otto"].c, f"SET ROLE {PREFIX}_manager")
    assert message == f'permission denied to set role "{PREFIX}_manager"'


def test_a_worker_cannot_create_tables(team: Team) -> None:
    assert refused(team["wren"].c, "CREATE TABLE mine (x int)") == (
        "permission denied for schema public"
    )


@pytest.mark.parametrize("who", ["wren", "ada"])
def test_only_managers_manage_logins(team: Team, who: str) -> None:
    conn = team[who].c
    with pytest.raises(errors.InsufficientPrivilege):
        install.create_login(conn, PREFIX, "eve", "a password!", "manager")
    conn.rollback()
    with pytest.raises(errors.InsufficientPrivilege):
        install.set_role(conn, PREFIX, who, "manager")


def test_a_manager_cannot_change_their_own_role(team: Team) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="your own account"):
        install.set_role(team["mona"].c, PREFIX, "mona", "auditor")


# ---- the append function: what Caseview itself calls --------------------------------------

APPEND_EVENT = "SELECT event_seq, event_hash FROM caseview_append_event(%s)"


def _body(**fields: Any) -> str:
    """An event as Caseview sends it to caseview_append_event: everything but its seq."""
    seq, payload, _, _ = event(1, "0" * 64, **fields)
    assert payload.endswith(f',"seq":{seq}}}')
    return payload[: -len(f',"seq":{seq}}}')] + "}"


def test_the_append_function_numbers_links_and_hashes_the_event(team: Team) -> None:
    wren, a = team["wren"], team.cases["A"]
    before_seq, before_hash = head(wren.c)
    fields = {"actor": "wren", "action": "note.saved", "entity": "note", "case_id": a.case_id}
    row = wren.c.execute(APPEND_EVENT, [_body(**fields)]).fetchone()
    assert row is not None
    seq, digest = row
    # Exactly the event Caseview would have numbered and hashed itself.
    expected = event(before_seq + 1, before_hash, **fields)
    assert (seq, digest) == (expected[0], expected[3])
    stored = wren.c.execute(
        "SELECT payload, prev_hash, hash FROM audit_log WHERE seq = %s", [seq]
    ).fetchone()
    assert stored == (expected[1], before_hash, digest)


@pytest.mark.parametrize(
    "body",
    [
        '{"action":"login","actor":"wren","entity":"user","seq":99}',
        '["login"]',
        "not JSON at all",
        '{"action":"login","actor":"wren",}',
        '{"action":"login","actor":"wren","entity":"user"} ',
        None,
    ],
    ids=["with its seq", "not an object", "not JSON", "JSON-like", "text after it", "nothing"],
)
def test_the_append_function_takes_only_an_event_without_its_seq(
    team: Team, body: str | None
) -> None:
    message = refused(team["wren"].c, APPEND_EVENT, [body])
    assert "JSON object without its seq" in message


@pytest.mark.parametrize(
    ("who", "fields", "message"),
    [
        ("wren", {"actor": "otto", "action": "login", "entity": "user"}, "actor must be"),
        (
            "wren",
            {"actor": "wren", "action": "note.saved", "entity": "note", "case": "B"},
            "not allocated to wren",
        ),
        (
            "ada",
            {"actor": "ada", "action": "case.closed", "entity": "case", "case": "A"},
            "auditor records only",
        ),
    ],
    ids=["as someone else", "about another case", "an auditor's change"],
)
def test_the_append_function_checks_who_appends_what(
    team: Team, who: str, fields: dict[str, Any], message: str
) -> None:
    case = fields.pop("case", None)
    if case is not None:
        fields["case_id"] = team.cases[case].case_id
    conn = team[who].c
    before = head(conn)
    assert message in refused(conn, APPEND_EVENT, [_body(**fields)])
    assert head(conn) == before


def test_the_append_function_records_a_refused_look_about_any_case(team: Team) -> None:
    wren, b = team["wren"], team.cases["B"]
    body = _body(actor="wren", action="viewing.refused", entity="viewing", case_id=b.case_id)
    row = wren.c.execute(APPEND_EVENT, [body]).fetchone()
    assert row is not None and row[0] == head(wren.c)[0]
