"""Is there a screen for the desktop app? Asked before Qt is loaded.

Without one, Qt aborts the whole process with a message about reinstalling the
application, which is wrong and unhelpful: the person needs ``--no-gui`` or a desktop.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from caseview.errors import CaseviewError

# Qt platforms that draw without a desktop session (tests, remote viewers, kiosks).
_NO_DESKTOP_NEEDED = frozenset(
    {"offscreen", "minimal", "minimalegl", "vnc", "linuxfb", "eglfs", "vkkhrdisplay"}
)


class NoDisplay(CaseviewError):
    """The desktop app was asked for where there is no screen to show it on."""


def display_problem(environ: Mapping[str, str], platform: str = sys.platform) -> str:
    """Why the desktop app cannot open here, or "" if it can (as far as can be told).

    Only Linux and the BSDs need a display server named in the environment; Windows and
    macOS always have a screen for a signed-in user.
    """
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return ""
    # QT_QPA_PLATFORM may list fallbacks ("wayland;xcb") and options ("vnc:size=800x600").
    chosen = [
        name.split(":", 1)[0].strip().lower()
        for name in environ.get("QT_QPA_PLATFORM", "").split(";")
        if name.strip()
    ]
    x11 = bool(environ.get("DISPLAY"))
    wayland = bool(environ.get("WAYLAND_DISPLAY"))
    if not chosen:
        usable = x11 or wayland
    else:
        usable = any(
            name in _NO_DESKTOP_NEEDED
            or (name == "xcb" and x11)
            or (name.startswith("wayland") and wayland)
            for name in chosen
        )
    if usable:
        return ""
    return (
        "There is no display to show the desktop app on (no DISPLAY or WAYLAND_DISPLAY is "
        "set: this may be an SSH session, a container or a server)."
    )


def require_display(command: str, environ: Mapping[str, str]) -> None:
    """Raise NoDisplay, saying what to do instead, when the app cannot be shown here."""
    problem = display_problem(environ)
    if not problem:
        return
    if command == "demo":
        advice = (
            " Run 'caseview demo --no-gui' to build the demo case file and use it from the "
            "command line, or run 'caseview demo' from a desktop session."
        )
    else:
        advice = (
            " Run Caseview from a desktop session, or use its commands (see 'caseview --help'); "
            "'caseview demo --no-gui' builds a demo case file without opening the app."
        )
    raise NoDisplay(problem + advice)
