"""Storage fixtures: the same ``store`` on both backends, and a fresh bucket per test."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from visiongate.storage import LocalStore, ObjectStore
from visiongate.storage.s3 import S3Store


@pytest.fixture(params=["local", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ObjectStore:
    """LocalStore in a temp folder, or S3Store talking HTTP to the session's moto server."""
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    # boto3 reads AWS_ENDPOINT_URL_S3 itself; the store is given no URL.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", request.getfixturevalue("moto_server"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return S3Store()


@pytest.fixture
def bucket(store: ObjectStore) -> str:
    """A new, empty bucket (unique: the moto server lives for the whole session)."""
    name = f"vg-{uuid.uuid4().hex[:16]}"
    store.create_bucket(name)
    return name


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "store")
    store.create_bucket("images")
    return store
