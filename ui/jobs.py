"""The app's background work: plain functions over the services, no Qt (STYLE rule 9).

Each takes the signed-in :class:`~ui.identity.Identity` first, opens its own session
on the calling thread, calls ``caseview`` services (which check every permission) and
returns frozen data for the GUI thread to show. ``ui.tasks.run_task`` runs them.

``caseview.captures`` and ``caseview.report`` are imported inside the functions that
use them: they pull in the collectors (HTML, images, HTTP) and reportlab, which would
add about half a second to the app's start for work that comes later, if at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import ethics
from caseview import (
    abilities,
    accounts,
    audit,
    browse,
    cases,
    justifications,
    notes,
    observations,
    policy,
    viewings,
)
from caseview.abilities import Abilities, Ability
from caseview.audit import Checkpoint, VerifyResult
from caseview.domain import AuditEvent, Case, Subject, User
from caseview.errors import CaseviewError, ValidationError
from caseview.justifications import JustificationRecord
from caseview.notes import Note
from caseview.observations import Observation, RelianceContext
from caseview.session import Session
from caseview.storage import open_case_file
from caseview.viewings import ViewingRecord
from ui.identity import Identity, session_for

if TYPE_CHECKING:
    from caseview.captures import SourceRecord
    from caseview.storage.notify import Seen
    from ui.server_link import ServerLink

_T = TypeVar("_T")

# --- signing in ----------------------------------------------------------------------


def needs_first_manager(place: Path | ServerLink) -> bool:
    """True when the case file does not exist yet or has no accounts. Never on a team
    server: ``caseview init`` there creates the first manager with the database."""
    if not isinstance(place, Path):
        return False
    if not place.exists():
        return True
    with open_case_file(place) as casefile:
        return accounts.needs_first_manager(casefile)


def sign_in(place: Path | ServerLink, username: str, password: str) -> User:
    """Check the password (argon2, or the server's own check: slow, so off the GUI
    thread). On a team server the link keeps what it needs for the window's next jobs."""
    if not isinstance(place, Path):
        return place.sign_in(username, password)
    with open_case_file(place) as casefile:
        session = accounts.login(casefile, username, password)
        # A moment to notice lapsed emergency reviews (reads never do); cheap when none.
        justifications.notice_overdue(session)
        return session.user


def create_first_manager(path: Path, username: str, password: str, display_name: str) -> User:
    """Create the case file if needed, then its first manager, and sign them in."""
    if not path.exists():
        # Check the name and password first, so a typo leaves no empty file behind.
        accounts._check_username(username)
        accounts._check_password(password)
    with open_case_file(path, create=not path.exists()) as casefile:
        user = accounts.create_first_manager(
            casefile, username, password, display_name=display_name
        )
        accounts.login(casefile, user.username, password)
    return user


# --- reading a case ------------------------------------------------------------------


def load_cases(who: Identity) -> list[Case]:
    with session_for(who) as session:
        return cases.list_cases(session)


def load_abilities(who: Identity, case_id: int | None) -> Abilities:
    """What the user may do on the case (``None``: no case; only the general actions)."""
    with session_for(who) as session:
        return abilities.abilities(session, case_id)


def then_abilities(
    fn: Callable[..., _T], who: Identity, case_id: int, *args: object
) -> tuple[_T, Abilities]:
    """Run ``fn(who, case_id, *args)``, then answer what the user may do on the case now
    (a change such as closing the case changes the answer)."""
    done = fn(who, case_id, *args)
    return done, load_abilities(who, case_id)


@dataclass(frozen=True)
class SubjectMeter:
    """A subject of the case with their repeat-viewing meter now."""

    subject: Subject
    meter: ethics.MeterReading
    window_days: int
    warn_from: int
    stop_at: int


@dataclass(frozen=True)
class Overview:
    case: Case
    members: tuple[User, ...]
    subjects: tuple[SubjectMeter, ...]
    justifications: tuple[JustificationRecord, ...]
    abilities: Abilities
    """What the user may do on the case now, each with the reason when not."""


def load_overview(who: Identity, case_id: int) -> Overview:
    with session_for(who) as session:
        case = cases.get_case(session, case_id)
        rules = policy.current(session.casefile)
        meters = tuple(
            SubjectMeter(
                subject,
                viewings.meter_for(session, subject.id),
                rules.meter_window_days,
                rules.meter_warn_from,
                rules.meter_stop_at,
            )
            for subject in cases.list_subjects(session, case_id)
        )
        return Overview(
            case,
            tuple(cases.members(session, case_id)),
            meters,
            tuple(justifications.list_for_case(session, case_id)),
            abilities.abilities(session, case_id),
        )


def load_sources(
    who: Identity,
    case_id: int,
    query: str,
    sort: str,
    descending: bool,
    offset: int,
    limit: int,
) -> browse.SourcePage:
    with session_for(who) as session:
        return browse.source_page(
            session,
            case_id,
            query=query,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
        )


def load_observations(who: Identity, case_id: int) -> list[Observation]:
    with session_for(who) as session:
        return observations.list_for_case(session, case_id)


def load_note(who: Identity, case_id: int) -> Note | None:
    with session_for(who) as session:
        return notes.current(session, case_id)


def load_audit(who: Identity, case_id: int, limit: int = 5000) -> list[AuditEvent]:
    with session_for(who) as session:
        return audit.list_events(session, case_id, limit=limit)


@dataclass(frozen=True)
class FileEvent:
    """One event of the file-wide audit log, with the reference of its case ("" if none)."""

    event: AuditEvent
    case_reference: str


@dataclass(frozen=True)
class FileAuditFilter:
    """What the file-wide audit view asks for: a kind of ``audit.EVENT_KINDS``, who,
    and the days (UK dates as the person picks them; ``until`` included)."""

    kind: str = "all"
    actor: str = ""
    since: date | None = None
    until: date | None = None
    limit: int = 1000


def load_file_audit(who: Identity, wanted: FileAuditFilter) -> tuple[FileEvent, ...]:
    """The file's audit events, newest first, as ``wanted`` filters them."""
    with session_for(who) as session:
        events = audit.list_file_events(
            session,
            kind=wanted.kind,
            actor=wanted.actor or None,
            # The start of a UK day is the end of the one before it.
            since=ethics.end_of_uk_day(wanted.since - timedelta(days=1)) if wanted.since else None,
            until=ethics.end_of_uk_day(wanted.until) if wanted.until else None,
            limit=wanted.limit,
        )
        references = {case.id: case.reference for case in cases.list_cases(session)}
    return tuple(
        FileEvent(e, references.get(e.case_id, f"case {e.case_id}") if e.case_id else "")
        for e in events
    )


@dataclass(frozen=True)
class SourceDetail:
    record: SourceRecord
    subject: str
    observations: tuple[Observation, ...]
    review_exposure: Ability
    """May the user confirm or dismiss the source's exposure findings (and why not)."""


def load_source(who: Identity, source_id: int) -> SourceDetail:
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        record = captures.get(session, source_id)
        return SourceDetail(
            record,
            cases.get_subject(session, record.subject_id).name,
            tuple(observations.list_for_source(session, source_id)),
            abilities.abilities(session, record.case_id).review_exposure,
        )


def review_exposure(who: Identity, finding_id: int, confirmed: bool) -> None:
    """Confirm (``True``) or dismiss (``False``) an exposure finding on a child's page."""
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        captures.review_exposure(session, finding_id, confirmed)


# --- auditing and exporting ------------------------------------------------------------


def verify_case_file(who: Identity) -> VerifyResult:
    """Recompute the audit chain and the evidence hashes; the check itself is logged."""
    with session_for(who) as session:
        return audit.verify(session)  # the session's own store: case file or server


def export_pdf(who: Identity, case_id: int, target: Path) -> Checkpoint:
    from caseview.report import build as report  # local: see the module docstring

    with session_for(who) as session:
        return report.export_pdf(session, case_id, target)


def export_warc(who: Identity, case_id: int, target: Path) -> int:
    """Write the case's captures to ``target``, whole or not at all (atomic_write)."""
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        return captures.export_warc(session, case_id, target)


# --- the justification wizard ---------------------------------------------------------


def _request(session: Session, fields: Mapping[str, object]) -> ethics.Justification:
    """The wizard's fields as a request; an empty basis means the policy's default."""
    data = {key: value for key, value in fields.items() if key in ethics.KEYS}
    if not str(data.get("data_protection_basis", "")).strip():
        data.pop("data_protection_basis", None)
    try:
        return ethics.parse_justification(data, policy=policy.current(session.casefile))
    except ethics.JustificationFormatError as exc:
        raise ValidationError(str(exc)) from exc


@dataclass(frozen=True)
class WizardContext:
    """What the wizard needs to offer choices: the case's people and the policy."""

    case: Case
    subjects: tuple[Subject, ...]
    default_basis: str
    max_validity_days: int
    max_planned_viewings: int


def wizard_context(who: Identity, case_id: int) -> WizardContext:
    with session_for(who) as session:
        rules = policy.current(session.casefile)
        return WizardContext(
            cases.get_case(session, case_id),
            tuple(cases.list_subjects(session, case_id)),
            rules.default_data_protection_basis,
            rules.max_validity_days,
            rules.max_planned_viewings,
        )


def gate_findings(
    who: Identity, case_id: int, fields: Mapping[str, object]
) -> list[ethics.Finding]:
    """What the gate says about the form as it stands (called as the worker types)."""
    with session_for(who) as session:
        return justifications.findings(session, case_id, _request(session, fields))


def save_draft(
    who: Identity,
    case_id: int,
    justification_id: int | None,
    fields: Mapping[str, object],
    answers: Sequence[str] | None = None,
) -> JustificationRecord:
    """A new draft, or the draft changed (a submitted request gets a new version).

    ``answers`` answer, in order, the reasons a manager gave for returning the request.
    """
    with session_for(who) as session:
        request = _request(session, fields)
        if justification_id is None:
            return justifications.create(session, case_id, request)
        record = justifications.edit(session, justification_id, request)
        return _answer(session, record, answers)


def _answer(
    session: Session, record: JustificationRecord, answers: Sequence[str] | None
) -> JustificationRecord:
    if answers is None or record.answering is None:
        return record
    return justifications.answer_return(session, record.id, answers)


def submit_request(
    who: Identity,
    case_id: int,
    justification_id: int | None,
    fields: Mapping[str, object],
    answers: Sequence[str] | None = None,
) -> JustificationRecord:
    """Save the form as a draft, then submit it through the gate (GateRefused if blocked)."""
    with session_for(who) as session:
        request = _request(session, fields)
        if justification_id is None:
            record = justifications.create(session, case_id, request)
        else:
            current = justifications.get(session, justification_id)
            record = (
                current
                if current.status == "draft" and current.request == request
                else justifications.edit(session, justification_id, request)
            )
        record = _answer(session, record, answers)
        return justifications.submit(session, record.id)[0]


# --- the review queue ---------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    record: JustificationRecord
    case_reference: str
    subject_names: tuple[str, ...]
    own: bool
    """The reviewer wrote it, so another manager must decide."""


def load_queue(who: Identity) -> list[QueueEntry]:
    with session_for(who) as session:
        justifications.notice_overdue(session)  # opening the queue is when a lapse matters
        queue = justifications.review_queue(session)
        references = {case.id: case.reference for case in cases.list_cases(session)}
        names = {
            subject.id: subject.name
            for case_id in {record.case_id for record in queue}
            for subject in cases.list_subjects(session, case_id)
        }
        return [
            QueueEntry(
                record,
                references.get(record.case_id, str(record.case_id)),
                tuple(names.get(sid, f"subject {sid}") for sid in record.request.subjects),
                record.author == session.actor,
            )
            for record in queue
        ]


@dataclass(frozen=True)
class QueueCount:
    """What waits for this manager's decision (requests they wrote are left out)."""

    waiting: int
    overdue: int
    """Of ``waiting``, the emergencies past their review window."""


def count_queue(who: Identity) -> QueueCount:
    """How many requests wait for this manager, for the notice at sign-in (reads only)."""
    with session_for(who) as session:
        queue = [r for r in justifications.review_queue(session) if r.author != session.actor]
        return QueueCount(len(queue), sum(1 for r in queue if r.overdue))


def what_is_seen(who: Identity) -> Seen:
    """On a team server: what the person may see, in brief, to tell whether news of a
    change elsewhere touches this window (``caseview.storage.notify``)."""
    from caseview.storage import notify  # local: it needs psycopg, loaded only for a server

    with session_for(who) as session:
        return notify.what_is_seen(session.casefile)


@dataclass(frozen=True)
class ReviewContext:
    """One request on one screen: the text, what the gate says, who was viewed when."""

    record: JustificationRecord
    findings: tuple[ethics.Finding, ...]
    history: tuple[tuple[Subject, tuple[ViewingRecord, ...], ethics.MeterReading], ...]


def load_review_context(who: Identity, justification_id: int) -> ReviewContext:
    with session_for(who) as session:
        record = justifications.get(session, justification_id)
        found = justifications.findings(session, record.case_id, record.request, record.id)
        history = tuple(
            (
                cases.get_subject(session, sid),
                tuple(viewings.list_for_subject(session, sid, limit=50)),
                viewings.meter_for(session, sid),
            )
            for sid in dict.fromkeys(record.request.subjects)
        )
        return ReviewContext(record, tuple(found), history)


def decide(
    who: Identity,
    justification_id: int,
    decision: str,
    reasons: str,
) -> JustificationRecord:
    with session_for(who) as session:
        return justifications.review(session, justification_id, decision, reasons)


# --- capturing ----------------------------------------------------------------------


@dataclass(frozen=True)
class RequestChoice:
    """A request that may be used now (``viewings.requests_open_for``), with its people."""

    record: JustificationRecord
    subjects: tuple[Subject, ...]
    viewings_left: int
    allows_look: bool
    """Whether a look of one's own may use it (a viewing is left); supplied material
    uses no viewing, so every choice allows that."""

    @property
    def label(self) -> str:
        """As listed: ``#3 — 1 of 2 viewings left, valid until 2026-12-08: question…``."""
        request = self.record.request
        question = request.question
        short = question if len(question) <= 60 else question[:59] + "…"
        return (
            f"#{self.record.id} — {self.viewings_left} of {request.planned_viewings} "
            f"viewing{'s' if request.planned_viewings != 1 else ''} left, valid until "
            f"{request.valid_until.isoformat()}: {short}"
        )


@dataclass(frozen=True)
class CaptureChoices:
    """The requests that may be used now, each with the subjects it names."""

    requests: tuple[RequestChoice, ...]
    abilities: Abilities
    """What the user may do on the case: ``capture``, ``import_file``, with reasons."""

    def for_looking(self) -> tuple[RequestChoice, ...]:
        """The requests a look of one's own may go under now (a viewing left)."""
        return tuple(choice for choice in self.requests if choice.allows_look)


def capture_choices(who: Identity, case_id: int) -> CaptureChoices:
    with session_for(who) as session:
        people = {s.id: s for s in cases.list_subjects(session, case_id)}
        open_now = tuple(
            RequestChoice(
                found.record,
                tuple(people[sid] for sid in found.record.request.subjects if sid in people),
                found.viewings_left,
                found.allows_look,
            )
            for found in viewings.requests_open_for(session, case_id)
        )
        return CaptureChoices(open_now, abilities.abilities(session, case_id))


def capture(
    who: Identity,
    case_id: int,
    url: str,
    justification_id: int,
    subject_id: int,
    attested: bool,
    *,
    cancel: Callable[[], bool],
) -> SourceRecord:
    """Capture a public page through the gate; ``cancel()`` stops it between chunks."""
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        return captures.capture_url(
            session,
            case_id,
            url,
            justification_id=justification_id,
            subject_id=subject_id,
            attested=attested,
            cancel=cancel,
        )


def save_evidence(who: Identity, source_id: int, target: Path) -> Path:
    """Write a source's stored bytes, exactly as captured, to ``target`` (logged)."""
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        return captures.export_evidence(session, source_id, target)


def save_source_warc(who: Identity, source_id: int, target: Path) -> Path:
    """Write one source's WARC records as a ``.warc.gz`` (logged), whole or not at all."""
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        captures.export_source_warc(session, source_id, target)
    return target


# --- observations and the note ---------------------------------------------------------


@dataclass(frozen=True)
class ObservationContext:
    """What the observation editor offers: sources to choose from, observations that
    may corroborate, and (when changing one) its earlier versions and its source."""

    sources: browse.SourcePage
    observations: tuple[Observation, ...]
    """The case's current observations (an observation may corroborate another)."""
    history: tuple[Observation, ...]
    """Every version of the observation being changed, oldest first; empty for a new one."""
    source_label: str
    """The source of the observation being changed, in words; empty for a new one."""
    reliance: RelianceContext
    """What the editor passes to ``observations.assess`` to say, as the worker types,
    whether the note will rely on the observation."""


def observation_context(
    who: Identity, case_id: int, observation_id: int | None, query: str = "", limit: int = 200
) -> ObservationContext:
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        page = browse.source_page(
            session, case_id, query=query, sort="captured_at", descending=True, limit=limit
        )
        current = tuple(observations.list_for_case(session, case_id))
        reliance = observations.reliance_context(session, case_id)
        if observation_id is None:
            return ObservationContext(page, current, (), "", reliance)
        versions = tuple(observations.history(session, observation_id))
        record = captures.get(session, versions[-1].source_id)
        label = f"#{record.id} {record.title or record.final_url or record.requested_url}"
        return ObservationContext(page, current, versions, label, reliance)


@dataclass(frozen=True)
class ObservationForm:
    """The observation editor's fields, as the service takes them."""

    text: str
    domain: str
    reliability: str
    credibility: int
    risks: tuple[str, ...] = ()
    corroborates: tuple[int, ...] = ()
    check_what: str = ""
    check_who: str = ""
    check_when: str = ""
    """YYYY-MM-DD, or empty."""
    confirmed_by: str = ""


def save_observation(
    who: Identity, source_id: int, observation_id: int | None, form: ObservationForm
) -> Observation:
    """A new observation on ``source_id``, or a new version of ``observation_id``."""
    with session_for(who) as session:
        if observation_id is None:
            return observations.add(
                session,
                source_id,
                form.text,
                domain=form.domain,
                reliability=form.reliability,
                credibility=form.credibility,
                risks=form.risks,
                corroborates=form.corroborates,
                check_what=form.check_what,
                check_who=form.check_who,
                check_when=form.check_when,
                confirmed_by=form.confirmed_by,
            )
        return observations.revise(
            session,
            observation_id,
            text=form.text,
            domain=form.domain,
            reliability=form.reliability,
            credibility=form.credibility,
            risks=form.risks,
            corroborates=form.corroborates,
            # "" clears a field; None would keep the old value.
            check_what=form.check_what,
            check_who=form.check_who,
            check_when=form.check_when,
            confirmed_by=form.confirmed_by,
        )


class NoteChanged(CaseviewError):
    """Someone saved the note after the editor loaded it; nothing was saved."""

    def __init__(self, newer: Note) -> None:
        super().__init__(
            f"{newer.author_display} ({newer.author}) saved version {newer.version} of the "
            f"note at {newer.saved_at:%H:%M} UTC on {newer.saved_at:%d %B %Y} while you were "
            "writing. Your text is still in the editor."
        )
        self.newer = newer


def save_note(
    who: Identity,
    case_id: int,
    fields: Mapping[str, str],
    based_on: int | None,
    overwrite: bool = False,
) -> Note:
    """Save the note as a new version (the service skips a save that changes nothing).

    ``based_on`` is the version the editor started from (None: there was no note). If
    someone has saved a newer one since, :class:`NoteChanged` is raised unless
    ``overwrite``: the person decides whether theirs replaces it (both stay in the
    history either way). The check is advisory, not a lock: two saves in the same
    instant both land as versions, which the history shows.
    """
    with session_for(who) as session:
        latest = notes.current(session, case_id)
        latest_version = latest.version if latest is not None else None
        if latest is not None and latest_version != based_on and not overwrite:
            raise NoteChanged(latest)
        return notes.save(session, case_id, **fields)


# --- what was kept: a source's artefacts (issue 12) ------------------------------------
# Kept apart from the source's detail (load_source): a picture can be megabytes, and
# the dialog shows the provenance without waiting for it.

if TYPE_CHECKING:
    from caseview.captures import Artefact  # typing only, as SourceRecord above


@dataclass(frozen=True)
class KeptForms:
    """Every kept form of a source, and its picture's bytes if it has one."""

    artefacts: tuple[Artefact, ...]
    picture: bytes | None
    """A rendered capture's screenshot or an imported image (None: the source has none)."""


def load_kept_forms(who: Identity, source_id: int) -> KeptForms:
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        return KeptForms(
            captures.artefacts(session, source_id), captures.picture_of(session, source_id)
        )


def load_artefact(who: Identity, source_id: int, kind: str) -> bytes:
    """The stored bytes of one kept form of the source (e.g. its MHTML)."""
    from caseview import captures  # local: see the module docstring

    with session_for(who) as session:
        return captures.artefact_bytes(session, source_id, kind)
