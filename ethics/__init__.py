"""The ethics gate as pure policy: no database, no Qt, no network.

A justification (the request to look) is read from its file form, evaluated against a
policy into findings, and, once approved, consulted before each capture together with
the repeat-viewing meter. `caseview` stores and audits; this package only decides.
"""

from ethics.capture import (
    CAPTURE_RULES,
    RULE_ATTESTATION,
    RULE_EMERGENCY_OVERDUE,
    RULE_EXPIRED,
    RULE_HOST_SCOPE,
    RULE_METER_STOP,
    RULE_STATUS,
    RULE_SUBJECT,
    RULE_URL,
    RULE_VIEWINGS_USED,
    STATUSES,
    Refusal,
    check_capture,
)
from ethics.emergency import EmergencyState, emergency_review_due, emergency_state
from ethics.errors import EthicsError, JustificationFormatError, PolicyError
from ethics.findings import Finding, Severity, blocking, may_submit
from ethics.gate import RULE_CODES, evaluate
from ethics.justification import (
    Justification,
    canonical_dict,
    canonical_json,
    load_justification_toml,
    parse_justification,
    template_toml,
    to_toml,
)
from ethics.meter import CODE_FACTORS, MeterReading, MeterState, Viewing, read_meter
from ethics.policy import Policy, default_policy, load_policy, policy_from_mapping
from ethics.scope import WebUrl, host_covered, normalise_host, parse_web_url, url_in_scope
from ethics.vocabulary import (
    ATTESTATION_KEYS,
    FAMILY_TOLD_VALUES,
    INTRUSION_LEVELS,
    KEYS,
    LESS_INTRUSIVE_ROUTES,
    STATUTORY_FUNCTIONS,
)

__all__ = [
    "ATTESTATION_KEYS",
    "CAPTURE_RULES",
    "CODE_FACTORS",
    "FAMILY_TOLD_VALUES",
    "INTRUSION_LEVELS",
    "KEYS",
    "LESS_INTRUSIVE_ROUTES",
    "RULE_ATTESTATION",
    "RULE_CODES",
    "RULE_EMERGENCY_OVERDUE",
    "RULE_EXPIRED",
    "RULE_HOST_SCOPE",
    "RULE_METER_STOP",
    "RULE_STATUS",
    "RULE_SUBJECT",
    "RULE_URL",
    "RULE_VIEWINGS_USED",
    "STATUSES",
    "STATUTORY_FUNCTIONS",
    "EmergencyState",
    "EthicsError",
    "Finding",
    "Justification",
    "JustificationFormatError",
    "MeterReading",
    "MeterState",
    "Policy",
    "PolicyError",
    "Refusal",
    "Severity",
    "Viewing",
    "WebUrl",
    "blocking",
    "canonical_dict",
    "canonical_json",
    "check_capture",
    "default_policy",
    "emergency_review_due",
    "emergency_state",
    "evaluate",
    "host_covered",
    "load_justification_toml",
    "load_policy",
    "may_submit",
    "normalise_host",
    "parse_justification",
    "parse_web_url",
    "policy_from_mapping",
    "read_meter",
    "template_toml",
    "to_toml",
    "url_in_scope",
]
