"""Commands for the ethics gate: justifications, looks, the meter and the policy."""

from __future__ import annotations

import argparse
import codecs
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path

import ethics
from caseview import authorisations, files, justifications, persons, policy, viewings
from caseview.authorisations import Authorisation
from caseview.cli.io import Output, table, when
from caseview.cli.session import case_id, open_session
from caseview.errors import UsageError, ValidationError
from caseview.justifications import JustificationRecord

# A justification or policy file is a page or two of TOML; anything near this is not one,
# and must not be read into memory (a 1 GB file, /dev/zero) to find that out.
TOML_FILE_CAP = 1024 * 1024


# Where to start a file that is not there yet, by what it is for.
_START_REQUEST = "Start from 'caseview justification template -o FILE'."
_START_POLICY = "Start from the policy that 'caseview policy show' prints."


def _read(path: str, start: str = _START_REQUEST) -> str:
    """A justification or policy file's text: a regular file, at most 1 MB, UTF-8
    (a byte-order mark, as some Windows editors write, is accepted) or UTF-16 with its
    byte-order mark. ``start`` says where a missing one may be started from."""
    if not Path(path).exists() and not Path(path).is_symlink():
        raise UsageError(f"There is no file {path}. {start}")
    data = files.read_regular_file(path, TOML_FILE_CAP, "TOML file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows Notepad's "Unicode" (UTF-16 with its byte-order mark): the same text.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: said below, as for any other unreadable file
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path} is not UTF-8 text (byte {exc.start} cannot be read). Save it as UTF-8 "
            "text and try again."
        ) from None


def _read_request(path: str) -> str:
    """A justification file's text; an empty one is said to be empty (the gate would
    only list its first missing key)."""
    text = _read(path)
    if not text.strip():
        raise ValidationError(
            f"{path} is empty. Fill in the form that 'caseview justification template -o "
            "FILE' writes, and give that file."
        )
    return text


def finding_dict(f: ethics.Finding) -> dict[str, object]:
    return {
        "code": f.code,
        "severity": f.severity.value,
        "message": f.message,
        "reference": f.reference,
        "field": f.field,
    }


def findings_text(found: Sequence[ethics.Finding]) -> str:
    if not found:
        return "The gate has nothing to say: no findings."
    return "\n".join(
        f"{f.severity.value.upper():5}  [{f.field or 'request'}] {f.message} ({f.reference})"
        for f in found
    )


def record_dict(
    r: JustificationRecord, found: list[ethics.Finding] | None = None
) -> dict[str, object]:
    obj: dict[str, object] = {
        "id": r.id,
        "case_id": r.case_id,
        "author": r.author,
        "version": r.version,
        "supersedes": r.supersedes,
        "status": r.status,
        "emergency": r.request.emergency,
        "emergency_state": r.emergency_state,
        "overdue": r.overdue,
        "hash": r.content_hash,
        "content_hash": r.content_hash,
        "created_at": r.created_at.isoformat(),
        "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "authorisation_ref": r.authorisation_ref,
        "authorised_by": r.authorised_by,
        "request": ethics.canonical_dict(r.request),
        "decisions": [{**asdict(d), "at": d.at.isoformat()} for d in r.decisions],
    }
    obj["answering"] = _answering_dict(r)
    if found is not None:
        obj["findings"] = [finding_dict(f) for f in found]
    return obj


def _answering_dict(r: JustificationRecord) -> dict[str, object] | None:
    """The return this version answers: each reason beside its answer."""
    a = r.answering
    if a is None:
        return None
    return {
        "returned": a.returned_id,
        "returned_version": a.returned_version,
        "reviewer": a.reviewer,
        "at": a.at.isoformat(),
        "items": [{"reason": i.reason, "answer": i.answer} for i in a.items],
    }


def answering_text(r: JustificationRecord) -> list[str]:
    """The manager's reasons for returning the earlier version, each with its answer."""
    a = r.answering
    if a is None:
        return []
    lines = [
        "",
        f"Returned by {a.reviewer} at {when(a.at)} (version {a.returned_version}); "
        "each reason and the answer to it:",
    ]
    for number, item in enumerate(a.items, start=1):
        lines.append(f"  {number}. Reason: {item.reason}")
        lines.append(f"     Answer: {item.answer or '(not answered yet)'}")
    return lines


def _status_text(r: JustificationRecord) -> str:
    text = r.status
    if r.emergency_state == "overdue":
        text += " - EMERGENCY OVERDUE FOR REVIEW"
    elif r.emergency_state == "live":
        text += " - emergency, usable now, review due"
    return text


def record_text(r: JustificationRecord, found: list[ethics.Finding]) -> str:
    q = r.request
    lines = [
        f"Justification {r.id} (version {r.version}) for case {r.case_id}, by {r.author}",
        f"Status: {_status_text(r)}",
        f"Content hash: {r.content_hash or '(set when submitted)'}",
        f"Statutory function: {q.statutory_function} {q.statutory_function_other}".rstrip(),
        f"Question: {q.question}",
        f"Safety case: {q.safety_case}",
        f"Ethics case: {q.ethics_case}",
        f"Balance: {q.balance}",
        f"Scope: {', '.join(q.scope_hosts + q.scope_urls) or '(none)'}; planned viewings "
        f"{q.planned_viewings}; valid until the end of {q.valid_until} (UK time)",
    ]
    if r.submitted_at is not None:
        lines.append(f"Submitted: {when(r.submitted_at)}")
    if r.authorisation_ref:
        lines.append(
            f"Legacy authorisation note: {r.authorisation_ref} (free text from an older "
            "version; it lifts nothing)"
        )
    for d in r.decisions:
        lines.append(
            f"Decision: {d.decision} by {d.reviewer} at {when(d.at)}"
            + (f": {d.reasons}" if d.reasons else "")
        )
    lines += answering_text(r)
    lines += ["", "Gate findings:", findings_text(found)]
    return "\n".join(lines)


def template(args: argparse.Namespace, out: Output) -> int:
    text = justifications.template()
    if args.output:
        target = files.check_target(Path(args.output))
        if target.exists():
            raise UsageError(
                f"{target} already exists; choose another name so nothing is overwritten."
            )
        with files.atomic_write(target) as handle:
            handle.write(text.encode("utf-8"))
        out.result({"path": str(target)}, str(target))
    else:
        out.result({"template": text}, text)
    return 0


def new(args: argparse.Namespace, out: Output) -> int:
    text = _read_request(args.file)
    with open_session(args) as session:
        record = justifications.create_from_toml(session, case_id(session, args.case), text)
        found = justifications.findings(session, record.case_id, record.request, record.id)
    out.result({**record_dict(record, found)}, str(record.id))
    if ethics.blocking(found):
        out.note(
            f"Draft {record.id} stored. Before it can be submitted, fix:\n"
            + findings_text(ethics.blocking(found))
        )
    return 0


def edit(args: argparse.Namespace, out: Output) -> int:
    text = _read_request(args.file)
    with open_session(args) as session:
        request = justifications.parse(session, text)
        record = justifications.edit(session, args.id, request)
    out.result(record_dict(record), str(record.id))
    if record.id != args.id:
        out.note(
            f"Justification {args.id} was already submitted, so this is a new version: {record.id}."
        )
    return 0


def check(args: argparse.Namespace, out: Output) -> int:
    text = _read_request(args.file)
    with open_session(args) as session:
        request = justifications.parse(session, text)
        found = justifications.findings(session, case_id(session, args.case), request)
    blocked = bool(ethics.blocking(found))
    out.result(
        {"may_submit": not blocked, "findings": [finding_dict(f) for f in found]},
        findings_text(found),
    )
    return 3 if blocked else 0


def submit(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        record, found = justifications.submit(session, args.id)
    out.result(
        record_dict(record, found),
        f"Justification {record.id} submitted; hash {record.content_hash}.",
    )
    if record.emergency_state == "live":
        out.note(
            "This emergency request is usable now; a manager must review it within "
            "the policy window."
        )
    return 0


def review(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        record = justifications.review(session, args.id, args.decision, args.reason)
    out.result(record_dict(record), f"Justification {record.id} is {record.status}.")
    return 0


def answer(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        record = justifications.answer_return(session, args.id, args.answer)
    out.result(record_dict(record), f"Answers recorded on justification {record.id}.")
    items = record.answering.items if record.answering else ()
    blank = [str(n) for n, item in enumerate(items, start=1) if not item.answer]
    if blank:
        out.note(f"Reason(s) {', '.join(blank)} still have no answer; submitting will be refused.")
    return 0


def show(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        record = justifications.get(session, args.id)
        found = justifications.findings(session, record.case_id, record.request, record.id)
        held = authorisations.list_for_justification(session, args.id)
        now = session.now()
    text = record_text(record, found)
    if held:
        text += "\n\nSurveillance authorisations:\n" + "\n".join(
            authorisation_line(a, now) for a in held
        )
    else:
        text += "\n\nSurveillance authorisations: none recorded."
    out.result(
        {
            **record_dict(record, found),
            "authorisations": [authorisation_dict(a, now) for a in held],
        },
        text,
    )
    return 0


def _rows(records: list[JustificationRecord]) -> list[list[object]]:
    return [
        [
            r.id,
            r.case_id,
            r.version,
            _status_text(r),
            r.author,
            r.request.valid_until,
            r.request.question[:60],
        ]
        for r in records
    ]


def list_(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        records = justifications.list_for_case(session, case_id(session, args.case))
    out.result(
        {"justifications": [record_dict(r) for r in records]},
        table(["id", "case", "v", "status", "author", "valid until", "question"], _rows(records))
        if records
        else "No justifications yet.",
    )
    return 0


def queue(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        justifications.notice_overdue(session)
        records = justifications.review_queue(session)
    out.result(
        {"queue": [record_dict(r) for r in records]},
        table(["id", "case", "v", "status", "author", "valid until", "question"], _rows(records))
        if records
        else "Nothing waiting for review.",
    )
    return 0


def cancel(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        record = justifications.cancel(session, args.id, args.reason)
    out.result(record_dict(record), f"Justification {record.id} is cancelled.")
    return 0


def authorisation_dict(a: Authorisation, now: datetime) -> dict[str, object]:
    return {
        "id": a.id,
        "justification_id": a.justification_id,
        "case_id": a.case_id,
        "subject_id": a.subject_id,
        "subject": a.subject_name,
        "reference": a.reference,
        "officer": a.officer,
        "magistrate_approved_on": a.magistrate_approved_on.isoformat(),
        "expires_on": a.expires_on.isoformat(),
        "recorded_by": a.recorded_by,
        "recorded_at": a.recorded_at.isoformat(),
        "confirmed_by": a.confirmed_by,
        "confirmed_at": a.confirmed_at.isoformat() if a.confirmed_at else None,
        "status": a.status(now),
    }


def authorisation_line(a: Authorisation, now: datetime) -> str:
    confirmed = f", confirmed by {a.confirmed_by}" if a.confirmed_by else ""
    return (
        f"  {a.id}: {a.reference} ({a.status(now).upper()}) covering {a.subject_name} "
        f"(subject {a.subject_id}); authorising officer {a.officer}; magistrate approved "
        f"{a.magistrate_approved_on}; expires end of {a.expires_on} (UK); recorded by "
        f"{a.recorded_by}{confirmed}"
    )


def authorise(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        made = authorisations.record(
            session,
            args.id,
            reference=args.reference,
            officer=args.officer,
            magistrate_approved_on=args.magistrate_approved,
            expires_on=args.expires,
            subject_id=args.subject,
        )
        now = session.now()
    out.result(authorisation_dict(made, now), str(made.id))
    out.note(
        f"Authorisation {made.id} ({made.reference}) is recorded on justification "
        f"{made.justification_id} and awaits confirmation: it lifts nothing until another "
        f"manager runs 'caseview authorisation confirm {made.id}'."
    )
    return 0


def authorisation_confirm(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        made = authorisations.confirm(session, args.id)
        now = session.now()
    out.result(
        authorisation_dict(made, now),
        f"Authorisation {made.id} ({made.reference}) is confirmed and in force for "
        f"{made.subject_name} until the end of {made.expires_on} (UK).",
    )
    return 0


def authorisation_list(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        held = authorisations.list_for_case(session, case_id(session, args.case))
        now = session.now()
    out.result(
        {"authorisations": [authorisation_dict(a, now) for a in held]},
        table(
            ["id", "request", "reference", "person", "officer", "approved", "expires", "status"],
            [
                [
                    a.id,
                    a.justification_id,
                    a.reference,
                    a.subject_name,
                    a.officer,
                    a.magistrate_approved_on,
                    a.expires_on,
                    a.status(now),
                ]
                for a in held
            ],
        )
        if held
        else "No surveillance authorisations recorded for this case.",
    )
    return 0


def view(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        viewing_id, permission = viewings.record_view(
            session,
            case_id(session, args.case),
            args.justification,
            args.subject,
            args.url,
            attested=args.attest,
        )
    out.result({"id": viewing_id, "warning": permission.warning}, str(viewing_id))
    if permission.warning:
        out.note(permission.warning)
    return 0


def meter(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        reading = viewings.meter_for(session, args.subject)
        history = viewings.list_for_subject(session, args.subject)
        same = persons.same_person(session, args.subject)
    others = [s for s in same.subject_ids if s != args.subject]
    out.result(
        {
            "subject": args.subject,
            "person": same.person,
            "same_person_subjects": list(same.subject_ids),
            "months_with_looks": reading.months,
            "count_in_window": reading.count_in_window,
            "state": reading.state,
            "message": reading.message,
            "reference": reading.reference,
            "viewings": [{**asdict(v), "at": v.at.isoformat()} for v in history],
        },
        f"{reading.count_in_window} completed viewing(s) in the window; next look: "
        f"{reading.state}. {reading.message}\n"
        + (
            f"The same person is also subject {', '.join(map(str, others))}; looks at them "
            "count here too.\n"
            if others
            else ""
        )
        + "\n"
        + (
            table(
                ["at (UTC)", "user", "kind", "outcome", "rule", "url"],
                [
                    [f"{v.at:%Y-%m-%d %H:%M}", v.user, v.kind, v.outcome, v.rule or "", v.url]
                    for v in history
                ],
            )
            if history
            else "No viewings recorded."
        ),
    )
    return 0


def _policy_summary(record: policy.PolicyRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "name": record.name,
        "sha256": record.sha256,
        "status": record.status,
        "shipped_defaults": record.shipped_defaults,
        "set_by": record.set_by,
        "set_at": record.set_at.isoformat() if record.set_at else None,
        "confirmed_by": record.confirmed_by,
        "confirmed_at": record.confirmed_at.isoformat() if record.confirmed_at else None,
        "differences": {k: _plain(v) for k, v in record.differences.items()},
        "loosened": list(record.loosened),
    }


def policy_show(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        record = policy.in_force(session.casefile)
        waiting = policy.pending(session.casefile)
    rules = record.policy
    settings = {f.name: _plain(getattr(rules, f.name)) for f in fields(rules)}
    if record.shipped_defaults:
        head = (
            f"In force: '{record.name}', the shipped defaults, never changed (sha256 "
            f"{record.sha256}, of the empty overrides text)."
        )
    else:
        head = f"In force: policy {record.id}, '{record.name}' (sha256 {record.sha256})."
    lines = [head, ""]
    lines += [
        f"{k} = {v}"
        for k, v in settings.items()
        if k not in ("boilerplate_phrases", "mitigation_cues")
    ]
    for p in waiting:
        lines += [
            "",
            f"Waiting for a second manager: policy {p.id}, '{p.name}', proposed by {p.set_by}; "
            f"it loosens {', '.join(p.loosened) or 'nothing now'}. Another manager confirms it "
            f"with 'caseview policy confirm {p.id}'.",
        ]
    out.result(
        {
            "policy": settings,
            "overrides": record.toml,
            "in_force": _policy_summary(record),
            "pending": [_policy_summary(p) for p in waiting],
        },
        "\n".join(lines),
    )
    return 0


def _plain(value: object) -> object:
    """Policy values as JSON-friendly types (tuples as lists, mappings as dicts)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def policy_set(args: argparse.Namespace, out: Output) -> int:
    text = _read(args.file, _START_POLICY)
    with open_session(args) as session:
        record = policy.set_policy(session, text)
    if record.status == policy.PENDING:
        message = (
            f"Policy {record.id} ('{record.name}') is NOT in force yet: it loosens "
            f"{', '.join(record.loosened)}, and loosening the gate takes a second manager. "
            f"The policy in force is unchanged until another manager runs "
            f"'caseview policy confirm {record.id}'."
        )
    else:
        message = f"Policy {record.id} ('{record.name}') is now in force."
    out.result({**_policy_summary(record), "policy": record.name}, message)
    return 0


def policy_confirm(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        record = policy.confirm_policy(session, args.id)
    out.result(
        {**_policy_summary(record), "policy": record.name},
        f"Policy {record.id} ('{record.name}') is confirmed and now in force.",
    )
    return 0


HANDLERS = {
    ("justification", "template"): template,
    ("justification", "new"): new,
    ("justification", "edit"): edit,
    ("justification", "check"): check,
    ("justification", "submit"): submit,
    ("justification", "review"): review,
    ("justification", "show"): show,
    ("justification", "answer"): answer,
    ("justification", "list"): list_,
    ("justification", "queue"): queue,
    ("justification", "cancel"): cancel,
    ("justification", "authorise"): authorise,
    ("view", None): view,
    ("meter", None): meter,
    ("policy", "show"): policy_show,
    ("policy", "set"): policy_set,
    ("policy", "confirm"): policy_confirm,
    ("authorisation", "confirm"): authorisation_confirm,
    ("authorisation", "list"): authorisation_list,
}
