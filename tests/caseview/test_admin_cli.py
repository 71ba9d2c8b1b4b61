"""A manager's account and allocation commands, driven through ``caseview.cli.main``.

``case deallocate``, ``user list`` (with each account's state), ``user reset-password``,
``user unlock``, ``user deactivate`` and ``user activate``: what each prints, what it
changes, the audit event it writes, and who may run it (exit 3 for everyone else).
"""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from caseview import accounts, cases
from caseview.cli import main
from caseview.errors import LoginFailed
from caseview.storage import open_case_file

PASSWORD = "team member pw"
NEW_PASSWORD = "a brand new password"
CASE = "CP-1"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


class Cli:
    """Runs ``caseview ARGS`` signed in as one user, against the test's case file."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(self, user: str, *argv: str, password: str = PASSWORD) -> Result:
        self.monkeypatch.setenv("CASEVIEW_USER", user)
        self.monkeypatch.setenv("CASEVIEW_PASSWORD", password)
        self.capsys.readouterr()  # forget anything printed before
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """mona (manager); wren and tess (workers, both allocated to CP-1); ada (auditor);
    sam (a worker whose account is switched off). Made with the system clock, as the
    command line signs in with it."""
    for name in ("CASEVIEW_DB", "CASEVIEW_USER", "CASEVIEW_PASSWORD", "CASEVIEW_NEW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "team.db"
    with open_case_file(path, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD)
        mona = accounts.login(casefile, "mona", PASSWORD)
        for name, role in (("wren", "worker"), ("tess", "worker"), ("ada", "auditor")):
            accounts.add_user(mona, name, role, PASSWORD)
        accounts.add_user(mona, "sam", "worker", PASSWORD)
        accounts.set_active(mona, "sam", False)
        case = cases.create_case(mona, CASE, "Smith family")
        cases.allocate(mona, case.id, "wren")
        cases.allocate(mona, case.id, "tess")
    monkeypatch.setenv("CASEVIEW_DB", str(path))
    return path


@pytest.fixture
def cli(db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys)


def events(db: Path, action: str) -> list[tuple[str, dict[str, object]]]:
    """(actor, data) of every audit event with this action, oldest first."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT actor, payload FROM audit_log WHERE action = ? ORDER BY seq", (action,)
        ).fetchall()
    finally:
        conn.close()
    return [(actor, json.loads(payload)["data"]) for actor, payload in rows]


def lock_out(db: Path, name: str) -> None:
    """Five wrong passwords in a row: the account is locked for 15 minutes."""
    with open_case_file(db) as casefile:
        for _ in range(accounts.MAX_FAILED_LOGINS):
            with pytest.raises(LoginFailed):
                accounts.login(casefile, name, "not my password")


# --- who may run them ----------------------------------------------------------------

# fmt: off
#   command                                   mona  wren  ada  audit event when done
ROLES = [
    (("case", "deallocate", CASE, "tess"),     0,    3,    3,   "case.deallocated"),
    (("user", "list"),                         0,    3,    0,   None),
    (("user", "reset-password", "tess"),       0,    3,    3,   "user.password_reset"),
    (("user", "unlock", "tess"),               0,    3,    3,   "user.unlocked"),
    (("user", "deactivate", "tess"),           0,    3,    3,   "user.deactivated"),
    (("user", "activate", "sam"),              0,    3,    3,   "user.reactivated"),
]
# fmt: on


def _by_role() -> list[object]:
    return [
        pytest.param(argv, user, row[i], row[3], id=f"{' '.join(argv[:2])}-{user}")
        for argv, *row in ROLES
        for i, user in enumerate(("mona", "wren", "ada"))
    ]


@pytest.mark.parametrize(("argv", "user", "code", "action"), _by_role())
def test_only_managers_change_accounts_and_allocations(
    cli: Cli,
    db: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    user: str,
    code: int,
    action: str | None,
) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", NEW_PASSWORD)
    before = events(db, action) if action else []
    result = cli(user, *argv)
    assert result.code == code, result.err
    if code:
        assert result.out == ""
        assert result.err.startswith("caseview: Only a manager ")
        assert result.err.endswith(
            f"; you are signed in as {'an auditor' if user == 'ada' else 'a worker'}.\n"
        )
    if action is not None:
        added = events(db, action)[len(before) :]
        assert [actor for actor, _ in added] == ([user] if code == 0 else [])


@pytest.mark.parametrize(
    "argv",
    [argv for argv, *_ in ROLES if argv[1] != "list"],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_a_refusal_names_the_role_rule_in_json(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", NEW_PASSWORD)
    result = cli("wren", "--json", *argv)
    assert json.loads(result.out) == {
        "error": result.err.removeprefix("caseview: ").rstrip("\n"),
        "exit_code": 3,
        "rule": "role",
    }


@pytest.mark.parametrize(
    "argv",
    [
        ("user", "reset-password", "mona"),
        ("user", "unlock", "mona"),
        ("user", "deactivate", "mona"),
    ],
    ids=["reset-password", "unlock", "deactivate"],
)
def test_a_manager_cannot_change_their_own_account(
    cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", NEW_PASSWORD)
    result = cli("mona", "--json", *argv)
    assert (result.code, json.loads(result.out)["rule"]) == (3, "own_account")
    assert "ask another manager" in result.err
    assert cli("mona", "case", "list").code == 0  # still active, same password


@pytest.mark.parametrize(
    "argv",
    [
        ("case", "deallocate", CASE, "nobody"),
        ("user", "reset-password", "nobody"),
        ("user", "unlock", "nobody"),
        ("user", "deactivate", "nobody"),
        ("user", "activate", "nobody"),
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_an_unknown_user_is_an_error_that_says_to_check_the_spelling(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", NEW_PASSWORD)
    result = cli("mona", *argv)
    assert (result.code, result.out) == (1, "")
    assert result.err == "caseview: There is no user called 'nobody'. Check the spelling.\n"


# --- case deallocate -----------------------------------------------------------------


def test_deallocate_says_who_is_off_which_case(cli: Cli) -> None:
    result = cli("mona", "case", "deallocate", CASE, "wren")
    assert (result.code, result.out) == (
        0,
        "wren is not allocated to case 1 now. What they recorded on it stays.\n",
    )


def test_a_deallocated_worker_no_longer_sees_the_case(cli: Cli) -> None:
    cli("mona", "case", "deallocate", CASE, "wren")
    assert CASE not in cli("wren", "case", "list").out
    refused = cli("wren", "case", "show", CASE)
    assert (refused.code, "not allocated to you" in refused.err) == (3, True)
    assert "wren" not in json.loads(cli("mona", "--json", "case", "show", CASE).out)["members"]


def test_deallocate_is_audited_with_the_case_and_the_person(cli: Cli, db: Path) -> None:
    cli("mona", "case", "deallocate", CASE, "wren")
    assert events(db, "case.deallocated") == [("mona", {"reference": CASE, "user": "wren"})]


def test_deallocate_in_json(cli: Cli) -> None:
    result = cli("mona", "--json", "case", "deallocate", CASE, "wren")
    assert json.loads(result.out) == {"case": 1, "user": "wren", "allocated": False}


def test_deallocate_an_unknown_case_says_how_to_find_it(cli: Cli) -> None:
    result = cli("mona", "case", "deallocate", "CP-404", "wren")
    assert (result.code, "caseview case list" in result.err) == (1, True)


# --- user list -----------------------------------------------------------------------


def _states(out: str) -> dict[str, str]:
    """user name -> state column of the text table."""
    rows = [[c.strip() for c in line.split("  ") if c.strip()] for line in out.splitlines()[2:]]
    return {cells[1]: cells[4] for cells in rows}


def test_user_list_shows_whether_each_account_can_log_in(cli: Cli, db: Path) -> None:
    lock_out(db, "tess")
    result = cli("mona", "user", "list")
    header = result.out.splitlines()[0].split()
    assert header == ["id", "user", "name", "role", "state", "failed", "logins"]
    states = _states(result.out)
    assert (states["wren"], states["sam"]) == ("active", "switched off")
    assert states["tess"].startswith("locked until ") and states["tess"].endswith(" UTC")


def test_user_list_in_json_gives_the_state_and_the_lockout(cli: Cli, db: Path) -> None:
    lock_out(db, "tess")
    users = {
        u["username"]: u for u in json.loads(cli("mona", "--json", "user", "list").out)["users"]
    }
    assert (users["wren"]["state"], users["wren"]["active"]) == ("active", True)
    assert (users["sam"]["state"], users["sam"]["active"]) == ("switched off", False)
    assert users["tess"]["failed_logins"] == accounts.MAX_FAILED_LOGINS
    assert users["tess"]["locked_until"] is not None
    assert users["wren"]["locked_until"] is None


# --- user reset-password -------------------------------------------------------------


def test_reset_password_replaces_the_old_one(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", NEW_PASSWORD)
    result = cli("mona", "user", "reset-password", "tess")
    assert result.code == 0
    assert result.out.startswith("tess's password is reset and any lockout lifted.")
    monkeypatch.delenv("CASEVIEW_NEW_PASSWORD")
    assert cli("tess", "case", "list", password=NEW_PASSWORD).code == 0
    assert cli("tess", "case", "list", password=PASSWORD).code == 3


def test_reset_password_lifts_a_lockout(
    cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock_out(db, "tess")
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", NEW_PASSWORD)
    assert cli("mona", "user", "reset-password", "tess").code == 0
    assert cli("tess", "case", "list", password=NEW_PASSWORD).code == 0


def test_reset_password_is_audited_without_the_password(
    cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", NEW_PASSWORD)
    cli("mona", "user", "reset-password", "tess")
    [(actor, data)] = events(db, "user.password_reset")
    assert (actor, data["username"], sorted(data)) == (
        "mona",
        "tess",
        ["password_record_sha256", "username"],
    )
    assert NEW_PASSWORD not in json.dumps(data)


def test_reset_password_reads_the_new_password_from_stdin(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The manager's own password comes from CASEVIEW_PASSWORD; the new one is the line.
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{NEW_PASSWORD}\n"))
    assert cli("mona", "user", "reset-password", "tess").code == 0
    assert cli("tess", "case", "list", password=NEW_PASSWORD).code == 0


def test_reset_password_without_a_new_password_says_where_to_give_it(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    result = cli("mona", "user", "reset-password", "tess")
    assert (result.code, "CASEVIEW_NEW_PASSWORD" in result.err) == (2, True)


def test_reset_password_never_takes_the_password_on_the_command_line(cli: Cli) -> None:
    # Command lines end up in shell history and process lists.
    result = cli("mona", "user", "reset-password", "tess", NEW_PASSWORD)
    assert (result.code, result.out) == (2, "")


def test_a_too_short_new_password_changes_nothing(
    cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", "short")
    result = cli("mona", "user", "reset-password", "tess")
    assert (result.code, "too short" in result.err) == (1, True)
    assert events(db, "user.password_reset") == []
    monkeypatch.delenv("CASEVIEW_NEW_PASSWORD")
    assert cli("tess", "case", "list").code == 0


# --- user unlock ---------------------------------------------------------------------


def test_unlock_lets_a_locked_out_user_log_in_with_their_password(cli: Cli, db: Path) -> None:
    lock_out(db, "tess")
    assert cli("tess", "case", "list").code == 3
    result = cli("mona", "user", "unlock", "tess")
    assert (result.code, result.out) == (0, "tess is unlocked; their password is unchanged.\n")
    assert cli("tess", "case", "list").code == 0


def test_unlock_is_audited_with_the_failed_logins_it_cleared(cli: Cli, db: Path) -> None:
    lock_out(db, "tess")
    cli("mona", "user", "unlock", "tess")
    assert events(db, "user.unlocked") == [
        ("mona", {"username": "tess", "failed_logins": accounts.MAX_FAILED_LOGINS})
    ]


# --- user deactivate / activate ------------------------------------------------------


def test_a_switched_off_account_cannot_log_in(cli: Cli) -> None:
    result = cli("mona", "user", "deactivate", "tess")
    assert result.code == 0
    assert result.out.startswith("tess is switched off and can no longer log in.")
    refused = cli("tess", "case", "list")
    assert (refused.code, "switched off" in refused.err) == (3, True)


def test_switching_an_account_on_again_lets_it_log_in(cli: Cli) -> None:
    assert cli("sam", "case", "list").code == 3
    result = cli("mona", "user", "activate", "sam")
    assert (result.code, result.out) == (0, "sam is switched on.\n")
    assert cli("sam", "case", "list").code == 0


def test_switching_off_and_on_is_audited(cli: Cli, db: Path) -> None:
    cli("mona", "user", "deactivate", "tess")
    cli("mona", "user", "activate", "tess")
    assert events(db, "user.deactivated")[-1] == ("mona", {"username": "tess", "active": False})
    assert events(db, "user.reactivated") == [("mona", {"username": "tess", "active": True})]


def test_switching_off_keeps_what_the_person_recorded(cli: Cli, db: Path) -> None:
    assert cli("tess", "subject", "add", CASE, "--name", "Jay Smith", "--role", "child").code == 0
    cli("mona", "user", "deactivate", "tess")
    assert "Jay Smith" in cli("mona", "subject", "list", CASE).out


def test_switching_on_an_active_account_writes_nothing(cli: Cli, db: Path) -> None:
    assert cli("mona", "user", "activate", "tess").code == 0
    assert events(db, "user.reactivated") == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("case", "deallocate", CASE, "wren"), {"case": 1, "user": "wren", "allocated": False}),
        (("user", "unlock", "tess"), {"user": "tess", "locked": False}),
        (("user", "deactivate", "tess"), {"user": "tess", "active": False}),
        (("user", "activate", "sam"), {"user": "sam", "active": True}),
        (
            ("user", "reset-password", "tess"),
            {"user": "tess", "password_reset": True, "locked": False},
        ),
    ],
    ids=["case deallocate", "user unlock", "user deactivate", "user activate", "reset-password"],
)
def test_json_prints_exactly_one_object(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...], expected: dict[str, object]
) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", NEW_PASSWORD)
    [line] = cli("mona", "--json", *argv).out.splitlines()
    assert json.loads(line) == expected


# --- help ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "actions"),
    [
        ("user", ("reset-password", "unlock", "deactivate", "activate")),
        ("case", ("deallocate",)),
    ],
)
def test_group_help_lists_the_new_actions(
    capsys: pytest.CaptureFixture[str], group: str, actions: tuple[str, ...]
) -> None:
    assert main([group, "--help"]) == 0
    out = capsys.readouterr().out
    assert [a for a in actions if a not in out] == []
