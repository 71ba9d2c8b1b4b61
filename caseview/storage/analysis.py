"""SQL for what the worker makes of the evidence: observations, notes, full-text search."""

from __future__ import annotations

import sqlite3
from typing import Any

# Letters SQLite's unicode61 tokenizer cannot fold (remove_diacritics works from Unicode
# decompositions, and these have none), spelled the way a UK keyboard would type them.
_FOLDS = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "Ð": "D",
        "ð": "d",
        "Ħ": "H",
        "ħ": "h",
        "ß": "ss",
        "ẞ": "SS",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Þ": "TH",
        "þ": "th",
        "ı": "i",
    }
)


def fold(text: str) -> str:
    """Text with the letters unicode61 cannot fold spelled plainly (Łódź -> Lódź)."""
    return text.translate(_FOLDS)


_CURRENT = (
    "SELECT o.*, u.username AS author_name FROM observations o"
    " JOIN users u ON u.id = o.author_id"
    " WHERE NOT EXISTS (SELECT 1 FROM observations n WHERE n.supersedes = o.id)"
    " AND o.withdrawn = 0"
)


def insert_observation(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    columns = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    cursor = conn.execute(f"INSERT INTO observations ({columns}) VALUES ({marks})", row)
    new_id = int(cursor.lastrowid or 0)
    if row.get("root_id") is None:
        # root_id is filled once, on the first version (the trigger allows only this).
        conn.execute("UPDATE observations SET root_id = id WHERE id = ?", (new_id,))
    return new_id


def observation(conn: sqlite3.Connection, observation_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT o.*, u.username AS author_name FROM observations o"
        " JOIN users u ON u.id = o.author_id WHERE o.id = ?",
        (observation_id,),
    ).fetchone()
    return row


def is_current(conn: sqlite3.Connection, observation_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM observations WHERE supersedes = ?", (observation_id,)
    ).fetchone()
    return row is None


def current_observations(conn: sqlite3.Connection, case_id: int) -> list[sqlite3.Row]:
    return list(conn.execute(_CURRENT + " AND o.case_id = ? ORDER BY o.root_id", (case_id,)))


def current_of_source(conn: sqlite3.Connection, source_id: int) -> list[sqlite3.Row]:
    return list(conn.execute(_CURRENT + " AND o.source_id = ? ORDER BY o.root_id", (source_id,)))


def source_facts(conn: sqlite3.Connection, case_id: int) -> list[sqlite3.Row]:
    """What independence is judged by, for every source of a case: id, the source it
    corrects, body sha256, requested and final URL."""
    return list(
        conn.execute(
            "SELECT id, corrects, body_sha256, requested_url, final_url FROM sources"
            " WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
    )


def history(conn: sqlite3.Connection, root_id: int) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            "SELECT o.*, u.username AS author_name FROM observations o"
            " JOIN users u ON u.id = o.author_id WHERE o.root_id = ? ORDER BY o.version",
            (root_id,),
        )
    )


def insert_note(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    columns = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    cursor = conn.execute(f"INSERT INTO notes ({columns}) VALUES ({marks})", row)
    return int(cursor.lastrowid or 0)


def current_note(conn: sqlite3.Connection, case_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT n.*, u.username AS author_name, u.display_name AS author_display FROM notes n"
        " JOIN users u ON u.id = n.author_id WHERE n.case_id = ?"
        " ORDER BY n.version DESC LIMIT 1",
        (case_id,),
    ).fetchone()
    return row


def index(
    conn: sqlite3.Connection, kind: str, ref_id: int, case_id: int, title: str, body: str
) -> None:
    """(Re)index one item for full-text search; an item's old entry is replaced.

    ``title`` and ``body`` are kept as written, for showing and for snippets. The
    ``folded`` column holds title and body through :func:`fold` only when folding
    changes them (a page naming Łódź): otherwise it would index the same words twice,
    which for a 1 MB page costs a fifth of the capture's time. Queries are not limited
    to one column, so a word is found wherever it is indexed.
    """
    conn.execute("DELETE FROM search_index WHERE kind = ? AND ref_id = ?", (kind, ref_id))
    written = title + "\n" + body
    folded = fold(written)
    conn.execute(
        "INSERT INTO search_index (kind, ref_id, case_id, title, body, folded)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (kind, ref_id, case_id, title, body, "" if folded == written else folded),
    )


def unindex(conn: sqlite3.Connection, kind: str, ref_id: int) -> None:
    conn.execute("DELETE FROM search_index WHERE kind = ? AND ref_id = ?", (kind, ref_id))


def search(
    conn: sqlite3.Connection, case_ids: list[int] | None, match: str, limit: int
) -> list[sqlite3.Row]:
    sql = (
        "SELECT kind, ref_id, case_id, title,"
        " snippet(search_index, 4, '[', ']', ' … ', 12) AS snippet"
        " FROM search_index WHERE search_index MATCH ?"
    )
    params: list[Any] = [match]
    if case_ids is not None:
        sql += f" AND case_id IN ({', '.join('?' for _ in case_ids) or 'NULL'})"
        params += case_ids
    sql += " ORDER BY rank LIMIT ?"
    params.append(limit)
    return list(conn.execute(sql, params))


def last_case_event(
    conn: sqlite3.Connection, case_id: int, ignore: tuple[str, ...]
) -> sqlite3.Row | None:
    """The last audit event that changed this case (reading and exporting do not)."""
    marks = ", ".join("?" for _ in ignore)
    row: sqlite3.Row | None = conn.execute(
        f"SELECT seq, hash, at FROM audit_log WHERE case_id = ? AND action NOT IN ({marks})"
        " ORDER BY seq DESC LIMIT 1",
        (case_id, *ignore),
    ).fetchone()
    return row
