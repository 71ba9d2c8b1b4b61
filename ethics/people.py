"""People, not labels: which subjects are one person, and whose page an address is.

The Home Office Code is concerned with a *person* being monitored. The same parent
may be a subject in two cases, under two spellings, or be looked at through a sibling's
request; all of that is one person. Subjects are one person when they share a known
handle or profile address, or when a manager has linked them. A page belongs to a
person when its address is one of their known profile addresses or lies under one
(``social.example/alex.lee/photos`` belongs to ``social.example/alex.lee``).

Pure: the service layer gathers the subjects and links and asks here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, quote

from ethics.scope import parse_web_url

# Host prefixes that name the same site for people's pages (mobile and www mirrors).
_MIRROR_PREFIXES: Final = ("www.", "m.", "mobile.")


@dataclass(frozen=True)
class KnownSubject:
    """A subject as the people rules need it: its id, case and known handles."""

    id: int
    case_id: int
    handles: tuple[str, ...] = ()
    keys: tuple[str, ...] | None = None
    """Its handles' keys computed already (used instead of ``handle_key`` of ``handles``):
    a team server holds only keyed hashes of them, an ``@`` before each @name's hash as
    before each @name (see ``caseview.persons``). Keys compare only with keys made alike."""


@dataclass(frozen=True)
class People:
    """Subjects grouped into persons. A person's key is the lowest subject id in it."""

    person_of: Mapping[int, int]
    members: Mapping[int, frozenset[int]]
    pages: Mapping[int, frozenset[str]]
    """Each person's profile-address keys (``host/path``), from every member's handles."""

    def person(self, subject_id: int) -> int:
        """The person a subject is; a subject nobody else shares is a person alone."""
        return self.person_of.get(subject_id, subject_id)

    def subjects_of(self, person: int) -> frozenset[int]:
        return self.members.get(person, frozenset({person}))

    def owners(self, url: str) -> frozenset[int]:
        """The persons whose known profile the page at ``url`` is, or lies under."""
        key = page_key(url)
        if key is None:
            return frozenset()
        return frozenset(
            person
            for person, prefixes in self.pages.items()
            if any(_under(key, prefix) for prefix in prefixes)
        )

    def owners_by_prefixes(self, prefix_keys: Iterable[str]) -> frozenset[int]:
        """The persons one of whose profile keys is among ``prefix_keys``: ``owners``
        for a page whose ``page_prefixes`` (or keys made alike from them) are given."""
        wanted = frozenset(prefix_keys)
        return frozenset(person for person, keys in self.pages.items() if keys & wanted)

    def counted_for(self, subject_id: int | None, url: str) -> frozenset[int]:
        """Every person a look counts for: the chosen subject's, and each page owner."""
        chosen = {self.person(subject_id)} if subject_id is not None else set()
        return frozenset(chosen | self.owners(url))


def handle_key(raw: str) -> str | None:
    """A handle in comparable form.

    A profile address becomes ``host/path`` (lower case, no scheme, no mirror prefix such
    as www., no trailing slash, query and fragment dropped); a bare ``@name`` becomes
    ``@name``. Anything else (a phone number, free text) is None: it links nobody.
    """
    text = raw.strip()
    if not text:
        return None
    if text.startswith("@") and len(text) > 1 and " " not in text:
        return text.casefold()
    if "://" not in text:
        if "/" not in text or "." not in text.split("/", 1)[0]:
            return None
        text = "https://" + text
    return page_key(text)


def page_key(url: str) -> str | None:
    """An address as ``host/path`` for matching pages to people, or None if not a page.

    A query that names whose page it is stays, as ``host/path?name=value`` (sorted, in
    lower case): ``facebook.com/profile.php?id=111`` and ``?id=222`` are two people, not
    one page. Parameters that only track or present a page (``ref``, ``utm_...``,
    ``sk``, ...) are dropped, so a shared link is the page it shares.
    """
    try:
        page = parse_web_url(url)
    except ValueError:
        return None
    host = page.host
    for prefix in _MIRROR_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    # Empty segments are dropped: most servers serve "//kerry" as "/kerry", and a page
    # must not escape its owner by an extra slash.
    path = "".join("/" + part for part in page.path.casefold().split("/") if part)
    query = _identity_query(page.query)
    return f"{host}{path}?{query}" if query else f"{host}{path}"


# Query parameters that track a link or choose a tab, never whose page it is.
_NOT_IDENTITY: Final = frozenset(
    {"ref", "ref_src", "ref_url", "refsrc", "fbclid", "gclid", "igshid", "igsh", "mibextid"}
    | {"si", "s", "t", "hl", "lang", "locale", "sk", "share", "shared", "feature", "app"}
    | {"src", "source", "__tn__", "__cft__", "rdid", "mc_cid", "mc_eid", "trk", "via"}
)


def _identity_query(query: str) -> str:
    pairs = {
        # surrogatepass: a lone surrogate (never in a real address) must not raise here.
        f"{quote(name, safe='', errors='surrogatepass')}="
        f"{quote(value, safe='', errors='surrogatepass')}".casefold()
        for name, value in parse_qsl(query, keep_blank_values=True)
        if name.casefold() not in _NOT_IDENTITY and not name.casefold().startswith("utm_")
    }
    return "&".join(sorted(pairs))


def page_prefixes(key: str) -> tuple[str, ...]:
    """Every profile key the page ``key`` lies under (itself included): the ``prefix`` for
    which ``_under(key, prefix)`` holds, so that "under a known profile" is membership."""
    path, _, query = key.partition("?")
    found = [path[:i] for i, char in enumerate(path) if char == "/" and "/" in path[:i]]
    if "/" in path:
        found.append(path)
        if query:
            params = query.split("&")
            found += [f"{path}?{param}" for param in params]
            if len(params) > 1:
                found.append(key)
    return tuple(found)


def _under(key: str, prefix: str) -> bool:
    """True when the page ``key`` is the profile ``prefix`` or a page beneath it.

    A bare host (a whole site) is nobody's profile, so it never matches. A profile known
    by a query (``profile.php?id=111``) owns the pages at that path that carry its one
    parameter, or exactly its parameters.
    """
    path, _, query = key.partition("?")
    prefix_path, _, prefix_query = prefix.partition("?")
    if "/" not in prefix_path:
        return False
    if not prefix_query:
        return path == prefix_path or path.startswith(prefix_path + "/")
    if path != prefix_path or not query:
        return False
    return query == prefix_query or ("&" not in prefix_query and prefix_query in query.split("&"))


def group_people(subjects: Iterable[KnownSubject], links: Iterable[tuple[int, int]] = ()) -> People:
    """Group subjects into persons: shared handle keys, or a manager's link, join them."""
    known = list(subjects)
    parent: dict[int, int] = {s.id: s.id for s in known}

    def root(item: int) -> int:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def join(a: int, b: int) -> None:
        if a not in parent or b not in parent:
            return
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first_with: dict[str, int] = {}
    keys_of: dict[int, set[str]] = {}
    for subject in known:
        keys = subject.keys if subject.keys is not None else map(handle_key, subject.handles)
        for key in keys:
            if key is None:
                continue
            keys_of.setdefault(subject.id, set()).add(key)
            if key in first_with:
                join(first_with[key], subject.id)
            else:
                first_with[key] = subject.id
    for a, b in links:
        join(a, b)

    person_of = {s.id: root(s.id) for s in known}
    members: dict[int, set[int]] = {}
    pages: dict[int, set[str]] = {}
    for subject_id, person in person_of.items():
        members.setdefault(person, set()).add(subject_id)
        pages.setdefault(person, set()).update(
            k for k in keys_of.get(subject_id, ()) if not k.startswith("@")
        )
    return People(
        person_of=person_of,
        members={p: frozenset(m) for p, m in members.items()},
        pages={p: frozenset(k) for p, k in pages.items() if k},
    )
