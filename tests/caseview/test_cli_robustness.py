"""No traceback on any input: every failure is one sentence and the contract's exit code.

Each case runs through ``caseview.cli.main`` in-process, and the sharpest ones again as
a child process (``python -m caseview.cli``), where nothing but our own handling stands
between an exception and the person's terminal.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import platformdirs
import pytest
from cli_support import Result, in_process, team_case_file
from gate_support import PASSWORD

from caseview import accounts, audit, cases, justifications
from caseview.cli import logs, main
from caseview.storage import open_case_file

HUGE = "99999999999999999999"  # past SQLite's 2**63 - 1


@dataclass
class Team:
    db: Path
    folder: Path
    case: str
    justification: int
    subject: int


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    """A case file with mona (manager) and wren (worker, allocated), one approved request."""
    made = team_case_file(tmp_path, monkeypatch)
    assert made.request_id is not None
    return Team(made.db, tmp_path, str(made.case_id), made.request_id, made.subject_id)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    yield lambda *argv: in_process(capsys, *argv)


def child(*argv: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
    """``python -m caseview.cli ARGV`` in a child process, with this test's environment."""
    done = subprocess.run(
        [sys.executable, "-m", "caseview.cli", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def _template(team: Team, name: str = "request.toml", prefix: bytes = b"") -> Path:
    path = team.folder / name
    path.write_bytes(prefix + justifications.template().encode("utf-8"))
    return path


# --- a read-only case file ------------------------------------------------------------


def test_writing_to_a_read_only_case_file_says_so(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as root, whom chmod does not stop: SQLite's own refusal, as it comes.
    def refuse(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(audit, "record", refuse)
    result = run("case", "list")  # type: ignore[operator]
    assert result.code == 1
    assert f"The case file {team.db} is read-only" in result.err
    assert "verify" in result.err


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_read_only_case_file_can_be_checked_and_read_but_not_written(team: Team) -> None:
    """A case file nobody here may change, in a folder nobody here may write (as on a
    read-only disk, where SQLite cannot make its working files): verify says Intact,
    signing in and reading work and say the file is read-only, a write is refused as
    read-only, and the file is left exactly as it was."""
    as_root = os.geteuid() == 0
    if as_root and not shutil.which("setpriv"):
        pytest.skip("root ignores chmod and setpriv is missing to drop it")
    top = Path(tempfile.mkdtemp(prefix="caseview-ro-"))
    folder = top / "archive"
    folder.mkdir()
    try:
        db = folder / "ro.db"
        shutil.copy(team.db, db)
        db.chmod(0o444)
        prefix: list[str] = []
        if as_root:
            # The folder stays root's: the other user may read it but not write in it.
            for path in (top, folder):
                path.chmod(0o755)
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        else:
            folder.chmod(0o555)
        state = Path(tempfile.mkdtemp(prefix="caseview-ro-state-"))
        state.chmod(0o777)
        before = db.read_bytes()

        def go(*argv: str, user: str | None, password: str = PASSWORD) -> Result:
            env = {
                **os.environ,
                "CASEVIEW_DB": str(db),
                "XDG_STATE_HOME": str(state),
                "CASEVIEW_PASSWORD": password,
            }
            env.pop("CASEVIEW_USER", None)
            if user:
                env["CASEVIEW_USER"] = user
            done = subprocess.run(
                [*prefix, sys.executable, "-m", "caseview.cli", *argv],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
                check=False,
                stdin=subprocess.DEVNULL,
            )
            assert "Traceback" not in done.stderr
            return Result(done.returncode, done.stdout, done.stderr)

        verified = go("verify", user=None)
        assert (verified.code, verified.out.startswith("Intact")) == (0, True), verified.err
        listed = go("case", "list", user="wren")
        assert listed.code == 0, listed.err
        assert "CP-7" in listed.out and "is read-only" in listed.err
        shown = go("source", "list", team.case, user="wren")
        assert shown.code == 0, shown.err
        wrong = go("case", "list", user="wren", password="not the password")
        assert wrong.code != 0 and "password is wrong" in wrong.err and wrong.out == ""
        write = go("case", "new", "--ref", "CP-8", "--title", "A new case", user="mona")
        assert write.code == 1
        assert f"The case file {db} is read-only" in write.err
        exported = go("export", "pdf", team.case, "-o", str(state / "note.pdf"), user="wren")
        assert exported.code == 1 and "is read-only" in exported.err
        assert not (state / "note.pdf").exists()
        assert db.read_bytes() == before
        assert sorted(p.name for p in folder.iterdir()) == ["ro.db"]
    finally:
        if not as_root:
            folder.chmod(0o755)
        shutil.rmtree(top, ignore_errors=True)


# --- a damaged case file --------------------------------------------------------------


@pytest.mark.parametrize("keep", [100, 4096, 20_000])
def test_a_truncated_case_file_is_called_damaged(team: Team, run: object, keep: int) -> None:
    cut = team.folder / "cut.db"
    cut.write_bytes(team.db.read_bytes()[:keep])
    result = run("--db", str(cut), "case", "list")  # type: ignore[operator]
    assert result.code == 1
    assert "is damaged" in result.err and "not a Caseview" not in result.err
    assert "caseview --db" in result.err and "verify" in result.err and "backup" in result.err


@pytest.mark.allow_logs  # the damage is logged, with its traceback, for IT support
def test_a_damaged_page_met_while_reading_is_called_damaged(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    def malformed(*args: object, **kwargs: object) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(cases, "list_cases", malformed)
    result = run("case", "list")  # type: ignore[operator]
    assert result.code == 1 and "is damaged" in result.err and "backup" in result.err


def test_a_truncated_case_file_as_a_child(team: Team) -> None:
    cut = team.folder / "cut.db"
    cut.write_bytes(team.db.read_bytes()[:8192])
    result = child("--db", str(cut), "case", "list")
    assert (result.code, "Traceback" in result.err) == (1, False)
    assert "damaged" in result.err


# --- a full disk ----------------------------------------------------------------------


@pytest.mark.allow_logs
def test_a_full_disk_when_saving_says_nothing_was_saved(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(audit, "record", full)
    result = run("case", "list")  # type: ignore[operator]
    assert result.code == 1 and "is full, so nothing was saved" in result.err


def test_a_full_disk_when_exporting_leaves_no_file(
    team: Team, run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = team.folder / "out"
    out.mkdir()
    for kind in ("pdf", "warc"):
        result = run("export", kind, team.case, "-o", str(out / f"x.{kind}"))  # type: ignore[operator]
        assert result.code == 1, result.err
        assert "disk is full" in result.err
    assert list(out.iterdir()) == []


# --- where an export goes -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pdf", "warc"])
def test_an_export_onto_a_folder_is_refused(team: Team, run: object, kind: str) -> None:
    result = run("export", kind, team.case, "-o", str(team.folder))  # type: ignore[operator]
    assert result.code == 2
    assert f"{team.folder} is a folder" in result.err


@pytest.mark.parametrize("kind", ["pdf", "warc"])
def test_an_export_onto_a_device_leaves_the_device(team: Team, run: object, kind: str) -> None:
    result = run("export", kind, team.case, "-o", "/dev/null")  # type: ignore[operator]
    assert result.code == 2 and "/dev/null is a device" in result.err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.timeout(30)
def test_an_export_onto_a_fifo_is_refused_without_hanging(team: Team, run: object) -> None:
    pipe = team.folder / "pipe"
    os.mkfifo(pipe)
    result = run("export", "pdf", team.case, "-o", str(pipe))  # type: ignore[operator]
    assert result.code == 2 and "named pipe" in result.err
    assert stat.S_ISFIFO(pipe.lstat().st_mode)


def test_the_template_onto_a_device_is_refused(team: Team, run: object) -> None:
    result = run("justification", "template", "-o", "/dev/null")  # type: ignore[operator]
    assert result.code == 2 and "/dev/null is a device" in result.err


def test_an_export_onto_a_device_as_a_child(team: Team) -> None:
    result = child("export", "pdf", team.case, "-o", "/dev/null")
    assert (result.code, "Traceback" in result.err) == (2, False)
    assert "/dev/null is a device" in result.err


# --- files read: --file, --db, import FILE ----------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("action", ["new", "check"])
def test_a_fifo_as_file_is_refused_without_hanging(team: Team, run: object, action: str) -> None:
    pipe = team.folder / "pipe.toml"
    os.mkfifo(pipe)
    result = run("justification", action, team.case, "--file", str(pipe))  # type: ignore[operator]
    assert result.code == 2 and f"{pipe} is a named pipe" in result.err


@pytest.mark.timeout(30)
def test_dev_zero_as_file_is_refused_without_reading_it(team: Team, run: object) -> None:
    result = run("policy", "set", "/dev/zero")  # type: ignore[operator]
    assert result.code == 2 and "/dev/zero is a device" in result.err


def test_a_justification_file_over_1_mb_is_refused(team: Team, run: object) -> None:
    big = team.folder / "big.toml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    result = run("justification", "check", team.case, "--file", str(big))  # type: ignore[operator]
    assert result.code == 1 and "too large" in result.err and "1 MB" in result.err


def test_a_linked_justification_file_is_refused_naming_its_target(team: Team, run: object) -> None:
    real = _template(team)
    link = team.folder / "link.toml"
    link.symlink_to(real)
    result = run("justification", "check", team.case, "--file", str(link))  # type: ignore[operator]
    assert result.code == 2 and str(real) in result.err and "file itself" in result.err


@pytest.mark.timeout(30)
def test_a_fifo_as_db_is_refused_without_hanging(team: Team, run: object) -> None:
    pipe = team.folder / "pipe.db"
    os.mkfifo(pipe)
    result = run("--db", str(pipe), "case", "list")  # type: ignore[operator]
    assert result.code == 1 and f"{pipe} is a named pipe" in result.err


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_device_as_db_is_refused(team: Team, run: object, device: str) -> None:
    result = run("--db", device, "case", "list")  # type: ignore[operator]
    assert result.code == 1 and f"{device} is a device" in result.err


def test_a_fifo_as_db_as_a_child(team: Team) -> None:
    pipe = team.folder / "pipe.db"
    os.mkfifo(pipe)
    result = child("--db", str(pipe), "case", "list", timeout=30)
    assert (result.code, "Traceback" in result.err) == (1, False)
    assert "named pipe" in result.err


def _import(team: Team, path: Path | str) -> list[str]:
    return [
        "import",
        team.case,
        str(path),
        "--url",
        "http://127.0.0.1/kerry/post/1",
        "--viewed-at",
        datetime.now(UTC).isoformat(),
        "--justification",
        str(team.justification),
        "--subject",
        str(team.subject),
        "--attest",
    ]


def test_importing_a_link_stores_nothing_and_names_its_target(team: Team, run: object) -> None:
    link = team.folder / "evidence.txt"
    link.symlink_to("/etc/passwd")
    before = team.db.read_bytes()
    result = run(*_import(team, link))  # type: ignore[operator]
    assert result.code == 2
    assert "/etc/passwd" in result.err and "import the file itself" in result.err
    assert team.db.read_bytes() == before


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_importing_what_is_not_a_file_is_refused(team: Team, run: object, kind: str) -> None:
    path: Path | str
    if kind == "fifo":
        path = team.folder / "pipe"
        os.mkfifo(path)
    elif kind == "device":
        path = "/dev/zero"
    else:
        path = team.folder
    result = run(*_import(team, path))  # type: ignore[operator]
    assert result.code == 2 and str(path) in result.err and "not a file" in result.err


def test_the_import_service_itself_refuses_a_link(team: Team) -> None:
    from caseview import captures
    from caseview.errors import NotARegularFile

    link = team.folder / "evidence.txt"
    link.symlink_to("/etc/passwd")
    with open_case_file(team.db) as casefile:
        session = accounts.login(casefile, "wren", PASSWORD)
        with pytest.raises(NotARegularFile, match="import the file itself"):
            captures.import_file(
                session,
                int(team.case),
                link,
                url="http://127.0.0.1/kerry/post/1",
                viewed_at=datetime.now(UTC),
                justification_id=team.justification,
                subject_id=team.subject,
                attested=True,
            )


# --- TOML: deep nesting, a byte-order mark ----------------------------------------------


@pytest.mark.allow_logs
@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 100_000 + "]" * 100_000,
        "a = " + "{b=" * 5_000 + "1" + "}" * 5_000,
    ],
    ids=["arrays", "inline-tables"],
)
def test_deep_nesting_is_a_sentence(team: Team, run: object, text: str) -> None:
    deep = team.folder / "deep.toml"
    deep.write_text(text)
    for argv in (
        ("justification", "check", team.case, "--file", str(deep)),
        ("--user", "mona", "policy", "set", str(deep)),
    ):
        result = run(*argv)  # type: ignore[operator]
        assert result.code == 1, result.err
        assert "too deeply" in result.err


def test_deep_nesting_as_a_child(team: Team) -> None:
    deep = team.folder / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000)
    result = child("justification", "check", team.case, "--file", str(deep))
    assert (result.code, "Traceback" in result.err) == (1, False)
    assert "too deeply" in result.err


def test_a_byte_order_mark_is_accepted(team: Team, run: object) -> None:
    plain = run("justification", "check", team.case, "--file", str(_template(team)))  # type: ignore[operator]
    marked = _template(team, "bom.toml", prefix=b"\xef\xbb\xbf")
    with_bom = run("justification", "check", team.case, "--file", str(marked))  # type: ignore[operator]
    assert (with_bom.code, with_bom.out) == (plain.code, plain.out)
    assert plain.code in (0, 3)


def test_a_file_that_is_not_utf8_is_a_sentence(team: Team, run: object) -> None:
    latin = team.folder / "latin.toml"
    latin.write_bytes(b"purpose = '\xe9'\n")
    result = run("justification", "check", team.case, "--file", str(latin))  # type: ignore[operator]
    assert result.code == 2 and "not UTF-8" in result.err


# --- numbers SQLite cannot hold -------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("justification", "show", HUGE), "There is no justification"),
        (("justification", "submit", HUGE), "There is no justification"),
        (("source", "show", HUGE), "There is no source"),
        (("meter", HUGE), "There is no subject"),
        (("authorisation", "confirm", HUGE), "There is no authorisation"),
        (("case", "show", HUGE), "There is no case"),
        (("subject", "link", HUGE, "1", "--reason", "same"), "There is no subject"),
    ],
)
def test_an_id_past_sqlite_s_range_is_not_there(
    team: Team, run: object, argv: tuple[str, ...], said: str
) -> None:
    result = run(*argv)  # type: ignore[operator]
    assert result.code == 1 and said in result.err


def test_a_limit_past_sqlite_s_range_is_a_usage_error(team: Team, run: object) -> None:
    result = run("search", "kerry", "--limit", HUGE)  # type: ignore[operator]
    assert result.code == 2 and "--limit" in result.err


def test_a_huge_id_as_a_child(team: Team) -> None:
    result = child("justification", "show", HUGE)
    assert (result.code, "Traceback" in result.err) == (1, False)
    assert "There is no justification" in result.err


# --- the catch-all and the log --------------------------------------------------------


@pytest.fixture
def own_logging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The log folder under tmp_path; ``fresh_logging`` (in the test) empties the root."""
    monkeypatch.setattr(
        platformdirs, "user_log_dir", lambda app, appauthor=None: str(tmp_path / "logs" / app)
    )
    yield tmp_path / "logs" / "caseview" / logs.LOG_NAME
    for handler in logging.getLogger().handlers:
        if getattr(handler, "marker", None):
            handler.close()


def fresh_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """Logging as a fresh process has it: no handlers (pytest adds its own per phase)."""
    monkeypatch.setattr(logging.getLogger(), "handlers", [])


def _bug(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in the code")

    monkeypatch.setattr(cases, "list_cases", broken)


def test_a_bug_is_a_sentence_and_its_traceback_goes_to_the_log(
    team: Team, run: object, own_logging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_logging(monkeypatch)
    _bug(monkeypatch)
    result = run("case", "list")  # type: ignore[operator]
    assert result.code == 1
    assert "Something unexpected went wrong" in result.err and str(own_logging) in result.err
    logged = own_logging.read_text()
    assert "Traceback" in logged and "a bug in the code" in logged
    assert stat.S_IMODE(own_logging.stat().st_mode) == 0o600


def test_an_unexpected_error_quoting_case_content_is_cut_short_on_screen(
    team: Team, run: object, own_logging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_logging(monkeypatch)
    page = "Lee's staying with us\n" * 2_000  # what a failing step might quote

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError(page)

    monkeypatch.setattr(cases, "list_cases", broken)
    result = run("case", "list")  # type: ignore[operator]
    assert result.code == 1
    [line] = result.err.strip().splitlines()
    assert "(ValueError: Lee's staying with us Lee's staying" in line and "…)" in line
    assert len(line) < 600
    assert own_logging.read_text(encoding="utf-8").count("Lee's staying with us") >= 2_000


def test_with_caseview_debug_the_traceback_is_on_stderr(
    team: Team,
    own_logging: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fresh_logging(monkeypatch)
    _bug(monkeypatch)
    monkeypatch.setenv("CASEVIEW_DEBUG", "1")
    monkeypatch.setattr(sys, "stderr", sys.stderr)  # the debug handler binds this one
    assert main(["case", "list"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_log_folder_that_cannot_be_made_is_no_traceback(
    team: Team, run: object, own_logging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = own_logging.parents[1]
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the log folder should be")
    fresh_logging(monkeypatch)
    _bug(monkeypatch)
    result = run("case", "list")  # type: ignore[operator]
    assert result.code == 1 and "Something unexpected went wrong" in result.err


def test_a_bug_as_a_child_goes_to_the_log_not_the_terminal(team: Team) -> None:
    broken = team.folder / "broken.db"
    shutil.copy(team.db, broken)
    conn = sqlite3.connect(broken)
    conn.execute("DROP TABLE cases")
    conn.commit()
    conn.close()
    result = child("--db", str(broken), "case", "list")
    assert (result.code, "Traceback" in result.err) == (1, False)
    assert "Something unexpected went wrong" in result.err
    log = team.folder / "state" / "caseview" / "log" / logs.LOG_NAME
    assert "Traceback" in log.read_text()
    debug = child("--db", str(broken), "case", "list", env={"CASEVIEW_DEBUG": "1"})
    assert debug.code == 1 and "Traceback" in debug.err


@pytest.mark.parametrize(
    "address", ["postgresql://127.0.0.1:1/caseview", "postgres://127.0.0.1:1/db"]
)
def test_an_unreachable_server_is_named_as_such_not_looked_for_as_a_file(
    address: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from caseview.cli import main

    monkeypatch.delenv("CASEVIEW_DB", raising=False)
    monkeypatch.setenv("CASEVIEW_PASSWORD", "not sent anywhere")
    assert main(["--db", address, "--user", "wren", "case", "list"]) == 1
    err = capsys.readouterr().err
    assert "Cannot reach the Caseview server at postgres" in err and "Traceback" not in err
    assert "not sent anywhere" not in err
    # The demo is a case file of its own: a server address is refused, not connected to.
    monkeypatch.setenv("CASEVIEW_DB", address)
    assert main(["demo", "--no-gui"]) == 2
    assert "is a PostgreSQL server. Give --db the path of a case file" in capsys.readouterr().err
