"""Preparing Qt for QtWebEngine, and telling a person what to do when it cannot start."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from ui.browser import SANDBOX_ENV, _import_problem, engine_available, prepare_environment


def run_python(code: str, **env: str | None) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in env}
    environ.update({k: v for k, v in env.items() if v is not None})
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, check=True
    )
    return done.stdout.strip()


def test_the_sandbox_is_turned_off_for_root_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SANDBOX_ENV, raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    prepare_environment()
    assert SANDBOX_ENV not in os.environ

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    prepare_environment()
    assert os.environ[SANDBOX_ENV] == "1"


def test_a_sandbox_setting_already_made_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SANDBOX_ENV, "0")
    monkeypatch.setattr(os, "geteuid", lambda: 0)

    prepare_environment()

    assert os.environ[SANDBOX_ENV] == "0"


def test_opengl_sharing_is_declared_before_the_application_exists() -> None:
    out = run_python(
        "from ui.browser import prepare_environment; prepare_environment(); "
        "from PySide6.QtCore import QCoreApplication, Qt; "
        "print(QCoreApplication.testAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts))"
    )
    assert out == "True"


def test_importing_the_package_loads_no_qt() -> None:
    out = run_python(
        "import sys, ui.browser; print([m for m in sys.modules if m.startswith('PySide6')])"
    )
    assert out == "[]"


def test_the_engine_is_available_here() -> None:
    assert engine_available() is None


def test_without_the_addons_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def missing(name: str, *args: object) -> object:
        return None if name.startswith("PySide6.QtWebEngine") else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", missing)

    message = engine_available()

    assert message is not None
    assert "install PySide6-Addons at the same version as PySide6-Essentials" in message


def test_without_a_display_it_says_to_use_offscreen() -> None:
    out = run_python(
        "from ui.browser import engine_available; print(engine_available())",
        DISPLAY=None,
        WAYLAND_DISPLAY=None,
        QT_QPA_PLATFORM=None,
    )
    assert out == (
        "There is no display for the evidence browser: set QT_QPA_PLATFORM=offscreen or "
        "run Caseview with a display."
    )


def test_offscreen_needs_no_display() -> None:
    out = run_python(
        "from ui.browser import engine_available; print(engine_available())",
        DISPLAY=None,
        WAYLAND_DISPLAY=None,
        QT_QPA_PLATFORM="offscreen",
    )
    assert out == "None"


def test_a_missing_system_library_is_named() -> None:
    message = _import_problem("libnss3.so: cannot open shared object file: No such file")

    assert "system library libnss3.so is missing" in message
