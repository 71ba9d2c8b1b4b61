"""Just enough TOML writing for the justification file form (tomllib only reads).

Values are written as basic strings, integers, booleans and one-line arrays, which
covers every key of the contract; anything else is a programming error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}

TomlScalar = str | int | bool
TomlValue = TomlScalar | Sequence[TomlScalar]


def toml_string(text: str) -> str:
    """A TOML basic string; control characters are escaped, other Unicode kept as is."""
    out: list[str] = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            # TOML forbids raw control characters in basic strings.
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: TomlValue) -> str:
    """The TOML spelling of a value (bool is checked before int: True is an int)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    return "[" + ", ".join(toml_value(item) for item in value) + "]"
