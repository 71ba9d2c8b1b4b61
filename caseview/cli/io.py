"""Talking to the person at the terminal: passwords, output, errors."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TextIO

import ethics
from caseview.errors import UsageError


def read_secret(prompt: str, *, env: str, confirm: bool = False) -> str:
    """A password from ``env`` if set; else asked at the terminal; else one line of stdin."""
    value = os.environ.get(env)
    if value is not None:
        return value
    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("Type it again: ") != first:
            raise UsageError("The two passwords differ. Run the command again.")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise UsageError(
            f"No password given. Set {env}, or run the command in a terminal to be asked."
        )
    return line.rstrip("\r\n")


class Output:
    """Human text, or with ``--json`` exactly one JSON object on stdout."""

    def __init__(
        self, as_json: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.as_json = as_json
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def result(self, obj: Mapping[str, object], text: str) -> None:
        if self.as_json:
            self.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        elif text:
            self.stdout.write(text.rstrip("\n") + "\n")

    def note(self, text: str) -> None:
        """Advice for the person, never part of the result: always on stderr."""
        self.stderr.write(text.rstrip("\n") + "\n")

    def error(self, message: str, exit_code: int, rule: str | None = None) -> None:
        self.stderr.write(f"caseview: {message}\n")
        if self.as_json:
            obj: dict[str, object] = {"error": message, "exit_code": exit_code}
            if rule:
                obj["rule"] = rule
            self.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def when(moment: datetime) -> str:
    """A time as people in the UK read it, with UTC beside it:
    "2026-07-01 00:30 BST (2026-06-30 23:30 UTC)"."""
    utc = moment.astimezone(UTC)
    return f"{ethics.uk_local(utc)} ({utc:%Y-%m-%d %H:%M} UTC)"
