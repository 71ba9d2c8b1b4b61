"""The fixed vocabulary of a justification file (a contract with the acceptance checks).

Kept apart from the dataclass so the policy can name free-text keys without importing
the parser, which itself needs the policy for the default data-protection basis.
"""

from __future__ import annotations

from typing import Final

STATUTORY_FUNCTIONS: Final = (
    "s47",
    "s17",
    "s31",
    "s20",
    "missing_child",
    "leaving_care",
    "court_direction",
    "other",
)
LESS_INTRUSIVE_ROUTES: Final = (
    "asked_family",
    "partner_agencies",
    "police",
    "school",
    "health",
    "other",
)
INTRUSION_LEVELS: Final = ("low", "medium", "high")
FAMILY_TOLD_VALUES: Final = ("yes", "no", "later")

# Every key of the file, in the order the contract example lists them.
KEYS: Final = (
    "subjects",
    "statutory_function",
    "statutory_function_other",
    "data_protection_basis",
    "question",
    "safety_case",
    "ethics_case",
    "balance",
    "less_intrusive_considered",
    "why_not_enough",
    "proportionality",
    "intrusion_level",
    "collateral_intrusion",
    "scope_hosts",
    "scope_urls",
    "planned_viewings",
    "valid_until",
    "family_told",
    "family_told_reason",
    "attest_logged_out",
    "attest_no_personal_or_fake_profile",
    "attest_no_interaction",
    "attest_no_restricted_content",
    "emergency",
    "emergency_reason",
)

# The keys whose value is a worker's own prose; the policy sets a minimum length for each.
FREE_TEXT_KEYS: Final = (
    "statutory_function_other",
    "question",
    "safety_case",
    "ethics_case",
    "balance",
    "why_not_enough",
    "proportionality",
    "collateral_intrusion",
    "family_told_reason",
    "emergency_reason",
)

ATTESTATION_KEYS: Final = (
    "attest_logged_out",
    "attest_no_personal_or_fake_profile",
    "attest_no_interaction",
    "attest_no_restricted_content",
)
