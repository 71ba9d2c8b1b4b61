"""Commands for analysis: observations, the note, search, and the PDF export."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from caseview import notes, observations
from caseview.cli.io import Output, table
from caseview.cli.session import case_id, open_session
from caseview.errors import UsageError, ValidationError
from caseview.observations import Observation

# The options that supply what a refusal asks for, by words in the service's message.
_OPTIONS_FOR = (
    ("confirmed by", "--confirmed-by TEXT"),
    ("external check", "--check-what TEXT, --check-who TEXT and --check-when YYYY-MM-DD"),
)


def observation_dict(o: Observation) -> dict[str, object]:
    return {
        **asdict(o),
        "created_at": o.created_at.isoformat(),
        "check_when": o.check_when.isoformat() if o.check_when else None,
        "grading": o.grading,
        "uk_3x5x2": o.uk_equivalent,
        "relied_upon": o.relied_upon,
        "reliance_reasons": list(o.reliance_reasons),
    }


def why(o: Observation) -> str:
    """The first reason, which says relied upon or not and why."""
    return o.reliance_reasons[0] if o.reliance_reasons else ""


def observe(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        try:
            o = observations.add(
                session,
                args.source,
                args.text,
                domain=args.domain,
                reliability=args.reliability,
                credibility=args.credibility,
                risks=args.risk,
                corroborates=args.corroborates,
                check_what=args.check_what,
                check_who=args.check_who,
                check_when=args.check_when,
                confirmed_by=args.confirmed_by,
            )
        except ValidationError as exc:
            text = str(exc)
            hint = next((opt for words, opt in _OPTIONS_FOR if words in text.casefold()), None)
            if hint is None:
                raise
            raise ValidationError(f"{text} On the command line: {hint}.") from exc
    out.result(observation_dict(o), str(o.id))
    out.note(
        f"Graded {o.grading} (3x5x2 {o.uk_equivalent}). "
        + " ".join((*o.reliance_reasons, o.reliance_advice)).strip()
    )
    return 0


def observations_list(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        found = observations.list_for_case(session, case_id(session, args.case))
    out.result(
        {"observations": [observation_dict(o) for o in found]},
        table(
            ["id", "source", "domain", "grade", "relied upon", "text", "why"],
            [
                [
                    o.id,
                    o.source_id,
                    o.domain,
                    o.grading,
                    "yes" if o.relied_upon else "no",
                    o.text[:60],
                    why(o),
                ]
                for o in found
            ],
        )
        if found
        else "No observations yet.",
    )
    return 0


# The note's parts, as options of 'caseview note'.
_NOTE_OPTIONS = (
    "analysis",
    "conclusion",
    "balance",
    "useful",
    "decision",
    "family_told",
    "family_response",
)


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
    if all(getattr(args, name) is None for name in _NOTE_OPTIONS):
        # The service handed back the note as it was (with no note yet it says "empty"):
        # printing its id would read as if something had been saved.
        raise UsageError(
            f"Nothing was written: the note stays at version {saved.version}. Say what to "
            "write, e.g. --analysis TEXT, --balance TEXT or --conclusion TEXT (see "
            "'caseview note --help')."
        )
    out.result({"id": saved.id, "case_id": saved.case_id, "version": saved.version}, str(saved.id))
    return 0


def search(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        cid = case_id(session, args.case) if args.case else None
        found = observations.find(session, args.query, case_id=cid, limit=args.limit)
    hits = found.hits
    for note in found.notes:
        out.note(note)
    out.result(
        {"hits": [asdict(h) for h in hits], "notes": list(found.notes)},
        table(
            ["kind", "id", "case", "where", "match"],
            [[h.kind, h.ref_id, h.case_id, h.title[:40], _one_line(h.snippet)] for h in hits],
        )
        if hits
        else "Nothing found.",
    )
    return 0


def _one_line(snippet: str) -> str:
    """A match's context on one line: its line breaks are the page's layout, shown as
    spaces (the table would show each as \n)."""
    return " ".join(snippet.split())


HANDLERS = {
    ("observe", None): observe,
    ("observation", "list"): observations_list,
    ("note", None): note,
    ("search", None): search,
}
