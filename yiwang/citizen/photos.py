"""Checking and re-encoding the photos an appellant hands in.

A photo is accepted only if Pillow decodes it as JPEG, PNG or WebP. It is then
re-encoded: that drops EXIF (phones put the GPS position of the appellant's
home there) and anything appended to or hidden in the file, so what we store
and later show to staff is a plain picture and nothing else.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTOS = 6
MAX_BYTES = 5 * 1024 * 1024
# 40 megapixels is more than any phone camera; larger images are decompression bombs.
MAX_PIXELS = 40_000_000

# Pillow format → (content type, file suffix, save options)
FORMATS = {
    "JPEG": ("image/jpeg", ".jpg", {"quality": 85, "optimize": True}),
    "PNG": ("image/png", ".png", {"optimize": True}),
    "WEBP": ("image/webp", ".webp", {"quality": 85}),
}


@dataclass(frozen=True)
class Photo:
    content: bytes
    content_type: str
    suffix: str
    width: int
    height: int


def clean_photo(upload) -> Photo:
    """The re-encoded photo, or a ValidationError that names the file and says what is wrong."""
    name = getattr(upload, "name", "") or "图片"
    if upload.size > MAX_BYTES:
        raise ValidationError(f"「{name}」超过 5 MB，请压缩后再上传", code="too_large")
    try:
        return _reencode(upload)
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise ValidationError(f"「{name}」不是有效的 JPEG、PNG 或 WebP 图片", code="not_image") from None


def _reencode(upload) -> Photo:
    name = getattr(upload, "name", "") or "图片"
    upload.seek(0)
    with Image.open(upload) as probe:
        if probe.format not in FORMATS:
            raise ValidationError(f"「{name}」格式不支持，只接受 JPEG、PNG 或 WebP 图片", code="bad_format")
        if probe.width * probe.height > MAX_PIXELS:
            raise ValidationError(f"「{name}」像素过大（超过 4000 万像素）", code="too_many_pixels")
        fmt = probe.format
        probe.verify()  # checks the file's structure; the image cannot be used after this
    upload.seek(0)
    with Image.open(upload) as image:
        image.load()  # decodes every pixel: a truncated or corrupt file fails here
        image = ImageOps.exif_transpose(image)  # keep the orientation the EXIF said, then drop EXIF
        if fmt == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        content_type, suffix, options = FORMATS[fmt]
        out = io.BytesIO()
        image.save(out, format=fmt, **options)  # first frame only; no EXIF, ICC or text chunks carried over
        return Photo(out.getvalue(), content_type, suffix, image.width, image.height)
