"""The S3 backend: the LocalStore interface over boto3.

``boto3.client("s3")`` picks up credentials, region and ``AWS_ENDPOINT_URL_S3``
(or ``AWS_ENDPOINT_URL``) itself, so the same code talks to AWS, to moto, or to any
S3-compatible server. Keys and bucket names go through the same validation as the
local backend, so a key that fails locally fails here too.

S3 error codes (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)
map onto ours: NoSuchBucket, NoSuchKey (HEAD answers a bare 404), AccessDenied (403
and credential errors), anything else StorageError naming the code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from visiongate.storage.base import (
    ListPage,
    ObjectInfo,
    validate_bucket,
    validate_data,
    validate_key,
    validate_prefix,
)
from visiongate.storage.content_type import SNIFF_BYTES, sniff_content_type
from visiongate.storage.errors import AccessDenied, NoSuchBucket, NoSuchKey, StorageError

_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}
_DENIED = {
    "AccessDenied",
    "403",
    "Forbidden",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
}


class S3Store:
    """Buckets and keys in S3 (or an S3-compatible server)."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"S3Store({self.client.meta.endpoint_url!r})"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    # -- errors ------------------------------------------------------------------
    def _translate(self, exc: Exception, action: str, bucket: str, key: str = "") -> Exception:
        where = f"s3://{bucket}/{key}"
        if isinstance(exc, NoCredentialsError):
            return AccessDenied(
                f"cannot {action} {where}: no AWS credentials found",
                hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            )
        if isinstance(exc, BotoCoreError):
            return StorageError(
                f"cannot {action} {where}: {exc}",
                hint="check the network and AWS_ENDPOINT_URL_S3 (is the S3 server running?)",
            )
        assert isinstance(exc, ClientError)
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = error.get("Message") or code
        if code == "NoSuchBucket":
            return NoSuchBucket(
                f"bucket {bucket!r} does not exist",
                hint=f"create it with `visiongate store mb {bucket}`, or check the name",
            )
        if code in _MISSING_KEY and key:
            return NoSuchKey(
                f"object {where} does not exist",
                hint=f"check the key (`visiongate store ls s3://{bucket}/`)",
            )
        if code in _DENIED:
            return AccessDenied(
                f"S3 refused to {action} {where} ({code}: {message})",
                hint="check the credentials and that the IAM policy allows this action",
            )
        return StorageError(f"cannot {action} {where}: S3 answered {code}: {message}")

    def _missing_or_bucket(self, exc: ClientError, action: str, bucket: str, key: str) -> Exception:
        # HEAD has no body, so a missing bucket and a missing key both arrive as a bare 404.
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in {"404", "NotFound"} and not self.bucket_exists(bucket):
            return self._translate(_no_such_bucket(exc), action, bucket, key)
        return self._translate(exc, action, bucket, key)

    # -- operations ------------------------------------------------------------
    def create_bucket(self, bucket: str) -> None:
        validate_bucket(bucket)
        region = self.client.meta.region_name
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region and region != "us-east-1":  # us-east-1 refuses an explicit constraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
                return  # like mkdir -p: creating a bucket you own is not an error
            raise self._translate(exc, "create bucket", bucket) from None
        except BotoCoreError as exc:
            raise self._translate(exc, "create bucket", bucket) from None

    def bucket_exists(self, bucket: str) -> bool:
        validate_bucket(bucket)
        try:
            self.client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in {
                "404",
                "NoSuchBucket",
                "NotFound",
            }:
                return False
            raise self._translate(exc, "check bucket", bucket) from None
        except BotoCoreError as exc:
            raise self._translate(exc, "check bucket", bucket) from None
        return True

    def get(self, bucket: str, key: str) -> bytes:
        validate_key(key)
        validate_bucket(bucket)
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
            return response["Body"].read()
        except ClientError as exc:
            raise self._missing_or_bucket(exc, "read", bucket, key) from None
        except BotoCoreError as exc:
            raise self._translate(exc, "read", bucket, key) from None

    def head(self, bucket: str, key: str) -> ObjectInfo:
        validate_key(key)
        validate_bucket(bucket)
        try:
            response = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise self._missing_or_bucket(exc, "head", bucket, key) from None
        except BotoCoreError as exc:
            raise self._translate(exc, "head", bucket, key) from None
        return _info(
            bucket,
            key,
            response,
            size=int(response.get("ContentLength", 0)),
            content_type=response.get("ContentType") or sniff_content_type(b"", key),
            last_modified=response.get("LastModified") or datetime.now(UTC),
        )

    def put(
        self, bucket: str, key: str, data: bytes, content_type: str | None = None
    ) -> ObjectInfo:
        validate_data(data)
        validate_key(key)
        validate_bucket(bucket)
        body = bytes(data)
        kind = content_type or sniff_content_type(body[:SNIFF_BYTES], key)
        try:
            response = self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=kind)
        except ClientError as exc:
            raise self._missing_or_bucket(exc, "write", bucket, key) from None
        except BotoCoreError as exc:
            raise self._translate(exc, "write", bucket, key) from None
        return _info(
            bucket,
            key,
            response,
            size=len(body),
            content_type=kind,
            last_modified=_response_date(response),
        )

    def delete(self, bucket: str, key: str) -> None:
        """Remove the object; deleting a missing key is not an error (S3 answers 204)."""
        validate_key(key)
        validate_bucket(bucket)
        try:
            self.client.delete_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise self._translate(exc, "delete", bucket, key) from None
        except BotoCoreError as exc:
            raise self._translate(exc, "delete", bucket, key) from None

    def list_page(
        self, bucket: str, prefix: str = "", token: str | None = None, max_keys: int = 1000
    ) -> ListPage:
        prefix = validate_prefix(prefix)
        validate_bucket(bucket)
        if not isinstance(max_keys, int) or max_keys < 1:
            raise StorageError(f"max_keys must be a positive integer, got {max_keys!r}")
        # The token is the last key of the previous page (StartAfter), exactly as on the
        # local backend, so tokens mean the same thing on both.
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if token:
            kwargs["StartAfter"] = token
        try:
            response = self.client.list_objects_v2(**kwargs)
        except ClientError as exc:
            raise self._translate(exc, "list", bucket, prefix) from None
        except BotoCoreError as exc:
            raise self._translate(exc, "list", bucket, prefix) from None
        objects = []
        for item in response.get("Contents", []):
            etag = str(item.get("ETag", "")).strip('"')
            objects.append(
                ObjectInfo(
                    bucket=bucket,
                    key=item["Key"],
                    size=int(item.get("Size", 0)),
                    # ListObjectsV2 carries no content type: guess from the key, as locally.
                    content_type=sniff_content_type(b"", item["Key"]),
                    last_modified=item.get("LastModified") or datetime.now(UTC),
                    etag=etag,
                    version=etag,
                )
            )
        truncated = bool(response.get("IsTruncated")) and bool(objects)
        return ListPage(objects=objects, next_token=objects[-1].key if truncated else None)


def _no_such_bucket(exc: ClientError) -> ClientError:
    response = dict(exc.response)
    response["Error"] = {"Code": "NoSuchBucket", "Message": "The specified bucket does not exist"}
    return ClientError(response, exc.operation_name)


def _info(
    bucket: str,
    key: str,
    response: dict[str, Any],
    *,
    size: int,
    content_type: str,
    last_modified: datetime,
) -> ObjectInfo:
    """HeadObject's or PutObject's answer as ObjectInfo; the ETag stands in for a VersionId."""
    etag = str(response.get("ETag", "")).strip('"')
    version = response.get("VersionId") or etag
    return ObjectInfo(bucket, key, size, content_type, last_modified, etag=etag, version=version)


def _response_date(response: dict[str, Any]) -> datetime:
    header = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(header) if header else datetime.now(UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)
