"""Every top-level navigation goes through the gate; every page shown is logged."""

from __future__ import annotations

import hashlib

from browser_site import Site
from conftest import REFUSAL, WAIT_MS, Browser, Gate
from PySide6.QtWebEngineCore import QWebEnginePage


def html_now(browser: Browser) -> str:
    found: list[str] = []
    browser.engine.page.toHtml(found.append)
    browser.qtbot.waitUntil(lambda: bool(found), timeout=WAIT_MS)
    return found[0]


def test_a_typed_address_is_put_to_the_gate_and_logged(
    browser: Browser, site: Site, gate: Gate
) -> None:
    shown = browser.open(site.url("/plain"))

    assert gate.asked == [(site.url("/plain"), "typed")]
    assert (shown.url, shown.title, shown.how) == (site.url("/plain"), "Plain page", "load")
    assert shown.http_status == 200
    assert ("X-Test-Site", "yes") in shown.headers
    assert shown.at.tzinfo is not None


def test_the_document_hash_is_of_the_html_the_browser_holds(browser: Browser, site: Site) -> None:
    shown = browser.open(site.url("/plain"))

    assert shown.document_sha256 == hashlib.sha256(html_now(browser).encode()).hexdigest()


def test_a_refused_address_is_not_opened_and_the_page_stays(
    browser: Browser, site: Site, gate: Gate
) -> None:
    browser.open(site.url("/plain"))
    browser.engine.load(site.url("/out-of-scope"))

    assert browser.refused == [(site.url("/out-of-scope"), "typed", REFUSAL)]
    assert browser.engine.page.url().toString() == site.url("/plain")
    assert "/out-of-scope" not in site.paths()


def test_a_redirect_is_put_to_the_gate(browser: Browser, site: Site, gate: Gate) -> None:
    shown = browser.open(site.url("/redirect"))

    assert gate.asked == [(site.url("/redirect"), "typed"), (site.url("/landing"), "redirect")]
    assert shown.url == site.url("/landing")
    main = [r.url for r in browser.engine.requests() if r.resource_type == "main_frame"]
    assert main == [site.url("/redirect"), site.url("/landing")]


def test_a_redirect_out_of_scope_is_refused(browser: Browser, site: Site) -> None:
    browser.engine.load(site.url("/redirect-out"))
    browser.qtbot.waitUntil(lambda: bool(browser.refused), timeout=WAIT_MS)

    assert browser.refused == [(site.url("/out-of-scope"), "redirect", REFUSAL)]
    assert "/out-of-scope" not in site.paths()
    assert browser.engine.pages() == ()


def test_a_link_out_of_scope_is_refused_and_the_page_stays(
    browser: Browser, site: Site, gate: Gate
) -> None:
    browser.open(site.url("/landing"))
    browser.click("out")
    browser.qtbot.waitUntil(lambda: bool(browser.refused), timeout=WAIT_MS)

    assert browser.refused == [(site.url("/out-of-scope"), "link", REFUSAL)]
    assert browser.engine.refusals()[0].message == REFUSAL
    assert browser.engine.page.url().toString() == site.url("/landing")
    assert "/out-of-scope" not in site.paths()
    assert len(browser.engine.pages()) == 1


def test_a_link_in_scope_is_followed(browser: Browser, site: Site, gate: Gate) -> None:
    browser.open(site.url("/landing"))
    browser.click("in")
    browser.qtbot.waitUntil(lambda: len(browser.engine.pages()) == 2, timeout=WAIT_MS)

    assert gate.asked[-1] == (site.url("/plain"), "link")
    assert browser.engine.pages()[-1].url == site.url("/plain")


def test_back_and_reload_are_put_to_the_gate(browser: Browser, site: Site, gate: Gate) -> None:
    browser.open(site.url("/plain"))
    browser.open(site.url("/landing"))
    page = browser.engine.page

    page.triggerAction(QWebEnginePage.WebAction.Back)
    browser.qtbot.waitUntil(lambda: len(browser.engine.pages()) == 3, timeout=WAIT_MS)
    page.triggerAction(QWebEnginePage.WebAction.Reload)
    browser.qtbot.waitUntil(lambda: len(browser.engine.pages()) == 4, timeout=WAIT_MS)

    assert gate.asked[2:] == [(site.url("/plain"), "back_forward"), (site.url("/plain"), "reload")]


def test_address_changes_of_a_single_page_app_are_logged(
    browser: Browser, site: Site, gate: Gate
) -> None:
    browser.open(site.url("/spa"))
    browser.qtbot.waitUntil(lambda: len(browser.engine.pages()) == 4, timeout=WAIT_MS)

    pages = browser.engine.pages()
    assert [(p.url, p.how) for p in pages] == [
        (site.url("/spa"), "load"),
        (site.url("/spa/one"), "same_document"),
        (site.url("/spa/two"), "same_document"),
        (site.url("/spa/three"), "same_document"),
    ]
    assert all(p.http_status == 200 and p.headers == pages[0].headers for p in pages)
    assert gate.asked == [(site.url("/spa"), "typed")]


def test_an_error_page_the_site_sent_is_shown_with_its_status(browser: Browser, site: Site) -> None:
    shown = browser.open(site.url("/no-such-page"))

    assert (shown.http_status, shown.title) == (404, "Not here")


def test_a_site_that_cannot_be_reached_is_reported(browser: Browser, site: Site) -> None:
    failed: list[tuple[str, str]] = []
    browser.engine.load_failed.connect(lambda url, why: failed.append((url, why)))
    browser.engine.load("http://127.0.0.1:9/")
    browser.qtbot.waitUntil(lambda: bool(failed), timeout=WAIT_MS)

    assert failed[0][0] == "http://127.0.0.1:9/"
    assert browser.engine.pages() == ()
