"""The case file's schema, one ``sqlite_utils.Migrations`` step per change.

Migrations are only ever appended. A file that has applied a migration this version
does not know was written by a newer Caseview, and is refused rather than changed.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

from caseview.errors import CaseFileError
from caseview.storage.analysis import UNSPACED, fold

MigrationFn = Callable[[sqlite_utils.Database], None]

MIGRATION_SET = "caseview"
migrations = Migrations(MIGRATION_SET)
_KNOWN_STEPS: list[str] = []

GENESIS_HASH = "0" * 64


def _step(name: str) -> Callable[[MigrationFn], MigrationFn]:
    """Register a migration and remember its name (to recognise newer files)."""
    _KNOWN_STEPS.append(name)
    return migrations(name=name)


def known_steps() -> tuple[str, ...]:
    """Every schema step this version of Caseview knows (the server records them too)."""
    return tuple(_KNOWN_STEPS)


def _script(db: sqlite_utils.Database, sql: str) -> None:
    # executescript() would COMMIT the surrounding transaction; run statement by
    # statement, using SQLite's own notion of where one ends (triggers contain ';').
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            db.execute(pending)
            pending = ""
    if pending.strip():
        db.execute(pending)


def _copy(column: str, kind: str) -> str:
    # NULL rather than an error when a tampered payload is not JSON: verify reports it.
    return (
        f"    {column} {kind} GENERATED ALWAYS AS (CASE WHEN json_valid(payload)"
        f" THEN json_extract(payload, '$.{column}') END) VIRTUAL,"
    )


# The columns beside the payload are copies for querying, generated from the payload
# itself: they cannot disagree with it, and SQLite refuses any attempt to set them.
# verify checks that this definition is still the one below.
AUDIT_LOG_TABLE = "\n".join(
    [
        "CREATE TABLE audit_log (",
        "    seq INTEGER PRIMARY KEY,",
        _copy("at", "TEXT"),
        _copy("actor", "TEXT"),
        _copy("action", "TEXT"),
        _copy("entity", "TEXT"),
        _copy("entity_id", "INTEGER"),
        _copy("case_id", "INTEGER"),
        "    payload TEXT NOT NULL,",
        "    prev_hash TEXT NOT NULL,",
        "    hash TEXT NOT NULL",
        ")",
    ]
)


@_step("0001_foundation")
def _foundation(db: sqlite_utils.Database) -> None:
    _script(
        db,
        f"""
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('worker', 'manager', 'auditor')),
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id)
);
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE TABLE case_members (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    allocated_by INTEGER NOT NULL REFERENCES users(id),
    allocated_at TEXT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE TABLE subjects (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('child', 'parent', 'carer', 'relative', 'other')),
    date_of_birth TEXT,
    handles TEXT NOT NULL DEFAULT '[]',
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX subjects_case ON subjects(case_id);
{AUDIT_LOG_TABLE};
CREATE INDEX audit_log_case ON audit_log(case_id, seq);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: events cannot be changed');
END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: events cannot be deleted');
END;
CREATE TRIGGER audit_log_chain_on_insert BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log)
  OR NEW.prev_hash IS NOT COALESCE(
        (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '{GENESIS_HASH}')
BEGIN
    SELECT RAISE(ABORT, 'audit_log: a new event must extend the head of the chain');
END
""",
    )


def check_version(db: sqlite_utils.Database, path: Path) -> None:
    """Refuse a file that a newer Caseview has migrated beyond what this one knows."""
    applied = {m.name for m in migrations.applied(db)}
    unknown = sorted(applied - set(_KNOWN_STEPS))
    if unknown:
        raise CaseFileError(
            f"{path} was written by a newer version of Caseview (schema step "
            f"{unknown[-1]}). Update Caseview to open it; the file was left unchanged."
        )


@functools.lru_cache(maxsize=8)
def triggers_after(applied: tuple[str, ...]) -> dict[str, str]:
    """The triggers (name: CREATE statement as SQLite keeps it) of a case file to which
    the steps ``applied`` have been applied, and no others: built afresh in memory."""
    db = sqlite_utils.Database(memory=True)
    try:
        migrations.apply(db, stop_before=[s for s in _KNOWN_STEPS if s not in applied])
        return {
            str(name): str(sql)
            for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'")
        }
    finally:
        db.close()


def needs_steps(db: sqlite_utils.Database) -> bool:
    """Has this Caseview schema steps the file has not had yet?"""
    return bool(set(_KNOWN_STEPS) - {m.name for m in migrations.applied(db)})


def migrate(db: sqlite_utils.Database, path: Path) -> None:
    check_version(db, path)
    migrations.apply(db)


@_step("0002_gate")
def _gate(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
CREATE TABLE policies (
    id INTEGER PRIMARY KEY,
    toml TEXT NOT NULL,
    set_by INTEGER NOT NULL REFERENCES users(id),
    set_at TEXT NOT NULL
);
CREATE TABLE justifications (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 1,
    supersedes INTEGER REFERENCES justifications(id),
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
        ('draft', 'submitted', 'approved', 'rejected', 'returned', 'expired', 'cancelled')),
    emergency INTEGER NOT NULL DEFAULT 0 CHECK (emergency IN (0, 1)),
    content TEXT NOT NULL,
    content_hash TEXT,
    valid_until TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    decided_at TEXT,
    overdue_flagged_at TEXT,
    authorisation_ref TEXT,
    authorised_by INTEGER REFERENCES users(id),
    authorised_at TEXT,
    cancel_reason TEXT,
    CHECK (status = 'draft' OR content_hash IS NOT NULL OR status = 'cancelled')
);
CREATE INDEX justifications_case ON justifications(case_id, id);
CREATE INDEX justifications_status ON justifications(status);
CREATE TRIGGER justifications_content_frozen
BEFORE UPDATE OF content, content_hash, case_id, author_id, emergency, valid_until
ON justifications WHEN OLD.content_hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a submitted justification cannot be changed: revise it as a new version');
END;
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    justification_id INTEGER NOT NULL REFERENCES justifications(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'return')),
    reasons TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    at TEXT NOT NULL,
    CHECK (reviewer_id <> author_id),
    CHECK (decision = 'approve' OR length(trim(reasons)) > 0)
);
CREATE INDEX reviews_justification ON reviews(justification_id);
CREATE TRIGGER reviews_author_is_the_author BEFORE INSERT ON reviews
WHEN NEW.author_id IS NOT (SELECT author_id FROM justifications WHERE id = NEW.justification_id)
BEGIN
    SELECT RAISE(ABORT, 'reviews.author_id must be the author of the justification');
END;
CREATE TRIGGER reviews_append_only_update BEFORE UPDATE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only');
END;
CREATE TRIGGER reviews_append_only_delete BEFORE DELETE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only');
END;
CREATE TABLE justification_editors (
    justification_id INTEGER NOT NULL REFERENCES justifications(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (justification_id, user_id)
);
CREATE TRIGGER reviews_not_by_an_editor BEFORE INSERT ON reviews
WHEN EXISTS (SELECT 1 FROM justification_editors
             WHERE justification_id = NEW.justification_id AND user_id = NEW.reviewer_id)
BEGIN
    SELECT RAISE(ABORT, 'reviews: the author of a request, or an editor, cannot review it');
END;
CREATE TABLE viewings (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    subject_id INTEGER REFERENCES subjects(id),
    justification_id INTEGER REFERENCES justifications(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    at TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('capture', 'import', 'view', 'supplied')),
    outcome TEXT NOT NULL CHECK (outcome IN ('completed', 'refused', 'failed')),
    rule TEXT,
    message TEXT,
    source_id INTEGER
);
CREATE INDEX viewings_subject ON viewings(subject_id, outcome, at);
CREATE INDEX viewings_justification ON viewings(justification_id, outcome);
CREATE TRIGGER viewings_append_only_delete BEFORE DELETE ON viewings
BEGIN
    SELECT RAISE(ABORT, 'viewings are never deleted');
END
""",
    )


@_step("0003_capture")
def _capture(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size INTEGER NOT NULL,
    media_type TEXT,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (length(content) = size)
);
CREATE TRIGGER blobs_never_updated BEFORE UPDATE ON blobs
BEGIN
    SELECT RAISE(ABORT, 'blobs are evidence and are never changed');
END;
CREATE TRIGGER blobs_never_deleted BEFORE DELETE ON blobs
BEGIN
    SELECT RAISE(ABORT, 'blobs are evidence and are never deleted');
END;
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    subject_id INTEGER NOT NULL REFERENCES subjects(id),
    justification_id INTEGER NOT NULL REFERENCES justifications(id),
    justification_hash TEXT NOT NULL,
    viewing_id INTEGER REFERENCES viewings(id),
    corrects INTEGER REFERENCES sources(id),
    origin TEXT NOT NULL CHECK (origin IN ('self_collected', 'supplied_by_family',
        'supplied_by_agency', 'supplied_by_colleague', 'supplied_by_public')),
    supplied_by TEXT,
    method TEXT NOT NULL CHECK (method IN ('http', 'file_import', 'rendered')),
    requested_url TEXT NOT NULL,
    final_url TEXT,
    host_unicode TEXT,
    host_punycode TEXT,
    redirect_chain TEXT NOT NULL DEFAULT '[]',
    http_status INTEGER,
    response_headers TEXT NOT NULL DEFAULT '[]',
    content_type TEXT,
    media_type TEXT,
    body_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    body_size INTEGER NOT NULL,
    body_encoding_note TEXT,
    raw_sha256 TEXT,
    server_ip TEXT,
    file_name TEXT,
    title TEXT,
    text TEXT,
    page_meta TEXT NOT NULL DEFAULT '{}',
    published_at TEXT,
    viewed_at TEXT,
    captured_started_at TEXT NOT NULL,
    captured_ended_at TEXT NOT NULL,
    captured_by INTEGER NOT NULL REFERENCES users(id),
    machine TEXT NOT NULL,
    tool TEXT NOT NULL,
    attestations TEXT NOT NULL DEFAULT '{}',
    warc_sha256 TEXT REFERENCES blobs(sha256),
    notes TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
);
CREATE INDEX sources_case ON sources(case_id, captured_started_at);
CREATE INDEX sources_subject ON sources(subject_id);
CREATE TRIGGER sources_evidence_never_updated BEFORE UPDATE ON sources
BEGIN
    SELECT RAISE(ABORT, 'sources are evidence: record a correction as a new source instead');
END;
CREATE TRIGGER sources_never_deleted BEFORE DELETE ON sources
BEGIN
    SELECT RAISE(ABORT, 'sources are evidence and are never deleted');
END;
CREATE TABLE exposure_findings (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '',
    confirmed INTEGER CHECK (confirmed IN (0, 1)),
    reviewed_by INTEGER REFERENCES users(id),
    reviewed_at TEXT
);
CREATE INDEX exposure_source ON exposure_findings(source_id)
""",
    )


@_step("0004_observations")
def _observations(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
CREATE TABLE observations (
    id INTEGER PRIMARY KEY,
    root_id INTEGER REFERENCES observations(id),
    version INTEGER NOT NULL DEFAULT 1,
    supersedes INTEGER UNIQUE REFERENCES observations(id),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    case_id INTEGER NOT NULL REFERENCES cases(id),
    text TEXT NOT NULL CHECK (length(trim(text)) > 0),
    domain TEXT NOT NULL CHECK (domain IN ('developmental_needs', 'parenting_capacity',
        'family_environment', 'online_exposure')),
    reliability TEXT NOT NULL CHECK (reliability IN ('A', 'B', 'C', 'D', 'E', 'F')),
    credibility INTEGER NOT NULL CHECK (credibility BETWEEN 1 AND 6),
    risks TEXT NOT NULL DEFAULT '[]',
    corroborates TEXT NOT NULL DEFAULT '[]',
    external_check TEXT,
    withdrawn INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1)),
    author_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX observations_case ON observations(case_id, id);
CREATE INDEX observations_source ON observations(source_id);
CREATE TRIGGER observations_versioned_not_updated BEFORE UPDATE OF text, domain, reliability,
    credibility, risks, corroborates, external_check, source_id, case_id, author_id,
    created_at, version, supersedes, withdrawn ON observations
BEGIN
    SELECT RAISE(ABORT, 'observations are versioned: record a new version instead');
END;
CREATE TRIGGER observations_root_id_set_once BEFORE UPDATE OF root_id ON observations
WHEN OLD.root_id IS NOT NULL OR NEW.root_id IS NOT OLD.id
BEGIN
    SELECT RAISE(ABORT, 'observations: root_id is set once, to the first version''s own id');
END;
CREATE TRIGGER observations_never_deleted BEFORE DELETE ON observations
BEGIN
    SELECT RAISE(ABORT, 'observations are never deleted');
END;
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    version INTEGER NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users(id),
    analysis TEXT NOT NULL DEFAULT '',
    balance TEXT NOT NULL DEFAULT '',
    conclusion TEXT NOT NULL DEFAULT '',
    evaluation_useful TEXT NOT NULL DEFAULT '',
    evaluation_decision TEXT NOT NULL DEFAULT '',
    evaluation_family_told TEXT NOT NULL DEFAULT '',
    evaluation_family_response TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (case_id, version)
);
CREATE TRIGGER notes_versioned_not_updated BEFORE UPDATE ON notes
BEGIN
    SELECT RAISE(ABORT, 'notes are versioned: save a new version instead');
END;
CREATE TRIGGER notes_never_deleted BEFORE DELETE ON notes
BEGIN
    SELECT RAISE(ABORT, 'notes are never deleted');
END;
CREATE VIRTUAL TABLE search_index USING fts5(
    kind UNINDEXED, ref_id UNINDEXED, case_id UNINDEXED, title, body, folded,
    tokenize = 'unicode61 remove_diacritics 2'
)
""",
    )


@_step("0005_browse_indexes")
def _browse_indexes(db: sqlite_utils.Database) -> None:
    # One index per sort order of the sources table (storage/browse.py SORTS; each
    # expression must be written exactly as there): a page in that order is read from
    # the index and stops after LIMIT rows, instead of sorting every source of the case.
    # Orders through another table (subject, who captured) or the grading subquery
    # cannot be indexed this way.
    _script(
        db,
        """
CREATE INDEX sources_case_title ON sources(case_id,
    lower(coalesce(nullif(title, ''), coalesce(final_url, requested_url))));
CREATE INDEX sources_case_url ON sources(case_id, coalesce(final_url, requested_url));
CREATE INDEX sources_case_origin ON sources(case_id, origin);
CREATE INDEX sources_case_sha256 ON sources(case_id, body_sha256);
""",
    )


@_step("0006_authorisations")
def _authorisations(db: sqlite_utils.Database) -> None:
    # Issue 10: no one person can lift the stop. A surveillance authorisation is a
    # structured record that counts only once a second manager confirms it, and a policy
    # that loosens any value waits for a second manager too. Existing policies were set
    # before this rule and stay in force.
    _script(
        db,
        """
CREATE TABLE authorisations (
    id INTEGER PRIMARY KEY,
    justification_id INTEGER NOT NULL REFERENCES justifications(id),
    subject_id INTEGER NOT NULL REFERENCES subjects(id),
    reference TEXT NOT NULL CHECK (length(trim(reference)) > 0),
    authorising_officer TEXT NOT NULL CHECK (length(trim(authorising_officer)) > 0),
    magistrate_approved_on TEXT NOT NULL CHECK (date(magistrate_approved_on) IS NOT NULL),
    expires_on TEXT NOT NULL CHECK (date(expires_on) IS NOT NULL),
    recorded_by INTEGER NOT NULL REFERENCES users(id),
    recorded_at TEXT NOT NULL,
    confirmed_by INTEGER REFERENCES users(id),
    confirmed_at TEXT,
    CHECK (confirmed_by <> recorded_by),
    CHECK ((confirmed_by IS NULL) = (confirmed_at IS NULL)),
    CHECK (expires_on > magistrate_approved_on)
);
CREATE INDEX authorisations_justification ON authorisations(justification_id, id);
CREATE TRIGGER authorisations_content_never_updated BEFORE UPDATE OF id, justification_id,
    subject_id, reference, authorising_officer, magistrate_approved_on, expires_on,
    recorded_by, recorded_at ON authorisations
BEGIN
    SELECT RAISE(ABORT, 'authorisations cannot be changed: record a new one instead');
END;
CREATE TRIGGER authorisations_confirmed_once BEFORE UPDATE OF confirmed_by, confirmed_at
ON authorisations WHEN OLD.confirmed_by IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'an authorisation is confirmed once and stays confirmed');
END;
CREATE TRIGGER authorisations_not_by_the_requests_writers BEFORE INSERT ON authorisations
WHEN NEW.recorded_by = (SELECT author_id FROM justifications WHERE id = NEW.justification_id)
  OR EXISTS (SELECT 1 FROM justification_editors
             WHERE justification_id = NEW.justification_id AND user_id = NEW.recorded_by)
BEGIN
    SELECT RAISE(ABORT, 'authorisations: a writer of the request cannot record one');
END;
CREATE TRIGGER authorisations_not_confirmed_by_the_requests_writers
BEFORE UPDATE OF confirmed_by ON authorisations
WHEN NEW.confirmed_by = (SELECT author_id FROM justifications WHERE id = OLD.justification_id)
  OR EXISTS (SELECT 1 FROM justification_editors
             WHERE justification_id = OLD.justification_id AND user_id = NEW.confirmed_by)
BEGIN
    SELECT RAISE(ABORT, 'authorisations: a writer of the request cannot confirm one');
END;
CREATE TRIGGER authorisations_never_deleted BEFORE DELETE ON authorisations
BEGIN
    SELECT RAISE(ABORT, 'authorisations are never deleted');
END;
ALTER TABLE policies ADD COLUMN status TEXT NOT NULL DEFAULT 'in_force'
    CHECK (status IN ('in_force', 'pending'));
ALTER TABLE policies ADD COLUMN confirmed_by INTEGER REFERENCES users(id);
ALTER TABLE policies ADD COLUMN confirmed_at TEXT;
CREATE TRIGGER policies_text_never_updated BEFORE UPDATE OF id, toml, set_by, set_at ON policies
BEGIN
    SELECT RAISE(ABORT, 'a policy cannot be changed: set a new one instead');
END;
CREATE TRIGGER policies_confirmed_by_another_manager
BEFORE UPDATE OF status, confirmed_by, confirmed_at ON policies
WHEN OLD.status <> 'pending' OR NEW.status <> 'in_force' OR NEW.confirmed_by IS NULL
  OR NEW.confirmed_by = OLD.set_by OR NEW.confirmed_at IS NULL
BEGIN
    SELECT RAISE(ABORT, 'policies: only a pending policy is confirmed, once, by another manager');
END;
CREATE TRIGGER policies_never_deleted BEFORE DELETE ON policies
BEGIN
    SELECT RAISE(ABORT, 'policies are never deleted');
END;
""",
    )


@_step("0008_corroboration")
def _corroboration(db: sqlite_utils.Database) -> None:
    # Relied upon is earned (issue 10): an external check is recorded with what, who and
    # when (check_when a UK date, YYYY-MM-DD), and credibility 1 names what confirmed
    # it. The old free-text external_check stays for files written before this step; it
    # never earns reliance, having no who or when. Observations are versioned, so the
    # trigger is redefined to cover the new columns: they are written at insert only.
    _script(
        db,
        """
ALTER TABLE observations ADD COLUMN check_what TEXT;
ALTER TABLE observations ADD COLUMN check_who TEXT;
ALTER TABLE observations ADD COLUMN check_when TEXT;
ALTER TABLE observations ADD COLUMN confirmed_by TEXT;
DROP TRIGGER observations_versioned_not_updated;
CREATE TRIGGER observations_versioned_not_updated BEFORE UPDATE OF text, domain, reliability,
    credibility, risks, corroborates, external_check, check_what, check_who, check_when,
    confirmed_by, source_id, case_id, author_id, created_at, version, supersedes, withdrawn
    ON observations
BEGIN
    SELECT RAISE(ABORT, 'observations are versioned: record a new version instead');
END;
""",
    )


@_step("0010_person_links")
def _person_links(db: sqlite_utils.Database) -> None:
    # A manager's statement that two subjects (in one case or two) are the same person,
    # so the repeat-viewing meter counts looks at them together. Links are never
    # changed or removed: a wrong link is corrected by the audit trail, not erased.
    _script(
        db,
        """
CREATE TABLE person_links (
    id INTEGER PRIMARY KEY,
    subject_a INTEGER NOT NULL REFERENCES subjects(id),
    subject_b INTEGER NOT NULL REFERENCES subjects(id),
    reason TEXT NOT NULL,
    linked_by INTEGER NOT NULL REFERENCES users(id),
    linked_at TEXT NOT NULL,
    CHECK (subject_a < subject_b),
    UNIQUE (subject_a, subject_b)
);
CREATE TRIGGER person_links_not_updated BEFORE UPDATE ON person_links
BEGIN
    SELECT RAISE(ABORT, 'person_links: a link is never changed');
END;
CREATE TRIGGER person_links_not_deleted BEFORE DELETE ON person_links
BEGIN
    SELECT RAISE(ABORT, 'person_links: a link is never removed');
END;
CREATE INDEX viewings_completed_at ON viewings(outcome, at);
""",
    )


@_step("0007_return_answers")
def _return_answers(db: sqlite_utils.Database) -> None:
    # A returned request's next version answers each of the manager's reasons. The
    # answers belong to that version and are frozen with it once it is submitted.
    _script(
        db,
        """
CREATE TABLE return_answers (
    justification_id INTEGER NOT NULL REFERENCES justifications(id),
    review_id INTEGER NOT NULL REFERENCES reviews(id),
    item INTEGER NOT NULL CHECK (item >= 1),
    reason TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    answered_by INTEGER NOT NULL REFERENCES users(id),
    answered_at TEXT NOT NULL,
    PRIMARY KEY (justification_id, review_id, item)
);
CREATE TRIGGER return_answers_only_on_a_draft_insert BEFORE INSERT ON return_answers
WHEN (SELECT status FROM justifications WHERE id = NEW.justification_id) IS NOT 'draft'
BEGIN
    SELECT RAISE(ABORT, 'return answers can only be given on a draft');
END;
CREATE TRIGGER return_answers_only_on_a_draft_update BEFORE UPDATE ON return_answers
WHEN (SELECT status FROM justifications WHERE id = OLD.justification_id) IS NOT 'draft'
BEGIN
    SELECT RAISE(ABORT, 'return answers are frozen once the request is submitted');
END;
CREATE TRIGGER return_answers_only_on_a_draft_delete BEFORE DELETE ON return_answers
WHEN (SELECT status FROM justifications WHERE id = OLD.justification_id) IS NOT 'draft'
BEGIN
    SELECT RAISE(ABORT, 'return answers are frozen once the request is submitted');
END;
""",
    )


@_step("0011_search_trigram")
def _search_trigram(db: sqlite_utils.Database) -> None:
    # Issue 13: words of Chinese, Japanese or Thai inside running text are found through
    # a trigram index beside the word index (storage/analysis.py index() fills both), and
    # more Latin letters are folded, so existing items are indexed again where either
    # changes what is stored.
    if sqlite3.sqlite_version_info < (3, 34, 0):
        raise CaseFileError(
            f"Search needs SQLite 3.34 or newer; this Python has {sqlite3.sqlite_version}."
            " Install Caseview with a newer Python to open this case file."
        )
    _script(
        db,
        """
CREATE VIRTUAL TABLE search_trigram USING fts5(
    kind UNINDEXED, ref_id UNINDEXED, case_id UNINDEXED, title, body,
    tokenize = 'trigram'
)
""",
    )
    refolded: list[tuple[str, int]] = []
    # One row at a time (pages can be large); search_index is changed only afterwards.
    for rowid, kind, ref_id, case_id, title, body, folded in db.execute(
        "SELECT rowid, kind, ref_id, case_id, title, body, folded FROM search_index"
    ):
        written = f"{title}\n{body}"
        now_folded = "" if fold(written) == written else fold(written)
        if now_folded != folded:
            refolded.append((now_folded, rowid))
        if UNSPACED.search(written):
            db.execute(
                "INSERT INTO search_trigram (kind, ref_id, case_id, title, body)"
                " VALUES (?, ?, ?, ?, ?)",
                (kind, ref_id, case_id, title, body),
            )
    for folded, rowid in refolded:
        db.execute("UPDATE search_index SET folded = ? WHERE rowid = ?", (folded, rowid))


@_step("0012_evidence_browser")
def _evidence_browser(db: sqlite_utils.Database) -> None:
    # Issue 12: a session in the evidence browser is one look (viewings.kind 'browse');
    # every page it showed and every request it made are logged beside it; a rendered
    # capture keeps its artefacts (MHTML, DOM, screenshot) as blobs. SQLite cannot change
    # a CHECK constraint in place, so the viewings table is rebuilt with the same rows
    # (foreign keys from sources are checked at commit, when the ids are back).
    _script(
        db,
        """
PRAGMA defer_foreign_keys = ON;
CREATE TABLE viewings_rebuilt (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    subject_id INTEGER REFERENCES subjects(id),
    justification_id INTEGER REFERENCES justifications(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    at TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('capture', 'import', 'view', 'supplied', 'browse')),
    outcome TEXT NOT NULL CHECK (outcome IN ('completed', 'refused', 'failed')),
    rule TEXT,
    message TEXT,
    source_id INTEGER
);
INSERT INTO viewings_rebuilt
    (id, case_id, subject_id, justification_id, user_id, at, url, kind, outcome, rule,
     message, source_id)
SELECT id, case_id, subject_id, justification_id, user_id, at, url, kind, outcome, rule,
       message, source_id
FROM viewings;
DROP TABLE viewings;
ALTER TABLE viewings_rebuilt RENAME TO viewings;
CREATE INDEX viewings_subject ON viewings(subject_id, outcome, at);
CREATE INDEX viewings_justification ON viewings(justification_id, outcome);
CREATE INDEX viewings_completed_at ON viewings(outcome, at);
CREATE TRIGGER viewings_append_only_delete BEFORE DELETE ON viewings
BEGIN
    SELECT RAISE(ABORT, 'viewings are never deleted');
END;
CREATE TABLE browse_sessions (
    viewing_id INTEGER PRIMARY KEY REFERENCES viewings(id),
    case_id INTEGER NOT NULL REFERENCES cases(id),
    justification_id INTEGER NOT NULL REFERENCES justifications(id),
    subject_id INTEGER NOT NULL REFERENCES subjects(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    start_url TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ends_by TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT
);
CREATE TRIGGER browse_sessions_end_once BEFORE UPDATE ON browse_sessions
WHEN OLD.ended_at IS NOT NULL
    OR NEW.viewing_id IS NOT OLD.viewing_id OR NEW.case_id IS NOT OLD.case_id
    OR NEW.justification_id IS NOT OLD.justification_id
    OR NEW.subject_id IS NOT OLD.subject_id OR NEW.user_id IS NOT OLD.user_id
    OR NEW.start_url IS NOT OLD.start_url OR NEW.started_at IS NOT OLD.started_at
    OR NEW.ends_by IS NOT OLD.ends_by
BEGIN
    SELECT RAISE(ABORT, 'browse_sessions: a session only ever gains its end, once');
END;
CREATE TRIGGER browse_sessions_not_deleted BEFORE DELETE ON browse_sessions
BEGIN
    SELECT RAISE(ABORT, 'browse_sessions are never deleted');
END;
CREATE TABLE browse_pages (
    id INTEGER PRIMARY KEY,
    viewing_id INTEGER NOT NULL REFERENCES browse_sessions(viewing_id),
    at TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT,
    http_status INTEGER,
    response_headers TEXT NOT NULL DEFAULT '[]',
    document_sha256 TEXT,
    how TEXT NOT NULL CHECK (how IN ('load', 'same_document'))
);
CREATE INDEX browse_pages_session ON browse_pages(viewing_id, id);
CREATE TRIGGER browse_pages_not_updated BEFORE UPDATE ON browse_pages
BEGIN
    SELECT RAISE(ABORT, 'browse_pages: the log of pages viewed is never changed');
END;
CREATE TRIGGER browse_pages_not_deleted BEFORE DELETE ON browse_pages
BEGIN
    SELECT RAISE(ABORT, 'browse_pages: the log of pages viewed is never changed');
END;
CREATE TABLE browse_requests (
    id INTEGER PRIMARY KEY,
    viewing_id INTEGER NOT NULL REFERENCES browse_sessions(viewing_id),
    at TEXT NOT NULL,
    url TEXT NOT NULL,
    method TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    status INTEGER,
    blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    reason TEXT
);
CREATE INDEX browse_requests_session ON browse_requests(viewing_id, id);
CREATE TRIGGER browse_requests_not_updated BEFORE UPDATE ON browse_requests
BEGIN
    SELECT RAISE(ABORT, 'browse_requests: the request log is never changed');
END;
CREATE TRIGGER browse_requests_not_deleted BEFORE DELETE ON browse_requests
BEGIN
    SELECT RAISE(ABORT, 'browse_requests: the request log is never changed');
END;
CREATE TABLE source_artefacts (
    source_id INTEGER NOT NULL REFERENCES sources(id),
    kind TEXT NOT NULL CHECK (kind IN ('mhtml', 'dom', 'screenshot')),
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (source_id, kind)
);
CREATE TRIGGER source_artefacts_not_updated BEFORE UPDATE ON source_artefacts
BEGIN
    SELECT RAISE(ABORT, 'source_artefacts are evidence and are never changed');
END;
CREATE TRIGGER source_artefacts_not_deleted BEFORE DELETE ON source_artefacts
BEGIN
    SELECT RAISE(ABORT, 'source_artefacts are evidence and are never deleted');
END
""",
    )
