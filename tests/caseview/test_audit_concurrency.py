"""Four OS processes append to one case file at once: nothing lost, nobody locked out."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from _audit_helpers import HELPER, rows

from caseview import audit
from caseview.storage import open_case_file

WRITERS = 4
EACH = 200


@pytest.mark.parametrize(
    "pause",
    [
        # Back to back is the most contention, but SQLite's busy handler backs off so
        # far that one writer tends to finish before the next gets in (the log then
        # holds four runs of 200). A millisecond of "think time" interleaves them.
        0.0,
        0.001,
    ],
    ids=["back to back", "think time"],
)
def test_four_processes_append_at_once_and_the_chain_holds(tmp_path: Path, pause: float) -> None:
    path = tmp_path / "case.db"
    open_case_file(path, create=True).close()
    names = [f"writer{n}" for n in range(WRITERS)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(HELPER), "append", str(path), name, str(EACH), str(pause)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    try:
        # Start line: every writer has imported Caseview and waits; then all go at once
        # (opening the file, itself a write transaction, included).
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        # Verifying while they write sees a consistent prefix, never a false break.
        checks = 0
        while any(proc.poll() is None for proc in procs) or checks == 0:
            result = audit.verify_chain(path)
            assert result.intact, result.problem
            checks += 1
            time.sleep(0.02)  # pacing only: leave the two CPUs to the writers
        outcomes = [proc.communicate(timeout=100) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    for name, proc, (_, err) in zip(names, procs, outcomes, strict=True):
        assert proc.returncode == 0, f"{name} failed:\n{err}"
        assert "database is locked" not in err
        assert err == ""
    reports = [json.loads(out) for out, _ in outcomes]
    assert [r["writer"] for r in reports] == names
    # They were all at it at once: each was still appending when the last one started.
    assert max(r["start"] for r in reports) < min(r["end"] for r in reports)

    logged = [json.loads(row["payload"])["data"] for row in rows(path)]
    assert len(logged) == sum(r["appended"] for r in reports) == WRITERS * EACH
    seen = Counter((d["writer"], d["i"]) for d in logged)
    assert seen == Counter({(name, i): 1 for name in names for i in range(EACH)})
    # Each writer's own events are in the order it wrote them.
    for name in names:
        assert [d["i"] for d in logged if d["writer"] == name] == list(range(EACH))
    if pause:
        runs = sum(1 for _ in itertools.groupby(d["writer"] for d in logged))
        assert runs >= EACH // 2, f"appends barely interleaved ({runs} runs)"

    result = audit.verify_chain(path)
    assert (result.intact, result.events) == (True, WRITERS * EACH)
    assert audit.verify_chain(path, result.head, workers=2).intact
