"""``caseview capture ... --render`` (issue 12): one headless rendered capture through the
evidence browser's engine, its artefacts listed by ``source show --json``, a redirect out
of scope refused and recorded, and ``verify`` intact afterwards."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from gate_support import PASSWORD, CliRun, example_toml, set_key

from caseview.storage import open_case_file

SCRIPTED = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Kerry's page</title></head>"
    b"<body><div id='feed'></div><script>"
    b"document.getElementById('feed').textContent = 'Posted by script: barbecue on Saturday';"
    b"</script></body></html>"
)


class _Site(BaseHTTPRequestHandler):
    posts: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.path.startswith("/away"):
            self.send_response(302)
            self.send_header("Location", "https://elsewhere.example/kerry")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(SCRIPTED)))
        self.end_headers()
        self.wfile.write(SCRIPTED)

    def do_POST(self) -> None:
        self.posts.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CASEVIEW_ALLOW_HOSTS", "127.0.0.1")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Cli(CliRun):
    case: str = "CP-2026-0042"
    subject: int = 0
    request: int = 0


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    monkeypatch.setenv("CASEVIEW_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    c = Cli(capsys, tmp_path)
    for user, argv in [
        (None, ["init", "--admin", "mona"]),
        ("mona", ["user", "add", "max", "--role", "manager"]),
        ("mona", ["user", "add", "wren", "--role", "worker"]),
        ("mona", ["case", "new", "--ref", c.case, "--title", "Smith family"]),
        ("mona", ["case", "allocate", c.case, "wren"]),
    ]:
        assert c.run(user, *argv)[0] == 0, argv
    _, out, _ = c.run("mona", "subject", "add", c.case, "--name", "Kerry Smith", "--role", "parent")
    c.subject = int(out)
    text = example_toml([c.subject], datetime.now(UTC).date() + timedelta(days=14))
    text = set_key(text, "scope_hosts", ["127.0.0.1"])
    text = set_key(text, "planned_viewings", 2)
    _, out, _ = c.run("wren", "justification", "new", c.case, "--file", c.file("j.toml", text))
    c.request = int(out)
    assert c.run("wren", "justification", "submit", str(c.request))[0] == 0
    approve = ["justification", "review", str(c.request), "--approve", "--reason", "One look."]
    assert c.run("max", *approve)[0] == 0
    return c


def _render(cli: Cli, url: str) -> tuple[int, str, str]:
    return cli.run(
        "wren",
        "capture",
        cli.case,
        url,
        "--justification",
        str(cli.request),
        "--subject",
        str(cli.subject),
        "--attest",
        "--render",
    )


def test_render_keeps_what_the_script_made_and_lists_the_artefacts(cli: Cli, site: str) -> None:
    code, out, err = _render(cli, f"{site}/kerry")
    assert code == 0, err
    source_id = int(out.strip())
    code, shown = cli.json("wren", "source", "show", str(source_id))
    assert code == 0
    assert shown["method"] == "rendered"
    assert "Posted by script: barbecue on Saturday" in str(shown["text"])
    artefacts = {a["kind"]: a for a in shown["artefacts"]}  # type: ignore[attr-defined]
    assert set(artefacts) == {"mhtml", "dom", "screenshot"}
    assert artefacts["screenshot"]["media_type"] == "image/png"
    with open_case_file(cli.tmp_path / "cli.db", read_only=True) as casefile:
        for artefact in artefacts.values():
            row = casefile.conn.execute(
                "SELECT content FROM blobs WHERE sha256 = ?", (artefact["sha256"],)
            ).fetchone()
            content = bytes(row[0])
            assert hashlib.sha256(content).hexdigest() == artefact["sha256"]
            assert len(content) == artefact["size"]
    assert b"Posted by script" in _blob(cli, artefacts["dom"]["sha256"])
    assert _blob(cli, artefacts["screenshot"]["sha256"]).startswith(b"\x89PNG")
    assert cli.run(None, "verify")[0] == 0
    assert _Site.posts == []


def test_a_redirect_out_of_scope_is_refused_and_recorded(cli: Cli, site: str) -> None:
    code, _out, err = _render(cli, f"{site}/away")
    assert code == 3, err
    assert "host_out_of_scope" in err
    with open_case_file(cli.tmp_path / "cli.db", read_only=True) as casefile:
        refused = casefile.conn.execute(
            "SELECT rule FROM viewings WHERE outcome = 'refused'"
        ).fetchall()
        kept = casefile.conn.execute("SELECT count(*) FROM sources").fetchone()[0]
    assert [r[0] for r in refused] == ["host_out_of_scope"]
    assert kept == 0
    assert cli.run(None, "verify")[0] == 0


def _blob(cli: Cli, sha256: object) -> bytes:
    with open_case_file(cli.tmp_path / "cli.db", read_only=True) as casefile:
        row = casefile.conn.execute("SELECT content FROM blobs WHERE sha256 = ?", (sha256,))
        return bytes(row.fetchone()[0])
