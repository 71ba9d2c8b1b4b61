"""The command line's grammar (DESIGN section 7, a contract)."""

from __future__ import annotations

import argparse
import difflib
import re
from datetime import date

from caseview import __version__
from caseview.errors import NotFound, UsageError

EPILOG = """\
Global options go before the command, e.g.
  caseview --db case.db --user alice case list
The password comes from CASEVIEW_PASSWORD if set, else you are asked.
Exit codes: 0 done, 1 error, 2 usage, 3 refused by a rule, 4 integrity check failed.
"""


# What the arguments that recur across commands mean, for those a command leaves
# without help of its own: every argument a newcomer meets in --help says what it wants.
_RECURRING = {
    "case": "the case: its reference or its id (caseview case list shows them)",
    "url": "the page's public address, e.g. https://example.org/page",
    "justification": "the id of the approved request this is done under "
    "(caseview justification list CASE)",
    "subject": "the id of the person it is about (caseview subject list CASE)",
    "subject_a": "the id of one person (caseview subject list CASE)",
    "subject_b": "the id of the other person",
    "member": "the user's name",
    "name": "the user's name",
    "reason": "why, in words: it is recorded in the audit log",
}
# Which thing a bare ID names, by command (as _ID_OF below; 'observation' too).
_LISTED_BY = {
    "justification": "caseview justification list CASE",
    "source": "caseview source list CASE",
    "policy": "caseview policy list",
    "authorisation": "caseview authorisation list CASE",
    "observation": "caseview observation list CASE",
}


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Sub-commands whose own --help opens with what they do: their one-line help."""

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        text = kwargs.get("help")
        if isinstance(text, str) and text and "description" not in kwargs:
            kwargs["description"] = text[0].upper() + text[1:] + ("" if text[-1] in ".?" else ".")
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)  # type: ignore[arg-type]
        return parser


class _Parser(argparse.ArgumentParser):
    """argparse that returns usage errors instead of exiting the interpreter."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.register("action", "parsers", _Commands)

    def add_argument(self, *args: object, **kwargs: object) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)  # type: ignore[arg-type]
        if action.help is None and not isinstance(action, argparse._SubParsersAction):
            action.help = self._recurring_help(action.dest)
        return action

    def _recurring_help(self, dest: str) -> str | None:
        if dest in _RECURRING:
            return _RECURRING[dest]
        if dest == "id":
            words = self.prog.split()
            noun = words[1] if len(words) > 1 else ""
            if noun in _LISTED_BY:
                return f"the {noun}'s id ({_LISTED_BY[noun]})"
        return None

    def error(self, message: str) -> None:  # type: ignore[override]
        end = "" if message.endswith((".", "?")) else "."
        raise UsageFailure(f"{message}{end} See '{self.prog} --help'.")

    def _check_value(self, action: argparse.Action, value: object) -> None:
        """A word not among the choices (a command, an action, a role) is answered with
        the nearest one, so 'captur' says 'did you mean capture'. (argparse's own hook:
        it checks every choice, the sub-commands' names included.)"""
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError:
            choices = [str(c) for c in action.choices or ()]
            near = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
            if not near or not isinstance(value, str):
                raise
            raise argparse.ArgumentError(
                action, f"'{value}' is not one of the choices; did you mean '{near[0]}'?"
            ) from None


class UsageFailure(Exception):
    pass


def _day(text: str) -> date:
    """A date option, YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-12-31"
        ) from None


def _given(text: str) -> str:
    """A case file's path or a server's address, not empty: an empty one (a script's
    unset variable, '--db "$CASEFILE"') would quietly have meant the default case file."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the path is empty; give the case file's path, or leave --db out to use "
            "CASEVIEW_DB or the default case file"
        )
    return text


def _number(text: str) -> int:
    """An id or a count, in the digits 0-9 (int() alone also takes "١" as 1)."""
    if re.fullmatch(r"-?[0-9]+", text.strip()) is None:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a whole number; type it in digits, e.g. 3"
        )
    return int(text)


def _at_least_one(text: str) -> int:
    """A limit on how many to show: 1 or more."""
    number = _number(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} shows nothing; give 1 or more")
    return number


# SQLite's integers are signed 64-bit; argparse's int has no bound, and binding a larger
# one raised OverflowError. No row has an id beyond this, so one is "not there".
LARGEST_ID = 2**63 - 1
# Which thing an integer option names, for "There is no justification 9999…".
_NAMED_BY = {
    "justification": "justification",
    "subject": "subject",
    "subject_a": "subject",
    "subject_b": "subject",
    "source": "source",
    "corroborates": "observation",
}
# What a bare ID names, by command.
_ID_OF = {
    "justification": "justification",
    "policy": "policy",
    "source": "source",
    "authorisation": "authorisation",
}


def check_numbers(args: argparse.Namespace) -> None:
    """Refuse integers SQLite cannot hold: an id as not found (exit 1), any other number
    (a limit, a sequence number) as a usage error."""
    for name, value in vars(args).items():
        for number in value if isinstance(value, list) else [value]:
            if isinstance(number, bool) or not isinstance(number, int):
                continue
            if -LARGEST_ID <= number <= LARGEST_ID:
                continue
            noun = _NAMED_BY.get(name) or (_ID_OF.get(args.command) if name == "id" else None)
            if noun is not None:
                raise NotFound(f"There is no {noun} {number}. Check the id you typed.")
            raise UsageError(
                f"--{name.replace('_', '-')} {number} is too large a number. See "
                f"'caseview {args.command} --help'."
            )


# Paths the file system takes as they are (only their bytes matter); the import's file
# and the export's output are recorded by name, and checked on their own.
_PATHS = frozenset({"db", "source", "file", "output"})
# A byte that is not UTF-8, as Python hands it over from the command line.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def check_text(args: argparse.Namespace) -> None:
    """Refuse what the terminal sent in another character set than UTF-8.

    Python keeps such bytes as lone surrogates, which no text stored in the case file can
    hold: a name, a note or a reference with one failed deep inside the storage.
    """
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str) or _NOT_UTF8.search(text) is None:
                continue
            shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            shown = shown if len(shown) <= 60 else shown[:60] + "…"
            if (args.command, name) == ("export", "output"):
                raise UsageError(
                    f"The file name {shown} is not UTF-8 text, so the audit log cannot record "
                    "it. Give the export a name in UTF-8 text."
                )
            if (args.command, name) == ("import", "file"):
                raise UsageError(
                    f"The file name {shown} is not UTF-8 text, so Caseview cannot record it. "
                    "Copy or rename the file to a name in UTF-8 text, and import that."
                )
            if name in _PATHS:
                continue
            raise UsageError(
                f"'{shown}' is not UTF-8 text: the terminal may use another character set. "
                "Set it to UTF-8 and type it again."
            )


# What an empty value would quietly have meant instead of what was typed (a script's
# unset variable, 'verify --expect-head "$HEAD"'), by the option's name.
_NOT_EMPTY = {
    "case": "The case given is empty; give its reference or id ('caseview case list' shows them).",
    "file": "The file name given is empty; give the path of the file.",
    "output": "The file name given to -o is empty; give the path of the file to write.",
    "source": "The file name given to --from is empty; give the path of the case file.",
    "expect_head": "The checkpoint given to --expect-head is empty; give the SEQ:HASH "
    "printed in the exported note, or leave --expect-head out.",
    "user": "The name given to --user is empty; give your user name, or leave --user out "
    "to use CASEVIEW_USER.",
}


def check_given(args: argparse.Namespace) -> None:
    """Refuse an empty value where it would quietly mean something else: an empty case
    meant every case, an empty --expect-head no check at all, an empty --user the one in
    CASEVIEW_USER, and an empty path the current folder."""
    for name, message in _NOT_EMPTY.items():
        value = getattr(args, name, None)
        if isinstance(value, str) and not value.strip():
            raise UsageError(message)


def build() -> argparse.ArgumentParser:
    root = _Parser(
        prog="caseview",
        description="Record public online information in child protection work, behind an "
        "ethics gate, with provenance and a tamper-evident audit log.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"caseview {__version__}")
    root.add_argument(
        "--db",
        type=_given,
        metavar="PATH",
        help="case file, or a team server's postgresql:// address (default: CASEVIEW_DB, "
        "else caseview.db in your user data folder)",
    )
    root.add_argument("--user", metavar="NAME", help="who you are (default: CASEVIEW_USER)")
    root.add_argument("--json", action="store_true", help="print one JSON object")
    commands = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    init = commands.add_parser("init", help="create a new case file and its first manager")
    init.add_argument("--admin", required=True, metavar="NAME", help="the first manager's name")
    init.add_argument("--display", default="", metavar="TEXT", help="their full name")

    demo = commands.add_parser("demo", help="build a fictional demo case file and open it")
    demo.add_argument("--no-gui", action="store_true", help="build it, print how to use it")
    demo.add_argument(
        "--fresh",
        action="store_true",
        help="if the demo file has been worked in, build a new one beside it",
    )

    commands.add_parser("gui", help="open the desktop app (the default)")

    user = commands.add_parser(
        "user", help="accounts: your own password; managers add and manage users"
    )
    user_cmds = user.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    add = user_cmds.add_parser(
        "add", help="add a user; their password comes from CASEVIEW_NEW_PASSWORD or is asked for"
    )
    add.add_argument("name", metavar="USER", help="their user name, used to sign in")
    add.add_argument(
        "--role",
        required=True,
        choices=["worker", "manager", "auditor"],
        help="what they may do: a worker asks to look and records; a manager also decides "
        "requests and manages people; an auditor reads and checks, and changes nothing",
    )
    add.add_argument("--display", default="", metavar="TEXT", help="full name")
    user_cmds.add_parser(
        "list", help="users and their state: active, switched off or locked (managers, auditors)"
    )
    user_cmds.add_parser(
        "passwd", help="change your own password (new one from CASEVIEW_NEW_PASSWORD or asked for)"
    )
    reset = user_cmds.add_parser(
        "reset-password",
        help="set a new password for someone who forgot theirs, and unlock them; the new one "
        "comes from CASEVIEW_NEW_PASSWORD or is asked for",
    )
    reset.add_argument("name", metavar="USER")
    unlock = user_cmds.add_parser(
        "unlock", help="lift a lockout after failed logins (the password stays the same)"
    )
    unlock.add_argument("name", metavar="USER")
    off = user_cmds.add_parser(
        "deactivate",
        help="switch an account off: it can no longer log in; nothing it recorded is removed",
    )
    off.add_argument("name", metavar="USER")
    on = user_cmds.add_parser("activate", help="switch an account on again")
    on.add_argument("name", metavar="USER")
    role = user_cmds.add_parser(
        "role", help="move someone to another role; what they recorded stays as it was"
    )
    role.add_argument("name", metavar="USER")
    role.add_argument("role", choices=["worker", "manager", "auditor"], help="their new role")

    case = commands.add_parser("case", help="cases")
    case_cmds = case.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    new = case_cmds.add_parser("new", help="create a case; prints its id")
    new.add_argument("--ref", required=True, help="the council's case number")
    new.add_argument("--title", required=True, help="a short title for the case")
    allocate = case_cmds.add_parser("allocate", help="allocate a worker to a case")
    allocate.add_argument("case", metavar="CASE", help="case id or reference")
    allocate.add_argument("member", metavar="USER")
    deallocate = case_cmds.add_parser(
        "deallocate", help="take someone off a case; what they recorded on it stays (managers)"
    )
    deallocate.add_argument("case", metavar="CASE", help="case id or reference")
    deallocate.add_argument("member", metavar="USER")
    case_cmds.add_parser("list", help="the cases you can see")
    show = case_cmds.add_parser("show", help="a case, its people and workers")
    show.add_argument("case", metavar="CASE")
    for verb in ("close", "reopen"):
        c = case_cmds.add_parser(verb, help=f"{verb} a case (managers)")
        c.add_argument("case", metavar="CASE")

    subject = commands.add_parser("subject", help="people in a case")
    subject_cmds = subject.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    sadd = subject_cmds.add_parser("add", help="add a person to a case; prints the id")
    sadd.add_argument("case", metavar="CASE")
    sadd.add_argument("--name", required=True, help="the person's name as the case knows it")
    sadd.add_argument(
        "--role",
        required=True,
        choices=["child", "parent", "carer", "relative", "other"],
        help="who they are in the case",
    )
    sadd.add_argument("--dob", metavar="YYYY-MM-DD", help="date of birth, if known")
    sadd.add_argument(
        "--handle",
        action="append",
        default=[],
        metavar="URL",
        help="a known public handle or URL (repeatable)",
    )
    slist = subject_cmds.add_parser("list", help="people in a case")
    slist.add_argument("case", metavar="CASE")
    slink = subject_cmds.add_parser(
        "link",
        help="record that two subjects (in one case or two) are the same person (managers)",
    )
    slink.add_argument("subject_a", type=_number, metavar="SUBJECT")
    slink.add_argument("subject_b", type=_number, metavar="OTHER")
    slink.add_argument("--reason", required=True, help="why they are the same person")

    just = commands.add_parser("justification", help="requests to look, through the ethics gate")
    just_cmds = just.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    jtemplate = just_cmds.add_parser("template", help="print a commented file to start from")
    jtemplate.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead")
    jnew = just_cmds.add_parser("new", help="store a draft from a file; prints its id")
    jnew.add_argument("case", metavar="CASE")
    jnew.add_argument(
        "--file",
        required=True,
        metavar="FILE.toml",
        help="the request, filled in from 'caseview justification template'",
    )
    jedit = just_cmds.add_parser(
        "edit", help="change a draft, or make a new version of a submitted one; prints the id"
    )
    jedit.add_argument("id", type=_number, metavar="ID")
    jedit.add_argument(
        "--file",
        required=True,
        metavar="FILE.toml",
        help="the request, filled in from 'caseview justification template'",
    )
    jcheck = just_cmds.add_parser("check", help="run the gate on a file without storing it")
    jcheck.add_argument("case", metavar="CASE")
    jcheck.add_argument(
        "--file",
        required=True,
        metavar="FILE.toml",
        help="the request, filled in from 'caseview justification template'",
    )
    jsubmit = just_cmds.add_parser("submit", help="run the gate and submit for review")
    jsubmit.add_argument("id", type=_number, metavar="ID")
    jreview = just_cmds.add_parser("review", help="decide a request (managers, not the author)")
    jreview.add_argument("id", type=_number, metavar="ID")
    decision = jreview.add_mutually_exclusive_group(required=True)
    decision.add_argument(
        "--approve",
        dest="decision",
        action="store_const",
        const="approve",
        help="let the looks it plans go ahead",
    )
    decision.add_argument(
        "--reject",
        dest="decision",
        action="store_const",
        const="reject",
        help="refuse it: no look may be made under it",
    )
    decision.add_argument(
        "--return",
        dest="decision",
        action="store_const",
        const="return",
        help="send it back to its author to revise and submit again",
    )
    jreview.add_argument(
        "--reason",
        required=True,
        metavar="TEXT",
        help="your reasons (every decision needs them; the worker sees them)",
    )
    janswer = just_cmds.add_parser(
        "answer",
        help="answer each reason a manager gave for returning a request (on its new version)",
    )
    janswer.add_argument("id", type=_number, metavar="ID")
    janswer.add_argument(
        "--answer",
        action="append",
        required=True,
        metavar="TEXT",
        help="one answer per reason, in the order of the reasons (repeat the option)",
    )
    jshow = just_cmds.add_parser("show", help="fields, findings, status and decisions")
    jshow.add_argument("id", type=_number, metavar="ID")
    jlist = just_cmds.add_parser("list", help="a case's justifications")
    jlist.add_argument("case", metavar="CASE")
    just_cmds.add_parser("queue", help="requests waiting for review, overdue first (managers)")
    jcancel = just_cmds.add_parser("cancel", help="cancel a request")
    jcancel.add_argument("id", type=_number, metavar="ID")
    jcancel.add_argument("--reason", required=True, metavar="TEXT")
    jauth = just_cmds.add_parser(
        "authorise",
        help="record a RIPA surveillance authorisation for a request (managers, not its "
        "author); a second manager must confirm it; prints its id",
    )
    jauth.add_argument("id", type=_number, metavar="ID")
    jauth.add_argument(
        "--reference", required=True, metavar="TEXT", help="the RIPA authorisation number"
    )
    jauth.add_argument(
        "--officer", required=True, metavar="TEXT", help="the authorising officer, as named"
    )
    jauth.add_argument(
        "--magistrate-approved",
        required=True,
        type=_day,
        metavar="YYYY-MM-DD",
        help="the date a magistrate approved it",
    )
    jauth.add_argument(
        "--expires",
        required=True,
        type=_day,
        metavar="YYYY-MM-DD",
        help="its expiry (a UK date: valid to the end of that day)",
    )
    jauth.add_argument(
        "--subject", required=True, type=_number, metavar="SUBJECT_ID", help="the person it covers"
    )

    auth = commands.add_parser(
        "authorisation", help="surveillance authorisations: confirm (a second manager), list"
    )
    auth_cmds = auth.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    aconfirm = auth_cmds.add_parser(
        "confirm", help="confirm an authorisation (a manager other than its recorder)"
    )
    aconfirm.add_argument("id", type=_number, metavar="AUTH_ID")
    alist = auth_cmds.add_parser("list", help="a case's authorisations and their status")
    alist.add_argument("case", metavar="CASE")

    view = commands.add_parser(
        "view",
        help="record a look made without capturing (it counts towards the repeat-viewing meter)",
    )
    view.add_argument("case", metavar="CASE")
    view.add_argument("url", metavar="URL")
    view.add_argument("--justification", type=_number, required=True, metavar="ID")
    view.add_argument("--subject", type=_number, required=True, metavar="ID")
    view.add_argument(
        "--attest",
        action="store_true",
        help="I viewed logged out, with no personal or fake profile, without "
        "interacting, and nothing limited to friends or followers",
    )

    meter = commands.add_parser("meter", help="a subject's repeat-viewing meter and history")
    meter.add_argument("subject", type=_number, metavar="SUBJECT")

    pol = commands.add_parser("policy", help="the ethics gate's policy for this case file")
    pol_cmds = pol.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    pol_cmds.add_parser("show", help="the policy in force, and any waiting for confirmation")
    pset = pol_cmds.add_parser(
        "set",
        help="set the organisation's overrides (managers); anything less strict waits for "
        "a second manager",
    )
    pset.add_argument(
        "file", metavar="FILE.toml", help="the overrides (caseview policy show prints the policy)"
    )
    pconfirm = pol_cmds.add_parser(
        "confirm", help="confirm a policy that loosens the gate (a manager other than its proposer)"
    )
    pconfirm.add_argument("id", type=_number, metavar="ID")

    cap = commands.add_parser(
        "capture", help="capture a public web page as evidence; prints the source id"
    )
    cap.add_argument("case", metavar="CASE")
    cap.add_argument("url", metavar="URL")
    cap.add_argument("--justification", type=_number, required=True, metavar="ID")
    cap.add_argument("--subject", type=_number, required=True, metavar="ID")
    cap.add_argument(
        "--attest",
        action="store_true",
        help="I am viewing logged out, with no personal or fake profile, without "
        "interacting, and nothing limited to friends or followers",
    )
    cap.add_argument(
        "--render",
        action="store_true",
        help="open the page in the evidence browser with no window (its JavaScript runs), "
        "wait for it to settle, and keep its MHTML, rendered HTML, full-page screenshot "
        "and visible text",
    )

    imp = commands.add_parser(
        "import",
        help="import a saved screenshot or photo, PDF, Word document, e-mail, web page or "
        "text file; prints the source id",
    )
    imp.add_argument("case", metavar="CASE")
    imp.add_argument("file", metavar="FILE", help="the file itself (not a link to it)")
    imp.add_argument("--url", required=True, help="the address the file shows")
    imp.add_argument(
        "--viewed-at",
        required=True,
        metavar="ISO",
        help="when it was viewed, with a zone, e.g. 2026-11-20T14:05:00Z",
    )
    imp.add_argument("--justification", type=_number, required=True, metavar="ID")
    imp.add_argument("--subject", type=_number, required=True, metavar="ID")
    imp.add_argument(
        "--origin",
        default="self",
        choices=["self", "family", "agency", "colleague", "public"],
        help="who found it: you (self), or who supplied it",
    )
    imp.add_argument("--supplied-by", metavar="TEXT", help="who supplied it (not self)")
    imp.add_argument(
        "--attest",
        action="store_true",
        help="I viewed it logged out, with no personal or fake profile, without "
        "interacting, and nothing limited to friends or followers",
    )

    src = commands.add_parser("source", help="captured sources")
    src_cmds = src.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    slist2 = src_cmds.add_parser("list", help="a case's sources")
    slist2.add_argument("case", metavar="CASE")
    sshow = src_cmds.add_parser("show", help="a source's provenance and text")
    sshow.add_argument("id", type=_number, metavar="ID")

    obs = commands.add_parser("observe", help="record what a source shows, graded; prints the id")
    obs.add_argument(
        "source", type=_number, metavar="SOURCE", help="the source's id (caseview source list CASE)"
    )
    obs.add_argument("--text", required=True, help="what the source shows, in your words")
    obs.add_argument(
        "--domain",
        required=True,
        choices=[
            "developmental_needs",
            "parenting_capacity",
            "family_environment",
            "online_exposure",
        ],
        help="the assessment domain it bears on",
    )
    obs.add_argument(
        "--reliability",
        required=True,
        metavar="A-F",
        help="Admiralty source reliability: A completely reliable ... "
        "E unreliable, F cannot be judged",
    )
    obs.add_argument(
        "--credibility",
        required=True,
        type=_number,
        choices=range(1, 7),
        metavar="1-6",
        help="information credibility: 1 confirmed ... 5 improbable, 6 cannot be judged",
    )
    obs.add_argument(
        "--risk",
        action="append",
        default=[],
        metavar="TEXT",
        help="old_post, repost, irony, identity_uncertain, context_missing, or "
        "your own words (repeatable)",
    )
    obs.add_argument(
        "--corroborates",
        action="append",
        type=_number,
        default=[],
        metavar="ID",
        help="an observation on another source that supports this one",
    )
    obs.add_argument(
        "--check-what",
        metavar="TEXT",
        help="an external check (outside the online material) that supports it: what "
        "was checked; give --check-who and --check-when with it",
    )
    obs.add_argument("--check-who", metavar="TEXT", help="who made the external check")
    obs.add_argument(
        "--check-when", metavar="ISO-DATE", help="the day the external check was made (YYYY-MM-DD)"
    )
    obs.add_argument(
        "--confirmed-by",
        metavar="TEXT",
        help="for credibility 1 (confirmed), required: what confirmed it",
    )
    olist = commands.add_parser("observation", help="observations")
    olist_cmds = olist.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    ol = olist_cmds.add_parser("list", help="a case's current observations")
    ol.add_argument("case", metavar="CASE")

    nte = commands.add_parser("note", help="save the case's reasoned note (a new version)")
    nte.add_argument("case", metavar="CASE")
    nte.add_argument("--analysis", metavar="TEXT", help="what the material shows, weighed")
    nte.add_argument("--conclusion", metavar="TEXT", help="what you conclude from it")
    nte.add_argument("--balance", metavar="TEXT", help="the ethics-vs-safety balance")
    nte.add_argument("--useful", metavar="TEXT", help="evaluation: was it useful?")
    nte.add_argument("--decision", metavar="TEXT", help="evaluation: what decision it informed")
    nte.add_argument(
        "--family-told", metavar="TEXT", help="evaluation: was the family told, and when"
    )
    nte.add_argument("--family-response", metavar="TEXT", help="evaluation: what the family said")

    srch = commands.add_parser("search", help="search source text and observations")
    srch.add_argument("query", metavar="WORDS", help="the words to find, in any order")
    srch.add_argument("--case", metavar="CASE", help="only this case (id or reference)")
    srch.add_argument(
        "--limit", type=_at_least_one, default=50, help="at most this many hits (up to 500)"
    )

    export = commands.add_parser("export", help="export a case (pdf note, warc captures)")
    export_cmds = export.add_subparsers(
        dest="action", metavar="FORMAT", required=True, parser_class=_Parser
    )
    epdf = export_cmds.add_parser(
        "pdf", help="the reasoned note as a PDF; prints the audit checkpoint SEQ:HASH"
    )
    epdf.add_argument("case", metavar="CASE")
    epdf.add_argument("-o", "--output", required=True, metavar="FILE", help="the PDF to write")
    ewarc = export_cmds.add_parser("warc", help="every capture of a case as one .warc.gz")
    ewarc.add_argument("case", metavar="CASE")
    ewarc.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the .warc.gz file to write"
    )

    migrate = commands.add_parser(
        "migrate",
        help="copy a case file, its audit chain intact, into an empty database on a team "
        "server (as the database's owner)",
    )
    migrate.add_argument(
        "--from", dest="source", required=True, metavar="FILE", help="the case file to copy"
    )
    migrate.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="the empty database, as its owner: postgresql://OWNER@HOST:PORT/DATABASE",
    )
    migrate.add_argument(
        "--admin",
        required=True,
        metavar="NAME",
        help="a manager of the case file, who gets a password on the server (from "
        "CASEVIEW_PASSWORD, or asked for); everyone else gets one from a manager",
    )

    verify = commands.add_parser("verify", help="check the audit chain; exit 4 if broken")
    verify.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="a checkpoint from an exported note: also proves nothing was "
        "removed or rewritten since",
    )

    log = commands.add_parser("audit", help="show the audit log (of one case, or all)")
    log.add_argument(
        "case",
        nargs="?",
        metavar="CASE",
        help="the case (its reference or id); left out, the whole file's log (managers "
        "and auditors)",
    )
    log.add_argument("--limit", type=_at_least_one, default=200, help="at most this many events")
    log.add_argument("--after", type=_number, default=0, metavar="SEQ", help="events after SEQ")
    return root
