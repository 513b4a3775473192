"""Lambda "Human review": put an image the gate rejected in the review queue, then return.

Called by the review definition's ``lambda:invoke.waitForTaskToken`` task
(workflows/image_classification_review.asl.json) with::

    {"token": "<$$.Task.Token>", "execution": "<$$.Execution.Id>", "state": "Human review",
     "input": {"statusCode": 200, "body": {"s3_bucket", "s3_key", "inferences", ...},
               "gate_error": {"Error": "THRESHOLD_CONFIDENCE_NOT_MET", "Cause": "..."}}}

It writes one JSON record, ``s3://<REVIEW_BUCKET>/reviews/pending/<review_id>.json``, holding
the task token, the execution, the image's bucket and key, the probabilities, the class names
if the body carries them (``labels``) and the time, and returns at once. The execution then
waits until someone sends SendTaskSuccess with the token
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token);
``visiongate.monitor.review`` reads the record and does that.

``REVIEW_BUCKET`` defaults to the image's own bucket. The review id is derived from the
execution and state, so a retried invocation, or the same task resumed after a restart with a
new token, replaces the record instead of adding a second one. The token is never logged.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

from visiongate.config import load_settings
from visiongate.functions.errors import FunctionError, InvalidEventError, lambda_error_message
from visiongate.functions.events import probabilities, require_str, respond, unwrap_event
from visiongate.functions.logs import FunctionLog, logged
from visiongate.storage import InvalidKey, NoSuchBucket, open_store, validate_bucket

RECORD_FORMAT = "visiongate.review/1"
PENDING_PREFIX = "reviews/pending/"
MAX_TOKEN_LENGTH = 2048  # Step Functions: taskToken is 1-2048 characters
MAX_REASON_LENGTH = 2000


class ReviewQueueError(FunctionError):
    """The pending review could not be stored (missing or invalid review bucket)."""


def review_id(token: str, execution: str | None, state: str | None) -> str:
    """A stable id: one pending review per execution and state (else per token)."""
    source = f"{execution}\n{state or ''}" if execution else f"token\n{token}"
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:32]


def pending_key(review: str) -> str:
    return f"{PENDING_PREFIX}{review}.json"


def _token(event: dict[str, Any]) -> str:
    token = event.get("token")
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN_LENGTH:
        raise InvalidEventError(
            "the event has no task token (a string of 1-2048 characters) in 'token'",
            hint='pass "token.$": "$$.Task.Token" in the Task\'s Payload (.waitForTaskToken)',
        )
    return token


def _optional_text(event: dict[str, Any], field: str) -> str | None:
    value = event.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"the event field {field!r} must be a non-empty string")
    return value


def _gate_reason(gate_error: Any) -> str | None:
    """The gate's message, from the Catch's ``{"Error", "Cause"}`` (Cause: Lambda's error JSON)."""
    if not isinstance(gate_error, dict):
        return None
    cause = gate_error.get("Cause")
    if isinstance(cause, str):
        return lambda_error_message(cause)[:MAX_REASON_LENGTH]
    error = gate_error.get("Error")
    return str(error)[:MAX_REASON_LENGTH] if error else None


def _labels(body: dict[str, Any], classes: int) -> list[str] | None:
    labels = body.get("labels")
    if (
        isinstance(labels, list)
        and len(labels) == classes
        and all(isinstance(name, str) and name for name in labels)
    ):
        return labels
    return None


def _review_bucket(image_bucket: str) -> str:
    name = os.environ.get("REVIEW_BUCKET") or image_bucket
    try:
        return validate_bucket(name)
    except InvalidKey as exc:
        raise ReviewQueueError(
            f"REVIEW_BUCKET {name!r} is not a valid bucket name: {exc.message}",
            hint="set REVIEW_BUCKET to an existing bucket, or unset it to use the image's bucket",
        ) from None


def build_record(event: Any, now: float, request: str | None) -> dict[str, Any]:
    """The pending review record for ``event`` (pure: no I/O)."""
    if not isinstance(event, dict):
        raise InvalidEventError(
            "the event must be an object with token, input and execution",
            hint='use Payload {"token.$": "$$.Task.Token", "input.$": "$", '
            '"execution.$": "$$.Execution.Id"}',
        )
    token = _token(event)
    execution = _optional_text(event, "execution")
    state = _optional_text(event, "state")
    raw_input = event.get("input")
    gate_error = raw_input.get("gate_error") if isinstance(raw_input, dict) else None
    body = unwrap_event(raw_input)
    bucket = require_str(body, "s3_bucket", "images")
    key = require_str(body, "s3_key", "cats/cat.png")
    try:
        inferences = probabilities(body.get("inferences"), "inferences")
    except ValueError as exc:
        raise InvalidEventError(
            str(exc), hint="route the output of classify (with its inferences) to review"
        ) from None
    top = max(range(len(inferences)), key=inferences.__getitem__)
    identifier = review_id(token, execution, state)
    return {
        "format": RECORD_FORMAT,
        "review_id": identifier,
        "task_token": token,
        "execution_arn": execution,
        "state": state,
        "s3_bucket": bucket,
        "s3_key": key,
        "inferences": inferences,
        "labels": _labels(body, len(inferences)),
        "top_class": top,
        "top_probability": inferences[top],
        "reason": _gate_reason(gate_error),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "created_epoch": now,
        "review_bucket": _review_bucket(bucket),
        "request_id": request,
    }


@logged("request_review")
def handler(event: Any, context: Any, log: FunctionLog) -> dict[str, Any]:
    record = build_record(event, time.time(), log.request_id)
    bucket, key = record["review_bucket"], pending_key(record["review_id"])
    data = json.dumps(record, indent=2, sort_keys=True).encode("utf-8")
    try:
        open_store(load_settings()).put(bucket, key, data, content_type="application/json")
    except NoSuchBucket:
        raise ReviewQueueError(
            f"review bucket {bucket!r} does not exist",
            hint="create it (visiongate store mb) or point REVIEW_BUCKET at an existing bucket",
        ) from None
    log.info(
        "review requested",
        review_id=record["review_id"],
        review_bucket=bucket,
        s3_bucket=record["s3_bucket"],
        s3_key=record["s3_key"],
        top_class=record["top_class"],
        top_probability=record["top_probability"],
        execution_arn=record["execution_arn"],
    )
    return respond({"review_id": record["review_id"], "review_bucket": bucket, "key": key})
