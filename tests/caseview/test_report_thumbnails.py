"""Pictures in the note's provenance appendix (issue 12): a rendered capture's screenshot
or an imported image, shrunk the same way every time, a long page cut to its top and
said so, and a hostile picture noted in one line instead of failing the note."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import socket
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
import reportlab.lib.utils
from browse_support import rendered_page
from gate_support import URL, approved, make_request
from PIL import Image, ImageDraw
from PIL.JpegImagePlugin import JpegImageFile
from report_samples import sample_report

from caseview import browsing, captures
from caseview.captures import RenderedPage
from caseview.clock import FixedClock
from caseview.domain import Case, Subject
from caseview.report import build as report
from caseview.report import pdf, thumbnails
from caseview.report.model import ReportPicture
from caseview.report.pdf import render_pdf
from caseview.session import Session

# --- pictures, fair and hostile ---------------------------------------------------------


def _saved(image: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _page_shot(width: int = 1280, height: int = 900) -> bytes:
    """A screenshot-like PNG: a banner and rows of posts."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 80), fill=(29, 91, 121))
    for y in range(120, height, 60):
        draw.rectangle((20, y, width - 20, y + 44), outline=(190, 190, 190))
        draw.text((30, y + 12), f"Post at {y} px", fill="black")
    return _saved(image)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, bit_depth: int, colour: int, rows: int | None = None) -> bytes:
    """A PNG written by hand (any header Pillow would refuse to write), its image data
    streamed through zlib so that a bomb costs the test almost nothing."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = b"\x00" + bytes((width * channels * bit_depth + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height if rows is None else rows))
    data += packer.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def _palette(index: int) -> bytes:
    """A palette PNG of one colour: 0 is a see-through red, 1 blue."""
    image = Image.new("P", (300, 200), index)
    image.putpalette([255, 0, 0, 0, 0, 255])
    return _saved(image, transparency=0)


def _rotated_jpeg() -> bytes:
    """An 800 x 400 photo whose EXIF says: turn it a quarter (orientation 6)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return _saved(Image.new("RGB", (800, 400), "green"), "JPEG", exif=exif)


# --- making a thumbnail -------------------------------------------------------------------


def test_the_same_picture_always_gives_the_same_thumbnail() -> None:
    shot = _page_shot()
    assert thumbnails.make(shot) == thumbnails.make(shot)


def test_a_thumbnail_is_a_plain_jpeg_with_no_metadata() -> None:
    made = thumbnails.make(_saved(Image.new("RGB", (500, 500), "red"), "PNG", exif=b"Exif\0\0"))
    with Image.open(io.BytesIO(made.jpeg)) as image:
        found = (image.format, image.mode, image.size, image.getexif() == {})
    assert found == ("JPEG", "RGB", (made.width, made.height), True)
    assert b"ICC_PROFILE" not in made.jpeg and b"Exif" not in made.jpeg


@pytest.mark.parametrize(
    ("size", "shown", "top_only"),
    [
        ((1280, 900), (320, 225), False),
        ((200, 100), (200, 100), False),  # never enlarged
        ((1000, 2000), (240, 480), False),  # 1:2 exactly: all of it
        ((1280, 16384), (240, 480), True),  # a long page: its top, at 1:2
        ((30, 20000), (30, 60), True),
        ((20000, 30), (320, 1), False),  # a sliver still has a pixel's height
    ],
)
def test_a_thumbnail_fits_its_box(
    size: tuple[int, int], shown: tuple[int, int], top_only: bool
) -> None:
    made = thumbnails.make(_png(*size, 1, 0))
    assert (made.width, made.height) == shown
    assert (made.source_width, made.source_height, made.top_only) == (*size, top_only)


def test_a_long_page_shows_its_top() -> None:
    shot = Image.new("RGB", (1280, 16384), "white")
    ImageDraw.Draw(shot).rectangle((0, 0, 1280, 640), fill="black")  # the top quarter
    made = thumbnails.make(_saved(shot))
    with Image.open(io.BytesIO(made.jpeg)) as image:
        top, bottom = image.getpixel((120, 10)), image.getpixel((120, 470))
    assert (made.top_only, made.height / made.width) == (True, 2.0)
    assert max(top) < 40 and min(bottom) > 215  # black above, white below: the top


@pytest.mark.parametrize(
    ("picture", "colour"),
    [
        (_saved(Image.new("CMYK", (300, 200), (0, 0, 0, 255)), "JPEG"), (0, 0, 0)),
        (_png(300, 200, 16, 0), (0, 0, 0)),  # 16-bit grey
        (_png(300, 200, 16, 2), (0, 0, 0)),  # 16-bit colour
        (_saved(Image.new("I;16", (300, 200), 0x8080)), (128, 128, 128)),
        (_palette(0), (255, 255, 255)),  # its see-through colour: on white
        (_palette(1), (0, 0, 255)),
        (_saved(Image.new("LA", (300, 200), (0, 0))), (255, 255, 255)),  # see-through: white
        (_saved(Image.new("1", (300, 200), 1)), (255, 255, 255)),
        (_saved(Image.new("RGB", (300, 200), "blue"), "TIFF"), (0, 0, 255)),
    ],
    ids=["cmyk", "grey16", "rgb16", "i16", "clear", "palette", "grey-alpha", "1-bit", "tiff"],
)
def test_any_picture_mode_becomes_rgb(picture: bytes, colour: tuple[int, int, int]) -> None:
    made = thumbnails.make(picture)
    with Image.open(io.BytesIO(made.jpeg)) as image:
        seen = image.convert("RGB").getpixel((made.width // 2, made.height // 2))
    assert isinstance(seen, tuple)
    assert all(abs(a - b) <= 3 for a, b in zip(seen, colour, strict=True)), seen


def test_a_photo_is_turned_as_its_exif_says() -> None:
    made = thumbnails.make(_rotated_jpeg())
    assert (made.source_width, made.source_height, made.width, made.height) == (
        400,
        800,
        240,
        480,
    )


def test_a_large_jpeg_is_decoded_already_reduced(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[int, int]] = []
    draft = JpegImageFile.draft

    def watched(self: JpegImageFile, mode: str | None, size: tuple[int, int] | None) -> Any:
        assert size is not None
        asked.append(size)
        return draft(self, mode, size)

    monkeypatch.setattr(JpegImageFile, "draft", watched)
    made = thumbnails.make(_saved(Image.new("RGB", (4000, 3000), "red"), "JPEG"))
    assert (asked, made.width, made.height) == ([(320, 240)], 320, 240)


# A real decompression bomb: 20,000 x 20,000 pixels (400 million) in about 50 kB.
BOMB = _png(20_000, 20_000, 1, 0)


@pytest.mark.parametrize(
    ("picture", "says"),
    [
        (BOMB, "decompression bomb"),
        (_png(7_000, 9_000, 8, 0, rows=1), "too large to decode safely"),  # over MAX_PIXELS
        (_png(65_535, 65_535, 8, 6, rows=1), "decode safely"),  # a huge header, no data
        (_page_shot()[:3000], "damaged or incomplete"),  # a truncated PNG
        (b"<html>not a picture</html>", "not a picture in a format the note can show"),
        (b"", "not a picture in a format the note can show"),
        (b"\x89PNG\r\n\x1a\n" + b"\xff" * 64, "not a picture"),
    ],
    ids=["bomb", "over-limit", "huge-header", "truncated", "html", "empty", "junk"],
)
def test_a_hostile_picture_gives_a_reason_not_a_crash(picture: bytes, says: str) -> None:
    with pytest.raises(thumbnails.NoThumbnail) as refused:
        thumbnails.make(picture)
    assert says in str(refused.value)


def test_a_picture_too_large_to_decode_is_never_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", refuse)
    for picture in (BOMB, _png(65_535, 65_535, 8, 6, rows=1)):
        with pytest.raises(thumbnails.NoThumbnail) as refused:
            thumbnails.make(picture)
        assert "AssertionError" not in str(refused.value)


# --- through the services: a rendered capture and an imported image -------------------


def _rendered(worker: Session, shot: bytes, *, full_height: int | None = None) -> RenderedPage:
    width, height = struct.unpack(">II", shot[16:24])  # the PNG's header, even a bomb's
    return rendered_page(
        worker.now(),
        URL,
        text="A photo.",
        screenshot=shot,
        width=width,
        height=height,
        full_height=full_height,
    )


@pytest.fixture
def request_id(worker: Session, manager: Session, case: Case, subject: Subject) -> int:
    return approved(worker, manager, case.id, make_request([subject.id], worker.now())).id


def _capture(
    worker: Session,
    case: Case,
    subject: Subject,
    request_id: int,
    shot: bytes,
    full_height: int | None = None,
) -> captures.SourceRecord:
    opened = browsing.start(worker, case.id, request_id, subject.id, URL, attested=True)
    source = browsing.capture(worker, opened.id, _rendered(worker, shot, full_height=full_height))
    browsing.end(worker, opened.id)
    return source


def _picture(worker: Session, case: Case, source_id: int) -> ReportPicture | None:
    [shown] = [s for s in report.build(worker, case.id).sources if s.id == source_id]
    return shown.picture


def test_a_rendered_capture_carries_its_screenshot_shrunk_into_the_note_data(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    shot = _page_shot(1280, 16384)
    source = _capture(worker, case, subject, request_id, shot, full_height=40_000)
    picture = _picture(worker, case, source.id)
    assert picture is not None and picture.thumbnail is not None
    assert (picture.kind, picture.sha256) == ("screenshot", hashlib.sha256(shot).hexdigest())
    assert (picture.width, picture.height, picture.top_only) == (1280, 16384, True)
    assert (picture.thumbnail_width, picture.thumbnail_height) == (240, 480)
    assert picture.page_height == 40_000
    assert picture.thumbnail == thumbnails.make(shot).jpeg


def test_an_imported_image_shows_as_the_imported_image(
    worker: Session, manager: Session, case: Case, subject: Subject, request_id: int
) -> None:
    photo = _saved(Image.new("RGB", (640, 480), "orange"))
    imported = captures.import_file(
        worker,
        case.id,
        photo,
        url=URL,
        viewed_at=worker.now(),
        justification_id=request_id,
        subject_id=subject.id,
        origin="family",
        supplied_by="maternal grandmother",
        filename="photo.png",
    )
    picture = _picture(worker, case, imported.id)
    assert picture is not None
    assert (picture.kind, picture.sha256, picture.width, picture.top_only) == (
        "image",
        imported.body_sha256,
        640,
        False,
    )


def test_a_page_without_a_picture_has_none(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    page = b"<html><body><p>Kerry's page.</p></body></html>"
    imported = captures.import_file(
        worker,
        case.id,
        page,
        url=URL,
        viewed_at=worker.now(),
        justification_id=request_id,
        subject_id=subject.id,
        origin="family",
        supplied_by="maternal grandmother",
        filename="page.html",
    )
    assert _picture(worker, case, imported.id) is None


@pytest.mark.parametrize("shot", [BOMB, _page_shot()[:3000]], ids=["bomb", "truncated"])
def test_a_hostile_screenshot_is_noted_and_the_note_still_exports(
    worker: Session,
    case: Case,
    subject: Subject,
    request_id: int,
    tmp_path: Path,
    shot: bytes,
) -> None:
    source = _capture(worker, case, subject, request_id, shot)
    picture = _picture(worker, case, source.id)
    assert picture is not None and picture.thumbnail is None and picture.problem
    target = tmp_path / "note.pdf"
    report.export_pdf(worker, case.id, target)
    said = " ".join(_pdftotext(target).split())
    assert f"No thumbnail of the screenshot (SHA-256 {picture.sha256[:16]}…) is shown" in said
    assert "Traceback" not in said


def test_a_screenshot_changed_behind_the_log_is_not_shown(
    worker: Session, case: Case, subject: Subject, request_id: int
) -> None:
    shot = _page_shot()
    source = _capture(worker, case, subject, request_id, shot)
    conn = worker.casefile.conn
    conn.execute("DROP TRIGGER blobs_never_updated")
    changed = bytearray(shot)
    changed[-100] ^= 1
    conn.execute(
        "UPDATE blobs SET content = ? WHERE sha256 = ?",
        (bytes(changed), hashlib.sha256(shot).hexdigest()),
    )
    picture = _picture(worker, case, source.id)
    assert picture is not None and picture.thumbnail is None
    assert picture.problem is not None and "caseview verify" in picture.problem


# --- the PDF ------------------------------------------------------------------------------


def _pdftotext(path: Path) -> str:
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is required (apt-get install poppler-utils)"
    return subprocess.run([tool, str(path), "-"], capture_output=True, text=True, check=True).stdout


def _qpdf_check(path: Path) -> None:
    qpdf = shutil.which("qpdf")
    assert qpdf, "qpdf is required (apt-get install qpdf; .ci/run installs it)"
    done = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_exporting_an_unchanged_case_with_a_rendered_source_twice_gives_identical_bytes(
    worker: Session,
    case: Case,
    subject: Subject,
    request_id: int,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    _capture(worker, case, subject, request_id, _page_shot(1280, 16384))
    first = report.export_pdf(worker, case.id, tmp_path / "one.pdf")
    clock.advance(hours=2)
    second = report.export_pdf(worker, case.id, tmp_path / "two.pdf")
    one, two = (tmp_path / "one.pdf").read_bytes(), (tmp_path / "two.pdf").read_bytes()
    assert (first, one == two) == (second, True)
    assert b"/Subtype /Image" in one and b"/DCTDecode" in one


def test_the_caption_says_what_is_shown_and_no_more(
    worker: Session, case: Case, subject: Subject, request_id: int, tmp_path: Path
) -> None:
    shot = _page_shot(1280, 16384)
    _capture(worker, case, subject, request_id, shot, full_height=40_000)
    target = tmp_path / "note.pdf"
    report.export_pdf(worker, case.id, target)
    _qpdf_check(target)
    said = " ".join(_pdftotext(target).split())
    assert "The screenshot as captured: the top of the page" in said
    assert "the full screenshot (1,280 by 16,384 pixels) is kept unchanged" in said
    assert "The page was 40,000 pixels long; the screenshot itself keeps only its first" in said
    assert hashlib.sha256(shot).hexdigest() in said.replace(" ", "")


def test_a_picture_stays_with_its_source_when_a_table_is_chunked() -> None:
    shot = thumbnails.make(_page_shot())
    picture = ReportPicture("screenshot", "ab" * 32, shot.jpeg, shot.width, shot.height, 1280, 900)
    data = sample_report()
    many = tuple(
        dataclasses.replace(data.sources[0], id=n, picture=picture if n == pdf.CHUNK else None)
        for n in range(1, pdf.CHUNK + 31)
    )
    tables = pdf._grid(pdf.SOURCE_HEADER, pdf._source_rows(many), pdf.SOURCE_WIDTHS)
    # The header, the first CHUNK sources and the last one's picture: one table.
    assert [len(t._cellvalues) for t in tables] == [pdf.CHUNK + 2, 31]
    assert render_pdf(dataclasses.replace(data, sources=many)).count(b"/Subtype /Image") == 1


def test_rendering_a_picture_reads_no_file_and_opens_no_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shot = thumbnails.make(_page_shot())
    picture = ReportPicture("screenshot", "ab" * 32, shot.jpeg, shot.width, shot.height, 1, 1)
    data = sample_report()
    data = dataclasses.replace(
        data, sources=(dataclasses.replace(data.sources[0], picture=picture),)
    )
    render_pdf(data)  # fonts registered before the doors are shut

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the renderer tried to open {args!r}")

    monkeypatch.setattr(reportlab.lib.utils, "open_for_read_by_name", refuse)
    monkeypatch.setattr(reportlab.lib.utils, "rlUrlRead", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert render_pdf(data).startswith(b"%PDF-")
