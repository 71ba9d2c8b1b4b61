"""Capture what the evidence browser shows, as :class:`~collectors.rendered.Rendered`.

:func:`capture` takes a shown ``QWebEngineView`` (the window's, or the headless child's
offscreen one) and calls ``done`` once, on the GUI thread, with a ``Rendered`` or an
exception (:class:`~collectors.rendered.RenderFailed`). Four artefacts, started together
so that Chromium works on them at the same time:

- ``mhtml``: ``QWebEnginePage.save(path, MimeHtmlSaveFormat)`` into a private temporary
  directory (0700), read back and deleted; Qt offers no way to get the bytes directly.
  The engine's download guard lets exactly this save through (:func:`is_own_save`).
  Saving stops a page that is still loading (Chromium does that): what was still on its
  way is not part of the capture.
- ``dom``: ``toHtml()``, the document as the browser holds it, UTF-8.
- ``text``: ``document.body.innerText`` read in Qt's isolated ``ApplicationWorld`` (the
  page's own scripts cannot see or change it), with the page's height and the
  document's HTTP status from its Navigation Timing entry.
- ``screenshot_png``: the full page. See :class:`_Screenshot` for how it knows that
  Chromium has drawn the page at full height before it grabs. A page taller than
  ``max_height`` pixels (default :data:`MAX_SHOT_HEIGHT`) is cut there:
  ``screenshot_cut`` is True and ``full_height`` records the whole height. The PNG is
  encoded off the GUI thread (``ui.tasks``, :func:`encode_png`), deterministically: the
  same picture always gives the same bytes.

Heights and widths are the PNG's pixels (the view's size times the screen's device pixel
ratio, 1 offscreen). Resizing a page to its full height is what makes the whole page
visible, but a page can notice it (``resize`` events, lazy images that start loading);
that is the price of a full-page picture, and the DOM, text and MHTML are asked for
before the resize. A page that scrolls inside its own box (``overflow: auto`` on a
container) has no height beyond the window: its screenshot shows the window's worth.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QElapsedTimer,
    QEvent,
    QObject,
    QRect,
    QSize,
    Qt,
    QTimer,
    QUrl,
)
from PySide6.QtGui import QColor, QImage
from PySide6.QtQuick import QQuickWindow
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWebEngineCore import QWebEngineDownloadRequest, QWebEngineScript
from PySide6.QtWebEngineWidgets import QWebEngineView

from collectors.rendered import DEFAULT_MAX_HEIGHT, Rendered, RenderFailed, now_utc
from ui import tasks

logger = logging.getLogger(__name__)

__all__ = ["MAX_SHOT_HEIGHT", "Capture", "Rendered", "capture", "encode_png", "is_own_save"]

MAX_SHOT_HEIGHT = DEFAULT_MAX_HEIGHT
"""Screenshots are cut at this height (pixels): see ``collectors.rendered``."""
PNG_LEVEL = 1
"""zlib level 1: screenshots are mostly flat colour, which level 1 already packs well;
higher levels cost several times the time for a few per cent."""
PNG_BLOCK = 4 * 1024 * 1024
"""Raw bytes deflated per piece (fixed, so that the output never depends on threads)."""
_IDAT_SIZE = 1024 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CAPTURE_TIMEOUT_MS = 60_000
FIRST_PAINT_WAIT_MS = 2_000
"""How long a page that has just loaded may take to show its first frame."""
FRAME_QUIET_MS = 50
"""No new frame for this long: the picture on screen is the page as it is."""
FRAME_WAIT_MS = 5_000
"""The longest wait for the full-height frame (a page that animates for ever)."""
RASTER_QUIET_BASE_MS = 100
RASTER_MS_PER_MEGAPIXEL = 40
"""When the bottom of the full-height frame is plain background, it cannot tell a
finished picture from one Chromium is still drawing: the capture then waits until no
new frame came for ``RASTER_QUIET_BASE_MS`` plus this much per million new pixels
(Chromium draws about 35 million pixels a second in software on a modest machine)."""
_PROBE_ROWS = 256  # Chromium draws in tiles of 256 pixels: the bottom row of tiles
_SENTINEL = QColor("#ff00fe")  # where no frame covers the view yet, during a capture
_POLL_MS = 10
_APPLICATION_WORLD = QWebEngineScript.ScriptWorldId.ApplicationWorld.value
_MHTML = QWebEngineDownloadRequest.SavePageFormat.MimeHtmlSaveFormat
_FACTS_SCRIPT = """(function () {
  var d = document.documentElement, b = document.body;
  var nav = performance.getEntriesByType('navigation')[0];
  var style = function (e) { return e ? getComputedStyle(e).backgroundColor : ''; };
  return JSON.stringify({
    text: b ? b.innerText : (d ? d.innerText : ''),
    height: Math.max(d ? d.scrollHeight : 0, b ? b.scrollHeight : 0),
    status: nav && nav.responseStatus ? nav.responseStatus : 0,
    painted: performance.getEntriesByType('paint').length > 0,
    background: [style(d), style(b)]
  });
})()"""
_PAINTED_SCRIPT = "performance.getEntriesByType('paint').length > 0"
# Once the view is full height: does something that paints (a picture, a background of
# its own) lie in the bottom row of tiles? Then a plain bottom has not been drawn yet.
# Text is not looked for: an element holding text may still paint nothing there.
_BOTTOM_SCRIPT = """(function (page) {
  var w = window.innerWidth, h = window.innerHeight;
  var media = /^(IMG|VIDEO|CANVAS|SVG|IFRAME|EMBED|OBJECT|INPUT|TEXTAREA|SELECT|BUTTON)$/i;
  var own = function (e) {
    var s = getComputedStyle(e);
    if (s.visibility === 'hidden' || s.opacity === '0') return false;
    if (media.test(e.tagName) || s.backgroundImage !== 'none') return true;
    var m = /rgba?\\(([^)]*)\\)/.exec(s.backgroundColor);
    if (!m) return false;
    var p = m[1].split(',').map(parseFloat);
    return (p.length < 4 || p[3] > 0) && p.slice(0, 3).join(',') !== page;
  };
  for (var row = 0; row < %(rows)d; row += 48) {
    var y = Math.max(0, h - 1 - row);
    for (var i = 1; i < 8; i++) {
      var found = document.elementsFromPoint(w * i / 8, y);
      for (var k = 0; k < found.length; k++) {
        var e = found[k];
        if (e !== document.documentElement && e !== document.body && own(e)) return true;
      }
    }
  }
  return false;
})('%(page)s')"""

CaptureCallback = Callable[[Rendered | Exception], None]

# MHTML files our captures are saving right now: the engine lets these downloads be.
_own_saves: set[str] = set()
# Captures in progress, kept alive here until they call back.
_active: set[Capture] = set()


def is_own_save(download: QWebEngineDownloadRequest) -> bool:
    """True for the MHTML save a capture started (and nothing else)."""
    if not download.isSavePageDownload():
        return False
    path = os.path.join(download.downloadDirectory(), download.downloadFileName())
    return path in _own_saves


def encode_png(image: QImage) -> bytes:
    """PNG bytes of ``image`` (opaque RGB, 8 bits); the same image always gives the same
    bytes, whatever the number of processors.

    A screenshot of a long page is tens of megabytes of pixels, and compressing them is
    most of a capture's own cost. So the rows (each with PNG filter 0, "none") are cut
    into :data:`PNG_BLOCK` pieces, deflated at level 1 side by side on threads (zlib
    lets go of the GIL), and joined into one zlib stream the way ``pigz`` does: every
    piece but the last ends on a byte boundary (``Z_SYNC_FLUSH``), so the pieces
    concatenate into one valid stream. About twice as fast as Qt's own PNG writer on two
    processors, for files of the same size.

    Runs on a worker thread: a QImage is a reentrant value class, not a QObject, so it
    may be read there."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    if width == 0 or height == 0:
        raise RenderFailed("The screenshot is empty, so it could not be kept.")
    bits = memoryview(rgb.constBits())
    row = width * 3
    raw = b"\0" + b"\0".join(bits[y * stride : y * stride + row] for y in range(height))
    pieces = [raw[i : i + PNG_BLOCK] for i in range(0, len(raw), PNG_BLOCK)]
    last = len(pieces) - 1

    def deflate(index: int) -> bytes:
        packer = zlib.compressobj(PNG_LEVEL, zlib.DEFLATED, -15)
        ending = zlib.Z_FINISH if index == last else zlib.Z_SYNC_FLUSH
        return packer.compress(pieces[index]) + packer.flush(ending)

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        deflated = b"".join(pool.map(deflate, range(len(pieces))))
    stream = b"\x78\x01" + deflated + zlib.adler32(raw).to_bytes(4, "big")
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = b"".join(
        _png_chunk(b"IDAT", stream[i : i + _IDAT_SIZE]) for i in range(0, len(stream), _IDAT_SIZE)
    )
    return _PNG_SIGNATURE + _png_chunk(b"IHDR", header) + idat + _png_chunk(b"IEND", b"")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def capture(
    view: QWebEngineView,
    done: CaptureCallback,
    *,
    max_height: int = MAX_SHOT_HEIGHT,
    http_status: int | None = None,
    headers: tuple[tuple[str, str], ...] = (),
    notes: tuple[str, ...] = (),
    redirect_chain: tuple[str, ...] = (),
) -> Capture:
    """Start capturing what ``view`` shows; ``done(result)`` follows once (module docs).

    ``http_status`` and ``headers`` are the document's as the engine saw them; without a
    status, the one in the page's Navigation Timing entry is used."""
    job = Capture(
        view,
        done,
        max_height=max_height,
        http_status=http_status,
        headers=headers,
        notes=notes,
        redirect_chain=redirect_chain,
    )
    _active.add(job)
    job.start()
    return job


def background_colour(css: list[Any], fallback: QColor) -> QColor:
    """The colour Chromium paints behind the page: the root element's background, else
    the body's (CSS propagates it), else the page's own (white)."""
    for value in css:
        colour = _css_colour(str(value or ""))
        if colour is not None and colour.alpha() == 255:
            return colour
    return fallback


def _css_colour(value: str) -> QColor | None:
    """``rgb(1, 2, 3)`` / ``rgba(1, 2, 3, 0.5)`` as computed styles give them."""
    if not value.startswith("rgb"):
        return None
    try:
        parts = [float(p) for p in value[value.index("(") + 1 : value.index(")")].split(",")]
    except ValueError:
        return None
    if len(parts) < 3:
        return None
    alpha = parts[3] if len(parts) > 3 else 1.0
    return QColor(int(parts[0]), int(parts[1]), int(parts[2]), round(alpha * 255))


class _Screenshot(QObject):
    """The full-page picture: resize, wait for Chromium's frame at full height, grab.

    Chromium draws asynchronously, so a grab right after a resize shows an old frame,
    and the first full-height frame may still lack the tiles it has not drawn yet.
    The wait, in steps:

    1. the document has been presented at least once (its first ``paint`` timing entry);
       until then Chromium may still show the previous page;
    2. the renderer reports the new ``innerHeight`` (it has the new size);
    3. a frame covers the whole view: the view's clear colour is set to a sentinel for
       the capture, and a frame smaller than the view leaves it showing at the bottom;
    4. the bottom row of tiles shows something other than the page's background: the
       frame was drawn to the end. When it is plain background (a finished page can
       end in blank space), the capture waits until Chromium sent no new frame for the
       time it would need to draw the new pixels (:data:`RASTER_MS_PER_MEGAPIXEL`),
       unless the frame's top is plain too while it showed the page before the resize:
       that frame was sent before anything was drawn into it (a loaded machine), and
       the capture waits for the next.

    Frames are counted by the view's Qt Quick scene (``afterRendering``), which renders
    once for each frame Chromium delivers. Without a resize (the page fits the window)
    steps 2 to 4 are replaced by painting having been quiet for :data:`FRAME_QUIET_MS`.
    """

    def __init__(self, capture: Capture, view: QWebEngineView) -> None:
        super().__init__(capture)
        self._capture = capture
        self._view = view
        self._page = view.page()
        self._clock = capture.clock
        self._target = 0
        self._old_size: QSize | None = None
        self._expected_inner = 0.0
        self._background = QColor("white")
        self._quiet_ms = FRAME_QUIET_MS
        self._stage_started = 0
        self._frames = 0
        self._last_frame = 0
        self._probed = 0  # frames seen by the last probe
        self._ambiguous_since: int | None = None
        self._top_drawn_before = False  # the page's top showed more than background
        self._bottom_paints = False  # something that paints lies in the bottom band
        self._confirmed = False
        self._delegate: QQuickWidget | None = None
        self._window: QQuickWindow | None = None
        self._filtered: QObject | None = None
        self._ticker = QTimer(self)
        self._ticker.setInterval(_POLL_MS)
        self._ticker.timeout.connect(self._tick)
        self.full_height = 0
        self.cut = False

    def start(self, css_height: int, painted: bool, background: list[Any]) -> None:
        view = self._view
        zoom = self._page.zoomFactor() or 1.0
        ratio = view.devicePixelRatioF() or 1.0
        full = max(1, math.ceil(css_height * zoom)) if css_height > 0 else view.height()
        cap = max(1, math.floor(self._capture.max_height / ratio))
        self._target = min(full, cap)
        self.cut = full > cap
        self.full_height = round(full * ratio)
        self._background = background_colour(background, self._page.backgroundColor())
        self._expected_inner = self._target / zoom
        self._watch_frames()
        if painted:
            self._resize()
        else:
            self._wait_for_first_paint()

    def _watch_frames(self) -> None:
        proxy = self._view.focusProxy()
        if isinstance(proxy, QQuickWidget):
            self._delegate = proxy
            self._window = proxy.quickWindow()
            self._window.afterRendering.connect(self._frame, Qt.ConnectionType.DirectConnection)
        else:  # another Qt: count the paints of whatever draws the page
            self._filtered = proxy or self._view
            self._filtered.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._frame()
        return False

    def _frame(self) -> None:
        self._frames += 1
        self._last_frame = self._clock.elapsed()

    def _wait_for_first_paint(self) -> None:
        if not self._capture.running:
            return
        self._page.runJavaScript(_PAINTED_SCRIPT, _APPLICATION_WORLD, self._painted_seen)

    def _painted_seen(self, painted: Any) -> None:
        if not self._capture.running:
            return
        if painted is True or self._clock.elapsed() > FIRST_PAINT_WAIT_MS:
            self._resize()
        else:
            QTimer.singleShot(_POLL_MS, self, self._wait_for_first_paint)

    def _resize(self) -> None:
        view = self._view
        self._stage_started = self._clock.elapsed()
        if self._target == view.height():
            self._confirmed = True
            self._quiet_ms = FRAME_QUIET_MS
            self._ambiguous_since = self._stage_started
            self._ticker.start()
            return
        new_pixels = abs(self._target - view.height()) * view.width()
        self._quiet_ms = RASTER_QUIET_BASE_MS + round(
            RASTER_MS_PER_MEGAPIXEL * new_pixels / 1_000_000
        )
        self._old_size = view.size()
        # What the top of the page showed before the resize, when the view was at the top:
        # a full-height frame whose top is only background has not been drawn yet.
        self._top_drawn_before = (
            self._page.scrollPosition().y() <= 0 and self._band_is_plain(0) is False
        )
        if self._delegate is not None:
            self._delegate.setClearColor(_SENTINEL)
        view.resize(view.width(), self._target)
        self._poll_height()
        self._ticker.start()

    def _poll_height(self) -> None:
        if self._capture.running and not self._confirmed:
            self._page.runJavaScript("window.innerHeight", _APPLICATION_WORLD, self._height_seen)

    def _height_seen(self, inner: Any) -> None:
        if not self._capture.running or self._confirmed:
            return
        if isinstance(inner, int | float) and abs(inner - self._expected_inner) <= 1:
            self._capture.timings["resized"] = self._clock.elapsed()
            colour = self._background
            script = _BOTTOM_SCRIPT % {
                "rows": _PROBE_ROWS,
                "page": f"{colour.red()},{colour.green()},{colour.blue()}",
            }
            self._page.runJavaScript(script, _APPLICATION_WORLD, self._bottom_seen)
        else:
            QTimer.singleShot(_POLL_MS, self, self._poll_height)

    def _bottom_seen(self, paints: Any) -> None:
        """What the bottom band should show is known: the frames can now be judged."""
        if not self._capture.running or self._confirmed:
            return
        self._bottom_paints = paints is True
        self._confirmed = True
        self._probed = -1  # probe what is on screen now, frame or not

    def _tick(self) -> None:
        if not self._capture.running:
            self._ticker.stop()
            return
        now = self._clock.elapsed()
        if now - self._stage_started > FRAME_WAIT_MS:
            self._capture.note(
                "Chromium had not finished drawing the whole page when the capture took "
                "its screenshot; the lower part may be blank."
            )
            self._grab()
            return
        if not self._confirmed:
            return
        if self._old_size is None:  # no resize: the picture is right once painting stops
            if now - max(self._last_frame, self._stage_started) >= FRAME_QUIET_MS:
                self._grab()
            return
        if self._probed != self._frames:
            self._probed = self._frames
            found = self._probe()
            if found == "complete":
                self._grab()
                return
            self._ambiguous_since = now if found == "plain" else None
        if self._ambiguous_since is not None:
            since = max(self._ambiguous_since, self._last_frame)
            if now - since >= self._quiet_ms:
                self._grab()

    def _probe(self) -> str:
        """``small`` (no full-height frame yet, or one not drawn at all), ``plain`` (the
        bottom is background, which tells nothing) or ``complete`` (the bottom has been
        drawn)."""
        view = self._view
        top = max(0, view.height() - _PROBE_ROWS)
        bottom_plain = self._band_is_plain(top)
        if bottom_plain is None:
            return "small"
        if not bottom_plain:
            return "complete"
        # Under load Chromium sends full-height frames it has not finished drawing into
        # (background where tiles are still to come): what should be at the bottom, or
        # the top, which showed the page before, tells.
        if self._bottom_paints:
            return "small"
        if self._top_drawn_before and self._band_is_plain(0) is not False:
            return "small"
        return "plain"

    def _band_is_plain(self, top: int) -> bool | None:
        """Is the band of rows from ``top`` (at most one row of tiles) only the page's
        background? ``None`` when no frame covers it yet (the sentinel shows)."""
        view = self._view
        rows = min(_PROBE_ROWS, view.height() - top)
        if rows <= 0:
            return None
        band = view.grab(QRect(0, top, view.width(), rows)).toImage()
        band = band.convertToFormat(QImage.Format.Format_RGB32)
        last = band.height() - 1
        if last < 0:
            return None
        sentinel = _SENTINEL.rgb()
        if band.pixel(0, last) == sentinel or band.pixel(band.width() - 1, last) == sentinel:
            return None
        plain = QImage(band.size(), QImage.Format.Format_RGB32)
        plain.fill(self._background)
        return bytes(band.constBits()) == bytes(plain.constBits())

    def _grab(self) -> None:
        self._ticker.stop()
        self._capture.timings["drawn"] = self._clock.elapsed()
        image = self._view.grab().toImage()
        self.stop()
        self._capture.shot_taken(image)

    def stop(self) -> None:
        """Put the view back as it was (size, clear colour) and stop watching it."""
        self._ticker.stop()
        if self._window is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # gone with the view
                self._window.afterRendering.disconnect(self._frame)
            self._window = None
        if self._filtered is not None:
            self._filtered.removeEventFilter(self)
            self._filtered = None
        if self._delegate is not None:
            self._delegate.setClearColor(self._page.backgroundColor())
            self._delegate = None
        if self._old_size is not None:
            self._view.resize(self._old_size)
            self._old_size = None


class Capture(QObject):
    """One capture in progress. ``timings`` (milliseconds from the start, by part) is
    kept for measurements."""

    def __init__(
        self,
        view: QWebEngineView,
        done: CaptureCallback,
        *,
        max_height: int,
        http_status: int | None,
        headers: tuple[tuple[str, str], ...],
        notes: tuple[str, ...],
        redirect_chain: tuple[str, ...],
    ) -> None:
        super().__init__()
        self._view = view
        self._page = view.page()
        self._done: CaptureCallback | None = done
        self.max_height = max(1, max_height)
        self._status = http_status
        self._headers = headers
        self._notes = list(notes)
        self._chain = redirect_chain
        self.clock = QElapsedTimer()
        self.timings: dict[str, int] = {}
        self._started_at: datetime = now_utc()
        self._url = ""
        self._title = ""
        self._dir: Path | None = None
        self._path = ""
        self._download: QWebEngineDownloadRequest | None = None
        self._mhtml: bytes | None = None
        self._dom: bytes | None = None
        self._text: str | None = None
        self._png: bytes | None = None
        self._shot = QSize()
        self._screenshot = _Screenshot(self, view)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self._timed_out)

    @property
    def running(self) -> bool:
        return self._done is not None

    def note(self, text: str) -> None:
        self._notes.append(text)

    def start(self) -> None:
        self.clock.start()
        self._started_at = now_utc()
        page = self._page
        self._url = page.url().toString(QUrl.ComponentFormattingOption.FullyEncoded)
        self._title = page.title()
        if not self._view.isVisible():
            self._fail(
                RenderFailed(
                    "The page is not on screen, so it cannot be captured. Show the browser "
                    "window and try again."
                )
            )
            return
        self._deadline.start(CAPTURE_TIMEOUT_MS)
        self._dir = Path(tempfile.mkdtemp(prefix="caseview-grab-"))
        self._path = str(self._dir / "page.mhtml")
        _own_saves.add(self._path)
        page.profile().downloadRequested.connect(self._download_requested)
        page.toHtml(self._dom_received)
        page.runJavaScript(_FACTS_SCRIPT, _APPLICATION_WORLD, self._facts_received)
        page.save(self._path, _MHTML)

    # -- MHTML ----------------------------------------------------------------------------

    def _download_requested(self, download: QWebEngineDownloadRequest) -> None:
        if self._download is not None or not is_own_save(download):
            return
        if os.path.join(download.downloadDirectory(), download.downloadFileName()) != self._path:
            return
        self._download = download
        download.isFinishedChanged.connect(self._save_finished)
        if download.isFinished():
            self._save_finished()

    def _save_finished(self) -> None:
        download = self._download
        if download is None or not self.running or not download.isFinished():
            return
        if download.state() != QWebEngineDownloadRequest.DownloadState.DownloadCompleted:
            reason = download.interruptReasonString() or download.state().name
            self._fail(
                RenderFailed(
                    f"The browser could not save the page as a web archive ({reason}), so "
                    "the capture was not kept. Try again."
                )
            )
            return
        try:
            self._mhtml = Path(self._path).read_bytes()
        except OSError as exc:
            logger.debug("reading %s: %s", self._path, exc)
            self._fail(RenderFailed("The saved web archive could not be read back. Try again."))
            return
        self._mark("mhtml")

    # -- DOM and text ---------------------------------------------------------------------

    def _dom_received(self, html: Any) -> None:
        if not self.running:
            return
        self._dom = str(html or "").encode("utf-8")
        self._mark("dom")

    def _facts_received(self, result: Any) -> None:
        if not self.running:
            return
        try:
            facts = json.loads(result) if isinstance(result, str) else {}
        except ValueError:
            facts = {}
        self._text = str(facts.get("text") or "")
        if self._status is None and int(facts.get("status") or 0) > 0:
            self._status = int(facts["status"])
        self._mark("text")
        self._screenshot.start(
            int(facts.get("height") or 0),
            painted=bool(facts.get("painted")),
            background=list(facts.get("background") or []),
        )

    # -- the screenshot -------------------------------------------------------------------

    def shot_taken(self, image: QImage) -> None:
        if not self.running:
            return
        self._shot = image.size()
        if self._screenshot.cut:
            self.note(
                f"The page is {self._screenshot.full_height} pixels tall; the screenshot "
                f"shows the first {image.height()}."
            )
        self._mark("grab")
        tasks.run_task(encode_png, image, on_returned=self._png_received, on_errored=self._fail)

    def _png_received(self, png: bytes) -> None:
        if not self.running:
            return
        self._png = png
        self._mark("png")

    # -- the end --------------------------------------------------------------------------

    def _mark(self, part: str) -> None:
        self.timings[part] = self.clock.elapsed()
        parts = (self._mhtml, self._dom, self._text, self._png)
        if all(part is not None for part in parts):
            self._finish()

    def _finish(self) -> None:
        assert self._mhtml is not None and self._dom is not None
        assert self._text is not None and self._png is not None
        rendered = Rendered(
            url=self._url,
            title=self._title,
            mhtml=self._mhtml,
            dom=self._dom,
            screenshot_png=self._png,
            text=self._text,
            full_height=self._screenshot.full_height,
            shot_height=self._shot.height(),
            shot_width=self._shot.width(),
            screenshot_cut=self._screenshot.cut,
            http_status=self._status,
            headers=self._headers,
            started_at=self._started_at,
            ended_at=now_utc(),
            notes=tuple(self._notes),
            redirect_chain=self._chain,
        )
        self._deliver(rendered)

    def _timed_out(self) -> None:
        self._fail(
            RenderFailed(
                f"The page could not be captured within {CAPTURE_TIMEOUT_MS // 1000} "
                "seconds, so nothing was kept. Try again."
            )
        )

    def _fail(self, error: BaseException) -> None:
        self._deliver(error if isinstance(error, Exception) else RenderFailed(str(error)))

    def _deliver(self, result: Rendered | Exception) -> None:
        done, self._done = self._done, None
        if done is None:
            return
        self._clean_up()
        done(result)

    def _clean_up(self) -> None:
        self._deadline.stop()
        self._screenshot.stop()
        if self._path:
            _own_saves.discard(self._path)
            with contextlib.suppress(RuntimeError, TypeError):  # the page is already gone
                self._page.profile().downloadRequested.disconnect(self._download_requested)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        _active.discard(self)
        self.deleteLater()
