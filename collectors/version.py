"""Who made a capture: the tool name, its version and the User-Agent it announces.

Provenance (Berkeley Protocol) records the tool and version of every capture, and a
site operator who sees our requests in a log should be able to tell what they were.
"""

from __future__ import annotations

from importlib import metadata

TOOL_NAME = "caseview-collectors"


def _distribution_version() -> str:
    # collectors ships inside the caseview distribution; a source checkout that was
    # never installed has no metadata, and then the version says so rather than lying.
    try:
        return metadata.version("caseview")
    except metadata.PackageNotFoundError:
        return "0+unknown"


TOOL_VERSION = _distribution_version()
USER_AGENT = f"Caseview/{TOOL_VERSION} (public-source capture; +contact in README)"
