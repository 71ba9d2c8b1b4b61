"""SQL for browsing a case's sources a page at a time: sorted, filtered, counted.

The desktop app's sources table shows a case of 10,000 sources without loading them:
each page is one query with ``LIMIT``/``OFFSET``, ordered by a whitelisted expression
(never text from the caller), with the page's rows only carrying the short columns a
table shows (the extracted text stays in the database).
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Sequence
from typing import Final

from caseview.storage.analysis import fold

# The grades of the source's current observations, e.g. "B2 C3" (None when ungraded).
_GRADING: Final = (
    "(SELECT group_concat(g, ' ') FROM (SELECT DISTINCT o.reliability || o.credibility AS g"
    " FROM observations o WHERE o.source_id = s.id AND o.withdrawn = 0"
    " AND NOT EXISTS (SELECT 1 FROM observations n WHERE n.supersedes = o.id)"
    " ORDER BY g))"
)
_URL: Final = "coalesce(s.final_url, s.requested_url)"

# Sort keys the caller may name: the SQL each orders by, and whether it can be NULL.
SORTS: Final = {
    "captured_at": ("s.captured_started_at", False),
    "title": (f"lower(coalesce(nullif(s.title, ''), {_URL}))", False),
    "url": (_URL, False),
    "origin": ("s.origin", False),
    "grading": (_GRADING, True),
    "sha256": ("s.body_sha256", False),
    "subject": ("lower(subj.name)", False),
    "captured_by": ("u.username", False),
}

_FROM: Final = (
    " FROM sources s JOIN users u ON u.id = s.captured_by"
    " JOIN subjects subj ON subj.id = s.subject_id"
)
# Every source has its user and subject (foreign keys), so the joins change no count or
# order; they are left out unless a search or the order needs their columns.
_FROM_SOURCES: Final = " FROM sources s"


# Searchable columns: what the table shows, so a match is always visible in its row.
# Titles and names are compared in their plain form (see ``plain``), so "Michal" finds
# "Michał" and "Ødegård" finds "Odegard"; addresses, hashes and origins are ASCII.
def _plain_sql(column: str) -> str:
    # SQLite's own GLOB (in C) picks out text beyond printable ASCII; only that goes
    # through the Python function: LIKE already ignores case in ASCII.
    return f"(CASE WHEN {column} GLOB '*[^ -~]*' THEN cv_plain({column}) ELSE {column} END)"


_SEARCHED: Final = (
    _plain_sql("coalesce(s.title, '')"),
    "s.requested_url",
    "coalesce(s.final_url, '')",
    "s.body_sha256",
    _plain_sql("subj.name"),
    "s.origin",
)
PLAIN_FUNCTION: Final = "cv_plain"


def plain(text: str | None) -> str:
    """Text as the table's filter compares it: without accents, in lower case, with the
    Latin letters that do not decompose (ł, ø, ß, æ...) spelled plainly."""
    if text is None:
        return ""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", fold(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(case_id: int, words: Sequence[str]) -> tuple[str, list[object]]:
    """Every word must appear (in its plain form) in one of the searched columns."""
    clauses = ["s.case_id = ?"]
    params: list[object] = [case_id]
    for word in words:
        pattern = f"%{_escape_like(plain(word))}%"
        clauses.append(
            "(" + " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in _SEARCHED) + ")"
        )
        params.extend([pattern] * len(_SEARCHED))
    return " WHERE " + " AND ".join(clauses), params


def count_sources(conn: sqlite3.Connection, case_id: int, words: Sequence[str]) -> int:
    where, params = _where(case_id, words)
    source = _FROM if words else _FROM_SOURCES
    return int(conn.execute("SELECT count(*)" + source + where, params).fetchone()[0])


def source_page(
    conn: sqlite3.Connection,
    case_id: int,
    words: Sequence[str],
    *,
    sort: str,
    descending: bool,
    offset: int,
    limit: int,
) -> list[sqlite3.Row]:
    """One page of a case's sources. ``sort`` must be a key of :data:`SORTS`.

    Two steps: the page's ids in order (only the sort expression is computed for every
    matching source, so the case's index serves the default order and stops early),
    then the shown columns for those ids alone.
    """
    expression, nullable = SORTS[sort]
    direction = "DESC" if descending else "ASC"
    # Empty values (an ungraded source) go last in either direction.
    order = (f"({expression}) IS NULL, " if nullable else "") + f"{expression} {direction}"
    where, params = _where(case_id, words)
    source = _FROM if words or sort in ("subject", "captured_by") else _FROM_SOURCES
    ids = [
        int(row[0])
        for row in conn.execute(
            "SELECT s.id" + source + where + f" ORDER BY {order}, s.id {direction}"
            " LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    ]
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = {
        int(row["id"]): row
        for row in conn.execute(
            "SELECT s.id, s.captured_started_at, s.title, s.requested_url, s.final_url,"
            " s.origin, s.method, s.body_sha256, s.body_size, s.media_type,"
            " subj.name AS subject_name, u.username AS captured_by_name,"
            f" {_GRADING} AS grading" + _FROM + f" WHERE s.id IN ({marks})",
            ids,
        )
    }
    return [rows[source_id] for source_id in ids]
