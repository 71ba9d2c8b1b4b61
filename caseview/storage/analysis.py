"""SQL for what the worker makes of the evidence: observations, notes, full-text search."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from caseview.storage import dialect, fts
from caseview.storage.inserts import inserted_id

# Latin letters SQLite's unicode61 tokenizer cannot fold. remove_diacritics works from
# canonical Unicode decompositions, and these have none (ł, ø, đ, ħ, ɗ…), decompose to
# more than a letter and accents (ŀ is "l·"), or decompose only for compatibility (ĳ,
# ǆ). Each is spelled with the letters its decomposition or its Unicode name is built on
# (LATIN SMALL LETTER O WITH STROKE -> o), the way a UK keyboard would type it. Letters
# that unicode61 folds itself (é, ş, ễ) are left to it, so that text in French or Polish
# without these letters is not indexed a second time (see index()).
_SPELLED = {"SHARP S": "ss", "THORN": "th", "ETH": "d", "AFRICAN D": "d"}
_UNICODE61_MISSES = {"Ǡ": "A", "ǡ": "a"}  # two accents stacked on ȧ: left whole
_LATIN_BLOCKS = (
    (0x00C0, 0x02AF),  # Latin-1 letters, Latin Extended-A and -B, IPA extensions
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2C60, 0x2C7F),  # Latin Extended-C
    (0xA720, 0xA7FF),  # Latin Extended-D
    (0xAB30, 0xAB6F),  # Latin Extended-E
)
_LATIN_NAME = re.compile(
    r"LATIN (SMALL|CAPITAL) (?:LETTER|LIGATURE) (?:DOTLESS )?([A-Z]{1,2}|[A-Z ]+?)(?: WITH .*)?"
)


def _unaccented(text: str) -> str:
    return "".join(c for c in text if not unicodedata.combining(c))


def _latin_folds() -> dict[str, str]:
    folds = dict(_UNICODE61_MISSES)
    for code in (c for start, end in _LATIN_BLOCKS for c in range(start, end + 1)):
        char = chr(code)
        if not unicodedata.category(char).startswith("L"):
            continue
        compatible = _unaccented(unicodedata.normalize("NFKD", char))
        if compatible.isascii():
            if compatible != _unaccented(unicodedata.normalize("NFD", char)):
                folds[char] = compatible  # ĳ -> ij, ǅ -> Dz
            continue  # otherwise unicode61 folds it
        match = _LATIN_NAME.fullmatch(unicodedata.name(char, ""))
        if match is None:
            continue
        case, base = match.groups()
        plain = _SPELLED.get(base, base if len(base) <= 2 else "")
        if plain:
            folds[char] = plain.upper() if case == "CAPITAL" else plain.lower()
    return folds


_FOLDS = str.maketrans(_latin_folds())


def fold(text: str) -> str:
    """Text with the Latin letters unicode61 cannot fold spelled plainly (Łódź -> Lódź)."""
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
    new_id = inserted_id(conn, f"INSERT INTO observations ({columns}) VALUES ({marks})", row)
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
    return inserted_id(conn, f"INSERT INTO notes ({columns}) VALUES ({marks})", row)


def current_note(conn: sqlite3.Connection, case_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT n.*, u.username AS author_name, u.display_name AS author_display FROM notes n"
        " JOIN users u ON u.id = n.author_id WHERE n.case_id = ?"
        " ORDER BY n.version DESC LIMIT 1",
        (case_id,),
    ).fetchone()
    return row


# Scripts written without spaces between words (Chinese, Japanese, Korean, Thai, Lao,
# Khmer, Myanmar): unicode61 sees a whole run of them as one word, so a word inside
# running text cannot be found there. Text holding any of them is also indexed by
# trigram (search_trigram), which finds any three or more characters anywhere.
UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u2e80-\u2fdf"
    "\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7af\uf900-\ufaff\uff66-\uffdc"
    "\U00020000-\U0003134f]"
)
TRIGRAM = 3
"""The fewest characters search_trigram can match; shorter terms are looked for with
instr() over its rows (only text in the scripts above is there, so the scan is small)."""


def index(
    conn: sqlite3.Connection, kind: str, ref_id: int, case_id: int, title: str, body: str
) -> None:
    """(Re)index one item for full-text search; an item's old entry is replaced.

    ``title`` and ``body`` are kept as written, for showing and for snippets. The
    ``folded`` column holds title and body through :func:`fold` only when folding
    changes them (a page naming Łódź): otherwise it would index the same words twice,
    which for a 1 MB page costs a fifth of the capture's time. Queries are not limited
    to one column, so a word is found wherever it is indexed. Text with any
    :data:`UNSPACED` character is also indexed in ``search_trigram`` (on a server, in
    search_index's trigram columns: :mod:`caseview.storage.fts`).
    """
    unindex(conn, kind, ref_id)
    written = title + "\n" + body
    folded = fold(written)
    columns = (title, body, "" if folded == written else folded)
    unspaced = bool(UNSPACED.search(written))
    if dialect.full_text(conn) == "tsvector":
        fts.server_index(conn, kind, ref_id, case_id, columns, unspaced)
        return
    conn.execute(
        "INSERT INTO search_index (kind, ref_id, case_id, title, body, folded)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (kind, ref_id, case_id, *columns),
    )
    if unspaced:
        conn.execute(
            "INSERT INTO search_trigram (kind, ref_id, case_id, title, body)"
            " VALUES (?, ?, ?, ?, ?)",
            (kind, ref_id, case_id, title, body),
        )


def unindex(conn: sqlite3.Connection, kind: str, ref_id: int) -> None:
    conn.execute("DELETE FROM search_index WHERE kind = ? AND ref_id = ?", (kind, ref_id))
    if dialect.full_text(conn) == "fts5":
        conn.execute("DELETE FROM search_trigram WHERE kind = ? AND ref_id = ?", (kind, ref_id))


@dataclass(frozen=True)
class Found:
    """One item a search found, with its snippet (the hit marked ``[like this]``)."""

    kind: str
    ref_id: int
    case_id: int
    title: str
    snippet: str


def spellings(word: str) -> tuple[str, ...]:
    """The spellings a query word is looked for in: as typed, and folded when folding
    changes it (Łódź, Lodz). Every hit in the title or body is a hit in ``folded`` too,
    so a word is found wherever it is written, and typed as written it is also marked in
    the snippet of the body."""
    folded = fold(word)
    return (word,) if folded == word else (word, folded)


def _in_cases(case_ids: list[int] | None) -> tuple[str, list[Any]]:
    if case_ids is None:
        return "", []
    return f" AND case_id IN ({', '.join('?' for _ in case_ids) or 'NULL'})", list(case_ids)


def _contains(fragments: Sequence[str]) -> tuple[str, list[Any]]:
    # Every fragment somewhere in the title or the body (instr: no LIKE wildcards).
    sql = "".join(" AND (instr(title, ?) > 0 OR instr(body, ?) > 0)" for _ in fragments)
    return sql, [p for f in fragments for p in (f, f)]


_SNIPPET = f"'{fts.OPEN}', '{fts.CLOSE}', '{fts.ELLIPSIS}'"


def search(
    conn: sqlite3.Connection,
    case_ids: list[int] | None,
    *,
    words: Sequence[str],
    phrases: Sequence[str],
    fragments: Sequence[str],
    limit: int,
) -> list[Found]:
    """Items holding everything asked, best first (bm25), at most ``limit``.

    ``words`` are looked for in the word index (each in its :func:`spellings`),
    ``phrases`` (3 or more characters of an unspaced script) anywhere by trigram,
    ``fragments`` (shorter ones) as written in the text of items in those scripts. At
    least one of them must be given. Every term is literal, never FTS5 syntax. Equal
    ranks come in the order the items were indexed.
    """
    if dialect.full_text(conn) == "tsvector":
        found = fts.server_search(
            conn,
            case_ids,
            words=[spellings(w) for w in words],
            phrases=phrases,
            fragments=fragments,
            limit=limit,
        )
        return [Found(*hit) for hit in found]
    cases_sql, cases_params = _in_cases(case_ids)
    contains_sql, contains_params = _contains(fragments)
    matching_phrases = " AND ".join(fts.quoted(p) for p in phrases)
    if words:
        sql = (
            "SELECT kind, ref_id, case_id, title,"
            f" snippet(search_index, 4, {_SNIPPET}, {fts.SNIPPET_WORDS}) AS snippet"
            " FROM search_index WHERE search_index MATCH ?" + cases_sql
        )
        params: list[Any] = [fts.all_of([spellings(w) for w in words]), *cases_params]
        if phrases or fragments:
            # Only text in unspaced scripts is in search_trigram; narrow to it first.
            sql += (
                " AND (kind, ref_id) IN (SELECT kind, ref_id FROM search_trigram WHERE "
                + ("search_trigram MATCH ?" if phrases else "1")
                + cases_sql
                + contains_sql
                + ")"
            )
            params += [matching_phrases] if phrases else []
            params += cases_params + contains_params
    elif phrases:
        sql = (
            "SELECT kind, ref_id, case_id, title,"
            f" snippet(search_trigram, 4, {_SNIPPET}, {fts.SNIPPET_TRIGRAMS}) AS snippet"
            " FROM search_trigram WHERE search_trigram MATCH ?" + cases_sql + contains_sql
        )
        params = [matching_phrases, *cases_params, *contains_params]
    else:
        # Too short for the trigram index: a scan of its rows, bounded by LIMIT. The
        # snippet shows the body around the first fragment, marked like snippet() does.
        first = fragments[0]
        sql = (
            "SELECT kind, ref_id, case_id, title,"
            " replace(substr(body, max(1, instr(body, ?) - 12), 40), ?, '[' || ? || ']')"
            " AS snippet FROM search_trigram WHERE 1" + cases_sql + contains_sql
        )
        params = [first, first, first, *cases_params, *contains_params]
    # rowid: the order of indexing, for equal ranks (bm25 ties on equal texts).
    sql += " ORDER BY rank, rowid LIMIT ?" if words or phrases else " ORDER BY rowid LIMIT ?"
    params.append(limit)
    return [
        Found(
            str(r["kind"]), int(r["ref_id"]), int(r["case_id"]), str(r["title"]), str(r["snippet"])
        )
        for r in conn.execute(sql, params)
    ]


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
