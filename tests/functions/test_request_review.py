"""request_review ("Human review"): store a pending review with the task token, return at once.

The review definition calls it through ``lambda:invoke.waitForTaskToken`` with the token in
the payload; the execution waits until SendTaskSuccess/Failure arrives with that token
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.functions.lambda_shape import run_in_lambda_package
from visiongate.functions import request_review
from visiongate.functions.errors import InvalidEventError
from visiongate.storage import LocalStore

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:review:run-1"
CAUSE = json.dumps(
    {
        "errorMessage": "top class 0 has probability 0.55, below the threshold 0.75",
        "errorType": "THRESHOLD_CONFIDENCE_NOT_MET",
        "stackTrace": [],
    }
)


def event(token: str = "tok-1", **body: object) -> dict:
    """What the definition's Payload builds: the Catch's state input plus the context."""
    return {
        "token": token,
        "execution": EXECUTION,
        "state": "Human review",
        "input": {
            "statusCode": 200,
            "body": {
                "image_data": "iVBORw0KGgo=",
                "s3_bucket": "images",
                "s3_key": "bikes/blurry.png",
                "inferences": [0.55, 0.45],
                **body,
            },
            "gate_error": {"Error": "THRESHOLD_CONFIDENCE_NOT_MET", "Cause": CAUSE},
        },
    }


def stored(store: LocalStore, bucket: str = "images") -> list[dict]:
    from visiongate.storage import iter_objects

    keys = [info.key for info in iter_objects(store, bucket, "reviews/pending/")]
    return [json.loads(store.get(bucket, key)) for key in keys]


def test_a_pending_review_holds_the_token_image_and_probabilities(store, context) -> None:
    result = request_review.handler(event(), context)
    [record] = stored(store)
    assert result == {
        "statusCode": 200,
        "body": {
            "review_id": record["review_id"],
            "review_bucket": "images",
            "key": f"reviews/pending/{record['review_id']}.json",
        },
    }
    assert record["task_token"] == "tok-1"
    assert record["execution_arn"] == EXECUTION and record["state"] == "Human review"
    assert (record["s3_bucket"], record["s3_key"]) == ("images", "bikes/blurry.png")
    assert record["inferences"] == [0.55, 0.45]
    assert (record["top_class"], record["top_probability"]) == (0, 0.55)
    assert record["reason"] == "top class 0 has probability 0.55, below the threshold 0.75"
    assert record["labels"] is None
    assert record["created"].endswith("Z") and record["request_id"] == context.aws_request_id
    assert "image_data" not in json.dumps(record)  # the image stays in its bucket


def test_class_names_are_kept_when_the_body_has_them(store) -> None:
    request_review.handler(event(labels=["bicycle", "motorcycle"]), None)
    assert stored(store)[0]["labels"] == ["bicycle", "motorcycle"]
    request_review.handler(event(labels=["only-one"]), None)  # wrong length: ignored
    assert stored(store)[0]["labels"] is None


def test_a_retry_or_a_resumed_task_replaces_the_record(store) -> None:
    first = request_review.handler(event("tok-1"), None)["body"]["review_id"]
    again = request_review.handler(event("tok-2"), None)["body"]["review_id"]
    assert first == again
    [record] = stored(store)
    assert record["task_token"] == "tok-2"


def test_the_review_bucket_comes_from_review_bucket(store, monkeypatch) -> None:
    store.create_bucket("reviews")
    monkeypatch.setenv("REVIEW_BUCKET", "reviews")
    assert request_review.handler(event(), None)["body"]["review_bucket"] == "reviews"
    assert stored(store, "reviews") and not stored(store, "images")


def test_a_missing_review_bucket_is_a_named_error(store, monkeypatch) -> None:
    monkeypatch.setenv("REVIEW_BUCKET", "no-such-bucket")
    with pytest.raises(request_review.ReviewQueueError, match="no-such-bucket"):
        request_review.handler(event(), None)
    monkeypatch.setenv("REVIEW_BUCKET", "Not_A_Bucket")
    with pytest.raises(request_review.ReviewQueueError, match="not a valid bucket"):
        request_review.handler(event(), None)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"input": {"s3_bucket": "images"}}, "task token"),
        ({"token": "", "input": {}}, "task token"),
        ({"token": "x" * 2049, "input": {}}, "task token"),
        ({"token": "t", "input": {"s3_key": "a.png", "inferences": [1.0]}}, "s3_bucket"),
        ({"token": "t", "input": {"s3_bucket": "b", "s3_key": "a.png"}}, "inferences"),
        ({"token": "t", "execution": 5, "input": {}}, "execution"),
        ("not an object", "must be an object"),
    ],
)
def test_malformed_events_are_invalid_event_errors(store, bad, message) -> None:
    with pytest.raises(InvalidEventError, match=message):
        request_review.handler(bad, None)
    assert stored(store) == []


def test_the_token_is_never_logged(store, caplog) -> None:
    caplog.set_level(logging.INFO, logger="visiongate.functions")
    request_review.handler(event("secret-token-123"), None)
    assert "review requested" in caplog.text
    assert "secret-token-123" not in caplog.text


SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import visiongate
assert visiongate.__file__.startswith(sys.argv[1]), visiongate.__file__
from visiongate.functions import request_review
from visiongate.storage import LocalStore
LocalStore(sys.argv[2]).create_bucket("images")
event = {"token": "t", "execution": "arn:x", "input": {"statusCode": 200, "body": {
    "s3_bucket": "images", "s3_key": "a.png", "inferences": [0.5, 0.5]}}}
out = request_review.handler(event, None)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in
               {"numpy", "PIL", "torch", "onnxruntime", "typer", "rich", "click"})
ours = sorted(m for m in sys.modules if m.startswith("visiongate"))
print(json.dumps({"heavy": heavy, "ours": ours, "status": out["statusCode"]}))
"""


def test_it_runs_from_a_lambda_shaped_package(tmp_path: Path) -> None:
    """Like the other handlers: visiongate's errors, config, storage and functions only."""
    result = run_in_lambda_package(tmp_path, SCRIPT, str(tmp_path / "store"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == 200 and report["heavy"] == []
    assert all(
        m in {"visiongate", "visiongate.errors", "visiongate.config"}
        or m.startswith(("visiongate.storage", "visiongate.functions"))
        for m in report["ours"]
    ), report["ours"]
