"""Sniffing: magic bytes decide, the key's extension is only a fallback."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.storage.images import bmp, png
from visiongate.storage import sniff_content_type, sniff_image_type


def _pil(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (10, 200, 10)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("GIF", "image/gif"),
        ("BMP", "image/bmp"),
        ("WEBP", "image/webp"),
        ("TIFF", "image/tiff"),
    ],
)
def test_real_images_are_recognised(fmt: str, expected: str) -> None:
    data = _pil(fmt)
    assert sniff_image_type(data) == expected
    assert sniff_content_type(data[:32], "misleading.txt") == expected


def test_stdlib_built_images_are_recognised() -> None:
    assert sniff_image_type(png()) == "image/png"
    assert sniff_image_type(bmp()) == "image/bmp"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"BM is also how this sentence starts", b"%PDF-1.7", b"<svg></svg>", b"\x89PN"],
)
def test_non_images_are_not_images(data: bytes) -> None:
    assert sniff_image_type(data) is None
    assert sniff_content_type(data) == "application/octet-stream"


def test_extension_is_the_fallback() -> None:
    assert sniff_content_type(b"hello", "notes.txt") == "text/plain"
    assert sniff_content_type(b"", "cat.png") == "image/png"
