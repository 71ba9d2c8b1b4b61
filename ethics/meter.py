"""The repeat-viewing meter: how often one person's pages have been looked at.

One look at open material is usually acceptable; repeated looks at one person that
build a picture of their life can become directed surveillance (RIPA 2000 Part II),
which children's services have, in practice, no routine way to authorise. The meter
counts completed viewings of a subject by *everyone* in a rolling window, because the
pattern matters, not who made each look.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from ethics import references
from ethics.policy import Policy
from ethics.timeutil import require_aware
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
    """One completed look at a subject's pages (refused attempts are not viewings)."""

    subject_id: int
    at: datetime
    user: str

    def __post_init__(self) -> None:
        # Stored in UTC so every comparison is between like and like.
        object.__setattr__(self, "at", require_aware(self.at, "Viewing.at"))


@dataclass(frozen=True)
class MeterReading:
    """The meter for one subject at one moment, about the *next* viewing."""

    count_in_window: int
    state: MeterState
    message: str
    reference: str

    @property
    def next_viewing(self) -> int:
        """Which viewing in the window the next look would be (1 for the first)."""
        return self.count_in_window + 1


def count_in_window(
    history: Iterable[Viewing], subject_id: int, now: datetime, window_days: int
) -> int:
    """Viewings of the subject from `window_days` before `now`, inclusive, onwards.

    A viewing stamped after `now` (another machine's clock running ahead) is counted
    too: under-counting is the unsafe direction.
    """
    start = require_aware(now, "now") - timedelta(days=window_days)
    return sum(1 for v in history if v.subject_id == subject_id and v.at >= start)


def read_meter(
    history: Iterable[Viewing],
    subject_id: int,
    now: datetime,
    policy: Policy,
    authorised: bool,
) -> MeterReading:
    """The meter for `subject_id` before its next viewing.

    `authorised` is True when a manager has recorded a surveillance authorisation
    reference on the justification; it lifts the stop line and says so.
    """
    count = count_in_window(history, subject_id, now, policy.meter_window_days)
    upcoming = count + 1
    so_far = (
        f"Subject {subject_id} has been viewed {plural(count, 'time')} in the last "
        f"{policy.meter_window_days} days, by anyone in the organisation; the next look "
        f"would be the {ordinal(upcoming)}."
    )
    if upcoming >= policy.meter_stop_at:
        if authorised:
            return MeterReading(
                count,
                "authorised",
                f"{so_far} That is past the stop line, but a manager has recorded a "
                "surveillance authorisation reference for this request, so it may go ahead; "
                "the note and the audit log will show the reference.",
                references.RIPA,
            )
        return MeterReading(count, "stop", f"{so_far} {stop_advice()}", references.RIPA)
    if upcoming >= policy.meter_warn_from:
        return MeterReading(
            count,
            "warn",
            f"{so_far} {factors_advice()}",
            references.HOME_OFFICE_CODE,
        )
    return MeterReading(count, "ok", so_far, references.HOME_OFFICE_CODE)


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
