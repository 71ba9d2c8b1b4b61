"""Before Qt is loaded: a machine whose desktop lacks a library Qt needs for its window is
told which package to install, instead of Qt aborting the process with advice to
reinstall the application."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from caseview.cli import display

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
"""


@pytest.fixture
def ldd(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """ldd as on a desktop without libxcb-cursor0 and libxkbcommon-x11-0."""
    calls: list[list[str]] = []

    def run(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, LDD_OUTPUT, "")

    monkeypatch.setattr(display.subprocess, "run", run)
    return calls


X11 = {"DISPLAY": ":0"}


def test_the_missing_libraries_are_named_with_their_packages(ldd: list[list[str]]) -> None:
    with pytest.raises(display.NoDisplay) as refused:
        display.require_display("gui", X11)
    said = str(refused.value)
    assert "libxcb-cursor.so.0, libxkbcommon-x11.so.0" in said
    assert "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0" in said
    assert ldd and ldd[0][-1].endswith("libqxcb.so")


@pytest.mark.parametrize(
    ("environ", "plugin"),
    [
        ({"DISPLAY": ":0"}, "libqxcb.so"),
        ({"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "wayland;xcb"}, "libqwayland.so"),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "libqxcb.so"),
    ],
)
def test_the_plugin_that_will_open_the_window_is_the_one_checked(
    ldd: list[list[str]], environ: dict[str, str], plugin: str
) -> None:
    assert display.missing_libraries(environ, "linux") == [
        "libxcb-cursor.so.0",
        "libxkbcommon-x11.so.0",
    ]
    assert ldd[-1][-1].endswith(plugin)


@pytest.mark.parametrize(
    ("environ", "platform"),
    [
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux"),  # tests, kiosks
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux"),  # Qt chooses
        ({"DISPLAY": ":0"}, "win32"),
    ],
)
def test_nothing_is_checked_where_no_such_plugin_will_be_used(
    ldd: list[list[str]], environ: dict[str, str], platform: str
) -> None:
    assert display.missing_libraries(environ, platform) == []
    assert ldd == []


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libEGL.so.1", "libegl1"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ],
)
def test_debian_package_names_follow_the_naming_rule(soname: str, package: str) -> None:
    assert display.debian_package(soname) == package
