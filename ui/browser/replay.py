"""A stored page (MHTML), shown read-only and sealed off from the network.

DESIGN section 4a: "a replay of a stored MHTML never reaches the network". The window
shows the bytes kept in the case file and nothing else:

- Chromium opens MHTML only from a file (``.mhtml``, loaded as ``file://``), so the
  bytes are written to a private file (0600) in a private folder (0700) that is removed
  when the window closes.
- Its own off-the-record profile (nothing shared with the evidence browser, nothing
  written to disk), with a request interceptor that blocks every request but the file
  itself and ``data:`` URLs (:func:`may_load`): no http, https, ws, ftp, other files.
- Scripts, plugins, WebGL, local storage, DNS prefetch, favicons and hyperlink
  auditing off; local content may read neither remote URLs nor other files.
- No navigation away: the page accepts only the file itself (:func:`may_navigate`);
  links, forms, meta refreshes and drops go nowhere, and no new window opens.
- Downloads are cancelled and permission requests denied; the context menu offers
  only Copy and Select all.

Chromium itself loads an MHTML document in a sandbox and takes its parts only from the
archive; the rules above hold even if that ever changes.

QtWebEngine is imported here, so import this module only when a replay is opened
(``ui.browser.prepare_environment`` must have run before the QApplication existed).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWebEngineCore import (
    QWebEngineDownloadRequest,
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QDialogButtonBox, QVBoxLayout, QWidget

from ui import widgets

logger = logging.getLogger(__name__)

FILE_NAME = "page.mhtml"  # the extension is how Chromium knows to read it as MHTML
INLINE_SCHEMES = frozenset({"data"})
"""Schemes whose content is in the URL itself: loading one reaches nothing."""

# Chromium's console message when the bytes are not an MHTML archive it can read.
_MALFORMED = "Malformed multipart archive"

_OFF = (
    QWebEngineSettings.WebAttribute.JavascriptEnabled,
    QWebEngineSettings.WebAttribute.JavascriptCanOpenWindows,
    QWebEngineSettings.WebAttribute.JavascriptCanAccessClipboard,
    QWebEngineSettings.WebAttribute.JavascriptCanPaste,
    QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls,
    QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls,
    QWebEngineSettings.WebAttribute.AllowRunningInsecureContent,
    QWebEngineSettings.WebAttribute.PluginsEnabled,
    QWebEngineSettings.WebAttribute.PdfViewerEnabled,
    QWebEngineSettings.WebAttribute.WebGLEnabled,
    QWebEngineSettings.WebAttribute.LocalStorageEnabled,
    QWebEngineSettings.WebAttribute.DnsPrefetchEnabled,
    QWebEngineSettings.WebAttribute.AutoLoadIconsForPage,
    QWebEngineSettings.WebAttribute.TouchIconsEnabled,
    QWebEngineSettings.WebAttribute.HyperlinkAuditingEnabled,
    QWebEngineSettings.WebAttribute.NavigateOnDropEnabled,
    QWebEngineSettings.WebAttribute.ScreenCaptureEnabled,
    QWebEngineSettings.WebAttribute.FullScreenSupportEnabled,
    QWebEngineSettings.WebAttribute.FocusOnNavigationEnabled,
)


def _same_file(url: QUrl, page: QUrl) -> bool:
    """``url`` is the stored page itself (a jump to an anchor in it included)."""
    return (
        url.isLocalFile()
        and not url.hasQuery()
        and url.host() == page.host()
        and url.toLocalFile() == page.toLocalFile()  # a local file's path, no #fragment
    )


def may_load(url: QUrl, page: QUrl) -> bool:
    """May the replay of ``page`` (its file URL) request ``url``? Only the file itself,
    and ``data:`` URLs, which carry their content and reach nothing."""
    return url.scheme().lower() in INLINE_SCHEMES or _same_file(url, page)


def may_navigate(url: QUrl, page: QUrl) -> bool:
    """May the replay of ``page`` go to ``url``? Only to the stored page itself."""
    return _same_file(url, page)


def write_private_copy(content: bytes) -> tempfile.TemporaryDirectory[str]:
    """A private folder (0700) holding ``content`` as :data:`FILE_NAME` (0600), for
    Chromium to read; the caller removes it with ``cleanup()``."""
    folder = tempfile.TemporaryDirectory(prefix="caseview-replay-", ignore_cleanup_errors=True)
    path = Path(folder.name) / FILE_NAME
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    with open(descriptor, "wb") as file:
        file.write(content)
    return folder


class Seal(QWebEngineUrlRequestInterceptor):
    """Blocks every request the replay's profile makes but those :func:`may_load` allows;
    keeps what it blocked (for the window's note and the tests)."""

    def __init__(self, page: QUrl, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self.blocked: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl()
        if not may_load(url, self.page):
            info.block(True)
            self.blocked.append(url.toString())
            logger.info("Replay blocked a request to %s", url.toString())


class ReplayPage(QWebEnginePage):
    """The stored page: goes nowhere, opens no windows, says when the bytes were not an
    MHTML archive Chromium could read."""

    malformed = Signal()

    def __init__(self, profile: QWebEngineProfile, page: QUrl, parent: QWidget) -> None:
        super().__init__(profile, parent)
        self.page = page
        self.refused: list[str] = []
        self.permissionRequested.connect(lambda permission: permission.deny())
        self.fullScreenRequested.connect(lambda request: request.reject())

    def acceptNavigationRequest(
        self, url: QUrl | str, type: QWebEnginePage.NavigationType, isMainFrame: bool
    ) -> bool:
        url = QUrl(url)
        if may_navigate(url, self.page):
            return True
        self.refused.append(url.toString())
        logger.info("Replay refused to go to %s", url.toString())
        return False

    def createWindow(  # type: ignore[override]  # Qt's C++ allows null: no window
        self, type: QWebEnginePage.WebWindowType
    ) -> QWebEnginePage | None:
        return None  # no pop-ups, no "open in new window"

    def javaScriptConsoleMessage(
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        lineNumber: int,
        sourceID: str,
    ) -> None:
        # Scripts are off; Chromium still reports here what it made of the document.
        logger.debug("Replay console: %s", message)
        if message.startswith(_MALFORMED):
            self.malformed.emit()


class ReplayWindow(QWidget):
    """A read-only window on a stored MHTML page. ``about`` says, in a sentence, what
    page this is and when it was kept; it heads the window above the page."""

    page_loaded = Signal(bool)
    """The page finished loading (False: it could not be shown)."""

    def __init__(self, parent: QWidget | None, content: bytes, *, title: str, about: str) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window, True)  # its own window, closed with its parent
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setObjectName("mhtmlReplay")
        self.setWindowTitle(f"{title} (saved page, read-only)")
        self.folder: tempfile.TemporaryDirectory[str] | None = write_private_copy(content)
        self.path = Path(self.folder.name) / FILE_NAME
        self.file_url = QUrl.fromLocalFile(str(self.path))
        # Closing removes the copy; this covers a window deleted unclosed (with its parent).
        self.destroyed.connect(self.folder.cleanup)
        layout = QVBoxLayout(self)
        self.note = widgets.note(
            f"{about} Read-only: shown from the copy kept in the case file. Nothing is "
            "fetched from the internet, scripts do not run, and links go nowhere."
        )
        self.note.setObjectName("replayNote")
        layout.addWidget(self.note)
        self.view = QWebEngineView()
        self.view.setObjectName("replayView")
        self.view.setAccessibleName("Saved page")
        # Parentless until the page exists: a profile must outlive its pages, and Qt
        # deletes a widget's children in the order they were added (see below).
        self.profile = QWebEngineProfile()  # no storage name: off the record, its own
        self.seal = Seal(self.file_url, self.profile)  # lives exactly as long as the profile
        self.profile.setUrlRequestInterceptor(self.seal)
        self.profile.setPersistentCookiesPolicy(
            QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
        )
        self.profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        self.profile.setSpellCheckEnabled(False)
        self.profile.downloadRequested.connect(self._refuse_download)
        self.page = ReplayPage(self.profile, self.file_url, self.view)
        settings = self.page.settings()
        for attribute in _OFF:
            settings.setAttribute(attribute, False)
        self.view.setPage(self.page)
        self._context_menu()
        layout.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        close = QAction("Close", self)
        close.setShortcut(QKeySequence(QKeySequence.StandardKey.Cancel))  # Esc, as a dialog
        close.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        close.triggered.connect(self.close)
        self.addAction(close)
        # After the view (and the page inside it): deleted after them, as it must be.
        self.profile.setParent(self)
        self.loaded: bool | None = None
        self.page.loadFinished.connect(self._finished)
        self.page.malformed.connect(self._malformed)
        self.resize(widgets.chars(self, 120), widgets.lines(self, 40))
        self.page.load(self.file_url)

    def _context_menu(self) -> None:
        for action in (QWebEnginePage.WebAction.Copy, QWebEnginePage.WebAction.SelectAll):
            self.view.addAction(self.view.pageAction(action))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def _refuse_download(self, download: QWebEngineDownloadRequest) -> None:
        logger.info("Replay refused a download of %s", download.url().toString())
        download.cancel()

    def _finished(self, ok: bool) -> None:
        if self.loaded is not None:
            return  # a later "load" is a refused navigation: the stored page stays
        self.loaded = ok
        if not ok:
            self._show_problem("The saved page could not be opened.")
        self.page_loaded.emit(ok)

    def _malformed(self) -> None:
        self._show_problem(
            "The saved page is not an MHTML archive this viewer can read, so nothing of "
            "it can be shown here. Save the evidence file to keep or examine its bytes."
        )

    def _show_problem(self, text: str) -> None:
        self.note.setText(text)
        self.note.setAccessibleName(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.remove_copy()
        super().closeEvent(event)

    def remove_copy(self) -> None:
        """Remove the private copy (the page on screen stays until the window goes)."""
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None
