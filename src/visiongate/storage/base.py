"""The object-store interface both backends implement, and key/bucket validation.

Keys are untrusted (they arrive in execution input): ``validate_key`` refuses anything
that could name a file outside its bucket on the local backend, and the S3 backend
applies the same rules so behaviour does not change between backends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from visiongate.storage.errors import InvalidKey, StorageError

MAX_KEY_BYTES = 1024  # S3's limit on a key's UTF-8 length
MAX_SEGMENT_BYTES = 255  # a file name's limit on Linux/macOS; applied on both backends
TMP_PREFIX = ".vg-tmp-"  # the local backend's in-flight writes; reserved on both backends
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class ObjectInfo:
    """What ``head`` and ``list`` return for one object."""

    bucket: str
    key: str
    size: int
    content_type: str
    last_modified: datetime
    etag: str = ""
    version: str = ""  # changes whenever the object is rewritten (S3 VersionId or ETag+mtime)


@dataclass(frozen=True)
class ListPage:
    objects: list[ObjectInfo]
    next_token: str | None  # pass back as ``start_after`` / ``token`` for the next page


class ObjectStore(Protocol):
    """get / put / list / head / delete over buckets and keys."""

    def get(self, bucket: str, key: str) -> bytes: ...

    def put(
        self, bucket: str, key: str, data: bytes, content_type: str | None = None
    ) -> ObjectInfo: ...

    def head(self, bucket: str, key: str) -> ObjectInfo: ...

    def delete(self, bucket: str, key: str) -> None: ...

    def list_page(
        self, bucket: str, prefix: str = "", token: str | None = None, max_keys: int = 1000
    ) -> ListPage: ...

    def create_bucket(self, bucket: str) -> None: ...

    def bucket_exists(self, bucket: str) -> bool: ...


def iter_objects(store: ObjectStore, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
    """Every object under ``prefix``, in key order, following pagination."""
    token: str | None = None
    while True:
        page = store.list_page(bucket, prefix, token=token)
        yield from page.objects
        if not page.next_token:
            return
        token = page.next_token


def validate_data(data: object) -> bytes | bytearray | memoryview:
    """An object's body must be bytes: text would need an encoding we would have to guess."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise StorageError(f"put needs bytes, got {type(data).__name__}", hint="encode text first")
    return data


def validate_bucket(bucket: object) -> str:
    if not isinstance(bucket, str) or not bucket:
        raise InvalidKey(
            f"bucket name {bucket!r} is not a non-empty string", hint="pass e.g. 'my-bucket'"
        )
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidKey(
            f"bucket name {bucket!r} is invalid",
            hint="use 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
        )
    return bucket


def validate_key(key: object) -> str:
    """Return ``key`` if it stays inside its bucket; raise InvalidKey otherwise.

    S3 accepts almost any UTF-8 key (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html);
    we accept the subset that maps safely onto a file path, on *both* backends.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey(
            f"object key {key!r} is not a non-empty string", hint="pass e.g. 'images/cat.png'"
        )
    encoded = _utf8(key, "object key")
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(
            f"object key is {len(encoded)} bytes long, more than S3's {MAX_KEY_BYTES}",
            hint="use a shorter key",
        )
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in key):
        raise InvalidKey(f"object key {key!r} contains a control character", hint="remove it")
    if "\\" in key:
        raise InvalidKey(
            f"object key {key!r} contains a backslash", hint="use '/' to separate folders"
        )
    if key.startswith("/"):
        raise InvalidKey(f"object key {key!r} is absolute", hint="drop the leading '/'")
    parts = key.split("/")
    if any(part in {".", ".."} for part in parts):
        raise InvalidKey(
            f"object key {key!r} has a '.' or '..' segment, which would escape its bucket",
            hint="use a plain relative key such as 'images/cat.png'",
        )
    if "" in parts:
        raise InvalidKey(
            f"object key {key!r} has an empty segment ('//' or trailing '/')", hint="remove it"
        )
    for part in parts:
        if len(part.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidKey(
                f"object key {key!r} has a segment longer than {MAX_SEGMENT_BYTES} bytes",
                hint="split it with '/' (each segment is a file or folder name on the local backend)",
            )
        if part.startswith(TMP_PREFIX):
            raise InvalidKey(
                f"object key {key!r} uses the reserved name prefix {TMP_PREFIX!r}",
                hint="rename the object",
            )
    return key


def validate_prefix(prefix: object) -> str:
    """Return a listing prefix ("" for none); same character rules as keys."""
    if prefix is None or prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise InvalidKey(f"prefix {prefix!r} is not a string", hint="use e.g. 'images/'")
    _utf8(prefix, "prefix")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in prefix) or "\\" in prefix:
        raise InvalidKey(
            f"prefix {prefix!r} contains a control character or backslash",
            hint="use e.g. 'images/'",
        )
    if prefix.startswith("/"):
        raise InvalidKey(f"prefix {prefix!r} is absolute", hint="drop the leading '/'")
    if any(part in {".", ".."} for part in prefix.split("/")):
        raise InvalidKey(f"prefix {prefix!r} has a '.' or '..' segment", hint="use e.g. 'images/'")
    return prefix


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey(
            f"{what} {text!r} is not valid UTF-8 (it contains a lone surrogate)",
            hint="S3 keys are UTF-8 text; remove the stray character",
        ) from None
