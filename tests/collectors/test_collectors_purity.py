"""collectors/ stays a pure capture package: no caseview, ui or Qt, no database."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import collectors

PACKAGE = Path(collectors.__file__).parent
SOURCES = sorted(PACKAGE.glob("*.py"))
FORBIDDEN = {"caseview", "ui", "PySide6", "sqlite3", "sqlite_utils"}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_no_forbidden_imports(source: Path) -> None:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    assert not roots & FORBIDDEN, f"{source.name} imports {roots & FORBIDDEN}"


def test_importing_collectors_loads_no_caseview_ui_or_qt() -> None:
    code = (
        "import sys, collectors; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('caseview', 'ui', 'PySide6', 'sqlite3', 'sqlite_utils')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api() -> None:
    assert collectors.TOOL_NAME == "caseview-collectors"
    assert collectors.USER_AGENT.startswith(f"Caseview/{collectors.TOOL_VERSION} ")
    for name in collectors.__all__:
        assert hasattr(collectors, name), name
