"""Every command the parser accepts reaches a handler, though most load lazily."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from caseview.cli import commands, parser


def _commands() -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    root = parser.build()
    sub = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            found += [(name, action) for action in nested[0].choices]
        else:
            found.append((name, None))
    return found


@pytest.mark.parametrize("key", _commands(), ids=lambda k: " ".join(filter(None, k)))
def test_every_command_has_a_handler(key: tuple[str, str | None]) -> None:
    assert callable(commands.handler_for(*key))


def test_starting_the_cli_loads_neither_the_http_nor_the_pdf_stack() -> None:
    code = (
        "import sys, caseview.cli.commands; "
        "print(sorted(m for m in ('requests', 'bs4', 'reportlab', 'PIL', 'collectors') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
