"""Pages and files in many languages, and servers that bend HTTP: character set labels
read as browsers read them, unmarked UTF-16 and ISO-2022-JP, legacy text files,
interim answers, odd redirects, Retry-After, answers with no page, and what a
Content-Type says."""

from __future__ import annotations

import base64
import codecs
import gzip
import hashlib
import io
import socket
import struct
import threading
import zlib

import pytest
from hostile_support import Handler, RawServer, read_request, status_reply
from reportlab.pdfgen import canvas

from collectors import (
    FetchFailed,
    TooLarge,
    Unavailable,
    UnsupportedType,
    charsets,
    exposure_indicators,
    fetch,
    import_file,
    parse_html,
)

ALLOW = ["127.0.0.1"]

JAPANESE = "①番の髙橋さんは東京に住んでいます。"  # ① and 髙 are Windows-31J only
CHINESE = "我住在北京市朝阳区，镕基路。"  # 镕 is in GBK, not GB2312
KOREAN = "똠방각하와 쓩 님이 서울에 삽니다."  # 똠 and 쓩 are Windows-949 only
HONG_KONG = "我住喺香港，𨋢好快。"  # 喺 and 𨋢 are HKSCS, not plain Big5
RUSSIAN = "Привет, меня зовут Саша. Я живу в Москве, на улице Ленина."


def _page(text: str, encoding: str) -> bytes:
    markup = f"<html><head><title>t</title></head><body><p>{text}</p></body></html>"
    return markup.encode(encoding)


@pytest.mark.parametrize(
    ("text", "encoding", "label"),
    [
        (JAPANESE, "cp932", "Shift_JIS"),
        (JAPANESE, "cp932", "x-sjis"),
        (JAPANESE, "cp932", "windows-31j"),
        (JAPANESE, "cp932", "shiftjis"),  # not a WHATWG label, but Python's alias
        (KOREAN, "cp949", "ks_c_5601"),
        (CHINESE, "gbk", "gb2312"),
        (CHINESE, "gbk", "x-gbk"),
        (KOREAN, "cp949", "euc-kr"),
        (KOREAN, "cp949", "ks_c_5601-1987"),
        (HONG_KONG, "big5hkscs", "big5"),
        (RUSSIAN, "cp1251", "x-cp1251"),
        ("Çocuğum İstanbul'da yaşıyor.", "cp1254", "iso-8859-9"),
        ("שלום, אני גר בתל אביב.", "iso8859-8", "iso-8859-8-i"),
    ],
)
def test_charset_labels_are_read_as_browsers_read_them(
    text: str, encoding: str, label: str
) -> None:
    page = parse_html(_page(text, encoding), charset=label)
    assert text in page.text
    assert not any("\ufffd" in note or "not valid" in note for note in page.notes)


def test_utf16_label_without_bom_means_little_endian() -> None:
    assert charsets.usable_codec("utf-16") == "utf-16-le"
    assert charsets.usable_codec("'UTF-16BE'") == "utf-16-be"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_page_without_bom_or_label_is_detected(encoding: str) -> None:
    page = parse_html(_page(RUSSIAN, encoding))
    assert (page.charset, page.charset_source) == (encoding, "sniffed")
    assert RUSSIAN in page.text


@pytest.mark.parametrize(
    "text",
    [
        "Ümit'in sayfası: Türkçe metin, İstanbul'da yaşıyor.",
        "日本語 の ページ です 2026 年 12 月。 東京都 に 住んで います。 ひらがな と カタカナ。",
        "中文 网页 ， 他 住在 北京市 朝阳区 2026 。",
        "한국어 페이지입니다. 서울에 살고 있습니다.",
    ],
)
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_still_found_in_many_scripts(text: str, encoding: str) -> None:
    assert charsets.utf16_without_bom((text * 4).encode(encoding)) == encoding


def test_ascii_text_with_a_few_nuls_is_not_read_as_utf16() -> None:
    # Two NULs at one parity in a short text once made it "UTF-16" and ideographs.
    body = b"Jordan plays at the park\x00 on Saturdays\x00\n"
    assert charsets.utf16_without_bom(body) is None
    assert "Jordan plays at the park" in charsets.decode(body, None, html=False).text


def test_iso_2022_jp_without_a_label_is_detected() -> None:
    body = _page("日本語のページです。東京都に住んでいます。", "iso2022_jp")
    page = parse_html(body)
    assert "東京都に住んでいます" in page.text
    assert page.charset_source == "sniffed"


def test_undeclared_western_page_prefers_windows_1252_on_a_tie() -> None:
    text = (
        "Bonjour à tous ! Je m'appelle Zoé, j'ai quinze ans et je vais au lycée près de "
        "la gare. J'habite avec ma mère et mon petit frère dans un appartement."
    )
    page = parse_html(_page(text, "cp1252"))
    assert text in page.text


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.txt", (RUSSIAN * 3).encode("cp1251"), RUSSIAN),
        ("notes.txt", (JAPANESE * 3).encode("cp932"), JAPANESE),
        ("notes.txt", RUSSIAN.encode("utf-16-le"), RUSSIAN),
        ("page.html", _page(RUSSIAN, "utf-16-be"), RUSSIAN),
    ],
)
def test_text_files_in_legacy_or_unmarked_encodings_are_imported(
    name: str, data: bytes, expected: str
) -> None:
    imported = import_file(data, filename=name)
    assert imported.page is not None
    assert expected in imported.page.text


def test_binary_data_is_still_refused() -> None:
    with pytest.raises(UnsupportedType, match="binary data"):
        import_file(bytes(range(256)) * 10, filename="data.bin")


# --- HTTP ------------------------------------------------------------------------------

PAGE = "<html><head><title>Tëst</title></head><body><p>Hello wörld</p></body></html>".encode()


def _raw_reply(raw: bytes) -> Handler:
    def handler(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(raw)

    return handler


def _ok(body: bytes, content_type: str) -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode("latin-1") + body


def test_early_hints_before_the_page_are_skipped() -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    final = _ok(PAGE, "text/html; charset=utf-8")
    with RawServer(_raw_reply(early + final)) as raw:
        captured = fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert captured.status == 200
    assert captured.page is not None and captured.page.title == "Tëst"
    response = captured.exchanges[-1].response
    assert response.startswith(b"HTTP/1.1 200 OK") and response.endswith(PAGE)


class _Redirector:
    """Redirects /start to ``location`` (raw bytes); answers anything else with a page."""

    def __init__(self, location: bytes) -> None:
        self.location = location
        self.requested: list[bytes] = []

    def __call__(self, conn: socket.socket, stopping: threading.Event) -> None:
        line = read_request(conn).split(b"\r\n")[0]
        self.requested.append(line)
        if b" /start " in line:
            conn.sendall(
                b"HTTP/1.1 302 Found\r\nLocation: " + self.location + b"\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
        else:
            conn.sendall(_ok(b"<p>here</p>", "text/html"))


@pytest.mark.parametrize(
    ("location", "path"),
    [
        ("/pàge?q=ü".encode(), b"/p%C3%A0ge?q=%C3%BC"),  # sent as UTF-8, as browsers read it
        (b"/my page", b"/my%20page"),
        (b"/a\tb", b"/ab"),
    ],
)
def test_redirect_location_is_read_as_a_browser_reads_it(location: bytes, path: bytes) -> None:
    redirector = _Redirector(location)
    with RawServer(redirector) as raw:
        captured = fetch(raw.url("/start"), allow_hosts=ALLOW, deadline_s=10)
    assert captured.status == 200
    assert redirector.requested[-1] == b"GET " + path + b" HTTP/1.1"


def test_redirect_to_an_unreadable_address_fails_with_a_sentence() -> None:
    with (
        RawServer(_Redirector(b"http://[bad/x")) as raw,
        pytest.raises(FetchFailed, match="redirected Caseview to an address that is not valid"),
    ):
        fetch(raw.url("/start"), allow_hosts=ALLOW, deadline_s=10)


@pytest.mark.parametrize(
    ("retry_after", "words"),
    [
        ("Wed, 21 Oct 2026 07:28:00 GMT", "wait until Wed, 21 Oct 2026 07:28:00 GMT"),
        ("Wed, 21 Oct 2026 07:28:00 GMT\x1b[31m", "wait until Wed, 21 Oct 2026 07:28:00 GMT "),
        ("Wed, 21 Oct 2026 09:28:00 +0200", "wait until Wed, 21 Oct 2026 07:28:00 GMT"),
        ("\x1b[31msoon", "Try again later."),
        ("\u00b2", "Try again later."),  # "²" is a digit to str.isdigit, not to int()
    ],
)
def test_retry_after_is_repeated_only_when_it_is_a_time(retry_after: str, words: str) -> None:
    handler = status_reply(503, "Service Unavailable", headers=[("Retry-After", retry_after)])
    with RawServer(handler) as raw, pytest.raises(Unavailable) as refused:
        fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert words in str(refused.value)
    assert "\x1b" not in str(refused.value) and "[31m" not in str(refused.value)
    assert refused.value.retry_after is None or refused.value.retry_after.isprintable()


@pytest.mark.parametrize(
    ("status", "reason", "words"),
    [
        (204, "No Content", "no page at this address"),
        (304, "Not Modified", "304 Not Modified"),
        (600, "Odd", "not a valid HTTP answer"),
    ],
)
def test_answers_without_a_page_are_not_captured(status: int, reason: str, words: str) -> None:
    with RawServer(status_reply(status, reason)) as raw, pytest.raises(FetchFailed, match=words):
        fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        (b'{"name": "Jay", "school": "Oakfield"}', "application/json", '"school": "Oakfield"'),
        (
            b'<?xml version="1.0" encoding="iso-8859-1"?><html '
            b'xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title></head>'
            b"<body><p>caf\xe9</p></body></html>",
            "application/xhtml+xml",
            "café",
        ),
    ],
)
def test_json_and_xhtml_are_read_without_a_false_mislabel_note(
    body: bytes, content_type: str, text: str
) -> None:
    with RawServer(_raw_reply(_ok(body, content_type))) as raw:
        captured = fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert captured.page is not None and text in captured.page.text
    assert not any("labelled" in note for note in captured.notes)


def test_two_content_type_headers_are_read_as_a_browser_reads_them() -> None:
    body = RUSSIAN.encode("koi8-r")
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        "Content-Type: text/html; charset=koi8-r\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with RawServer(_raw_reply(head + body)) as raw:
        captured = fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert captured.media_type == "text/html"
    assert captured.page is not None and RUSSIAN in captured.page.text


def test_photo_labelled_as_a_page_is_not_read_as_text() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
    with RawServer(_raw_reply(_ok(png, "text/html"))) as raw:
        captured = fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert captured.page is None
    assert captured.body == png
    assert any("looks like a PNG image" in note for note in captured.notes)


def test_utf8_bom_wins_over_a_conflicting_header_and_meta() -> None:
    body = codecs.BOM_UTF8 + "<meta charset='koi8-r'><p>Zoë</p>".encode()
    page = parse_html(body, charset="windows-1251")
    assert (page.charset, page.charset_source) == ("utf-8-sig", "bom")
    assert "Zoë" in page.text
    assert any("UTF-8 byte order mark but also says it is 'windows-1251'" in n for n in page.notes)


def test_header_overruling_the_page_declaration_is_noted() -> None:
    page = parse_html(b"<meta charset='koi8-r'><p>Zo\xeb</p>", charset="windows-1251")
    assert page.charset_source == "header"
    assert any("sent as 'windows-1251' but also says it is 'koi8-r'" in n for n in page.notes)


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        (b"<meta charset='UTF-8'><p>x</p>", "utf-8"),
        (b"<meta charset='windows-1252'><p>x</p>", "iso-8859-1"),
        ("<p>x</p>".encode("utf-16"), "utf-16"),
    ],
)
def test_agreeing_declarations_are_not_called_a_conflict(body: bytes, declared: str) -> None:
    assert not any("also says" in note for note in parse_html(body, charset=declared).notes)


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate"])
@pytest.mark.parametrize(("status", "reason"), [(200, "OK"), (404, "Not Found")])
def test_empty_body_labelled_compressed_is_an_empty_page(
    coding: str, status: int, reason: str
) -> None:
    headers = [("Content-Type", "text/html"), ("Content-Encoding", coding)]
    with RawServer(status_reply(status, reason, headers=headers)) as raw:
        captured = fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert (captured.status, captured.body, captured.raw_size) == (status, b"", 0)


@pytest.mark.parametrize("coding", ["none", "UTF-8"])
def test_made_up_content_encoding_on_plain_markup_is_read_as_a_browser_does(
    coding: str,
) -> None:
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", coding)]
    with RawServer(status_reply(200, "OK", PAGE, headers=headers)) as raw:
        captured = fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)
    assert captured.body == PAGE
    assert captured.page is not None and captured.page.text == "Hello wörld"
    assert any("not a compression Caseview knows" in note for note in captured.notes)


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        (b"<table><tr><th>Name</th><td>Jay</td></tr></table>", "Name Jay"),
        (b"<table><tr><td>Postcode</td><td>LS1 4AB</td></tr></table>", "Postcode LS1 4AB"),
        (b"<details><summary>More</summary>Jay's school</details>", "More\nJay's school"),
    ],
)
def test_table_cells_and_other_boxes_do_not_run_words_together(markup: bytes, text: str) -> None:
    assert parse_html(b"<html><body>" + markup + b"</body></html>").text == text


def test_email_subject_in_shift_jis_keeps_windows_characters() -> None:
    subject = "=?shift_jis?B?" + base64.b64encode("①番の髙橋".encode("cp932")).decode() + "?="
    sender = "=?utf-8?Q?Zo=C3=AB?= <zoe@example.com>"
    mail = (
        f"From: {sender}\r\nTo: b@example.com\r\nSubject: {subject}\r\n"
        "Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=shift_jis\r\n\r\n"
    ).encode() + "東京①に住んでいます".encode("cp932")
    imported = import_file(mail, filename="mail.eml")
    assert imported.page is not None
    assert imported.page.title == "①番の髙橋"
    assert imported.page.author == "Zoë <zoe@example.com>"
    assert "東京①に住んでいます" in imported.page.text


def test_unknown_label_on_a_mail_part_is_not_said_to_come_from_a_server() -> None:
    mail = (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: Hi\r\n"
        b"Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\ncaf\xe9"
    )
    imported = import_file(mail, filename="mail.eml")
    assert any("Content-Type declared 'x-unknown'" in w for w in imported.warnings)
    assert not any("server" in w for w in imported.warnings)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def test_decompression_bomb_photo_is_imported_with_a_plain_note() -> None:
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + _png_chunk(b"IEND", b"")
    )
    imported = import_file(bomb, filename="photo.png")
    assert imported.sha256 == hashlib.sha256(bomb).hexdigest()
    assert any("far larger than any real photo" in w for w in imported.warnings)
    assert not any("Error" in w for w in imported.warnings)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我叫王小明，我住在北京。", "王小明"),  # Chinese: no spaces between words
        ("私は田中花子です。", "田中花子"),  # Japanese
        ("김지수는 서울에 살아요.", "김지수"),  # Korean: a particle joined to the name
    ],
)
def test_full_name_is_found_in_scripts_written_without_spaces(text: str, name: str) -> None:
    found = exposure_indicators(text, subject_name=name)
    assert ("full_name", name) in {(i.kind, i.value) for i in found}


def test_latin_name_still_needs_word_boundaries() -> None:
    assert not exposure_indicators("JaySmithson wrote this", subject_name="Jay Smith")


def _endless_trailers(conn: socket.socket, stopping: threading.Event) -> None:
    read_request(conn)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n"
    )
    lines = (b"X-Trailer: " + b"a" * 1000 + b"\r\n") * 64
    sent = 0
    while not stopping.is_set() and sent < 64 * 1024 * 1024:
        conn.sendall(lines)
        sent += len(lines)


def test_endless_trailers_after_the_last_chunk_stop_at_the_size_cap() -> None:
    with RawServer(_endless_trailers) as raw, pytest.raises(TooLarge) as stopped:
        fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=20, max_bytes=256 * 1024)
    # Stopped by size, not by the deadline: only a few times the cap was read.
    assert raw.connections == 1
    assert stopped.value.attempt is not None


def _pdf_saying(words: str) -> bytes:
    out = io.BytesIO()
    sheet = canvas.Canvas(out)
    sheet.drawString(72, 720, words)
    sheet.save()
    return out.getvalue()


def test_published_pdf_is_read_for_its_text() -> None:
    pdf = _pdf_saying("Under 11s team sheet: Jay Smith, Oakfield Primary School")
    with RawServer(_raw_reply(_ok(pdf, "application/pdf"))) as raw:
        captured = fetch(raw.url("/team.pdf"), allow_hosts=ALLOW, deadline_s=10)
    assert captured.body == pdf
    assert captured.page is not None
    assert "Jay Smith, Oakfield Primary School" in captured.page.text


def test_long_markup_is_not_said_to_be_long_content() -> None:
    inline_image = b"<img src='data:image/png;base64," + b"A" * 1_200_000 + b"'>"
    page = parse_html(b"<html><body><p>Short post.</p>" + inline_image + b"</body></html>")
    assert page.text == "Short post."
    assert not any("main content is longer" in note for note in page.notes)
    assert any("its markup is longer than" in note for note in page.notes)


def test_saved_page_links_resolve_against_the_address_it_was_saved_from() -> None:
    saved = (
        b"<!-- saved from url=(0033)https://example.com/kids/jay.html -->\n"
        b"<html><head><title>Jay</title><link rel=stylesheet href='style.css'></head>"
        b"<body><img src='img/a.png'><a href='other.html'>other</a><p>text</p></body></html>"
    )
    imported = import_file(saved, filename="jay.html")
    assert imported.shown_url == "https://example.com/kids/jay.html"
    assert imported.page is not None
    assert imported.page.links == ("https://example.com/kids/other.html",)


def test_transfer_coding_other_than_chunked_is_not_stored_still_framed() -> None:
    packed = gzip.compress(PAGE)
    raw_reply = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: gzip, chunked\r\n"
        b"Connection: close\r\n\r\n" + b"%x\r\n" % len(packed) + packed + b"\r\n0\r\n\r\n"
    )
    with (
        RawServer(_raw_reply(raw_reply)) as raw,
        pytest.raises(FetchFailed, match="Transfer-Encoding 'gzip'"),
    ):
        fetch(raw.url("/p"), allow_hosts=ALLOW, deadline_s=10)


def test_damaged_photo_is_imported_with_a_plain_note() -> None:
    cut_off = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"
    imported = import_file(cut_off, filename="photo.png")
    assert imported.sha256 == hashlib.sha256(cut_off).hexdigest()
    assert any("damaged, cut off, or not really a PNG image" in w for w in imported.warnings)
    assert not any("Error)" in w for w in imported.warnings)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"caf\xe9\n", "café\n"),
        (b"Dave est l\xe0, caf\xe9.\n", "Dave est là, café.\n"),
        ("Привет, как дела?".encode("cp1251"), "Привет, как дела?"),
    ],
)
def test_a_short_undeclared_text_is_read_in_a_character_set_browsers_know(
    raw: bytes, text: str
) -> None:
    """Five bytes of Latin-1 were detected as Urdu cp1006 ('cafﻠ'): detection now chooses
    only among the character sets of the web's encoding table."""
    decoded = charsets.decode(raw, html=False)
    assert decoded.text == text
    assert decoded.charset in charsets._DETECTABLE or decoded.charset == "utf-8"
