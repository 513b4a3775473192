"""Reading an image from the object store and checking its bytes, for both functions
that touch images (serialize_image always, classify when the image travels by reference).

Checks run on the bytes only (magic numbers, size); nothing is decoded here, so the
functions need neither PIL nor numpy. The model server decodes safely later.
"""

from __future__ import annotations

from visiongate.functions.errors import (
    EmptyImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    InvalidEventError,
    NotAnImageError,
)
from visiongate.storage import InvalidKey, NoSuchBucket, NoSuchKey, ObjectStore, sniff_image_type

SUPPORTED = "PNG, JPEG, GIF, BMP, WebP or TIFF"


def check_image(data: bytes, limit: int, where: str) -> str:
    """The image's content type (e.g. ``image/png``) if ``data`` is a usable image."""
    if not data:
        raise EmptyImageError(
            f"{where} is empty (0 bytes)",
            hint="upload the image again; the object exists but holds no data",
        )
    if len(data) > limit:
        raise _too_large(where, len(data), limit)
    kind = sniff_image_type(data)
    if kind is None:
        raise NotAnImageError(
            f"{where} is not an image: its first bytes {bytes(data[:8])!r} match no {SUPPORTED} signature",
            hint="point s3_key at an image file (the content, not the extension, decides)",
        )
    return kind


def read_image(store: ObjectStore, bucket: str, key: str, limit: int) -> tuple[bytes, str]:
    """The object's bytes and content type; named errors for every way it can be unusable."""
    where = f"s3://{bucket}/{key}"
    try:
        size = store.head(bucket, key).size
        if size > limit:  # refuse before downloading it
            raise _too_large(where, size, limit)
        data = store.get(bucket, key)
    except NoSuchBucket:
        raise ImageNotFoundError(
            f"bucket {bucket!r} does not exist (reading {where})",
            hint="check s3_bucket; create it and upload with `visiongate store put`",
        ) from None
    except NoSuchKey:
        raise ImageNotFoundError(
            f"object {where} does not exist",
            hint=f"check s3_key; list the bucket with `visiongate store ls s3://{bucket}/`",
        ) from None
    except InvalidKey as exc:
        raise InvalidEventError(
            f"the event names an invalid object: {exc.message}", hint=exc.hint
        ) from None
    return data, check_image(data, limit, where)


def _too_large(where: str, size: int, limit: int) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"{where} is {size:,} bytes, over the limit of {limit:,} bytes",
        hint="send a smaller image, or raise MAX_IMAGE_BYTES (SageMaker accepts at most 6 MB "
        "per InvokeEndpoint request)",
    )
