"""``caseview demo --no-gui``: a fictional case file anyone can log in to, never over real data.

The demo tells its story through the real services, captures included (from its bundled
pages on a local site), so these tests check what it leaves, not how it was made.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import socket
import sqlite3
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
import pytest

from caseview import accounts, audit, captures, cases, demo, justifications, notes, observations
from caseview.cli import main
from caseview.domain import Role
from caseview.errors import CaseFileError
from caseview.session import Session
from caseview.storage import open_case_file

DEMO_USERS = {
    "demo-worker": Role.WORKER,
    "demo-manager": Role.MANAGER,
    "demo-auditor": Role.AUDITOR,
}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CASEVIEW_* from the developer's shell; nothing written to the real data folder."""
    for name in ("CASEVIEW_DB", "CASEVIEW_USER", "CASEVIEW_PASSWORD", "CASEVIEW_NEW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        platformdirs, "user_data_dir", lambda app, appauthor=None: str(tmp_path / "data" / app)
    )


@pytest.fixture
def demo_path(tmp_path: Path) -> Path:
    return tmp_path / "demo.db"


def build(path: Path) -> int:
    return main(["--db", str(path), "demo", "--no-gui"])


def count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def built(demo_path: Path) -> Path:
    assert build(demo_path) == 0
    return demo_path


@pytest.fixture
def demo_manager(built: Path) -> Iterator[Session]:
    """The demo manager, signed in to the built demo file."""
    with open_case_file(built) as casefile:
        yield accounts.login(casefile, "demo-manager", "demo")


@pytest.fixture
def case_id(demo_manager: Session) -> int:
    [case] = cases.list_cases(demo_manager)
    return case.id


def test_demo_builds_the_file(demo_path: Path) -> None:
    assert (build(demo_path), demo_path.is_file()) == (0, True)


def test_demo_says_it_is_fictional_and_gives_the_password(
    demo_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(demo_path)
    out = capsys.readouterr().out
    assert "fictional" in out and "password for each: demo" in out
    assert [u for u in DEMO_USERS if u not in out] == []


@pytest.mark.parametrize(("username", "role"), DEMO_USERS.items())
def test_demo_accounts_log_in_with_password_demo(
    demo_path: Path, username: str, role: Role
) -> None:
    build(demo_path)
    with open_case_file(demo_path) as casefile:
        assert accounts.login(casefile, username, "demo").role is role


def test_demo_case_is_allocated_to_the_demo_worker(demo_path: Path) -> None:
    build(demo_path)
    with open_case_file(demo_path) as casefile:
        worker = accounts.login(casefile, "demo-worker", "demo")
        [case] = cases.list_cases(worker)
        assert "demo-worker" in {u.username for u in cases.members(worker, case.id)}


def test_demo_case_has_subjects_including_a_child(demo_path: Path) -> None:
    build(demo_path)
    with open_case_file(demo_path) as casefile:
        worker = accounts.login(casefile, "demo-worker", "demo")
        [case] = cases.list_cases(worker)
        roles = {s.role.value for s in cases.list_subjects(worker, case.id)}
    assert "child" in roles


def test_demo_audit_log_verifies(demo_path: Path) -> None:
    build(demo_path)
    assert audit.verify_chain(demo_path).intact


def test_demo_goes_to_the_user_data_folder_by_default(tmp_path: Path) -> None:
    assert main(["demo", "--no-gui"]) == 0
    assert (tmp_path / "data" / "caseview" / "caseview-demo.db").is_file()


def work_in(path: Path) -> None:
    """What trying the demo leaves: a sign-in and a new case."""
    with open_case_file(path) as casefile:
        manager = accounts.login(casefile, "demo-manager", "demo")
        cases.create_case(manager, "DEMO-0002", "A case added while trying the demo")


def test_rebuilding_replaces_an_earlier_demo_nobody_worked_in(built: Path) -> None:
    first = content(built)
    assert build(built) == 0
    assert content(built) != first  # built again, not merely kept
    assert count(built, "SELECT count(*) FROM audit_log WHERE action = 'demo.built'") == 1


def test_a_demo_someone_worked_in_is_opened_as_it_is(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work_in(built)
    before = content(built)
    capsys.readouterr()
    assert build(built) == 0
    assert content(built) == before
    said = capsys.readouterr().out
    assert "has changed since it was built, so it was not rebuilt" in said
    assert "caseview demo --fresh" in said
    assert not built.with_name("demo-2.db").exists()
    # Its last look may have been used: the demo does not promise it is there.
    assert "one look is left" not in said
    assert "which may have been used since" in said


def test_fresh_builds_a_new_demo_beside_one_someone_worked_in(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work_in(built)
    before = content(built)
    assert main(["--db", str(built), "--json", "demo", "--no-gui", "--fresh"]) == 0
    said = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    beside = built.with_name("demo-2.db")
    assert (said["path"], said["built"]) == (str(beside), True)
    assert content(built) == before
    assert count(beside, "SELECT count(*) FROM cases") == 1
    assert main(["--db", str(built), "demo", "--no-gui", "--fresh"]) == 0
    assert built.with_name("demo-3.db").is_file()


def test_build_itself_never_overwrites_a_demo_someone_worked_in(built: Path) -> None:
    work_in(built)
    before = content(built)
    with pytest.raises(CaseFileError, match="changed since it was built"):
        demo.build(built)
    assert content(built) == before


def test_a_build_cut_short_leaves_no_demo_file_and_the_next_build_works(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+C halfway through the build: nothing half-built is left at the demo's path
    (it would look like a file someone had worked in, and never be rebuilt)."""
    story = demo._tell_the_story

    def cut_short(casefile: Any, site: Any) -> None:
        with casefile.write() as conn:  # some of the story is written, then the person stops it
            accounts._insert(
                conn,
                username="demo-manager",
                display_name="Dana",
                role=Role.MANAGER,
                password="demo",
                created_by=None,
                clock=demo.system_clock,
            )
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "_tell_the_story", cut_short)
    with pytest.raises(KeyboardInterrupt):
        demo.build(demo_path)
    assert sorted(p.name for p in demo_path.parent.iterdir() if "demo" in p.name) == []
    monkeypatch.setattr(demo, "_tell_the_story", story)
    assert build(demo_path) == 0
    assert count(demo_path, "SELECT count(*) FROM audit_log WHERE action = 'demo.built'") == 1


def test_a_rebuild_cut_short_keeps_the_earlier_demo(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = content(built)

    def cut_short(casefile: Any, site: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "_tell_the_story", cut_short)
    with pytest.raises(KeyboardInterrupt):
        demo.build(built)
    assert content(built) == before
    assert [p.name for p in built.parent.iterdir() if ".building" in p.name] == []


def test_a_demo_file_with_nothing_in_it_is_built_again(demo_path: Path) -> None:
    """A case file with no accounts and no events (a build cut short by an older
    Caseview) holds no work: 'caseview demo' builds the demo there instead of opening
    an empty file that asks for a first manager."""
    with open_case_file(demo_path, create=True):
        pass
    assert build(demo_path) == 0
    assert count(demo_path, "SELECT count(*) FROM users") == len(demo.USERS)


def _real_case_file(path: Path) -> None:
    with open_case_file(path, create=True) as casefile:
        accounts.create_first_manager(casefile, "mona", "correct horse")


def content(path: Path) -> list[tuple[object, ...]]:
    """Every user and every audit event: what a real case file must keep."""
    conn = sqlite3.connect(path)
    try:
        return [
            *conn.execute("SELECT username, role, password_hash FROM users ORDER BY id"),
            *conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq"),
        ]
    finally:
        conn.close()


def test_demo_refuses_to_overwrite_real_accounts(
    demo_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _real_case_file(demo_path)
    before = content(demo_path)
    assert build(demo_path) == 1
    assert "real accounts" in capsys.readouterr().err
    assert content(demo_path) == before


def test_demo_leaves_a_real_case_file_byte_for_byte_unchanged(demo_path: Path) -> None:
    _real_case_file(demo_path)
    before = demo_path.read_bytes()
    build(demo_path)
    assert demo_path.read_bytes() == before


def test_demo_refuses_a_file_that_is_not_a_case_file(demo_path: Path) -> None:
    demo_path.write_bytes(b"someone's spreadsheet\n" * 100)
    before = demo_path.read_bytes()
    assert build(demo_path) == 1
    assert demo_path.read_bytes() == before


# --- what the demo case holds -----------------------------------------------------------


def test_demo_file_passes_verify_evidence_included(built: Path) -> None:
    result = audit.verify(None, built)
    assert (result.intact, result.evidence_problems) == (True, ())


def test_demo_has_an_approved_request(demo_manager: Session, case_id: int) -> None:
    statuses = [r.status for r in justifications.list_for_case(demo_manager, case_id)]
    assert "approved" in statuses


def test_demo_has_an_ordinary_request_pending_review(demo_manager: Session, case_id: int) -> None:
    pending = [
        r
        for r in justifications.list_for_case(demo_manager, case_id)
        if r.status == "submitted" and not r.request.emergency
    ]
    assert len(pending) == 1


def test_demo_has_an_overdue_emergency_first_in_the_review_queue(demo_manager: Session) -> None:
    queue = justifications.review_queue(demo_manager)
    assert [r.emergency_state for r in queue] == ["overdue", None]


def test_demo_captured_pages_over_http_with_the_bundled_bytes(
    demo_manager: Session, case_id: int
) -> None:
    fetched = [s for s in captures.list_for_case(demo_manager, case_id) if s.method == "http"]
    served = {
        (urlsplit(s.final_url or "").hostname, urlsplit(s.final_url or "").path): (
            s.body_sha256,
            captures.evidence_bytes(demo_manager, s.id),
        )
        for s in fetched
    }
    expected = {
        key: (hashlib.sha256(demo.page_bytes(name)).hexdigest(), demo.page_bytes(name))
        for key, name in demo.PAGES.items()
    }
    assert served == expected


def test_demo_captures_record_the_loopback_server_and_a_200(
    demo_manager: Session, case_id: int
) -> None:
    fetched = [s for s in captures.list_for_case(demo_manager, case_id) if s.method == "http"]
    assert {(s.server_ip, s.http_status, s.origin) for s in fetched} == {
        ("127.0.0.1", 200, "self_collected")
    }


def test_demo_capture_of_an_old_address_keeps_its_redirect(
    demo_manager: Session, case_id: int
) -> None:
    chains = [
        [(hop["status"], hop["location"]) for hop in s.redirect_chain]
        for s in captures.list_for_case(demo_manager, case_id)
        if s.redirect_chain
    ]
    assert chains == [[(301, "/alex.example")]]


def test_demo_imported_page_names_who_supplied_it(demo_manager: Session, case_id: int) -> None:
    [supplied] = [
        s for s in captures.list_for_case(demo_manager, case_id) if s.method == "file_import"
    ]
    assert (supplied.origin, supplied.body_sha256) == (
        "supplied_by_family",
        hashlib.sha256(demo.page_bytes(demo.SUPPLIED_PAGE)).hexdigest(),
    )
    assert "grandmother" in (supplied.supplied_by or "")


def test_demo_childs_page_lists_exposure_some_confirmed(
    demo_manager: Session, case_id: int
) -> None:
    [team] = [s for s in captures.list_for_case(demo_manager, case_id) if s.exposure]
    kinds = {f.kind: f.confirmed for f in team.exposure}
    assert kinds == {"full_name": True, "school": True, "town": None, "phone": None}


def test_demo_observations_are_graded_some_relied_upon_some_not(
    demo_manager: Session, case_id: int
) -> None:
    found = observations.list_for_case(demo_manager, case_id)
    assert {o.relied_upon for o in found} == {True, False}
    assert all(o.reliability in "ABCDEF" and 1 <= o.credibility <= 6 for o in found)


def test_demo_observation_corroborated_by_another_source(
    demo_manager: Session, case_id: int
) -> None:
    found = observations.list_for_case(demo_manager, case_id)
    linked = [o for o in found if o.corroborates]
    assert [o.relied_upon for o in linked] == [True]


def test_demo_case_has_a_note(demo_manager: Session, case_id: int) -> None:
    note = notes.current(demo_manager, case_id)
    assert note is not None and all((note.analysis, note.balance, note.conclusion))


def test_demo_backdated_story_reads_forwards_before_the_captures(built: Path) -> None:
    """The story starts days ago; its events must still be in time order, as real use is."""
    conn = sqlite3.connect(built)
    try:
        events = list(conn.execute("SELECT action, at FROM audit_log ORDER BY seq"))
    finally:
        conn.close()
    first_capture = [action for action, _ in events].index("viewing.capture")
    story = [at for _, at in events[:first_capture]]
    assert story == sorted(story)
    assert max(story) < min(at for _, at in events[first_capture:])


# --- how it is built --------------------------------------------------------------------


def test_demo_pages_ship_with_the_package() -> None:
    bundled = {p.name for p in resources.files("caseview").joinpath("demo_pages").iterdir()}
    assert bundled >= {*demo.PAGES.values(), demo.SUPPLIED_PAGE}


@pytest.mark.parametrize("name", sorted({*demo.PAGES.values(), demo.SUPPLIED_PAGE}))
def test_demo_pages_link_only_to_example_sites(name: str) -> None:
    text = demo.page_bytes(name).decode("utf-8")
    hosts = set(re.findall(r"https?://([^/:\"'\s)]+)", text))
    assert {h for h in hosts if not h.endswith(".example")} == set()


def test_demo_touches_no_network_but_loopback(
    monkeypatch: pytest.MonkeyPatch, demo_path: Path
) -> None:
    """Every name lookup, bind and connection the build makes is on the loopback address."""
    used: list[tuple[str, str]] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect, real_bind = socket.socket.connect, socket.socket.bind

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        used.append(("lookup", str(host)))
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        used.append(("connect", str(address[0])))
        real_connect(self, address)

    def bind(self: socket.socket, address: Any) -> None:
        used.append(("bind", str(address[0])))
        real_bind(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "bind", bind)
    assert build(demo_path) == 0
    assert count(demo_path, "SELECT count(*) FROM sources WHERE method = 'http'") == 3
    assert all(ipaddress.ip_address(address).is_loopback for _, address in used), used
    assert {address for action, address in used if action == "connect"} == {"127.0.0.1"}


def test_demo_needs_no_allow_list_setting(monkeypatch: pytest.MonkeyPatch, demo_path: Path) -> None:
    """The demo's sites are allowed for its own captures only, not through the environment."""
    monkeypatch.delenv("CASEVIEW_ALLOW_HOSTS", raising=False)
    assert build(demo_path) == 0
    assert count(demo_path, "SELECT count(*) FROM viewings WHERE outcome != 'completed'") == 0


def test_demo_stops_its_local_site(demo_path: Path) -> None:
    build(demo_path)
    assert [t.name for t in threading.enumerate() if t.name == "caseview demo site"] == []


def test_the_demo_manager_adds_the_other_demo_accounts(built: Path) -> None:
    conn = sqlite3.connect(built)
    try:
        added = dict(
            conn.execute(
                "SELECT json_extract(payload, '$.data.username'), actor FROM audit_log"
                " WHERE action = 'user.added'"
            ).fetchall()
        )
    finally:
        conn.close()
    assert added == {
        "demo-manager": "demo-manager",
        "demo-worker": "demo-manager",
        "demo-auditor": "demo-manager",
    }
