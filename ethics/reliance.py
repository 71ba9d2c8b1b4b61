"""When the note may rely on an observation: relied upon is earned, never self-certified.

An observation is **relied upon** only when something outside its own grading supports
it (Admiralty grading; DOMAIN.md "Evidence standards"):

* an observation on an **independent** source whose own credibility is within the
  policy's ``corroboration_max_credibility`` (default 3: confirmed, probably or
  possibly true); or
* an **external check** recorded with what was checked, who checked it and when.

Its own credibility never earns reliance: a worker grading something 1 or 2 is an
opinion that still needs support. An anonymous account (source reliability F, cannot be
judged) is never relied upon alone, whatever its credibility. Credibility 1 means
"confirmed by other sources", so it must name what confirmed it (``confirmed_by``);
naming it is not itself a check (a name carries no who or when), so a credibility-1
observation earns reliance the same way as any other, by a linked corroborating
observation or an external check with what, who and when.

Independence is judged from what was captured, not from labels. Two sources are **not**
independent when any of these holds:

* they are the same source, or one is a correction of the other (the same item);
* their bodies have the same sha256 (a second copy of the same bytes);
* they are the same page address: the requested or final URL of one equals the
  requested or final URL of the other, compared without the scheme (http and https),
  a leading ``www.``, ``m.`` or ``mobile.`` (a mirror of the same site), a trailing
  slash or a fragment. The same page captured twice usually differs in bytes (a
  timestamp, an advert) yet says nothing new.

What this cannot see: two different pages repeating one original (a repost, a shared
screenshot) are independent by these tests; the interpretation risks (``repost``)
are where the worker records that, and the worker should not link them.

Pure: no database, no clock; the facts are plain values the service loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from ethics.policy import Policy
from ethics.scope import parse_web_url

ANONYMOUS: Final = "F"
_MIRROR_PREFIXES: Final = ("www.", "m.", "mobile.")
CONFIRMED: Final = 1


@dataclass(frozen=True)
class SourceFacts:
    """What independence is judged by: the captured item, its bytes and its address."""

    source_id: int
    body_sha256: str
    urls: tuple[str, ...] = ()
    """The requested and final URL as captured (either may be missing)."""
    same_item: tuple[int, ...] = ()
    """Other source ids that are this same item (corrections of it, or that it corrects)."""


@dataclass(frozen=True)
class ObservationFacts:
    """The observation being judged: its source and its own grading."""

    source: SourceFacts
    reliability: str
    credibility: int
    confirmed_by: str | None = None


@dataclass(frozen=True)
class CorroboratorFacts:
    """An observation linked as corroborating: its source and its own grading."""

    observation_id: int
    source: SourceFacts
    reliability: str
    credibility: int


@dataclass(frozen=True)
class ExternalCheck:
    """A check made outside the online material: what was checked, who, and when."""

    what: str = ""
    who: str = ""
    when: date | None = None

    def missing(self) -> tuple[str, ...]:
        """The parts not given, in words ("who checked it", ...); empty when complete."""
        parts = (
            ("what was checked", bool(self.what.strip())),
            ("who checked it", bool(self.who.strip())),
            ("when", self.when is not None),
        )
        return tuple(words for words, given in parts if not given)

    @property
    def complete(self) -> bool:
        return not self.missing()

    @property
    def empty(self) -> bool:
        return len(self.missing()) == 3

    def describe(self) -> str:
        when = self.when.isoformat() if self.when is not None else "no date"
        what = self.what.strip().rstrip(".")
        return f"external check: {what}, by {self.who.strip().rstrip('.')}, on {when}"


@dataclass(frozen=True)
class Reliance:
    """The answer: relied upon or not, and why, in plain words."""

    relied: bool
    reasons: tuple[str, ...]
    """Why it is relied upon, or why not: one sentence each, the verdict first."""
    supported_by: tuple[str, ...]
    """What earns reliance, in words ("observation 4 on source 2 (B3)", the check)."""
    advice: str = ""
    """When not relied upon: what would earn it."""


def page_address(url: str) -> str:
    """A page address reduced so that two spellings of the same page compare equal."""
    raw = url.strip()
    try:
        parsed = parse_web_url(raw)
    except ValueError:
        return raw
    host = parsed.host
    # The mobile and www mirrors serve the same post: a copy from m.social.example is the
    # same page as one from social.example (as ethics.people reads profile addresses).
    for mirror in _MIRROR_PREFIXES:
        if host.startswith(mirror) and host.count(".") >= 2:
            host = host[len(mirror) :]
            break
    port = f":{parsed.port}" if parsed.port is not None else ""
    path = parsed.path.rstrip("/") or "/"
    query = f"?{parsed.query}" if parsed.query else ""
    return f"{host}{port}{path}{query}"


def not_independent(mine: SourceFacts, theirs: SourceFacts) -> str | None:
    """Why ``theirs`` is not independent of ``mine``, in words; None when it is."""
    if theirs.source_id == mine.source_id:
        return "it is about the same source"
    if theirs.source_id in mine.same_item or mine.source_id in theirs.same_item:
        return f"source {theirs.source_id} is a correction of the same item"
    if theirs.body_sha256 == mine.body_sha256:
        return (
            f"source {theirs.source_id} is a copy of the same bytes (the same sha256), "
            "so it is not independent"
        )
    my_pages = {page_address(u) for u in mine.urls if u.strip()}
    their_pages = {page_address(u) for u in theirs.urls if u.strip()}
    if my_pages & their_pages:
        return (
            f"source {theirs.source_id} is the same page captured again, so it is not independent"
        )
    return None


def _credibility_range(policy: Policy) -> str:
    top = policy.corroboration_max_credibility
    return "credibility 1" if top == 1 else f"credibility 1 to {top}"


def assess_reliance(
    obs: ObservationFacts,
    corroborators: Sequence[CorroboratorFacts],
    external_check: ExternalCheck | None,
    policy: Policy,
) -> Reliance:
    """Whether the note may rely on ``obs``, and why (see the module docstring)."""
    top = policy.corroboration_max_credibility
    supports: list[str] = []
    refused: list[str] = []
    for other in corroborators:
        why = not_independent(obs.source, other.source)
        grade = f"{other.reliability}{other.credibility}"
        if why is not None:
            refused.append(f"Observation {other.observation_id} does not corroborate it: {why}.")
        elif other.credibility > top:
            refused.append(
                f"Observation {other.observation_id} does not corroborate it: it is graded "
                f"{grade}, and corroboration needs {_credibility_range(policy)} (the policy)."
            )
        else:
            supports.append(
                f"observation {other.observation_id} on source {other.source.source_id} "
                f"({grade}), an independent source with different content"
            )
    if external_check is not None and not external_check.empty:
        missing = external_check.missing()
        if missing:
            refused.append(
                "The external check does not count: it does not record "
                + " or ".join(missing)
                + "."
            )
        else:
            supports.append(external_check.describe())

    notes: list[str] = []
    if obs.credibility == CONFIRMED and not (obs.confirmed_by or "").strip():
        notes.append("Credibility 1 (confirmed) does not name what confirmed it.")

    if supports:
        reasons = ["Relied upon: corroborated by " + "; ".join(supports) + "."]
        return Reliance(True, tuple(reasons + refused + notes), tuple(supports))

    reasons = []
    if obs.reliability == ANONYMOUS:
        reasons.append(
            "Not relied upon: source reliability F (cannot be judged, e.g. an anonymous "
            "account) is never relied upon alone."
        )
    elif obs.credibility <= 2:
        reasons.append(
            f"Not relied upon: its own grading (credibility {obs.credibility}) is not "
            "enough on its own."
        )
    elif refused:
        reasons.append("Not relied upon: what was offered as corroboration does not count.")
    else:
        reasons.append("Not relied upon: nothing corroborates it.")
    advice = (
        "To be relied upon it needs an observation on an independent source graded "
        f"{_credibility_range(policy)}, or an external check recorded with what, who and when."
    )
    return Reliance(False, tuple(reasons + refused + notes), (), advice)


def rules_text(policy: Policy) -> str:
    """The relied-upon rules in one paragraph, as the note's limitations state them."""
    return (
        "An observation is relied upon only when it is corroborated, never on its own "
        "grading: by an observation on an independent source (a different source with "
        "different content; a second copy of the same page or of the same bytes is not "
        f"independent) that is itself graded {_credibility_range(policy)} (the policy's "
        "limit), or by an external check recorded with what was checked, who checked it "
        "and when. An anonymous account (source reliability F) is never relied upon "
        "alone. Credibility 1 (confirmed) must name what confirmed it."
    )
