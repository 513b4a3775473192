"""The review loop end to end: a failed gate → a pending review → a person's label → the
execution succeeds with it → a training manifest ``visiongate train`` accepts.

Everything is real: the engine runs workflows/image_classification_review.asl.json with the
real serialize_image, classify (over HTTP to a fake SageMaker Runtime), filter_confidence and
request_review; the queue answers the task token with SendTaskSuccess
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html).
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from tests.monitor import review_support
from tests.monitor.review_support import CLASSES, UNSURE, ReviewRun, photo
from visiongate.model.datasets import load_dataset
from visiongate.model.layouts import open_layout
from visiongate.monitor.logstore import read_logs
from visiongate.monitor.review import (
    ReviewAlreadyCompleted,
    ReviewExpired,
    ReviewNotFound,
    ReviewQueue,
    UnknownLabel,
    discover_buckets,
)
from visiongate.storage import iter_objects, open_store

review_run = review_support.review_run  # fixtures
unsure_endpoint = review_support.unsure_endpoint


def keys(run: ReviewRun, prefix: str, bucket: str = "images") -> list[str]:
    return [i.key for i in iter_objects(open_store(run.settings), bucket, prefix)]


def test_from_a_failed_gate_to_a_training_manifest(review_run: ReviewRun) -> None:
    run = review_run
    run.put("bikes/blurry-1.png", photo(1))
    run.put("bikes/blurry-2.png", photo(2))
    first, review = run.start("bikes/blurry-1.png", "blurry-1")
    second, _ = run.start("bikes/blurry-2.png", "blurry-2")

    # Both executions wait at the review task; the queue shows both, oldest first.
    assert run.engine.describe_execution(first).status == "RUNNING"
    pending = run.queue.pending()
    assert [r.s3_key for r in pending] == ["bikes/blurry-1.png", "bikes/blurry-2.png"]
    assert review.probabilities() == list(zip(CLASSES, UNSURE, strict=True))
    assert review.execution_arn == first and review.state == "Human review"
    assert "below the threshold 0.75" in (review.reason or "")

    done = run.queue.complete(review.review_id, "motorcycle", reviewer="ana")
    run.queue.complete(pending[1].review_id, "bicycle")

    execution = run.finish(first)
    assert execution.status == "SUCCEEDED"
    output = json.loads(execution.output)
    assert output["label"] == "motorcycle" and output["reviewed"] is True
    assert output["s3_key"] == "bikes/blurry-1.png" and output["inferences"] == UNSURE
    assert output["review"]["reviewer"] == "ana"
    assert run.finish(second).status == "SUCCEEDED"
    assert run.queue.pending() == []

    # The labelled dataset: SageMaker's channel layout, images under train/<class>/.
    store = open_store(run.settings)
    manifest = store.get("images", "reviewed/train.lst").decode().splitlines()
    assert manifest == [
        f"0\t1\tmotorcycle/{review.review_id[:12]}-blurry-1.png",
        f"1\t0\tbicycle/{pending[1].review_id[:12]}-blurry-2.png",
    ]
    assert json.loads(store.get("images", "reviewed/classes.json")) == CLASSES
    assert store.get("images", f"reviewed/train/{done.entry.path}") == photo(1)
    assert done.entry.uri == f"s3://images/reviewed/train/{done.entry.path}"

    # ... which training reads as it is (visiongate train --data s3://images/reviewed).
    layout = open_layout("s3://images/reviewed", settings=run.settings)
    assert layout.kind == "manifest" and layout.names == CLASSES
    dataset = load_dataset("s3://images/reviewed", settings=run.settings)
    assert dataset.counts() == {"bicycle": 1, "motorcycle": 1}
    assert dataset.images.shape == (2, 32, 32, 3)

    # The records moved to reviews/done/, without the token; request_review's logs were stored.
    assert keys(run, "reviews/pending/") == []
    record = json.loads(store.get("images", f"reviews/done/{review.review_id}.json"))
    assert record["status"] == "labelled" and record["label"] == "motorcycle"
    assert "task_token" not in record
    logs = read_logs(run.settings.database, execution=first)
    assert any(e.function == "request_review" and "review requested" in e.message for e in logs)


def test_completing_twice_is_an_error_not_a_second_write(review_run: ReviewRun) -> None:
    run = review_run
    run.put("bikes/a.png", photo(3))
    arn, review = run.start("bikes/a.png", "twice")
    run.queue.complete(review.review_id, "bicycle")
    with pytest.raises(ReviewAlreadyCompleted, match="already completed"):
        run.queue.complete(review.review_id, "motorcycle")
    assert run.finish(arn).status == "SUCCEEDED"
    manifest = open_store(run.settings).get("images", "reviewed/train.lst").decode()
    assert manifest.count("\n") == 1 and "\t0\tbicycle/" in manifest


def test_an_unknown_label_is_refused_and_the_review_stays(review_run: ReviewRun) -> None:
    run = review_run
    run.put("bikes/b.png", photo(4))
    arn, review = run.start("bikes/b.png", "unknown")
    with pytest.raises(UnknownLabel, match=r"'cat' is not one of .*bicycle, motorcycle"):
        run.queue.complete(review.review_id, "cat")
    assert run.queue.get(review.review_id).review_id == review.review_id
    assert keys(run, "reviewed/") == []
    assert run.engine.describe_execution(arn).status == "RUNNING"


def test_rejecting_fails_the_execution_and_writes_no_training_data(review_run: ReviewRun) -> None:
    run = review_run
    run.put("bikes/c.png", photo(5))
    arn, review = run.start("bikes/c.png", "reject")
    run.queue.reject(review.review_id, "not a vehicle", reviewer="ana")
    execution = run.finish(arn)
    assert (execution.status, execution.error) == ("FAILED", "REVIEW_REJECTED")
    assert json.loads(execution.cause)["reason"] == "not a vehicle"
    record = json.loads(
        open_store(run.settings).get("images", f"reviews/done/{review.review_id}.json")
    )
    assert record["status"] == "rejected"
    assert keys(run, "reviewed/") == []


def test_a_review_whose_execution_stopped_has_expired(review_run: ReviewRun) -> None:
    run = review_run
    run.put("bikes/d.png", photo(6))
    arn, review = run.start("bikes/d.png", "stopped")
    run.engine.stop_execution(arn)
    with pytest.raises(ReviewExpired, match="can no longer be answered"):
        run.queue.complete(review.review_id, "bicycle")
    assert keys(run, "reviews/expired/") == [f"reviews/expired/{review.review_id}.json"]
    assert run.queue.pending() == [] and keys(run, "reviewed/") == []


def test_thumbnails_fit_the_box_and_keep_the_aspect_ratio(review_run: ReviewRun) -> None:
    run = review_run
    run.put("bikes/wide.png", photo(7, width=400, height=200))
    run.put("bikes/tiny.png", photo(8))
    _, wide = run.start("bikes/wide.png", "wide")
    _, tiny = run.start("bikes/tiny.png", "tiny")
    assert Image.open(io.BytesIO(run.queue.thumbnail(wide.review_id))).size == (160, 80)
    small = Image.open(io.BytesIO(run.queue.thumbnail(tiny.review_id, size=96)))
    assert (small.format, small.size) == ("PNG", (96, 96))


def test_records_that_are_not_reviews_are_skipped(review_run: ReviewRun) -> None:
    store = open_store(review_run.settings)
    store.put("images", "reviews/pending/garbage.json", b"{not json")
    store.put("images", "reviews/pending/list.json", b"[1, 2]")
    store.put("images", "reviews/pending/x.json", json.dumps({"task_token": "t"}).encode())
    assert review_run.queue.pending() == []
    for bad in ("../../etc/passwd", "", "a/b", "x" * 65):
        with pytest.raises(ReviewNotFound):
            review_run.queue.get(bad)


def test_review_buckets_come_from_review_bucket_or_the_local_store(monkeypatch) -> None:
    from visiongate.config import load_settings

    settings = load_settings()
    store = open_store(settings)
    store.create_bucket("images")
    store.create_bucket("other")
    assert discover_buckets(settings) == ["images", "other"]
    monkeypatch.setenv("REVIEW_BUCKET", "reviews, images")
    assert discover_buckets(settings) == ["reviews", "images"]
    assert ReviewQueue(settings, buckets=["x-y"], tasks=object()).buckets() == ["x-y"]
