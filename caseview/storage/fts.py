"""Full-text search as SQLite's FTS5 does it, on a case file and on a team's server.

A case file searches with FTS5 (:mod:`caseview.storage.analysis`): words split and
folded by its unicode61 tokenizer, Chinese, Japanese or Thai found by its trigram
tokenizer, hits ranked by bm25 and shown through ``snippet()``. PostgreSQL has none of
these, and its own parsers split and fold words differently (a host name is one word,
"Michał" stays "michał"), so on a server Caseview does FTS5's work itself, and gets
FTS5's answers:

- **Writing** (:func:`server_index`): an item's words as unicode61 makes them, in order
  (``words``: each as `` word ``, one line per column: title, body, folded), how many
  (``word_count``), and their set as a tsvector (``document``, GIN-indexed: which items
  may hold a word). Text in an unspaced script also keeps title and body with each
  letter folded as the trigram tokenizer folds it (``trigram_text``) and its number of
  trigrams (``trigram_count``): only such items are in a case file's search_trigram.
- **Finding** (:func:`server_search`): the GIN index, or pg_trgm's where that extension
  exists, narrows; the words decide, as in FTS5 (a phrase is its words side by side in
  one column; a run of Chinese is a substring of the folded text).
- **Ranking**: bm25 with FTS5's constants and its arithmetic, term by term, so equal
  inputs give equal doubles. The statistics (items, their words, how many hold each
  phrase) come from the rows the reader may see: a manager's or auditor's ranks are a
  case file's; a worker's are those of a case file holding only the cases allocated to
  them. Statistics over every case would tell a worker how often a word appears in
  cases not theirs.
- **Snippets**: made by SQLite itself, from an in-memory FTS5 table of the hits alone
  (a snippet depends on its own row only).

What unicode61 and trigram make of each character is asked of SQLite, once per
character a process meets, so the server's words agree with this SQLite to the letter.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WORD_TOKENIZER = "unicode61 remove_diacritics 2"
OPEN, CLOSE, ELLIPSIS = "[", "]", " … "
SNIPPET_WORDS = 12
"""Words a snippet of the word index shows (``snippet()``'s last argument)."""
SNIPPET_TRIGRAMS = 24
"""Trigrams a snippet of the trigram index shows."""
K1, B = 1.2, 0.75
"""bm25's constants in FTS5 (fts5_aux.c)."""
MAX_TOKEN_BYTES = 32768
"""FTS5_MAX_TOKEN_SIZE: FTS5 cuts longer words, in the index and in queries alike."""
MAX_LEXEME_BYTES = 255
"""Longer words are kept in the tsvector as a hash (PostgreSQL allows 2 KiB)."""
MAX_DOCUMENT_BYTES = 1_000_000
"""A tsvector holds less than 1 MiB of lexemes; an item with more words than that keeps
a hash bucket per word instead (the words column still decides)."""

Alternatives = Sequence[str]
"""One word of a query: the spellings any of which may match (as typed, folded)."""


# ---- FTS5 query syntax ----------------------------------------------------------------


def quoted(text: str) -> str:
    """``text`` as an FTS5 string: one phrase, whatever it holds (never FTS5 syntax)."""
    return '"' + text.replace('"', '""') + '"'


def all_of(words: Sequence[Alternatives]) -> str:
    """An FTS5 query for items holding every word (any of its spellings)."""
    # Explicit AND: FTS5 refuses a bracketed OR followed by an implicit AND.
    return " AND ".join(
        quoted(spellings[0])
        if len(spellings) == 1
        else "(" + " OR ".join(quoted(s) for s in spellings) + ")"
        for spellings in words
    )


# ---- what SQLite makes of each character --------------------------------------------

_lock = threading.Lock()
_WORD_CHARS: dict[int, str] = {}
"""unicode61's reading of a character: its folded self (a letter or digit), `` `` (it
separates words), or ``\\x01 FOLDED \\x02`` (a mark that continues a word but cannot
begin one)."""
_TRIGRAM_CHARS: dict[int, str] = {}
"""The trigram tokenizer's folding of a character (lower case, accents kept)."""
_LEADING_MARKS = re.compile("(?<![^ ])(?:\x01[^\x02]*\x02)+")


def _learn(text: str) -> None:
    new = [c for c in set(text) if ord(c) not in _WORD_CHARS]
    if new:
        _ask_sqlite(new)


def _ask_sqlite(chars: list[str]) -> None:
    """Tokenize each character alone and between two letters, and trigram-fold it."""
    with _lock:
        chars = [c for c in chars if ord(c) not in _WORD_CHARS]
        # NUL ends a trigram tokenizer's text; a lone surrogate cannot be stored at all.
        asked = [c for c in chars if c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF]
        alone: dict[int, str] = {}
        inside: dict[int, list[tuple[int, str]]] = {}
        folded: dict[int, str] = {}
        db = sqlite3.connect(":memory:")
        try:
            db.execute(
                f"CREATE VIRTUAL TABLE w USING fts5(alone, inside, tokenize = '{WORD_TOKENIZER}')"
            )
            db.execute("CREATE VIRTUAL TABLE w_tokens USING fts5vocab(w, 'instance')")
            db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'trigram')")
            db.execute("CREATE VIRTUAL TABLE t_tokens USING fts5vocab(t, 'instance')")
            db.executemany(
                "INSERT INTO w (rowid, alone, inside) VALUES (?, ?, ?)",
                [(n, c, f"x{c}y") for n, c in enumerate(asked, 1)],
            )
            db.executemany(
                "INSERT INTO t (rowid, x) VALUES (?, ?)",
                [(n, c + "ab") for n, c in enumerate(asked, 1)],
            )
            for term, doc, column, offset in db.execute(
                "SELECT term, doc, col, offset FROM w_tokens"
            ):
                if column == "alone":
                    alone[doc] = term
                else:
                    inside.setdefault(doc, []).append((offset, term))
            for term, doc in db.execute("SELECT term, doc FROM t_tokens"):
                folded[doc] = term[:-2]
        finally:
            db.close()
        for n, char in enumerate(asked, 1):
            within = [term for _, term in sorted(inside.get(n, []))]
            if n in alone:
                reading = alone[n]
            elif len(within) == 1:
                reading = "\x01" + within[0][1:-1] + "\x02"
            else:
                reading = " "
            _TRIGRAM_CHARS[ord(char)] = folded.get(n, char)
            _WORD_CHARS[ord(char)] = reading
        for char in set(chars) - set(asked):
            _TRIGRAM_CHARS[ord(char)] = char
            _WORD_CHARS[ord(char)] = " "


def words_of(text: str) -> list[str]:
    """The words unicode61 (remove_diacritics 2) finds in ``text``, folded, in order."""
    _learn(text)
    spelled = _LEADING_MARKS.sub(" ", text.translate(_WORD_CHARS))
    spelled = spelled.replace("\x01", "").replace("\x02", "")
    return [_cut(word) for word in spelled.split(" ") if word]


def _cut(word: str) -> str:
    if len(word) * 4 <= MAX_TOKEN_BYTES:
        return word
    encoded = word.encode()
    if len(encoded) <= MAX_TOKEN_BYTES:
        return word
    # FTS5 compares the first bytes, even when they end inside a character.
    return encoded[:MAX_TOKEN_BYTES].decode("utf-8", "backslashreplace")


def trigram_folded(text: str) -> str:
    """``text`` with each character folded as the trigram tokenizer folds it."""
    _learn(text)
    return text.translate(_TRIGRAM_CHARS)


def trigram_count(text: str) -> int:
    """How many trigrams the trigram tokenizer reads in one column."""
    return max(0, len(text.partition("\x00")[0]) - 2)


# ---- on a server: writing ---------------------------------------------------------------


def _stream(words: Sequence[str]) -> str:
    # Each word between its own spaces: a word's occurrences never overlap, and a phrase
    # is found only where its words are side by side.
    return "".join(f" {word} " for word in words)


def _lexeme(word: str) -> str:
    if len(word.encode()) <= MAX_LEXEME_BYTES:
        return word
    return "#" + hashlib.blake2b(word.encode(), digest_size=16).hexdigest()


def _bucket(word: str) -> str:
    # '#' and '%' separate words in unicode61, so no word is spelled like these.
    return "%" + hashlib.blake2b(word.encode(), digest_size=2).hexdigest()


def _lexemes(words: set[str]) -> list[str]:
    lexemes = {_lexeme(word) for word in words}
    if sum(len(lexeme.encode()) for lexeme in lexemes) > MAX_DOCUMENT_BYTES:
        lexemes = {_bucket(word) for word in words}
    return sorted(lexemes)


def server_index(
    conn: Any,
    kind: str,
    ref_id: int,
    case_id: int,
    columns: tuple[str, str, str],
    unspaced: bool,
) -> None:
    """Add one item to a server's search_index; ``columns`` are title, body, folded."""
    title, body, _ = columns
    words = [words_of(column) for column in columns]
    trigram_text = trigrams = None
    if unspaced:
        trigram_text = trigram_folded(title) + "\n" + trigram_folded(body)
        trigrams = trigram_count(title) + trigram_count(body)
    conn.execute(
        "INSERT INTO search_index (kind, ref_id, case_id, title, body, folded, words,"
        " word_count, document, trigram_text, trigram_count)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, array_to_tsvector(CAST(? AS text[])), ?, ?)",
        (
            kind,
            ref_id,
            case_id,
            *columns,
            "\n".join(_stream(column) for column in words),
            sum(len(column) for column in words),
            _lexemes({word for column in words for word in column}),
            trigram_text,
            trigrams,
        ),
    )


# ---- on a server: finding and ranking ----------------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    """One FTS5 phrase, as the server looks for it in a column of search_index."""

    needle: str
    """The text that holds it: words between spaces, or folded characters."""
    parts: tuple[str, ...]
    """Its words (or characters), to tell whether two occurrences can overlap."""

    @property
    def overlaps(self) -> bool:
        parts = self.parts
        return any(parts[:k] == parts[-k:] for k in range(1, len(parts)))

    def count(self, column: str) -> tuple[str, list[Any]]:
        """SQL counting its occurrences in ``column``, overlapping ones too (as FTS5)."""
        if self.overlaps:
            ahead = "(?=" + re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", self.needle) + ")"
            return f"(SELECT count(*) FROM regexp_matches({column}, ?, 'g'))", [ahead]
        return (
            f"((octet_length({column}) - octet_length(replace({column}, ?, ''))) / ?)",
            [self.needle, len(self.needle.encode())],
        )


def _word_phrase(text: str) -> _Phrase | None:
    words = words_of(text)
    return _Phrase(_stream(words), tuple(words)) if words else None


def _tsquery(phrase: _Phrase) -> str:
    def lexeme(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    return " & ".join(
        f"({lexeme(_lexeme(word))} | {lexeme(_bucket(word))})" for word in sorted(set(phrase.parts))
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _idf(rows: int, hits: int) -> float:
    idf = math.log((rows - hits + 0.5) / (hits + 0.5))
    return idf if idf > 0.0 else 1e-6


def _bm25(phrases: int, idfs: Sequence[float], avgdl: float) -> tuple[str, list[Any]]:
    """FTS5's bm25 of a row with columns ``f0``… (phrase counts) and ``size`` (its tokens),
    negated like FTS5's rank: best first in ascending order."""
    terms, params = [], []
    for n in range(phrases):
        terms.append(f"? * ((f{n} * ?) / (f{n} + ? * (? + ? * size / ?)))")
        params += [idfs[n], K1 + 1.0, K1, 1 - B, B, avgdl]
    return "-(" + " + ".join(terms) + ")", params


def _in_cases(case_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    if case_ids is None:
        return "", []
    return f" AND case_id IN ({', '.join('?' for _ in case_ids) or 'NULL'})", list(case_ids)


Found = tuple[str, int, int, str, str]
"""kind, ref_id, case_id, title, snippet."""


def server_search(
    conn: Any,
    case_ids: Sequence[int] | None,
    *,
    words: Sequence[Alternatives],
    phrases: Sequence[str],
    fragments: Sequence[str],
    limit: int,
) -> list[Found]:
    """What ``analysis.search`` finds on a case file, found on a server (see the module)."""
    cases_sql, cases_params = _in_cases(case_ids)
    where = cases_sql + "".join(
        " AND (strpos(title, ?) > 0 OR strpos(body, ?) > 0)" for _ in fragments
    )
    params: list[Any] = [*cases_params, *(p for f in fragments for p in (f, f))]
    grams = [_Phrase(trigram_folded(p), tuple(trigram_folded(p))) for p in phrases]
    if phrases or fragments:
        where += " AND trigram_count IS NOT NULL" + "".join(
            " AND trigram_text LIKE ? ESCAPE '\\'" for _ in grams
        )
        params += [_like(g.needle) for g in grams]
    if words:
        return _ranked_words(conn, words, where, params, limit)
    if phrases:
        return _ranked_trigrams(conn, phrases, grams, where, params, limit)
    # Too short for trigrams: the first in the index, marked as the case file marks them.
    first = fragments[0]
    rows = conn.execute(
        "SELECT kind, ref_id, case_id, title, replace(substr(body,"
        " greatest(1, strpos(body, CAST(? AS text)) - 12), 40), CAST(? AS text),"
        " '[' || CAST(? AS text) || ']') AS snippet FROM search_index WHERE true"
        + where
        + " ORDER BY seq LIMIT ?",
        [first, first, first, *params, limit],
    )
    return [(str(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows]


def _ranked_words(
    conn: Any, words: Sequence[Alternatives], where: str, params: list[Any], limit: int
) -> list[Found]:
    found = [[p for p in map(_word_phrase, spellings) if p] for spellings in words]
    if not all(found):
        return []  # a word with no letters FTS5 indexes matches nothing
    # The phrases as FTS5 numbers them (a phrase that is no word adds 0 to a rank).
    numbered = [p for spellings in found for p in spellings]
    checks = "".join(
        " AND (" + " OR ".join("strpos(words, ?) > 0" for _ in spellings) + ")"
        for spellings in found
    )
    query = " & ".join("(" + " | ".join(map(_tsquery, spellings)) + ")" for spellings in found)
    totals = conn.execute(
        "SELECT count(*), coalesce(sum(word_count), 0) FROM search_index"
    ).fetchone()
    hits = conn.execute(
        "SELECT "
        + ", ".join(
            "(SELECT count(*) FROM search_index WHERE document @@ CAST(? AS tsquery)"
            " AND strpos(words, ?) > 0)"
            for _ in numbered
        ),
        [x for p in numbered for x in (_tsquery(p), p.needle)],
    ).fetchone()
    rows = _ranked(
        conn,
        numbered,
        ("words", "word_count"),
        (int(totals[0]), int(totals[1])),
        [int(h) for h in hits],
        (
            " AND document @@ CAST(? AS tsquery)" + checks + where,
            [query, *(p.needle for p in numbered), *params],
        ),
        limit,
    )
    snippets = _snippets(
        rows,
        "kind UNINDEXED, ref_id UNINDEXED, case_id UNINDEXED, title, body, folded,"
        f" tokenize = '{WORD_TOKENIZER}'",
        all_of(words),
        SNIPPET_WORDS,
    )
    return [(r[0], r[1], r[2], r[3], s) for r, s in zip(rows, snippets, strict=True)]


def _ranked_trigrams(
    conn: Any,
    phrases: Sequence[str],
    grams: Sequence[_Phrase],
    where: str,
    params: list[Any],
    limit: int,
) -> list[Found]:
    totals = conn.execute(
        "SELECT count(*), coalesce(sum(trigram_count), 0) FROM search_index"
        " WHERE trigram_count IS NOT NULL"
    ).fetchone()
    hits = conn.execute(
        "SELECT "
        + ", ".join(
            "(SELECT count(*) FROM search_index WHERE trigram_text LIKE ? ESCAPE '\\')"
            for _ in grams
        ),
        [_like(g.needle) for g in grams],
    ).fetchone()
    rows = _ranked(
        conn,
        grams,
        ("trigram_text", "trigram_count"),
        (int(totals[0]), int(totals[1])),
        [int(h) for h in hits],
        (where, params),
        limit,
    )
    snippets = _snippets(
        rows,
        "kind UNINDEXED, ref_id UNINDEXED, case_id UNINDEXED, title, body, tokenize = 'trigram'",
        " AND ".join(quoted(p) for p in phrases),
        SNIPPET_TRIGRAMS,
    )
    return [(r[0], r[1], r[2], r[3], s) for r, s in zip(rows, snippets, strict=True)]


_Row = tuple[str, int, int, str, str, str]
"""kind, ref_id, case_id, title, body, folded."""


def _ranked(
    conn: Any,
    phrases: Sequence[_Phrase],
    columns: tuple[str, str],
    totals: tuple[int, int],
    hits: Sequence[int],
    where: tuple[str, list[Any]],
    limit: int,
) -> list[_Row]:
    """The best ``limit`` rows matching ``where``, by bm25 over ``columns`` (the text
    searched, its number of tokens); equal ranks in the order the rows were indexed, as
    ``ORDER BY rank, rowid`` on a case file."""
    rows, tokens = totals
    if rows == 0 or tokens == 0:
        return []  # nothing the reader may see holds a word
    text, size = columns
    counts, count_params = [], []
    for n, phrase in enumerate(phrases):
        sql, values = phrase.count(text)
        counts.append(f"CAST({sql} AS float8) AS f{n}")
        count_params += values
    rank, rank_params = _bm25(len(phrases), [_idf(rows, h) for h in hits], tokens / rows)
    condition, params = where
    found = conn.execute(
        f"SELECT kind, ref_id, case_id, title, body, folded FROM (SELECT *, {rank} AS rank"
        " FROM (SELECT kind, ref_id, case_id, title, body, folded, seq,"
        f" CAST({size} AS float8) AS size, {', '.join(counts)} FROM search_index"
        f" WHERE true{condition}) AS found) AS ranked ORDER BY rank, seq LIMIT ?",
        [*rank_params, *count_params, *params, limit],
    )
    return [
        (str(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4] or ""), str(r[5] or ""))
        for r in found
    ]


def _snippets(rows: Sequence[_Row], columns: str, match: str, size: int) -> list[str]:
    """FTS5's snippet of each row's body, from an in-memory table of these rows alone."""
    if not rows:
        return []
    db = sqlite3.connect(":memory:")
    try:
        db.execute(f"CREATE VIRTUAL TABLE found USING fts5({columns})")
        with_folded = "folded" in columns
        db.executemany(
            "INSERT INTO found (rowid, title, body"
            + (", folded) VALUES (?, ?, ?, ?)" if with_folded else ") VALUES (?, ?, ?)"),
            [(n, r[3], r[4], r[5]) if with_folded else (n, r[3], r[4]) for n, r in enumerate(rows)],
        )
        made = dict(
            db.execute(
                f"SELECT rowid, snippet(found, 4, '{OPEN}', '{CLOSE}', '{ELLIPSIS}', {size})"
                " FROM found WHERE found MATCH ?",
                [match],
            )
        )
    finally:
        db.close()
    # Every row matches here as it did on the server, unless this machine's SQLite reads
    # a character otherwise than the one that indexed it: then the hit shows no snippet.
    return [str(made.get(n, "")) for n in range(len(rows))]
