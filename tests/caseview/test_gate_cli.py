"""The command line through the gate: draft, refuse, fix, resubmit, approve, show, view.

Drives ``caseview.cli.main`` in-process. The command line signs in with the system
clock, so request dates here are relative to today (UTC), not to the test clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import engines
import pytest
from gate_support import (
    PASSWORD,
    URL,
    CliRun,
    emergency_changes,
    example_toml,
    make_request,
    set_key,
    submitted,
)

import ethics
from caseview import accounts, cases
from caseview.cli import main
from caseview.clock import FixedClock
from caseview.storage import open_case_file

pytestmark = pytest.mark.both_engines


@dataclass
class Cli(CliRun):
    """One case file, its people, and a way to run commands against it."""

    case: str = ""
    subject: int = 0


def _today() -> datetime:
    return datetime.now(UTC)


def _good_toml(subject: int) -> str:
    return example_toml([subject], _today().date() + timedelta(days=14))


def _deficient_toml(subject: int) -> str:
    text = _good_toml(subject)
    for key, value in (
        ("question", "safeguarding"),
        ("planned_viewings", 5),
        ("family_told", "no"),
        ("family_told_reason", ""),
        ("attest_no_restricted_content", False),
    ):
        text = set_key(text, key, value)
    return text


@pytest.fixture
def cli(
    engine: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Iterator[Cli]:
    """init, a second manager, a worker, a case allocated to the worker, a subject:
    in a case file, or on a new database of the test server (set up by its owner)."""
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    monkeypatch.delenv("CASEVIEW_ROLE_PREFIX", raising=False)
    c = Cli(capsys, tmp_path)
    if engine == "postgresql":
        with engines.empty_server_database(request) as (owner_url, people_url):
            monkeypatch.setenv("CASEVIEW_DB", owner_url)
            assert c.run(None, "init", "--admin", "mona")[0] == 0
            monkeypatch.setenv("CASEVIEW_DB", people_url)
            yield _populate(c)
        return
    monkeypatch.setenv("CASEVIEW_DB", str(tmp_path / "cli.db"))
    assert c.run(None, "init", "--admin", "mona")[0] == 0
    yield _populate(c)


def _populate(c: Cli) -> Cli:
    steps = [
        ("mona", "user", "add", "max", "--role", "manager"),
        ("mona", "user", "add", "wren", "--role", "worker"),
        ("mona", "user", "add", "ada", "--role", "auditor"),
        ("mona", "case", "new", "--ref", "CP-2026-0042", "--title", "Smith family"),
        ("mona", "case", "allocate", "CP-2026-0042", "wren"),
    ]
    for user, *argv in steps:
        assert c.run(user, *argv)[0] == 0, argv
    c.case = "CP-2026-0042"
    code, out, _ = c.run(
        "mona", "subject", "add", c.case, "--name", "Kerry Smith", "--role", "parent"
    )
    assert code == 0
    c.subject = int(out.strip())
    return c


def _new(cli: Cli, user: str, text: str) -> int:
    code, out, _ = cli.run(
        user, "justification", "new", cli.case, "--file", cli.file("j.toml", text)
    )
    assert code == 0
    return int(out.strip())


@pytest.fixture
def draft_id(cli: Cli) -> int:
    """A deficient draft written by the worker."""
    return _new(cli, "wren", _deficient_toml(cli.subject))


@pytest.fixture
def submitted_id(cli: Cli, draft_id: int) -> int:
    """The draft, fixed and submitted."""
    fixed = cli.file("fixed.toml", _good_toml(cli.subject))
    assert cli.run("wren", "justification", "edit", str(draft_id), "--file", fixed)[0] == 0
    assert cli.run("wren", "justification", "submit", str(draft_id))[0] == 0
    return draft_id


@pytest.fixture
def approved_id(cli: Cli, submitted_id: int) -> int:
    code, _, _ = cli.run(
        "max", "justification", "review", str(submitted_id), "--approve", "--reason", "One look."
    )
    assert code == 0
    return submitted_id


def _view(cli: Cli, justification: int, *extra: str) -> tuple[int, str, str]:
    return cli.run(
        "wren",
        *extra,
        "view",
        cli.case,
        URL,
        "--justification",
        str(justification),
        "--subject",
        str(cli.subject),
        "--attest",
    )


# --- template and draft ---------------------------------------------------------------


def test_template_written_to_a_file_parses(cli: Cli) -> None:
    target = cli.tmp_path / "start.toml"
    assert cli.run(None, "justification", "template", "-o", str(target))[0] == 0
    parsed = ethics.load_justification_toml(target.read_text(encoding="utf-8"))
    assert (parsed.subjects, parsed.planned_viewings) == ((), 1)


def test_template_will_not_overwrite_a_file(cli: Cli) -> None:
    target = cli.tmp_path / "start.toml"
    target.write_text("mine", encoding="utf-8")
    code, _, err = cli.run(None, "justification", "template", "-o", str(target))
    assert (code, "already exists" in err, target.read_text(encoding="utf-8")) == (2, True, "mine")


def test_new_with_a_deficient_file_prints_the_draft_id(cli: Cli) -> None:
    code, out, err = cli.run(
        "wren",
        "justification",
        "new",
        cli.case,
        "--file",
        cli.file("j.toml", _deficient_toml(cli.subject)),
    )
    assert (code, out.strip().isdigit(), "Before it can be submitted" in err) == (0, True, True)


def test_new_with_a_malformed_file_names_the_key_and_stores_nothing(cli: Cli) -> None:
    bad = cli.file("bad.toml", set_key(_good_toml(cli.subject), "planned_viewings", "one"))
    code, _, err = cli.run("wren", "justification", "new", cli.case, "--file", bad)
    _, listed = cli.json("wren", "justification", "list", cli.case)
    assert (code, "'planned_viewings'" in err, listed["justifications"]) == (1, True, [])


def test_submit_of_a_deficient_draft_exits_3_listing_every_blocking_finding(
    cli: Cli, draft_id: int
) -> None:
    code, _, err = cli.run("wren", "justification", "submit", str(draft_id))
    request = ethics.load_justification_toml(_deficient_toml(cli.subject))
    expected = ethics.blocking(ethics.evaluate(request, [], ethics.default_policy(), now=_today()))
    assert [f.code for f in expected] == [
        "question.boilerplate",
        "planned_viewings.too_many",
        "family_told_reason.missing",
        "attest_no_restricted_content.not_attested",
    ]
    assert (code, [f.message in err for f in expected]) == (3, [True] * 4)


def test_refused_submit_in_json_is_one_object_naming_the_gate(cli: Cli, draft_id: int) -> None:
    code, obj = cli.json("wren", "justification", "submit", str(draft_id))
    assert (code, obj["exit_code"], obj["rule"]) == (3, 3, "gate")


def test_editing_the_draft_keeps_its_id(cli: Cli, draft_id: int) -> None:
    fixed = cli.file("fixed.toml", _good_toml(cli.subject))
    code, out, _ = cli.run("wren", "justification", "edit", str(draft_id), "--file", fixed)
    assert (code, out.strip()) == (0, str(draft_id))


def test_fixed_draft_submits(cli: Cli, draft_id: int) -> None:
    fixed = cli.file("fixed.toml", _good_toml(cli.subject))
    cli.run("wren", "justification", "edit", str(draft_id), "--file", fixed)
    code, obj = cli.json("wren", "justification", "submit", str(draft_id))
    assert (code, obj["status"]) == (0, "submitted")


def test_editing_a_submitted_request_prints_the_new_version(cli: Cli, submitted_id: int) -> None:
    changed = cli.file("v2.toml", set_key(_good_toml(cli.subject), "planned_viewings", 2))
    code, obj = cli.json("wren", "justification", "edit", str(submitted_id), "--file", changed)
    assert (code, obj["version"], obj["supersedes"]) == (0, 2, submitted_id)


@pytest.mark.parametrize(
    ("make", "expected"), [(_deficient_toml, 3), (_good_toml, 0)], ids=["deficient", "complete"]
)
def test_check_exits_3_only_when_something_blocks(
    cli: Cli, make: Callable[[int], str], expected: int
) -> None:
    path = cli.file("check.toml", make(cli.subject))
    code, obj = cli.json("wren", "justification", "check", cli.case, "--file", path)
    assert (code, obj["may_submit"]) == (expected, expected == 0)


def test_check_refuses_a_person_of_no_case_as_new_does(cli: Cli) -> None:
    """'check' said "may submit" for subjects = [999], which 'new' then refused."""
    path = cli.file("other.toml", _good_toml(999))
    checked = cli.json("wren", "justification", "check", cli.case, "--file", path)
    created = cli.json("wren", "justification", "new", cli.case, "--file", path)
    assert checked[0] == created[0] != 0
    assert "not in this case" in str(checked[1]) and "not in this case" in str(created[1])


# --- review --------------------------------------------------------------------------


def test_a_manager_cannot_review_their_own_request(cli: Cli) -> None:
    mine = _new(cli, "mona", _good_toml(cli.subject))
    assert cli.run("mona", "justification", "submit", str(mine))[0] == 0
    code, obj = cli.json(
        "mona", "justification", "review", str(mine), "--approve", "--reason", "Fine."
    )
    assert (code, obj["rule"]) == (3, "self_review")


def test_a_worker_cannot_review(cli: Cli, submitted_id: int) -> None:
    code, obj = cli.json(
        "wren", "justification", "review", str(submitted_id), "--approve", "--reason", "Fine."
    )
    assert (code, obj["rule"]) == (3, "role")


def test_another_manager_approves(cli: Cli, submitted_id: int) -> None:
    code, obj = cli.json(
        "max", "justification", "review", str(submitted_id), "--approve", "--reason", "One look."
    )
    assert (code, obj["status"]) == (0, "approved")


def test_returning_with_an_empty_reason_is_refused(cli: Cli, submitted_id: int) -> None:
    code, _, err = cli.run(
        "max", "justification", "review", str(submitted_id), "--return", "--reason", " "
    )
    assert (code, "reasons" in err) == (1, True)


@pytest.mark.parametrize(("reason", "exit_code"), [("", 1), ("  ", 1), ("OK", 3)])
def test_approving_without_a_reason_of_ones_own_is_refused(
    cli: Cli, submitted_id: int, reason: str, exit_code: int
) -> None:
    # No reason is a missing value (1); a stock word is refused by the gate's rule (3).
    code, _, err = cli.run(
        "max", "justification", "review", str(submitted_id), "--approve", "--reason", reason
    )
    assert (code, "say why looking is necessary" in err) == (exit_code, True)


def test_show_json_has_status_hash_findings_and_decisions(cli: Cli, approved_id: int) -> None:
    code, obj = cli.json("ada", "justification", "show", str(approved_id))
    request = ethics.parse_justification(obj["request"])  # type: ignore[arg-type]
    digest = hashlib.sha256(ethics.canonical_json(request)).hexdigest()
    findings = obj["findings"]
    decisions = obj["decisions"]
    assert isinstance(findings, list) and isinstance(decisions, list)
    assert (
        code,
        obj["status"],
        obj["hash"],
        {f["code"] for f in findings},
        [(d["decision"], d["reviewer"], d["reasons"]) for d in decisions],
    ) == (
        0,
        "approved",
        digest,
        # The example speaks of a police disclosure and convictions (UK GDPR Art 10).
        {"scope.hosts_only", "family_told.later", "criminal_offence_data.noted"},
        [("approve", "max", "One look.")],
    )


def test_the_old_free_text_authorise_option_is_gone(cli: Cli, approved_id: int) -> None:
    code, _, _ = cli.run("mona", "justification", "authorise", str(approved_id), "--ref", "R-17")
    _, shown = cli.json("ada", "justification", "show", str(approved_id))
    assert (code, shown["authorisation_ref"], shown["authorisations"]) == (2, None, [])


def test_show_text_names_the_decision(cli: Cli, approved_id: int) -> None:
    code, out, _ = cli.run("wren", "justification", "show", str(approved_id))
    assert (code, "Decision: approve by max" in out) == (0, True)


# --- looks -----------------------------------------------------------------------------


def test_first_view_exits_0(cli: Cli, approved_id: int) -> None:
    code, out, _ = _view(cli, approved_id)
    assert (code, out.strip().isdigit()) == (0, True)


def test_second_view_exits_3_naming_the_rule(cli: Cli, approved_id: int) -> None:
    _view(cli, approved_id)
    code, _, err = _view(cli, approved_id)
    assert (code, "planned_viewings_used" in err) == (3, True)


def test_second_view_in_json_names_the_rule(cli: Cli, approved_id: int) -> None:
    _view(cli, approved_id)
    _, out, _ = _view(cli, approved_id, "--json")
    [line] = out.splitlines()
    assert json.loads(line)["rule"] == "planned_viewings_used"


def test_view_without_attesting_exits_3(cli: Cli, approved_id: int) -> None:
    code, _, err = cli.run(
        "wren",
        "view",
        cli.case,
        URL,
        "--justification",
        str(approved_id),
        "--subject",
        str(cli.subject),
    )
    assert (code, "attestation_missing" in err) == (3, True)


def test_meter_json_shows_the_look(cli: Cli, approved_id: int) -> None:
    _view(cli, approved_id)
    code, obj = cli.json("wren", "meter", str(cli.subject))
    assert (code, obj["count_in_window"], obj["state"]) == (0, 1, "warn")


# --- the whole story -------------------------------------------------------------------


def test_the_whole_scenario_through_the_gate(cli: Cli) -> None:
    deficient = cli.file("draft.toml", _deficient_toml(cli.subject))
    fixed = cli.file("fixed.toml", _good_toml(cli.subject))
    codes: list[int] = []
    code, out, _ = cli.run("wren", "justification", "new", cli.case, "--file", deficient)
    codes.append(code)
    jid = out.strip()
    for user, *argv in [
        ("wren", "justification", "submit", jid),
        ("wren", "justification", "edit", jid, "--file", fixed),
        ("wren", "justification", "submit", jid),
        ("wren", "justification", "review", jid, "--approve", "--reason", "x"),
        ("max", "justification", "review", jid, "--approve", "--reason", "One look."),
        ("wren", "justification", "show", jid),
    ]:
        codes.append(cli.run(user, *argv)[0])
    codes += [_view(cli, int(jid))[0], _view(cli, int(jid))[0]]
    assert codes == [0, 3, 0, 0, 3, 0, 0, 0, 3]


JSON_COMMANDS = [
    pytest.param("mona", ("justification", "queue"), id="queue"),
    pytest.param("wren", ("justification", "list", "CP-2026-0042"), id="list"),
    pytest.param("wren", ("justification", "show", "{id}"), id="show"),
    pytest.param("wren", ("meter", "{subject}"), id="meter"),
    pytest.param("wren", ("justification", "submit", "{id}"), id="refused-submit"),
    pytest.param("wren", ("justification", "show", "999"), id="not-found"),
    pytest.param(None, ("justification", "template"), id="template"),
]


@pytest.mark.parametrize(("user", "argv"), JSON_COMMANDS)
def test_json_output_is_one_object(
    cli: Cli, approved_id: int, user: str | None, argv: tuple[str, ...]
) -> None:
    filled = [a.format(id=approved_id, subject=cli.subject) for a in argv]
    _, obj = cli.json(user, *filled)
    assert obj


@pytest.mark.parametrize("flags", [(), ("--json",)], ids=["text", "json"])
def test_policy_show_exits_0(cli: Cli, flags: tuple[str, ...]) -> None:
    code, out, _ = cli.run("ada", *flags, "policy", "show")
    assert (code, "meter_stop_at" in out) == (0, True)


def test_policy_show_says_what_the_defaults_hash_is_of(cli: Cli) -> None:
    code, out, _ = cli.run("ada", "policy", "show")
    assert code == 0
    assert out.startswith(
        "In force: 'Caseview defaults', the shipped defaults, never changed (sha256 "
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855, of the empty "
        "overrides text)."
    )


# --- an overdue emergency, seen from the command line ----------------------------------


@pytest.fixture
def overdue_emergency(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, int, int]:
    """A case file with an emergency submitted 30 hours ago (and an older ordinary one).

    Built through the services on a clock set in the past, because the command line
    reads the system clock.
    """
    path = tmp_path / "overdue.db"
    clock = FixedClock(datetime.now(UTC) - timedelta(hours=31))
    with open_case_file(path, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD, clock=clock)
        manager = accounts.login(casefile, "mona", PASSWORD, clock=clock)
        accounts.add_user(manager, "wren", "worker", PASSWORD)
        case = cases.create_case(manager, "CP-2026-0042", "Smith family")
        cases.allocate(manager, case.id, "wren")
        person = cases.add_subject(manager, case.id, "Kerry Smith", "parent")
        worker = accounts.login(casefile, "wren", PASSWORD, clock=clock)
        older = submitted(worker, case.id, make_request([person.id], clock()))
        clock.advance(hours=1)
        urgent = submitted(
            worker, case.id, make_request([person.id], clock(), **emergency_changes())
        )
    monkeypatch.setenv("CASEVIEW_DB", str(path))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    return path, urgent.id, older.id


def test_show_json_flags_an_overdue_emergency(
    capsys: pytest.CaptureFixture[str], overdue_emergency: tuple[Path, int, int]
) -> None:
    _, urgent, _ = overdue_emergency
    assert main(["--user", "mona", "--json", "justification", "show", str(urgent)]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["overdue"], obj["emergency_state"]) == (True, "overdue")


def test_queue_json_lists_the_overdue_emergency_first(
    capsys: pytest.CaptureFixture[str], overdue_emergency: tuple[Path, int, int]
) -> None:
    _, urgent, older = overdue_emergency
    assert main(["--user", "mona", "--json", "justification", "queue"]) == 0
    queue = json.loads(capsys.readouterr().out)["queue"]
    assert [r["id"] for r in queue] == [urgent, older]


def test_reading_an_overdue_emergency_twice_flags_it_once(
    capsys: pytest.CaptureFixture[str], overdue_emergency: tuple[Path, int, int]
) -> None:
    path, urgent, _ = overdue_emergency
    for argv in (["justification", "show", str(urgent)], ["justification", "queue"]) * 2:
        assert main(["--user", "mona", *argv]) == 0
    capsys.readouterr()
    with open_case_file(path) as casefile:
        flagged = casefile.conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'justification.overdue'"
        ).fetchone()[0]
    assert flagged == 1


def test_show_text_marks_an_overdue_emergency(
    capsys: pytest.CaptureFixture[str], overdue_emergency: tuple[Path, int, int]
) -> None:
    _, urgent, _ = overdue_emergency
    assert main(["--user", "mona", "justification", "show", str(urgent)]) == 0
    assert "EMERGENCY OVERDUE FOR REVIEW" in capsys.readouterr().out
