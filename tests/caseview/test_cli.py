"""The ``caseview`` command, driven through ``caseview.cli.main`` exactly as a person would."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import pytest

from caseview.cli import main

ADMIN_PASSWORD = "first manager pw"
PASSWORD = "team member pw"
COMMANDS = ("init", "demo", "gui", "user", "case", "subject", "verify", "audit")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


class Cli:
    """Runs ``caseview ARGS`` as one user, against one case file."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def as_user(self, name: str | None, password: str | None = PASSWORD) -> Cli:
        for var, value in (("CASEVIEW_USER", name), ("CASEVIEW_PASSWORD", password)):
            if value is None:
                self.monkeypatch.delenv(var, raising=False)
            else:
                self.monkeypatch.setenv(var, value)
        return self

    def __call__(self, *argv: str) -> Result:
        self.capsys.readouterr()  # forget anything printed before
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CASEVIEW_* from the developer's shell; nothing written to the real data folder."""
    for name in ("CASEVIEW_DB", "CASEVIEW_USER", "CASEVIEW_PASSWORD", "CASEVIEW_NEW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        platformdirs, "user_data_dir", lambda app, appauthor=None: str(tmp_path / "data" / app)
    )


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "team.db"
    monkeypatch.setenv("CASEVIEW_DB", str(path))
    return path


@pytest.fixture
def team(cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A case file made through the CLI: mona (manager), wren and otto (workers), ada
    (auditor), and case CP-1 allocated to wren. Returns the case id."""
    assert cli.as_user(None, ADMIN_PASSWORD)("init", "--admin", "mona").code == 0
    cli.as_user("mona", ADMIN_PASSWORD)
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    for name, role in (("wren", "worker"), ("otto", "worker"), ("ada", "auditor")):
        assert cli("user", "add", name, "--role", role).code == 0
    case = cli("case", "new", "--ref", "CP-1", "--title", "Smith family").out.strip()
    assert cli("case", "allocate", case, "wren").code == 0
    monkeypatch.delenv("CASEVIEW_NEW_PASSWORD")
    return case


# --- the scenario of issue 2 ---------------------------------------------------------


def test_scenario_end_to_end(cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init = cli.as_user(None, ADMIN_PASSWORD)("init", "--admin", "mona")
    assert (init.code, db.exists()) == (0, True)

    cli.as_user("mona", ADMIN_PASSWORD)
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    for name, role in (("wren", "worker"), ("otto", "worker"), ("ada", "auditor")):
        added = cli("user", "add", name, "--role", role)
        assert added.code == 0, added.err
        assert added.out.strip().isdigit()

    created = cli("case", "new", "--ref", "CP-1", "--title", "Smith family")
    assert created.code == 0
    case = created.out.strip()
    assert created.out == f"{case}\n" and case.isdigit()  # the id alone
    assert cli("case", "allocate", case, "wren").code == 0

    assert "CP-1" in cli.as_user("wren")("case", "list").out
    unallocated = cli.as_user("otto")("case", "list")
    assert (unallocated.code, "CP-1" in unallocated.out) == (0, False)
    shown = cli("case", "show", case)
    assert (shown.code, "not allocated to you" in shown.err) == (3, True)

    refused = cli.as_user("ada")("user", "add", "eve", "--role", "worker")
    assert (refused.code, "manager" in refused.err) == (3, True)

    cli.as_user("wren", "not my password")
    attempts = [cli("case", "list") for _ in range(5)]
    assert [a.code for a in attempts] == [3] * 5
    assert "locked" in attempts[-1].err
    locked_out = cli.as_user("wren", PASSWORD)("case", "list")
    assert (locked_out.code, "locked" in locked_out.err) == (3, True)

    verified = cli.as_user(None, None)("verify")
    assert (verified.code, verified.out.startswith("Intact")) == (0, True)


# --- one behaviour at a time ---------------------------------------------------------


def test_init_prints_the_path_and_creates_the_file(cli: Cli, db: Path) -> None:
    result = cli.as_user(None, ADMIN_PASSWORD)("init", "--admin", "mona")
    assert (result.code, result.out.strip(), db.is_file()) == (0, str(db), True)


def test_init_over_an_existing_file_is_refused(cli: Cli, db: Path, team: str) -> None:
    before = db.read_bytes()
    result = cli.as_user(None, ADMIN_PASSWORD)("init", "--admin", "mallory")
    assert (result.code, "already exists" in result.err) == (1, True)
    assert db.read_bytes() == before


def test_init_with_a_short_password_leaves_no_file(cli: Cli, db: Path) -> None:
    result = cli.as_user(None, "short")("init", "--admin", "mona")
    assert (result.code, "too short" in result.err, db.exists()) == (1, True, False)


def test_missing_case_file_says_to_run_init(cli: Cli, db: Path) -> None:
    result = cli.as_user("mona")("case", "list")
    assert (result.code, "caseview init --admin NAME" in result.err) == (1, True)


def test_user_add_prints_the_new_id(cli: Cli, team: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    result = cli.as_user("mona", ADMIN_PASSWORD)("user", "add", "eve", "--role", "worker")
    assert (result.code, result.out) == (0, "5\n")


def test_new_user_can_log_in(cli: Cli, team: str) -> None:
    assert cli.as_user("otto")("case", "list").code == 0


def test_subject_add_prints_the_id_and_shows_in_the_case(cli: Cli, team: str) -> None:
    cli.as_user("wren")
    added = cli("subject", "add", "CP-1", "--name", "Jay Smith", "--role", "child",
                "--dob", "2015-03-01", "--handle", "https://social.example/jay")  # fmt: skip
    assert (added.code, added.out.strip().isdigit()) == (0, True)
    assert "Jay Smith" in cli("case", "show", team).out


def test_bad_date_of_birth_is_a_usage_error(cli: Cli, team: str) -> None:
    cli.as_user("wren")
    result = cli("subject", "add", team, "--name", "Jay", "--role", "child", "--dob", "1.3.15")
    assert (result.code, "YYYY-MM-DD" in result.err) == (2, True)


def test_closed_case_refuses_new_subjects_with_exit_3(cli: Cli, team: str) -> None:
    assert cli.as_user("mona", ADMIN_PASSWORD)("case", "close", team).code == 0
    result = cli.as_user("wren")("subject", "add", team, "--name", "Jay", "--role", "child")
    assert (result.code, "closed" in result.err) == (3, True)


def test_worker_cannot_read_the_whole_audit_log(cli: Cli, team: str) -> None:
    assert cli.as_user("wren")("audit").code == 3


def test_auditor_reads_the_audit_log(cli: Cli, team: str) -> None:
    result = cli.as_user("ada")("audit")
    assert (result.code, "case.allocated" in result.out) == (0, True)


def test_verify_with_a_user_is_logged(cli: Cli, team: str) -> None:
    assert cli.as_user("ada")("verify").code == 0
    assert "integrity.verified" in cli("audit").out


def test_broken_chain_exits_4_and_names_the_event(cli: Cli, db: Path, team: str) -> None:
    conn = sqlite3.connect(db)
    [seq] = conn.execute("SELECT seq FROM audit_log WHERE action = 'case.created'").fetchone()
    conn.execute("DROP TRIGGER audit_log_append_only_update")
    conn.execute(
        "UPDATE audit_log SET payload = replace(payload, 'CP-1', 'CP-2') WHERE seq = ?", (seq,)
    )
    conn.commit()
    conn.close()
    result = cli.as_user(None, None)("verify")
    assert (result.code, result.out.startswith(f"BROKEN at event {seq}:")) == (4, True)


def test_numeric_reference_never_picks_another_case(cli: Cli, team: str) -> None:
    cli.as_user("mona", ADMIN_PASSWORD)
    cli("case", "new", "--ref", "1", "--title", "Jones family")  # the case with id 2
    cli("case", "allocate", "1", "otto")  # meant: the case whose reference is 1
    assert "otto" not in json.loads(cli("--json", "case", "show", "CP-1").out)["members"]


def test_all_digit_reference_finds_its_case(cli: Cli, team: str) -> None:
    cli.as_user("mona", ADMIN_PASSWORD)
    cli("case", "new", "--ref", "20260042", "--title", "Jones family")
    assert json.loads(cli("--json", "case", "show", "20260042").out)["title"] == "Jones family"


# --- passwords -----------------------------------------------------------------------


def test_password_is_read_from_stdin_when_not_in_the_environment(
    cli: Cli, team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))
    result = cli.as_user("wren", None)("case", "list")
    assert (result.code, "CP-1" in result.out) == (0, True)


def test_wrong_password_on_stdin_is_refused(
    cli: Cli, team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("not my password\n"))
    assert cli.as_user("wren", None)("case", "list").code == 3


def test_no_password_anywhere_is_a_usage_error(
    cli: Cli, team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    result = cli.as_user("wren", None)("case", "list")
    assert (result.code, "CASEVIEW_PASSWORD" in result.err) == (2, True)


def test_init_reads_the_first_password_from_stdin(
    cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{ADMIN_PASSWORD}\n"))
    assert cli.as_user(None, None)("init", "--admin", "mona").code == 0
    assert cli.as_user("mona", ADMIN_PASSWORD)("case", "list").code == 0


def test_missing_user_is_a_usage_error_naming_caseview_user(cli: Cli, team: str) -> None:
    result = cli.as_user(None)("case", "list")
    assert (result.code, "CASEVIEW_USER" in result.err) == (2, True)


def test_user_flag_overrides_caseview_user(cli: Cli, team: str) -> None:
    result = cli.as_user("otto")("--user", "wren", "case", "list")
    assert "CP-1" in result.out


def test_password_change_through_the_cli(
    cli: Cli, team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", "a brand new password")
    assert cli.as_user("wren")("user", "passwd").code == 0
    monkeypatch.delenv("CASEVIEW_NEW_PASSWORD")
    assert cli.as_user("wren", "a brand new password")("case", "list").code == 0


# --- output contract: --json, usage errors, help -------------------------------------


@pytest.mark.parametrize(
    ("user", "argv", "code"),
    [
        ("mona", ("case", "list"), 0),
        ("mona", ("case", "new", "--ref", "CP-2", "--title", "Jones family"), 0),
        ("mona", ("user", "list"), 0),
        ("ada", ("verify",), 0),
        ("mona", ("case", "show", "99"), 1),
        ("mona", ("frobnicate",), 2),
        ("mona", ("case", "new", "--title", "No reference"), 2),
        ("ada", ("user", "add", "eve", "--role", "worker"), 3),
        ("otto", ("case", "show", "CP-1"), 3),
    ],
    ids=[
        "list",
        "create",
        "user-list",
        "verify",
        "not-found",
        "unknown-command",
        "missing-option",
        "refused-role",
        "refused-allocation",
    ],
)
def test_json_prints_exactly_one_object(
    cli: Cli,
    team: str,
    monkeypatch: pytest.MonkeyPatch,
    user: str,
    argv: tuple[str, ...],
    code: int,
) -> None:
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    result = cli.as_user(user, ADMIN_PASSWORD if user == "mona" else PASSWORD)("--json", *argv)
    assert result.code == code
    lines = result.out.splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    if code:
        assert (obj["exit_code"], bool(obj["error"])) == (code, True)


def test_json_create_gives_the_id(cli: Cli, team: str) -> None:
    result = cli.as_user("mona", ADMIN_PASSWORD)(
        "--json", "case", "new", "--ref", "CP-2", "--title", "Jones family"
    )
    assert json.loads(result.out) == {"id": int(team) + 1, "reference": "CP-2"}


def test_json_refusal_names_the_rule(cli: Cli, team: str) -> None:
    result = cli.as_user("otto")("--json", "case", "show", team)
    assert json.loads(result.out)["rule"] == "allocation"


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        (("frobnicate",), "frobnicate"),
        (("case", "new", "--title", "No reference"), "--ref"),
        (("case",), "ACTION"),
        (("user", "add", "eve", "--role", "boss"), "boss"),
        (("subject", "add", "1", "--name", "Jay", "--role", "uncle"), "uncle"),
        (("audit", "--limit", "many"), "many"),
    ],
)
def test_usage_errors_exit_2_with_a_message_on_stderr(
    cli: Cli, team: str, argv: tuple[str, ...], mentions: str
) -> None:
    result = cli.as_user("mona", ADMIN_PASSWORD)(*argv)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("caseview: ") and mentions in result.err


def test_help_lists_the_commands(cli: Cli) -> None:
    result = cli("--help")
    assert result.code == 0
    assert [c for c in COMMANDS if c not in result.out] == []


@pytest.mark.parametrize(
    ("group", "actions"),
    [("user", ("add", "list", "passwd")), ("case", ("new", "allocate", "list", "show"))],
)
def test_group_help_lists_its_actions(cli: Cli, group: str, actions: tuple[str, ...]) -> None:
    result = cli(group, "--help")
    assert result.code == 0
    assert [a for a in actions if a not in result.out] == []


def test_errors_go_to_stderr_not_stdout(cli: Cli, team: str) -> None:
    result = cli.as_user("otto")("case", "show", team)
    assert (result.out, result.err.startswith("caseview: ")) == ("", True)


# --- the installed entry point -------------------------------------------------------


def test_console_script_is_installed_and_runs() -> None:
    script = shutil.which("caseview", path=str(Path(sys.executable).parent))
    assert script is not None, "the 'caseview' console script is not installed in this venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEVIEW_")}
    done = subprocess.run(
        [script, "--help"], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert [c for c in COMMANDS if c not in done.stdout] == []
