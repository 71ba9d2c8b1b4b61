"""ethics/ stays pure: the standard library and small pure libraries; no caseview, ui or Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ethics

PACKAGE = Path(ethics.__file__).parent
SOURCES = sorted(PACKAGE.glob("*.py"))
# Pure, I/O-free libraries ethics may use (tomli_w writes the justification file form;
# idna converts host names exactly as collectors does).
PURE_LIBRARIES = {"tomli_w", "idna"}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_imports_only_the_standard_library_pure_libraries_and_ethics(source: Path) -> None:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    outside = roots - set(sys.stdlib_module_names) - PURE_LIBRARIES - {"ethics", "__future__"}
    assert not outside, f"{source.name} imports {outside}"


def test_importing_ethics_loads_no_caseview_ui_or_qt() -> None:
    code = (
        "import sys, ethics; ethics.default_policy(); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('caseview', 'ui', 'PySide6')]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_shipped_policy_file_is_inside_the_package() -> None:
    assert (PACKAGE / "default_policy.toml").is_file()
