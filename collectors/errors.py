"""Why a capture did not happen, in words a social worker can act on.

Every failure of a collector is a :class:`CollectorError`. ``kind`` is a stable
machine-readable word (the service layer stores it with the refused viewing);
the message says what happened and what to do. :class:`NotPublic` is separate from
the other refusals because the service records it as a refused viewing (exit 3):
content behind a login is out of scope by policy, not a technical fault.

An error raised by :func:`collectors.http.fetch` carries ``attempt``: the URL tried,
the redirect chain so far, the HTTP status (if one came back) and the UTC start and
end times, so a failed attempt is still a record (DESIGN section 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FailedAttempt:
    """What is known about a capture attempt that did not produce a capture."""

    requested_url: str
    last_url: str
    redirect_chain: tuple[tuple[str, int, str], ...]
    status: int | None
    started_at: datetime
    ended_at: datetime


class CollectorError(Exception):
    """A capture or import that could not be completed; the message says what to do."""

    kind = "error"

    def __init__(self, message: str, *, attempt: FailedAttempt | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.attempt = attempt

    def with_attempt(self, attempt: FailedAttempt) -> CollectorError:
        """Attach the attempt record (done once, where the times are known)."""
        if self.attempt is None:
            self.attempt = attempt
        return self


class NotPublic(CollectorError):
    """The content needs a login or is restricted: by policy it is not captured."""

    kind = "not_public"


class Refused(CollectorError):
    """Caseview will not go there: a non-web scheme, credentials, or a private address."""

    kind = "refused"


class TooLarge(CollectorError):
    """The content is bigger than the size limit (after decompression)."""

    kind = "too_large"


class Timeout(CollectorError):
    """The site took longer than the time allowed for the whole capture."""

    kind = "timeout"


class TooManyRedirects(CollectorError):
    """The site kept sending Caseview somewhere else."""

    kind = "too_many_redirects"


class UnsupportedType(CollectorError):
    """The file or content is of a type Caseview does not import."""

    kind = "unsupported_type"


class FetchFailed(CollectorError):
    """The network or the site failed (no answer, broken connection, corrupt data)."""

    kind = "fetch_failed"


class Unavailable(CollectorError):
    """The site answered that it cannot serve the page now (429 Too Many Requests, 5xx).

    An error page is not evidence of what the page shows: nothing is kept, and the
    attempt is a failed look, not a completed viewing. ``retry_after`` is the site's
    Retry-After header as sent, if it gave one.
    """

    kind = "unavailable"

    def __init__(
        self,
        message: str,
        *,
        attempt: FailedAttempt | None = None,
        status: int | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message, attempt=attempt)
        self.status = status
        self.retry_after = retry_after


class Cancelled(CollectorError):
    """The worker cancelled the capture; nothing was kept."""

    kind = "cancelled"
