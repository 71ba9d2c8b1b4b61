"""The gate's policy in force for a case file.

Stored in the case file itself, not on each worker's machine: everyone working on a
case file faces the same gate, and the policy in force at any time is part of the
record (each change is an audit event). Without a stored policy, the shipped
defaults apply.
"""

from __future__ import annotations

import hashlib

import ethics
from caseview import audit
from caseview.clock import to_iso
from caseview.domain import Role
from caseview.errors import ValidationError
from caseview.permissions import require_role
from caseview.session import Session
from caseview.storage import CaseFile
from caseview.storage import gate as sql


def current(casefile: CaseFile) -> ethics.Policy:
    row = sql.latest_policy(casefile.conn)
    if row is None:
        return ethics.default_policy()
    return ethics.load_policy(str(row["toml"]))


def current_text(casefile: CaseFile) -> str:
    row = sql.latest_policy(casefile.conn)
    return "" if row is None else str(row["toml"])


def set_policy(session: Session, toml_text: str) -> ethics.Policy:
    """A manager sets the organisation's overrides (TOML, same keys as the shipped file)."""
    require_role(session, Role.MANAGER, doing="change the gate's policy")
    try:
        policy = ethics.load_policy(toml_text)
    except ethics.PolicyError as exc:
        raise ValidationError(f"{exc} Nothing was changed.") from exc
    now = session.now()
    with session.casefile.write() as conn:
        policy_id = sql.insert_policy(conn, toml_text, session.user.id, to_iso(now))
        audit.record(
            conn,
            at=now,
            actor=session.actor,
            action="policy.set",
            entity="policy",
            entity_id=policy_id,
            data={
                "name": policy.name,
                "toml": toml_text,
                "sha256": hashlib.sha256(toml_text.encode()).hexdigest(),
            },
        )
    return policy
