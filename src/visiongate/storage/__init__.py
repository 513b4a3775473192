"""Object storage: a local folder (default) or S3 through boto3.

    store = open_store(settings)           # backend from settings.store_backend
    store.put("images", "cat.png", data)
    store.get("images", "cat.png")

URIs such as ``s3://bucket/prefix`` name a bucket and prefix in the *configured*
store: the local folder by default, real S3 (or any S3-compatible server through
``AWS_ENDPOINT_URL_S3``) when ``store.backend = "s3"``.
"""

from __future__ import annotations

from visiongate.storage.base import (
    ListPage,
    ObjectInfo,
    ObjectStore,
    iter_objects,
    validate_bucket,
    validate_key,
    validate_prefix,
)
from visiongate.storage.content_type import sniff_content_type, sniff_image_type
from visiongate.storage.errors import (
    AccessDenied,
    InvalidKey,
    NoSuchBucket,
    NoSuchKey,
    StorageError,
    StorageFull,
)
from visiongate.storage.local import LocalStore
from visiongate.storage.uri import StoreURI, parse_uri

__all__ = [
    "AccessDenied",
    "InvalidKey",
    "ListPage",
    "LocalStore",
    "NoSuchBucket",
    "NoSuchKey",
    "ObjectInfo",
    "ObjectStore",
    "StorageError",
    "StorageFull",
    "S3Store",
    "StoreURI",
    "iter_objects",
    "open_store",
    "parse_uri",
    "sniff_content_type",
    "sniff_image_type",
    "validate_bucket",
    "validate_key",
    "validate_prefix",
]


def __getattr__(name: str):  # noqa: ANN202 - lazy: boto3 loads only when S3 is used
    if name == "S3Store":
        from visiongate.storage.s3 import S3Store

        return S3Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(settings=None) -> ObjectStore:  # noqa: ANN001 - Settings, imported lazily
    """The object store the settings name (local folder unless ``store_backend == "s3"``)."""
    from visiongate.config import load_settings

    settings = settings or load_settings()
    if settings.store_backend == "s3":
        from visiongate.storage.s3 import S3Store

        return S3Store()
    return LocalStore(settings.store_path)
