"""What an image's metadata says: size, camera time, and GPS position (EXIF).

A geotagged photo of a child tells a stranger where the child was; the camera time
says when. Both are reported as findings for the worker, never acted on by the tool.

Only headers and metadata are read (Pillow's ``Image.open`` is lazy and nothing here
calls ``load()``), so a huge or hostile image cannot exhaust memory by decoding
pixels; nor by its metadata, whose TIFF directories are counted before Pillow unpacks
them (:data:`MAX_METADATA_VALUES`). Metadata reading is best effort: the evidence is
the stored bytes, and a damaged EXIF block becomes a note, not a failed import. So does
every warning Pillow gives (a very large image, a damaged EXIF field), and every report
it logs: a note on the source, never a line on the console or in the log.
"""

from __future__ import annotations

import contextvars
import io
import logging
import math
import pkgutil
import struct
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

import PIL
from PIL import ExifTags, Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

# iPhones save photos as HEIC; pillow-heif teaches Pillow to read them (and their EXIF).
# Registering is idempotent, and done once here so every reader sees the same Pillow.
register_heif_opener()

_MAX_VALUE_CHARS = 200
# Binary blobs, and pointers to the sub-directories that are read separately.
_SKIPPED_TAGS = frozenset(
    {"MakerNote", "UserComment", "PrintImageMatching", "XMLPacket", "ExifOffset", "GPSInfo",
     "InteropOffset"}
)  # fmt: skip
# Pillow raises a variety of errors on damaged metadata; all of them mean "unreadable".
_METADATA_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    RuntimeError,  # the AVIF and HEIF decoders' word for a damaged file
    struct.error,
    UnidentifiedImageError,
    Image.DecompressionBombError,
)


_MAX_NOTED_WARNINGS = 20
# Numbers in the TIFF directories Pillow unpacks (a TIFF file's first directory, and
# the EXIF, GPS and interoperability ones of any photo), each into a Python object of
# 30 to 300 bytes: a 48 MB TIFF declaring 12 million of them took 780 MB to open. Past
# this, the metadata is not read. A real photo's hold hundreds; a large tiled scan's a
# few hundred thousand at most.
MAX_METADATA_VALUES = 500_000
# TIFF field types Pillow unpacks value by value, and their sizes in bytes.
_TIFF_NUMBERS = {3: 2, 4: 4, 5: 8, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_SUB_DIRECTORIES = (0x8769, 0x8825, 0xA005)  # EXIF, GPS, interoperability
# Metadata segments before the image data (a JPEG's APPn and comments, a PNG's chunks),
# each of which Pillow keeps as an object: 12 million empty ones (a 48 MB JPEG) took it
# 1.7 GB, 4 million PNG chunks 580 MB. A real photo has a few.
MAX_METADATA_SEGMENTS = 4096

# Pillow reports some damage through the logging module ("More samples per pixel than
# can be decoded"), not as a warning. While Caseview reads an image, those reports
# become notes on the source (and are not logged), as pypdf's do in
# ``collectors.documents``: a filter on each Pillow module's logger, and a context
# variable that keeps concurrent imports on other threads apart.
_IMAGE_LOGS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "caseview_image_logs", default=None
)


def _pil_log_as_note(record: logging.LogRecord) -> bool:
    noted = _IMAGE_LOGS.get()
    if noted is None:
        return True
    if record.levelno >= logging.WARNING and len(noted) < _MAX_NOTED_WARNINGS:
        noted.append(" ".join(record.getMessage().split())[:_MAX_VALUE_CHARS])
    return False


for _module in (PIL.__name__, *(m.name for m in pkgutil.walk_packages(PIL.__path__, "PIL."))):
    _logger = logging.getLogger(_module)
    if _pil_log_as_note not in _logger.filters:
        _logger.addFilter(_pil_log_as_note)


@dataclass(frozen=True)
class GpsPoint:
    """A position in decimal degrees (WGS 84, as EXIF states it)."""

    latitude: float
    longitude: float
    altitude_m: float | None = None
    time: datetime | None = None  # GPS time is UTC by definition
    source: str = ""  # which file or image it came from, for a finding

    def __str__(self) -> str:
        return f"{self.latitude:.6f}, {self.longitude:.6f}"


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int | None
    height: int | None
    exif: dict[str, str]
    camera_time: str | None  # as the camera's own clock states it
    camera_time_utc: datetime | None  # only when the image records the clock's offset
    camera: str | None  # make and model
    gps: GpsPoint | None
    notes: tuple[str, ...] = ()


def read_image(data: bytes, pillow_format: str, *, source: str = "") -> ImageInfo:
    """Metadata of a photo; ``pillow_format`` is "PNG", "JPEG", "HEIF", "AVIF" or "TIFF"."""
    notes: list[str] = []
    logged: list[str] = []
    token = _IMAGE_LOGS.set(logged)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                # Pillow reads these when it opens the file, before any check of ours.
                if pillow_format == "TIFF" and _tiff_numbers(data) > MAX_METADATA_VALUES:
                    raise _MetadataTooLarge
                if pillow_format == "JPEG" and _jpeg_segments(data) > MAX_METADATA_SEGMENTS:
                    raise _MetadataTooLarge
                if pillow_format == "PNG" and _png_chunks(data) > MAX_METADATA_SEGMENTS:
                    raise _MetadataTooLarge
                with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                    width, height = image.size
                    exif = _exif_without_decoding(image)
                    base = {int(k): v for k, v in exif.items()}
                    details = {int(k): v for k, v in exif.get_ifd(ExifTags.IFD.Exif).items()}
                    gps_ifd = {int(k): v for k, v in exif.get_ifd(ExifTags.IFD.GPSInfo).items()}
            finally:
                _IMAGE_LOGS.reset(token)
                notes.extend(_warning_notes(caught))
                notes.extend(_logged_note(message) for message in dict.fromkeys(logged))
    except (*_METADATA_ERRORS, _MetadataTooLarge) as exc:
        if isinstance(exc, _MetadataTooLarge):
            why = (
                "The image's metadata holds far more values than a real photo's (it may be "
                "built to exhaust the computer), so it was not read; the stored bytes are "
                "unchanged."
            )
        elif isinstance(exc, Image.DecompressionBombError):
            why = (
                "The image claims to be far larger than any real photo (it may be built to "
                "exhaust the computer), so its metadata could not be read safely; the stored "
                "bytes are unchanged."
            )
        elif isinstance(exc, UnidentifiedImageError | EOFError | OSError | RuntimeError):
            why = (
                f"The image could not be opened (it is damaged, cut off, or not really a "
                f"{pillow_format} image), so its metadata could not be read; it was imported "
                "as it is, and the stored bytes are the evidence."
            )
        else:
            why = f"The image's metadata could not be read ({type(exc).__name__})."
        return ImageInfo(
            format=pillow_format,
            width=None,
            height=None,
            exif={},
            camera_time=None,
            camera_time_utc=None,
            camera=None,
            gps=None,
            notes=(*notes, why),
        )
    printable = _printable(base, ExifTags.TAGS)
    printable.update(_printable(details, ExifTags.TAGS))
    printable.update({f"GPS{k}" if not k.startswith("GPS") else k: v
                      for k, v in _printable(gps_ifd, ExifTags.GPSTAGS).items()})  # fmt: skip
    camera_time = _text(details.get(ExifTags.Base.DateTimeOriginal)) or _text(
        base.get(ExifTags.Base.DateTime)
    )
    offset = _text(details.get(ExifTags.Base.OffsetTimeOriginal)) or _text(
        details.get(ExifTags.Base.OffsetTime)
    )
    gps = _gps(gps_ifd, source)
    if gps_ifd and gps is None:
        notes.append("The image has GPS fields but no usable position.")
    make, model = _text(base.get(ExifTags.Base.Make)), _text(base.get(ExifTags.Base.Model))
    return ImageInfo(
        format=pillow_format,
        width=width,
        height=height,
        exif=printable,
        camera_time=camera_time,
        camera_time_utc=_camera_utc(camera_time, offset),
        camera=" ".join(p for p in (make, model) if p) or None,
        gps=gps,
        notes=tuple(notes),
    )


def _logged_note(message: str) -> str:
    return (
        f"Reading the image's metadata gave a warning ({message}); what could be read is "
        "shown, and the stored bytes are unchanged."
    )


def _warning_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    """Pillow's warnings as notes for the worker, each said once."""
    notes: list[str] = []
    for warning in caught:
        if issubclass(warning.category, Image.DecompressionBombWarning):
            note = (
                "The image claims to be very large (Pillow warns it could be a "
                "decompression bomb); only its metadata was read, never its pixels."
            )
        else:
            message = " ".join(str(warning.message).split())[:_MAX_VALUE_CHARS]
            note = (
                f"Reading the image's metadata gave a warning ({message}); what could be "
                "read is shown, and the stored bytes are unchanged."
            )
        if note not in notes:
            notes.append(note)
    return notes


def _exif_without_decoding(image: Image.Image) -> Image.Exif:
    # Pillow's PNG reader decodes every pixel to look for EXIF stored after the image
    # data, which a small file claiming huge dimensions turns into gigabytes. EXIF that
    # comes before the image data (where phones and editors put it) is read; the rest
    # is not looked for.
    if image.format == "PNG" and "exif" not in image.info:
        return Image.Exif()
    exif = image.info.get("exif")
    if isinstance(exif, bytes) and _tiff_numbers(exif) > MAX_METADATA_VALUES:
        raise _MetadataTooLarge  # a PNG's eXIf or a HEIC's EXIF block can be any size
    return image.getexif()


class _MetadataTooLarge(Exception):
    """The image's TIFF directories declare more values than are read."""


def _jpeg_segments(data: bytes) -> int:
    """How many metadata segments (APPn, COM) a JPEG has before its image data, as far
    as its structure can be followed; counting stops past :data:`MAX_METADATA_SEGMENTS`."""
    count = 0
    at = 2  # after the start-of-image marker
    while at + 4 <= len(data) and count <= MAX_METADATA_SEGMENTS:
        if data[at] != 0xFF:
            break  # not a marker: Pillow reads no further either
        marker = data[at + 1]
        if marker == 0xFF:
            at += 1  # fill byte
            continue
        if marker in (0xD9, 0xDA):
            break  # end of image, start of the image data
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            at += 2  # a marker without a length
            continue
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            count += 1
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return count


def _png_chunks(data: bytes) -> int:
    """How many chunks a PNG has before its image data (IDAT), as far as its structure
    can be followed; counting stops past :data:`MAX_METADATA_SEGMENTS`."""
    count = 0
    at = 8  # after the signature
    while at + 8 <= len(data) and count <= MAX_METADATA_SEGMENTS:
        if data[at + 4 : at + 8] == b"IDAT":
            break
        count += 1
        at += 12 + int.from_bytes(data[at : at + 4], "big")  # length, type, data, CRC
    return count


def _tiff_numbers(tiff: bytes) -> int:
    """How many numbers Pillow would unpack from a TIFF structure (a TIFF file, or an
    EXIF block): its first directory's, and those of the EXIF, GPS and interoperability
    directories it points to; each field counted as far as the bytes present allow.
    Counting stops past :data:`MAX_METADATA_VALUES`; 0 if it is not a TIFF structure."""
    tiff = tiff.removeprefix(b"Exif\0\0")
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 16:
        return 0
    big = struct.unpack_from(order + "H", tiff, 2)[0] == 43  # BigTIFF
    head, entry, inline = (8, "HHQQ", 8) if big else (2, "HHII", 4)
    step = struct.calcsize(order + entry)
    pending = [struct.unpack_from(order + ("Q" if big else "I"), tiff, 8 if big else 4)[0]]
    seen: set[int] = set()
    total = 0
    while pending and total <= MAX_METADATA_VALUES:
        at = pending.pop()
        if at in seen or at + head > len(tiff):
            continue
        seen.add(at)
        declared = struct.unpack_from(order + ("Q" if big else "H"), tiff, at)[0]
        entries = min(declared, (len(tiff) - at - head) // step)
        for number in range(entries):
            tag, kind, count, value = struct.unpack_from(
                order + entry, tiff, at + head + number * step
            )
            total += 1
            size = _TIFF_NUMBERS.get(kind)
            if size is not None:
                stored = count * size <= inline  # small values sit in the entry itself
                total += count if stored else min(count, max(len(tiff) - value, 0) // size)
            if tag in _SUB_DIRECTORIES and count == 1:
                pending.append(value)
            if total > MAX_METADATA_VALUES:
                break
    return total


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        cleaned = value.replace("\x00", "").strip()
        return cleaned or None
    return None


def _printable(tags: dict[int, object], names: dict[int, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tags.items():
        name = names.get(key, f"Tag0x{key:04X}")
        if name in _SKIPPED_TAGS or isinstance(value, dict):
            continue
        if isinstance(value, bytes):
            shown = _text(value) if value.isascii() else f"<{len(value)} bytes>"
        else:
            shown = str(value)
        if shown:
            out[name] = shown[:_MAX_VALUE_CHARS]
    return out


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]  # IFDRational, int or float
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _degrees(value: object, ref: object, negative: str) -> float | None:
    if isinstance(value, tuple | list) and len(value) == 3:
        parts = [_number(v) for v in value]
        if any(p is None for p in parts):
            return None
        d, m, s = (p or 0.0 for p in parts)
        degrees = d + m / 60 + s / 3600
    else:
        single = _number(value)
        if single is None:
            return None
        degrees = single
    if (_text(ref) or "").upper().startswith(negative):
        degrees = -degrees
    return degrees


def _gps(gps: dict[int, object], source: str) -> GpsPoint | None:
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:
        return None  # "null island": cameras write zeros when they have no fix
    altitude = _number(gps.get(ExifTags.GPS.GPSAltitude))
    below = gps.get(ExifTags.GPS.GPSAltitudeRef)
    if altitude is not None and below in (1, b"\x01"):
        altitude = -altitude
    return GpsPoint(
        latitude=round(lat, 7),
        longitude=round(lon, 7),
        altitude_m=altitude,
        time=_gps_time(gps),
        source=source,
    )


def _gps_time(gps: dict[int, object]) -> datetime | None:
    date = _text(gps.get(ExifTags.GPS.GPSDateStamp))
    clock = gps.get(ExifTags.GPS.GPSTimeStamp)
    if not date or not isinstance(clock, tuple | list) or len(clock) != 3:
        return None
    numbers = [_number(v) for v in clock]
    if any(n is None for n in numbers):
        return None
    hours, minutes, seconds = (int(n or 0) for n in numbers)
    try:
        day = datetime.strptime(date, "%Y:%m:%d")
        return day.replace(hour=hours, minute=minutes, second=seconds, tzinfo=UTC)
    except (ValueError, OverflowError):  # a field stored as a huge floating-point number
        return None


def _camera_utc(stated: str | None, offset: str | None) -> datetime | None:
    if not stated or not offset:
        return None
    try:
        local = datetime.strptime(f"{stated} {offset}", "%Y:%m:%d %H:%M:%S %z")
        return local.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past its end
        return None
