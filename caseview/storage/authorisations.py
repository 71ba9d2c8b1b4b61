"""SQL for what takes two managers: surveillance authorisations and policy proposals.

A row here counts (lifts the meter's stop, or becomes the policy in force) only once a
second manager has confirmed it; triggers keep the content fixed and the rows for good.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from caseview.storage.inserts import inserted_id

_AUTHORISATION = (
    "SELECT a.*, j.case_id AS case_id, s.name AS subject_name,"
    " r.username AS recorded_by_name, c.username AS confirmed_by_name"
    " FROM authorisations a JOIN justifications j ON j.id = a.justification_id"
    " JOIN subjects s ON s.id = a.subject_id"
    " JOIN users r ON r.id = a.recorded_by"
    " LEFT JOIN users c ON c.id = a.confirmed_by"
)


def insert_authorisation(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return inserted_id(
        conn,
        "INSERT INTO authorisations (justification_id, subject_id, reference,"
        " authorising_officer, magistrate_approved_on, expires_on, recorded_by, recorded_at)"
        " VALUES (:justification_id, :subject_id, :reference, :authorising_officer,"
        " :magistrate_approved_on, :expires_on, :recorded_by, :recorded_at)",
        row,
    )


def confirm_authorisation(
    conn: sqlite3.Connection, authorisation_id: int, confirmed_by: int, confirmed_at: str
) -> None:
    conn.execute(
        "UPDATE authorisations SET confirmed_by = ?, confirmed_at = ?"
        " WHERE id = ? AND confirmed_by IS NULL",
        (confirmed_by, confirmed_at, authorisation_id),
    )


def authorisation(conn: sqlite3.Connection, authorisation_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        _AUTHORISATION + " WHERE a.id = ?", (authorisation_id,)
    ).fetchone()
    return row


def authorisations_of_justification(
    conn: sqlite3.Connection, justification_id: int
) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            _AUTHORISATION + " WHERE a.justification_id = ? ORDER BY a.id", (justification_id,)
        )
    )


def confirmed_of_justification(
    conn: sqlite3.Connection, justification_id: int, on_or_after: str
) -> list[sqlite3.Row]:
    """Confirmed authorisations whose expiry day is ``on_or_after`` (ISO date) or later."""
    return list(
        conn.execute(
            _AUTHORISATION + " WHERE a.justification_id = ? AND a.confirmed_by IS NOT NULL"
            " AND a.expires_on >= ? ORDER BY a.id",
            (justification_id, on_or_after),
        )
    )


def authorisations_of_case(conn: sqlite3.Connection, case_id: int) -> list[sqlite3.Row]:
    return list(conn.execute(_AUTHORISATION + " WHERE j.case_id = ? ORDER BY a.id", (case_id,)))


# --- policies ------------------------------------------------------------------------

_POLICY = (
    "SELECT p.*, s.username AS set_by_name, c.username AS confirmed_by_name,"
    " coalesce(p.confirmed_at, p.set_at) AS effective_at"
    " FROM policies p JOIN users s ON s.id = p.set_by"
    " LEFT JOIN users c ON c.id = p.confirmed_by"
)


def insert_policy(
    conn: sqlite3.Connection, toml: str, set_by: int, set_at: str, *, status: str
) -> int:
    return inserted_id(
        conn,
        "INSERT INTO policies (toml, set_by, set_at, status) VALUES (?, ?, ?, ?)",
        (toml, set_by, set_at, status),
    )


def confirm_policy(
    conn: sqlite3.Connection, policy_id: int, confirmed_by: int, confirmed_at: str
) -> None:
    conn.execute(
        "UPDATE policies SET status = 'in_force', confirmed_by = ?, confirmed_at = ?"
        " WHERE id = ? AND status = 'pending'",
        (confirmed_by, confirmed_at, policy_id),
    )


def policy(conn: sqlite3.Connection, policy_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(_POLICY + " WHERE p.id = ?", (policy_id,)).fetchone()
    return row


def policy_in_force(conn: sqlite3.Connection, at: str | None = None) -> sqlite3.Row | None:
    """The policy in force now, or at ``at`` (an ISO time as stored), if any was set.

    A pending policy may only be confirmed while nothing newer is in force, so the
    latest in force by id is also the latest to take effect.
    """
    sql = _POLICY + " WHERE p.status = 'in_force'"
    params: tuple[str, ...] = ()
    if at is not None:
        sql += " AND coalesce(p.confirmed_at, p.set_at) <= ?"
        params = (at,)
    row: sqlite3.Row | None = conn.execute(sql + " ORDER BY p.id DESC LIMIT 1", params).fetchone()
    return row


def pending_policies(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return list(conn.execute(_POLICY + " WHERE p.status = 'pending' ORDER BY p.id"))
