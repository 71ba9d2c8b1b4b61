"""Turning a page's bytes into text without guessing silently.

The order follows what a browser does (WHATWG "encoding sniffing", simplified): a byte
order mark wins; then the charset in the Content-Type header; then a ``<meta charset>``
or ``http-equiv`` declaration in the first 4 KiB (found by beautifulsoup4); then
statistical sniffing (charset-normalizer); UTF-8 as the last resort. An invalid or
dangerous label is skipped with a note rather than trusted; when every label the page
gave is unusable, the text is read as UTF-8 if it is valid UTF-8, else as
Windows-1252 (what browsers fall back to), and the source is ``"guessed"`` with a note
saying so. Decoding replaces
undecodable bytes (U+FFFD) and says so: the evidence is the bytes; the text is a
working copy.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import charset_normalizer
from bs4.dammit import EncodingDetector

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels Python accepts that are not character sets a web page can use: decoding with
# them would interpret the page (escape sequences, host names) rather than read it.
_REFUSED_CODECS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "utf-7"}
)
# Browsers read these labels as windows-1252 (WHATWG Encoding), which differs from
# ISO-8859-1 only where the latter has invisible control characters.
_AS_WINDOWS_1252 = frozenset({"latin-1", "iso8859-1", "ascii"})
_PRESCAN_BYTES = 4096  # where a page may declare its character set
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class DecodedText:
    text: str
    charset: str
    source: str  # "bom", "header", "meta", "sniffed", "guessed" or "default"
    notes: tuple[str, ...]


def usable_codec(label: str | None) -> str | None:
    """Python's name for a charset label, or None if unknown or not a text charset."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
        "a".encode(name)  # refuses bytes-to-bytes codecs such as base64 or zlib
    except (LookupError, UnicodeError):
        return None
    if name in _REFUSED_CODECS:
        return None
    return "cp1252" if name in _AS_WINDOWS_1252 else name


def meta_charset(body: bytes) -> str | None:
    """The charset a page declares in its first bytes (``<meta>`` or XML declaration).

    beautifulsoup4's declaration finder, over the prescan window only: a declaration
    further in is not one a browser would honour.
    """
    label = EncodingDetector.find_declared_encoding(body[:_PRESCAN_BYTES], is_html=True)
    return label.strip() if label else None


def decode(body: bytes, declared: str | None = None, *, html: bool = True) -> DecodedText:
    """Decode ``body``; ``declared`` is the Content-Type charset, if any."""
    notes: list[str] = []
    unusable: list[str] = []  # labels the page or server gave that cannot be used
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return _finish(body, codec, "bom", notes)
    if declared:
        header_codec = usable_codec(declared)
        if header_codec:
            return _finish(body, header_codec, "header", notes)
        unusable.append(f"the server declared {declared[:60]!r}")
    if html:
        label = meta_charset(body)
        if label:
            meta_codec = usable_codec(label)
            if meta_codec and meta_codec.startswith("utf-16"):
                # A declaration readable as ASCII cannot be UTF-16 (WHATWG).
                meta_codec = "utf-8"
            if meta_codec:
                return _finish(body, meta_codec, "meta", notes)
            unusable.append(f"the page declared {label[:60]!r}")
    if unusable:
        return _guess(body, unusable, notes)
    try:
        # Valid UTF-8 is almost never an accident, and it is what most pages are.
        return DecodedText(body.decode("utf-8"), "utf-8", "sniffed", tuple(notes))
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body[:_SNIFF_BYTES]).best()
    sniffed = usable_codec(best.encoding) if best is not None else None
    if sniffed:
        notes.append(f"No character set was declared; it was detected as {sniffed}.")
        return _finish(body, sniffed, "sniffed", notes)
    notes.append("No character set was declared or detected; read as UTF-8.")
    return _finish(body, "utf-8", "default", notes)


def _guess(body: bytes, unusable: list[str], notes: list[str]) -> DecodedText:
    """UTF-8 if the bytes are valid UTF-8, else Windows-1252; either way, said to be a guess."""
    why = " and ".join(unusable)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        notes.append(
            f"The character set is unknown ({why}), and the bytes are not UTF-8; the text "
            "was read as Windows-1252, a guess, so some letters may be shown wrongly. The "
            "stored bytes are unchanged."
        )
        return _finish(body, "cp1252", "guessed", notes)
    notes.append(
        f"The character set is unknown ({why}); the text was read as UTF-8, a guess "
        "(its bytes are valid UTF-8). The stored bytes are unchanged."
    )
    return DecodedText(text, "utf-8", "guessed", tuple(notes))


def _finish(body: bytes, codec: str, source: str, notes: list[str]) -> DecodedText:
    try:
        text = body.decode(codec)
    except UnicodeDecodeError:
        text = body.decode(codec, errors="replace")
        notes.append(
            f"Some bytes are not valid {codec} and are shown as \ufffd in the text; "
            "the stored bytes are unchanged."
        )
    return DecodedText(text=text, charset=codec, source=source, notes=tuple(notes))
