"""Where a justification allows looking: host names and exact web addresses.

Hosts are compared in IDNA (punycode) form, lower case, so a Unicode host and its
`xn--` spelling are the same host, and a look-alike is not. The conversion must be the
one the capture itself uses (`collectors.addresses.to_ascii_host`): IDNA 2008 with UTS 46
mapping, as browsers do, falling back to IDNA 2003 only for names IDNA 2008 refuses.
The two standards disagree on the "deviation" characters (ß, ς and the joiners): IDNA
2003 turns faß.example into fass.example, IDNA 2008 into xn--fa-hia.example, a different
site. If the gate converted one way and the capture the other, a request approved for
one site would capture another. ethics may not import collectors (they are separate
layers), so the conversion is repeated here; a test checks that the two agree.
"""

from __future__ import annotations

import ipaddress
import re
import string
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import idna

_LABEL_RE: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_FORBIDDEN_IN_HOST: Final = frozenset("/\\@?#*")
_UNRESERVED: Final = frozenset(string.ascii_letters + string.digits + "-._~")
_ESCAPE_RUN: Final = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


@dataclass(frozen=True)
class WebUrl:
    """An http(s) address reduced to the parts that identify the page."""

    scheme: str
    host: str  # normalised: IDNA, lower case, no trailing dot; IPv6 without brackets
    port: int | None  # None for the scheme's default port
    path: str
    query: str

    def canonical(self) -> str:
        """One spelling per page: used to compare an address with `scope_urls`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{host}{port}{self.path}{query}"

    def page(self) -> str:
        """The page whatever the scheme: http and https name the same page (a fragment
        is never part of a WebUrl). Used to match an address with `scope_urls`."""
        return self.canonical().split("://", 1)[1]


def normalise_host(raw: str) -> str:
    """A scope host in comparable form; raises ValueError with a reason to show.

    A port, if given, is ignored: scope is about whose pages, not which port.
    """
    text = raw.strip()
    if not text:
        raise ValueError("it is empty")
    if text.startswith("*."):
        raise ValueError(f"subdomains are already covered; write {text[2:]} without '*.'")
    if any(char.isspace() for char in text) or _FORBIDDEN_IN_HOST & set(text):
        raise ValueError("give the host name alone, e.g. social.example, without https:// or /")
    try:
        parts = urlsplit("//" + text)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        raise ValueError("it is not a valid host name") from exc
    if not parts.hostname:
        raise ValueError("it is not a valid host name")
    host = _canonical_host(parts.hostname)
    if _is_registry(host):
        raise ValueError(
            "it is a domain ending such as .com or .co.uk, which would cover every site "
            "that ends in it; give the site's own name, e.g. social.example"
        )
    return host


def parse_web_url(raw: str) -> WebUrl:
    """An http or https address; raises ValueError with a reason a worker can act on."""
    text = raw.strip()
    # urlsplit silently deletes tabs and newlines; refuse them rather than guess.
    if not text or any(char.isspace() or ord(char) < 0x20 for char in text):
        raise ValueError("the address is empty or contains spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError("the address is not a valid web address") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        shown = f"'{scheme}:'" if scheme else "no scheme"
        raise ValueError(f"only http and https pages can be viewed; the address has {shown}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the address contains a user name or password; use the public address")
    if not parts.hostname:
        raise ValueError("the address has no host name")
    return WebUrl(
        scheme=scheme,
        host=_canonical_host(parts.hostname),
        port=None if port in (None, _DEFAULT_PORTS[scheme]) else port,
        path=_canonical_path(parts.path),
        query=parts.query,
    )


def _canonical_path(raw: str) -> str:
    """The path of the page the server is asked for, one spelling per page.

    Browsers and the capture resolve "." and ".." segments (written "%2e" too) and
    browsers read a backslash as "/": "/kerry/../alex" is the page "/alex". Comparing
    the text as typed would take it for a page under "/kerry", so another person's page
    would pass as the subject's, and count on the wrong person's meter. Escapes of
    letters, digits, "-._~" and of UTF-8 text are decoded ("/%61lex" is "/alex",
    "/k%C3%A9rry" is "/kérry"); other escapes keep their meaning, in upper case.
    """
    path = _ESCAPE_RUN.sub(_unescape, raw.replace("\\", "/")) or "/"
    kept: list[str] = []
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and kept:
                kept.pop()
            if last:
                kept.append("")
            continue
        kept.append(segment)
    return "/" + "/".join(kept)


def _unescape(match: re.Match[str]) -> str:
    text = bytes.fromhex(match.group(0).replace("%", "")).decode("utf-8", "surrogateescape")
    return "".join(
        char
        if char in _UNRESERVED or not (char.isascii() or "\udc80" <= char <= "\udcff")
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogateescape"))
        for char in text
    )


def host_covered(host: str, scope_host: str) -> bool:
    """True when `host` is `scope_host` or one of its subdomains (both normalised).

    The dot matters: "badsocial.example" is not under "social.example". Addresses
    have no subdomains: 10.0.0.1 is not "under" a scope written 0.0.1.
    """
    if host == scope_host:
        return True
    if _is_ip(host) or _is_ip(scope_host):
        return False
    return host.endswith("." + scope_host)


def url_in_scope(url: WebUrl, scope_hosts: tuple[str, ...], scope_urls: tuple[str, ...]) -> bool:
    """True when a scope host covers the URL's host, or a scope URL is the same page.

    Scope entries that do not parse cover nothing; the gate reports them.
    """
    for raw in scope_hosts:
        try:
            if host_covered(url.host, normalise_host(raw)):
                return True
        except ValueError:
            continue
    wanted = url.page()
    for raw in scope_urls:
        try:
            if parse_web_url(raw).page() == wanted:
                return True
        except ValueError:
            continue
    return False


def _canonical_host(hostname: str) -> str:
    host = hostname.rstrip(".")
    if _is_ip(host.lower()):
        return str(ipaddress.ip_address(host.lower()))
    try:
        ascii_host = _to_ascii_host(host)
    except UnicodeError as exc:  # anything the idna package raises unexpectedly
        raise ValueError("it is not a valid host name") from exc
    if ascii_host is None:  # empty or over-long labels, prohibited characters
        raise ValueError("it is not a valid host name")
    labels = ascii_host.split(".")
    if not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise ValueError("it is not a valid host name")
    return ascii_host


def _to_ascii_host(name: str) -> str | None:
    """The punycode form of a host name, or None if it cannot be encoded.

    Exactly `collectors.addresses.to_ascii_host`: keep the two identical.
    """
    lowered = name.lower()
    if lowered.isascii():
        return lowered
    try:
        # IDNA 2008 with UTS 46 mapping: what browsers (and collectors) do for new names.
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        pass
    try:
        # Older (IDNA 2003) names, such as some with symbols, are still in use.
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


# Second-level names under which anyone registers a site (co.uk, org.uk, com.au, ...).
_REGISTRY_LABELS: Final = frozenset(
    {"ac", "co", "com", "edu", "gov", "govt", "ltd", "me", "mil", "mod", "net", "nhs"}
    | {"nic", "or", "org", "plc", "police", "sch"}
)


def _is_registry(host: str) -> bool:
    """True for a scope host that is a domain ending, not one site: a single label
    ("com", "uk") or a registry's second level under a country code ("co.uk").

    A scope host covers its subdomains, so "co.uk" would cover every UK company's
    site. The check is a short list, not the public suffix list: it stops the usual
    mistakes, and the manager still reads every host.
    """
    if _is_ip(host):
        return False
    labels = host.split(".")
    if len(labels) == 1:
        return True
    return len(labels) == 2 and len(labels[1]) == 2 and labels[0] in _REGISTRY_LABELS


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
