"""The labelled indicator set (issue 13): the checks a capture runs, held to the targets.

Unrelated site pages (news in several languages, council, shop, sport, recipe and job
pages, with menus, footers, CSS, tickers and product codes) must raise a finding on at
most 5% of them; every page that exposes a child must raise every kind it is labelled
with. ``benchmarks/bench_indicators.py`` prints the same figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_indicators  # noqa: E402


def test_the_set_is_big_enough_and_its_targets_are_met() -> None:
    parsed = bench_indicators.pages()
    result = bench_indicators.evaluate(parsed, "main")
    assert result.unrelated >= 100 and result.exposing >= 30
    assert result.false_rate <= bench_indicators.FALSE_TARGET, result.false_pages
    assert result.misses == {}


def test_every_indicator_shows_the_words_around_it() -> None:
    parsed = bench_indicators.pages()
    for _, label, page, _ in parsed:
        subject = str(label["subject"])
        for indicator in bench_indicators.collectors.exposure_indicators(
            page.indicator_text, html_meta=page.meta, subject_name=subject
        ):
            assert indicator.value and indicator.context
            assert indicator.value in indicator.context or indicator.kind == "geotag"
            assert len(indicator.context) <= 240
