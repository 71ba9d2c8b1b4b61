"""The analysis commands: observe, observation list, note, search, export pdf.

Drives ``caseview.cli.main`` in-process. The case, its request and its sources are set
up through the service layer (no network); the command line signs in with the system
clock, so the request is valid from today (UTC).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import engines
import pytest
from analysis_support import approved_request, import_page
from gate_support import PASSWORD

from caseview import accounts, cases, observations
from caseview.cli import main
from caseview.storage import CaseFile

REF = "CP-2026-0042"
CHECKPOINT = re.compile(r"^\d+:[0-9a-f]{64}$")

pytestmark = pytest.mark.both_engines


@dataclass
class Cli:
    capsys: pytest.CaptureFixture[str]
    store: CaseFile
    """The manager's own store: a case file, or the test server signed in as them."""
    case_id: int = 0
    found: int = 0  # a source the worker imported
    supplied: int = 0  # a source the grandmother supplied

    def run(self, user: str | None, *argv: str) -> tuple[int, str, str]:
        code = main((["--user", user] if user else []) + list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, user: str | None, *argv: str) -> tuple[int, dict[str, object]]:
        """Run with --json; stdout must be exactly one JSON object."""
        code, out, _ = self.run(user, "--json", *argv)
        [line] = out.splitlines()
        obj = json.loads(line)
        assert isinstance(obj, dict)
        return code, obj

    def observe(self, user: str, source: int, *extra: str) -> tuple[int, str, str]:
        return self.run(
            user,
            "observe",
            str(source),
            "--text",
            "Łucja is at a party at 2am with the baby.",
            "--domain",
            "parenting_capacity",
            "--reliability",
            "B",
            "--credibility",
            "2",
            "--risk",
            "old_post",
            *extra,
        )


@pytest.fixture
def cli(
    casefile: CaseFile, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """mona (manager), wren (worker, allocated), otto (worker), ada (auditor); one case
    with an approved request and two imported sources (in a case file, or on the server)."""
    monkeypatch.setenv("CASEVIEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("CASEVIEW_NEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("CASEVIEW_USER", raising=False)
    accounts.create_first_manager(casefile, "mona", PASSWORD, display_name="Mona Manager")
    manager = accounts.login(casefile, "mona", PASSWORD)
    c = Cli(capsys, manager.casefile)  # type: ignore[arg-type]
    address = (
        engines.people_address(casefile)  # type: ignore[arg-type]
        if casefile.authenticates
        else str(casefile.path)
    )
    monkeypatch.setenv("CASEVIEW_DB", address)
    for name, role in (("wren", "worker"), ("otto", "worker"), ("ada", "auditor")):
        accounts.add_user(manager, name, role, PASSWORD)
    worker = accounts.login(casefile, "wren", PASSWORD)
    case = cases.create_case(manager, REF, "Wójcik family")
    cases.allocate(manager, case.id, "wren")
    subject = cases.add_subject(manager, case.id, "Łucja Wójcik", "parent")
    request = approved_request(worker, manager, case.id, [subject.id])
    found = import_page(
        worker,
        case.id,
        request.id,
        subject.id,
        "Łucja Wójcik posted photos of a party at 2am.",
        origin="self",
    )
    supplied = import_page(
        worker, case.id, request.id, subject.id, "A cousin shared the same photos."
    )
    c.case_id, c.found, c.supplied = case.id, found.id, supplied.id
    return c


def _observation_list(cli: Cli, user: str = "wren") -> list[dict[str, object]]:
    code, obj = cli.json(user, "observation", "list", REF)
    assert code == 0
    listed = obj["observations"]
    assert isinstance(listed, list)
    return listed


# --- observe ----------------------------------------------------------------------


def test_observe_prints_the_id_alone(cli: Cli) -> None:
    code, out, _ = cli.observe("wren", cli.found)
    assert (code, [o["id"] for o in _observation_list(cli)]) == (0, [int(out.strip())])


def test_observe_stores_what_was_given(cli: Cli) -> None:
    cli.observe("wren", cli.found)
    [stored] = _observation_list(cli)
    assert {
        k: stored[k]
        for k in ("source_id", "text", "domain", "reliability", "credibility", "risks", "author")
    } == {
        "source_id": cli.found,
        "text": "Łucja is at a party at 2am with the baby.",
        "domain": "parenting_capacity",
        "reliability": "B",
        "credibility": 2,
        "risks": ["old_post"],
        "author": "wren",
    }


def test_observe_json_shows_grading_uk_reading_and_relied_upon(cli: Cli) -> None:
    code, obj = cli.json(
        "wren",
        "observe",
        str(cli.found),
        "--text",
        "A doubtful reading.",
        "--domain",
        "online_exposure",
        "--reliability",
        "f",
        "--credibility",
        "3",
    )
    assert (code, obj["grading"], obj["uk_3x5x2"], obj["relied_upon"]) == (0, "F3", "2/C", False)


def test_observe_says_on_stderr_how_far_it_can_be_relied_upon(cli: Cli) -> None:
    _, out, err = cli.observe("wren", cli.found)
    assert ("Graded B2 (3x5x2 1/C)" in err, "relied upon" in err, "Graded" in out) == (
        True,
        True,
        False,
    )


def test_observe_with_corroboration_is_relied_upon(cli: Cli) -> None:
    _, first, _ = cli.observe("wren", cli.found)
    code, obj = cli.json(
        "wren",
        "observe",
        str(cli.supplied),
        "--text",
        "The cousin's share shows the same night.",
        "--domain",
        "parenting_capacity",
        "--reliability",
        "C",
        "--credibility",
        "4",
        "--corroborates",
        first.strip(),
    )
    assert (code, obj["corroborates"], obj["relied_upon"]) == (0, [int(first)], True)


def test_observe_with_an_external_check_is_relied_upon(cli: Cli) -> None:
    code, obj = cli.json(
        "wren",
        "observe",
        str(cli.supplied),
        "--text",
        "The party happened.",
        "--domain",
        "family_environment",
        "--reliability",
        "C",
        "--credibility",
        "5",
        "--check-what",
        "Police attended the address that night.",
        "--check-who",
        "PC Daly",
        "--check-when",
        "2024-11-03",
    )
    assert (code, obj["check_what"], obj["check_when"], obj["relied_upon"]) == (
        0,
        "Police attended the address that night.",
        "2024-11-03",
        True,
    )


def test_observe_corroborated_from_the_same_source_fails(cli: Cli) -> None:
    _, first, _ = cli.observe("wren", cli.found)
    code, _, err = cli.observe("wren", cli.found, "--corroborates", first.strip())
    assert (code, "same source" in err) == (1, True)


def test_observe_with_an_unknown_domain_is_a_usage_error(cli: Cli) -> None:
    code, _, err = cli.run(
        "wren",
        "observe",
        str(cli.found),
        "--text",
        "Anything.",
        "--domain",
        "housing",
        "--reliability",
        "B",
        "--credibility",
        "2",
    )
    assert (code, "--domain" in err, _observation_list(cli)) == (2, True, [])


def test_observe_with_credibility_out_of_range_is_a_usage_error(cli: Cli) -> None:
    code, _, _ = cli.run(
        "wren",
        "observe",
        str(cli.found),
        "--text",
        "Anything.",
        "--domain",
        "parenting_capacity",
        "--reliability",
        "B",
        "--credibility",
        "7",
    )
    assert (code, _observation_list(cli)) == (2, [])


def test_observe_with_a_bad_reliability_names_what_is_allowed(cli: Cli) -> None:
    code, _, err = cli.run(
        "wren",
        "observe",
        str(cli.found),
        "--text",
        "Anything.",
        "--domain",
        "parenting_capacity",
        "--reliability",
        "G",
        "--credibility",
        "2",
    )
    assert (code, "A to F" in err) == (1, True)


def test_observe_by_an_auditor_is_refused(cli: Cli) -> None:
    code, obj = cli.json(
        "ada",
        "observe",
        str(cli.found),
        "--text",
        "Audit.",
        "--domain",
        "parenting_capacity",
        "--reliability",
        "B",
        "--credibility",
        "2",
    )
    assert (code, obj["rule"]) == (3, "role")


def test_observe_by_an_unallocated_worker_is_refused(cli: Cli) -> None:
    code, _, _ = cli.observe("otto", cli.found)
    assert (code, _observation_list(cli)) == (3, [])


def test_observe_on_a_missing_source_fails(cli: Cli) -> None:
    code, _, err = cli.observe("wren", 999)
    assert (code, "no source 999" in err) == (1, True)


# --- observation list ---------------------------------------------------------------


def test_observation_list_json_holds_each_current_observation(cli: Cli) -> None:
    _, one, _ = cli.observe("wren", cli.found)
    _, two, _ = cli.observe("wren", cli.supplied)
    listed = _observation_list(cli)
    # Credibility 2 alone is not relied upon: nothing corroborates either.
    assert [(o["id"], o["grading"], o["relied_upon"]) for o in listed] == [
        (int(one), "B2", False),
        (int(two), "B2", False),
    ]


def test_observation_list_by_case_id_matches_by_reference(cli: Cli) -> None:
    cli.observe("wren", cli.found)
    code, obj = cli.json("wren", "observation", "list", str(cli.case_id))
    assert (code, obj["observations"]) == (0, _observation_list(cli))


def test_observation_list_as_text_shows_a_table(cli: Cli) -> None:
    cli.observe("wren", cli.found)
    code, out, _ = cli.run("wren", "observation", "list", REF)
    assert (code, out.splitlines()[0].split()[:3]) == (0, ["id", "source", "domain"])


def test_observation_list_for_an_unallocated_worker_is_refused(cli: Cli) -> None:
    code, _, _ = cli.run("otto", "observation", "list", REF)
    assert code == 3


def test_auditor_can_list_observations(cli: Cli) -> None:
    _, one, _ = cli.observe("wren", cli.found)
    assert [o["id"] for o in _observation_list(cli, "ada")] == [int(one)]


# --- note -------------------------------------------------------------------------


def test_note_prints_an_id(cli: Cli) -> None:
    code, out, _ = cli.run(
        "wren", "note", REF, "--analysis", "The posts show a party.", "--conclusion", "Act."
    )
    assert (code, out.strip().isdigit()) == (0, True)


def test_note_json_gives_id_case_and_version(cli: Cli) -> None:
    code, obj = cli.json("wren", "note", REF, "--analysis", "A.", "--conclusion", "C.")
    assert (code, obj["case_id"], obj["version"], isinstance(obj["id"], int)) == (
        0,
        cli.case_id,
        1,
        True,
    )


def test_a_second_note_is_a_new_version_keeping_other_fields(cli: Cli) -> None:
    cli.run("wren", "note", REF, "--analysis", "A.", "--conclusion", "C.", "--balance", "B.")
    code, obj = cli.json("wren", "note", REF, "--conclusion", "C2.")
    row = cli.store.conn.execute(
        "SELECT analysis, balance, conclusion FROM notes WHERE id = ?", (obj["id"],)
    ).fetchone()
    assert (code, obj["version"], tuple(row)) == (0, 2, ("A.", "B.", "C2."))


def test_note_with_every_evaluation_field(cli: Cli) -> None:
    code, obj = cli.json(
        "wren",
        "note",
        REF,
        "--analysis",
        "A.",
        "--useful",
        "Yes.",
        "--decision",
        "Strategy discussion.",
        "--family-told",
        "On 25 November.",
        "--family-response",
        "The photos are old.",
    )
    row = cli.store.conn.execute(
        "SELECT evaluation_useful, evaluation_decision, evaluation_family_told,"
        " evaluation_family_response FROM notes WHERE id = ?",
        (obj["id"],),
    ).fetchone()
    assert (code, tuple(row)) == (
        0,
        ("Yes.", "Strategy discussion.", "On 25 November.", "The photos are old."),
    )


def test_an_empty_note_fails(cli: Cli) -> None:
    code, _, err = cli.run("wren", "note", REF)
    assert (code, "empty" in err) == (1, True)


def test_note_by_an_auditor_is_refused(cli: Cli) -> None:
    code, _, _ = cli.run("ada", "note", REF, "--analysis", "Audit.")
    assert code == 3


# --- search -----------------------------------------------------------------------


def test_search_json_finds_source_text_in_the_case(cli: Cli) -> None:
    code, obj = cli.json("wren", "search", "party", "--case", REF)
    hits = obj["hits"]
    assert isinstance(hits, list)
    assert (code, [(h["kind"], h["ref_id"], h["case_id"]) for h in hits]) == (
        0,
        [("source", cli.found, cli.case_id)],
    )


def test_search_json_finds_observation_text(cli: Cli) -> None:
    _, one, _ = cli.observe("wren", cli.found)
    code, obj = cli.json("wren", "search", "baby", "--case", REF)
    hits = obj["hits"]
    assert isinstance(hits, list)
    assert (code, [(h["kind"], h["ref_id"]) for h in hits]) == (0, [("observation", int(one))])


def test_search_folds_diacritics(cli: Cli) -> None:
    code, obj = cli.json("wren", "search", "Wojcik", "--case", REF)
    hits = obj["hits"]
    assert isinstance(hits, list)
    assert (code, [h["ref_id"] for h in hits]) == (0, [cli.found])


def test_search_with_fts5_syntax_exits_0(cli: Cli) -> None:
    code, obj = cli.json("wren", "search", 'NEAR(party "photos* OR title: -x ^', "--case", REF)
    assert (code, obj["hits"]) == (0, [])


def test_search_respects_limit(cli: Cli) -> None:
    code, obj = cli.json("wren", "search", "photos", "--case", REF, "--limit", "1")
    hits = obj["hits"]
    assert isinstance(hits, list)
    assert (code, len(hits)) == (0, 1)


def test_search_without_a_case_covers_the_workers_cases(cli: Cli) -> None:
    code, obj = cli.json("wren", "search", "photos")
    hits = obj["hits"]
    assert isinstance(hits, list)
    assert (code, sorted(h["ref_id"] for h in hits)) == (0, sorted([cli.found, cli.supplied]))


def test_search_in_an_unallocated_case_is_refused(cli: Cli) -> None:
    code, _, _ = cli.run("otto", "search", "party", "--case", REF)
    assert code == 3


def test_search_as_text_says_when_nothing_is_found(cli: Cli) -> None:
    code, out, _ = cli.run("wren", "search", "zebra", "--case", REF)
    assert (code, out.strip()) == (0, "Nothing found.")


# --- export pdf (needs caseview/report/pdf.py) ------------------------------------


def test_export_pdf_prints_the_checkpoint(cli: Cli, tmp_path: Path) -> None:
    cli.observe("wren", cli.found)
    code, out, _ = cli.run("wren", "export", "pdf", REF, "-o", str(tmp_path / "note.pdf"))
    assert (code, bool(CHECKPOINT.match(out.strip())), (tmp_path / "note.pdf").exists()) == (
        0,
        True,
        True,
    )


def test_exported_checkpoint_verifies_with_expect_head(cli: Cli, tmp_path: Path) -> None:
    cli.observe("wren", cli.found)
    _, out, _ = cli.run("wren", "export", "pdf", REF, "-o", str(tmp_path / "note.pdf"))
    # An auditor checks it (on a server nobody can check without signing in).
    code, _, _ = cli.run("ada", "verify", "--expect-head", out.strip())
    assert code == 0


def test_exporting_twice_gives_identical_bytes(cli: Cli, tmp_path: Path) -> None:
    cli.observe("wren", cli.found)
    cli.run("wren", "note", REF, "--analysis", "Łucja Wójcik: A.", "--conclusion", "C.")
    _, first, _ = cli.run("wren", "export", "pdf", REF, "-o", str(tmp_path / "one.pdf"))
    _, second, _ = cli.run("ada", "export", "pdf", REF, "-o", str(tmp_path / "two.pdf"))
    assert (first, (tmp_path / "one.pdf").read_bytes()) == (
        second,
        (tmp_path / "two.pdf").read_bytes(),
    )


def test_export_pdf_checkpoint_is_the_last_change_to_the_case(cli: Cli, tmp_path: Path) -> None:
    code, obj = cli.json(
        "wren",
        "observe",
        str(cli.found),
        "--text",
        "Seen.",
        "--domain",
        "parenting_capacity",
        "--reliability",
        "B",
        "--credibility",
        "2",
    )
    _, out, _ = cli.run("wren", "export", "pdf", REF, "-o", str(tmp_path / "note.pdf"))
    row = cli.store.conn.execute(
        "SELECT seq, hash FROM audit_log WHERE action = 'observation.recorded' AND entity_id = ?",
        (obj["id"],),
    ).fetchone()
    assert (code, out.strip()) == (0, f"{row['seq']}:{row['hash']}")


def test_search_shows_each_match_on_one_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # A page's line breaks are its layout: the table shows them as spaces, not as \n.
    hit = observations.SearchHit("source", 7, cli.case_id, "Profile", "Alex\n\nLee's\tstaying")
    monkeypatch.setattr(observations, "find", lambda *a, **k: observations.SearchResult((hit,), ()))
    code, out, _ = cli.run("wren", "search", "Lee")
    assert code == 0
    assert "Alex Lee's staying" in out and "\\n" not in out and "\\t" not in out
    code, obj = cli.json("wren", "search", "Lee")
    assert obj["hits"] == [
        {"kind": "source", "ref_id": 7, "case_id": cli.case_id, "title": "Profile",
         "snippet": "Alex\n\nLee's\tstaying"}
    ]  # fmt: skip
