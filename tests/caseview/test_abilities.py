"""``abilities``: what a user may do on a case, each refusal in the service's words.

Whether each answer agrees with the services, for every role and an open or closed
case, is the permission matrix's job (``test_permissions.py``); these tests pin the
answer's shape, the look actions' need of a usable request, and ``case show``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_support import approved, make_request

from caseview import abilities, cases, notes
from caseview.abilities import NO_CASE, NO_USABLE_REQUEST, Ability
from caseview.cli import main
from caseview.domain import Case, Subject
from caseview.errors import NotFound, PermissionDenied
from caseview.session import Session

PASSWORD = "correct horse"  # the password conftest gives every account
LOOKS = ("view", "capture", "import_file", "record_supplied", "browse")


def test_every_action_is_answered_once_in_a_stable_order(worker: Session, case: Case) -> None:
    answer = abilities.abilities(worker, case.id)
    assert [action for action, _ in answer.items()] == list(abilities.ACTIONS)
    assert all(isinstance(ability, Ability) for _, ability in answer.items())


def test_an_allowed_action_has_no_reason(worker: Session, case: Case) -> None:
    assert abilities.abilities(worker, case.id).write_note == Ability(True, "", "")


def test_a_refusal_is_the_services_own_message(
    worker: Session, manager: Session, case: Case
) -> None:
    cases.set_status(manager, case.id, "closed")
    with pytest.raises(PermissionDenied) as refused:
        notes.save(worker, case.id, analysis="Too late.")
    said = abilities.abilities(worker, case.id).write_note
    assert said == Ability(False, str(refused.value), "case_closed")


def test_no_usable_request_refuses_every_look_and_says_what_to_do(
    worker: Session, case: Case, subject: Subject
) -> None:
    answer = abilities.abilities(worker, case.id)
    assert {answer[look] for look in LOOKS} == {
        Ability(False, NO_USABLE_REQUEST, "no_usable_request")
    }
    assert answer.write_justification.allowed  # the way to get one


def test_an_approved_request_allows_the_looks(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    approved(worker, manager, case.id, make_request([subject.id], worker.now()))
    answer = abilities.abilities(worker, case.id)
    assert all(answer[look].allowed for look in LOOKS)


def test_a_case_the_user_may_not_see_is_answered_not_raised(
    other_worker: Session, case: Case
) -> None:
    answer = abilities.abilities(other_worker, case.id)
    assert not any(answer[action].allowed for action in ("read", "capture", "write_note"))
    assert answer.read.rule == "allocation"


def test_a_missing_case_is_not_found(worker: Session, case: Case) -> None:
    with pytest.raises(NotFound):
        abilities.abilities(worker, case.id + 100)


def test_without_a_case_only_the_general_actions_can_be_allowed(manager: Session) -> None:
    answer = abilities.abilities(manager, None)
    general = {"review_queue", "create_case", "manage_users", "see_users"}
    assert {action for action, ability in answer.items() if ability.allowed} == general
    assert answer.write_note == Ability(False, NO_CASE, "no_case")


def test_an_unknown_action_is_a_key_error(worker: Session, case: Case) -> None:
    with pytest.raises(KeyError):
        abilities.abilities(worker, case.id)["fly"]


def test_as_json_gives_allowed_and_reason_for_every_action(auditor: Session, case: Case) -> None:
    shown = abilities.abilities(auditor, case.id).as_json()
    assert set(shown) == set(abilities.ACTIONS)
    assert shown["read"] == {"allowed": True, "reason": ""}
    assert shown["write_note"]["allowed"] is False
    assert "auditor" in str(shown["write_note"]["reason"])


# --- caseview case show -----------------------------------------------------------------


def _show(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> str:
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    capsys.readouterr()
    assert main(["--db", str(db_path), "--user", "ada", *args]) == 0
    return capsys.readouterr().out


def test_case_show_json_carries_the_abilities(
    db_path: Path,
    auditor: Session,
    case: Case,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shown = json.loads(_show(db_path, monkeypatch, capsys, "--json", "case", "show", str(case.id)))
    assert shown["abilities"] == abilities.abilities(auditor, case.id).as_json()


def test_case_show_lists_each_action_with_yes_or_no_and_why(
    db_path: Path,
    auditor: Session,
    case: Case,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _show(db_path, monkeypatch, capsys, "case", "show", str(case.id))
    reason = abilities.abilities(auditor, case.id).write_note.reason
    lines = text.splitlines()
    assert any(line.split()[:2] == ["read", "yes"] for line in lines)
    assert any(line.split()[:2] == ["write_note", "no"] and reason in line for line in lines)
