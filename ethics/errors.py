"""The errors the ethics package raises.

`ethics` must not import `caseview`, so it has its own small root; the service layer
wraps these in its `CaseviewError` hierarchy. Every message is a sentence a social
worker (or an information-governance officer editing a policy file) can act on.
"""

from __future__ import annotations


class EthicsError(Exception):
    """Root of the errors raised by `ethics`."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The key to fix, so a form or a CLI can point at it; None for whole-file errors.
        self.key = key


class JustificationFormatError(EthicsError):
    """A justification file or mapping that cannot be read as a justification.

    Raised for the *shape* of the data (syntax, unknown or missing keys, wrong types,
    dates, enum values). Empty text is not a format error: the gate judges that.
    """

    def __init__(self, message: str, *, key: str | None = None, line: int | None = None) -> None:
        super().__init__(message, key=key)
        # The TOML line of a syntax error, when the parser reported one.
        self.line = line


class PolicyError(EthicsError):
    """An organisation's policy file that cannot be used."""
