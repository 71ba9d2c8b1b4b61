"""People across the case file, and the facts the gate needs about them.

A person is known across every case: subjects who share a handle or profile address,
or whom a manager links, are one person (``ethics.people``). This module gathers what
the gate's pure decisions need from the case file (the people, the looks made at them,
open emergencies, authorisations in force) and records a manager's links. It decides
nothing itself.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ethics
from caseview import audit
from caseview.clock import from_iso, to_iso
from caseview.domain import Role
from caseview.errors import NotFound, ValidationError
from caseview.permissions import case_for_reading, require_role
from caseview.session import Session
from caseview.storage import dialect
from caseview.storage import gate as gate_sql
from caseview.storage import people as sql


@dataclass(frozen=True)
class SamePerson:
    """A subject and every other subject in the case file that is the same person."""

    subject_id: int
    person: int
    subject_ids: tuple[int, ...]


NOT_NAMED = "a colleague"
"""Who made a look or an emergency in a case the reader may not see (a server names
only those of cases they may read)."""


@dataclass(frozen=True)
class _KeyedPeople(ethics.People):
    """People as a team server knows them: every key a keyed hash (``_server_basis``), so
    the owners of a page are found by hashing its address's prefixes there."""

    conn: Any = field(default=None, compare=False, repr=False)

    def owners(self, url: str) -> frozenset[int]:
        key = ethics.page_key(url)
        if key is None:
            return frozenset()
        return self.owners_by_prefixes(_key_hashes(self.conn, ethics.page_prefixes(key)))


def _server_basis(conn: sqlite3.Connection, since: str | None) -> dict[str, Any]:
    """What the meter needs from every case, as the server's ``caseview_meter_basis``
    gives it: no handle, address or name, and a looker only where the reader may see."""
    row = conn.execute(dialect.METER_BASIS, (since,)).fetchone()
    value = row[0] if row is not None else None
    found = json.loads(value) if isinstance(value, str) else value
    return found if isinstance(found, dict) else {}


def _key_hashes(conn: sqlite3.Connection, keys: Sequence[str]) -> list[str]:
    """The server's keyed hashes of ``keys`` (hex), as ``caseview_meter_basis`` gives them."""
    if not keys:
        return []
    hashes = conn.execute(dialect.METER_KEY_HASHES, (list(keys),)).fetchone()[0]
    return [bytes(h).hex() for h in hashes or ()]


def _server_people(conn: sqlite3.Connection) -> ethics.People:
    basis = _server_basis(conn, None)
    subjects = [
        # An @name's hash keeps its "@", as its key does: the rules tell them apart so.
        ethics.KnownSubject(
            int(subject_id),
            int(case_id),
            keys=tuple(str(h) if page else "@" + str(h) for h, page in keys),
        )
        for subject_id, case_id, keys in basis.get("subjects", [])
    ]
    links = [(int(a), int(b)) for a, b in basis.get("links", [])]
    grouped = ethics.group_people(subjects, links)
    return _KeyedPeople(grouped.person_of, grouped.members, grouped.pages, conn=conn)


def known_people(conn: sqlite3.Connection) -> ethics.People:
    """Every subject in the case file, grouped into persons."""
    if dialect.meter_reads_server_basis(conn):
        return _server_people(conn)
    subjects = [
        ethics.KnownSubject(int(r["id"]), int(r["case_id"]), tuple(sql.handles_of(r)))
        for r in sql.all_subjects(conn)
    ]
    return ethics.group_people(subjects, sql.person_links(conn))


def look_history(
    conn: sqlite3.Connection, people: ethics.People, now: datetime, rules: ethics.Policy
) -> tuple[ethics.Viewing, ...]:
    """Completed looks the meter must weigh, each counted for every person it concerns."""
    reach = max(rules.meter_window_days, 31 * (rules.pattern_window_months + 1))
    since = to_iso(now - timedelta(days=reach))
    if dialect.meter_reads_server_basis(conn):
        return tuple(
            ethics.Viewing(
                int(subject_id) if subject_id is not None else 0,
                from_iso(at),
                str(username) if username is not None else NOT_NAMED,
                # people.counted_for, with the address's prefixes hashed by the server.
                frozenset({people.person(int(subject_id))} if subject_id is not None else ())
                | people.owners_by_prefixes(str(p) for p in prefixes),
            )
            for subject_id, at, username, prefixes in _server_basis(conn, since).get("looks", [])
        )
    return tuple(
        ethics.Viewing(
            int(r["subject_id"]) if r["subject_id"] is not None else 0,
            from_iso(r["at"]),
            str(r["username"]),
            people.counted_for(r["subject_id"], str(r["url"])),
        )
        for r in gate_sql.completed_looks(conn, since)
    )


def open_emergencies(
    conn: sqlite3.Connection, people: ethics.People
) -> tuple[ethics.OpenEmergency, ...]:
    """Every emergency request waiting for a manager's review, with its persons."""
    if dialect.meter_reads_server_basis(conn):
        return tuple(
            ethics.OpenEmergency(
                int(request_id),
                str(author) if author is not None else NOT_NAMED,
                frozenset(people.person(s) for s in subjects if isinstance(s, int)),
                from_iso(submitted_at),
            )
            for request_id, author, subjects, submitted_at in _server_basis(conn, None).get(
                "emergencies", []
            )
        )
    found = []
    for row in gate_sql.open_emergencies(conn):
        subjects = json.loads(row["content"]).get("subjects", [])
        found.append(
            ethics.OpenEmergency(
                int(row["id"]),
                str(row["author_name"]),
                frozenset(people.person(int(s)) for s in subjects if isinstance(s, int)),
                from_iso(row["submitted_at"]),
            )
        )
    return tuple(found)


def authorised_subjects(
    conn: sqlite3.Connection, justification_id: int | None, now: datetime
) -> frozenset[int]:
    """Subjects a confirmed surveillance authorisation in force covers, for a request."""
    if justification_id is None:
        return frozenset()
    from caseview import authorisations  # it reads requests, which read this module

    return frozenset(a.subject_id for a in authorisations.in_force(conn, justification_id, now))


def covering(
    conn: sqlite3.Connection, justification_id: int, person_ids: frozenset[int], now: datetime
) -> list[tuple[int, str]]:
    """(id, reference) of each authorisation in force for a request that covers any of
    these persons: what a look past the stop line relied on."""
    from caseview import authorisations  # it reads requests, which read this module

    people = known_people(conn)
    return [
        (a.id, a.reference)
        for a in authorisations.in_force(conn, justification_id, now)
        if people.person(a.subject_id) in person_ids
    ]


def same_person(session: Session, subject_id: int) -> SamePerson:
    """Who else in the case file is the person this subject is (cases you can see)."""
    conn = session.casefile.conn
    row = sql.subject_by_id(conn, subject_id)
    if row is None:
        raise NotFound(f"There is no subject {subject_id}.")
    case_for_reading(session, int(row["case_id"]))
    people = known_people(conn)
    person = people.person(subject_id)
    return SamePerson(subject_id, person, tuple(sorted(people.subjects_of(person))))


def link(session: Session, subject_a: int, subject_b: int, reason: str) -> SamePerson:
    """A manager records that two subjects are the same person (in one case or two).

    From then on the repeat-viewing meter counts looks at either as looks at one person.
    """
    require_role(session, Role.MANAGER, doing="link two subjects as the same person")
    conn = session.casefile.conn
    for subject_id in (subject_a, subject_b):
        if sql.subject_by_id(conn, subject_id) is None:
            raise NotFound(f"There is no subject {subject_id}. Run 'caseview subject list CASE'.")
    if subject_a == subject_b:
        raise ValidationError("Name two different subjects to link.")
    clean = reason.strip()
    if not clean:
        raise ValidationError(
            "Say why these subjects are the same person (e.g. the same date "
            "of birth and address in both case files)."
        )
    low, high = sorted((subject_a, subject_b))
    now = session.now()
    with session.casefile.write() as wconn:
        if sql.person_link(wconn, low, high) is None:
            link_id = sql.insert_person_link(
                wconn,
                {
                    "subject_a": low,
                    "subject_b": high,
                    "reason": clean,
                    "linked_by": session.user.id,
                    "linked_at": to_iso(now),
                },
            )
            audit.record(
                wconn,
                at=now,
                actor=session.actor,
                action="person.linked",
                entity="person_link",
                entity_id=link_id,
                data={"subject_a": low, "subject_b": high, "reason": clean},
            )
    return same_person(session, subject_a)
