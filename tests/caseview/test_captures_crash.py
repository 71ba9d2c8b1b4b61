"""A capturing process killed with SIGKILL at random moments leaves no half capture.

One case file, thirty rounds. Each round forks a capturer (from a warm "zygote"
process: this file run as a script) that signs in and captures a page the test serves
on 127.0.0.1, again and again, printing each source id once ``capture_url`` has
returned. The test kills it at a random moment: while it opens the file, mid-fetch,
mid-transaction, mid-commit, between commit and report. After every kill the audit
chain and the evidence verify, every capture reported is complete (source row, body
blob, WARC blob, completed viewing, ``source.recorded`` event), and no source exists
without all of those.

Run as a script: ``THIS zygote PLAN.json`` reads ``run N`` lines on stdin and for each
forks a capturer, printing ``pid PID`` after the fork and ``exited {...}`` once the
capturer is dead, so every line the capturer wrote comes before it.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from capture_support import HostileServer, approve_for
from gate_support import PASSWORD

from caseview import audit, cases
from caseview.domain import Case
from caseview.session import Session

HERE = Path(__file__).resolve()
ROUNDS = 30
# How each round ends, by round number: every tenth capturer is killed at once (most
# likely while opening the file); every other one after its first few captures, a
# moment into the next (so at least half the rounds capture, however slow the
# machine); the rest at a random moment up to LONGEST_LIFE after signing in.
LONGEST_LIFE = 0.15  # seconds
AFTER_CAPTURES = (1, 3)  # at least this many, at most
NEXT_MOMENT = 0.03  # seconds into the capture after those
PAIRS = 150  # approved requests, one subject each, three planned viewings each:
# more than thirty short lives can use, so no capturer runs out of authority


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_every_capture_whole_or_absent(
    manager: Session, worker: Session, case: Case, db_path: Path, tmp_path: Path
) -> None:
    pairs = []
    for n in range(PAIRS):
        subject = cases.add_subject(manager, case.id, f"Subject {n} Smith", "parent")
        record = approve_for(worker, manager, case.id, [subject.id])
        pairs.append([record.id, subject.id])
    hostile = HostileServer().start()
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "db": str(db_path),
                "url": hostile.url("/page"),
                "case": case.id,
                "user": worker.user.username,
                "password": PASSWORD,
                "now": worker.now().isoformat(),
                "pairs": pairs,
            }
        ),
        encoding="utf-8",
    )
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    zygote = subprocess.Popen(
        [sys.executable, str(HERE), "zygote", str(plan)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # a capturer's traceback shows up where it happened
        text=True,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(zygote.stdout, lines), daemon=True)
    reader.start()

    reported: dict[int, str] = {}
    rounds_with_captures = 0
    try:
        for run in range(ROUNDS):
            where = f"round {run} (seed {seed})"
            zygote.stdin.write(f"run {run}\n")
            zygote.stdin.flush()
            child = Capturer(lines, where)
            while child.pid is None:
                child.read()
            if run % 10 != 0:
                while not child.opened and child.status is None:
                    child.read()
            if run % 2 == 1:
                wanted = rng.randint(*AFTER_CAPTURES)
                while len(child.sources) < wanted and not child.done:
                    child.read()
                time.sleep(rng.uniform(0, NEXT_MOMENT))
            elif run % 10 != 0:
                time.sleep(rng.uniform(0, LONGEST_LIFE))
            os.kill(child.pid, signal.SIGKILL)
            while child.status is None:
                child.read()
            assert child.status == {"signal": signal.SIGKILL, "code": None}, (
                f"{where}: the capturer died of something else: {child.other}"
            )
            assert not child.other, f"{where}: unexpected output {child.other}"
            reported.update(child.sources)
            rounds_with_captures += bool(child.sources)

            chain = audit.verify_chain(db_path)
            assert chain.intact, f"{where}: {chain.problem}"
            whole = audit.verify(None, db_path)
            assert whole.intact, f"{where}: {whole.problem} {whole.evidence_problems}"
            _assert_complete(db_path, reported, where)
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=60)
        reader.join(timeout=10)
        zygote.stdout.close()
        hostile.stop()

    assert zygote.returncode == 0
    assert lines.get_nowait() is None  # nothing after the last round: no stray output
    # The drill did what it says: at least half the capturers were killed mid-stream.
    assert rounds_with_captures >= ROUNDS // 2, f"seed {seed}: {rounds_with_captures} rounds"


def _assert_complete(path: Path, reported: dict[int, str], where: str) -> None:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        stored = {
            int(r[0]): (str(r[1]), r[2])
            for r in conn.execute("SELECT id, body_sha256, warc_sha256 FROM sources")
        }
        blobs = {str(r[0]) for r in conn.execute("SELECT sha256 FROM blobs")}
        viewed = {
            int(r[0])
            for r in conn.execute(
                "SELECT source_id FROM viewings WHERE outcome = 'completed' AND kind = 'capture'"
            )
        }
        recorded = [
            int(r[0])
            for r in conn.execute(
                "SELECT entity_id FROM audit_log WHERE action = 'source.recorded'"
            )
        ]
        completed_without_source = conn.execute(
            "SELECT count(*) FROM viewings WHERE outcome = 'completed' AND source_id IS NULL"
        ).fetchone()[0]
    finally:
        conn.close()
    for source_id, body_sha in reported.items():
        assert source_id in stored, f"{where}: reported source {source_id} is gone"
        assert stored[source_id][0] == body_sha, f"{where}: source {source_id} changed"
    for source_id, (body_sha, warc_sha) in stored.items():
        assert body_sha in blobs, f"{where}: source {source_id} has no body blob"
        assert warc_sha is not None and warc_sha in blobs, f"{where}: {source_id} has no WARC"
        assert source_id in viewed, f"{where}: source {source_id} has no completed viewing"
    assert sorted(recorded) == sorted(stored), f"{where}: source events and rows differ"
    assert len(viewed) == len(stored) and completed_without_source == 0, where


class Capturer:
    """What the zygote and one capturer said during a round."""

    def __init__(self, lines: queue.Queue[str | None], where: str) -> None:
        self.lines = lines
        self.where = where
        self.pid: int | None = None
        self.opened = False
        self.sources: dict[int, str] = {}
        self.status: dict[str, Any] | None = None
        self.exhausted = False
        self.other: list[str] = []

    @property
    def done(self) -> bool:
        """Dead, or out of authority to capture (then it waits to be killed)."""
        return self.status is not None or self.exhausted

    def read(self) -> None:
        line = self.lines.get(timeout=60)
        assert line is not None, f"{self.where}: the zygote stopped"
        if line.startswith("pid "):
            self.pid = int(line.split()[1])
        elif line == "opened\n":
            self.opened = True
        elif line.startswith("exited "):
            self.status = json.loads(line.removeprefix("exited "))
        elif line.startswith("source "):
            _, source_id, body_sha = line.split()
            self.sources[int(source_id)] = body_sha
        elif line == "exhausted\n":
            self.exhausted = True
        else:
            self.other.append(line)


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


# --- the script side: zygote and capturer ---------------------------------------------


def _zygote(plan_path: str) -> int:
    # Pay for the imports once; every capturer is a fork of this warm process.
    import argon2  # noqa: F401

    import caseview.captures  # noqa: F401
    from caseview import accounts  # noqa: F401

    plan = json.loads(Path(plan_path).read_text("utf-8"))
    for line in sys.stdin:
        if not line.startswith("run "):
            continue
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                _capture_forever(plan)
            finally:
                os._exit(1)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        signalled = os.WIFSIGNALED(status)
        print(
            "exited "
            + json.dumps(
                {
                    "signal": os.WTERMSIG(status) if signalled else None,
                    "code": None if signalled else os.WEXITSTATUS(status),
                }
            ),
            flush=True,
        )
    return 0


def _say(text: str) -> None:
    os.write(1, (text + "\n").encode())  # one write: a kill never leaves half a line


def _capture_forever(plan: dict[str, Any]) -> None:
    from datetime import datetime

    from caseview import accounts, captures
    from caseview.clock import FixedClock
    from caseview.storage import open_case_file

    casefile = open_case_file(Path(plan["db"]))
    session = accounts.login(
        casefile,
        plan["user"],
        plan["password"],
        clock=FixedClock(datetime.fromisoformat(plan["now"])),
    )
    _say("opened")
    for justification_id, subject_id in plan["pairs"]:
        while _completed(casefile.conn, justification_id) < 3:
            record = captures.capture_url(
                session,
                plan["case"],
                plan["url"],
                justification_id=justification_id,
                subject_id=subject_id,
                attested=True,
                allow_hosts=["127.0.0.1"],
                deadline_s=10.0,
            )
            _say(f"source {record.id} {record.body_sha256}")
    _say("exhausted")
    while True:
        time.sleep(1)


def _completed(conn: sqlite3.Connection, justification_id: int) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM viewings WHERE justification_id = ? AND outcome = 'completed'",
            (justification_id,),
        ).fetchone()[0]
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["zygote"]:
        sys.exit(_zygote(sys.argv[2]))
    sys.exit(f"usage: {sys.argv[0]} zygote PLAN.json")
