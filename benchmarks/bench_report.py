"""The reasoned note: seconds to render a generated case of 1,000 and 2,000 sources.

Each source has 3 graded observations (half relied upon, some corroborated, some with
interpretation risks), so the 1,000-source note has 3,000 observation rows and 1,000
provenance rows (about 340 pages). The data is built once, outside the timing; what is
timed is ``render_pdf`` alone, fonts already registered, as a second export in the same
process would be. Targets (issue 5): 1,000 sources in at most 5 s, and 2,000 sources in
at most 2.5 times as long (the cost grows linearly).

    uv run python benchmarks/bench_report.py          # alone
    uv run python benchmarks/run.py report            # through the runner
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

from run import rate, ratio, scaled, timed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "caseview"))  # the sample builders live with the tests

from report_samples import big_report  # noqa: E402

from caseview.report.pdf import render_pdf  # noqa: E402

TARGET_SECONDS = 5.0  # for 1,000 sources
TARGET_RATIO = 2.5  # 2,000 sources against 1,000


def measure(n_sources: int, target: float | None) -> float:
    data = big_report(n_sources)
    pages: list[int] = []

    def run() -> None:
        pdf = render_pdf(data)
        pages.append(len(re.findall(rb"/Type /Page[^s]", pdf)))

    seconds = timed(run)
    median = statistics.median(seconds)
    rate(
        f"render {n_sources:,} sources x 3 observations",
        n_sources,
        seconds,
        unit="sources/s",
        target=target,
    )
    print(f"  {'':<52} median {median:.2f} s for {pages[-1]:,} pages")
    return median


def main() -> None:
    render_pdf(big_report(5))  # fonts registered, code paths warm
    small = measure(scaled(1_000), target=scaled(1_000) / TARGET_SECONDS)
    large = measure(scaled(2_000), target=None)  # judged by the ratio below
    value = ratio("2,000 sources / 1,000 sources (target <= 2.5x)", large, small)
    print(f"  {'':<52} {'MET' if value <= TARGET_RATIO else 'NOT MET'}")


if __name__ == "__main__":
    main()
