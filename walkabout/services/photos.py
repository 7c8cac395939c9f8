"""Photos from phone cameras: checked, decoded and re-encoded with Pillow.

The stored JPEG has the camera's orientation applied, is at most 1600 px on its
longest side and carries no metadata at all (no EXIF, so no GPS position; no XMP,
ICC profile or JPEG comment, where a sender's private text can hide); a 320 px
thumbnail is kept beside it. Both live in the database, so every web host can
serve them.

What an upload may cost a worker is bounded (about 0.3 s of CPU, 150 MB): JPEG
is decoded at reduced size (`draft`), and formats that must be decoded in full
(PNG, GIF, WebP, HEIC) have a lower pixel limit, checked before decoding.
"""

import io
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .. import rules
from . import ServiceError

pillow_heif.register_heif_opener()  # HEIC/HEIF, the iPhone's own format

MAX_UPLOAD_BYTES = rules.MAX_PHOTO_BYTES
# Larger claims are refused before decoding (decompression bombs, slow workers).
MAX_PIXELS = 40_000_000  # JPEG: decoded at 1/2 to 1/8 scale, so a camera's full size is fine
MAX_FULL_DECODE_PIXELS = 5_000_000  # PNG, GIF, WebP: a phone's screenshot (1290x2796) fits
MAX_HEIF_PIXELS = 12_600_000  # a 12 MP phone photo (4032x3024); HEVC has no reduced-size decoding
DRAFT_FORMATS = {"JPEG", "MPO"}
PIXEL_LIMITS = {"JPEG": MAX_PIXELS, "MPO": MAX_PIXELS, "HEIF": MAX_HEIF_PIXELS}
MAX_SIDE = rules.PHOTO_MAX_SIDE
THUMB_SIDE = 320
JPEG_QUALITY = 82
RESAMPLE = Image.Resampling.BILINEAR  # antialiased when shrinking; half the cost of bicubic
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
    if image.mode not in ("RGB", "L"):
        image = _flatten(image)  # before resizing: an RGB resize costs a third less than RGBA
    # reducing_gap: a fast box reduction first when the image is over twice the target size.
    image.thumbnail((MAX_SIDE, MAX_SIDE), RESAMPLE, reducing_gap=2.0)
    ImageOps.exif_transpose(image, in_place=True)
    image = _to_srgb(image)
    image.info.clear()  # nothing the sender's file carried survives: EXIF, XMP, ICC, comments
    data = _jpeg(image)
    thumb = image.resize(_longest_side(image.size, THUMB_SIDE), RESAMPLE, reducing_gap=2.0)
    return ProcessedPhoto(data=data, thumbnail=_jpeg(thumb), width=image.width, height=image.height)


def _open_checked(raw: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw))
            if probe.format not in ACCEPTED_FORMATS:
                raise PhotoRejected("That file is not a photo (use JPEG, PNG, WebP or HEIC).")
            limit = PIXEL_LIMITS.get(probe.format, MAX_FULL_DECODE_PIXELS)
            if probe.width * probe.height > limit:
                raise PhotoRejected(
                    "That image is too large in pixels to be a photo. Send it at a lower resolution."
                )
            probe.verify()  # structural check; the image must be reopened afterwards
            image = Image.open(io.BytesIO(raw))
            if image.format in DRAFT_FORMATS:
                image.draft("RGB", _longest_side(image.size, MAX_SIDE))  # 1/2..1/8 scale, still >= 1600
            image.load()
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected("That file is not a photo we can read (use JPEG, PNG, WebP or HEIC).") from None
    except (OSError, SyntaxError, ValueError):
        raise PhotoRejected("That photo file is damaged or incomplete.") from None
    return image


def _longest_side(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` scaled so its longest side is `side` (never enlarged)."""
    width, height = size
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flatten(image: Image.Image) -> Image.Image:
    """Any mode (palette, alpha, CMYK, 16-bit) to RGB on white."""
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema() == (255, 255):  # opaque (most screenshots): no compositing to pay for
        flat = rgba.convert("RGB")
        flat.info = dict(image.info)
        return flat
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=alpha)
    background.info = dict(image.info)  # orientation and colour profile are applied later
    return background


SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Apply the file's colour profile (e.g. a phone's Display P3), since the profile is dropped."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode != "RGB":
        return image
    try:
        return ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(icc)), SRGB)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: keep the pixels as they are


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # Explicitly empty: Pillow would otherwise copy a comment or profile from image.info.
    image.save(
        out,
        "JPEG",
        quality=JPEG_QUALITY,
        optimize=True,
        progressive=True,
        exif=b"",
        comment=b"",
        icc_profile=None,
    )
    return out.getvalue()
