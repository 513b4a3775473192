"""The batch Lambda handlers: ItemBatcher input, per-item errors, the payload budget, the gate.

ItemBatcher's child input: https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html
"""

from __future__ import annotations

import pytest

from tests.jobs.conftest import png
from visiongate.functions import filter_confidence
from visiongate.functions.errors import THRESHOLD_CONFIDENCE_NOT_MET, EndpointError
from visiongate.functions.errors import InvalidEventError as FunctionInvalidEvent
from visiongate.jobs.batch_functions import (
    classify_batch,
    filter_confidence_batch,
    gate,
    serialize_image_batch,
)
from visiongate.jobs.scope import job_environment


def run_chain(settings, event):
    with job_environment(settings):
        first = serialize_image_batch(event, None)
        second = classify_batch(first, None)
        return first["body"], second["body"], filter_confidence_batch(second, None)["body"]


def test_each_item_shape_itembatcher_can_send_is_read(settings, images) -> None:
    event = {
        "BatchInput": {"s3_bucket": "images"},
        "Items": [
            {"Key": images[0], "Etag": "x", "Size": 1},  # an ItemReader listObjectsV2 item
            {"s3_bucket": "images", "s3_key": images[1]},
            images[2],
        ],
    }
    serialized, classified, gated = run_chain(settings, event)
    assert [i["s3_key"] for i in serialized["items"]] == images[:3]
    assert all(i["image_data"] for i in serialized["items"])
    assert all("image_data" not in i and len(i["inferences"]) == 2 for i in classified["items"])
    assert [i["s3_key"] for i in gated["items"]] == images[:3]
    assert gated["threshold"] == settings.threshold


def test_one_bad_image_is_recorded_on_its_item_and_the_others_go_on(settings, store, images):
    store.put("images", "in/truncated.png", png(3)[:70])  # PNG magic, broken body
    event = {
        "BatchInput": {"s3_bucket": "images"},
        "Items": [
            {"Key": "in/missing.png"},
            {"Key": "in/notes.txt"},
            {"Key": "in/truncated.png"},
            {"Key": "../escape.png"},
            {"Key": images[0]},
        ],
    }
    _, _, gated = run_chain(settings, event)
    errors = [item.get("error") for item in gated["items"]]
    assert errors[:4] == [
        "ImageNotFoundError",
        "NotAnImageError",
        "EndpointError",  # the model server refused to decode it (400 ValidationError)
        "InvalidEventError",
    ]
    assert "ValidationError" in gated["items"][2]["cause"]
    assert gated["items"][4].get("error") in (None, "THRESHOLD_CONFIDENCE_NOT_MET")
    assert "inferences" in gated["items"][4]
    assert not any(item["passed"] for item in gated["items"][:4])


def test_images_beyond_the_inline_budget_travel_by_reference(settings, images) -> None:
    # Step Functions passes at most 256 KiB between states:
    # https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
    one = 4 * ((len(png(0)) + 2) // 3)
    tight = settings.with_(max_inline_image_bytes=one + 10)  # room for exactly one image
    event = {"BatchInput": {"s3_bucket": "images"}, "Items": [{"Key": k} for k in images[:4]]}
    serialized, classified, _ = run_chain(tight, event)
    inline = [i for i in serialized["items"] if i["image_data"]]
    refs = [i for i in serialized["items"] if i.get("image_ref")]
    assert len(inline) == 1 and len(refs) == 3
    assert refs[0]["image_ref"] == {"s3_bucket": "images", "s3_key": images[1]}
    assert all(len(i["inferences"]) == 2 for i in classified["items"])  # read from the store


def test_the_gate_says_what_the_single_image_function_says() -> None:
    body = {"inferences": [0.3, 0.7], "labels": ["bicycle", "motorcycle"]}
    with pytest.raises(THRESHOLD_CONFIDENCE_NOT_MET) as single:
        with_threshold(0.75, lambda: filter_confidence.handler(body, None))
    batch_error = gate([0.3, 0.7], 0.75, ["bicycle", "motorcycle"])
    assert isinstance(batch_error, THRESHOLD_CONFIDENCE_NOT_MET)
    assert str(batch_error) == str(single.value)
    assert gate([0.25, 0.75], 0.75, None) is None  # exactly the threshold passes


def with_threshold(value: float, call):
    import os

    saved = os.environ.get("THRESHOLD")
    os.environ["THRESHOLD"] = str(value)
    try:
        return call()
    finally:
        if saved is None:
            os.environ.pop("THRESHOLD")
        else:
            os.environ["THRESHOLD"] = saved


def test_an_empty_or_oversized_batch_is_an_invalid_event(settings) -> None:
    with job_environment(settings):
        with pytest.raises(FunctionInvalidEvent, match="no Items"):
            serialize_image_batch({"BatchInput": {"s3_bucket": "images"}, "Items": []}, None)
        with pytest.raises(FunctionInvalidEvent, match="over the limit"):
            serialize_image_batch({"Items": ["k.png"] * 1001}, None)


def test_an_unreachable_endpoint_fails_the_whole_batch(settings, images) -> None:
    down = settings.with_(endpoint_url="http://127.0.0.1:9")
    with job_environment(down):
        serialized = serialize_image_batch(
            {"Items": [{"s3_bucket": "images", "Key": images[0]}]}, None
        )
        with pytest.raises(EndpointError, match="cannot reach endpoint"):
            classify_batch(serialized, None)
