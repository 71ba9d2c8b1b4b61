"""``captures.check_import``: the gate's decision about importing a file, without recording.

One's own look (``origin="self"``) is a viewing: it must be inside the request's scope,
within its planned viewings and the meter, and made while the request was usable.
Material someone else supplied is not a viewing: it needs only a usable, in-date request
naming the person. Each refusal is named by its rule, the question writes nothing, and
``import_file`` refuses every import that ``check_import`` refuses, by the same rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from capture_support import counts
from gate_support import URL, approved, emergency_changes, make_request, submitted

from caseview import audit, captures, cases, justifications, policy, viewings
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import GateRefused, NotFound, UsageError
from caseview.justifications import JustificationRecord
from caseview.session import Session

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
OK = "allowed"


@dataclass(frozen=True)
class Ask:
    """One question to the gate: ``captures.check_import``'s arguments."""

    session: Session
    case_id: int
    justification_id: int
    subject_id: int
    url: str
    viewed_at: datetime
    origin: str
    attested: bool = True
    """The worker's promises for the look (a self-collected import needs them)."""

    def check(self) -> viewings.Permission:
        return captures.check_import(
            self.session,
            self.case_id,
            url=self.url,
            viewed_at=self.viewed_at,
            justification_id=self.justification_id,
            subject_id=self.subject_id,
            origin=self.origin,
            attested=self.attested,
        )

    def import_(self) -> captures.SourceRecord:
        return captures.import_file(
            self.session,
            self.case_id,
            PDF,
            url=self.url,
            viewed_at=self.viewed_at,
            justification_id=self.justification_id,
            subject_id=self.subject_id,
            origin=self.origin,
            supplied_by=None if self.origin == "self" else "school safeguarding lead",
            filename="post.pdf",
            attested=self.attested,
        )


@dataclass(frozen=True)
class World:
    manager: Session
    worker: Session
    other_worker: Session
    auditor: Session
    case: Case
    subject: Subject
    clock: FixedClock
    record: JustificationRecord
    """Approved by the manager at the start; one planned viewing, valid 14 days."""

    def ask(self, origin: str, **changes: object) -> Ask:
        """The worker imports a look made half an hour after approval, an hour later."""
        assert self.record.decided_at is not None
        base = Ask(
            self.worker,
            self.case.id,
            self.record.id,
            self.subject.id,
            URL,
            self.record.decided_at + timedelta(minutes=30),
            origin,
        )
        return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def world(
    manager: Session,
    worker: Session,
    other_worker: Session,
    auditor: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
) -> World:
    record = approved(
        worker, manager, case.id, make_request([subject.id], clock(), planned_viewings=1)
    )
    clock.advance(hours=1)
    return World(manager, worker, other_worker, auditor, case, subject, clock, record)


# --- the situations, and what the gate says about each ------------------------------


def _other_case(w: World) -> JustificationRecord:
    other = cases.create_case(w.manager, "CP-2026-0077", "Jones family")
    cases.allocate(w.manager, other.id, w.worker.user.username)
    person = cases.add_subject(w.manager, other.id, "Lee Jones", "parent")
    return approved(w.worker, w.manager, other.id, make_request([person.id], w.clock()))


def _use_the_one_planned_viewing(w: World) -> None:
    viewings.record_view(w.worker, w.case.id, w.record.id, w.subject.id, URL, attested=True)


def _meter_at_its_stop_line(w: World) -> JustificationRecord:
    roomy = approved(
        w.worker, w.manager, w.case.id, make_request([w.subject.id], w.clock(), planned_viewings=3)
    )
    policy.set_policy(w.manager, 'name = "Strict"\nmeter_warn_from = 1\nmeter_stop_at = 2\n')
    viewings.record_view(w.worker, w.case.id, roomy.id, w.subject.id, URL, attested=True)
    return roomy


def _someone_elses_page(w: World) -> str:
    cases.add_subject(
        w.manager, w.case.id, "Lee Smith", "relative", handles=["https://social.example/lee"]
    )
    return "https://social.example/lee/photos"


def _meter_stopped_through_a_sibling_case(w: World) -> JustificationRecord:
    """Kerry is also a subject (same profile) in a sibling case; three looks there since
    this case's request was approved."""
    here = approved(
        w.worker, w.manager, w.case.id, make_request([w.subject.id], w.clock(), planned_viewings=1)
    )
    sibling = cases.create_case(w.manager, "CP-2026-0078", "Smith siblings")
    cases.allocate(w.manager, sibling.id, w.worker.user.username)
    kerry = cases.add_subject(
        w.manager, sibling.id, "K. Smith", "parent", handles=["social.example/kerry/"]
    )
    there = approved(
        w.worker, w.manager, sibling.id, make_request([kerry.id], w.clock(), planned_viewings=3)
    )
    for _ in range(3):
        viewings.record_view(w.worker, sibling.id, there.id, kerry.id, URL, attested=True)
    return here


def _emergency(w: World, o: str, session: Session) -> Ask:
    """An unreviewed emergency request by the worker; the look made after submitting it."""
    request = make_request([w.subject.id], w.clock(), **emergency_changes())
    record = submitted(w.worker, w.case.id, request)
    w.clock.advance(minutes=30)
    return w.ask(o, session=session, justification_id=record.id, viewed_at=w.clock())


Situation = Callable[[World, str], Ask]

SITUATIONS: dict[str, Situation] = {
    "worker": lambda w, o: w.ask(o),
    "manager": lambda w, o: w.ask(o, session=w.manager),
    "auditor": lambda w, o: w.ask(o, session=w.auditor),
    "unallocated worker": lambda w, o: w.ask(o, session=w.other_worker),
    "closed case": lambda w, o: (cases.set_status(w.manager, w.case.id, "closed"), w.ask(o))[1],
    "request of another case": lambda w, o: w.ask(o, justification_id=_other_case(w).id),
    "draft request": lambda w, o: w.ask(
        o,
        justification_id=justifications.create(
            w.worker, w.case.id, make_request([w.subject.id], w.clock())
        ).id,
    ),
    "person not named": lambda w, o: w.ask(
        o, subject_id=cases.add_subject(w.manager, w.case.id, "Lee Smith", "relative").id
    ),
    "request ran out": lambda w, o: (w.clock.advance(days=30), w.ask(o))[1],
    "address out of scope": lambda w, o: w.ask(o, url="https://elsewhere.example/kerry"),
    "not a web address": lambda w, o: w.ask(o, url="file:///etc/passwd"),
    "planned viewings used": lambda w, o: (_use_the_one_planned_viewing(w), w.ask(o))[1],
    "meter at its stop line": lambda w, o: w.ask(o, justification_id=_meter_at_its_stop_line(w).id),
    "look made before approval": lambda w, o: w.ask(
        o, viewed_at=w.record.decided_at - timedelta(minutes=1)
    ),
    "live emergency, its author": lambda w, o: _emergency(w, o, w.worker),
    "live emergency, not its author": lambda w, o: _emergency(w, o, w.manager),
    "promises not given": lambda w, o: w.ask(o, attested=False),
    "page of someone else": lambda w, o: w.ask(o, url=_someone_elses_page(w)),
    "same person looked at in a sibling case": lambda w, o: w.ask(
        o, justification_id=_meter_stopped_through_a_sibling_case(w).id
    ),
}

# Each row: situation, then the rule for one's own look (self), for material the family
# supplied, and for material a colleague supplied (a look by the authority, Code 3.17).
EXPECTED = [
    ("worker", OK, OK, OK),
    ("manager", OK, OK, OK),
    ("auditor", "role", "role", "role"),
    ("unallocated worker", "allocation", "allocation", "allocation"),
    ("closed case", "case_closed", "case_closed", "case_closed"),
    ("request of another case", "wrong_case", "wrong_case", "wrong_case"),
    ("draft request", "status", "status", "status"),
    ("person not named", "subject_not_covered", "subject_not_covered", "subject_not_covered"),
    ("request ran out", "expired", "expired", "expired"),
    # Supplied material is not our viewing: scope, planned viewings and when the look
    # was made are not asked about. A colleague's look is the authority's: the meter
    # counts it, and someone else's page is outside the request's purpose.
    ("address out of scope", "host_out_of_scope", OK, OK),
    ("not a web address", "url_not_allowed", OK, OK),
    ("planned viewings used", "planned_viewings_used", OK, OK),
    ("meter at its stop line", "meter_stop", OK, "meter_stop"),
    ("look made before approval", "viewed_before_approval", OK, OK),
    ("live emergency, its author", OK, OK, OK),
    # An unreviewed emergency is its author's authority alone, for recording too.
    (
        "live emergency, not its author",
        "emergency_author_only",
        "emergency_author_only",
        "emergency_author_only",
    ),
    # One's own look needs the promises given for that look.
    ("promises not given", "attestation_missing", OK, OK),
    ("page of someone else", "page_of_other_person", OK, "page_of_other_person"),
    ("same person looked at in a sibling case", "meter_stop", OK, "meter_stop"),
]


def _cases() -> list[object]:
    return [
        pytest.param(situation, origin, expected, id=f"{origin}: {situation}")
        for situation, self_rule, supplied_rule, colleague_rule in EXPECTED
        for origin, expected in (
            ("self", self_rule),
            ("family", supplied_rule),
            ("colleague", colleague_rule),
        )
        if expected is not None
    ]


def test_every_situation_has_an_expectation() -> None:
    assert [row[0] for row in EXPECTED] == list(SITUATIONS)


@pytest.mark.parametrize(("situation", "origin", "expected"), _cases())
def test_check_import_names_the_rule_and_records_nothing(
    world: World, situation: str, origin: str, expected: str
) -> None:
    ask = SITUATIONS[situation](world, origin)
    before, head = counts(world.manager.casefile), audit.head(world.manager.casefile.conn)
    answer = ask.check()
    assert (answer.allowed, answer.rule or OK) == (expected == OK, expected)
    assert counts(world.manager.casefile) == before
    assert audit.head(world.manager.casefile.conn) == head


@pytest.mark.parametrize(("situation", "origin", "expected"), _cases())
def test_import_file_decides_as_check_import_does(
    world: World, situation: str, origin: str, expected: str
) -> None:
    ask = SITUATIONS[situation](world, origin)
    answer = ask.check()
    if answer.allowed:
        assert ask.import_().justification_id == ask.justification_id
        return
    with pytest.raises(GateRefused) as refused:
        ask.import_()
    assert refused.value.rule == answer.rule
    assert str(refused.value) == f"Refused ({answer.rule}): {answer.message}"


def test_a_refusal_explains_itself(world: World) -> None:
    answer = world.ask("self", session=world.other_worker).check()
    assert "not allocated to you. Ask a manager" in answer.message


def test_an_allowed_look_carries_the_meters_warning(world: World, second_manager: Session) -> None:
    # A stop line of 5 loosens the default 4: it takes a second manager's confirmation.
    proposed = policy.set_policy(
        world.manager, 'name = "Strict"\nmeter_warn_from = 1\nmeter_stop_at = 5\n'
    )
    assert proposed.id is not None
    policy.confirm_policy(second_manager, proposed.id)
    answer = world.ask("self").check()
    assert answer.allowed and answer.meter is not None
    assert (answer.meter.state, answer.warning) == ("warn", answer.meter.message)


def test_the_answer_carries_the_request_it_was_asked_under(world: World) -> None:
    assert world.ask("family").check().justification == justifications.get(
        world.worker, world.record.id
    )


# --- questions that are not the gate's to answer -------------------------------------


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"origin": "neighbour"}, "is not an origin. Use one of self, family"),
        ({"viewed_at": datetime(2026, 11, 24, 9, 30)}, "with its time zone"),
        ({"viewed_at": "future"}, "in the future"),
    ],
    ids=["unknown origin", "time without a zone", "time in the future"],
)
def test_a_malformed_question_is_a_usage_error(
    world: World, changes: dict[str, object], says: str
) -> None:
    if changes.get("viewed_at") == "future":
        changes = {"viewed_at": world.clock() + timedelta(minutes=1)}
    ask = replace(world.ask("self"), **changes)  # type: ignore[arg-type]
    before = counts(world.manager.casefile)
    with pytest.raises(UsageError, match=says):
        ask.check()
    with pytest.raises(UsageError, match=says):
        ask.import_()
    assert counts(world.manager.casefile) == before


def test_a_request_that_does_not_exist_is_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="no justification 999"):
        world.ask("self", justification_id=999).check()


def test_the_service_asks_who_supplied_material_without_naming_a_command_line_flag(
    world: World,
) -> None:
    # The desktop app shows this message too; the command line adds its flag name.
    ask = world.ask("family")
    with pytest.raises(UsageError) as refused:
        captures.import_file(
            ask.session,
            ask.case_id,
            PDF,
            url=ask.url,
            viewed_at=ask.viewed_at,
            justification_id=ask.justification_id,
            subject_id=ask.subject_id,
            origin="family",
            supplied_by="  ",
            filename="post.pdf",
        )
    assert str(refused.value).startswith("Say who supplied this material, e.g. ")
    assert "--" not in str(refused.value)
