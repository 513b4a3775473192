"""The review loop with AWS's interfaces only: objects in S3 (a real moto server over HTTP), the
execution on a Step Functions API answered with boto3 SendTaskSuccess, reviews in their own
bucket (REVIEW_BUCKET) — what the queue does against AWS itself, with no embedded engine."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import boto3
import pytest

from tests.monitor import review_support
from tests.monitor.review_support import CLASSES, photo
from visiongate.config import load_settings
from visiongate.model.datasets import load_dataset
from visiongate.monitor.review import REVIEW_DEFINITION, ReviewQueue, review_settings
from visiongate.monitor.review_tasks import StepFunctionsTasks
from visiongate.sfn.api import StepFunctionsBackend, serve_in_thread
from visiongate.storage import open_store

unsure_endpoint = review_support.unsure_endpoint  # fixture

ROLE = "arn:aws:iam::123456789012:role/visiongate"


@pytest.fixture
def aws_like(moto_server: str, unsure_endpoint, monkeypatch) -> Iterator[dict]:
    suffix = uuid.uuid4().hex[:10]
    images, reviews = f"images-{suffix}", f"reviews-{suffix}"
    monkeypatch.setenv("VISIONGATE_STORE_BACKEND", "s3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    monkeypatch.setenv("REVIEW_BUCKET", reviews)
    settings = review_settings(load_settings())
    store = open_store(settings)
    store.create_bucket(images)
    store.create_bucket(reviews)
    backend = StepFunctionsBackend(settings)
    server = serve_in_thread(backend)
    requested: list[str] = []
    signal = threading.Event()

    def listen(entry: dict) -> None:
        if "review requested" in entry["message"]:
            requested.append(entry["execution_arn"])
            signal.set()

    backend.engines.get().on_function_log.append(listen)
    sfn = boto3.client("stepfunctions", endpoint_url=server.url, region_name="us-east-1")
    try:
        yield {
            "settings": settings,
            "store": store,
            "images": images,
            "reviews": reviews,
            "sfn": sfn,
            "url": server.url,
            "requested": requested,
            "signal": signal,
            "engine": backend.engines.get(),  # runs the executions: wait on it, no polling
        }
    finally:
        server.shutdown()
        server.server_close()
        backend.close(stop_running=True)


def test_labels_go_through_boto3_and_the_dataset_lands_in_s3(aws_like: dict) -> None:
    env = aws_like
    sfn, store = env["sfn"], env["store"]
    machine = sfn.create_state_machine(
        name="image-review", definition=REVIEW_DEFINITION.read_text(), roleArn=ROLE
    )["stateMachineArn"]
    arns = []
    for index in range(2):
        store.put(env["images"], f"bikes/{index}.png", photo(50 + index), "image/png")
        env["signal"].clear()
        arns.append(
            sfn.start_execution(
                stateMachineArn=machine,
                input=json.dumps({"s3_bucket": env["images"], "s3_key": f"bikes/{index}.png"}),
            )["executionArn"]
        )
        assert env["signal"].wait(30), "request_review never ran"

    queue = ReviewQueue(
        env["settings"], classes=CLASSES, tasks=StepFunctionsTasks(env["url"], "us-east-1")
    )
    assert queue.buckets() == [env["reviews"]]
    pending = queue.pending()
    assert [r.s3_key for r in pending] == ["bikes/0.png", "bikes/1.png"]
    assert all(r.bucket == env["reviews"] for r in pending)
    for review, label in zip(pending, CLASSES, strict=True):
        queue.complete(review.review_id, label)

    engine = env["engine"]
    for arn, label in zip(arns, CLASSES, strict=True):
        assert engine.wait(arn, timeout=30).status == "SUCCEEDED"
        described = sfn.describe_execution(executionArn=arn)
        assert json.loads(described["output"])["label"] == label
    dataset = load_dataset(f"s3://{env['reviews']}/reviewed", settings=env["settings"])
    assert dataset.counts() == {"bicycle": 1, "motorcycle": 1}
    assert not queue.pending()
