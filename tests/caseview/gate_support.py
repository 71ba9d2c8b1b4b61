"""Builders shared by the gate tests: a complete request, the lifecycle steps, raw counts.

Imported by name (pytest puts this folder on ``sys.path``); the file name is unique
under tests/ so it cannot be confused with another helper module.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import ethics
from caseview import accounts, audit, cases, justifications
from caseview.justifications import JustificationRecord
from caseview.session import Session
from caseview.storage import CaseFile

PASSWORD = "correct horse"  # the password tests/conftest.py gives every account

# A page inside the example's scope (scope_hosts = ["social.example"]).
URL = "https://social.example/kerry"

# A verbatim copy of the contract example, ../shared/justification.example.toml: the
# tests must not depend on a file outside the repository, and a copy shows any drift.
EXAMPLE_TOML = """\
# A request to look at public online information about a case.
# Keys and allowed values are a contract; comments explain each one.

# The subjects (people) the research is directed at: ids as `caseview subject add`
# printed them (a string or an integer is accepted).
subjects = ["1"]

# Statutory function: s47 | s17 | s31 | s20 | missing_child | leaving_care | court_direction | other
statutory_function = "s47"
statutory_function_other = ""

# Data-protection basis; omit for the policy default
# (UK GDPR Art 6(1)(e) public task; Art 9 with DPA 2018 Sch 1 para 18).
data_protection_basis = "UK GDPR Art 6(1)(e); Art 9(2)(g) with DPA 2018 Sch 1 para 18"

# The specific question this look must answer.
question = "Is the adult shown in the mother's public posts the man named in the police disclosure of 3 November?"

# Niven's two sides, and the balance between them.
safety_case = "A police disclosure names a man with convictions for offences against children. The mother says she has had no contact with him since August. If he is living in the home, the baby is at immediate risk of significant harm."
ethics_case = "Looking at the mother's public posts without her knowing intrudes on her private and family life and may damage trust if discovered; posts can be old, reposted or misread."
balance = "A single look at posts she has made public, limited to establishing contact with one named man, is proportionate to the risk to a baby; nothing else will be recorded."

# Necessity: less intrusive routes considered and why they are not enough.
# Values: asked_family | partner_agencies | police | school | health | other
less_intrusive_considered = ["asked_family", "police", "health"]
why_not_enough = "The mother denies contact; the police hold no newer information; the health visitor has not seen the home since September."

# Proportionality and intrusion level: low | medium | high
proportionality = "One viewing of a public profile, recording only posts that show the named man."
intrusion_level = "medium"

# Collateral intrusion: third parties likely to be seen, and how it is minimised.
collateral_intrusion = "Friends and other children may appear in photos; they will not be recorded, and any captured image will be cropped or redacted in the working copy."

# Scope: hosts and/or exact URLs, planned number of viewings, last valid day (UTC).
scope_hosts = ["social.example"]
scope_urls = []
planned_viewings = 1
valid_until = "2026-12-20"

# Transparency: will the family be told? yes | no | later; a reason is needed for no or later.
family_told = "later"
family_told_reason = "Telling the mother before the strategy discussion could place the baby at further risk."

# Attestations (all must be true to submit).
attest_logged_out = true                   # only what is visible without logging in
attest_no_personal_or_fake_profile = true  # no personal or fake account is used
attest_no_interaction = true               # no befriending, following, liking or messaging
attest_no_restricted_content = true        # nothing limited to friends or followers

# Break-glass: immediate risk to a child; usable at once, reviewed by a manager within 24 h.
emergency = false
emergency_reason = ""
"""  # noqa: E501 (the contract's own long lines, kept verbatim)

EMERGENCY_REASON = (
    "The baby's father has just posted that he is outside the house with a knife, "
    "and the police are on their way."
)


def set_key(text: str, key: str, value: object) -> str:
    """The file with ``key``'s line rewritten to ``value`` (TOML and JSON agree on these)."""
    line = f"{key} = {json.dumps(value)}"
    changed, count = re.subn(rf"(?m)^{re.escape(key)} = .*$", lambda _: line, text)
    assert count == 1, f"no single line for key {key!r}"
    return changed


def drop_key(text: str, key: str) -> str:
    changed, count = re.subn(rf"(?m)^{re.escape(key)} = .*\n", "", text)
    assert count == 1, f"no single line for key {key!r}"
    return changed


def example_toml(subject_ids: list[int], valid_until: date) -> str:
    """The contract example about these subjects, valid until ``valid_until``."""
    text = set_key(EXAMPLE_TOML, "subjects", [str(s) for s in subject_ids])
    return set_key(text, "valid_until", valid_until.isoformat())


def make_request(
    subject_ids: list[int], now: datetime, *, days: int = 14, **changes: Any
) -> ethics.Justification:
    """A complete request (the gate finds nothing to block) valid ``days`` days from ``now``."""
    base = ethics.load_justification_toml(EXAMPLE_TOML)
    return dataclasses.replace(
        base,
        subjects=tuple(subject_ids),
        valid_until=now.date() + timedelta(days=days),
        **changes,
    )


def emergency_changes() -> dict[str, Any]:
    return {"emergency": True, "emergency_reason": EMERGENCY_REASON}


def submitted(author: Session, case_id: int, request: ethics.Justification) -> JustificationRecord:
    record = justifications.create(author, case_id, request)
    return justifications.submit(author, record.id)[0]


def approved(
    author: Session, reviewer: Session, case_id: int, request: ethics.Justification
) -> JustificationRecord:
    record = submitted(author, case_id, request)
    return justifications.review(
        reviewer, record.id, "approve", "Proportionate to the risk; one look only."
    )


def allocated_worker(manager: Session, case_id: int, name: str) -> Session:
    """Another worker, allocated to the case, on the manager's clock."""
    accounts.add_user(manager, name, "worker", PASSWORD)
    cases.allocate(manager, case_id, name)
    return accounts.login(manager.casefile, name, PASSWORD, clock=manager.clock)


def count_viewings(casefile: CaseFile, outcome: str) -> int:
    row = casefile.conn.execute(
        "SELECT count(*) FROM viewings WHERE outcome = ?", (outcome,)
    ).fetchone()
    return int(row[0])


def count_events(casefile: CaseFile, action: str) -> int:
    row = casefile.conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = ?", (action,)
    ).fetchone()
    return int(row[0])


def count_justifications(casefile: CaseFile) -> int:
    return int(casefile.conn.execute("SELECT count(*) FROM justifications").fetchone()[0])


def audit_head(casefile: CaseFile) -> audit.Checkpoint:
    return audit.head(casefile.conn)


def event_data(casefile: CaseFile, action: str) -> list[dict[str, Any]]:
    """The ``data`` of every audit event with this action, oldest first."""
    rows = casefile.conn.execute(
        "SELECT payload FROM audit_log WHERE action = ? ORDER BY seq", (action,)
    )
    return [json.loads(row["payload"])["data"] for row in rows]


@dataclass
class CliRun:
    """Commands against one case file, as a person types them (``caseview.cli.main``)."""

    capsys: pytest.CaptureFixture[str]
    tmp_path: Path

    def run(self, user: str | None, *argv: str) -> tuple[int, str, str]:
        from caseview.cli import main

        code = main((["--user", user] if user else []) + list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, user: str | None, *argv: str) -> tuple[int, dict[str, object]]:
        """Run with --json; stdout must be exactly one JSON object."""
        code, out, _ = self.run(user, "--json", *argv)
        [line] = out.splitlines()
        obj = json.loads(line)
        assert isinstance(obj, dict)
        return code, obj

    def file(self, name: str, text: str) -> str:
        path = self.tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)
