"""Only GET and HEAD leave the evidence browser; every request is logged."""

from __future__ import annotations

import pytest
from browser_site import Site
from conftest import WAIT_MS, Browser
from PySide6.QtCore import QUrl

from ui.browser.engine import FORM_REFUSED, address_refusal, resource_type_name


def test_posts_made_by_a_page_are_blocked_and_reported(browser: Browser, site: Site) -> None:
    browser.open(site.url("/posts"))
    blocked = browser.wait_blocked("request", count=3)
    browser.wait_blocked("form")

    assert {url.rsplit("/", 1)[1] for _, url, _ in blocked} == {"collect", "beacon", "put"}
    logged = {r.url.rsplit("/", 1)[1]: r for r in browser.engine.requests() if r.blocked}
    assert logged["collect"].method == "POST"
    assert logged["put"].method == "PUT"
    assert "POST request was not sent" in (logged["collect"].reason or "")
    assert site.methods() == {"GET"}


def test_posts_from_workers_are_blocked_too(browser: Browser, site: Site) -> None:
    browser.open(site.url("/workers"))
    blocked = browser.wait_blocked("request", count=2)

    assert {url.rsplit("/", 1)[1] for _, url, _ in blocked} == {
        "from-worker",
        "from-service-worker",
    }
    assert site.methods() == {"GET"}


def test_an_auto_submitting_form_is_refused_and_the_page_stays(
    browser: Browser, site: Site
) -> None:
    browser.open(site.url("/posts"))
    browser.wait_blocked("form")

    assert browser.refused == [(site.url("/submit"), "form", FORM_REFUSED)]
    assert browser.engine.page.url().toString() == site.url("/posts")
    assert "/submit" not in site.paths()


def test_a_sign_in_form_is_refused_and_no_password_leaves(browser: Browser, site: Site) -> None:
    browser.open(site.url("/sign-in"))
    (form,) = browser.wait_blocked("form")

    assert form[2] == FORM_REFUSED
    assert site.methods() == {"GET"}
    assert not any("hunter2" in path for path in site.paths())


def test_a_get_form_is_refused_too(browser: Browser, site: Site) -> None:
    browser.open(site.url("/get-form"))
    browser.wait_blocked("form")

    assert not any("q=kerry" in path for path in site.paths())
    assert browser.engine.page.url().toString() == site.url("/get-form")


def test_private_addresses_are_blocked_unless_allowed(browser: Browser, site: Site) -> None:
    browser.open(site.url("/private"))
    blocked = browser.wait_blocked("address", count=7)

    hosts = {QUrl(url).host() for _, url, _ in blocked}
    assert hosts == {"localhost", "127.0.0.2", "::1", "169.254.169.254", "10.1.2.3", "192.168.0.1"}
    assert "CASEVIEW_ALLOW_HOSTS" in blocked[0][2]
    browser.qtbot.waitUntil(lambda: "/pixel.png?via=allowed" in site.paths(), timeout=WAIT_MS)
    assert "/pixel.png?via=localhost" not in site.paths()


def test_every_request_is_logged_with_its_status(browser: Browser, site: Site) -> None:
    browser.open(site.url("/statuses"))
    done: list[bool] = []
    browser.engine.collect_statuses(lambda: done.append(True))
    browser.qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)

    seen = {r.url.rsplit("/", 1)[1]: r for r in browser.engine.requests()}
    assert (seen["statuses"].resource_type, seen["statuses"].status) == ("main_frame", 200)
    assert (seen["pixel.png"].resource_type, seen["pixel.png"].status) == ("image", 200)
    assert (seen["missing.png"].resource_type, seen["missing.png"].status) == ("image", 404)
    assert (seen["script.js"].resource_type, seen["script.js"].status) == ("script", 200)
    assert all(r.method == "GET" and not r.blocked for r in seen.values())
    assert all(r.at.tzinfo is not None for r in seen.values())


def test_each_request_is_reported_as_it_happens(browser: Browser, site: Site) -> None:
    heard: list[str] = []
    browser.engine.request_seen.connect(lambda seen: heard.append(seen.url))
    browser.open(site.url("/statuses"))
    browser.qtbot.waitUntil(lambda: len(heard) >= 4, timeout=WAIT_MS)

    assert heard[0] == site.url("/statuses")


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1/x", False),  # allowed below
        ("http://127.0.0.2/x", True),
        ("http://localhost:8080/x", True),
        ("http://app.localhost/x", True),
        ("https://[::1]/x", True),
        ("ws://10.0.0.5/socket", True),
        ("http://169.254.169.254/latest/meta-data", True),
        ("http://[::ffff:192.168.1.1]/x", True),
        ("file:///etc/passwd", True),
        ("https://example.org/x", False),
        ("https://93.184.216.34/x", False),
        ("data:text/plain,hello", False),
    ],
)
def test_address_refusal(url: str, refused: bool) -> None:
    assert (address_refusal(QUrl(url), frozenset({"127.0.0.1"})) is not None) is refused


def test_an_allowed_name_is_not_refused() -> None:
    assert address_refusal(QUrl("http://localhost/x"), frozenset({"localhost"})) is None


def test_resource_type_names() -> None:
    from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo

    kinds = QWebEngineUrlRequestInfo.ResourceType
    assert resource_type_name(kinds.ResourceTypeMainFrame) == "main_frame"
    assert resource_type_name(kinds.ResourceTypeXhr) == "xhr"
    assert resource_type_name(kinds.ResourceTypeFontResource) == "font_resource"
