"""What the signed-in user may do on a case now, each with the reason when not.

The desktop app enables its buttons from this answer and shows the reasons as tooltips;
``caseview case show`` lists it. It decides nothing itself: each answer comes from
calling the permission function the service calls (``caseview.permissions``) and
taking the message of the ``PermissionDenied`` it raises, so the reason is the one the
service would give. The services check every rule again when the action is taken.

The look actions (view, capture, import, record supplied material, browse) answer
only the case's rules (role, allocation, closed) and whether any request to look can
be used now; which page, which person and the repeat-viewing meter are the gate's
questions for one intended look (``viewings.check``), asked in the dialogs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields

from caseview import audit, justifications, permissions
from caseview.errors import PermissionDenied
from caseview.session import Session

NO_CASE = "Choose a case first."
NO_USABLE_REQUEST = (
    "No request to look allows this now: a request must be approved by a manager (or be "
    "an emergency in use). Write one with 'New request to look'."
)


@dataclass(frozen=True)
class Ability:
    """May the user do one thing now? ``reason`` says why not ("" when allowed) and what
    to do about it; ``rule`` names the rule that refused ("" when allowed)."""

    allowed: bool
    reason: str = ""
    rule: str = ""


ALLOWED = Ability(True)


@dataclass(frozen=True)
class Abilities:
    """Every action the app and the command line offer on a case, for one user now."""

    case_id: int | None
    # Reading and exporting
    read: Ability
    export_pdf: Ability
    export_warc: Ability
    verify: Ability
    # Requests to look
    write_justification: Ability
    submit_justification: Ability
    """Submitting a draft; only its author may submit it (checked on the draft itself)."""
    review_justifications: Ability
    # Looks (the gate decides each one; see the module docstring)
    view: Ability
    capture: Ability
    import_file: Ability
    record_supplied: Ability
    browse: Ability
    # Analysis
    observe: Ability
    write_note: Ability
    review_exposure: Ability
    # The case itself
    add_person: Ability
    manage_case: Ability
    """Allocate workers, take them off, close or reopen the case."""
    # Not about one case
    review_queue: Ability
    create_case: Ability
    manage_users: Ability
    see_users: Ability

    def __getitem__(self, action: str) -> Ability:
        """The ability for ``action`` (one of ``ACTIONS``); KeyError for anything else."""
        if action not in ACTIONS:
            raise KeyError(action)
        ability: Ability = getattr(self, action)
        return ability

    def items(self) -> Iterator[tuple[str, Ability]]:
        """(action, ability) for every action, in the order above."""
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Ability):
                yield field.name, value

    def as_json(self) -> dict[str, dict[str, object]]:
        return {
            action: {"allowed": ability.allowed, "reason": ability.reason}
            for action, ability in self.items()
        }


ACTIONS = tuple(f.name for f in fields(Abilities) if f.name != "case_id")


def _ask(check: Callable[[], object]) -> Ability:
    """Allowed if ``check`` returns; else refused with the message it raised."""
    try:
        check()
    except PermissionDenied as refused:
        return Ability(False, str(refused), refused.rule)
    return ALLOWED


def _look(session: Session, case_id: int) -> Ability:
    """The case's rules for a look, then: is there any request the look could go under?"""
    case_rules = _ask(lambda: permissions.case_for_looking(session, case_id))
    if not case_rules.allowed:
        return case_rules
    if any(record.usable for record in justifications.list_for_case(session, case_id)):
        return ALLOWED
    return Ability(False, NO_USABLE_REQUEST, "no_usable_request")


def abilities(session: Session, case_id: int | None) -> Abilities:
    """What ``session``'s user may do on case ``case_id`` now (``None``: no case chosen,
    so only the actions not about one case can be allowed).

    Raises ``NotFound`` if the case does not exist; a case the user may not see is
    answered, every case action refused with the allocation rule's message.
    """
    general = {
        "review_queue": _ask(
            lambda: permissions.require_reviewer(session, doing="see the review queue")
        ),
        "create_case": _ask(lambda: permissions.require_case_creator(session)),
        "manage_users": _ask(lambda: permissions.require_account_manager(session)),
        "see_users": _ask(lambda: permissions.require_account_reader(session)),
    }
    if case_id is None:
        answers = dict.fromkeys(ACTIONS, Ability(False, NO_CASE, "no_case"))
        return Abilities(None, **{**answers, **general})
    cid = case_id

    def changing(doing: str) -> Ability:
        return _ask(lambda: permissions.case_for_changing(session, cid, doing=doing))

    read = _ask(lambda: permissions.case_for_reading(session, cid))
    look = _look(session, cid)

    def reviewing() -> None:
        permissions.require_reviewer(session)
        permissions.case_for_reading(session, cid)

    return Abilities(
        case_id=cid,
        read=read,
        # export_pdf's own role check admits every role; the case must be readable.
        export_pdf=read,
        export_warc=read,
        # Anyone holding a case file may verify it; on a server, managers and auditors.
        verify=_ask(lambda: audit.require_verifier(session)),
        write_justification=changing("write a justification"),
        submit_justification=changing("submit a justification"),
        review_justifications=_ask(reviewing),
        view=look,
        capture=look,
        import_file=look,
        record_supplied=look,
        browse=look,
        observe=changing("record observations"),
        write_note=changing("write the note"),
        review_exposure=changing("confirm exposure findings"),
        add_person=changing("add people to a case"),
        manage_case=_ask(lambda: permissions.case_for_managing(session, cid)),
        **general,
    )
