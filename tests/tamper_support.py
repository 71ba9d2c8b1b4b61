"""Tampering with a case file as someone holding it could: the tests of verify share it."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def tampering(path: Path, table: str | None = None) -> Iterator[sqlite3.Connection]:
    """A raw connection to the case file at ``path`` with every trigger dropped (only
    ``table``'s, if given), put back as they were when the block ends (as someone
    covering their tracks would: verify reports guards left changed); everything commits
    together then."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        triggers = list(
            conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                " AND (? IS NULL OR tbl_name = ?)",
                (table, table),
            )
        )
        for name, _ in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        yield conn
        for _, sql in triggers:
            conn.execute(sql)
        conn.execute("COMMIT")
    finally:
        conn.close()
