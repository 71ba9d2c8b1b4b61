"""No export lands on the case file: the rule is in the services (the CLI asks it early,
before the password; the desktop app's save dialog reaches it through the services)."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseview import captures, files
from caseview.domain import Case
from caseview.errors import UsageError
from caseview.report.build import export_pdf
from caseview.session import Session


def _case_file(session: Session) -> Path:
    path = session.casefile.path
    assert isinstance(path, Path)
    return path


@pytest.mark.parametrize("part", ["", "-wal"])
@pytest.mark.parametrize("kind", ["pdf", "warc"])
def test_an_export_onto_the_case_file_is_refused_by_the_service(
    manager: Session, case: Case, kind: str, part: str
) -> None:
    case_file = _case_file(manager)
    target = Path(f"{case_file}{part}")
    before = case_file.read_bytes()
    with pytest.raises(UsageError, match="is the case file"):
        if kind == "pdf":
            export_pdf(manager, case.id, target)
        else:
            captures.export_warc(manager, case.id, target)
    assert case_file.read_bytes() == before


def test_a_hard_link_or_another_spelling_of_the_case_file_is_refused(
    manager: Session, tmp_path: Path
) -> None:
    case_file = _case_file(manager)
    linked = tmp_path / "copy.db"
    linked.hardlink_to(case_file)
    for target in (linked, case_file.parent / "." / case_file.name):
        with pytest.raises(UsageError):
            files.check_target(target, case_file=case_file)
    assert files.check_target(tmp_path / "note.pdf", case_file=case_file) == tmp_path / "note.pdf"
    # A server's address is not a file: nothing to compare with.
    assert (
        files.check_target(tmp_path / "x.pdf", case_file="postgresql://h/db") == tmp_path / "x.pdf"
    )
