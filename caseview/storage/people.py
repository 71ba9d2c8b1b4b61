"""SQL for users, cases, case members and subjects."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import ethics
from caseview.storage import dialect
from caseview.storage.inserts import inserted_id


def user_by_name(conn: sqlite3.Connection, username: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM users WHERE username = ?", (username,)
    ).fetchone()
    return row


def user_by_id(conn: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM users WHERE id = ?", (user_id,)
    ).fetchone()
    return row


def count_users(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


def list_users(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return list(conn.execute("SELECT * FROM users ORDER BY username"))


def insert_user(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return inserted_id(
        conn,
        "INSERT INTO users (username, display_name, role, password_hash, created_at, created_by)"
        " VALUES (:username, :display_name, :role, :password_hash, :created_at, :created_by)",
        row,
    )


def set_login_state(
    conn: sqlite3.Connection, user_id: int, failed_logins: int, locked_until: str | None
) -> None:
    conn.execute(
        "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?",
        (failed_logins, locked_until, user_id),
    )


def set_password_hash(conn: sqlite3.Connection, user_id: int, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def set_role(conn: sqlite3.Connection, user_id: int, role: str) -> None:
    conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))


def set_active(conn: sqlite3.Connection, user_id: int, active: bool) -> None:
    conn.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))


def case_by_id(conn: sqlite3.Connection, case_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT cases.*, users.username AS created_by_name FROM cases"
        " JOIN users ON users.id = cases.created_by WHERE cases.id = ?",
        (case_id,),
    ).fetchone()
    return row


def case_exists(conn: sqlite3.Connection, case_id: int) -> bool:
    """Whether case ``case_id`` exists, even if the reader may not see it."""
    return bool(conn.execute(dialect.case_exists_query(conn), (case_id,)).fetchone()[0])


def case_id_by_reference(conn: sqlite3.Connection, reference: str) -> int | None:
    """The id of the case with this reference, even if the reader may not see it."""
    row = conn.execute(dialect.case_by_reference_query(conn), (reference,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def case_of(conn: sqlite3.Connection, kind: str, item_id: int) -> int | None:
    """The case a subject, source, observation or request belongs to, even if the
    reader may not see it (``kind`` as in ``dialect.HOLDING_TABLES``)."""
    row = conn.execute(dialect.case_of_query(conn, kind), (item_id,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def case_by_reference(conn: sqlite3.Connection, reference: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT id FROM cases WHERE reference = ?", (reference,)
    ).fetchone()
    return row


def list_cases(conn: sqlite3.Connection, member_id: int | None) -> list[sqlite3.Row]:
    """All cases, or with ``member_id`` only those allocated to that user."""
    base = (
        "SELECT cases.*, users.username AS created_by_name FROM cases"
        " JOIN users ON users.id = cases.created_by"
    )
    if member_id is None:
        return list(conn.execute(base + " ORDER BY cases.reference"))
    return list(
        conn.execute(
            base + " JOIN case_members m ON m.case_id = cases.id AND m.user_id = ?"
            " ORDER BY cases.reference",
            (member_id,),
        )
    )


def insert_case(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return inserted_id(
        conn,
        "INSERT INTO cases (reference, title, created_by, created_at)"
        " VALUES (:reference, :title, :created_by, :created_at)",
        row,
    )


def set_case_status(
    conn: sqlite3.Connection, case_id: int, status: str, closed_at: str | None
) -> None:
    conn.execute(
        "UPDATE cases SET status = ?, closed_at = ? WHERE id = ?", (status, closed_at, case_id)
    )


def is_member(conn: sqlite3.Connection, case_id: int, user_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM case_members WHERE case_id = ? AND user_id = ?", (case_id, user_id)
    ).fetchone()
    return row is not None


def insert_member(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO case_members (case_id, user_id, allocated_by, allocated_at)"
        " VALUES (:case_id, :user_id, :allocated_by, :allocated_at)",
        row,
    )


def delete_member(conn: sqlite3.Connection, case_id: int, user_id: int) -> None:
    conn.execute("DELETE FROM case_members WHERE case_id = ? AND user_id = ?", (case_id, user_id))


def members(conn: sqlite3.Connection, case_id: int) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            "SELECT users.* FROM case_members m JOIN users ON users.id = m.user_id"
            " WHERE m.case_id = ? ORDER BY users.username",
            (case_id,),
        )
    )


def insert_subject(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    subject_id = inserted_id(
        conn,
        "INSERT INTO subjects (case_id, name, role, date_of_birth, handles, created_by,"
        " created_at) VALUES (:case_id, :name, :role, :date_of_birth, :handles,"
        " :created_by, :created_at)",
        {**row, "handles": json.dumps(list(row["handles"]), ensure_ascii=False)},
    )
    record_person_keys(conn, subject_id, row["handles"])
    return subject_id


def record_person_keys(conn: Any, subject_id: int, handles: Sequence[str]) -> None:
    """On a server, the keys of a subject's handles, for the meter of every case (see
    ``dialect.person_keys_insert``); a case file computes them when it reads."""
    query = dialect.person_keys_insert(conn)
    if query is None:
        return
    keys = sorted({key for key in map(ethics.handle_key, handles) if key is not None})
    conn.execute(query, (subject_id, keys, [not key.startswith("@") for key in keys]))


def subject_by_id(conn: sqlite3.Connection, subject_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM subjects WHERE id = ?", (subject_id,)
    ).fetchone()
    return row


def subjects_of(conn: sqlite3.Connection, case_id: int) -> list[sqlite3.Row]:
    return list(conn.execute("SELECT * FROM subjects WHERE case_id = ? ORDER BY id", (case_id,)))


def handles_of(row: sqlite3.Row) -> Sequence[str]:
    value = json.loads(row["handles"] or "[]")
    return [str(item) for item in value] if isinstance(value, list) else []


def all_subjects(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every subject in the case file (id, case, handles): people are known file-wide."""
    return list(conn.execute("SELECT id, case_id, name, handles FROM subjects ORDER BY id"))


def person_links(conn: sqlite3.Connection) -> list[tuple[int, int]]:
    return [
        (int(a), int(b))
        for a, b in conn.execute("SELECT subject_a, subject_b FROM person_links ORDER BY id")
    ]


def insert_person_link(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return inserted_id(
        conn,
        "INSERT INTO person_links (subject_a, subject_b, reason, linked_by, linked_at)"
        " VALUES (:subject_a, :subject_b, :reason, :linked_by, :linked_at)",
        row,
    )


def person_link(conn: sqlite3.Connection, subject_a: int, subject_b: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM person_links WHERE subject_a = ? AND subject_b = ?",
        (subject_a, subject_b),
    ).fetchone()
    return row
