"""What the worker concludes from a source, graded so it is not over-read.

Each observation carries the Admiralty grading (source reliability A-F, information
credibility 1-6, with the nearest UK 3x5x2 reading shown beside it), the risks of
misreading it, and its corroboration. It is *relied upon* only when its credibility
is 1 or 2 or it is corroborated (by an observation on a different source, or an
external check described in words); everything else is material not relied upon.
Observations are versioned, never overwritten, and every change is an audit event.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from caseview import audit, cases
from caseview.clock import from_iso, to_iso
from caseview.domain import Role
from caseview.errors import NotFound, PermissionDenied, ValidationError
from caseview.permissions import case_for_changing, case_for_reading, require_role
from caseview.report.model import DOMAINS, RISKS
from caseview.session import Session
from caseview.storage import analysis as sql
from caseview.storage import sources as sources_sql

RELIABILITY = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY = {
    1: "confirmed by other sources",
    2: "probably true",
    3: "possibly true",
    4: "doubtful",
    5: "improbable",
    6: "truth cannot be judged",
}
# The nearest UK 3x5x2 reading. The two scales do not map exactly; this is shown as a
# reading aid beside the Admiralty grade, never instead of it.
UK_SOURCE = {"A": "1", "B": "1", "C": "2", "D": "3", "E": "3", "F": "2"}
UK_INTELLIGENCE = {1: "B", 2: "C", 3: "C", 4: "D", 5: "E", 6: "D"}
# The longest observation text accepted, in characters.
MAX_TEXT = 20_000


@dataclass(frozen=True)
class Observation:
    id: int
    root_id: int
    version: int
    source_id: int
    case_id: int
    text: str
    domain: str
    reliability: str
    credibility: int
    risks: tuple[str, ...]
    corroborates: tuple[int, ...]
    external_check: str | None
    author: str
    created_at: datetime

    @property
    def grading(self) -> str:
        return f"{self.reliability}{self.credibility}"

    @property
    def uk_equivalent(self) -> str:
        return f"{UK_SOURCE[self.reliability]}/{UK_INTELLIGENCE[self.credibility]}"

    @property
    def corroborated(self) -> bool:
        return bool(self.corroborates) or bool((self.external_check or "").strip())

    @property
    def relied_upon(self) -> bool:
        return self.credibility <= 2 or self.corroborated


def _from_row(row: sqlite3.Row) -> Observation:
    return Observation(
        id=int(row["id"]),
        root_id=int(row["root_id"] or row["id"]),
        version=int(row["version"]),
        source_id=int(row["source_id"]),
        case_id=int(row["case_id"]),
        text=str(row["text"]),
        domain=str(row["domain"]),
        reliability=str(row["reliability"]),
        credibility=int(row["credibility"]),
        risks=tuple(json.loads(row["risks"])),
        corroborates=tuple(int(i) for i in json.loads(row["corroborates"])),
        external_check=row["external_check"],
        author=str(row["author_name"]),
        created_at=from_iso(row["created_at"]),
    )


def _validate(
    conn: sqlite3.Connection,
    case_id: int,
    source_id: int,
    text: str,
    domain: str,
    reliability: str,
    credibility: int,
    risks: Sequence[str],
    corroborates: Sequence[int],
    own_root: int | None,
) -> tuple[str, str, str, tuple[str, ...], tuple[int, ...]]:
    clean = text.strip()
    if not clean:
        raise ValidationError("The observation is empty. Write what you conclude from the source.")
    if len(clean) > MAX_TEXT:
        raise ValidationError(
            f"The observation is {len(clean):,} characters long; the most is {MAX_TEXT:,}. "
            "Record what you conclude, not the source's text (that is kept with the source)."
        )
    if domain not in DOMAINS:
        raise ValidationError(
            f"'{domain}' is not an assessment domain. Use one of {', '.join(DOMAINS)}."
        )
    grade = reliability.strip().upper()
    if grade not in RELIABILITY:
        raise ValidationError(
            f"'{reliability}' is not a source reliability grade. Use A to F (F: cannot be judged)."
        )
    if credibility not in CREDIBILITY:
        raise ValidationError(
            f"'{credibility}' is not an information credibility grade. Use "
            "1 to 6 (6: cannot be judged)."
        )
    clean_risks = []
    seen: set[str] = set()
    for risk in risks:
        value = risk.strip()
        if not value:
            continue
        # Known risks are stored by key; anything else is kept as the worker's words.
        # Each risk is stored once, however it was spelled ("old_post", "Old post").
        key = "_".join(value.casefold().replace("-", " ").replace("_", " ").split())
        if key in seen:
            continue
        seen.add(key)
        clean_risks.append(key if key in RISKS else value)
    links = []
    for other_id in corroborates:
        other = sql.observation(conn, other_id)
        if other is None or int(other["case_id"]) != case_id:
            raise ValidationError(
                f"Observation {other_id} is not in this case, so it cannot corroborate this one."
            )
        if int(other["source_id"]) == source_id:
            raise ValidationError(
                f"Observation {other_id} is about the same source; "
                "corroboration needs an independent source."
            )
        if own_root is not None and int(other["root_id"] or other["id"]) == own_root:
            raise ValidationError("An observation cannot corroborate itself.")
        links.append(int(other["root_id"] or other["id"]))
    return clean, domain, grade, tuple(clean_risks), tuple(sorted(set(links)))


def add(
    session: Session,
    source_id: int,
    text: str,
    *,
    domain: str,
    reliability: str,
    credibility: int,
    risks: Sequence[str] = (),
    corroborates: Sequence[int] = (),
    external_check: str | None = None,
) -> Observation:
    """Record what the worker concludes from a source."""
    conn = session.casefile.conn
    source_row = sources_sql.source(conn, source_id)
    if source_row is None:
        raise NotFound(f"There is no source {source_id}.")
    case_id = int(source_row["case_id"])
    case_for_changing(session, case_id, doing="record observations")
    clean, dom, grade, clean_risks, links = _validate(
        conn, case_id, source_id, text, domain, reliability, credibility, risks, corroborates, None
    )
    return _write(
        session,
        case_id,
        source_id,
        None,
        1,
        clean,
        dom,
        grade,
        credibility,
        clean_risks,
        links,
        external_check,
        "observation.recorded",
    )


def revise(
    session: Session,
    observation_id: int,
    *,
    text: str | None = None,
    domain: str | None = None,
    reliability: str | None = None,
    credibility: int | None = None,
    risks: Sequence[str] | None = None,
    corroborates: Sequence[int] | None = None,
    external_check: str | None = None,
) -> Observation:
    """A new version of an observation; the old one stays, superseded."""
    conn = session.casefile.conn
    row = sql.observation(conn, observation_id)
    if row is None:
        raise NotFound(f"There is no observation {observation_id}.")
    old = _from_row(row)
    case_for_changing(session, old.case_id, doing="change observations")
    if not sql.is_current(conn, observation_id):
        raise PermissionDenied(
            f"Observation {observation_id} has a newer version; change that one.", rule="superseded"
        )
    clean, dom, grade, clean_risks, links = _validate(
        conn,
        old.case_id,
        old.source_id,
        text if text is not None else old.text,
        domain or old.domain,
        reliability or old.reliability,
        credibility if credibility is not None else old.credibility,
        risks if risks is not None else old.risks,
        corroborates if corroborates is not None else old.corroborates,
        old.root_id,
    )
    return _write(
        session,
        old.case_id,
        old.source_id,
        old,
        old.version + 1,
        clean,
        dom,
        grade,
        credibility if credibility is not None else old.credibility,
        clean_risks,
        links,
        external_check if external_check is not None else old.external_check,
        "observation.revised",
    )


def _write(
    session: Session,
    case_id: int,
    source_id: int,
    old: Observation | None,
    version: int,
    text: str,
    domain: str,
    reliability: str,
    credibility: int,
    risks: tuple[str, ...],
    links: tuple[int, ...],
    external_check: str | None,
    action: str,
) -> Observation:
    now = session.now()
    check = (external_check or "").strip() or None
    with session.casefile.write() as conn:
        case_for_changing(session, case_id, doing="record observations")
        if old is not None and not sql.is_current(conn, old.id):
            raise PermissionDenied(
                "Someone changed this observation meanwhile; look at it again.", rule="superseded"
            )
        new_id = sql.insert_observation(
            conn,
            {
                "root_id": old.root_id if old else None,
                "version": version,
                "supersedes": old.id if old else None,
                "source_id": source_id,
                "case_id": case_id,
                "text": text,
                "domain": domain,
                "reliability": reliability,
                "credibility": credibility,
                "risks": json.dumps(list(risks)),
                "corroborates": json.dumps(list(links)),
                "external_check": check,
                "author_id": session.user.id,
                "created_at": to_iso(now),
            },
        )
        if old is not None:
            sql.unindex(conn, "observation", old.id)
        sql.index(
            conn,
            "observation",
            new_id,
            case_id,
            f"Observation on source {source_id}",
            text + ("\n" + check if check else ""),
        )
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action=action,
            entity="observation",
            entity_id=new_id,
            case_id=case_id,
            data={
                "source_id": source_id,
                "supersedes": old.id if old else None,
                "version": version,
                "text": text,
                "domain": domain,
                "reliability": reliability,
                "credibility": credibility,
                "risks": list(risks),
                "corroborates": list(links),
                "external_check": check,
            },
        )
        row = sql.observation(conn, new_id)
        assert row is not None
        return _from_row(row)


def list_for_case(session: Session, case_id: int) -> list[Observation]:
    case_for_reading(session, case_id)
    return [_from_row(r) for r in sql.current_observations(session.casefile.conn, case_id)]


def list_for_source(session: Session, source_id: int) -> list[Observation]:
    row = sources_sql.source(session.casefile.conn, source_id)
    if row is None:
        raise NotFound(f"There is no source {source_id}.")
    case_for_reading(session, int(row["case_id"]))
    return [_from_row(r) for r in sql.current_of_source(session.casefile.conn, source_id)]


def history(session: Session, observation_id: int) -> list[Observation]:
    row = sql.observation(session.casefile.conn, observation_id)
    if row is None:
        raise NotFound(f"There is no observation {observation_id}.")
    case_for_reading(session, int(row["case_id"]))
    return [
        _from_row(r) for r in sql.history(session.casefile.conn, int(row["root_id"] or row["id"]))
    ]


@dataclass(frozen=True)
class SearchHit:
    kind: str
    ref_id: int
    case_id: int
    title: str
    snippet: str


def _printable(word: str) -> str:
    """The word without control characters (NUL would end the FTS5 string early) or lone
    surrogates (which cannot be encoded to reach SQLite)."""
    return "".join(ch for ch in word if unicodedata.category(ch) not in ("Cc", "Cs"))


def _fts5_string(word: str) -> str:
    # A quoted FTS5 string, so no query can use FTS5's own syntax.
    return '"' + word.replace('"', '""') + '"'


def _match_word(word: str) -> str:
    """One query word as an FTS5 expression that finds it in the folded column.

    The expression is not limited to that column, so snippet() still marks the hits in
    the body as written; any hit in the title or body is also a hit in ``folded``, so the
    rows found are the same. A word that folding changes (Łódź) is also tried as typed,
    so the body's own spelling is marked.
    """
    folded = sql.fold(word)
    if folded == word:
        return _fts5_string(word)
    return f"({_fts5_string(word)} OR {_fts5_string(folded)})"


def search(
    session: Session, query: str, *, case_id: int | None = None, limit: int = 50
) -> list[SearchHit]:
    """Full-text search over source text and observations, within what the user may see."""
    if case_id is not None:
        case_for_reading(session, case_id)
        case_ids: list[int] | None = [case_id]
    elif session.role is Role.WORKER:
        case_ids = [c.id for c in cases.list_cases(session)]
    else:
        require_role(session, Role.MANAGER, Role.AUDITOR, doing="search every case")
        case_ids = None
    words = [w for w in (_printable(raw) for raw in query.split()) if w.strip('"')]
    if not words:
        return []
    match = " ".join(_match_word(w) for w in words)
    rows = sql.search(session.casefile.conn, case_ids, match, max(1, min(limit, 500)))
    return [
        SearchHit(
            str(r["kind"]), int(r["ref_id"]), int(r["case_id"]), str(r["title"]), str(r["snippet"])
        )
        for r in rows
    ]
