"""collectors.html: reading pages, hostile ones included, and spotting login walls."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import charsets, html, walls
from collectors.html import page_from_text, parse_aware_time, parse_html

ARTICLE = b"""<!DOCTYPE html>
<html><head>
<title>  Summer   fair \n photos </title>
<meta name="description" content="Photos from the fair">
<meta property="og:title" content="Fair">
<meta property="og:url" content="https://news.example/fair">
<meta property="og:image" content="https://news.example/a.jpg">
<link rel="canonical stylesheet" href="/fair?ref=canonical">
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [{"@type": "NewsArticle",
 "datePublished": "2026-07-01T09:30:00Z", "author": [{"@type": "Person", "name": "Sam Reporter"}]}]}
</script>
<script>document.write("never shown")</script>
<style>.x { color: red }</style>
</head>
<body>
<noscript>Enable JavaScript</noscript>
<template><p>template text</p></template>
<h1>Summer fair</h1><p>First para<br>second line</p>
<!-- a comment -->
<ul><li><a href="/one">One</a></li><li><a href="https://other.example/two">Two</a></li>
<li><a href="javascript:void(0)">JS</a></li><li><a href="mailto:x@example.com">mail</a></li>
<li><a href="#top">top</a></li><li><a href="/one">One again</a></li></ul>
</body></html>"""


def test_article_fields() -> None:
    page = parse_html(ARTICLE, base_url="https://news.example/fair/")
    assert page.title == "Summer fair photos"
    assert page.canonical_url == "https://news.example/fair?ref=canonical"
    assert page.meta["description"] == "Photos from the fair"
    assert page.opengraph == {
        "og:title": "Fair",
        "og:url": "https://news.example/fair",
        "og:image": "https://news.example/a.jpg",
    }
    assert page.author == "Sam Reporter"
    assert page.published == "2026-07-01T09:30:00Z"
    assert page.published_at == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    assert page.links == ("https://news.example/one", "https://other.example/two")
    assert page.login_wall is None and not page.flat_fallback


def test_visible_text_excludes_code_and_keeps_lines() -> None:
    text = parse_html(ARTICLE).text
    for hidden in ("never shown", "color: red", "Enable JavaScript", "template text", "comment"):
        assert hidden not in text
    assert "Summer fair photos" not in text  # the title is not body text
    assert "Summer fair\n" in text
    assert "First para\nsecond line" in text


def test_published_from_meta_then_time_tag() -> None:
    meta = b"<meta property='article:published_time' content='2026-01-02T03:04:05+02:00'>"
    assert parse_html(meta).published_at == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    timed = b"<p>Posted <time datetime='2025-12-24'>Christmas Eve</time></p>"
    page = parse_html(timed)
    assert page.published == "2025-12-24"
    assert page.published_at is None  # a date without a time zone is not guessed


@pytest.mark.parametrize("block", [b"{not json", b"[" * 100_000, b'"' + b"x" * 300_000 + b'"'])
def test_broken_json_ld_is_skipped(block: bytes) -> None:
    body = b"<script type='application/ld+json'>" + block + b"</script><p>still here</p>"
    page = parse_html(body)
    assert page.text == "still here"
    assert page.author is None


def test_links_are_capped() -> None:
    body = b"".join(b"<a href='/p%d'>x</a>" % i for i in range(50))
    page = parse_html(body, base_url="https://site.example/", max_links=10)
    assert len(page.links) == 10 and page.links_truncated


def test_deeply_nested_html_is_fast_and_complete() -> None:
    body = b"<div>" * 10_000 + b"deep text" + b"</div>" * 10_000 + b"<p>after</p>"
    started = time.monotonic()
    page = parse_html(body)
    assert time.monotonic() - started < 5
    assert "deep text" in page.text and "after" in page.text


def test_markup_deeper_than_the_parser_allows_falls_back_to_flat_text() -> None:
    # libxml2 stops at 2,048 levels and would drop the rest; the flat reading keeps it.
    body = (
        b"<html><head><title>T &amp; U</title><script>hidden()</script></head><body>"
        + b"<div>" * 3000
        + b"<p>Visible</p><a href='/x'>x</a><input type='password'>"
        + b"</div>" * 3000
        + b"<p>after</p></body></html>"
    )
    page = parse_html(body, base_url="https://site.example/")
    assert page.flat_fallback
    assert page.title == "T & U"
    assert "Visible" in page.text and "after" in page.text and "hidden" not in page.text
    assert page.links == ("https://site.example/x",)
    assert page.login_wall == "the page is a sign-in form"
    assert any("structure could not be read" in note for note in page.notes)


def test_deep_markup_within_the_parser_limit_keeps_its_structure() -> None:
    body = b"<title>Deep</title>" + b"<div>" * 1500 + b"inside" + b"</div>" * 1500 + b"<p>after"
    page = parse_html(body)
    assert not page.flat_fallback
    assert page.title == "Deep"
    assert page.text.split() == ["inside", "after"]


@pytest.mark.parametrize("body", [b"", b"   \n", b"<!-- only a comment -->"])
def test_a_page_with_no_content_reads_as_empty(body: bytes) -> None:
    page = parse_html(body)
    assert page.text == "" and page.word_count == 0 and page.links == ()
    assert not any("structure could not be read" in note for note in page.notes)


def test_block_elements_and_breaks_separate_words() -> None:
    body = b"<ul><li>one</li><li>two</li></ul>three<br>four<table><tr><td>a</td></tr></table>"
    page = parse_html(body)
    assert [line for line in page.text.split("\n") if line] == ["one", "two", "three", "four", "a"]


def test_comments_and_processing_instructions_are_not_text_but_what_follows_is() -> None:
    page = parse_html(b"<p>before<!-- secret -->after<?pi data?>end</p>")
    assert page.text == "beforeafterend"


@settings(max_examples=75, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_without_crashing(body: bytes) -> None:
    page = parse_html(body)
    assert isinstance(page.text, str)


@given(st.text(alphabet="<>/!-=\"' abcdiv\n&;#", max_size=300))
def test_any_markup_parses_without_crashing(markup: str) -> None:
    parse_html(markup.encode())


# --- character sets ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "declared", "expected", "source"),
    [
        ("café".encode("cp1252"), "windows-1252", "cp1252", "header"),
        ("café".encode("cp1252"), "ISO-8859-1", "cp1252", "header"),  # as browsers do
        (b"<meta charset='utf-8'>caf\xc3\xa9", None, "utf-8", "meta"),
        (
            b"<meta http-equiv='Content-Type' content='text/html; charset=koi8-r'>\xf0\xd2",
            None,
            "koi8-r",
            "meta",
        ),
        (b"\xef\xbb\xbfcaf\xc3\xa9", "latin-1", "utf-8-sig", "bom"),
        ("café".encode("utf-16"), None, "utf-16", "bom"),
        (b"plain ascii", "x-klingon", "utf-8", "guessed"),
        (b"caf\xe9 \x81", "x-klingon", "cp1252", "guessed"),
        (b"<meta charset='utf-16'>caf\xc3\xa9", None, "utf-8", "meta"),
    ],
)
def test_charset_order(body: bytes, declared: str | None, expected: str, source: str) -> None:
    decoded = charsets.decode(body, declared)
    assert (decoded.charset, decoded.source) == (expected, source)


@pytest.mark.parametrize("label", ["x-klingon", "base64", "rot13", "unicode_escape", "utf-7", ""])
def test_unusable_charset_labels(label: str) -> None:
    assert charsets.usable_codec(label) is None


def test_undecodable_bytes_are_replaced_and_noted() -> None:
    decoded = charsets.decode(b"ok \xff\xfe bad", "utf-8")
    assert "\ufffd" in decoded.text
    assert any("not valid utf-8" in note for note in decoded.notes)


def test_plain_text_is_not_parsed_as_markup() -> None:
    page = page_from_text(b"I am <not> a tag &amp; stay as typed\n\n\n\nend")
    assert page.text == "I am <not> a tag &amp; stay as typed\n\nend"
    assert page.title is None


def test_parse_aware_time() -> None:
    assert parse_aware_time("2026-03-01T12:00:00Z") == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert parse_aware_time("2026-03-01T12:00:00") is None
    assert parse_aware_time("yesterday") is None


# --- login walls ---------------------------------------------------------------------

SIGN_IN = b"""<html><head><title>Log in or sign up</title></head><body>
<form><input type="email" name="email"><input type="PASSWORD" name="pass">
<button>Log in</button><a href="/recover">Forgotten password?</a></form></body></html>"""

FORUM = (
    b"<html><head><title>Forum thread</title></head><body>"
    b"<form><input name=u><input type=password name=p></form>"
    + b"<p>"
    + b"A long public discussion about parenting support. " * 40
    + b"</p></body></html>"
)
ARTICLE_ABOUT_PRIVACY = (
    b"<html><head><title>Keeping children safe online</title></head><body><p>"
    + b"Parents can switch on a private account so that only friends can see posts. " * 30
    + b"</p></body></html>"
)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (SIGN_IN, "sign-in form"),
        (
            b"<title>Instagram</title><p>This account is private</p><p>Follow to see photos.</p>",
            "this account is private",
        ),
        (
            b"<title>Facebook</title><h2>This content isn\xe2\x80\x99t available right now</h2>",
            "this content isn't available",
        ),
        (b"<title>Friends only</title><p>posts</p>", "title says 'friends only'"),
        (
            b"<meta name='description' content='Log in to see photos and videos from friends.'>"
            b"<p>" + b"word " * 400 + b"</p>",
            "description says 'log in to see'",
        ),
    ],
)
def test_login_walls_are_detected(body: bytes, reason: str) -> None:
    page = parse_html(body)
    assert page.login_wall is not None and reason in page.login_wall


@pytest.mark.parametrize(
    "body",
    [
        FORUM,
        ARTICLE_ABOUT_PRIVACY,
        b"<title>Help: how to log in</title><p>Click the button at the top.</p>",
        b"<p>Our school newsletter. Log in details were sent home.</p>",
    ],
)
def test_public_pages_are_not_login_walls(body: bytes) -> None:
    assert parse_html(body).login_wall is None


@pytest.mark.parametrize(
    ("url", "login"),
    [
        ("https://www.facebook.com/login/?next=x", True),
        ("https://www.instagram.com/accounts/login/", True),
        ("https://www.linkedin.com/authwall?trk=x", True),
        ("https://x.com/i/flow/login", True),
        ("https://site.example/sign-in", True),
        ("https://site.example/users/signin.php", True),
        ("https://site.example/blogging/", False),
        ("https://site.example/login-tips-for-parents-article", False),
        ("https://site.example/kerry.smith", False),
    ],
)
def test_login_urls(url: str, login: bool) -> None:
    assert walls.is_login_url(url) is login


@settings(max_examples=500, deadline=None)
@given(
    base=st.sampled_from(
        [
            "https://site.example/a/b?q=1#f",
            "http://host.example:8080/",
            "https://[2001:db8::1]/x",
            "https://user@host.example/",
        ]
    ),
    tail=st.text(alphabet=st.sampled_from(list("/.ab?#%:@ \t\x00é;=&~+()!$,*'-_")), max_size=14),
)
def test_the_quick_path_for_root_relative_links_agrees_with_urljoin(base: str, tail: str) -> None:
    href = "/" + tail
    assert html._Resolver(base)(href) == html._absolute(href, base)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" \n\t\r\x0c\xa0\u2003\u2028ab")), max_size=40))
def test_word_count_of_tidied_text_agrees_with_splitting(raw: str) -> None:
    tidy = html._tidy(raw)
    assert html._word_count(tidy) == len(tidy.split())


def _tidy_reference(text: str) -> str:
    """What ``_tidy`` must equal: the plain statement of its rule, with regexes."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return re.sub(r"\n\s*\n+", "\n\n", "\n".join(lines)).strip()


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" \n\t\r\x0c\xa0\u2003\u2028ab")), max_size=60))
def test_tidy_collapses_space_and_blank_lines_as_its_rule_says(raw: str) -> None:
    assert html._tidy(raw) == _tidy_reference(raw)
