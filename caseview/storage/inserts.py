"""Inserting a row and learning its id, the same way on every engine.

``INSERT ... RETURNING id`` (SQLite 3.35 and later, and PostgreSQL) rather than the
driver's ``lastrowid``, which PostgreSQL's driver does not give.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any


def inserted_id(
    conn: sqlite3.Connection, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> int:
    """Run one ``INSERT`` (without a RETURNING clause) and return the new row's id."""
    rows = conn.execute(f"{sql} RETURNING id", params).fetchall()
    return int(rows[0][0])
