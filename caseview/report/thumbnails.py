"""Small pictures of the sources for the note: the same input always gives the same bytes.

A thumbnail is made once, when the note's data is built (:mod:`caseview.report.build`),
and travels in the plain data as JPEG bytes, so the renderer never decodes a stored
picture and re-exporting an unchanged case gives a byte-identical PDF. Determinism:
a fixed box, a fixed resampling filter, RGB only, baseline JPEG at a fixed quality and
no metadata (no EXIF, no ICC profile, no time); with the same Pillow and libjpeg the
same picture always gives the same thumbnail.

A picture is hostile input (an imported file, a page's screenshot). Nothing here may
crash the note or exhaust memory: the header is read first and a picture too large to
decode safely (:data:`MAX_PIXELS`) is never decoded; a JPEG is decoded already scaled
down (``Image.draft``); a decompression bomb, a truncated or damaged file or a format
Pillow cannot read becomes :class:`NoThumbnail`, whose message the note prints in one
line in place of the picture.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import cast

from PIL import Image, ImageOps, UnidentifiedImageError

BOX_PT = (160, 240)
"""The most room a thumbnail takes in the note, in points (width, height)."""
PX_PER_PT = 2
"""Thumbnail pixels per point: 144 dpi, sharp on screen and on paper at this size."""
BOX_PX = (BOX_PT[0] * PX_PER_PT, BOX_PT[1] * PX_PER_PT)
MAX_ASPECT = 2.0
"""A picture taller than twice its width (a long page) shows only its top, at 1:2."""
MAX_PIXELS = 60_000_000
"""A bigger picture is not decoded. The evidence browser's largest screenshot (2,560 by
16,384 pixels, a full-length page at twice the density) is 42 million; decoding 60
million takes at most about 240 MB, for one picture at a time."""
JPEG_QUALITY = 85
ORIENTATION = 0x0112  # the EXIF tag
FORMATS = ("PNG", "JPEG", "HEIF", "AVIF", "TIFF", "WEBP", "GIF", "BMP")
"""What a source's picture may be: screenshots are PNG; imports as Caseview accepts them."""


class NoThumbnail(Exception):
    """No thumbnail could be made; the message says why, as the end of a sentence."""


@dataclass(frozen=True)
class Thumbnail:
    jpeg: bytes
    width: int
    """In pixels (``PX_PER_PT`` to a point)."""
    height: int
    source_width: int
    """The picture's own size in pixels, as it is shown (after its EXIF rotation)."""
    source_height: int
    top_only: bool
    """The thumbnail shows the top of a taller picture, not all of it."""


def make(data: bytes) -> Thumbnail:
    """A thumbnail of the picture ``data`` within :data:`BOX_PX`; raises :class:`NoThumbnail`."""
    try:
        with warnings.catch_warnings():
            # A decompression bomb warning stops the work; Pillow's other warnings (a
            # palette's transparency, a damaged EXIF field) change nothing drawn here.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.init()  # every installed reader known, then only these asked
            formats = [name for name in FORMATS if name in Image.OPEN]
            with Image.open(io.BytesIO(data), formats=formats) as image:
                return _make(image)
    except NoThumbnail:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NoThumbnail(
            "the picture claims to be too large to decode safely (a possible "
            "decompression bomb), so it was not decoded"
        ) from exc
    except UnidentifiedImageError as exc:
        raise NoThumbnail("it is not a picture in a format the note can show") from exc
    except MemoryError as exc:
        raise NoThumbnail("it is too large to shrink") from exc
    except Exception as exc:
        # Pillow's decoders raise many kinds of error on damaged or crafted input
        # (OSError, SyntaxError, ValueError, struct.error, IndexError...): all of them
        # mean "unreadable", and a picture must never be the note's failure.
        raise NoThumbnail(
            f"it could not be read as a picture ({type(exc).__name__}); it may be "
            "damaged or incomplete"
        ) from exc


def _make(image: Image.Image) -> Thumbnail:
    width, height = image.size
    if width < 1 or height < 1:
        raise NoThumbnail(f"its header says it is {width:,} by {height:,} pixels")
    if width * height > MAX_PIXELS:
        raise NoThumbnail(
            f"at {width:,} by {height:,} pixels it is too large to decode safely, so it "
            "was not decoded"
        )
    # Shown as every viewer shows it: turned as its EXIF orientation says.
    if image.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8):
        width, height = height, width
    if image.format == "JPEG":
        # Decoded at 1/2, 1/4 or 1/8 of its size, never smaller than the thumbnail needs.
        scale = _scale(width, height)
        stored = image.size
        image.draft("RGB", (math.ceil(stored[0] * scale), math.ceil(stored[1] * scale)))
    rgb = _as_rgb(ImageOps.exif_transpose(image))
    top = min(rgb.height, math.floor(rgb.width * MAX_ASPECT))
    top_only = top < rgb.height
    if top_only:
        rgb = rgb.crop((0, 0, rgb.width, top))
    scale = min(BOX_PX[0] / rgb.width, BOX_PX[1] / rgb.height, 1.0)
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    if size != rgb.size:
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    # Baseline, 4:4:4 (small text stays legible), no EXIF, ICC profile or comment.
    rgb.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=False)
    return Thumbnail(out.getvalue(), size[0], size[1], width, height, top_only)


def _scale(width: int, height: int) -> float:
    """How far a ``width`` by ``height`` picture (its top, if tall) shrinks into the box."""
    top = min(height, max(1, math.floor(width * MAX_ASPECT)))
    return min(BOX_PX[0] / width, BOX_PX[1] / top, 1.0)


def _as_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB, transparency laid on white, 16- and 32-bit values scaled to 8 bits."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I;16"):  # 16 bits a sample: the top 8 of them
        return image.convert("I").point(lambda v: v / 257).convert("L").convert("RGB")
    if mode in ("I", "F"):  # no fixed range: its own darkest to lightest
        wide = image.convert("F")
        low, high = (float(v) for v in cast(tuple[float, float], wide.getextrema()))
        span = high - low or 1.0
        return wide.point(lambda v: (v - low) * 255.0 / span).convert("L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")
