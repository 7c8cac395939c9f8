"""Photos from phone cameras: checked, decoded and re-encoded with Pillow.

The stored JPEG has the camera's orientation applied, is at most 1600 px on its
longest side and carries no EXIF (so no GPS position); a 320 px thumbnail is
kept beside it. Both live in the database, so every web host can serve them.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from .. import rules
from . import ServiceError

MAX_UPLOAD_BYTES = rules.MAX_PHOTO_BYTES
MAX_PIXELS = 40_000_000  # larger claims are refused before decoding (decompression bombs)
MAX_SIDE = rules.PHOTO_MAX_SIDE
THUMB_SIDE = 320
JPEG_QUALITY = 82
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "HEIF", "MPO"}


class PhotoRejected(ServiceError):
    """The upload is not a usable photo; the message says why."""


@dataclass
class ProcessedPhoto:
    data: bytes
    thumbnail: bytes
    width: int
    height: int

    @property
    def fields(self) -> dict:
        """Column values for a `Photo` row."""
        return {
            "data": self.data,
            "thumbnail": self.thumbnail,
            "width": self.width,
            "height": self.height,
            "byte_size": len(self.data),
            "content_type": "image/jpeg",
        }


def process_upload(raw: bytes) -> ProcessedPhoto:
    """Verify, orient, resize and re-encode an uploaded image, or raise PhotoRejected."""
    if not raw:
        raise PhotoRejected("The photo file is empty.")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise PhotoRejected(rules.PHOTO_TOO_LARGE)
    image = _open_checked(raw)
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        image = _flatten(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    data = _jpeg(image)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return ProcessedPhoto(data=data, thumbnail=_jpeg(thumb), width=image.width, height=image.height)


def _open_checked(raw: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw))
            if probe.format not in ACCEPTED_FORMATS:
                raise PhotoRejected("That file is not a photo (use JPEG, PNG, WebP or HEIC).")
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoRejected("That image is too large in pixels to be a photo.")
            probe.verify()  # structural check; the image must be reopened afterwards
            image = Image.open(io.BytesIO(raw))
            image.load()
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected("That file is not a photo we can read (use JPEG, PNG, WebP or HEIC).") from None
    except (OSError, SyntaxError, ValueError):
        raise PhotoRejected("That photo file is damaged or incomplete.") from None
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """Any mode (palette, alpha, CMYK, 16-bit) to RGB on white."""
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)  # no exif= : none kept
    return out.getvalue()
