"""The command line under local faults: paths the file system refuses, a busy case file,
an output that cannot be written, a terminal that cannot show every character, a
password read from an endless stdin, and empty values that would quietly mean another.

Each is one sentence and the contract's exit code, never 'something unexpected'.
"""

from __future__ import annotations

import errno
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import Result, in_process, team_case_file
from gate_support import PASSWORD

from caseview import cases
from caseview.cli import main
from caseview.cli.io import Output
from caseview.storage import casefile as casefile_module

TITLE = "Zoë Smith … 测试"


@dataclass
class Team:
    db: Path
    folder: Path
    case: str


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    """A case file with mona (manager) and wren (worker, allocated), one approved request."""
    made = team_case_file(tmp_path, monkeypatch, title=TITLE, unset=("PYTHONIOENCODING",))
    return Team(made.db, tmp_path, str(made.case_id))


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    yield lambda *argv: in_process(capsys, *argv, never=("Traceback", "unexpected"))


def child(*argv: str, env: dict[str, str] | None = None, **popen: object) -> Result:
    """``python -m caseview.cli ARGV`` in a child process, with this test's environment."""
    popen.setdefault("stdin", subprocess.DEVNULL)
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    done = subprocess.run(  # type: ignore[call-overload]
        [sys.executable, "-m", "caseview.cli", *argv],
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
        **popen,
    )
    decode = lambda raw: (raw or b"").decode("utf-8", "replace")  # noqa: E731
    result = Result(done.returncode, decode(done.stdout), decode(done.stderr))
    assert "Traceback" not in result.err and "unexpected" not in result.err, result.err
    return result


# --- paths the file system refuses ----------------------------------------------------

LONG = "a" * 5000  # past every file system's NAME_MAX and PATH_MAX


@pytest.mark.allow_logs  # the refusal is logged, with its traceback, for IT support
@pytest.mark.parametrize(
    "argv",
    [
        ["--db", LONG, "case", "list"],
        ["justification", "check", "1", "--file", LONG],
        ["policy", "set", LONG],
    ],
    ids=["db", "file", "policy"],
)
def test_a_path_too_long_for_the_file_system_is_a_sentence(
    team: Team, run: object, argv: list[str]
) -> None:
    result = run(*argv)  # type: ignore[operator]
    assert result.code == 1
    assert "is too long for the file system; give a shorter path" in result.err
    assert len(result.err) < 400  # the path is shown cut short, not 5000 characters


@pytest.mark.allow_logs
@pytest.mark.parametrize(
    ("number", "said"),
    [
        (errno.EACCES, "may not be used (permission denied)"),
        (errno.ENOTDIR, "runs through something that is not a folder"),
        (errno.EROFS, "is on a read-only disk"),
        (errno.EIO, "cannot be used (Input/output error)"),
    ],
)
def test_a_path_the_file_system_refuses_is_named(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch, number: int, said: str
) -> None:
    # As root, chmod stops nothing: the file system's refusal, as it comes.
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(number, os.strerror(number), "/srv/cases/CP-7.db")

    monkeypatch.setattr(cases, "list_cases", refuse)
    result = run("case", "list")  # type: ignore[operator]
    assert result.code == 1
    assert f"The path /srv/cases/CP-7.db {said}" in result.err


# --- a busy case file -----------------------------------------------------------------


@pytest.mark.allow_logs
@pytest.mark.timeout(60)
def test_a_case_file_busy_past_the_wait_says_so(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program holds a write transaction: the command waits its bounded time,
    then says the file is busy (a real lock, with the wait made short)."""
    monkeypatch.setattr(casefile_module, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(team.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        before = team.db.read_bytes()
        result = run("case", "list")  # type: ignore[operator]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 1
    assert f"The case file {team.db} is busy" in result.err and "Try again" in result.err
    assert team.db.read_bytes() == before


# --- an output that cannot be written -------------------------------------------------


class _Full(io.StringIO):
    """A stream on a full disk."""

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_an_output_on_a_full_disk_is_recorded_as_lost() -> None:
    out = Output(False, stdout=_Full(), stderr=io.StringIO())
    out.result({}, "1")
    assert out.lost == "No space left on device"


def test_an_output_closed_from_the_start_is_recorded_as_lost() -> None:
    out = Output(False, stdout=io.StringIO(), stderr=io.StringIO())
    out.stdout = None  # as Python gives it for 'caseview ... >&-'
    out.result({}, "1")
    out.note("a note still goes to stderr")
    assert out.lost == "it was closed"
    assert out.stderr is not None and "a note" in out.stderr.getvalue()  # type: ignore[attr-defined]


def test_an_error_message_with_nowhere_to_go_is_no_new_error() -> None:
    out = Output(True, stdout=io.StringIO(), stderr=io.StringIO())
    out.stderr = None
    out.error("There is no case with reference zz.", 1)
    assert json.loads(out.stdout.getvalue())["exit_code"] == 1  # type: ignore[union-attr]


def test_a_result_printed_to_a_closed_stdout_says_it_was_lost(team: Team) -> None:
    result = child("case", "list", stdout=None, preexec_fn=lambda: os.close(1))
    assert result.code == 1
    assert "The command was done, but what it printed was lost" in result.err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_result_printed_to_a_full_disk_says_it_was_lost_not_that_nothing_was_saved(
    team: Team,
) -> None:
    pdf = team.folder / "note.pdf"
    with open("/dev/full", "wb") as full:
        result = child("export", "pdf", team.case, "-o", str(pdf), stdout=full)
    assert result.code == 1
    assert "The command was done, but what it printed was lost" in result.err
    assert "nothing was saved" not in result.err
    assert pdf.read_bytes().startswith(b"%PDF")  # the export itself stands


def test_a_command_done_with_stderr_closed_still_exits_0(team: Team) -> None:
    """Its note on stderr has nowhere to go; what it did, and printed, is done."""
    pdf = team.folder / "note.pdf"
    result = child("export", "pdf", team.case, "-o", str(pdf), preexec_fn=lambda: os.close(2))
    assert result.code == 0
    assert ":" in result.out  # the checkpoint SEQ:HASH
    assert pdf.read_bytes().startswith(b"%PDF")


# --- a terminal that cannot show every character ----------------------------------------


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_terminal_in_another_character_set_shows_escapes(team: Team, encoding: str) -> None:
    result = child("case", "list", env={"PYTHONIOENCODING": encoding, "PYTHONUTF8": "0"})
    assert result.code == 0
    assert "Smith" in result.out and "\\u6d4b" in result.out  # 测, escaped


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_json_in_another_character_set_is_still_json(team: Team, encoding: str) -> None:
    result = child("--json", "case", "list", env={"PYTHONIOENCODING": encoding, "PYTHONUTF8": "0"})
    assert result.code == 0
    assert json.loads(result.out)["cases"][0]["title"] == TITLE


# --- a password from an endless stdin --------------------------------------------------


class _Endless(io.StringIO):
    """/dev/zero as text: a line with no end, however much is read."""

    def isatty(self) -> bool:
        return False

    def readline(self, size: int | None = -1) -> str:
        if size is None or size < 0:
            raise MemoryError("an unbounded read of an endless stdin")
        return "\0" * size


def test_a_password_read_from_an_endless_stdin_is_refused(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEVIEW_PASSWORD")
    monkeypatch.setattr(sys, "stdin", _Endless())
    result = run("case", "list")  # type: ignore[operator]
    assert result.code == 2
    assert "longer than" in result.err and "CASEVIEW_PASSWORD" in result.err


def test_a_password_on_one_line_of_stdin_still_signs_in(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEVIEW_PASSWORD")
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    result = run("case", "list")  # type: ignore[operator]
    assert result.code == 0 and "CP-7" in result.out


# --- empty values that would quietly mean another --------------------------------------


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["verify", "--expect-head", ""], "--expect-head is empty"),
        (["audit", ""], "The case given is empty"),
        (["search", "Kerry", "--case", " "], "The case given is empty"),
        (["case", "show", ""], "The case given is empty"),
        (["--user", "", "case", "list"], "--user is empty"),
        (["export", "pdf", "1", "-o", ""], "-o is empty"),
        (["justification", "template", "-o", ""], "-o is empty"),
        (["justification", "check", "1", "--file", ""], "The file name given is empty"),
        (["policy", "set", ""], "The file name given is empty"),
        (
            ["migrate", "--from", "", "--to", "postgresql://o@127.0.0.1:1/d", "--admin", "mona"],
            "--from is empty",
        ),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, list) else None,
)
def test_an_empty_value_is_refused_not_taken_for_another(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch, argv: list[str], said: str
) -> None:
    monkeypatch.setenv("CASEVIEW_USER", "mona")  # a manager could read the whole log
    before = team.db.read_bytes()
    result = run(*argv)  # type: ignore[operator]
    assert result.code == 2
    assert said in result.err and result.out == ""
    assert team.db.read_bytes() == before


# --- Ctrl+C while the command is still loading ------------------------------------------

# A child that presses Ctrl+C on itself as the command's modules load (as 'ethics' is
# imported): before 'main' can catch anything.
_CTRL_C_WHILE_LOADING = """
import importlib.abc, os, signal, sys

class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "ethics":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
from caseview.cli import main
print("loaded, not stopped")
sys.exit(main(["--version"]))
"""


def test_ctrl_c_while_the_command_loads_is_one_sentence() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_WHILE_LOADING],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "caseview: Stopped. Nothing was done.\n"


@pytest.mark.parametrize("ignored", [False, True])
def test_ctrl_c_once_loaded_is_as_it_was(ignored: bool) -> None:
    """Once loaded, Ctrl+C is Python's KeyboardInterrupt again (which 'main' answers),
    and a process started with it ignored (a background job) still ignores it."""
    import signal

    code = (
        "import signal; from caseview.cli import main; h = signal.getsignal(signal.SIGINT); "
        "print('python' if h is signal.default_int_handler else 'ignored' "
        "if h is signal.SIG_IGN else 'other')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: signal.signal(
            signal.SIGINT, signal.SIG_IGN if ignored else signal.SIG_DFL
        ),
    )
    assert done.stdout.strip() == ("ignored" if ignored else "python"), done.stderr


# --- a file that is not there ----------------------------------------------------------


def test_a_missing_policy_file_points_to_the_policy_not_the_request_form(
    team: Team, run: object
) -> None:
    result = run("--user", "mona", "policy", "set", str(team.folder / "policy.toml"))  # type: ignore[operator]
    assert result.code == 2
    assert "There is no file" in result.err and "caseview policy show" in result.err
    assert "justification template" not in result.err


# --- an error quoting a very long argument ---------------------------------------------


def test_an_error_quoting_a_pasted_page_is_cut_in_the_middle(team: Team, run: object) -> None:
    pasted = "Lee's staying with us " * 6_000  # 132,000 characters
    result = run("verify", "--expect-head", pasted)  # type: ignore[operator]
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert len(line) < 1200
    assert line.startswith("caseview: 'Lee's staying with us") and " … " in line
    assert line.endswith("exactly as printed in the exported note.")  # what to do, kept


def test_a_long_message_keeps_its_short_lines_whole() -> None:
    from caseview.cli.io import shortened

    findings = "The gate refused it:\n  - [question] too vague\n  - [" + "x" * 5000 + "]"
    lines = shortened(findings).splitlines()
    assert lines[:2] == ["The gate refused it:", "  - [question] too vague"]
    assert len(lines[2]) <= 1003 and lines[2].endswith("x]")


def test_json_is_asked_for_by_the_option_not_by_a_word_searched_for(
    team: Team, run: object
) -> None:
    result = run("search", "--", "--json")  # type: ignore[operator]
    assert result.code == 0 and not result.out.startswith("{")
    asked = run("--json", "search", "Kerry")  # type: ignore[operator]
    assert json.loads(asked.out)["hits"] is not None


# --- a log that cannot be written --------------------------------------------------------


@pytest.fixture
def blocked_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The log's folder is a file, so the log cannot be made."""
    import logging

    import platformdirs

    blocker = tmp_path / "logs"
    blocker.write_text("a file where the log folder should be")
    monkeypatch.setattr(
        platformdirs, "user_log_dir", lambda app, appauthor=None: str(blocker / app)
    )
    yield blocker
    for handler in logging.getLogger().handlers:
        if getattr(handler, "marker", None):
            handler.close()


@pytest.mark.allow_logs  # the bug is logged (to a log that cannot be written)
def test_a_bug_with_no_log_to_keep_it_does_not_send_people_to_the_log(
    team: Team,
    blocked_log: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    # Logging as a fresh process has it (pytest adds its own handlers per phase).
    monkeypatch.setattr(logging.getLogger(), "handlers", [])

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in the code")

    monkeypatch.setattr(cases, "list_cases", broken)
    assert main(["case", "list"]) == 1
    err = capsys.readouterr().err
    assert "Something unexpected went wrong" in err
    assert "The details could not be kept" in err and "CASEVIEW_DEBUG=1" in err
    assert "The details are in" not in err


# --- a date out of range ----------------------------------------------------------------


@pytest.mark.allow_logs
def test_a_time_too_early_to_show_is_called_a_date_not_a_number(team: Team, run: object) -> None:
    evidence = team.folder / "evidence.txt"
    evidence.write_text("Kerry posted at 2am.", encoding="utf-8")
    result = run(  # type: ignore[operator]
        "import",
        team.case,
        str(evidence),
        "--url",
        "http://127.0.0.1/kerry/post/1",
        "--viewed-at",
        "0001-01-01T00:00:00Z",
        "--justification",
        "1",
        "--subject",
        "1",
        "--attest",
    )
    assert result.code == 2
    assert "date" in result.err and "out of range" in result.err


# --- verify, signed in, on a damaged case file -------------------------------------------


@pytest.mark.parametrize("keep", [100, 8192])
def test_verify_signed_in_on_a_damaged_file_reports_it_broken_like_without(
    team: Team, run: object, keep: int
) -> None:
    """Not 'damaged: check it with verify' (exit 1), to someone running verify: the
    finding, exit 4, as the same command without signing in gives."""
    cut = team.folder / "cut.db"
    cut.write_bytes(team.db.read_bytes()[:keep])
    signed_in = run("--db", str(cut), "verify")  # type: ignore[operator]
    assert signed_in.code == 4 and signed_in.out.startswith("BROKEN")
    assert "check it with" not in signed_in.err


@pytest.mark.allow_logs
def test_a_deeply_nested_policy_file_points_to_the_policy_not_the_request_form(
    team: Team, run: object
) -> None:
    deep = team.folder / "policy.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    result = run("--user", "mona", "policy", "set", str(deep))  # type: ignore[operator]
    assert result.code == 1 and "too deeply" in result.err
    assert "caseview policy show" in result.err and "justification template" not in result.err
