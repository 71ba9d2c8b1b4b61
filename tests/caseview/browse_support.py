"""A page as the evidence browser keeps it, for tests of what happens after the browser:
storage, verify, the note, the WARC export and access. (The browser itself is tested in
``tests/ui/browser``.)

Imported by name (pytest puts this folder on ``sys.path``); the file name is unique
under tests/.
"""

from __future__ import annotations

from datetime import datetime

from caseview.captures import RenderedPage

# A 1x1 PNG: a real picture, as small as one can be.
TINY_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
    b"5\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def rendered_page(
    at: datetime,
    url: str,
    *,
    text: str = "Kerry posted a photo today.",
    title: str = "Kerry",
    screenshot: bytes = TINY_PNG,
    width: int = 1,
    height: int = 1,
    full_height: int | None = None,
    redirect_chain: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
) -> RenderedPage:
    """What a capture in the evidence browser hands to ``browsing.capture``: its MHTML,
    its DOM (holding ``text``), the screenshot and the visible text."""
    dom = f"<html><head><title>{title}</title></head><body><p>{text}</p></body></html>".encode()
    full = height if full_height is None else full_height
    return RenderedPage(
        url=url,
        title=title,
        text=text,
        dom=dom,
        mhtml=b"MIME-Version: 1.0\r\nContent-Type: multipart/related\r\n\r\n" + dom,
        screenshot_png=screenshot,
        shot_width=width,
        shot_height=height,
        full_height=full,
        screenshot_cut=full > height,
        http_status=200,
        headers=(("content-type", "text/html"),),
        started_at=at,
        ended_at=at,
        redirect_chain=redirect_chain,
        notes=notes,
    )
