"""The S3 side of a deployment: the artifact bucket and content-addressed uploads."""

from __future__ import annotations

from typing import Any

from visiongate.deploy.awsclient import aws_errors
from visiongate.deploy.errors import AWSRequestError


def bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        with aws_errors("HeadBucket"):
            s3.head_bucket(Bucket=bucket)
    except AWSRequestError as exc:
        if exc.code in {"404", "NoSuchBucket", "NotFound"}:
            return False
        raise
    return True


def ensure_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create ``bucket`` unless it exists; True when it was created."""
    if bucket_exists(s3, bucket):
        return False
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with aws_errors(f"CreateBucket {bucket}"):
        s3.create_bucket(**kwargs)
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    return True


def upload_once(s3: Any, bucket: str, key: str, data: bytes, content_type: str) -> bool:
    """Put ``data`` unless the (content-addressed) key exists; True when uploaded."""
    try:
        with aws_errors("HeadObject"):
            s3.head_object(Bucket=bucket, Key=key)
        return False
    except AWSRequestError as exc:
        if exc.code not in {"404", "NoSuchKey", "NotFound"}:
            raise
    with aws_errors(f"PutObject s3://{bucket}/{key}"):
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    return True
