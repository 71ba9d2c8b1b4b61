"""Surveillance authorisations: documents, not words, and never one person's say-so.

Repeated looking at one person can be directed surveillance (RIPA 2000 Part II), which a
council may only carry out under an authorisation a magistrate has approved. Only such
an authorisation lets the repeat-viewing meter's stop be passed, so it is recorded as
the document it is: the RIPA authorisation number, the authorising officer, the
magistrate's approval date, its expiry (a UK date: valid to the end of that day,
Europe/London) and the person it covers. A manager who did not write the request
records it; a second manager, neither the recorder nor a writer of the request,
confirms it; only then, and until it expires, is it *in force*. Rows are never changed
or deleted (triggers); each step is an audit event holding every field.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from caseview import audit, justifications, policy
from caseview.clock import from_iso, to_iso
from caseview.domain import Role
from caseview.errors import NotFound, PermissionDenied, ValidationError
from caseview.permissions import case_for_changing, case_for_reading, not_found, require_role
from caseview.session import Session
from caseview.storage import authorisations as sql
from caseview.storage import gate as gate_sql
from ethics import textcheck

UK: Final = ZoneInfo("Europe/London")

AWAITING = "awaiting confirmation"
IN_FORCE = "in force"
EXPIRED = "expired"

# Stand-ins people type when a form insists on something; refused beside the policy's
# boilerplate phrases (compared whole, ignoring case and punctuation).
PLACEHOLDERS: Final = (
    "n/a", "na", "none", "nil", "nothing", "no", "tbc", "tbd", "tba", "to follow",
    "pending", "unknown", "not known", "x", "xx", "xxx", "xxxx", "test", "testing",
    "dummy", "placeholder", "example", "sample", "ref", "reference", "todo", "abc",
    "0", "00", "000", "0000", "1", "123", "1234", "12345", "asdf", "manager", "officer",
    "magistrate", "same", "as above", "see above", "see file", "see notes",
)  # fmt: skip
MAX_TEXT: Final = 200
# Rules named in refusals.
RULE_SECOND_MANAGER: Final = "second_manager"
RULE_SELF_REVIEW: Final = "self_review"


def uk_day(moment: datetime) -> date:
    """The calendar day in the UK (GMT or BST) at ``moment``."""
    return moment.astimezone(UK).date()


@dataclass(frozen=True)
class Authorisation:
    """A RIPA directed-surveillance authorisation relied on by one request, for one person."""

    id: int
    justification_id: int
    case_id: int
    subject_id: int
    subject_name: str
    reference: str
    """The RIPA authorisation number, as on the authorisation."""
    officer: str
    """The authorising officer, as the authorisation names them."""
    magistrate_approved_on: date
    expires_on: date
    """A UK date: the authorisation is valid to the end of that day (Europe/London)."""
    recorded_by: str
    recorded_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_by is not None

    def status_on(self, day: date) -> str:
        """awaiting confirmation, in force, or expired, on this UK day."""
        if day > self.expires_on:
            return EXPIRED
        return IN_FORCE if self.confirmed else AWAITING

    def status(self, now: datetime) -> str:
        return self.status_on(uk_day(now))

    def in_force_at(self, now: datetime) -> bool:
        return self.status(now) == IN_FORCE


def _from_row(row: sqlite3.Row) -> Authorisation:
    return Authorisation(
        id=int(row["id"]),
        justification_id=int(row["justification_id"]),
        case_id=int(row["case_id"]),
        subject_id=int(row["subject_id"]),
        subject_name=str(row["subject_name"]),
        reference=str(row["reference"]),
        officer=str(row["authorising_officer"]),
        magistrate_approved_on=date.fromisoformat(row["magistrate_approved_on"]),
        expires_on=date.fromisoformat(row["expires_on"]),
        recorded_by=str(row["recorded_by_name"]),
        recorded_at=from_iso(row["recorded_at"]),
        confirmed_by=row["confirmed_by_name"],
        confirmed_at=from_iso(row["confirmed_at"]) if row["confirmed_at"] else None,
    )


def in_force(conn: sqlite3.Connection, justification_id: int, now: datetime) -> list[Authorisation]:
    """The authorisations a request may rely on at ``now``: confirmed, and not expired.

    The one question the gate asks. It checks no permission (the gate asks it for
    whoever is looking) and writes nothing.
    """
    today = uk_day(now).isoformat()
    return [_from_row(r) for r in sql.confirmed_of_justification(conn, justification_id, today)]


# --- validation ---------------------------------------------------------------------


def _placeholder(text: str, phrases: tuple[str, ...]) -> bool:
    return textcheck.is_boilerplate(text, (*phrases, *PLACEHOLDERS))


def _clean_text(value: str, what: str, example: str, phrases: tuple[str, ...]) -> str:
    text = " ".join(value.split())
    if not textcheck.words(text):
        raise ValidationError(
            f"Give the {what}, as the authorisation states it (for example {example}). "
            "Nothing was stored."
        )
    if _placeholder(text, phrases):
        raise ValidationError(
            f"'{text}' is not a real {what}; it is a placeholder. Give the {what} as the "
            f"authorisation states it (for example {example}). If there is no authorisation, "
            "there is nothing to record, and the stop stays. Nothing was stored."
        )
    if len(text) > MAX_TEXT:
        raise ValidationError(
            f"The {what} is {len(text)} characters long; give it in at most {MAX_TEXT}. "
            "Nothing was stored."
        )
    return text


def _clean_reference(value: str, phrases: tuple[str, ...]) -> str:
    what = "RIPA authorisation number"
    text = _clean_text(value, what, "'RIPA-2026-017'", phrases)
    if not any(ch.isdigit() for ch in text):
        raise ValidationError(
            f"'{text}' has no number in it, so it cannot be a {what}. Copy the number from "
            "the authorisation itself (for example 'RIPA-2026-017'). Nothing was stored."
        )
    if len({ch.casefold() for ch in text if ch.isalnum()}) < 2:
        raise ValidationError(
            f"'{text}' repeats one character, so it is not a {what}. Copy the number from "
            "the authorisation itself. Nothing was stored."
        )
    return text


def _clean_officer(value: str, phrases: tuple[str, ...]) -> str:
    text = _clean_text(value, "authorising officer", "'Sam Patel, Director of Legal'", phrases)
    if not any(ch.isalpha() for ch in text):
        raise ValidationError(
            f"'{text}' has no letters in it; give the authorising officer's name and role. "
            "Nothing was stored."
        )
    return text


def _check_dates(approved_on: date, expires_on: date, today: date) -> None:
    if approved_on > today:
        raise ValidationError(
            f"The magistrate's approval date {approved_on} is after today ({today}, UK). "
            "Record the authorisation once a magistrate has approved it, with the date on "
            "the approval. Nothing was stored."
        )
    if expires_on <= today:
        raise ValidationError(
            f"The authorisation's expiry {expires_on} is not after today ({today}, UK), so it "
            "cannot be relied on. A renewal is a new authorisation: record that, with its "
            "own expiry. Nothing was stored."
        )
    if expires_on <= approved_on:
        raise ValidationError(
            f"The expiry {expires_on} is not after the magistrate's approval {approved_on}; "
            "check both dates on the authorisation. Nothing was stored."
        )


def _justification_row(session: Session, justification_id: int) -> sqlite3.Row:
    row = gate_sql.justification(session.casefile.conn, justification_id)
    if row is None:
        not_found(
            session,
            "justification",
            justification_id,
            f"There is no justification {justification_id}. Run 'caseview justification "
            "list CASE' to see a case's requests.",
        )
    case_for_reading(session, int(row["case_id"]))
    return row


def _not_a_writer(session: Session, row: sqlite3.Row, doing: str) -> None:
    if justifications.wrote_part(session, row):
        raise PermissionDenied(
            f"You wrote justification {row['id']} (or part of it), so you cannot {doing}. "
            "A manager who had no part in the request must do it.",
            rule=RULE_SELF_REVIEW,
        )


def _event_data(a: Authorisation) -> dict[str, object]:
    return {
        "justification_id": a.justification_id,
        "subject_id": a.subject_id,
        "subject_name": a.subject_name,
        "reference": a.reference,
        "authorising_officer": a.officer,
        "magistrate_approved_on": a.magistrate_approved_on.isoformat(),
        "expires_on": a.expires_on.isoformat(),
        "recorded_by": a.recorded_by,
        "recorded_at": to_iso(a.recorded_at),
    }


# --- services -----------------------------------------------------------------------


def record(
    session: Session,
    justification_id: int,
    *,
    reference: str,
    officer: str,
    magistrate_approved_on: date,
    expires_on: date,
    subject_id: int,
) -> Authorisation:
    """A manager who had no part in the request records its authorisation.

    It is *awaiting confirmation*, and lifts nothing, until a second manager confirms
    it (:func:`confirm`).
    """
    require_role(session, Role.MANAGER, doing="record a surveillance authorisation")
    row = _justification_row(session, justification_id)
    case_id = int(row["case_id"])
    case_for_changing(session, case_id, doing="record a surveillance authorisation")
    _not_a_writer(session, row, "record its authorisation")
    if row["status"] in ("cancelled", "rejected"):
        raise PermissionDenied(
            f"Justification {justification_id} is {row['status']}; an authorisation must be "
            "recorded on a request that is still live.",
            rule="status",
        )
    phrases = policy.current(session.casefile).boilerplate_phrases
    ref = _clean_reference(reference, phrases)
    who = _clean_officer(officer, phrases)
    now = session.now()
    _check_dates(magistrate_approved_on, expires_on, uk_day(now))
    covered = justifications.get(session, justification_id).request.subjects
    if subject_id not in covered:
        named = ", ".join(str(s) for s in covered) or "nobody"
        raise ValidationError(
            f"Subject {subject_id} is not one of the people justification {justification_id} "
            f"is about (subjects {named}). An authorisation covers named people: record it "
            "on a request about the person it names. Nothing was stored."
        )
    with session.casefile.write() as conn:
        fresh = gate_sql.justification(conn, justification_id)
        if fresh is None or fresh["status"] in ("cancelled", "rejected"):
            raise PermissionDenied(
                f"Justification {justification_id} changed while you were working on it. "
                "Look at it again.",
                rule="status",
            )
        new_id = sql.insert_authorisation(
            conn,
            {
                "justification_id": justification_id,
                "subject_id": subject_id,
                "reference": ref,
                "authorising_officer": who,
                "magistrate_approved_on": magistrate_approved_on.isoformat(),
                "expires_on": expires_on.isoformat(),
                "recorded_by": session.user.id,
                "recorded_at": to_iso(now),
            },
        )
        stored = sql.authorisation(conn, new_id)
        assert stored is not None  # just inserted, in this transaction
        made = _from_row(stored)
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="authorisation.recorded",
            entity="authorisation",
            entity_id=new_id,
            case_id=case_id,
            data=_event_data(made),
        )
    return made


def confirm(session: Session, authorisation_id: int) -> Authorisation:
    """A second manager (not the recorder, not a writer of the request) confirms it."""
    require_role(session, Role.MANAGER, doing="confirm a surveillance authorisation")
    found = sql.authorisation(session.casefile.conn, authorisation_id)
    if found is None:
        raise NotFound(
            f"There is no authorisation {authorisation_id}. Run 'caseview authorisation list "
            "CASE' to see a case's authorisations."
        )
    row = _justification_row(session, int(found["justification_id"]))
    case_for_changing(session, int(row["case_id"]), doing="confirm a surveillance authorisation")
    current = _from_row(found)
    if current.confirmed:
        raise PermissionDenied(
            f"Authorisation {authorisation_id} was already confirmed by {current.confirmed_by}.",
            rule="status",
        )
    if int(found["recorded_by"]) == session.user.id:
        raise PermissionDenied(
            f"You recorded authorisation {authorisation_id}, so you cannot confirm it: it takes "
            "a second manager. Ask another manager, who had no part in the request, to check it "
            "against the authorisation and confirm it.",
            rule=RULE_SECOND_MANAGER,
        )
    _not_a_writer(session, row, "confirm its authorisation")
    now = session.now()
    if current.status(now) == EXPIRED:
        raise PermissionDenied(
            f"Authorisation {authorisation_id} expired on {current.expires_on}; it can no longer "
            "be confirmed. Record the renewal as a new authorisation.",
            rule="expired",
        )
    with session.casefile.write() as conn:
        sql.confirm_authorisation(conn, authorisation_id, session.user.id, to_iso(now))
        stored = sql.authorisation(conn, authorisation_id)
        assert stored is not None
        made = _from_row(stored)
        if made.confirmed_by != session.actor:
            raise PermissionDenied(
                f"Authorisation {authorisation_id} was confirmed by {made.confirmed_by} while "
                "you were working on it.",
                rule="status",
            )
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="authorisation.confirmed",
            entity="authorisation",
            entity_id=authorisation_id,
            case_id=made.case_id,
            data={
                **_event_data(made),
                "confirmed_by": session.actor,
                "confirmed_at": to_iso(now),
            },
        )
    return made


def get(session: Session, authorisation_id: int) -> Authorisation:
    row = sql.authorisation(session.casefile.conn, authorisation_id)
    if row is None:
        raise NotFound(f"There is no authorisation {authorisation_id}.")
    case_for_reading(session, int(row["case_id"]))
    return _from_row(row)


def list_for_case(session: Session, case_id: int) -> list[Authorisation]:
    case_for_reading(session, case_id)
    return [_from_row(r) for r in sql.authorisations_of_case(session.casefile.conn, case_id)]


def list_for_justification(session: Session, justification_id: int) -> list[Authorisation]:
    _justification_row(session, justification_id)
    return [
        _from_row(r)
        for r in sql.authorisations_of_justification(session.casefile.conn, justification_id)
    ]
