"""The evidence commands of the command line: capture, import, source, export warc.

Drives ``caseview.cli.main`` in-process against a local server on 127.0.0.1, named in
``CASEVIEW_ALLOW_HOSTS`` (the contract). The command line signs in with the system
clock, so the case file is set up with the system clock too.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import engines
import pytest
from capture_support import PAGE, HostileServer, approve_for, no_real_names, server
from gate_support import PASSWORD
from PIL import Image

from caseview import accounts, cases
from caseview.cli import main
from caseview.storage import CaseFile

__all__ = ["no_real_names", "server"]  # fixtures, used by name

CASE = "CP-2026-0042"

pytestmark = pytest.mark.both_engines


@dataclass
class Cli:
    capsys: pytest.CaptureFixture[str]
    tmp_path: Path
    store: CaseFile
    """The manager's own store: a case file, or the test server signed in as them."""
    justification: int
    subject: int

    def run(self, *argv: str, user: str = "wren") -> tuple[int, str, str]:
        code = main(["--user", user, *argv])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, *argv: str) -> tuple[int, dict[str, object]]:
        """Run with --json; stdout must be exactly one JSON object."""
        code, out, _ = self.run("--json", *argv)
        [line] = out.splitlines()
        obj = json.loads(line)
        assert isinstance(obj, dict)
        return code, obj

    def capture(self, url: str, *extra: str) -> tuple[int, str, str]:
        return self.run(
            "capture",
            CASE,
            url,
            "--justification",
            str(self.justification),
            "--subject",
            str(self.subject),
            *extra,
        )


@pytest.fixture
def cli(
    casefile: CaseFile,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Cli:
    """A manager, a worker allocated to a case, and an approved request, in a case file
    or on the test server."""
    accounts.create_first_manager(casefile, "mona", PASSWORD)
    manager = accounts.login(casefile, "mona", PASSWORD)
    accounts.add_user(manager, "wren", "worker", PASSWORD)
    worker = accounts.login(casefile, "wren", PASSWORD)
    case = cases.create_case(manager, CASE, "Smith family")
    cases.allocate(manager, case.id, "wren")
    subject = cases.add_subject(manager, case.id, "Kerry Smith", "parent")
    record = approve_for(worker, manager, case.id, [subject.id], now=datetime.now(UTC))
    address = (
        engines.people_address(casefile)  # type: ignore[arg-type]
        if casefile.authenticates
        else str(casefile.path)
    )
    monkeypatch.setenv("CASEVIEW_DB", address)
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("CASEVIEW_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    return Cli(capsys, tmp_path, manager.casefile, record.id, subject.id)  # type: ignore[arg-type]


def _png(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def _import_args(cli: Cli, path: Path, *extra: str) -> list[str]:
    return [
        "import",
        CASE,
        str(path),
        "--url",
        "http://127.0.0.1/kerry/post/1",
        "--viewed-at",
        datetime.now(UTC).isoformat(),  # after the fixture's approval
        "--justification",
        str(cli.justification),
        "--subject",
        str(cli.subject),
        "--attest",
        *extra,
    ]


def _warcio(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "warcio"
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "import sys; from warcio.cli import main; sys.exit(main())"]
    )
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=60, check=False
    )


# --- capture ------------------------------------------------------------------------


def test_capture_prints_the_source_id_alone(cli: Cli, server: HostileServer) -> None:
    code, out, _ = cli.capture(server.url("/page"), "--attest")
    assert code == 0
    assert out.strip().isdigit()
    row = cli.store.conn.execute(
        "SELECT requested_url FROM sources WHERE id = ?", (int(out),)
    ).fetchone()
    assert row[0] == server.url("/page")


def test_capture_json_gives_the_id_and_provenance(cli: Cli, server: HostileServer) -> None:
    code, obj = cli.json(
        "capture",
        CASE,
        server.url("/page"),
        "--justification",
        str(cli.justification),
        "--subject",
        str(cli.subject),
        "--attest",
    )
    assert code == 0
    assert isinstance(obj["id"], int)
    assert obj["captured_by"] == "wren" and obj["server_ip"] == "127.0.0.1"


def test_capture_without_attest_exits_3_naming_the_rule(cli: Cli, server: HostileServer) -> None:
    code, out, err = cli.capture(server.url("/page"))
    assert (code, out) == (3, "")
    assert "attestation_missing" in err


def test_capture_without_attest_json_names_the_rule(cli: Cli, server: HostileServer) -> None:
    code, obj = cli.json(
        "capture",
        CASE,
        server.url("/page"),
        "--justification",
        str(cli.justification),
        "--subject",
        str(cli.subject),
    )
    assert (code, obj["exit_code"], obj["rule"]) == (3, 3, "attestation_missing")


def test_capture_of_a_login_wall_exits_3_naming_not_public(cli: Cli, server: HostileServer) -> None:
    code, out, err = cli.capture(server.url("/login-wall"), "--attest")
    assert (code, out) == (3, "")
    assert "not_public" in err


def test_capture_of_loopback_without_the_allow_list_exits_3(
    cli: Cli, server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEVIEW_ALLOW_HOSTS")
    code, _, err = cli.capture(server.url("/page"), "--attest")
    assert code == 3
    assert "address_refused" in err and "CASEVIEW_ALLOW_HOSTS" in err


def test_capture_that_fails_exits_1_with_the_reason(cli: Cli, server: HostileServer) -> None:
    code, out, err = cli.capture(server.url("/loop"), "--attest")
    assert (code, out) == (1, "")
    assert "redirected" in err


# --- import -------------------------------------------------------------------------


def test_import_prints_the_source_id(cli: Cli) -> None:
    code, out, _ = cli.run(*_import_args(cli, _png(cli.tmp_path / "shot.png")))
    assert code == 0 and out.strip().isdigit()


def test_own_look_imported_without_the_promises_exits_3(cli: Cli) -> None:
    args = [a for a in _import_args(cli, _png(cli.tmp_path / "shot.png")) if a != "--attest"]
    code, out, err = cli.run(*args)
    assert (code, out) == (3, "")
    assert "attestation_missing" in err and "logged out" in err


def test_family_import_without_supplied_by_exits_2(cli: Cli) -> None:
    path = _png(cli.tmp_path / "shot.png")
    code, out, err = cli.run(*_import_args(cli, path, "--origin", "family"))
    assert (code, out) == (2, "")
    assert "--supplied-by" in err


def test_family_import_with_supplied_by_is_recorded(cli: Cli) -> None:
    path = _png(cli.tmp_path / "shot.png")
    code, obj = cli.json(
        *_import_args(cli, path, "--origin", "family", "--supplied-by", "grandmother")
    )
    assert code == 0
    assert (obj["origin"], obj["supplied_by"]) == ("supplied_by_family", "grandmother")


def test_import_of_a_program_named_png_exits_1(cli: Cli) -> None:
    path = cli.tmp_path / "holiday.png"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(56))
    code, out, err = cli.run(*_import_args(cli, path))
    assert (code, out) == (1, "")
    assert "program" in err


def test_import_with_a_naive_time_exits_2(cli: Cli) -> None:
    args = _import_args(cli, _png(cli.tmp_path / "shot.png"))
    args[args.index("--viewed-at") + 1] = "2026-01-02T10:00:00"
    code, _, err = cli.run(*args)
    assert code == 2 and "zone" in err


# --- source list / show, export warc ---------------------------------------------------


@pytest.fixture
def captured(cli: Cli, server: HostileServer) -> list[int]:
    ids = []
    for path in ("/page", "/gz-page"):
        code, out, _ = cli.capture(server.url(path), "--attest")
        assert code == 0
        ids.append(int(out))
    return ids


def test_source_list_json_lists_the_case_sources(cli: Cli, captured: list[int]) -> None:
    code, obj = cli.json("source", "list", CASE)
    assert code == 0
    sources = obj["sources"]
    assert isinstance(sources, list)
    assert [s["id"] for s in sources] == captured


def test_source_show_json_gives_provenance_and_text(cli: Cli, captured: list[int]) -> None:
    code, obj = cli.json("source", "show", str(captured[1]))
    assert code == 0
    assert obj["id"] == captured[1]
    assert obj["sha256"] == hashlib.sha256(PAGE).hexdigest()
    assert "Out with friends" in str(obj["text"])
    assert obj["size"] == len(PAGE)


def test_source_show_text_names_the_authority(cli: Cli, captured: list[int]) -> None:
    code, out, _ = cli.run("source", "show", str(captured[0]))
    assert code == 0
    assert f"justification {cli.justification}" in out and "wren" in out


def test_export_warc_writes_a_file_warcio_accepts(cli: Cli, captured: list[int]) -> None:
    target = cli.tmp_path / "out.warc.gz"
    code, out, err = cli.run("export", "warc", CASE, "-o", str(target))
    assert (code, out.strip()) == (0, str(target))
    assert "2 capture(s)" in err
    result = _warcio("check", str(target))
    assert result.returncode == 0, result.stdout + result.stderr
    index = _warcio("index", "-f", "warc-type", str(target))
    types = [json.loads(line)["warc-type"] for line in index.stdout.splitlines()]
    assert types.count("response") == 2


def test_export_warc_leaves_no_temporary_file(cli: Cli, captured: list[int]) -> None:
    target = cli.tmp_path / "out.warc.gz"
    assert cli.run("export", "warc", CASE, "-o", str(target))[0] == 0
    assert sorted(p.name for p in cli.tmp_path.iterdir() if "warc" in p.name) == ["out.warc.gz"]
