"""Legal scenarios typed at the command line, as a worker and a manager would: the ones a
review found the gate got wrong (a plan to look through a personal account, a refusal
naming the wrong thing).

The command line signs in with the system clock, so dates are relative to today.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gate_support import PASSWORD, CliRun, example_toml, set_key

KERRY = "https://social.example/kerry"
REASON = "A single look at her public posts is proportionate to the risk to the baby."


@dataclass
class Desk(CliRun):
    """One case file with a manager (mona), a second manager (max), a worker (wren) and
    Kerry, a parent whose public profile is known."""

    subject: str = ""

    def request(self, **changes: object) -> str:
        """A request about Kerry with ``changes``, as a file; returns its path."""
        text = example_toml([int(self.subject)], datetime.now(UTC).date() + timedelta(days=7))
        for key, value in changes.items():
            text = set_key(text, key, value)
        return self.file("request.toml", text)

    def submitted(self, **changes: object) -> str:
        code, out, err = self.run(
            "wren", "justification", "new", "1", "--file", self.request(**changes)
        )
        assert code == 0, err
        assert self.run("wren", "justification", "submit", out.strip())[0] == 0
        return out.strip()

    def view(self, request_id: str, url: str = KERRY) -> tuple[int, str, str]:
        return self.run(
            "wren",
            "view",
            "1",
            url,
            "--justification",
            request_id,
            "--subject",
            self.subject,
            "--attest",
        )


@pytest.fixture
def desk(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Iterator[Desk]:
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    monkeypatch.setenv("CASEVIEW_DB", str(tmp_path / "case.db"))
    d = Desk(capsys, tmp_path)
    assert d.run(None, "init", "--admin", "mona")[0] == 0
    for user, *argv in (
        ("mona", "user", "add", "max", "--role", "manager"),
        ("mona", "user", "add", "wren", "--role", "worker"),
        ("mona", "case", "new", "--ref", "CP-2026-0042", "--title", "Smith family"),
        ("mona", "case", "allocate", "1", "wren"),
    ):
        assert d.run(user, *argv)[0] == 0, argv
    code, out, _ = d.run(
        "wren",
        "subject",
        "add",
        "1",
        "--name",
        "Kerry Smith",
        "--role",
        "parent",
        "--handle",
        KERRY,
    )
    assert code == 0
    d.subject = out.strip()
    yield d


def test_a_plan_to_look_through_a_personal_instagram_account_is_refused(desk: Desk) -> None:
    plan = (
        "One look at her posts from my personal Instagram account, recording only posts "
        "that show the man."
    )
    code, out, _ = desk.run(
        "wren", "justification", "new", "1", "--file", desk.request(proportionality=plan)
    )
    assert code == 0
    code, _, err = desk.run("wren", "justification", "submit", out.strip())
    assert code == 3
    assert "'I will use no personal or fake profile'" in err


def test_a_page_beside_the_one_listed_is_refused_by_name(desk: Desk) -> None:
    request_id = desk.submitted(scope_hosts=[], scope_urls=[KERRY])
    assert (
        desk.run("max", "justification", "review", request_id, "--approve", "--reason", REASON)[0]
        == 0
    )
    code, _, err = desk.view(request_id, KERRY + "/photos")
    assert code == 3
    assert f"{KERRY}/photos is not one of the pages this request lists" in err
