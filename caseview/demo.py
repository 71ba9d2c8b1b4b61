"""A fictional demo case file: every name, place and account in it is invented.

The demo accounts share the password ``demo``, which the console and the window
title say plainly; they are created below the normal minimum length on purpose and
only here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import platformdirs

from caseview import accounts, audit, cases
from caseview.clock import system_clock
from caseview.domain import Role, User
from caseview.errors import CaseFileError
from caseview.storage import CaseFile, open_case_file, people

PASSWORD = "demo"
USERS = {
    "demo-manager": ("Dana Okafor (demo manager)", Role.MANAGER),
    "demo-worker": ("Sam Whitfield (demo worker)", Role.WORKER),
    "demo-auditor": ("Priya Lang (demo auditor)", Role.AUDITOR),
}


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("caseview", appauthor=False)) / "caseview-demo.db"


def build(path: Path) -> Path:
    """Create the demo case file at ``path``, replacing an earlier demo file there."""
    if path.exists():
        with open_case_file(path, read_only=True) as existing:
            names = {u.username for u in _all_users(existing)}
        if not names <= set(USERS):
            raise CaseFileError(
                f"{path} holds real accounts, so the demo will not overwrite it. "
                "Give the demo another path with --db."
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    with open_case_file(path, create=True) as casefile:
        with casefile.write() as conn:
            for username, (display, role) in USERS.items():
                accounts._insert(
                    conn,
                    username=username,
                    display_name=display,
                    role=role,
                    password=PASSWORD,
                    created_by=None,
                    clock=system_clock,
                )
        manager = accounts.login(casefile, "demo-manager", PASSWORD)
        case = cases.create_case(manager, "DEMO-0001", "Fictional family (demo data only)")
        cases.allocate(manager, case.id, "demo-worker")
        cases.add_subject(
            manager,
            case.id,
            "Jordan Example",
            "child",
            date_of_birth=date(2012, 5, 14),
            handles=["https://social.example/jordan.example"],
        )
        cases.add_subject(
            manager,
            case.id,
            "Alex Example",
            "parent",
            handles=["https://social.example/alex.example"],
        )
        with casefile.write() as conn:
            audit.record(
                conn,
                at=manager.now(),
                actor="demo-manager",
                action="demo.built",
                entity="case_file",
                data={"note": "fictional demo data"},
            )
    return path


def _all_users(casefile: CaseFile) -> list[User]:
    return [accounts.user_from_row(row) for row in people.list_users(casefile.conn)]


def describe(path: Path) -> str:
    return (
        f"Demo case file (fictional data only): {path}\n"
        f"Accounts: {', '.join(USERS)}; password for each: {PASSWORD}\n"
        f"Try: caseview --db {path} --user demo-worker case list\n"
    )
