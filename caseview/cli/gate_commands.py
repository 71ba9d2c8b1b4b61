"""Commands for the ethics gate: justifications, looks, the meter and the policy."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from pathlib import Path

import ethics
from caseview import justifications, policy, viewings
from caseview.cli.io import Output, table
from caseview.cli.session import case_id, open_session
from caseview.errors import UsageError
from caseview.justifications import JustificationRecord


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"There is no file {path}. Start from 'caseview justification template -o FILE'."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read {path} ({exc}). Save it as UTF-8 text.") from None


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
    if found is not None:
        obj["findings"] = [finding_dict(f) for f in found]
    return obj


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
        f"{q.planned_viewings}; valid until {q.valid_until}",
    ]
    if r.authorisation_ref:
        lines.append(
            f"Surveillance authorisation: {r.authorisation_ref} (recorded by {r.authorised_by})"
        )
    for d in r.decisions:
        lines.append(
            f"Decision: {d.decision} by {d.reviewer} at {d.at:%Y-%m-%d %H:%M} UTC"
            + (f": {d.reasons}" if d.reasons else "")
        )
    lines += ["", "Gate findings:", findings_text(found)]
    return "\n".join(lines)


def template(args: argparse.Namespace, out: Output) -> int:
    text = justifications.template()
    if args.output:
        target = Path(args.output)
        if target.exists():
            raise UsageError(
                f"{target} already exists; choose another name so nothing is overwritten."
            )
        target.write_text(text, encoding="utf-8")
        out.result({"path": str(target)}, str(target))
    else:
        out.result({"template": text}, text)
    return 0


def new(args: argparse.Namespace, out: Output) -> int:
    text = _read(args.file)
    with open_session(args) as session:
        record = justifications.create_from_toml(session, case_id(session, args.case), text)
        found = justifications.findings(session, record.case_id, record.request)
    out.result({**record_dict(record, found)}, str(record.id))
    if ethics.blocking(found):
        out.note(
            f"Draft {record.id} stored. Before it can be submitted, fix:\n"
            + findings_text(ethics.blocking(found))
        )
    return 0


def edit(args: argparse.Namespace, out: Output) -> int:
    text = _read(args.file)
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
    text = _read(args.file)
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
        record = justifications.review(
            session, args.id, args.decision, args.reason, authorisation_ref=args.authorisation_ref
        )
    out.result(record_dict(record), f"Justification {record.id} is {record.status}.")
    return 0


def show(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        record = justifications.get(session, args.id)
        found = justifications.findings(
            session, record.case_id, record.request, record.authorisation_ref
        )
    out.result(record_dict(record, found), record_text(record, found))
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


def authorise(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        record = justifications.record_authorisation(session, args.id, args.ref)
    out.result(
        record_dict(record),
        f"Authorisation {record.authorisation_ref} recorded on justification {record.id}.",
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
    out.result(
        {
            "subject": args.subject,
            "count_in_window": reading.count_in_window,
            "state": reading.state,
            "message": reading.message,
            "reference": reading.reference,
            "viewings": [{**asdict(v), "at": v.at.isoformat()} for v in history],
        },
        f"{reading.count_in_window} completed viewing(s) in the window; next look: "
        f"{reading.state}. {reading.message}\n\n"
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


def policy_show(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        rules = policy.current(session.casefile)
        text = policy.current_text(session.casefile)
    settings = {f.name: _plain(getattr(rules, f.name)) for f in fields(rules)}
    out.result(
        {"policy": settings, "overrides": text},
        "\n".join(
            f"{k} = {v}"
            for k, v in settings.items()
            if k not in ("boilerplate_phrases", "mitigation_cues")
        ),
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
    text = _read(args.file)
    with open_session(args) as session:
        rules = policy.set_policy(session, text)
    out.result({"policy": rules.name}, f"Policy '{rules.name}' is now in force.")
    return 0


HANDLERS = {
    ("justification", "template"): template,
    ("justification", "new"): new,
    ("justification", "edit"): edit,
    ("justification", "check"): check,
    ("justification", "submit"): submit,
    ("justification", "review"): review,
    ("justification", "show"): show,
    ("justification", "list"): list_,
    ("justification", "queue"): queue,
    ("justification", "cancel"): cancel,
    ("justification", "authorise"): authorise,
    ("view", None): view,
    ("meter", None): meter,
    ("policy", "show"): policy_show,
    ("policy", "set"): policy_set,
}
