"""One exception hierarchy. Every message is a sentence a social worker can act on.

Each class carries the CLI exit code it maps to (DESIGN section 7), so the command
line and the desktop app report the same thing the same way.
"""

from __future__ import annotations


class CaseviewError(Exception):
    """Something went wrong that the user can understand and act on."""

    exit_code = 1


class UsageError(CaseviewError):
    """The request itself is malformed (a missing option, an unknown value)."""

    exit_code = 2


class ValidationError(CaseviewError):
    """Input data (a file, a field) is not acceptable; nothing was stored."""

    exit_code = 1


class NotFound(CaseviewError):
    """The thing asked for does not exist (or the user may not know that it does)."""

    exit_code = 1


class CaseFileError(CaseviewError):
    """The case file cannot be opened as a Caseview case file."""

    exit_code = 1


class DamagedCaseFile(CaseFileError):
    """A case file (SQLite's header is there) that SQLite cannot read as a whole.
    ``detail`` is what SQLite said. For ``verify``, a finding, not a failure to run."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


class PermissionDenied(CaseviewError):
    """A permission rule refused the action. The message names the rule."""

    exit_code = 3

    def __init__(self, message: str, rule: str = "permission") -> None:
        super().__init__(message)
        self.rule = rule


class LoginFailed(PermissionDenied):
    """Wrong user name or password, or the account is locked or inactive."""

    def __init__(self, message: str, rule: str = "login") -> None:
        super().__init__(message, rule)


class GateRefused(PermissionDenied):
    """The ethics gate refused: blocking findings, or a capture outside what was approved."""

    def __init__(self, message: str, rule: str = "gate", findings: tuple[object, ...] = ()) -> None:
        super().__init__(message, rule)
        self.findings = findings


class CaptureError(CaseviewError):
    """A capture could not be completed (network, size, deadline, content)."""

    exit_code = 1


class IntegrityError(CaseviewError):
    """The case file's audit chain or evidence failed verification."""

    exit_code = 4


class NotARegularFile(UsageError):
    """A path given is not a regular file: a folder, a device, a named pipe, a link."""

    exit_code = 2


class FileError(CaseviewError):
    """A file could not be read or written (disk full, no permission); nothing changed."""

    exit_code = 1
