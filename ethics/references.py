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
SOCIAL_WORK_ENGLAND = "Social Work England guidance"
NIVEN = "Niven (2012), ethics vs safety"
GDPR_BASIS = "UK GDPR Art 6(1)(e) and Art 9; DPA 2018 Sch 1 para 18"
GDPR_FAIRNESS = "UK GDPR Art 5(1)(a)"
GDPR_MINIMISATION = "UK GDPR Art 5(1)(c)"
CHILD_SAFETY = GDPR_MINIMISATION + "; DPA 2018 Sch 1 para 18 (safeguarding of children)"

# Added with the person-centred meter and the references review (issue 10).
RIPA_IMMEDIATE_RESPONSE = "RIPA 2000 s26(2)(c) (an immediate response to events)"
RIPA_CHIS = "RIPA 2000 s26(8) (covert human intelligence source); " + HOME_OFFICE_CODE
CODE_SUPPLIED = "Home Office Code 3.17 (material obtained on the authority's behalf)"
ECHR_ART8 = "ECHR Art 8(2); Human Rights Act 1998"
GDPR_TRANSPARENCY = (
    "UK GDPR Art 13 and Art 14, with the DPA 2018 restriction or exemption relied on"
)
GDPR_CHILD = "UK GDPR Recital 38 (children merit specific protection)"
GDPR_CRIMINAL = "UK GDPR Art 10 with DPA 2018 s10(5)"
GDPR_LEGITIMATE_INTERESTS = (
    "UK GDPR Art 6(1), final sentence (legitimate interests are not available to a public "
    "authority performing its tasks)"
)
IPCO = "Investigatory Powers Commissioner's Office (IPCO)"
# The OSC's words ("just because this material is out in the open, does not render it
# fair game") are older than IPCO, which took over its oversight in 2017: quote the
# one, name the other as today's oversight body.
COMMISSIONERS = "Surveillance Commissioners' guidance (OSC; oversight now by the " + IPCO + ")"
# Findings about the balance of necessity and proportionality.
NECESSITY = ECHR_ART8 + "; " + HOME_OFFICE_CODE
# A break-glass look: the immediate-response exclusion, and the duty to record why.
EMERGENCY = RIPA_IMMEDIATE_RESPONSE + "; " + SOCIAL_WORK_ENGLAND
