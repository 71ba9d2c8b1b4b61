"""A fictional demo case file: every name, place, page and account in it is invented.

``build`` tells one short story through the ordinary service functions, so the file
holds what real use would leave behind and passes ``caseview verify``: three accounts,
a case with two subjects, requests to look in each state (approved, pending review, and
an emergency whose review is overdue), pages captured over HTTP with their real
provenance, a page a relative supplied, graded observations and a reasoned note.

The pages are bundled with the package (``caseview/demo_pages``) and served during the
build by a web server on 127.0.0.1 only, started and stopped inside ``build``. The
made-up site names (``social.example``, ``clubs.example``) reach it through a resolver
handed to the capture, and only those names are allowed onto the loopback address, for
that capture alone; nothing else on the network is contacted and no setting outside
the call changes.

The story starts three days before the build, so the emergency request is more than
24 hours old and overdue; everything captured is captured at the real time of the
build, as collectors timestamp what they fetch.

The demo accounts share the password ``demo``, which the console and the window
title say plainly; they are created below the normal minimum length on purpose and
only here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

import ethics
from caseview import accounts, audit, captures, cases, justifications, notes, observations
from caseview.clock import FixedClock, system_clock
from caseview.domain import Role, User
from caseview.errors import CaseFileError
from caseview.session import Session
from caseview.storage import CaseFile, open_case_file, people
from caseview.storage import audit as audit_sql
from caseview.storage.casefile import built_beside

PASSWORD = "demo"
USERS = {
    "demo-manager": ("Dana Okafor (demo manager)", Role.MANAGER),
    "demo-worker": ("Sam Whitfield (demo worker)", Role.WORKER),
    "demo-auditor": ("Priya Lang (demo auditor)", Role.AUDITOR),
}
SIGN_IN_HINT = f"Demo accounts: {', '.join(USERS)}; the password for each is {PASSWORD}."
"""Shown in the demo app's sign-in dialog: the terminal that printed them may be hidden."""
CASE_REFERENCE = "DEMO-0001"
BUILT = "demo.built"
"""The build's last event: while it is the file's last, nobody has worked in the file."""

LOOPBACK = "127.0.0.1"
SITES = ("social.example", "clubs.example")
# What the local site serves: (host, path) -> a file in caseview/demo_pages.
PAGES = {
    ("social.example", "/alex.example"): "alex-profile.html",
    ("social.example", "/alex.example/posts/summer-barbecue"): "alex-barbecue.html",
    ("clubs.example", "/oakfield-juniors/under-14s"): "oakfield-under-14s.html",
}
# An old short address that moves on, so one capture shows a redirect chain.
REDIRECTS = {("social.example", "/alex"): "/alex.example"}
# A post Jordan's grandmother saved and gave the worker: imported, never fetched.
SUPPLIED_PAGE = "alex-lee-staying-saved.html"
SUPPLIED_URL = "https://social.example/alex.example/posts/lee-staying-with-us"


CAPTURE_HINT = (
    "In the demo, its made-up sites (social.example, clubs.example) exist only inside the "
    "evidence browser: use Browse… (Ctrl+B), then Capture this page (Ctrl+S). This dialog "
    "fetches from the internet, where they cannot be found."
)
"""Said in the demo app's capture dialog: a plain capture reaches only the internet."""

BROWSE_START = "http://social.example/alex.example"
"""Where the evidence browser opens on the demo: Alex's profile, served on this machine."""


def serve_for_browsing() -> _DemoSite:
    """Serve the demo's pages for as long as this process runs (the app's evidence
    browser reaches them by name through :meth:`_DemoSite.resolver_rules`)."""
    site = _DemoSite()
    site.__enter__()
    return site


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("caseview", appauthor=False)) / "caseview-demo.db"


def page_bytes(name: str) -> bytes:
    """The bytes of a bundled demo page, exactly as the local site serves them."""
    return resources.files("caseview").joinpath("demo_pages", name).read_bytes()


@dataclass(frozen=True)
class Prepared:
    """The demo file to open, and what to tell the person about it."""

    path: Path
    built: bool
    """False: an earlier demo file, kept as it was because someone worked in it."""
    note: str = ""


def prepare(path: Path, *, fresh: bool = False) -> Prepared:
    """The demo file for ``caseview demo``: never one that someone has worked in, lost.

    With nothing at ``path``, or a demo file there exactly as the demo left it, the demo
    is built there. A demo file that has changed since it was built (any event after
    its ``demo.built``) is kept: it is opened as it is, or with ``fresh`` a new demo is
    built beside it (``caseview-demo-2.db``, then ``-3``…). A file with real accounts
    is refused (``CaseFileError``), as in :func:`build`.
    """
    if not (path.exists() and _changed_since_built(path)):
        return Prepared(build(path), built=True)
    if not fresh:
        return Prepared(
            path,
            built=False,
            note=(
                f"The demo case file {path} has changed since it was built, so it was not "
                "rebuilt: it opens as it is, with the work done in it. For a new demo file "
                "beside it, run 'caseview demo --fresh'."
            ),
        )
    beside = _free_path_beside(path)
    return Prepared(
        build(beside),
        built=True,
        note=(
            f"The demo case file {path} has changed since it was built, so it was kept; "
            f"a new demo file was built beside it: {beside}"
        ),
    )


def _free_path_beside(path: Path) -> Path:
    number = 2
    while (candidate := path.with_name(f"{path.stem}-{number}{path.suffix}")).exists():
        number += 1
    return candidate


def _changed_since_built(path: Path) -> bool:
    """Whether anything was recorded after the demo was built (its last event is no
    longer the build's own ``demo.built``). Raises ``CaseFileError`` for a file that is
    not a demo file: one with real accounts, or not a case file at all."""
    with open_case_file(path, read_only=True) as existing:
        names = {u.username for u in _all_users(existing)}
        if not names <= set(USERS):
            raise CaseFileError(
                f"{path} holds real accounts, so the demo will not overwrite it. "
                "Give the demo another path with --db."
            )
        head = audit.head(existing.conn)
        last = audit_sql.events(existing.conn, after=head.seq - 1, limit=1)
    # An empty log: nothing was ever done in it (a build cut short before this one put
    # builds in place whole, say), so nothing is lost by building again.
    return bool(last) and last[0]["action"] != BUILT


def build(path: Path) -> Path:
    """Create the demo case file at ``path``, replacing an earlier demo file there that
    is as the demo left it; one that someone has worked in is never replaced
    (``CaseFileError``; :func:`prepare` keeps it or builds beside it)."""
    if path.exists() and _changed_since_built(path):
        raise CaseFileError(
            f"The demo case file {path} has changed since it was built, so it was not "
            "overwritten. Run 'caseview demo --fresh' for a new demo file beside it."
        )
    # Put in place whole (built_beside): a build cut short leaves no half-built demo at
    # ``path`` that would then look like a file someone had worked in.
    with built_beside(path, replacing=True) as casefile, _DemoSite() as site:
        _tell_the_story(casefile, site)
    return path


def _all_users(casefile: CaseFile) -> list[User]:
    return [accounts.user_from_row(row) for row in people.list_users(casefile.conn)]


def describe(path: Path, *, built: bool = True) -> str:
    """How to use the demo file at ``path``: as built, or (``built`` False) as someone
    has worked in it since, when request 1's last look may have been used."""
    left = (
        "one look is left under request 1."
        if built
        else "the demo left request 1 one look,\nwhich may have been used since."
    )
    return (
        f"Demo case file (fictional data only): {path}\n"
        f"Accounts: {', '.join(USERS)}; password for each: {PASSWORD}\n"
        f"Case {CASE_REFERENCE}: two people; requests approved, waiting for review and an\n"
        "overdue emergency; captured pages, observations and a reasoned note.\n"
        "In the app, Browse… (Ctrl+B) opens the evidence browser on Alex's public profile,\n"
        f"served on this machine while the app runs; {left}\n"
        f"Try: caseview --db {path} --user demo-worker case list\n"
    )


# --- the local site -------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "caseview-demo-site"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the console is for the demo's own message

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        key = (host, self.path.split("?")[0])
        if key in REDIRECTS:
            self._reply(301, b"moved", location=REDIRECTS[key])
        elif key in PAGES:
            self._reply(200, page_bytes(PAGES[key]))
        else:
            self._reply(404, b"<!DOCTYPE html><title>Not found</title><p>No such page.</p>")

    def _reply(self, status: int, body: bytes, *, location: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class _DemoSite:
    """The bundled pages over HTTP on 127.0.0.1, on a port the system picks."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stopping takes a moment, not half a second
            name="caseview demo site",
            daemon=True,
        )

    def __enter__(self) -> _DemoSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def resolver_rules(self) -> str:
        """Chromium's flag that sends the demo's made-up sites to this server, so the
        evidence browser can open ``http://social.example/alex.example``."""
        rules = ",".join(f"MAP {host} {LOOPBACK}:{self.port}" for host in SITES)
        return f"--host-resolver-rules={rules}"

    @staticmethod
    def resolve(host: str) -> list[str]:
        """The demo's made-up sites are all here; any other name is not looked up."""
        if host not in SITES:
            raise OSError(f"{host} is not one of the demo's sites")
        return [LOOPBACK]

    def capture(
        self, session: Session, case_id: int, host: str, path: str, *, request: int, subject: int
    ) -> captures.SourceRecord:
        """Capture a demo page the way a worker would, through the gate and the fetcher."""
        return captures.capture_url(
            session,
            case_id,
            self.url(host, path),
            justification_id=request,
            subject_id=subject,
            attested=True,
            resolver=self.resolve,
            allow_hosts=SITES,  # loopback is allowed for these names, for this call only
            deadline_s=10.0,
        )


# --- the story ------------------------------------------------------------------------

# The parts every request in the story shares; each request changes what it must.
REQUEST: dict[str, object] = {
    "statutory_function": "s47",
    "less_intrusive_considered": ["asked_family", "police", "school"],
    "why_not_enough": (
        "Alex denies contact; the police hold no newer information; the school has not "
        "seen anyone new collect Jordan."
    ),
    "intrusion_level": "medium",
    "collateral_intrusion": (
        "Friends and other children may appear in posts and photos; they will not be "
        "recorded, and any image kept will be cropped in the working copy."
    ),
    "scope_urls": [],
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
LEE = {
    "question": (
        "Is the adult in Alex Example's public photos the man named in the police "
        "disclosure of 3 November?"
    ),
    "safety_case": (
        "A police disclosure names Lee Sample, a man with convictions for offences against "
        "children. Alex says there has been no contact since August. If he is living in "
        "the home, Jordan is at risk of significant harm."
    ),
    "ethics_case": (
        "Looking at Alex's public posts without Alex knowing intrudes on private and family "
        "life and may damage trust if discovered; posts can be old, reposted or misread."
    ),
    "balance": (
        "Looking at posts Alex has made public, limited to contact with one named man, is "
        "proportionate to the risk to a child; nothing else will be recorded."
    ),
    "proportionality": (
        "Up to three viewings of a public profile, recording only posts that show the man."
    ),
    "scope_hosts": ["social.example"],
    # Two are used by the story's captures; the third is left for trying the evidence
    # browser on the demo (``serve_for_browsing``).
    "planned_viewings": 3,
}
CLUB = {
    "statutory_function": "s17",
    "question": (
        "Does the football club's public page tell strangers where and when Jordan can be found "
        "each week?"
    ),
    "safety_case": (
        "Lee Sample has asked neighbours where Jordan plays football. If the club page gives "
        "Jordan's name, school and training times, he can find Jordan without Alex knowing."
    ),
    "ethics_case": (
        "The page is the club's, not the family's, but it is about a child; reading it "
        "records details of Jordan and of other children that the family did not choose to "
        "share with us."
    ),
    "balance": (
        "One look at one public club page, keeping only what identifies or locates Jordan, "
        "is a small intrusion against a real chance of Jordan being found by Lee."
    ),
    "less_intrusive_considered": ["asked_family", "school"],
    "why_not_enough": (
        "Alex does not know what the club publishes; the school cannot speak for the club."
    ),
    "proportionality": "One viewing of the under-14s page; other children's details are not kept.",
    "intrusion_level": "low",
    "scope_hosts": ["clubs.example"],
    "planned_viewings": 1,
}
VIDEOS = {
    "question": "Do Jordan's public videos show the inside of the home and who is living there?",
    "safety_case": (
        "Jordan told a teacher that 'Mum's friend' sleeps over most nights. Videos filmed at "
        "home could show whether an adult man is living there, which Alex denies."
    ),
    "ethics_case": (
        "Jordan is twelve and posts for friends, not for social workers; watching a child's "
        "videos without telling them may feel like spying if Jordan finds out later."
    ),
    "balance": (
        "A single look at the three most recent public videos, noting only adults who appear, "
        "is justified while the disclosure is unresolved."
    ),
    "proportionality": "One viewing of the channel page; only adults in the home are noted.",
    "scope_hosts": ["video.example"],
    "planned_viewings": 1,
}
TONIGHT = {
    **LEE,
    "question": "Is Lee Sample at the house with Jordan tonight, as Alex's latest post suggests?",
    "proportionality": "One viewing of Alex's latest public post, and nothing else.",
    "planned_viewings": 1,
    "emergency": True,
    "emergency_reason": (
        "A neighbour rang at 10 pm to say Alex has posted that Lee is babysitting Jordan "
        "tonight while Alex works a night shift."
    ),
}


@dataclass(frozen=True)
class _Cast:
    case_id: int
    jordan: int
    alex: int


def _request(subjects: list[int], on: date, fields: dict[str, object]) -> ethics.Justification:
    return ethics.parse_justification(
        {**REQUEST, **fields, "subjects": subjects, "valid_until": on + timedelta(days=14)}
    )


def _tell_the_story(casefile: CaseFile, site: _DemoSite) -> None:
    now = system_clock()
    story = FixedClock(now - timedelta(days=3))
    with casefile.write() as conn:
        staff: dict[str, User] = {}
        for username, (display, role) in USERS.items():
            # The demo manager is the first account; the others are the manager's to add.
            staff[username] = accounts._insert(
                conn,
                username=username,
                display_name=display,
                role=role,
                password=PASSWORD,
                created_by=staff.get("demo-manager"),
                clock=story,
            )
    # The builder acts for the demo people without signing them in: nobody logged in,
    # and checking the password just set would cost an argon2 round each.
    manager = Session(casefile, staff["demo-manager"], story)
    cast = _open_the_case(manager)
    story.advance(hours=1)
    worker = Session(casefile, staff["demo-worker"], story)
    lee, club = _approved_requests(worker, manager, story, cast)
    story.now = now - timedelta(hours=30)
    tonight = justifications.create(
        worker, cast.case_id, _request([cast.alex], story.now.date(), TONIGHT)
    )
    justifications.submit(worker, tonight.id)  # and no manager reviews it within 24 hours
    story.now = now - timedelta(hours=3)
    videos = justifications.create(
        worker, cast.case_id, _request([cast.jordan], story.now.date(), VIDEOS)
    )
    justifications.submit(worker, videos.id)  # waiting in the manager's queue
    # Captures are stamped with the real time by the fetcher; the rest of the story
    # keeps to it, so the audit trail stays in order.
    worker.clock = manager.clock = system_clock
    _gather_and_conclude(worker, site, cast, lee, club)
    with casefile.write() as conn:
        audit.record(
            conn,
            at=system_clock(),
            actor="demo-manager",
            action=BUILT,
            entity="case_file",
            data={"note": "fictional demo data"},
        )


def _open_the_case(manager: Session) -> _Cast:
    case = cases.create_case(manager, CASE_REFERENCE, "Example family (fictional demo data)")
    cases.allocate(manager, case.id, "demo-worker")
    jordan = cases.add_subject(
        manager,
        case.id,
        "Jordan Example",
        "child",
        date_of_birth=date(2014, 5, 14),
        handles=["https://video.example/@jordan.plays"],
    )
    alex = cases.add_subject(
        manager,
        case.id,
        "Alex Example",
        "parent",
        handles=["https://social.example/alex.example"],
    )
    return _Cast(case.id, jordan.id, alex.id)


def _approved_requests(
    worker: Session, manager: Session, story: FixedClock, cast: _Cast
) -> tuple[int, int]:
    lee = justifications.create(worker, cast.case_id, _request([cast.alex], story.now.date(), LEE))
    justifications.submit(worker, lee.id)
    story.advance(hours=2)
    justifications.review(
        manager, lee.id, "approve", "Proportionate: one named man, three looks at most."
    )
    story.advance(hours=20)
    club = justifications.create(
        worker, cast.case_id, _request([cast.jordan], story.now.date(), CLUB)
    )
    justifications.submit(worker, club.id)
    story.advance(hours=1)
    justifications.review(
        manager,
        club.id,
        "approve",
        "Approved: protective, one page, and other children's details are not to be kept.",
    )
    return lee.id, club.id


def _gather_and_conclude(
    worker: Session, site: _DemoSite, cast: _Cast, lee: int, club: int
) -> None:
    case_id = cast.case_id
    profile = site.capture(
        worker, case_id, "social.example", "/alex", request=lee, subject=cast.alex
    )
    barbecue = site.capture(
        worker,
        case_id,
        "social.example",
        "/alex.example/posts/summer-barbecue",
        request=lee,
        subject=cast.alex,
    )
    team = site.capture(
        worker,
        case_id,
        "clubs.example",
        "/oakfield-juniors/under-14s",
        request=club,
        subject=cast.jordan,
    )
    saved = captures.import_file(
        worker,
        case_id,
        page_bytes(SUPPLIED_PAGE),
        url=SUPPLIED_URL,
        viewed_at=worker.now() - timedelta(days=1),
        justification_id=lee,
        subject_id=cast.alex,
        origin="family",
        supplied_by="Jordan's grandmother (maternal), on a memory stick at the home visit",
        filename="Lee staying with us.html",
    )
    for finding in team.exposure:
        if finding.kind in ("full_name", "school"):
            captures.review_exposure(worker, finding.id, True)

    photos = observations.add(
        worker,
        barbecue.id,
        "The man at the grill is tagged 'Lee S.' and matches the disclosure's description "
        "(tattoo on the left forearm). The page dates the post to July 2024, before Alex "
        "says contact stopped, so it does not show contact now.",
        domain="family_environment",
        reliability="C",
        credibility=3,
        risks=["old_post", "identity_uncertain"],
    )
    observations.add(
        worker,
        saved.id,
        "Alex wrote on 5 November that Lee is staying with the family 'for a bit'. This "
        "contradicts Alex's account of no contact since August.",
        domain="parenting_capacity",
        reliability="B",
        credibility=3,
        risks=["context_missing"],
        corroborates=[photos.id],
    )
    observations.add(
        worker,
        profile.id,
        "Alex's public profile says the family are moving 'before Christmas' and will not "
        "say where. Neither the school nor this service has been told of a move.",
        domain="family_environment",
        reliability="B",
        credibility=2,
    )
    observations.add(
        worker,
        team.id,
        "The club's public page gives Jordan's full name, school, town and the time and "
        "place of weekly training: enough for a stranger to find Jordan.",
        domain="online_exposure",
        reliability="A",
        credibility=1,
        confirmed_by="A phone call to the club secretary",
        check_what="the page is the club's own and current, and shows Jordan's details",
        check_who="the club secretary, by phone",
        check_when=worker.now().date(),
    )
    notes.save(
        worker,
        case_id,
        analysis=(
            "A post Jordan's grandmother saved says Lee is staying with the family; it "
            "contradicts Alex's account and is supported, though not proven, by older "
            "photos tagging a man who matches the disclosure. Alex's profile announces a "
            "move before Christmas without saying where. Separately, Jordan's football "
            "club publishes Jordan's name, school and training times."
        ),
        balance=(
            "Two looks at Alex's public profile and one at the club page, under approved "
            "requests; only posts about Lee and details that locate Jordan were kept. The "
            "intrusion into Alex's private life is outweighed by the risk that a man with "
            "convictions against children is living with Jordan."
        ),
        conclusion=(
            "Take to the strategy discussion: ask the police to confirm whether Lee is at "
            "the address, ask the club to take Jordan's details down, and ask Alex about "
            "the planned move."
        ),
    )
