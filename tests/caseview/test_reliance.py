"""Relied upon is earned (issue 10, item 7), through the services, the CLI and the PDF.

Each rule both ways: an independent source with different content and credibility 1-3
(the policy's value), a complete external check (what, who, when), reliability F never
alone, credibility 1 naming its confirmation, credibility alone never enough.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from analysis_support import approved_request, page
from gate_support import PASSWORD
from pypdf import PdfReader

from caseview import captures, observations
from caseview import policy as policies
from caseview.captures import SourceRecord
from caseview.cli import main
from caseview.domain import Case, Subject
from caseview.errors import ValidationError
from caseview.justifications import JustificationRecord
from caseview.observations import Observation
from caseview.report import build as report
from caseview.report.pdf import render_pdf
from caseview.session import Session

# The running header and footer a page break puts in the middle of a sentence.
RUNNING = re.compile(r"OFFICIAL-SENSITIVE (?:\S+ )?OFFICIAL-SENSITIVE .*? Page \d+ of \d+ ?")
CHECK = {
    "check_what": "The bruise on Kerry's arm",
    "check_who": "The health visitor",
    "check_when": "2024-11-03",
}


@pytest.fixture
def request_(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> JustificationRecord:
    return approved_request(worker, manager, case.id, [subject.id])


def _import(
    worker: Session,
    case: Case,
    subject: Subject,
    request_: JustificationRecord,
    body: bytes,
    url: str,
) -> SourceRecord:
    # Supplied material: not a viewing, so no meter and no look to attest.
    return captures.import_file(
        worker,
        case.id,
        body,
        filename="page.html",
        url=url,
        viewed_at=worker.now(),
        justification_id=request_.id,
        subject_id=subject.id,
        origin="family",
        supplied_by="maternal grandmother",
    )


@pytest.fixture
def sources(
    worker: Session, case: Case, subject: Subject, request_: JustificationRecord
) -> dict[str, SourceRecord]:
    """The observed page; an independent page; a copy of the same bytes at another
    address; the same page captured again with different bytes."""
    observed = page("Kerry posted a photo at 2am.")
    return {
        "mine": _import(worker, case, subject, request_, observed, "https://social.example/k/1"),
        "independent": _import(
            worker,
            case,
            subject,
            request_,
            page("A neighbour posted about the party."),
            "https://news.example/street/party",
        ),
        "copy": _import(worker, case, subject, request_, observed, "https://mirror.example/k1"),
        "same_page": _import(
            worker,
            case,
            subject,
            request_,
            page("Kerry posted a photo at 2am. (edited)"),
            "http://www.social.example/k/1/",
        ),
    }


def _add(session: Session, source: SourceRecord, **changes: Any) -> Observation:
    options: dict[str, Any] = {"domain": "parenting_capacity", "reliability": "C", "credibility": 3}
    options.update(changes)
    return observations.add(session, source.id, "Kerry was at a party at 2am.", **options)


# --- the rules, both ways, through the service ----------------------------------------


@pytest.mark.parametrize(
    ("corroborator", "its_credibility", "relied"),
    [
        ("independent", 3, True),
        ("independent", 1, True),
        ("independent", 4, False),
        ("independent", 5, False),
        ("copy", 3, False),
        ("same_page", 2, False),
    ],
)
def test_corroboration_counts_only_from_an_independent_credible_source(
    worker: Session,
    sources: dict[str, SourceRecord],
    corroborator: str,
    its_credibility: int,
    relied: bool,
) -> None:
    extra = {"confirmed_by": "The police log"} if its_credibility == 1 else {}
    support = _add(worker, sources[corroborator], credibility=its_credibility, **extra)
    added = _add(worker, sources["mine"], corroborates=[support.id])
    assert added.relied_upon is relied


@pytest.mark.parametrize(
    ("check", "relied"),
    [
        (CHECK, True),
        ({}, False),
    ],
    ids=["complete", "none"],
)
def test_an_external_check_with_what_who_and_when_earns_reliance(
    worker: Session, sources: dict[str, SourceRecord], check: dict[str, str], relied: bool
) -> None:
    assert _add(worker, sources["mine"], credibility=4, **check).relied_upon is relied


@pytest.mark.parametrize("missing", ["check_what", "check_who", "check_when"])
def test_an_external_check_missing_a_part_is_refused(
    worker: Session, sources: dict[str, SourceRecord], missing: str
) -> None:
    partial = {k: v for k, v in CHECK.items() if k != missing}
    with pytest.raises(ValidationError, match="what was checked, who checked it and when"):
        _add(worker, sources["mine"], **partial)
    assert observations.list_for_case(worker, sources["mine"].case_id) == []


def test_an_external_check_dated_after_today_is_refused(
    worker: Session, sources: dict[str, SourceRecord]
) -> None:
    with pytest.raises(ValidationError, match="after today"):
        _add(worker, sources["mine"], **{**CHECK, "check_when": "2099-01-01"})


@pytest.mark.parametrize(
    ("reliability", "credibility", "with_support", "relied"),
    [
        ("F", 1, False, False),
        ("F", 2, False, False),
        ("F", 3, True, True),
        ("A", 1, False, False),
        ("B", 2, False, False),
        ("B", 2, True, True),
    ],
)
def test_neither_f_nor_credibility_alone_earns_reliance(
    worker: Session,
    sources: dict[str, SourceRecord],
    reliability: str,
    credibility: int,
    with_support: bool,
    relied: bool,
) -> None:
    support = _add(worker, sources["independent"])
    added = _add(
        worker,
        sources["mine"],
        reliability=reliability,
        credibility=credibility,
        confirmed_by="The police log" if credibility == 1 else None,
        corroborates=[support.id] if with_support else [],
    )
    assert added.relied_upon is relied


def test_f_alone_says_an_anonymous_account_is_never_relied_upon_alone(
    worker: Session, sources: dict[str, SourceRecord]
) -> None:
    added = _add(worker, sources["mine"], reliability="F", credibility=1, confirmed_by="A friend")
    assert "never relied upon alone" in added.reliance_reasons[0]


def test_credibility_1_without_confirmed_by_is_refused(
    worker: Session, sources: dict[str, SourceRecord]
) -> None:
    with pytest.raises(ValidationError, match="name what confirmed it"):
        _add(worker, sources["mine"], credibility=1)


def test_revising_to_credibility_1_needs_confirmed_by(
    worker: Session, sources: dict[str, SourceRecord]
) -> None:
    added = _add(worker, sources["mine"])
    with pytest.raises(ValidationError, match="name what confirmed it"):
        observations.revise(worker, added.id, credibility=1)
    revised = observations.revise(worker, added.id, credibility=1, confirmed_by="The GP")
    assert (revised.credibility, revised.confirmed_by) == (1, "The GP")


def test_reliance_follows_the_corroborator_when_it_is_revised(
    worker: Session, case: Case, sources: dict[str, SourceRecord]
) -> None:
    support = _add(worker, sources["independent"])
    added = _add(worker, sources["mine"], corroborates=[support.id])
    observations.revise(worker, support.id, credibility=4)
    [now] = [o for o in observations.list_for_case(worker, case.id) if o.root_id == added.id]
    assert (added.relied_upon, now.relied_upon) == (True, False)


def test_the_policy_sets_how_credible_a_corroborator_must_be(
    manager: Session, worker: Session, case: Case, sources: dict[str, SourceRecord]
) -> None:
    support = _add(worker, sources["independent"], credibility=3)
    added = _add(worker, sources["mine"], corroborates=[support.id])
    policies.set_policy(manager, "corroboration_max_credibility = 2\n")
    assert policies.current(manager.casefile).corroboration_max_credibility == 2
    [now] = [o for o in observations.list_for_case(worker, case.id) if o.id == added.id]
    assert (added.relied_upon, now.relied_upon) == (True, False)


def test_the_audit_event_carries_the_check_and_confirmation(
    worker: Session, sources: dict[str, SourceRecord]
) -> None:
    added = _add(worker, sources["mine"], credibility=1, confirmed_by="The police log", **CHECK)
    row = worker.casefile.conn.execute(
        "SELECT payload FROM audit_log WHERE entity = 'observation' AND entity_id = ?",
        (added.id,),
    ).fetchone()
    data = json.loads(row["payload"])["data"]
    assert {k: data[k] for k in (*CHECK, "confirmed_by")} == {
        **CHECK,
        "confirmed_by": "The police log",
    }


def test_the_new_columns_are_written_once(
    worker: Session, sources: dict[str, SourceRecord]
) -> None:
    added = _add(worker, sources["mine"], **CHECK)
    for column in ("check_what", "check_who", "check_when", "confirmed_by"):
        with pytest.raises(Exception, match="versioned"):
            worker.casefile.conn.execute(
                f"UPDATE observations SET {column} = 'x' WHERE id = ?", (added.id,)
            )


# --- the note -------------------------------------------------------------------------


def _pdf_text(worker: Session, case_id: int) -> str:
    pdf = render_pdf(report.build(worker, case_id))
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    text = " ".join(" ".join(pages).split())
    # Without the running marking and page number, so a sentence over a page break reads on.
    return RUNNING.sub("", text)


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_the_note_lists_each_observation_under_the_right_heading(
    worker: Session, case: Case, sources: dict[str, SourceRecord]
) -> None:
    relied = observations.add(
        worker,
        sources["mine"].id,
        "Checked with the health visitor.",
        domain="parenting_capacity",
        reliability="B",
        credibility=2,
        **CHECK,
    )
    alone = observations.add(
        worker,
        sources["copy"].id,
        "Graded 2 but nothing supports it.",
        domain="parenting_capacity",
        reliability="B",
        credibility=2,
    )
    text = _pdf_text(worker, case.id)
    found = _between(text, "Findings relied upon", "Material not relied upon")
    apart = _between(text, "Material not relied upon", "The worker's analysis")
    assert "Checked with the health visitor." in found
    assert "external check: The bruise on Kerry's arm, by The health visitor, on 2024-11-03" in (
        found
    )
    assert "Graded 2 but nothing supports it." in apart
    assert "Not relied upon: its own grading (credibility 2)" in apart
    assert (relied.relied_upon, alone.relied_upon) == (True, False)


def test_the_limitations_state_the_rules(
    worker: Session, case: Case, sources: dict[str, SourceRecord]
) -> None:
    _add(worker, sources["mine"])
    limits = _between(_pdf_text(worker, case.id), "Limitations", "Audit checkpoint")
    for words in (
        "relied upon only when it is corroborated",
        "a different source with different content",
        "a second copy of the same page or of the same bytes is not independent",
        "graded credibility 1 to 3 (the policy's limit)",
        "an external check recorded with what was checked, who checked it and when",
        "An anonymous account (source reliability F) is never relied upon alone",
        "Credibility 1 (confirmed) must name what confirmed it",
    ):
        assert words in limits


def test_reexporting_an_unchanged_case_gives_the_same_bytes(
    worker: Session, case: Case, sources: dict[str, SourceRecord]
) -> None:
    support = _add(worker, sources["independent"])
    _add(worker, sources["mine"], corroborates=[support.id])
    first = render_pdf(report.build(worker, case.id))
    assert render_pdf(report.build(worker, case.id)) == first


# --- the command line -----------------------------------------------------------------


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_path: Path) -> Any:
    monkeypatch.setenv("CASEVIEW_DB", str(db_path))
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("CASEVIEW_USER", raising=False)

    def go(*argv: str) -> tuple[int, str, str]:
        code = main(["--user", "wren", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return go


def _observe(source: SourceRecord, credibility: int, *extra: str) -> list[str]:
    return [
        "observe",
        str(source.id),
        "--text",
        "Kerry was at a party.",
        "--domain",
        "parenting_capacity",
        "--reliability",
        "C",
        "--credibility",
        str(credibility),
        *extra,
    ]


def test_cli_credibility_1_without_confirmed_by_says_what_to_add(
    run: Any, sources: dict[str, SourceRecord]
) -> None:
    code, out, err = run(*_observe(sources["mine"], 1))
    assert (code, out, "--confirmed-by" in err) == (1, "", True)


def test_cli_credibility_1_with_confirmed_by_is_recorded(
    run: Any, sources: dict[str, SourceRecord]
) -> None:
    code, out, _ = run("--json", *_observe(sources["mine"], 1, "--confirmed-by", "The GP"))
    obj = json.loads(out)
    assert (code, obj["confirmed_by"], obj["relied_upon"]) == (0, "The GP", False)


def test_cli_an_incomplete_check_names_the_options(
    run: Any, sources: dict[str, SourceRecord]
) -> None:
    code, _, err = run(*_observe(sources["mine"], 3, "--check-what", "The bruise"))
    assert (code, "--check-who" in err, "--check-when" in err) == (1, True, True)


@pytest.mark.parametrize(
    ("extra", "relied", "why"),
    [
        (("--corroborates", "{independent}"), True, "Relied upon: corroborated by observation"),
        (("--corroborates", "{copy}"), False, "copy of the same bytes"),
        (
            (
                "--check-what",
                "The bruise",
                "--check-who",
                "The health visitor",
                "--check-when",
                "2024-11-03",
            ),
            True,
            "external check: The bruise, by The health visitor, on 2024-11-03",
        ),
        ((), False, "Not relied upon: nothing corroborates it."),
    ],
    ids=["independent", "copy", "check", "alone"],
)
def test_cli_observation_list_shows_relied_upon_and_why(
    run: Any,
    worker: Session,
    sources: dict[str, SourceRecord],
    extra: tuple[str, ...],
    relied: bool,
    why: str,
) -> None:
    ids = {name: str(_add(worker, sources[name]).id) for name in ("independent", "copy")}
    code, out, _ = run(*_observe(sources["mine"], 3, *(e.format(**ids) for e in extra)))
    assert code == 0
    new_id = int(out.strip())
    code, out, _ = run("--json", "observation", "list", "CP-2026-0042")
    [listed] = [o for o in json.loads(out)["observations"] if o["id"] == new_id]
    assert (listed["relied_upon"], any(why in r for r in listed["reliance_reasons"])) == (
        relied,
        True,
    )
    code, out, _ = run("observation", "list", "CP-2026-0042")
    [line] = [row for row in out.splitlines() if re.match(rf"{new_id}\s", row)]
    assert ("yes" if relied else "no") in line.split() and "elied upon" in line


def test_an_old_free_text_check_is_kept_but_earns_nothing(
    worker: Session, case: Case, sources: dict[str, SourceRecord]
) -> None:
    # A row as files before the 0008_corroboration step wrote it: the check in words.
    conn = worker.casefile.conn
    with worker.casefile.write():
        cursor = conn.execute(
            "INSERT INTO observations (source_id, case_id, text, domain, reliability,"
            " credibility, external_check, author_id, created_at)"
            " VALUES (?, ?, 'Old reading.', 'parenting_capacity', 'B', 2, ?, ?,"
            " '2024-11-03T10:00:00.000000Z')",
            (sources["mine"].id, case.id, "School confirmed.", worker.user.id),
        )
        conn.execute("UPDATE observations SET root_id = id WHERE id = ?", (cursor.lastrowid,))
    [old] = observations.list_for_case(worker, case.id)
    assert (old.external_check, old.relied_upon) == ("School confirmed.", False)
    assert any("does not record who checked it or when" in r for r in old.reliance_reasons)
