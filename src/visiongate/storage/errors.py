"""Object-store errors, named after S3's error codes.

StorageError (VisiongateError)
├── NoSuchBucket     the bucket does not exist
├── NoSuchKey        the object does not exist
├── InvalidKey       a key or bucket name that would escape its bucket, or is malformed
├── AccessDenied     the backend refused the operation
└── StorageFull      the disk (or quota) is full; nothing was written
"""

from __future__ import annotations

from visiongate.errors import VisiongateError


class StorageError(VisiongateError):
    code = "StorageError"


class NoSuchBucket(StorageError):
    code = "NoSuchBucket"


class NoSuchKey(StorageError):
    code = "NoSuchKey"


class InvalidKey(StorageError):
    code = "InvalidKey"


class AccessDenied(StorageError):
    code = "AccessDenied"


class StorageFull(StorageError):
    code = "StorageFull"
