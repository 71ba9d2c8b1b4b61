"""Free-text answers: the rules a machine can fairly apply to a worker's prose.

Empty, a stock phrase, too short, or pasted from another answer: each is a blocking
finding, because a box filled that way records no reasoning a court or a family could
follow. Whether the reasoning is *good* stays with the manager.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from ethics import references as ref
from ethics.findings import Finding, Severity
from ethics.justification import Justification
from ethics.policy import Policy
from ethics.textcheck import is_boilerplate, overlap, word_count, words
from ethics.vocabulary import field_label
from ethics.wording import plural


@dataclass(frozen=True)
class Answer:
    """How the gate talks about one free-text answer."""

    label: str  # starts a sentence: the form's label, quoted
    asks: str  # what a good answer gives
    reference: str


ANSWERS: Final[Mapping[str, Answer]] = {
    "statutory_function_other": Answer(
        field_label("statutory_function_other"),
        "name the duty or court order you are acting under",
        ref.CHILDREN_ACT,
    ),
    "question": Answer(
        field_label("question"),
        "say exactly what this look must find out, e.g. whether a named adult appears "
        "in the parent's public posts",
        ref.COUNCIL_PROTOCOL + ": a single viewing for a specified purpose",
    ),
    "safety_case": Answer(
        field_label("safety_case"),
        "describe the risk to the child and why it has to be checked now",
        ref.NIVEN + "; Children Act 1989 s47",
    ),
    "ethics_case": Answer(
        field_label("ethics_case"),
        "describe the intrusion on the family's privacy, their trust and your working "
        "relationship, and how the posts could be misread",
        ref.NIVEN + "; " + ref.SOCIAL_WORK_ENGLAND,
    ),
    "balance": Answer(
        field_label("balance"),
        "explain why, weighing the safety case against the ethics case, this look is justified",
        ref.NIVEN + "; " + ref.ECHR_ART8,
    ),
    "why_not_enough": Answer(
        field_label("why_not_enough"),
        "say what each route you tried or considered did not, or could not, tell you",
        ref.NECESSITY + "; " + ref.SOCIAL_WORK_ENGLAND,
    ),
    "proportionality": Answer(
        field_label("proportionality"),
        "say which pages you will look at, how often, and what you will record",
        ref.NECESSITY + "; " + ref.GDPR_MINIMISATION,
    ),
    "collateral_intrusion": Answer(
        field_label("collateral_intrusion"),
        "say who else is likely to be seen (friends, other children) and how they will be "
        "kept out of the record",
        ref.GDPR_MINIMISATION + "; " + ref.HOME_OFFICE_CODE,
    ),
    "family_told_reason": Answer(
        field_label("family_told_reason"),
        "say why telling them now would put a child at risk or defeat the purpose, and "
        "when you will review it",
        ref.GDPR_TRANSPARENCY + "; " + ref.SOCIAL_WORK_ENGLAND,
    ),
    "emergency_reason": Answer(
        field_label("emergency_reason"),
        "describe the immediate risk to a child that cannot wait for a manager's approval",
        ref.EMERGENCY,
    ),
}

# Narrative answers that must each say something of their own (checked in this order,
# so the later of two near-copies is the one flagged).
DISTINCT_ANSWERS: Final = (
    "question",
    "safety_case",
    "ethics_case",
    "balance",
    "why_not_enough",
    "proportionality",
    "collateral_intrusion",
)

# The codes this module can produce; all block submission.
ANSWER_CODES: Final[Mapping[str, Severity]] = {
    **{f"{key}.{kind}": Severity.BLOCK for key in ANSWERS for kind in ("missing", "boilerplate")},
    **{f"{key}.too_short": Severity.BLOCK for key in ANSWERS},
    **{f"{key}.copied": Severity.BLOCK for key in DISTINCT_ANSWERS[1:]},
}


def answer_findings(j: Justification, key: str, policy: Policy) -> Iterator[Finding]:
    """Missing, stock phrase, or too short: the three ways an answer says nothing."""
    answer = ANSWERS[key]
    text: str = getattr(j, key)
    count = word_count(text)
    if count == 0:
        yield Finding(
            f"{key}.missing",
            Severity.BLOCK,
            f"{answer.label} is empty; {answer.asks}.",
            answer.reference,
            key,
        )
    elif is_boilerplate(text, policy.boilerplate_phrases):
        yield Finding(
            f"{key}.boilerplate",
            Severity.BLOCK,
            f"{answer.label} is a stock phrase ('{quote(text)}'); {answer.asks}.",
            answer.reference,
            key,
        )
    elif _echoes_prompt(text, answer, policy):
        yield Finding(
            f"{key}.boilerplate",
            Severity.BLOCK,
            f"{answer.label} repeats what the form asks rather than answering it; "
            f"{answer.asks}, in your own words and about this case.",
            answer.reference,
            key,
        )
    elif count < (least := policy.min_words.get(key, 0)):
        yield Finding(
            f"{key}.too_short",
            Severity.BLOCK,
            f"{answer.label} has {plural(count, 'word')}; the policy asks for at least "
            f"{least}. Please {answer.asks}.",
            answer.reference,
            key,
        )


def _echoes_prompt(text: str, answer: Answer, policy: Policy) -> bool:
    """True when an answer is the form's own prompt pasted back (or nearly): it fills the
    box, and even passes the length check, without saying anything about the case."""
    said = set(words(text))
    return any(
        overlap(said, set(words(prompt))) >= policy.copy_similarity
        for prompt in (answer.asks, answer.label)
    )


def copied_findings(j: Justification, policy: Policy) -> Iterator[Finding]:
    """A pasted answer fills a box without adding reasoning; each must stand alone."""
    usable = [k for k in DISTINCT_ANSWERS if not any(answer_findings(j, k, policy))]
    vocab = {key: set(words(getattr(j, key))) for key in usable}
    for position, later in enumerate(usable):
        for earlier in usable[:position]:
            if overlap(vocab[later], vocab[earlier]) >= policy.copy_similarity:
                yield Finding(
                    f"{later}.copied",
                    Severity.BLOCK,
                    f"{ANSWERS[later].label} repeats {ANSWERS[earlier].label}; "
                    f"each answer must say something of its own: {ANSWERS[later].asks}.",
                    ANSWERS[later].reference,
                    later,
                )
                break


def quote(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
