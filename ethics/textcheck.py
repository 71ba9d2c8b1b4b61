"""Tests of free text that a machine can fairly make: empty, too short, stock phrase,
or pasted into two answers. Judging whether an answer is *good* is the manager's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

# \w is Unicode-aware, so names in any script count as words.
_WORD_RE: Final = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The words of `text`, case-folded; punctuation and spacing dropped."""
    return _WORD_RE.findall(text.casefold())


def normalised(text: str) -> str:
    """`text` reduced to its words, for comparing answers and phrases."""
    return " ".join(words(text))


def word_count(text: str) -> int:
    return len(words(text))


def is_boilerplate(text: str, phrases: Iterable[str]) -> bool:
    """True when the whole answer is one of the stock phrases (ignoring case and punctuation)."""
    answer = normalised(text)
    return bool(answer) and any(answer == normalised(phrase) for phrase in phrases)


def overlap(first: set[str], second: set[str]) -> float:
    """How far two answers' word sets overlap, 0 (none) to 1 (the same words).

    Set overlap is linear in the text length, so it stays quick while the wizard
    re-evaluates on every keystroke, and it still catches a pasted answer with a few
    words changed.
    """
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def has_cue(text: str, cues: Iterable[str]) -> bool:
    """True when a cue starts at a word boundary ("redact" matches "redacted")."""
    padded = " " + normalised(text)
    return any(" " + normalised(cue) in padded for cue in cues if normalised(cue))
