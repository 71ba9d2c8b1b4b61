"""Hostile pages through ``captures.capture_url``: refused, failed, or captured safely.

Every attempt goes through the service (gate, fetch, store) against a hostile server on
127.0.0.1. A refusal or failure leaves the case file as it was except for one viewing
row (refused or failed) and its one audit event; nothing else is stored. Memory stays
bounded, the deadline is kept, and no test looks up a real name.
"""

from __future__ import annotations

import hashlib
import time
import tracemalloc
from typing import Any

import pytest
from capture_support import (
    ALLOW,
    BAD_CHARSET,
    BIG_SIZE,
    BOMB_SIZE,
    DEEP,
    ELSEWHERE,
    HOMOGRAPH,
    HOMOGRAPH_ASCII,
    LATIN_TWIN,
    LOOPBACK,
    MALFORMED,
    NOT_ALLOWED,
    PAGE,
    SHARP_S,
    SHARP_S_2003,
    SHARP_S_2008,
    Counts,
    FakeResolver,
    HostileServer,
    approve_for,
    approved,
    counts,
    grew,
    no_real_names,
    server,
)

import collectors
from caseview import audit, captures
from caseview.captures import SourceRecord
from caseview.domain import Case, Subject
from caseview.errors import CaptureError, GateRefused
from caseview.justifications import JustificationRecord
from caseview.session import Session

__all__ = ["approved", "no_real_names", "server"]  # fixtures, used by name

CAP = 1024 * 1024


def _capture(
    worker: Session,
    case: Case,
    subject: Subject,
    record: JustificationRecord,
    url: str,
    **options: Any,
) -> SourceRecord:
    """``capture_url`` with the test limits; whatever happens, within the deadline."""
    options.setdefault("allow_hosts", ALLOW)
    options.setdefault("deadline_s", 5.0)
    options.setdefault("max_bytes", CAP)
    start = time.monotonic()
    try:
        return captures.capture_url(
            worker,
            case.id,
            url,
            justification_id=record.id,
            subject_id=subject.id,
            attested=True,
            **options,
        )
    finally:
        elapsed = time.monotonic() - start
        assert elapsed < options["deadline_s"] + 1.5, f"{url} took {elapsed:.1f} s"


def _only(before: Counts, after: Counts, outcome: str, action: str) -> None:
    """Nothing stored but one viewing with ``outcome`` and one ``action`` audit event."""
    assert (after.sources, after.blobs) == (before.sources, before.blobs)
    assert grew(before, after) == ({outcome: 1}, {action: 1})


# --- refused by the gate's address rule, before anything is fetched ---------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(document.cookie)",
        "data:text/html;base64,PGgxPmhpPC9oMT4=",
        "http://kerry:secret@127.0.0.1:{port}/page",
        "http://kerry@127.0.0.1:{port}/page",
    ],
    ids=["file", "javascript", "data", "user-and-password", "user-only"],
)
def test_non_web_or_credentialled_address_is_refused_before_any_fetch(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
    url: str,
) -> None:
    address = url.format(port=server.port)
    hits = len(server.hits)
    before = counts(worker.casefile)
    with pytest.raises(GateRefused) as refused:
        _capture(worker, case, subject, approved, address)
    assert refused.value.rule == "url_not_allowed"
    assert len(server.hits) == hits  # the server never heard of it
    _only(before, counts(worker.casefile), "refused", "viewing.refused")


# --- not public: refused as a viewing, nothing kept ------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/login-wall", "/restricted", "/forbidden", "/unauthorized", "/to-login"],
    ids=["sign-in-form", "private-account", "403", "401", "redirect-to-login"],
)
def test_page_needing_a_login_is_refused_as_not_public(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
    path: str,
) -> None:
    before = counts(worker.casefile)
    with pytest.raises(GateRefused) as refused:
        _capture(worker, case, subject, approved, server.url(path))
    assert refused.value.rule == "not_public"
    assert "not public" in str(refused.value)
    _only(before, counts(worker.casefile), "refused", "viewing.refused")


def test_redirect_to_login_never_requests_the_login_page(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    login_hits = server.hits_of("/accounts/login/")
    with pytest.raises(GateRefused):
        _capture(worker, case, subject, approved, server.url("/to-login"))
    assert server.hits_of("/accounts/login/") == login_hits


def test_not_public_refusal_does_not_use_a_planned_viewing(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    for _ in range(3):
        with pytest.raises(GateRefused):
            _capture(worker, case, subject, approved, server.url("/forbidden"))
    # Three refusals later, all three planned viewings are still there to use.
    for _ in range(3):
        _capture(worker, case, subject, approved, server.url("/page"))
    assert len(captures.list_for_case(worker, case.id)) == 3


# --- refused: an address that is not allowed ---------------------------------------------


def test_redirect_to_an_address_not_allowed_is_refused(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    server: HostileServer,
) -> None:
    # Both addresses are in the request's scope, so it is the public-address rule that
    # refuses the redirect (an address outside the scope is refused before it is checked).
    record = approve_for(worker, manager, case.id, [subject.id], hosts=(LOOPBACK, NOT_ALLOWED))
    before = counts(worker.casefile)
    with pytest.raises(GateRefused) as refused:
        _capture(worker, case, subject, record, server.url("/to-other-host"))
    assert refused.value.rule == "address_refused"
    assert "127.0.0.2" in str(refused.value)
    _only(before, counts(worker.casefile), "refused", "viewing.refused")


def test_loopback_not_named_in_allowed_hosts_is_refused(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    hits = len(server.hits)
    with pytest.raises(GateRefused) as refused:
        _capture(worker, case, subject, approved, server.url("/page"), allow_hosts=[])
    assert refused.value.rule == "address_refused"
    assert len(server.hits) == hits  # refused before connecting


# --- failed: clear message, a failed viewing, nothing kept -------------------------------


@pytest.mark.parametrize(
    ("path", "kind", "words"),
    [
        ("/bomb", "too_large", "once decompressed"),
        ("/big", "too_large", "larger than"),
        ("/loop", "too_many_redirects", "redirected"),
    ],
    ids=["gzip-bomb", "over-the-cap", "endless-redirects"],
)
def test_hostile_body_or_chain_fails_with_a_clear_message_and_stores_nothing(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
    path: str,
    kind: str,
    words: str,
) -> None:
    before = counts(worker.casefile)
    with pytest.raises(CaptureError, match="nothing") as failed:
        _capture(worker, case, subject, approved, server.url(path))
    assert words in str(failed.value)
    _only(before, counts(worker.casefile), "failed", "capture.failed")
    row = worker.casefile.conn.execute(
        "SELECT rule, message FROM viewings WHERE outcome = 'failed'"
    ).fetchone()
    assert (row["rule"], row["message"]) == (kind, str(failed.value))


@pytest.mark.parametrize("path", ["/bomb", "/big"], ids=["gzip-bomb", "over-the-cap"])
def test_oversized_body_is_stopped_with_memory_bounded(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
    path: str,
) -> None:
    assert len(server.bomb) < BOMB_SIZE // 100 and len(server.big) == BIG_SIZE  # made already
    tracemalloc.start()
    try:
        with pytest.raises(CaptureError):
            _capture(worker, case, subject, approved, server.url(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The cap is 1 MiB; the bomb is 256 MiB once decompressed, the big body 16 MiB.
    # Reading stops at the cap: the body so far and the wire copy kept for the WARC.
    assert peak < 4 * CAP, f"peak {peak:,} bytes"


def test_failed_capture_event_records_the_attempt(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    url = server.url("/loop")
    with pytest.raises(CaptureError):
        _capture(worker, case, subject, approved, url, max_redirects=3)
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "capture.failed"]
    assert event.data["kind"] == "too_many_redirects"
    assert event.data["url"] == url
    chain = event.data["redirect_chain"]
    assert isinstance(chain, list) and len(chain) == 4  # every hop it followed, recorded


def test_slow_drip_is_cut_off_at_the_deadline(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    before = counts(worker.casefile)
    start = time.monotonic()
    with pytest.raises(CaptureError, match="longer than the time allowed"):
        _capture(worker, case, subject, approved, server.url("/drip"), deadline_s=2.0)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0 + 1.5, f"took {elapsed:.1f} s with a 2 s deadline"
    _only(before, counts(worker.casefile), "failed", "capture.failed")


def test_failed_capture_does_not_use_a_planned_viewing(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    for _ in range(3):
        with pytest.raises(CaptureError):
            _capture(worker, case, subject, approved, server.url("/big"))
    for _ in range(3):
        _capture(worker, case, subject, approved, server.url("/page"))
    assert len(captures.list_for_case(worker, case.id)) == 3


# --- captured safely ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "media_type"),
    [
        ("/liar", PAGE, "image/png"),
        ("/bad-charset", BAD_CHARSET, "text/html"),
        ("/deep", DEEP, "text/html"),
        ("/malformed", MALFORMED, "text/html"),
    ],
    ids=["lying-content-type", "invalid-charset", "10000-deep", "malformed"],
)
def test_odd_but_public_page_is_captured_byte_for_byte(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
    path: str,
    body: bytes,
    media_type: str,
) -> None:
    record = _capture(worker, case, subject, approved, server.url(path))
    assert record.media_type == media_type
    assert record.body_sha256 == hashlib.sha256(body).hexdigest()
    assert captures.evidence_bytes(worker, record.id) == body


def test_lying_content_type_is_kept_as_bytes_and_noted(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    record = _capture(worker, case, subject, approved, server.url("/liar"))
    assert record.title is None and record.text == ""  # never parsed as a page
    assert any("labelled the content image/png" in note for note in record.notes)


def test_invalid_charset_page_still_yields_text(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    record = _capture(worker, case, subject, approved, server.url("/bad-charset"))
    assert record.title is not None and record.title.startswith("Caf")
    assert "ok" in record.text


def test_deeply_nested_page_text_is_extracted(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    record = _capture(worker, case, subject, approved, server.url("/deep"))
    assert "deep text" in record.text


def test_case_file_verifies_after_the_hostile_suite(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    for path in ("/bomb", "/loop", "/drip", "/forbidden", "/to-other-host"):
        with pytest.raises((CaptureError, GateRefused)):
            _capture(worker, case, subject, approved, server.url(path), deadline_s=1.0)
    for path in ("/deep", "/liar"):
        _capture(worker, case, subject, approved, server.url(path))
    result = audit.verify(None, worker.casefile.path)
    assert result.intact, (result.problem, result.evidence_problems)


# --- a homograph host, through an injected resolver --------------------------------------


def test_homograph_host_is_captured_with_its_real_name_recorded(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    server: HostileServer,
) -> None:
    record = approve_for(worker, manager, case.id, [subject.id], hosts=(HOMOGRAPH_ASCII,))
    resolver = FakeResolver({HOMOGRAPH_ASCII: [LOOPBACK]})
    source = _capture(
        worker,
        case,
        subject,
        record,
        server.url("/page", host=HOMOGRAPH),
        resolver=resolver,
        allow_hosts=[HOMOGRAPH_ASCII],
    )
    assert (source.host_punycode, source.host_unicode) == (HOMOGRAPH_ASCII, HOMOGRAPH)
    assert resolver.lookups == [HOMOGRAPH_ASCII]
    assert any(HOMOGRAPH_ASCII in note and "look-alike" in note for note in source.notes)


def test_homograph_host_is_out_of_scope_of_the_site_it_imitates(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    server: HostileServer,
) -> None:
    record = approve_for(worker, manager, case.id, [subject.id], hosts=(LATIN_TWIN,))
    resolver = FakeResolver({HOMOGRAPH_ASCII: [LOOPBACK], LATIN_TWIN: [LOOPBACK]})
    before = counts(worker.casefile)
    with pytest.raises(GateRefused) as refused:
        _capture(
            worker,
            case,
            subject,
            record,
            server.url("/page", host=HOMOGRAPH),
            resolver=resolver,
            allow_hosts=[HOMOGRAPH_ASCII, LATIN_TWIN],
        )
    assert refused.value.rule == "host_out_of_scope"
    assert resolver.lookups == []  # refused before any lookup
    _only(before, counts(worker.casefile), "refused", "viewing.refused")


def test_idna_deviation_host_cannot_slip_past_the_scope(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    server: HostileServer,
) -> None:
    record = approve_for(worker, manager, case.id, [subject.id], hosts=(SHARP_S_2003,))
    resolver = FakeResolver({SHARP_S_2003: [LOOPBACK], SHARP_S_2008: [LOOPBACK]})
    before = counts(worker.casefile)
    with pytest.raises(GateRefused) as refused:
        _capture(
            worker,
            case,
            subject,
            record,
            server.url("/page", host=SHARP_S),
            resolver=resolver,
            allow_hosts=[SHARP_S_2003, SHARP_S_2008],
        )
    assert refused.value.rule == "host_out_of_scope"
    assert SHARP_S_2008 not in resolver.lookups
    _only(before, counts(worker.casefile), "refused", "viewing.refused")


# --- a redirect off the approved scope ------------------------------------------------


def test_redirect_to_a_host_outside_the_scope_is_refused(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    resolver = FakeResolver({ELSEWHERE: [LOOPBACK]})
    before = counts(worker.casefile)
    pages = server.hits_of("/page")
    with pytest.raises(GateRefused) as refused:
        _capture(
            worker,
            case,
            subject,
            approved,
            server.url("/to-elsewhere"),
            resolver=resolver,
            allow_hosts=[LOOPBACK, ELSEWHERE],
        )
    assert refused.value.rule == "host_out_of_scope"
    assert ELSEWHERE in str(refused.value)
    assert ELSEWHERE not in resolver.lookups  # never looked up, let alone contacted
    assert server.hits_of("/page") == pages
    _only(before, counts(worker.casefile), "refused", "viewing.refused")
    [event] = [e for e in audit.list_events(worker, case.id) if e.action == "viewing.refused"]
    assert event.data["rule"] == "host_out_of_scope"
    assert event.data["url"] == server.url("/to-elsewhere")


def test_redirect_to_another_host_in_the_scope_is_captured(
    worker: Session,
    manager: Session,
    case: Case,
    subject: Subject,
    server: HostileServer,
) -> None:
    record = approve_for(worker, manager, case.id, [subject.id], hosts=(LOOPBACK, ELSEWHERE))
    resolver = FakeResolver({ELSEWHERE: [LOOPBACK]})
    source = _capture(
        worker,
        case,
        subject,
        record,
        server.url("/to-elsewhere"),
        resolver=resolver,
        allow_hosts=[LOOPBACK, ELSEWHERE],
    )
    assert source.final_url == f"http://{ELSEWHERE}:{server.port}/page"
    assert [hop["url"] for hop in source.redirect_chain] == [server.url("/to-elsewhere")]


def test_redirect_within_the_site_is_captured(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    source = _capture(worker, case, subject, approved, server.url("/to-page"))
    assert source.final_url == server.url("/page")


def test_fetcher_that_ignores_the_scope_check_still_stores_nothing_out_of_scope(
    worker: Session,
    case: Case,
    subject: Subject,
    approved: JustificationRecord,
    server: HostileServer,
) -> None:
    # The per-hop check is the fetcher's to call; storing checks every address again.
    def careless(url: str, *, check_url: Any, **options: Any) -> collectors.HttpCapture:
        return collectors.fetch(url, **options)

    resolver = FakeResolver({ELSEWHERE: [LOOPBACK]})
    before = counts(worker.casefile)
    with pytest.raises(GateRefused) as refused:
        _capture(
            worker,
            case,
            subject,
            approved,
            server.url("/to-elsewhere"),
            fetcher=careless,
            resolver=resolver,
            allow_hosts=[LOOPBACK, ELSEWHERE],
        )
    assert refused.value.rule == "host_out_of_scope"
    _only(before, counts(worker.casefile), "refused", "viewing.refused")
