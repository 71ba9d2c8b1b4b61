"""The only package that speaks SQL. Services call it; widgets never do.

The names below load on first use (PEP 562), so a module of this package can run on its
own without importing the rest: the chain walk's child processes start in milliseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caseview.storage.casefile import CaseFile, default_case_file_path, open_case_file
    from caseview.storage.store import Store

__all__ = ["CaseFile", "Store", "default_case_file_path", "open_case_file"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from caseview.storage import store

        return store.Store
    if name in __all__:
        from caseview.storage import casefile

        return getattr(casefile, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
