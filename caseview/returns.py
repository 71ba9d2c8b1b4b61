"""A request returned for changes, and the next version's answers to its reasons.

When a manager returns a request, each line of their reasons is one thing to answer.
The worker's next version must differ from the returned text (a new content hash) and
answer every reason; the manager then reads each answer beside its reason. This module
reads returns and answers and judges a resubmission; ``caseview.justifications`` does
the writing, the permission checks and the audit.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import ethics
from caseview.clock import from_iso
from caseview.storage import gate as sql
from ethics.textcheck import is_boilerplate, word_count

RULE_RETURN_UNCHANGED: Final = "return_unchanged"
RULE_RETURN_UNANSWERED: Final = "return_unanswered"

# "- ", "* ", "• ", "1. ", "2) ", "(a) " at the start of a line.
_BULLET: Final = re.compile(r"^\s*(?:[-*•–—]+|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+")


@dataclass(frozen=True)
class ReturnItem:
    """One of the manager's reasons, and the worker's answer ("" until answered)."""

    reason: str
    answer: str


@dataclass(frozen=True)
class ReturnAnswers:
    """The return a version answers: which version was returned, by whom, and each reason
    with this version's answer to it."""

    returned_id: int
    returned_version: int
    review_id: int
    reviewer: str
    reviewer_name: str
    returned_hash: str
    """The content hash of the returned version; the new version must differ from it."""
    at: datetime
    items: tuple[ReturnItem, ...]


def reason_items(reasons: str) -> tuple[str, ...]:
    """The separate things a manager asked for: one per non-empty line, bullets removed.

    A single line (however long) is one item.
    """
    items = []
    for line in reasons.splitlines():
        text = _BULLET.sub("", line, count=1).strip()
        if text:
            items.append(text)
    return tuple(items)


def answering(conn: sqlite3.Connection, row: sqlite3.Row) -> ReturnAnswers | None:
    """The return the version in ``row`` must answer, or None.

    Walking back through earlier versions withdrawn before anyone decided them (a
    resubmission revised again), the first decision found counts, if it was a return.
    """
    earlier = row["supersedes"]
    for _ in range(10_000):  # versions only ever point back; this just bounds the walk
        if earlier is None:
            return None
        review = sql.latest_review(conn, int(earlier))
        if review is not None:
            if review["decision"] != "return":
                return None
            return _read(conn, int(row["id"]), review)
        previous = sql.justification(conn, int(earlier))
        earlier = previous["supersedes"] if previous is not None else None
    return None


def _read(conn: sqlite3.Connection, justification_id: int, review: sqlite3.Row) -> ReturnAnswers:
    returned = sql.justification(conn, int(review["justification_id"]))
    answers = sql.return_answers(conn, justification_id, int(review["id"]))
    reasons = reason_items(str(review["reasons"]))
    return ReturnAnswers(
        returned_id=int(review["justification_id"]),
        returned_version=int(returned["version"]) if returned is not None else 0,
        review_id=int(review["id"]),
        reviewer=str(review["reviewer_name"]),
        reviewer_name=str(review["reviewer_display"]),
        returned_hash=str(review["content_hash"]),
        at=from_iso(str(review["at"])),
        items=tuple(
            ReturnItem(reason, answers.get(number, ""))
            for number, reason in enumerate(reasons, start=1)
        ),
    )


def is_answered(answer: str, rules: ethics.Policy) -> bool:
    """An answer says something: not empty and not a stock phrase ("done", "see above")."""
    return word_count(answer) > 0 and not is_boilerplate(answer, rules.boilerplate_phrases)


def unanswered(returned: ReturnAnswers, rules: ethics.Policy) -> tuple[int, ...]:
    """The numbers (from 1) of the reasons still without an answer that says anything."""
    return tuple(
        number
        for number, item in enumerate(returned.items, start=1)
        if not is_answered(item.answer, rules)
    )


def refusal(
    returned: ReturnAnswers | None, new_hash: str, rules: ethics.Policy
) -> tuple[str, str] | None:
    """Why a resubmission after a return may not go ahead (rule, message), or None."""
    if returned is None:
        return None
    if new_hash == returned.returned_hash:
        return (
            RULE_RETURN_UNCHANGED,
            f"This is the same request that {returned.reviewer_name or returned.reviewer} "
            f"returned (version {returned.returned_version}). Change it to deal with "
            "their reasons before you submit it again.",
        )
    missing = unanswered(returned, rules)
    if missing:
        which = ", ".join(f"{n} ('{_short(returned.items[n - 1].reason)}')" for n in missing)
        return (
            RULE_RETURN_UNANSWERED,
            f"Answer each reason the manager gave for returning the request before you "
            f"submit it again. Still unanswered: reason {which}. Say in each answer what "
            "you changed, or why you did not.",
        )
    return None


def _short(text: str) -> str:
    """A reason shortened for a message (the full text is shown beside its answer)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= 50 else flat[:47] + "..."


def pair(returned: ReturnAnswers, answers: Sequence[str]) -> list[tuple[str, str]]:
    """Each reason with its answer, in order (both trimmed)."""
    return [
        (item.reason, answer.strip()) for item, answer in zip(returned.items, answers, strict=True)
    ]
