"""The repeat-viewing meter: how often one person's pages have been looked at.

One look at open material is usually acceptable; repeated looks at one person that
build a picture of their life can become directed surveillance (RIPA 2000 Part II),
which children's services have, in practice, no routine way to authorise. The meter
counts completed looks at a *person* (every subject, in any case, that is that person;
every page that is theirs) by everyone, in a rolling window and as a pattern over
months, because the pattern matters, not who made each look or under which label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from ethics import references
from ethics.policy import Policy
from ethics.timeutil import require_aware, uk_month
from ethics.wording import ordinal, plural

MeterState = Literal["ok", "warn", "stop", "authorised"]

# The Home Office Code's factors for when online research becomes surveillance.
CODE_FACTORS: Final = (
    "it is directed at one person",
    "it is likely to obtain private information",
    "it builds a profile or pattern of their lifestyle",
    "what is seen is recorded and retained",
    "it is combined with other sources",
    "the viewing is repeated",
    "third parties are likely to be captured",
)


@dataclass(frozen=True)
class Viewing:
    """One completed look (refused attempts are not viewings).

    `persons` are the people the look counts for: the person the chosen subject is, and
    everyone whose known profile the page was (see `ethics.people`). Left empty, the
    look counts for its subject id alone, as a person of one.
    """

    subject_id: int
    at: datetime
    user: str
    persons: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        # Stored in UTC so every comparison is between like and like.
        object.__setattr__(self, "at", require_aware(self.at, "Viewing.at"))

    def counts_for(self, person: int) -> bool:
        return person in self.persons if self.persons else person == self.subject_id


@dataclass(frozen=True)
class MeterReading:
    """The meter for one person at one moment, about the *next* viewing."""

    count_in_window: int
    state: MeterState
    message: str
    reference: str
    months: int = 0
    """Separate UK calendar months with a look at this person in the pattern window."""
    pattern: bool = False
    """True when the stop (or the authorised lift of it) is for a pattern over months."""

    @property
    def next_viewing(self) -> int:
        """Which viewing in the window the next look would be (1 for the first)."""
        return self.count_in_window + 1


def count_in_window(
    history: Iterable[Viewing], person: int, now: datetime, window_days: int
) -> int:
    """Looks at the person from `window_days` before `now`, inclusive, onwards.

    A viewing stamped after `now` (another machine's clock running ahead) is counted
    too: under-counting is the unsafe direction.
    """
    start = require_aware(now, "now") - timedelta(days=window_days)
    return sum(1 for v in history if v.counts_for(person) and v.at >= start)


def months_with_looks(
    history: Iterable[Viewing], person: int, now: datetime, window_months: int
) -> int:
    """Separate UK calendar months, among the last `window_months` (this one included),
    in which the person was looked at."""
    this_month = uk_month(require_aware(now, "now"))
    first = this_month - window_months + 1
    return len({m for v in history if v.counts_for(person) and first <= (m := uk_month(v.at))})


def read_meter(
    history: Iterable[Viewing],
    person: int,
    now: datetime,
    policy: Policy,
    authorised: bool,
) -> MeterReading:
    """The meter for `person` before their next viewing.

    Two stops: the rolling window (the next look would be the `meter_stop_at`-th within
    `meter_window_days`), and a pattern over time (looks already made in
    `pattern_months` separate calendar months within `pattern_window_months`).
    `authorised` is True when a confirmed surveillance authorisation in force covers
    this person for the request; it lifts both stops and says so.
    """
    looks = tuple(history)
    count = count_in_window(looks, person, now, policy.meter_window_days)
    months = months_with_looks(looks, person, now, policy.pattern_window_months)
    upcoming = count + 1
    so_far = (
        f"This person has been viewed {plural(count, 'time')} in the last "
        f"{policy.meter_window_days} days, by anyone in the organisation and under any "
        f"request or label; the next look would be the {ordinal(upcoming)}."
    )
    window_stop = upcoming >= policy.meter_stop_at
    pattern_stop = months >= policy.pattern_months
    if window_stop or pattern_stop:
        pattern = pattern_stop and not window_stop
        why = so_far
        if pattern:
            why = (
                f"This person has been looked at in {months} separate months within the "
                f"last {policy.pattern_window_months}: that is a pattern, the Code's ongoing "
                "or systematic monitoring, however far apart the looks were."
            )
        if authorised:
            return MeterReading(
                count,
                "authorised",
                f"{why} That is past the stop line, but a surveillance authorisation "
                "confirmed by a second manager covers this person, so it may go ahead; the "
                "note and the audit log show the authorisation.",
                references.RIPA,
                months,
                pattern,
            )
        return MeterReading(
            count, "stop", f"{why} {stop_advice()}", references.RIPA, months, pattern
        )
    if upcoming >= policy.meter_warn_from:
        return MeterReading(
            count,
            "warn",
            f"{so_far} {factors_advice()}",
            references.HOME_OFFICE_CODE,
            months,
        )
    return MeterReading(count, "ok", so_far, references.HOME_OFFICE_CODE, months)


def factors_advice() -> str:
    """The warning text naming the Code's factors."""
    return (
        "Repeated looks at one person can become directed surveillance. The Code asks "
        "whether " + "; whether ".join(CODE_FACTORS) + ". Keep to the stated question, "
        "record only what answers it, and leave other people out."
    )


def stop_advice() -> str:
    """The stop text: why, and whom to consult."""
    return (
        "Stop: viewing this person again may amount to directed surveillance under "
        "RIPA 2000 Part II (Home Office Code 3.10–3.17), which needs an authorisation that "
        "children's services have no routine route to obtain. Do not look again; consult "
        "your manager and your legal adviser (and the police if the risk is urgent)."
    )
