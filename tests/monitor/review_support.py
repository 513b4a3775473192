"""Shared by the review tests: the review definition running on a real engine with the real
functions, against a fake SageMaker Runtime (a real HTTP server) that is never confident."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.functions.fake_sagemaker import FakeSageMakerRuntime
from visiongate.config import Settings, load_settings
from visiongate.functions import classify
from visiongate.monitor.logs import subscribe
from visiongate.monitor.review import REVIEW_DEFINITION, Review, ReviewQueue, review_settings
from visiongate.sfn.engine import Engine
from visiongate.storage import open_store

CLASSES = ["bicycle", "motorcycle"]
UNSURE = [0.55, 0.45]  # below the default threshold of 0.75: every image goes to review
WAIT = 30.0


def photo(seed: int, width: int = 32, height: int = 32) -> bytes:
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class ReviewRun:
    """The review workflow on an embedded engine; ``start`` returns once the review is stored."""

    settings: Settings
    engine: Engine
    queue: ReviewQueue
    machine: str
    _requested: dict[str, str] = field(default_factory=dict)
    _signals: dict[str, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _signal(self, arn: str) -> threading.Event:
        with self._lock:
            return self._signals.setdefault(arn, threading.Event())

    def listen(self, entry: dict[str, Any]) -> None:
        """A function-log listener: request_review logs ``review requested`` once stored."""
        try:
            message = json.loads(entry.get("message") or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("event") == "review requested":
            arn = str(entry.get("execution_arn"))
            self._requested[arn] = message["review_id"]
            self._signal(arn).set()

    def put(self, key: str, data: bytes, bucket: str = "images") -> None:
        open_store(self.settings).put(bucket, key, data, content_type="image/png")

    def start(self, key: str, name: str, bucket: str = "images") -> tuple[str, Review]:
        execution = self.engine.start_execution(
            self.machine, {"s3_bucket": bucket, "s3_key": key}, name=name
        )
        assert self._signal(execution.arn).wait(WAIT), "request_review never ran"
        return execution.arn, self.queue.get(self._requested[execution.arn])

    def finish(self, arn: str) -> Any:
        return self.engine.wait(arn, timeout=WAIT)


@pytest.fixture
def unsure_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSageMakerRuntime]:
    classify.reset_clients()
    with FakeSageMakerRuntime() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", fake.url)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        fake.model("visiongate", UNSURE)
        yield fake
    classify.reset_clients()


@pytest.fixture
def review_run(unsure_endpoint: FakeSageMakerRuntime) -> Iterator[ReviewRun]:
    """Real engine (real clock: a callback task waits for real), real functions, function
    logs stored, and a review queue answering through an engine on the same database."""
    settings = review_settings(load_settings())
    store = open_store(settings)
    store.create_bucket("images")
    engine = Engine(settings)
    subscribe(engine)
    queue = ReviewQueue(settings, classes=CLASSES)
    machine = engine.create_state_machine("image-review", REVIEW_DEFINITION.read_text()).arn
    run = ReviewRun(settings, engine, queue, machine)
    engine.on_function_log.append(run.listen)
    try:
        yield run
    finally:
        for arn in engine.running():  # nothing may keep waiting for a review after a test
            engine.stop_execution(arn)
        queue.close()
        engine.close()
