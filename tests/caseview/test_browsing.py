"""Issue 12 through the services: a viewing session in the evidence browser is one look,
gated before anything loads; every navigation is gated; pages, requests and blocked
actions are logged; a rendered capture keeps its artefacts; verify vouches for them."""

from __future__ import annotations

import hashlib

import pytest
from browse_support import TINY_PNG as SHOT
from browse_support import rendered_page
from gate_support import URL, approved, count_events, count_viewings, event_data, make_request

from caseview import audit, browsing, captures, viewings
from caseview.captures import RenderedPage
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.errors import CaptureError, GateRefused, PermissionDenied
from caseview.session import Session


def _request(worker: Session, manager: Session, case: Case, subject: Subject, **kw: object) -> int:
    request = make_request([subject.id], worker.now(), **kw)  # type: ignore[arg-type]
    return approved(worker, manager, case.id, request).id


def _page(
    worker: Session, url: str = URL, text: str = "Kerry posted a photo today."
) -> RenderedPage:
    return rendered_page(worker.now(), url, text=text, screenshot=SHOT)


@pytest.fixture
def request_id(worker: Session, manager: Session, case: Case, subject: Subject) -> int:
    return _request(worker, manager, case, subject, planned_viewings=2)


def test_a_session_is_one_look_however_many_pages_it_shows(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    for n in range(5):
        assert browsing.navigate(worker, opened.id, f"{URL}/post/{n}", "link") is None
        browsing.log_page(
            worker,
            opened.id,
            browsing.PageView(f"{URL}/post/{n}", f"Post {n}", worker.now(), 200, (), "ab" * 32),
        )
    assert count_viewings(worker.casefile, "completed") == 1
    assert viewings.meter_for(worker, subject.id).count_in_window == 1
    assert [p.url for p in browsing.pages(worker, opened.id)] == [
        f"{URL}/post/{n}" for n in range(5)
    ]
    assert count_events(worker.casefile, "browse.page") == 5
    browsing.end(worker, opened.id)
    second = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    assert second.id != opened.id
    assert viewings.meter_for(worker, subject.id).count_in_window == 2
    assert audit.verify(worker, worker.casefile.path).intact


def test_the_gate_decides_before_anything_loads(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    with pytest.raises(GateRefused) as refused:
        browsing.start(worker, case.id, request_id, subject.id, URL, attested=False)
    assert refused.value.rule == "attestation_missing"
    with pytest.raises(GateRefused) as refused:
        browsing.start(
            worker, case.id, request_id, subject.id, "https://chat.example/x", attested=True
        )
    assert refused.value.rule == "host_out_of_scope"
    assert count_viewings(worker.casefile, "refused") == 2
    assert count_viewings(worker.casefile, "completed") == 0
    assert [d["kind"] for d in event_data(worker.casefile, "viewing.refused")] == [
        "browse",
        "browse",
    ]


def test_sessions_use_planned_viewings(
    worker: Session, manager: Session, case: Case, subject: Subject
) -> None:
    one = _request(worker, manager, case, subject, planned_viewings=1)
    browsing.start(worker, case.id, one, subject.id, URL, attested=True)
    with pytest.raises(GateRefused) as refused:
        browsing.start(worker, case.id, one, subject.id, URL, attested=True)
    assert refused.value.rule == "planned_viewings_used"


def test_a_navigation_out_of_scope_is_a_refused_look(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    message = browsing.navigate(worker, opened.id, "https://chat.example/kerry", "redirect")
    assert message is not None and "host_out_of_scope" in message
    refusals = event_data(worker.casefile, "viewing.refused")
    assert refusals[-1]["rule"] == "host_out_of_scope"
    assert refusals[-1]["url"] == "https://chat.example/kerry"
    assert count_viewings(worker.casefile, "refused") == 1
    assert count_viewings(worker.casefile, "completed") == 1  # the session, only


def test_a_session_ends_at_its_maximum_length(
    worker: Session, case: Case, subject: Subject, request_id: int, clock: FixedClock
) -> None:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    assert opened.max_minutes == 60
    clock.advance(minutes=61)
    message = browsing.navigate(worker, opened.id, URL, "typed")
    assert message is not None and browsing.RULE_SESSION_ENDED in message
    with pytest.raises(GateRefused) as refused:
        browsing.capture(worker, opened.id, _page(worker))
    assert refused.value.rule == browsing.RULE_SESSION_ENDED


def test_a_capture_in_a_session_keeps_its_artefacts_and_uses_no_look(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    page = _page(worker)
    source = browsing.capture(worker, opened.id, page)
    assert source.method == "rendered"
    assert source.text == page.text
    assert count_viewings(worker.casefile, "completed") == 1
    kinds = {a.kind: a for a in captures.artefacts(worker, source.id)}
    assert set(kinds) == {"mhtml", "dom", "screenshot"}
    assert kinds["screenshot"].sha256 == hashlib.sha256(SHOT).hexdigest()
    assert kinds["screenshot"].media_type == "image/png"
    assert captures.artefact_bytes(worker, source.id, "mhtml") == page.mhtml
    assert captures.picture_of(worker, source.id) == SHOT
    recorded = event_data(worker.casefile, "source.recorded")[-1]
    assert recorded["browse_session"] == opened.id
    assert {a["kind"] for a in recorded["artefacts"]} == {"mhtml", "dom", "screenshot"}
    assert audit.verify(worker, worker.casefile.path).intact


def test_verify_notices_an_artefact_changed_behind_the_log(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    source = browsing.capture(worker, opened.id, _page(worker))
    conn = worker.casefile.conn
    conn.execute("DROP TRIGGER source_artefacts_not_updated")
    conn.execute(
        "UPDATE source_artefacts SET media_type = 'image/jpeg' WHERE source_id = ?"
        " AND kind = 'screenshot'",
        (source.id,),
    )
    result = audit.verify(worker, worker.casefile.path)
    assert not result.intact
    assert result.row_break is not None and result.row_break.table == "source_artefacts"


def test_only_the_worker_who_opened_a_session_uses_it(
    worker: Session,
    other_worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    request_id: int,
) -> None:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    from caseview import cases

    cases.allocate(manager, case.id, other_worker.user.username)
    with pytest.raises(PermissionDenied):
        browsing.log_page(
            other_worker, opened.id, browsing.PageView(URL, "x", worker.now(), 200, (), "0" * 64)
        )
    with pytest.raises(PermissionDenied):
        browsing.capture(other_worker, opened.id, _page(worker))


def test_requests_and_blocked_actions_are_logged(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    now = worker.now()
    browsing.log_requests(
        worker,
        opened.id,
        [
            browsing.RequestEntry("https://cdn.example/a.png", "GET", "image", now, 200),
            browsing.RequestEntry(
                URL + "/like", "POST", "xhr", now, None, blocked=True, reason="not GET or HEAD"
            ),
        ],
    )
    browsing.log_blocked(worker, opened.id, "form", URL + "/login", "a sign-in form")
    logged = browsing.requests(worker, opened.id)
    assert [(r.method, r.blocked) for r in logged] == [("GET", False), ("POST", True)]
    assert event_data(worker.casefile, "browse.blocked")[0]["what"] == "form"
    browsing.end(worker, opened.id, "closed")
    browsing.end(worker, opened.id, "closed")
    assert count_events(worker.casefile, "browse.ended") == 1
    assert audit.verify(worker, worker.casefile.path).intact


def test_what_a_page_chooses_is_logged_within_bounds(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    headers = tuple((f"x-h{i}", "v" * 20_000) for i in range(1000))
    page = browsing.PageView(URL, "T" * 1_000_000, worker.now(), 200, headers, "ab" * 32)
    browsing.log_page(worker, opened.id, page)
    [logged] = browsing.pages(worker, opened.id)
    assert logged.title is not None and len(logged.title) == browsing.MAX_TITLE
    assert len(logged.headers) == browsing.MAX_HEADERS
    assert all(len(value) == browsing.MAX_HEADER_VALUE for _, value in logged.headers)
    assert audit.verify(worker, worker.casefile.path).intact


def test_a_flood_of_requests_is_counted_not_listed_beyond_the_cap(
    worker: Session, case: Case, subject: Subject, request_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browsing, "MAX_REQUESTS_PER_SESSION", 30)
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    flood = [browsing.RequestEntry(f"{URL}/i/{i}", "GET", "image", worker.now()) for i in range(25)]
    browsing.log_requests(worker, opened.id, flood)
    browsing.log_requests(worker, opened.id, flood)
    assert len(browsing.requests(worker, opened.id)) == 30
    assert [e.get("not_listed") for e in event_data(worker.casefile, "browse.requests")] == [
        None,
        20,
        None,
    ]


def test_a_page_too_large_to_keep_is_refused_and_nothing_is_stored(
    worker: Session, case: Case, subject: Subject, request_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collectors import rendered

    monkeypatch.setitem(rendered.ARTEFACT_LIMITS, "mhtml", 64)
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    with pytest.raises(CaptureError, match="too large to keep"):
        browsing.capture(worker, opened.id, _page(worker))
    assert captures.list_for_case(worker, case.id) == []


def test_an_auditor_cannot_open_a_viewing_session(
    auditor: Session, case: Case, subject: Subject, request_id: int
) -> None:
    with pytest.raises(PermissionDenied) as refused:
        browsing.start(auditor, case.id, request_id, subject.id, URL, attested=True)
    assert refused.value.rule == "role"


def test_a_rendered_capture_outside_a_session_is_a_capture_look(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    source = captures.store_rendered(
        worker, case.id, request_id, subject.id, _page(worker), attested=True, kind="capture"
    )
    assert source.method == "rendered"
    kinds = worker.casefile.conn.execute(
        "SELECT kind FROM viewings WHERE outcome = 'completed'"
    ).fetchall()
    assert [k[0] for k in kinds] == ["capture"]
