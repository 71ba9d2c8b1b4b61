"""Saved web pages in MHTML ("Save page as... single file" in Chrome and Edge).

An MHTML file is a MIME multipart/related message: the page's HTML and its images,
each in a part with a Content-Location naming the URL it came from. We keep the whole
file as evidence and read only the main HTML part (its text and title) and the URL it
shows. Nothing in it is loaded or rendered.
"""

from __future__ import annotations

import email
import email.message
import email.policy
from dataclasses import dataclass

from collectors.documents import parse_message
from collectors.errors import UnsupportedType

_MAX_PARTS = 5000


@dataclass(frozen=True)
class MhtmlDocument:
    html: bytes  # the main HTML part, with its transfer encoding undone
    charset: str | None
    content_location: str | None  # the URL of the main part: the page the worker saw
    snapshot_location: str | None  # Chrome's Snapshot-Content-Location header
    subject: str | None  # usually the page title at save time
    date: str | None  # when the browser says it saved the page, as stated
    part_count: int


def read_mhtml(data: bytes) -> MhtmlDocument:
    try:
        message, _cut = parse_message(data, email.policy.compat32, _MAX_PARTS)
        parts = _parts(message)
    except RecursionError as exc:
        raise UnsupportedType(
            "This MHTML file is nested too deeply to read safely. Save the page again as "
            "a single HTML file or a screenshot and import that."
        ) from exc
    main = _main_part(message, parts)
    if main is None:
        raise UnsupportedType(
            "This MHTML file contains no web page (no HTML part). Save the page again "
            "and import the new file."
        )
    payload = main.get_payload(decode=True)
    html = payload if isinstance(payload, bytes) else b""
    return MhtmlDocument(
        html=html,
        charset=main.get_content_charset(),
        content_location=_header(main, "Content-Location"),
        snapshot_location=_header(message, "Snapshot-Content-Location"),
        subject=_header(message, "Subject"),
        date=_header(message, "Date"),
        part_count=len(parts),
    )


def _header(part: email.message.Message, name: str) -> str | None:
    value = part.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _parts(message: email.message.Message) -> list[email.message.Message]:
    found: list[email.message.Message] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        found.append(part)
        if len(found) >= _MAX_PARTS:
            break
    return found


def _main_part(
    message: email.message.Message, parts: list[email.message.Message]
) -> email.message.Message | None:
    # RFC 2387: the "start" parameter names the root part by Content-ID; without it the
    # root is the first part. Browsers put the page first, so the first HTML part is
    # the fallback.
    start = message.get_param("start")
    if isinstance(start, str) and start.strip():
        wanted = start.strip().strip("<>")
        for part in parts:
            if (_header(part, "Content-ID") or "").strip("<>") == wanted:
                return part
    for part in parts:
        if part.get_content_type() in ("text/html", "application/xhtml+xml"):
            return part
    return None
