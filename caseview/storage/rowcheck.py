"""The rows the audit log vouches for, checked against the events that made them.

The chain proves the log was not changed; this proves the tables were not changed
behind it. One pass reads the events that create or change a vouched-for row (filtered
in SQL by the payload's first key, ``"action"``, so nothing else is parsed), replays
them into the state each row should have, and compares that with the rows:

- a row whose values differ is *changed*: the break names the table, the row and the
  earliest event whose recorded value it no longer holds;
- a row no event made is *added*;
- a row an event made that is gone is *deleted*: the break names that event.

Insert-only tables (sources, reviews, observations, notes, subjects, person links; on a
case file also the looks, exposure findings and browser requests) are compared as the
events arrive, merged with the rows read in id order, so memory stays flat however long
the log; tables whose rows change (users, cases, allocations, requests and their
editors, authorisations, policies, blobs) are replayed in memory and compared at the
end. :data:`RULES` says, for every column of every vouched table, whether it is
compared or, with the reason, not vouched; :data:`UNVOUCHED_TABLES` names the tables
no event describes row by row, or that are compared by a rule of their own
(:data:`VIEWINGS`, :data:`EXPOSURE_FINDINGS`, :data:`BROWSE_REQUESTS`,
:data:`JUSTIFICATION_EDITORS`).

A table that cannot be read (dropped, or on a damaged page of a case file) is a break
too ("unreadable"), never a crash.

An event written by an older Caseview that does not name a column (a source recorded
before ``text_sha256`` was logged, say) leaves that column unchecked for that row: a
tamperer cannot remove a key from a hashed payload, so its absence is the old format.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from caseview.storage import dialect
from caseview.storage.logins import SERVER_PASSWORD_RECORD
from caseview.storage.reading import read_only_uri

# --- what each table's columns are checked against ---------------------------------


@dataclass(frozen=True)
class TableRule:
    table: str
    key: tuple[str, ...]
    """The row's identity: compared by finding the row at all."""
    compared: tuple[str, ...]
    """Columns checked against the replayed events, in this order."""
    not_vouched: Mapping[str, str] = field(default_factory=dict)
    """Columns no event records, each with the reason."""
    events: str = ""
    """Which events make and change its rows (documentation)."""


RULES: tuple[TableRule, ...] = (
    TableRule(
        "users",
        ("id",),
        (
            "username",
            "display_name",
            "role",
            "active",
            "failed_logins",
            "locked_until",
            "created_at",
            "created_by",
            "password_hash",
        ),
        events="user.added; user.deactivated/reactivated (active); user.role_changed (role); "
        "login.failed (failures and lock), login, user.unlocked, user.password_reset (count "
        "cleared); password_hash: on a case file by the sha256 of the hash that user.added, "
        "user.password_reset and user.password_changed record (an older event that does "
        "not leaves it unchecked), on a server the marker it always holds there",
    ),
    TableRule(
        "cases",
        ("id",),
        ("reference", "title", "status", "created_by", "created_at", "closed_at"),
        events="case.created; case.closed, case.reopened",
    ),
    TableRule(
        "case_members",
        ("case_id", "user_id"),
        ("allocated_by", "allocated_at"),
        events="case.allocated adds the row, case.deallocated removes it",
    ),
    TableRule(
        "subjects",
        ("id",),
        ("case_id", "name", "role", "date_of_birth", "handles", "created_by", "created_at"),
        events="subject.added",
    ),
    TableRule(
        "person_links",
        ("id",),
        ("subject_a", "subject_b", "reason", "linked_by", "linked_at"),
        events="person.linked",
    ),
    TableRule(
        "policies",
        ("id",),
        ("toml", "set_by", "set_at", "status", "confirmed_by", "confirmed_at"),
        events="policy.set, policy.proposed; policy.confirmed",
    ),
    TableRule(
        "justifications",
        ("id",),
        (
            "case_id",
            "author_id",
            "version",
            "supersedes",
            "status",
            "emergency",
            "content",
            "content_hash",
            "valid_until",
            "created_at",
            "updated_at",
            "submitted_at",
            "decided_at",
            "overdue_flagged_at",
            "authorisation_ref",
            "authorised_by",
            "authorised_at",
            "cancel_reason",
        ),
        events="justification.created, edited, submitted, approved, rejected, returned, "
        "cancelled, overdue (and authorisation_recorded, in older files)",
    ),
    TableRule(
        "reviews",
        ("id",),
        (
            "justification_id",
            "author_id",
            "reviewer_id",
            "decision",
            "reasons",
            "content_hash",
            "at",
        ),
        events="justification.approved, rejected, returned: the n-th decision is review n",
    ),
    TableRule(
        "authorisations",
        ("id",),
        (
            "justification_id",
            "subject_id",
            "reference",
            "authorising_officer",
            "magistrate_approved_on",
            "expires_on",
            "recorded_by",
            "recorded_at",
            "confirmed_by",
            "confirmed_at",
        ),
        events="authorisation.recorded; authorisation.confirmed",
    ),
    TableRule(
        "sources",
        ("id",),
        (
            "case_id",
            "subject_id",
            "justification_id",
            "justification_hash",
            "viewing_id",
            "corrects",
            "origin",
            "supplied_by",
            "method",
            "requested_url",
            "final_url",
            "host_unicode",
            "host_punycode",
            "redirect_chain",
            "http_status",
            "response_headers",
            "content_type",
            "media_type",
            "body_sha256",
            "body_size",
            "body_encoding_note",
            "raw_sha256",
            "server_ip",
            "file_name",
            "title",
            "text",
            "page_meta",
            "published_at",
            "viewed_at",
            "captured_started_at",
            "captured_ended_at",
            "captured_by",
            "machine",
            "tool",
            "attestations",
            "warc_sha256",
            "notes",
            "created_at",
        ),
        events="source.recorded (text by its text_sha256; viewing_id and corrects are "
        "never written, so must be empty)",
    ),
    TableRule(
        "observations",
        ("id",),
        (
            "root_id",
            "version",
            "supersedes",
            "source_id",
            "case_id",
            "text",
            "domain",
            "reliability",
            "credibility",
            "risks",
            "corroborates",
            "external_check",
            "check_what",
            "check_who",
            "check_when",
            "confirmed_by",
            "withdrawn",
            "author_id",
            "created_at",
        ),
        events="observation.recorded, observation.revised (each version is a new row)",
    ),
    TableRule(
        "notes",
        ("id",),
        (
            "case_id",
            "version",
            "author_id",
            "analysis",
            "balance",
            "conclusion",
            "evaluation_useful",
            "evaluation_decision",
            "evaluation_family_told",
            "evaluation_family_response",
            "created_at",
        ),
        events="note.saved (each version is a new row)",
    ),
    TableRule(
        "browse_sessions",
        ("viewing_id",),
        (
            "case_id",
            "justification_id",
            "subject_id",
            "user_id",
            "start_url",
            "started_at",
            "ends_by",
            "ended_at",
            "end_reason",
        ),
        events="viewing.browse (the session is a look; its end, browse.ended)",
    ),
    TableRule(
        "browse_pages",
        ("id",),
        (
            "viewing_id",
            "at",
            "url",
            "title",
            "http_status",
            "response_headers",
            "document_sha256",
            "how",
        ),
        events="browse.page (one per page shown)",
    ),
    TableRule(
        "source_artefacts",
        ("source_id", "kind"),
        ("sha256", "size", "media_type", "details"),
        events="source.recorded (its artefacts: a rendered capture's MHTML, DOM, screenshot)",
    ),
    TableRule(
        "blobs",
        ("sha256",),
        ("size", "media_type", "created_at"),
        {
            "content": "checked by its own sha256 (integrity.blob_hashes); its size must "
            "equal its length",
        },
        "source.recorded names each body, WARC and artefact blob; the first to name it made it",
    ),
)

VIEWINGS = TableRule(
    "viewings",
    ("id",),
    (
        "case_id",
        "subject_id",
        "justification_id",
        "user_id",
        "at",
        "url",
        "kind",
        "outcome",
        "rule",
        "message",
        "source_id",
    ),
    events="viewing.capture, import, view, supplied, browse (a completed look); "
    "viewing.refused; capture.failed",
)
"""The looks the meter counts: each row against the event that recorded it, on a case
file. Not in RULES: a refused look keeps only the ids that existed and a failed one's
event does not name its request, so those columns are compared only where recorded."""

JUSTIFICATION_EDITORS = TableRule(
    "justification_editors",
    ("justification_id", "user_id"),
    (),
    events="justification.created, justification.edited: their actors",
)
"""Who wrote a request's text (who may therefore not approve it): the actors of the
events that created and edited it, no more and no fewer. Not in RULES, as a row is
nothing but its key."""

EXPOSURE_FINDINGS = TableRule(
    "exposure_findings",
    ("id",),
    ("source_id", "kind", "value"),
    {
        "context": "the words around the finding, for the reader: not in the event",
        "confirmed": "the review: compared with its exposure.reviewed event by "
        "integrity.exposure_reviews",
        "reviewed_by": "the review (as confirmed)",
        "reviewed_at": "the review (as confirmed)",
    },
    "source.recorded lists its findings as [kind, value], numbered on in log order",
)
"""What a capture found that could expose a child (a phone number, a school): each row
against the event that listed it, on a case file. A case file numbers rows on from the
last, so the n-th finding the log lists is row n; a server's sequence may skip numbers,
so there they are not compared yet."""

BROWSE_REQUESTS = TableRule(
    "browse_requests",
    ("id",),
    ("viewing_id", "at", "url", "method", "resource_type", "status", "blocked", "reason"),
    events="browse.requests lists each as [at, method, resource_type, status, blocked, url, "
    "reason], numbered on in log order",
)
"""What the evidence browser fetched and refused, against the events that listed it, on
a case file (numbered on, as EXPOSURE_FINDINGS)."""

UNVOUCHED_TABLES: Mapping[str, str] = {
    "audit_log": "the log itself: the chain walk checks it",
    "viewings": "written with every look, refused and failed ones too, partly with ids "
    "cleaned of dangling references: on a case file each row is compared with the event "
    "that recorded it (VIEWINGS), the ids where the event records them",
    "exposure_findings": "the findings are listed in source.recorded by kind and value, "
    "not by row id: on a case file, compared in the order they were numbered "
    "(EXPOSURE_FINDINGS); each review is compared with its exposure.reviewed event by "
    "integrity.exposure_reviews",
    "justification_editors": "who edited a draft: compared with the actors of the "
    "justification.created/edited events (JUSTIFICATION_EDITORS)",
    "return_answers": "answers are in justification.return_answered (not yet compared)",
    "browse_requests": "each row is in a browse.requests event's data: on a case file, "
    "compared in the order they were numbered (BROWSE_REQUESTS)",
    "search_index": "derived from the rows for searching; rebuilt, not evidence",
    "search_trigram": "derived from the rows for searching; rebuilt, not evidence",
    "_sqlite_migrations": "schema bookkeeping",
    "person_keys": "a server's keyed hashes of subjects' handles for the meter, derived "
    "from subjects; unreadable to Caseview's roles (security.sql)",
    "look_keys": "a server's keyed hashes of completed looks' addresses for the meter, "
    "derived from viewings; unreadable to Caseview's roles (security.sql)",
}


# --- values that compare by meaning -------------------------------------------------


class _Any:
    """A column an old event did not name: any stored value is accepted."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "ANY"


class _Nothing:
    """An expected value that no stored value matches (e.g. an actor with no account)."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


ANY: Any = _Any()
NOTHING: Any = _Nothing()


class _Json:
    """A JSON column whose writer's spacing is not recorded: equal when the stored text
    parses to the recorded value, each value of the same JSON type (Python's ``==``
    would take ``true`` for ``1`` and ``1`` for ``1.0``)."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.text = _canonical(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and _parsed(other) == self.text

    __hash__ = None  # type: ignore[assignment]


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> str | None:
    """JSON text's value written canonically, remembered: the same short texts ("[]",
    the attestations) recur on every row. None for text that is not JSON."""
    try:
        return _canonical(json.loads(text))
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to read
        return None


class _Attested(_Json):
    """sources.attestations: the statements the worker made when they attested, else {}."""

    def __init__(self, attested: bool, statements: Mapping[str, object]) -> None:
        super().__init__(dict(statements) if attested else {})


class _Sha256Of:
    """A column vouched for by the sha256 of its UTF-8 text."""

    def __init__(self, digest: str) -> None:
        self.digest = digest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return False
        return hashlib.sha256(other.encode("utf-8", "surrogatepass")).hexdigest() == self.digest

    __hash__ = None  # type: ignore[assignment]


def _json(value: object) -> Any:
    return ANY if value is _ABSENT else _Json(value)


_ABSENT: Any = object()


# --- breaks -------------------------------------------------------------------------


@dataclass(frozen=True)
class RowBreak:
    """A row that disagrees with the log. ``seq`` is None for a row no event made."""

    table: str
    row: str
    kind: str  # "changed", "added", "deleted", "malformed" (an event), "unreadable"
    seq: int | None = None
    action: str = ""
    columns: tuple[str, ...] = ()
    detail: str = ""
    """For "unreadable": what SQLite said when the rows could not be read."""

    def __str__(self) -> str:
        where = f"{self.table} row {self.row}"
        if self.kind == "unreadable":
            return (
                f"the rows the log vouches for could not all be read ({self.detail}): a "
                "table was removed or changed outside Caseview, or the case file is damaged"
            )
        if self.kind == "malformed":
            return (
                f"audit event {self.seq} ({self.action}) is not one Caseview wrote: the log "
                "was rewritten from there on, so the rows were checked only up to it"
            )
        if self.kind == "added":
            return f"{where} is in no audit event: it was added behind the log's back"
        event = f"audit event {self.seq} ({self.action})"
        if self.kind == "deleted":
            return (
                f"{where} is missing: {event} recorded it, so it was deleted behind the log's back"
            )
        return (
            f"{where} does not match {event}: {', '.join(self.columns)} changed behind "
            "the log's back"
        )

    @property
    def order(self) -> tuple[float, str]:
        return (float("inf") if self.seq is None else self.seq, self.table)


def _row_name(rule: TableRule, key: tuple[Any, ...]) -> str:
    if len(key) == 1:
        return str(key[0])
    return ", ".join(f"{name} {value}" for name, value in zip(rule.key, key, strict=True))


# --- reading rows -------------------------------------------------------------------


_BAD_TEXT: Any = _Nothing()  # stands for a stored value that is not even UTF-8 text


class _Rows:
    """A table's rows in key order, read with the default (fast) text factory.

    A value that is not valid UTF-8 cannot be read that way; that row is then read
    again by key and stands as a row of values that match nothing.
    """

    def __init__(self, conn: sqlite3.Connection, rule: TableRule) -> None:
        self.conn, self.rule = conn, rule
        self.columns = ", ".join(rule.key + rule.compared)
        self.order = ", ".join(rule.key)
        self.width = len(rule.key)
        self._cursor = conn.execute(
            f"SELECT {self.columns} FROM {rule.table} ORDER BY {self.order}"
        )
        self._last: tuple[Any, ...] | None = None
        self._batch: list[Any] = []
        self._size = 1000

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self

    def __next__(self) -> tuple[Any, ...]:
        if not self._batch:
            try:
                self._batch = self._cursor.fetchmany(self._size)
            except sqlite3.OperationalError:
                # Somewhere in that batch: read on from the last good row one at a time.
                self._reopen()
                self._size = 1
                try:
                    self._batch = self._cursor.fetchmany(1)
                except sqlite3.OperationalError:
                    self._batch = [row] if (row := self._unreadable()) is not None else []
            self._batch.reverse()
        if not self._batch:
            raise StopIteration
        row = self._batch.pop()
        self._last = tuple(row[: self.width])
        return tuple(row)

    def _reopen(self) -> None:
        after, params = "", ()
        if self._last is not None:
            after = f" WHERE ({self.order}) > ({', '.join('?' for _ in self.rule.key)})"
            params = self._last
        self._cursor = self.conn.execute(
            f"SELECT {self.columns} FROM {self.rule.table}{after} ORDER BY {self.order}", params
        )

    def _unreadable(self) -> tuple[Any, ...] | None:
        conn, rule = self.conn, self.rule
        keys = ", ".join(f"CAST({k} AS BLOB)" if k == "sha256" else k for k in rule.key)
        after, params = "", ()
        if self._last is not None:
            after = f" WHERE ({', '.join(rule.key)}) > ({', '.join('?' for _ in rule.key)})"
            params = self._last
        found = conn.execute(
            f"SELECT {keys} FROM {rule.table}{after} ORDER BY {self.order} LIMIT 1", params
        ).fetchone()
        if found is None:
            return None
        key = tuple(k.decode("utf-8", "replace") if isinstance(k, bytes) else k for k in found)
        rest = f" WHERE ({', '.join(rule.key)}) > ({', '.join('?' for _ in rule.key)})"
        self._cursor = conn.execute(
            f"SELECT {self.columns} FROM {rule.table}{rest} ORDER BY {self.order}", found
        )
        return key + (_BAD_TEXT,) * len(rule.compared)


@contextlib.contextmanager
def _table_rows(conn: sqlite3.Connection, rule: TableRule) -> Iterator[Iterator[tuple[Any, ...]]]:
    """A table's rows in key order, as tuples of the key and the compared columns.

    A server's text is always valid UTF-8, so a server-side cursor reads them as they
    come; a case file's may not be, which :class:`_Rows` copes with. A case file without
    the table has no rows in it: a file of an older schema, whose events made none, or
    one whose table was dropped (each row an event made is then missing, and
    integrity.case_file_schema names the table).
    """
    if not dialect.is_server(conn):
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (rule.table,)
        ).fetchone()
        yield _Rows(conn, rule) if found is not None else iter(())
        return
    columns, order = ", ".join(rule.key + rule.compared), ", ".join(rule.key)
    query = f"SELECT {columns} FROM {rule.table} ORDER BY {order}"
    with dialect.stream(conn, query) as rows:
        yield (tuple(row) for row in rows)


def _differing(rule: TableRule, row: tuple[Any, ...], expected: tuple[Any, ...]) -> list[int]:
    width = len(rule.key)
    return [i for i, want in enumerate(expected) if row[width + i] != want]


# --- the replay ---------------------------------------------------------------------


_RULE = {rule.table: rule for rule in RULES}


class _Merged:
    """An insert-only table: each expected row is compared as its event arrives."""

    def __init__(
        self, conn: sqlite3.Connection, rule: TableRule, stack: contextlib.ExitStack
    ) -> None:
        self.rule = rule
        self.rows = stack.enter_context(_table_rows(conn, rule))
        self.row = next(self.rows, None)
        self.broken: RowBreak | None = None

    def expect(self, key: int, values: Mapping[str, Any], seq: int, action: str) -> None:
        if self.broken is not None:
            return
        rule, row = self.rule, self.row
        if row is not None and row[0] < key:
            self.broken = RowBreak(rule.table, str(row[0]), "added")
            return
        if row is None or row[0] != key:
            self.broken = RowBreak(rule.table, str(key), "deleted", seq, action)
            return
        expected = tuple([values[name] for name in rule.compared])
        if row[1:] != expected:
            columns = tuple(rule.compared[i] for i in _differing(rule, row, expected))
            if columns:
                self.broken = RowBreak(rule.table, str(key), "changed", seq, action, columns)
                return
        self.row = next(self.rows, None)

    def finish(self) -> RowBreak | None:
        if self.broken is None and self.row is not None:
            self.broken = RowBreak(self.rule.table, str(self.row[0]), "added")
        return self.broken


@dataclass
class _Expected:
    """A changing row as the log says it is: each column's value and the event that set it."""

    created: int
    action: str
    values: dict[str, Any]
    set_by: dict[str, tuple[int, str]]


class _Held:
    """A table whose rows change: replayed in memory, compared at the end."""

    def __init__(self, rule: TableRule) -> None:
        self.rule = rule
        self.rows: dict[tuple[Any, ...], _Expected] = {}

    def create(
        self, key: tuple[Any, ...], values: Mapping[str, Any], seq: int, action: str
    ) -> None:
        self.rows[key] = _Expected(
            seq, action, dict(values), {name: (seq, action) for name in self.rule.compared}
        )

    def set(self, key: tuple[Any, ...], values: Mapping[str, Any], seq: int, action: str) -> None:
        found = self.rows.get(key)
        if found is None:  # a change to a row the log never made: leave it to "added"
            return
        for name, value in values.items():
            found.values[name] = value
            found.set_by[name] = (seq, action)

    def get(self, key: tuple[Any, ...], name: str) -> Any:
        found = self.rows.get(key)
        return NOTHING if found is None else found.values[name]

    def compare(self, conn: sqlite3.Connection) -> RowBreak | None:
        rule, first = self.rule, None
        width = len(rule.key)
        pending = dict(self.rows)
        with _table_rows(conn, rule) as rows:
            for row in rows:
                key = tuple(row[:width])
                want = pending.pop(key, None)
                found: RowBreak | None
                if want is None:
                    found = RowBreak(rule.table, _row_name(rule, key), "added")
                else:
                    expected = tuple([want.values[name] for name in rule.compared])
                    if row[width:] == expected:
                        continue
                    names = [rule.compared[i] for i in _differing(rule, row, expected)]
                    if not names:
                        continue
                    seq, action = min(want.set_by[name] for name in names)
                    columns = tuple(n for n in names if want.set_by[n][0] == seq)
                    found = RowBreak(
                        rule.table, _row_name(rule, key), "changed", seq, action, columns
                    )
                if first is None or found.order < first.order:
                    first = found
        for key, want in pending.items():
            found = RowBreak(rule.table, _row_name(rule, key), "deleted", want.created, want.action)
            if first is None or found.order < first.order:
                first = found
        return first


Handler = Callable[["_Replay", int, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def _on(*actions: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for action in actions:
            HANDLERS[action] = handler
        return handler

    return register


class _Replay:
    def __init__(
        self,
        conn: sqlite3.Connection,
        attestations: Mapping[str, object],
        stack: contextlib.ExitStack,
    ) -> None:
        self.attestations = attestations
        self.on_server = dialect.is_server(conn)
        self.user_ids: dict[str, int] = {}
        self.held = {
            name: _Held(_RULE[name])
            for name in (
                "users",
                "cases",
                "case_members",
                "policies",
                "justifications",
                "authorisations",
                "blobs",
                "source_artefacts",
                "browse_sessions",
            )
        }
        self.merged = {
            name: _Merged(conn, _RULE[name], stack)
            for name in (
                "subjects",
                "person_links",
                "reviews",
                "sources",
                "observations",
                "notes",
                "browse_pages",
            )
        }
        self.held["justification_editors"] = _Held(JUSTIFICATION_EDITORS)
        if not dialect.is_server(conn):
            # The meter's history (see VIEWINGS); a server's refused looks are numbered
            # by a function of its own, so there they are not compared yet.
            self.merged["viewings"] = _Merged(conn, VIEWINGS, stack)
            self.merged["exposure_findings"] = _Merged(conn, EXPOSURE_FINDINGS, stack)
            self.merged["browse_requests"] = _Merged(conn, BROWSE_REQUESTS, stack)
        self.findings = 0
        self.requests = 0
        self.reviews = 0
        self.roots: dict[int, int] = {}

    def user(self, name: object) -> Any:
        return self.user_ids.get(str(name), NOTHING)


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


# users ---------------------------------------------------------------------------


@_on("user.added")
def _user_added(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d, uid = _data(e), e["entity_id"]
    name = d.get("username")
    r.user_ids[str(name)] = uid
    r.held["users"].create(
        (uid,),
        {
            "username": name,
            "display_name": d.get("display_name"),
            "role": d.get("role"),
            "active": 1,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": e["at"],
            # The first manager (and the demo's cast) add themselves: no creator.
            "created_by": None if e["actor"] == name else r.user(e["actor"]),
            "password_hash": _password_record(r, d),
        },
        seq,
        e["action"],
    )


def _password_record(r: _Replay, d: dict[str, Any]) -> Any:
    """What users.password_hash must hold after an event that set it (see RULES)."""
    if r.on_server:
        return SERVER_PASSWORD_RECORD
    digest = d.get("password_record_sha256")
    return _Sha256Of(digest) if isinstance(digest, str) else ANY


@_on("user.password_changed")
def _password_changed(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    values = {"password_hash": _password_record(r, _data(e))}
    r.held["users"].set((e["entity_id"],), values, seq, e["action"])


@_on("user.deactivated", "user.reactivated")
def _user_active(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    active = int(bool(_data(e).get("active")))
    r.held["users"].set((e["entity_id"],), {"active": active}, seq, e["action"])


@_on("user.role_changed")
def _user_role(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    r.held["users"].set((e["entity_id"],), {"role": _data(e).get("role")}, seq, e["action"])


@_on("login", "user.unlocked", "user.password_reset")
def _user_cleared(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    values = {"failed_logins": 0, "locked_until": None}
    if e["action"] == "user.password_reset":
        values["password_hash"] = _password_record(r, _data(e))
    r.held["users"].set((e["entity_id"],), values, seq, e["action"])


@_on("login.failed")
def _login_failed(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    if d.get("reason") == "wrong password" and e.get("entity_id") is not None:
        r.held["users"].set(
            (e["entity_id"],),
            {"failed_logins": d.get("failures"), "locked_until": d.get("locked_until")},
            seq,
            e["action"],
        )


# cases, allocations, subjects, person links, policies ---------------------------------


@_on("case.created")
def _case_created(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    r.held["cases"].create(
        (e["entity_id"],),
        {
            "reference": d.get("reference"),
            "title": d.get("title"),
            "status": "open",
            "created_by": r.user(e["actor"]),
            "created_at": e["at"],
            "closed_at": None,
        },
        seq,
        e["action"],
    )


@_on("case.closed", "case.reopened")
def _case_status(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    closed = e["action"] == "case.closed"
    r.held["cases"].set(
        (e["entity_id"],),
        {"status": "closed" if closed else "open", "closed_at": e["at"] if closed else None},
        seq,
        e["action"],
    )


@_on("case.allocated")
def _allocated(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    key = (e["entity_id"], r.user(_data(e).get("user")))
    values = {"allocated_by": r.user(e["actor"]), "allocated_at": e["at"]}
    r.held["case_members"].create(key, values, seq, e["action"])


@_on("case.deallocated")
def _deallocated(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    r.held["case_members"].rows.pop((e["entity_id"], r.user(_data(e).get("user"))), None)


@_on("subject.added")
def _subject(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    values = {
        "case_id": e["case_id"],
        "name": d.get("name", ANY),
        "role": d.get("role", ANY),
        "date_of_birth": d.get("date_of_birth", ANY),
        "handles": _json(d.get("handles", _ABSENT)),
        "created_by": r.user(e["actor"]),
        "created_at": e["at"],
    }
    r.merged["subjects"].expect(e["entity_id"], values, seq, e["action"])


@_on("person.linked")
def _person_link(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    values = {
        "subject_a": d.get("subject_a", ANY),
        "subject_b": d.get("subject_b", ANY),
        "reason": d.get("reason", ANY),
        "linked_by": r.user(e["actor"]),
        "linked_at": e["at"],
    }
    r.merged["person_links"].expect(e["entity_id"], values, seq, e["action"])


@_on("policy.set", "policy.proposed")
def _policy_set(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    toml = d["toml"] if "toml" in d else (_Sha256Of(d["sha256"]) if "sha256" in d else ANY)
    values = {
        "toml": toml,
        "set_by": r.user(e["actor"]),
        "set_at": e["at"],
        "status": d.get("status", "in_force"),
        "confirmed_by": None,
        "confirmed_at": None,
    }
    r.held["policies"].create((e["entity_id"],), values, seq, e["action"])


@_on("policy.confirmed")
def _policy_confirmed(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    values = {"status": "in_force", "confirmed_by": r.user(e["actor"]), "confirmed_at": e["at"]}
    r.held["policies"].set((e["entity_id"],), values, seq, e["action"])


# requests and their decisions ----------------------------------------------------------


def _request_values(d: dict[str, Any]) -> dict[str, Any]:
    request = d.get("request")
    if not isinstance(request, dict):
        return {"content": ANY, "emergency": ANY, "valid_until": ANY}
    return {
        "content": json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        "emergency": int(bool(request.get("emergency"))),
        "valid_until": request.get("valid_until", ANY),
    }


@_on("justification.created")
def _request_created(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    values = {
        "case_id": e["case_id"],
        "author_id": r.user(e["actor"]),
        "version": d.get("version", ANY),
        "supersedes": d.get("supersedes", ANY),
        "status": "draft",
        **_request_values(d),
        "content_hash": None,
        "created_at": e["at"],
        "updated_at": e["at"],
        "submitted_at": None,
        "decided_at": None,
        "overdue_flagged_at": None,
        "authorisation_ref": None,
        "authorised_by": None,
        "authorised_at": None,
        "cancel_reason": None,
    }
    r.held["justifications"].create((e["entity_id"],), values, seq, e["action"])
    _editor(r, seq, e)


@_on("justification.edited")
def _request_edited(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    values = {**_request_values(_data(e)), "updated_at": e["at"]}
    r.held["justifications"].set((e["entity_id"],), values, seq, e["action"])
    _editor(r, seq, e)


def _editor(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    editors = r.held["justification_editors"]
    key = (e["entity_id"], r.user(e["actor"]))
    if key not in editors.rows:  # named by the first event that made them one
        editors.create(key, {}, seq, e["action"])


@_on("justification.submitted")
def _request_submitted(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    values = {
        "status": "submitted",
        "content_hash": _data(e).get("content_hash", ANY),
        "submitted_at": e["at"],
        "updated_at": e["at"],
    }
    r.held["justifications"].set((e["entity_id"],), values, seq, e["action"])


_DECIDED = {"approved": "approve", "rejected": "reject", "returned": "return"}


@_on("justification.approved", "justification.rejected", "justification.returned")
def _request_decided(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d, key = _data(e), (e["entity_id"],)
    status = e["action"].split(".", 1)[1]
    requests = r.held["justifications"]
    r.reviews += 1  # reviews are only ever written with a decision, in this order
    review = {
        "justification_id": e["entity_id"],
        "author_id": requests.get(key, "author_id"),
        "reviewer_id": r.user(e["actor"]),
        "decision": _DECIDED[status],
        "reasons": d.get("reasons", ANY),
        "content_hash": d.get("content_hash", ANY),
        "at": e["at"],
    }
    r.merged["reviews"].expect(r.reviews, review, seq, e["action"])
    values = {"status": status, "decided_at": e["at"], "updated_at": e["at"]}
    requests.set(key, values, seq, e["action"])


@_on("justification.cancelled")
def _request_cancelled(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    values = {
        "status": "cancelled",
        "cancel_reason": _data(e).get("reason", ANY),
        "updated_at": e["at"],
    }
    r.held["justifications"].set((e["entity_id"],), values, seq, e["action"])


@_on("justification.overdue")
def _request_overdue(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    r.held["justifications"].set(
        (e["entity_id"],), {"overdue_flagged_at": e["at"]}, seq, e["action"]
    )


@_on("justification.authorisation_recorded")
def _request_authorised(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    # Older files: free-text authorisation on the request itself (updated_at unknown).
    values = {
        "authorisation_ref": _data(e).get("authorisation_ref", ANY),
        "authorised_by": r.user(e["actor"]),
        "authorised_at": e["at"],
        "updated_at": ANY,
    }
    r.held["justifications"].set((e["entity_id"],), values, seq, e["action"])


@_on("authorisation.recorded")
def _authorisation(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    values = {
        "justification_id": d.get("justification_id", ANY),
        "subject_id": d.get("subject_id", ANY),
        "reference": d.get("reference", ANY),
        "authorising_officer": d.get("authorising_officer", ANY),
        "magistrate_approved_on": d.get("magistrate_approved_on", ANY),
        "expires_on": d.get("expires_on", ANY),
        "recorded_by": r.user(d["recorded_by"]) if "recorded_by" in d else ANY,
        "recorded_at": d.get("recorded_at", ANY),
        "confirmed_by": None,
        "confirmed_at": None,
    }
    r.held["authorisations"].create((e["entity_id"],), values, seq, e["action"])


@_on("authorisation.confirmed")
def _authorisation_confirmed(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    values = {"confirmed_by": r.user(e["actor"]), "confirmed_at": e["at"]}
    r.held["authorisations"].set((e["entity_id"],), values, seq, e["action"])


# evidence and analysis -----------------------------------------------------------------

# source.recorded's data keys that are the row's own columns, as stored.
_SOURCE_COPIED = tuple(
    name
    for name in _RULE["sources"].compared
    if name
    not in {
        "case_id",
        "viewing_id",
        "corrects",
        "text",
        "captured_by",
        "attestations",
        "created_at",
    }
)


@_on("source.recorded")
def _source(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d, at = _data(e), e["at"]
    values = {name: d.get(name, ANY) for name in _SOURCE_COPIED}
    digest = d.get("text_sha256", _ABSENT)
    values.update(
        case_id=e["case_id"],
        viewing_id=None,  # the viewing names the source; this column is never written
        corrects=None,  # never written by this version
        text=ANY if digest is _ABSENT else (None if digest is None else _Sha256Of(digest)),
        captured_by=r.user(e["actor"]),
        attestations=_Attested(d["attested"], r.attestations) if "attested" in d else ANY,
        created_at=at,
    )
    r.merged["sources"].expect(e["entity_id"], values, seq, e["action"])
    blobs = r.held["blobs"]
    body, warc = d.get("body_sha256"), d.get("warc_sha256")
    if isinstance(body, str) and (body,) not in blobs.rows:
        size = d.get("body_size", ANY)
        blobs.create(
            (body,),
            {"size": size, "media_type": d.get("media_type", ANY), "created_at": at},
            seq,
            e["action"],
        )
    for artefact in d.get("artefacts", ()):
        if not isinstance(artefact, dict):
            continue
        sha, kind = artefact.get("sha256"), artefact.get("kind")
        r.held["source_artefacts"].create(
            (e["entity_id"], kind),
            {
                "sha256": sha,
                "size": artefact.get("size", ANY),
                "media_type": artefact.get("media_type", ANY),
                "details": _json(artefact.get("details", _ABSENT)),
            },
            seq,
            e["action"],
        )
        if isinstance(sha, str) and (sha,) not in blobs.rows:
            blobs.create(
                (sha,),
                {
                    "size": artefact.get("size", ANY),
                    "media_type": artefact.get("media_type", ANY),
                    "created_at": at,
                },
                seq,
                e["action"],
            )
    if isinstance(warc, str) and (warc,) not in blobs.rows:
        blobs.create(
            (warc,),
            {"size": ANY, "media_type": "application/warc", "created_at": at},
            seq,
            e["action"],
        )
    _findings(r, seq, e, d.get("exposure", _ABSENT))


def _findings(r: _Replay, seq: int, e: dict[str, Any], listed: Any) -> None:
    """The exposure findings a source.recorded lists, numbered on (EXPOSURE_FINDINGS)."""
    findings = r.merged.get("exposure_findings")
    if findings is None:
        return
    if not isinstance(listed, list):
        # An event that does not list them: the numbering is unknown from here on.
        del r.merged["exposure_findings"]
        return
    for kind, value in listed:  # anything but pairs is not Caseview's: a malformed event
        r.findings += 1
        values = {"source_id": e["entity_id"], "kind": kind, "value": value}
        findings.expect(r.findings, values, seq, e["action"])


@_on("observation.recorded", "observation.revised")
def _observation(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d, oid = _data(e), e["entity_id"]
    before = d.get("supersedes")
    root = r.roots.get(before, NOTHING) if isinstance(before, int) else oid
    r.roots[oid] = root
    values = {
        name: d.get(name, ANY)
        for name in (
            "version",
            "supersedes",
            "source_id",
            "text",
            "domain",
            "reliability",
            "credibility",
            "external_check",
            "check_what",
            "check_who",
            "check_when",
            "confirmed_by",
        )
    }
    values.update(
        root_id=root,
        case_id=e["case_id"],
        risks=_json(d.get("risks", _ABSENT)),
        corroborates=_json(d.get("corroborates", _ABSENT)),
        withdrawn=0,
        author_id=r.user(e["actor"]),
        created_at=e["at"],
    )
    r.merged["observations"].expect(oid, values, seq, e["action"])


_NOTE_FIELDS = _RULE["notes"].compared[3:-1]


@_on("viewing.browse")
def _browse_session(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    _look(r, seq, e)
    d = _data(e)
    session = d.get("session")
    if not isinstance(session, dict):
        return
    r.held["browse_sessions"].create(
        (e["entity_id"],),
        {
            "case_id": e["case_id"],
            "justification_id": d.get("justification_id", ANY),
            "subject_id": d.get("subject_id", ANY),
            "user_id": r.user(e["actor"]),
            "start_url": d.get("url", ANY),
            "started_at": e["at"],
            "ends_by": session.get("ends_by", ANY),
            "ended_at": None,
            "end_reason": None,
        },
        seq,
        e["action"],
    )


@_on("browse.ended")
def _browse_ended(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    values = {"ended_at": d.get("ended_at", ANY), "end_reason": d.get("reason", ANY)}
    r.held["browse_sessions"].set((e["entity_id"],), values, seq, e["action"])


_LOOKS = ("capture", "import", "view", "supplied", "browse")


@_on(*(f"viewing.{kind}" for kind in _LOOKS if kind != "browse"))  # browse: _browse_session
def _look(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    looks = r.merged.get("viewings")
    if looks is None:
        return
    d = _data(e)
    values = {
        "case_id": e["case_id"],
        "subject_id": d.get("subject_id", ANY),
        "justification_id": d.get("justification_id", ANY),
        "user_id": r.user(e["actor"]),
        "at": d.get("viewed_at", e["at"]),  # an imported look is timed when it was made
        "url": d.get("url", ANY),
        "kind": e["action"].split(".", 1)[1],
        "outcome": "completed",
        "rule": None,
        "message": None,
        "source_id": d.get("source_id", ANY),
    }
    looks.expect(e["entity_id"], values, seq, e["action"])


@_on("viewing.refused", "capture.failed")
def _look_not_made(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    looks = r.merged.get("viewings")
    if looks is None:
        return
    d = _data(e)
    refused = e["action"] == "viewing.refused"
    values = {
        "case_id": e["case_id"],
        # A refusal keeps only the ids that existed; a failure's event names neither.
        "subject_id": ANY,
        "justification_id": ANY,
        "user_id": r.user(e["actor"]),
        "at": e["at"] if refused else ANY,  # a failure's row is timed a moment apart
        "url": d.get("url", ANY),
        "kind": d.get("kind", ANY) if refused else "capture",
        "outcome": "refused" if refused else "failed",
        "rule": d.get("rule", ANY) if refused else d.get("kind", ANY),
        "message": d.get("message", ANY),
        "source_id": None,
    }
    looks.expect(e["entity_id"], values, seq, e["action"])


@_on("browse.requests")
def _browse_requests(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    requests = r.merged.get("browse_requests")
    if requests is None:
        return
    listed = _data(e).get("requests", _ABSENT)
    if not isinstance(listed, list):
        # An event that does not list them: the numbering is unknown from here on.
        del r.merged["browse_requests"]
        return
    for at, method, resource_type, status, blocked, url, reason in listed:
        r.requests += 1
        values = {
            "viewing_id": e["entity_id"],
            "at": at,
            "url": url,
            "method": method,
            "resource_type": resource_type,
            "status": status,
            "blocked": blocked,
            "reason": reason,
        }
        requests.expect(r.requests, values, seq, e["action"])


@_on("browse.page")
def _browse_page(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    values = {
        "viewing_id": e["entity_id"],
        "at": d.get("at", ANY),
        "url": d.get("url", ANY),
        "title": d.get("title", ANY),
        "http_status": d.get("http_status", ANY),
        "response_headers": _json(d.get("response_headers", _ABSENT)),
        "document_sha256": d.get("document_sha256", ANY),
        "how": d.get("how", ANY),
    }
    r.merged["browse_pages"].expect(d.get("page_id", 0), values, seq, e["action"])


@_on("note.saved")
def _note(r: _Replay, seq: int, e: dict[str, Any]) -> None:
    d = _data(e)
    values = {name: d.get(name, ANY) for name in _NOTE_FIELDS}
    values.update(
        case_id=e["case_id"],
        version=d.get("version", ANY),
        author_id=r.user(e["actor"]),
        created_at=e["at"],
    )
    r.merged["notes"].expect(e["entity_id"], values, seq, e["action"])


# --- the pass -------------------------------------------------------------------------


def _action_filter(conn: sqlite3.Connection) -> tuple[str, list[Any]]:
    """SQL selecting the events a handler reads, by the payload's leading action.

    Canonical JSON sorts keys, so every payload begins ``{"action":"NAME",``: its
    stored text up to the first comma picks the events out without parsing any JSON.
    """
    heads = ['{"action":' + json.dumps(action) for action in sorted(HANDLERS)]
    where, params = dialect.begins_with_one_of(conn, "payload", heads, ",")
    # And any event that does not begin so, which Caseview never writes: a key put
    # before "action" must not hide an event from the check.
    return f"({where}) OR substr(payload, 1, ?) <> ?", [*params, len(_LEAD), _LEAD]


_LEAD = '{"action":"'


def _named(payload: str | bytes) -> str:
    """The action an unreadable event names first, as far as it can be read."""
    text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
    if text.startswith(_LEAD):
        return text.removeprefix(_LEAD).split('"', 1)[0][:60]
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        return "?"
    return str(event["action"])[:60] if isinstance(event, dict) and "action" in event else "?"


def check_rows(
    store: str | os.PathLike[str] | sqlite3.Connection, attestations: Mapping[str, object]
) -> RowBreak | None:
    """The first row that disagrees with the log (by event seq; added rows last), or None.

    ``store`` is a case file's path, read here on its own read-only connection, or an
    open connection: a server's, inside the caller's snapshot (the store's ``read()``),
    so that the events and the rows are those of one moment. ``attestations`` is what
    an attested source stores (``captures.ATTESTATIONS``; passed in, as storage does not
    import the services).
    """
    if not isinstance(store, str | os.PathLike):
        return _check_rows(store, attestations)
    conn = sqlite3.connect(read_only_uri(store), uri=True)
    try:
        return _check_rows(conn, attestations)
    except sqlite3.DatabaseError as exc:
        # A vouched table dropped or redefined, or a damaged page: a break to report, not
        # a crash. (Everything Caseview writes is readable: only another tool does this.)
        return RowBreak("", "", "unreadable", detail=str(exc))
    finally:
        conn.close()


def _check_rows(conn: sqlite3.Connection, attestations: Mapping[str, object]) -> RowBreak | None:
    if "audit_log" not in dialect.table_names(conn):
        return None
    where, params = _action_filter(conn)
    loads, dumps, handlers = json.loads, json.dumps, HANDLERS
    query = f"SELECT seq, payload FROM audit_log WHERE {where} ORDER BY seq"
    # Every table read alongside the events is closed before the caller's snapshot ends.
    with contextlib.ExitStack() as stack:
        replay = _Replay(conn, attestations, stack)
        with dialect.stream(conn, query, params) as events:
            for seq, payload in events:
                try:
                    event = loads(payload)
                    action = event["action"]
                    # As Caseview writes it: its action first, once (the filter read the
                    # first; JSON keeps the last).
                    if not payload.startswith(f'{{"action":{dumps(action)},'):
                        raise ValueError("not in Caseview's form")
                    handlers[action](replay, seq, event)
                except (ValueError, LookupError, TypeError, AttributeError, RecursionError):
                    # Not JSON (or nested too deeply to read), or without what Caseview
                    # records for its action: only a log rehashed from this event on
                    # passes the chain with it. Nothing after it can be replayed, nor the
                    # tables compared at the end; the breaks found before it, as their
                    # events arrived, still count.
                    malformed = RowBreak("audit_log", str(seq), "malformed", seq, _named(payload))
                    earlier = [m.broken for m in replay.merged.values() if m.broken]
                    return min([*earlier, malformed], key=lambda b: b.order)
        found = [m.finish() for m in replay.merged.values()]
    found += [h.compare(conn) for h in replay.held.values()]
    breaks = [b for b in found if b is not None]
    return min(breaks, key=lambda b: b.order) if breaks else None
