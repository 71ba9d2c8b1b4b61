"""The files people actually have: HEIC and TIFF photos, PDF letters, Word, e-mail.

Every fixture is made here (Pillow, pillow-heif, reportlab, pypdf, zipfile, email);
nothing is fetched. Refused types are named in the message, never "unrecognised".
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from email.message import EmailMessage

import pytest
from PIL import ExifTags, Image, TiffImagePlugin
from pypdf import PageObject, PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from collectors import TooLarge, UnsupportedType, documents, import_file
from collectors.sniff import sniff

LATITUDE, LONGITUDE = 51.5074, -0.127767
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _gps_ifd() -> dict[int, object]:
    return {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (51.0, 30.0, 26.64),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.96),
    }


def heic_photo() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:05:01 10:00:00"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(_gps_ifd())
    out = io.BytesIO()
    Image.new("RGB", (16, 12), "green").save(out, "HEIF", exif=exif)
    return out.getvalue()


def tiff_photo() -> bytes:
    # Pillow's TIFF writer takes sub-IFDs (Exif, GPS) from ``tiffinfo``, not ``exif``.
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[ExifTags.Base.Make] = "Acme"
    info[ExifTags.Base.Model] = "Scanner 2"
    info[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: "2026:05:01 10:00:00"}
    info[ExifTags.IFD.GPSInfo] = _gps_ifd()
    out = io.BytesIO()
    Image.new("RGB", (8, 6), "blue").save(out, "TIFF", tiffinfo=info)
    return out.getvalue()


def pdf_letter(*pages: str, title: str = "Letter from Jo") -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.setTitle(title)
    pdf.setAuthor("Jo Smith")
    for words in pages or ("Dear social worker, Jody now attends Riverside Primary.",):
        pdf.drawString(72, 720, words)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def encrypted(pdf: bytes, *, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_of(parts: dict[str, bytes | str], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def docx(body: str, *, extra: dict[str, bytes | str] | None = None) -> bytes:
    return zip_of(
        {
            "[Content_Types].xml": "<Types/>",
            "word/document.xml": f'<?xml version="1.0"?><w:document {_W}><w:body>{body}'
            "</w:body></w:document>",
            "docProps/core.xml": (
                '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
                'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                "<dc:title>Letter to the school</dc:title><dc:creator>Jo Smith</dc:creator>"
                "</cp:coreProperties>"
            ),
            **(extra or {}),
        }
    )


def paragraph(*runs: str) -> str:
    return (
        "<w:p>"
        + "".join(f'<w:r><w:t xml:space="preserve">{r}</w:t></w:r>' for r in runs)
        + "</w:p>"
    )


def mail(*, html_only: bool = False, attachment: bool = True) -> bytes:
    message = EmailMessage()
    message["From"] = "Jo Smith <jo@example.org>"
    message["To"] = "duty.team@council.example"
    message["Subject"] = "About Jody's school"
    message["Date"] = "Tue, 24 Nov 2026 09:00:00 +0100"
    message["Message-ID"] = "<1@example.org>"
    if html_only:
        message.set_content(
            "<p>Hello, <b>Jody</b> starts at Riverside Primary.</p>", subtype="html"
        )
    else:
        message.set_content("Hello,\nJody starts at Riverside Primary on Monday.\n")
        message.add_alternative("<p>HTML twin that should not be read</p>", subtype="html")
    if attachment:
        message.add_attachment(
            b"%PDF-1.4 not opened", maintype="application", subtype="pdf", filename="report.pdf"
        )
    return message.as_bytes()


# --- photos ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "kind", "media_type", "camera"),
    [
        (heic_photo, "heif", "image/heic", "Apple iPhone 15"),
        (tiff_photo, "tiff", "image/tiff", "Acme Scanner 2"),
    ],
)
def test_photo_gps_and_camera_are_found_and_bytes_kept(
    make: object, kind: str, media_type: str, camera: str
) -> None:
    data = make()  # type: ignore[operator]
    capture = import_file(data, filename=f"IMG_0001.{kind}")
    assert (capture.kind, capture.media_type) == (kind, media_type)
    assert capture.body == data and capture.sha256 == hashlib.sha256(data).hexdigest()
    assert capture.image is not None and capture.image.gps is not None
    assert capture.image.gps.latitude == pytest.approx(LATITUDE, abs=1e-4)
    assert capture.image.gps.longitude == pytest.approx(LONGITUDE, abs=1e-4)
    assert capture.image.camera == camera
    assert capture.image.camera_time == "2026:05:01 10:00:00"
    assert any("GPS position" in f for f in capture.findings)
    assert capture.warnings == ()


def test_heic_named_jpg_is_imported_as_heic_with_a_warning() -> None:
    capture = import_file(heic_photo(), filename="IMG_0001.JPG")
    assert capture.kind == "heif"
    assert (
        "named like a JPEG image" in capture.warnings[0] and "a HEIC photo" in capture.warnings[0]
    )


# --- PDF ---------------------------------------------------------------------------


def test_pdf_text_title_and_author_are_read() -> None:
    capture = import_file(pdf_letter(), filename="letter.pdf")
    assert capture.kind == "pdf" and capture.page is not None
    assert "Riverside Primary" in capture.page.text
    assert (capture.page.title, capture.page.author) == ("Letter from Jo", "Jo Smith")
    assert capture.page.meta["pages"] == "1"
    assert capture.warnings == ()


def test_pdf_that_needs_a_password_is_imported_with_a_note() -> None:
    data = encrypted(pdf_letter(), user_password="secret")
    capture = import_file(data, filename="locked.pdf")
    assert capture.kind == "pdf" and capture.body == data
    assert capture.page is not None and capture.page.text == ""
    assert any("needs a password" in w and "could not be read" in w for w in capture.warnings)


def test_pdf_encrypted_without_a_user_password_is_read_and_noted() -> None:
    capture = import_file(encrypted(pdf_letter(), user_password=""), filename="r.pdf")
    assert capture.page is not None and "Riverside Primary" in capture.page.text
    assert any("opens without a password" in w for w in capture.warnings)


def test_damaged_pdf_is_imported_with_a_note_and_nothing_logged() -> None:
    capture = import_file(b"%PDF-1.7\n1 0 obj << /Type /Catalog", filename="torn.pdf")
    assert capture.kind == "pdf" and capture.page is not None and capture.page.text == ""
    assert any("text could not be read" in w for w in capture.warnings)


def test_pdf_reading_stops_at_the_page_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    data = pdf_letter(*(f"Page number {n} of the letter" for n in range(1, 6)))
    calls = []
    real = PageObject.extract_text

    def counted(self: PageObject, *args: object, **kwargs: object) -> str:
        calls.append(1)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PageObject, "extract_text", counted)
    read = documents.read_pdf(data, max_pages=3)
    assert len(calls) == 3
    assert "Page number 3" in read.page.text and "Page number 4" not in read.page.text
    assert any("has 5 pages; the text of the first 3" in n for n in read.page.notes)


def test_pdf_reading_stops_at_the_deadline() -> None:
    read = documents.read_pdf(pdf_letter("one", "two"), deadline_s=-1)
    assert read.page.text == ""
    assert any("took too long" in n and "first 0 of 2 pages" in n for n in read.page.notes)


def test_pdf_text_is_cut_at_the_character_cap() -> None:
    read = documents.read_pdf(pdf_letter("a" * 80, "b" * 80), max_chars=100)
    assert len(read.page.text) <= 100
    assert any("longer than" in n for n in read.page.notes)


def test_pdf_without_text_says_it_may_be_a_scan() -> None:
    out = io.BytesIO()
    blank = canvas.Canvas(out)
    blank.showPage()
    blank.save()
    capture = import_file(out.getvalue(), filename="scan.pdf")
    assert any("may be a scan" in w for w in capture.warnings)


# --- Word --------------------------------------------------------------------------


def test_docx_text_and_properties_are_read() -> None:
    body = paragraph("Dear Ms Patel,") + paragraph("Jody ", "lives at 4 Elm Road.")
    capture = import_file(docx(body), filename="letter.docx")
    assert capture.kind == "docx" and capture.page is not None
    assert capture.page.text == "Dear Ms Patel,\nJody lives at 4 Elm Road."
    assert (capture.page.title, capture.page.author) == ("Letter to the school", "Jo Smith")
    assert any("written by Jo Smith" in f for f in capture.findings)


def test_docx_entities_are_never_expanded() -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">'
        f'<!ENTITY big "xxxxxxxxxx">]><w:document {_W}><w:body><w:p><w:r>'
        "<w:t>before &secret; &big; after</w:t></w:r></w:p></w:body></w:document>"
    )
    data = zip_of({"[Content_Types].xml": "<Types/>", "word/document.xml": body})
    capture = import_file(data, filename="x.docx")
    assert capture.page is not None
    assert "root:" not in capture.page.text and "xxxxxxxxxx" not in capture.page.text


def test_zip_bomb_docx_is_refused_by_size_without_unpacking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bomb = docx(paragraph(" " * (documents.MAX_PART_BYTES + 1)))
    assert len(bomb) < 1024 * 1024  # tiny on disk, over 20 MB unpacked
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def watched(self: zipfile.ZipFile, member: object, *args: object, **kwargs: object) -> object:
        opened.append(getattr(member, "filename", member))  # type: ignore[arg-type]
        return real_open(self, member, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "open", watched)
    with pytest.raises(TooLarge, match="unpack to more than 20 MB"):
        import_file(bomb, filename="letter.docx")
    assert "word/document.xml" not in opened


def test_docx_lying_about_its_size_is_never_read_past_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(documents, "MAX_PART_BYTES", 1000)
    honest = docx(paragraph("x" * 5000))
    # Make both headers claim 200 bytes unpacked, so only the read itself can stop it.
    declared = zipfile.ZipFile(io.BytesIO(honest)).getinfo("word/document.xml").file_size
    lying = honest.replace(declared.to_bytes(4, "little"), (200).to_bytes(4, "little"))
    capture = import_file(lying, filename="letter.docx")
    assert capture.page is not None and len(capture.page.text) < 1000
    assert any("could not be read" in w for w in capture.warnings)


def test_docx_with_too_many_entries_is_refused_before_opening() -> None:
    parts: dict[str, bytes | str] = {f"word/media/{n}.bin": b"" for n in range(5001)}
    with pytest.raises(TooLarge, match="more parts than a document needs"):
        import_file(docx(paragraph("hi"), extra=parts), filename="letter.docx")


# --- e-mail ------------------------------------------------------------------------


def test_eml_text_headers_and_attachments() -> None:
    capture = import_file(mail(), filename="from-jo.eml")
    assert capture.kind == "eml" and capture.media_type == "message/rfc822"
    page = capture.page
    assert page is not None
    assert "Jody starts at Riverside Primary on Monday." in page.text
    assert (
        "From: Jo Smith <jo@example.org>" in page.text and "duty.team@council.example" in page.text
    )
    assert "HTML twin" not in page.text  # the plain alternative is read instead
    assert (page.title, page.author) == ("About Jody's school", "Jo Smith <jo@example.org>")
    assert page.published_at is not None and page.published_at.hour == 8  # 09:00 +0100 in UTC
    assert any(
        "report.pdf (application/pdf)" in f and "not imported" in f for f in capture.findings
    )
    assert "not opened" not in page.text and "%PDF" not in page.text


def test_eml_with_only_html_is_read_as_text() -> None:
    capture = import_file(mail(html_only=True, attachment=False), filename="m.eml")
    assert capture.page is not None and "Jody starts at Riverside Primary." in capture.page.text
    assert "<b>" not in capture.page.text


def test_eml_huge_part_is_skipped_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_PART_BYTES", 10)
    capture = import_file(mail(attachment=False), filename="m.eml")
    assert capture.page is not None and "Riverside" not in capture.page.text
    assert any("was not read" in w for w in capture.warnings)


def test_saved_web_page_is_still_mhtml_not_email() -> None:
    page = (
        b"From: <Saved by Blink>\r\nSubject: post\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/related; type="text/html"; boundary="B"\r\n\r\n--B\r\n'
    )
    found = sniff(page)
    assert found is not None and found.kind == "mhtml"


# --- named refusals ----------------------------------------------------------------

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
_BINARY = bytes(range(256)) * 2


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (zip_of({"holiday/a.jpg": b"x"}), "a ZIP archive"),
        (b"MZ\x90\x00\x03\x00" + bytes(64), "a program (Windows .exe or .dll)"),
        (b"\x7fELF\x02\x01\x01" + bytes(64), "a program (Linux ELF)"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + _BINARY, "a video (MP4 or MOV)"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + _BINARY, "a video (QuickTime MOV)"),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00" + _BINARY, "an audio recording"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + _BINARY, "an audio recording (MP3)"),
        (b"\xff\xfb\x90\x64" + _BINARY, "an audio recording"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + _BINARY, "an audio recording (WAV)"),
        (b"RIFF\x00\x00\x00\x00AVI LIST" + _BINARY, "a video (AVI)"),
        (b"\x1a\x45\xdf\xa3" + _BINARY, "a video (WebM or MKV)"),
        (zip_of({"[Content_Types].xml": "<T/>", "xl/workbook.xml": "<w/>"}), "an Excel workbook"),
        (zip_of({"ppt/presentation.xml": "<p/>"}), "a PowerPoint presentation"),
        (
            zip_of(  # an OpenDocument's first part names its type, uncompressed
                {"mimetype": "application/vnd.oasis.opendocument.text"},
                compression=zipfile.ZIP_STORED,
            ),
            "an OpenDocument",
        ),
        (b"7z\xbc\xaf\x27\x1c" + _BINARY, "a 7-Zip archive"),
        (b"Rar!\x1a\x07\x01\x00" + _BINARY, "a RAR archive"),
        (bytes(0x8001) + b"CD001" + bytes(64), "a disc image (ISO)"),
        (b"name.txt".ljust(257, b"\x00") + b"ustar\x0000" + bytes(64), "a TAR archive"),
        (_OLE + "WordDocument".encode("utf-16-le"), "an old Word document (.doc)"),
        (_OLE + "Workbook".encode("utf-16-le"), "an old Excel workbook (.xls)"),
        (_OLE + "__substg1.0_0037".encode("utf-16-le"), "an Outlook message (.msg)"),
        (_OLE + "EncryptedPackage".encode("utf-16-le"), "a password-protected Office document"),
        (b"GIF89a\x01\x00\x01\x00" + _BINARY, "a GIF image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + _BINARY, "a WebP image"),
    ],
)
def test_refused_files_are_named_with_what_to_do(data: bytes, label: str) -> None:
    with pytest.raises(UnsupportedType) as caught:
        import_file(data, filename="evidence")
    message = caught.value.message
    assert f"evidence is {label}" in message and "which Caseview does not import" in message
    assert "could not recognise" not in message
    assert re.search(r"(Take|Unpack|Open|Ask|Do not|In Outlook)", message)


def test_unknown_binary_is_described_not_unrecognised() -> None:
    with pytest.raises(UnsupportedType) as caught:
        import_file(b"\x00\x01\x02\x03" + _BINARY, filename="blob.dat")
    message = caught.value.message
    assert "blob.dat is binary data" in message and "could not recognise" not in message
    assert "HEIC" in message and "Word documents (.docx)" in message


@pytest.mark.parametrize(
    "text", [b"ID3 tags are what the radio shows.\n", b"BM said the meeting is at 3.\n"]
)
def test_text_starting_like_a_media_file_is_still_text(text: bytes) -> None:
    assert import_file(text, filename="note.txt").kind == "text"
