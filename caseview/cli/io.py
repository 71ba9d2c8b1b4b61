"""Talking to the person at the terminal: passwords, output, errors."""

from __future__ import annotations

import codecs
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

# The longest password read from standard input (a line past this is not one).
LONGEST_SECRET = 64 * 1024


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
    # At most one line of a bounded length: stdin may be /dev/zero or a file with no
    # line break, which an unbounded readline would read until memory runs out.
    line = sys.stdin.readline(LONGEST_SECRET + 1) if sys.stdin is not None else ""
    if not line:
        raise UsageError(
            f"No password given. Set {env}, or run the command in a terminal to be asked."
        )
    secret = line.rstrip("\r\n")
    if len(secret) > LONGEST_SECRET:
        raise UsageError(
            f"What was read as the password is longer than {LONGEST_SECRET} characters, so "
            f"it is not one. Give the password on one line, or set {env}."
        )
    return secret


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


def safe_json(obj: object, *, ascii_only: bool = False) -> str:
    """``obj`` as JSON text with the terminal's control characters escaped.

    ``json.dumps`` escapes C0 but, with ``ensure_ascii=False``, leaves DEL, C1 and the
    bidi marks raw; outside strings JSON is plain ASCII, so each can be replaced by its
    ``\\uXXXX`` escape, which decodes to the same character. ``ascii_only`` escapes
    every other character too, for an output that cannot carry them (a Latin-1 locale).
    """
    text = json.dumps(obj, ensure_ascii=ascii_only, default=str)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# The longest line of an error message shown whole. A message quotes what was typed
# ("'…' is not a checkpoint"), and what was typed may be a pasted page.
LONGEST_ERROR_LINE = 1000


def shortened(message: str, most: int = LONGEST_ERROR_LINE) -> str:
    """``message`` with each line longer than ``most`` cut in its middle, where a quoted
    value sits: its start says what is wrong and its end what to do, so both are kept."""
    lines = message.split("\n")
    for index, line in enumerate(lines):
        if len(line) > most:
            tail = most // 4
            lines[index] = f"{line[: most - tail]} … {line[-tail:]}"
    return "\n".join(lines)


class Output:
    """Human text, or with ``--json`` exactly one JSON object on stdout.

    Everything printed passes through here, and here every control character that came
    from a page, a file or a person is escaped (:func:`safe_text`, :func:`safe_json`).
    ``lost`` says why the result could not be written, if it could not (stdout closed,
    or a full disk behind it): the command's caller then says so.
    """

    def __init__(
        self, as_json: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.as_json = as_json
        # Python gives None for a stream that was closed when it started ('>&-').
        self.stdout: TextIO | None = stdout if stdout is not None else sys.stdout
        self.stderr: TextIO | None = stderr if stderr is not None else sys.stderr
        self.lost = ""

    def result(self, obj: Mapping[str, object], text: str) -> None:
        if self.as_json:
            self._out(safe_json(obj, ascii_only=not _carries_unicode(self.stdout)) + "\n")
        elif text:
            self._out(safe_text(text.rstrip("\n")) + "\n")

    def note(self, text: str) -> None:
        """Advice for the person, never part of the result: always on stderr."""
        _write(self.stderr, safe_text(text.rstrip("\n")) + "\n")

    def error(self, message: str, exit_code: int, rule: str | None = None) -> None:
        message = shortened(message)
        # A message that cannot be shown (stderr closed) is lost: there is nowhere else
        # to say so, and the exit code still tells.
        _write(self.stderr, f"caseview: {safe_text(message)}\n")
        if self.as_json and not self.lost:
            obj: dict[str, object] = {"error": message, "exit_code": exit_code}
            if rule:
                obj["rule"] = rule
            self._out(safe_json(obj, ascii_only=not _carries_unicode(self.stdout)) + "\n")

    def _out(self, text: str) -> None:
        why = _write(self.stdout, text)
        self.lost = self.lost or why


def _carries_unicode(stream: TextIO | None) -> bool:
    """Can ``stream`` carry any character (a UTF encoding), or only some?"""
    encoding = str(getattr(stream, "encoding", None) or "utf-8")
    try:
        return codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        return False


def _encodable(stream: TextIO, text: str) -> str:
    """``text`` with what the stream's encoding cannot carry (a name in Chinese on a
    Latin-1 terminal, "…" on an ASCII one) written as escapes, not an error."""
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return text
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        pass
    return text


def _write(stream: TextIO | None, text: str) -> str:
    """Write and flush, so that a reader gone away is met here and nowhere else; return
    why the text could not be written ("" when it was, or nobody is reading any more).

    'caseview audit | head' closes the pipe early: what the command did stays done (its
    exit code says so), and the rest of the output has nowhere to go, so it goes nowhere
    rather than becoming a traceback, or 'unexpected' error, about a closed pipe. A
    stream closed from the start, or a full disk behind it, loses the text too; that is
    returned, for the command to say its result was lost.
    """
    if stream is None:
        return "it was closed"
    try:
        stream.write(_encodable(stream, text))
        stream.flush()
    except BrokenPipeError:
        _silence(stream)
    except (OSError, ValueError) as exc:  # ValueError: a file object closed meanwhile
        _silence(stream)
        return str(getattr(exc, "strerror", None) or exc)
    return ""


def _silence(stream: TextIO) -> None:
    """Send what is left for ``stream`` nowhere, so the flush when Python exits does not
    fail again (and print a traceback after all)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
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
