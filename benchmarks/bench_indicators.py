"""Indicators a worker can trust (issue 13): false findings and misses on a labelled set.

    uv run python benchmarks/bench_indicators.py

The set is ``benchmarks/indicators/`` (written by its ``make_pages.py``): unrelated site
pages, which should raise no exposure or collateral finding, and pages that expose a
child, each with the kinds it must raise. Each page is parsed once; the checks then read
(a) its full visible text, menus and footers included, and (b) its main content, as a
capture does. Targets: false findings on at most 5% of unrelated pages, no misses.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SET = HERE / "indicators"
sys.path[:0] = [str(HERE), str(HERE.parent)]

import collectors  # noqa: E402

FALSE_TARGET = 0.05


@dataclass
class Result:
    reading: str
    unrelated: int = 0
    exposing: int = 0
    false_pages: dict[str, list[str]] = field(default_factory=dict)
    misses: dict[str, list[str]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    @property
    def false_rate(self) -> float:
        return len(self.false_pages) / max(1, self.unrelated)


def pages() -> list[tuple[str, dict[str, object], collectors.PageInfo, float]]:
    """Every page of the set: name, label, parsed page, seconds the parse took."""
    labels = json.loads((SET / "labels.json").read_text("utf-8"))
    out = []
    for name, label in sorted(labels.items()):
        body = (SET / "pages" / name).read_bytes()
        start = time.perf_counter()
        page = collectors.parse_html(body, charset="utf-8")
        out.append((name, label, page, time.perf_counter() - start))
    return out


def evaluate(
    parsed: list[tuple[str, dict[str, object], collectors.PageInfo, float]], reading: str
) -> Result:
    """The checks over each page's full text (``reading="full"``) or main content."""
    result = Result(reading)
    for name, label, page, _ in parsed:
        text = page.text if reading == "full" else page.indicator_text
        subject = str(label["subject"])
        start = time.perf_counter()
        found = collectors.exposure_indicators(
            text, html_meta=page.meta, subject_name=subject
        ) + collectors.collateral_indicators(text, html_meta=page.meta, subject_names=[subject])
        result.seconds.append(time.perf_counter() - start)
        expect = set(label["expect"])  # type: ignore[arg-type]
        kinds = {i.kind for i in found}
        if not expect:
            result.unrelated += 1
            if found:
                result.false_pages[name] = [f"{i.kind}: {i.value!r} ({i.context})" for i in found]
        else:
            result.exposing += 1
            missing = sorted(expect - kinds)
            if missing:
                result.misses[name] = missing
    return result


def main() -> int:
    parsed = pages()
    parse_ms = statistics.median(p[3] for p in parsed) * 1000
    print(f"  labelled set: {SET.relative_to(HERE.parent)} ({len(parsed)} pages)")
    print(f"  parse_html (with main-content extraction), median per page: {parse_ms:.1f} ms")
    results = [evaluate(parsed, "full"), evaluate(parsed, "main")]
    for r in results:
        title = "full visible text" if r.reading == "full" else "main content (as captured)"
        print(f"\n  reading the {title}:")
        print(
            f"    unrelated pages with a false finding: {len(r.false_pages)} of {r.unrelated} "
            f"({r.false_rate:.1%}; target <= {FALSE_TARGET:.0%}: "
            f"{'MET' if r.false_rate <= FALSE_TARGET else 'NOT MET'})"
        )
        print(
            f"    exposing pages with every expected kind found: {r.exposing - len(r.misses)} "
            f"of {r.exposing} (misses: {len(r.misses)}; target 0: "
            f"{'MET' if not r.misses else 'NOT MET'})"
        )
        print(f"    checks, median per page: {statistics.median(r.seconds) * 1000:.2f} ms")
        for name, found in list(r.false_pages.items())[:8]:
            print(
                f"      false  {name}: {found[0]}"
                + (f" (+{len(found) - 1})" if len(found) > 1 else "")
            )
        for name, missing in r.misses.items():
            print(f"      missed {name}: {', '.join(missing)}")
    main_result = results[1]
    return 0 if main_result.false_rate <= FALSE_TARGET and not main_result.misses else 1


if __name__ == "__main__":
    sys.exit(main())
