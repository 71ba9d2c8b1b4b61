"""What an image's metadata says: size, camera time, and GPS position (EXIF).

A geotagged photo of a child tells a stranger where the child was; the camera time
says when. Both are reported as findings for the worker, never acted on by the tool.

Only headers and metadata are read (Pillow's ``Image.open`` is lazy and nothing here
calls ``load()``), so a huge or hostile image cannot exhaust memory by decoding
pixels. Metadata reading is best effort: the evidence is the stored bytes, and a
damaged EXIF block becomes a note, not a failed import. So does every warning Pillow
gives (a very large image, a damaged EXIF field): a note on the source, never a line on
the console.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

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
    struct.error,
    UnidentifiedImageError,
    Image.DecompressionBombError,
)


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
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                    width, height = image.size
                    exif = _exif_without_decoding(image)
                    base = {int(k): v for k, v in exif.items()}
                    details = {int(k): v for k, v in exif.get_ifd(ExifTags.IFD.Exif).items()}
                    gps_ifd = {int(k): v for k, v in exif.get_ifd(ExifTags.IFD.GPSInfo).items()}
            finally:
                notes.extend(_warning_notes(caught))
    except _METADATA_ERRORS as exc:
        if isinstance(exc, Image.DecompressionBombError):
            why = (
                "The image claims to be far larger than any real photo (it may be built to "
                "exhaust the computer), so its metadata could not be read safely; the stored "
                "bytes are unchanged."
            )
        elif isinstance(exc, UnidentifiedImageError | EOFError | OSError):
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
    return image.getexif()


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
    except ValueError:
        return None


def _camera_utc(stated: str | None, offset: str | None) -> datetime | None:
    if not stated or not offset:
        return None
    try:
        local = datetime.strptime(f"{stated} {offset}", "%Y:%m:%d %H:%M:%S %z")
    except ValueError:
        return None
    return local.astimezone(UTC)
