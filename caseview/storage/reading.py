"""How a case file is opened to be read without any chance of writing to it.

Kept apart and light (no imports of Caseview's own), as the chain walk's worker
processes open the file this way too.
"""

from __future__ import annotations

import os
from pathlib import Path


def read_only_uri(path: os.PathLike[str] | str) -> str:
    """The SQLite URI that opens ``path`` read-only.

    SQLite reads a file in WAL mode through a shared-memory file beside it, which it
    cannot create on a read-only disk or in a folder we may not write: there a file
    nobody here may change is opened as immutable, so it can still be read (and
    checked) where it is.
    """
    path = Path(path)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if unchangeable(path):
        uri += "&immutable=1"
    return uri


def unchangeable(path: Path) -> bool:
    """Neither the file nor its folder may be written by us, and no write is in flight."""
    pending = path.with_name(path.name + "-wal")
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return not writable and not pending.exists()
