"""What the reasoned note shows (ReportData), and the checkpoint that dates and certifies it.

The PDF drawing itself is tested elsewhere; here ``export_pdf`` runs with a stand-in
renderer so the checkpoint, the export event and the refusals can be checked alone.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import types
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from analysis_support import approved_request, events, import_page, page
from gate_support import PASSWORD, make_request

from caseview import accounts, audit, authorisations, captures, justifications, notes, observations
from caseview.audit import Checkpoint
from caseview.captures import SourceRecord
from caseview.clock import FixedClock, from_iso
from caseview.domain import Case, Subject
from caseview.errors import LoginFailed, PermissionDenied
from caseview.justifications import JustificationRecord
from caseview.observations import Observation
from caseview.report import build as report
from caseview.report.model import ReportData
from caseview.session import Session

AUTHORISATION = "RIPA-2026-017"


@dataclass
class Scene:
    """A case with a used, authorised request, two sources, four observations, a note."""

    request: JustificationRecord
    draft: JustificationRecord
    found: SourceRecord  # imported by the worker (self collected)
    supplied: SourceRecord  # supplied by the grandmother
    found_bytes: bytes
    relied: Observation  # credibility 2, alone: its own grading does not make it relied upon
    doubtful: Observation  # credibility 4, alone
    supported: Observation  # credibility 5, corroborated by ``relied`` (independent, 2 <= 3)
    unjudged: Observation  # credibility 6, alone


@pytest.fixture
def scene(
    manager: Session,
    second_manager: Session,
    worker: Session,
    case: Case,
    subject: Subject,
    child: Subject,
    clock: FixedClock,
) -> Scene:
    request = approved_request(worker, manager, case.id, [subject.id, child.id])
    made = authorisations.record(
        manager,
        request.id,
        reference=AUTHORISATION,
        officer="Sam Patel, Director of Legal Services",
        magistrate_approved_on=clock().date() - timedelta(days=2),
        expires_on=clock().date() + timedelta(days=60),
        subject_id=subject.id,
    )
    authorisations.confirm(second_manager, made.id)
    draft = justifications.create(worker, case.id, make_request([subject.id], clock()))
    found_text = "Kerry posted a photo of the baby at a party at 2am."
    found = import_page(worker, case.id, request.id, subject.id, found_text, origin="self")
    supplied = import_page(worker, case.id, request.id, child.id, "Jay's page names his school.")
    relied = observations.add(
        worker,
        found.id,
        "The baby is at a party at 2am.",
        domain="parenting_capacity",
        reliability="B",
        credibility=2,
        risks=["old_post"],
    )
    doubtful = observations.add(
        worker,
        found.id,
        "The man behind Kerry may be the man named by the police.",
        domain="family_environment",
        reliability="B",
        credibility=4,
        risks=["identity_uncertain", "Blurred photo"],
    )
    supported = observations.add(
        worker,
        supplied.id,
        "Jay's school can be identified from his page.",
        domain="online_exposure",
        reliability="C",
        credibility=5,
        corroborates=[relied.id],
    )
    unjudged = observations.add(
        worker,
        supplied.id,
        "Jay may be missing school.",
        domain="developmental_needs",
        reliability="F",
        credibility=6,
    )
    clock.advance(hours=1)
    notes.save(
        worker,
        case.id,
        analysis="The posts place the baby at a party late at night.",
        balance="One look was proportionate to the risk.",
        conclusion="Recommend a strategy discussion.",
        evaluation_useful="Yes.",
    )
    return Scene(
        request,
        draft,
        found,
        supplied,
        page(found_text),
        relied,
        doubtful,
        supported,
        unjudged,
    )


@pytest.fixture
def stub_renderer(monkeypatch: pytest.MonkeyPatch) -> list[ReportData]:
    """Stand in for caseview.report.pdf: records what it was given, returns stable bytes."""
    given: list[ReportData] = []

    def render_pdf(data: ReportData) -> bytes:
        given.append(data)
        return b"%PDF-stand-in\n" + repr(data).encode()

    module = types.ModuleType("caseview.report.pdf")
    module.render_pdf = render_pdf  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "caseview.report.pdf", module)
    return given


def _last_case_change(session: Session, case_id: int) -> tuple[Checkpoint, str]:
    """The last event of the case that is not an export or a verification, read directly."""
    row = session.casefile.conn.execute(
        "SELECT seq, hash, at FROM audit_log WHERE case_id = ? AND action NOT IN"
        " ('export.pdf', 'export.warc', 'integrity.verified') ORDER BY seq DESC LIMIT 1",
        (case_id,),
    ).fetchone()
    return Checkpoint(int(row["seq"]), str(row["hash"])), str(row["at"])


def _checkpoint(data: ReportData) -> Checkpoint:
    return Checkpoint(data.checkpoint_seq, data.checkpoint_hash)


# --- what the note shows ------------------------------------------------------------


def test_case_reference_title_and_classification(worker: Session, case: Case, scene: Scene) -> None:
    data = report.build(worker, case.id)
    assert (data.case_reference, data.case_title, data.classification) == (
        "CP-2026-0042",
        "Smith family",
        "OFFICIAL-SENSITIVE",
    )


def test_subjects_with_their_roles(worker: Session, case: Case, scene: Scene) -> None:
    assert report.build(worker, case.id).subjects == (
        ("Kerry Smith", "parent"),
        ("Jay Smith", "child"),
    )


def test_only_used_or_decided_justifications_are_shown(
    worker: Session, case: Case, scene: Scene
) -> None:
    shown = report.build(worker, case.id).justifications
    assert [j.id for j in shown] == [scene.request.id]


def test_justification_shows_status_question_and_both_sides(
    worker: Session, case: Case, scene: Scene
) -> None:
    [shown] = report.build(worker, case.id).justifications
    asked = scene.request.request
    assert (
        shown.status,
        shown.question,
        shown.safety_case,
        shown.ethics_case,
        shown.balance,
        shown.subjects,
    ) == (
        "approved",
        asked.question,
        asked.safety_case,
        asked.ethics_case,
        asked.balance,
        ("Kerry Smith", "Jay Smith"),
    )


def test_justification_statutory_function_is_readable(
    worker: Session, case: Case, scene: Scene
) -> None:
    [shown] = report.build(worker, case.id).justifications
    assert shown.statutory_function.startswith("Children Act 1989 s47")


def test_justification_decision_names_the_reviewer(
    worker: Session, case: Case, scene: Scene
) -> None:
    [shown] = report.build(worker, case.id).justifications
    assert [(d.reviewer, d.decision, d.reasons) for d in shown.decisions] == [
        ("Mona Manager (mona)", "approved", "Proportionate to the risk; one look only.")
    ]


def test_the_note_names_the_confirmed_authorisation_relied_on(
    worker: Session, case: Case, scene: Scene
) -> None:
    [shown] = report.build(worker, case.id).authorisations
    assert (shown.reference, shown.person, shown.recorded_by, shown.confirmed_by) == (
        AUTHORISATION,
        "Kerry Smith",
        "Mona Manager (mona)",
        "max",
    )


def test_observations_split_by_relied_upon(worker: Session, case: Case, scene: Scene) -> None:
    data = report.build(worker, case.id)
    relied = {o.id for o in data.observations if o.relied_upon}
    not_relied = {o.id for o in data.observations if not o.relied_upon}
    assert (relied, not_relied) == (
        {scene.supported.id},
        {scene.relied.id, scene.doubtful.id, scene.unjudged.id},
    )


def test_observation_shows_grading_uk_reading_and_risks(
    worker: Session, case: Case, scene: Scene
) -> None:
    shown = {o.id: o for o in report.build(worker, case.id).observations}[scene.doubtful.id]
    assert (
        shown.reliability,
        shown.credibility,
        shown.uk_equivalent,
        shown.risks,
        shown.domain,
        shown.author,
    ) == ("B", 4, "1/D", ("identity_uncertain", "Blurred photo"), "family_environment", "wren")


def test_observation_shows_its_corroboration(worker: Session, case: Case, scene: Scene) -> None:
    shown = {o.id: o for o in report.build(worker, case.id).observations}[scene.supported.id]
    assert shown.corroboration == (
        f"observation {scene.relied.id} on source {scene.found.id} (B2), an independent "
        "source with different content",
    )


def test_observation_shows_an_external_check(worker: Session, case: Case, scene: Scene) -> None:
    checked = observations.add(
        worker,
        scene.found.id,
        "Kerry was at the party.",
        domain="parenting_capacity",
        reliability="C",
        credibility=3,
        check_what="The police attended the address that night.",
        check_who="PC Daly",
        check_when="2026-11-20",
    )
    shown = {o.id: o for o in report.build(worker, case.id).observations}[checked.id]
    assert (shown.corroboration, shown.relied_upon) == (
        ("external check: The police attended the address that night, by PC Daly, on 2026-11-20",),
        True,
    )


def test_corroboration_names_an_observation_the_note_shows(
    worker: Session, case: Case, scene: Scene
) -> None:
    observations.revise(worker, scene.relied.id, text="The baby is at a party at 2am (dated).")
    data = report.build(worker, case.id)
    shown_ids = {f"observation {o.id}" for o in data.observations}
    cited = {c.split(" on source")[0] for o in data.observations for c in o.corroboration}
    assert cited and cited <= shown_ids


def test_revised_observation_shows_only_its_current_version(
    worker: Session, case: Case, scene: Scene
) -> None:
    newer = observations.revise(worker, scene.doubtful.id, text="Reworded.")
    texts = {o.id: o.text for o in report.build(worker, case.id).observations}
    assert (scene.doubtful.id in texts, texts.get(newer.id)) == (False, "Reworded.")


def test_sources_carry_the_full_sha256_of_their_bytes(
    worker: Session, case: Case, scene: Scene
) -> None:
    shown = {s.id: s for s in report.build(worker, case.id).sources}[scene.found.id]
    assert shown.sha256 == hashlib.sha256(scene.found_bytes).hexdigest()


def test_every_source_sha256_is_64_hex_characters(
    worker: Session, case: Case, scene: Scene
) -> None:
    hashes = [s.sha256 for s in report.build(worker, case.id).sources]
    assert [len(h) == 64 and set(h) <= set("0123456789abcdef") for h in hashes] == [True, True]


def test_sources_carry_their_gradings(worker: Session, case: Case, scene: Scene) -> None:
    gradings = {s.id: s.grading for s in report.build(worker, case.id).sources}
    assert gradings == {scene.found.id: "B2, B4", scene.supplied.id: "C5, F6"}


def test_an_ungraded_source_says_so(
    worker: Session, case: Case, subject: Subject, scene: Scene
) -> None:
    bare = import_page(worker, case.id, scene.request.id, subject.id, "Nothing observed yet.")
    gradings = {s.id: s.grading for s in report.build(worker, case.id).sources}
    assert gradings[bare.id] == "not graded"


def test_sources_carry_provenance(worker: Session, case: Case, scene: Scene) -> None:
    shown = {s.id: s for s in report.build(worker, case.id).sources}
    found, supplied = shown[scene.found.id], shown[scene.supplied.id]
    assert (
        found.url,
        found.method,
        found.origin,
        found.captured_by,
        found.justification_id,
        supplied.origin,
        supplied.supplied_by,
    ) == (
        scene.found.requested_url,
        "file_import",
        "self_collected",
        "wren",
        scene.request.id,
        "supplied_by_family",
        "maternal grandmother",
    )


def test_the_note_is_shown(worker: Session, case: Case, scene: Scene) -> None:
    data = report.build(worker, case.id)
    assert data.note is not None
    assert (
        data.note.analysis,
        data.note.balance,
        data.note.conclusion,
        data.note.evaluation_useful,
        data.note.evaluation_decision,
        data.author,
    ) == (
        "The posts place the baby at a party late at night.",
        "One look was proportionate to the risk.",
        "Recommend a strategy discussion.",
        "Yes.",
        "",
        "wren",
    )


def test_note_author_shows_display_name(manager: Session, case: Case, scene: Scene) -> None:
    notes.save(manager, case.id, conclusion="Agreed: strategy discussion today.")
    assert report.build(manager, case.id).author == "Mona Manager (mona)"


def test_without_a_note_the_report_says_so(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    approved_request(worker, manager, case.id, [subject.id])
    data = report.build(worker, case.id)
    assert (data.note, data.author) == (None, "(no note written yet)")


def test_limitations_say_a_hash_proves_integrity_not_authenticity(
    worker: Session, case: Case, scene: Scene
) -> None:
    limits = report.build(worker, case.id).limitations
    [about_hash] = [text.lower() for text in limits if "hash" in text.lower()]
    # integrity since capture ...
    assert re.search(r"not changed since .*captured", about_hash), about_hash
    # ... and not authenticity
    assert re.search(r"does not prove .*(genuine|authentic)", about_hash), about_hash


def test_limitations_say_public_posts_can_be_old_shared_or_misread(
    worker: Session, case: Case, scene: Scene
) -> None:
    text = " ".join(report.build(worker, case.id).limitations).lower()
    assert [word in text for word in ("old", "shared", "irony")] == [True, True, True]


# --- the checkpoint -----------------------------------------------------------------


def test_checkpoint_is_the_last_event_that_changed_the_case(
    worker: Session, case: Case, scene: Scene
) -> None:
    data = report.build(worker, case.id)
    note_event = events(worker.casefile, "note.saved")[-1]
    assert (_checkpoint(data), data.checkpoint_seq) == (
        _last_case_change(worker, case.id)[0],
        note_event["seq"],
    )


def test_checkpoint_for_agrees_with_build(worker: Session, case: Case, scene: Scene) -> None:
    data = report.build(worker, case.id)
    checkpoint, at = report.checkpoint_for(worker, case.id)
    assert (checkpoint, from_iso(at)) == (_checkpoint(data), data.dated)


def test_note_is_dated_by_the_checkpoint_event(
    worker: Session, case: Case, scene: Scene, clock: FixedClock
) -> None:
    note_event = events(worker.casefile, "note.saved")[-1]
    clock.advance(days=2)
    assert report.build(worker, case.id).dated == from_iso(note_event["at"])


def test_exporting_does_not_move_the_checkpoint(
    worker: Session,
    case: Case,
    scene: Scene,
    clock: FixedClock,
    tmp_path: Path,
    stub_renderer: list[ReportData],
) -> None:
    before = report.build(worker, case.id)
    clock.advance(hours=1)
    report.export_pdf(worker, case.id, tmp_path / "note.pdf")
    after = report.build(worker, case.id)
    assert (_checkpoint(after), after.dated) == (_checkpoint(before), before.dated)


def test_exporting_the_warc_does_not_move_the_checkpoint(
    worker: Session, case: Case, scene: Scene, clock: FixedClock
) -> None:
    before = report.build(worker, case.id)
    clock.advance(hours=1)
    captures.export_warc(worker, case.id, io.BytesIO())
    assert _checkpoint(report.build(worker, case.id)) == _checkpoint(before)


def test_verifying_does_not_move_the_checkpoint(
    auditor: Session, case: Case, scene: Scene, clock: FixedClock
) -> None:
    before = report.build(auditor, case.id)
    clock.advance(hours=1)
    result = audit.verify(auditor, auditor.casefile.path)
    assert (result.intact, _checkpoint(report.build(auditor, case.id))) == (
        True,
        _checkpoint(before),
    )


def test_logging_in_does_not_move_the_checkpoint(
    worker: Session, case: Case, scene: Scene, clock: FixedClock
) -> None:
    before = report.build(worker, case.id)
    clock.advance(hours=1)
    again = accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)
    with pytest.raises(LoginFailed):
        accounts.login(worker.casefile, "wren", "wrong password", clock=clock)
    assert _checkpoint(report.build(again, case.id)) == _checkpoint(before)


def test_a_refused_attempt_does_not_move_the_checkpoint(
    worker: Session, other_worker: Session, case: Case, subject: Subject, scene: Scene
) -> None:
    before = report.build(worker, case.id)
    with pytest.raises(PermissionDenied):
        import_page(other_worker, case.id, scene.request.id, subject.id, "X.", origin="self")
    assert _checkpoint(report.build(worker, case.id)) == _checkpoint(before)


def test_adding_an_observation_moves_the_checkpoint(
    worker: Session, case: Case, scene: Scene, clock: FixedClock
) -> None:
    before = report.build(worker, case.id)
    clock.advance(hours=1)
    observations.add(
        worker,
        scene.found.id,
        "Another detail.",
        domain="parenting_capacity",
        reliability="B",
        credibility=3,
    )
    recorded = events(worker.casefile, "observation.recorded")[-1]
    after = report.build(worker, case.id)
    assert (after.checkpoint_seq > before.checkpoint_seq, after.checkpoint_seq, after.dated) == (
        True,
        recorded["seq"],
        clock(),
    )


def test_saving_the_note_moves_the_checkpoint(
    worker: Session, case: Case, scene: Scene, clock: FixedClock
) -> None:
    clock.advance(hours=1)
    notes.save(worker, case.id, evaluation_decision="A strategy discussion.")
    saved = events(worker.casefile, "note.saved")[-1]
    assert report.build(worker, case.id).checkpoint_seq == saved["seq"]


def test_another_cases_events_do_not_move_the_checkpoint(
    manager: Session, worker: Session, case: Case, scene: Scene
) -> None:
    from caseview import cases  # local: only this test makes a second case

    before = report.build(worker, case.id)
    cases.create_case(manager, "CP-2026-0100", "Another family")
    assert _checkpoint(report.build(worker, case.id)) == _checkpoint(before)


def test_checkpoint_verifies_after_later_events(
    worker: Session, case: Case, scene: Scene, tmp_path: Path, stub_renderer: list[ReportData]
) -> None:
    checkpoint = report.export_pdf(worker, case.id, tmp_path / "note.pdf")
    audit.verify(worker, worker.casefile.path)
    result = audit.verify(None, worker.casefile.path, checkpoint)
    assert (result.intact, result.first_break) == (True, None)


def test_build_twice_gives_equal_data(worker: Session, case: Case, scene: Scene) -> None:
    assert report.build(worker, case.id) == report.build(worker, case.id)


def test_build_is_unchanged_by_export_verify_and_login(
    worker: Session,
    case: Case,
    scene: Scene,
    clock: FixedClock,
    tmp_path: Path,
    stub_renderer: list[ReportData],
) -> None:
    first = report.build(worker, case.id)
    clock.advance(hours=3)
    report.export_pdf(worker, case.id, tmp_path / "note.pdf")
    audit.verify(worker, worker.casefile.path)
    again = accounts.login(worker.casefile, "wren", PASSWORD, clock=clock)
    assert report.build(again, case.id) == first


# --- exporting (with a stand-in renderer) -------------------------------------------


def test_export_renders_exactly_the_built_data(
    worker: Session, case: Case, scene: Scene, tmp_path: Path, stub_renderer: list[ReportData]
) -> None:
    report.export_pdf(worker, case.id, tmp_path / "note.pdf")
    assert stub_renderer == [report.build(worker, case.id)]


def test_export_writes_the_rendered_bytes(
    worker: Session, case: Case, scene: Scene, tmp_path: Path, stub_renderer: list[ReportData]
) -> None:
    target = tmp_path / "note.pdf"
    report.export_pdf(worker, case.id, target)
    assert target.read_bytes() == b"%PDF-stand-in\n" + repr(stub_renderer[0]).encode()


def test_export_returns_the_checkpoint(
    worker: Session, case: Case, scene: Scene, tmp_path: Path, stub_renderer: list[ReportData]
) -> None:
    checkpoint = report.export_pdf(worker, case.id, tmp_path / "note.pdf")
    assert checkpoint == _last_case_change(worker, case.id)[0]


def test_export_is_an_audit_event(
    worker: Session, case: Case, scene: Scene, tmp_path: Path, stub_renderer: list[ReportData]
) -> None:
    checkpoint = report.export_pdf(worker, case.id, tmp_path / "note.pdf")
    [event] = events(worker.casefile, "export.pdf")
    assert (event["actor"], event["case_id"], event["data"]["checkpoint"]) == (
        "wren",
        case.id,
        str(checkpoint),
    )


def test_exporting_twice_gives_the_same_checkpoint_and_bytes(
    worker: Session,
    case: Case,
    scene: Scene,
    clock: FixedClock,
    tmp_path: Path,
    stub_renderer: list[ReportData],
) -> None:
    first = report.export_pdf(worker, case.id, tmp_path / "one.pdf")
    clock.advance(hours=1)
    second = report.export_pdf(worker, case.id, tmp_path / "two.pdf")
    same_bytes = (tmp_path / "one.pdf").read_bytes() == (tmp_path / "two.pdf").read_bytes()
    assert (first, same_bytes) == (second, True)


def test_auditor_may_export(
    auditor: Session, case: Case, scene: Scene, tmp_path: Path, stub_renderer: list[ReportData]
) -> None:
    report.export_pdf(auditor, case.id, tmp_path / "note.pdf")
    assert (tmp_path / "note.pdf").exists()


def test_unallocated_worker_export_refused_and_nothing_written(
    other_worker: Session,
    case: Case,
    scene: Scene,
    tmp_path: Path,
    stub_renderer: list[ReportData],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PermissionDenied):
        report.export_pdf(other_worker, case.id, out / "note.pdf")
    assert (list(out.iterdir()), events(other_worker.casefile, "export.pdf")) == ([], [])


# --- who may build ----------------------------------------------------------------


def test_unallocated_worker_refused(other_worker: Session, case: Case, scene: Scene) -> None:
    with pytest.raises(PermissionDenied) as refused:
        report.build(other_worker, case.id)
    assert refused.value.rule == "allocation"


def test_auditor_allowed_and_sees_the_same_note(
    worker: Session, auditor: Session, case: Case, scene: Scene
) -> None:
    assert report.build(auditor, case.id) == report.build(worker, case.id)
