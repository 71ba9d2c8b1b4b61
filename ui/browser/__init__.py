"""The evidence browser: web pages looked at under an approved request, kept as seen.

DESIGN section 4a. QtWebEngine (Chromium, from PySide6-Addons) renders the page; Caseview
decides what it may do:

- :mod:`ui.browser.engine` - :class:`~ui.browser.engine.EvidenceEngine`, one
  off-the-record profile and page per viewing session, with the browser's rules (only
  GET and HEAD leave, every top-level navigation put to the gate, nothing injected into
  the page) and its logs (pages shown, requests, what was blocked or refused);
- :mod:`ui.browser.grab` - capture of what is shown: MHTML, rendered DOM, visible text
  and a full-page screenshot;
- :mod:`ui.browser.render` - the headless child process (``python -m ui.browser.render``)
  that ``collectors.rendered.render`` drives for ``capture --render``.

Importing this package is light: it imports no Qt. QtWebEngine is loaded by
``engine``/``grab``, and :func:`prepare_environment` must run before the
``QApplication`` exists.
"""

from __future__ import annotations

import importlib.util
import os
import sys

SANDBOX_ENV = "QTWEBENGINE_DISABLE_SANDBOX"
PLATFORM_ENV = "QT_QPA_PLATFORM"
_HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


def prepare_environment() -> None:
    """What QtWebEngine needs before Qt starts; call it before the QApplication exists.

    - As root (containers, CI) Chromium's sandbox cannot start, so it is turned off with
      ``QTWEBENGINE_DISABLE_SANDBOX=1``; never for an ordinary user, and never when the
      variable is already set either way.
    - QtWebEngine shares OpenGL contexts with the application, which Qt requires to be
      declared (``AA_ShareOpenGLContexts``) before the QCoreApplication is created; once
      it exists it is too late and this does nothing.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0 and SANDBOX_ENV not in os.environ:
        os.environ[SANDBOX_ENV] = "1"
    # Imported here, not at the top, to keep importing the package free of Qt.
    from PySide6.QtCore import QCoreApplication, Qt

    if QCoreApplication.instance() is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def engine_available() -> str | None:
    """None if the evidence browser can start here, else one sentence saying what to do."""
    for module in ("PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets"):
        if importlib.util.find_spec(module) is None:
            return _install_addons()
    problem = _platform_problem()
    if problem is not None:
        return problem
    from PySide6.QtCore import QCoreApplication, Qt

    app = QCoreApplication.instance()
    if app is not None and not app.testAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts):
        return (
            "The evidence browser was not prepared before the application started: "
            "call ui.browser.prepare_environment() before creating the QApplication."
        )
    try:
        # Loading the library is the only way to know its system libraries are there.
        import PySide6.QtWebEngineCore
        import PySide6.QtWebEngineWidgets  # noqa: F401
    except ImportError as exc:
        return _import_problem(str(exc))
    return None


def _install_addons() -> str:
    from PySide6 import __version__

    return (
        "The evidence browser needs QtWebEngine: install PySide6-Addons at the same "
        f"version as PySide6-Essentials ({__version__})."
    )


def _import_problem(error: str) -> str:
    if "cannot open shared object file" in error:
        library = error.split(":")[0].strip()
        return (
            f"The evidence browser cannot start because the system library {library} is "
            "missing: ask your administrator to install QtWebEngine's system libraries."
        )
    return _install_addons()


def _platform_problem() -> str | None:
    """On Linux and other X11/Wayland systems Qt needs a display, or a headless platform."""
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return None
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is not None:
        return None  # the platform is already up
    chosen = os.environ.get(PLATFORM_ENV, "").split(":")[0].strip().lower()
    if chosen in _HEADLESS_PLATFORMS:
        return None
    has_x = bool(os.environ.get("DISPLAY"))
    has_wayland = bool(os.environ.get("WAYLAND_DISPLAY"))
    usable = {
        "": has_x or has_wayland,
        "xcb": has_x,
        "wayland": has_wayland,
        "wayland-egl": has_wayland,
    }.get(chosen, True)  # another platform plugin: trust the person who chose it
    if usable:
        return None
    return (
        "There is no display for the evidence browser: set QT_QPA_PLATFORM=offscreen or "
        "run Caseview with a display."
    )
