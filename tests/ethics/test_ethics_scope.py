"""Scope matching: IDNA hosts, subdomains, exact pages."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors import Refused
from collectors.addresses import parse_target
from ethics import host_covered, normalise_host, parse_web_url, url_in_scope


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photos.example", "photos.example"),
        ("Photos.EXAMPLE.", "photos.example"),
        ("  photos.example  ", "photos.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        # IDNA 2008 deviations, kept as written (IDNA 2003 would map them away):
        ("faß.example", "xn--fa-hia.example"),  # not fass.example
        ("FASS.example", "fass.example"),
        ("ςa.example", "xn--a-xmb.example"),  # final sigma; not σa.example
        ("σa.example", "xn--a-zmb.example"),
        ("Σa.example", "xn--a-zmb.example"),
        ("photos.example:8443", "photos.example"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
    ],
)
def test_hosts_normalise_to_lower_case_punycode(raw: str, expected: str) -> None:
    assert normalise_host(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("https://photos.example", "host name alone"),
        ("photos.example/jay", "host name alone"),
        ("jay@photos.example", "host name alone"),
        ("*.photos.example", "already covered"),
        ("photos..example", "not a valid host name"),
        ("pho tos.example", "host name alone"),
        ("a" * 64 + ".example", "not a valid host name"),
        ("photos.example:99999", "not a valid host name"),
    ],
)
def test_unusable_hosts_say_why(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalise_host(raw)


@pytest.mark.parametrize(
    ("host", "scope", "covered"),
    [
        ("photos.example", "photos.example", True),
        ("www.photos.example", "photos.example", True),
        ("a.b.photos.example", "photos.example", True),
        ("badphotos.example", "photos.example", False),
        ("photos.example", "www.photos.example", False),
        ("photos.example.net", "photos.example", False),
        ("10.0.0.1", "0.0.1", False),
    ],
)
def test_subdomains_are_covered_but_look_alikes_are_not(
    host: str, scope: str, covered: bool
) -> None:
    assert host_covered(host, scope) is covered


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Photos.Example/Jay", "https://photos.example/Jay"),
        ("https://photos.example", "https://photos.example/"),
        ("https://photos.example:443/a", "https://photos.example/a"),
        ("http://photos.example:80/a", "http://photos.example/a"),
        ("http://photos.example:8080/a", "http://photos.example:8080/a"),
        ("https://photos.example/a?b=1#top", "https://photos.example/a?b=1"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://faß.example/", "https://xn--fa-hia.example/"),
        ("https://ςa.example/", "https://xn--a-xmb.example/"),
        ("https://[::1]:8443/", "https://[::1]:8443/"),
    ],
)
def test_urls_normalise_for_exact_matching(url: str, canonical: str) -> None:
    assert parse_web_url(url).canonical() == canonical


@pytest.mark.parametrize(
    ("url", "hosts", "urls", "inside"),
    [
        ("https://photos.example/x", ("photos.example",), (), True),
        ("https://photos.example/x", (), ("https://photos.example/x",), True),
        ("https://photos.example/x", (), ("https://photos.example/x/",), False),
        ("https://photos.example/y", (), ("https://photos.example/x",), False),
        ("https://photos.example/x", ("not a host!",), ("ftp://bad",), False),
        ("https://photos.example/x", ("https://photos.example",), (), False),
        # A deviation character makes a different site from its IDNA 2003 mapping.
        ("https://faß.example/x", ("fass.example",), (), False),
        ("https://fass.example/x", ("faß.example",), (), False),
        ("https://faß.example/x", ("faß.example",), (), True),
        ("https://faß.example/x", ("xn--fa-hia.example",), (), True),
        ("https://ςa.example/x", ("σa.example",), (), False),
        ("https://σa.example/x", ("ςa.example",), (), False),
        ("https://ςa.example/x", ("ςa.example",), (), True),
        ("https://faß.example/x", (), ("https://fass.example/x",), False),
        ("https://ςa.example/x", (), ("https://σa.example/x",), False),
    ],
)
def test_url_in_scope(
    url: str, hosts: tuple[str, ...], urls: tuple[str, ...], inside: bool
) -> None:
    assert url_in_scope(parse_web_url(url), hosts, urls) is inside


@given(st.text(max_size=60))
def test_host_and_url_parsing_only_ever_raise_value_error(text: str) -> None:
    for parse in (normalise_host, parse_web_url):
        with contextlib.suppress(ValueError):
            parse(text)


# Letters on which IDNA 2003, IDNA 2008 and UTS 46 disagree or that need mapping: sharp s
# (and capital sharp s), final and capital sigma, the joiners, Kelvin sign, dotted and
# dotless i, full-width letters and dot, a symbol only IDNA 2003 allows, and Cyrillic а.
_HOST_LETTERS = "aspσςΣßẞ\u200c\u200dKİıﬀＡ．。☃а-._0-9"


@given(st.text(alphabet=st.sampled_from(list(_HOST_LETTERS)), min_size=1, max_size=20))
def test_hosts_are_converted_exactly_as_the_capture_converts_them(text: str) -> None:
    # The gate's host must be the host the capture connects to (collectors.addresses),
    # or a request approved for one site could capture another.
    url = f"https://{text}.example/x"
    try:
        fetched = parse_target(url).host.ascii
    except Refused:
        fetched = None
    try:
        gated: str | None = parse_web_url(url).host
    except ValueError:
        gated = None
    if gated is not None:
        assert gated == fetched, f"{text!r}: the gate sees {gated}, the capture {fetched}"
