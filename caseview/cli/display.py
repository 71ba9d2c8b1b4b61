"""Is there a screen for the desktop app? Asked before Qt is loaded.

Without one, Qt aborts the whole process with a message about reinstalling the
application, which is wrong and unhelpful: the person needs ``--no-gui`` or a desktop.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

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


def _window_plugin(environ: Mapping[str, str]) -> str | None:
    """The Qt platform that will open the window when it is sure to be "xcb" (X11) or
    "wayland", else None (one that needs no desktop, or a choice Qt makes itself)."""
    chosen = [
        name.split(":", 1)[0].strip().lower()
        for name in environ.get("QT_QPA_PLATFORM", "").split(";")
        if name.strip()
    ]
    if chosen:
        first = chosen[0]
        return "wayland" if first.startswith("wayland") else "xcb" if first == "xcb" else None
    if environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return "xcb"
    return None


def missing_libraries(environ: Mapping[str, str], platform: str = sys.platform) -> list[str]:
    """The system libraries Qt's window plugin needs that this machine lacks (as ``ldd``
    reports them), or [] when none are missing or it cannot be told.

    Since Qt 6.5 the X11 plugin will not load without libxcb-cursor0, and Qt then aborts
    the process with advice to reinstall the application: the person needs to install
    one system package instead.
    """
    if not platform.startswith("linux"):
        return []
    plugin = _window_plugin(environ)
    spec = importlib.util.find_spec("PySide6") if plugin else None
    ldd = shutil.which("ldd")
    if spec is None or not spec.submodule_search_locations or ldd is None:
        return []
    folder = Path(next(iter(spec.submodule_search_locations)))
    library = folder / "Qt" / "plugins" / "platforms" / f"libq{plugin}.so"
    if not library.is_file():
        return []
    try:
        found = subprocess.run(
            [ldd, str(library)], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(
        {line.split("=>")[0].strip() for line in found.splitlines() if "not found" in line}
    )


def debian_package(soname: str) -> str:
    """The Debian and Ubuntu package that usually holds ``soname``, by their naming rule:
    libxcb-cursor.so.0 is in libxcb-cursor0, libxkbcommon-x11.so.0 in libxkbcommon-x11-0."""
    base, _, version = soname.partition(".so")
    version = version.lstrip(".").split(".")[0]
    base = base.lower()
    if not version:
        return base
    return f"{base}-{version}" if base[-1:].isdigit() else f"{base}{version}"


def require_display(command: str, environ: Mapping[str, str]) -> None:
    """Raise NoDisplay, saying what to do instead, when the app cannot be shown here."""
    problem = display_problem(environ)
    if not problem:
        missing = missing_libraries(environ)
        if not missing:
            return
        packages = " ".join(dict.fromkeys(debian_package(name) for name in missing))
        problem = (
            "The desktop app cannot open a window: system libraries that Qt needs for it are "
            f"missing ({', '.join(missing)}). Install them (on Debian and Ubuntu: sudo "
            f"apt-get install {packages}; the README lists them all), then run it again. "
            "Meanwhile every command works from the command line (see 'caseview --help')."
        )
        raise NoDisplay(problem)
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
