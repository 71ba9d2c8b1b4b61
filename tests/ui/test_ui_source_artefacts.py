"""What was kept of a source (issue 12): its picture in a zoomable viewer, its kept forms
listed with their hashes, and its saved page (MHTML) replayed read-only, never reaching
the network."""

from __future__ import annotations

import hashlib
import io
import stat
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from ui_support import Boxes, Team, approved_request, tab_stops, unnamed, with_sources

from caseview import browsing, captures
from caseview.captures import Artefact, RenderedPage, SourceRecord
from ui import browser, tasks
from ui.picture_view import ZOOM_STEP
from ui.source_view import ArtefactModel, SourceDetailDialog

# QtWebEngine must be told before the QApplication exists (pytest-qt makes it for the
# first test that needs it, after every module is imported); as root it needs no sandbox.
browser.prepare_environment()

WAIT = 15_000
URL = "https://social.example/kerry"
TEXT = "Kerry posted a photo of the barbecue today."


def png(width: int, height: int) -> bytes:
    """A picture with a band at the top and bottom, so the ends can be told apart."""
    image = Image.new("RGB", (width, height), (235, 240, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, min(height, 120)), fill=(40, 90, 160))
    draw.rectangle((0, max(0, height - 120), width, height), fill=(160, 60, 40))
    for y in range(200, height - 200, 400):
        draw.rectangle((40, y, width - 40, y + 40), fill=(120, 120, 120))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# A few hundred bytes of PNG that claim 100,000 × 100,000 pixels (40 GB decoded).
BOMB = (
    b"\x89PNG\r\n\x1a\n"
    + _chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
    + _chunk(b"IDAT", zlib.compress(b"\0" * 4096))
    + _chunk(b"IEND", b"")
)


def mhtml(html: str, location: str = URL) -> bytes:
    """A page as Chromium saves it: one multipart/related part holding the HTML."""
    boundary = "----MultipartBoundary--caseviewTest----"
    head = (
        "From: <Saved by Blink>\r\n"
        f"Snapshot-Content-Location: {location}\r\n"
        "Subject: Kerry\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/related;\r\n"
        '\ttype="text/html";\r\n'
        f'\tboundary="{boundary}"\r\n\r\n\r\n'
    )
    part = (
        f"--{boundary}\r\n"
        "Content-Type: text/html\r\n"
        "Content-ID: <frame-1@mhtml.blink>\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        f"Content-Location: {location}\r\n\r\n"
        f"{html}\r\n\r\n"
        f"--{boundary}--\r\n"
    )
    return (head + part).encode()


def page_html(base: str) -> str:
    """The page as kept, full of things that would reach the server if anything loaded."""
    return (
        "<html><head><title>Kerry</title>"
        f'<meta http-equiv="refresh" content="0; url={base}/refresh">'
        f'<script src="{base}/script.js"></script>'
        f'<link rel="stylesheet" href="{base}/style.css">'
        f'<link rel="icon" href="{base}/favicon.ico">'
        f'<link rel="prefetch" href="{base}/prefetch">'
        f"<style>body {{ background: url({base}/background.png); }}</style>"
        "</head><body>"
        f"<p>{TEXT}</p>"
        f'<img src="{base}/tracker.png" alt="">'
        f'<iframe src="{base}/frame"></iframe>'
        f'<a href="{base}/away">More posts</a>'
        f'<form action="{base}/form" method="post"><input name="q"></form>'
        "</body></html>"
    )


def rendered(team: Team, *, shot: bytes, page: bytes | None = None) -> SourceRecord:
    """A page kept by the evidence browser, as ``browsing.capture`` stores it."""
    request = approved_request(team)
    dom = f"<html><head><title>Kerry</title></head><body><p>{TEXT}</p></body></html>".encode()
    with team.session("wren") as wren:
        opened = browsing.start(wren, team.case.id, request.id, team.kerry.id, URL, attested=True)
        return browsing.capture(
            wren,
            opened.id,
            RenderedPage(
                url=URL,
                title="Kerry",
                text=TEXT,
                dom=dom,
                mhtml=page if page is not None else mhtml(page_html("http://127.0.0.1:9")),
                screenshot_png=shot,
                shot_width=1280,
                shot_height=800,
                full_height=800,
                screenshot_cut=False,
                http_status=200,
                headers=(("content-type", "text/html"),),
                started_at=wren.now(),
                ended_at=wren.now(),
            ),
        )


def open_view(qtbot: QtBot, team: Team, source_id: int) -> SourceDetailDialog:
    view = SourceDetailDialog(None, team.who("wren"), source_id)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(
        lambda: view.detail is not None and view.kept is not None and tasks.running() == 0,
        timeout=WAIT,
    )
    return view


def picture_of(qtbot: QtBot, team: Team, source_id: int) -> SourceDetailDialog:
    """The source's view, on its picture, once the picture (or a message) is shown."""
    view = open_view(qtbot, team, source_id)
    with qtbot.waitSignal(view.picture.picture_shown, timeout=WAIT):
        view.show_picture_tab()
    scroller = view.picture.scroller

    def settled() -> bool:  # the layout: the scroll bar a tall picture needs has come up
        tall = view.picture.canvas.height() > scroller.viewport().height()
        return scroller.verticalScrollBar().isVisible() == tall

    qtbot.waitUntil(settled, timeout=WAIT)
    return view


# --- the picture ---------------------------------------------------------------------


def test_a_rendered_capture_shows_its_picture_fitted_to_the_width(qtbot: QtBot, team: Team) -> None:
    source = rendered(team, shot=png(1280, 3000))
    view = picture_of(qtbot, team, source.id)
    picture = view.picture
    assert picture.has_picture() and picture.fitted
    shot = picture.canvas.grab()
    assert not shot.isNull()
    assert shot.width() / shot.height() == pytest.approx(1280 / 3000, rel=0.01)
    viewport = picture.scroller.viewport().width()
    assert viewport - 2 <= shot.width() <= viewport  # the width, filled
    assert picture.scale == pytest.approx(shot.width() / 1280, rel=0.01)
    assert "1,280 × 3,000 pixels" in picture.scale_label.text()
    assert "evidence browser showed it" in view.picture_note.text()


def test_the_zoom_keys_change_the_scale(qtbot: QtBot, team: Team) -> None:
    source = rendered(team, shot=png(1280, 3000))
    view = picture_of(qtbot, team, source.id)
    picture = view.picture
    view.activateWindow()
    picture.scroller.setFocus()
    qtbot.waitUntil(picture.scroller.hasFocus, timeout=WAIT)
    fitted = picture.scale
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(picture.scroller, Qt.Key.Key_Plus, ctrl)
    assert picture.scale == pytest.approx(fitted * ZOOM_STEP)
    assert not picture.fitted
    qtbot.keyClick(picture.scroller, Qt.Key.Key_Equal, ctrl)  # the + key without Shift
    assert picture.scale == pytest.approx(fitted * ZOOM_STEP**2)
    qtbot.keyClick(picture.scroller, Qt.Key.Key_Minus, ctrl)
    assert picture.scale == pytest.approx(fitted * ZOOM_STEP)
    qtbot.keyClick(picture.scroller, Qt.Key.Key_0, ctrl)
    assert picture.fitted and picture.scale == pytest.approx(fitted)
    assert picture.canvas.grab().width() == round(1280 * fitted)


def test_ctrl_and_the_wheel_zoom_and_the_wheel_alone_scrolls(qtbot: QtBot, team: Team) -> None:
    source = rendered(team, shot=png(1280, 3000))
    view = picture_of(qtbot, team, source.id)
    picture = view.picture
    fitted = picture.scale

    def wheel(modifiers: Qt.KeyboardModifier, delta: int = 120) -> None:
        event = QWheelEvent(
            QPointF(50, 50),
            QPointF(picture.scroller.viewport().mapToGlobal(QPoint(50, 50))),
            QPoint(0, 0),
            QPoint(0, delta),
            Qt.MouseButton.NoButton,
            modifiers,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(picture.scroller.viewport(), event)

    wheel(Qt.KeyboardModifier.ControlModifier)
    assert picture.scale == pytest.approx(fitted * ZOOM_STEP)
    wheel(Qt.KeyboardModifier.ControlModifier, -120)
    assert picture.scale == pytest.approx(fitted)
    bar = picture.scroller.verticalScrollBar()
    wheel(Qt.KeyboardModifier.NoModifier, -120)
    assert picture.scale == pytest.approx(fitted)
    assert bar.value() > 0  # scrolled down, not zoomed


def test_the_picture_is_reached_and_named_for_the_keyboard(qtbot: QtBot, team: Team) -> None:
    source = rendered(team, shot=png(1280, 3000))
    view = picture_of(qtbot, team, source.id)
    picture = view.picture
    assert picture.scroller.accessibleName() == "Picture of the source as kept"
    assert "1280 by 3000 pixels" in picture.scroller.accessibleDescription()
    assert picture.scroller.focusPolicy() & Qt.FocusPolicy.TabFocus
    for button in picture.buttons:
        assert button.accessibleName() and button.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert "Ctrl++" in picture.zoom_in_action.toolTip()
    assert unnamed(picture) == []
    stops = tab_stops(picture.buttons[0])
    assert stops[: stops.index("pictureScroller") + 1] == [
        "zoomOutButton",
        "zoomInButton",
        "fitWidthButton",
        "actualSizeButton",
        "pictureScroller",
    ]
    picture.scroller.setFocus()
    qtbot.keyClick(picture.scroller, Qt.Key.Key_End)
    bar = picture.scroller.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0
    qtbot.keyClick(picture.scroller, Qt.Key.Key_Home)
    assert bar.value() == 0


def test_a_very_tall_picture_shows_without_freezing(qtbot: QtBot, team: Team) -> None:
    source = rendered(team, shot=png(1280, 16_384))
    view = open_view(qtbot, team, source.id)
    started = time.perf_counter()
    with qtbot.waitSignal(view.picture.picture_shown, timeout=WAIT) as shown:
        view.show_picture_tab()
        blocked = time.perf_counter() - started  # the GUI thread's share: not the decoding
    assert shown.args == [True]
    assert blocked < 0.2
    picture = view.picture
    bar = picture.scroller.verticalScrollBar()
    started = time.perf_counter()
    for _ in range(5):  # paint the visible part, then the end of the page
        picture.scroller.viewport().grab()
        bar.setValue(bar.maximum())
        picture.scroller.viewport().grab()
        bar.setValue(0)
    assert time.perf_counter() - started < 2.0
    assert picture.canvas.height() / picture.canvas.width() == pytest.approx(16_384 / 1280, 0.01)


@pytest.mark.parametrize(
    ("shot", "says"),
    [
        pytest.param(png(800, 600)[:400], "cut short or damaged", id="truncated PNG"),
        pytest.param(BOMB, "100,000 × 100,000 pixels, too large", id="bomb dimensions"),
        pytest.param(b"<html>not a picture</html>", "not a picture", id="not a picture"),
    ],
)
def test_a_hostile_picture_shows_a_message_not_a_crash(
    qtbot: QtBot, team: Team, boxes: Boxes, shot: bytes, says: str
) -> None:
    source = rendered(team, shot=shot)
    view = open_view(qtbot, team, source.id)
    with qtbot.waitSignal(view.picture.picture_shown, timeout=WAIT) as shown:
        view.show_picture_tab()
    assert shown.args == [False]
    picture = view.picture
    assert not picture.has_picture()
    assert says in picture.message.text()
    assert "What was kept is unchanged" in picture.message.text()
    assert picture.message.isVisible()
    assert not picture.zoom_in_action.isEnabled()
    assert boxes.crashes == [] and boxes.errors == []


def test_an_imported_picture_is_shown(qtbot: QtBot, team: Team) -> None:
    request = approved_request(team)
    with team.session("wren") as wren:
        source = captures.import_file(
            wren,
            team.case.id,
            png(640, 480),
            url=URL,
            viewed_at=wren.now() - timedelta(hours=1),
            justification_id=request.id,
            subject_id=team.kerry.id,
            origin="family",
            supplied_by="maternal grandmother",
            filename="barbecue.png",
            attested=True,
        )
    view = picture_of(qtbot, team, source.id)
    assert view.picture.has_picture()
    assert view.picture.image_size.width() == 640
    assert "as it was imported" in view.picture_note.text()
    assert not view.replay_button.isEnabled()


def test_an_imported_page_has_no_picture_and_no_saved_page(qtbot: QtBot, team: Team) -> None:
    [source] = with_sources(team, ("Beach day",))
    view = open_view(qtbot, team, source.id)
    assert not view.tabs.isTabVisible(view.tabs.indexOf(view.picture_tab))
    assert not view.replay_button.isEnabled()
    assert "has a saved page" in view.replay_button.toolTip()
    assert [a.kind for a in view.artefacts.rows] == ["file"]


# --- the kept forms ------------------------------------------------------------------


def test_the_kept_forms_are_listed_with_their_hashes(qtbot: QtBot, team: Team) -> None:
    shot = png(1280, 800)
    source = rendered(team, shot=shot)
    view = open_view(qtbot, team, source.id)
    model = view.artefacts
    rows = {
        model.index(r, ArtefactModel.KIND).data(): [
            model.index(r, c).data() for c in range(model.columnCount())
        ]
        for r in range(model.rowCount())
    }
    assert set(rows) == {"Saved page (MHTML)", "Page as rendered (HTML)", "Picture"}
    assert rows["Picture"] == [
        "Picture",
        "image/png",
        f"{len(shot):,} bytes",
        hashlib.sha256(shot).hexdigest(),
    ]
    assert view.replay_button.isEnabled()


def test_the_artefact_model_is_sound(qtmodeltester: ModelTester) -> None:
    model = ArtefactModel()
    model.set_rows(
        [
            Artefact("mhtml", "ab" * 32, 2048, "multipart/related"),
            Artefact("screenshot", "cd" * 32, 10, "image/png", {"cut": False}),
            Artefact("something_new", "ef" * 32, 0, "application/octet-stream"),
        ]
    )
    qtmodeltester.check(model)
    assert model.index(0, ArtefactModel.SIZE).data() == "2,048 bytes"
    assert model.index(2, ArtefactModel.KIND).data() == "something_new"


# --- the saved page, replayed --------------------------------------------------------


@dataclass
class Server:
    """A web server on 127.0.0.1 that notes every connection and every request."""

    base: str
    connections: list[tuple[str, int]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@contextmanager
def watching_server() -> Iterator[Server]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def handle_one_request(self) -> None:
            super().handle_one_request()
            if self.requestline:
                seen.append(self.requestline)

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_HEAD = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test asserts on what arrived."""

    class Watched(ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request: Any, client_address: Any) -> bool:
            record.connections.append(client_address)
            return True

    server = Watched(("127.0.0.1", 0), Handler)
    record = Server(f"http://127.0.0.1:{server.server_address[1]}", requests=seen)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()


def replay_of(qtbot: QtBot, view: SourceDetailDialog) -> Any:
    with qtbot.waitSignal(view.replay_opened, timeout=WAIT):
        qtbot.mouseClick(view.replay_button, Qt.MouseButton.LeftButton)
    replay = view.replays[-1]
    qtbot.waitUntil(lambda: replay.loaded is not None, timeout=WAIT)
    return replay


def text_of(qtbot: QtBot, replay: Any) -> str:
    got: list[str] = []
    replay.page.toPlainText(got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=WAIT)
    return got[0]


def test_a_replay_shows_the_stored_page_and_reaches_no_server(qtbot: QtBot, team: Team) -> None:
    with watching_server() as server:
        source = rendered(team, shot=png(400, 300), page=mhtml(page_html(server.base)))
        view = open_view(qtbot, team, source.id)
        replay = replay_of(qtbot, view)
        assert replay.loaded is True
        assert TEXT in text_of(qtbot, replay)
        replay.page.load(QUrl(f"{server.base}/typed"))  # as if an address were typed
        qtbot.waitUntil(lambda: f"{server.base}/typed" in replay.page.refused, timeout=WAIT)
        qtbot.wait(1_000)  # time for a refresh, a frame, an image or a prefetch to go out
        assert replay.page.url() == replay.file_url
        assert server.connections == [] and server.requests == []
    assert f"{server.base}/typed" in replay.page.refused
    assert replay.windowTitle() == "Kerry (saved page, read-only)"
    assert "Nothing is fetched from the internet" in replay.note.text()


def test_the_replay_is_sealed_off(qtbot: QtBot, team: Team) -> None:
    from PySide6.QtWebEngineCore import QWebEngineSettings

    source = rendered(team, shot=png(400, 300))
    replay = replay_of(qtbot, open_view(qtbot, team, source.id))
    assert replay.profile.isOffTheRecord()
    assert replay.page.profile() is replay.profile
    settings = replay.page.settings()
    for attribute in (
        QWebEngineSettings.WebAttribute.JavascriptEnabled,
        QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls,
        QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls,
        QWebEngineSettings.WebAttribute.AutoLoadIconsForPage,
    ):
        assert not settings.testAttribute(attribute)
    assert replay.page.createWindow(replay.page.WebWindowType.WebBrowserTab) is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("THE FILE", True),
        ("THE FILE#comments", True),
        ("data:image/png;base64,iVBORw0KGgo=", True),
        ("THE FILE?x=1", False),
        ("file:///etc/passwd", False),
        ("http://127.0.0.1:8000/tracker.png", False),
        ("https://social.example/kerry", False),
        ("ws://127.0.0.1:8000/socket", False),
        ("wss://social.example/socket", False),
        ("ftp://social.example/file", False),
        ("blob:https://social.example/0000", False),
        ("cid:frame-1@mhtml.blink", False),
        ("qrc:/anything", False),
    ],
)
def test_the_seal_lets_through_only_the_file_and_data(
    qtbot: QtBot, team: Team, url: str, allowed: bool
) -> None:
    source = rendered(team, shot=png(400, 300))
    replay = replay_of(qtbot, open_view(qtbot, team, source.id))
    target = QUrl(url.replace("THE FILE", replay.file_url.toString()))

    class Request:
        """What the interceptor reads of a request, and what it decides."""

        blocked: bool | None = None

        def requestUrl(self) -> QUrl:
            return target

        def block(self, shouldBlock: bool) -> None:
            self.blocked = shouldBlock

    request = Request()
    replay.seal.interceptRequest(request)
    assert request.blocked is (None if allowed else True)
    navigates = replay.page.acceptNavigationRequest(
        target, replay.page.NavigationType.NavigationTypeLinkClicked, True
    )
    assert navigates is (allowed and not url.startswith("data:"))


def test_the_private_copy_is_private_and_removed_on_close(qtbot: QtBot, team: Team) -> None:
    source = rendered(team, shot=png(400, 300))
    view = open_view(qtbot, team, source.id)
    replay = replay_of(qtbot, view)
    folder, path = Path(replay.folder.name), replay.path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with team.session("wren") as wren:
        assert path.read_bytes() == captures.artefact_bytes(wren, source.id, "mhtml")
    view.close()  # the source's saved pages close with it
    assert not folder.exists()
    assert view.replays == [] or not view.replays[0].isVisible()


def test_escape_closes_the_replay_and_removes_its_copy(qtbot: QtBot, team: Team) -> None:
    source = rendered(team, shot=png(400, 300))
    view = open_view(qtbot, team, source.id)
    replay = replay_of(qtbot, view)
    folder = Path(replay.folder.name)
    replay.activateWindow()
    qtbot.waitUntil(replay.isActiveWindow, timeout=WAIT)
    qtbot.keyClick(replay, Qt.Key.Key_Escape)
    assert not replay.isVisible()
    assert not folder.exists()
    assert view.isVisible()  # the source stays open


def test_a_page_that_is_not_mhtml_says_so(qtbot: QtBot, team: Team) -> None:
    broken = b"MIME-Version: 1.0\r\nContent-Type: multipart/related\r\n\r\n<p>no parts</p>"
    source = rendered(team, shot=png(400, 300), page=broken)
    replay = replay_of(qtbot, open_view(qtbot, team, source.id))
    qtbot.waitUntil(lambda: "not an MHTML archive" in replay.note.text(), timeout=WAIT)
