"""What each command does: parse what the person typed, call the services, report."""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path

from caseview import abilities, accounts, audit, cases, persons
from caseview.cli.display import require_display
from caseview.cli.io import Output, read_secret, table
from caseview.cli.session import (
    case_file_path,
    case_id,
    is_server,
    open_session,
    server_address,
)
from caseview.domain import User
from caseview.errors import CaseFileError, CaseviewError, DamagedCaseFile, UsageError
from caseview.storage import open_case_file
from caseview.storage.casefile import built_beside

Handler = Callable[[argparse.Namespace, Output], int]


def _init(args: argparse.Namespace, out: Output) -> int:
    if is_server(args):
        return _init_server(args, out)
    path = case_file_path(args)
    password = read_secret(
        f"Choose a password for {args.admin}: ", env="CASEVIEW_PASSWORD", confirm=True
    )
    # Check the name and password before creating the file, so a typo leaves nothing behind.
    probe_name = accounts._check_username(args.admin)
    accounts._check_password(password)
    if path.exists() and _without_accounts(path):
        # Left so by an init or a first-run setup cut short: every other command sends
        # the person here to create its first manager.
        with open_case_file(path) as casefile:
            user = accounts.create_first_manager(
                casefile, probe_name, password, display_name=args.display
            )
    else:
        user = _create_case_file(path, probe_name, password, args.display)
    out.result({"id": user.id, "path": str(path), "admin": user.username}, str(path))
    out.note(f"Created {path} with manager '{user.username}'.")
    return 0


def _without_accounts(path: Path) -> bool:
    """Is ``path`` a case file with no accounts yet? (Anything else is left to the
    creation to refuse, with its own explanation.)"""
    try:
        with open_case_file(path, read_only=True) as casefile:
            return accounts.needs_first_manager(casefile)
    except (CaseviewError, sqlite3.Error):
        return False


def _create_case_file(path: Path, admin: str, password: str, display: str) -> User:
    """A new case file with its first manager, put at ``path`` whole or not at all
    (:func:`~caseview.storage.casefile.built_beside`): a Ctrl+C or a crash mid-way
    leaves nothing at ``path`` that the next 'init' would refuse as existing."""
    if path.exists() or path.is_symlink():
        raise CaseFileError(
            f"{path} already exists. Choose another path, or open it without 'init'."
        )
    with built_beside(path) as casefile:
        return accounts.create_first_manager(casefile, admin, password, display_name=display)


def _init_server(args: argparse.Namespace, out: Output) -> int:
    """Set up an empty database for a team, as its owner: schema, roles, first manager."""
    from caseview.storage.server import OwnerPasswordNeeded  # psycopg only for a server

    address = server_address(args)
    password = read_secret(
        f"Choose a password for {args.admin}: ", env="CASEVIEW_PASSWORD", confirm=True
    )
    name = accounts._check_username(args.admin)
    accounts._check_password(password)
    address.login_role(name)  # fits this server's role names, before anything changes
    try:
        owner = address.connect_owner()
    except OwnerPasswordNeeded:
        owner = address.connect_owner(
            read_secret(
                f"Password for the database owner {address.given_user}: ",
                env="CASEVIEW_OWNER_PASSWORD",
            )
        )
    with owner:
        user = accounts.set_up_server(owner, name, password, display_name=args.display)
    out.result(
        {"id": user.id, "path": address.path, "admin": user.username, "prefix": address.prefix},
        address.path,
    )
    # A prefix of one's own is needed wherever the database is used: every desktop and
    # command must name it as init did, or sign-in looks for other roles.
    from caseview.storage.postgres import install  # local: only a server needs it
    from caseview.storage.server import ROLE_PREFIX_ENV

    chosen = os.environ.get(ROLE_PREFIX_ENV)
    needs = (
        f" On every desktop, set {ROLE_PREFIX_ENV}={chosen} too, as here."
        if chosen and chosen != install.default_prefix(address.dbname)
        else ""
    )
    out.note(
        f"Set up {address.label} for Caseview with manager '{user.username}' (login role "
        f"{address.login_role(user.username)}). People now sign in with --db "
        f"{address.for_people} --user NAME.{needs}"
    )
    return 0


def _user_add(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        password = read_secret(
            f"Password for the new user {args.name}: ", env="CASEVIEW_NEW_PASSWORD", confirm=True
        )
        user = accounts.add_user(session, args.name, args.role, password, display_name=args.display)
    out.result({"id": user.id, "username": user.username, "role": user.role.value}, str(user.id))
    return 0


def _account_state(account: accounts.Account) -> str:
    """Can this person log in now, and if not, why (as the desktop app's Users window)."""
    if not account.user.active:
        return "switched off"
    if account.locked_until is not None:
        return f"locked until {account.locked_until:%Y-%m-%d %H:%M} UTC"
    return "active"


def _user_list(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        found = accounts.list_accounts(session)
    out.result(
        {
            "users": [
                {
                    **asdict(a.user),
                    "role": a.user.role.value,
                    "state": _account_state(a),
                    "failed_logins": a.failed_logins,
                    "locked_until": a.locked_until.isoformat() if a.locked_until else None,
                    "created_at": a.created_at.isoformat(),
                }
                for a in found
            ]
        },
        table(
            ["id", "user", "name", "role", "state", "failed logins"],
            [
                [
                    a.user.id,
                    a.user.username,
                    a.user.display_name,
                    a.user.role.value,
                    _account_state(a),
                    a.failed_logins,
                ]
                for a in found
            ],
        ),
    )
    return 0


def _user_passwd(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        old = read_secret("Current password: ", env="CASEVIEW_PASSWORD")
        new = read_secret("New password: ", env="CASEVIEW_NEW_PASSWORD", confirm=True)
        accounts.change_password(session, old, new)
    out.result({"changed": True}, "Password changed.")
    return 0


def _user_reset_password(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        password = read_secret(
            f"New password for {args.name}: ", env="CASEVIEW_NEW_PASSWORD", confirm=True
        )
        accounts.reset_password(session, args.name, password)
    out.result(
        {"user": args.name, "password_reset": True, "locked": False},
        f"{args.name}'s password is reset and any lockout lifted. Give them the new password "
        "in person; they can change it with 'caseview user passwd'.",
    )
    return 0


def _user_unlock(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        accounts.unlock(session, args.name)
    out.result(
        {"user": args.name, "locked": False},
        f"{args.name} is unlocked; their password is unchanged.",
    )
    return 0


def _user_role(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        user = accounts.set_role(session, args.name, args.role)
    out.result(
        {"user": user.username, "role": user.role.value},
        f"{user.username} is now {'an' if user.role.value[0] in 'aeiou' else 'a'} "
        f"{user.role.value}.",
    )
    return 0


def _user_active(active: bool) -> Handler:
    def handler(args: argparse.Namespace, out: Output) -> int:
        with open_session(args) as session:
            accounts.set_active(session, args.name, active)
        out.result(
            {"user": args.name, "active": active},
            f"{args.name} is switched on."
            if active
            else f"{args.name} is switched off and can no longer log in. Everything they "
            f"recorded stays; 'caseview user activate {args.name}' switches them on again.",
        )
        return 0

    return handler


def _case_new(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        case = cases.create_case(session, args.ref, args.title)
    out.result({"id": case.id, "reference": case.reference}, str(case.id))
    return 0


def _case_allocate(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        cid = case_id(session, args.case)
        cases.allocate(session, cid, args.member)
    out.result(
        {"case": cid, "user": args.member, "allocated": True},
        f"{args.member} is allocated to case {cid}.",
    )
    return 0


def _case_deallocate(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        cid = case_id(session, args.case)
        cases.deallocate(session, cid, args.member)
    out.result(
        {"case": cid, "user": args.member, "allocated": False},
        f"{args.member} is not allocated to case {cid} now. What they recorded on it stays.",
    )
    return 0


def _case_list(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        found = cases.list_cases(session)
    out.result(
        {
            "cases": [
                {
                    "id": c.id,
                    "reference": c.reference,
                    "title": c.title,
                    "status": c.status.value,
                    "created_by": c.created_by,
                    "created_at": c.created_at.isoformat(),
                }
                for c in found
            ]
        },
        table(
            ["id", "reference", "title", "status"],
            [[c.id, c.reference, c.title, c.status.value] for c in found],
        )
        if found
        else "No cases to show.",
    )
    return 0


def _case_show(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        cid = case_id(session, args.case)
        case = cases.get_case(session, cid)
        people = cases.list_subjects(session, cid)
        staff = cases.members(session, cid)
        may = abilities.abilities(session, cid)
    text = [
        f"Case {case.reference}: {case.title} ({case.status.value})",
        f"Created by {case.created_by} at {case.created_at:%Y-%m-%d %H:%M} UTC",
        "Allocated: " + (", ".join(u.username for u in staff) or "nobody yet"),
        "",
        table(
            ["id", "name", "role", "born", "handles"],
            [
                [s.id, s.name, s.role.value, s.date_of_birth or "", " ".join(s.handles)]
                for s in people
            ],
        )
        if people
        else "No people recorded yet.",
        "",
        f"What you ({session.actor}) may do here:",
        table(
            ["action", "may", "why not"],
            [
                [action, "yes" if ability.allowed else "no", ability.reason]
                for action, ability in may.items()
            ],
        ),
    ]
    out.result(
        {
            "id": case.id,
            "reference": case.reference,
            "title": case.title,
            "status": case.status.value,
            "members": [u.username for u in staff],
            "subjects": [{**asdict(s), "role": s.role.value} for s in people],
            "abilities": may.as_json(),
        },
        "\n".join(text),
    )
    return 0


def _case_status(status: str) -> Handler:
    def handler(args: argparse.Namespace, out: Output) -> int:
        with open_session(args) as session:
            cid = case_id(session, args.case)
            cases.set_status(session, cid, status)
        out.result({"case": cid, "status": status}, f"Case {cid} is {status}.")
        return 0

    return handler


def _subject_add(args: argparse.Namespace, out: Output) -> int:
    try:
        dob = date.fromisoformat(args.dob) if args.dob else None
    except ValueError:
        raise UsageError(f"'{args.dob}' is not a date. Write it as YYYY-MM-DD.") from None
    with open_session(args) as session:
        subject = cases.add_subject(
            session,
            case_id(session, args.case),
            args.name,
            args.role,
            date_of_birth=dob,
            handles=args.handle,
        )
    out.result({"id": subject.id, "name": subject.name}, str(subject.id))
    return 0


def _subject_list(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        people = cases.list_subjects(session, case_id(session, args.case))
    out.result(
        {"subjects": [{**asdict(s), "role": s.role.value} for s in people]},
        table(
            ["id", "name", "role", "born", "handles"],
            [
                [s.id, s.name, s.role.value, s.date_of_birth or "", " ".join(s.handles)]
                for s in people
            ],
        )
        if people
        else "No people recorded yet.",
    )
    return 0


def _subject_link(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        same = persons.link(session, args.subject_a, args.subject_b, args.reason)
    out.result(
        {"person": same.person, "subjects": list(same.subject_ids)},
        f"Subjects {', '.join(map(str, same.subject_ids))} are now one person: the "
        "repeat-viewing meter counts looks at any of them together.",
    )
    return 0


def _verify(args: argparse.Namespace, out: Output) -> int:
    expect = audit.parse_checkpoint(args.expect_head) if args.expect_head else None
    if is_server(args):
        # A server shows each person only what they may see: sign in (a manager or an
        # auditor reads everything).
        if not (args.user or os.environ.get("CASEVIEW_USER")):
            raise UsageError(
                "To verify a team server, sign in as a manager or an auditor: --user NAME."
            )
        with open_session(args) as session:
            result = audit.verify(session, None, expect)
    elif args.user or os.environ.get("CASEVIEW_USER"):
        path = case_file_path(args)
        try:
            session = open_session(args)
        except DamagedCaseFile as exc:
            # What the check found, as without signing in: not advice to run the check.
            result = audit.unreadable(exc.detail)
        else:
            with session:
                result = audit.verify(session, path, expect)
    else:
        path = case_file_path(args)
        # Anyone holding the file can check it, read-only and without an account:
        # an independent third party must be able to repeat the check. A case file
        # SQLite cannot read is what the check found, not a reason it could not run.
        try:
            open_case_file(path, read_only=True).close()
        except DamagedCaseFile as exc:
            result = audit.unreadable(exc.detail)
        else:
            result = audit.verify(None, path, expect)
    obj = {
        "evidence_problems": list(result.evidence_problems),
        "intact": result.intact,
        "events": result.events,
        "head": str(result.head),
        "first_break": result.first_break,
        "problem": result.problem,
    }
    if result.intact:
        out.result(
            obj,
            f"Intact: {result.events} audit events and all stored evidence verified. "
            f"Head {result.head}",
        )
        return 0
    lines = []
    if result.first_break is not None:
        lines.append(f"BROKEN at event {result.first_break}: {result.problem}.")
    lines += [f"BROKEN evidence: {problem}." for problem in result.evidence_problems]
    out.result(obj, "\n".join(lines))
    out.note(
        (
            "The case data on the server has been changed outside Caseview or damaged. "
            "Ask IT to keep the database and its backups as they are, and tell your "
            "information governance team."
        )
        if is_server(args)
        else "The case file has been changed outside Caseview or damaged. Keep it as it is "
        "and tell your information governance team."
    )
    return 4


def _audit(args: argparse.Namespace, out: Output) -> int:
    with open_session(args) as session:
        cid = case_id(session, args.case) if args.case else None
        events = audit.list_events(
            session, cid, limit=max(1, min(args.limit, 100_000)), after=args.after
        )
    out.result(
        {"events": [{**asdict(e), "at": e.at.isoformat()} for e in events]},
        table(
            ["seq", "at (UTC)", "actor", "action", "entity", "case"],
            [
                [
                    e.seq,
                    f"{e.at:%Y-%m-%d %H:%M:%S}",
                    e.actor,
                    e.action,
                    f"{e.entity}:{e.entity_id}" if e.entity_id is not None else e.entity,
                    e.case_id or "",
                ]
                for e in events
            ],
        )
        if events
        else "No audit events.",
    )
    return 0


def _check_display(args: argparse.Namespace) -> None:
    """Say plainly when there is no screen, before Qt aborts the process over it.

    An application someone else made (a test, an outside GUI check) has its screen.
    """
    qt = sys.modules.get("PySide6.QtWidgets")
    if qt is None or qt.QApplication.instance() is None:
        require_display(args.command, os.environ)


def _gui(args: argparse.Namespace, out: Output) -> int:
    _check_display(args)
    # The one place the CLI reaches the desktop app. caseview sits below ui in the
    # layers (import-linter), so it must not import ui; importing it by name at run
    # time keeps PySide6 out of every other command and the layering intact, while
    # caseview.cli.main stays the single entry point (DESIGN section 8).
    import importlib  # local: only the desktop app is loaded this way

    app = importlib.import_module("ui.app")
    engine_args: list[str] = []
    if args.command == "demo":
        from caseview import demo  # local: only the demo needs it

        # The demo's pages stay served while the app runs, so the evidence browser can
        # open them (a daemon thread: it ends with the process).
        engine_args = [demo.serve_for_browsing().resolver_rules()]
    code: int = app.run_gui(
        # A team server: the app signs the person in there (the demo is a case file).
        server_address(args) if is_server(args) else case_file_path(args),
        demo_banner=args.command == "demo",
        username=args.user or "",
        engine_args=engine_args,
    )
    return code


def _demo(args: argparse.Namespace, out: Output) -> int:
    from caseview import demo  # local: only the demo needs it

    if not args.no_gui:
        _check_display(args)  # before building: the advice is to build with --no-gui

    prepared = demo.prepare(
        case_file_path(args) if (args.db or os.environ.get("CASEVIEW_DB")) else demo.default_path(),
        fresh=args.fresh,
    )
    path = prepared.path
    out.result(
        {
            "path": str(path),
            "users": list(demo.USERS),
            "password": demo.PASSWORD,
            "built": prepared.built,
            "note": prepared.note,
        },
        (f"{prepared.note}\n" if prepared.note else "") + demo.describe(path, built=prepared.built),
    )
    if args.no_gui:
        return 0
    args.db = str(path)
    return _gui(args, out)


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("init", None): _init,
    ("demo", None): _demo,
    ("gui", None): _gui,
    ("user", "add"): _user_add,
    ("user", "list"): _user_list,
    ("user", "passwd"): _user_passwd,
    ("user", "reset-password"): _user_reset_password,
    ("user", "unlock"): _user_unlock,
    ("user", "deactivate"): _user_active(False),
    ("user", "activate"): _user_active(True),
    ("user", "role"): _user_role,
    ("case", "new"): _case_new,
    ("case", "allocate"): _case_allocate,
    ("case", "deallocate"): _case_deallocate,
    ("case", "list"): _case_list,
    ("case", "show"): _case_show,
    ("case", "close"): _case_status("closed"),
    ("case", "reopen"): _case_status("open"),
    ("subject", "add"): _subject_add,
    ("subject", "list"): _subject_list,
    ("subject", "link"): _subject_link,
    ("verify", None): _verify,
    ("audit", None): _audit,
}


# The other command modules load only when one of their commands runs: capture pulls
# in the HTTP and HTML stack, export the PDF stack, and the desktop app must start
# without either.
LAZY = {
    "justification": "gate_commands",
    "view": "gate_commands",
    "meter": "gate_commands",
    "policy": "gate_commands",
    "authorisation": "gate_commands",
    "capture": "capture_commands",
    "import": "capture_commands",
    "source": "capture_commands",
    "export": "export_commands",
    "observe": "analysis_commands",
    "observation": "analysis_commands",
    "note": "analysis_commands",
    "search": "analysis_commands",
    "migrate": "server_commands",
}


def handler_for(command: str, action: str | None) -> Handler:
    key = (command, action)
    if key in HANDLERS:
        return HANDLERS[key]
    module = importlib.import_module(f"caseview.cli.{LAZY[command]}")
    handlers: dict[tuple[str, str | None], Handler] = module.HANDLERS
    return handlers[key]


def run(args: argparse.Namespace, out: Output) -> int:
    return handler_for(args.command, getattr(args, "action", None))(args, out)
