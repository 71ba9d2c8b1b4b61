"""Read an HTML page: title, visible text, metadata and links. Nothing is executed.

beautifulsoup4 over lxml's HTML parser (libxml2; about three times faster than
Python's own ``html.parser`` on markup-heavy pages): it builds a tree and never runs
scripts, fetches resources or follows links. The evidence is the stored bytes; what
this module returns is a working copy for reading and searching.

Hostile pages are expected. A parse that fails (the parser rejects the markup, or a
deeply nested document exhausts Python's recursion limit) falls back to a flat,
regex-based extraction instead of failing the capture; the page records that it did.
"""

from __future__ import annotations

import html as html_entities
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import bs4
from bs4 import BeautifulSoup
from bs4.element import CData, NavigableString, PageElement, Tag
from bs4.exceptions import ParserRejectedMarkup

from collectors import charsets, walls

MAX_LINKS = 1000
_MAX_META = 300
_MAX_META_VALUE = 2000
_MAX_JSON_LD_CHARS = 256 * 1024
_MAX_JSON_LD_NODES = 5000
_INVISIBLE = ("script", "style", "noscript", "template")
_BLOCKS = frozenset({
    "p", "div", "section", "article", "header", "footer", "main", "nav", "aside",
    "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "tr",
    "table", "blockquote", "pre", "figure", "figcaption", "form", "hr", "address",
})  # fmt: skip
# The head's only text is its title; the head itself is walked because html.parser
# puts the body inside it when a page never closes its head.
_HIDDEN = frozenset({*_INVISIBLE, "title"})
_TEXT_TYPES = (NavigableString, CData)
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class PageInfo:
    """What a page says about itself, read from its HTML (or from plain text)."""

    title: str | None
    text: str
    canonical_url: str | None
    meta: dict[str, str] = field(default_factory=dict)
    opengraph: dict[str, str] = field(default_factory=dict)
    author: str | None = None
    published: str | None = None  # as the page states it
    published_at: datetime | None = None  # only when the page gives a time zone; UTC
    links: tuple[str, ...] = ()
    links_truncated: bool = False
    charset: str = "utf-8"
    charset_source: str = "default"
    word_count: int = 0
    has_password_field: bool = False
    login_wall: str | None = None  # why the page looks like a login wall, if it does
    flat_fallback: bool = False  # True when the tree parse failed and text was flattened
    notes: tuple[str, ...] = ()


def parse_html(
    body: bytes,
    *,
    charset: str | None = None,
    base_url: str | None = None,
    max_links: int = MAX_LINKS,
) -> PageInfo:
    """Read ``body`` as HTML; ``charset`` is the one the server declared, if any."""
    decoded = charsets.decode(body, charset, html=True)
    try:
        with warnings.catch_warnings():
            # bs4 warns about markup that looks like a file name or XML; for evidence
            # we parse whatever came back, so those warnings are noise here.
            warnings.simplefilter("ignore", bs4.MarkupResemblesLocatorWarning)
            warnings.simplefilter("ignore", bs4.XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(decoded.text, "lxml")
            return _from_soup(soup, decoded, base_url, max_links)
    except (RecursionError, ParserRejectedMarkup):
        return _flat(decoded, base_url, max_links)


def page_from_text(body: bytes, *, charset: str | None = None) -> PageInfo:
    """A plain-text document: its text is itself (never parsed as markup)."""
    decoded = charsets.decode(body, charset, html=False)
    text = _tidy(decoded.text)
    return PageInfo(
        title=None,
        text=text,
        canonical_url=None,
        charset=decoded.charset,
        charset_source=decoded.source,
        word_count=len(text.split()),
        login_wall=None,
        notes=decoded.notes,
    )


class _Scan:
    """Everything the page's tree says, gathered in one walk of it.

    An explicit stack rather than recursion or repeated ``find_all`` calls: deep
    documents (10,000 nested elements) stay linear in time and never touch the
    recursion limit, and a 1 MB page is walked once, not once per field.
    """

    def __init__(self, soup: BeautifulSoup) -> None:
        self.title: Tag | None = None
        self.metas: list[Tag] = []
        self.anchors: list[Tag] = []
        self.link_tags: list[Tag] = []
        self.ld_scripts: list[Tag] = []
        self.base: Tag | None = None
        self.time: Tag | None = None
        self.rel_author: Tag | None = None
        self.password = False
        text: list[str] = []
        stack: list[tuple[Tag, Iterator[PageElement]]] = [(soup, iter(soup.contents))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if node.name in _BLOCKS:
                    text.append("\n")
            elif isinstance(child, Tag):
                self._note(child)
                if child.name in _HIDDEN:
                    continue
                if child.name == "br" or child.name in _BLOCKS:
                    text.append("\n")
                stack.append((child, iter(child.contents)))
            elif type(child) in _TEXT_TYPES:  # not comments, doctypes or declarations
                text.append(str(child))
        self.text = _tidy("".join(text))

    def _note(self, tag: Tag) -> None:
        name = tag.name
        if name == "a" or name == "area":
            if tag.has_attr("href"):
                self.anchors.append(tag)
            if name == "a" and self.rel_author is None and "author" in _rels(tag):
                self.rel_author = tag
        elif name == "meta":
            if len(self.metas) < _MAX_META * 4:
                self.metas.append(tag)
        elif name == "link":
            if tag.has_attr("href"):
                self.link_tags.append(tag)
        elif name == "script":
            if "ld+json" in (_attr(tag, "type") or "").lower() and len(self.ld_scripts) < 20:
                self.ld_scripts.append(tag)
        elif name == "input":
            if (_attr(tag, "type") or "").strip().lower() == "password":
                self.password = True
        elif name == "title":
            if self.title is None:
                self.title = tag
        elif name == "base":
            if self.base is None and tag.has_attr("href"):
                self.base = tag
        elif name == "time" and self.time is None and tag.has_attr("datetime"):
            self.time = tag


def _from_soup(
    soup: BeautifulSoup, decoded: charsets.DecodedText, base_url: str | None, max_links: int
) -> PageInfo:
    scan = _Scan(soup)
    base = _base_url(scan.base, base_url)
    meta = _meta_tags(scan.metas)
    ld = _json_ld(scan.ld_scripts)
    title = _one_line(scan.title.get_text(" ")) if scan.title is not None else None
    published, published_at = _published(scan.time, meta, ld)
    links, truncated = _links(scan.anchors, base, max_links)
    page = PageInfo(
        title=title or meta.get("og:title") or None,
        text=scan.text,
        canonical_url=_canonical(scan.link_tags, meta, base),
        meta=meta,
        opengraph={k: v for k, v in meta.items() if k.startswith("og:")},
        author=_author(scan.rel_author, meta, ld),
        published=published,
        published_at=published_at,
        links=links,
        links_truncated=truncated,
        charset=decoded.charset,
        charset_source=decoded.source,
        word_count=len(scan.text.split()),
        has_password_field=scan.password,
        notes=decoded.notes,
    )
    return _with_wall(page)


def _with_wall(page: PageInfo) -> PageInfo:
    reason = walls.login_wall_reason(
        title=page.title,
        text=page.text,
        description=page.meta.get("og:description") or page.meta.get("description"),
        has_password_field=page.has_password_field,
    )
    if reason is None:
        return page
    return PageInfo(**{**page.__dict__, "login_wall": reason})


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tidy(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if isinstance(value, list):
        return " ".join(value)
    return value


def _rels(tag: Tag) -> list[str]:
    rel = tag.get("rel")
    values = rel if isinstance(rel, list) else (rel or "").split()
    return [value.lower() for value in values]


def _meta_tags(tags: list[Tag]) -> dict[str, str]:
    """First value of each <meta> name/property/itemprop/http-equiv, lower-cased keys."""
    found: dict[str, str] = {}
    for tag in tags:
        content = _attr(tag, "content")
        if content is None:
            continue
        for key_attr in ("property", "name", "itemprop", "http-equiv"):
            key = _attr(tag, key_attr)
            if key:
                found.setdefault(key.strip().lower(), content.strip()[:_MAX_META_VALUE])
        if len(found) >= _MAX_META:
            break
    return found


def _base_url(base_tag: Tag | None, base_url: str | None) -> str | None:
    if base_tag is not None:
        href = _attr(base_tag, "href") or ""
        joined = urljoin(base_url or "", href.strip())
        if urlsplit(joined).scheme in ("http", "https"):
            return joined
    return base_url


def _absolute(href: str, base: str | None) -> str | None:
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = urljoin(base or "", href)
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _canonical(link_tags: list[Tag], meta: dict[str, str], base: str | None) -> str | None:
    for link in link_tags:
        if "canonical" in _rels(link):
            return _absolute(_attr(link, "href") or "", base)
    og_url = meta.get("og:url")
    return _absolute(og_url, base) if og_url else None


def _links(anchors: list[Tag], base: str | None, limit: int) -> tuple[tuple[str, ...], bool]:
    links: dict[str, None] = {}  # ordered set
    for anchor in anchors:
        url = _absolute(_attr(anchor, "href") or "", base)
        if url is None or url in links:
            continue
        if len(links) >= limit:
            return tuple(links), True
        links[url] = None
    return tuple(links), False


def _json_ld(scripts: list[Tag]) -> list[dict[str, object]]:
    """Objects from JSON-LD blocks, flattened; oversized or broken blocks are skipped."""
    objects: list[dict[str, object]] = []
    for script in scripts:
        raw = script.string or ""
        if len(raw) > _MAX_JSON_LD_CHARS:
            continue
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        objects.extend(_walk_json(data))
    return objects


def _walk_json(data: object) -> Iterator[dict[str, object]]:
    """Every JSON object inside ``data``, iteratively and with a node budget."""
    stack = [data]
    budget = _MAX_JSON_LD_NODES
    while stack and budget > 0:
        budget -= 1
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _ld_name(value: object, depth: int = 0) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if depth > 3:
        return None  # a name nested deeper than this is not a name
    if isinstance(value, dict):
        return _ld_name(value.get("name"), depth + 1)
    if isinstance(value, list):
        names = [n for n in (_ld_name(v, depth + 1) for v in value[:10]) if n]
        return ", ".join(names) or None
    return None


def _author(
    rel_author: Tag | None, meta: dict[str, str], ld: list[dict[str, object]]
) -> str | None:
    for key in ("author", "article:author", "dc.creator", "parsely-author"):
        if meta.get(key):
            return meta[key]
    for obj in ld:
        name = _ld_name(obj.get("author"))
        if name:
            return name
    if rel_author is not None:
        return _one_line(rel_author.get_text(" ")) or None
    return None


def _published(
    time_tag: Tag | None, meta: dict[str, str], ld: list[dict[str, object]]
) -> tuple[str | None, datetime | None]:
    stated: str | None = None
    for key in ("article:published_time", "og:published_time", "datepublished", "pubdate"):
        if meta.get(key):
            stated = meta[key]
            break
    if stated is None:
        for obj in ld:
            value = obj.get("datePublished")
            if isinstance(value, str) and value.strip():
                stated = value.strip()
                break
    if stated is None and time_tag is not None:
        stated = (_attr(time_tag, "datetime") or "").strip() or None
    return stated, parse_aware_time(stated)


def parse_aware_time(text: str | None) -> datetime | None:
    """An ISO 8601 time with a zone, as UTC; None for dates or times without a zone."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(UTC)


# --- flat fallback -------------------------------------------------------------------

# Every pattern stops at the next "<", so a hostile page of unclosed tags cannot make
# the regex engine rescan the rest of the document from every position.
_FLAT_OPEN_INVISIBLE = re.compile(r"<(script|style|noscript|template)\b", re.I)
_FLAT_CLOSE = {name: re.compile(rf"</{name}[^<>]*>", re.I) for name in _INVISIBLE}
_FLAT_TITLE = re.compile(r"<title\b[^<>]*>([^<]*)</title\s*>", re.I)
_FLAT_TAG = re.compile(r"<[^<>]*>")
_FLAT_BREAK = re.compile(r"<(?:br|/p|/div|/li|/h[1-6]|/tr)\b[^<>]*>", re.I)
_FLAT_HREF = re.compile(r"""<a\b[^<>]*?\bhref\s*=\s*["']?([^"'\s<>]+)""", re.I)
_FLAT_PASSWORD = re.compile(r"""<input\b[^<>]*type\s*=\s*["']?password""", re.I)


def _drop_invisible(source: str) -> str:
    """Remove script/style/noscript/template elements in one linear pass."""
    kept: list[str] = []
    pos = 0
    while (match := _FLAT_OPEN_INVISIBLE.search(source, pos)) is not None:
        kept.append(source[pos : match.start()])
        close = _FLAT_CLOSE[match.group(1).lower()].search(source, match.end())
        pos = len(source) if close is None else close.end()
    kept.append(source[pos:])
    return " ".join(kept)


def _flat(decoded: charsets.DecodedText, base_url: str | None, max_links: int) -> PageInfo:
    """Text without a tree: for markup the parser could not build (e.g. very deep)."""
    source = decoded.text
    title_match = _FLAT_TITLE.search(source)
    title = _one_line(html_entities.unescape(title_match.group(1))) if title_match else None
    stripped = _drop_invisible(source)
    stripped = _FLAT_BREAK.sub("\n", stripped)
    text = _tidy(html_entities.unescape(_FLAT_TAG.sub(" ", stripped)))
    links: dict[str, None] = {}
    truncated = False
    for match in _FLAT_HREF.finditer(source):
        url = _absolute(html_entities.unescape(match.group(1)), base_url)
        if url is None or url in links:
            continue
        if len(links) >= max_links:
            truncated = True
            break
        links[url] = None
    page = PageInfo(
        title=title or None,
        text=text,
        canonical_url=None,
        links=tuple(links),
        links_truncated=truncated,
        charset=decoded.charset,
        charset_source=decoded.source,
        word_count=len(text.split()),
        has_password_field=_FLAT_PASSWORD.search(source) is not None,
        flat_fallback=True,
        notes=(
            *decoded.notes,
            "The page's structure could not be read (too deeply nested or malformed); "
            "its text was extracted without structure and metadata.",
        ),
    )
    return _with_wall(page)
