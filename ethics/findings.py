"""What the gate says about a justification: one finding per problem or note."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How a finding affects submission."""

    BLOCK = "block"  # the request cannot be submitted until this is fixed
    WARN = "warn"  # the worker and the manager should weigh this
    INFO = "info"  # a reminder; nothing to fix


@dataclass(frozen=True)
class Finding:
    """One thing the gate found.

    `code` is a stable dotted identifier (tests, the audit log and the UI key on it);
    `message` says what to change; `reference` names the source the rule rests on;
    `field` is the justification key the wizard highlights, or None when the finding is
    about the case history rather than one answer.
    """

    code: str
    severity: Severity
    message: str
    reference: str
    field: str | None


def blocking(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """The findings that stop submission."""
    return tuple(f for f in findings if f.severity is Severity.BLOCK)


def may_submit(findings: Iterable[Finding]) -> bool:
    """True when nothing blocks submission."""
    return not blocking(findings)
