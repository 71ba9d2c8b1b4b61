"""A writer killed with SIGKILL at random moments never costs a committed event.

One case file, fifty rounds. Each round forks a writer (from a warm "zygote" process,
see ``_audit_helpers``) that appends events one per transaction and reports each
after its commit returns; the test kills it at a random moment: opening the file,
mid-transaction, mid-commit, between commit and report. After every kill the chain
verifies and every event ever reported is there with the hash and data reported.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _audit_helpers import HELPER, drill_data, rows

from caseview import audit
from caseview.storage import open_case_file

ROUNDS = 50
AT_BIRTH = 0.1  # share of writers killed at once, most likely while opening the file
LONGEST_LIFE = 0.2  # seconds the others may append before the kill


def test_sigkill_at_random_moments_loses_no_reported_event(tmp_path: Path) -> None:
    path = tmp_path / "case.db"
    open_case_file(path, create=True).close()
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    zygote = subprocess.Popen(
        [sys.executable, str(HELPER), "zygote", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # a writer's traceback shows up where it happened
        text=True,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(zygote.stdout, lines), daemon=True)
    reader.start()

    reported: dict[int, dict[str, Any]] = {}
    rounds_with_events = 0
    try:
        for run in range(ROUNDS):
            where = f"round {run} (seed {seed})"
            zygote.stdin.write(f"run {run}\n")
            zygote.stdin.flush()
            writer = Writer(lines, where)
            while writer.pid is None:
                writer.read()
            if rng.random() >= AT_BIRTH:
                while not writer.opened and writer.status is None:
                    writer.read()
                time.sleep(rng.uniform(0, LONGEST_LIFE))
            os.kill(writer.pid, signal.SIGKILL)
            # Everything the writer wrote arrives before the zygote says it is dead.
            while writer.status is None:
                writer.read()
            assert writer.status == {"signal": signal.SIGKILL, "code": None}, (
                f"{where}: the writer died of something else"
            )

            events = writer.events
            assert [e["data"] for e in events] == [drill_data(run, i) for i in range(len(events))]
            reported.update((e["seq"], e) for e in events)
            rounds_with_events += bool(events)

            result = audit.verify_chain(path)
            assert result.intact, f"{where}: {result.problem}"
            stored = {row["seq"]: row for row in rows(path)}
            assert result.events == len(stored) >= len(reported)
            for seq, event in reported.items():
                assert seq in stored, f"{where}: reported event {seq} is gone"
                row = stored[seq]
                assert row["hash"] == event["hash"], f"{where}: event {seq} changed"
                assert json.loads(row["payload"])["data"] == event["data"]
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=60)
        reader.join(timeout=10)
        zygote.stdout.close()

    assert zygote.returncode == 0
    assert lines.get_nowait() is None  # nothing after the last round: no stray output
    # The drill did what it says: most writers were killed mid-stream, not at birth.
    assert rounds_with_events >= ROUNDS // 2, f"seed {seed}: {rounds_with_events} rounds"
    assert audit.verify_chain(path, audit.verify_chain(path).head, workers=2).intact


class Writer:
    """What the zygote and one writer said during a round."""

    def __init__(self, lines: queue.Queue[str | None], where: str) -> None:
        self.lines = lines
        self.where = where
        self.pid: int | None = None
        self.opened = False
        self.events: list[dict[str, Any]] = []
        self.status: dict[str, Any] | None = None

    def read(self) -> None:
        line = self.lines.get(timeout=60)
        assert line is not None, f"{self.where}: the zygote stopped"
        if line.startswith("pid "):
            self.pid = int(line.split()[1])
        elif line == "opened\n":
            self.opened = True
        elif line.startswith("exited "):
            self.status = json.loads(line.removeprefix("exited "))
        else:
            assert line.startswith("{"), f"{self.where}: unexpected output {line!r}"
            self.events.append(json.loads(line))


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)
