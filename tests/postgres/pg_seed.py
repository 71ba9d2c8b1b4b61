"""A team on a throwaway PostgreSQL server, for the security tests: the schema installed
by its owner, four people signed in as themselves, and two cases filled through direct
SQL as the right person (with an intact audit chain), one per worker.

Everything here speaks SQL on purpose: the tests prove what the database itself refuses
to someone who connects with psql, whatever Caseview would have done.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from caseview.storage.postgres import install

Conn = psycopg.Connection[tuple[Any, ...]]

GENESIS = "0" * 64
AT = "2026-11-24T09:00:00Z"
VALID_UNTIL = "2026-12-24"
PREFIX = "cv_sec"


def connect_as(owner_url: str, user: str, password: str) -> Conn:
    params = {k: str(v) for k, v in conninfo_to_dict(owner_url).items()}
    params.update(user=user, password=password)
    return psycopg.connect(make_conninfo(**params))


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + payload.encode("utf-8")).hexdigest()


def event(
    seq: int,
    prev_hash: str,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    case_id: int | None = None,
    data: dict[str, object] | None = None,
) -> tuple[int, str, str, str]:
    """(seq, payload, prev_hash, hash) of an event as Caseview writes it."""
    payload = canonical(
        {
            "seq": seq,
            "at": AT,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "case_id": case_id,
            "data": data or {},
        }
    )
    return seq, payload, prev_hash, chain_hash(prev_hash, payload)


def head(conn: Conn) -> tuple[int, str]:
    """The chain's head, taking the append lock (held until the transaction ends)."""
    row = conn.execute("SELECT seq, hash FROM caseview_audit_head()").fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


INSERT_EVENT = "INSERT INTO audit_log (seq, payload, prev_hash, hash) VALUES (%s, %s, %s, %s)"


def append(conn: Conn, *, via_function: bool = False, **fields: Any) -> int:
    """Append one event after the head; its seq."""
    seq, prev = head(conn)
    row = event(seq + 1, prev, **fields)
    if via_function:
        conn.execute("SELECT caseview_append_audit(%s, %s, %s, %s)", row)
    else:
        conn.execute(INSERT_EVENT, row)
    return seq + 1


def insert(conn: Conn, table: str, row: dict[str, Any], returning: str | None = "id") -> Any:
    """INSERT one row; the value of ``returning`` (None: nothing returned)."""
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in row),
        sql.SQL(", ").join(sql.Placeholder() for _ in row),
    )
    if returning is None:
        conn.execute(query, list(row.values()))
        return None
    query += sql.SQL(" RETURNING {}").format(sql.Identifier(returning))
    found = conn.execute(query, list(row.values())).fetchone()
    assert found is not None
    return found[0]


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class Person:
    username: str
    role: str
    password: str
    id: int = 0
    conn: Conn | None = field(default=None, repr=False)

    @property
    def c(self) -> Conn:
        assert self.conn is not None
        return self.conn


@dataclass
class Seeded:
    """What one case holds, by table: the ids a test looks for."""

    case_id: int
    subjects: list[int] = field(default_factory=list)
    justifications: dict[str, int] = field(default_factory=dict)
    source_id: int = 0
    blobs: list[str] = field(default_factory=list)


@dataclass
class Team:
    url: str
    owner: Conn
    people: dict[str, Person]
    cases: dict[str, Seeded] = field(default_factory=dict)

    def __getitem__(self, username: str) -> Person:
        return self.people[username]

    def connect(self, username: str, password: str | None = None) -> Conn:
        login = install.role_names(PREFIX).login(username)
        return connect_as(self.url, login, password or self.people[username].password)


def build_team(owner_url: str) -> Team:
    """Install, add the people, seed case A (wren's) and case B (otto's), all committed."""
    owner = psycopg.connect(owner_url)
    install.install(owner, prefix=PREFIX)
    people = {
        name: Person(name, role, secrets.token_urlsafe(12))
        for name, role in (
            ("mona", "manager"),
            ("wren", "worker"),
            ("otto", "worker"),
            ("ada", "auditor"),
        )
    }
    team = Team(owner_url, owner, people)
    mona = people["mona"]
    # As `caseview init --admin mona` would: the owner adds the first manager.
    with owner.transaction():
        mona.id = insert(
            owner,
            "users",
            {
                "username": "mona",
                "display_name": "Mona Manager",
                "role": "manager",
                "password_hash": "!postgresql",
                "created_at": AT,
            },
        )
        append(owner, actor="mona", action="user.added", entity="user", entity_id=mona.id)
        install.create_login(owner, PREFIX, "mona", mona.password, "manager")
    mona.conn = team.connect("mona")
    with mona.c.transaction():
        append(mona.c, actor="mona", action="login", entity="user", entity_id=mona.id)
        for person in people.values():
            if person is mona:
                continue
            person.id = insert(
                mona.c,
                "users",
                {
                    "username": person.username,
                    "display_name": person.username.title(),
                    "role": person.role,
                    "password_hash": "!postgresql",
                    "created_at": AT,
                    "created_by": mona.id,
                },
            )
            append(
                mona.c,
                actor="mona",
                action="user.added",
                entity="user",
                entity_id=person.id,
                data={"username": person.username, "role": person.role},
            )
            install.create_login(mona.c, PREFIX, person.username, person.password, person.role)
    for person in people.values():
        if person.conn is None:
            person.conn = team.connect(person.username)
        with person.c.transaction():
            append(
                person.c,
                via_function=person.role == "auditor",
                actor=person.username,
                action="login",
                entity="user",
                entity_id=person.id,
            )
    team.cases["A"] = seed_case(team, "CP-A", people["wren"])
    team.cases["B"] = seed_case(team, "CP-B", people["otto"])
    return team


def seed_case(team: Team, reference: str, worker: Person) -> Seeded:
    """One case with a row in every table that holds case data, each written by the
    person Caseview would have written it as, each change with its audit event."""
    mona = team["mona"]
    m, w = mona.c, worker.c
    with m.transaction():
        case_id = insert(
            m,
            "cases",
            {
                "reference": reference,
                "title": f"Family {reference}",
                "created_by": mona.id,
                "created_at": AT,
            },
        )
        append(
            m,
            actor="mona",
            action="case.created",
            entity="case",
            entity_id=case_id,
            case_id=case_id,
        )
        insert(
            m,
            "case_members",
            {"case_id": case_id, "user_id": worker.id, "allocated_by": mona.id, "allocated_at": AT},
            returning=None,
        )
        append(
            m,
            actor="mona",
            action="case.allocated",
            entity="case",
            entity_id=case_id,
            case_id=case_id,
            data={"username": worker.username},
        )
    seeded = Seeded(case_id)
    ev = {"actor": worker.username, "case_id": case_id}

    def request(version: int, supersedes: int | None, content: str) -> int:
        jid = insert(
            w,
            "justifications",
            {
                "case_id": case_id,
                "author_id": worker.id,
                "version": version,
                "supersedes": supersedes,
                "content": content,
                "valid_until": VALID_UNTIL,
                "created_at": AT,
                "updated_at": AT,
            },
        )
        insert(
            w,
            "justification_editors",
            {"justification_id": jid, "user_id": worker.id},
            returning=None,
        )
        append(w, action="justification.created", entity="justification", entity_id=jid, **ev)
        return jid

    def submit(jid: int, digest: str) -> None:
        w.execute(
            "UPDATE justifications SET status = 'submitted', content_hash = %s,"
            " submitted_at = %s, updated_at = %s WHERE id = %s",
            [digest, AT, AT, jid],
        )
        append(w, action="justification.submitted", entity="justification", entity_id=jid, **ev)

    def decide(jid: int, decision: str, status: str, digest: str, reasons: str) -> int:
        rid = insert(
            m,
            "reviews",
            {
                "justification_id": jid,
                "author_id": worker.id,
                "reviewer_id": mona.id,
                "decision": decision,
                "reasons": reasons,
                "content_hash": digest,
                "at": AT,
            },
        )
        m.execute(
            "UPDATE justifications SET status = %s, decided_at = %s, updated_at = %s WHERE id = %s",
            [status, AT, AT, jid],
        )
        append(
            m,
            actor="mona",
            action=f"justification.{status}",
            entity="justification",
            entity_id=jid,
            case_id=case_id,
        )
        return rid

    with w.transaction():
        for name, role in (("Kerry " + reference, "parent"), ("Jay " + reference, "child")):
            sid = insert(
                w,
                "subjects",
                {
                    "case_id": case_id,
                    "name": name,
                    "role": role,
                    "created_by": worker.id,
                    "created_at": AT,
                },
            )
            seeded.subjects.append(sid)
            append(w, action="subject.added", entity="subject", entity_id=sid, **ev)
        first = request(1, None, '{"purpose":"first"}')
        submit(first, "h1" + reference)
    with m.transaction():
        returned = decide(first, "return", "returned", "h1" + reference, "Say what you expect.")
    with w.transaction():
        second = request(2, first, '{"purpose":"second"}')
        insert(
            w,
            "return_answers",
            {
                "justification_id": second,
                "review_id": returned,
                "item": 1,
                "reason": "Say what you expect.",
                "answer": "Posts about the party.",
                "answered_by": worker.id,
                "answered_at": AT,
            },
            returning=None,
        )
        submit(second, "h2" + reference)
        seeded.justifications["draft"] = request(1, None, '{"purpose":"later"}')
    with m.transaction():
        decide(second, "approve", "approved", "h2" + reference, "Necessary: the party is tonight.")
        aid = insert(
            m,
            "authorisations",
            {
                "justification_id": second,
                "subject_id": seeded.subjects[0],
                "reference": "RIPA-" + reference,
                "authorising_officer": "Chief Officer",
                "magistrate_approved_on": "2026-11-20",
                "expires_on": "2027-02-20",
                "recorded_by": mona.id,
                "recorded_at": AT,
            },
        )
        append(
            m,
            actor="mona",
            action="authorisation.recorded",
            entity="authorisation",
            entity_id=aid,
            case_id=case_id,
        )
        lid = insert(
            m,
            "person_links",
            {
                "subject_a": seeded.subjects[0],
                "subject_b": seeded.subjects[1],
                "reason": "Same phone number",
                "linked_by": mona.id,
                "linked_at": AT,
            },
        )
        append(m, actor="mona", action="person.linked", entity="person_link", entity_id=lid)
    seeded.justifications.update(returned=first, approved=second)
    with w.transaction():
        body = f"<html>page of {reference}</html>".encode()
        warc = f"WARC/1.1 {reference}".encode()
        shot = f"PNG {reference}".encode()
        for content, media in (
            (body, "text/html"),
            (warc, "application/warc"),
            (shot, "image/png"),
        ):
            insert(
                w,
                "blobs",
                {
                    "sha256": sha(content),
                    "size": len(content),
                    "media_type": media,
                    "content": content,
                    "created_at": AT,
                },
                returning=None,
            )
            seeded.blobs.append(sha(content))
        vid = insert(
            w,
            "viewings",
            {
                "case_id": case_id,
                "subject_id": seeded.subjects[0],
                "justification_id": second,
                "user_id": worker.id,
                "at": AT,
                "url": "https://social.example/kerry",
                "kind": "capture",
                "outcome": "completed",
            },
        )
        src = insert(
            w,
            "sources",
            {
                "case_id": case_id,
                "subject_id": seeded.subjects[0],
                "justification_id": second,
                "justification_hash": "h2" + reference,
                "viewing_id": vid,
                "origin": "self_collected",
                "method": "rendered",
                "requested_url": "https://social.example/kerry",
                "body_sha256": sha(body),
                "body_size": len(body),
                "title": "Kerry in Łódź",
                "text": "party tonight",
                "captured_started_at": AT,
                "captured_ended_at": AT,
                "captured_by": worker.id,
                "machine": "desk-1",
                "tool": "caseview test",
                "warc_sha256": sha(warc),
                "created_at": AT,
            },
        )
        seeded.source_id = src
        insert(
            w,
            "source_artefacts",
            {
                "source_id": src,
                "kind": "screenshot",
                "sha256": sha(shot),
                "size": len(shot),
                "media_type": "image/png",
            },
            returning=None,
        )
        append(w, action="source.recorded", entity="source", entity_id=src, **ev)
        fid = insert(
            w,
            "exposure_findings",
            {"source_id": src, "kind": "school", "value": "St Mary's"},
        )
        w.execute(
            "UPDATE exposure_findings SET confirmed = 1, reviewed_by = %s, reviewed_at = %s"
            " WHERE id = %s",
            [worker.id, AT, fid],
        )
        append(w, action="exposure.reviewed", entity="exposure_finding", entity_id=fid, **ev)
        oid = insert(
            w,
            "observations",
            {
                "source_id": src,
                "case_id": case_id,
                "text": "A party is planned.",
                "domain": "family_environment",
                "reliability": "B",
                "credibility": 2,
                "author_id": worker.id,
                "created_at": AT,
            },
        )
        w.execute("UPDATE observations SET root_id = id WHERE id = %s", [oid])
        append(w, action="observation.recorded", entity="observation", entity_id=oid, **ev)
        nid = insert(
            w,
            "notes",
            {
                "case_id": case_id,
                "version": 1,
                "author_id": worker.id,
                "analysis": "Looked once.",
                "created_at": AT,
            },
        )
        append(w, action="note.saved", entity="note", entity_id=nid, **ev)
        insert(
            w,
            "search_index",
            {
                "kind": "source",
                "ref_id": src,
                "case_id": case_id,
                "title": "Kerry in Łódź",
                "body": "party tonight",
                "folded": "Kerry in Lódź\nparty tonight",
            },
            returning=None,
        )
        browse = insert(
            w,
            "viewings",
            {
                "case_id": case_id,
                "subject_id": seeded.subjects[0],
                "justification_id": second,
                "user_id": worker.id,
                "at": AT,
                "url": "https://social.example/kerry",
                "kind": "browse",
                "outcome": "completed",
            },
        )
        insert(
            w,
            "browse_sessions",
            {
                "viewing_id": browse,
                "case_id": case_id,
                "justification_id": second,
                "subject_id": seeded.subjects[0],
                "user_id": worker.id,
                "start_url": "https://social.example/kerry",
                "started_at": AT,
                "ends_by": "2026-11-24T09:30:00Z",
            },
            returning=None,
        )
        insert(
            w,
            "browse_pages",
            {"viewing_id": browse, "at": AT, "url": "https://social.example/kerry", "how": "load"},
        )
        insert(
            w,
            "browse_requests",
            {
                "viewing_id": browse,
                "at": AT,
                "url": "https://cdn.example/a.js",
                "method": "GET",
                "resource_type": "script",
                "blocked": 1,
                "reason": "tracker",
            },
        )
        w.execute(
            "UPDATE browse_sessions SET ended_at = %s, end_reason = 'closed' WHERE viewing_id = %s",
            [AT, browse],
        )
        append(w, action="browse.ended", entity="viewing", entity_id=browse, **ev)
    return seeded


# The rows of one case, table by table, as the owner finds them: (key column, query).
CASE_ROWS: dict[str, tuple[str, str]] = {
    "cases": ("id", "SELECT id FROM cases WHERE id = %(case)s"),
    "case_members": ("case_id", "SELECT case_id FROM case_members WHERE case_id = %(case)s"),
    "subjects": ("id", "SELECT id FROM subjects WHERE case_id = %(case)s"),
    "justifications": ("id", "SELECT id FROM justifications WHERE case_id = %(case)s"),
    "justification_editors": (
        "justification_id",
        "SELECT justification_id FROM justification_editors WHERE justification_id IN"
        " (SELECT id FROM justifications WHERE case_id = %(case)s)",
    ),
    "reviews": (
        "id",
        "SELECT id FROM reviews WHERE justification_id IN"
        " (SELECT id FROM justifications WHERE case_id = %(case)s)",
    ),
    "return_answers": (
        "justification_id",
        "SELECT justification_id FROM return_answers WHERE justification_id IN"
        " (SELECT id FROM justifications WHERE case_id = %(case)s)",
    ),
    "authorisations": (
        "id",
        "SELECT id FROM authorisations WHERE justification_id IN"
        " (SELECT id FROM justifications WHERE case_id = %(case)s)",
    ),
    "viewings": ("id", "SELECT id FROM viewings WHERE case_id = %(case)s"),
    "sources": ("id", "SELECT id FROM sources WHERE case_id = %(case)s"),
    "exposure_findings": (
        "id",
        "SELECT id FROM exposure_findings WHERE source_id IN"
        " (SELECT id FROM sources WHERE case_id = %(case)s)",
    ),
    "observations": ("id", "SELECT id FROM observations WHERE case_id = %(case)s"),
    "notes": ("id", "SELECT id FROM notes WHERE case_id = %(case)s"),
    "browse_sessions": (
        "viewing_id",
        "SELECT viewing_id FROM browse_sessions WHERE case_id = %(case)s",
    ),
    "browse_pages": (
        "id",
        "SELECT id FROM browse_pages WHERE viewing_id IN"
        " (SELECT viewing_id FROM browse_sessions WHERE case_id = %(case)s)",
    ),
    "browse_requests": (
        "id",
        "SELECT id FROM browse_requests WHERE viewing_id IN"
        " (SELECT viewing_id FROM browse_sessions WHERE case_id = %(case)s)",
    ),
    "source_artefacts": (
        "source_id",
        "SELECT source_id FROM source_artefacts WHERE source_id IN"
        " (SELECT id FROM sources WHERE case_id = %(case)s)",
    ),
    "audit_log": ("seq", "SELECT seq FROM audit_log WHERE case_id = %(case)s"),
    "search_index": ("ref_id", "SELECT ref_id FROM search_index WHERE case_id = %(case)s"),
    "blobs": (
        "sha256",
        "SELECT body_sha256 FROM sources WHERE case_id = %(case)s"
        " UNION SELECT warc_sha256 FROM sources WHERE case_id = %(case)s"
        " UNION SELECT a.sha256 FROM source_artefacts a JOIN sources s ON s.id = a.source_id"
        " WHERE s.case_id = %(case)s",
    ),
    "person_links": (
        "id",
        "SELECT id FROM person_links WHERE subject_a IN"
        " (SELECT id FROM subjects WHERE case_id = %(case)s)",
    ),
}


def case_keys(team: Team, table: str, case: str) -> list[Any]:
    """The keys of the rows of ``case`` in ``table``, read by the owner."""
    _, query = CASE_ROWS[table]
    with team.owner.transaction():
        rows = team.owner.execute(query.encode(), {"case": team.cases[case].case_id}).fetchall()
    return [r[0] for r in rows]


def count_rows(conn: Conn, table: str, keys: list[Any]) -> int:
    column, _ = CASE_ROWS[table]
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} = ANY(%s)").format(
        sql.Identifier(table), sql.Identifier(column)
    )
    row = conn.execute(query, [keys]).fetchone()
    assert row is not None
    return int(row[0])


def what_is_there(owner_url: str) -> tuple[list[str], list[str]]:
    """The database's relations (outside the system schemas) and the cluster's roles."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        relations = [
            f"{r[0]}.{r[1]}"
            for r in conn.execute(
                "SELECT n.nspname, c.relname FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
                " ORDER BY 1, 2"
            )
        ]
        roles = [str(r[0]) for r in conn.execute("SELECT rolname FROM pg_roles ORDER BY 1")]
    return relations, roles
