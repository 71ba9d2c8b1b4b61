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

import charset_normalizer

from collectors import charsets

_HEAD = 4096


@dataclass(frozen=True)
class Sniffed:
    kind: str  # "png", "jpeg", "heif", "tiff", "pdf", "docx", "eml", "html", ... or refused
    media_type: str
    label: str  # what to call it in a message to a person
    supported: bool
    advice: str = ""  # for a refused kind: what the worker can do instead


PNG = Sniffed("png", "image/png", "a PNG image", True)
JPEG = Sniffed("jpeg", "image/jpeg", "a JPEG image", True)
HEIF = Sniffed("heif", "image/heic", "a HEIC photo", True)
AVIF = Sniffed("avif", "image/avif", "an AVIF image", True)
TIFF = Sniffed("tiff", "image/tiff", "a TIFF image", True)
PDF = Sniffed("pdf", "application/pdf", "a PDF document", True)
DOCX = Sniffed(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "a Word document (.docx)",
    True,
)
EML = Sniffed("eml", "message/rfc822", "an e-mail (.eml)", True)
HTML = Sniffed("html", "text/html", "a web page (HTML)", True)
MHTML = Sniffed("mhtml", "multipart/related", "a saved web page (MHTML)", True)
TEXT = Sniffed("text", "text/plain", "plain text", True)
SUPPORTED = (PNG, JPEG, HEIF, AVIF, TIFF, PDF, DOCX, EML, HTML, MHTML, TEXT)

# Things a worker might be handed that Caseview will not import: programs, archives
# (which can hide anything) and formats it cannot show. Each is named, with what to do.
_PROGRAM = "Do not open it. Ask whoever supplied it what it was meant to be."
_ARCHIVE = (
    "Unpack it on a computer you trust and import the photos, documents or pages inside "
    "one at a time."
)
_SCREENSHOT = "Take a screenshot of it (PNG) or save it as PDF, and import that."
_AS_PDF = "Open it in the program that made it and save or print it as PDF, then import that."
_MEDIA = (
    "Take a screenshot of the part that matters, and record where it is published as the "
    "address it shows."
)


def _no(kind: str, media_type: str, label: str, advice: str) -> Sniffed:
    return Sniffed(kind, media_type, label, supported=False, advice=advice)


_MACOS = _no("macho", "application/x-mach-binary", "a program (macOS)", _PROGRAM)
ZIP = _no("zip", "application/zip", "a ZIP archive", _ARCHIVE)
_GIF = _no("gif", "image/gif", "a GIF image", _SCREENSHOT)
_VIDEO = _no("video", "video/mp4", "a video (MP4 or MOV)", _MEDIA)
_AUDIO = _no("audio", "audio/mpeg", "an audio recording", _MEDIA)
_MATROSKA = _no("video", "video/webm", "a video (WebM or MKV)", _MEDIA)
# (magic, what it is, whether the magic is printable, so a text file could start with it)
_REFUSED: tuple[tuple[bytes, Sniffed, bool], ...] = (
    (b"\x7fELF", _no("elf", "application/x-elf", "a program (Linux ELF)", _PROGRAM), False),
    (b"\xfe\xed\xfa\xce", _MACOS, False),
    (b"\xfe\xed\xfa\xcf", _MACOS, False),
    (b"\xce\xfa\xed\xfe", _MACOS, False),
    (b"\xcf\xfa\xed\xfe", _MACOS, False),
    (b"\xca\xfe\xba\xbe", _no("java", "application/java-vm", "a program (Java class)", _PROGRAM),
     False),
    (b"\x00asm", _no("wasm", "application/wasm", "a program (WebAssembly)", _PROGRAM), False),
    (b"#!", _no("script", "text/x-shellscript", "a program (script)", _PROGRAM), False),
    (b"PK\x03\x04", ZIP, False),
    (b"PK\x05\x06", ZIP, False),
    (b"PK\x07\x08", ZIP, False),
    (b"Rar!\x1a\x07", _no("rar", "application/vnd.rar", "a RAR archive", _ARCHIVE), False),
    (b"7z\xbc\xaf\x27\x1c", _no("7z", "application/x-7z-compressed", "a 7-Zip archive",
                                _ARCHIVE), False),
    (b"\x1f\x8b", _no("gzip", "application/gzip", "a compressed (gzip) file", _ARCHIVE), False),
    (b"\xfd7zXZ\x00", _no("xz", "application/x-xz", "a compressed (xz) file", _ARCHIVE), False),
    (b"\x28\xb5\x2f\xfd", _no("zstd", "application/zstd", "a compressed (zstd) file", _ARCHIVE),
     False),
    (b"MSCF\x00\x00\x00\x00", _no("cab", "application/vnd.ms-cab-compressed",
                                  "a Windows cabinet archive", _ARCHIVE), False),
    (b"SQLite format 3\x00", _no("sqlite", "application/vnd.sqlite3", "a database file",
                                 _AS_PDF), False),
    (b"GIF87a", _GIF, True),
    (b"GIF89a", _GIF, True),
    (b"8BPS", _no("psd", "image/vnd.adobe.photoshop", "a Photoshop image", _SCREENSHOT), True),
    (b"ID3", _no("audio", "audio/mpeg", "an audio recording (MP3)", _MEDIA), True),
    (b"OggS", _no("audio", "audio/ogg", "an audio or video recording (Ogg)", _MEDIA), True),
    (b"fLaC", _no("audio", "audio/flac", "an audio recording (FLAC)", _MEDIA), True),
    (b"#!AMR", _no("audio", "audio/amr", "a voice recording (AMR)", _MEDIA), True),
    (b"\x1a\x45\xdf\xa3", _MATROSKA, False),
    (b"FLV\x01", _no("video", "video/x-flv", "a video (Flash)", _MEDIA), True),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", _no("video", "video/x-ms-asf",
                                              "a Windows Media file", _MEDIA), False),
    (b"BZh", _no("bzip2", "application/x-bzip2", "a compressed (bzip2) file", _ARCHIVE), True),
    (b"BM", _no("bmp", "image/bmp", "a BMP image", _SCREENSHOT), True),
)  # fmt: skip
_WINDOWS_PROGRAM = _no(
    "pe",
    "application/vnd.microsoft.portable-executable",
    "a program (Windows .exe or .dll)",
    _PROGRAM,
)
_ISO = _no("iso", "application/x-iso9660-image", "a disc image (ISO)", _ARCHIVE)
_TAR = _no("tar", "application/x-tar", "a TAR archive", _ARCHIVE)
_MP3_SYNC = frozenset({0xFB, 0xFA, 0xF3, 0xF2, 0xE3, 0xE2, 0xF1, 0xF9})  # MPEG audio, ADTS

# ISO base media files ("ftyp" box): HEIF photos (iPhone), AVIF, and MP4/MOV/3GP video.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm",
                          b"hevs", b"mif1", b"msf1", b"mif2"})  # fmt: skip
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})

# Office files and other formats that are ZIP archives inside, told apart by the names
# of their parts (present in the ZIP's directory, so a substring search finds them).
_ZIP_KINDS: tuple[tuple[bytes, Sniffed], ...] = (
    (b"word/document.xml", DOCX),
    (b"xl/workbook", _no("xlsx", "application/vnd.openxmlformats-officedocument."
                         "spreadsheetml.sheet", "an Excel workbook", _AS_PDF)),
    (b"ppt/presentation", _no("pptx", "application/vnd.openxmlformats-officedocument."
                              "presentationml.presentation", "a PowerPoint presentation",
                              _AS_PDF)),
    (b"application/vnd.oasis.opendocument", _no("odf", "application/vnd.oasis.opendocument",
                                                "an OpenDocument file (LibreOffice)", _AS_PDF)),
    (b"application/epub+zip", _no("epub", "application/epub+zip", "an e-book (EPUB)",
                                  _SCREENSHOT)),
    (b"AndroidManifest.xml", _no("apk", "application/vnd.android.package-archive",
                                 "a program (Android app)", _PROGRAM)),
    (b"META-INF/MANIFEST.MF", _no("jar", "application/java-archive",
                                  "a program (Java archive)", _PROGRAM)),
)  # fmt: skip
_OLE = _no(
    "ole",
    "application/x-ole-storage",
    "an old Office document or an installer",
    "If it is a document, open it in the program that made it and save it as PDF (or as "
    ".docx), then import that; if it is an installer, do not open it.",
)
# Old (binary) Office files name their streams in UTF-16.
_OLE_KINDS: tuple[tuple[bytes, Sniffed], ...] = (
    ("EncryptedPackage".encode("utf-16-le"), _no(
        "office_encrypted", "application/x-ole-storage",
        "a password-protected Office document",
        "Ask whoever supplied it for a copy without a password, or for a PDF of it.")),
    ("WordDocument".encode("utf-16-le"), _no(
        "doc", "application/msword", "an old Word document (.doc)",
        "Open it in Word and save it as .docx or PDF, then import that.")),
    ("Workbook".encode("utf-16-le"), _no(
        "xls", "application/vnd.ms-excel", "an old Excel workbook (.xls)", _AS_PDF)),
    ("PowerPoint Document".encode("utf-16-le"), _no(
        "ppt", "application/vnd.ms-powerpoint", "an old PowerPoint presentation (.ppt)",
        _AS_PDF)),
    ("__substg1.0_".encode("utf-16-le"), _no(
        "msg", "application/vnd.ms-outlook", "an Outlook message (.msg)",
        "In Outlook, save or forward it as an .eml file (or print it to PDF), then import "
        "that.")),
)  # fmt: skip
_HTML_START = re.compile(
    rb"<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p"
    rb"|!--)[ \t\n\f\r>]",
    re.I,
)
_MHTML_MIME = re.compile(rb"^mime-version\s*:", re.I | re.M)
_MHTML_TYPE = re.compile(rb"^content-type\s*:\s*multipart/related", re.I | re.M)
# An e-mail opens with header fields ("Name: value", continued on indented lines).
_HEADER_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
_MAIL_FROM = re.compile(rb"^from[ \t]*:", re.I | re.M)
_MAIL_OTHER = re.compile(rb"^(?:to|cc|date|subject|message-id|received)[ \t]*:", re.I | re.M)
_MAIL_ROUTING = re.compile(rb"^(?:to|cc|message-id|received|return-path)[ \t]*:", re.I | re.M)
_MAIL_HEAD = 65536  # headers (Received: lines above all) can run long
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_LEGACY_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


def sniff(data: bytes) -> Sniffed | None:
    """The type the bytes show, or None if they are binary of an unknown kind."""
    head = data[:_HEAD]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith((b"II+\x00", b"MM\x00+")):
        return _no("bigtiff", "image/tiff", "a very large TIFF image (BigTIFF)", _SCREENSHOT)
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"RIFF"):
        riff = _RIFF.get(head[8:12])
        if riff is not None:
            return riff
    if head.startswith(b"MZ") and not _looks_like_text(data):
        return _WINDOWS_PROGRAM
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return next((kind for name, kind in _OLE_KINDS if name in data), _OLE)
    if head.startswith(b"PK\x03\x04"):
        return next((kind for name, kind in _ZIP_KINDS if name in data), ZIP)
    for magic, refused, printable in _REFUSED:
        if head.startswith(magic) and not (printable and _looks_like_text(data)):
            return refused
    if data[0x8001:0x8006] == b"CD001" or data[0x8801:0x8806] == b"CD001":
        return _ISO
    if data[257:262] == b"ustar":
        return _TAR
    if len(head) > 1 and head[0] == 0xFF and head[1] in _MP3_SYNC:
        return _AUDIO
    if head[4:8] in (b"moov", b"mdat", b"wide") and not _looks_like_text(data):
        return _no("video", "video/quicktime", "a video (QuickTime MOV)", _MEDIA)
    text_head = _as_ascii_compatible(head)
    if text_head is None:
        return None
    stripped = text_head.lstrip(b" \t\n\r\f")
    mail_head = _as_ascii_compatible(data[:_MAIL_HEAD])
    block = _header_block(mail_head.lstrip(b" \t\n\r\f")) if mail_head else None
    if block is not None and _is_mhtml(block) and not _MAIL_ROUTING.search(block):
        return MHTML
    if block is not None and _is_email(block):
        return EML
    if _HTML_START.match(stripped):
        return HTML
    if stripped[:5].lower() == b"<?xml" and b"<html" in stripped[:1024].lower():
        return HTML  # XHTML
    return TEXT if _looks_like_text(data) else None


_RIFF = {
    b"WEBP": _no("webp", "image/webp", "a WebP image", _SCREENSHOT),
    b"WAVE": _no("audio", "audio/wav", "an audio recording (WAV)", _MEDIA),
    b"AVI ": _no("video", "video/x-msvideo", "a video (AVI)", _MEDIA),
}


def _iso_media(head: bytes) -> Sniffed:
    """A file of ISO base media boxes: a HEIF or AVIF photo, or a video or audio file."""
    size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(max(size, 16), len(head)) - 3, 4)}
    brands = {major} | compatible
    if major in _AVIF_BRANDS or (major not in _HEIF_BRANDS and brands & _AVIF_BRANDS):
        return AVIF
    if major in _HEIF_BRANDS or brands & {b"heic", b"heix", b"mif1"}:
        return HEIF
    if major in _AUDIO_BRANDS:
        return _AUDIO
    if major.startswith(b"qt"):
        return _no("video", "video/quicktime", "a video (QuickTime MOV)", _MEDIA)
    return _VIDEO


def _as_ascii_compatible(head: bytes) -> bytes | None:
    """The first bytes with any BOM removed, re-encoded so ASCII patterns can match."""
    if head.startswith(codecs.BOM_UTF8):
        return head[3:]
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            usable = head[2:][: (len(head) - 2) // 2 * 2]
            return usable.decode(codec, errors="replace").encode("utf-8", errors="replace")
    unmarked = charsets.utf16_without_bom(head)
    if unmarked:
        return head.decode(unmarked, errors="replace").encode("utf-8", errors="replace")
    if b"\x00" in head:
        return None
    return head


def _header_block(head: bytes) -> bytes:
    """The lines before the first blank line (the header of an RFC 822 message)."""
    end = re.search(rb"\r?\n\r?\n", head)
    return head[: end.start()] if end else head


def _is_mhtml(block: bytes) -> bool:
    # An MHTML file opens with RFC 822 headers: MIME-Version and a multipart/related type,
    # both before the first blank line.
    return bool(_MHTML_MIME.search(block) and _MHTML_TYPE.search(block))


def _is_email(block: bytes) -> bool:
    """Header fields only, with a sender and at least one of the other usual fields."""
    lines = block.splitlines()
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]  # an mbox separator line, as some mail programs save
    if len(lines) < 2 or not _MAIL_FROM.search(block) or not _MAIL_OTHER.search(block):
        return False
    return all(_HEADER_FIELD.match(line) or line[:1] in (b" ", b"\t") for line in lines)


def _looks_like_text(data: bytes) -> bool:
    """Text without control characters other than whitespace: UTF-8, UTF-16 (with or
    without a BOM), or a legacy character set (Windows-1251, Shift_JIS, GBK...) that
    charset-normalizer recognises, as a text file saved on an older computer is."""
    sample = data[:65536]
    truncated = len(data) > len(sample)
    for bom, codec in zip(_TEXT_BOMS, ("utf-8", "utf-16-le", "utf-16-be"), strict=True):
        if sample.startswith(bom):
            body = sample[len(bom) :]
            if codec != "utf-8":
                body = body[: len(body) // 2 * 2]
            return _decodes_cleanly(body, codec, truncated=truncated)
    unmarked = charsets.utf16_without_bom(sample)
    if unmarked:
        return _decodes_cleanly(sample[: len(sample) // 2 * 2], unmarked, truncated=truncated)
    if _decodes_cleanly(sample, "utf-8", truncated=truncated):
        return True
    # Binary data has control bytes; text in a legacy character set has none (ESC
    # only in ISO-2022 text), and charset-normalizer finds a character set for it.
    if _LEGACY_CONTROLS.search(sample):
        return False
    return charset_normalizer.from_bytes(sample).best() is not None


def _decodes_cleanly(sample: bytes, codec: str, *, truncated: bool) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        # final=False lets a sample cut mid-character pass; the whole file is decoded later.
        text = decoder.decode(sample, final=not truncated)
    except UnicodeDecodeError:
        return False
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls == 0
