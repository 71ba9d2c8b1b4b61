"""SQL for the gate: policies, justifications, reviews and viewings."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import ethics
from caseview.storage import dialect
from caseview.storage.inserts import inserted_id


def latest_policy(conn: sqlite3.Connection) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM policies WHERE status = 'in_force' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return row


def insert_policy(conn: sqlite3.Connection, toml: str, set_by: int, set_at: str) -> int:
    return inserted_id(
        conn, "INSERT INTO policies (toml, set_by, set_at) VALUES (?, ?, ?)", (toml, set_by, set_at)
    )


_JUSTIFICATION = (
    "SELECT j.*, a.username AS author_name, z.username AS authorised_by_name"
    " FROM justifications j JOIN users a ON a.id = j.author_id"
    " LEFT JOIN users z ON z.id = j.authorised_by"
)


def justification(conn: sqlite3.Connection, justification_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        _JUSTIFICATION + " WHERE j.id = ?", (justification_id,)
    ).fetchone()
    return row


def justifications_of_case(conn: sqlite3.Connection, case_id: int) -> list[sqlite3.Row]:
    return list(conn.execute(_JUSTIFICATION + " WHERE j.case_id = ? ORDER BY j.id", (case_id,)))


def justifications_with_status(
    conn: sqlite3.Connection, statuses: Sequence[str], case_ids: Iterable[int] | None = None
) -> list[sqlite3.Row]:
    marks = ", ".join("?" for _ in statuses)
    sql = _JUSTIFICATION + f" WHERE j.status IN ({marks})"
    params: list[Any] = list(statuses)
    if case_ids is not None:
        ids = list(case_ids)
        sql += f" AND j.case_id IN ({', '.join('?' for _ in ids)})"
        params += ids
    return list(conn.execute(sql + " ORDER BY j.submitted_at, j.id", params))


def insert_justification(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return inserted_id(
        conn,
        "INSERT INTO justifications (case_id, author_id, version, supersedes, emergency,"
        " content, valid_until, created_at, updated_at) VALUES (:case_id, :author_id,"
        " :version, :supersedes, :emergency, :content, :valid_until, :created_at, :updated_at)",
        row,
    )


def add_editor(conn: sqlite3.Connection, justification_id: int, user_id: int) -> None:
    conn.execute(
        "INSERT INTO justification_editors (justification_id, user_id) VALUES (?, ?)"
        " ON CONFLICT (justification_id, user_id) DO NOTHING",
        (justification_id, user_id),
    )


def is_editor(conn: sqlite3.Connection, justification_id: int, user_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM justification_editors WHERE justification_id = ? AND user_id = ?",
        (justification_id, user_id),
    ).fetchone()
    return row is not None


def update_draft(
    conn: sqlite3.Connection,
    justification_id: int,
    content: str,
    emergency: bool,
    valid_until: str,
    updated_at: str,
) -> None:
    conn.execute(
        "UPDATE justifications SET content = ?, emergency = ?, valid_until = ?, updated_at = ?"
        " WHERE id = ? AND status = 'draft'",
        (content, int(emergency), valid_until, updated_at, justification_id),
    )


def set_status(conn: sqlite3.Connection, justification_id: int, **fields: Any) -> None:
    allowed = {
        "status",
        "content_hash",
        "submitted_at",
        "decided_at",
        "overdue_flagged_at",
        "authorisation_ref",
        "authorised_by",
        "authorised_at",
        "cancel_reason",
        "updated_at",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not a justification state column: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = :{name}" for name in fields)
    conn.execute(
        f"UPDATE justifications SET {assignments} WHERE id = :id",
        {**fields, "id": justification_id},
    )


def insert_review(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return inserted_id(
        conn,
        "INSERT INTO reviews (justification_id, author_id, reviewer_id, decision, reasons,"
        " content_hash, at) VALUES (:justification_id, :author_id, :reviewer_id, :decision,"
        " :reasons, :content_hash, :at)",
        row,
    )


def reviews_of(conn: sqlite3.Connection, justification_id: int) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            "SELECT r.*, u.username AS reviewer_name, u.display_name AS reviewer_display"
            " FROM reviews r JOIN users u ON u.id = r.reviewer_id"
            " WHERE r.justification_id = ? ORDER BY r.id",
            (justification_id,),
        )
    )


def insert_viewing(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    values = {
        "subject_id": None,
        "justification_id": None,
        "rule": None,
        "message": None,
        "source_id": None,
        **row,
    }
    by_function = dialect.refused_look_insert(conn)
    if by_function is not None and values["outcome"] == "refused" and not values["source_id"]:
        return int(conn.execute(by_function, values).fetchone()[0])
    viewing_id = inserted_id(
        conn,
        "INSERT INTO viewings (case_id, subject_id, justification_id, user_id, at, url, kind,"
        " outcome, rule, message, source_id) VALUES (:case_id, :subject_id,"
        " :justification_id, :user_id, :at, :url, :kind, :outcome, :rule, :message,"
        " :source_id)",
        values,
    )
    if values["outcome"] == "completed":
        record_look_keys(conn, viewing_id, str(values["url"] or ""))
    return viewing_id


def record_look_keys(conn: Any, viewing_id: int, url: str) -> None:
    """On a server, every profile key a completed look's address lies under, for the meter
    of every case (see ``dialect.look_keys_insert``); a case file computes them when it
    reads."""
    query = dialect.look_keys_insert(conn)
    if query is None:
        return
    key = ethics.page_key(url)
    conn.execute(query, (viewing_id, list(ethics.page_prefixes(key)) if key else []))


def completed_looks(conn: sqlite3.Connection, since: str) -> list[sqlite3.Row]:
    """Completed looks from ``since`` on, by anyone, at anyone (the meter's history).

    Supplied material counts only when a colleague in the authority gathered it
    (Home Office Code 3.17: a look made on the authority's behalf).
    """
    return list(
        conn.execute(
            "SELECT v.subject_id, v.at, v.url, u.username FROM viewings v"
            " JOIN users u ON u.id = v.user_id"
            " LEFT JOIN sources s ON s.id = v.source_id"
            " WHERE v.outcome = 'completed' AND v.at >= ?"
            " AND (v.kind != 'supplied' OR s.origin = 'supplied_by_colleague')"
            " ORDER BY v.at",
            (since,),
        )
    )


def open_emergencies(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Emergency requests submitted and not yet decided, with their author."""
    return list(
        conn.execute(
            "SELECT j.id, j.content, j.submitted_at, u.username AS author_name"
            " FROM justifications j JOIN users u ON u.id = j.author_id"
            " WHERE j.emergency = 1 AND j.status = 'submitted' AND j.submitted_at IS NOT NULL"
            " ORDER BY j.id"
        )
    )


def completed_under(conn: sqlite3.Connection, justification_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM viewings WHERE justification_id = ? AND outcome = 'completed'"
        " AND kind != 'supplied'",
        (justification_id,),
    ).fetchone()
    return int(row[0])


def completed_under_versions(conn: sqlite3.Connection, justification_id: int) -> int:
    """Looks made under this request in any of its versions: the version it supersedes,
    the one that superseded, and so back to the first. A revised request is the same
    request, so its planned viewings are not a fresh allowance."""
    row = conn.execute(
        "WITH RECURSIVE versions(id) AS (SELECT id FROM justifications WHERE id = ? UNION"
        " SELECT j.supersedes FROM justifications j JOIN versions ON j.id = versions.id"
        " WHERE j.supersedes IS NOT NULL)"
        " SELECT count(*) FROM viewings WHERE justification_id IN (SELECT id FROM versions)"
        " AND outcome = 'completed' AND kind != 'supplied'",
        (justification_id,),
    ).fetchone()
    return int(row[0])


def approved_earlier_versions(conn: sqlite3.Connection, justification_id: int) -> list[int]:
    """The earlier versions of this request that are still approved, oldest first."""
    rows = conn.execute(
        "WITH RECURSIVE versions(id) AS ("
        " SELECT supersedes FROM justifications WHERE id = ? AND supersedes IS NOT NULL UNION"
        " SELECT j.supersedes FROM justifications j JOIN versions ON j.id = versions.id"
        " WHERE j.supersedes IS NOT NULL)"
        " SELECT j.id FROM justifications j JOIN versions ON j.id = versions.id"
        " WHERE j.status = 'approved' ORDER BY j.id",
        (justification_id,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def viewings_of_subject(
    conn: sqlite3.Connection, subject_id: int, limit: int = 500
) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            "SELECT v.*, u.username FROM viewings v JOIN users u ON u.id = v.user_id"
            " WHERE v.subject_id = ? ORDER BY v.at DESC, v.id DESC LIMIT ?",
            (subject_id, limit),
        )
    )


def latest_review(conn: sqlite3.Connection, justification_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT r.*, u.username AS reviewer_name, u.display_name AS reviewer_display"
        " FROM reviews r JOIN users u ON u.id = r.reviewer_id"
        " WHERE r.justification_id = ? ORDER BY r.id DESC LIMIT 1",
        (justification_id,),
    ).fetchone()
    return row


def return_answers(
    conn: sqlite3.Connection, justification_id: int, review_id: int
) -> dict[int, str]:
    """The answers a version gives to one return, by item number (from 1)."""
    return {
        int(r["item"]): str(r["answer"])
        for r in conn.execute(
            "SELECT item, answer FROM return_answers WHERE justification_id = ? AND review_id = ?",
            (justification_id, review_id),
        )
    }


def set_return_answers(
    conn: sqlite3.Connection,
    justification_id: int,
    review_id: int,
    items: Sequence[tuple[str, str]],
    answered_by: int,
    answered_at: str,
) -> None:
    """Replace a draft's answers to one return: ``items`` is (reason, answer) in order."""
    conn.execute(
        "DELETE FROM return_answers WHERE justification_id = ? AND review_id = ?",
        (justification_id, review_id),
    )
    conn.executemany(
        "INSERT INTO return_answers (justification_id, review_id, item, reason, answer,"
        " answered_by, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (justification_id, review_id, number, reason, answer, answered_by, answered_at)
            for number, (reason, answer) in enumerate(items, start=1)
        ],
    )
