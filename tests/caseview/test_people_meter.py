"""Issue 10 through the services and the CLI: the meter counts people and occasions,
break-glass cannot be chained, a self-collected look needs its promises, UK dates, and
someone else's page is outside a request's purpose."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from gate_support import (
    URL,
    approved,
    count_viewings,
    emergency_changes,
    event_data,
    example_toml,
    make_request,
    set_key,
    submitted,
)

from caseview import captures, cases, persons, viewings
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import GateRefused, NotFound, PermissionDenied, ValidationError
from caseview.session import Session

pytestmark = pytest.mark.both_engines

PAGE = b"<html><head><title>Kerry</title></head><body><p>A public post.</p></body></html>"


@pytest.fixture
def co_subject(manager: Session, case: Case) -> Subject:
    """Kerry's partner in the same case; no known profile."""
    return cases.add_subject(manager, case.id, "Lee Smith", "carer")


@pytest.fixture
def sibling_kerry(manager: Session, worker: Session) -> tuple[Case, Subject]:
    """Kerry again, in a sibling's case, known by the same profile (written differently)."""
    sibling = cases.create_case(manager, "CP-2026-0099", "Smith, the younger children")
    cases.allocate(manager, sibling.id, worker.user.username)
    kerry = cases.add_subject(
        manager, sibling.id, "K. Smith", "parent", handles=["www.social.example/Kerry/"]
    )
    return sibling, kerry


def _request(
    worker: Session, manager: Session, case_id: int, subjects: list[int], **changes: object
) -> int:
    request = make_request(subjects, worker.now(), planned_viewings=3, **changes)  # type: ignore[arg-type]
    return approved(worker, manager, case_id, request).id


def _look(worker: Session, case_id: int, request_id: int, subject_id: int, url: str = URL) -> int:
    return viewings.record_view(worker, case_id, request_id, subject_id, url, attested=True)[0]


def _fourth_look_refused(
    worker: Session, case: Case, request_id: int, subject: Subject, rule: str = "meter_stop"
) -> None:
    before = count_viewings(worker.casefile, "refused")
    with pytest.raises(GateRefused) as refused:
        _look(worker, case.id, request_id, subject.id)
    assert refused.value.rule == rule
    assert count_viewings(worker.casefile, "refused") == before + 1


# --- the 4th look at one person, however it is reached ----------------------------------


def test_looks_filed_under_a_co_subject_count_for_the_person_whose_page_it_is(
    manager: Session, worker: Session, case: Case, subject: Subject, co_subject: Subject
) -> None:
    later = _request(worker, manager, case.id, [subject.id])
    both = _request(worker, manager, case.id, [subject.id, co_subject.id])
    for _ in range(3):
        _look(worker, case.id, both, co_subject.id)  # Kerry's page, filed under Lee
    _fourth_look_refused(worker, case, later, subject)


def test_looks_in_a_sibling_case_count_for_the_same_person(
    manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    sibling_kerry: tuple[Case, Subject],
) -> None:
    sibling, kerry = sibling_kerry
    here = _request(worker, manager, case.id, [subject.id])
    there = _request(worker, manager, sibling.id, [kerry.id])
    for _ in range(3):
        _look(worker, sibling.id, there, kerry.id)
    _fourth_look_refused(worker, case, here, subject)


def _three_supplied(
    worker: Session, case: Case, request_id: int, subject: Subject, origin: str, who: str
) -> None:
    for n in range(3):
        captures.import_file(
            worker,
            case.id,
            PAGE.replace(b"public post", f"post {n}".encode()),
            url=URL,
            viewed_at=worker.now(),
            justification_id=request_id,
            subject_id=subject.id,
            origin=origin,
            supplied_by=who,
            filename=f"kerry-{n}.html",
        )


def test_material_a_colleague_supplied_counts_as_the_authoritys_look(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    here = _request(worker, manager, case.id, [subject.id])
    _three_supplied(worker, case, here, subject, "colleague", "Sam Patel, duty social worker")
    _fourth_look_refused(worker, case, here, subject)


def test_material_the_family_supplied_is_not_a_look_by_the_authority(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    here = _request(worker, manager, case.id, [subject.id])
    _three_supplied(worker, case, here, subject, "family", "maternal grandmother")
    assert viewings.meter_for(worker, subject.id).count_in_window == 0


def test_looks_spaced_over_months_are_stopped_as_a_pattern(
    manager: Session, worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    # Six weeks apart, so the 90-day window never holds three; but three months do.
    first = _request(worker, manager, case.id, [subject.id])
    _look(worker, case.id, first, subject.id)
    clock.advance(days=45)
    second = _request(worker, manager, case.id, [subject.id])
    _look(worker, case.id, second, subject.id)
    clock.advance(days=40)
    third = _request(worker, manager, case.id, [subject.id])
    fourth = _request(worker, manager, case.id, [subject.id])
    clock.advance(days=5)
    _look(worker, case.id, third, subject.id)
    clock.advance(days=5)
    assert viewings.meter_for(worker, subject.id).count_in_window == 2
    _fourth_look_refused(worker, case, fourth, subject, rule="meter_pattern")


def test_the_meter_warns_from_the_second_look_of_every_kind(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    here = _request(worker, manager, case.id, [subject.id])
    first = captures.import_file(
        worker,
        case.id,
        PAGE,
        url=URL,
        viewed_at=worker.now(),
        justification_id=here,
        subject_id=subject.id,
        attested=True,
        filename="a.html",
    )
    second = captures.import_file(
        worker,
        case.id,
        PAGE + b" ",
        url=URL,
        viewed_at=worker.now(),
        justification_id=here,
        subject_id=subject.id,
        attested=True,
        filename="b.html",
    )
    assert first.gate_warnings == ()
    assert len(second.gate_warnings) == 1 and "2nd" in second.gate_warnings[0]


# --- linking people ----------------------------------------------------------------------


def test_a_manager_links_two_subjects_and_the_meter_counts_them_together(
    manager: Session, worker: Session, case: Case, subject: Subject, co_subject: Subject
) -> None:
    both = _request(worker, manager, case.id, [co_subject.id])
    later = _request(worker, manager, case.id, [subject.id])
    for _ in range(3):
        _look(worker, case.id, both, co_subject.id, "https://social.example/lee")
    assert viewings.meter_for(worker, subject.id).count_in_window == 0
    same = persons.link(
        manager, subject.id, co_subject.id, "Same person: alias in the police check"
    )
    assert same.subject_ids == (subject.id, co_subject.id)
    assert viewings.meter_for(worker, subject.id).count_in_window == 3
    [event] = event_data(manager.casefile, "person.linked")
    assert event["reason"].startswith("Same person")
    _fourth_look_refused(worker, case, later, subject)


@pytest.mark.parametrize("who", ["worker", "auditor"])
def test_only_a_manager_links_people(
    request: pytest.FixtureRequest, subject: Subject, co_subject: Subject, who: str
) -> None:
    session: Session = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied) as refused:
        persons.link(session, subject.id, co_subject.id, "same person")
    assert refused.value.rule == "role"


@pytest.mark.parametrize(
    ("a", "b", "reason", "error"),
    [(0, 0, "x", ValidationError), (0, 999, "x", NotFound), (0, 1, "  ", ValidationError)],
)
def test_a_link_needs_two_real_subjects_and_a_reason(
    manager: Session,
    subject: Subject,
    co_subject: Subject,
    a: int,
    b: int,
    reason: str,
    error: type[Exception],
) -> None:
    ids = {0: subject.id, 1: co_subject.id, 999: 999}
    with pytest.raises(error):
        persons.link(manager, ids[a], ids[b], reason)


# --- someone else's page -----------------------------------------------------------------


def test_a_site_wide_scope_does_not_reach_another_persons_known_page(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    cases.add_subject(
        manager, case.id, "Ray Jones", "other", handles=["https://social.example/ray"]
    )
    here = _request(worker, manager, case.id, [subject.id])
    with pytest.raises(GateRefused) as refused:
        _look(worker, case.id, here, subject.id, "https://social.example/ray/photos")
    assert refused.value.rule == "page_of_other_person"
    assert "outside the request's purpose" in str(refused.value)
    [event] = event_data(worker.casefile, "viewing.refused")
    assert event["rule"] == "page_of_other_person"


# --- break-glass cannot be chained --------------------------------------------------------


def test_an_overdue_emergency_stops_its_author_raising_another(
    worker: Session, case: Case, subject: Subject, child: Subject, clock: FixedClock
) -> None:
    submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=25)
    with pytest.raises(GateRefused) as refused:
        submitted(worker, case.id, make_request([child.id], clock(), **emergency_changes()))
    assert "emergency_chained" in {f.code.split(".")[-1] for f in refused.value.findings}
    assert "s26(2)(c)" in refused.value.findings[0].reference


def test_an_overdue_emergency_stops_its_author_using_another(
    worker: Session, case: Case, subject: Subject, child: Subject, clock: FixedClock
) -> None:
    submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=2)
    second = submitted(worker, case.id, make_request([child.id], clock(), **emergency_changes()))
    clock.advance(hours=23)  # the first is overdue, the second still live
    with pytest.raises(GateRefused) as refused:
        _look(worker, case.id, second.id, child.id, "https://social.example/jay")
    assert refused.value.rule == "emergency_chained"


def test_a_second_emergency_about_the_same_person_needs_the_first_reviewed(
    manager: Session, worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    # A manager raises the second: anyone's earlier emergency about the person counts.
    submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=1)
    with pytest.raises(GateRefused) as refused:
        submitted(manager, case.id, make_request([subject.id], clock(), **emergency_changes()))
    assert any(f.code == "emergency.emergency_same_person" for f in refused.value.findings)


# --- UK dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "until", "rule"),
    [
        # British Summer Time: 30 June ends at 23:00 UTC; 00:30 BST on 1 July is too late.
        (datetime(2026, 6, 30, 22, 30, tzinfo=UTC), date(2026, 6, 30), None),
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), date(2026, 6, 30), "expired"),
        # Greenwich Mean Time: the UK day is the UTC day.
        (datetime(2026, 1, 30, 23, 30, tzinfo=UTC), date(2026, 1, 30), None),
        (datetime(2026, 1, 31, 0, 30, tzinfo=UTC), date(2026, 1, 30), "expired"),
    ],
)
def test_valid_until_is_the_end_of_the_uk_day(
    manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    now: datetime,
    until: date,
    rule: str | None,
) -> None:
    clock.now = now - timedelta(days=2)
    request = dataclasses.replace(
        make_request([subject.id], clock(), planned_viewings=1), valid_until=until
    )
    here = approved(worker, manager, case.id, request).id
    clock.now = now
    permission = viewings.check(worker, case.id, here, subject.id, URL, attested=True, kind="view")
    assert (permission.allowed, permission.rule) == (rule is None, rule)
    expected = "expired" if rule else "approved"
    assert viewings.justifications.get(worker, here).status == expected


# --- the CLI --------------------------------------------------------------------------------


def test_cli_subject_link_and_the_meter_name_the_same_person(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from caseview.cli import main

    monkeypatch.setenv("CASEVIEW_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("CASEVIEW_PASSWORD", "correct horse")
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", "correct horse")
    monkeypatch.delenv("CASEVIEW_USER", raising=False)

    def run(user: str | None, *argv: str) -> tuple[int, str, str]:
        code = main((["--user", user] if user else []) + list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    for user, *argv in [
        (None, "init", "--admin", "mona"),
        ("mona", "user", "add", "wren", "--role", "worker"),
        ("mona", "case", "new", "--ref", "A-1", "--title", "One"),
        ("mona", "case", "new", "--ref", "B-2", "--title", "Two"),
        ("mona", "subject", "add", "A-1", "--name", "Kerry", "--role", "parent"),
        ("mona", "subject", "add", "B-2", "--name", "K. S.", "--role", "parent"),
    ]:
        assert run(user, *argv)[0] == 0, argv
    code, _, err = run("wren", "subject", "link", "1", "2", "--reason", "same person")
    assert code == 3 and "manager" in err
    code, out, _ = run("mona", "subject", "link", "1", "2", "--reason", "Same DOB and address")
    assert code == 0 and "one person" in out
    code, out, _ = run("mona", "--json", "meter", "1")
    assert code == 0
    import json

    obj = json.loads(out)
    assert obj["same_person_subjects"] == [1, 2] and obj["person"] == 1

    # Looks in case B-2 count for the same person in A-1: the 4th is refused there.
    for user, *argv in [
        ("mona", "case", "allocate", "A-1", "wren"),
        ("mona", "case", "allocate", "B-2", "wren"),
    ]:
        assert run(user, *argv)[0] == 0, argv
    until = datetime.now(UTC).date() + timedelta(days=14)
    ids = []
    for case_ref, subject_id, planned in (("A-1", 1, 1), ("B-2", 2, 3)):
        toml = tmp_path / f"{case_ref}.toml"
        toml.write_text(
            set_key(example_toml([subject_id], until), "planned_viewings", planned),
            encoding="utf-8",
        )
        code, out, err = run("wren", "justification", "new", case_ref, "--file", str(toml))
        assert code == 0, err
        ids.append(out.strip())
        assert run("wren", "justification", "submit", ids[-1])[0] == 0
        review = ["justification", "review", ids[-1], "--approve", "--reason", "One look."]
        assert run("mona", *review)[0] == 0
    look = ["--subject", "2", "--attest"]
    warnings = []
    for _ in range(3):
        code, out, err = run("wren", "--json", "view", "B-2", URL, "--justification", ids[1], *look)
        assert code == 0, err
        warnings.append(json.loads(out)["warning"])
    assert warnings[0] == "" and "2nd" in warnings[1]
    code, out, err = run(
        "wren", "view", "A-1", URL, "--justification", ids[0], "--subject", "1", "--attest"
    )
    assert (code, out) == (3, "")
    assert "meter_stop" in err


# --- the note says how each source was obtained, never more --------------------------------


def _note_text(session: Session, case_id: int) -> str:
    import io

    from pypdf import PdfReader

    from caseview.report.build import build
    from caseview.report.pdf import render_pdf

    pdf = render_pdf(build(session, case_id))
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_the_note_states_each_sources_method_and_vouches_for_no_more(
    manager: Session, worker: Session, case: Case, subject: Subject
) -> None:
    here = _request(worker, manager, case.id, [subject.id])
    common = {"url": URL, "justification_id": here, "subject_id": subject.id}
    captures.import_file(
        worker, case.id, PAGE, viewed_at=worker.now(), attested=True, filename="own.html", **common
    )
    for n, (origin, who) in enumerate(
        [("family", "maternal grandmother"), ("colleague", "Sam Patel, duty worker")]
    ):
        captures.import_file(
            worker,
            case.id,
            PAGE.replace(b"public post", f"post {n}".encode()),
            viewed_at=worker.now(),
            origin=origin,
            supplied_by=who,
            filename=f"{origin}.html",
            **common,
        )
    text = _note_text(worker, case.id)
    assert "Only what was visible without logging in was viewed" not in text
    assert text.count("How it was obtained") == 3
    assert "Saved by the worker from their own look and imported; for this look the worker" in text
    assert "Supplied by maternal grandmother (a family member); not found by the worker" in text
    assert "nothing is known of whether it was viewed logged out" in text
    assert "A colleague's look is the authority's own (Home Office Code 3.17)" in text
