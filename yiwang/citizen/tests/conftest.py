import io

import pytest
from django.core.cache import cache
from PIL import Image


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Photos go to a fresh folder per test; the per-address failure counter starts at zero."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    cache.clear()
    yield settings.PRIVATE_MEDIA_ROOT
    cache.clear()


def image_bytes(fmt: str = "JPEG", size=(64, 48), exif: bool = False) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    options = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x8825] = {1: "N", 2: (31.0, 16.0, 0.0)}  # GPS IFD: latitude of the appellant's home
        options["exif"] = data
    image.save(out, format=fmt, **options)
    return out.getvalue()
