"""What the reasoned note claims, scenario by scenario: no more than the records show.

Each case is built through the services. A court or an inspector reading the note must
learn what was done under each request (looks made, attempts refused or failed), what
was not done, who ended a request and why, and the limits of what a hash or Caseview's
own checks can show.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from analysis_support import approved_request, import_page
from capture_support import ALLOW, LOOPBACK, HostileServer, approve_for, no_real_names, server
from gate_support import emergency_changes, make_request, submitted
from pypdf import PdfReader

from caseview import captures, justifications, notes, viewings
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import CaseviewError, GateRefused
from caseview.report import build as report
from caseview.report.model import ReportData, ReportJustification
from caseview.report.pdf import render_pdf
from caseview.session import Session

__all__ = ["no_real_names", "server"]  # fixtures, used by name

PROFILE = "https://social.example/kerry"
ELSEWHERE = "https://other.example/kerry"


def _text(data: ReportData) -> str:
    """The note's words, with all whitespace folded (lines wrap anywhere)."""
    reader = PdfReader(io.BytesIO(render_pdf(data)))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def _only(data: ReportData) -> ReportJustification:
    [one] = data.justifications
    return one


def _look(worker: Session, case: Case, request_id: int, subject: Subject, url: str) -> None:
    viewings.record_view(worker, case.id, request_id, subject.id, url, attested=True)


def _change(worker: Session, case: Case) -> None:
    """Change the case, so the checkpoint moves past what came before."""
    notes.save(worker, case.id, analysis="The look was refused; nothing was seen.")


def _refused_look(worker: Session, case: Case, request_id: int, subject: Subject, url: str) -> None:
    with pytest.raises(GateRefused):
        _look(worker, case, request_id, subject, url)


# --- what was done, and what was not ------------------------------------------------------


def test_an_approved_request_with_no_look_says_none_was_made(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    approved_request(worker, manager, case.id, [subject.id])
    data = report.build(worker, case.id)
    assert _only(data).looks_made == 0
    assert "Looks made under it None: no look was made under this version." in _text(data)


def test_looks_made_are_counted_from_the_records(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id], planned=3)
    _look(worker, case, request.id, subject, PROFILE)
    _look(worker, case, request.id, subject, PROFILE + "/photos")
    data = report.build(worker, case.id)
    assert _only(data).looks_made == 2
    assert "Looks made under it 2 (captures, looks without capture" in _text(data)


def test_supplied_material_is_not_counted_as_a_look(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id])
    import_page(worker, case.id, request.id, subject.id, "A post the grandmother saved.")
    assert _only(report.build(worker, case.id)).looks_made == 0


def test_a_refused_attempt_is_in_the_note_with_its_rule_and_reason(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id])
    _refused_look(worker, case, request.id, subject, ELSEWHERE)
    _change(worker, case)
    data = report.build(worker, case.id)
    [attempt] = _only(data).attempts
    assert (attempt.outcome, attempt.rule, attempt.url) == (
        "refused",
        "host_out_of_scope",
        ELSEWHERE,
    )
    assert attempt.by == "wren"
    text = _text(data)
    assert "a look without capture of https://other.example/kerry" in text
    assert "refused by the gate (rule: host_out_of_scope); nothing was kept." in text


def test_the_repeat_viewing_stop_is_in_the_note(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id], planned=1)
    _look(worker, case, request.id, subject, PROFILE)
    _refused_look(worker, case, request.id, subject, PROFILE)
    _change(worker, case)
    j = _only(report.build(worker, case.id))
    assert j.looks_made == 1
    assert [a.rule for a in j.attempts] == ["planned_viewings_used"]


def test_a_request_with_no_attempt_says_none(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    approved_request(worker, manager, case.id, [subject.id])
    text = _text(report.build(worker, case.id))
    assert "Refused or failed attempts None recorded up to the audit checkpoint" in text
    assert "the audit log holds every one" in text


def test_a_refusal_after_the_checkpoint_leaves_the_note_unchanged(
    worker: Session, manager: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    """A refusal changes nothing, so it does not move the checkpoint; the note the
    checkpoint dates must not change with it either (it waits for the next change)."""
    request = approved_request(worker, manager, case.id, [subject.id])
    before = report.build(worker, case.id)
    _refused_look(worker, case, request.id, subject, ELSEWHERE)
    clock.advance(minutes=5)
    _refused_look(worker, case, request.id, subject, ELSEWHERE)
    assert report.build(worker, case.id) == before
    _change(worker, case)
    assert len(_only(report.build(worker, case.id)).attempts) == 2


def test_a_request_cancelled_after_a_look_stays_in_the_note(
    worker: Session, manager: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id], planned=2)
    _look(worker, case, request.id, subject, PROFILE)
    clock.advance(hours=2)
    justifications.cancel(worker, request.id, "The police have confirmed the address.")
    data = report.build(worker, case.id)
    j = _only(data)
    assert (j.status, j.looks_made) == ("cancelled", 1)
    assert j.cancelled is not None
    assert (j.cancelled.by, j.cancelled.at) == ("wren", clock())
    assert j.cancelled.reason == "The police have confirmed the address."
    text = _text(data)
    assert "No justification was recorded" not in text
    assert "Cancelled By wren, 24 Nov 2026, 11:00 GMT" in text


def test_a_request_cancelled_unused_is_still_left_out(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id])
    justifications.cancel(worker, request.id, "Not needed after all.")
    assert report.build(worker, case.id).justifications == ()


def test_a_revision_names_the_version_it_revises(
    worker: Session, manager: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    first = approved_request(worker, manager, case.id, [subject.id], planned=2)
    _look(worker, case, first.id, subject, PROFILE)
    clock.advance(hours=1)
    changed = dataclasses.replace(
        first.request, question="Is the named man shown in her three newest public posts?"
    )
    second = justifications.submit(worker, justifications.edit(worker, first.id, changed).id)[0]
    justifications.review(manager, second.id, "approve", "Narrower; proportionate.")
    data = report.build(worker, case.id)
    old, new = sorted(data.justifications, key=lambda j: j.version)
    assert (old.status, old.looks_made) == ("cancelled", 1)
    assert old.cancelled is not None and "superseded by version 2" in old.cancelled.reason
    assert (new.supersedes, new.looks_made) == (first.id, 0)
    text = _text(data)
    assert f"Justification {second.id}, version 2 (revises justification {first.id})" in text
    assert "count against the same planned viewings" in text


# --- emergencies ---------------------------------------------------------------------------


def test_an_unused_emergency_is_not_said_to_have_been_used(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    data = report.build(worker, case.id)
    text = _text(data)
    assert "used at once" not in text
    assert "usable at once without a manager's approval first" in text
    assert "Looks made under it None: no look was made under this version." in text


def test_an_emergency_says_when_it_began_and_when_review_fell_due(
    worker: Session, case: Case, subject: Subject, clock: FixedClock
) -> None:
    submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    j = _only(report.build(worker, case.id))
    assert j.submitted_at == clock()
    assert j.review_due is not None and j.review_due > clock()
    text = _text(report.build(worker, case.id))
    assert "Break-glass began 24 Nov 2026, 09:00 GMT (24 Nov 2026, 09:00 UTC)." in text
    assert "Review due by 25 Nov 2026, 09:00 GMT" in text


@pytest.mark.parametrize(
    ("hours", "said"),
    [(2, "within the time allowed"), (30, "after the review was due")],
)
def test_a_reviewed_emergency_says_whether_the_review_was_in_time(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    clock: FixedClock,
    hours: int,
    said: str,
) -> None:
    record = submitted(worker, case.id, make_request([subject.id], clock(), **emergency_changes()))
    clock.advance(hours=hours)
    justifications.review(manager, record.id, "reject", "Not an immediate risk to the child.")
    text = _text(report.build(worker, case.id))
    assert f"A manager reviewed it {clock().day} Nov 2026" in text
    assert said in text


# --- what the note may say of sources and checks -------------------------------------------


def test_the_hash_limitation_does_not_claim_integrity_before_import(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id])
    import_page(worker, case.id, request.id, subject.id, "A post the grandmother saved.")
    text = _text(report.build(worker, case.id))
    assert "for an imported file, since it was imported: not since it was first saved" in text


def test_an_import_is_said_to_be_imported_not_captured(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id])
    import_page(worker, case.id, request.id, subject.id, "A post the grandmother saved.")
    text = _text(report.build(worker, case.id))
    assert "Imported " in text
    assert "A saved file, imported; supplied by a family member" in text
    assert "as stated at import (not checked)" in text


def test_finding_no_collateral_states_the_checks_limit(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id])
    import_page(worker, case.id, request.id, subject.id, "Lovely walk by the canal today.")
    text = _text(report.build(worker, case.id))
    assert "No other people's details were found on the sources." in text
    assert "it does not look at pictures or video" in text


def test_a_source_without_an_address_says_so(
    worker: Session, manager: Session, case: Case, subject: Subject, tmp_path: Path
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id])
    import_page(worker, case.id, request.id, subject.id, "A post the grandmother saved.")
    data = report.build(worker, case.id)
    [source] = data.sources
    blank = dataclasses.replace(data, sources=(dataclasses.replace(source, url=""),))
    assert "No address was recorded." in _text(blank)


def test_a_gone_page_does_not_claim_a_page_was_ever_there(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    request = approved_request(worker, manager, case.id, [subject.id])
    import_page(worker, case.id, request.id, subject.id, "Not found")
    data = report.build(worker, case.id)
    [source] = data.sources
    gone = dataclasses.replace(data, sources=(dataclasses.replace(source, gone_status=404),))
    text = _text(gone)
    assert "The page was gone (HTTP 404) when captured" in text
    assert "does not show whether, when or why a page was there" in text


def test_a_rendered_capture_is_not_said_to_be_what_the_worker_saw(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    """``capture --render`` is headless: nobody saw the page."""
    request = approved_request(worker, manager, case.id, [subject.id])
    imported = import_page(worker, case.id, request.id, subject.id, "A post.")
    said = report.method_statement(
        dataclasses.replace(imported, method="rendered", origin="self_collected")
    )
    assert "as the worker saw it" not in said
    assert "in the evidence browser's window or headless" in said


def test_a_failed_capture_is_in_the_note_and_nothing_is_said_to_be_kept(
    worker: Session, manager: Session, case: Case, subject: Subject, server: HostileServer
) -> None:
    request = approve_for(worker, manager, case.id, [subject.id])
    with pytest.raises(CaseviewError):
        captures.capture_url(
            worker,
            case.id,
            f"http://{LOOPBACK}:{server.port}/drip",
            justification_id=request.id,
            subject_id=subject.id,
            attested=True,
            allow_hosts=ALLOW,
            deadline_s=1.0,
        )
    _change(worker, case)
    data = report.build(worker, case.id)
    j = _only(data)
    [attempt] = j.attempts
    assert attempt.outcome == "failed"
    assert (j.looks_made, data.sources) == (0, ())
    text = _text(data)
    assert f"a capture of http://{LOOPBACK}:{server.port}/drip" in text
    assert f"failed ({attempt.rule}); nothing was kept." in text
