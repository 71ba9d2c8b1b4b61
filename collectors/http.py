"""Capture one public web address over HTTP(S), with its provenance.

:func:`fetch` follows redirects itself so that every hop is checked
(``collectors.addresses``, and the caller's own ``check_url``) before anything is sent
to it, connects to the address that was checked (``collectors.transport``), and keeps
the exact bytes sent and received for the WARC records (``collectors.warc``).

Limits, all enforced while streaming:

* ``deadline_s`` is wall-clock time for the whole capture, every hop included. It is
  checked between chunks, and a watchdog shuts the socket at the deadline so that a
  server dripping a byte a second (or stalling in its headers) cannot outlast it.
* ``max_bytes`` bounds the body both as sent and after Content-Encoding is undone, so
  a gzip or brotli bomb stops at the limit. Content-Length is never trusted. What
  comes after the headers (chunk framing and trailers included) may be at most twice
  ``max_bytes``, so trailer lines sent for ever after the last chunk stop there too.
* ``max_redirects`` bounds the chain.

Hashes: ``body_sha256`` is of the body as delivered **after** Content-Encoding is
undone (what a browser would show; DESIGN section 2), ``raw_sha256`` of the body as
sent (still encoded, after chunked transfer framing is removed). The WARC records keep
the wire bytes themselves.

Not public means not captured: 401, 403 and 451, a redirect to a sign-in page, and a
page that is a sign-in form or a restriction notice raise :class:`NotPublic`.

An error page is not evidence: 429 Too Many Requests and every 5xx answer raise
:class:`Unavailable` (the site is not answering now; its Retry-After is kept). A page
that is gone (404, 410) *is* evidence that it was no longer there: it is captured, with
a note saying so.

Interim (1xx) responses and header blocks count against ``MAX_HEAD_BYTES`` (and
``max_bytes``), so a server sending ``100 Continue`` for ever is stopped, not stored.
Interim answers are skipped, as a browser skips them (``103 Early Hints`` before the
page); answers with no page at all (204, 205, 304, a status past 599) are not captured.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin

import requests
import urllib3.exceptions
from requests.cookies import extract_cookies_to_jar
from urllib3.util.ssl_match_hostname import CertificateError

from collectors import addresses, decoding, sniff, walls
from collectors.addresses import HostName, Resolver, Target
from collectors.documents import read_pdf
from collectors.errors import (
    Cancelled,
    CollectorError,
    FailedAttempt,
    FetchFailed,
    NotPublic,
    Refused,
    Timeout,
    TooLarge,
    TooManyRedirects,
    Unavailable,
)
from collectors.html import PageInfo, page_from_text, parse_html
from collectors.transport import (
    MAX_HEAD_BYTES,
    MAX_INTERIM,
    PinnedAdapter,
    Watchdog,
    Wire,
    WireTooLarge,
)
from collectors.version import TOOL_NAME, TOOL_VERSION, USER_AGENT

UrlCheck = Callable[[str], str | None]
"""A caller's rule for each hop: given its URL, None to go ahead or the reason to refuse."""

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_DEADLINE_S = 30.0
DEFAULT_TIMEOUT = (10.0, 20.0)  # connect, read (per socket operation)
_CHUNK = 64 * 1024
_CANCEL_POLL_S = 0.1  # how often a capture notices Stop while a socket is blocked
_REDIRECT_BODY_LIMIT = 64 * 1024  # bytes of a redirect's body kept for the WARC record
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_URL_WHITESPACE = re.compile(r"[\t\n\r]")
_NOT_PUBLIC_STATUS = {
    401: "401 Unauthorized",
    403: "403 Forbidden",
    451: "451 Unavailable For Legal Reasons",
}
_NO_PAGE_STATUS = {204: "No Content", 205: "Reset Content", 304: "Not Modified"}
GONE_STATUS = {404: "404 Not Found", 410: "410 Gone"}
"""Answers kept as evidence that the page was no longer there."""
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XML_TYPES = frozenset({"application/xml", "text/xml"})
_TEXT_KINDS = frozenset({"text", "html", "eml", "mhtml"})  # sniffed kinds that are text
_TEXTUAL_TYPES = frozenset({"application/json", "application/xml", "application/javascript",
                            "application/ecmascript", "application/x-javascript"})  # fmt: skip
_MIME_ESSENCE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+/[a-z0-9!#$%&'*+.^_`|~-]+")
_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_NETWORK_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)
# What reading from a connection can raise. ValueError: reading a file object that the
# watchdog's shutdown has just closed.
_TRANSPORT_ERRORS = (*_NETWORK_ERRORS, ValueError)
_BROKE_OFF = (
    "The site broke off while sending the page, so the capture is incomplete and was not "
    "kept. Try again later."
)


@dataclass(frozen=True)
class RedirectHop:
    url: str
    status: int
    location: str
    server_ip: str


@dataclass(frozen=True)
class Exchange:
    """One request and its response, byte for byte as on the wire (inside TLS)."""

    url: str
    server_ip: str
    server_port: int
    started_at: datetime
    request: bytes
    response: bytes  # status line, headers, body still content- and transfer-encoded
    response_head_length: int
    complete: bool  # False when Caseview stopped reading (a long redirect body)


@dataclass(frozen=True)
class HttpCapture:
    requested_url: str
    final_url: str
    requested_host: HostName
    final_host: HostName
    redirect_chain: tuple[RedirectHop, ...]
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]  # as received, in order, duplicates kept
    content_type: str | None  # the Content-Type header as served
    media_type: str | None  # its type/subtype, lower case
    sniffed_type: str | None  # what the body's first bytes show, if recognised
    content_encoding: tuple[str, ...]
    body: bytes
    body_sha256: str
    body_size: int
    body_encoding_note: str
    raw_sha256: str
    raw_size: int
    server_ip: str
    server_port: int
    started_at: datetime
    ended_at: datetime
    user_agent: str
    page: PageInfo | None  # for HTML: title, text, metadata, links
    notes: tuple[str, ...]
    exchanges: tuple[Exchange, ...]  # every hop, for the WARC records
    tool: str = f"{TOOL_NAME}/{TOOL_VERSION}"


@dataclass
class _Progress:
    """What is known so far, for the record of an attempt that fails."""

    requested_url: str
    started_at: datetime
    last_url: str
    status: int | None = None

    def failed(self, hops: Iterable[RedirectHop]) -> FailedAttempt:
        return FailedAttempt(
            requested_url=self.requested_url,
            last_url=self.last_url,
            redirect_chain=tuple((h.url, h.status, h.location) for h in hops),
            status=self.status,
            started_at=self.started_at,
            ended_at=_now(),
        )


@dataclass
class _Limits:
    deadline: float  # time.monotonic()
    timeout: tuple[float, float]
    max_bytes: int
    cancel: Callable[[], bool] | None
    watchdog: Watchdog
    verify: str | bool  # requests' TLS setting: True (certifi) or a CA bundle path

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise _stopped()
        if self.watchdog.fired or self.remaining() <= 0:
            raise _timeout()

    def request_timeout(self) -> tuple[float, float]:
        left = max(self.remaining(), 0.001)
        return (min(self.timeout[0], left), min(self.timeout[1], left))


def _now() -> datetime:
    return datetime.now(UTC)


def _timeout() -> Timeout:
    return Timeout(
        "The site took longer than the time allowed for a capture, so it was stopped and "
        "nothing was kept. Try again later; if it keeps happening the site may be "
        "deliberately slow."
    )


def fetch(
    url: str,
    *,
    resolver: Resolver | None = None,
    allow_hosts: Iterable[str] | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    deadline_s: float = DEFAULT_DEADLINE_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = 10,
    user_agent: str = USER_AGENT,
    cancel: Callable[[], bool] | None = None,
    ca_certs: str | None = None,
    check_url: UrlCheck | None = None,
) -> HttpCapture:
    """Capture ``url``; return the capture or raise a :class:`CollectorError`.

    ``allow_hosts`` names hosts or addresses that may be non-public; None reads
    ``CASEVIEW_ALLOW_HOSTS``. ``resolver(host)`` returns addresses (default: the
    system's). ``cancel()`` returning True stops the capture between chunks.
    ``ca_certs`` is a CA bundle file to trust instead of the default (certifi), for an
    intranet source with its own certificate authority; certificates are always checked.
    ``check_url(url)`` is called for every hop, the first included, with the absolute
    address about to be requested (host in punycode, no fragment) before its name is
    looked up or anything is sent; a string it returns refuses the capture with
    :class:`Refused` carrying that string (the caller's own rules, e.g. which sites a
    request allows).
    """
    started_at = _now()
    progress = _Progress(requested_url=url, started_at=started_at, last_url=url)
    hops: list[RedirectHop] = []
    watchdog = _StoppableWatchdog(time.monotonic() + deadline_s)
    limits = _Limits(watchdog.deadline, timeout, max_bytes, cancel, watchdog, ca_certs or True)
    finished = threading.Event()
    allow = (
        addresses.allow_hosts_from_env()
        if allow_hosts is None
        else addresses.normalise_allow_hosts(allow_hosts)
    )
    try:
        watchdog.start()
        if cancel is not None:
            _stop_sockets_on_cancel(cancel, watchdog, finished)
        with requests.Session() as session:
            # No proxies, .netrc credentials or CA overrides from the environment: the
            # connection must go where we checked, and never with someone's login.
            session.trust_env = False
            session.headers.clear()
            session.headers.update(
                {
                    "User-Agent": user_agent,
                    "Accept": _ACCEPT,
                    "Accept-Encoding": "gzip, deflate, br",
                    "Accept-Language": "en-GB,en;q=0.8",
                    "Connection": "close",
                }
            )
            return _follow(
                session,
                url,
                resolver or addresses.system_resolver,
                allow,
                limits,
                max_redirects,
                user_agent,
                progress,
                hops,
                check_url,
            )
    except CollectorError as exc:
        attempt = progress.failed(hops)
        if _cancelled(cancel) and isinstance(exc, Timeout | FetchFailed):
            # Stop shut the socket: the read failed because the worker asked, not the site.
            raise _stopped().with_attempt(attempt) from exc
        if watchdog.fired and not isinstance(exc, Timeout | Cancelled):
            # The watchdog cut the connection: whatever error that caused, the cause was time.
            raise _timeout().with_attempt(attempt) from exc
        exc.with_attempt(attempt)
        raise
    except _NETWORK_ERRORS as exc:
        # A failure the steps above did not anticipate is still a failed attempt with a
        # message, never an unexplained crash or a capture without its bytes.
        failure: CollectorError = (
            _stopped()
            if _cancelled(cancel)
            else _timeout()
            if watchdog.fired
            else FetchFailed(_BROKE_OFF)
        )
        raise failure.with_attempt(progress.failed(hops)) from exc
    finally:
        finished.set()
        watchdog.stop()


class _StoppableWatchdog(Watchdog):
    def stop_now(self) -> None:
        """Shut every watched socket at once (the worker pressed Stop)."""
        self._fire()


def _cancelled(cancel: Callable[[], bool] | None) -> bool:
    return cancel is not None and cancel()


def _stopped() -> Cancelled:
    return Cancelled("The capture was cancelled; nothing was kept.")


def _stop_sockets_on_cancel(
    cancel: Callable[[], bool], watchdog: _StoppableWatchdog, finished: threading.Event
) -> None:
    """Watch ``cancel`` while the capture runs, and shut its sockets when it is set.

    Checking between chunks is not enough: a site that stalls leaves the read blocked
    until its timeout. Shutting the socket wakes it within ``_CANCEL_POLL_S``.
    """

    def watch() -> None:
        while not finished.wait(_CANCEL_POLL_S):
            if cancel():
                watchdog.stop_now()
                return

    threading.Thread(target=watch, name="capture-stop", daemon=True).start()


def _follow(
    session: requests.Session,
    url: str,
    resolver: Resolver,
    allow: frozenset[str],
    limits: _Limits,
    max_redirects: int,
    user_agent: str,
    progress: _Progress,
    hops: list[RedirectHop],
    check_url: UrlCheck | None,
) -> HttpCapture:
    requested = addresses.parse_target(url)
    exchanges: list[Exchange] = []
    current = url
    for _ in range(max_redirects + 1):
        limits.check()
        progress.last_url = current
        target = addresses.parse_target(current)
        if check_url is not None:
            reason = check_url(target.url)
            if reason is not None:
                raise Refused(reason)
        checked = addresses.checked_addresses(target, resolver, allow, timeout_s=limits.remaining())
        limits.check()
        with ExitStack() as stack:
            response, wire, hop_started = _send(session, target, checked, limits, stack)
            status = response.status_code
            progress.status = status
            location = response.headers.get("Location")
            if status in _REDIRECTS and location:
                complete = _drain_redirect(response, limits)
                exchanges.append(_exchange(target, wire, hop_started, complete))
                hops.append(RedirectHop(target.url, status, location, wire.address))
                current = _redirect_target(target, location)
                if walls.is_login_url(current):
                    raise NotPublic(
                        f"{target.host.unicode} sent Caseview to a sign-in page, so the content "
                        "is not public. Caseview only records what anyone can see without "
                        "logging in; nothing was captured."
                    )
                continue
            if status in _NOT_PUBLIC_STATUS:
                raise NotPublic(
                    f"{target.host.unicode} answered {_NOT_PUBLIC_STATUS[status]}: the page is "
                    "not public (it needs a login or is restricted). Caseview only records "
                    "what anyone can see without logging in; nothing was captured."
                )
            if status == 429 or 500 <= status <= 599:
                raise _unavailable(target, response)
            if status < 200:
                raise FetchFailed(
                    f"{target.host.unicode} sent only an interim answer (HTTP {status}) and "
                    "never the page, so nothing was captured. Try again later."
                )
            if status in _NO_PAGE_STATUS or status > 599:
                raise FetchFailed(_no_page(target, status))
            transfer = _unread_transfer_codings(response.headers.get("Transfer-Encoding"))
            if transfer:
                # http.client undoes only "chunked": the body would be stored still framed.
                raise FetchFailed(
                    f"{target.host.unicode} sent the page with Transfer-Encoding "
                    f"{transfer!r}, which Caseview did not ask for and cannot undo, so "
                    "nothing was captured. Try again later."
                )
            body, raw_hash, raw_size, note, codings = _read_body(response, limits)
            exchanges.append(_exchange(target, wire, hop_started, complete=True))
            capture = _capture(
                requested=requested,
                url=url,
                target=target,
                response=response,
                wire=wire,
                body=body,
                raw_hash=raw_hash,
                raw_size=raw_size,
                note=note,
                codings=codings,
                hops=hops,
                exchanges=exchanges,
                started_at=progress.started_at,
                user_agent=user_agent,
                seconds_left=limits.remaining(),
            )
            # Reading the page (parsing, text) is part of the capture: inside its deadline.
            limits.check()
            return capture
    raise TooManyRedirects(
        f"The site redirected Caseview more than {max_redirects} times without reaching a "
        "page (a redirect loop), so nothing was captured. Try the final address of the "
        "page directly, copied from the browser."
    )


def _redirect_target(target: Target, location: str) -> str:
    """The absolute address a Location header sends Caseview to, read as a browser does."""
    # http.client reads header bytes as Latin-1; browsers read a Location as UTF-8.
    with contextlib.suppress(UnicodeError):
        location = location.encode("latin-1").decode("utf-8")
    # Browsers drop tabs and line breaks from an address and encode its spaces.
    location = _URL_WHITESPACE.sub("", location.strip()).replace(" ", "%20")
    try:
        return urljoin(target.url, location)
    except ValueError as exc:
        raise FetchFailed(
            f"{target.host.unicode} redirected Caseview to an address that is not valid "
            f"({location[:200]!r}), so nothing was captured. Try the address of the page "
            "itself, copied from the browser."
        ) from exc


def _send(
    session: requests.Session,
    target: Target,
    checked: tuple[addresses.IPAddress, ...],
    limits: _Limits,
    stack: ExitStack,
) -> tuple[requests.Response, Wire, datetime]:
    """Send the request to the first checked address that accepts a connection."""
    last_error: requests.RequestException | None = None
    for address in checked:
        limits.check()
        wire = Wire(
            address.compressed,
            limits.watchdog,
            head_limit=limits.max_bytes,
            after_head_limit=2 * limits.max_bytes + _CHUNK,
        )
        adapter = PinnedAdapter(wire)
        stack.callback(adapter.close)
        # The adapter is called directly, not through Session.send: with redirects off,
        # Session.send still reads a redirect's whole body (and decompresses it) to look
        # ahead, with no size limit. The session only supplies headers and cookies.
        request = session.prepare_request(requests.Request("GET", target.url))
        hop_started = _now()
        try:
            response = adapter.send(
                request, stream=True, timeout=limits.request_timeout(), verify=limits.verify
            )
            # Cookies a site sets live only for this capture's later hops, as in a browser
            # session that is thrown away afterwards (some sites redirect to test them).
            extract_cookies_to_jar(session.cookies, request, response.raw)  # type: ignore[no-untyped-call]
        except (requests.ConnectTimeout, requests.ConnectionError) as exc:
            if isinstance(exc, requests.ConnectTimeout) or _is_connect_failure(exc):
                last_error = exc  # try the host's next address, if it has one
                continue
            raise _request_error(exc, target, limits, wire) from exc
        except requests.RequestException as exc:
            raise _request_error(exc, target, limits, wire) from exc
        stack.callback(response.close)
        return response, wire, hop_started
    assert last_error is not None
    raise _request_error(last_error, target, limits) from last_error


def _is_connect_failure(exc: requests.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _request_error(
    exc: requests.RequestException, target: Target, limits: _Limits, wire: Wire | None = None
) -> CollectorError:
    if wire is not None and wire.head_overflow is not None:
        return _head_too_large(target, wire.head_overflow)
    if any(_is_header_flood(cause) for cause in _causes(exc)):
        return _head_too_large(target, "headers")
    if limits.watchdog.fired or isinstance(exc, requests.Timeout):
        if limits.watchdog.fired or limits.remaining() <= 0.01:
            return _timeout()
        return Timeout(
            f"{target.host.unicode} did not answer in time, so nothing was captured. "
            "Try again later."
        )
    if isinstance(exc, requests.exceptions.SSLError) and _is_plain_http(exc):
        plain = "http://" + target.url.split("://", 1)[1]
        return FetchFailed(
            f"The site answered in plain HTTP on an https address ({target.host.unicode}), so "
            f"no secure connection was made and nothing was captured. Try {plain} instead, "
            "if the request allows it."
        )
    if isinstance(exc, requests.exceptions.SSLError) and not _is_certificate_error(exc):
        # The handshake itself failed (the site hung up, or refused it with an alert):
        # nothing is known about its certificate, so nothing is said about it.
        return FetchFailed(
            f"A secure connection to {target.host.unicode} could not be made (the site broke "
            "off or refused it before any page was sent), so nothing was captured. Try "
            "again later."
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return FetchFailed(
            f"The secure connection to {target.host.unicode} could not be verified (its "
            "certificate is not valid for this name, or has expired). Nothing was captured. "
            "Check the address; do not capture a site whose identity cannot be confirmed."
        )
    if isinstance(exc, requests.ConnectionError) and _is_connect_failure(exc):
        return FetchFailed(
            f"Caseview could not connect to {target.host.unicode}. The site may be down; "
            "try again later."
        )
    return FetchFailed(
        f"The connection to {target.host.unicode} failed before a complete answer came back "
        "(the site broke off or sent something that is not valid HTTP). Try again later."
    )


def _is_plain_http(exc: BaseException) -> bool:
    """True when a TLS handshake failed because the other side spoke plain HTTP."""
    text = " ".join(str(part) for part in _causes(exc)).casefold()
    return "wrong version number" in text or "http request" in text or "wrong_version" in text


def _is_certificate_error(exc: BaseException) -> bool:
    """True when the site's certificate was checked and refused (untrusted, expired...)."""
    return any(
        isinstance(cause, ssl.SSLCertVerificationError | CertificateError)
        or "certificate verify failed" in str(cause).casefold()
        for cause in _causes(exc)
    )


def _is_header_flood(exc: BaseException) -> bool:
    """http.client's own header limits (100 lines, 64 KB a line) were reached."""
    return isinstance(exc, http.client.LineTooLong) or (
        isinstance(exc, http.client.HTTPException) and "more than" in str(exc)
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and those it wraps (requests -> urllib3 -> ssl), at most 20."""
    found: list[BaseException] = []
    queue: list[BaseException] = [exc]
    while queue and len(found) < 20:
        current = queue.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        queue += [a for a in current.args if isinstance(a, BaseException)]
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                queue.append(linked)
    return found


def _head_too_large(target: Target, why: str) -> CollectorError:
    if why == "interim":
        return TooLarge(
            f"{target.host.unicode} kept sending interim answers (more than {MAX_INTERIM}) "
            "instead of the page, so the capture was stopped and nothing was kept. Try "
            "again later; if it keeps happening the site may be hostile."
        )
    return TooLarge(
        f"{target.host.unicode} sent more headers than Caseview accepts (over "
        f"{MAX_HEAD_BYTES // 1024} KB, 100 lines or a line over 64 KB, the limits of "
        "Python's http.client) before the page, so the capture was stopped "
        "and nothing was kept. Try again later; if it keeps happening the site may be "
        "hostile."
    )


def _unread_transfer_codings(header: str | None) -> str:
    """The Transfer-Encoding codings other than chunked (and identity), as sent."""
    codings = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
    unread = [c for c in codings if c not in ("chunked", "identity")]
    return ", ".join(unread)[:100]


def _no_page(target: Target, status: int) -> str:
    host = target.host.unicode
    if status == 304:
        return (
            f"{host} answered 304 Not Modified, an answer meant for a browser that already "
            "holds the page; Caseview asked for the page itself and got none, so nothing "
            "was captured. Try again later."
        )
    if status in _NO_PAGE_STATUS:
        return (
            f"{host} answered HTTP {status} {_NO_PAGE_STATUS[status]}: there is no page at "
            "this address, so nothing was captured. Check the address, copied from the "
            "browser's address bar."
        )
    return (
        f"{host} answered with status {status}, which is not a valid HTTP answer, so nothing "
        "was captured. Try again later."
    )


def _unavailable(target: Target, response: requests.Response) -> Unavailable:
    status = response.status_code
    reason = (response.reason or "").strip()
    what = f"HTTP {status}{' ' + reason if reason else ''}"
    raw_retry = response.headers.get("Retry-After") or ""
    retry_after = "".join(ch for ch in raw_retry if ch.isprintable()).strip()[:100] or None
    wait = _retry_after_words(retry_after)
    return Unavailable(
        f"{target.host.unicode} is not answering now ({what}), so nothing was captured "
        "and no planned viewing was used. "
        + (f"The site asks to wait {wait} before trying again." if wait else "Try again later."),
        status=status,
        retry_after=retry_after,
    )


def _retry_after_words(value: str | None) -> str | None:
    """Retry-After as words: "120" -> "2 minutes"; an HTTP date -> "until <date>".

    Anything else (the header is the site's text, and could hold anything) is not
    repeated: None.
    """
    if not value:
        return None
    if value.isascii() and value.isdigit():
        seconds = int(value)
        if seconds < 120:
            return f"{seconds} second{'s' if seconds != 1 else ''}"
        if seconds < 2 * 3600:
            return f"{round(seconds / 60)} minutes"
        return f"{round(seconds / 3600)} hours"
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # "-0000": a time in UTC, its source unsaid
        when = when.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):  # Overflow: past year 9999
        return None
    # Said again in the standard form, not as the site wrote it.
    return f"until {email.utils.format_datetime(when, usegmt=True)}"


def _read_raw(response: requests.Response, limits: _Limits) -> bytes:
    """One chunk of the body as sent (transfer framing removed, still content-encoded)."""
    limits.check()
    try:
        return bytes(response.raw.read1(_CHUNK, decode_content=False))
    except _TRANSPORT_ERRORS as exc:
        if limits.watchdog.fired or isinstance(exc, urllib3.exceptions.ReadTimeoutError):
            raise _timeout() from exc
        if any(isinstance(cause, WireTooLarge) for cause in _causes(exc)):
            # Chunk framing or trailers, sent without end: the page is never complete.
            raise _too_large(limits.max_bytes, decoded=False) from exc
        raise FetchFailed(_BROKE_OFF) from exc


def _drain_redirect(response: requests.Response, limits: _Limits) -> bool:
    """Read a redirect's (normally tiny) body for the record; True if read in full."""
    kept = 0
    while kept <= _REDIRECT_BODY_LIMIT:
        chunk = _read_raw(response, limits)
        if not chunk:
            return True
        kept += len(chunk)
    return False


def _read_body(
    response: requests.Response, limits: _Limits
) -> tuple[bytes, str, int, str, tuple[str, ...]]:
    """The body, decoded and size-checked as it streams in."""
    codings = decoding.parse_codings(response.headers.get("Content-Encoding"))
    decodable = decoding.supported(codings)
    decoder = decoding.BodyDecoder(codings if decodable else ())
    raw_hash = hashlib.sha256()
    raw_size = 0
    body = bytearray()

    def take(pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            body.extend(piece)
            if len(body) > limits.max_bytes:
                raise _too_large(limits.max_bytes, decoded=bool(codings))
            limits.check()

    try:
        while chunk := _read_raw(response, limits):
            raw_size += len(chunk)
            if raw_size > limits.max_bytes:
                raise _too_large(limits.max_bytes, decoded=False)
            raw_hash.update(chunk)
            take(decoder.feed(chunk))
        take(decoder.finish())
    except decoding.DecodeError as exc:
        raise FetchFailed(
            "The site sent a compressed page that is damaged or cut off, so it could not be "
            "read and was not kept. Try again later."
        ) from exc
    if limits.watchdog.fired:
        raise _timeout()  # the watchdog ended the read: what we have is incomplete
    if not codings:
        note = "No Content-Encoding: the body is stored exactly as sent."
    elif decodable:
        note = (
            f"The body was sent with Content-Encoding {', '.join(codings)}; it is stored "
            "decoded (as a browser shows it) and raw_sha256 is of the bytes as sent."
        )
    else:
        note = (
            f"The body was sent with Content-Encoding {', '.join(codings)}, which Caseview "
            "cannot decode; it is stored as sent (still encoded)."
        )
    return bytes(body), raw_hash.hexdigest(), raw_size, note, codings


def _too_large(max_bytes: int, *, decoded: bool) -> TooLarge:
    size = f"{max_bytes / (1024 * 1024):.3g} MB"
    how = " once decompressed" if decoded else ""
    return TooLarge(
        f"The page is larger than the {size} limit for a capture{how}, so it was stopped "
        "and nothing was kept. If you need it, capture the specific part (for example a "
        "single post's address) or import a screenshot."
    )


def _exchange(target: Target, wire: Wire, started: datetime, complete: bool) -> Exchange:
    peer = wire.peer or (wire.address, target.port)
    return Exchange(
        url=target.url,
        server_ip=peer[0],
        server_port=peer[1],
        started_at=started,
        request=bytes(wire.sent),
        response=wire.response_bytes,
        response_head_length=wire.head_length,
        complete=complete,
    )


def _media_type(content_type: str | None) -> tuple[str | None, str | None]:
    """The type/subtype and charset a Content-Type gives, as a browser reads it.

    A response with two Content-Type headers reaches us as one value joined by commas;
    as in the Fetch standard, the last valid type counts, with the last charset given
    for that same type.
    """
    if not content_type:
        return None, None
    found: tuple[str | None, str | None] = (None, None)
    for value in _split_outside_quotes(content_type, ","):
        media, _, params = value.partition(";")
        media = media.strip().lower()
        if not _MIME_ESSENCE.fullmatch(media):
            continue
        charset = None
        for param in _split_outside_quotes(params, ";"):
            key, _, param_value = param.partition("=")
            if key.strip().lower() == "charset":
                charset = param_value.strip().strip("\"'").strip() or None
        if charset is None and media == found[0]:
            charset = found[1]
        found = (media, charset)
    return found


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    return [*parts, "".join(current)]


def _is_textual(media_type: str) -> bool:
    """Text a person can read as it is: text/*, JSON and XML (HTML aside)."""
    return (
        media_type.startswith("text/")
        or media_type in _TEXTUAL_TYPES
        or media_type.endswith(("+json", "+xml"))
    )


def _mislabel_note(media_type: str | None, sniffed: sniff.Sniffed | None) -> str | None:
    if sniffed is None or not media_type or sniffed.media_type == media_type:
        return None
    if sniffed.kind == "text" and _is_textual(media_type):
        return None  # plain text is a catch-all: any textual label is consistent with it
    if sniffed is sniff.HTML and media_type in _HTML_TYPES | _XML_TYPES:
        return None  # XHTML, served as XML or as HTML
    return (
        f"The site labelled the content {media_type}, but it looks like {sniffed.label}. "
        "It is recorded as served."
    )


def _capture(
    *,
    requested: Target,
    url: str,
    target: Target,
    response: requests.Response,
    wire: Wire,
    body: bytes,
    raw_hash: str,
    raw_size: int,
    note: str,
    codings: tuple[str, ...],
    hops: list[RedirectHop],
    exchanges: list[Exchange],
    started_at: datetime,
    user_agent: str,
    seconds_left: float,
) -> HttpCapture:
    content_type = response.headers.get("Content-Type")
    media_type, charset = _media_type(content_type)
    sniffed = sniff.sniff(body) if body else None
    notes: list[str] = []
    for host in (requested.host, target.host):
        if host.is_idn:
            notes.append(
                f"The site name {host.unicode} contains non-Latin or accented letters; its "
                f"real name on the internet is {host.ascii}. Check it is the site you meant "
                "(look-alike letters are used to imitate well-known sites)."
            )
    if wire.header_defects:
        notes.append(
            "The site's HTTP headers were malformed "
            f"({', '.join(sorted(set(wire.header_defects)))}); they are recorded as received."
        )
    if response.status_code in GONE_STATUS:
        notes.append(
            f"The page was gone (HTTP {GONE_STATUS[response.status_code]}) when it was "
            "captured: this is kept as evidence that it was no longer there, not of what "
            "it showed."
        )
    mislabel = _mislabel_note(media_type, sniffed)
    if mislabel:
        notes.append(mislabel)
    page: PageInfo | None = None
    # A photo or a PDF labelled as a page is not read as one (its bytes are not text).
    # A made-up Content-Encoding ("none", "utf-8") on bytes that are plainly text is
    # ignored, as browsers ignore a coding they do not know.
    plain = sniffed is not None and sniffed.kind in _TEXT_KINDS
    readable = plain or (decoding.supported(codings) and sniffed is None)
    if plain and not decoding.supported(codings):
        notes.append(
            f"The site said the page was sent with Content-Encoding {', '.join(codings)}, "
            "which is not a compression Caseview knows; the bytes are plain text, so they "
            "were read as they are, as a browser does."
        )
    is_html = media_type in _HTML_TYPES or (media_type is None and sniffed is sniff.HTML)
    is_text = _is_textual(media_type) if media_type else sniffed is sniff.TEXT
    if is_html and readable:
        page = parse_html(body, charset=charset, base_url=target.url)
    elif is_text and readable:
        page = page_from_text(body, charset=charset)  # read as text, never as markup
    elif sniffed is sniff.PDF and decoding.supported(codings):
        # A published PDF (a newsletter, a team sheet) is searched and checked like a
        # page. Reading it stops with a note at half the time the capture has left: a
        # page in progress runs on past that, and a read stopped only at the capture's
        # own deadline would fail the capture as if the site had been too slow.
        page = read_pdf(body, deadline_s=max(seconds_left / 2, 0.0)).page
    if page is not None:
        notes.extend(page.notes)
        if page.login_wall and 200 <= response.status_code < 300:
            raise NotPublic(
                f"{target.host.unicode} showed a login or restricted page instead of the "
                f"content ({page.login_wall}). It is not public, so nothing was captured."
            )
    peer = wire.peer or (wire.address, target.port)
    raw = response.raw
    version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(raw.version, f"HTTP/{raw.version}")
    return HttpCapture(
        requested_url=url,
        final_url=target.url,
        requested_host=requested.host,
        final_host=target.host,
        redirect_chain=tuple(hops),
        status=response.status_code,
        reason=response.reason or "",
        http_version=version,
        headers=wire.header_pairs,
        content_type=content_type,
        media_type=media_type,
        sniffed_type=sniffed.media_type if sniffed else None,
        content_encoding=codings,
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        body_size=len(body),
        body_encoding_note=note,
        raw_sha256=raw_hash,
        raw_size=raw_size,
        server_ip=peer[0],
        server_port=peer[1],
        started_at=started_at,
        ended_at=_now(),
        user_agent=user_agent,
        page=page,
        notes=tuple(dict.fromkeys(notes)),
        exchanges=tuple(exchanges),
    )
