"""Content types from magic bytes (falling back to the key's extension).

Both backends and the Lambda functions use this one sniffer, so an object's type
does not depend on where it is stored. Pass only ``head`` (no key) to get a
magic-bytes-only answer: ``application/octet-stream`` then means "not a known image".
"""

from __future__ import annotations

import mimetypes

SNIFF_BYTES = 32  # enough for every signature below

_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
]

# BITMAPINFOHEADER sizes that follow the 14-byte BMP file header; "BM" alone is too weak
# a signature (any text starting with "BM" would pass).
_BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}


def sniff_image_type(head: bytes) -> str | None:
    """The image content type the first bytes announce, or None if they announce none."""
    head = bytes(head[:SNIFF_BYTES])
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    dib_size = int.from_bytes(head[14:18], "little") if len(head) >= 18 else 0
    if head[:2] == b"BM" and dib_size in _BMP_DIB_SIZES:
        return "image/bmp"
    return None


def sniff_content_type(head: bytes, key: str = "") -> str:
    """Content type from the first bytes, falling back to the key's extension."""
    kind = sniff_image_type(head)
    if kind:
        return kind
    guessed, _ = mimetypes.guess_type(key) if key else (None, None)
    return guessed or "application/octet-stream"
