"""collectors.files.import_file: typed by content, hashed exactly, metadata reported."""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from collectors import CollectorError, TooLarge, UnsupportedType, import_file
from collectors.files import FileCapture
from collectors.sniff import sniff

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = (
    b"<!DOCTYPE html><html><head><title>Saved post</title></head><body><p>Hi all</p></body></html>"
)
MHTML = (
    b"From: <Saved by Blink>\r\n"
    b"Snapshot-Content-Location: https://social.example/kerry/posts/1\r\n"
    b"Subject: Kerry's post\r\n"
    b"Date: Tue, 24 Nov 2026 09:00:00 -0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/related;\r\n\ttype="text/html";\r\n\tboundary="----B"\r\n'
    b"\r\n"
    b"------B\r\n"
    b"Content-Type: text/html\r\n"
    b"Content-ID: <frame-1@mhtml.blink>\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"Content-Location: https://social.example/kerry/posts/1\r\n"
    b"\r\n"
    b'<html><head><meta charset=3D"utf-8"><title>Kerry\'s post</title></head>'
    b"<body><p>Caf=C3=A9 trip with Jay</p></body></html>\r\n"
    b"------B\r\n"
    b"Content-Type: image/png\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Location: https://social.example/a.png\r\n"
    b"\r\n"
    b"iVBORw0KGgo=\r\n"
    b"------B--\r\n"
)


def image_bytes(fmt: str, *, gps: bool = True) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Acme"
    exif[ExifTags.Base.Model] = "Phone 7"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:05:01 10:00:00"
    if gps:
        ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        ifd[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.64)
        ifd[ExifTags.GPS.GPSLongitudeRef] = "W"
        ifd[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.96)
    out = io.BytesIO()
    Image.new("RGB", (8, 6), "blue").save(out, fmt, exif=exif)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "kind"), [("JPEG", "jpeg"), ("PNG", "png")])
def test_image_exif_and_gps_are_reported(fmt: str, kind: str) -> None:
    data = image_bytes(fmt)
    capture = import_file(data, filename=f"screenshot.{kind}")
    assert capture.kind == kind and capture.media_type == f"image/{kind}"
    assert capture.warnings == ()
    image = capture.image
    assert image is not None and (image.width, image.height) == (8, 6)
    assert image.camera == "Acme Phone 7"
    assert image.camera_time == "2026:05:01 10:00:00"
    assert image.gps is not None
    assert image.gps.latitude == pytest.approx(51.5074, abs=1e-6)
    assert image.gps.longitude == pytest.approx(-0.127767, abs=1e-6)
    assert any(f.startswith("GPS position: 51.507400, -0.127767") for f in capture.findings)
    assert any("time zone is not recorded" in f for f in capture.findings)


def test_image_without_gps_has_no_position() -> None:
    capture = import_file(image_bytes("JPEG", gps=False), filename="a.jpg")
    assert capture.image is not None and capture.image.gps is None
    assert not any("GPS" in f for f in capture.findings)


def test_hash_and_size_are_of_the_exact_bytes(tmp_path: Path) -> None:
    path = tmp_path / "post.pdf"
    path.write_bytes(PDF)
    capture = import_file(path)
    assert capture.filename == "post.pdf"
    assert capture.kind == "pdf" and capture.media_type == "application/pdf"
    assert capture.body == PDF
    assert capture.sha256 == hashlib.sha256(PDF).hexdigest()
    assert capture.size == len(PDF)
    assert capture.imported_at.tzinfo is UTC
    assert capture.imported_at <= datetime.now(UTC)


def test_html_is_parsed() -> None:
    saved = b"<!-- saved from url=(0034)https://social.example/kerry/1 -->\n" + HTML
    capture = import_file(saved, filename="post.html")
    assert capture.kind == "html"
    assert capture.page is not None and capture.page.title == "Saved post"
    assert capture.page.text == "Hi all"
    assert capture.shown_url == "https://social.example/kerry/1"


def test_mhtml_main_part_and_location() -> None:
    capture = import_file(MHTML, filename="post.mhtml")
    assert capture.kind == "mhtml" and capture.media_type == "multipart/related"
    assert capture.mhtml is not None
    assert capture.mhtml.content_location == "https://social.example/kerry/posts/1"
    assert capture.mhtml.snapshot_location == "https://social.example/kerry/posts/1"
    assert capture.mhtml.part_count == 2
    assert capture.page is not None
    assert capture.page.title == "Kerry's post"
    assert capture.page.text == "Café trip with Jay"
    assert capture.shown_url == "https://social.example/kerry/posts/1"
    assert capture.body == MHTML  # the whole file is the evidence


def test_mhtml_without_html_is_refused() -> None:
    only_image = MHTML.replace(b"Content-Type: text/html\r\n", b"Content-Type: text/css\r\n")
    with pytest.raises(UnsupportedType, match="no web page"):
        import_file(only_image, filename="x.mhtml")


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"Kerry said she lives in Leeds.\n", "Kerry said she lives in Leeds."),
        (codecs.BOM_UTF8 + "Jay’s notes".encode(), "Jay’s notes"),
        ("Jay’s notes".encode("utf-16"), "Jay’s notes"),
    ],
)
def test_text_files(data: bytes, text: str) -> None:
    capture = import_file(data, filename="notes.txt")
    assert capture.kind == "text"
    assert capture.page is not None and capture.page.text == text


def test_disguised_file_is_imported_as_what_it_is() -> None:
    capture = import_file(HTML, filename="photo.png")
    assert capture.kind == "html"
    assert len(capture.warnings) == 1
    assert "named like a PNG image" in capture.warnings[0]
    assert "its content is a web page (HTML)" in capture.warnings[0]


def test_image_named_as_text_is_an_image() -> None:
    capture = import_file(image_bytes("PNG"), filename="notes.txt")
    assert capture.kind == "png"
    assert "named like plain text" in capture.warnings[0]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "a program (Linux ELF)"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64, "a program (Windows"),
        (b"PK\x03\x04\x14\x00" + b"\x00" * 32, "ZIP archive"),
        (b"#!/bin/sh\nrm -rf ~\n", "a program (script)"),
        (b"GIF89a\x01\x00\x01\x00", "a GIF image"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 16, "gzip"),
        (bytes(range(256)) * 4, "is binary data that is not a photo"),
        (b"", "empty"),
    ],
)
def test_unsupported_and_executable_files_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(UnsupportedType, match=re.escape(words)) as caught:
        import_file(data, filename="evidence.png")
    assert caught.value.kind == "unsupported_type"


def test_text_starting_with_mz_is_still_text() -> None:
    assert import_file(b"MZ Smith wrote this note.\n", filename="n.txt").kind == "text"


def test_size_cap(tmp_path: Path) -> None:
    with pytest.raises(TooLarge):
        import_file(b"x" * 101, filename="big.txt", max_bytes=100)
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 101)
    with pytest.raises(TooLarge, match="limit"):
        import_file(path, max_bytes=100)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedType, match="not an ordinary file"):
        import_file(tmp_path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match=r"could not read gone\.png"):
        import_file(tmp_path / "gone.png")


def test_damaged_image_metadata_is_a_note_not_a_failure() -> None:
    broken = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    capture: FileCapture = import_file(broken, filename="broken.png")
    assert capture.kind == "png"
    assert capture.image is not None and capture.image.gps is None
    assert any("metadata could not be read" in w for w in capture.warnings)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"  \n<!doctype html><p>x", "html"),
        (b"<P>para</P>", "html"),
        (b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'></html>", "html"),
        ("<html>hi</html>".encode("utf-16"), "html"),
        (b"plain words", "text"),
        (b"<notatag> just text", "text"),
        (b"\x00\x01\x02binary", None),
    ],
)
def test_sniffing(data: bytes, kind: str | None) -> None:
    found = sniff(data)
    assert (found.kind if found else None) == kind


def test_png_metadata_is_read_without_decoding_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import PngImagePlugin

    def refuse(self: object) -> None:
        raise AssertionError("pixels were decoded")

    plain = io.BytesIO()
    Image.new("RGB", (3, 3)).save(plain, "PNG")  # no EXIF at all
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", refuse)
    assert import_file(plain.getvalue(), filename="a.png").image is not None
    capture = import_file(image_bytes("PNG"), filename="b.png")
    assert capture.image is not None and capture.image.gps is not None


def test_image_claiming_enormous_size_is_imported_quickly() -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    capture = import_file(png, filename="huge.png")
    assert capture.kind == "png" and capture.sha256
    assert any("metadata could not be read" in w for w in capture.warnings)
