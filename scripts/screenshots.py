"""Screenshots of the desktop app's main screens, from the demo case file, offscreen.

    uv run python scripts/screenshots.py            # writes docs/screenshots/*.png

Builds the fictional demo case file in a temporary folder, opens the app on it without
a screen (Qt's offscreen platform) and saves one PNG per screen, so the pictures in the
README always show the current app. Look at each one after a change to the UI.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSize  # after the platform is chosen, above
from PySide6.QtWidgets import QApplication, QWidget

import ethics
from caseview import (
    accounts,
    captures,
    cases,
    demo,
    justifications,
    notes,
    observations,
)
from caseview.clock import FixedClock, system_clock
from caseview.storage import open_case_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SIZE = QSize(1280, 800)

REQUEST = {
    "statutory_function": "s47",
    "question": (
        "Is the adult in Alex Example's public photos the man named in the police "
        "disclosure of 3 November?"
    ),
    "safety_case": (
        "A police disclosure names a man with convictions for offences against children. "
        "Alex says there has been no contact since August. If he is living in the home, "
        "Jordan is at risk of significant harm."
    ),
    "ethics_case": (
        "Looking at Alex's public posts without Alex knowing intrudes on private and family "
        "life and may damage trust if discovered; posts can be old, reposted or misread."
    ),
    "balance": (
        "One look at posts Alex has made public, limited to contact with one named man, is "
        "proportionate to the risk to a child; nothing else will be recorded."
    ),
    "less_intrusive_considered": ["asked_family", "police", "school"],
    "why_not_enough": (
        "Alex denies contact; the police hold no newer information; the school has not "
        "seen anyone collect Jordan."
    ),
    "proportionality": "One viewing of a public profile, recording only posts that show the man.",
    "intrusion_level": "medium",
    "collateral_intrusion": (
        "Friends and other children may appear in photos; they will not be recorded, and "
        "any image kept will be cropped in the working copy."
    ),
    "scope_hosts": ["social.example"],
    "scope_urls": [],
    "planned_viewings": 2,
    "family_told": "later",
    "family_told_reason": (
        "Telling Alex before the strategy discussion could place Jordan at further risk."
    ),
    "attest_logged_out": True,
    "attest_no_personal_or_fake_profile": True,
    "attest_no_interaction": True,
    "attest_no_restricted_content": True,
    "emergency": False,
    "emergency_reason": "",
}
PAGES = (
    ("Alex Example — summer barbecue photos", "Photos from a garden barbecue, July."),
    ("Alex Example — new car!", "A post about a new car, with a street visible."),
    ("Community football club — under-14 results", "Jordan's team won 3-1 on Saturday."),
    ("Alex Example — moving house soon", "A post saying the family may move in December."),
)


def request(subject_ids: list[int], days: int = 14, **changes: object) -> ethics.Justification:
    fields = {
        **REQUEST,
        "subjects": subject_ids,
        "valid_until": system_clock().date() + timedelta(days=days),
        **changes,
    }
    return ethics.parse_justification(fields)


def enrich(path: Path) -> None:
    """Requests, sources, observations and a note, all fictional, for the pictures.

    Only when the demo file has no requests yet (the demo builder may add its own).
    """
    with open_case_file(path) as casefile:
        worker = accounts.login(casefile, "demo-worker", demo.PASSWORD)
        manager = accounts.login(casefile, "demo-manager", demo.PASSWORD)
        [case] = cases.list_cases(manager)
        if justifications.list_for_case(manager, case.id):
            return
        jordan, alex = cases.list_subjects(manager, case.id)
        draft = justifications.create(worker, case.id, request([alex.id]))
        justifications.submit(worker, draft.id)
        approved = justifications.review(
            manager, draft.id, "approve", "Proportionate: one named man, two looks at most."
        )
        pending = justifications.create(
            worker,
            case.id,
            request(
                [jordan.id],
                question="Is Jordan's football club page showing where Jordan trains each week?",
                planned_viewings=1,
            ),
        )
        justifications.submit(worker, pending.id)
        earlier = FixedClock(system_clock() - timedelta(hours=30))
        with open_case_file(path) as other:
            late = accounts.login(other, "demo-worker", demo.PASSWORD, clock=earlier)
            urgent = justifications.create(
                late,
                case.id,
                request(
                    [alex.id],
                    emergency=True,
                    emergency_reason=(
                        "Alex posted that the named man is at the house tonight and Jordan "
                        "is home alone with him."
                    ),
                ),
            )
            justifications.submit(late, urgent.id)
        sources = []
        for title, body in PAGES:
            page = f"<html><head><title>{title}</title></head><body><p>{body}</p></body></html>"
            sources.append(
                captures.import_file(
                    worker,
                    case.id,
                    page.encode(),
                    url="https://social.example/alex.example/" + title.split("—")[-1].strip(),
                    viewed_at=worker.now() - timedelta(hours=2),
                    justification_id=approved.id,
                    subject_id=alex.id,
                    origin="family",
                    supplied_by="Jordan's grandmother",
                    filename="page.html",
                )
            )
        observations.add(
            worker,
            sources[0].id,
            "A man matching the description in the disclosure appears in two photos.",
            domain="family_environment",
            reliability="C",
            credibility=3,
            risks=["old_post", "identity_uncertain"],
        )
        observations.add(
            worker,
            sources[3].id,
            "The family may move in December; the school has not been told.",
            domain="parenting_capacity",
            reliability="B",
            credibility=2,
        )
        notes.save(
            worker,
            case.id,
            analysis=(
                "Two photos may show the named man at a family barbecue in July. The posts "
                "are supplied by a relative and may be old; the man is not named in them."
            ),
            balance=(
                "The look was limited to posts supplied by the family; nothing was viewed "
                "directly, so no viewing counts against the meter."
            ),
            conclusion="Discuss at the strategy meeting; ask the police to check the photos.",
        )


def pump(app: QApplication, seconds: float = 0.4) -> None:
    """Let background loads finish and the screen settle."""
    from ui import tasks

    end = time.monotonic() + seconds
    while time.monotonic() < end or tasks.running():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end + 20:
            raise RuntimeError("background work did not finish within 20 s")


def shoot(app: QApplication, widget: QWidget, name: str) -> Path:
    pump(app)
    target = OUT / f"{name}.png"
    widget.grab().save(str(target))
    print(f"wrote {target.relative_to(ROOT)}")
    return target


def main() -> int:
    from ui import jobs
    from ui.app import open_main_window

    OUT.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory() as folder:
        path = demo.build(Path(folder) / "demo.db")
        enrich(path)
        worker = open_main_window(
            path, jobs.sign_in(path, "demo-worker", demo.PASSWORD), demo_banner=True
        )
        worker.resize(SIZE)
        pump(app, 1.0)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("main-overview", lambda: worker.case_view.show_tab(0)),
            ("main-sources", lambda: worker.case_view.show_tab(1)),
            ("main-observations", lambda: worker.case_view.show_tab(2)),
            ("main-note", lambda: worker.case_view.show_tab(3)),
            ("main-audit", lambda: worker.case_view.show_tab(4)),
        ]
        for name, step in steps:
            step()
            shoot(app, worker, name)
        worker.case_view.audit.verify()
        shoot(app, worker, "main-audit-verified")

        case = worker.current_case()
        assert case is not None
        worker.open_wizard(case.id)
        wizard = worker.wizard
        wizard.resize(SIZE)
        pump(app, 1.0)
        wizard.question.setPlainText("Who is the man in the barbecue photos?")
        wizard.safety.setPlainText(REQUEST["safety_case"])  # type: ignore[arg-type]
        wizard.ethics_case.setPlainText("It intrudes.")
        wizard.compute_findings()
        shoot(app, wizard, "justification-wizard")
        wizard.dirty = False
        wizard.hide()

        manager = open_main_window(
            path, jobs.sign_in(path, "demo-manager", demo.PASSWORD), demo_banner=True
        )
        manager.resize(SIZE)
        manager.open_review_queue()
        manager.review_queue.resize(SIZE)
        pump(app, 1.0)
        shoot(app, manager.review_queue, "review-queue")
        for window in (worker, manager):
            window.close()
        pump(app, 0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
