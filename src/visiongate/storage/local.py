"""The default object store: a folder per bucket under a root, a file per object.

Writes are atomic (temp file in the same folder, fsync, rename), so a reader never
sees half an object and a crash never leaves a corrupt one. Every path is checked
after resolving symlinks, so neither a key nor a planted link can leave the bucket.
"""

from __future__ import annotations

import errno
import hashlib
import mimetypes
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from visiongate.storage.base import (
    ListPage,
    ObjectInfo,
    validate_bucket,
    validate_key,
    validate_prefix,
)
from visiongate.storage.errors import InvalidKey, NoSuchBucket, NoSuchKey, StorageError, StorageFull

_TMP_PREFIX = ".vg-tmp-"

_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
]


def sniff_content_type(head: bytes, key: str = "") -> str:
    """Content type from the first bytes, falling back to the key's extension."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    guessed, _ = mimetypes.guess_type(key)
    return guessed or "application/octet-stream"


class LocalStore:
    """Buckets are folders under ``root``; keys are relative paths inside them."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # -- paths -----------------------------------------------------------------
    def _bucket_dir(self, bucket: str) -> Path:
        return self.root / validate_bucket(bucket)

    def _existing_bucket(self, bucket: str) -> Path:
        path = self._bucket_dir(bucket)
        if not path.is_dir():
            raise NoSuchBucket(
                f"bucket {bucket!r} does not exist in {self.root}",
                hint="create it first (it is a folder under the store root), or check the name",
            )
        return path

    def _object_path(self, bucket: str, key: str) -> Path:
        bucket_dir = self._existing_bucket(bucket)
        path = bucket_dir / validate_key(key)
        real_bucket = bucket_dir.resolve()
        real = path.resolve()
        if real != real_bucket and real_bucket not in real.parents:
            raise InvalidKey(
                f"object key {key!r} resolves outside bucket {bucket!r} (a symlink points out)",
                hint="remove the link; objects must live inside their bucket",
            )
        return path

    # -- operations ------------------------------------------------------------
    def create_bucket(self, bucket: str) -> None:
        self._bucket_dir(bucket).mkdir(parents=True, exist_ok=True)

    def bucket_exists(self, bucket: str) -> bool:
        return self._bucket_dir(bucket).is_dir()

    def get(self, bucket: str, key: str) -> bytes:
        path = self._object_path(bucket, key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NoSuchKey(
                f"object s3://{bucket}/{key} does not exist", hint="check the key (list the bucket)"
            ) from None

    def head(self, bucket: str, key: str) -> ObjectInfo:
        path = self._object_path(bucket, key)
        try:
            stat = path.stat()
            if not path.is_file():
                raise FileNotFoundError
            with path.open("rb") as handle:
                first = handle.read(16)
        except (FileNotFoundError, NotADirectoryError):
            raise NoSuchKey(
                f"object s3://{bucket}/{key} does not exist", hint="check the key (list the bucket)"
            ) from None
        return self._info(bucket, key, stat, sniff_content_type(first, key))

    def put(self, bucket: str, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StorageError(f"put needs bytes, got {type(data).__name__}")
        path = self._object_path(bucket, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(
                    f"no space left to write s3://{bucket}/{key}; nothing was written",
                    hint="free disk space under the store root",
                ) from None
            if isinstance(exc, NotADirectoryError | FileExistsError | IsADirectoryError):
                raise InvalidKey(
                    f"object key {key!r} clashes with an existing object used as a folder",
                    hint="an object and a folder cannot share a name on the local backend",
                ) from None
            raise StorageError(f"cannot write s3://{bucket}/{key}: {exc.strerror}") from None
        stat = path.stat()
        kind = content_type or sniff_content_type(bytes(data[:16]), key)
        return self._info(bucket, key, stat, kind)

    def delete(self, bucket: str, key: str) -> None:
        path = self._object_path(bucket, key)
        try:
            path.unlink()
        except FileNotFoundError:
            return  # S3 DeleteObject is idempotent
        except IsADirectoryError:
            raise NoSuchKey(f"s3://{bucket}/{key} is a prefix, not an object") from None

    def list_page(
        self, bucket: str, prefix: str = "", token: str | None = None, max_keys: int = 1000
    ) -> ListPage:
        bucket_dir = self._existing_bucket(bucket)
        prefix = validate_prefix(prefix)
        if max_keys < 1:
            raise StorageError("max_keys must be at least 1")
        # Walk only the deepest folder the prefix names.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = bucket_dir / folder if folder else bucket_dir
        real_bucket = bucket_dir.resolve()
        keys: list[str] = []
        if start.is_dir():
            for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
                dirnames[:] = [d for d in dirnames if not d.startswith(_TMP_PREFIX)]
                for name in filenames:
                    if name.startswith(_TMP_PREFIX):
                        continue
                    full = Path(dirpath) / name
                    rel = full.relative_to(bucket_dir).as_posix()
                    if not rel.startswith(prefix) or (token is not None and rel <= token):
                        continue
                    if full.is_symlink():
                        real = full.resolve()
                        if real_bucket not in real.parents:
                            continue  # a link out of the bucket is not an object of it
                    keys.append(rel)
        keys.sort()
        page, rest = keys[:max_keys], keys[max_keys:]
        objects = []
        for key in page:
            path = bucket_dir / key
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # deleted while listing
            objects.append(self._info(bucket, key, stat, sniff_content_type(b"", key)))
        return ListPage(objects=objects, next_token=page[-1] if rest else None)

    @staticmethod
    def _info(bucket: str, key: str, stat: os.stat_result, content_type: str) -> ObjectInfo:
        version = hashlib.sha1(f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=stat.st_size,
            content_type=content_type,
            last_modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            etag=version[:32],
            version=version,
        )
