"""What the page is refused: windows, permissions, the clipboard, downloads, dialogs."""

from __future__ import annotations

from browser_site import Site
from conftest import REFUSAL, WAIT_MS, Browser, Gate
from PySide6.QtNetwork import QAuthenticator
from PySide6.QtWidgets import QApplication

from ui.browser.engine import POPUP_DETAIL, null_authenticator


def test_window_open_becomes_a_navigation_of_the_same_page(
    browser: Browser, site: Site, gate: Gate
) -> None:
    windows = len(QApplication.topLevelWidgets())
    browser.engine.load(site.url("/popup"))
    browser.qtbot.waitUntil(
        lambda: site.url("/landing") in [p.url for p in browser.engine.pages()], timeout=WAIT_MS
    )

    assert gate.asked == [(site.url("/popup"), "typed"), (site.url("/landing"), "popup")]
    assert browser.engine.page.url().toString() == site.url("/landing")
    assert ("popup", site.url("/landing"), POPUP_DETAIL) in browser.blocked
    assert len(QApplication.topLevelWidgets()) == windows


def test_a_target_blank_link_opens_in_the_same_page(
    browser: Browser, site: Site, gate: Gate
) -> None:
    browser.open(site.url("/blank-link"))
    browser.click("blank")
    browser.qtbot.waitUntil(lambda: len(browser.engine.pages()) == 2, timeout=WAIT_MS)

    assert gate.asked[-1] == (site.url("/plain"), "popup")
    assert browser.engine.page.url().toString() == site.url("/plain")


def test_a_pop_up_out_of_scope_is_refused(browser: Browser, site: Site) -> None:
    browser.open(site.url("/popup-out"))
    browser.qtbot.waitUntil(lambda: bool(browser.refused), timeout=WAIT_MS)

    assert browser.refused == [(site.url("/out-of-scope"), "popup", REFUSAL)]
    assert browser.engine.page.url().toString() == site.url("/popup-out")
    assert "/out-of-scope" not in site.paths()


def test_permissions_are_denied(browser: Browser, site: Site) -> None:
    browser.open(site.url("/permissions"))
    browser.qtbot.waitUntil(
        lambda: browser.engine.page.title() == "geo:1 notify:denied", timeout=WAIT_MS
    )

    details = sorted(detail for _, _, detail in browser.wait_blocked("permission", count=2))
    assert details == ["Geolocation was refused.", "Notifications was refused."]


def test_the_clipboard_cannot_be_read(browser: Browser, site: Site) -> None:
    browser.open(site.url("/clipboard"))
    browser.qtbot.waitUntil(
        lambda: browser.engine.page.title().startswith("clipboard:"), timeout=WAIT_MS
    )

    assert browser.engine.page.title() == "clipboard:NotAllowedError"


def test_downloads_are_cancelled_and_reported(browser: Browser, site: Site) -> None:
    browser.open(site.url("/download"))
    # One after the other, as a person clicks: a second click while the first link's
    # navigation is still pending can be dropped by Chromium before it is a download.
    browser.click("file")
    browser.wait_blocked("download", count=1)
    browser.click("attr")
    downloads = browser.wait_blocked("download", count=2)

    assert sorted((url, name) for _, url, name in downloads) == [
        (site.url("/file"), "report.bin"),
        (site.url("/pixel.png"), "x.png"),
    ]
    assert list(browser.engine.download_dir.iterdir()) == []
    assert browser.engine.page.url().toString() == site.url("/download")


def test_dialogs_are_reported_and_answered_cancel(browser: Browser, site: Site) -> None:
    browser.open(site.url("/dialogs"))
    dialogs = browser.wait_blocked("dialog", count=3)

    assert [detail for _, _, detail in dialogs] == [
        "alert: hello",
        "confirm: sure?",
        "prompt: name?",
    ]
    assert browser.engine.page.title() == "after false null"


def test_http_sign_in_is_refused(browser: Browser, site: Site) -> None:
    shown = browser.open(site.url("/basic"))
    (sign_in,) = browser.wait_blocked("sign_in")

    assert sign_in[1] == site.url("/basic")
    assert "never signs in" in sign_in[2]
    assert shown.http_status == 401  # the site's own answer, shown as it came
    assert site.paths().count("/basic") == 1  # not asked again with empty credentials


def test_an_authenticator_can_be_made_null() -> None:
    authenticator = QAuthenticator()
    authenticator.setRealm("private")

    assert null_authenticator(authenticator)
    assert authenticator.isNull()
