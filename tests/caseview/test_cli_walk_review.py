"""A newcomer's walk through the command line: the slips people make, and what they read.

Each test is one slip found by walking the README with a fresh case file: the message
must say what to do, the exit code must be the contract's, and nothing may be lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from capture_support import LOOPBACK, approve_for
from cli_support import in_process, team_case_file
from gate_support import PASSWORD, example_toml

from caseview import accounts, audit
from caseview.cli import io, main
from caseview.storage import open_case_file


@dataclass
class Team:
    db: Path
    folder: Path
    case: int
    subject: int


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    """A case file with mona (manager) and wren (worker on case 1, which has Kerry)."""
    made = team_case_file(tmp_path, monkeypatch, approved=False)
    monkeypatch.chdir(tmp_path)
    return Team(made.db, tmp_path, made.case_id, made.subject_id)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    yield lambda *argv: in_process(capsys, *argv)


@pytest.fixture
def approved(team: Team) -> int:
    """A request by wren about Kerry, approved by mona, to look at the loopback host."""
    with open_case_file(team.db) as casefile:
        worker = accounts.login(casefile, "wren", PASSWORD)
        manager = accounts.login(casefile, "mona", PASSWORD)
        return approve_for(worker, manager, team.case, [team.subject], now=datetime.now(UTC)).id


def _intact(db: Path) -> bool:
    return audit.verify(None, db).intact


# --- a case named in digits other than 0-9 ---------------------------------------------


@pytest.mark.parametrize("typed", ["²", "①"])
def test_a_case_typed_in_other_digits_is_not_found_not_a_crash(
    team: Team, run: object, typed: str
) -> None:
    """str.isdigit() takes '²', which int() refuses: it reached the person as a bug."""
    result = run("case", "show", typed)  # type: ignore[operator]
    assert (result.code, f"There is no case with reference {typed}" in result.err) == (1, True)


def test_an_arabic_indic_one_does_not_open_case_1(team: Team, run: object) -> None:
    result = run("case", "show", "\u0661")  # type: ignore[operator]
    assert (result.code, "Smith family" in result.out) == (1, False)


def test_an_id_option_in_other_digits_is_a_usage_error(team: Team, run: object) -> None:
    result = run("source", "show", "\u0661")  # type: ignore[operator]
    assert result.code == 2
    assert "is not a whole number; type it in digits" in result.err


def test_an_id_that_is_not_a_number_says_so(team: Team, run: object) -> None:
    result = run("justification", "show", "abc")  # type: ignore[operator]
    assert result.code == 2
    assert "'abc' is not a whole number" in result.err


# --- init cut short, and a case file left without accounts ------------------------------


def test_init_cut_short_leaves_nothing_in_the_way(
    tmp_path: Path, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+C while the first manager was being made left a file that every later
    'init' refused as existing, while every other command sent the person to 'init'."""
    db = tmp_path / "new.db"
    monkeypatch.setenv("CASEVIEW_DB", str(db))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    real = accounts.create_first_manager

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(accounts, "create_first_manager", interrupted)
    first = run("init", "--admin", "mona")  # type: ignore[operator]
    assert (first.code, "Stopped" in first.err) == (1, True)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "state") == []
    monkeypatch.setattr(accounts, "create_first_manager", real)
    again = run("init", "--admin", "mona")  # type: ignore[operator]
    assert (again.code, again.out.strip()) == (0, str(db))
    assert _intact(db)


def test_init_gives_a_case_file_without_accounts_its_first_manager(
    tmp_path: Path, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "bare.db"
    open_case_file(db, create=True).close()
    monkeypatch.setenv("CASEVIEW_DB", str(db))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    told = run("--user", "mona", "case", "list")  # type: ignore[operator]
    assert "caseview init --admin NAME" in told.err
    assert run("init", "--admin", "mona").code == 0  # type: ignore[operator]
    assert run("--user", "mona", "case", "list").code == 0  # type: ignore[operator]
    refused = run("init", "--admin", "mallory")  # type: ignore[operator]
    assert (refused.code, "already exists" in refused.err) == (1, True)


def test_init_makes_a_private_file_in_a_new_folder(
    tmp_path: Path, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cases" / "smith.db"
    monkeypatch.setenv("CASEVIEW_DB", str(db))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    assert run("init", "--admin", "mona").code == 0  # type: ignore[operator]
    assert (db.stat().st_mode & 0o777, sorted(p.name for p in db.parent.iterdir())) == (
        0o600,
        ["smith.db"],
    )


# --- slips in the command line itself ----------------------------------------------------


def test_json_after_the_command_says_where_it_goes(team: Team, run: object) -> None:
    result = run("case", "list", "--json")  # type: ignore[operator]
    assert result.code == 2
    assert "--json must come before the command: caseview --json case list" in result.err
    assert json.loads(result.out)["exit_code"] == 2


def test_db_and_user_after_the_command_say_where_they_go(team: Team, run: object) -> None:
    result = run("case", "show", "1", "--db", "x.db", "--user=wren")  # type: ignore[operator]
    assert result.code == 2
    assert (
        "--db and --user must come before the command: caseview --db x.db --user=wren case show 1"
        in result.err
    )


def test_a_mistyped_global_option_is_named(team: Team, run: object) -> None:
    result = run("--usr", "wren", "case", "list")  # type: ignore[operator]
    assert result.code == 2
    assert "--usr is not an option of caseview; did you mean --user?" in result.err


@pytest.mark.parametrize(
    ("argv", "meant"),
    [(["captur"], "capture"), (["case", "lst"], "list"), (["justification", "sumbit"], "submit")],
)
def test_a_mistyped_command_suggests_the_one_meant(
    team: Team, run: object, argv: list[str], meant: str
) -> None:
    result = run(*argv)  # type: ignore[operator]
    assert (result.code, f"did you mean '{meant}'? See" in result.err) == (2, True)


def test_a_file_named_with_a_leading_dash_is_explained(team: Team, run: object) -> None:
    (team.folder / "-shot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = run(  # type: ignore[operator]
        "import", "1", "-shot.png", "--url", "https://social.example/p", "--viewed-at",
        "2026-11-20T14:05:00Z", "--justification", "1", "--subject", "1",
    )  # fmt: skip
    assert result.code == 2
    assert "write it as ./-shot.png" in result.err


@pytest.mark.parametrize("command", [["search", "Kerry"], ["audit"]])
@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_limit_below_one_is_a_usage_error(
    team: Team, run: object, command: list[str], limit: str
) -> None:
    """--limit -1 quietly showed one hit, as if that were all there was."""
    result = run(*command, "--limit", limit)  # type: ignore[operator]
    assert (result.code, "give 1 or more" in result.err) == (2, True)


def test_note_with_nothing_to_write_says_which_options(team: Team, run: object) -> None:
    """'caseview note 1' printed the note's id as if it had saved something."""
    assert run("note", str(team.case), "--analysis", "Posts show Dave").code == 0  # type: ignore[operator]
    result = run("note", str(team.case))  # type: ignore[operator]
    assert (result.code, "--analysis TEXT" in result.err, result.out) == (2, True, "")
    assert "stays at version 1" in result.err


def test_a_keyboard_interrupt_while_reading_the_command_is_one_sentence(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import caseview.cli as cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build", interrupted)
    result = run("case", "list")  # type: ignore[operator]
    assert (result.code, result.err) == (1, "caseview: Stopped. Nothing was done.\n")


# --- a justification file saved by Windows Notepad as "Unicode" ---------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_justification_file_is_read(team: Team, run: object, encoding: str) -> None:
    text = example_toml([team.subject], date.today() + timedelta(days=7))
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (team.folder / "request.toml").write_bytes(data)
    result = run("--json", "justification", "check", str(team.case), "--file", "request.toml")  # type: ignore[operator]
    assert "may_submit" in json.loads(result.out)


# --- tables line up whatever the script -------------------------------------------------


def test_a_table_lines_up_wide_characters() -> None:
    lines = io.table(["title", "id"], [["ケリーのページ", 1], ["Kerry", 2]]).splitlines()
    assert io.columns("ケリーのページ") == 14  # two columns each
    assert io.columns(lines[2][: lines[2].index("1")]) == io.columns(
        lines[3][: lines[3].index("2")]
    )


# --- what a refusal asks for, named as the option that gives it ---------------------------


def test_a_look_without_the_promise_names_attest(team: Team, run: object, approved: int) -> None:
    """The gate's words are the desktop app's ("Confirm that..."): the command line must
    also say which option confirms it."""
    result = run(  # type: ignore[operator]
        "view", str(team.case), f"http://{LOOPBACK}/kerry", "--justification", str(approved),
        "--subject", str(team.subject),
    )  # fmt: skip
    assert (result.code, "attestation_missing" in result.err) == (3, True)
    assert result.err.rstrip().endswith("On the command line, that promise is --attest.")


def test_a_time_that_cannot_be_read_is_not_called_zoneless(team: Team, run: object) -> None:
    (team.folder / "notes.txt").write_text("Dave lives here.\n", encoding="utf-8")
    result = run(  # type: ignore[operator]
        "import", str(team.case), "notes.txt", "--url", "https://social.example/p",
        "--viewed-at", "2026-02-30T10:00:00Z", "--justification", "1", "--subject", "1",
        "--origin", "family", "--supplied-by", "gran",
    )  # fmt: skip
    assert result.code == 2
    assert "is not a time Caseview can read" in result.err


# --- an export never lands on the case file -----------------------------------------------


@pytest.mark.parametrize("kind", ["pdf", "warc"])
@pytest.mark.parametrize("suffix", ["", "-wal"])
def test_an_export_onto_the_case_file_is_refused(
    team: Team, run: object, kind: str, suffix: str
) -> None:
    """'-o team.db' (meant as '--db team.db') replaced the whole case with a PDF."""
    before = team.db.read_bytes()
    result = run("export", kind, str(team.case), "-o", f"{team.db}{suffix}")  # type: ignore[operator]
    assert (result.code, "is the case file" in result.err) == (2, True)
    assert team.db.read_bytes() == before
    assert _intact(team.db)


def test_an_export_onto_a_hard_link_to_the_case_file_is_refused(team: Team, run: object) -> None:
    other = team.folder / "copy-of-team.db"
    other.hardlink_to(team.db)
    result = run("export", "pdf", str(team.case), "-o", str(other))  # type: ignore[operator]
    assert (result.code, _intact(team.db)) == (2, True)


# --- a password variable set to nothing ---------------------------------------------------


def test_an_empty_password_variable_is_not_a_failed_login(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'export CASEVIEW_PASSWORD=' (meant to clear it) counted a failed login each time."""
    monkeypatch.setenv("CASEVIEW_PASSWORD", "")
    monkeypatch.setattr("sys.stdin", StringIO(""))
    result = run("case", "list")  # type: ignore[operator]
    assert (result.code, "No password given" in result.err) == (2, True)
    with open_case_file(team.db) as casefile:
        found = accounts.list_accounts(accounts.login(casefile, "mona", PASSWORD))
    assert [a.failed_logins for a in found if a.user.username == "wren"] == [0]


def test_ctrl_d_at_the_password_prompt_is_one_sentence(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """getpass raises EOFError on Ctrl+D: it reached the person as 'Something unexpected'."""

    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    def ctrl_d(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.delenv("CASEVIEW_PASSWORD")
    monkeypatch.setattr("sys.stdin", Terminal(""))
    monkeypatch.setattr("getpass.getpass", ctrl_d)
    result = run("case", "list")  # type: ignore[operator]
    assert (result.code, "No password given" in result.err) == (2, True)


def test_an_empty_db_is_refused_not_taken_for_the_default(team: Team, run: object) -> None:
    """'--db "$CASEFILE"' with the variable unset worked on the default case file."""
    result = run("--db", "", "case", "list")  # type: ignore[operator]
    assert (result.code, "the path is empty" in result.err, result.out) == (2, True, "")


def test_a_new_output_named_with_a_leading_dash_is_explained(team: Team, run: object) -> None:
    result = run("export", "pdf", str(team.case), "-o", "-note.pdf")  # type: ignore[operator]
    assert (result.code, "write it as ./-note.pdf" in result.err) == (2, True)
    assert not (team.folder / "-note.pdf").exists()


# --- bytes from a terminal in another character set ----------------------------------------

NOT_UTF8 = b"Kerr\xff".decode("utf-8", "surrogateescape")  # as Python hands argv over


@pytest.mark.parametrize(
    "argv",
    [
        ["subject", "add", "1", "--name", NOT_UTF8, "--role", "parent"],
        ["note", "1", "--analysis", NOT_UTF8],
        ["case", "show", NOT_UTF8],
        ["search", NOT_UTF8],
    ],
)
def test_text_in_another_character_set_is_a_usage_error(
    team: Team, run: object, argv: list[str]
) -> None:
    """Such text failed deep inside the storage as 'Something unexpected went wrong'."""
    result = run(*argv)  # type: ignore[operator]
    assert (result.code, "is not UTF-8 text" in result.err) == (2, True)
    assert _intact(team.db)


def test_an_import_whose_name_is_not_utf8_says_to_rename_it(team: Team, run: object) -> None:
    name = b"\xfe.txt".decode("utf-8", "surrogateescape")
    (team.folder / name).write_text("Dave lives here.\n", encoding="utf-8")
    result = run(  # type: ignore[operator]
        "import", str(team.case), name, "--url", "https://social.example/p", "--viewed-at",
        "2026-11-20T14:05:00Z", "--justification", "1", "--subject", "1", "--origin",
        "family", "--supplied-by", "gran",
    )  # fmt: skip
    assert (result.code, "Copy or rename the file" in result.err) == (2, True)


def test_an_export_whose_name_is_not_utf8_is_refused(team: Team, run: object) -> None:
    name = b"\xfd.pdf".decode("utf-8", "surrogateescape")
    result = run("export", "pdf", str(team.case), "-o", name)  # type: ignore[operator]
    assert (result.code, "Give the export a name in UTF-8 text" in result.err) == (2, True)


@pytest.mark.parametrize("variable", ["CASEVIEW_USER", "CASEVIEW_PASSWORD"])
def test_a_sign_in_in_another_character_set_is_a_usage_error(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, NOT_UTF8)
    result = run("case", "list")  # type: ignore[operator]
    assert (result.code, "is not UTF-8 text" in result.err) == (2, True)


def test_a_long_text_taken_for_a_case_reference_is_shortened(team: Team, run: object) -> None:
    result = run("case", "show", "dave " * 2000)  # type: ignore[operator]
    assert (result.code, len(result.err) < 200) == (1, True)


@pytest.mark.parametrize("action", ["new", "check"])
def test_an_empty_justification_file_is_called_empty(team: Team, run: object, action: str) -> None:
    (team.folder / "request.toml").write_text("\n  \n", encoding="utf-8")
    result = run("justification", action, str(team.case), "--file", "request.toml")  # type: ignore[operator]
    assert (result.code, "request.toml is empty" in result.err) == (1, True)


# --- a reader that goes away (| head, a pager quit early) ---------------------------------


class ClosedPipe(StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("as_json", [False, True])
def test_a_closed_pipe_is_not_an_unexpected_error(
    team: Team, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    """'caseview audit | head' said 'Something unexpected went wrong', with a traceback."""
    monkeypatch.setenv("CASEVIEW_USER", "mona")
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    code = main([*(["--json"] if as_json else []), "audit"])
    assert (code, capsys.readouterr().err) == (0, "")


def test_a_failure_still_says_so_when_the_pipe_is_closed(
    team: Team, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert main(["--json", "case", "show", "99"]) == 1
    assert "There is no case 99" in capsys.readouterr().err
