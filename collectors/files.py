"""Import a file the worker saved or was given: a photo, PDF, document, e-mail or page.

The type is decided by the content (``collectors.sniff``), never by the name: a
``.png`` that is really a web page is imported as a web page, and the mismatch is
reported in ``warnings`` so the worker can ask where the file came from. Programs,
archives, video, audio and unknown binary files are refused, and the refusal names what
the file is and what to do instead. The evidence is the exact bytes, hashed with SHA-256
as read; everything else (text, EXIF, GPS) is read from them and reported
(``collectors.images`` for photos, ``collectors.documents`` for PDF, Word and e-mail).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath

from collectors import sniff
from collectors.documents import DocumentText, read_docx, read_eml, read_pdf
from collectors.errors import CollectorError, TooLarge, UnsupportedType
from collectors.html import PageInfo, page_from_text, parse_html
from collectors.images import GpsPoint, ImageInfo, read_image
from collectors.mhtml import MhtmlDocument, read_mhtml
from collectors.version import TOOL_NAME, TOOL_VERSION

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# What a file name's extension claims, to compare with what the content shows.
_EXTENSIONS = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".heic": "heif",
    ".heif": "heif",
    ".hif": "heif",
    ".avif": "avif",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".pdf": "pdf",
    ".docx": "docx",
    ".eml": "eml",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".mht": "mhtml",
    ".mhtml": "mhtml",
    ".txt": "text",
    ".text": "text",
}
_LABELS = {s.kind: s.label for s in sniff.SUPPORTED}
# The Pillow format that reads each kind of photo.
_IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "heif": "HEIF", "avif": "AVIF", "tiff": "TIFF"}
# Browsers mark pages saved as HTML with the address they came from ("Mark of the Web").
_SAVED_FROM = re.compile(rb"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.I)
_SUPPORTED_HINT = (
    "Caseview imports screenshots and photos (JPEG, PNG, HEIC, AVIF or TIFF), PDF files, "
    "Word documents (.docx), e-mails (.eml), saved web pages (HTML or MHTML) and plain "
    "text files."
)


@dataclass(frozen=True)
class FileCapture:
    """An imported file: its exact bytes, their hash, and what was read from them."""

    filename: str
    kind: str  # "png", "jpeg", "heif", "avif", "tiff", "pdf", "docx", "eml", "html", ...
    media_type: str
    body: bytes
    sha256: str
    size: int
    imported_at: datetime  # UTC, when Caseview read the file
    shown_url: str | None  # the address the file itself names (MHTML, saved HTML)
    warnings: tuple[str, ...]
    findings: tuple[str, ...]  # plain-English facts for the worker (camera time, GPS...)
    page: PageInfo | None
    image: ImageInfo | None
    mhtml: MhtmlDocument | None
    tool: str = f"{TOOL_NAME}/{TOOL_VERSION}"


def image_gps(data: bytes) -> GpsPoint | None:
    """Where a photo says it was taken (its EXIF GPS), if ``data`` is a photo that says;
    None for anything else. A page fetched by its address may be a photo too."""
    found = sniff.sniff(data)
    if found is None or found.kind not in _IMAGE_FORMATS:
        return None
    return read_image(data, _IMAGE_FORMATS[found.kind]).gps


def import_file(
    path_or_bytes: str | os.PathLike[str] | bytes,
    *,
    filename: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FileCapture:
    """Read, type and hash a file; raise :class:`UnsupportedType` or :class:`TooLarge`."""
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
        name = filename or "unnamed file"
        if len(data) > max_bytes:
            raise _too_large(name, max_bytes)
    else:
        path = Path(path_or_bytes)
        name = filename or path.name
        data = _read_file(path, name, max_bytes)
    imported_at = datetime.now(UTC)
    if not data:
        raise UnsupportedType(f"{name} is empty, so there is nothing to import.")
    found = sniff.sniff(data)
    if found is None:
        raise UnsupportedType(
            f"{name} is binary data that is not a photo, document, e-mail, web page or text "
            "(perhaps a program, an archive or a file only one program can open), which "
            "Caseview does not import; it was not opened. Ask whoever supplied it what it "
            f"is, and for a PDF or a screenshot of what it shows. {_SUPPORTED_HINT}"
        )
    if not found.supported:
        raise UnsupportedType(
            f"{name} is {found.label}, which Caseview does not import; it was not opened. "
            f"{found.advice} {_SUPPORTED_HINT}".replace("  ", " ")
        )
    warnings = _name_warnings(name, found)
    page: PageInfo | None = None
    image: ImageInfo | None = None
    saved_page: MhtmlDocument | None = None
    shown_url: str | None = None
    findings: list[str] = []
    document: DocumentText | None = None
    if found.kind in _IMAGE_FORMATS:
        image = read_image(data, _IMAGE_FORMATS[found.kind], source=name)
        findings.extend(_image_findings(image))
        warnings.extend(image.notes)
    elif found.kind == "pdf":
        document = read_pdf(data)
    elif found.kind == "docx":
        document = read_docx(data, name=name)
    elif found.kind == "eml":
        document = read_eml(data)
    elif found.kind == "html":
        match = _SAVED_FROM.search(data[:4096])
        shown_url = match.group(1).decode("ascii", errors="replace") if match else None
        # A saved page's relative links point into the site it was saved from.
        page = parse_html(data, base_url=shown_url)
    elif found.kind == "mhtml":
        saved_page = read_mhtml(data)
        page = parse_html(
            saved_page.html, charset=saved_page.charset, base_url=saved_page.content_location
        )
        shown_url = saved_page.content_location or saved_page.snapshot_location
    elif found.kind == "text":
        page = page_from_text(data)
    if document is not None:
        page = document.page
        findings.extend(document.findings)
    if page is not None:
        warnings.extend(page.notes)  # how it was read: character set guessed, read flat...
    if page is not None and page.login_wall:
        warnings.append(
            f"This looks like a login or restricted page ({page.login_wall}). Only import "
            "what anyone could see without logging in."
        )
    if shown_url:
        findings.append(f"The file names the web address it came from: {shown_url}")
    return FileCapture(
        filename=name,
        kind=found.kind,
        media_type=found.media_type,
        body=data,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        imported_at=imported_at,
        shown_url=shown_url,
        warnings=tuple(warnings),
        findings=tuple(findings),
        page=page,
        image=image,
        mhtml=saved_page,
    )


def _too_large(name: str, max_bytes: int) -> TooLarge:
    return TooLarge(
        f"{name} is larger than the {max_bytes // (1024 * 1024)} MB limit for an import. "
        "Save a smaller copy (for example a screenshot of the part that matters)."
    )


def _read_file(path: Path, name: str, max_bytes: int) -> bytes:
    not_a_file = UnsupportedType(f"{name} is not an ordinary file, so it was not imported.")
    try:
        # Checked before opening: opening a named pipe would wait for a writer forever.
        if not stat.S_ISREG(path.stat().st_mode):
            raise not_a_file
        with path.open("rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise not_a_file  # swapped between the check and the open
            # Read one byte past the limit instead of trusting the size the file system
            # reports: the file could be growing while we read it.
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise CollectorError(
            f"Caseview could not read {name} ({exc.strerror or exc}). Check the file still "
            "exists and that you may open it."
        ) from exc
    if len(data) > max_bytes:
        raise _too_large(name, max_bytes)
    return data


def _name_warnings(name: str, found: sniff.Sniffed) -> list[str]:
    claimed = _EXTENSIONS.get(PurePath(name).suffix.lower())
    if claimed is None or claimed == found.kind:
        return []
    return [
        f"{name} is named like {_LABELS[claimed]}, but its content is {found.label}; it was "
        f"imported as {found.label}. Ask whoever supplied it how it was made."
    ]


def _image_findings(image: ImageInfo) -> list[str]:
    findings: list[str] = []
    if image.camera_time:
        if image.camera_time_utc is not None:
            when = image.camera_time_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
            findings.append(f"Camera time: {image.camera_time} ({when} UTC).")
        else:
            findings.append(
                f"Camera time: {image.camera_time} (the camera's own clock; its time zone "
                "is not recorded)."
            )
    if image.camera:
        findings.append(f"Camera: {image.camera}.")
    if image.gps is not None:
        findings.append(
            f"GPS position: {image.gps} (latitude, longitude). Anyone with this file can "
            "see where it was taken."
        )
    return findings
