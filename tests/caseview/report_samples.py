"""Report data for tests and benchmarks: one rich, realistic case, and big generated ones.

Fictional throughout. :func:`sample_report` exercises every part of the note (two
justifications, one an emergency with an authorisation reference; findings relied upon
and not; imports with viewed dates; names in Polish, Romanian, Vietnamese and
Ukrainian; an emoji). :func:`big_report` makes N sources with 3 observations each,
deterministically, for the benchmark and the scaling tests.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from caseview.report.model import (
    CLASSIFICATION,
    ReportData,
    ReportDecision,
    ReportJustification,
    ReportNote,
    ReportObservation,
    ReportSource,
)

DATED = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)
NAMES = ("Łucja Wójcik", "Ştefan Popescu", "Zoë Nguyễn", "Олена Коваль")
LIMITATIONS = (
    "A sha256 hash proves that the stored bytes have not changed since they were "
    "captured. It does not prove that the page was genuine, that the account belongs to "
    "the person named, or that what it says is true.",
    "Public posts can be old, shared or reposted from someone else, written in irony or "
    "jest, or missing the context that would change their meaning.",
    "Only what was visible without logging in was viewed. Absence of material online is "
    "not evidence that something did not happen.",
)


def sha(n: int) -> str:
    return hashlib.sha256(f"capture {n}".encode()).hexdigest()


def justification(
    id: int = 7,
    *,
    question: str = "Is the adult shown in the mother's public posts the man named in the "
    "police disclosure of 3 November?",
    safety_case: str = "A police disclosure names a man with convictions for offences "
    "against children. The mother says she has had no contact with him since August. If "
    "he is living in the home, the baby is at immediate risk of significant harm.",
    ethics_case: str = "Looking at the mother's public posts without her knowing intrudes "
    "on her private and family life and may damage trust if discovered; posts can be "
    "old, reposted or misread.",
    author: str = "Wren Worker (wren)",
    reviewer: str = "Mona Manager (mona)",
    emergency: bool = False,
    authorisation_ref: str | None = None,
) -> ReportJustification:
    return ReportJustification(
        id=id,
        version=2,
        author=author,
        subjects=(NAMES[0], NAMES[1]),
        statutory_function="Children Act 1989 s47 (enquiry: reasonable cause to suspect "
        "significant harm)",
        data_protection_basis="UK GDPR Art 6(1)(e); Art 9(2)(g) with DPA 2018 Sch 1 para 18",
        question=question,
        safety_case=safety_case,
        ethics_case=ethics_case,
        balance="A single look at posts she has made public, limited to establishing "
        "contact with one named man, is proportionate to the risk to a baby; nothing else "
        "will be recorded.",
        less_intrusive_considered=("asked_family", "police", "health"),
        why_not_enough="The mother denies contact; the police hold no newer information; "
        "the health visitor has not seen the home since September.",
        proportionality="One viewing of a public profile, recording only posts that show "
        "the named man.",
        intrusion_level="medium",
        collateral_intrusion="Friends and other children may appear in photos; they will "
        "not be recorded, and any captured image will be redacted in the working copy.",
        scope=("social.example", "https://forum.example/t/4411"),
        planned_viewings=1,
        valid_until="2026-12-20",
        family_told="later",
        family_told_reason="Telling the mother before the strategy discussion could place "
        "the baby at further risk.",
        emergency=emergency,
        emergency_reason="The child was reported missing at 02:10 and may be with the man "
        "named by police."
        if emergency
        else "",
        status="approved",
        content_hash=hashlib.sha256(f"justification {id}".encode()).hexdigest(),
        decisions=(
            ReportDecision(
                reviewer=reviewer,
                decision="returned",
                reasons="Please narrow the scope to the public profile only.",
                at=datetime(2026, 11, 3, 10, 5, tzinfo=UTC),
            ),
            ReportDecision(
                reviewer=reviewer,
                decision="approved",
                reasons="Necessary and proportionate: the question is specific, the scope "
                "narrow, and other routes have been tried.",
                at=datetime(2026, 11, 3, 14, 40, tzinfo=UTC),
            ),
        ),
        authorisation_ref=authorisation_ref,
    )


def source(
    id: int,
    *,
    justification_id: int = 7,
    url: str | None = None,
    captured_at: datetime | None = None,
    published: str | None = "2026-10-30T19:02:00Z",
    viewed_at: datetime | None = None,
    title: str | None = "Kerry's public posts",
    grading: str = "B2",
) -> ReportSource:
    imported = viewed_at is not None
    return ReportSource(
        id=id,
        url=url or f"https://social.example/kerry/posts/{1000 + id}",
        final_url=None,
        title=title,
        captured_at=captured_at or datetime(2026, 11, 4, 9, 15, tzinfo=UTC),
        captured_by="Wren Worker (wren)",
        method="import" if imported else "capture",
        origin="family" if imported else "self",
        supplied_by="Maternal grandmother" if imported else None,
        sha256=sha(id),
        size=48_211 + id,
        justification_id=justification_id,
        grading=grading,
        published=published,
        viewed_at=viewed_at,
    )


def observation(
    id: int,
    source_id: int,
    text: str,
    *,
    relied_upon: bool,
    domain: str = "parenting_capacity",
    reliability: str = "B",
    credibility: int = 2,
    risks: tuple[str, ...] = (),
    corroboration: tuple[str, ...] = (),
    author: str = "Wren Worker (wren)",
) -> ReportObservation:
    return ReportObservation(
        id=id,
        source_id=source_id,
        text=text,
        domain=domain,
        reliability=reliability,
        credibility=credibility,
        uk_equivalent={1: "1/A", 2: "1/B", 3: "2/C", 4: "2/D", 5: "3/E", 6: "2/D"}[credibility],
        risks=risks,
        corroboration=corroboration,
        relied_upon=relied_upon,
        author=author,
        recorded_at=datetime(2026, 11, 4, 11, 0, tzinfo=UTC) + timedelta(minutes=id),
    )


RELIED_TEXT = (
    "A photo posted on 30 October shows the man named in the disclosure holding the baby "
    "in the kitchen of the family home; the calendar on the wall reads October 2026."
)
NOT_RELIED_TEXT = (
    "A comment under the photo from an account called 'kez_x' says 'he's back for good "
    "now 😀'. It is not certain whose account this is."
)


def sample_report(**changes: object) -> ReportData:
    """A rich, realistic case; keyword arguments replace top-level fields."""
    j7 = justification(7)
    j9 = justification(
        9,
        question="Where is Zoë Nguyễn now? Her public posts may show her location.",
        emergency=True,
        authorisation_ref="RIPA-2026-0142",
        author="Олена Коваль (olena)",
    )
    sources = (
        source(1),
        source(2, published="14 March 2026", title="Forum thread: 'new dad' – Ştefan P."),
        source(
            3,
            justification_id=9,
            published=None,
            viewed_at=datetime(2026, 11, 20, 22, 40, tzinfo=UTC),
            captured_at=datetime(2026, 11, 21, 8, 5, tzinfo=UTC),
            url="https://video.example/watch?v=abc&list=PL1#t=30",
            title=None,
            grading="C3, F6",
        ),
    )
    observations = (
        observation(
            1,
            1,
            RELIED_TEXT,
            relied_upon=True,
            credibility=2,
            corroboration=("observation 2",),
        ),
        observation(
            2,
            2,
            "Ştefan Popescu's forum post of 14 March describes 'moving in with Łucja and "
            "the little one' at the family's street.",
            relied_upon=True,
            domain="family_environment",
            reliability="C",
            credibility=3,
            risks=("old_post",),
            corroboration=("observation 1", "external check: police confirmed the address"),
        ),
        observation(
            3,
            1,
            NOT_RELIED_TEXT,
            relied_upon=False,
            reliability="F",
            credibility=6,
            risks=("identity_uncertain", "irony"),
        ),
        observation(
            4,
            3,
            "Zoë's public video shows her school uniform and the name of her school on the "
            "gate, visible to anyone.",
            relied_upon=False,
            domain="online_exposure",
            reliability="C",
            credibility=3,
            risks=("context_missing", "Filmed by a friend; date unclear"),
        ),
    )
    note = ReportNote(
        author="Wren Worker (wren)",
        analysis="The photo and the forum post, taken together with the police check, "
        "show that the man has been in the home since at least late October.\n\nThe "
        "comment from 'kez_x' adds nothing that can be relied upon and is listed apart.",
        balance="The intrusion was one viewing of posts the mother had made public; the "
        "risk to the baby outweighs it.",
        conclusion="The information supports convening a strategy discussion today.",
        evaluation_useful="Yes: it answered the question asked.",
        evaluation_decision="Strategy discussion held 25 November; child protection plan.",
        evaluation_family_told="Yes, at the strategy discussion.",
        evaluation_family_response="The mother said the man visits but does not live there.",
    )
    data = ReportData(
        case_reference="CP-2026-0147",
        case_title="Baby W — s47 enquiry",
        classification=CLASSIFICATION,
        subjects=(
            (NAMES[0], "mother"),
            (NAMES[1], "partner"),
            (NAMES[2], "child"),
            (NAMES[3], "grandmother"),
        ),
        author="Wren Worker (wren)",
        dated=DATED,
        checkpoint_seq=4211,
        checkpoint_hash=hashlib.sha256(b"checkpoint").hexdigest(),
        case_file_name="cp-2026-0147.db",
        tool="caseview 0.1.0",
        justifications=(j7, j9),
        observations=observations,
        sources=sources,
        note=note,
        limitations=LIMITATIONS,
    )
    return replace(data, **changes)  # type: ignore[arg-type]


_DOMAINS = ("developmental_needs", "parenting_capacity", "family_environment", "online_exposure")
_RISKS = ("old_post", "repost", "irony", "identity_uncertain", "context_missing")


def big_report(n_sources: int, observations_per_source: int = 3) -> ReportData:
    """``n_sources`` captures over about 2 months, each with 3 graded observations."""
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    sources = []
    observations = []
    for i in range(1, n_sources + 1):
        captured = start + timedelta(minutes=83 * i)
        imported = i % 7 == 0
        sources.append(
            source(
                i,
                url=f"https://social.example/{NAMES[i % 4].split()[0].lower()}/posts/{i:06d}",
                captured_at=captured,
                published=(captured - timedelta(days=i % 40)).date().isoformat() if i % 3 else None,
                viewed_at=captured - timedelta(hours=5) if imported else None,
                title=f"Post {i} by {NAMES[i % 4]}",
                grading="B2, C3, F6",
            )
        )
        for k in range(observations_per_source):
            n = (i - 1) * observations_per_source + k + 1
            credibility = 1 + (n * 5) % 6
            corroborated = n % 4 == 0
            observations.append(
                observation(
                    n,
                    i,
                    f"Observation {n} on source {i}: the post by {NAMES[n % 4]} shows the "
                    f"adult named in the disclosure in the family home, with a date on the "
                    f"wall calendar; see the captured copy for the full context ({n}).",
                    relied_upon=credibility <= 2 or corroborated,
                    domain=_DOMAINS[n % 4],
                    reliability="ABCDEF"[n % 6],
                    credibility=credibility,
                    risks=(_RISKS[n % 5],) if credibility > 2 else (),
                    corroboration=(f"observation {n - 1}",) if corroborated else (),
                )
            )
    return sample_report(sources=tuple(sources), observations=tuple(observations))
