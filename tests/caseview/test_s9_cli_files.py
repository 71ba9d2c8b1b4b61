"""Export targets at the edge of the file system's limits: ``caseview.files.atomic_write``
and the commands that write through it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from caseview import files, justifications
from caseview.cli import main
from caseview.errors import FileError


@pytest.mark.parametrize("name", ["n" * 240 + ".pdf", "ü" * 120 + ".pdf"])
def test_a_name_near_the_limit_is_written_whole(tmp_path: Path, name: str) -> None:
    """The temporary file beside it must not need a longer name than the target's own
    (a name file systems allow, up to 255 bytes)."""
    target = tmp_path / name
    with files.atomic_write(target) as handle:
        handle.write(b"%PDF-1.4 whole")
    assert target.read_bytes() == b"%PDF-1.4 whole"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [target]


def test_a_name_past_the_limit_is_a_sentence_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 300 + ".pdf")
    too_long = pytest.raises(FileError, match="too long for the file system")
    with too_long, files.atomic_write(target) as handle:
        handle.write(b"x")
    assert list(tmp_path.iterdir()) == []


def test_the_template_to_a_name_near_the_limit_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / ("request-" + "n" * 236 + ".toml")
    assert main(["justification", "template", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == justifications.template()
    assert list(tmp_path.iterdir()) == [target]
