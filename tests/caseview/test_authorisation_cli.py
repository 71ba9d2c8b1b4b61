"""The command line for what takes two managers: authorisations and loosening the policy.

The command line signs in with the system clock, so dates here are relative to today.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gate_support import PASSWORD, CliRun, example_toml


@dataclass
class Cli(CliRun):
    case: str = "CP-2026-0042"
    subject: int = 0
    request: int = 0


def _today() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    """Two managers, a worker, an auditor; a request by the worker, approved by max."""
    monkeypatch.setenv("CASEVIEW_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    c = Cli(capsys, tmp_path)
    steps: list[tuple[str | None, list[str]]] = [
        (None, ["init", "--admin", "mona"]),
        ("mona", ["user", "add", "max", "--role", "manager"]),
        ("mona", ["user", "add", "wren", "--role", "worker"]),
        ("mona", ["user", "add", "ada", "--role", "auditor"]),
        ("mona", ["case", "new", "--ref", c.case, "--title", "Smith family"]),
        ("mona", ["case", "allocate", c.case, "wren"]),
    ]
    for user, argv in steps:
        assert c.run(user, *argv)[0] == 0, argv
    _, out, _ = c.run("mona", "subject", "add", c.case, "--name", "Kerry Smith", "--role", "parent")
    c.subject = int(out)
    text = example_toml([c.subject], _today().date() + timedelta(days=14))
    _, out, _ = c.run("wren", "justification", "new", c.case, "--file", c.file("j.toml", text))
    c.request = int(out)
    assert c.run("wren", "justification", "submit", str(c.request))[0] == 0
    assert (
        c.run(
            "max", "justification", "review", str(c.request), "--approve", "--reason", "One look."
        )[0]
        == 0
    )
    return c


def _authorise_argv(cli: Cli, reference: str, **dates: str) -> list[str]:
    today = _today().date()
    return [
        "justification",
        "authorise",
        str(cli.request),
        "--reference",
        reference,
        "--officer",
        "Sam Patel, Director of Legal Services",
        "--magistrate-approved",
        dates.get("approved", (today - timedelta(days=1)).isoformat()),
        "--expires",
        dates.get("expires", (today + timedelta(days=30)).isoformat()),
        "--subject",
        str(cli.subject),
    ]


def _authorise(
    cli: Cli, user: str, reference: str = "RIPA-2026-017", **dates: str
) -> tuple[int, str, str]:
    return cli.run(user, *_authorise_argv(cli, reference, **dates))


def test_authorise_prints_the_new_id_and_says_it_awaits_confirmation(cli: Cli) -> None:
    code, out, err = _authorise(cli, "mona")
    assert (code, out.strip().isdigit(), "awaits confirmation" in err) == (0, True, True)


def test_a_placeholder_reference_is_an_error_that_says_what_to_do(cli: Cli) -> None:
    code, out, err = _authorise(cli, "mona", reference="n/a")
    assert (code, out, "placeholder" in err, "Nothing was stored" in err) == (1, "", True, True)


def test_a_worker_is_refused_by_rule(cli: Cli) -> None:
    code, out, _ = cli.run("wren", "--json", *_authorise_argv(cli, "RIPA-2026-017"))
    assert (code, json.loads(out)["rule"]) == (3, "role")


def test_a_malformed_date_is_a_usage_error(cli: Cli) -> None:
    code, _, err = _authorise(cli, "mona", expires="next week")
    assert (code, "YYYY-MM-DD" in err) == (2, True)


def test_the_recorder_cannot_confirm_and_a_second_manager_can(cli: Cli) -> None:
    _, out, _ = _authorise(cli, "mona")
    auth_id = out.strip()
    refused, obj = cli.json("mona", "authorisation", "confirm", auth_id)
    assert (refused, obj["rule"]) == (3, "second_manager")
    code, confirmed = cli.json("max", "authorisation", "confirm", auth_id)
    assert (code, confirmed["status"], confirmed["confirmed_by"]) == (0, "in force", "max")


def test_list_and_show_give_each_authorisations_status(cli: Cli) -> None:
    _, first, _ = _authorise(cli, "mona")
    _authorise(cli, "mona", reference="RIPA-2026-018")
    cli.run("max", "authorisation", "confirm", first.strip())
    _, listed = cli.json("ada", "authorisation", "list", cli.case)
    statuses = [(a["reference"], a["status"]) for a in listed["authorisations"]]  # type: ignore[attr-defined]
    assert statuses == [("RIPA-2026-017", "in force"), ("RIPA-2026-018", "awaiting confirmation")]
    code, text, _ = cli.run("ada", "justification", "show", str(cli.request))
    assert (
        code,
        "RIPA-2026-017 (IN FORCE)" in text,
        "RIPA-2026-018 (AWAITING CONFIRMATION)" in text,
    ) == (
        0,
        True,
        True,
    )


LOOSER = 'name = "Relaxed council"\nmeter_stop_at = 5\n'


def test_a_loosened_policy_waits_for_a_second_manager(cli: Cli) -> None:
    code, out, _ = cli.run("mona", "policy", "set", cli.file("p.toml", LOOSER))
    assert (code, "NOT in force yet" in out, "meter_stop_at" in out) == (0, True, True)
    _, shown = cli.json("ada", "policy", "show")
    pending = shown["pending"]
    assert isinstance(pending, list) and isinstance(shown["in_force"], dict)
    assert (shown["in_force"]["shipped_defaults"], [p["loosened"] for p in pending]) == (
        True,
        [["meter_stop_at"]],
    )
    policy_id = str(pending[0]["id"])
    assert cli.json("mona", "policy", "confirm", policy_id)[1]["rule"] == "second_manager"
    assert cli.run("max", "policy", "confirm", policy_id)[0] == 0
    code, text, _ = cli.run("ada", "policy", "show")
    assert (code, "Relaxed council" in text, "meter_stop_at = 5" in text) == (0, True, True)


def test_a_stricter_policy_is_in_force_at_once(cli: Cli) -> None:
    code, out, _ = cli.run("mona", "policy", "set", cli.file("p.toml", "meter_stop_at = 3\n"))
    assert (code, "is now in force" in out) == (0, True)
