"""Function fixtures: a local store with images, a fake SageMaker Runtime, a Lambda context."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.functions.fake_sagemaker import FakeSageMakerRuntime
from tests.storage.images import png
from visiongate.config import load_settings
from visiongate.functions import classify
from visiongate.storage import LocalStore, open_store


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object the handlers read.
    https://docs.aws.amazon.com/lambda/latest/dg/python-context.html"""

    aws_request_id: str = "8f5c2c3e-0000-4000-8000-000000000001"
    function_name: str = "visiongate-test"


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Each test builds its own sagemaker-runtime client (endpoints differ per test)."""
    classify.reset_clients()
    yield
    classify.reset_clients()


@pytest.fixture
def store(isolated_home: Path) -> LocalStore:
    """The store the handlers open by default (settings from the isolated home)."""
    store = open_store(load_settings())
    assert isinstance(store, LocalStore)
    store.create_bucket("images")
    return store


@pytest.fixture
def cat_png(store: LocalStore) -> bytes:
    data = png(4, 4)
    store.put("images", "cats/cat.png", data)
    return data


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSageMakerRuntime]:
    """A fake SageMaker Runtime; boto3 finds it through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME."""
    with FakeSageMakerRuntime() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", fake.url)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # error tests must not retry with backoff
        fake.model("visiongate", [0.1, 0.9])
        yield fake
