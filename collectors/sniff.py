"""What a file or body really is, from its first bytes, never from its name or label.

A file named ``photo.png`` can be a web page; a server can label HTML as an image. The
type Caseview records and acts on is the one the content shows. The HTML rule is the
WHATWG MIME-sniffing pattern list (a tag a browser would treat as HTML at the start
of the document, after whitespace).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_HEAD = 4096


@dataclass(frozen=True)
class Sniffed:
    kind: str  # "png", "jpeg", "pdf", "html", "mhtml", "text", or a refused kind
    media_type: str
    label: str  # what to call it in a message to a person
    supported: bool


PNG = Sniffed("png", "image/png", "a PNG image", True)
JPEG = Sniffed("jpeg", "image/jpeg", "a JPEG image", True)
PDF = Sniffed("pdf", "application/pdf", "a PDF document", True)
HTML = Sniffed("html", "text/html", "a web page (HTML)", True)
MHTML = Sniffed("mhtml", "multipart/related", "a saved web page (MHTML)", True)
TEXT = Sniffed("text", "text/plain", "plain text", True)


# Things a worker might be handed that Caseview will not import: programs, archives
# (which can hide anything) and formats it cannot show.
def _no(kind: str, media_type: str, label: str) -> Sniffed:
    return Sniffed(kind, media_type, label, supported=False)


_MACOS = _no("macho", "application/x-mach-binary", "a program (macOS)")
_ZIP = _no("zip", "application/zip", "a ZIP archive (or an Office document, which is one)")
_GIF = _no("gif", "image/gif", "a GIF image")
_REFUSED: tuple[tuple[bytes, Sniffed], ...] = (
    (b"\x7fELF", _no("elf", "application/x-elf", "a program (Linux ELF)")),
    (b"\xfe\xed\xfa\xce", _MACOS),
    (b"\xfe\xed\xfa\xcf", _MACOS),
    (b"\xce\xfa\xed\xfe", _MACOS),
    (b"\xcf\xfa\xed\xfe", _MACOS),
    (b"\xca\xfe\xba\xbe", _no("java", "application/java-vm", "a program (Java class)")),
    (b"\x00asm", _no("wasm", "application/wasm", "a program (WebAssembly)")),
    (b"#!", _no("script", "text/x-shellscript", "a program (script)")),
    (b"PK\x03\x04", _ZIP),
    (b"PK\x05\x06", _ZIP),
    (b"PK\x07\x08", _ZIP),
    (b"Rar!\x1a\x07", _no("rar", "application/vnd.rar", "a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", _no("7z", "application/x-7z-compressed", "a 7-Zip archive")),
    (b"\x1f\x8b", _no("gzip", "application/gzip", "a compressed (gzip) file")),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        _no("ole", "application/x-ole-storage", "an old Office document or an installer"),
    ),
    (b"SQLite format 3\x00", _no("sqlite", "application/vnd.sqlite3", "a database file")),
    (b"GIF87a", _GIF),
    (b"GIF89a", _GIF),
)
_WINDOWS_PROGRAM = _no(
    "pe", "application/vnd.microsoft.portable-executable", "a program (Windows .exe or .dll)"
)
_HTML_START = re.compile(
    rb"<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p"
    rb"|!--)[ \t\n\f\r>]",
    re.I,
)
_MHTML_MIME = re.compile(rb"^mime-version\s*:", re.I | re.M)
_MHTML_TYPE = re.compile(rb"^content-type\s*:\s*multipart/related", re.I | re.M)
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def sniff(data: bytes) -> Sniffed | None:
    """The type the bytes show, or None if they are binary of an unknown kind."""
    head = data[:_HEAD]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _no("webp", "image/webp", "a WebP image")
    if head.startswith(b"MZ") and not _looks_like_text(data):
        return _WINDOWS_PROGRAM
    for magic, refused in _REFUSED:
        if head.startswith(magic):
            return refused
    text_head = _as_ascii_compatible(head)
    if text_head is None:
        return None
    stripped = text_head.lstrip(b" \t\n\r\f")
    if _is_mhtml(stripped):
        return MHTML
    if _HTML_START.match(stripped):
        return HTML
    if stripped[:5].lower() == b"<?xml" and b"<html" in stripped[:1024].lower():
        return HTML  # XHTML
    return TEXT if _looks_like_text(data) else None


def _as_ascii_compatible(head: bytes) -> bytes | None:
    """The first bytes with any BOM removed, re-encoded so ASCII patterns can match."""
    if head.startswith(codecs.BOM_UTF8):
        return head[3:]
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            usable = head[2:][: (len(head) - 2) // 2 * 2]
            return usable.decode(codec, errors="replace").encode("utf-8", errors="replace")
    if b"\x00" in head:
        return None
    return head


def _is_mhtml(head: bytes) -> bool:
    # An MHTML file opens with RFC 822 headers: MIME-Version and a multipart/related type,
    # both before the first blank line.
    end = re.search(rb"\r?\n\r?\n", head)
    block = head[: end.start()] if end else head
    return bool(_MHTML_MIME.search(block) and _MHTML_TYPE.search(block))


def _looks_like_text(data: bytes) -> bool:
    """UTF-8 or BOM-marked UTF-16 without control characters other than whitespace."""
    sample = data[:65536]
    for bom, codec in zip(_TEXT_BOMS, ("utf-8", "utf-16-le", "utf-16-be"), strict=True):
        if sample.startswith(bom):
            body = sample[len(bom) :]
            if codec != "utf-8":
                body = body[: len(body) // 2 * 2]
            return _decodes_cleanly(body, codec, truncated=len(data) > len(sample))
    return _decodes_cleanly(sample, "utf-8", truncated=len(data) > len(sample))


def _decodes_cleanly(sample: bytes, codec: str, *, truncated: bool) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        # final=False lets a sample cut mid-character pass; the whole file is decoded later.
        text = decoder.decode(sample, final=not truncated)
    except UnicodeDecodeError:
        return False
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls == 0
