"""The gate: every finding about a request to look, before anyone submits it.

`evaluate` is pure and total: it takes any Justification a form can hold (empty
answers, odd Unicode, dates far away, any number of viewings) and returns findings; it
never raises for the justification's content. Blocking findings stop submission; the
manager sees the rest. The gate structures the reasoning; it never judges the family.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from ethics import references as ref
from ethics.answers import ANSWER_CODES, ANSWERS, answer_findings, copied_findings, quote
from ethics.emergency import (
    RULE_EMERGENCY_CHAINED,
    RULE_EMERGENCY_SAME_PERSON,
    OpenEmergency,
    chain_refusal,
)
from ethics.findings import Finding, Severity
from ethics.justification import Justification
from ethics.meter import Viewing, factors_advice, read_meter
from ethics.people import People
from ethics.policy import Policy
from ethics.scope import normalise_host, parse_web_url
from ethics.textcheck import concern_words, has_cue, normalised, unnegated_cue
from ethics.timeutil import require_aware, uk_day
from ethics.vocabulary import (
    ATTESTATION_KEYS,
    CRIMINAL_DATA_CUES,
    FAMILY_TOLD_VALUES,
    FORBIDDEN_METHODS,
    INTRUSION_LEVELS,
    LESS_INTRUSIVE_ROUTES,
    NEGATIONS,
    RESTRICTION_CUES,
    STATUTORY_FUNCTIONS,
    VAGUE_WORDS,
    field_label,
)
from ethics.wording import ordinal, plural

BLOCK, WARN, INFO = Severity.BLOCK, Severity.WARN, Severity.INFO

# Each attestation is its own blocking finding, so the worker sees exactly which
# promise is missing; the message follows "Tick '<the promise>' only if ...".
_ATTESTATIONS: Final[Mapping[str, tuple[str, str]]] = {
    "attest_logged_out": (
        "it is true: material behind a login is not open source, and nothing may be "
        "captured without this promise.",
        ref.COUNCIL_PROTOCOL + "; " + ref.COMMISSIONERS,
    ),
    "attest_no_personal_or_fake_profile": (
        "it is true: the council's protocol treats material gathered through a personal "
        "profile as inadmissible and a disciplinary matter, and a fake profile built to "
        "obtain information risks making you a covert human intelligence source.",
        ref.COUNCIL_PROTOCOL + "; " + ref.RIPA_CHIS,
    ),
    "attest_no_interaction": (
        "it is true: looking must not become a relationship, which risks making you a "
        "covert human intelligence source.",
        ref.COUNCIL_PROTOCOL + "; " + ref.RIPA_CHIS,
    ),
    "attest_no_restricted_content": (
        "it is true: content limited to friends or followers is not public, even if you "
        "could reach it.",
        ref.COUNCIL_PROTOCOL + "; " + ref.COMMISSIONERS,
    ),
}

# Every code `evaluate` can return, with its severity (the report and tests rely on it).
RULE_CODES: Final[Mapping[str, Severity]] = {
    "subjects.missing": BLOCK,
    "subjects.invalid": BLOCK,
    "subjects.child": WARN,
    "statutory_function.missing": BLOCK,
    "statutory_function.unknown": BLOCK,
    "data_protection_basis.missing": BLOCK,
    "data_protection_basis.not_default": INFO,
    "data_protection_basis.legitimate_interests": BLOCK,
    **ANSWER_CODES,
    "question.vague": BLOCK,
    "criminal_offence_data.noted": INFO,
    "less_intrusive_considered.missing": BLOCK,
    "less_intrusive_considered.unknown": BLOCK,
    "intrusion_level.missing": BLOCK,
    "intrusion_level.unknown": BLOCK,
    "intrusion_level.high": WARN,
    "intrusion_level.high_repeat": BLOCK,
    "collateral_intrusion.no_mitigation": WARN,
    "scope.empty": BLOCK,
    "scope.hosts_only": WARN,
    "scope_hosts.invalid": BLOCK,
    "scope_urls.invalid": BLOCK,
    "valid_until.past": BLOCK,
    "valid_until.too_far": BLOCK,
    "planned_viewings.too_few": BLOCK,
    "planned_viewings.too_many": BLOCK,
    "planned_viewings.repeated": WARN,
    "family_told.missing": BLOCK,
    "family_told.unknown": BLOCK,
    "family_told.later": INFO,
    "family_told_reason.no_restriction": BLOCK,
    **{f"{key}.not_attested": BLOCK for key in ATTESTATION_KEYS},
    "emergency.review_due": INFO,
    "emergency.repeat": WARN,
    f"emergency.{RULE_EMERGENCY_CHAINED}": BLOCK,
    f"emergency.{RULE_EMERGENCY_SAME_PERSON}": BLOCK,
    "meter.warn": WARN,
    "meter.stop": BLOCK,
    "meter.pattern": BLOCK,
    "meter.authorised": INFO,
    "meter.plan_reaches_stop": WARN,
}


@dataclass(frozen=True)
class SubmissionFacts:
    """What the case file knows around a request, gathered by the service layer."""

    request_id: int | None = None
    author: str = ""
    people: People | None = None
    authorised_subjects: frozenset[int] = frozenset()
    """Subjects a confirmed surveillance authorisation in force covers for this request."""
    open_emergencies: tuple[OpenEmergency, ...] = ()
    """Every emergency request submitted and not yet decided, in the whole case file."""


@dataclass(frozen=True)
class _Context:
    j: Justification
    policy: Policy
    now: datetime
    today: date
    history: tuple[Viewing, ...]
    roles: Mapping[int, str]
    authorised: bool
    facts: SubmissionFacts

    def persons(self) -> dict[int, int]:
        """Each subject's person, for the meter (a subject alone is a person of one)."""
        people = self.facts.people
        return {s: people.person(s) if people else s for s in self.subjects()}

    def subjects(self) -> tuple[int, ...]:
        """Each subject once, in the order given."""
        return tuple(dict.fromkeys(self.j.subjects))


def evaluate(
    justification: Justification,
    history: Iterable[Viewing],
    policy: Policy,
    *,
    now: datetime,
    subject_roles: Mapping[int, str] | None = None,
    facts: SubmissionFacts | None = None,
) -> list[Finding]:
    """Every finding about `justification`, in the order of the file's keys.

    `history` is the completed viewings in the case file (all workers, all subjects);
    `subject_roles` maps subject ids to their role ("child", "parent", ...);
    `facts` holds the people (subjects that are one person), the authorisations in
    force and the open emergencies. Raises ValueError only for a naive `now` (a programming error).
    """
    moment = require_aware(now, "now")
    around = facts or SubmissionFacts()
    context = _Context(
        j=justification,
        policy=policy,
        now=moment,
        today=uk_day(moment),
        history=tuple(history),
        roles=subject_roles or {},
        authorised=bool(around.authorised_subjects & set(justification.subjects)),
        facts=around,
    )
    return [finding for rule in _RULES for finding in rule(context)]


def _finding(code: str, message: str, reference: str, field: str | None) -> Finding:
    return Finding(code, RULE_CODES[code], message, reference, field)


def _answers(c: _Context, key: str) -> Iterator[Finding]:
    return answer_findings(c.j, key, c.policy)


def _copied(c: _Context) -> Iterator[Finding]:
    return copied_findings(c.j, c.policy)


def _subjects(c: _Context) -> Iterator[Finding]:
    if not c.j.subjects:
        yield _finding(
            "subjects.missing",
            f"Choose at least one person in {field_label('subjects')} (the person this "
            "research is directed at).",
            ref.HOME_OFFICE_CODE,
            "subjects",
        )
    bad = [s for s in c.subjects() if s < 1]
    if bad:
        yield _finding(
            "subjects.invalid",
            f"Subject ids are positive numbers; remove {', '.join(map(str, bad))}.",
            ref.HOME_OFFICE_CODE,
            "subjects",
        )
    children = [s for s in c.subjects() if str(c.roles.get(s, "")).strip().casefold() == "child"]
    if children:
        who = ", ".join(map(str, children))
        yield _finding(
            "subjects.child",
            f"{'Subject' if len(children) == 1 else 'Subjects'} {who} "
            f"{'is a child' if len(children) == 1 else 'are children'}: take "
            "extra care. Checking what a stranger could learn about a child (name, town, "
            "school, photos) is protective; record only what the question needs and keep "
            "other children out of the record.",
            ref.GDPR_CHILD + "; " + ref.CHILD_SAFETY,
            "subjects",
        )


def _statutory_function(c: _Context) -> Iterator[Finding]:
    function = c.j.statutory_function
    allowed = ", ".join(STATUTORY_FUNCTIONS)
    if not function.strip():
        yield _finding(
            "statutory_function.missing",
            f"Choose the {field_label('statutory_function')} you are acting under (in the "
            f"file, one of {allowed}).",
            ref.CHILDREN_ACT,
            "statutory_function",
        )
    elif function not in STATUTORY_FUNCTIONS:
        yield _finding(
            "statutory_function.unknown",
            f"'{quote(function)}' is not a statutory function; choose one of {allowed}.",
            ref.CHILDREN_ACT,
            "statutory_function",
        )
    elif function == "other":
        yield from _answers(c, "statutory_function_other")


def _data_protection_basis(c: _Context) -> Iterator[Finding]:
    basis = c.j.data_protection_basis
    default = c.policy.default_data_protection_basis
    if not basis.strip():
        yield _finding(
            "data_protection_basis.missing",
            f"Fill in {field_label('data_protection_basis')}, or leave it out for the "
            f"policy default ({default}).",
            ref.GDPR_BASIS,
            "data_protection_basis",
        )
    elif _legitimate_interests(basis):
        yield _finding(
            "data_protection_basis.legitimate_interests",
            "The data-protection basis relies on legitimate interests (UK GDPR Art 6(1)(f)), "
            "which a council cannot use for its public tasks. Use the policy default "
            f"({default}) unless your information governance team advises otherwise.",
            ref.GDPR_LEGITIMATE_INTERESTS,
            "data_protection_basis",
        )
    elif normalised(basis) != normalised(default):
        yield _finding(
            "data_protection_basis.not_default",
            "The data-protection basis differs from the policy default; make sure your "
            "information governance team agrees with it.",
            ref.GDPR_BASIS,
            "data_protection_basis",
        )


# Art 6(1)(f) however it is written ("6(1)(f)", "6 (1) f", "6.1.f"), or by name.
_ARTICLE_6_1_F: Final = re.compile(r"\b6\W*1\W*f\b", re.IGNORECASE)


def _legitimate_interests(basis: str) -> bool:
    return bool(_ARTICLE_6_1_F.search(basis)) or "legitimate interest" in normalised(basis)


def _question(c: _Context) -> Iterator[Finding]:
    found = list(_answers(c, "question"))
    yield from found
    if not found and not concern_words(c.j.question, (*VAGUE_WORDS, *c.policy.boilerplate_phrases)):
        yield _finding(
            "question.vague",
            "The question says how you would look (for example 'check Facebook' or 'see "
            "what is going on') but names no concern. Say what worries you and what this "
            "look must establish, e.g. whether a named adult appears in the parent's "
            "public posts.",
            ANSWERS["question"].reference + "; " + ref.ECHR_ART8,
            "question",
        )


def _criminal_data(c: _Context) -> Iterator[Finding]:
    where = [k for k in ("question", "safety_case") if has_cue(getattr(c.j, k), CRIMINAL_DATA_CUES)]
    if where:
        yield _finding(
            "criminal_offence_data.noted",
            "This request speaks of offences, allegations or the police. What it records about "
            "convictions, offences or allegations is criminal-offence data, processed under UK "
            "GDPR Art 10 with DPA 2018 s10(5) (a Schedule 1 condition, such as safeguarding "
            "of children): record only what the question needs.",
            ref.GDPR_CRIMINAL,
            where[0],
        )


def _two_sides(c: _Context) -> Iterator[Finding]:
    for key in ("safety_case", "ethics_case", "balance"):
        yield from _answers(c, key)


def _necessity(c: _Context) -> Iterator[Finding]:
    routes = c.j.less_intrusive_considered
    allowed = ", ".join(LESS_INTRUSIVE_ROUTES)
    if not routes:
        yield _finding(
            "less_intrusive_considered.missing",
            f"Tick at least one of {field_label('less_intrusive_considered')} (in the file, "
            f"any of {allowed}).",
            ref.NECESSITY,
            "less_intrusive_considered",
        )
    unknown = [r for r in routes if r not in LESS_INTRUSIVE_ROUTES]
    if unknown:
        yield _finding(
            "less_intrusive_considered.unknown",
            f"'{quote(unknown[0])}' is not a route Caseview knows; use {allowed}.",
            ref.NECESSITY,
            "less_intrusive_considered",
        )
    yield from _answers(c, "why_not_enough")


def _intrusion(c: _Context) -> Iterator[Finding]:
    yield from _answers(c, "proportionality")
    level = c.j.intrusion_level
    allowed = ", ".join(INTRUSION_LEVELS)
    if not level.strip():
        yield _finding(
            "intrusion_level.missing",
            f"Choose the {field_label('intrusion_level')} ({allowed}).",
            ref.NECESSITY,
            "intrusion_level",
        )
    elif level not in INTRUSION_LEVELS:
        yield _finding(
            "intrusion_level.unknown",
            f"'{quote(level)}' is not an intrusion level; choose one of {allowed}.",
            ref.NECESSITY,
            "intrusion_level",
        )
    elif level == "high":
        yield _finding(
            "intrusion_level.high",
            f"High intrusion: say in {field_label('balance')} why nothing less intrusive will "
            "do, and the manager should weigh whether this is becoming directed surveillance. "
            + factors_advice(),
            ref.NECESSITY,
            "intrusion_level",
        )
        most = c.policy.high_intrusion_max_viewings
        if c.j.planned_viewings > most and not c.authorised:
            yield _finding(
                "intrusion_level.high_repeat",
                f"A high-intrusion request may plan at most {plural(most, 'viewing')} "
                "unless a surveillance authorisation in force covers the person (recorded "
                "by one manager and confirmed by a second); "
                f"reduce {field_label('planned_viewings')} or lower the "
                f"{field_label('intrusion_level')}.",
                ref.RIPA,
                "planned_viewings",
            )


def _collateral(c: _Context) -> Iterator[Finding]:
    findings = list(_answers(c, "collateral_intrusion"))
    yield from findings
    if not findings and not has_cue(c.j.collateral_intrusion, c.policy.mitigation_cues):
        yield _finding(
            "collateral_intrusion.no_mitigation",
            f"{field_label('collateral_intrusion')} says who may be seen but not how they "
            "will be protected; add how (e.g. not recorded, cropped or redacted).",
            ref.GDPR_MINIMISATION,
            "collateral_intrusion",
        )


def _scope(c: _Context) -> Iterator[Finding]:
    hosts, urls = c.j.scope_hosts, c.j.scope_urls
    if not hosts and not urls:
        yield _finding(
            "scope.empty",
            f"Say where you will look: fill in {field_label('scope_hosts')} or "
            f"{field_label('scope_urls')}.",
            ref.GDPR_MINIMISATION,
            "scope_hosts",
        )
    for host in hosts:
        try:
            normalise_host(host)
        except ValueError as exc:
            yield _finding(
                "scope_hosts.invalid",
                f"'{quote(host)}' in {field_label('scope_hosts')} cannot be used: {exc}.",
                ref.GDPR_MINIMISATION,
                "scope_hosts",
            )
    for url in urls:
        try:
            parse_web_url(url)
        except ValueError as exc:
            yield _finding(
                "scope_urls.invalid",
                f"'{quote(url)}' in {field_label('scope_urls')} cannot be used: {exc}.",
                ref.GDPR_MINIMISATION,
                "scope_urls",
            )
    if hosts and not urls:
        yield _finding(
            "scope.hosts_only",
            f"{field_label('scope_hosts')} names whole sites, so other people's pages on them "
            "could be looked at and recorded under this request. List the subject's own "
            f"profile addresses in {field_label('scope_urls')} as well, to keep the look to "
            "what the question needs; a page known to belong to someone else is refused.",
            ref.GDPR_MINIMISATION,
            "scope_urls",
        )


def _validity(c: _Context) -> Iterator[Finding]:
    # Subtracting dates cannot overflow, whatever the year; adding days to one can.
    days_ahead = (c.j.valid_until - c.today).days
    most = c.policy.max_validity_days
    if days_ahead < 0:
        yield _finding(
            "valid_until.past",
            f"{field_label('valid_until')} ({c.j.valid_until.isoformat()}) has passed (dates "
            f"are UK dates); choose a day from today up to {most} days ahead.",
            ref.COUNCIL_PROTOCOL,
            "valid_until",
        )
    elif days_ahead > most:
        yield _finding(
            "valid_until.too_far",
            f"{field_label('valid_until')} is {days_ahead} days ahead; the policy allows at "
            f"most {most}. Choose an earlier day and make a new request if more time is needed.",
            ref.COUNCIL_PROTOCOL,
            "valid_until",
        )


def _planned_viewings(c: _Context) -> Iterator[Finding]:
    planned = c.j.planned_viewings
    most, warn_above = c.policy.max_planned_viewings, c.policy.warn_planned_viewings_above
    if planned < 1:
        yield _finding(
            "planned_viewings.too_few",
            f"{field_label('planned_viewings')} is {planned}; plan at least 1 viewing.",
            ref.COUNCIL_PROTOCOL,
            "planned_viewings",
        )
    elif planned > most:
        yield _finding(
            "planned_viewings.too_many",
            f"{field_label('planned_viewings')} is {planned}; the policy allows at most {most} "
            "per request. Repeated viewing of one person can become directed surveillance.",
            ref.RIPA,
            "planned_viewings",
        )
    elif planned > warn_above:
        yield _finding(
            "planned_viewings.repeated",
            f"{plural(planned, 'viewing')} planned: say in {field_label('proportionality')} "
            "why one look is not enough. " + factors_advice(),
            ref.COUNCIL_PROTOCOL + "; " + ref.HOME_OFFICE_CODE,
            "planned_viewings",
        )


def _transparency(c: _Context) -> Iterator[Finding]:
    told = c.j.family_told
    allowed = ", ".join(FAMILY_TOLD_VALUES)
    if not told.strip():
        yield _finding(
            "family_told.missing",
            f"Answer {field_label('family_told')} ({allowed}).",
            ref.GDPR_FAIRNESS + "; " + ref.GDPR_TRANSPARENCY,
            "family_told",
        )
    elif told not in FAMILY_TOLD_VALUES:
        yield _finding(
            "family_told.unknown",
            f"'{quote(told)}' is not an answer Caseview knows; use one of {allowed}.",
            ref.GDPR_FAIRNESS + "; " + ref.GDPR_TRANSPARENCY,
            "family_told",
        )
    elif told in ("no", "later"):
        found = list(_answers(c, "family_told_reason"))
        yield from found
        if told == "no" and not found and not has_cue(c.j.family_told_reason, RESTRICTION_CUES):
            yield _finding(
                "family_told_reason.no_restriction",
                f"The family will not be told, so name in {field_label('family_told_reason')} "
                "the DPA 2018 restriction or exemption you rely on, e.g. Schedule 2 paragraph "
                "2 (telling them would be likely to prejudice the prevention or detection of "
                "crime). "
                "Your information governance team can confirm which one applies.",
                ref.GDPR_TRANSPARENCY,
                "family_told_reason",
            )
        if told == "later":
            yield _finding(
                "family_told.later",
                "Record in the evaluation afterwards when and how the family was told.",
                ref.GDPR_TRANSPARENCY + "; " + ref.SOCIAL_WORK_ENGLAND,
                "family_told",
            )


def _attestations(c: _Context) -> Iterator[Finding]:
    for key, (message, reference) in _ATTESTATIONS.items():
        if getattr(c.j, key) is not True:
            yield _finding(
                f"{key}.not_attested",
                f"Tick {field_label(key)} only if {message}",
                reference,
                key,
            )
            continue
        # A promise ticked beside a plan that breaks it is not a promise kept.
        method = unnegated_cue(c.j.proportionality, FORBIDDEN_METHODS[key], NEGATIONS)
        if method is not None:
            yield _finding(
                f"{key}.not_attested",
                f"{field_label('proportionality')} plans '{method}', which breaks the "
                f"promise {field_label(key)}. Change the plan: "
                + message.removeprefix("it is true: "),
                reference,
                "proportionality",
            )


def _emergency(c: _Context) -> Iterator[Finding]:
    if not c.j.emergency:
        return
    yield from _answers(c, "emergency_reason")
    chained = chain_refusal(
        this_id=c.facts.request_id,
        actor=c.facts.author,
        persons=frozenset(c.persons().values()),
        since=c.now,
        open_emergencies=c.facts.open_emergencies,
        now=c.now,
        policy=c.policy,
    )
    if chained is not None:
        yield _finding(
            f"emergency.{chained[0]}", chained[1], ref.RIPA_IMMEDIATE_RESPONSE, "emergency"
        )
    yield _finding(
        "emergency.review_due",
        "Break-glass: usable at once, but a manager must review it within "
        f"{plural(c.policy.emergency_review_hours, 'hour')}; after that it stops working "
        "until reviewed.",
        ref.EMERGENCY,
        "emergency",
    )
    if c.j.planned_viewings > 1:
        yield _finding(
            "emergency.repeat",
            "Break-glass covers an immediate look; plan any further viewings in an "
            "ordinary request approved by a manager.",
            ref.RIPA_IMMEDIATE_RESPONSE + "; " + ref.HOME_OFFICE_CODE,
            "planned_viewings",
        )


def _meter(c: _Context) -> Iterator[Finding]:
    people = c.facts.people
    for subject, person in c.persons().items():
        covered = people.subjects_of(person) if people else frozenset({subject})
        authorised = bool(covered & c.facts.authorised_subjects)
        reading = read_meter(c.history, person, c.now, c.policy, authorised)
        if reading.state == "stop":
            code = "meter.pattern" if reading.pattern else "meter.stop"
            yield _finding(code, reading.message, reading.reference, "subjects")
            continue
        if reading.state == "warn":
            yield _finding("meter.warn", reading.message, reading.reference, "subjects")
        elif reading.state == "authorised":
            yield _finding("meter.authorised", reading.message, reading.reference, "subjects")
        last = reading.count_in_window + c.j.planned_viewings
        if not authorised and last >= c.policy.meter_stop_at:
            yield _finding(
                "meter.plan_reaches_stop",
                f"Subject {subject} has {plural(reading.count_in_window, 'earlier viewing')} "
                f"in the window; your last planned viewing would be the {ordinal(last)}, and "
                f"the meter stops the {ordinal(c.policy.meter_stop_at)}. Plan fewer viewings: "
                "repeated viewing of one person may amount to directed surveillance, which "
                "children's services have no routine route to authorise.",
                ref.RIPA,
                "planned_viewings",
            )


# In the order of the file's keys, so the wizard lists findings top to bottom.
_RULES: Final[tuple[Callable[[_Context], Iterable[Finding]], ...]] = (
    _subjects,
    _statutory_function,
    _data_protection_basis,
    _question,
    _two_sides,
    _criminal_data,
    _necessity,
    _intrusion,
    _collateral,
    _copied,
    _scope,
    _validity,
    _planned_viewings,
    _transparency,
    _attestations,
    _emergency,
    _meter,
)
