"""Assemble the reasoned note's data from the case file, and export it as a PDF.

The note is dated by, and certifies, the last audit event that changed the case
(reading, verifying and exporting are logged but change nothing, nor do refused or
failed attempts to view or capture, which store none of the case's material), so
exporting an unchanged case twice gives the same bytes, and the printed checkpoint lets
anyone prove later that the log was not cut short or rewritten.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import collectors
import ethics
from caseview import (
    __version__,
    audit,
    captures,
    cases,
    files,
    justifications,
    notes,
    observations,
    viewings,
)
from caseview import authorisations as authorisations_
from caseview import policy as policies
from caseview.audit import Checkpoint
from caseview.clock import FixedClock, from_iso
from caseview.errors import CaptureError, CaseviewError, PermissionDenied
from caseview.permissions import case_for_reading
from caseview.report import thumbnails
from caseview.report.model import (
    CLASSIFICATION,
    ReportAttempt,
    ReportAuthorisation,
    ReportCancellation,
    ReportCollateral,
    ReportData,
    ReportDecision,
    ReportJustification,
    ReportNote,
    ReportObservation,
    ReportPicture,
    ReportPolicy,
    ReportSource,
)
from caseview.session import Session
from caseview.storage import analysis as sql
from caseview.storage import gate as gate_sql
from caseview.storage import people as people_sql

# Events that record a look at the case, or an attempt that stored none of its material,
# without changing it.
NOT_CHANGES = (
    "export.pdf",
    "export.warc",
    "export.evidence",
    "export.source_warc",
    "integrity.verified",
    "viewing.refused",
    "capture.failed",
)

STATUTORY = {
    "s47": "Children Act 1989 s47 (enquiry: reasonable cause to suspect significant harm)",
    "s17": "Children Act 1989 s17 (child in need assessment)",
    "s31": "Children Act 1989 s31 (care or supervision proceedings)",
    "s20": "Children Act 1989 s20 (accommodation)",
    "missing_child": "Locating a missing child",
    "leaving_care": "Leaving care duties",
    "court_direction": "A court's direction",
    "other": "Other",
}

LIMITATIONS = (
    "A sha256 hash proves that the stored bytes have not changed since they were "
    "captured (for an imported file, since it was imported: not since it was first saved, "
    "nor since it was handed over). It does not prove that the page was genuine, that the "
    "account belongs to the person named, or that what it says is true.",
    "Public posts can be old, shared or reposted from someone else, written in irony or "
    "jest, or missing the context that would change their meaning. The grading of each "
    "observation says how far it can be relied upon; material not relied upon is listed "
    "apart and should not be treated as fact.",
    "Each source's method statement (in the provenance appendix) says how that source was "
    "obtained and which promises were given for the look; the note vouches for nothing "
    "beyond those statements. Absence of material online is not evidence that something "
    "did not happen.",
    "Material supplied by others (family, agencies, colleagues, the public) is marked with "
    "its origin: it was not found by the worker and may have been selected or edited.",
)


_PROMISES = (
    "viewing logged out, using no personal or fake profile, not interacting with anyone "
    "and viewing nothing limited to friends or followers"
)
_SUPPLIERS = {
    "supplied_by_family": "a family member",
    "supplied_by_agency": "a partner agency",
    "supplied_by_colleague": "a colleague in the authority",
    "supplied_by_public": "a member of the public",
}


def method_statement(source: captures.SourceRecord) -> str:
    """What the note may say of how one source was obtained: no more than was recorded."""
    if source.origin != "self_collected":
        who = source.supplied_by or "someone not named"
        kind = _SUPPLIERS.get(source.origin, "someone else")
        said = (
            f"Supplied by {who} ({kind}); not found by the worker. What is known of how it "
            "was gathered is only what the supplier said; nothing is known of whether it was "
            "viewed logged out, and it may have been selected or edited."
        )
        if source.origin == "supplied_by_colleague":
            said += (
                " A colleague's look is the authority's own (Home Office Code 3.17), so it "
                "counts on the repeat-viewing meter."
            )
        return said
    if source.method == "http":
        how = "Captured by Caseview from the public address, without logging in"
    elif source.method == "rendered":
        # The same record comes from the evidence browser's window and from a headless
        # ``capture --render``: the note must not say the worker saw the page.
        how = (
            "Captured by Caseview's own browser, which loaded and drew the page as a browser "
            "shows it (in the evidence browser's window or headless)"
        )
    else:
        how = "Saved by the worker from their own look and imported"
    if source.attested:
        return f"{how}; for this look the worker confirmed {_PROMISES}."
    return (
        f"{how}. No promise about how it was viewed was recorded for this look, so the "
        "note does not say it was viewed logged out."
    )


def _picture(session: Session, source: captures.SourceRecord) -> ReportPicture | None:
    """The source's picture (a rendered capture's screenshot, an imported image), shrunk
    for the note, or why it could not be; None for a source without one."""
    kept = next((a for a in captures.artefacts(session, source.id) if a.kind == "screenshot"), None)
    if kept is None:
        return None
    kind = "screenshot" if source.method == "rendered" else "image"
    full_height = kept.details.get("full_height")
    page_height = full_height if kept.details.get("cut") and isinstance(full_height, int) else None
    said = ReportPicture(kind, kept.sha256, None, page_height=page_height)
    try:
        content = captures.artefact_bytes(session, source.id, "screenshot")
    except CaptureError:
        return dataclasses.replace(
            said, problem="it is missing from the case file (run 'caseview verify')"
        )
    if hashlib.sha256(content).hexdigest() != kept.sha256:
        return dataclasses.replace(
            said,
            problem="its stored bytes no longer match the SHA-256 recorded when it was kept "
            "(run 'caseview verify')",
        )
    try:
        made = thumbnails.make(content)
    except thumbnails.NoThumbnail as exc:
        return dataclasses.replace(said, problem=str(exc))
    return dataclasses.replace(
        said,
        thumbnail=made.jpeg,
        thumbnail_width=made.width,
        thumbnail_height=made.height,
        width=made.source_width,
        height=made.source_height,
        top_only=made.top_only,
    )


def checkpoint_for(session: Session, case_id: int) -> tuple[Checkpoint, str]:
    """The last event that changed the case: (checkpoint, its time as stored)."""
    case_for_reading(session, case_id)
    row = sql.last_case_event(session.casefile.conn, case_id, NOT_CHANGES)
    if row is None:
        raise CaseviewError(f"Case {case_id} has no recorded events; nothing to report.")
    return Checkpoint(int(row["seq"]), str(row["hash"])), str(row["at"])


# Refused and failed attempts listed under one request; the rest are counted.
ATTEMPTS_SHOWN = 50
# How many of each person's viewings are read to find them (newest first).
ATTEMPTS_READ = 100_000


def _attempts(
    session: Session, case_id: int, subject_ids: list[int]
) -> dict[int, list[viewings.ViewingRecord]]:
    """Every refused or failed attempt under each of the case's requests, oldest first."""
    found: dict[int, list[viewings.ViewingRecord]] = defaultdict(list)
    seen: set[int] = set()
    for subject_id in subject_ids:
        for v in viewings.list_for_subject(session, subject_id, ATTEMPTS_READ):
            if (
                v.case_id == case_id
                and v.justification_id is not None
                and v.outcome in ("refused", "failed")
                and v.id not in seen
            ):
                seen.add(v.id)
                found[v.justification_id].append(v)
    for listed in found.values():
        listed.sort(key=lambda v: (v.at, v.id))
    return found


def _from_log(
    session: Session, case_id: int, last_seq: int, displays: dict[str, str]
) -> tuple[dict[int, ReportCancellation], set[int]]:
    """What only the audit log says, up to the checkpoint: who cancelled each cancelled
    request, when and why; and which refused or failed attempts it records.

    Attempts change nothing, so they never move the checkpoint: one made after it is
    left to the next note, so that re-exporting an unchanged case gives the same bytes.
    """
    cancelled: dict[int, ReportCancellation] = {}
    attempts: set[int] = set()
    after = 0
    while after < last_seq:
        page = audit.list_events(session, case_id, limit=1000, after=after)
        for event in page:
            if event.seq > last_seq or event.entity_id is None:
                continue
            if event.action == "justification.cancelled":
                cancelled[int(event.entity_id)] = ReportCancellation(
                    by=_who(event.actor, displays.get(event.actor)),
                    at=event.at,
                    reason=str(event.data.get("reason", "")).strip(),
                )
            elif event.action in ("viewing.refused", "capture.failed"):
                attempts.add(int(event.entity_id))
        if not page:
            break
        after = page[-1].seq
    return cancelled, attempts


def _who(username: str, display: str | None) -> str:
    return f"{display} ({username})" if display and display != username else username


def _setting(value: object) -> str:
    """A policy value as the note prints it."""
    if isinstance(value, tuple | list):
        return "; ".join(f'"{v}"' for v in value) or "(none)"
    return str(value)


def _policy_at(session: Session, moment: datetime, displays: dict[str, str]) -> ReportPolicy:
    """The policy in force at the note's date (not now: the note must not change with it)."""
    held = policies.in_force(session.casefile, moment)
    return ReportPolicy(
        name=held.name,
        sha256=held.sha256,
        shipped_defaults=held.shipped_defaults,
        differences=tuple((k, _setting(v)) for k, v in held.differences.items()),
        set_by=_who(held.set_by, displays.get(held.set_by)) if held.set_by else None,
        confirmed_by=(
            _who(held.confirmed_by, displays.get(held.confirmed_by)) if held.confirmed_by else None
        ),
    )


def _authorisations(
    session: Session, case_id: int, moment: datetime, displays: dict[str, str]
) -> tuple[ReportAuthorisation, ...]:
    """Confirmed authorisations on the case's requests, as they stood at the note's date."""
    day = authorisations_.uk_day(moment)
    return tuple(
        ReportAuthorisation(
            id=a.id,
            justification_id=a.justification_id,
            reference=a.reference,
            officer=a.officer,
            magistrate_approved_on=a.magistrate_approved_on.isoformat(),
            expires_on=a.expires_on.isoformat(),
            person=a.subject_name,
            recorded_by=_who(a.recorded_by, displays.get(a.recorded_by)),
            confirmed_by=_who(a.confirmed_by, displays.get(a.confirmed_by)),
            expired=day > a.expires_on,
        )
        for a in authorisations_.list_for_case(session, case_id)
        if a.confirmed_by is not None and a.confirmed_at is not None and a.confirmed_at <= moment
    )


def build(session: Session, case_id: int) -> ReportData:
    """The note's data: the case as its checkpoint certifies it.

    Everything is read in one snapshot, the checkpoint first: a change committed while
    the note is being built (by anyone) is in neither, so the note never shows material
    its checkpoint does not vouch for. Building writes nothing.
    """
    with session.casefile.read():
        return _build(session, case_id)


def _build(session: Session, case_id: int) -> ReportData:
    case_for_reading(session, case_id)
    checkpoint, at = checkpoint_for(session, case_id)
    conn = session.casefile.conn
    case = cases.get_case(session, case_id)
    subjects = cases.list_subjects(session, case_id)
    names = {s.id: s.name for s in subjects}
    displays = {str(r["username"]): str(r["display_name"]) for r in people_sql.list_users(conn)}
    sources = captures.list_for_case(session, case_id, with_text=False)  # the note shows none
    note = notes.current(session, case_id)
    # Judged, like the policy section, under the policy in force at the note's date.
    dated = from_iso(at)
    obs = observations.list_for_case(session, case_id, dated)

    used = {s.justification_id for s in sources}
    attempts = _attempts(session, case_id, [s.id for s in subjects])
    # A request's status ("approved" or "expired", an emergency live or overdue) as it
    # stood at the note's date: a note of an unchanged case must not change with the day.
    as_dated = dataclasses.replace(session, clock=FixedClock(dated))
    # A request anything was done or tried under stays in the note, even if it was later
    # cancelled: the note must not say no request was recorded for a look that was made.
    every = justifications.list_for_case(as_dated, case_id)
    cancelled: dict[int, ReportCancellation] = {}
    if attempts or any(r.status == "cancelled" for r in every):
        cancelled, vouched = _from_log(session, case_id, checkpoint.seq, displays)
        attempts = {
            j: kept
            for j, listed in attempts.items()
            if (kept := [v for v in listed if v.id in vouched])
        }
    rules = policies.in_force(session.casefile, dated).policy
    looks = {r.id: gate_sql.completed_under(conn, r.id) for r in every}
    records = [
        r
        for r in every
        if r.id in used or looks[r.id] or r.id in attempts or r.status not in ("draft", "cancelled")
    ]
    report_justifications = tuple(
        ReportJustification(
            id=r.id,
            version=r.version,
            author=_who(r.author, displays.get(r.author)),
            subjects=tuple(names.get(i, f"subject {i}") for i in r.request.subjects),
            statutory_function=STATUTORY.get(
                r.request.statutory_function, r.request.statutory_function
            )
            + (
                f": {r.request.statutory_function_other}"
                if r.request.statutory_function_other
                else ""
            ),
            data_protection_basis=r.request.data_protection_basis,
            question=r.request.question,
            safety_case=r.request.safety_case,
            ethics_case=r.request.ethics_case,
            balance=r.request.balance,
            less_intrusive_considered=r.request.less_intrusive_considered,
            why_not_enough=r.request.why_not_enough,
            proportionality=r.request.proportionality,
            intrusion_level=r.request.intrusion_level,
            collateral_intrusion=r.request.collateral_intrusion,
            scope=r.request.scope_hosts + r.request.scope_urls,
            planned_viewings=r.request.planned_viewings,
            valid_until=r.request.valid_until.isoformat(),
            family_told=r.request.family_told,
            family_told_reason=r.request.family_told_reason,
            emergency=r.request.emergency,
            emergency_reason=r.request.emergency_reason,
            status=r.status,
            content_hash=r.content_hash or "",
            decisions=tuple(
                ReportDecision(
                    _who(d.reviewer, d.reviewer_name),
                    justifications.DECISIONS.get(d.decision, d.decision),
                    d.reasons,
                    d.at,
                )
                for d in r.decisions
            ),
            authorisation_ref=r.authorisation_ref,
            emergency_state=r.emergency_state,
            looks_made=looks[r.id],
            cancelled=cancelled.get(r.id, ReportCancellation("not recorded", None, ""))
            if r.status == "cancelled"
            else None,
            submitted_at=r.submitted_at,
            supersedes=r.supersedes,
            review_due=(
                ethics.emergency_review_due(r.submitted_at, rules)
                if r.request.emergency and r.submitted_at is not None
                else None
            ),
            attempts=tuple(
                ReportAttempt(
                    at=v.at,
                    by=_who(v.user, displays.get(v.user)),
                    kind=v.kind,
                    url=v.url,
                    outcome=v.outcome,
                    rule=v.rule,
                    message=v.message,
                )
                for v in attempts.get(r.id, [])[:ATTEMPTS_SHOWN]
            ),
            attempts_left_out=max(0, len(attempts.get(r.id, [])) - ATTEMPTS_SHOWN),
        )
        for r in records
    )
    gradings: dict[int, list[str]] = defaultdict(list)
    for o in obs:
        gradings[o.source_id].append(o.grading)
    # The service judged each observation (ethics.assess_reliance): a relied-upon finding
    # names what corroborates it, the rest say why they are not relied upon.
    report_observations = tuple(
        ReportObservation(
            id=o.id,
            source_id=o.source_id,
            text=o.text,
            domain=o.domain,
            reliability=o.reliability,
            credibility=o.credibility,
            uk_equivalent=o.uk_equivalent,
            risks=o.risks,
            corroboration=o.supported_by,
            relied_upon=o.relied_upon,
            author=_who(o.author, displays.get(o.author)),
            recorded_at=o.created_at,
            reliance=o.reliance_reasons[1:] if o.relied_upon else o.reliance_reasons,
        )
        for o in obs
    )
    report_sources = tuple(
        ReportSource(
            id=s.id,
            url=s.requested_url,
            final_url=s.final_url,
            title=s.title,
            captured_at=s.captured_started_at,
            captured_by=_who(s.captured_by, displays.get(s.captured_by)),
            method=s.method,
            origin=s.origin,
            supplied_by=s.supplied_by,
            sha256=s.body_sha256,
            size=s.body_size,
            justification_id=s.justification_id,
            grading=", ".join(sorted(gradings[s.id])) or "not graded",
            published=s.published_at,
            viewed_at=s.viewed_at,
            method_statement=method_statement(s),
            gone_status=s.gone_status,
            http_status=s.http_status,
            picture=_picture(session, s),
        )
        for s in sources
    )
    report_collateral = tuple(
        ReportCollateral(
            source_id=s.id,
            kind=collectors.COLLATERAL_KINDS[e.kind],
            value=e.value,
            context=e.context,
            review="not yet reviewed"
            if e.confirmed is None
            else f"{'confirmed' if e.confirmed else 'dismissed'} by "
            + _who(e.reviewed_by or "", displays.get(e.reviewed_by or "")),
        )
        for s in sources
        for e in s.exposure
        if collectors.is_collateral(e.kind)
    )
    report_note = None
    if note is not None:
        report_note = ReportNote(
            author=_who(note.author, note.author_display),
            analysis=note.analysis,
            balance=note.balance,
            conclusion=note.conclusion,
            evaluation_useful=note.evaluation_useful,
            evaluation_decision=note.evaluation_decision,
            evaluation_family_told=note.evaluation_family_told,
            evaluation_family_response=note.evaluation_family_response,
        )
    return ReportData(
        case_reference=case.reference,
        case_title=case.title,
        classification=CLASSIFICATION,
        subjects=tuple((s.name, s.role.value) for s in subjects),
        author=report_note.author if report_note else "(no note written yet)",
        dated=from_iso(at),
        checkpoint_seq=checkpoint.seq,
        checkpoint_hash=checkpoint.hash,
        case_file_name=session.casefile.label,
        tool=f"caseview {__version__}",
        justifications=report_justifications,
        observations=report_observations,
        sources=report_sources,
        policy=_policy_at(session, from_iso(at), displays),
        authorisations=_authorisations(session, case_id, from_iso(at), displays),
        collateral=report_collateral,
        note=report_note,
        limitations=(
            *LIMITATIONS,
            ethics.rules_text(policies.in_force(session.casefile, dated).policy),
        ),
    )


def export_pdf(session: Session, case_id: int, target: Path) -> Checkpoint:
    """Write the note to ``target`` (atomically) and log the export; returns the checkpoint."""
    from caseview.report.pdf import render_pdf  # local: reportlab loads only to export

    if session.role.value not in ("worker", "manager", "auditor"):
        raise PermissionDenied("This account cannot export notes.", rule="role")
    # Before the work: a device, a folder or the case file itself is refused now.
    files.check_target(target, case_file=session.casefile.path)
    case_for_reading(session, case_id)  # a refused export notices nothing either
    # Before the checkpoint: a lapse noticed now is in this note's checkpoint, so a second
    # export of the unchanged case finds nothing new and gives the same bytes.
    justifications.notice_overdue(session)
    data = build(session, case_id)
    pdf = render_pdf(data)
    written = files.Written()
    checkpoint = Checkpoint(data.checkpoint_seq, data.checkpoint_hash)

    def record() -> None:  # before the note takes its name: no note the log lacks
        audit.record_alone(
            session.casefile,
            at=session.now(),
            actor=session.actor,
            action="export.pdf",
            entity="case",
            entity_id=case_id,
            case_id=case_id,
            data={"checkpoint": str(checkpoint), "bytes": len(pdf), **written.audit_data()},
        )

    with files.atomic_write(
        target, written, case_file=session.casefile.path, before_rename=record
    ) as handle:
        handle.write(pdf)
    return checkpoint
