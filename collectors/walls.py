"""Is this page a login wall or restricted content? (Then it is not public.)

Council protocols say content limited to friends or followers is not public, and a
worker must never log in to see more. When a site answers a public URL with a sign-in
page or a "this account is private" notice, the capture is refused as *not public*
rather than stored as if it were the page.

The heuristics are deliberately conservative, to avoid refusing ordinary public
pages that merely mention logging in:

* a **sign-in form**: a password field on a page with little else to read (fewer than
  ``SIGN_IN_MAX_WORDS`` words). A forum with a small login box beside a long thread
  has more words than that and is kept.
* a **restriction notice**: one of ``RESTRICTION_PHRASES`` in the title or the page
  description, or in the text of a short page (fewer than ``NOTICE_MAX_WORDS``
  words). An article *about* private accounts is long and is kept.

A redirect to a login path (``/login``, ``/accounts/login/``, ``/authwall`` ...) is
caught earlier, by :func:`is_login_url`, before the login page is ever requested.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SIGN_IN_MAX_WORDS = 150
NOTICE_MAX_WORDS = 300

RESTRICTION_PHRASES = (
    "this content isn't available",
    "this content is not available",
    "this content is unavailable",
    "log in to see",
    "log in to view",
    "log in to continue",
    "login to see",
    "login to view",
    "login to continue",
    "sign in to see",
    "sign in to view",
    "sign in to continue",
    "you must log in",
    "you must be logged in",
    "you need to log in",
    "login required",
    "friends only",
    "only friends can see",
    "this account is private",
    "this profile is private",
    "private account",
)

# Path segments that mean "sign in" on the large social sites and most others.
_LOGIN_PATH = re.compile(
    r"(?:^|/)(?:log-?in|log_in|sign-?in|sign_in|signin|authwall|uas/login|i/flow/login)"
    r"(?:/|$|\.|\?)",
    re.I,
)


def _normalise(text: str) -> str:
    # Curly apostrophes are what most sites actually print.
    return " ".join(text.replace("\u2019", "'").casefold().split())


def restriction_phrase(text: str) -> str | None:
    """The first restriction phrase in ``text``, if any."""
    normal = _normalise(text)
    for phrase in RESTRICTION_PHRASES:
        if phrase in normal:
            return phrase
    return None


def login_wall_reason(
    *,
    title: str | None,
    text: str,
    description: str | None,
    has_password_field: bool,
    word_count: int | None = None,
) -> str | None:
    """Why the page looks like a login wall or restricted content, or None.

    ``word_count`` is ``len(text.split())`` when the caller has it already.
    """
    words = len(text.split()) if word_count is None else word_count
    if has_password_field and words < SIGN_IN_MAX_WORDS:
        return "the page is a sign-in form"
    for label, value in (("title", title), ("description", description)):
        phrase = restriction_phrase(value or "")
        if phrase:
            return f"the page {label} says {phrase!r}"
    if words < NOTICE_MAX_WORDS:
        phrase = restriction_phrase(text)
        if phrase:
            return f"the page says {phrase!r}"
    return None


def is_login_url(url: str) -> bool:
    """True if the URL's path is a sign-in page (``/login``, ``/accounts/login/``...)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return _LOGIN_PATH.search(path) is not None
