"""Nothing of Caseview shows in the page; the profile keeps nothing; closing cleans up."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

from browser_site import Site
from conftest import WAIT_MS, Browser, Gate, delete_later_now
from PySide6.QtWebEngineCore import QWebEngineProfile
from pytestqt.qtbot import QtBot

from ui.browser.engine import SETTINGS, EvidenceEngine, plain_user_agent


def findings(site: Site) -> dict[str, object]:
    (report,) = [path for path in site.paths() if path.startswith("/report?")]
    found = json.loads(unquote(urlsplit(report).query))
    assert isinstance(found, dict)
    return found


def test_the_page_finds_nothing_added_to_its_world(browser: Browser, site: Site) -> None:
    browser.open(site.url("/inspect"))
    browser.qtbot.waitUntil(
        lambda: any(p.startswith("/report?") for p in site.paths()), timeout=WAIT_MS
    )

    found = findings(site)
    assert found["extra"] == []  # no global beyond a fresh window's
    assert found["qt"] == "undefined"  # no web channel
    assert found["webdriver"] is False
    assert "QtWebEngine" not in str(found["ua"])
    assert "Chrome/" in str(found["ua"])
    assert "QtWebEngine" not in str(found["brands"])
    assert found["scripts"] == 1  # the page's own, nothing added
    assert found["head"] == 3  # meta, title, script: as sent
    assert found["nodes"] == [
        "HTML:",
        "HEAD:",
        "META:charset",
        "TITLE:",
        "SCRIPT:",
        "BODY:",
        "P:id,class",
    ]


def test_no_script_or_channel_is_installed(browser: Browser) -> None:
    assert browser.engine.page.scripts().toList() == []
    assert browser.engine.profile.scripts().toList() == []
    assert browser.engine.page.webChannel() is None


def test_the_user_agent_is_chrome_without_the_qtwebengine_token() -> None:
    default = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "QtWebEngine/6.11.3 Chrome/140.0.0.0 Safari/537.36"
    )
    assert plain_user_agent(default) == (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/140.0.0.0 Safari/537.36"
    )


def test_the_profile_is_off_the_record_and_keeps_nothing(browser: Browser) -> None:
    profile = browser.engine.profile

    assert profile.isOffTheRecord()
    assert profile.storageName() == ""
    assert profile.httpCacheType() == QWebEngineProfile.HttpCacheType.MemoryHttpCache
    assert (
        profile.persistentCookiesPolicy()
        == QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
    )
    assert "QtWebEngine" not in profile.httpUserAgent()
    for attribute, on in SETTINGS.items():
        assert profile.settings().testAttribute(attribute) is on, attribute


def test_each_session_has_its_own_profile(qtbot: QtBot, gate: Gate) -> None:
    first, second = EvidenceEngine(gate), EvidenceEngine(gate)

    assert first.profile is not second.profile
    for engine in (first, second):
        engine.close()
    delete_later_now()


def test_closing_deletes_the_page_then_the_profile_then_the_scratch(
    qtbot: QtBot, gate: Gate
) -> None:
    engine = EvidenceEngine(gate)
    order: list[str] = []
    engine.page.destroyed.connect(lambda *_: order.append("page"))
    engine.profile.destroyed.connect(lambda *_: order.append("profile"))
    scratch = engine.download_dir.parent

    engine.close()
    qtbot.waitUntil(lambda: len(order) == 2, timeout=WAIT_MS)

    assert order == ["page", "profile"]
    assert not scratch.exists()
    engine.deleteLater()
    delete_later_now()
