"""The sources each finding and refusal rests on, written once.

Paragraph numbers follow DOMAIN.md; where the brief only supports a range (the Home
Office Code's paragraphs on online research), the range is cited rather than guessing
a single paragraph.
"""

from __future__ import annotations

HOME_OFFICE_CODE = (
    "Home Office Covert Surveillance and Property Interference Code of Practice (2018) 3.10–3.17"
)
RIPA = "RIPA 2000 Part II; " + HOME_OFFICE_CODE
CHILDREN_ACT = "Children Act 1989 (s17, s20, s31, s47)"
COUNCIL_PROTOCOL = "Council protocol (e.g. Wakefield)"
COMMISSIONERS = "Surveillance Commissioners' guidance"
SOCIAL_WORK_ENGLAND = "Social Work England guidance"
NIVEN = "Niven (2012), ethics vs safety"
GDPR_BASIS = "UK GDPR Art 6(1)(e) and Art 9; DPA 2018 Sch 1 para 18"
GDPR_FAIRNESS = "UK GDPR Art 5(1)(a)"
GDPR_MINIMISATION = "UK GDPR Art 5(1)(c)"
CHILD_SAFETY = GDPR_MINIMISATION + "; DPA 2018 Sch 1 para 18 (safeguarding of children)"
