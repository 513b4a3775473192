"""The default object store: a folder per bucket under a root, a file per object.

Writes are atomic (temp file in the same folder, fsync, rename), so a reader never
sees half an object and a failed write never leaves a corrupt one. Every path is
checked after resolving symlinks, so neither a key nor a link planted inside a bucket
can reach outside it. (A bucket folder may itself be a symlink, e.g. to a dataset
elsewhere; the check is against the bucket's resolved folder.)
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat as stat_module
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from visiongate.storage.base import (
    TMP_PREFIX,
    ListPage,
    ObjectInfo,
    validate_bucket,
    validate_data,
    validate_key,
    validate_prefix,
)
from visiongate.storage.content_type import SNIFF_BYTES, sniff_content_type
from visiongate.storage.errors import (
    AccessDenied,
    InvalidKey,
    NoSuchBucket,
    NoSuchKey,
    StorageError,
    StorageFull,
)

__all__ = ["LocalStore", "sniff_content_type"]


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
                hint=f"create it with `visiongate store mb {bucket}`, or check the name",
            )
        return path

    def _object_path(self, bucket: str, key: str) -> Path:
        validate_key(key)  # before the bucket check, so a bad key fails the same way as on S3
        bucket_dir = self._existing_bucket(bucket)
        path = bucket_dir / key
        real_bucket = bucket_dir.resolve()
        real = path.resolve()
        if real_bucket not in real.parents:
            raise InvalidKey(
                f"object key {key!r} resolves outside bucket {bucket!r} (a symlink points out)",
                hint="remove the link; objects must live inside their bucket",
            )
        return path

    @staticmethod
    def _missing(bucket: str, key: str) -> NoSuchKey:
        return NoSuchKey(
            f"object s3://{bucket}/{key} does not exist",
            hint=f"check the key (`visiongate store ls s3://{bucket}/`)",
        )

    @staticmethod
    def _denied(action: str, path: Path, bucket: str, key: str) -> AccessDenied:
        return AccessDenied(
            f"not allowed to {action} s3://{bucket}/{key}",
            hint=f"check the file permissions of {path}",
        )

    # -- operations ------------------------------------------------------------
    def create_bucket(self, bucket: str) -> None:
        try:
            self._bucket_dir(bucket).mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise StorageError(
                f"cannot create bucket {bucket!r}: a file of that name exists in {self.root}",
                hint="remove the file or choose another bucket name",
            ) from None

    def bucket_exists(self, bucket: str) -> bool:
        return self._bucket_dir(bucket).is_dir()

    def get(self, bucket: str, key: str) -> bytes:
        path = self._object_path(bucket, key)
        # is_file() first: a FIFO or device planted in the bucket must not block or stream.
        if not path.is_file():
            raise self._missing(bucket, key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise self._missing(bucket, key) from None
        except PermissionError:
            raise self._denied("read", path, bucket, key) from None

    def head(self, bucket: str, key: str) -> ObjectInfo:
        path = self._object_path(bucket, key)
        try:
            with path.open("rb") as handle:
                stat = os.fstat(handle.fileno())
                if not stat_module.S_ISREG(stat.st_mode):
                    raise FileNotFoundError
                first = handle.read(SNIFF_BYTES)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise self._missing(bucket, key) from None
        except PermissionError:
            raise self._denied("read", path, bucket, key) from None
        return self._info(bucket, key, stat, sniff_content_type(first, key))

    def put(
        self, bucket: str, key: str, data: bytes, content_type: str | None = None
    ) -> ObjectInfo:
        validate_data(data)
        path = self._object_path(bucket, key)
        try:
            self._write_atomically(path, data)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(
                    f"no space left to write s3://{bucket}/{key}; nothing was written",
                    hint="free disk space under the store root",
                ) from None
            if isinstance(exc, PermissionError):
                raise self._denied("write", path, bucket, key) from None
            if isinstance(exc, NotADirectoryError | FileExistsError | IsADirectoryError):
                raise InvalidKey(
                    f"object key {key!r} clashes with an existing object or folder of that name",
                    hint="on the local backend 'a' and 'a/b' cannot both be objects; rename one",
                ) from None
            raise StorageError(f"cannot write s3://{bucket}/{key}: {exc.strerror}") from None
        stat = path.stat()
        kind = content_type or sniff_content_type(bytes(data[:SNIFF_BYTES]), key)
        return self._info(bucket, key, stat, kind)

    @staticmethod
    def _write_atomically(path: Path, data: bytes | bytearray | memoryview) -> None:
        for attempt in range(3):
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
                break
            except FileNotFoundError:
                # A concurrent delete pruned the empty folder between mkdir and mkstemp.
                if attempt == 2:
                    raise
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, bucket: str, key: str) -> None:
        """Remove the object; like S3's DeleteObject, deleting a missing key is not an error."""
        path = self._object_path(bucket, key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            # Nothing to delete (a folder is a prefix, not an object): S3 answers 204 too.
            # https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
            return
        except PermissionError:
            if path.is_dir():
                return  # macOS reports EPERM, not EISDIR, for unlink on a folder
            raise self._denied("delete", path, bucket, key) from None
        self._prune_empty_folders(path.parent, self._bucket_dir(bucket))

    @staticmethod
    def _prune_empty_folders(folder: Path, bucket_dir: Path) -> None:
        # S3 has no folders: once "a/b" is gone, "a" must be usable as a key again.
        while folder != bucket_dir and bucket_dir in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return  # not empty (or already gone): stop
            folder = folder.parent

    def list_page(
        self, bucket: str, prefix: str = "", token: str | None = None, max_keys: int = 1000
    ) -> ListPage:
        prefix = validate_prefix(prefix)
        bucket_dir = self._existing_bucket(bucket)
        if not isinstance(max_keys, int) or max_keys < 1:
            raise StorageError(f"max_keys must be a positive integer, got {max_keys!r}")
        # Walk only the deepest folder the prefix names.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = bucket_dir / folder if folder else bucket_dir
        real_bucket = bucket_dir.resolve()
        keys: list[str] = []
        if start.is_dir() and real_bucket in [start.resolve(), *start.resolve().parents]:
            for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
                dirnames[:] = [d for d in dirnames if not d.startswith(TMP_PREFIX)]
                for name in filenames:
                    if name.startswith(TMP_PREFIX):
                        continue  # an in-flight (or crashed) write, not an object
                    full = Path(dirpath) / name
                    rel = full.relative_to(bucket_dir).as_posix()
                    if not rel.startswith(prefix) or (token is not None and rel <= token):
                        continue
                    if full.is_symlink() and real_bucket not in full.resolve().parents:
                        continue  # a link out of the bucket is not an object of it
                    keys.append(rel)
        keys.sort()
        page, rest = keys[:max_keys], keys[max_keys:]
        objects = []
        for key in page:
            try:
                stat = (bucket_dir / key).stat()
            except (FileNotFoundError, NotADirectoryError):
                continue  # deleted while listing
            if not stat_module.S_ISREG(stat.st_mode):
                continue
            # Like S3's ListObjectsV2, a listing carries no content type of its own:
            # guess from the key; head() sniffs the bytes.
            objects.append(self._info(bucket, key, stat, sniff_content_type(b"", key)))
        return ListPage(objects=objects, next_token=page[-1] if rest else None)

    @staticmethod
    def _info(bucket: str, key: str, stat: os.stat_result, content_type: str) -> ObjectInfo:
        # A rewrite is a rename onto the path: new inode and mtime, hence a new version.
        version = hashlib.sha1(
            f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}".encode()
        ).hexdigest()
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=stat.st_size,
            content_type=content_type,
            last_modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            etag=version[:32],
            version=version,
        )
