"""Where a capture may go: web addresses, host names and the public-address rule.

A public source is on the public internet (DESIGN section 4). Letting a capture reach
a private, loopback or link-local address would turn Caseview into a way to read the
council's own network or the worker's machine (server-side request forgery), so every
hop of every capture passes through :func:`parse_target` and :func:`checked_addresses`.
``CASEVIEW_ALLOW_HOSTS`` (comma-separated host names or addresses; a contract) names
the exceptions: tests and intranet sources.

Host names are resolved through an injectable resolver so that tests never look up a
real name, and the connection is then made to the address that was checked (see
``collectors.transport``), so a DNS answer that changes between check and connect
(rebinding) cannot redirect the capture.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import idna
import requests

from collectors.errors import FetchFailed, Refused, Timeout

ALLOW_HOSTS_ENV = "CASEVIEW_ALLOW_HOSTS"

Resolver = Callable[[str], Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
# After IDNA encoding a host name is letters, digits, hyphens, dots (and underscores,
# which real DNS names do carry). Anything else (percent signs, spaces) is refused
# rather than handed to a resolver that might interpret it.
_ASCII_HOST = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class HostName:
    """A host as sent on the wire (``ascii``, punycode) and as a person reads it."""

    ascii: str
    unicode: str

    @property
    def is_idn(self) -> bool:
        return self.ascii != self.unicode


@dataclass(frozen=True)
class Target:
    """One checked web address: what will be requested, from which host and port."""

    url: str
    scheme: str
    host: HostName
    port: int
    ip_literal: IPAddress | None


def parse_target(url: str) -> Target:
    """Check a web address before anything is sent; raise :class:`Refused` if unusable.

    The returned ``url`` has the host in punycode, the path and query percent-encoded
    as sent, and no fragment (fragments are never sent to a server).
    """
    text = url.strip()
    if _CONTROL.search(text):
        raise Refused(
            "The web address contains spaces or invisible control characters. "
            "Copy the address again from the browser's address bar."
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise Refused(
            f"Caseview cannot read the web address {text!r}. "
            "Copy it again from the browser's address bar."
        ) from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        shown = f"'{scheme}:'" if scheme else "no"
        raise Refused(
            "Caseview only captures public web pages, whose address starts with http:// "
            f"or https://. This address has {shown} scheme, so it was not opened."
        )
    if parts.username is not None or parts.password is not None:
        raise Refused(
            "The web address contains a user name or password (before an @ sign). "
            "Caseview never logs in to a site; use the public address of the page instead."
        )
    if not parts.hostname:
        raise Refused("The web address has no site name. Check that it was copied in full.")
    host, literal = _host_name(parts.hostname)
    netloc = f"[{host.ascii}]" if isinstance(literal, ipaddress.IPv6Address) else host.ascii
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    clean = _as_sent(urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")))
    return Target(
        url=clean,
        scheme=scheme,
        host=host,
        port=port if port is not None else _DEFAULT_PORTS[scheme],
        ip_literal=literal,
    )


def _as_sent(url: str) -> str:
    """The address as requests puts it on the wire: text outside ASCII, spaces and the
    like percent-encoded, existing escapes kept. So what is stored as the address, in the
    source and the WARC, is exactly what was asked for, and a valid URI."""
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except (requests.exceptions.RequestException, ValueError) as exc:
        raise Refused(
            f"Caseview cannot read the web address {url!r}. "
            "Copy it again from the browser's address bar."
        ) from exc
    return prepared.url or url


def _host_name(raw: str) -> tuple[HostName, IPAddress | None]:
    name = raw[:-1] if raw.endswith(".") else raw  # "example.com." is example.com
    try:
        literal = ipaddress.ip_address(name)
    except ValueError:
        literal = None
    if literal is not None:
        return HostName(ascii=literal.compressed, unicode=literal.compressed), literal
    ascii_name = to_ascii_host(name)
    if ascii_name is None or not _ASCII_HOST.match(ascii_name):
        raise Refused(
            f"The site name {raw!r} in the web address is not a valid internet name. "
            "Check that the address was copied correctly."
        )
    return HostName(ascii=ascii_name, unicode=to_unicode_host(ascii_name)), None


def to_ascii_host(name: str) -> str | None:
    """The punycode form of a host name, or None if it cannot be encoded."""
    lowered = name.lower()
    if lowered.isascii():
        return lowered
    try:
        # IDNA 2008 with UTS 46 mapping: what browsers do for new names.
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        pass
    try:
        # Older (IDNA 2003) names, such as some with symbols, are still in use.
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def to_unicode_host(ascii_name: str) -> str:
    """The Unicode form of a punycode host, for showing to a person."""
    if "xn--" not in ascii_name:
        return ascii_name
    try:
        return str(idna.decode(ascii_name))
    except idna.IDNAError:
        try:
            return ascii_name.encode("ascii").decode("idna")
        except UnicodeError:
            return ascii_name


def non_public_reason(address: IPAddress) -> str | None:
    """Why an address is not on the public internet, or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 addresses tunnelled inside IPv6 reach the IPv4 address they carry.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = non_public_reason(embedded)
            if inner is not None:
                return inner
        if address.teredo is not None:
            return "a tunnel (Teredo) address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address (this computer itself)"
    if address.is_link_local:
        return "a link-local address (the local network segment)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private network address"
    if address.is_reserved or not address.is_global:
        return "an address that is not on the public internet"
    return None


def normalise_allow_hosts(entries: Iterable[str]) -> frozenset[str]:
    """Lower-case names in both punycode and Unicode form, and addresses in canonical form."""
    allowed: set[str] = set()
    for entry in entries:
        item = entry.strip().lower().strip("[]").rstrip(".")
        if not item:
            continue
        try:
            allowed.add(ipaddress.ip_address(item).compressed)
            continue
        except ValueError:
            pass
        allowed.add(item)
        ascii_name = to_ascii_host(item)
        if ascii_name:
            allowed.add(ascii_name)
            allowed.add(to_unicode_host(ascii_name))
    return frozenset(allowed)


def allow_hosts_from_env() -> frozenset[str]:
    """``CASEVIEW_ALLOW_HOSTS``: comma-separated host names or addresses (contract)."""
    return normalise_allow_hosts(os.environ.get(ALLOW_HOSTS_ENV, "").split(","))


def system_resolver(host: str) -> list[str]:
    """The operating system's answer for ``host``: its addresses, first answer first."""
    seen: list[str] = []
    for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def checked_addresses(
    target: Target,
    resolver: Resolver,
    allow: frozenset[str],
    *,
    timeout_s: float,
) -> tuple[IPAddress, ...]:
    """Resolve the target's host and return its addresses if every one may be used.

    Every address must be public unless the host, or that address, is allowed: a name
    with one public and one private address is refused, because which one a later
    connection would use is not ours to choose.
    """
    host_allowed = target.host.ascii in allow or target.host.unicode.lower() in allow
    if target.ip_literal is not None:
        addresses: tuple[IPAddress, ...] = (target.ip_literal,)
    else:
        answers = _resolve_within(resolver, target.host.ascii, timeout_s)
        addresses = tuple(_parse_answer(target.host, a) for a in answers)
        if not addresses:
            raise FetchFailed(_not_found(target.host))
    for address in addresses:
        if host_allowed or address.compressed in allow:
            continue
        reason = non_public_reason(address)
        if reason is not None:
            # An address typed as such is named once; a name, with what it resolved to.
            where = (
                f"{address.compressed} is {reason}"
                if target.ip_literal is not None
                else f"{target.host.unicode} is on {reason} ({address.compressed})"
            )
            raise Refused(
                f"{where}, not the public internet, so Caseview did not connect. If this is "
                "an approved intranet source, ask your administrator to add it to "
                f"{ALLOW_HOSTS_ENV}."
            )
    return addresses


def _not_found(host: HostName) -> str:
    return (
        f"Caseview could not find the site {host.unicode}. Check the address is typed "
        "correctly and that this computer is connected to the internet."
    )


def _parse_answer(host: HostName, answer: str) -> IPAddress:
    try:
        return ipaddress.ip_address(answer)
    except ValueError as exc:
        raise Refused(
            f"The name lookup for {host.unicode} gave an answer Caseview cannot check "
            f"({answer!r}), so Caseview did not connect."
        ) from exc


def _resolve_within(resolver: Resolver, host: str, timeout_s: float) -> Sequence[str]:
    """Run the resolver, giving up at the capture's deadline.

    ``getaddrinfo`` has no timeout of its own. A lookup still running at the deadline is
    left to finish in a daemon thread; its answer is discarded.
    """
    outcome: list[Sequence[str]] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(list(resolver(host)))
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=f"resolve {host}", daemon=True).start()
    if not done.wait(max(timeout_s, 0.0)):
        raise Timeout(
            f"Looking up the site {host} took longer than the time allowed. "
            "Try again later, or check this computer's internet connection."
        )
    if failure:
        exc = failure[0]
        if isinstance(exc, OSError | UnicodeError):
            raise FetchFailed(_not_found(HostName(host, to_unicode_host(host)))) from exc
        raise exc
    return outcome[0]
