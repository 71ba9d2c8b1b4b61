"""Capture of what is shown: MHTML, rendered DOM, visible text, full-page screenshot."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from browser_site import TALL_HEIGHT, Site
from conftest import WAIT_MS, Browser
from PIL import Image
from PySide6.QtGui import QColor, QImage

from collectors.mhtml import read_mhtml
from collectors.rendered import Rendered, RenderFailed
from ui.browser import grab
from ui.browser.engine import SettleWatch
from ui.browser.grab import MAX_SHOT_HEIGHT, encode_png

BLUE = (0x00, 0x50, 0xFF)


def capture(browser: Browser, **options: object) -> Rendered:
    results: list[Rendered | Exception] = []
    browser.engine.capture(browser.view, results.append, **options)  # type: ignore[arg-type]
    browser.qtbot.waitUntil(lambda: bool(results), timeout=WAIT_MS * 2)
    (result,) = results
    if isinstance(result, Exception):
        raise result
    return result


def colours(png: bytes) -> Counter[object]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    found = image.getcolors(maxcolors=1 << 24) or []
    return Counter({colour: count for count, colour in found})


def test_content_made_by_script_is_in_every_artefact(browser: Browser, site: Site) -> None:
    browser.open(site.url("/js-only"))
    rendered = capture(browser)

    assert "Made by script 4711" in rendered.dom.decode("utf-8")
    assert "Made by script 4711" in rendered.text
    assert b"Made by script 4711" in read_mhtml(rendered.mhtml).html
    assert (rendered.url, rendered.title) == (site.url("/js-only"), "Built by script")
    assert rendered.http_status == 200
    assert ("X-Test-Site", "yes") in rendered.headers
    assert rendered.started_at <= rendered.ended_at
    assert rendered.notes == ()


def test_the_screenshot_shows_the_page(browser: Browser, site: Site) -> None:
    browser.open(site.url("/js-only"))
    rendered = capture(browser)

    image = Image.open(io.BytesIO(rendered.screenshot_png))
    assert image.format == "PNG"
    assert image.size == (rendered.shot_width, rendered.shot_height) == (1280, 900)
    assert rendered.full_height == 900
    assert not rendered.screenshot_cut
    found = colours(rendered.screenshot_png)
    assert found[BLUE] >= 600 * 400 * 0.95  # the block the script drew
    assert len(found) > 2  # and text: not a blank picture


def test_a_long_page_is_cut_at_the_cap(browser: Browser, site: Site) -> None:
    browser.open(site.url("/tall"))
    rendered = capture(browser)

    image = Image.open(io.BytesIO(rendered.screenshot_png)).convert("RGB")
    assert image.size == (1280, MAX_SHOT_HEIGHT)
    assert (rendered.shot_height, rendered.full_height) == (MAX_SHOT_HEIGHT, TALL_HEIGHT)
    assert rendered.screenshot_cut
    assert "30000 pixels tall" in rendered.notes[0]
    bottom = image.getpixel((640, MAX_SHOT_HEIGHT - 1))
    assert isinstance(bottom, tuple) and bottom[2] > 100 and bottom[1] < 10  # the gradient, drawn
    assert browser.view.height() == 900  # the view is back to its size


def test_the_whole_page_is_in_the_screenshot_when_it_fits(browser: Browser, site: Site) -> None:
    browser.open(site.url("/tall"))
    rendered = capture(browser, max_height=40_000)

    image = Image.open(io.BytesIO(rendered.screenshot_png)).convert("RGB")
    assert image.size == (1280, TALL_HEIGHT)
    assert not rendered.screenshot_cut
    assert image.getpixel((640, TALL_HEIGHT - 50)) == (0, 255, 0)  # the very bottom


def test_a_page_not_on_screen_cannot_be_captured(browser: Browser, site: Site) -> None:
    browser.open(site.url("/plain"))
    browser.view.hide()

    with pytest.raises(RenderFailed, match="not on screen"):
        capture(browser)


def test_png_encoding_is_deterministic() -> None:
    image = QImage(300, 200, QImage.Format.Format_RGB32)
    image.fill(QColor("#336699"))
    image.setPixelColor(10, 10, QColor("white"))

    assert encode_png(image) == encode_png(image.copy())


def test_a_loaded_page_settles_when_the_network_is_quiet(browser: Browser, site: Site) -> None:
    browser.open(site.url("/plain"))
    watch = SettleWatch(browser.engine, deadline_s=30)

    with browser.qtbot.waitSignal(watch.settled, timeout=WAIT_MS) as settled:
        pass
    assert settled.args == [True]


def test_a_page_that_never_finishes_loading_is_captured_at_the_deadline(
    browser: Browser, site: Site
) -> None:
    browser.engine.load(site.url("/never"))
    # The deadline counts from here: from once the page is shown, however slowly the
    # browser started, so that it is the unfinished page that the deadline meets.
    browser.qtbot.waitUntil(lambda: browser.engine.has_document, timeout=WAIT_MS)
    watch = SettleWatch(browser.engine, deadline_s=2)

    with browser.qtbot.waitSignal(watch.settled, timeout=WAIT_MS) as settled:
        pass
    assert settled.args == [False]
    assert browser.engine.loading
    rendered = capture(browser, notes=["not finished"])

    assert not browser.engine.loading  # saving the MHTML stopped the load (Chromium)
    assert "Still loading." in rendered.text
    assert rendered.notes == ("not finished",)
    assert rendered.http_status == 200  # from the document's navigation timing


def test_the_png_holds_the_picture_exactly() -> None:
    image = QImage(517, 301, QImage.Format.Format_ARGB32)
    for y in range(image.height()):
        for x in range(0, image.width(), 7):
            image.setPixelColor(x, y, QColor((x * 3) % 256, (y * 5) % 256, (x + y) % 256))

    decoded = Image.open(io.BytesIO(encode_png(image))).convert("RGB")

    assert decoded.size == (517, 301)
    for x, y in [(0, 0), (7, 3), (511, 300), (14, 150)]:
        colour = image.pixelColor(x, y)
        assert decoded.getpixel((x, y)) == (colour.red(), colour.green(), colour.blue())


def test_a_png_in_many_pieces_is_one_valid_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grab, "PNG_BLOCK", 1000)  # many pieces, each flushed
    image = QImage(400, 300, QImage.Format.Format_RGB32)
    image.fill(QColor("#123456"))
    image.setPixelColor(399, 299, QColor("white"))

    decoded = Image.open(io.BytesIO(encode_png(image))).convert("RGB")

    assert decoded.getpixel((0, 0)) == (0x12, 0x34, 0x56)
    assert decoded.getpixel((399, 299)) == (255, 255, 255)
