"""Report photos: the type is read from the content (Pillow), never from the name, and the
image is re-encoded from its pixels so that no metadata (EXIF, GPS, device, time, XMP, ICC
comments) survives into storage."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import field_error

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
# A photo larger than this is scaled down: enough to see what happened, small to store.
MAX_SIDE = 2048
# Refuse decompression bombs before decoding (a 5 MB file can claim 50,000 x 50,000 pixels).
MAX_PIXELS = 40_000_000
# What we accept, by the format Pillow reads from the bytes, and what we store it as.
ACCEPTED = {
    "JPEG": ("JPEG", "image/jpeg"),
    "PNG": ("PNG", "image/png"),
    "WEBP": ("JPEG", "image/jpeg"),
}
HEIC_HINT = "send a JPEG, PNG or WebP photo (on an iPhone: Settings > Camera > Most Compatible)"


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    width: int
    height: int


def clean(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, field: str = "photo") -> CleanPhoto:
    """The photo re-encoded without any metadata, upright (EXIF orientation applied) and at
    most ``MAX_SIDE`` pixels on its longer side. Raises ValidationError naming ``field``
    (empty, too large, not an image, an unaccepted type, too many pixels)."""
    if not raw:
        raise field_error(field, "the photo is empty")
    if len(raw) > max_bytes:
        raise field_error(field, f"the photo is larger than {max_bytes // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            kind = probe.format or ""
            width, height = probe.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise field_error(field, f"this is not a photo: {HEIC_HINT}") from exc
    if kind not in ACCEPTED:
        raise field_error(field, f"{kind or 'this'} images are not accepted: {HEIC_HINT}")
    if width * height > MAX_PIXELS or width < 1 or height < 1:
        raise field_error(field, "the photo has too many pixels")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise field_error(field, "the photo is damaged and cannot be read") from exc
    store_as, content_type = ACCEPTED[kind]
    if store_as == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    elif store_as == "PNG" and upright.mode not in ("RGB", "RGBA", "L"):
        upright = upright.convert("RGBA")
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    # A new image from the pixels alone: nothing of the original's info dict comes along.
    bare = Image.new(upright.mode, upright.size)
    bare.paste(upright)
    out = io.BytesIO()
    if store_as == "JPEG":
        bare.save(out, "JPEG", quality=85, optimize=True)
    else:
        bare.save(out, "PNG", optimize=True)
    return CleanPhoto(out.getvalue(), content_type, bare.width, bare.height)
