"""The headless capture: ``collectors.rendered.render`` and its child process.

Each real render starts a browser (about a second); the failure paths that need no
browser use a stand-in child.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Iterator

import pytest
from browser_site import Site
from conftest import REFUSAL, Gate
from PIL import Image

from collectors import FetchFailed, Refused, Timeout, TooLarge
from collectors import rendered as rendered_module
from collectors.rendered import (
    EngineUnavailable,
    PageShown,
    RenderedCapture,
    RenderEvent,
    RenderFailed,
    render,
)
from ui.browser.render import NOT_FINISHED


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The process ids of the children started, to check nothing of them is left."""
    started: list[int] = []
    real = rendered_module._Child.__init__

    def recording(self: rendered_module._Child, *args: object, **kwargs: object) -> None:
        real(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(self.proc.pid)

    monkeypatch.setattr(rendered_module._Child, "__init__", recording)
    yield started


def group_alive(pgid: int) -> bool:
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != b"Z":
                return True
    return False


def fake_child(monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    monkeypatch.setattr(rendered_module, "_child_command", lambda: [sys.executable, "-c", script])


def test_a_page_made_by_script_is_rendered_and_kept(
    site: Site, gate: Gate, children: list[int]
) -> None:
    heard: list[RenderEvent] = []
    captured = render(site.url("/js-only"), navigation_policy=gate, on_event=heard.append)

    assert isinstance(captured, RenderedCapture)
    assert "Made by script 4711" in captured.dom.decode()
    assert "Made by script 4711" in captured.text
    assert captured.mhtml.startswith(b"From: <Saved by Blink>")
    assert Image.open(io.BytesIO(captured.screenshot_png)).size == (1280, 900)
    assert (captured.url, captured.requested_url) == (site.url("/js-only"),) * 2
    assert captured.http_status == 200
    assert gate.asked == [(site.url("/js-only"), "typed")]
    assert [p.url for p in captured.pages] == [site.url("/js-only")]
    assert [type(e) for e in heard].count(PageShown) == 1
    main = [r for r in captured.requests if r.resource_type == "main_frame"]
    assert [(r.url, r.status) for r in main] == [(site.url("/js-only"), 200)]
    assert not group_alive(children[0])


def test_redirects_and_refusals_are_reported(site: Site, gate: Gate) -> None:
    captured = render(site.url("/redirect"), navigation_policy=gate)

    assert captured.url == site.url("/landing")
    assert captured.redirect_chain == (site.url("/redirect"),)
    assert gate.kinds() == ["typed", "redirect"]


def test_posts_and_forms_are_blocked(site: Site, gate: Gate) -> None:
    captured = render(site.url("/posts"), navigation_policy=gate)

    assert {b.what for b in captured.blocked} >= {"request", "form"}
    assert [(r.kind, r.url) for r in captured.refused] == [("form", site.url("/submit"))]
    assert site.methods() == {"GET"}


def test_a_refused_first_address_is_not_opened(site: Site) -> None:
    gate = Gate(refuse=lambda url: True)

    with pytest.raises(Refused, match="not in the request's scope"):
        render(site.url("/plain"), navigation_policy=gate)
    assert site.paths() == []
    assert gate.asked[0][1] == "typed"


def test_a_first_address_that_redirects_out_of_scope_is_refused(site: Site, gate: Gate) -> None:
    with pytest.raises(Refused, match="not in the request's scope"):
        render(site.url("/redirect-out"), navigation_policy=gate)
    assert gate.kinds() == ["typed", "redirect"]
    assert "/out-of-scope" not in site.paths()


def test_a_page_that_never_finishes_is_captured_at_the_deadline(site: Site, gate: Gate) -> None:
    started = time.monotonic()
    captured = render(site.url("/never"), navigation_policy=gate, deadline_s=3)

    assert captured.notes == (NOT_FINISHED,)
    assert "Still loading." in captured.text
    assert time.monotonic() - started < 3 + 15


def test_a_site_that_never_answers_times_out(site: Site, gate: Gate) -> None:
    with pytest.raises(Timeout, match="did not send the page"):
        render(site.url("/stall"), navigation_policy=gate, deadline_s=2)


def test_a_site_that_cannot_be_reached_fails(gate: Gate) -> None:
    with pytest.raises(FetchFailed, match="could not open"):
        render("http://127.0.0.1:9/", navigation_policy=gate, deadline_s=10)


def test_the_hard_deadline_kills_the_browser(
    site: Site, gate: Gate, children: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rendered_module, "CAPTURE_MARGIN_S", -28.0)  # kill after 2 s
    started = time.monotonic()

    with pytest.raises(Timeout, match="longer than the time allowed"):
        render(site.url("/never"), navigation_policy=gate, deadline_s=30)
    assert time.monotonic() - started < 10
    assert not group_alive(children[0])


def test_the_memory_ceiling_kills_the_browser(site: Site, gate: Gate, children: list[int]) -> None:
    with pytest.raises(TooLarge, match="more memory than Caseview allows"):
        render(site.url("/plain"), navigation_policy=gate, memory_limit=20 * 1024 * 1024)
    assert not group_alive(children[0])


def test_a_missing_system_library_is_explained(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_child(
        monkeypatch,
        "import sys; sys.stdin.readline(); sys.stderr.write('ImportError: libnss3.so: cannot "
        "open shared object file: No such file or directory\\n'); sys.exit(1)",
    )

    with pytest.raises(EngineUnavailable, match=r"system library is missing \(libnss3.so\)"):
        render("https://example.org/", navigation_policy=gate)


def test_an_engine_the_child_cannot_start_is_explained(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_child(
        monkeypatch,
        "import sys, json; sys.stdin.readline(); print(json.dumps({'error': {'kind': "
        "'engine_unavailable', 'message': 'install PySide6-Addons'}}))",
    )

    with pytest.raises(EngineUnavailable, match="install PySide6-Addons"):
        render("https://example.org/", navigation_policy=gate)


def test_a_child_that_talks_nonsense_fails_cleanly(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_child(monkeypatch, "import sys; sys.stdin.readline(); print('hello')")

    with pytest.raises(RenderFailed, match="could not read"):
        render("https://example.org/", navigation_policy=gate)


def test_a_child_that_dies_fails_cleanly(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_child(monkeypatch, "import os; os._exit(9)")

    with pytest.raises(RenderFailed, match="exit status 9"):
        render("https://example.org/", navigation_policy=gate)


def test_the_parent_answers_each_navigation(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_child(
        monkeypatch,
        "import sys, json\n"
        "sys.stdin.readline()\n"
        "print(json.dumps({'navigate': 'https://example.org/a', 'kind': 'typed'}), flush=True)\n"
        "first = json.loads(sys.stdin.readline())\n"
        "print(json.dumps({'navigate': 'https://x.test/out-of-scope', 'kind': 'link'}), "
        "flush=True)\n"
        "second = json.loads(sys.stdin.readline())\n"
        "print(json.dumps({'error': {'kind': 'refused', 'message': repr([first, second])}}))\n",
    )

    with pytest.raises(Refused) as raised:
        render("https://example.org/a", navigation_policy=gate)
    assert raised.value.message == repr([{"allow": True}, {"allow": False, "message": REFUSAL}])
