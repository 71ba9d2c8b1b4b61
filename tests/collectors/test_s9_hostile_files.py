"""Hostile files, round 9: PDFs that cost minutes and gigabytes to read, photos whose
dates run off the calendar, and character set labels with a NUL in them."""

from __future__ import annotations

import email.policy
import io
import socket
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_support import (
    MB,
    ChildRun,
    RawServer,
    python_command,
    read_request,
    run_measured,
)
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from collectors import charsets, documents, html, http, images
from collectors.files import import_file
from collectors.images import _gps_time

CEILING = 400 * MB


def _pdf(*pages: bytes) -> bytes:
    """A PDF whose pages show ``pages`` (their content streams, compressed)."""
    count = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count)), count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for number, content in enumerate(pages):
        packed = zlib.compress(content, 9)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (5 + 2 * number)
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
            + packed
            + b"\nendstream"
        )
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def _text_page(*instructions: bytes) -> bytes:
    return b"BT /F1 12 Tf 72 700 Td " + b" ".join(instructions) + b" ET"


HELLO = _text_page(b"(Hello from page one) Tj")


# --- PDFs ------------------------------------------------------------------------------


def test_pdf_page_of_megabytes_of_instructions_is_skipped_and_the_others_read() -> None:
    # 70 KB on disk, a page unpacking to 6 MB: pypdf would take minutes over it.
    heavy = _text_page((b"(" + b"a" * 60 + b") Tj ") * 90_000)
    document = documents.read_pdf(_pdf(HELLO, heavy, _text_page(b"(Last page) Tj")))
    assert "Hello from page one" in document.page.text
    assert "Last page" in document.page.text
    assert any("Page 2 of the PDF is made of far more" in n for n in document.page.notes)


def test_pdf_instruction_showing_a_book_of_text_is_not_read() -> None:
    huge = _text_page(b"(" + b"a" * (documents.MAX_PDF_OP_CHARS + 1) + b") Tj")
    document = documents.read_pdf(_pdf(huge, HELLO))
    assert "Hello from page two" not in document.page.text
    assert "Hello from page one" in document.page.text
    assert any("Page 1 of the PDF is made of far more" in n for n in document.page.notes)


def test_pdf_page_of_too_many_tokens_is_skipped() -> None:
    # Small once unpacked (1.2 MB) but 600,000 numbers: each a Python object.
    tokens = _text_page(b"1 " * 600_000)
    document = documents.read_pdf(_pdf(tokens, HELLO))
    assert "Hello from page one" in document.page.text
    assert any("Page 1 of the PDF is made of far more" in n for n in document.page.notes)


def _pdf_of_empty_pages(count: int, extra: bytes = b"") -> bytes:
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] " + extra + b">>"] * count
    pieces = [b"%PDF-1.4\n"]
    offsets = []
    size = len(pieces[0])
    for number, body in enumerate(objects, start=1):
        offsets.append(size)
        pieces.append(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        size += len(pieces[-1])
    pieces.append(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    pieces += [b"%010d 00000 n \n" % offset for offset in offsets]
    pieces.append(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    pieces.append(b"startxref\n%d\n%%%%EOF\n" % size)
    return b"".join(pieces)


def test_pdf_of_more_pages_than_are_counted_is_imported_with_a_plain_note() -> None:
    document = documents.read_pdf(_pdf_of_empty_pages(documents.MAX_PDF_PAGE_TREE + 1))
    assert any("more pages or parts than Caseview reads" in n for n in document.page.notes)


def _import_measured(path: Path, shown: str) -> ChildRun:
    """Import ``path`` in a child process, as the command does, printing the import's
    ``shown`` attribute; it must end well, and its peak memory is measured."""
    run = run_measured(
        python_command(
            "import sys; from collectors.files import import_file\n"
            f"print(import_file(sys.argv[1]).{shown})",
            str(path),
        ),
        timeout_s=100,
    )
    assert run.returncode == 0, run.describe()
    return run


@pytest.mark.slow
def test_pdf_of_99000_pages_is_imported_under_the_ceiling(tmp_path: Path) -> None:
    # 24 MB: pypdf made an object of every page and every entry of it (870 MB).
    path = tmp_path / "pages.pdf"
    path.write_bytes(_pdf_of_empty_pages(99_000, b" ".join(b"/K%d %d" % (k, k) for k in range(20))))
    run = _import_measured(path, "warnings")
    assert "more pages or parts than Caseview reads" in run.stdout
    assert run.peak_rss < CEILING, run.describe()


@pytest.fixture
def ticking_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``time.monotonic`` in documents moves on a second each time it is read."""
    now = [1000.0]

    def tick() -> float:
        now[0] += 1.0
        return now[0]

    monkeypatch.setattr(documents.time, "monotonic", tick)
    yield


@pytest.mark.usefixtures("ticking_clock")
def test_pdf_deadline_is_checked_inside_a_page() -> None:
    # One page of 2,000 instructions: the deadline passes in the middle of it.
    page = _text_page(*[b"(word) Tj"] * 2000)
    document = documents.read_pdf(_pdf(page), deadline_s=50)
    assert any("took too long" in n for n in document.page.notes)


def test_published_pdf_is_read_in_half_the_time_left_so_the_capture_can_finish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A PDF whose reading ran to the capture's own deadline failed the whole capture as
    # "the site took longer than the time allowed", however fast the site had been.
    body = _pdf(HELLO)
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % len(body)
    ) + body

    def handler(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(answer)

    given: list[float] = []

    def reading(data: bytes, *, deadline_s: float) -> documents.DocumentText:
        given.append(deadline_s)
        return documents.read_pdf(data, deadline_s=deadline_s)

    monkeypatch.setattr(http, "read_pdf", reading)
    with RawServer(handler) as raw:
        capture = http.fetch(raw.url("/team-sheet.pdf"), allow_hosts=["127.0.0.1"], deadline_s=60)
    assert capture.page is not None and "Hello from page one" in capture.page.text
    assert len(given) == 1 and 0 < given[0] <= 30


@pytest.mark.slow
def test_small_pdf_of_heavy_pages_is_read_quickly_under_the_ceiling(tmp_path: Path) -> None:
    # 240 KB: one page unpacking to 70 MB of text instructions. Before the page limits,
    # reading it took over 6 minutes and passed 500 MB.
    path = tmp_path / "heavy.pdf"
    path.write_bytes(_pdf(_text_page((b"(" + b"a" * 64 + b") Tj ") * 990_000)))
    run = _import_measured(path, "warnings")
    assert "far more drawing instructions" in run.stdout
    assert run.peak_rss < CEILING, run.describe()


@pytest.mark.slow
def test_small_docx_of_millions_of_empty_elements_is_read_under_the_ceiling(
    tmp_path: Path,
) -> None:
    # 19 KB, unpacking to 20 MB of "<x/>": the reader kept every one (690 MB).
    body = (
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body>" + b"<x/>" * 4_900_000 + b"<w:p><w:r><w:t>Hello Kerry</w:t></w:r></w:p>"
        b"</w:body></w:document>"
    )
    path = tmp_path / "letter.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", body)
    run = _import_measured(path, "page.text")
    assert "Hello Kerry" in run.stdout
    assert run.peak_rss < CEILING, run.describe()


# --- photos ------------------------------------------------------------------------------


def _jpeg(exif: Image.Exif) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize(
    ("stated", "offset"), [("0001:01:01 00:00:00", "+14:00"), ("9999:12:31 23:59:59", "-14:00")]
)
def test_camera_time_at_the_ends_of_the_calendar_is_imported(stated: str, offset: str) -> None:
    exif = Image.Exif()
    details = exif.get_ifd(0x8769)  # the Exif sub-directory
    details[36867] = stated  # DateTimeOriginal
    details[36881] = offset  # OffsetTimeOriginal
    imported = import_file(_jpeg(exif), filename="odd.jpg")
    assert imported.image is not None
    assert imported.image.camera_time == stated
    assert imported.image.camera_time_utc is None


def test_gps_time_stored_as_a_huge_number_is_no_time() -> None:
    # A GPS time stamp may be stored as floating-point numbers (TIFF type DOUBLE).
    gps = {29: "2026:01:01", 7: (1e30, IFDRational(0), IFDRational(0))}
    assert _gps_time(gps) is None


def test_avif_whose_primary_image_is_missing_is_imported_with_a_note() -> None:
    # The AVIF decoder calls this damage a RuntimeError.
    out = io.BytesIO()
    Image.new("RGB", (64, 48)).save(out, "AVIF")
    damaged = out.getvalue().replace(b"pitm\0\0\0\0\0\x01", b"pitm\0\0\0\0\0\x07")
    assert damaged != out.getvalue()
    imported = import_file(damaged, filename="photo.avif")
    assert imported.kind == "avif"
    assert any("could not be opened" in note for note in imported.warnings)


def _tiff_with_samples_per_pixel(samples: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "TIFF")
    data = bytearray(out.getvalue())
    assert data[:2] == b"II"  # little-endian
    directory = struct.unpack("<I", data[4:8])[0]
    (count,) = struct.unpack("<H", data[directory : directory + 2])
    for entry in range(directory + 2, directory + 2 + 12 * count, 12):
        if struct.unpack("<H", data[entry : entry + 2])[0] == 0x0115:  # SamplesPerPixel
            data[entry + 2 : entry + 12] = struct.pack("<HII", 4, 1, samples)  # LONG
    return bytes(data)


def test_pillow_log_line_becomes_a_note_not_a_log_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Pillow reports this damage with logger.error, not a warning.
    imported = import_file(_tiff_with_samples_per_pixel(64259), filename="scan.tif")
    assert any("More samples per pixel than can be decoded" in n for n in imported.warnings)
    assert not [r for r in caplog.records if r.name.startswith("PIL")]


def _tiff_with_numbers(count: int, kind: int = 4) -> bytes:
    """An 8x8 TIFF whose first directory has one more field: ``count`` LONG numbers
    (or RATIONAL pairs, ``kind`` 5), declared and present."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "TIFF")
    data = bytearray(out.getvalue())
    old = struct.unpack("<I", data[4:8])[0]
    (entries,) = struct.unpack("<H", data[old : old + 2])
    fields = [bytes(data[old + 2 + 12 * i : old + 14 + 12 * i]) for i in range(entries)]
    directory = len(data)
    values = directory + 2 + 12 * (entries + 1) + 4
    fields = sorted([*fields, struct.pack("<HHII", 0xC000, kind, count, values)])
    data += struct.pack("<H", len(fields)) + b"".join(fields) + b"\0\0\0\0"
    data += b"\x07\x00\x00\x40" * count * (2 if kind == 5 else 1)
    data[4:8] = struct.pack("<I", directory)
    return bytes(data)


@pytest.mark.parametrize("kind", [4, 5])
def test_tiff_declaring_too_many_numbers_is_imported_without_its_metadata(kind: int) -> None:
    imported = import_file(
        _tiff_with_numbers(images.MAX_METADATA_VALUES + 1, kind), filename="scan.tif"
    )
    assert imported.kind == "tiff"
    assert imported.image is not None and imported.image.exif == {}
    assert any("metadata holds far more values" in w for w in imported.warnings)


def test_tiff_with_a_reasonable_number_of_values_is_read() -> None:
    imported = import_file(_tiff_with_numbers(1000), filename="scan.tif")
    assert imported.image is not None and imported.image.width == 8
    assert not any("metadata holds far more values" in w for w in imported.warnings)


def test_png_whose_exif_block_declares_too_many_numbers_is_imported_without_it() -> None:
    exif = _tiff_with_numbers(images.MAX_METADATA_VALUES + 1)
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG", exif=exif)
    imported = import_file(out.getvalue(), filename="shot.png")
    assert any("metadata holds far more values" in w for w in imported.warnings)


@pytest.mark.slow
def test_48mb_tiff_of_numbers_is_imported_under_the_ceiling(tmp_path: Path) -> None:
    # 12 million numbers: Pillow took 780 MB to open it.
    path = tmp_path / "numbers.tif"
    path.write_bytes(_tiff_with_numbers(12_000_000))
    run = _import_measured(path, "warnings")
    assert "metadata holds far more values" in run.stdout
    assert run.peak_rss < CEILING, run.describe()


def _jpeg_with_empty_segments(count: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    photo = _jpeg(exif)
    return photo[:2] + b"\xff\xef\x00\x02" * count + photo[2:]  # empty APP15 segments


def test_jpeg_with_thousands_of_metadata_segments_is_imported_without_them() -> None:
    imported = import_file(
        _jpeg_with_empty_segments(images.MAX_METADATA_SEGMENTS + 1), filename="photo.jpg"
    )
    assert imported.kind == "jpeg"
    assert imported.image is not None and imported.image.camera is None
    assert any("metadata holds far more values" in w for w in imported.warnings)


def test_png_with_thousands_of_chunks_is_imported_without_its_metadata() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    png = out.getvalue()
    empty = b"\0\0\0\0teSt" + zlib.crc32(b"teSt").to_bytes(4, "big")  # an unknown chunk
    after_header = 8 + 25  # the signature, then the IHDR chunk
    crowded = png[:after_header] + empty * (images.MAX_METADATA_SEGMENTS + 1) + png[after_header:]
    imported = import_file(crowded, filename="shot.png")
    assert imported.kind == "png"
    assert any("metadata holds far more values" in w for w in imported.warnings)
    few = png[:after_header] + empty * 10 + png[after_header:]
    assert import_file(few, filename="shot.png").image.width == 8  # type: ignore[union-attr]


def test_jpeg_with_a_few_extra_segments_is_read() -> None:
    imported = import_file(_jpeg_with_empty_segments(10), filename="photo.jpg")
    assert imported.image is not None and imported.image.camera == "Camera maker"


@pytest.mark.slow
def test_48mb_jpeg_of_empty_segments_is_imported_under_the_ceiling(tmp_path: Path) -> None:
    # 12 million segments: Pillow took 1.7 GB and 20 seconds to open it.
    path = tmp_path / "segments.jpg"
    path.write_bytes(_jpeg_with_empty_segments(12_000_000))
    run = _import_measured(path, "warnings")
    assert "metadata holds far more values" in run.stdout
    assert run.peak_rss < CEILING, run.describe()


# --- e-mails ---------------------------------------------------------------------------------


def _mail(*headers: bytes, body: bytes = b"Hello Kerry") -> bytes:
    return b"\r\n".join((b"From: jay@example.com", b"Subject: hi", *headers, b"", body))


@pytest.mark.parametrize(
    "date",
    [
        b"Fri, 31 Dec 9999 23:59:59 -1400",  # year 10000 in UTC
        b"Mon, 01 Jan 99999999999999999999 00:00:00 +0000",  # too long for a C integer
    ],
)
def test_email_dated_past_the_calendar_is_imported_without_a_time(date: bytes) -> None:
    imported = import_file(_mail(b"Date: " + date), filename="letter.eml")
    assert imported.page is not None
    assert imported.page.published_at is None
    assert imported.page.published == date.decode()
    assert "Hello Kerry" in imported.page.text


def test_email_part_with_an_unreadable_disposition_is_listed_not_read() -> None:
    mail = _mail(
        b'Content-Type: multipart/mixed; boundary="XX"',
        body=b"--XX\r\nContent-Type: text/plain\r\n\r\nHello Kerry\r\n"
        b"--XX\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename*\r\n"
        b"\r\nsecret\r\n--XX--\r\n",
    )
    imported = import_file(mail, filename="letter.eml")
    assert imported.page is not None
    assert "Hello Kerry" in imported.page.text
    assert "secret" not in imported.page.text
    assert any("1 attachment(s)" in finding for finding in imported.findings)


def _many_parts(count: int, head: bytes) -> bytes:
    return head + b"".join([b"--B\r\n\r\nx\r\n"] * count) + b"--B--\r\n"


MAIL_HEAD = b"From: a@b.c\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
SAVED_PAGE_HEAD = (
    b"From: <Saved by Blink>\r\nSnapshot-Content-Location: https://example.com/\r\n"
    b"Subject: x\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/related; type="text/html"; boundary=B\r\n\r\n'
    b"--B\r\nContent-Type: text/html\r\nContent-Location: https://example.com/\r\n\r\n"
    b"<p>Hello Kerry</p>\r\n"
)


def test_message_parsing_stops_after_enough_parts() -> None:
    message, cut = documents.parse_message(
        _many_parts(10_000, MAIL_HEAD), email.policy.default, max_parts=100
    )
    assert cut
    assert 100 < len(list(message.walk())) < 3000  # one piece fed past the limit, at most


@pytest.mark.slow
@pytest.mark.parametrize(("head", "name"), [(MAIL_HEAD, "a.eml"), (SAVED_PAGE_HEAD, "a.mht")])
def test_48mb_message_of_empty_parts_is_imported_quickly_under_the_ceiling(
    tmp_path: Path, head: bytes, name: str
) -> None:
    # 4.8 million parts: the email package built an object for each (3 MB took 26 s).
    path = tmp_path / name
    path.write_bytes(_many_parts(4_800_000, head))
    run = _import_measured(path, "kind")
    assert run.stdout.strip() in ("eml", "mhtml")
    assert run.peak_rss < CEILING, run.describe()


# --- character set labels -------------------------------------------------------------------


def test_charset_label_with_a_nul_is_unusable_not_a_crash() -> None:
    assert charsets.usable_codec("utf\x008") is None
    page = html.parse_html(b'<meta charset="utf\x008"><title>Hi</title><p>caf\xc3\xa9')
    assert page.title == "Hi"
    assert "café" in page.text
    assert page.charset_source == "guessed"


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"caf\xe9", "café"), (b"M\xfcller", "Müller"), ("Straße".encode("cp1252"), "Straße")],
)
def test_short_undeclared_latin_text_is_not_guessed_to_be_utf16(raw: bytes, text: str) -> None:
    # Four or six bytes of Latin-1 were read as two or three Chinese characters.
    decoded = charsets.decode(raw, html=False)
    assert decoded.text == text
    assert not decoded.charset.startswith("utf-16")


def test_utf16_without_a_byte_order_mark_is_still_detected_by_its_shape() -> None:
    decoded = charsets.decode("Kerry Smith lives in Leeds".encode("utf-16-le"), html=False)
    assert (decoded.charset, decoded.text) == ("utf-16-le", "Kerry Smith lives in Leeds")
