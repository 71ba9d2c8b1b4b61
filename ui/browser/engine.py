"""The evidence browser's engine: one QtWebEngine page under Caseview's rules.

:class:`EvidenceEngine` owns, for ONE viewing session, a new off-the-record
``QWebEngineProfile`` (no storage name, cookies and cache in memory only, nothing kept
after the session) and an :class:`EvidencePage` on it. The window (``ui.browser.window``)
or the headless child (``ui.browser.render``) shows the page in a ``QWebEngineView``.

The rules (DESIGN section 4a):

- **Only GET and HEAD leave.** A request interceptor sees every request the page makes,
  sub-resources of any host included, logs it (:class:`RequestSeen`) and blocks any other
  method (POST, PUT, beacons...). Requests to a literal private, loopback or link-local
  address, or to ``localhost``, are blocked too unless the host is in
  ``CASEVIEW_ALLOW_HOSTS``; host names are not resolved here (that would stall the
  window), so a public name that points at a private address is left to Chromium's own
  Private Network Access checks.
- **Every top-level navigation goes through the gate.** Typed, link, redirect,
  back/forward, reload, script and pop-up navigations are put to ``navigation_policy(url,
  kind)`` (None to go ahead, else the message to show); the caller records a refused look.
  The engine's own loads (:meth:`EvidenceEngine.load`, pop-ups) are asked before Qt is
  told anything, so a refusal leaves the page shown exactly as it was. Form submissions
  are always refused (:data:`FORM_REFUSED`), in sub-frames too. Other sub-frame
  navigations are allowed, and logged as requests.
- **Refused:** every permission (location, camera, microphone, notifications, clipboard,
  ...), reading the clipboard, downloads (cancelled before a byte is written and reported
  with the file name, so the window can offer to import the file as evidence instead),
  HTTP sign-in (:func:`null_authenticator`), file uploads, dialogs (``alert``,
  ``confirm`` and ``prompt`` are reported and answered "cancel"), full screen and
  protocol handlers. QtWebEngine has no password manager and no autofill (Chromium's
  are not part of it), so nothing is saved or filled in; a sign-in form cannot be
  submitted anyway.
- **Pop-ups never open a window.** ``JavascriptCanOpenWindows`` stays on so that every
  pop-up reaches us (off, Chromium's pop-up blocker would drop some unseen); each one is
  reported and becomes a top-level navigation of this page, put to the same
  ``navigation_policy`` with kind ``popup``.
- **Nothing is injected into the page's own JavaScript world:** no web channel, no user
  scripts. The engine's own scripts (sub-resource statuses; the capture's text and
  height) run in Qt's isolated ``ApplicationWorld``, which the page cannot see. The user
  agent is Chrome's own, without the ``QtWebEngine/x.y.z`` token.

Reports are Qt signals carrying plain frozen dataclasses from ``collectors.rendered`` (the
same records the headless capture returns): :attr:`EvidenceEngine.page_shown`
(:class:`PageShown`), :attr:`~EvidenceEngine.request_seen` (:class:`RequestSeen`, its
status still unknown), :attr:`~EvidenceEngine.blocked` ``(what, url, detail)`` and
:attr:`~EvidenceEngine.refused` ``(url, kind, message)``. The logs (:meth:`pages`,
:meth:`requests` with statuses filled in, :meth:`blocked_actions`, :meth:`refusals`)
keep them all.

The page log: a :class:`PageShown` for every top-level document shown (a load that
succeeded, or an HTTP error page the site sent), with the status and headers of its
response (``QWebEngineLoadingInfo``), and one with ``how="same_document"`` for every
address change without a new document (``pushState``, ``replaceState``, ``#fragment``).
``document_sha256`` is the sha256 of ``toHtml()`` in UTF-8 at that moment: the page's
HTML as the browser held it, not the bytes the site sent (QtWebEngine does not expose
those).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import logging
import re
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtNetwork import QAuthenticator
from PySide6.QtWebEngineCore import (
    QWebEngineDownloadRequest,
    QWebEngineFileSystemAccessRequest,
    QWebEngineFullScreenRequest,
    QWebEngineLoadingInfo,
    QWebEngineNewWindowRequest,
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
    QWebEngineRegisterProtocolHandlerRequest,
    QWebEngineScript,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
    QWebEngineWebAuthUxRequest,
)
from PySide6.QtWebEngineWidgets import QWebEngineView

from collectors import addresses
from collectors.errors import Refused as RefusedAddress
from collectors.rendered import (
    BACK_FORWARD,
    DEFAULT_MAX_HEIGHT,
    FORM,
    LINK,
    POPUP,
    REDIRECT,
    RELOAD,
    SCRIPT,
    TYPED,
    Blocked,
    NavigationRefused,
    PageShown,
    Rendered,
    RequestSeen,
    now_utc,
)
from ui.browser import grab

logger = logging.getLogger(__name__)

__all__ = [
    "FORM_REFUSED",
    "Blocked",
    "EvidenceEngine",
    "EvidencePage",
    "NavigationPolicy",
    "NavigationRefused",
    "PageShown",
    "RequestSeen",
    "SettleWatch",
]

NavigationPolicy = Callable[[str, str], str | None]
"""``(url, kind) -> None`` to let a top-level navigation go ahead, else the message."""

FORM_REFUSED = "Forms cannot be submitted in the evidence browser: nothing is sent to the site."
POPUP_DETAIL = "The page asked to open a new window; it is opened in this window instead."
DOWNLOAD_DETAIL = "{name}"
ALLOWED_METHODS = frozenset({"GET", "HEAD"})
QUIET_MS = 500
"""The network is quiet when no new request was seen for this long."""
APPLICATION_WORLD = QWebEngineScript.ScriptWorldId.ApplicationWorld.value
"""Qt's isolated world for the application's scripts: the page cannot see into it."""
_WEB_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_LOCAL_SCHEMES = frozenset({"file", "ftp"})

_NavigationType = QWebEnginePage.NavigationType
_KINDS = {
    _NavigationType.NavigationTypeTyped: TYPED,
    _NavigationType.NavigationTypeLinkClicked: LINK,
    _NavigationType.NavigationTypeFormSubmitted: FORM,
    _NavigationType.NavigationTypeBackForward: BACK_FORWARD,
    _NavigationType.NavigationTypeReload: RELOAD,
    _NavigationType.NavigationTypeRedirect: REDIRECT,
    _NavigationType.NavigationTypeOther: SCRIPT,
}

_Attribute = QWebEngineSettings.WebAttribute
SETTINGS = {
    _Attribute.JavascriptCanAccessClipboard: False,
    _Attribute.JavascriptCanPaste: False,
    # On, because every pop-up is routed through newWindowRequested into the gate (see
    # the module docstring); off, Chromium's blocker would drop some without telling us.
    _Attribute.JavascriptCanOpenWindows: True,
    _Attribute.HyperlinkAuditingEnabled: False,  # <a ping> sends POSTs
    _Attribute.DnsPrefetchEnabled: False,  # no look-ups for links nobody followed
    _Attribute.ScreenCaptureEnabled: False,
    _Attribute.WebRTCPublicInterfacesOnly: True,  # no local addresses to the page
    _Attribute.LocalContentCanAccessFileUrls: False,
    _Attribute.LocalContentCanAccessRemoteUrls: False,
    _Attribute.NavigateOnDropEnabled: False,  # a file dropped on the view is not opened
    _Attribute.PlaybackRequiresUserGesture: True,
    _Attribute.PluginsEnabled: False,
    _Attribute.FullScreenSupportEnabled: False,
    _Attribute.AllowWindowActivationFromJavaScript: False,
    _Attribute.AllowGeolocationOnInsecureOrigins: False,
    _Attribute.AllowRunningInsecureContent: False,
}

# Sub-resource statuses from the Resource Timing API, read in the isolated world.
_STATUS_SCRIPT = """(function () {
  var out = [];
  var nav = performance.getEntriesByType('navigation');
  var res = performance.getEntriesByType('resource');
  for (var i = 0; i < nav.length; i++) out.push([nav[i].name, nav[i].responseStatus || 0, 1]);
  for (var j = 0; j < res.length; j++) out.push([res[j].name, res[j].responseStatus || 0, 0]);
  return JSON.stringify(out);
})()"""


def now_monotonic() -> float:
    return time.monotonic()


def plain_user_agent(user_agent: str) -> str:
    """Chrome's user agent as QtWebEngine sends it, without its ``QtWebEngine/x.y.z``."""
    return re.sub(r"QtWebEngine/\S+\s*", "", user_agent)


def resource_type_name(resource_type: QWebEngineUrlRequestInfo.ResourceType) -> str:
    """``ResourceTypeMainFrame`` -> ``main_frame``."""
    name = resource_type.name.removeprefix("ResourceType")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def url_text(url: QUrl) -> str:
    return url.toString(QUrl.ComponentFormattingOption.FullyEncoded)


def address_refusal(url: QUrl, allow: frozenset[str]) -> str | None:
    """Why the browser must not fetch ``url`` (a private address, a local scheme), or
    None. Names other than ``localhost`` are not resolved (see the module docstring)."""
    scheme = url.scheme().lower()
    if scheme in _LOCAL_SCHEMES:
        return (
            f"The page asked for a {scheme}: address; the evidence browser fetches only "
            "public web addresses."
        )
    if scheme not in _WEB_SCHEMES:
        return None  # data:, blob:, about: and Chromium's own pages never leave
    as_http = QUrl(url)
    as_http.setScheme(_WEB_SCHEMES[scheme])
    try:
        target = addresses.parse_target(url_text(as_http))
    except RefusedAddress as exc:
        return exc.message
    host = target.host
    if host.ascii in allow or host.unicode.lower() in allow:
        return None
    if target.ip_literal is not None:
        if target.ip_literal.compressed in allow:
            return None
        reason = addresses.non_public_reason(target.ip_literal)
    elif host.ascii == "localhost" or host.ascii.endswith(".localhost"):
        reason = "a loopback address (this computer itself)"
    else:
        reason = None
    if reason is None:
        return None
    return (
        f"{host.unicode} is {reason}, not the public internet, so the evidence browser did "
        "not fetch it. If this is an approved intranet source, ask your administrator to "
        f"add it to {addresses.ALLOW_HOSTS_ENV}."
    )


def null_authenticator(authenticator: QAuthenticator) -> bool:
    """Do ``*authenticator = QAuthenticator()``, which is how Qt's C++ API tells
    QtWebEngine not to sign in; True if it is now null.

    PySide6 cannot assign to the object it hands a slot, so on Linux the assignment
    operator of the Qt library already loaded is called directly: a QAuthenticator is a
    single pointer, and assigning a null one to an authenticator whose sign-in has not
    started frees it and leaves it null. Elsewhere (or if that library cannot be found)
    this returns False and the caller stops the load instead.
    """
    assign = _authenticator_assignment()
    if assign is None:
        return False
    null = ctypes.c_void_p(0)
    assign(shiboken6.getCppPointer(authenticator)[0], ctypes.addressof(null))
    return authenticator.isNull()


@functools.cache
def _authenticator_assignment() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {line.split()[-1] for line in maps if "libQt6Network.so" in line}
        (path,) = paths
        function = ctypes.CDLL(path)._ZN14QAuthenticatoraSERKS_  # operator=(const&)
    except (OSError, ValueError, AttributeError):
        return None
    function.restype = ctypes.c_void_p
    function.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    return function


class _Interceptor(QWebEngineUrlRequestInterceptor):
    """Sees every request of the profile, on the GUI thread, before it is sent."""

    def __init__(self, check: Callable[[QWebEngineUrlRequestInfo], None]) -> None:
        super().__init__()
        self._check = check

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        try:
            self._check(info)
        except Exception:
            info.block(True)  # fail closed: a request we could not check is not sent
            logger.exception("The evidence browser could not check a request; it was blocked.")


class EvidencePage(QWebEnginePage):
    """A page that asks before it navigates, never opens a window and shows no dialog.

    ``navigation`` decides each navigation (see :meth:`EvidenceEngine._navigation`);
    ``report`` hears what the page was refused.
    """

    def __init__(
        self,
        profile: QWebEngineProfile,
        navigation: Callable[[QUrl, QWebEnginePage.NavigationType, bool], bool],
        report: Callable[[str, str, str], None],
    ) -> None:
        super().__init__(profile)
        self._navigation = navigation
        self._report = report

    def acceptNavigationRequest(
        self, url: QUrl | str, type: QWebEnginePage.NavigationType, isMainFrame: bool
    ) -> bool:
        try:
            return self._navigation(QUrl(url), type, isMainFrame)
        except Exception:
            logger.exception("The evidence browser could not check a navigation; it was refused.")
            return False

    def createWindow(self, type: QWebEnginePage.WebWindowType) -> QWebEnginePage | None:  # type: ignore[override]
        return None  # never a window: newWindowRequested follows and is routed (engine)

    def javaScriptAlert(self, securityOrigin: QUrl | str, msg: str) -> None:
        self._report("dialog", url_text(QUrl(securityOrigin)), f"alert: {msg[:500]}")

    def javaScriptConfirm(self, securityOrigin: QUrl | str, msg: str) -> bool:
        self._report("dialog", url_text(QUrl(securityOrigin)), f"confirm: {msg[:500]}")
        return False

    def javaScriptPrompt(
        self, securityOrigin: QUrl | str, msg: str, defaultValue: str
    ) -> tuple[bool, str]:
        self._report("dialog", url_text(QUrl(securityOrigin)), f"prompt: {msg[:500]}")
        return False, ""

    def javaScriptConsoleMessage(
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        lineNumber: int,
        sourceID: str,
    ) -> None:
        logger.debug("page console (%s) %s:%s %s", level.name, sourceID, lineNumber, message)

    def chooseFiles(
        self,
        mode: QWebEnginePage.FileSelectionMode,
        oldFiles: Iterable[str],
        acceptedMimeTypes: Iterable[str],
    ) -> list[str]:
        self._report(
            "file_chooser",
            url_text(self.url()),
            "The page asked for a file to upload; nothing is sent to the site.",
        )
        return []


class EvidenceEngine(QObject):
    """One viewing session's browser: an off-the-record profile and its page.

    Call :meth:`close` when the session ends; it deletes the page, then the profile, and
    removes the session's scratch directory. The page is parented to the engine before
    the profile, so deleting the engine alone also deletes them in that order.
    """

    page_shown = Signal(object)  # PageShown
    request_seen = Signal(object)  # RequestSeen (status not known yet)
    blocked = Signal(str, str, str)  # what, url, detail (see collectors.rendered)
    refused = Signal(str, str, str)  # url, kind, message shown to the worker
    load_failed = Signal(str, str)  # url, Chromium's reason (the site was not reached)

    def __init__(
        self,
        navigation_policy: NavigationPolicy,
        *,
        allow_hosts: Iterable[str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._policy = navigation_policy
        self._allow = (
            addresses.allow_hosts_from_env()
            if allow_hosts is None
            else addresses.normalise_allow_hosts(allow_hosts)
        )
        self._closed = False
        self._pages: list[PageShown] = []
        self._requests: list[RequestSeen] = []
        self._blocked: list[Blocked] = []
        self._refusals: list[NavigationRefused] = []
        self._statuses: dict[str, int] = {}
        # The loads we started ourselves (typed, pop-up), already put to the gate, in
        # order: (address, kind). Chromium reports each as a "typed" navigation.
        self._own_loads: deque[tuple[str, str]] = deque(maxlen=8)
        self._chain: list[str] = []
        self._document_chain: tuple[str, ...] = ()
        self._document: tuple[int | None, tuple[tuple[str, str], ...]] | None = None
        self._last_shown_url: str | None = None
        self._loading = False
        self._pending_shown = 0
        self.last_request_at = now_monotonic()
        scratch = self._scratch = Path(tempfile.mkdtemp(prefix="caseview-browser-"))
        # Removed when the engine goes, closed or not (a parent window deleted it).
        self.destroyed.connect(lambda *_: shutil.rmtree(scratch, ignore_errors=True))
        downloads = self._scratch / "downloads"
        downloads.mkdir(mode=0o700)
        self.download_dir = downloads
        """Where Chromium would put downloads; every download is cancelled, so it stays empty."""

        # No storage name: off the record. Nothing of the session reaches the disk.
        profile = QWebEngineProfile()
        profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        profile.setPersistentCookiesPolicy(
            QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
        )
        profile.setPersistentPermissionsPolicy(
            QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime
        )
        profile.setPushServiceEnabled(False)
        profile.setSpellCheckEnabled(False)
        profile.setDownloadPath(str(downloads))
        profile.setHttpUserAgent(plain_user_agent(profile.httpUserAgent()))
        for attribute, on in SETTINGS.items():
            profile.settings().setAttribute(attribute, on)
        self._interceptor = _Interceptor(self._intercepted)
        profile.setUrlRequestInterceptor(self._interceptor)
        profile.downloadRequested.connect(self._download_requested)
        page = EvidencePage(profile, self._navigation, self._block)
        # Children are deleted in the order they were added: the page before the
        # profile (Chromium requires it), the interceptor after both.
        page.setParent(self)
        profile.setParent(self)
        self._interceptor.setParent(self)
        self.profile = profile
        self.page = page
        page.loadingChanged.connect(self._loading_changed)
        page.urlChanged.connect(self._url_changed)
        page.newWindowRequested.connect(self._new_window)
        page.permissionRequested.connect(self._permission)
        page.authenticationRequired.connect(self._sign_in)
        page.proxyAuthenticationRequired.connect(self._proxy_sign_in)
        page.fullScreenRequested.connect(self._full_screen)
        page.fileSystemAccessRequested.connect(self._file_system)
        page.registerProtocolHandlerRequested.connect(self._protocol_handler)
        page.webAuthUxRequested.connect(self._web_auth)

    # -- what the window and the child use ---------------------------------------------

    def load(self, url: str) -> None:
        """Open ``url`` as typed: put to the gate (kind ``typed``) first; a refusal is
        reported (:attr:`refused`) and the page shown stays as it was."""
        self._open(QUrl(url), TYPED)

    def pages(self) -> tuple[PageShown, ...]:
        return tuple(self._pages)

    def requests(self) -> tuple[RequestSeen, ...]:
        """Every request so far, with the statuses collected (:meth:`collect_statuses`)."""
        return tuple(self._with_status(r) for r in self._requests)

    def blocked_actions(self) -> tuple[Blocked, ...]:
        return tuple(self._blocked)

    def refusals(self) -> tuple[NavigationRefused, ...]:
        return tuple(self._refusals)

    @property
    def loading(self) -> bool:
        """A top-level load is under way, or a page shown is still being hashed."""
        return self._loading or self._pending_shown > 0

    @property
    def has_document(self) -> bool:
        """The page shows a document from the site (one has loaded or started to)."""
        url = self.page.url()
        return not url.isEmpty() and url.scheme() != "about"

    def document_status(self) -> tuple[int | None, tuple[tuple[str, str], ...]]:
        """The HTTP status and response headers of the document shown, if known."""
        return self._document if self._document is not None else (None, ())

    def collect_statuses(self, done: Callable[[], None] | None = None) -> None:
        """Read sub-resource statuses from the page's Resource Timing entries (in the
        isolated world); :meth:`requests` then includes them. ``done`` when read."""
        if self._closed:
            return

        def received(result: Any) -> None:
            if self._closed:
                return
            self._merge_statuses(result)
            if done is not None:
                done()

        self.page.runJavaScript(_STATUS_SCRIPT, APPLICATION_WORLD, received)

    def capture(
        self,
        view: QWebEngineView,
        done: Callable[[Rendered | Exception], None],
        *,
        max_height: int = DEFAULT_MAX_HEIGHT,
        notes: Iterable[str] = (),
    ) -> grab.Capture:
        """Capture what ``view`` (showing this engine's page) shows; see ``ui.browser.grab``."""
        self.collect_statuses()
        status, headers = self.document_status()
        chain = self._document_chain if self._document is not None else tuple(self._chain[:-1])
        return grab.capture(
            view,
            done,
            max_height=max_height,
            http_status=status,
            headers=headers,
            notes=tuple(notes),
            redirect_chain=chain,
        )

    def close(self) -> None:
        """End the session: the page is deleted, then the profile, then the scratch."""
        if self._closed:
            return
        self._closed = True
        page, profile = self.page, self.profile
        profile.setUrlRequestInterceptor(None)  # type: ignore[arg-type]  # Qt takes nullptr
        page.setParent(None)
        profile.setParent(None)
        scratch = self._scratch
        # The profile goes once its page is gone (deleteLater: close() may be called
        # from one of the page's own signals).
        page.destroyed.connect(profile.deleteLater)
        profile.destroyed.connect(lambda *_: shutil.rmtree(scratch, ignore_errors=True))
        page.deleteLater()

    # -- navigation ---------------------------------------------------------------------

    def _open(self, url: QUrl, kind: str) -> None:
        """Our own top-level loads (typed, pop-up): the gate decides before anything is
        stopped or fetched, so a refusal leaves the page shown exactly as it was."""
        if self._closed:
            return
        text = url_text(url)
        if not (url.scheme() == "about" and url.path() == "blank"):
            message = self._policy(text, kind)
            if message is not None:
                self._refuse(text, kind, message)
                return
        self._own_loads.append((text, kind))
        self.page.load(url)

    def _navigation(self, url: QUrl, type: QWebEnginePage.NavigationType, main: bool) -> bool:
        text = url_text(url)
        if type == _NavigationType.NavigationTypeFormSubmitted:
            self._block("form", text, FORM_REFUSED)
            if main:
                self._refuse(text, FORM, FORM_REFUSED)
            return False
        if not main:
            return True  # a sub-frame: its request is logged and checked by the interceptor
        kind = _KINDS.get(type, SCRIPT)
        approved = False
        if kind == TYPED and self._own_loads:
            # Chromium reports our own loads as typed: this one was put to the gate in
            # _open, unless Chromium changed the address on the way (then ask again).
            opened, kind = self._own_loads.popleft()
            approved = opened == text
        if url.scheme() == "about" and url.path() == "blank":
            return True  # nothing to fetch, nothing to gate
        if not approved:
            message = self._policy(text, kind)
            if message is not None:
                self._refuse(text, kind, message)
                return False
        if kind == REDIRECT:
            self._chain.append(text)
        else:
            self._chain = [text]
        return True

    def _refuse(self, url: str, kind: str, message: str) -> None:
        refusal = NavigationRefused(url=url, kind=kind, message=message, at=now_utc())
        self._refusals.append(refusal)
        self.refused.emit(url, kind, message)

    def _new_window(self, request: QWebEngineNewWindowRequest) -> None:
        url = request.requestedUrl()
        text = url_text(url)
        self._block("popup", text, POPUP_DETAIL)
        if url.isEmpty() or url.scheme() == "about":
            return  # an empty window the page means to write into: nothing to open
        # Not from inside the signal: the page is still in the middle of window.open().
        QTimer.singleShot(0, self, lambda: self._open(url, POPUP))

    # -- loads and the page log ---------------------------------------------------------

    def _loading_changed(self, info: QWebEngineLoadingInfo) -> None:
        status = info.status()
        if status == QWebEngineLoadingInfo.LoadStatus.LoadStartedStatus:
            self._loading = True
            return
        self._loading = False
        http_status = (
            info.errorCode()
            if info.errorDomain() == QWebEngineLoadingInfo.ErrorDomain.HttpStatusCodeDomain
            else None
        )
        site_answered = status == QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus or (
            status == QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus
            and http_status is not None
            and not info.isErrorPage()
        )
        if site_answered:
            self._document = (http_status, _headers(info.responseHeaders()))
            self._document_chain = tuple(self._chain[:-1])
            self._show("load")
            self.collect_statuses()
        elif status == QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus:
            self.load_failed.emit(url_text(info.url()), info.errorString())

    def _url_changed(self, url: QUrl) -> None:
        if self._loading or self._document is None:
            return  # a new document: logged when it has loaded
        if url_text(url) == self._last_shown_url:
            return
        self._show("same_document")

    def _show(self, how: str) -> None:
        url = url_text(self.page.url())
        title = self.page.title()
        at = now_utc()
        status, headers = self.document_status()
        self._last_shown_url = url
        self._pending_shown += 1

        def hashed(html: Any) -> None:
            self._pending_shown -= 1
            if self._closed:
                return
            digest = hashlib.sha256(str(html or "").encode("utf-8")).hexdigest()
            shown = PageShown(
                url=url,
                title=title,
                at=at,
                http_status=status,
                headers=headers,
                document_sha256=digest,
                how=how,
            )
            self._pages.append(shown)
            self.page_shown.emit(shown)

        self.page.toHtml(hashed)

    # -- requests -----------------------------------------------------------------------

    def _intercepted(self, info: QWebEngineUrlRequestInfo) -> None:
        method = bytes(info.requestMethod().data()).decode("latin-1").upper()
        url = info.requestUrl()
        text = url_text(url)
        what = "request"
        reason: str | None = None
        if method not in ALLOWED_METHODS:
            reason = (
                f"Only GET and HEAD requests leave the evidence browser; the page's {method} "
                "request was not sent."
            )
        else:
            what = "address"
            reason = address_refusal(url, self._allow)
        if reason is not None:
            info.block(True)
        self.last_request_at = now_monotonic()
        seen = RequestSeen(
            url=text,
            method=method,
            resource_type=resource_type_name(info.resourceType()),
            at=now_utc(),
            blocked=reason is not None,
            reason=reason,
        )
        self._requests.append(seen)
        self.request_seen.emit(seen)
        if reason is not None:
            self._block(what, text, reason)

    def _merge_statuses(self, result: Any) -> None:
        try:
            entries = json.loads(result) if isinstance(result, str) else []
        except ValueError:
            return
        for entry in entries:
            # [url, status, is_navigation]; status 0: blocked, cross-origin without
            # CORS, or not known yet.
            if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[1], int | float):
                status = int(entry[1])
                if status > 0:
                    self._statuses[str(entry[0])] = status

    def _with_status(self, request: RequestSeen) -> RequestSeen:
        if request.blocked or request.status is not None:
            return request
        status = self._statuses.get(request.url)
        if status is None:
            return request
        return RequestSeen(
            url=request.url,
            method=request.method,
            resource_type=request.resource_type,
            at=request.at,
            status=status,
            blocked=request.blocked,
            reason=request.reason,
        )

    # -- what the page is refused -------------------------------------------------------

    def _block(self, what: str, url: str, detail: str) -> None:
        if self._closed:
            return
        self._blocked.append(Blocked(what=what, url=url, detail=detail, at=now_utc()))
        self.blocked.emit(what, url, detail)

    def _download_requested(self, download: QWebEngineDownloadRequest) -> None:
        if grab.is_own_save(download):
            return  # the capture's own MHTML, written to its private directory
        download.cancel()
        name = download.suggestedFileName() or download.downloadFileName()
        self._block("download", url_text(download.url()), DOWNLOAD_DETAIL.format(name=name))

    def _permission(self, permission: QWebEnginePermission) -> None:
        # Qt 6.8+ also emits the deprecated featurePermissionRequested for the same
        # request; denying here answers both (its own answer, setFeaturePermission, is
        # deprecated and would warn).
        permission.deny()
        kind = permission.permissionType().name
        self._block("permission", url_text(permission.origin()), f"{kind} was refused.")

    def _sign_in(self, url: QUrl, authenticator: QAuthenticator) -> None:
        self._refuse_sign_in(
            url_text(url),
            authenticator,
            "The site asked for a user name and password; the evidence browser never signs in.",
        )

    def _proxy_sign_in(self, url: QUrl, authenticator: QAuthenticator, host: str) -> None:
        self._refuse_sign_in(
            url_text(url), authenticator, f"The proxy {host} asked for a password."
        )

    def _refuse_sign_in(self, url: str, authenticator: QAuthenticator, detail: str) -> None:
        # Qt cancels a sign-in only when the handler makes the authenticator null; left
        # alone, empty credentials are sent and the site asks again, for ever.
        if not null_authenticator(authenticator):
            self.page.triggerAction(QWebEnginePage.WebAction.Stop)  # ends it, a retry late
        if self._blocked and self._blocked[-1].what == "sign_in" and self._blocked[-1].url == url:
            return  # the same refusal, asked again before the stop took effect
        self._block("sign_in", url, detail)

    def _full_screen(self, request: QWebEngineFullScreenRequest) -> None:
        request.reject()
        self._block("other", url_text(request.origin()), "Full screen was refused.")

    def _file_system(self, request: QWebEngineFileSystemAccessRequest) -> None:
        request.reject()
        self._block("other", url_text(request.origin()), "Access to files was refused.")

    def _protocol_handler(self, request: QWebEngineRegisterProtocolHandlerRequest) -> None:
        request.reject()
        self._block("other", url_text(request.origin()), "A protocol handler was refused.")

    def _web_auth(self, request: QWebEngineWebAuthUxRequest) -> None:
        request.cancel()
        self._block("other", url_text(self.page.url()), "Web authentication was refused.")


def _headers(raw: Any) -> tuple[tuple[str, str], ...]:
    """``QMultiMap<QByteArray, QByteArray>`` (a dict of lists in Python) as pairs."""
    pairs: list[tuple[str, str]] = []
    for name, values in dict(raw or {}).items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((_text(name), _text(value)))
    return tuple(pairs)


def _text(value: Any) -> str:
    data = bytes(value.data()) if hasattr(value, "data") else bytes(value)
    return data.decode("latin-1")


class SettleWatch(QObject):
    """Tells when a headless page has settled: loaded AND the network quiet for
    :data:`QUIET_MS`, or the deadline passed (``settled(False)``), whichever is first.

    A page that never finishes loading (a request the server holds open) still ends at
    the deadline; the capture then takes what is shown, with a note saying so.
    """

    settled = Signal(bool)
    _POLL_MS = 100

    def __init__(
        self,
        engine: EvidenceEngine,
        *,
        deadline_s: float,
        quiet_ms: int = QUIET_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._quiet_s = quiet_ms / 1000
        self._deadline = now_monotonic() + deadline_s
        self._done = False
        self._timer = QTimer(self)
        self._timer.setInterval(self._POLL_MS)
        self._timer.timeout.connect(self._check)
        self._timer.start()

    def stop(self) -> None:
        self._done = True
        self._timer.stop()

    def _check(self) -> None:
        if self._done:
            return
        now = now_monotonic()
        engine = self._engine
        quiet = now - engine.last_request_at >= self._quiet_s
        if engine.has_document and not engine.loading and quiet:
            self.stop()
            self.settled.emit(True)
        elif now >= self._deadline:
            self.stop()
            self.settled.emit(False)
