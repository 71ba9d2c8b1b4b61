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

from caseview.storage import dialect
from caseview.storage.analysis import fold

# The grades of the source's current observations, e.g. "B2 C3" (None when ungraded).
# {grades} is the engine's aggregate (see _sql).
_GRADING: Final = (
    "(SELECT {grades} FROM (SELECT DISTINCT o.reliability || o.credibility AS g"
    " FROM observations o WHERE o.source_id = s.id AND o.withdrawn = 0"
    " AND NOT EXISTS (SELECT 1 FROM observations n WHERE n.supersedes = o.id)"
    " ORDER BY g) AS grades)"
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
# Only text beyond printable ASCII needs the Python function: LIKE already ignores case
# in ASCII (dialect.plain_like).
_NAMES: Final = ("coalesce(s.title, '')", "subj.name")
_CODES: Final = ("s.requested_url", "coalesce(s.final_url, '')", "s.body_sha256", "s.origin")
PLAIN_FUNCTION: Final = dialect.PLAIN_FUNCTION


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


def _sql(conn: sqlite3.Connection, expression: str) -> str:
    return expression.format(grades=dialect.sorted_string_agg(conn, "g", "' '"))


def _named(conn: sqlite3.Connection, case_id: int, words: Sequence[str]) -> list[list[int]]:
    """For each word, the sources whose title or subject's name, beyond printable ASCII,
    holds it in plain form: where the engine cannot compare plain text itself."""
    rows = conn.execute(
        "SELECT s.id, s.title, subj.name"
        + _FROM
        + " WHERE s.case_id = ? AND ("
        + " OR ".join(dialect.beyond_ascii(conn, column) for column in _NAMES)
        + ")",
        (case_id,),
    ).fetchall()
    names = [(int(row[0]), plain(row[1]), plain(row[2])) for row in rows]
    found = []
    for word in words:
        wanted = plain(word)
        found.append([id_ for id_, title, name in names if wanted in title or wanted in name])
    return found


def _where(
    conn: sqlite3.Connection, case_id: int, words: Sequence[str]
) -> tuple[str, list[object]]:
    """Every word must appear (in its plain form) in one of the searched columns."""
    clauses = ["s.case_id = ?"]
    params: list[object] = [case_id]
    named = None if dialect.compares_plain_text(conn) or not words else _named(conn, case_id, words)
    for n, word in enumerate(words):
        pattern = f"%{_escape_like(plain(word))}%"
        tests = [dialect.plain_like(conn, column) for column in _NAMES]
        tests += [dialect.like(conn, column) for column in _CODES]
        params.extend([pattern] * len(tests))
        if named is not None:
            test, ids = dialect.one_of(conn, "s.id", named[n])
            tests.append(test)
            params.append(ids)
        clauses.append("(" + " OR ".join(tests) + ")")
    return " WHERE " + " AND ".join(clauses), params


def count_sources(conn: sqlite3.Connection, case_id: int, words: Sequence[str]) -> int:
    where, params = _where(conn, case_id, words)
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
    expression = _sql(conn, expression)
    direction = "DESC" if descending else "ASC"
    # Empty values (an ungraded source) go last in either direction.
    order = (f"({expression}) IS NULL, " if nullable else "") + f"{expression} {direction}"
    where, params = _where(conn, case_id, words)
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
            f" {_sql(conn, _GRADING)} AS grading" + _FROM + f" WHERE s.id IN ({marks})",
            ids,
        )
    }
    return [rows[source_id] for source_id in ids]
