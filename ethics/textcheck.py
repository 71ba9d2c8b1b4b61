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
    """True when the answer says nothing but stock phrases (ignoring case and punctuation):
    the whole answer is one of them, or every word in it is a stock phrase's word or a
    grammar word. "Safeguarding concerns, safeguarding concerns, see above" repeats stock
    words until it is long enough, and still records no reasoning."""
    answer = words(text)
    if not answer:
        return False
    listed = [words(phrase) for phrase in phrases]
    if any(answer == phrase for phrase in listed if phrase):
        return True
    stock = {word for phrase in listed for word in phrase}
    return any(word in stock for word in answer) and all(
        word in stock or word in STOP_WORDS for word in answer
    )


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


# Grammar words, which name nothing on their own. A fixed English list: the questions
# are written in English.
_STOP_WORDS_TEXT: Final = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during
    each either else ever few for from had has have having he her here hers herself him
    himself his how i if in into is it its itself just let like may me might mine most
    much must my myself need needs no nor not of off on once only or other our ours
    ourselves out over own please quite rather really same shall she should so some
    such than that the their theirs them themselves then there these they this those
    through to too under until upon us very via want wants was we well were what when
    where whether which while who whom whose why will with within without would yet you
    your yours s t d ll m re ve since still already ago even
"""
STOP_WORDS: Final = frozenset(_STOP_WORDS_TEXT.split())


def concern_words(text: str, vague: Iterable[str]) -> list[str]:
    """The words of `text` that may name a concern, in order.

    Left out: grammar words, every `vague` word or phrase (matched as whole words),
    numbers, and names: a capitalised word ("Kerry", "Facebook"), wherever it stands, so
    that putting a name first cannot pass for a concern. A word in capitals ("CSE") is
    kept, as such words are usually terms. A question with nothing left says how or at
    whom to look, but not why.
    """
    tokens = _WORD_RE.findall(text)
    folded = [token.casefold() for token in tokens]
    keep = [not (token[:1].isupper() and not token.isupper()) for token in tokens]
    # Phrases grouped by length: one pass over the text per length, not per phrase, so a
    # long pasted answer stays quick while the wizard re-evaluates on every keystroke.
    by_size: dict[int, set[tuple[str, ...]]] = {}
    for phrase in (tuple(words(p)) for p in vague):
        if phrase:
            by_size.setdefault(len(phrase), set()).add(phrase)
    for size, phrases in by_size.items():
        for start in range(len(folded) - size + 1):
            if tuple(folded[start : start + size]) in phrases:
                keep[start : start + size] = [False] * size
    return [
        word
        for word, kept in zip(folded, keep, strict=True)
        if kept and word not in STOP_WORDS and not word.isdigit()
    ]


# Where a clause ends: punctuation, or a word that turns the sentence round.
_CLAUSE_RE: Final = re.compile(
    r"[.;:!?()\[\],\n]|\b(?:but|however|although|though|whereas|then)\b", re.IGNORECASE
)


def unnegated_cue(text: str, cues: Iterable[str], negations: frozenset[str]) -> str | None:
    """The first cue (whole words) that stands in a clause with no negation, or None.

    "I will send a friend request" names the cue; "I will not log in or send a friend
    request" does not, nor does "posts in closed groups will not be viewed": a clause
    that denies a method anywhere is read as a promise, so a plan is flagged only when
    nothing in its clause says otherwise.
    """
    phrases = [joined for joined in (" ".join(words(cue)) for cue in cues) if joined]
    for clause in _CLAUSE_RE.split(text):
        found = words(clause)
        if not found or negations.intersection(found):
            continue
        padded = f" {' '.join(found)} "  # spaces at both ends: whole words only
        for phrase in phrases:
            if f" {phrase} " in padded:
                return phrase
    return None
