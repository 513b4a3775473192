"""``s3://bucket/prefix`` URIs naming places in the configured object store."""

from __future__ import annotations

from dataclasses import dataclass

from visiongate.storage.base import validate_bucket, validate_prefix
from visiongate.storage.errors import InvalidKey


@dataclass(frozen=True)
class StoreURI:
    bucket: str
    key: str  # a key or a prefix; may be ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, *parts: str) -> StoreURI:
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p and p.strip("/"))
        return StoreURI(self.bucket, key)


def is_store_uri(text: str) -> bool:
    return isinstance(text, str) and text.startswith("s3://")


def parse_uri(text: str) -> StoreURI:
    if not is_store_uri(text):
        raise InvalidKey(
            f"{text!r} is not an s3://bucket/prefix URI", hint="write s3://my-bucket/some/prefix"
        )
    rest = text[len("s3://") :]
    bucket, _, key = rest.partition("/")
    return StoreURI(validate_bucket(bucket), validate_prefix(key))
