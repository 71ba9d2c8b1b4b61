"""What the worker concludes from a source, graded so it is not over-read.

Each observation carries the Admiralty grading (source reliability A-F, information
credibility 1-6, with the nearest UK 3x5x2 reading shown beside it), the risks of
misreading it, and its corroboration. Whether the note relies on it is decided by
``ethics.assess_reliance`` (the rules are there, and the policy sets how credible a
corroborating observation must be): only corroboration by an independent source, or an
external check recorded with what, who and when, earns it; its own grading never does.
The answer depends on the other observations and sources of the case, so the service
works it out each time it reads observations (:func:`reliance_context`, :func:`assess`);
it is never stored. Observations are versioned, never overwritten, and every change is
an audit event.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

import ethics
from caseview import audit, cases
from caseview import policy as policies
from caseview.clock import from_iso, to_iso
from caseview.domain import Role
from caseview.errors import PermissionDenied, ValidationError
from caseview.permissions import case_for_changing, case_for_reading, not_found, require_role
from caseview.report.model import DOMAINS, RISKS
from caseview.session import Session
from caseview.storage import analysis as sql
from caseview.storage import sources as sources_sql
from ethics.timeutil import uk_day

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
# The longest external check part or "confirmed by" accepted, in characters.
MAX_CHECK = 2_000


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
    """An external check in free text, from files written before checks recorded who
    and when; kept and shown, it never earns reliance. New versions carry it on."""
    author: str
    created_at: datetime
    check_what: str | None = None
    check_who: str | None = None
    check_when: date | None = None
    confirmed_by: str | None = None
    """For credibility 1 (confirmed): what confirmed it."""
    relied_upon: bool = False
    """Worked out by the service from the case's other observations and sources."""
    reliance_reasons: tuple[str, ...] = ()
    """Why it is relied upon, or why not, in plain words."""
    supported_by: tuple[str, ...] = ()
    """What earns reliance, in words; empty when not relied upon."""
    reliance_advice: str = ""
    """When not relied upon: what would earn it."""

    @property
    def grading(self) -> str:
        return f"{self.reliability}{self.credibility}"

    @property
    def uk_equivalent(self) -> str:
        return f"{UK_SOURCE[self.reliability]}/{UK_INTELLIGENCE[self.credibility]}"

    @property
    def check(self) -> ethics.ExternalCheck | None:
        """The external check as recorded (a legacy free-text one has no who or when)."""
        if self.check_what or self.check_who or self.check_when:
            return ethics.ExternalCheck(
                self.check_what or "", self.check_who or "", self.check_when
            )
        if self.external_check:
            return ethics.ExternalCheck(self.external_check)
        return None


@dataclass(frozen=True)
class RelianceContext:
    """What judging reliance needs for one case, read once: the policy in force, each
    source's facts by id, and each current observation's facts by root id."""

    policy: ethics.Policy
    sources: Mapping[int, ethics.SourceFacts]
    observations: Mapping[int, ethics.CorroboratorFacts]


def _source_facts(rows: Sequence[sqlite3.Row]) -> dict[int, ethics.SourceFacts]:
    # A correction is the same item as what it corrects: group each chain of corrections.
    group: dict[int, int] = {}

    def root(source_id: int) -> int:
        while group.get(source_id, source_id) != source_id:
            source_id = group[source_id]
        return source_id

    for r in rows:
        group.setdefault(int(r["id"]), int(r["id"]))
        if r["corrects"] is not None:
            group[root(int(r["id"]))] = root(int(r["corrects"]))
    members: dict[int, list[int]] = {}
    for r in rows:
        members.setdefault(root(int(r["id"])), []).append(int(r["id"]))
    facts = {}
    for r in rows:
        source_id = int(r["id"])
        facts[source_id] = ethics.SourceFacts(
            source_id=source_id,
            body_sha256=str(r["body_sha256"]),
            urls=tuple(str(u) for u in (r["requested_url"], r["final_url"]) if u),
            same_item=tuple(i for i in members[root(source_id)] if i != source_id),
        )
    return facts


def _context(conn: sqlite3.Connection, policy: ethics.Policy, case_id: int) -> RelianceContext:
    sources = _source_facts(sql.source_facts(conn, case_id))
    found = {}
    for r in sql.current_observations(conn, case_id):
        source_id = int(r["source_id"])
        found[int(r["root_id"] or r["id"])] = ethics.CorroboratorFacts(
            observation_id=int(r["id"]),
            source=sources.get(source_id, ethics.SourceFacts(source_id, "")),
            reliability=str(r["reliability"]),
            credibility=int(r["credibility"]),
        )
    return RelianceContext(policy, sources, found)


def reliance_context(session: Session, case_id: int, at: datetime | None = None) -> RelianceContext:
    """Everything :func:`assess` needs for observations in this case (one read), under
    the policy in force now, or at the moment ``at`` (a note is judged as at its date)."""
    case_for_reading(session, case_id)
    rules = policies.in_force(session.casefile, at).policy
    return _context(session.casefile.conn, rules, case_id)


def assess(
    context: RelianceContext,
    source_id: int,
    reliability: str,
    credibility: int,
    corroborates: Sequence[int] = (),
    check: ethics.ExternalCheck | None = None,
    confirmed_by: str | None = None,
) -> ethics.Reliance:
    """Whether the note would rely on an observation graded so, on this source, with
    these corroborating observations (root ids) and this check. Reads nothing: the
    editor asks it as the worker types, and the service when it reads observations."""
    mine = context.sources.get(source_id, ethics.SourceFacts(source_id, ""))
    linked = [context.observations[i] for i in corroborates if i in context.observations]
    return ethics.assess_reliance(
        ethics.ObservationFacts(mine, reliability, credibility, confirmed_by),
        linked,
        check,
        context.policy,
    )


def draft_check(what: str, who: str, when: str) -> ethics.ExternalCheck | None:
    """An external check as typed so far, for :func:`assess` while the worker types: a
    date that does not read as YYYY-MM-DD counts as not given (saving says why)."""
    try:
        day: date | None = date.fromisoformat(when.strip()) if when.strip() else None
    except ValueError:
        day = None
    check = ethics.ExternalCheck(what.strip(), who.strip(), day)
    return None if check.empty else check


def _judged(observation: Observation, context: RelianceContext) -> Observation:
    answer = assess(
        context,
        observation.source_id,
        observation.reliability,
        observation.credibility,
        observation.corroborates,
        observation.check,
        observation.confirmed_by,
    )
    return replace(
        observation,
        relied_upon=answer.relied,
        reliance_reasons=answer.reasons,
        supported_by=answer.supported_by,
        reliance_advice=answer.advice,
    )


def _from_row(row: sqlite3.Row) -> Observation:
    """The stored observation, not yet judged (see :func:`_judged`)."""
    keys = row.keys()

    def column(name: str) -> str | None:
        # Read before the 0008 step has run (a file being opened), the columns are absent.
        return str(row[name]) if name in keys and row[name] is not None else None

    when = column("check_when")
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
        check_what=column("check_what"),
        check_who=column("check_who"),
        check_when=date.fromisoformat(when) if when else None,
        confirmed_by=column("confirmed_by"),
    )


def _words(value: str | None, what: str) -> str | None:
    clean = " ".join((value or "").split())
    if len(clean) > MAX_CHECK:
        raise ValidationError(
            f"{what} is {len(clean):,} characters long; the most is {MAX_CHECK:,}. "
            "Say it briefly; the detail belongs in the observation."
        )
    return clean or None


def _check_date(value: date | str | None, today: date) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        given = value.strip()
        try:
            value = date.fromisoformat(given)
        except ValueError:
            raise ValidationError(
                f"'{given}' is not a date for the external check. Give the day it "
                "was made as YYYY-MM-DD, e.g. 2024-11-03."
            ) from None
    if value > today:
        raise ValidationError(
            f"The external check is dated {value.isoformat()}, after today. Give the day "
            "it was made."
        )
    return value


def _validate_check(
    what: str | None, who: str | None, when: date | str | None, today: date
) -> ethics.ExternalCheck | None:
    """A complete external check, none at all, or a ValidationError saying what to add."""
    check = ethics.ExternalCheck(
        _words(what, "What the external check was") or "",
        _words(who, "Who made the external check") or "",
        _check_date(when, today),
    )
    if check.empty:
        return None
    missing = check.missing()
    if missing:
        raise ValidationError(
            "An external check is recorded with what was checked, who checked it and "
            f"when: add {' and '.join(missing)}. Without them it cannot support the "
            "observation."
        )
    return check


def _validate_confirmed(credibility: int, confirmed_by: str | None) -> str | None:
    named = _words(confirmed_by, "'Confirmed by'")
    if credibility == 1 and named is None:
        raise ValidationError(
            "Credibility 1 means confirmed by other sources, so name what confirmed it in "
            "'confirmed by' (e.g. the police incident log of 12 November), or choose a "
            "lower credibility."
        )
    return named


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
    check_what: str | None = None,
    check_who: str | None = None,
    check_when: date | str | None = None,
    confirmed_by: str | None = None,
) -> Observation:
    """Record what the worker concludes from a source.

    An external check is given whole (what, who and when: ``check_when`` a date or
    YYYY-MM-DD) or not at all; credibility 1 needs ``confirmed_by``.
    """
    conn = session.casefile.conn
    source_row = sources_sql.source(conn, source_id)
    if source_row is None:
        not_found(session, "source", source_id, f"There is no source {source_id}.")
    case_id = int(source_row["case_id"])
    case_for_changing(session, case_id, doing="record observations")
    clean, dom, grade, clean_risks, links = _validate(
        conn, case_id, source_id, text, domain, reliability, credibility, risks, corroborates, None
    )
    check = _validate_check(check_what, check_who, check_when, uk_day(session.now()))
    named = _validate_confirmed(credibility, confirmed_by)
    return _write(
        session,
        case_id,
        source_id,
        None,
        1,
        _Fields(clean, dom, grade, credibility, clean_risks, links, check, named, None),
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
    check_what: str | None = None,
    check_who: str | None = None,
    check_when: date | str | None = None,
    confirmed_by: str | None = None,
) -> Observation:
    """A new version of an observation; the old one stays, superseded.

    A field left as None keeps its value; an empty string clears a check part or
    ``confirmed_by``.
    """
    conn = session.casefile.conn
    row = sql.observation(conn, observation_id)
    if row is None:
        not_found(
            session, "observation", observation_id, f"There is no observation {observation_id}."
        )
    old = _from_row(row)
    case_for_changing(session, old.case_id, doing="change observations")
    if not sql.is_current(conn, observation_id):
        raise PermissionDenied(
            f"Observation {observation_id} has a newer version; change that one.", rule="superseded"
        )
    grade_1_6 = credibility if credibility is not None else old.credibility
    clean, dom, grade, clean_risks, links = _validate(
        conn,
        old.case_id,
        old.source_id,
        text if text is not None else old.text,
        domain or old.domain,
        reliability or old.reliability,
        grade_1_6,
        risks if risks is not None else old.risks,
        corroborates if corroborates is not None else old.corroborates,
        old.root_id,
    )
    check = _validate_check(
        check_what if check_what is not None else old.check_what,
        check_who if check_who is not None else old.check_who,
        check_when if check_when is not None else old.check_when,
        uk_day(session.now()),
    )
    named = _validate_confirmed(
        grade_1_6, confirmed_by if confirmed_by is not None else old.confirmed_by
    )
    return _write(
        session,
        old.case_id,
        old.source_id,
        old,
        old.version + 1,
        _Fields(clean, dom, grade, grade_1_6, clean_risks, links, check, named, old.external_check),
        "observation.revised",
    )


@dataclass(frozen=True)
class _Fields:
    """One version's validated content, as written."""

    text: str
    domain: str
    reliability: str
    credibility: int
    risks: tuple[str, ...]
    links: tuple[int, ...]
    check: ethics.ExternalCheck | None
    confirmed_by: str | None
    legacy_check: str | None


def _write(
    session: Session,
    case_id: int,
    source_id: int,
    old: Observation | None,
    version: int,
    f: _Fields,
    action: str,
) -> Observation:
    now = session.now()
    check = f.check
    when = check.when.isoformat() if check is not None and check.when is not None else None
    stored = {
        "external_check": f.legacy_check,
        "check_what": check.what if check is not None else None,
        "check_who": check.who if check is not None else None,
        "check_when": when,
        "confirmed_by": f.confirmed_by,
    }
    searchable = [f.text] + [
        v for v in (f.legacy_check, stored["check_what"], stored["check_who"], f.confirmed_by) if v
    ]
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
                "text": f.text,
                "domain": f.domain,
                "reliability": f.reliability,
                "credibility": f.credibility,
                "risks": json.dumps(list(f.risks)),
                "corroborates": json.dumps(list(f.links)),
                **stored,
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
            "\n".join(searchable),
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
                "text": f.text,
                "domain": f.domain,
                "reliability": f.reliability,
                "credibility": f.credibility,
                "risks": list(f.risks),
                "corroborates": list(f.links),
                **stored,
            },
        )
        row = sql.observation(conn, new_id)
        assert row is not None
        context = _context(conn, policies.current(session.casefile), case_id)
        return _judged(_from_row(row), context)


def list_for_case(session: Session, case_id: int, at: datetime | None = None) -> list[Observation]:
    """The case's current observations, each judged for reliance (under the policy in
    force now, or at ``at``)."""
    context = reliance_context(session, case_id, at)
    rows = sql.current_observations(session.casefile.conn, case_id)
    return [_judged(_from_row(r), context) for r in rows]


def list_for_source(session: Session, source_id: int) -> list[Observation]:
    row = sources_sql.source(session.casefile.conn, source_id)
    if row is None:
        not_found(session, "source", source_id, f"There is no source {source_id}.")
    context = reliance_context(session, int(row["case_id"]))
    return [
        _judged(_from_row(r), context)
        for r in sql.current_of_source(session.casefile.conn, source_id)
    ]


def history(session: Session, observation_id: int) -> list[Observation]:
    """Every version, oldest first, each judged against the case as it is now."""
    row = sql.observation(session.casefile.conn, observation_id)
    if row is None:
        not_found(
            session, "observation", observation_id, f"There is no observation {observation_id}."
        )
    context = reliance_context(session, int(row["case_id"]))
    return [
        _judged(_from_row(r), context)
        for r in sql.history(session.casefile.conn, int(row["root_id"] or row["id"]))
    ]


@dataclass(frozen=True)
class SearchHit:
    kind: str
    ref_id: int
    case_id: int
    title: str
    snippet: str


MAX_QUERY = 500
"""Characters of a search that are used; the rest is left out, with a note."""


def _printable(word: str) -> str:
    """The word without control characters (NUL would end the FTS5 string early) or lone
    surrogates (which cannot be encoded to reach SQLite)."""
    return "".join(ch for ch in word if unicodedata.category(ch) not in ("Cc", "Cs"))


def _is_wordlike(ch: str) -> bool:
    # What unicode61 indexes (letters, numbers, private use); the rest separates words.
    category = unicodedata.category(ch)
    return category[0] in "LN" or category == "Co"


def _pieces(term: str) -> list[str]:
    """A term in an unspaced script split at punctuation and symbols ("北京，朝阳")."""
    pieces, current = [], ""
    for ch in term:
        if _is_wordlike(ch) or unicodedata.category(ch)[0] == "M":
            current += ch
        elif current:
            pieces.append(current)
            current = ""
    return [*pieces, current] if current else pieces


@dataclass(frozen=True)
class SearchQuery:
    """What the text typed into a search asks for. Every part is a literal: the text is
    never read as FTS5 syntax, and every item found holds every part."""

    words: tuple[str, ...] = ()
    """Terms for the word index, folded there like the text (Michał finds Michal)."""
    phrases: tuple[str, ...] = ()
    """Runs of Chinese, Japanese, Thai… of 3+ characters, found anywhere by trigram."""
    fragments: tuple[str, ...] = ()
    """Shorter such runs (北京), looked for in the text of those scripts."""
    notes: tuple[str, ...] = ()
    """What the person should know: text left out, or nothing left to search for."""

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases or self.fragments)


def parse_query(text: str) -> SearchQuery:
    """The search :class:`SearchQuery` for any text: the one reading of a search box.

    Terms are separated by white space; control characters are dropped; a term with no
    letter or digit (``*``, ``-``, an emoji) is left out, since the index holds none.
    """
    notes: list[str] = []
    if len(text) > MAX_QUERY:
        text = text[:MAX_QUERY]
        notes.append(f"Only the first {MAX_QUERY} characters of the search were used.")
    words: list[str] = []
    phrases: list[str] = []
    fragments: list[str] = []
    left_out: list[str] = []
    for term in (_printable(raw) for raw in text.split()):
        if sql.UNSPACED.search(term):
            for piece in _pieces(term):
                if not sql.UNSPACED.search(piece):
                    words.append(piece)
                elif len(piece) >= sql.TRIGRAM:
                    phrases.append(piece)
                else:
                    fragments.append(piece)
        elif any(_is_wordlike(ch) for ch in term):
            words.append(term)
        elif term:
            left_out.append(term)
    query = SearchQuery(tuple(words), tuple(phrases), tuple(fragments))
    if query.empty:
        notes.append(
            "Nothing to search for: type a word or a name. Punctuation and symbols on"
            " their own are not searched."
        )
    elif left_out:
        notes.append(
            "Left out of the search (no letters or digits): "
            + ", ".join(f"'{term}'" for term in left_out[:10])
        )
    return replace(query, notes=tuple(notes))


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[SearchHit, ...]
    notes: tuple[str, ...]
    """About the query itself (:attr:`SearchQuery.notes`), for the person who typed it."""


def find(
    session: Session, query: str, *, case_id: int | None = None, limit: int = 50
) -> SearchResult:
    """Full-text search over source text and observations, within what the user may see.

    Any text is a valid query (:func:`parse_query`); at most ``limit`` (1 to 500) hits.
    """
    if case_id is not None:
        case_for_reading(session, case_id)
        case_ids: list[int] | None = [case_id]
    elif session.role is Role.WORKER:
        case_ids = [c.id for c in cases.list_cases(session)]
    else:
        require_role(session, Role.MANAGER, Role.AUDITOR, doing="search every case")
        case_ids = None
    asked = parse_query(query)
    if asked.empty:
        return SearchResult((), asked.notes)
    with session.casefile.read() as conn:  # one snapshot: a server asks in several steps
        found = sql.search(
            conn,
            case_ids,
            words=asked.words,
            phrases=asked.phrases,
            fragments=asked.fragments,
            limit=max(1, min(limit, 500)),
        )
    hits = tuple(SearchHit(f.kind, f.ref_id, f.case_id, f.title, f.snippet) for f in found)
    return SearchResult(hits, asked.notes)


def search(
    session: Session, query: str, *, case_id: int | None = None, limit: int = 50
) -> list[SearchHit]:
    """The hits of :func:`find`, without its notes."""
    return list(find(session, query, case_id=case_id, limit=limit).hits)
