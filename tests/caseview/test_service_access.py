"""Every service checks access: a worker not allocated to a case gets nothing of it.

Every public function of ``caseview`` whose first parameter is a ``Session`` is found
by inspection and must have an entry in ``TABLE``: how to call it, as that worker, with
arguments pointing at the case's objects, and what must happen. A new service without
an entry fails ``test_every_service_has_an_entry``, so nobody adds an unchecked read.

What must happen is one of:
- ``Refused(rule)``: it raises ``PermissionDenied`` with that rule ("allocation", or
  "role" for what a worker may not do on any case);
- ``Answers(check)``: it returns, and ``check`` says the answer holds nothing of the
  case (a list the service filters, a refusal returned as a value);
- ``NotAboutACase(reason)``: it is not about one case; it is still called, and must
  answer without any of the case's text.
Whatever happens, neither the answer nor the refusal's message may hold the case's text.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import sqlite3
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
from analysis_support import approved_request, import_page
from browse_support import rendered_page
from gate_support import EXAMPLE_TOML, PASSWORD, make_request, set_key

import caseview
from caseview import (
    abilities,
    accounts,
    audit,
    authorisations,
    browse,
    browsing,
    captures,
    cases,
    justifications,
    notes,
    observations,
    permissions,
    persons,
    policy,
    viewings,
)
from caseview.captures import SourceRecord
from caseview.clock import FixedClock
from caseview.domain import Case, Role, Subject
from caseview.errors import PermissionDenied
from caseview.justifications import JustificationRecord
from caseview.observations import Observation
from caseview.report import build as report
from caseview.session import Session
from caseview.storage import gate as gate_sql

# Packages that hold no services: the command line and the app call the services, and
# storage is below them (it takes a connection, never a session).
NOT_SERVICES = ("caseview.cli", "caseview.storage")

# Text that exists only in the case under test: none of it may reach the outsider.
SECRETS = (
    "CP-2026-0042",
    "Smith family",
    "Kerry Smith",
    "Jay Smith",
    "Kerry posted a photo of the baby at 2am",
    "Oakfield Primary",
    "The baby is at a party at 2am",
    "The posts place the baby at a party",
    "Is the adult shown in the mother's public posts",
    "RIPA-2026-017",
)
URL = "https://social.example/kerry"


@dataclass
class World:
    """The case (with one of everything) and an outsider: a worker allocated to a case
    of their own, not to this one."""

    outsider: Session
    manager: Session
    case: Case
    subject: Subject
    child: Subject
    request: JustificationRecord
    draft: JustificationRecord
    source: SourceRecord
    observation: Observation
    authorisation_id: int
    finding_id: int
    own_case: Case
    own_subject: Subject
    own_request: JustificationRecord
    tmp_path: Path
    browse_session: int

    @property
    def record(self) -> JustificationRecord:
        """The case's request as a manager read it (for the gate's own plumbing)."""
        return justifications.get(self.manager, self.request.id)


@pytest.fixture
def world(
    manager: Session,
    second_manager: Session,
    worker: Session,
    other_worker: Session,
    case: Case,
    subject: Subject,
    child: Subject,
    clock: FixedClock,
    tmp_path: Path,
) -> World:
    request = approved_request(worker, manager, case.id, [subject.id, child.id])
    made = authorisations.record(
        manager,
        request.id,
        reference="RIPA-2026-017",
        officer="Sam Patel, Director of Legal Services",
        magistrate_approved_on=clock().date() - timedelta(days=2),
        expires_on=clock().date() + timedelta(days=60),
        subject_id=subject.id,
    )
    authorisations.confirm(second_manager, made.id)
    draft = justifications.create(worker, case.id, make_request([subject.id], clock()))
    source = import_page(
        worker, case.id, request.id, subject.id, "Kerry posted a photo of the baby at 2am."
    )
    about_jay = import_page(
        worker,
        case.id,
        request.id,
        child.id,
        "Hi, I am Jay Smith and I go to Oakfield Primary School. Text me on 07700 900123.",
    )
    assert about_jay.exposure, "the child's page should yield an exposure finding"
    observation = observations.add(
        worker,
        source.id,
        "The baby is at a party at 2am.",
        domain="parenting_capacity",
        reliability="B",
        credibility=2,
    )
    notes.save(worker, case.id, analysis="The posts place the baby at a party late at night.")

    own_case = cases.create_case(manager, "CP-2026-0777", "Jones family")
    cases.allocate(manager, own_case.id, other_worker.actor)
    own_subject = cases.add_subject(manager, own_case.id, "Sam Jones", "parent")
    own_request = approved(
        other_worker,
        manager,
        own_case.id,
        dataclasses.replace(
            make_request([own_subject.id], clock()), question="Is Sam at the family home?"
        ),
    )
    return World(
        other_worker,
        manager,
        case,
        subject,
        child,
        request,
        draft,
        source,
        observation,
        made.id,
        about_jay.exposure[0].id,
        own_case,
        own_subject,
        own_request,
        tmp_path,
        browsing.start(worker, case.id, request.id, subject.id, URL, attested=True).id,
    )


def approved(author: Session, reviewer: Session, case_id: int, request: Any) -> JustificationRecord:
    record = justifications.create(author, case_id, request)
    justifications.submit(author, record.id)
    return justifications.review(reviewer, record.id, "approve", "Proportionate.")


# --- what must happen ------------------------------------------------------------------

Call = Callable[[World], object]


@dataclass(frozen=True)
class Refused:
    """Raises PermissionDenied with ``rule``, for each call."""

    calls: tuple[Call, ...]
    rule: str = "allocation"


@dataclass(frozen=True)
class Answers:
    """Returns; ``check(world, answer)`` holds: nothing of the case is in it."""

    call: Call
    check: Callable[[World, Any], bool]


@dataclass(frozen=True)
class NotAboutACase:
    """Not about one case (``reason``); called all the same, and must answer."""

    reason: str
    call: Call


Entry = Refused | Answers | NotAboutACase


def _refused(*calls: Call, rule: str = "allocation") -> Refused:
    return Refused(calls, rule)


def _by_role(*calls: Call) -> Refused:
    """A worker may do this on no case at all (managers' work)."""
    return Refused(calls, "role")


def _refusal_without_the_case(w: World, permission: viewings.Permission) -> bool:
    """A look refused as a value: no request of the case, no meter of its people."""
    case_request = permission.justification is not None and (
        permission.justification.case_id == w.case.id
    )
    return not permission.allowed and not case_request and permission.meter is None


def _toml(w: World) -> str:
    """A request file about the case's subject (its question is the outsider's own)."""
    text = set_key(EXAMPLE_TOML, "question", "Is Sam at the family home?")
    return set_key(text, "subjects", [str(w.subject.id)])


TABLE: dict[str, Entry] = {
    # --- accounts: not about one case ---
    "accounts.add_user": _by_role(
        lambda w: accounts.add_user(w.outsider, "newbie", "worker", PASSWORD)
    ),
    "accounts.change_password": NotAboutACase(
        "a user changes their own password",
        lambda w: accounts.change_password(w.outsider, PASSWORD, "a new correct horse"),
    ),
    "accounts.list_accounts": _by_role(lambda w: accounts.list_accounts(w.outsider)),
    "accounts.list_users": _by_role(lambda w: accounts.list_users(w.outsider)),
    "accounts.reset_password": _by_role(
        lambda w: accounts.reset_password(w.outsider, "wren", "a new correct horse")
    ),
    "accounts.set_active": _by_role(lambda w: accounts.set_active(w.outsider, "wren", False)),
    "accounts.set_role": _by_role(lambda w: accounts.set_role(w.outsider, "wren", "auditor")),
    "accounts.unlock": _by_role(lambda w: accounts.unlock(w.outsider, "wren")),
    # --- what the user may do ---
    "abilities.abilities": Answers(
        lambda w: abilities.abilities(w.outsider, w.case.id),
        lambda w, a: all(
            not ability.allowed
            for action, ability in a.items()
            # verify is the whole file's (audit.verify); the rest are not about a case
            if action not in ("verify", "review_queue", "create_case", "manage_users", "see_users")
        ),
    ),
    # --- audit ---
    # (The whole log, with no case, is refused by role: test_the_whole_log_is_refused.)
    "audit.list_events": _refused(lambda w: audit.list_events(w.outsider, w.case.id)),
    # The whole file's log: a worker sees only their own cases' events.
    "audit.list_file_events": Answers(
        lambda w: audit.list_file_events(w.outsider),
        lambda w, events: all(e.case_id != w.case.id for e in events),
    ),
    "audit.require_verifier": NotAboutACase(
        "whether the reader may verify the store: on a case file anyone may",
        lambda w: audit.require_verifier(w.outsider),
    ),
    "audit.verify": NotAboutACase(
        "checks the whole case file's integrity; answers counts, the head and where a "
        "break is, none of a case's content",
        lambda w: audit.verify(w.outsider, w.outsider.casefile.path),
    ),
    # --- authorisations ---
    "authorisations.confirm": _by_role(
        lambda w: authorisations.confirm(w.outsider, w.authorisation_id)
    ),
    "authorisations.get": _refused(lambda w: authorisations.get(w.outsider, w.authorisation_id)),
    "authorisations.list_for_case": _refused(
        lambda w: authorisations.list_for_case(w.outsider, w.case.id)
    ),
    "authorisations.list_for_justification": _refused(
        lambda w: authorisations.list_for_justification(w.outsider, w.request.id)
    ),
    "authorisations.record": _by_role(
        lambda w: authorisations.record(
            w.outsider,
            w.request.id,
            reference="X-1",
            officer="Someone",
            magistrate_approved_on=w.outsider.now().date(),
            expires_on=w.outsider.now().date() + timedelta(days=10),
            subject_id=w.subject.id,
        )
    ),
    # --- the evidence browser: a session the case's own worker opened ---
    "browsing.capture": _refused(
        lambda w: browsing.capture(w.outsider, w.browse_session, _rendered(w))
    ),
    "browsing.check_navigation": _refused(
        lambda w: browsing.check_navigation(w.outsider, w.browse_session, URL)
    ),
    "browsing.end": _refused(lambda w: browsing.end(w.outsider, w.browse_session)),
    "browsing.get": _refused(lambda w: browsing.get(w.outsider, w.browse_session)),
    "browsing.log_blocked": _refused(
        lambda w: browsing.log_blocked(w.outsider, w.browse_session, "form", URL, "x")
    ),
    "browsing.log_page": _refused(
        lambda w: browsing.log_page(
            w.outsider,
            w.browse_session,
            browsing.PageView(URL, "t", w.outsider.now(), 200, (), "0" * 64),
        )
    ),
    "browsing.log_requests": _refused(
        lambda w: browsing.log_requests(
            w.outsider,
            w.browse_session,
            [browsing.RequestEntry(URL, "GET", "image", w.outsider.now())],
        )
    ),
    "browsing.navigate": _refused(
        lambda w: browsing.navigate(w.outsider, w.browse_session, URL, "link")
    ),
    "browsing.pages": _refused(lambda w: browsing.pages(w.outsider, w.browse_session)),
    "browsing.recheck_capture": _refused(
        lambda w: browsing.recheck_capture(w.outsider, w.browse_session, [URL])
    ),
    "browsing.requests": _refused(lambda w: browsing.requests(w.outsider, w.browse_session)),
    "browsing.sessions_of_case": _refused(
        lambda w: browsing.sessions_of_case(w.outsider, w.case.id)
    ),
    "browsing.start": _refused(
        lambda w: browsing.start(
            w.outsider, w.case.id, w.request.id, w.subject.id, URL, attested=True
        )
    ),
    # --- browsing sources ---
    "browse.source_page": _refused(lambda w: browse.source_page(w.outsider, w.case.id)),
    # --- captures ---
    "captures.artefact_bytes": _refused(
        lambda w: captures.artefact_bytes(w.outsider, w.source.id, "file")
    ),
    "captures.artefacts": _refused(lambda w: captures.artefacts(w.outsider, w.source.id)),
    "captures.capture_rendered": _refused(
        lambda w: captures.capture_rendered(
            w.outsider,
            w.case.id,
            URL,
            justification_id=w.request.id,
            subject_id=w.subject.id,
            attested=True,
            renderer=lambda *_: _never_fetch(),
        )
    ),
    "captures.picture_of": _refused(lambda w: captures.picture_of(w.outsider, w.source.id)),
    "captures.store_rendered": _refused(
        lambda w: captures.store_rendered(
            w.outsider,
            w.case.id,
            w.request.id,
            w.subject.id,
            _rendered(w),
            attested=True,
            kind="capture",
        )
    ),
    "captures.capture_url": _refused(
        lambda w: captures.capture_url(
            w.outsider,
            w.case.id,
            URL,
            justification_id=w.request.id,
            subject_id=w.subject.id,
            attested=True,
            fetcher=_never_fetch,
        )
    ),
    "captures.check_import": Answers(
        lambda w: captures.check_import(
            w.outsider,
            w.case.id,
            url=URL,
            viewed_at=w.outsider.now(),
            justification_id=w.request.id,
            subject_id=w.subject.id,
            origin="self",
            attested=True,
        ),
        lambda w, p: _refusal_without_the_case(w, p) and p.rule == "allocation",
    ),
    "captures.evidence_bytes": _refused(lambda w: captures.evidence_bytes(w.outsider, w.source.id)),
    "captures.export_evidence": _refused(
        lambda w: captures.export_evidence(w.outsider, w.source.id, w.tmp_path / "evidence.html")
    ),
    "captures.export_source_warc": _refused(
        lambda w: captures.export_source_warc(w.outsider, w.source.id, w.tmp_path / "one.warc.gz")
    ),
    "captures.export_warc": _refused(
        lambda w: captures.export_warc(w.outsider, w.case.id, w.tmp_path / "case.warc.gz")
    ),
    "captures.get": _refused(lambda w: captures.get(w.outsider, w.source.id)),
    "captures.import_file": _refused(
        lambda w: captures.import_file(
            w.outsider,
            w.case.id,
            b"<p>hello</p>",
            filename="page.html",
            url=URL,
            viewed_at=w.outsider.now(),
            justification_id=w.request.id,
            subject_id=w.subject.id,
            origin="family",
            supplied_by="a neighbour",
        )
    ),
    "captures.list_for_case": _refused(lambda w: captures.list_for_case(w.outsider, w.case.id)),
    "captures.review_exposure": _refused(
        lambda w: captures.review_exposure(w.outsider, w.finding_id, True)
    ),
    # --- cases ---
    "cases.add_subject": _refused(
        lambda w: cases.add_subject(w.outsider, w.case.id, "Pat Smith", "parent")
    ),
    "cases.allocate": _by_role(lambda w: cases.allocate(w.outsider, w.case.id, w.outsider.actor)),
    "cases.create_case": _by_role(lambda w: cases.create_case(w.outsider, "CP-1", "New")),
    "cases.deallocate": _by_role(lambda w: cases.deallocate(w.outsider, w.case.id, "wren")),
    "cases.get_case": _refused(lambda w: cases.get_case(w.outsider, w.case.id)),
    "cases.get_subject": _refused(lambda w: cases.get_subject(w.outsider, w.subject.id)),
    "cases.list_cases": Answers(
        lambda w: cases.list_cases(w.outsider),
        lambda w, found: [c.id for c in found] == [w.own_case.id],
    ),
    "cases.list_subjects": _refused(lambda w: cases.list_subjects(w.outsider, w.case.id)),
    "cases.members": _refused(lambda w: cases.members(w.outsider, w.case.id)),
    "cases.set_status": _by_role(lambda w: cases.set_status(w.outsider, w.case.id, "closed")),
    # --- requests to look ---
    "justifications.answer_return": _refused(
        lambda w: justifications.answer_return(w.outsider, w.draft.id, ["An answer."])
    ),
    "justifications.cancel": _refused(
        lambda w: justifications.cancel(w.outsider, w.draft.id, "No longer needed.")
    ),
    "justifications.create": _refused(
        lambda w: justifications.create(w.outsider, w.case.id, w.request.request)
    ),
    "justifications.create_from_toml": _refused(
        lambda w: justifications.create_from_toml(w.outsider, w.case.id, _toml(w))
    ),
    "justifications.edit": _refused(
        lambda w: justifications.edit(w.outsider, w.draft.id, w.draft.request)
    ),
    "justifications.findings": _refused(
        lambda w: justifications.findings(w.outsider, w.case.id, w.request.request),
        # The reported leak: the outsider's own case, naming this case's people, read
        # their repeat-viewing meter.
        lambda w: justifications.findings(
            w.outsider,
            w.own_case.id,
            dataclasses.replace(w.own_request.request, subjects=(w.subject.id,)),
        ),
        # ... or naming this case's request, whose authorisations and author it reads.
        lambda w: justifications.findings(
            w.outsider, w.own_case.id, w.own_request.request, w.request.id
        ),
    ),
    "justifications.get": _refused(lambda w: justifications.get(w.outsider, w.request.id)),
    "justifications.list_for_case": _refused(
        lambda w: justifications.list_for_case(w.outsider, w.case.id)
    ),
    "justifications.notice_overdue": NotAboutACase(
        "the explicit step that records lapsed emergency reviews across the case file, "
        "taken at every sign-in; it answers only how many it noticed",
        lambda w: justifications.notice_overdue(w.outsider),
    ),
    "justifications.parse": NotAboutACase(
        "reads the file text it is given", lambda w: justifications.parse(w.outsider, _toml(w))
    ),
    "justifications.review": _by_role(
        lambda w: justifications.review(w.outsider, w.request.id, "approve", "Fine.")
    ),
    "justifications.review_queue": _by_role(lambda w: justifications.review_queue(w.outsider)),
    "justifications.submit": _refused(lambda w: justifications.submit(w.outsider, w.draft.id)),
    "justifications.template": NotAboutACase(
        "a blank file to start from", lambda w: justifications.template(w.outsider)
    ),
    "justifications.wrote_part": NotAboutACase(
        "whether the signed-in user wrote part of a request row the caller has already "
        "read (and checked); answers only yes or no about that user",
        lambda w: justifications.wrote_part(w.outsider, _stored(w, w.request.id)),
    ),
    # --- the note ---
    "notes.current": _refused(lambda w: notes.current(w.outsider, w.case.id)),
    "notes.save": _refused(lambda w: notes.save(w.outsider, w.case.id, analysis="Mine now.")),
    # --- observations ---
    "observations.add": _refused(
        lambda w: observations.add(
            w.outsider,
            w.source.id,
            "Something.",
            domain="parenting_capacity",
            reliability="B",
            credibility=2,
        )
    ),
    "observations.history": _refused(lambda w: observations.history(w.outsider, w.observation.id)),
    "observations.list_for_case": _refused(
        lambda w: observations.list_for_case(w.outsider, w.case.id)
    ),
    "observations.list_for_source": _refused(
        lambda w: observations.list_for_source(w.outsider, w.source.id)
    ),
    "observations.reliance_context": _refused(
        lambda w: observations.reliance_context(w.outsider, w.case.id)
    ),
    "observations.revise": _refused(
        lambda w: observations.revise(w.outsider, w.observation.id, text="Changed.")
    ),
    "observations.find": _refused(
        lambda w: observations.find(w.outsider, "baby", case_id=w.case.id)
    ),
    "observations.search": _refused(
        lambda w: observations.search(w.outsider, "baby", case_id=w.case.id)
    ),
    # --- the permission checks themselves ---
    "permissions.can_see_case": Answers(
        lambda w: permissions.can_see_case(w.outsider, w.case.id), lambda w, seen: seen is False
    ),
    "permissions.case_for_changing": _refused(
        lambda w: permissions.case_for_changing(w.outsider, w.case.id, doing="change it")
    ),
    "permissions.case_for_looking": _refused(
        lambda w: permissions.case_for_looking(w.outsider, w.case.id)
    ),
    "permissions.case_for_managing": _by_role(
        lambda w: permissions.case_for_managing(w.outsider, w.case.id)
    ),
    "permissions.case_for_reading": _refused(
        lambda w: permissions.case_for_reading(w.outsider, w.case.id)
    ),
    "permissions.not_found": _refused(
        lambda w: permissions.not_found(w.outsider, "source", w.source.id, "no such source")
    ),
    "permissions.subject_for_reading": _refused(
        lambda w: permissions.subject_for_reading(w.outsider, w.subject.id)
    ),
    "permissions.require_account_manager": _by_role(
        lambda w: permissions.require_account_manager(w.outsider)
    ),
    "permissions.require_account_reader": _by_role(
        lambda w: permissions.require_account_reader(w.outsider)
    ),
    "permissions.require_case_creator": _by_role(
        lambda w: permissions.require_case_creator(w.outsider)
    ),
    "permissions.require_reviewer": _by_role(lambda w: permissions.require_reviewer(w.outsider)),
    "permissions.require_role": _by_role(
        lambda w: permissions.require_role(w.outsider, Role.MANAGER, doing="manage")
    ),
    # --- people ---
    "persons.link": _by_role(
        lambda w: persons.link(w.outsider, w.own_subject.id, w.subject.id, "Same handle.")
    ),
    "persons.same_person": _refused(lambda w: persons.same_person(w.outsider, w.subject.id)),
    # --- the gate's policy: not about one case ---
    "policy.confirm_policy": _by_role(lambda w: policy.confirm_policy(w.outsider, 1)),
    "policy.set_policy": _by_role(
        lambda w: policy.set_policy(w.outsider, policy.current_text(w.outsider.casefile))
    ),
    # --- the reasoned note ---
    "report.build.build": _refused(lambda w: report.build(w.outsider, w.case.id)),
    "report.build.checkpoint_for": _refused(lambda w: report.checkpoint_for(w.outsider, w.case.id)),
    "report.build.export_pdf": _refused(
        lambda w: report.export_pdf(w.outsider, w.case.id, w.tmp_path / "note.pdf")
    ),
    # --- looks (the gate) ---
    "viewings.authorise": _refused(
        lambda w: viewings.authorise(
            w.outsider, w.case.id, w.request.id, w.subject.id, URL, attested=True
        )
    ),
    "viewings.check": Answers(
        lambda w: viewings.check(
            w.outsider, w.case.id, w.request.id, w.subject.id, URL, attested=True
        ),
        lambda w, p: _refusal_without_the_case(w, p) and p.rule == "allocation",
    ),
    "viewings.check_supplied": Answers(
        lambda w: viewings.check_supplied(w.outsider, w.case.id, w.request.id, w.subject.id),
        lambda w, p: _refusal_without_the_case(w, p) and p.rule == "allocation",
    ),
    "viewings.decide": _refused(
        lambda w: viewings.decide(w.outsider, w.record, "capture", w.subject.id, URL)
    ),
    "viewings.hop_refusal": _refused(
        lambda w: viewings.hop_refusal(w.outsider, w.record, w.subject.id, URL)
    ),
    "viewings.list_for_subject": _refused(
        lambda w: viewings.list_for_subject(w.outsider, w.subject.id)
    ),
    "viewings.look_facts": _refused(lambda w: viewings.look_facts(w.outsider, w.record)),
    "viewings.meter_for": _refused(lambda w: viewings.meter_for(w.outsider, w.subject.id)),
    # Someone who may not look in the case is offered no request to look under.
    "viewings.requests_open_for": Answers(
        lambda w: viewings.requests_open_for(w.outsider, w.case.id),
        lambda w, found: found == [],
    ),
    "viewings.record_view": _refused(
        lambda w: viewings.record_view(
            w.outsider, w.case.id, w.request.id, w.subject.id, URL, attested=True
        )
    ),
    # Stores the refusal it is given (a refused look is recorded, DESIGN section 3) and
    # raises it; it reads nothing of the case. Given the gate's refusal of the outsider:
    "viewings.record_refusal": Answers(
        lambda w: viewings.record_refusal(
            w.outsider,
            viewings.check(w.outsider, w.case.id, w.request.id, w.subject.id, URL, attested=True),
            w.case.id,
            w.request.id,
            w.subject.id,
            URL,
            "capture",
        ),
        lambda w, viewing_id: isinstance(viewing_id, int),
    ),
    "viewings.refuse": _refused(
        lambda w: viewings.refuse(
            w.outsider,
            viewings.check(w.outsider, w.case.id, w.request.id, w.subject.id, URL, attested=True),
            w.case.id,
            w.request.id,
            w.subject.id,
            URL,
            "capture",
        )
    ),
}


def _stored(w: World, justification_id: int) -> sqlite3.Row:
    row = gate_sql.justification(w.outsider.casefile.conn, justification_id)
    assert row is not None
    return row


def _rendered(w: World) -> captures.RenderedPage:
    return rendered_page(w.outsider.now(), URL, text="a page")


def _never_fetch(*_args: object, **_kwargs: object) -> NoReturn:
    raise AssertionError("the gate should have refused before any fetch")


# --- finding every service ---------------------------------------------------------------


def _takes_a_session_first(function: Callable[..., object]) -> bool:
    parameters = list(inspect.signature(function).parameters)
    if not parameters:
        return False
    hint = typing.get_type_hints(function).get(parameters[0])
    return hint is Session or (Session in typing.get_args(hint))


def services() -> list[str]:
    """``module.function`` (without the ``caseview.`` prefix) for every public function
    of the package whose first parameter is a Session."""
    found = []
    for info in pkgutil.walk_packages(caseview.__path__, "caseview."):
        if info.name.startswith(NOT_SERVICES):
            continue
        module = importlib.import_module(info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            if _takes_a_session_first(function):
                found.append(f"{info.name.removeprefix('caseview.')}.{name}")
    return sorted(found)


def test_every_service_has_an_entry() -> None:
    missing = [name for name in services() if name not in TABLE]
    assert missing == [], (
        f"New public services {missing} have no entry in TABLE: add how an unallocated "
        "worker calls each, and what must happen (Refused, Answers or NotAboutACase)."
    )


def test_every_entry_is_a_service() -> None:
    """An entry for a function that is gone (or renamed) is stale."""
    assert sorted(set(TABLE) - set(services())) == []


def test_the_table_finds_the_services() -> None:
    """The inspection itself works: it sees services from several modules."""
    assert {"cases.get_case", "justifications.findings", "report.build.build"} <= set(services())


# --- an unallocated worker gets nothing --------------------------------------------------


def _no_secrets(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.mark.parametrize("name", sorted(TABLE))
def test_an_unallocated_worker_gets_nothing_of_the_case(world: World, name: str) -> None:
    entry = TABLE[name]
    if isinstance(entry, Refused):
        outcomes = []
        for call in entry.calls:
            with pytest.raises(PermissionDenied) as refused:
                call(world)
            outcomes.append((refused.value.rule, _no_secrets(str(refused.value))))
        assert outcomes == [(entry.rule, [])] * len(entry.calls)
    elif isinstance(entry, Answers):
        answer = entry.call(world)
        assert (entry.check(world, answer), _no_secrets(repr(answer))) == (True, [])
    else:
        assert entry.reason
        answer = entry.call(world)
        assert _no_secrets(repr(answer)) == []


def test_the_whole_log_is_refused(world: World) -> None:
    with pytest.raises(PermissionDenied) as refused:
        audit.list_events(world.outsider)
    assert refused.value.rule == "role"


def test_search_across_cases_finds_nothing_of_an_unallocated_case(world: World) -> None:
    """Searching every case the worker may see: the case's text is there, but not for them."""
    everyone = [h.case_id for h in observations.search(world.manager, "baby")]
    assert (world.case.id in everyone, observations.search(world.outsider, "baby")) == (True, [])


def test_findings_for_a_case_the_worker_holds_still_work(world: World) -> None:
    """The fix refuses others' people, not the worker's own."""
    found = justifications.findings(
        world.outsider, world.own_case.id, world.own_request.request, world.own_request.id
    )
    assert isinstance(found, list)


def test_a_look_at_another_cases_person_under_ones_own_request_shows_no_meter(
    world: World,
) -> None:
    """The gate's check, asked about this case's person from the outsider's own case."""
    asked = viewings.check(
        world.outsider,
        world.own_case.id,
        world.own_request.id,
        world.subject.id,
        URL,
        attested=True,
    )
    assert (asked.allowed, asked.rule, asked.meter) == (False, "subject_not_covered", None)
