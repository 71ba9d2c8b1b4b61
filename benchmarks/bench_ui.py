"""The desktop app: a 10,000-source case's sources tab, and cold start to a window.

A case file is generated with 10,000 sources (one imported through the service, the
rest copied from it in SQL with their own titles, addresses and times; a third have a
graded observation), so the sources tab has real SQL to page, sort and filter. The tab
is the app's own ``SourcesTab`` on Qt's offscreen platform, loading through the app's
background tasks as it does for a worker:

- first page: from asking for the case to the first 200 rows in the model;
- sort: from a header click (``model.sort``) to the first page in the new order;
- filter: from the query starting (the search box waits 250 ms after the last key
  press, by design, so typing does not query at every letter) to the filtered page.

Cold start: from starting ``python -m caseview --db FILE gui`` with ``CASEVIEW_USER``
and ``CASEVIEW_PASSWORD`` set (so the login, with the shipped argon2 cost, is timed)
to the main window being shown, in a fresh process each time.

Targets (issue 6): first page <= 300 ms; sort or filter <= 100 ms; cold start <= 1.5 s
(1,500 ms).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")  # offscreen's size-hint notes

from run import REPEATS, WIDTH, timed

from caseview import accounts, captures, cases, justifications
from caseview.storage import open_case_file

ROOT = Path(__file__).resolve().parent.parent
SOURCES = 10_000
PASSWORD = "benchmark pass phrase"
FIRST_PAGE_MS = 300.0
SORT_FILTER_MS = 100.0
COLD_START_MS = 1500.0

REQUEST_TOML = """\
subjects = [{subject}]
statutory_function = "s47"
question = "Does the mother's public page show the named man living at the family home?"
safety_case = "A police disclosure names a man with convictions against children; if he lives in the home the baby is at immediate risk of significant harm."
ethics_case = "Looking at her public page without her knowing intrudes on her private and family life and may damage the working relationship if discovered."
balance = "A single look at pages she has made public, limited to that one man, is proportionate to the risk to a baby."
less_intrusive_considered = ["asked_family", "police", "health"]
why_not_enough = "The mother denies contact and the police and health visitor hold nothing newer than September."
proportionality = "One look at one public page, recording only posts that show the named man."
intrusion_level = "medium"
collateral_intrusion = "Friends may appear in photos; they will not be recorded and images will be cropped or redacted."
scope_hosts = ["social.example"]
planned_viewings = 3
valid_until = "{valid_until}"
family_told = "later"
family_told_reason = "Telling the mother before the strategy discussion could place the baby at further risk."
attest_logged_out = true
attest_no_personal_or_fake_profile = true
attest_no_interaction = true
attest_no_restricted_content = true
emergency = false
emergency_reason = ""
statutory_function_other = ""
scope_urls = []
"""  # noqa: E501 (answers long enough for the gate, kept on one line each)


def build_case_file(path: Path) -> int:
    """A case of SOURCES sources; returns the case id. Logins use the shipped costs."""
    with open_case_file(path, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", PASSWORD)
        manager = accounts.login(casefile, "mona", PASSWORD)
        accounts.add_user(manager, "max", "manager", PASSWORD)
        accounts.add_user(manager, "wren", "worker", PASSWORD)
        reviewer = accounts.login(casefile, "max", PASSWORD)
        worker = accounts.login(casefile, "wren", PASSWORD)
        case = cases.create_case(manager, "CP-BENCH-UI", "Benchmark family")
        cases.allocate(manager, case.id, "wren")
        subject = cases.add_subject(manager, case.id, "Kerry Smith", "parent")
        cases.add_subject(manager, case.id, "Jay Smith", "child")
        valid_until = (worker.now() + timedelta(days=14)).date().isoformat()
        record = justifications.create_from_toml(
            worker,
            case.id,
            REQUEST_TOML.format(subject=f'"{subject.id}"', valid_until=valid_until),
        )
        justifications.submit(worker, record.id)
        justifications.review(reviewer, record.id, "approve", "Proportionate; benchmark.")
        first = captures.import_file(
            worker,
            case.id,
            b"<html><head><title>Post 0</title></head><body><p>A public post.</p></body></html>",
            filename="post-0.html",
            url="https://social.example/kerry/posts/0",
            viewed_at=worker.now(),
            justification_id=record.id,
            subject_id=subject.id,
            origin="family",
            supplied_by="maternal grandmother",
        )
        with casefile.write() as conn:
            columns = [
                row[1] for row in conn.execute("PRAGMA table_info(sources)") if row[1] != "id"
            ]
            varied = {
                "title": "'Post ' || n || ' by ' || (CASE n % 3 WHEN 0 THEN 'Kerry'"
                " WHEN 1 THEN 'a friend' ELSE 'a neighbour' END)",
                "requested_url": "'https://social.example/kerry/posts/' || n",
                "final_url": "'https://social.example/kerry/posts/' || n",
                "captured_started_at": "strftime('%Y-%m-%dT%H:%M:%fZ', captured_started_at,"
                " '-' || ((n * 7919) % 100000) || ' seconds')",
            }
            selected = ", ".join(varied.get(name, name) for name in columns)
            conn.execute(
                f"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k"
                f" WHERE n < {SOURCES - 1})"
                f" INSERT INTO sources ({', '.join(columns)})"
                f" SELECT {selected} FROM k, sources WHERE sources.id = ?",
                (first.id,),
            )
            conn.execute(
                "INSERT INTO observations (source_id, case_id, text, domain, reliability,"
                " credibility, author_id, created_at)"
                " SELECT id, case_id, 'Shows the named man at the door.', 'family_environment',"
                " substr('ABCDEF', 1 + id % 6, 1), 1 + id % 6, captured_by, created_at"
                " FROM sources WHERE id % 3 = 0"
            )
            conn.execute("UPDATE observations SET root_id = id WHERE root_id IS NULL")
    return case.id


def bench_sources_tab(path: Path, case_id: int) -> None:
    from PySide6.QtWidgets import QApplication

    from caseview.storage import open_case_file as open_file
    from ui import tasks
    from ui.case_view import SourcesTab
    from ui.identity import Identity
    from ui.models import SourcesModel

    app = QApplication.instance() or QApplication([])
    with open_file(path) as casefile:
        who = Identity(path, accounts.login(casefile, "wren", PASSWORD).user)
    tab = SourcesTab(who)
    tab.resize(1200, 700)
    tab.show()

    def wait_for(done: object) -> None:
        deadline = time.monotonic() + 30
        while not done() and time.monotonic() < deadline:  # type: ignore[operator]
            app.processEvents()
            time.sleep(0.0005)
        if not done():  # type: ignore[operator]
            raise RuntimeError("the sources tab did not load within 30 s")

    resets = [0]
    tab.model.modelReset.connect(lambda: resets.__setitem__(0, resets[0] + 1))

    def first_page() -> None:
        tab.show_case(None)
        before = resets[0]
        tab.show_case(case_id)
        wait_for(lambda: resets[0] > before and tab.model.rowCount() > 0)
        app.processEvents()  # and painted

    orders = [SourcesModel.TITLE, SourcesModel.GRADING, SourcesModel.SUBJECT, SourcesModel.SHA256]
    turn = [0]

    def sort() -> None:
        column = orders[turn[0] % len(orders)]
        turn[0] += 1
        before = resets[0]
        tab.view.sortByColumn(column, tab.view.horizontalHeader().sortIndicatorOrder())
        wait_for(lambda: resets[0] > before)
        app.processEvents()

    words = ["neighbour", "posts/42", "friend 7", "Kerry"]

    def filtered() -> None:
        word = words[turn[0] % len(words)]
        turn[0] += 1
        tab.search.blockSignals(True)  # typing would start the 250 ms pause; skip it
        tab.search.setText(word)
        tab.search.blockSignals(False)
        before = resets[0]
        tab.reload()  # what the pause's timer calls
        wait_for(lambda: resets[0] > before)
        app.processEvents()

    first_page()  # warm: connections, fonts, the query plans
    repeats = max(REPEATS, 5) * 3
    figures = [
        ("first page of 10,000 sources", timed(first_page, repeats=repeats), FIRST_PAGE_MS),
        ("sort by a column", timed(sort, repeats=repeats), SORT_FILTER_MS),
        ("filter by a search word", timed(filtered, repeats=repeats), SORT_FILTER_MS),
    ]
    print(f"  sources tab, {tab.model.total:,} matching after the last filter; offscreen")
    for name, seconds, target in figures:
        _report(name, [1000 * s for s in seconds], "ms", target)
    tab.close()
    tasks.cancel_all()
    tasks.wait_for_all()


DRIVER = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    class Shown(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Show and obj.objectName() == "mainWindow":
                print("shown", flush=True)
                QTimer.singleShot(0, app.quit)
            return False

    app = QApplication(sys.argv[:1])
    spy = Shown()
    app.installEventFilter(spy)
    from caseview.cli import main
    main(["--db", sys.argv[1], "gui"])
    app.exec()
    """
)


def bench_cold_start(path: Path) -> None:
    """Seconds from process start to the main window shown, logged in."""
    env = {**os.environ, "CASEVIEW_USER": "wren", "CASEVIEW_PASSWORD": PASSWORD}
    env["QT_QPA_PLATFORM"] = "offscreen"

    def start() -> None:
        out = subprocess.run(
            [sys.executable, "-c", DRIVER, str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if "shown" not in out.stdout:
            raise RuntimeError(f"the window never showed: {out.stderr[-2000:]}")

    seen: list[float] = []  # milliseconds

    def start_timed() -> None:
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        seen.append(1000 * (time.perf_counter() - began))
        process.communicate(timeout=60)
        if line.strip() != "shown":
            raise RuntimeError("the window never showed")

    start()  # warm the disk cache, as a second launch of the day would find it
    for _ in range(max(REPEATS, 5)):
        start_timed()
    print("  cold start: a new process, login with the shipped argon2 cost, window shown")
    _report("caseview gui to a visible logged-in window", seen, "ms", COLD_START_MS)


def _report(name: str, values: list[float], unit: str, target: float) -> None:
    import statistics

    median = statistics.median(values)
    verdict = "MET" if median <= target else "NOT MET"
    print(
        f"  {name:<{WIDTH}} {median:>9.0f} {unit}   (median of {len(values)}; "
        f"min {min(values):.0f}, max {max(values):.0f}; target <= {target:g} {unit}: {verdict})"
    )
    _collect(name, median, unit, target)


def _collect(name: str, value: float, unit: str, target: float) -> None:
    import json

    results = os.environ.get("CASEVIEW_BENCH_RESULTS")
    if results:
        with open(results, "a", encoding="utf-8") as out:
            figure = {"figure": name, "median": value, "unit": unit, "target": None}
            out.write(json.dumps({"bench": "ui", **figure}) + "\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "ten-thousand.db"
        started = time.perf_counter()
        case_id = build_case_file(path)
        print(f"  generated {SOURCES:,} sources in {time.perf_counter() - started:.1f} s")
        bench_sources_tab(path, case_id)
        bench_cold_start(path)


if __name__ == "__main__":
    main()
