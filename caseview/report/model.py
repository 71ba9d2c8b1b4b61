"""Everything the reasoned note shows, as plain frozen data.

``build`` fills it from the case file; ``pdf`` draws it. The renderer reads nothing
else (no database, no clock, no network), so the same data always gives the same
bytes, and a test can hand it any text at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CLASSIFICATION = "OFFICIAL-SENSITIVE"

DOMAINS = {
    "developmental_needs": "Child's developmental needs",
    "parenting_capacity": "Parenting capacity",
    "family_environment": "Family and environmental factors",
    "online_exposure": "Online exposure",
}

RISKS = {
    "old_post": "The post may be old",
    "repost": "A repost or share, not the person's own words",
    "irony": "Irony or humour may be meant",
    "identity_uncertain": "Not certain whose account this is",
    "context_missing": "Context is missing",
    "other": "Other",
}


@dataclass(frozen=True)
class ReportDecision:
    reviewer: str  # display name and user name, e.g. "Mona Manager (mona)"
    decision: str  # approved / rejected / returned
    reasons: str
    at: datetime


@dataclass(frozen=True)
class ReportAttempt:
    """A look or capture under a request that was refused by the gate or that failed."""

    at: datetime
    by: str  # display name and user name
    kind: str  # capture / view / import / browse
    url: str
    outcome: str  # "refused" or "failed"
    rule: str | None
    message: str | None


@dataclass(frozen=True)
class ReportCancellation:
    by: str  # display name and user name; "not recorded" if the log names no one
    at: datetime | None
    reason: str


@dataclass(frozen=True)
class ReportJustification:
    id: int
    version: int
    author: str
    subjects: tuple[str, ...]
    statutory_function: str  # readable, e.g. "Children Act 1989 s47 enquiry"
    data_protection_basis: str
    question: str
    safety_case: str
    ethics_case: str
    balance: str
    less_intrusive_considered: tuple[str, ...]
    why_not_enough: str
    proportionality: str
    intrusion_level: str
    collateral_intrusion: str
    scope: tuple[str, ...]
    planned_viewings: int
    valid_until: str
    family_told: str
    family_told_reason: str
    emergency: bool
    emergency_reason: str
    status: str
    content_hash: str
    decisions: tuple[ReportDecision, ...]
    authorisation_ref: str | None
    emergency_state: str | None = None
    """For an emergency, at the note's date: "live" (within its review window),
    "overdue" (past it, no manager's review) or "reviewed"; None otherwise."""
    looks_made: int = 0
    """Completed looks of the worker's own under this version (captures, views, imports
    of their own looks), as its checkpoint certifies; supplied material is no look."""
    attempts: tuple[ReportAttempt, ...] = ()
    """Refused and failed attempts under it, up to the note's date, oldest first."""
    attempts_left_out: int = 0
    """Refused or failed attempts not listed (beyond the note's limit)."""
    submitted_at: datetime | None = None
    """When this version was submitted for a decision (for an emergency, when the
    break-glass began); None for a draft never submitted."""
    review_due: datetime | None = None
    """For an emergency: when the manager's review fell due under the policy."""
    supersedes: int | None = None
    """The justification this version revises (the same request's earlier version)."""
    cancelled: ReportCancellation | None = None
    """For a cancelled version: who cancelled it, when and why, as the log records it."""


@dataclass(frozen=True)
class ReportObservation:
    id: int
    source_id: int
    text: str
    domain: str  # a key of DOMAINS
    reliability: str  # Admiralty A-F
    credibility: int  # Admiralty 1-6
    uk_equivalent: str  # the 3x5x2 reading, e.g. "2/C"
    risks: tuple[str, ...]  # keys of RISKS, or free text for "other"
    corroboration: tuple[str, ...]  # what earns reliance, in words; empty if not relied upon
    relied_upon: bool
    author: str
    recorded_at: datetime
    reliance: tuple[str, ...] = ()  # why not relied upon (or, if relied upon, any caveat)


@dataclass(frozen=True)
class ReportPicture:
    """What a source looked like, for the provenance appendix: a small copy, made when
    the note's data was built (:mod:`caseview.report.thumbnails`), or why there is none."""

    kind: str  # "screenshot" (a rendered capture's, as captured) or "image" (imported)
    sha256: str  # of the kept picture, as recorded when it was kept
    thumbnail: bytes | None  # JPEG; None when none could be made (see ``problem``)
    thumbnail_width: int = 0  # pixels, thumbnails.PX_PER_PT to a point
    thumbnail_height: int = 0
    width: int = 0  # the kept picture's own size in pixels (0 when it could not be read)
    height: int = 0
    top_only: bool = False  # the thumbnail shows the top of a taller picture
    page_height: int | None = None
    """The page's full height when the screenshot itself kept only its top (a page
    longer than the evidence browser's limit); None when it holds the whole page."""
    problem: str | None = None  # why there is no thumbnail, as the end of a sentence


@dataclass(frozen=True)
class ReportSource:
    id: int
    url: str
    final_url: str | None
    title: str | None
    captured_at: datetime
    captured_by: str
    method: str
    origin: str
    supplied_by: str | None
    sha256: str
    size: int
    justification_id: int
    grading: str  # the gradings of its observations, e.g. "B2, C3", or "not graded"
    published: str | None  # as the page states it
    viewed_at: datetime | None  # for imports: when the worker viewed it
    method_statement: str = ""
    """How this source was obtained and what was promised for it, said of it alone."""
    gone_status: int | None = None
    """404 or 410 when the source is evidence that the page was gone."""
    http_status: int | None = None
    """The HTTP status the site answered with, for a capture; None for an import."""
    picture: ReportPicture | None = None
    """A rendered capture's screenshot or an imported image; None for anything else."""


@dataclass(frozen=True)
class ReportCollateral:
    """Another person's details seen on a source (collateral intrusion), as reviewed."""

    source_id: int
    kind: str  # in plain words, e.g. "Another child's details"
    value: str
    context: str  # the words around it on the page
    review: str  # "confirmed by wren", "dismissed by wren" or "not yet reviewed"


@dataclass(frozen=True)
class ReportNote:
    author: str
    analysis: str
    balance: str
    conclusion: str
    evaluation_useful: str
    evaluation_decision: str
    evaluation_family_told: str
    evaluation_family_response: str


@dataclass(frozen=True)
class ReportPolicy:
    """The gate's policy in force at the note's date (issue 10)."""

    name: str
    sha256: str  # of its stored TOML text; of the empty text for the shipped defaults
    shipped_defaults: bool  # never changed: the shipped defaults apply
    differences: tuple[tuple[str, str], ...]  # (key, value as text) differing from defaults
    set_by: str | None
    confirmed_by: str | None  # the second manager, when it loosened the gate


@dataclass(frozen=True)
class ReportAuthorisation:
    """A confirmed RIPA authorisation relied on by one of the case's requests."""

    id: int
    justification_id: int
    reference: str
    officer: str
    magistrate_approved_on: str  # ISO date
    expires_on: str  # ISO date, a UK date: valid to the end of that day
    person: str
    recorded_by: str
    confirmed_by: str
    expired: bool  # at the note's date


@dataclass(frozen=True)
class ReportData:
    case_reference: str
    case_title: str
    classification: str
    subjects: tuple[tuple[str, str], ...]  # (name, role)
    author: str  # who the note is by
    dated: datetime  # the checkpoint's time: re-exporting an unchanged case is identical
    checkpoint_seq: int
    checkpoint_hash: str
    case_file_name: str  # for the verify command printed in the note
    tool: str  # e.g. "caseview 0.1.0"
    justifications: tuple[ReportJustification, ...]
    observations: tuple[ReportObservation, ...]
    sources: tuple[ReportSource, ...]
    note: ReportNote | None
    limitations: tuple[str, ...]
    policy: ReportPolicy | None = None
    authorisations: tuple[ReportAuthorisation, ...] = ()
    collateral: tuple[ReportCollateral, ...] = ()
