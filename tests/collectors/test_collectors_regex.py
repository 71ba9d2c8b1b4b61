"""Every regular expression in collectors is linear in what it reads, and reads little.

A crafted page once made the exposure check backtrack for minutes (issue 11). The proof
here is in the regex engine's own terms, not in seconds:

* **Structure.** Parsed with Python's own regex parser, no pattern in collectors has an
  unbounded repeat (``*``, ``+``, ``{n,}``) over anything but one character (no nested
  quantifiers). The patterns run over page text (exposure, collateral, walls) have no
  unbounded repeat at all: each match attempt reads a bounded number of characters, so
  the work is at most a constant per position of the text.
* **Input.** A counting stand-in for every pattern records how many characters each call
  is given. No call sees more than the module's cap, and the characters given grow
  linearly with the page (four times the page, at most four times the reading) until
  the cap, after which they stop growing.
"""

from __future__ import annotations

import ast
import inspect
import re
import re._constants as sre_constants
import re._parser as sre_parser
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from collectors import (
    addresses,
    charsets,
    collateral,
    exposure,
    files,
    html,
    mhtml,
    sniff,
    walls,
    warc,
)

ALL_MODULES = (addresses, charsets, collateral, exposure, files, html, mhtml, sniff, walls, warc)
TEXT_MODULES = (exposure, collateral, walls)  # their patterns read a page's text
MAX_WIDTH = 4096  # characters one match attempt of a text pattern may read
UNBOUNDED = sre_constants.MAXREPEAT
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


def _patterns(module: ModuleType) -> Iterator[tuple[str, re.Pattern[Any]]]:
    for name, value in vars(module).items():
        if isinstance(value, re.Pattern):
            yield f"{module.__name__}.{name}", value
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, re.Pattern):
                    yield f"{module.__name__}.{name}[{key!r}]", item


def _parse(pattern: re.Pattern[Any]) -> sre_parser.SubPattern:
    return sre_parser.parse(pattern.pattern, pattern.flags)


def _nested_unbounded(items: Any, inside_repeat: bool = False) -> list[str]:
    """Unbounded repeats whose body is more than one character, or that sit in a repeat."""
    found: list[str] = []
    for op, av in items:
        if op in _REPEATS:
            low, high, body = av
            single = len(body) == 1 and body[0][0] in (
                sre_constants.LITERAL,
                sre_constants.NOT_LITERAL,
                sre_constants.IN,
                sre_constants.ANY,
                sre_constants.CATEGORY,
            )
            if high == UNBOUNDED and (not single or inside_repeat):
                found.append(f"{op} {low}..inf over {list(body)!r}"[:120])
            found += _nested_unbounded(body, inside_repeat or high > 1)
        elif op is sre_constants.SUBPATTERN:
            found += _nested_unbounded(av[-1], inside_repeat)
        elif op is sre_constants.BRANCH:
            for branch in av[1]:
                found += _nested_unbounded(branch, inside_repeat)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            found += _nested_unbounded(av[1], inside_repeat)
        elif op is sre_constants.GROUPREF_EXISTS:
            found += _nested_unbounded(av[1], inside_repeat)
            if av[2] is not None:
                found += _nested_unbounded(av[2], inside_repeat)
    return found


def _max_width(pattern: re.Pattern[Any]) -> int:
    return int(_parse(pattern).getwidth()[1])


ALL_PATTERNS = [item for module in ALL_MODULES for item in _patterns(module)]
TEXT_PATTERNS = [item for module in TEXT_MODULES for item in _patterns(module)]
EXPOSURE_PATTERNS = len(list(_patterns(exposure))) + 2  # and the subject's name, words


# --- structure -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "pattern"), ALL_PATTERNS, ids=[n for n, _ in ALL_PATTERNS])
def test_no_nested_unbounded_quantifiers(name: str, pattern: re.Pattern[Any]) -> None:
    assert _nested_unbounded(_parse(pattern)) == [], name


@pytest.mark.parametrize(("name", "pattern"), TEXT_PATTERNS, ids=[n for n, _ in TEXT_PATTERNS])
def test_text_patterns_read_a_bounded_number_of_characters(
    name: str, pattern: re.Pattern[Any]
) -> None:
    assert _max_width(pattern) <= MAX_WIDTH, name


def test_subject_name_pattern_is_bounded() -> None:
    pattern = exposure.name_pattern("Kerry   Anne " + "Smith " * 50)
    assert pattern is not None
    assert _max_width(pattern) <= MAX_WIDTH
    assert _nested_unbounded(_parse(pattern)) == []


@pytest.mark.parametrize(
    "old",
    [
        r"\b((?:(?:St\.? |Saint )?[A-Z][\w'’.-]* ){1,5}(?:School|Academy|College))\b",
        r"-?\d+\.\d+\s*[;,]\s*-?\d+\.\d+",
        r"born\s*[:\-–]?\s*(?:the\s+)?\d{1,2}",
        r"[A-Za-z0-9]@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b",
    ],
    ids=["school", "geo-position", "date-of-birth", "email"],
)
def test_the_checks_refuse_the_patterns_that_backtracked(old: str) -> None:
    """The patterns before issue 11 fail these checks (so the checks can fail)."""
    compiled = re.compile(old)
    assert _max_width(compiled) > MAX_WIDTH


def test_nested_quantifier_is_caught() -> None:
    assert _nested_unbounded(_parse(re.compile(r"(?:a+)+b"))) != []
    assert _nested_unbounded(_parse(re.compile(r"(?:ab)*"))) != []
    assert _nested_unbounded(_parse(re.compile(r"[^<>]*>"))) == []


@pytest.mark.parametrize("module", TEXT_MODULES, ids=lambda m: m.__name__)
def test_text_modules_use_only_their_compiled_patterns(module: ModuleType) -> None:
    """No ``re.search(string_pattern, ...)`` hidden in a function: every pattern is a
    module constant (checked above and counted below), or built by name_pattern."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
    calls = [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "re"
    ]
    assert set(calls) <= {"compile", "escape"}, calls


# --- input: counted ------------------------------------------------------------------------


class Counting:
    """Stands in for a compiled pattern; adds up the characters each call is given."""

    def __init__(self, inner: re.Pattern[str], log: list[int]) -> None:
        self._inner = inner
        self._log = log
        self._width = _max_width(inner)

    def _given(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> None:
        self._log.append(max(0, min(len(string), endpos) - pos))

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        self._given(string, pos, endpos)
        return self._inner.finditer(string, pos, endpos)

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        self._given(string, pos, endpos)
        return self._inner.search(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        # A match reads from ``pos`` only, at most the pattern's width.
        self._log.append(min(max(0, min(len(string), endpos) - pos), self._width))
        return self._inner.match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        self._given(string, pos, endpos)
        return self._inner.fullmatch(string, pos, endpos)

    def sub(self, repl: Any, string: str, count: int = 0) -> Any:
        self._given(string)
        return self._inner.sub(repl, string, count)

    def split(self, string: str, maxsplit: int = 0) -> Any:
        self._given(string)
        return self._inner.split(string, maxsplit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def given(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every pattern of exposure and collateral replaced by a counting stand-in."""
    log: list[int] = []
    for module in (exposure, collateral):
        for name, value in list(vars(module).items()):
            if isinstance(value, re.Pattern):
                monkeypatch.setattr(module, name, Counting(value, log))
    real = exposure.name_pattern

    def counted_name(name: str) -> Any:
        pattern = real(name)
        return None if pattern is None else Counting(pattern, log)

    monkeypatch.setattr(exposure, "name_pattern", counted_name)
    real_words = exposure.name_words_pattern

    def counted_words(name: str) -> Any:
        pattern = real_words(name)
        return None if pattern is None else Counting(pattern, log)

    monkeypatch.setattr(exposure, "name_words_pattern", counted_words)
    return log


ADVERSARIAL = {
    # the shapes that made the old patterns backtrack, and the cue words of each rule
    "capitals-and-dots": "A." * 40 + "A" * 60 + " ",
    "born-then-spaces": "born" + " " * 90 + "x ",
    "digits": "1" * 60 + "." + "2" * 40,
    "email-labels": "a@" + "b." * 50 + " ",
    "names": "Jack Smith, 9, my son Jack goes to the ",
    "phone-ish": "0" * 30 + "-" * 30 + " ",
    "school-words": "Oak Tree Primary " * 4,
}


def _read(text: str, meta_value: str) -> None:
    meta = {f"k{i}": meta_value for i in range(20)}
    exposure.exposure_indicators(text, html_meta=meta, subject_name="Kerry Anne Smith")
    collateral.collateral_indicators(text, html_meta=meta, subject_names=["Kerry Smith"])


@pytest.mark.parametrize("shape", ADVERSARIAL, ids=list(ADVERSARIAL))
def test_reading_grows_linearly_with_the_page(given: list[int], shape: str) -> None:
    unit = ADVERSARIAL[shape]
    n = 50_000
    small = (unit * (n // len(unit) + 1))[:n]
    big = (unit * (4 * n // len(unit) + 1))[: 4 * n]
    _read(small, small[:500])
    calls_small, read_small = len(given), sum(given)
    given.clear()
    _read(big, big[:500])
    calls_big, read_big = len(given), sum(given)
    assert calls_big <= 4 * calls_small + 100
    assert read_big <= 4 * read_small + 100_000, (read_small, read_big)


@pytest.mark.parametrize("shape", ADVERSARIAL, ids=list(ADVERSARIAL))
def test_reading_stops_at_the_caps(given: list[int], shape: str) -> None:
    unit = ADVERSARIAL[shape]
    huge = unit * (exposure.MAX_TEXT // len(unit) + 100)  # past the cap
    meta = {f"k{i}": huge[:100_000] for i in range(exposure.MAX_META + 50)}
    exposure.exposure_indicators(huge, html_meta=meta, subject_name="Kerry Smith")
    exposure_calls, exposure_read = len(given), max(given)
    given.clear()
    collateral.collateral_indicators(huge, html_meta=meta, subject_names=["Kerry Smith"])
    assert exposure_read <= exposure.MAX_TEXT
    assert max(given) <= collateral.MAX_TEXT
    # Metadata: at most MAX_META values, each cut to MAX_META_VALUE, for each pattern.
    assert exposure_calls <= (exposure.MAX_META + 1) * EXPOSURE_PATTERNS
    # Four times as much page again: nothing more is read.
    given.clear()
    exposure.exposure_indicators(huge * 4, html_meta=meta, subject_name="Kerry Smith")
    assert len(given) == exposure_calls


def test_html_reads_at_most_max_text_characters_of_a_huge_page() -> None:
    body = b"<html><body>" + b"<p>word and word</p>" * 500_000 + b"</body></html>"
    page = html.parse_html(body)
    assert page.flat_fallback
    assert len(page.text) <= html.MAX_TEXT
    assert any("working copy" in note for note in page.notes)
    assert "word and word" in page.text[-100:]
