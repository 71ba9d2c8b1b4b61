"""Commands for analysis: observations, the note, search, and the PDF export."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from caseview import notes, observations
from caseview.cli.io import Output, table
from caseview.cli.session import case_id, open_session
from caseview.observations import Observation


def observation_dict(o: Observation) -> dict[str, object]:
    return {
        **asdict(o),
        "created_at": o.created_at.isoformat(),
        "grading": o.grading,
        "uk_3x5x2": o.uk_equivalent,
        "relied_upon": o.relied_upon,
    }


def observe(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        o = observations.add(
            session,
            args.source,
            args.text,
            domain=args.domain,
            reliability=args.reliability,
            credibility=args.credibility,
            risks=args.risk,
            corroborates=args.corroborates,
            external_check=args.external_check,
        )
    out.result(observation_dict(o), str(o.id))
    out.note(
        f"Graded {o.grading} (3x5x2 {o.uk_equivalent}): "
        + (
            "relied upon."
            if o.relied_upon
            else "not relied upon unless corroborated (credibility 3 to 6)."
        )
    )
    return 0


def observations_list(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        found = observations.list_for_case(session, case_id(session, args.case))
    out.result(
        {"observations": [observation_dict(o) for o in found]},
        table(
            ["id", "source", "domain", "grade", "relied upon", "text"],
            [
                [
                    o.id,
                    o.source_id,
                    o.domain,
                    o.grading,
                    "yes" if o.relied_upon else "no",
                    o.text[:60],
                ]
                for o in found
            ],
        )
        if found
        else "No observations yet.",
    )
    return 0


def note(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        saved = notes.save(
            session,
            case_id(session, args.case),
            analysis=args.analysis,
            conclusion=args.conclusion,
            balance=args.balance,
            evaluation_useful=args.useful,
            evaluation_decision=args.decision,
            evaluation_family_told=args.family_told,
            evaluation_family_response=args.family_response,
        )
    out.result({"id": saved.id, "case_id": saved.case_id, "version": saved.version}, str(saved.id))
    return 0


def search(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        cid = case_id(session, args.case) if args.case else None
        hits = observations.search(session, args.query, case_id=cid, limit=args.limit)
    out.result(
        {"hits": [asdict(h) for h in hits]},
        table(
            ["kind", "id", "case", "where", "match"],
            [[h.kind, h.ref_id, h.case_id, h.title[:40], h.snippet] for h in hits],
        )
        if hits
        else "Nothing found.",
    )
    return 0


HANDLERS = {
    ("observe", None): observe,
    ("observation", "list"): observations_list,
    ("note", None): note,
    ("search", None): search,
}
