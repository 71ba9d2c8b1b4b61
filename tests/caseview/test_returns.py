"""A returned request: the next version must change and answer each of the reasons.

Through the services and through the command line, table-driven both ways: unchanged
or unanswered resubmissions are refused with their rule, a changed and answered one is
accepted, and the manager sees each answer beside its reason.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import engines
import pytest
from gate_support import PASSWORD, example_toml, make_request, set_key, submitted

from caseview import audit, justifications
from caseview.cli import main
from caseview.domain import Case, Subject
from caseview.errors import GateRefused, PermissionDenied, ValidationError
from caseview.justifications import JustificationRecord
from caseview.returns import reason_items
from caseview.session import Session

REASONS = (
    "- Name the man you expect to see.\n"
    "* Say why the school cannot tell you this.\n"
    "\n"
    "3. Plan one viewing, not two."
)
ITEMS = (
    "Name the man you expect to see.",
    "Say why the school cannot tell you this.",
    "Plan one viewing, not two.",
)
ANSWERS = (
    "The question now names Dan Jones, the man in the police disclosure.",
    "The school has not seen Kerry since September and knows nothing of the home.",
    "Planned viewings reduced to one.",
)

pytestmark = pytest.mark.both_engines


@pytest.mark.parametrize(
    ("text", "items"),
    [
        (REASONS, ITEMS),
        (
            "Please name the man, and plan one viewing only.",
            ("Please name the man, and plan one viewing only.",),
        ),
        ("1) First thing\n2) Second thing", ("First thing", "Second thing")),
        ("  \n(a) Only this\n   \n", ("Only this",)),
        ("-2 viewings is too many", ("-2 viewings is too many",)),
        ("   ", ()),
    ],
)
def test_reasons_split_into_one_item_per_line(text: str, items: tuple[str, ...]) -> None:
    assert reason_items(text) == items


# --- through the services -------------------------------------------------------------


@pytest.fixture
def returned(
    worker: Session, second_manager: Session, case: Case, subject: Subject
) -> JustificationRecord:
    request = make_request([subject.id], worker.now(), planned_viewings=2)
    record = submitted(worker, case.id, request)
    return justifications.review(second_manager, record.id, "return", REASONS)


@pytest.fixture
def revised(worker: Session, returned: JustificationRecord) -> JustificationRecord:
    """The worker's new version: changed as the manager asked, not yet answered."""
    changed = replace(returned.request, planned_viewings=1)
    return justifications.edit(worker, returned.id, changed)


def test_the_new_version_carries_the_reasons_to_answer(
    returned: JustificationRecord, revised: JustificationRecord
) -> None:
    assert revised.id != returned.id and revised.status == "draft"
    assert revised.answering is not None
    assert revised.answering.returned_id == returned.id
    assert revised.answering.reviewer == "max"
    assert [i.reason for i in revised.answering.items] == list(ITEMS)
    assert [i.answer for i in revised.answering.items] == ["", "", ""]
    assert returned.answering is None  # the first version answers nothing


@pytest.mark.parametrize(
    ("change", "answers", "rule", "names"),
    [
        pytest.param(False, ANSWERS, "return_unchanged", "same request", id="unchanged"),
        pytest.param(True, None, "return_unanswered", "reason 1", id="not-answered"),
        pytest.param(
            True, (ANSWERS[0], "", ANSWERS[2]), "return_unanswered", "reason 2", id="one-blank"
        ),
        pytest.param(
            True,
            (ANSWERS[0], ANSWERS[1], "Done."),
            "return_unanswered",
            "reason 3 ('Plan one viewing, not two.')",
            id="stock-phrase",
        ),
    ],
)
def test_a_resubmission_that_does_not_deal_with_the_return_is_refused(
    worker: Session,
    returned: JustificationRecord,
    change: bool,
    answers: tuple[str, ...] | None,
    rule: str,
    names: str,
) -> None:
    request = replace(returned.request, planned_viewings=1) if change else returned.request
    draft = justifications.edit(worker, returned.id, request)
    if answers is not None:
        justifications.answer_return(worker, draft.id, answers)
    with pytest.raises(GateRefused) as refused:
        justifications.submit(worker, draft.id)
    assert refused.value.rule == rule
    assert names in str(refused.value)
    assert justifications.get(worker, draft.id).status == "draft"
    [event] = [
        e
        for e in audit.list_events(worker, returned.case_id)
        if e.action == "justification.submit_refused"
    ]
    assert event.data["rule"] == rule


def test_a_changed_and_answered_resubmission_is_accepted(
    worker: Session, second_manager: Session, revised: JustificationRecord
) -> None:
    justifications.answer_return(worker, revised.id, ANSWERS)
    record, _ = justifications.submit(worker, revised.id)
    assert record.status == "submitted"
    assert record.content_hash != revised.answering.returned_hash  # type: ignore[union-attr]
    # The manager sees each answer beside its reason, in the queue and on the record.
    [queued] = [r for r in justifications.review_queue(second_manager) if r.id == revised.id]
    assert queued.answering is not None
    assert [(i.reason, i.answer) for i in queued.answering.items] == list(
        zip(ITEMS, ANSWERS, strict=True)
    )


def test_answering_is_audited_with_each_reason_and_answer(
    worker: Session, revised: JustificationRecord
) -> None:
    justifications.answer_return(worker, revised.id, ANSWERS)
    [event] = [
        e
        for e in audit.list_events(worker, revised.case_id)
        if e.action == "justification.return_answered"
    ]
    assert event.entity_id == revised.id
    assert event.data["answers"] == [
        {"reason": r, "answer": a} for r, a in zip(ITEMS, ANSWERS, strict=True)
    ]


def test_answers_can_be_changed_until_submitted_then_are_frozen(
    worker: Session, revised: JustificationRecord, casefile: object
) -> None:
    justifications.answer_return(worker, revised.id, ("x", "y", "z"))
    justifications.answer_return(worker, revised.id, ANSWERS)
    justifications.submit(worker, revised.id)
    with pytest.raises(PermissionDenied) as denied:
        justifications.answer_return(worker, revised.id, ANSWERS)
    assert denied.value.rule == "status"
    conn = worker.casefile.conn
    with engines.database_refuses(worker.casefile, "frozen", sqlite_error=sqlite3.DatabaseError):
        conn.execute("UPDATE return_answers SET answer = 'changed later'")


@pytest.mark.parametrize(
    ("who", "answers", "error", "says"),
    [
        ("manager", ANSWERS, PermissionDenied, "Only the author"),
        ("worker", ANSWERS[:2], ValidationError, "one answer for each"),
    ],
)
def test_only_the_author_answers_one_answer_per_reason(
    request: pytest.FixtureRequest,
    revised: JustificationRecord,
    who: str,
    answers: tuple[str, ...],
    error: type[Exception],
    says: str,
) -> None:
    session: Session = request.getfixturevalue(who)
    with pytest.raises(error, match=says):
        justifications.answer_return(session, revised.id, answers)


def test_the_returned_version_itself_cannot_be_answered(
    worker: Session, returned: JustificationRecord
) -> None:
    with pytest.raises(PermissionDenied, match="Change it first"):
        justifications.answer_return(worker, returned.id, ANSWERS)


def test_a_request_that_was_not_returned_has_nothing_to_answer(
    worker: Session, case: Case, subject: Subject
) -> None:
    draft = justifications.create(worker, case.id, make_request([subject.id], worker.now()))
    assert draft.answering is None
    with pytest.raises(ValidationError, match="no reasons to answer"):
        justifications.answer_return(worker, draft.id, ["Anything."])


def test_answers_follow_a_resubmission_revised_before_it_was_decided(
    worker: Session, revised: JustificationRecord
) -> None:
    justifications.answer_return(worker, revised.id, ANSWERS)
    justifications.submit(worker, revised.id)
    again = justifications.edit(
        worker, revised.id, replace(revised.request, question=revised.request.question + " Now?")
    )
    assert again.answering is not None
    assert again.answering.returned_id == revised.answering.returned_id  # type: ignore[union-attr]
    assert [i.answer for i in again.answering.items] == list(ANSWERS)


def test_an_approved_request_revised_has_no_return_to_answer(
    worker: Session, second_manager: Session, case: Case, subject: Subject
) -> None:
    record = submitted(worker, case.id, make_request([subject.id], worker.now()))
    justifications.review(second_manager, record.id, "approve", "Proportionate; one look.")
    revision = justifications.edit(
        worker, record.id, replace(record.request, question=record.request.question + " Now?")
    )
    assert revision.answering is None
    assert justifications.submit(worker, revision.id)[0].status == "submitted"


# --- through the command line ---------------------------------------------------------


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        self.capsys = capsys
        self.tmp_path = tmp_path

    def run(self, user: str | None, *argv: str) -> tuple[int, str, str]:
        code = main((["--user", user] if user else []) + list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def file(self, name: str, text: str) -> str:
        path = self.tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    monkeypatch.setenv("CASEVIEW_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    c = Cli(capsys, tmp_path)
    for user, *argv in [
        (None, "init", "--admin", "mona"),
        ("mona", "user", "add", "max", "--role", "manager"),
        ("mona", "user", "add", "wren", "--role", "worker"),
        ("mona", "case", "new", "--ref", "CP-2026-0042", "--title", "Smith family"),
        ("mona", "case", "allocate", "CP-2026-0042", "wren"),
        ("mona", "subject", "add", "CP-2026-0042", "--name", "Kerry Smith", "--role", "parent"),
    ]:
        assert c.run(user, *argv)[0] == 0, argv
    return c


def _toml(planned: int) -> str:
    text = example_toml([1], datetime.now(UTC).date() + timedelta(days=14))
    return set_key(text, "planned_viewings", planned)


@pytest.fixture
def cli_revised(cli: Cli) -> int:
    """Submitted with two viewings, returned by max, revised to one by wren: the new id."""
    code, out, _ = cli.run(
        "wren", "justification", "new", "CP-2026-0042", "--file", cli.file("a.toml", _toml(2))
    )
    first = out.strip()
    assert code == 0 and cli.run("wren", "justification", "submit", first)[0] == 0
    code, _, _ = cli.run("max", "justification", "review", first, "--return", "--reason", REASONS)
    assert code == 0
    code, out, _ = cli.run(
        "wren", "justification", "edit", first, "--file", cli.file("b.toml", _toml(1))
    )
    assert code == 0
    return int(out.strip())


@pytest.mark.parametrize(
    ("answers", "code", "says"),
    [
        pytest.param([], 3, "Still unanswered: reason 1", id="unanswered"),
        pytest.param([*ANSWERS[:2], "n/a"], 3, "reason 3", id="stock-answer"),
        pytest.param(list(ANSWERS), 0, "submitted", id="answered"),
    ],
)
def test_cli_resubmission_after_a_return(
    cli: Cli, cli_revised: int, answers: list[str], code: int, says: str
) -> None:
    if answers:
        argv = [arg for answer in answers for arg in ("--answer", answer)]
        assert cli.run("wren", "justification", "answer", str(cli_revised), *argv)[0] == 0
    got, out, err = cli.run("wren", "justification", "submit", str(cli_revised))
    assert got == code
    assert says in (out + err)


def test_cli_unchanged_resubmission_is_refused_with_exit_3(cli: Cli) -> None:
    _, out, _ = cli.run(
        "wren", "justification", "new", "CP-2026-0042", "--file", cli.file("a.toml", _toml(1))
    )
    first = out.strip()
    cli.run("wren", "justification", "submit", first)
    cli.run("max", "justification", "review", first, "--return", "--reason", "Say more.")
    _, out, _ = cli.run(
        "wren", "justification", "edit", first, "--file", cli.file("same.toml", _toml(1))
    )
    again = out.strip()
    assert cli.run("wren", "justification", "answer", again, "--answer", "I said more.")[0] == 0
    code, _, err = cli.run("wren", "justification", "submit", again)
    assert code == 3
    assert "return_unchanged" in err or "same request" in err


def test_cli_show_prints_each_reason_beside_its_answer(cli: Cli, cli_revised: int) -> None:
    argv = [arg for answer in ANSWERS for arg in ("--answer", answer)]
    cli.run("wren", "justification", "answer", str(cli_revised), *argv)
    code, out, _ = cli.run("max", "justification", "show", str(cli_revised))
    assert code == 0
    for number, (reason, answer) in enumerate(zip(ITEMS, ANSWERS, strict=True), start=1):
        assert f"{number}. Reason: {reason}\n     Answer: {answer}" in out
    code, out, _ = cli.run("max", "--json", "justification", "show", str(cli_revised))
    items = json.loads(out)["answering"]["items"]
    assert items == [{"reason": r, "answer": a} for r, a in zip(ITEMS, ANSWERS, strict=True)]


def test_cli_answer_with_the_wrong_number_of_answers_is_an_error(
    cli: Cli, cli_revised: int
) -> None:
    code, _, err = cli.run("wren", "justification", "answer", str(cli_revised), "--answer", "One.")
    assert code == 1
    assert "give one answer for each" in err
