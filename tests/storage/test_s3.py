"""S3-only behaviour: versions, regions, and how transport failures are reported.

Everything runs over HTTP against the session's moto server; nothing is patched.
"""

from __future__ import annotations

import socket
import uuid

import boto3
import pytest

from visiongate.storage import StorageError
from visiongate.storage.s3 import S3Store


@pytest.fixture
def s3(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> S3Store:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    return S3Store()


def test_version_is_the_version_id_on_a_versioned_bucket(s3: S3Store) -> None:
    bucket = f"vg-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(bucket)
    boto3.client("s3").put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    first = s3.put(bucket, "a.png", b"1")
    second = s3.put(bucket, "a.png", b"2")
    assert first.version != second.version
    assert second.version != second.etag  # a VersionId, not the ETag
    assert s3.head(bucket, "a.png").version == second.version


def test_version_is_the_etag_without_versioning(s3: S3Store) -> None:
    bucket = f"vg-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(bucket)
    info = s3.put(bucket, "a.png", b"1")
    assert info.version == info.etag == s3.head(bucket, "a.png").etag
    assert '"' not in info.etag


def test_explicit_content_type_is_kept(s3: S3Store) -> None:
    bucket = f"vg-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(bucket)
    s3.put(bucket, "data.bin", b"\x00\x01", content_type="application/x-custom")
    assert s3.head(bucket, "data.bin").content_type == "application/x-custom"


def test_create_bucket_outside_us_east_1(s3: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Outside us-east-1 CreateBucket needs a LocationConstraint:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    store = S3Store()
    bucket = f"vg-{uuid.uuid4().hex[:16]}"
    store.create_bucket(bucket)
    store.create_bucket(bucket)
    assert store.bucket_exists(bucket)
    location = boto3.client("s3", region_name="eu-west-1").get_bucket_location(Bucket=bucket)
    assert location["LocationConstraint"] == "eu-west-1"


def test_an_unreachable_endpoint_is_a_clear_storage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(StorageError, match="cannot read s3://images/cat.png") as caught:
        S3Store().get("images", "cat.png")
    assert "AWS_ENDPOINT_URL_S3" in (caught.value.hint or "")


def test_repr_names_the_endpoint(s3: S3Store, moto_server: str) -> None:
    assert moto_server in repr(s3)
