"""The gate's policy in force for a case file.

Stored in the case file itself, not on each worker's machine: everyone working on a
case file faces the same gate, and the policy in force at any time is part of the
record (each change is an audit event). Without a stored policy, the shipped
defaults apply.

No one manager can loosen the gate alone (issue 10). A manager proposes a policy; if
no value is less strict than the policy in force, it takes effect at once. If any is,
it waits, and the policy in force stays in force, until a second manager confirms it.
A policy is known by the sha256 of its stored TOML text; the shipped defaults, never
set, have the empty text.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime

import ethics
from caseview import audit
from caseview.clock import from_iso, to_iso
from caseview.domain import Role
from caseview.errors import NotFound, PermissionDenied, ValidationError
from caseview.permissions import require_role
from caseview.session import Session
from caseview.storage import Store
from caseview.storage import authorisations as sql
from ethics.policy import differences_from_defaults, loosened

IN_FORCE = "in_force"
PENDING = "pending"


def policy_hash(toml_text: str) -> str:
    """The sha256 of a policy's stored text (of the empty text for the shipped defaults)."""
    return hashlib.sha256(toml_text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PolicyRecord:
    """One stored policy (or the shipped defaults, when none was ever set)."""

    id: int | None
    """None for the shipped defaults, which were never stored."""
    policy: ethics.Policy
    toml: str
    sha256: str
    status: str
    """``in_force`` (now or once) or ``pending`` (waiting for a second manager)."""
    set_by: str | None
    set_at: datetime | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    loosened: tuple[str, ...]
    """For a pending policy: the keys it would make less strict than the policy in force."""

    @property
    def name(self) -> str:
        return self.policy.name

    @property
    def shipped_defaults(self) -> bool:
        return self.id is None

    @property
    def differences(self) -> dict[str, object]:
        """Each value that differs from the shipped defaults."""
        return differences_from_defaults(self.policy)


_DEFAULTS = PolicyRecord(
    id=None,
    policy=ethics.default_policy(),
    toml="",
    sha256=policy_hash(""),
    status=IN_FORCE,
    set_by=None,
    set_at=None,
    confirmed_by=None,
    confirmed_at=None,
    loosened=(),
)


def _record(row: sqlite3.Row, against: ethics.Policy | None = None) -> PolicyRecord:
    text = str(row["toml"])
    rules = ethics.load_policy(text)
    return PolicyRecord(
        id=int(row["id"]),
        policy=rules,
        toml=text,
        sha256=policy_hash(text),
        status=str(row["status"]),
        set_by=row["set_by_name"],
        set_at=from_iso(row["set_at"]),
        confirmed_by=row["confirmed_by_name"],
        confirmed_at=from_iso(row["confirmed_at"]) if row["confirmed_at"] else None,
        loosened=loosened(against, rules) if against is not None else (),
    )


def in_force(casefile: Store, at: datetime | None = None) -> PolicyRecord:
    """The policy in force now, or at the moment ``at`` (the note asks for its date)."""
    row = sql.policy_in_force(casefile.conn, to_iso(at) if at is not None else None)
    return _DEFAULTS if row is None else _record(row)


def current(casefile: Store) -> ethics.Policy:
    return in_force(casefile).policy


def current_text(casefile: Store) -> str:
    return in_force(casefile).toml


def pending(casefile: Store) -> list[PolicyRecord]:
    """Proposals waiting for a second manager, each with what it would loosen now."""
    now_in_force = current(casefile)
    return [_record(row, now_in_force) for row in sql.pending_policies(casefile.conn)]


def set_policy(session: Session, toml_text: str) -> PolicyRecord:
    """A manager proposes the organisation's overrides (TOML, same keys as the shipped file).

    Nothing less strict than the policy in force: it is in force at once (``status``
    ``in_force``). Anything less strict: it is stored as ``pending`` and named in
    ``loosened``, and changes nothing until another manager runs :func:`confirm_policy`.
    """
    require_role(session, Role.MANAGER, doing="change the gate's policy")
    try:
        proposed = ethics.load_policy(toml_text)
    except ethics.PolicyError as exc:
        raise ValidationError(f"{exc} Nothing was changed.") from exc
    now = session.now()
    with session.casefile.write() as conn:
        before = sql.policy_in_force(conn)
        in_force_now = ethics.default_policy() if before is None else _record(before).policy
        looser = loosened(in_force_now, proposed)
        status = PENDING if looser else IN_FORCE
        policy_id = sql.insert_policy(conn, toml_text, session.user.id, to_iso(now), status=status)
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="policy.proposed" if looser else "policy.set",
            entity="policy",
            entity_id=policy_id,
            data={
                "name": proposed.name,
                "toml": toml_text,
                "sha256": policy_hash(toml_text),
                "status": status,
                "loosened": list(looser),
                "replaces": int(before["id"]) if before is not None else None,
            },
        )
        row = sql.policy(conn, policy_id)
    assert row is not None  # just inserted, in this transaction
    return _record(row, in_force_now if looser else None)


def confirm_policy(session: Session, policy_id: int) -> PolicyRecord:
    """A second manager (not its proposer) puts a pending, loosening policy in force."""
    require_role(session, Role.MANAGER, doing="confirm a change to the gate's policy")
    now = session.now()
    with session.casefile.write() as conn:
        row = sql.policy(conn, policy_id)
        if row is None:
            raise NotFound(
                f"There is no policy {policy_id}. Run 'caseview policy show' to see the "
                "policy in force and any waiting for confirmation."
            )
        if row["status"] != PENDING:
            raise PermissionDenied(
                f"Policy {policy_id} is not waiting for confirmation: it took effect when it "
                "was set. Run 'caseview policy show' to see any that are waiting.",
                rule="status",
            )
        if int(row["set_by"]) == session.user.id:
            raise PermissionDenied(
                f"You proposed policy {policy_id}, so you cannot confirm it: loosening the "
                "gate takes a second manager. Ask another manager to confirm it.",
                rule="second_manager",
            )
        before = sql.policy_in_force(conn)
        if before is not None and int(before["id"]) > policy_id:
            raise PermissionDenied(
                f"Policy {policy_id} was proposed before the policy now in force "
                f"(policy {before['id']}) took effect, so it was never compared with it. "
                "Propose it again; nothing was changed.",
                rule="superseded",
            )
        in_force_now = ethics.default_policy() if before is None else _record(before).policy
        proposed = _record(row).policy
        looser = loosened(in_force_now, proposed)
        sql.confirm_policy(conn, policy_id, session.user.id, to_iso(now))
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="policy.confirmed",
            entity="policy",
            entity_id=policy_id,
            data={
                "name": proposed.name,
                "sha256": policy_hash(str(row["toml"])),
                "proposed_by": str(row["set_by_name"]),
                "loosened": list(looser),
                "replaces": int(before["id"]) if before is not None else None,
            },
        )
        confirmed = sql.policy(conn, policy_id)
    assert confirmed is not None
    return _record(confirmed)
