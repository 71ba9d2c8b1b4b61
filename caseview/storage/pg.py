"""The storage layer's SQL on PostgreSQL: one connection that speaks like sqlite3's.

Caseview's storage functions are written once, with SQLite's parameter styles (``?``
and ``:name``) and its ``sqlite3.Row`` (a row read by position or by column name). On a
team's PostgreSQL server (issue 14) the same functions run through
:class:`PgConnection`, which

- rewrites the parameters into psycopg's (``%s``, ``%(name)s``), leaving quoted text,
  quoted names, comments and ``::`` casts alone, and doubling every literal ``%`` (which
  psycopg would read as a placeholder even inside quotes);
- hands back :class:`Row` objects that read like ``sqlite3.Row``;
- reports ``in_transaction`` as sqlite3 does, so ``audit.record``'s own check holds;
- turns the two server errors a person can meet in the middle of a command into
  sentences: the connection lost (the server restarted, the network dropped:
  :class:`ConnectionLost`), and the database refusing what its rules forbid (an account
  switched off, moved to another role or taken off a case since signing in:
  :class:`~caseview.errors.PermissionDenied`).

What differs between the engines beyond that (the schema, full-text search, how the
write lock is taken) is decided where it is used, by engine, in the storage layer.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import RowMaker, tuple_row
from psycopg.types.string import ByteaBinaryLoader

from caseview.errors import CaseFileError, CaseviewError, PermissionDenied

Params = Sequence[Any] | Mapping[str, Any]

# Each open server-side cursor needs a name of its own (verify reads several tables at once).
_cursor_names = itertools.count(1)

# One token at a time: quoted text, quoted names, comments, casts, then parameters.
_TOKENS = re.compile(
    r"""
      (?P<text>'(?:[^']|'')*')
    | (?P<name>"(?:[^"]|"")*")
    | (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<cast>::)
    | (?P<named>:[A-Za-z_][A-Za-z0-9_]*)
    | (?P<qmark>\?)
    | (?P<percent>%)
    """,
    re.VERBOSE | re.DOTALL,
)


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``sql`` with SQLite's parameters in psycopg's style (and ``%`` doubled).

    A statement may use ``?`` or ``:name``, not both (as with sqlite3).
    """

    def replace(match: re.Match[str]) -> str:
        kind = match.lastgroup
        if kind == "named":
            return f"%({match.group()[1:]})s"
        if kind == "qmark":
            return "%s"
        if kind == "cast":
            return "::"
        # psycopg reads every "%" as the start of a placeholder, even in quoted text.
        return match.group().replace("%", "%%")

    return _TOKENS.sub(replace, sql)


class Row(tuple[Any, ...]):
    """A result row read by position (``row[0]``) or by column name (``row["id"]``),
    like ``sqlite3.Row``."""

    __slots__ = ()
    _index: Mapping[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key])
            except KeyError:
                raise IndexError(f"No item with that key: {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@functools.lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    # One small class per shape of result, so each row carries no mapping of its own.
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    description = cursor.description
    if description is None:
        return lambda values: Row(values)
    shape = _row_class(tuple(column.name for column in description))
    return lambda values: shape(values)


_NOT_IN_TRANSACTION = (psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.UNKNOWN)


class ConnectionLost(CaseFileError):
    """The connection to the team server broke (network, server restart)."""


class PgConnection:
    """A psycopg connection used through the storage layer's sqlite3-style calls."""

    def __init__(self, conn: psycopg.Connection[Any], where: str = "") -> None:
        conn.row_factory = _rows
        self.raw = conn
        self.where = where
        """The server's address, for messages."""

    def explain(self, exc: psycopg.Error) -> CaseviewError | None:
        """A server error a person can act on, as its sentence; None for any other."""
        at = f" at {self.where}" if self.where else ""
        if self.raw.closed or self.raw.broken:
            return ConnectionLost(
                f"The connection to the Caseview server{at} was lost ({_first_line(exc)}) "
                "before this step was finished. Check your network connection, and look "
                "whether it was saved before you do it again; if it goes on, ask IT."
            )
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return PermissionDenied(
                f"The Caseview server refused this ({_first_line(exc)}), so nothing was "
                "saved. If a manager has changed your account, your role or your cases "
                "since you signed in, sign in again; otherwise ask a manager."
            )
        return None

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor[Row]:
        cursor: psycopg.Cursor[Row] = self.raw.cursor()
        try:
            # Without parameters psycopg reads the text as it is (a "%" stays single).
            cursor.execute(translate(sql) if params else sql, params or None)
        except psycopg.Error as exc:
            if (explained := self.explain(exc)) is None:
                raise
            raise explained from exc
        return cursor

    def executemany(self, sql: str, rows: Iterable[Params]) -> psycopg.Cursor[Row]:
        cursor: psycopg.Cursor[Row] = self.raw.cursor()
        try:
            cursor.executemany(translate(sql), list(rows))
        except psycopg.Error as exc:
            if (explained := self.explain(exc)) is None:
                raise
            raise explained from exc
        return cursor

    @property
    def in_transaction(self) -> bool:
        # A broken connection's state is unknown: there is nothing left to end.
        status = self.raw.info.transaction_status
        return status not in _NOT_IN_TRANSACTION

    def stream(self, sql: str, params: Params = (), *, size: int = 10_000) -> Iterator[Row]:
        """Rows of a large result through a server-side cursor, ``size`` at a time
        (``verify`` walks a million events without holding them all)."""
        try:
            with self.raw.cursor(name=f"caseview_stream_{next(_cursor_names)}") as cursor:
                cursor.itersize = size
                cursor.execute(translate(sql) if params else sql, params or None)
                yield from cursor
        except psycopg.Error as exc:
            if (explained := self.explain(exc)) is None:
                raise
            raise explained from exc

    def exact_chunks(
        self, sql: str, params: Params = (), *, size: int = 10_000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """A large result as lists of up to ``size`` plain tuples, through a server-side
        cursor, with text as the exact UTF-8 bytes stored (as sqlite3 gives it with
        ``text_factory = bytes``): for ``verify``'s chain walk, which hashes exactly what
        is stored, a chunk at a time."""
        name = f"caseview_stream_{next(_cursor_names)}"
        try:
            with self.raw.cursor(name=name, binary=True, row_factory=tuple_row) as cursor:
                # In the binary format a text value is its bytes: loaded as they come.
                cursor.adapters.register_loader("text", ByteaBinaryLoader)
                cursor.execute(translate(sql) if params else sql, params or None)
                while rows := cursor.fetchmany(size):
                    yield rows
        except psycopg.Error as exc:
            if (explained := self.explain(exc)) is None:
                raise
            raise explained from exc

    def close(self) -> None:
        self.raw.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
