"""The reasoned note of a case: analysis, the ethics-vs-safety balance, conclusion, and
the evaluation afterwards. Each save is a new version; nothing is overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from caseview import audit
from caseview.clock import from_iso, to_iso
from caseview.errors import ValidationError
from caseview.permissions import case_for_changing, case_for_reading
from caseview.session import Session
from caseview.storage import analysis as sql

FIELDS = (
    "analysis",
    "balance",
    "conclusion",
    "evaluation_useful",
    "evaluation_decision",
    "evaluation_family_told",
    "evaluation_family_response",
)
LIMIT = 100_000


@dataclass(frozen=True)
class Note:
    id: int
    case_id: int
    version: int
    author: str
    author_display: str
    analysis: str
    balance: str
    conclusion: str
    evaluation_useful: str
    evaluation_decision: str
    evaluation_family_told: str
    evaluation_family_response: str
    saved_at: datetime


def current(session: Session, case_id: int) -> Note | None:
    case_for_reading(session, case_id)
    row = sql.current_note(session.casefile.conn, case_id)
    if row is None:
        return None
    texts = {f: str(row[f]) for f in FIELDS}
    return Note(
        id=int(row["id"]),
        case_id=int(row["case_id"]),
        version=int(row["version"]),
        author=str(row["author_name"]),
        author_display=str(row["author_display"]),
        saved_at=from_iso(row["created_at"]),
        **texts,
    )


def save(session: Session, case_id: int, **changes: str | None) -> Note:
    """Save the note; fields left out (None) keep their current text."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError(f"A note has no field {sorted(unknown)[0]}.")
    case_for_changing(session, case_id, doing="write the note")
    previous = current(session, case_id)
    values = {
        f: (
            changes.get(f)
            if changes.get(f) is not None
            else getattr(previous, f)
            if previous
            else ""
        )
        or ""
        for f in FIELDS
    }
    values = {k: v.strip() for k, v in values.items()}
    for name, text in values.items():
        if len(text) > LIMIT:
            raise ValidationError(
                f"The {name.replace('_', ' ')} is longer than {LIMIT:,} characters. Shorten it."
            )
    if not any(values.values()):
        raise ValidationError("The note is empty. Write at least the analysis.")
    if previous is not None and all(getattr(previous, f) == values[f] for f in FIELDS):
        return previous  # nothing changed: no new version, no event
    now = session.now()
    with session.casefile.write() as conn:
        case_for_changing(session, case_id, doing="write the note")
        latest = sql.current_note(conn, case_id)
        version = int(latest["version"]) + 1 if latest is not None else 1
        note_id = sql.insert_note(
            conn,
            {
                "case_id": case_id,
                "version": version,
                "author_id": session.user.id,
                "created_at": to_iso(now),
                **values,
            },
        )
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="note.saved",
            entity="note",
            entity_id=note_id,
            case_id=case_id,
            data={"version": version, **values},
        )
    note = current(session, case_id)
    assert note is not None
    return note
