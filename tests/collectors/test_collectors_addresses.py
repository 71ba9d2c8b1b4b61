"""Where a capture may go: schemes, credentials, host names and public addresses."""

from __future__ import annotations

import ipaddress

import pytest
from collectors_support import LOOPBACK, FakeResolver
from hypothesis import given
from hypothesis import strategies as st

from collectors import Refused, fetch
from collectors.addresses import (
    non_public_reason,
    normalise_allow_hosts,
    parse_target,
    to_ascii_host,
    to_unicode_host,
)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "'file:'"),
        ("javascript:alert(1)", "'javascript:'"),
        ("data:text/html,<script>alert(1)</script>", "'data:'"),
        ("ftp://files.example/x", "'ftp:'"),
        ("//no-scheme.example/", "no scheme"),
        ("http://user:secret@site.test/", "user name or password"),
        ("https://user@site.test/", "user name or password"),
        ("http://@site.test/", "user name or password"),
        ("http:///path-only", "no site name"),
        ("http://site.test:99999/", "cannot read"),
        ("http://site.test/\nHost: evil", "control characters"),
        ("http://bad host.test/", "control characters"),
        ("http://%31%32%37.0.0.1/", "not a valid internet name"),
    ],
)
def test_unusable_addresses_are_refused(url: str, words: str) -> None:
    with pytest.raises(Refused, match=words) as caught:
        parse_target(url)
    assert caught.value.kind == "refused"


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "javascript:alert(1)", "data:,x", "http://kerry:hunter2@site.test/"],
)
def test_fetch_refuses_without_resolving(url: str) -> None:
    resolver = FakeResolver({})
    with pytest.raises(Refused) as caught:
        fetch(url, resolver=resolver)
    assert resolver.lookups == []
    assert caught.value.attempt is not None and caught.value.attempt.requested_url == url


def test_target_is_normalised() -> None:
    target = parse_target("  HTTPS://Site.Test./a b?q=1#frag  ".replace(" b", "b"))
    assert target.url == "https://site.test/ab?q=1"
    assert target.scheme == "https" and target.port == 443
    assert target.host.ascii == target.host.unicode == "site.test"


def test_ipv6_literal_keeps_its_brackets() -> None:
    target = parse_target("http://[2001:db8::1]:8080/")
    assert target.url == "http://[2001:db8::1]:8080/"
    assert target.ip_literal == ipaddress.ip_address("2001:db8::1")


def test_idn_host_in_both_forms() -> None:
    target = parse_target("http://Bücher.example/")
    assert target.host.ascii == "xn--bcher-kva.example"
    assert target.host.unicode == "bücher.example"
    assert target.host.is_idn
    assert to_ascii_host("аpple.example") == "xn--pple-43d.example"
    assert to_unicode_host("xn--pple-43d.example") == "аpple.example"


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("169.254.1.1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not on the public internet"),
        ("240.0.0.1", "private"),
        ("192.0.2.10", "private"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a00:1", "private"),
        ("2002:a00:1::1", "private"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ],
)
def test_non_public_addresses(address: str, words: str) -> None:
    reason = non_public_reason(ipaddress.ip_address(address))
    assert reason is not None and words in reason


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.0.1", "2606:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert non_public_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "answers",
    [["10.0.0.1"], ["169.254.1.1"], ["::1"], ["8.8.8.8", "10.0.0.1"], ["192.168.0.10"]],
)
def test_private_answers_are_refused_before_connecting(
    answers: list[str], no_real_network: list[tuple[str, int]]
) -> None:
    resolver = FakeResolver({"site.test": answers})
    with pytest.raises(Refused, match="CASEVIEW_ALLOW_HOSTS"):
        fetch("http://site.test/", resolver=resolver, allow_hosts=[])
    assert resolver.lookups == ["site.test"]
    assert no_real_network == []  # no connection was attempted


def test_private_ip_literal_is_refused_without_a_lookup(
    no_real_network: list[tuple[str, int]],
) -> None:
    resolver = FakeResolver({})
    with pytest.raises(Refused, match="loopback"):
        fetch("http://127.0.0.1:9/", resolver=resolver, allow_hosts=[])
    with pytest.raises(Refused, match="private"):
        fetch("http://[::ffff:192.168.0.1]/", resolver=resolver, allow_hosts=[])
    assert resolver.lookups == [] and no_real_network == []


def test_a_refused_address_is_named_once_and_a_name_with_its_address(
    no_real_network: list[tuple[str, int]],
) -> None:
    with pytest.raises(Refused) as typed:
        fetch("http://127.0.0.1:9/", resolver=FakeResolver({}), allow_hosts=[])
    assert str(typed.value).startswith(
        "127.0.0.1 is a loopback address (this computer itself), not the public internet, "
        "so Caseview did not connect."
    )
    with pytest.raises(Refused) as named:
        fetch("http://site.test/", resolver=FakeResolver({"site.test": ["10.0.0.1"]}))
    assert str(named.value).startswith(
        "site.test is on a private network address (10.0.0.1), not the public internet"
    )


def test_resolver_garbage_is_refused() -> None:
    with pytest.raises(Refused, match="cannot check"):
        fetch("http://site.test/", resolver=FakeResolver({"site.test": ["not-an-ip"]}))


def test_allow_list_normalises_names_and_addresses() -> None:
    allowed = normalise_allow_hosts(
        [" Intranet.Local ", "аpple.example", "[::1]", "127.000.0.1".replace(".000", ".0"), ""]
    )
    assert {"intranet.local", "xn--pple-43d.example", "аpple.example", "::1"} <= allowed
    assert LOOPBACK in allowed
    assert "" not in allowed


@given(st.text(max_size=60))
def test_parse_target_never_crashes(url: str) -> None:
    try:
        target = parse_target(url)
    except Refused:
        return
    assert target.scheme in ("http", "https")
    assert target.url.startswith(f"{target.scheme}://")
    assert "@" not in target.url.split("/")[2]


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("http://site.test/pàge?q=é", "http://site.test/p%C3%A0ge?q=%C3%A9"),
        (
            "http://site.test/Страница",
            "http://site.test/%D0%A1%D1%82%D1%80%D0%B0%D0%BD%D0%B8%D1%86%D0%B0",
        ),
        ("http://site.test/already%20escaped/%61", "http://site.test/already%20escaped/a"),
        ('http://site.test/a<b>?x="y"', "http://site.test/a%3Cb%3E?x=%22y%22"),
        ("http://site.test/100%", "http://site.test/100%25"),
    ],
)
def test_the_address_kept_is_the_one_sent(typed: str, sent: str) -> None:
    """Path and query percent-encoded as they go on the wire (a valid URI for the WARC
    and the source), existing escapes kept: what is stored is what was asked for."""
    import requests

    target = parse_target(typed)
    assert target.url == sent
    prepared = requests.Session().prepare_request(requests.Request("GET", target.url))
    assert prepared.url == target.url
