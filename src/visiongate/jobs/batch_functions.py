"""The three steps of the workflow for a *batch* of images: Lambda handlers, one call per batch.

Event of the first step — what a Distributed Map with ``ItemBatcher`` hands each child
execution (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html),
with ``ItemReader`` ``s3:listObjectsV2`` items (``{"Key": ...}``)::

    {"BatchInput": {"s3_bucket": "images", "labels": ["cat", "dog"]},   # labels optional
     "Items": [{"Key": "cats/1.png"}, {"s3_bucket": "b", "s3_key": "k.png"}, "cats/3.png"]}

Each step keeps the per-image contract of its single-image twin (``visiongate.functions``):
the same image checks and error names, the same payload budget, the same gate rule and
message. What differs is that one image's failure is *recorded on that item* instead of
failing the execution — as a Map's tolerated item failure would — so a batch of 100 with one
unreadable file still classifies 99. Errors that are not about an image (the endpoint is down)
raise and fail the batch; the workflow retries them.

Chain (each returns ``{"statusCode": 200, "body": {...}}``)::

    serialize_image_batch   {"items": [{"s3_bucket", "s3_key", "image_data" | "image_ref"}
                                       | {"s3_bucket", "s3_key", "error", "cause"}], "labels"?}
    classify_batch          {"items": [{"s3_bucket", "s3_key", "inferences"} | error item],
                             "labels"?}                       (image bytes dropped here)
    filter_confidence_batch {"items": [{..., "passed": true} | {..., "passed": false, "error",
                             "cause"}], "labels"?, "threshold"}

Only the standard library, boto3 and visiongate's config/storage/functions modules: the same
dependency budget as the single-image functions, so these could ship in the Lambda package.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from visiongate.config import load_settings
from visiongate.functions.classify import parse_inferences
from visiongate.functions.errors import EndpointError, FunctionError, InvalidEventError
from visiongate.functions.events import probabilities, respond, unwrap_event
from visiongate.functions.filter_confidence import below_threshold
from visiongate.functions.image_source import check_image, read_image
from visiongate.functions.logs import FunctionLog, logged
from visiongate.jobs.invoke import ItemFailed, Request, client_for, invoke_many
from visiongate.storage import open_store
from visiongate.storage.base import validate_bucket, validate_key
from visiongate.storage.errors import StorageError

MAX_ITEMS = 1000  # per batch; ItemBatcher's MaxItemsPerBatch is usually far lower
ACCEPT = "application/json;verbose, application/json;q=0.9"  # labels when the endpoint has them


def _error_item(bucket: Any, key: Any, exc: Exception) -> dict[str, Any]:
    name = exc.error_type if isinstance(exc, FunctionError) else type(exc).__name__
    return {"s3_bucket": bucket, "s3_key": key, "error": name, "cause": str(exc)}


def _items(body: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    items = body.get("Items", body.get("items"))
    if not isinstance(items, list) or not items:
        raise InvalidEventError(
            "the batch has no Items (a non-empty list)",
            hint='send {"BatchInput": {"s3_bucket": "images"}, "Items": [{"Key": "a.png"}]}',
        )
    if len(items) > MAX_ITEMS:
        raise InvalidEventError(
            f"the batch has {len(items)} items, over the limit of {MAX_ITEMS}",
            hint="use smaller batches (ItemBatcher MaxItemsPerBatch / --batch-size)",
        )
    shared = body.get("BatchInput") or {}
    if not isinstance(shared, dict):
        raise InvalidEventError("BatchInput must be an object", hint='e.g. {"s3_bucket": "images"}')
    return items, shared


def _location(item: Any, shared: dict[str, Any]) -> tuple[str, str]:
    """(bucket, key) of one item: {"Key"}, {"s3_bucket", "s3_key"} or a bare key string."""
    if isinstance(item, str):
        bucket, key = shared.get("s3_bucket"), item
    elif isinstance(item, dict):
        bucket = item.get("s3_bucket", item.get("Bucket", shared.get("s3_bucket")))
        key = item.get("s3_key", item.get("Key"))
    else:
        raise InvalidEventError(f"a batch item must be an object or a key, got {item!r:.60}")
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise InvalidEventError(
            "a batch item names no s3_bucket/s3_key",
            hint='give BatchInput.s3_bucket and items like {"Key": "cats/1.png"}',
        )
    try:
        return validate_bucket(bucket), validate_key(key)
    except StorageError as exc:
        raise InvalidEventError(f"a batch item names an invalid object: {exc.message}") from None


def _labels(body: dict[str, Any], shared: dict[str, Any] | None = None) -> list[str] | None:
    for source in (body, shared or {}):
        labels = source.get("labels")
        if isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels):
            return labels
    return None


@logged("serialize_image_batch")
def serialize_image_batch(event: Any, context: Any, log: FunctionLog) -> dict[str, Any]:
    """Read each image; inline base64 while the batch's budget lasts, references after."""
    body = unwrap_event(event)
    items, shared = _items(body)
    settings = load_settings()
    store = open_store(settings)
    budget = settings.max_inline_image_bytes  # for the whole batch, as for one image
    out: list[dict[str, Any]] = []
    inline = failed = 0
    for item in items:
        bucket = key = None
        try:
            bucket, key = _location(item, shared)
            data, _ = read_image(store, bucket, key, settings.max_image_bytes)
        except (FunctionError, StorageError) as exc:
            out.append(_error_item(bucket, key if key is not None else str(item)[:200], exc))
            failed += 1
            continue
        size = 4 * ((len(data) + 2) // 3)
        if size <= budget:
            budget -= size
            inline += 1
            out.append({"s3_bucket": bucket, "s3_key": key, "image_data": _b64(data)})
        else:
            ref = {"s3_bucket": bucket, "s3_key": key}
            out.append({"s3_bucket": bucket, "s3_key": key, "image_data": None, "image_ref": ref})
    result: dict[str, Any] = {"items": out}
    labels = _labels(body, shared)
    if labels:
        result["labels"] = labels
    log.info(
        "serialized",
        items=len(out),
        inline=inline,
        by_reference=len(out) - inline - failed,
        failed=failed,
    )
    return respond(result)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _image_bytes(item: dict[str, Any], store: Any, limit: int) -> tuple[bytes, str]:
    data = item.get("image_data")
    if isinstance(data, str):
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidEventError("image_data is not valid base64") from None
        return raw, check_image(raw, limit, f"s3://{item.get('s3_bucket')}/{item.get('s3_key')}")
    ref = item.get("image_ref")
    if not isinstance(ref, dict):
        raise InvalidEventError("the item has no image_data and no image_ref")
    bucket, key = _location(ref, {})
    return read_image(store, bucket, key, limit)


def _answer(payload: bytes, name: str) -> tuple[list[float], list[str] | None]:
    inferences = parse_inferences(payload, name)
    labels = None
    try:
        document = json.loads(payload)
    except ValueError:
        document = None
    if isinstance(document, dict):
        labels = _labels(document)
    return inferences, labels


@logged("classify_batch")
def classify_batch(event: Any, context: Any, log: FunctionLog) -> dict[str, Any]:
    """Send every image to the endpoint concurrently; add ``inferences``, drop the bytes."""
    body = unwrap_event(event)
    items, _ = _items(body)
    settings = load_settings()
    name = settings.endpoint_name
    store = open_store(settings)
    out: list[dict[str, Any] | None] = [None] * len(items)
    requests, positions = [], []
    prefix = getattr(context, "aws_request_id", None) or "batch"
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            out[index] = _error_item(None, item, InvalidEventError("a batch item is not an object"))
            continue
        if item.get("error"):
            out[index] = item  # failed in an earlier step: pass it on
            continue
        try:
            data, content_type = _image_bytes(item, store, settings.max_image_bytes)
        except (FunctionError, StorageError) as exc:
            out[index] = _error_item(item.get("s3_bucket"), item.get("s3_key"), exc)
            continue
        requests.append(Request(data, content_type, f"{prefix[:56]}-{index}"[:64]))
        positions.append(index)

    client = client_for(settings, name)
    labels = _labels(body)
    answers = invoke_many(client, requests, ACCEPT) if requests else []  # EndpointError: batch
    for index, answer in zip(positions, answers, strict=True):
        item = items[index]
        base = {k: v for k, v in item.items() if k not in ("image_data", "image_ref")}
        if isinstance(answer, ItemFailed):
            where = f"s3://{item.get('s3_bucket')}/{item.get('s3_key')}"
            error = EndpointError(
                f"endpoint {name!r} refused {where} with {answer.code}: {answer.message}",
                code=answer.code,
            )
            out[index] = _error_item(item.get("s3_bucket"), item.get("s3_key"), error)
            continue
        try:
            inferences, answer_labels = _answer(answer, name)
        except FunctionError as exc:
            out[index] = _error_item(item.get("s3_bucket"), item.get("s3_key"), exc)
            continue
        labels = labels or answer_labels
        out[index] = {**base, "inferences": inferences}
    result: dict[str, Any] = {"items": out}
    if labels:
        result["labels"] = labels
    log.info("classified", endpoint=name, url=client.url, items=len(items), requests=len(requests))
    return respond(result)


def gate(inferences: list[float], threshold: float, labels: list[str] | None) -> Exception | None:
    """The single-image gate's rule and message: None if it passes, else the error."""
    top = max(range(len(inferences)), key=inferences.__getitem__)
    probability = inferences[top]
    if probability >= threshold:
        return None
    label = labels[top] if labels and top < len(labels) else None
    return below_threshold(top, probability, threshold, label)


@logged("filter_confidence_batch")
def filter_confidence_batch(event: Any, context: Any, log: FunctionLog) -> dict[str, Any]:
    """Mark each item passed or not (``THRESHOLD_CONFIDENCE_NOT_MET``) by the threshold."""
    body = unwrap_event(event)
    items, _ = _items(body)
    threshold = load_settings().threshold
    labels = _labels(body)
    out = []
    passed = 0
    for item in items:
        if not isinstance(item, dict):
            item = _error_item(None, item, InvalidEventError("a batch item is not an object"))
        if item.get("error"):
            out.append({**item, "passed": False})
            continue
        try:
            inferences = probabilities(item.get("inferences"), "inferences")
        except ValueError as exc:
            out.append(
                {
                    **_error_item(
                        item.get("s3_bucket"), item.get("s3_key"), InvalidEventError(str(exc))
                    ),
                    "passed": False,
                }
            )
            continue
        error = gate(inferences, threshold, labels)
        if error is None:
            passed += 1
            out.append({**item, "passed": True})
        else:
            out.append(
                {
                    **_error_item(item.get("s3_bucket"), item.get("s3_key"), error),
                    "inferences": inferences,
                    "passed": False,
                }
            )
    result: dict[str, Any] = {"items": out, "threshold": threshold}
    if labels:
        result["labels"] = labels
    log.info("gated", items=len(out), passed=passed, threshold=threshold)
    return respond(result)


# Function name -> handler, for the engine's registry; placeholders of the batch definition.
FUNCTIONS = {
    "serialize_image_batch": "visiongate.jobs.batch_functions:serialize_image_batch",
    "classify_batch": "visiongate.jobs.batch_functions:classify_batch",
    "filter_confidence_batch": "visiongate.jobs.batch_functions:filter_confidence_batch",
}
SUBSTITUTIONS = {
    "SerializeImageBatchFunctionName": "serialize_image_batch",
    "ClassifyBatchFunctionName": "classify_batch",
    "FilterConfidenceBatchFunctionName": "filter_confidence_batch",
}
