"""serialize_image ("Retrieve data"): object -> base64, or a reference when too big to pass inline."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from tests.functions.shapes import SHAPE_IDS, four_shapes
from tests.storage.images import png
from visiongate.functions import serialize_image
from visiongate.functions.errors import (
    EmptyImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    InvalidEventError,
    NotAnImageError,
)
from visiongate.functions.serialize_image import base64_length
from visiongate.storage import LocalStore

EVENT = {"s3_bucket": "images", "s3_key": "cats/cat.png"}


def test_returns_the_image_as_base64_in_the_original_shape(cat_png: bytes, context) -> None:
    response = serialize_image.handler(EVENT, context)
    assert response == {
        "statusCode": 200,
        "body": {
            "image_data": base64.b64encode(cat_png).decode("ascii"),
            "s3_bucket": "images",
            "s3_key": "cats/cat.png",
            "inferences": [],
        },
    }
    json.dumps(response)  # Lambda must be able to serialise it


@pytest.mark.parametrize("event", four_shapes(EVENT), ids=SHAPE_IDS)
def test_accepts_all_four_event_shapes(cat_png: bytes, event: object) -> None:
    body = serialize_image.handler(event, None)["body"]
    assert base64.b64decode(body["image_data"]) == cat_png


def test_other_input_fields_pass_through(cat_png: bytes) -> None:
    event = {**EVENT, "labels": ["bicycle", "motorcycle"], "inferences": [0.5], "image_data": "x"}
    body = serialize_image.handler(event, None)["body"]
    assert body["labels"] == ["bicycle", "motorcycle"]
    assert body["inferences"] == []  # produced fields are this function's own
    assert base64.b64decode(body["image_data"]) == cat_png


def test_a_large_image_travels_by_reference(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Step Functions passes at most 256 KiB between states:
    # https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
    big = png(300, 300)
    store.put("images", "big.png", big)
    monkeypatch.setenv("MAX_INLINE_IMAGE_BYTES", str(base64_length(len(big)) - 1))
    body = serialize_image.handler({"s3_bucket": "images", "s3_key": "big.png"}, None)["body"]
    assert body["image_data"] is None
    assert body["image_ref"] == {"s3_bucket": "images", "s3_key": "big.png"}
    assert len(json.dumps(body)) < 300


def test_an_image_exactly_at_the_budget_stays_inline(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = png(10, 10)
    store.put("images", "ten.png", data)
    monkeypatch.setenv("MAX_INLINE_IMAGE_BYTES", str(base64_length(len(data))))
    body = serialize_image.handler({"s3_bucket": "images", "s3_key": "ten.png"}, None)["body"]
    assert len(body["image_data"]) == base64_length(len(data))
    assert "image_ref" not in body


def test_the_default_budget_keeps_the_payload_under_the_step_functions_limit(
    store: LocalStore,
) -> None:
    # An image just under the default budget still fits in 262,144 bytes with its envelope.
    data = png(1, 1).ljust(149_000, b"\x00")
    store.put("images", "edge.png", data)
    response = serialize_image.handler({"s3_bucket": "images", "s3_key": "edge.png"}, None)
    assert response["body"]["image_data"] is not None
    assert len(json.dumps(response).encode()) < 262_144


def test_base64_length_matches_the_encoder() -> None:
    for size in range(0, 20):
        assert base64_length(size) == len(base64.b64encode(b"x" * size))


def test_reads_from_s3_when_the_backend_is_s3(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How Lambda runs it: VISIONGATE_STORE_BACKEND=s3, boto3 finds the server itself.
    import boto3

    monkeypatch.setenv("VISIONGATE_STORE_BACKEND", "s3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="vg-lambda-images")
    s3.put_object(Bucket="vg-lambda-images", Key="cat.png", Body=png())
    body = serialize_image.handler({"s3_bucket": "vg-lambda-images", "s3_key": "cat.png"}, None)[
        "body"
    ]
    assert base64.b64decode(body["image_data"]) == png()


# -- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"s3_key": "cats/cat.png"}, "no 's3_bucket' field"),
        ({"s3_bucket": "images"}, "no 's3_key' field"),
        ({"s3_bucket": "images", "s3_key": 5}, "'s3_key' must be a non-empty string"),
        ({"s3_bucket": ["images"], "s3_key": "k"}, "'s3_bucket' must be a non-empty string"),
        ([EVENT], "must be a JSON object"),
        ("{not json", "not valid JSON"),
        ({"s3_bucket": "images", "s3_key": "../../etc/passwd"}, "invalid object"),
        ({"s3_bucket": "Not_A_Bucket", "s3_key": "k.png"}, "invalid object"),
    ],
)
def test_bad_events_raise_invalid_event_error(
    store: LocalStore, event: object, message: str
) -> None:
    with pytest.raises(InvalidEventError, match=message) as caught:
        serialize_image.handler(event, None)
    assert caught.value.hint


def test_a_missing_object_raises_image_not_found(store: LocalStore) -> None:
    with pytest.raises(ImageNotFoundError, match="s3://images/cats/nope.png does not exist"):
        serialize_image.handler({"s3_bucket": "images", "s3_key": "cats/nope.png"}, None)


def test_a_missing_bucket_raises_image_not_found(store: LocalStore) -> None:
    with pytest.raises(ImageNotFoundError, match="bucket 'nowhere' does not exist"):
        serialize_image.handler({"s3_bucket": "nowhere", "s3_key": "cat.png"}, None)


def test_an_empty_object_raises_empty_image(store: LocalStore) -> None:
    store.put("images", "empty.png", b"")
    with pytest.raises(EmptyImageError, match="empty"):
        serialize_image.handler({"s3_bucket": "images", "s3_key": "empty.png"}, None)


def test_text_named_png_raises_not_an_image(store: LocalStore) -> None:
    store.put("images", "fake.png", b"this is not a picture")
    with pytest.raises(NotAnImageError, match="not an image") as caught:
        serialize_image.handler({"s3_bucket": "images", "s3_key": "fake.png"}, None)
    assert "content, not the extension" in (caught.value.hint or "")


def test_an_image_over_the_limit_raises_image_too_large(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("images", "big.png", png(50, 50))
    monkeypatch.setenv("MAX_IMAGE_BYTES", "100")
    with pytest.raises(ImageTooLargeError, match="over the limit of 100 bytes") as caught:
        serialize_image.handler({"s3_bucket": "images", "s3_key": "big.png"}, None)
    assert "MAX_IMAGE_BYTES" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("error", "error_type"),
    [
        (InvalidEventError, "InvalidEventError"),
        (ImageNotFoundError, "ImageNotFoundError"),
        (EmptyImageError, "EmptyImageError"),
        (NotAnImageError, "NotAnImageError"),
        (ImageTooLargeError, "ImageTooLargeError"),
    ],
)
def test_error_class_names_are_the_lambda_error_types(error: type, error_type: str) -> None:
    # Lambda reports type(exc).__name__ as errorType; Step Functions matches on it.
    assert error.__name__ == error_type == error("x").error_type


# -- logs ----------------------------------------------------------------------------
def test_logs_json_lines_with_the_request_id_and_no_image_bytes(
    cat_png: bytes, context, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="visiongate.functions")
    serialize_image.handler(EVENT, context)
    records = [r for r in caplog.records if r.name == "visiongate.functions.serialize_image"]
    lines = [json.loads(r.getMessage()) for r in records]
    assert [line["event"] for line in lines] == ["invoked", "reading", "serialized", "succeeded"]
    assert all(line["request_id"] == context.aws_request_id for line in lines)
    assert lines[2]["bytes"] == len(cat_png) and lines[2]["content_type"] == "image/png"
    assert base64.b64encode(cat_png).decode()[:20] not in caplog.text


def test_failures_are_logged_with_their_error_type(
    store: LocalStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="visiongate.functions")
    with pytest.raises(ImageNotFoundError):
        serialize_image.handler({"s3_bucket": "images", "s3_key": "nope.png"}, None)
    last = json.loads(caplog.records[-1].getMessage())
    assert last["event"] == "failed" and last["error_type"] == "ImageNotFoundError"
    assert caplog.records[-1].levelno == logging.WARNING
    assert "request_id" not in last  # no context, no id
