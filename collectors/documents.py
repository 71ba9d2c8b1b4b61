"""The text of documents people are handed: PDF letters, Word documents and e-mails.

A letter a family hands in is only useful to the case if it can be found again, so its
text is read for searching and for the exposure indicators. The evidence stays the
stored bytes; the text is a working copy, read with limits, and a document whose text
cannot be read is still imported, with a note saying so (a password-protected PDF, a
damaged file). Nothing in a document is run, followed or fetched.

Limits, because these files come from anyone:

- PDF (pypdf): at most :data:`MAX_PDF_PAGES` pages and :data:`MAX_TEXT` characters, and
  a deadline checked before every drawing instruction; a page whose instructions unpack
  to more than :data:`MAX_PDF_PAGE_CONTENT` is skipped, and a file of more than
  :data:`MAX_PDF_PAGE_TREE` pages is not read; pypdf itself caps each decompressed
  stream.
- Word (.docx, a ZIP archive of XML parts): the archive's directory is checked before
  it is opened (at most :data:`MAX_ZIP_ENTRIES` entries), and a part whose unpacked
  size is over :data:`MAX_PART_BYTES` is refused before a byte of it is unpacked (a
  "ZIP bomb"). The XML parser never loads a DTD, expands entities or uses the network.
- E-mail (.eml, the stdlib ``email`` package): the text and HTML parts are read (each
  at most :data:`MAX_PART_BYTES`); attachments are listed by name and type, never
  opened or imported. Parsing stops after the first 500 parts (:func:`parse_message`).
"""

from __future__ import annotations

import contextvars
import email
import email.header
import email.parser
import email.policy
import email.utils
import io
import logging
import pkgutil
import time
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message

import pypdf
from lxml import etree
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject

from collectors import charsets
from collectors.errors import TooLarge, UnsupportedType
from collectors.html import MAX_TEXT, PageInfo, page_from_text, parse_html

MAX_PDF_PAGES = 200
PDF_DEADLINE_S = 20.0
# pypdf reads a page's text in pure Python, at some microseconds a character: a small
# file whose streams unpack to megabytes of text instructions would take it minutes and
# hundreds of MB. So a page whose instructions (its own and those of the forms it draws)
# unpack to more than this, or one instruction showing more than MAX_PDF_OP_CHARS, has
# its text skipped with a note; the deadline is checked before every instruction; and
# pypdf parses at most MAX_PDF_STREAM_TOKENS tokens of a stream (its default: 2 million).
MAX_PDF_PAGE_CONTENT = 4 * 1024 * 1024
MAX_PDF_OP_CHARS = 100_000
MAX_PDF_STREAM_TOKENS = 500_000
# Counting a PDF's pages makes an object of every one: 99,000 pages took pypdf 270 MB
# (its limits: 100,000 pages, 2 million entries in their dictionaries). A PDF past these
# has its text left unread, with a note.
MAX_PDF_PAGE_TREE = 20_000
MAX_PDF_PAGE_ENTRIES = 200_000
_MAX_PDF_FORMS = 1000  # forms measured per page; past this the page counts as too large
MAX_ZIP_ENTRIES = 5000
MAX_ZIP_DIRECTORY_BYTES = 1024 * 1024
MAX_PART_BYTES = 20 * 1024 * 1024
_MAX_PROPERTIES_BYTES = 1024 * 1024
_MAX_MAIL_PARTS = 500
_MAIL_FEED_BYTES = 16 * 1024  # parts are counted after each piece this size
_MAX_MAIL_DEPTH = 20
_MAX_NOTED_WARNINGS = 20
_MAX_HEADER_CHARS = 2000
_TEXT_CUT = (
    "The document's text is longer than the {limit:,} characters Caseview keeps as its "
    "working copy for reading and searching; the rest is in the stored evidence file."
)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PROPERTIES = {
    "{http://purl.org/dc/elements/1.1/}title": "title",
    "{http://purl.org/dc/elements/1.1/}creator": "author",
    "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}"
    "lastModifiedBy": "last_modified_by",
    "{http://purl.org/dc/terms/}created": "created",
    "{http://purl.org/dc/terms/}modified": "modified",
}
# A damaged or hostile file can make a third-party parser raise almost anything; each
# of these means "the text could not be read", never a failed import.
_PDF_ERRORS = (
    PyPdfError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    AssertionError,
    LookupError,
    ArithmeticError,
    RecursionError,
    MemoryError,
    OSError,
    zlib.error,
)
_ZIP_ERRORS = (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
               zlib.error, ValueError)  # fmt: skip
# OverflowError: a date past year 9999, or with a year too long for a C integer.
_MAIL_ERRORS = (email.errors.MessageError, ValueError, TypeError, IndexError, AttributeError,
                LookupError, AssertionError, OverflowError)  # fmt: skip


@dataclass(frozen=True)
class DocumentText:
    """What was read from a document: its text (as a page) and facts for the worker."""

    page: PageInfo
    findings: tuple[str, ...] = ()


# pypdf reports what it repaired through the logging module, each module through its
# own logger. While Caseview reads a PDF those reports become notes on the source (and
# are not logged); at any other time (pypdf also checks our reports) they are logged as
# usual. A filter on each pypdf module's logger does it: a filter on the "pypdf" logger
# would not see its children's records, and pytest captures non-propagating loggers
# too. A context variable keeps concurrent imports on other threads apart.
_PDF_NOTES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "caseview_pdf_notes", default=None
)


def _pdf_log_as_note(record: logging.LogRecord) -> bool:
    notes = _PDF_NOTES.get()
    if notes is None:
        return True
    if len(notes) < _MAX_NOTED_WARNINGS:
        notes.append(" ".join(record.getMessage().split())[:200])
    return False


for _module in (pypdf.__name__, *(m.name for m in pkgutil.walk_packages(pypdf.__path__, "pypdf."))):
    _logger = logging.getLogger(_module)
    if _pdf_log_as_note not in _logger.filters:
        _logger.addFilter(_pdf_log_as_note)


def read_pdf(
    data: bytes,
    *,
    max_pages: int = MAX_PDF_PAGES,
    max_chars: int = MAX_TEXT,
    deadline_s: float = PDF_DEADLINE_S,
) -> DocumentText:
    """The text of a PDF's pages, within the limits; unreadable text is a note."""
    deadline = time.monotonic() + deadline_s
    notes: list[str] = []
    meta: dict[str, str] = {}
    title: str | None = None
    author: str | None = None
    pieces: list[str] = []
    repairs: list[str] = []
    token = _PDF_NOTES.set(repairs)
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            pypdf.apply_configuration(
                stream_parsing_work_maximum_count=MAX_PDF_STREAM_TOKENS,
                page_tree_maximum_entries=MAX_PDF_PAGE_TREE,
                page_tree_maximum_page_entries=MAX_PDF_PAGE_ENTRIES,
            ),
        ):
            warnings.simplefilter("always")
            try:
                reader = PdfReader(io.BytesIO(data), strict=False)
                if reader.is_encrypted and not _decrypt(reader, notes):
                    return _document("", notes=notes, meta={"encrypted": "yes"})
                title, author, meta = _pdf_properties(reader)
                total = len(reader.pages)
                meta["pages"] = str(total)
                _pdf_text(reader, total, pieces, notes, max_pages, max_chars, deadline)
            except pypdf.errors.LimitReachedError:
                notes.append(
                    "The PDF is made of more pages or parts than Caseview reads (over "
                    f"{MAX_PDF_PAGE_TREE:,} pages, or it may be built to exhaust the computer), "
                    "so its text was not read; it was imported as it is, and the stored file "
                    "is the evidence."
                )
            except _PDF_ERRORS as exc:
                notes.append(
                    f"The PDF's text could not be read ({_reason(exc)}); it was imported as "
                    "it is, and the stored file is the evidence."
                )
            repairs.extend(" ".join(str(w.message).split())[:200] for w in caught)
    finally:
        _PDF_NOTES.reset(token)
    if repairs:
        notes.append(
            f"The PDF is damaged or unusual; reading it gave {len(repairs)} warning(s) (the "
            f"first: {repairs[0]}). What could be read is shown."
        )
    text = "\n\n".join(pieces)[:max_chars]
    if not text.strip() and not notes:
        notes.append(
            "The PDF has no text to read (it may be a scan or a photo of a letter), so it "
            "cannot be found by searching for its words. Add a note of what it says."
        )
    return _document(text, notes=notes, title=title, author=author, meta=meta)


def _decrypt(reader: PdfReader, notes: list[str]) -> bool:
    """Open an encrypted PDF that needs no password to read; False if it needs one."""
    try:
        opened = bool(reader.decrypt(""))
    except _PDF_ERRORS as exc:
        opened = False
        reason = f" ({_reason(exc)})"
    else:
        reason = ""
    if opened:
        notes.append(
            "The PDF is encrypted (its author restricted what may be done with it) but opens "
            "without a password; its text was read."
        )
        return True
    notes.append(
        f"The PDF is encrypted and needs a password to open{reason}, so its text could not "
        "be read; it was imported as it is, and the stored file is the evidence. Ask "
        "whoever supplied it for a copy without a password if its words should be "
        "searchable."
    )
    return False


def _pdf_properties(reader: PdfReader) -> tuple[str | None, str | None, dict[str, str]]:
    try:
        info = reader.metadata
    except _PDF_ERRORS:
        return None, None, {}
    if info is None:
        return None, None, {}
    meta: dict[str, str] = {}
    for key in ("/Title", "/Author", "/Subject", "/Creator", "/Producer", "/CreationDate",
                "/ModDate"):  # fmt: skip
        try:
            value = info.get(key)
        except _PDF_ERRORS:
            continue
        shown = " ".join(str(value).split())[:_MAX_HEADER_CHARS] if value is not None else ""
        if shown:
            meta[f"pdf:{key[1:].lower()}"] = shown
    return meta.get("pdf:title"), meta.get("pdf:author"), meta


def _pdf_text(
    reader: PdfReader,
    total: int,
    pieces: list[str],
    notes: list[str],
    max_pages: int,
    max_chars: int,
    deadline: float,
) -> None:
    size = 0
    for number in range(min(total, max_pages)):
        if time.monotonic() > deadline:
            notes.append(
                f"Reading the PDF's text took too long; the text of its first {number} of "
                f"{total} pages was kept for searching. The stored file has all of it."
            )
            return
        try:
            text = _page_text(reader.pages[number], deadline)
        except _PageTooLarge:
            notes.append(
                f"Page {number + 1} of the PDF is made of far more drawing instructions than "
                "a page of text needs (it may be a detailed drawing, or built to exhaust the "
                "computer), so its text was not read. The stored file has all of it."
            )
            continue
        except _PastDeadline:
            notes.append(
                f"Reading the PDF's text took too long; the text of its first {number} of "
                f"{total} pages was kept for searching. The stored file has all of it."
            )
            return
        pieces.append(text[: max_chars - size + 1])
        size += len(pieces[-1]) + 2
        if size > max_chars:
            notes.append(_TEXT_CUT.format(limit=max_chars))
            return
    if total > max_pages:
        notes.append(
            f"The PDF has {total} pages; the text of the first {max_pages} was kept for "
            "searching. The stored file has all of it."
        )


class _PageTooLarge(Exception):
    """A page's instructions are too large to read its text within the limits."""


class _PastDeadline(Exception):
    """The deadline passed while a page's text was being read."""


def _page_text(page: pypdf.PageObject, deadline: float) -> str:
    """A page's text, stopped before any instruction past the limits or the deadline."""
    if _content_size(page) > MAX_PDF_PAGE_CONTENT:
        raise _PageTooLarge

    def guard(operator: object, operands: object, cm: object, tm: object) -> None:
        if time.monotonic() > deadline:
            raise _PastDeadline
        if isinstance(operands, list) and _chars(operands) > MAX_PDF_OP_CHARS:
            raise _PageTooLarge

    try:
        return page.extract_text(visitor_operand_before=guard) or ""
    except pypdf.errors.LimitReachedError as exc:
        raise _PageTooLarge from exc


def _chars(operands: list[object]) -> int:
    """Characters of the text an instruction shows (its strings, and those of a TJ array)."""
    count = 0
    for operand in operands:
        items = operand if isinstance(operand, ArrayObject) else (operand,)
        count += sum(len(i) for i in items if isinstance(i, str | bytes))
    return count


def _content_size(page: pypdf.PageObject) -> int:
    """Unpacked bytes of a page's instructions and of the forms (XObjects) it may draw.

    Each stream is unpacked by pypdf within its own caps; a form drawn many times is
    counted once.
    """
    total = 0
    seen: set[int] = set()
    contents = page.get("/Contents")
    contents = contents.get_object() if contents is not None else None
    streams = list(contents) if isinstance(contents, ArrayObject) else [contents]
    for stream in streams:
        stream = stream.get_object() if stream is not None else None
        if isinstance(stream, StreamObject):
            total += len(stream.get_data())
    pending = [page.get("/Resources")]
    while pending and total <= MAX_PDF_PAGE_CONTENT:
        resources = pending.pop()
        resources = resources.get_object() if resources is not None else None
        if not isinstance(resources, DictionaryObject):
            continue
        forms = resources.get("/XObject")
        forms = forms.get_object() if forms is not None else None
        if not isinstance(forms, DictionaryObject):
            continue
        for ref in forms.values():
            form = ref.get_object()
            if id(form) in seen or not isinstance(form, StreamObject):
                continue
            if form.get("/Subtype") != NameObject("/Form"):
                continue  # an image: never unpacked to read text
            seen.add(id(form))
            if len(seen) > _MAX_PDF_FORMS:
                return MAX_PDF_PAGE_CONTENT + 1
            total += len(form.get_data())
            pending.append(form.get("/Resources"))
    return total


def read_docx(data: bytes, *, name: str) -> DocumentText:
    """The text of a Word document's body, with its author and dates."""
    _check_zip_directory(data, name)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            body = _member(archive, "word/document.xml", name, MAX_PART_BYTES)
            properties = _properties(archive, name)
    except _ZIP_ERRORS as exc:
        return _document(
            "",
            notes=[
                f"The Word document's text could not be read ({_reason(exc)}); it was "
                "imported as it is, and the stored file is the evidence."
            ],
        )
    if body is None:
        raise UnsupportedType(
            f"{name} is a ZIP archive without a Word document's text in it, which Caseview "
            "does not import; it was not opened. Ask whoever supplied it to send the "
            "document as .docx or PDF."
        )
    notes: list[str] = []
    try:
        text = _word_text(body)
    except etree.LxmlError as exc:
        text = ""
        notes.append(
            f"The Word document's text could not be read ({_reason(exc)}); it was imported "
            "as it is, and the stored file is the evidence."
        )
    findings = _property_findings(properties)
    page = _document(
        text,
        notes=notes,
        title=properties.get("title"),
        author=properties.get("author"),
        meta={f"docx:{k}": v for k, v in properties.items()},
    )
    return DocumentText(page.page, findings)


def _check_zip_directory(data: bytes, name: str) -> None:
    """Refuse an archive whose directory is too big to read, before zipfile reads it."""
    tail = data[-(65535 + 22) :]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return  # not a readable archive: zipfile says so, and that becomes a note
    entries = int.from_bytes(tail[at + 10 : at + 12], "little")
    directory = int.from_bytes(tail[at + 12 : at + 16], "little")
    if entries > MAX_ZIP_ENTRIES or directory > MAX_ZIP_DIRECTORY_BYTES:
        raise TooLarge(
            f"{name} is a Word document made of more parts than a document needs "
            f"(over {MAX_ZIP_ENTRIES:,}), so it was not opened. Ask whoever supplied it "
            "for a PDF of it."
        )


def _member(archive: zipfile.ZipFile, member: str, name: str, limit: int) -> bytes | None:
    """A part of the archive, refused by its unpacked size before it is unpacked."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        return None
    if info.file_size > limit:
        raise _unpacks_too_large(name, limit)
    with archive.open(info) as handle:
        # The declared size could lie: read one byte past the limit and no further.
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise _unpacks_too_large(name, limit)
    return content


def _unpacks_too_large(name: str, limit: int) -> TooLarge:
    return TooLarge(
        f"{name} would unpack to more than {limit // (1024 * 1024)} MB of text, far more "
        "than a real document holds (it may be built to exhaust the computer), so it was "
        "not opened. Ask whoever supplied it for a PDF of it."
    )


def _parser_kwargs() -> dict[str, bool]:
    # No DTD, no entity expansion, no network, libxml2's normal size limits.
    return {"resolve_entities": False, "no_network": True, "huge_tree": False,
            "load_dtd": False, "dtd_validation": False}  # fmt: skip


def _word_text(body: bytes) -> str:
    parts: list[str] = []
    size = 0
    for _event, element in etree.iterparse(io.BytesIO(body), events=("end",), **_parser_kwargs()):
        tag = element.tag
        if tag == f"{_W}t":
            parts.append(element.text or "")
            size += len(parts[-1])
        elif tag == f"{_W}tab":
            parts.append("\t")
        elif tag in (f"{_W}br", f"{_W}cr", f"{_W}p"):
            parts.append("\n")
        # Whatever it held is taken: drop it, and the siblings before it, so that memory
        # stays at the element at hand. Clearing paragraphs alone left millions of other
        # empty elements (a 19 KB file of them took 690 MB).
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
        if size > MAX_TEXT:
            break  # page_from_text cuts the working copy and says so
    return "".join(parts)


def _properties(archive: zipfile.ZipFile, name: str) -> dict[str, str]:
    try:
        raw = _member(archive, "docProps/core.xml", name, _MAX_PROPERTIES_BYTES)
        if raw is None:
            return {}
        root = etree.fromstring(raw, etree.XMLParser(**_parser_kwargs()))
    except (TooLarge, etree.LxmlError):
        return {}  # the properties are a help, not the evidence
    found: dict[str, str] = {}
    for element in root:
        key = _PROPERTIES.get(str(element.tag))
        text = " ".join((element.text or "").split())[:_MAX_HEADER_CHARS]
        if key and text:
            found[key] = text
    return found


def _property_findings(properties: dict[str, str]) -> tuple[str, ...]:
    said = []
    if "author" in properties:
        said.append(f"written by {properties['author']}")
    if "created" in properties:
        said.append(f"created {properties['created']}")
    if "last_modified_by" in properties:
        said.append(f"last changed by {properties['last_modified_by']}")
    if "modified" in properties:
        said.append(f"last changed {properties['modified']}")
    if not said:
        return ()
    return (
        f"The document's properties say it was {', '.join(said)} (as the computer that "
        "saved it recorded; they are easy to change).",
    )


def parse_message(data: bytes, policy: email.policy.Policy, max_parts: int) -> tuple[Message, bool]:
    """``data`` as a MIME message, its parts up to about ``max_parts``; True if cut there.

    The email package builds an object for every part before anything can be counted:
    a 3 MB message of 300,000 empty parts took it 26 seconds, and 50 MB would take
    gigabytes. Fed a piece at a time, it is stopped once it has made enough parts, and
    what it has read so far is the message.
    """
    made = 0
    base = policy.message_factory or Message

    def factory(policy: email.policy.Policy = policy) -> Message:
        nonlocal made
        made += 1
        return base(policy=policy)

    parser = email.parser.BytesFeedParser(_factory=factory, policy=policy)
    for start in range(0, len(data), _MAIL_FEED_BYTES):
        parser.feed(data[start : start + _MAIL_FEED_BYTES])
        if made > max_parts:
            return parser.close(), True
    return parser.close(), False


def read_eml(data: bytes) -> DocumentText:
    """An e-mail's sender, recipients, subject and text; attachments listed, not opened."""
    message, cut = parse_message(data, email.policy.default, _MAX_MAIL_PARTS)
    headers = {h: _header(message, h) for h in ("From", "To", "Cc", "Date", "Subject")}
    lines = [f"{h}: {v}" for h, v in headers.items() if v]
    notes: list[str] = ["The e-mail has too many parts; the first ones were read."] if cut else []
    attachments: list[str] = []
    bodies = list(_mail_texts(message, notes, attachments))
    text = "\n".join(lines) + "\n\n" + "\n\n".join(bodies)
    if any(isinstance(d, Exception) for d in message.defects):
        notes.append("The e-mail is not quite well formed; what could be read is shown.")
    findings: list[str] = []
    if attachments:
        findings.append(
            f"The e-mail has {len(attachments)} attachment(s), which were not imported: "
            f"{'; '.join(attachments[:50])}. Import any that matter as files of their own."
        )
    sent = _mail_date(headers["Date"])
    page = _document(
        text,
        notes=notes,
        title=headers["Subject"],
        author=headers["From"],
        meta={f"email:{h.lower()}": v for h, v in headers.items() if v},
    )
    return DocumentText(
        replace(page.page, published=headers["Date"], published_at=sent), tuple(findings)
    )


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
        shown = str(value) if value is not None else ""
        shown = _encoded_words(message, name) or shown
    except _MAIL_ERRORS:
        # As written: reading the header through the policy again would fail again.
        raw = [v for k, v in message.raw_items() if k.lower() == name.lower()][:1]
        shown = str(raw[0]) if raw else ""
    return " ".join(shown.split())[:_MAX_HEADER_CHARS] or None


def _encoded_words(message: Message, name: str) -> str | None:
    """A header written in RFC 2047 encoded words (``=?shift_jis?B?...?=``), decoded with
    the character sets as browsers and mail programs read them (``charsets``), which
    the email package's own decoding does not: its shift_jis drops the Windows-only
    characters Japanese mail uses. None if the header has no encoded words."""
    raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    if not isinstance(raw, str) or "=?" not in raw:
        return None
    pieces = []
    for part, label in email.header.decode_header(raw):
        if isinstance(part, str):
            pieces.append(part)
            continue
        codec = charsets.usable_codec(label) or "utf-8"
        pieces.append(part.decode(codec, errors="replace"))
    return "".join(pieces)


def _mail_date(stated: str | None) -> datetime | None:
    if not stated:
        return None
    try:
        sent = email.utils.parsedate_to_datetime(stated)
        return sent.astimezone(UTC) if sent.tzinfo is not None else None
    except (TypeError, ValueError, IndexError, OverflowError):  # Overflow: past year 9999
        return None


def _mail_texts(message: Message, notes: list[str], attachments: list[str]) -> Iterator[str]:
    """The readable text of each part, in order; a plain part preferred to its HTML twin."""
    count = 0
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        count += 1
        if count > _MAX_MAIL_PARTS or depth > _MAX_MAIL_DEPTH:
            notes.append("The e-mail has too many parts; the first ones were read.")
            return
        if part.is_multipart():
            children = _children(part)
            if _content_type(part) == "multipart/alternative":
                children = _best_alternative(children)
            stack.extend((child, depth + 1) for child in reversed(children))
            continue
        ctype = _content_type(part)
        filename = _filename(part)
        readable = ctype in ("text/plain", "text/html")
        if _disposition(part) == "attachment" or filename or not readable:
            attachments.append(f"{filename or 'unnamed'} ({ctype})")
            continue
        text = _part_text(part, ctype, notes)
        if text.strip():
            yield text


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except _MAIL_ERRORS:
        return "application/octet-stream"  # unreadable: listed, never read as text


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except _MAIL_ERRORS:
        return "attachment"  # unreadable ("attachment; filename*"): listed, not read


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [child for child in payload if isinstance(child, Message)]
    return [payload] if isinstance(payload, Message) else []


def _best_alternative(children: list[Message]) -> list[Message]:
    for wanted in ("text/plain", "text/html"):
        for child in children:
            if _content_type(child) == wanted and not _filename(child):
                return [child]
    return children[-1:]


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except _MAIL_ERRORS:
        return "unnamed"
    return " ".join(name.split())[:200] if name else None


def _part_text(part: Message, ctype: str, notes: list[str]) -> str:
    encoded = part.get_payload()
    # Measured before decoding (base64 is a third longer than what it carries).
    if isinstance(encoded, str) and len(encoded) > MAX_PART_BYTES * 3 // 2:
        notes.append(
            f"A part of the e-mail is over {MAX_PART_BYTES // (1024 * 1024)} MB and was not "
            "read; the stored file has all of it."
        )
        return ""
    try:
        body = part.get_payload(decode=True)
        charset = part.get_content_charset()
    except _MAIL_ERRORS:
        notes.append("A part of the e-mail could not be decoded; the stored file has it.")
        return ""
    if not isinstance(body, bytes):
        return ""
    if ctype == "text/html":
        page = parse_html(body, charset=charset)
        notes.extend(n for n in page.notes if n not in notes)
        return page.text
    decoded = charsets.decode(body, charset, html=False)
    notes.extend(n for n in decoded.notes if n not in notes)
    return decoded.text


def _document(
    text: str,
    *,
    notes: list[str],
    title: str | None = None,
    author: str | None = None,
    meta: dict[str, str] | None = None,
) -> DocumentText:
    """The text as a page: tidied and cut to :data:`MAX_TEXT` as a web page's is."""
    page = page_from_text(text.encode("utf-8", "replace"), charset="utf-8")
    # The reader's note on a cut speaks of a page; say "document" instead.
    limit = f"{MAX_TEXT:,}"
    read = [_TEXT_CUT.format(limit=MAX_TEXT) if limit in n else n for n in page.notes]
    return DocumentText(
        replace(
            page,
            title=title,
            author=author,
            meta=meta or {},
            charset_source="document",
            notes=tuple(dict.fromkeys((*notes, *read))),  # each said once
        )
    )


def _reason(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
