"""A page cannot drive the worker's terminal: what the CLI prints shows controls escaped.

A hostile page's title and text carry the sequences a terminal obeys: OSC 0 (retitle
the window), CSI 2J (clear the screen), OSC 8 (a hyperlink whose text hides its
address), the one-byte C1 CSI (0x9b) and U+202E (right-to-left override).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from capture_support import approve_for
from gate_support import PASSWORD
from hypothesis import given
from hypothesis import strategies as st

from caseview import accounts, cases
from caseview.cli import main
from caseview.cli.io import safe_cell, safe_json, safe_text
from caseview.storage import open_case_file

HOSTILE_TITLE = "Kerry\x1b]0;pwned\x07 \x1b[2J \u202egnp.exe \x9b31m"
HOSTILE_TEXT = (
    "Hello \x1b]8;;http://evil.test\x1b\\click here\x1b]8;;\x1b\\ there \x9b2J \u202e end "
    "\x7f\u2066isolate\u2069 \u200f"
)
# Anything a terminal would act on: C0 but newline and tab, DEL, C1, the bidi controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Team:
    folder: Path
    case: str
    source: str


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def team(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Team:
    """A case whose title is hostile too, and a hostile page imported into it."""
    db = tmp_path / "team.db"
    with open_case_file(db, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD)
        manager = accounts.login(casefile, "mona", PASSWORD)
        accounts.add_user(manager, "wren", "worker", PASSWORD)
        worker = accounts.login(casefile, "wren", PASSWORD)
        case = cases.create_case(manager, "CP-9", "Smith \x1b[2J family \u202e")
        cases.allocate(manager, case.id, "wren")
        subject = cases.add_subject(manager, case.id, "Kerry \x9b31m Smith", "parent")
        record = approve_for(worker, manager, case.id, [subject.id], now=datetime.now(UTC))
    monkeypatch.setenv("CASEVIEW_DB", str(db))
    monkeypatch.setenv("CASEVIEW_USER", "wren")
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    page = tmp_path / "page.html"
    page.write_text(
        f"<html><head><title>{HOSTILE_TITLE}</title></head>"
        f"<body><p>{HOSTILE_TEXT}</p></body></html>",
        encoding="utf-8",
    )
    code, out, err = _run(
        capsys,
        "import",
        str(case.id),
        str(page),
        "--url",
        "http://127.0.0.1/kerry/post/1",
        "--viewed-at",
        datetime.now(UTC).isoformat(),
        "--justification",
        str(record.id),
        "--subject",
        str(subject.id),
        "--attest",
    )
    assert code == 0, err
    return Team(tmp_path, str(case.id), out.strip())


@pytest.mark.parametrize(
    "argv",
    [
        ("source", "show", "{source}"),
        ("source", "list", "{case}"),
        ("case", "list"),
        ("case", "show", "{case}"),
        ("subject", "list", "{case}"),
        ("search", "Hello"),
    ],
)
def test_human_output_shows_controls_escaped(
    team: Team, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    args = [a.format(source=team.source, case=team.case) for a in argv]
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    assert not RAW.search(out) and not RAW.search(err)
    assert "\\x1b" in out or "\\x9b" in out


def test_source_show_names_each_hostile_sequence(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _run(capsys, "source", "show", team.source)
    assert "Kerry\\x1b]0;pwned\\x07 \\x1b[2J \\u202egnp.exe \\x9b31m" in out
    assert "\\x1b]8;;http://evil.test\\x1b\\click here" in out


@pytest.mark.parametrize(
    "argv",
    [("source", "show", "{source}"), ("source", "list", "{case}"), ("case", "list")],
)
def test_json_output_escapes_controls_and_keeps_the_text(
    team: Team, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    args = [a.format(source=team.source, case=team.case) for a in argv]
    code, out, _ = _run(capsys, "--json", *args)
    assert code == 0
    assert not RAW.search(out)
    assert "\\u001b" in out or "\\u009b" in out
    obj = json.loads(out)
    if "title" in obj:  # the stored text is unchanged; only its printing is escaped
        assert obj["title"] == HOSTILE_TITLE


def test_an_error_quoting_what_was_typed_is_escaped(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "case", "show", "CP\x1b]0;x\x07\u202e")
    assert code == 1 and "CP\\x1b]0;x\\x07\\u202e" in err and not RAW.search(err)
    code, out, err = _run(capsys, "--json", "case", "show", "CP\x1b[2J")
    assert code == 1 and not RAW.search(out + err)
    assert json.loads(out)["error"].startswith("There is no case with reference CP\x1b[2J")


def test_table_cells_escape_newlines_too() -> None:
    assert safe_cell("a\nb\tc\x1b") == "a\\nb\\tc\\x1b"
    assert safe_text("a\nb\tc\x1b") == "a\nb\tc\\x1b"


@given(st.text())
def test_safe_json_is_json_of_the_same_value_with_nothing_raw(value: str) -> None:
    encoded = safe_json({"v": value})
    assert json.loads(encoded) == {"v": value}
    assert not RAW.search(encoded)


@given(st.text())
def test_safe_text_leaves_nothing_a_terminal_obeys(value: str) -> None:
    assert not RAW.search(safe_text(value))
