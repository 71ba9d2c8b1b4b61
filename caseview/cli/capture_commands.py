"""Commands for evidence: capture a page, import a file, list and show sources, WARC."""

from __future__ import annotations

import argparse
from pathlib import Path

import collectors
from caseview import captures, files
from caseview.captures import ExposureFinding, SourceRecord
from caseview.cli.io import Output, table
from caseview.cli.session import case_id, open_session
from caseview.clock import from_iso
from caseview.errors import UsageError


def artefact_dicts(found: tuple[captures.Artefact, ...]) -> list[dict[str, object]]:
    return [
        {
            "kind": a.kind,
            "sha256": a.sha256,
            "size": a.size,
            "media_type": a.media_type,
            **({"details": dict(a.details)} if a.details else {}),
        }
        for a in found
    ]


def source_dict(s: SourceRecord, *, with_text: bool = False) -> dict[str, object]:
    obj: dict[str, object] = {
        "id": s.id,
        "case_id": s.case_id,
        "subject_id": s.subject_id,
        "justification_id": s.justification_id,
        "justification_hash": s.justification_hash,
        "origin": s.origin,
        "supplied_by": s.supplied_by,
        "method": s.method,
        "requested_url": s.requested_url,
        "final_url": s.final_url,
        "host_unicode": s.host_unicode,
        "host_punycode": s.host_punycode,
        "redirect_chain": list(s.redirect_chain),
        "http_status": s.http_status,
        "content_type": s.content_type,
        "media_type": s.media_type,
        "sha256": s.body_sha256,
        "size": s.body_size,
        "raw_sha256": s.raw_sha256,
        "server_ip": s.server_ip,
        "file_name": s.file_name,
        "title": s.title,
        "published_at": s.published_at,
        "viewed_at": s.viewed_at.isoformat() if s.viewed_at else None,
        "captured_started_at": s.captured_started_at.isoformat(),
        "captured_ended_at": s.captured_ended_at.isoformat(),
        "captured_by": s.captured_by,
        "machine": s.machine,
        "tool": s.tool,
        "warc_sha256": s.warc_sha256,
        "notes": list(s.notes),
        "exposure": [
            {
                "id": e.id,
                "kind": e.kind,
                "value": e.value,
                "context": e.context,
                "confirmed": e.confirmed,
            }
            for e in s.exposure
        ],
    }
    if with_text:
        obj["text"] = s.text
        obj["page_meta"] = s.page_meta
    return obj


def _created(out: Output, record: SourceRecord) -> None:
    """A capture or import: its id (or the source as JSON), then the gate's warnings."""
    out.result({**source_dict(record), "warnings": list(record.gate_warnings)}, str(record.id))
    for warning in record.gate_warnings:
        out.note(f"Repeat-viewing meter: {warning}")


def _after(out: Output, record: SourceRecord) -> None:
    exposure = [e for e in record.exposure if not collectors.is_collateral(e.kind)]
    others = [e for e in record.exposure if collectors.is_collateral(e.kind)]
    if exposure:
        out.note(
            f"Exposure indicators on this child's page ({len(exposure)}): "
            + "; ".join(f"{e.kind}: {e.value}" for e in exposure)
            + ". Confirm or dismiss each in the source view."
        )
    if others:
        out.note(
            f"Other people on this page (collateral intrusion, {len(others)}): "
            + "; ".join(_collateral(e) for e in others)
            + ". Do not record or rely on their details; confirm or dismiss each in the "
            "source view."
        )


def _collateral(finding: ExposureFinding) -> str:
    return f"{collectors.COLLATERAL_KINDS.get(finding.kind, finding.kind)}: {finding.value}"


def _review(finding: ExposureFinding) -> str:
    if finding.confirmed is None:
        return "not yet reviewed"
    return f"{'confirmed' if finding.confirmed else 'dismissed'} by {finding.reviewed_by}"


def capture(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        cid = case_id(session, args.case)
        look = {
            "justification_id": args.justification,
            "subject_id": args.subject,
            "attested": args.attest,
        }
        if getattr(args, "render", False):
            renderer = captures.headless_renderer()
            record = captures.capture_rendered(session, cid, args.url, renderer=renderer, **look)
        else:
            record = captures.capture_url(session, cid, args.url, **look)
    _created(out, record)
    _after(out, record)
    return 0


def import_(args: argparse.Namespace, out: Output) -> int:
    try:
        viewed_at = from_iso(args.viewed_at)
    except ValueError:
        raise UsageError(
            f"'{args.viewed_at}' is not a time Caseview can read. Write the day, the time and "
            "its zone, like 2026-11-20T14:05:00Z (Z for UTC) or 2026-07-01T09:30:00+01:00."
        ) from None
    # Before the password is asked; import_file checks again.
    path = files.check_regular_file(Path(args.file), "file to import", verb="import")
    if args.origin != "self" and not (args.supplied_by or "").strip():
        # The service says the same without naming a flag (the desktop app shows it
        # too); here the person needs the flag, and needs it before the password prompt.
        raise UsageError(
            f"Say who supplied this material with --supplied-by, e.g. --origin {args.origin} "
            "--supplied-by 'maternal grandmother'."
        )
    with open_session(args) as session:
        record = captures.import_file(
            session,
            case_id(session, args.case),
            path,
            url=args.url,
            viewed_at=viewed_at,
            justification_id=args.justification,
            subject_id=args.subject,
            origin=args.origin,
            supplied_by=args.supplied_by,
            attested=args.attest,
        )
    _created(out, record)
    for note in record.notes:
        out.note(note)
    _after(out, record)
    return 0


def source_list(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        found = captures.list_for_case(session, case_id(session, args.case))
    out.result(
        {"sources": [source_dict(s) for s in found]},
        table(
            ["id", "captured (UTC)", "by", "origin", "title / URL", "sha256"],
            [
                [
                    s.id,
                    f"{s.captured_started_at:%Y-%m-%d %H:%M}",
                    s.captured_by,
                    s.origin,
                    (s.title or s.requested_url)[:50],
                    s.body_sha256[:16] + "…",
                ]
                for s in found
            ],
        )
        if found
        else "No sources yet.",
    )
    return 0


def source_show(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        s = captures.get(session, args.id)
        kept = captures.artefacts(session, args.id)
    lines = [
        f"Source {s.id} of case {s.case_id}: {s.title or '(no title)'}",
        f"Address:    {s.requested_url}",
    ]
    if s.final_url and s.final_url != s.requested_url:
        lines.append(f"Final:      {s.final_url}")
    if s.host_unicode and s.host_unicode != s.host_punycode:
        lines.append(f"Host:       {s.host_unicode} (on the wire: {s.host_punycode})")
    lines += [
        f"Method:     {s.method}; origin {s.origin}"
        + (f", supplied by {s.supplied_by}" if s.supplied_by else ""),
        f"Captured:   {s.captured_started_at:%Y-%m-%d %H:%M:%S} to "
        f"{s.captured_ended_at:%H:%M:%S} UTC by {s.captured_by} on {s.machine}",
        f"Tool:       {s.tool}",
        f"Status:     {s.http_status or '-'}; {s.media_type or 'unknown type'}; "
        f"{s.body_size} bytes",
        f"sha256:     {s.body_sha256}",
        f"Authority:  justification {s.justification_id} (hash {s.justification_hash})",
    ]
    if s.gone_status is not None:
        lines.insert(
            -2,
            f"Gone:       the page was gone (HTTP {collectors.GONE_STATUS[s.gone_status]}); "
            "kept as evidence that it was no longer there",
        )
    lines += [
        f"Artefact:   {a.kind} ({a.media_type}, {a.size:,} bytes) sha256 {a.sha256}" for a in kept
    ]
    lines += [f"Note:       {n}" for n in s.notes]
    lines += [
        f"Exposure:   {e.kind}: {e.value}"
        for e in s.exposure
        if not collectors.is_collateral(e.kind)
    ]
    lines += [
        f"Collateral: {_collateral(e)} ({_review(e)}): {e.context}"
        for e in s.exposure
        if collectors.is_collateral(e.kind)
    ]
    lines += ["", s.text[:4000] + ("…" if len(s.text) > 4000 else "")]
    out.result(
        {**source_dict(s, with_text=True), "artefacts": artefact_dicts(kept)}, "\n".join(lines)
    )
    return 0


HANDLERS = {
    ("capture", None): capture,
    ("import", None): import_,
    ("source", "list"): source_list,
    ("source", "show"): source_show,
}
