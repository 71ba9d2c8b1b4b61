"""Read an HTML page: title, visible text, metadata and links. Nothing is executed.

The tree is libxml2's (lxml's HTML parser, which recovers from broken markup as a
browser does); it never runs scripts, fetches resources or follows links. Visible text
comes from one XSLT pass over that tree (the rules below, applied by libxslt with
every file and network access denied); metadata from the few element types that carry
it. The charset is found first (``collectors.charsets``, which uses beautifulsoup4's
declaration finder).

Why not beautifulsoup4's own tree, as DESIGN section 4 first planned: on a markup-heavy
1 MB page it takes ~650 ms to build, against ~15 ms for lxml's tree and ~6 ms for the
text pass, and capture (issue 4) must finish a 1 MB page in 100 ms. bs4 sits on the
same parser, so what is read does not change; bs4's documentation itself points to
lxml when speed matters. The evidence is the stored bytes; what this module returns
is a working copy for reading and searching.

Hostile pages are expected. A parse that fails (an empty document, or markup so deep
that libxml2 stops at its depth limit of 2,048 and would drop what follows) falls back
to a flat, regex-based extraction instead of failing the capture; the page records
that it did. So does a page with more than :data:`MAX_TAGS` tags, counted before any
tree is built, so that memory stays bounded whatever the page holds, and a page with an
element of more than :data:`MAX_ATTRIBUTES` attributes, which libxml2 reads in time
that grows with their square.
"""

from __future__ import annotations

import html as html_entities
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from lxml import etree

from collectors import charsets, walls

MAX_LINKS = 1000
# Markup (counted as "<" characters) above which no tree is built: libxml2 takes some
# 350 bytes for each element, so 24 MB of tiny elements would need over 1 GB. Above the
# budget the page is read flat, as a too-deep page is.
MAX_TAGS = 300_000
# A page longer than this (in characters) is read flat too: its tree, the text pass's
# output and the copies made from it would cost several times its size.
MAX_TREE_CHARS = 8_000_000
# Attributes one element may have for a tree to be built: libxml2 compares each
# attribute with every earlier one of its element, so a 1 MB page of one element with
# 100,000 attributes took it two minutes. Above this the page is read flat. Counted as
# the words of a start tag outside its quoted values, so "a = b" counts as three.
MAX_ATTRIBUTES = 256
# The working copy of the text keeps at most this many characters (the evidence is the
# stored bytes, all of them); reading stops there, so time and memory stay bounded.
MAX_TEXT = 5_000_000
_FLAT_CHUNK = 1024 * 1024
_TEXT_CUT = (
    "The page's text is longer than the {limit:,} characters Caseview keeps as its "
    "working copy for reading and searching; the rest is in the stored evidence file."
)
# Pages longer than this (in characters) are not given to the main-content extractor.
MAX_MAIN_CHARS = 1_000_000
_MAIN_NONE = (
    "The page's main content {why}: the exposure and other-people checks read all of "
    "its visible text, menus and footers included, so expect more findings to dismiss."
)
_MAX_META = 300
_MAX_META_VALUE = 2000
_MAX_JSON_LD_CHARS = 256 * 1024
_MAX_JSON_LD_NODES = 5000
_INVISIBLE = ("script", "style", "noscript", "template")
_BLOCKS = (
    "p", "div", "section", "article", "header", "footer", "main", "nav", "aside",
    "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "tr",
    "table", "blockquote", "pre", "figure", "figcaption", "form", "hr", "address",
    "caption", "details", "summary", "fieldset", "legend", "option", "center", "dialog",
    "menu",
)  # fmt: skip
# Table cells: a browser shows them apart, however tightly the markup packs them
# ("<td>Name</td><td>Jay</td>" is "Name Jay", never "NameJay").
_CELLS = ("td", "th")
# Elements whose start or end the scan below looks at; all others are skipped in C.
_NOTED = ("a", "area", "meta", "link", "script", "input", "title", "base", "time")
_URL_CHARS = r"[A-Za-z0-9\-._~!$&'()*+,=:@%/]"
_PLAIN_PATH = re.compile(rf"/(?!/){_URL_CHARS}{{0,2048}}(?:\?(?:{_URL_CHARS}|\?){{1,2048}})?")

# Visible text: hidden elements, the title (shown as the title, not as text), comments
# and processing instructions give nothing; a block element or <br> starts a new line.
_VISIBLE_TEXT = etree.XSLT(
    etree.XML(
        f"""\
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text" encoding="utf-8"/>
  <xsl:template match="{"|".join((*_INVISIBLE, "title"))}|comment()|processing-instruction()"/>
  <xsl:template match="{"|".join(_BLOCKS)}">
    <xsl:text>&#10;</xsl:text><xsl:apply-templates/><xsl:text>&#10;</xsl:text>
  </xsl:template>
  <xsl:template match="{"|".join(_CELLS)}">
    <xsl:text>&#9;</xsl:text><xsl:apply-templates/><xsl:text>&#9;</xsl:text>
  </xsl:template>
  <xsl:template match="br"><xsl:text>&#10;</xsl:text></xsl:template>
</xsl:stylesheet>
""".encode()
    ),
    access_control=etree.XSLTAccessControl.DENY_ALL,
)


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
    # The page's main content (the article or post, without menus, footers and site
    # boilerplate), which the exposure and collateral checks read; None when there is
    # none apart from ``text`` (plain text, a document, a page read flat).
    main_text: str | None = None

    @property
    def indicator_text(self) -> str:
        """What the exposure and collateral checks read: the main content, else the text."""
        return self.main_text if self.main_text is not None else self.text


class _Unreadable(Exception):
    """libxml2 could not build a complete tree of the page."""


def parse_html(
    body: bytes,
    *,
    charset: str | None = None,
    base_url: str | None = None,
    max_links: int = MAX_LINKS,
    max_tags: int = MAX_TAGS,
) -> PageInfo:
    """Read ``body`` as HTML; ``charset`` is the one the server declared, if any.

    A page with more than ``max_tags`` tags is read flat (no tree, no metadata).
    """
    decoded = charsets.decode(body, charset, html=True)
    if not decoded.text.strip():
        return _empty(decoded)
    too_big = len(decoded.text) > MAX_TREE_CHARS
    if too_big or decoded.text.count("<") > max_tags:
        flat = _flat(decoded, base_url, max_links, reason=_TOO_LARGE if too_big else _TOO_MANY_TAGS)
        return flat if flat.text or flat.title or flat.links else _empty(decoded)
    if _most_attributes(decoded.text) > MAX_ATTRIBUTES:
        flat = _flat(decoded, base_url, max_links, reason=_TOO_MANY_ATTRIBUTES)
        return flat if flat.text or flat.title or flat.links else _empty(decoded)
    try:
        root = _tree(decoded.text)
        return _from_tree(root, decoded, base_url, max_links)
    except (_Unreadable, etree.LxmlError, RecursionError):
        flat = _flat(decoded, base_url, max_links)
        # libxml2 calls a page of comments only "empty"; so is its flat reading.
        return flat if flat.text or flat.title or flat.links else _empty(decoded)


# A quoted attribute value starts after "="; a quote anywhere else in a tag is part of
# an attribute's name, and a "<" starts no new tag (HTML5, as libxml2 reads it).
_VALUE_QUOTE = re.compile(r"""=[\t\n\f\r ]*["']""")
# Elements whose content libxml2 reads as text, so a "<" in it starts no tag.
_RAW_TEXT_NAMES = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed",
                   "noframes", "plaintext")  # fmt: skip
_RAW_TEXT = re.compile(rf"({'|'.join(_RAW_TEXT_NAMES)})\b", re.I)
_RAW_TEXT_END = {name: re.compile(rf"</{name}", re.I) for name in _RAW_TEXT_NAMES}


def _most_attributes(text: str, limit: int = MAX_ATTRIBUTES) -> int:
    """The most attributes in one start tag of ``text``, counted as its words outside
    quoted values (words are split by spaces and "/", so "a = b" is three): a number
    over ``limit`` if, and only if, a tag has more than ``limit`` (under it, the number
    may be an estimate).

    Linear, and quick on a real page: it jumps from tag to tag, over quoted values and
    over the contents of scripts and styles (whose "<" starts no tag); a tag's words are
    counted only when it is long enough to hold more than ``limit`` of them.
    """
    most = 0
    pos = text.find("<")
    while pos != -1 and most <= limit:
        if not text[pos + 1 : pos + 2].isalpha():
            pos = text.find("<", pos + 1)  # an end tag, a comment, a stray "<"
            continue
        # A word and its separator take two characters: a bound first, then the count.
        words, end = _tag_words(text, pos, exact=False)
        if words > limit:
            words, end = _tag_words(text, pos, exact=True)
        most = max(most, words)
        if end == len(text):
            break  # the tag (or a quoted value in it) runs to the end of the text
        raw = _RAW_TEXT.match(text, pos + 1)
        closing = _RAW_TEXT_END[raw.group(1).lower()].search(text, end) if raw else None
        pos = closing.start() if closing else -1 if raw else text.find("<", end)
    return most


def _tag_words(text: str, pos: int, *, exact: bool) -> tuple[int, int]:
    """Words of the start tag at ``pos`` outside its quoted values (or a bound on them),
    and where the tag ends: at its ">", or the end of the text."""
    words = 0
    at = pos + 1
    while True:
        close = text.find(">", at)
        end = len(text) if close == -1 else close
        quote = _VALUE_QUOTE.search(text, at, end)
        stretch = end if quote is None else quote.end() - 1
        if exact:
            words += len(text[at:stretch].replace("/", " ").split())
        else:
            words += (stretch - at + 1) // 2
        if quote is None:
            return words, end
        value_end = text.find(text[stretch], stretch + 1)
        if value_end == -1:
            return words, len(text)
        at = value_end + 1


def _tree(text: str) -> etree._Element:
    """libxml2's tree of ``text``; raises _Unreadable when the parse stopped early."""
    # A new parser each time: parsers are not thread-safe, and each keeps an error log.
    parser = etree.HTMLParser(
        encoding="utf-8", recover=True, no_network=True, huge_tree=True, default_doctype=False
    )
    # Bytes with the encoding named, so libxml2 never re-guesses the character set.
    root = etree.fromstring(text.encode("utf-8", "replace"), parser)
    if root is None:
        raise _Unreadable("no document element")
    if any(error.level >= etree.ErrorLevels.FATAL for error in parser.error_log):
        raise _Unreadable("the parse stopped early")  # e.g. the depth limit: text lost
    return root


def _empty(decoded: charsets.DecodedText) -> PageInfo:
    return PageInfo(
        title=None,
        text="",
        canonical_url=None,
        charset=decoded.charset,
        charset_source=decoded.source,
        notes=decoded.notes,
    )


def page_from_text(body: bytes, *, charset: str | None = None) -> PageInfo:
    """A plain-text document: its text is itself (never parsed as markup)."""
    decoded = charsets.decode(body, charset, html=False)
    source = decoded.text
    pieces = (source[i : i + _FLAT_CHUNK] for i in range(0, len(source), _FLAT_CHUNK))
    text, cut = _tidy_pieces(pieces, MAX_TEXT)
    return PageInfo(
        title=None,
        text=text,
        canonical_url=None,
        charset=decoded.charset,
        charset_source=decoded.source,
        word_count=_word_count(text),
        login_wall=None,
        notes=(*decoded.notes, *([_TEXT_CUT.format(limit=MAX_TEXT)] if cut else [])),
    )


class _Scan:
    """The elements that carry metadata, gathered in one pass in document order."""

    def __init__(self, root: etree._Element) -> None:
        self.title: etree._Element | None = None
        self.metas: list[etree._Element] = []
        self.anchors: list[etree._Element] = []
        self.link_tags: list[etree._Element] = []
        self.ld_scripts: list[etree._Element] = []
        self.base: etree._Element | None = None
        self.time: etree._Element | None = None
        self.rel_author: etree._Element | None = None
        self.password = False
        for element in root.iter(*_NOTED):
            self._note(element)

    def _note(self, tag: etree._Element) -> None:
        name = tag.tag
        if name == "a" or name == "area":
            if tag.get("href") is not None:
                self.anchors.append(tag)
            if (
                name == "a"
                and self.rel_author is None
                and tag.get("rel") is not None
                and "author" in _rels(tag)
            ):
                self.rel_author = tag
        elif name == "meta":
            if len(self.metas) < _MAX_META * 4:
                self.metas.append(tag)
        elif name == "link":
            if tag.get("href") is not None:
                self.link_tags.append(tag)
        elif name == "script":
            if "ld+json" in (tag.get("type") or "").lower() and len(self.ld_scripts) < 20:
                self.ld_scripts.append(tag)
        elif name == "input":
            if (tag.get("type") or "").strip().lower() == "password":
                self.password = True
        elif name == "title":
            if self.title is None:
                self.title = tag
        elif name == "base":
            if self.base is None and tag.get("href") is not None:
                self.base = tag
        elif name == "time" and self.time is None and tag.get("datetime") is not None:
            self.time = tag


def _text_of(element: etree._Element) -> str:
    return " ".join(element.itertext())


def _from_tree(
    root: etree._Element, decoded: charsets.DecodedText, base_url: str | None, max_links: int
) -> PageInfo:
    scan = _Scan(root)
    text = _tidy(str(_VISIBLE_TEXT(root)))
    cut = len(text) > MAX_TEXT
    text = text[:MAX_TEXT]
    base = _base_url(scan.base, base_url)
    meta = _meta_tags(scan.metas)
    ld = _json_ld(scan.ld_scripts)
    title = _one_line(_text_of(scan.title)) if scan.title is not None else None
    published, published_at = _published(scan.time, meta, ld)
    links, truncated = _links(scan.anchors, base, max_links)
    main_text, main_note = main_content(decoded.text) if text else (None, None)
    page = PageInfo(
        title=title or meta.get("og:title") or None,
        text=text,
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
        word_count=_word_count(text),
        has_password_field=scan.password,
        notes=(
            *decoded.notes,
            *([_TEXT_CUT.format(limit=MAX_TEXT)] if cut else []),
            *([main_note] if main_note else []),
        ),
        main_text=main_text,
    )
    return _with_wall(page)


def main_content(markup: str) -> tuple[str | None, str | None]:
    """The page's main content (trafilatura's reading of the markup) and a note if none.

    Trafilatura keeps the article or post and drops menus, footers, sidebars, comments
    and site boilerplate: the padding where most false exposure indicators came from
    (issue 13). It runs in its fast mode (no second and third extraction algorithm),
    only on pages the tree parse accepted (fewer than MAX_TAGS tags) and of at most
    MAX_MAIN_CHARS characters, so its time stays bounded. When it finds nothing, fails
    or the page is too large, the checks read the full visible text and a note says so.
    """
    if len(markup) > MAX_MAIN_CHARS:
        # The markup is long, not necessarily the content (inline images and scripts).
        why = f"was not picked out (its markup is longer than {MAX_MAIN_CHARS:,} characters)"
        return None, _MAIN_NONE.format(why=why)
    try:
        import trafilatura  # only pages with a tree need it (0.4 s to load)

        # Its log lines ("empty HTML tree", "discarding data") describe the page, which
        # the note below already does; they are not faults of this program.
        logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

        extracted = trafilatura.extract(
            markup,
            fast=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
        )
    except Exception as exc:  # a hostile page must not fail the capture
        return None, _MAIN_NONE.format(why=f"could not be read for it ({type(exc).__name__})")
    main = _tidy(extracted or "")[:MAX_TEXT]
    if not main:
        return None, _MAIN_NONE.format(why="has none that could be picked out")
    return main, None


def _with_wall(page: PageInfo) -> PageInfo:
    reason = walls.login_wall_reason(
        title=page.title,
        text=page.text,
        description=page.meta.get("og:description") or page.meta.get("description"),
        has_password_field=page.has_password_field,
        word_count=page.word_count,
    )
    if reason is None:
        return page
    return PageInfo(**{**page.__dict__, "login_wall": reason})


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tidy(text: str) -> str:
    """One space between words, no space at either end of a line, at most one blank line."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    # A blank line is kept only after a line with words: runs of them become one. (A
    # regex over the joined text does the same, at seven times the cost on 1 MB.)
    kept = [line for line, before in zip(lines, ["", *lines[:-1]], strict=True) if line or before]
    return "\n".join(kept).strip()


def _tidy_pieces(pieces: Iterable[str], limit: int) -> tuple[str, bool]:
    """:func:`_tidy` of the text the pieces make when joined, at most ``limit`` characters.

    Returns the text and whether it was cut. Pieces are read one at a time and reading
    stops at the limit, so a huge text costs no more than the kept part (no copy of the
    whole, no list of all its words).
    """
    out: list[str] = []  # finished lines, tidied
    size = 0
    words_before = False  # whether the previous line had words (a blank line may follow)
    current: list[str] = []  # tidied parts of the line being read
    carry = ""  # a word that may go on in the next piece

    def finish(line: str) -> bool:
        nonlocal size, words_before
        current.append(" ".join(line.split()))
        tidy = " ".join(part for part in current if part)
        current.clear()
        if tidy or words_before:
            out.append(tidy)
            size += len(tidy) + 1
        words_before = bool(tidy)
        return size > limit

    for piece in pieces:
        *lines, rest = (carry + piece).split("\n")
        carry = ""
        for line in lines:
            if finish(line):
                return "\n".join(out).strip()[:limit], True
        words = rest.split()
        if words and not rest[-1].isspace() and len(words[-1]) < 65536:
            carry = words.pop()  # it may go on in the next piece
        current.append(" ".join(words))
        if size + sum(len(part) for part in current) > limit:
            finish("")
            return "\n".join(out).strip()[:limit], True
    finish(carry)
    return "\n".join(out).strip(), False


def _word_count(tidy: str) -> int:
    """``len(tidy.split())`` for text from :func:`_tidy`, by counting its separators.

    After ``_tidy`` words are separated by exactly one space, one line break or one
    blank line, with nothing before the first word or after the last, so counting the
    separators is enough (and some fifty times faster on a 1 MB page than splitting).
    """
    if not tidy:
        return 0
    return 1 + tidy.count(" ") + tidy.count("\n") - tidy.count("\n\n")


def _attr(tag: etree._Element, name: str) -> str | None:
    value = tag.get(name)
    return value if isinstance(value, str) else None


def _rels(tag: etree._Element) -> list[str]:
    return [value.lower() for value in (tag.get("rel") or "").split()]


def _meta_tags(tags: list[etree._Element]) -> dict[str, str]:
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


def _base_url(base_tag: etree._Element | None, base_url: str | None) -> str | None:
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


class _Resolver:
    """``_absolute`` for one page's links, without re-parsing its base for each one.

    A page of posts has hundreds of links like ``/user/posts/123?page=2``: a path from
    the root in plain URL characters, with no dot segments, parameters, fragment or
    empty query. Joined to an http(s) base, such a path is the base's origin followed
    by the path exactly as written, so it is built directly; anything else goes
    through ``urljoin`` (a property test holds the two to the same answers).
    """

    def __init__(self, base: str | None) -> None:
        self.base = base
        self.origin: str | None = None
        try:
            parts = urlsplit(base or "")
        except ValueError:
            return
        if parts.scheme in ("http", "https") and parts.netloc:
            self.origin = f"{parts.scheme}://{parts.netloc}"

    def __call__(self, href: str) -> str | None:
        href = href.strip()
        if self.origin is not None and _PLAIN_PATH.fullmatch(href) and "/." not in href:
            return self.origin + href
        return _absolute(href, self.base)


def _canonical(
    link_tags: list[etree._Element], meta: dict[str, str], base: str | None
) -> str | None:
    for link in link_tags:
        if "canonical" in _rels(link):
            return _absolute(_attr(link, "href") or "", base)
    og_url = meta.get("og:url")
    return _absolute(og_url, base) if og_url else None


def _links(
    anchors: list[etree._Element], base: str | None, limit: int
) -> tuple[tuple[str, ...], bool]:
    links: dict[str, None] = {}  # ordered set
    resolve = _Resolver(base)
    for anchor in anchors:
        url = resolve(_attr(anchor, "href") or "")
        if url is None or url in links:
            continue
        if len(links) >= limit:
            return tuple(links), True
        links[url] = None
    return tuple(links), False


def _json_ld(scripts: list[etree._Element]) -> list[dict[str, object]]:
    """Objects from JSON-LD blocks, flattened; oversized or broken blocks are skipped."""
    objects: list[dict[str, object]] = []
    for script in scripts:
        raw = script.text or ""
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
    rel_author: etree._Element | None, meta: dict[str, str], ld: list[dict[str, object]]
) -> str | None:
    for key in ("author", "article:author", "dc.creator", "parsely-author"):
        if meta.get(key):
            return meta[key]
    for obj in ld:
        name = _ld_name(obj.get("author"))
        if name:
            return name
    if rel_author is not None:
        return _one_line(_text_of(rel_author)) or None
    return None


def _published(
    time_tag: etree._Element | None, meta: dict[str, str], ld: list[dict[str, object]]
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


def _visible_pieces(source: str) -> Iterator[str]:
    """The text of ``source`` outside script/style/noscript/template, tags made spaces
    and <br>/block ends made line breaks, in pieces of about a megabyte (linear)."""
    pos = 0
    while pos < len(source):
        match = _FLAT_OPEN_INVISIBLE.search(source, pos)
        end = len(source) if match is None else match.start()
        while pos < end:
            cut = _cut(source, pos, end)
            chunk = _FLAT_TAG.sub(" ", _FLAT_BREAK.sub("\n", source[pos:cut]))
            yield html_entities.unescape(chunk)
            pos = cut
        if match is None:
            return
        yield " "
        close = _FLAT_CLOSE[match.group(1).lower()].search(source, match.end())
        pos = len(source) if close is None else close.end()


def _cut(source: str, start: int, end: int) -> int:
    """Where the piece starting at ``start`` ends: before a "<", so that no tag, and no
    character reference, is split between pieces (else at a space, with no tag open)."""
    stop = start + _FLAT_CHUNK
    if stop >= end:
        return end
    tag = source.rfind("<", start + 1, stop)
    if tag != -1:
        return tag
    if source[start] == "<" and source.find(">", start, stop) == -1:
        # A tag longer than a piece: go on to the next "<".
        after = source.find("<", stop, end)
        return end if after == -1 else after
    space = max(source.rfind(" ", start + 1, stop), source.rfind("\n", start + 1, stop))
    return space if space != -1 else stop


_UNREADABLE = (
    "The page's structure could not be read (too deeply nested or malformed); "
    "its text was extracted without structure and metadata."
)
_TOO_LARGE = (
    "The page is too large to read its structure within Caseview's memory limit; its "
    "text was extracted without structure and metadata."
)
_TOO_MANY_ATTRIBUTES = (
    f"The page has an element with more than {MAX_ATTRIBUTES:,} attributes, far more than "
    "a real page needs (it may be built to stall the computer); its text was extracted "
    "without structure and metadata."
)
_TOO_MANY_TAGS = (
    "The page has too many elements to read its structure within Caseview's memory "
    "limit; its text was extracted without structure and metadata."
)


def _flat(
    decoded: charsets.DecodedText,
    base_url: str | None,
    max_links: int,
    *,
    reason: str = _UNREADABLE,
) -> PageInfo:
    """Text without a tree: for markup the parser could not build (e.g. very deep)."""
    source = decoded.text
    title_match = _FLAT_TITLE.search(source)
    title = _one_line(html_entities.unescape(title_match.group(1))) if title_match else None
    text, cut = _tidy_pieces(_visible_pieces(source), MAX_TEXT)
    links: dict[str, None] = {}
    truncated = False
    resolve = _Resolver(base_url)
    for match in _FLAT_HREF.finditer(source):
        url = resolve(html_entities.unescape(match.group(1)))
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
        word_count=_word_count(text),
        has_password_field=_FLAT_PASSWORD.search(source) is not None,
        flat_fallback=True,
        notes=(*decoded.notes, reason, *([_TEXT_CUT.format(limit=MAX_TEXT)] if cut else [])),
    )
    return _with_wall(page)
