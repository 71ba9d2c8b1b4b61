"""Builders for the desktop app's tests: a team on a case file, complete requests,
supplied sources; all through the services, on the real clock the app itself uses.

Imported by name (pytest puts this folder on ``sys.path``); the file name is unique
under tests/ so it cannot be confused with another helper module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

import ethics
from caseview import accounts, captures, cases, justifications
from caseview.captures import SourceRecord
from caseview.clock import Clock, system_clock
from caseview.domain import Case, Subject, User
from caseview.justifications import JustificationRecord
from caseview.session import Session
from caseview.storage import open_case_file
from ui.identity import Identity

PASSWORD = "correct horse"  # what tests/conftest.py's fast hasher checks, for everyone

# Every answer filled in well enough that the gate blocks nothing (the contract example).
COMPLETE: dict[str, Any] = {
    "statutory_function": "s47",
    "statutory_function_other": "",
    "question": (
        "Is the adult shown in the mother's public posts the man named in the police "
        "disclosure of 3 November?"
    ),
    "safety_case": (
        "A police disclosure names a man with convictions for offences against children. "
        "The mother says she has had no contact with him since August. If he is living in "
        "the home, the baby is at immediate risk of significant harm."
    ),
    "ethics_case": (
        "Looking at the mother's public posts without her knowing intrudes on her private "
        "and family life and may damage trust if discovered; posts can be old, reposted or "
        "misread."
    ),
    "balance": (
        "A single look at posts she has made public, limited to establishing contact with "
        "one named man, is proportionate to the risk to a baby; nothing else will be "
        "recorded."
    ),
    "less_intrusive_considered": ["asked_family", "police", "health"],
    "why_not_enough": (
        "The mother denies contact; the police hold no newer information; the health "
        "visitor has not seen the home since September."
    ),
    "proportionality": (
        "One viewing of a public profile, recording only posts that show the named man."
    ),
    "intrusion_level": "medium",
    "collateral_intrusion": (
        "Friends and other children may appear in photos; they will not be recorded, and "
        "any captured image will be cropped or redacted in the working copy."
    ),
    "scope_hosts": ["social.example"],
    "scope_urls": [],
    "planned_viewings": 1,
    "family_told": "later",
    "family_told_reason": (
        "Telling the mother before the strategy discussion could place the baby at further risk."
    ),
    "attest_logged_out": True,
    "attest_no_personal_or_fake_profile": True,
    "attest_no_interaction": True,
    "attest_no_restricted_content": True,
    "emergency": False,
    "emergency_reason": "",
}
EMERGENCY_REASON = (
    "The baby's father has just posted that he is outside the house with a knife, and the "
    "police are on their way."
)


@dataclass
class Boxes:
    """What the app would have shown in message boxes, and the answers to give."""

    errors: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    confirms: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    confirm_answer: bool = False
    save_to: Path | None = None
    open_from: Path | None = None


@dataclass(frozen=True)
class Team:
    """A case file with two managers, a worker, an auditor, one case and two people."""

    path: Path
    users: dict[str, User]
    case: Case
    kerry: Subject
    jay: Subject

    def who(self, name: str) -> Identity:
        return Identity(self.path.resolve(), self.users[name])

    @contextmanager
    def session(self, name: str, clock: Clock = system_clock) -> Iterator[Session]:
        with open_case_file(self.path) as casefile:
            yield accounts.login(casefile, name, PASSWORD, clock=clock)


def build_team(path: Path) -> Team:
    with open_case_file(path, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD, display_name="Mona Manager")
        mona = accounts.login(casefile, "mona", PASSWORD)
        for name, role, display in (
            ("max", "manager", "Max Manager"),
            ("wren", "worker", "Wren Worker"),
            ("ada", "auditor", "Ada Auditor"),
        ):
            accounts.add_user(mona, name, role, PASSWORD, display_name=display)
        case = cases.create_case(mona, "CP-2026-0042", "Smith family")
        cases.allocate(mona, case.id, "wren")
        kerry = cases.add_subject(
            mona, case.id, "Kerry Smith", "parent", handles=["https://social.example/kerry"]
        )
        jay = cases.add_subject(mona, case.id, "Jay Smith", "child")
        users = {user.username: user for user in accounts.list_users(mona)}
    return Team(path, users, case, kerry, jay)


def complete_fields(subject_ids: list[int], days: int = 14, **changes: Any) -> dict[str, Any]:
    """The wizard's fields for a complete request about these people."""
    today = system_clock().date()
    return {
        **COMPLETE,
        "subjects": list(subject_ids),
        "valid_until": today + timedelta(days=days),
        "data_protection_basis": "",
        **changes,
    }


def complete_request(subject_ids: list[int], **changes: Any) -> ethics.Justification:
    fields = complete_fields(subject_ids)
    fields.pop("data_protection_basis")
    return dataclasses.replace(ethics.parse_justification(fields), **changes)


def submitted(session: Session, case_id: int, request: ethics.Justification) -> JustificationRecord:
    record = justifications.create(session, case_id, request)
    return justifications.submit(session, record.id)[0]


def supplied(
    session: Session, case_id: int, subject: Subject, request_id: int, title: str
) -> SourceRecord:
    """A page the family handed over (supplied material: no viewing, no meter)."""
    page = f"<html><head><title>{title}</title></head><body><p>{title}</p></body></html>"
    return captures.import_file(
        session,
        case_id,
        page.encode(),
        url=f"https://social.example/{title.lower().replace(' ', '-')}",
        viewed_at=session.now() - timedelta(hours=1),
        justification_id=request_id,
        subject_id=subject.id,
        origin="family",
        supplied_by="maternal grandmother",
        filename="page.html",
        attested=True,
    )


def approved_request(team: Team, **changes: Any) -> JustificationRecord:
    """A request by wren about Kerry, approved by max."""
    with team.session("wren") as wren:
        record = submitted(wren, team.case.id, complete_request([team.kerry.id], **changes))
    with team.session("max") as max_:
        return justifications.review(max_, record.id, "approve", "Proportionate; one look.")


def with_sources(team: Team, titles: tuple[str, ...]) -> list[SourceRecord]:
    record = approved_request(team)
    with team.session("wren") as wren:
        return [supplied(wren, team.case.id, team.kerry, record.id, title) for title in titles]


class _Pages(BaseHTTPRequestHandler):
    """A public page about Kerry, one by Jay (``/jay``), and a slow one that trickles."""

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            SLOW_PAGE_STARTED.set()
            with contextlib.suppress(OSError):  # the client hung up: the point of the test
                for _ in range(600):
                    self.wfile.write(b"<p>still loading</p>" * 50)
                    self.wfile.flush()
                    time.sleep(0.05)
            return
        body = (
            b"<html><head><title>Kerry Smith's public page</title></head>"
            b"<body><p>Barbecue on Saturday with Dan and the kids.</p></body></html>"
        )
        if self.path.startswith("/jay"):  # a child's page: exposure indicators to review
            body = (
                b"<html><head><title>Jay's blog</title></head>"
                b"<body><p>Hi, I am Jay Smith and I go to Oakfield Primary School.</p>"
                b"<p>Text me on 07700 900123 after school.</p></body></html>"
            )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests check what was captured, not the server's log."""


SLOW_PAGE_STARTED = threading.Event()
"""Set once the local site has begun to trickle ``/slow`` (cleared by :func:`local_site`)."""


@contextmanager
def local_site() -> Iterator[str]:
    """A web server on 127.0.0.1 for the test; yields its base address."""
    SLOW_PAGE_STARTED.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- keyboard and names, for the tests of each window ------------------------------------

INPUTS = (
    QAbstractButton,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractItemView,
)


def part_of_another_control(widget: QWidget) -> bool:
    """Qt's own inner widgets (a combo box's list, a spin box's editor) share its name."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox | QAbstractSpinBox):
            return True
        parent = parent.parentWidget()
    return False


def unnamed(root: QWidget) -> list[str]:
    """Keyboard-reachable controls under ``root`` with no accessible name."""
    return [
        f"{type(w).__name__} {w.objectName()!r}"
        for w in root.findChildren(QWidget)
        if isinstance(w, INPUTS)
        and w.focusPolicy() != Qt.FocusPolicy.NoFocus
        and not w.accessibleName()
        and not part_of_another_control(w)
    ]


def tab_stops(first: QWidget) -> list[str]:
    """The object names Tab visits, in order, from ``first`` until it comes round again."""
    names, widget = [], first
    while True:
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.objectName():
            names.append(widget.objectName())
        widget = widget.nextInFocusChain()
        if widget is first or len(names) > 100:
            return names
