"""Capturing: captures per second end to end, and the pipeline time without the network.

End to end: ``captures.capture_url`` (gate check, fetch with every limit, parse, WARC
records, one write transaction holding blobs, source, viewing and audit event) of a
200 KB HTML page served on 127.0.0.1, against a bare loop on the same server in the
same run: ``requests.get`` + ``hashlib.sha256`` + one SQLite INSERT (WAL,
``synchronous=FULL``, like the case file). Every response differs by a counter, so no
blob is deduplicated away. Target (issue 4): the ratio at least 0.5. A third loop adds
``collectors.parse_html`` to the bare one: a capture cannot skip the parse, because a
login wall must be recognised before anything is stored, so that loop's ratio is the
most any capture could reach with that parser.

Without the network: a 1 MB page fetched beforehand (not timed) is handed to
``capture_url`` through its ``fetcher=`` option by a stub that does what ``fetch``
does once the bytes are in, hash and parse; the rest (gate, WARC, store) is the real
path. p50 and p90 per run, medians of the runs. Target: p50 at most 100 ms.

Each capture needs a planned viewing, and the repeat-viewing meter stops the fourth
look at one person, so the case has one subject and one approved request (three
viewings) per three captures, all made before anything is timed; the shipped policy
is not changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import argon2
import requests
from run import REPEATS, WIDTH, rate, ratio, scaled, timed

import collectors
from caseview import accounts, captures, cases, justifications
from caseview.storage import CaseFile, open_case_file

LOOPBACK = "127.0.0.1"  # the only address this benchmark serves or fetches
PAGE_KB = 200
PIPELINE_MB = 1
RATIO_TARGET = 0.5
P50_TARGET_MS = 100.0
PASSWORD = "benchmark pass phrase"
MARKER = b"<!-- %012d -->"  # makes every response unique, at one fixed length
END = b"</body></html>"

REQUEST_TOML = """\
subjects = {subjects}
statutory_function = "s47"
statutory_function_other = ""
question = "Does the mother's public page show the named man living at the family home?"
safety_case = "A police disclosure names a man with convictions against children; if he lives in the home the baby is at immediate risk of significant harm."
ethics_case = "Looking at her public page without her knowing intrudes on her private and family life and may damage the working relationship if discovered."
balance = "A single look at pages she has made public, limited to that one man, is proportionate to the risk to a baby."
less_intrusive_considered = ["asked_family", "police", "health"]
why_not_enough = "The mother denies contact and the police and health visitor hold nothing newer than September."
proportionality = "One look at one public page, recording only posts that show the named man."
intrusion_level = "medium"
collateral_intrusion = "Friends may appear in photos; they will not be recorded and images will be cropped or redacted."
scope_hosts = ["{host}"]
scope_urls = []
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
"""  # noqa: E501 (answers long enough for the gate, kept on one line each)


# --- a local server ---------------------------------------------------------------------


def html_page(size: int) -> bytes:
    """A plausible public page of about ``size`` bytes: paragraphs, links, metadata."""
    head = (
        b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Kerry's public page</title>"
        b"<meta name='author' content='Kerry Smith'><meta property='og:title' content='Kerry'>"
        b"<link rel='canonical' href='/page'></head><body><h1>Posts</h1>"
    )
    post = (
        b"<article><p>Out with friends on Saturday at the park, then home for tea. "
        b"Lovely weather for once, and the little one loved the swings.</p>"
        b"<a href='/kerry/posts/%d'>permalink</a> <span>12 likes</span></article>\n"
    )
    parts = [head]
    total = len(head)
    for n in itertools.count():
        piece = post % n
        if total + len(piece) > size - 20:
            break
        parts.append(piece)
        total += len(piece)
    parts.append(END)
    return b"".join(parts)


class PageServer:
    """Serves ``/page?...`` and ``/mb?...`` on 127.0.0.1; each response is unique."""

    def __init__(self) -> None:
        self.pages = {"/page": html_page(PAGE_KB * 1024), "/mb": html_page(PIPELINE_MB << 20)}
        self._counter = itertools.count()
        pages, counter = self.pages, self._counter

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                base = pages[self.path.split("?")[0]]
                body = base[: -len(END)] + MARKER % next(counter) + END
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.httpd = Server((LOOPBACK, 0), Handler)
        self.port = int(self.httpd.server_address[1])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{path}?n={next(self._counter)}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- a case with enough authority ---------------------------------------------------


class Authority:
    """(justification, subject) pairs, each good for three captures, made up front."""

    def __init__(self, casefile: CaseFile, captures_needed: int) -> None:
        # Tiny argon2 costs: the logins are set-up, not what is measured.
        accounts.hasher = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        accounts.create_first_manager(casefile, "mona", PASSWORD)
        self.manager = accounts.login(casefile, "mona", PASSWORD)
        accounts.add_user(self.manager, "max", "manager", PASSWORD)
        accounts.add_user(self.manager, "wren", "worker", PASSWORD)
        reviewer = accounts.login(casefile, "max", PASSWORD)
        self.worker = accounts.login(casefile, "wren", PASSWORD)
        self.case_id = cases.create_case(self.manager, "CP-BENCH-1", "Benchmark family").id
        cases.allocate(self.manager, self.case_id, "wren")
        valid_until = (self.worker.now() + timedelta(days=14)).date().isoformat()
        self._pairs: list[tuple[int, int]] = []
        for n in range(-(-captures_needed // 3)):
            subject = cases.add_subject(self.manager, self.case_id, f"Person {n} Smith", "parent")
            text = REQUEST_TOML.format(
                subjects=json.dumps([str(subject.id)]), host=LOOPBACK, valid_until=valid_until
            )
            record = justifications.create_from_toml(self.worker, self.case_id, text)
            justifications.submit(self.worker, record.id)
            justifications.review(reviewer, record.id, "approve", "Proportionate; benchmark.")
            self._pairs.append((record.id, subject.id))
        self._uses: Iterator[tuple[int, int]] = (p for p in self._pairs for _ in range(3))

    def next(self) -> tuple[int, int]:
        return next(self._uses)

    def capture(self, url: str, **options: Any) -> captures.SourceRecord:
        justification_id, subject_id = self.next()
        return captures.capture_url(
            self.worker,
            self.case_id,
            url,
            justification_id=justification_id,
            subject_id=subject_id,
            attested=True,
            allow_hosts=[LOOPBACK],
            **options,
        )


# --- the figures -------------------------------------------------------------------------


def bench_end_to_end(
    server: PageServer, authority: Authority, scratch: Path, count: int
) -> tuple[float, float]:
    def captures_loop() -> None:
        for _ in range(count):
            authority.capture(server.url("/page"))

    bare_db = sqlite3.connect(scratch / "bare.db", isolation_level=None)
    bare_db.execute("PRAGMA journal_mode=WAL")
    bare_db.execute("PRAGMA synchronous=FULL")
    bare_db.execute("CREATE TABLE pages (sha256 TEXT PRIMARY KEY, url TEXT, body BLOB)")

    def bare_loop() -> None:
        for _ in range(count):
            url = server.url("/page")
            body = requests.get(url, timeout=10).content
            digest = hashlib.sha256(body).hexdigest()
            bare_db.execute("BEGIN")
            bare_db.execute("INSERT INTO pages VALUES (?, ?, ?)", (digest, url, body))
            bare_db.execute("COMMIT")

    def parsed_loop() -> None:
        for _ in range(count):
            url = server.url("/page")
            response = requests.get(url, timeout=10)
            body = response.content
            digest = hashlib.sha256(body).hexdigest()
            collectors.parse_html(body, charset=response.encoding, base_url=url)
            bare_db.execute("BEGIN")
            bare_db.execute("INSERT INTO pages VALUES (?, ?, ?)", (digest, url, body))
            bare_db.execute("COMMIT")

    # One of each first, so that no loop pays another's warm-up.
    authority.capture(server.url("/page"))
    requests.get(server.url("/page"), timeout=10)
    seconds_capture: list[float] = []
    seconds_bare: list[float] = []
    seconds_parsed: list[float] = []
    for _ in range(REPEATS):  # interleaved: all see the same machine at the same time
        seconds_capture += timed(captures_loop, repeats=1)
        seconds_bare += timed(bare_loop, repeats=1)
        seconds_parsed += timed(parsed_loop, repeats=1)
    bare_db.close()
    print(f"  {PAGE_KB} KB HTML page from {LOOPBACK}, {count} per run")
    captured = rate("captures end to end (capture_url)", count, seconds_capture, unit="pages/s")
    bare = rate("bare requests.get + sha256 + INSERT", count, seconds_bare, unit="pages/s")
    parsed = rate("bare loop + parse_html", count, seconds_parsed, unit="pages/s")
    print(f"  {'':<{WIDTH}} that is {captured:.2f} pages/s, {1000 / captured:.0f} ms a capture")
    ratio("bare + parse / bare (the most a capture could reach)", parsed, bare)
    value = ratio("capture / bare (target >= 0.5)", captured, bare)
    print(
        f"  {'':<{WIDTH}} target >= {RATIO_TARGET}: {'MET' if value >= RATIO_TARGET else 'NOT MET'}"
    )
    return captured, bare


def bench_pipeline(server: PageServer, authority: Authority, samples: int) -> tuple[float, float]:
    """Milliseconds per capture of a 1 MB page once its bytes are in: hash, parse, WARC, store.

    The page is fetched once; each sample is that capture with the page's counter
    comment rewritten (same length) in the body and in the response bytes, so every
    sample stores new blobs. The stub hashes and parses, as ``fetch`` does.
    """
    base = collectors.fetch(server.url("/mb"), allow_hosts=[LOOPBACK])
    assert not base.content_encoding and len(base.exchanges) == 1
    marker = base.body[-len(MARKER % 0) - len(END) : -len(END)]
    assert base.body.count(marker) == 1 and base.exchanges[0].response.count(marker) == 1
    variants = itertools.count(10**9)
    parse_ms: list[float] = []

    def variant() -> collectors.HttpCapture:
        new = MARKER % next(variants)
        body = base.body.replace(marker, new)
        exchange = dataclasses.replace(
            base.exchanges[0], response=base.exchanges[0].response.replace(marker, new)
        )
        return dataclasses.replace(base, body=body, exchanges=(exchange,), page=None)

    pending: list[collectors.HttpCapture] = []

    def stub(url: str, **_: Any) -> collectors.HttpCapture:
        fetched = pending.pop()
        digest = hashlib.sha256(fetched.body).hexdigest()
        start = time.perf_counter()
        page = collectors.parse_html(fetched.body, charset="utf-8", base_url=fetched.final_url)
        parse_ms.append(1000 * (time.perf_counter() - start))
        return dataclasses.replace(fetched, body_sha256=digest, raw_sha256=digest, page=page)

    def one() -> None:
        authority.capture(base.final_url, fetcher=stub)

    figures: dict[str, list[float]] = {"p50": [], "p90": [], "p50 without parse": []}
    for _ in range(REPEATS):
        parse_ms.clear()
        millis = []
        for _ in range(samples):
            pending.append(variant())
            millis += [1000 * s for s in timed(one, repeats=1)]
        figures["p50"].append(statistics.median(millis))
        figures["p90"].append(statistics.quantiles(millis, n=10, method="inclusive")[8])
        figures["p50 without parse"].append(
            statistics.median(m - p for m, p in zip(millis, parse_ms, strict=True))
        )
    print(f"  {len(base.body) / 1e6:.2f} MB HTML page, network excluded, {samples} per run")
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, values in figures.items():
        print(
            f"  {'pipeline ' + name:<{WIDTH}} {medians[name]:>12.1f} ms       "
            f"(median of {len(values)}; min {min(values):.1f}, max {max(values):.1f})"
        )
        _collect(f"pipeline {name}, 1 MB page", medians[name], "ms")
    print(
        f"  {'':<{WIDTH}} target p50 <= {P50_TARGET_MS:.0f} ms: "
        f"{'MET' if medians['p50'] <= P50_TARGET_MS else 'NOT MET'}"
    )
    return medians["p50"], medians["p90"]


def _collect(name: str, value: float, unit: str) -> None:
    """Add a figure to ``run.py``'s summary (no target: there, higher means better)."""
    results = os.environ.get("CASEVIEW_BENCH_RESULTS")
    if results:
        with open(results, "a", encoding="utf-8") as out:
            figure = {"figure": name, "median": value, "unit": unit, "target": None}
            out.write(json.dumps({"bench": "capture", **figure}) + "\n")


def main() -> None:
    count = scaled(30)
    samples = max(2, scaled(10))
    needed = 1 + count * REPEATS + samples * REPEATS
    server = PageServer()
    try:
        with (
            tempfile.TemporaryDirectory() as scratch,
            open_case_file(Path(scratch) / "case.db", create=True) as casefile,
        ):
            authority = Authority(casefile, needed)
            bench_end_to_end(server, authority, Path(scratch), count)
            bench_pipeline(server, authority, samples)
            assert len(captures.list_for_case(authority.worker, authority.case_id)) == needed
    finally:
        server.stop()


if __name__ == "__main__":
    main()
