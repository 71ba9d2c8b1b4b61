"""Turning a page's bytes into text without guessing silently.

The order follows what a browser does (WHATWG "encoding sniffing", simplified): a byte
order mark wins; then the charset in the Content-Type header; then a ``<meta charset>``
or ``http-equiv`` declaration in the first 4 KiB (found by beautifulsoup4); then
statistical sniffing (UTF-16 without a byte order mark and ISO-2022-JP by their
shape, then charset-normalizer); UTF-8 as the last resort. Labels mean what they mean
to a browser (the WHATWG label table: "Shift_JIS" is Windows-31J, "gb2312" is GBK,
"euc-kr" is Windows-949, "iso-8859-1" is Windows-1252). An invalid or
dangerous label is skipped with a note rather than trusted; when every label the page
gave is unusable, the text is read as UTF-8 if it is valid UTF-8, else as
Windows-1252 (what browsers fall back to), and the source is ``"guessed"`` with a note
saying so. Decoding replaces
undecodable bytes (U+FFFD) and says so: the evidence is the bytes; the text is a
working copy.
"""

from __future__ import annotations

import codecs
import re
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
# The WHATWG Encoding Standard's labels (encoding.spec.whatwg.org/encodings.json), with
# the Python codec that reads each as browsers do. Python's own codec of the same name
# is often a strict subset of what browsers read: its shift_jis lacks the Windows
# characters (circled numbers, NEC and IBM kanji) that Japanese pages labelled
# Shift_JIS use, its gb2312 lacks GBK, its euc_kr lacks the hangul of Windows-949 and
# its big5 lacks HKSCS; and Python knows no "x-sjis", "windows-949", "x-gbk",
# "iso-8859-8-i" or "x-cp1251" at all. Labels not listed fall back to Python's lookup.
_WHATWG_LABELS: dict[str, tuple[str, ...]] = {
    "utf-8": ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8",
              "x-unicode20utf8"),
    "cp866": ("866", "cp866", "csibm866", "ibm866"),
    "iso8859-2": ("csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592",
                  "iso_8859-2", "iso_8859-2:1987", "l2", "latin2"),
    "iso8859-3": ("csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593",
                  "iso_8859-3", "iso_8859-3:1988", "l3", "latin3"),
    "iso8859-4": ("csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594",
                  "iso_8859-4", "iso_8859-4:1988", "l4", "latin4"),
    "iso8859-5": ("csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5",
                  "iso88595", "iso_8859-5", "iso_8859-5:1988"),
    "iso8859-6": ("arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic",
                  "ecma-114", "iso-8859-6", "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127",
                  "iso8859-6", "iso88596", "iso_8859-6", "iso_8859-6:1987"),
    "iso8859-7": ("csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7",
                  "iso-ir-126", "iso8859-7", "iso88597", "iso_8859-7", "iso_8859-7:1987",
                  "sun_eu_greek"),
    "iso8859-8": ("csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e",
                  "iso-ir-138", "iso8859-8", "iso88598", "iso_8859-8", "iso_8859-8:1988",
                  "visual", "csiso88598i", "iso-8859-8-i", "logical"),
    "iso8859-10": ("csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10", "iso885910",
                   "l6", "latin6"),
    "iso8859-13": ("iso-8859-13", "iso8859-13", "iso885913"),
    "iso8859-14": ("iso-8859-14", "iso8859-14", "iso885914"),
    "iso8859-15": ("csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15",
                   "l9"),
    "iso8859-16": ("iso-8859-16",),
    "koi8-r": ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"),
    "koi8-u": ("koi8-ru", "koi8-u"),
    "mac-roman": ("csmacintosh", "mac", "macintosh", "x-mac-roman"),
    "cp874": ("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"),
    "cp1250": ("cp1250", "windows-1250", "x-cp1250"),
    "cp1251": ("cp1251", "windows-1251", "x-cp1251"),
    "cp1252": ("ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819",
               "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1",
               "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252", "x-cp1252"),
    "cp1253": ("cp1253", "windows-1253", "x-cp1253"),
    "cp1254": ("cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599",
               "iso_8859-9", "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254"),
    "cp1255": ("cp1255", "windows-1255", "x-cp1255"),
    "cp1256": ("cp1256", "windows-1256", "x-cp1256"),
    "cp1257": ("cp1257", "windows-1257", "x-cp1257"),
    "cp1258": ("cp1258", "windows-1258", "x-cp1258"),
    "mac-cyrillic": ("x-mac-cyrillic", "x-mac-ukrainian"),
    # GBK is read with the GB18030 decoder in browsers (a superset).
    "gb18030": ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80",
                "gbk", "iso-ir-58", "x-gbk", "gb18030"),
    "big5hkscs": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"),
    "euc_jp": ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"),
    "iso2022_jp_ext": ("csiso2022jp", "iso-2022-jp"),
    "cp932": ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis",
              "windows-31j", "x-sjis"),
    "cp949": ("cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987",
              "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949"),
    "utf-16-be": ("unicodefffe", "utf-16be"),
    # Without a byte order mark, "utf-16" means little-endian on the web.
    "utf-16-le": ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16",
                  "utf-16le"),
}  # fmt: skip
# A spelling Python knows but the table does not ("shiftjis", "ks_c_5601") reaches the
# same strict codec: read it with the browsers' superset too.
_SUPERSETS = {"shift_jis": "cp932", "euc_kr": "cp949", "gb2312": "gb18030", "gbk": "gb18030",
              "big5": "big5hkscs", "iso2022_jp": "iso2022_jp_ext"}  # fmt: skip
_CODEC_FOR_LABEL = {label: codec for codec, labels in _WHATWG_LABELS.items() for label in labels}
# Detection chooses among the character sets browsers know (the table above): on a
# short text, charset-normalizer's full list would offer Urdu cp1006 or Ukrainian cp1125
# for a Latin-1 "café", encodings no web page is read in.
# UTF-16 is left to utf16_without_bom, which asks for its shape (zeros at one parity):
# to charset-normalizer any short text of an even number of bytes is plausible UTF-16
# ("Müller" read as "ﱍ汬牥"), and browsers never guess UTF-16 without a byte order mark.
_DETECTABLE = [
    name
    for name in dict.fromkeys(codecs.lookup(codec).name for codec in _WHATWG_LABELS)
    if not name.startswith("utf-16")
]
_WHITESPACE = "\t\n\r\f"
# The escapes that switch ISO-2022-JP into JIS X 0208, JIS X 0212 or half-width kana.
_ISO_2022_JP_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b$(D", b"\x1b(I")
_MARKUP = re.compile(rb"<[^<>]{0,2000}>")
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
    cleaned = label.strip().strip("\"'").strip()
    if cleaned.lower() in _CODEC_FOR_LABEL:
        return _CODEC_FOR_LABEL[cleaned.lower()]
    try:
        name = codecs.lookup(cleaned).name
        "a".encode(name)  # refuses bytes-to-bytes codecs such as base64 or zlib
    except (LookupError, UnicodeError, ValueError):  # ValueError: a NUL in the label
        return None
    if name in _REFUSED_CODECS:
        return None
    return "cp1252" if name in _AS_WINDOWS_1252 else _SUPERSETS.get(name, name)


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
            said = usable_codec(declared)
            if declared and said is not None and _family(said) != _family(codec):
                notes.append(
                    _overruled(f"starts with a {_family(codec)} byte order mark", declared)
                )
            return _finish(body, codec, "bom", notes)
    if declared:
        header_codec = usable_codec(declared)
        if header_codec:
            page_label = meta_charset(body) if html else None
            if page_label and usable_codec(page_label) not in (None, header_codec):
                notes.append(_overruled(f"was sent as {declared[:60]!r}", page_label))
            return _finish(body, header_codec, "header", notes)
        unusable.append(f"its Content-Type declared {declared[:60]!r}")
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
    # Checked before UTF-8, which both are (as bytes) without being it: UTF-16 of
    # Latin or Cyrillic text is mostly bytes below 0x80, ISO-2022-JP all of them.
    unmarked = utf16_without_bom(body) or _iso_2022_jp(body)
    if unmarked:
        notes.append(f"No character set was declared; it was detected as {unmarked}.")
        return _finish(body, unmarked, "sniffed", notes)
    if unusable:
        return _guess(body, unusable, notes)
    try:
        # Valid UTF-8 is almost never an accident, and it is what most pages are.
        return DecodedText(body.decode("utf-8"), "utf-8", "sniffed", tuple(notes))
    except UnicodeDecodeError:
        pass
    sniffed = _detected(body, html=html)
    if sniffed:
        notes.append(f"No character set was declared; it was detected as {sniffed}.")
        return _finish(body, sniffed, "sniffed", notes)
    notes.append("No character set was declared or detected; read as UTF-8.")
    return _finish(body, "utf-8", "default", notes)


def _family(codec: str) -> str:
    """UTF-8 or UTF-16 whatever the byte order or BOM; other codecs as they are."""
    for family in ("utf-8", "utf-16"):
        if codec.startswith(family):
            return family.upper()
    return codec


def _overruled(how: str, other: str) -> str:
    return (
        f"The page {how} but also says it is {other[:60]!r}; it was read the first way, "
        "as a browser reads it. If its letters look wrong, the stored bytes are unchanged."
    )


def _detected(body: bytes, *, html: bool) -> str | None:
    """charset-normalizer's reading of the text, or None if it finds none.

    For a page, the markup is left out: tags and attribute names are ASCII and say
    nothing of the language, and on a short page they outweigh the words. Where
    charset-normalizer finds several character sets equally plausible, Windows-1252
    (what browsers read an undeclared page as, for an English reader) is preferred.
    """
    sample = body[:_SNIFF_BYTES]
    if html:
        sample = _MARKUP.sub(b" ", sample)
    matches = charset_normalizer.from_bytes(sample, cp_isolation=_DETECTABLE)
    best = matches.best()
    if best is None:
        return None
    tied = [usable_codec(m.encoding) for m in matches if m.chaos == best.chaos]
    return "cp1252" if "cp1252" in tied else usable_codec(best.encoding)


def utf16_without_bom(body: bytes) -> str | None:
    """The codec (utf-16-le or utf-16-be) of bytes that are plainly UTF-16 without a BOM.

    Text in UTF-16 has a zero high byte for every ASCII character it holds (spaces,
    digits, punctuation, line ends) and almost never a zero low byte; so zeros at one
    parity only, and a strict decoding without control characters, say which it is.
    """
    sample = body[:_SNIFF_BYTES]
    sample = sample[: len(sample) // 2 * 2]
    units = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if _pairs_of_ascii(sample):
        return None
    for codec, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if high < 2 or high * 50 < units or low * 10 > high:
            continue
        try:
            text = codecs.getincrementaldecoder(codec)().decode(sample, final=False)
        except UnicodeDecodeError:
            return None
        if not any(ord(ch) < 32 and ch not in _WHITESPACE for ch in text):
            return codec
    return None


_ASCII_TEXT = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


def _pairs_of_ascii(sample: bytes) -> bool:
    """Whether most two-byte units without a zero are two ASCII text bytes: ASCII text
    with a few NULs in it (a text file, a PDF's text), read two bytes at a time. Real
    UTF-16 has few such units (they would be ideographs or kana of particular ranges);
    ASCII text read as UTF-16 has nothing else."""
    pairs = [sample[i : i + 2] for i in range(0, len(sample), 2)]
    whole = [p for p in pairs if 0 not in p]
    ascii_pairs = sum(1 for p in whole if p[0] in _ASCII_TEXT and p[1] in _ASCII_TEXT)
    return bool(whole) and ascii_pairs * 2 > len(whole)


def _iso_2022_jp(body: bytes) -> str | None:
    """ISO-2022-JP (older Japanese pages and mail): 7-bit bytes with its escapes."""
    sample = body[:_SNIFF_BYTES]
    if not any(escape in sample for escape in _ISO_2022_JP_ESCAPES) or not sample.isascii():
        return None
    try:
        codecs.getincrementaldecoder("iso2022_jp_ext")().decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    return "iso2022_jp_ext"


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
