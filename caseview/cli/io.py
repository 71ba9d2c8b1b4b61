"""Talking to the person at the terminal: passwords, output, errors."""

from __future__ import annotations

import getpass
import io
import json
import os
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TextIO

import ethics
from caseview.errors import UsageError


def read_secret(prompt: str, *, env: str, confirm: bool = False) -> str:
    """A password from ``env`` if set; else asked at the terminal; else one line of stdin.

    An empty ``env`` counts as unset: no password is empty, so using it would only count
    a failed login (five lock the account) for a variable someone meant to clear.
    """
    value = os.environ.get(env)
    if value:
        return utf8_text(value, "The password")
    try:
        return utf8_text(_ask_secret(prompt, env=env, confirm=confirm), "The password")
    except UnicodeDecodeError:  # a terminal or pipe in another character set
        raise _not_utf8("The password") from None


def utf8_text(text: str, what: str) -> str:
    """``text`` if it is text; a usage error if it holds bytes in another character set
    than UTF-8 (Python keeps them as lone surrogates, which nothing can store or hash)."""
    if re.search("[\udc80-\udcff]", text):
        raise _not_utf8(what)
    return text


def _not_utf8(what: str) -> UsageError:
    return UsageError(
        f"{what} is not UTF-8 text: the terminal may use another character set. Set it "
        "to UTF-8 and try again."
    )


def _ask_secret(prompt: str, *, env: str, confirm: bool) -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            first = getpass.getpass(prompt)
            if confirm and getpass.getpass("Type it again: ") != first:
                raise UsageError("The two passwords differ. Run the command again.")
        except EOFError:  # Ctrl+D at the prompt
            raise UsageError(f"No password given. Type it when asked, or set {env}.") from None
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise UsageError(
            f"No password given. Set {env}, or run the command in a terminal to be asked."
        )
    return line.rstrip("\r\n")


# Characters that a terminal obeys instead of showing: C0 controls (ESC starts the
# sequences that retitle or clear a terminal, hide text or plant links), DEL, C1 controls
# (0x9b is a one-byte CSI), and the bidirectional marks and overrides that make text read
# other than it is stored (U+202E turns "exe.txt" round). Page titles, file names and
# people's words are shown with these escaped, never raw. (Lone surrogates, from bytes
# in a command line that are not UTF-8, cannot be printed at all: escaped too.)
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and newline, DEL, C1
    "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"  # bidi, line breaks
    "\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """``text`` with every control and bidi character shown escaped (``\\x1b``,
    ``\\u202e``); newlines and tabs are kept, for layout."""
    return _UNSAFE.sub(_escape, text)


def safe_cell(text: str) -> str:
    """One line of text: as :func:`safe_text`, and newlines and tabs escaped too."""
    return _UNSAFE.sub(_escape, text).replace("\n", "\\n").replace("\t", "\\t")


def safe_json(obj: object) -> str:
    """``obj`` as JSON text with the terminal's control characters escaped.

    ``json.dumps`` escapes C0 but, with ``ensure_ascii=False``, leaves DEL, C1 and the
    bidi marks raw; outside strings JSON is plain ASCII, so each can be replaced by its
    ``\\uXXXX`` escape, which decodes to the same character.
    """
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class Output:
    """Human text, or with ``--json`` exactly one JSON object on stdout.

    Everything printed passes through here, and here every control character that came
    from a page, a file or a person is escaped (:func:`safe_text`, :func:`safe_json`).
    """

    def __init__(
        self, as_json: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.as_json = as_json
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def result(self, obj: Mapping[str, object], text: str) -> None:
        if self.as_json:
            _write(self.stdout, safe_json(obj) + "\n")
        elif text:
            _write(self.stdout, safe_text(text.rstrip("\n")) + "\n")

    def note(self, text: str) -> None:
        """Advice for the person, never part of the result: always on stderr."""
        _write(self.stderr, safe_text(text.rstrip("\n")) + "\n")

    def error(self, message: str, exit_code: int, rule: str | None = None) -> None:
        _write(self.stderr, f"caseview: {safe_text(message)}\n")
        if self.as_json:
            obj: dict[str, object] = {"error": message, "exit_code": exit_code}
            if rule:
                obj["rule"] = rule
            _write(self.stdout, safe_json(obj) + "\n")


def _write(stream: TextIO, text: str) -> None:
    """Write and flush, so that a reader gone away is met here and nowhere else.

    'caseview audit | head' closes the pipe early: what the command did stays done (its
    exit code says so), and the rest of the output has nowhere to go, so it goes nowhere
    rather than becoming a traceback, or 'unexpected' error, about a closed pipe.
    """
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())  # also for the flush when Python exits
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass  # not a real file (a test's buffer): nothing will flush it at exit


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes: Chinese, Japanese and Korean characters
    (and emoji) take two, combining accents none, so a table of names in any script
    still lines up."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers], *[[safe_cell(str(c)) for c in row] for row in rows]]
    widths = [max(columns(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            cell + " " * (width - columns(cell)) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def when(moment: datetime) -> str:
    """A time as people in the UK read it, with UTC beside it:
    "2026-07-01 00:30 BST (2026-06-30 23:30 UTC)"."""
    utc = moment.astimezone(UTC)
    return f"{ethics.uk_local(utc)} ({utc:%Y-%m-%d %H:%M} UTC)"
