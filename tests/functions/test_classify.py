"""classify ("Inference"): real boto3 over HTTP to a fake SageMaker Runtime on 127.0.0.1.

InvokeEndpoint: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
"""

from __future__ import annotations

import base64
import io
import json
import logging
import socket

import pytest
from PIL import Image

from tests.functions.fake_sagemaker import FakeSageMakerRuntime
from tests.functions.shapes import SHAPE_IDS, four_shapes
from tests.storage.images import png
from visiongate.config import load_settings
from visiongate.errors import ConfigError
from visiongate.functions import classify
from visiongate.functions.classify import explicit_endpoint_url, parse_inferences
from visiongate.functions.errors import (
    EmptyImageError,
    EndpointError,
    EndpointResponseError,
    ImageNotFoundError,
    ImageTooLargeError,
    InvalidEventError,
    NotAnImageError,
)
from visiongate.storage import LocalStore

IMAGE = png(4, 4)


def event(data: bytes = IMAGE, **extra: object) -> dict:
    """serialize_image's body for ``data``."""
    return {
        "image_data": base64.b64encode(data).decode("ascii"),
        "s3_bucket": "images",
        "s3_key": "cats/cat.png",
        "inferences": [],
        **extra,
    }


def test_adds_the_endpoint_probabilities_as_inferences(
    sagemaker: FakeSageMakerRuntime, context
) -> None:
    response = classify.handler(event(), context)
    assert response == {"statusCode": 200, "body": {**event(), "inferences": [0.1, 0.9]}}
    assert all(isinstance(p, float) for p in response["body"]["inferences"])


def test_sends_the_image_bytes_with_their_sniffed_content_type(
    sagemaker: FakeSageMakerRuntime,
) -> None:
    classify.handler(event(), None)
    (call,) = sagemaker.invocations
    assert call.endpoint == "visiongate"  # config.DEFAULT_ENDPOINT_NAME
    assert call.content_type == "image/png"
    assert call.accept == "application/json"
    assert call.body == IMAGE


def test_a_jpeg_is_sent_as_image_jpeg(sagemaker: FakeSageMakerRuntime) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="JPEG")
    # The key says .png; the bytes decide.
    classify.handler(event(buffer.getvalue()), None)
    assert sagemaker.invocations[0].content_type == "image/jpeg"


@pytest.mark.parametrize("shape", four_shapes(event()), ids=SHAPE_IDS)
def test_accepts_all_four_event_shapes(sagemaker: FakeSageMakerRuntime, shape: object) -> None:
    assert classify.handler(shape, None)["body"]["inferences"] == [0.1, 0.9]


def test_endpoint_name_comes_from_the_environment(
    sagemaker: FakeSageMakerRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENDPOINT", "bikes-v2")
    sagemaker.model("bikes-v2", [0.7, 0.3])
    assert classify.handler(event(), None)["body"]["inferences"] == [0.7, 0.3]
    assert sagemaker.invocations[-1].endpoint == "bikes-v2"


def test_the_event_can_override_the_endpoint_name(
    sagemaker: FakeSageMakerRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENDPOINT", "bikes-v2")
    sagemaker.model("canary", [0.2, 0.8])
    body = classify.handler(event(endpoint_name="canary"), None)["body"]
    assert body["inferences"] == [0.2, 0.8]
    assert sagemaker.invocations[-1].endpoint == "canary"


def test_custom_attributes_and_inference_id_are_passed_through(
    sagemaker: FakeSageMakerRuntime,
) -> None:
    classify.handler(event(custom_attributes="trace=abc", inference_id="req-42"), None)
    headers = sagemaker.invocations[-1].headers
    assert headers["x-amzn-sagemaker-custom-attributes"] == "trace=abc"
    assert headers["x-amzn-sagemaker-inference-id"] == "req-42"


def test_an_image_passed_by_reference_is_read_from_the_store(
    sagemaker: FakeSageMakerRuntime, store: LocalStore
) -> None:
    big = png(64, 64)
    store.put("images", "big.png", big)
    body = {
        "image_data": None,
        "image_ref": {"s3_bucket": "images", "s3_key": "big.png"},
        "s3_bucket": "images",
        "s3_key": "big.png",
        "inferences": [],
    }
    result = classify.handler({"statusCode": 200, "body": body}, None)["body"]
    assert result["inferences"] == [0.1, 0.9]
    assert result["image_data"] is None  # the payload stays small
    assert sagemaker.invocations[-1].body == big


@pytest.mark.parametrize(
    "answer",
    [[0.25, 0.75], [[0.25, 0.75]], {"predictions": [0.25, 0.75]}, {"probabilities": [0.25, 0.75]}],
    ids=["list", "batch-of-one", "predictions", "probabilities"],
)
def test_accepted_answer_shapes(sagemaker: FakeSageMakerRuntime, answer: object) -> None:
    sagemaker.model("visiongate", answer)
    assert classify.handler(event(), None)["body"]["inferences"] == [0.25, 0.75]


# -- where the client points -------------------------------------------------------------
def test_a_configured_local_url_is_used_without_signing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No AWS_ENDPOINT_URL_* here: the visiongate setting picks the (local) model server.
    with FakeSageMakerRuntime() as fake:
        fake.model("visiongate", [0.6, 0.4])
        monkeypatch.setenv("VISIONGATE_ENDPOINT_URL", fake.url)
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")  # a laptop without AWS credentials
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        assert classify.handler(event(), None)["body"]["inferences"] == [0.6, 0.4]
        assert "authorization" not in fake.invocations[0].headers


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({}, "http://127.0.0.1:8080", "http://127.0.0.1:8080"),  # local default
        ({}, "http://10.0.0.5:9000", "http://10.0.0.5:9000"),
        ({}, "aws", None),  # explicitly real SageMaker
        ({"AWS_LAMBDA_FUNCTION_NAME": "classify"}, "http://127.0.0.1:8080", None),
        ({"AWS_LAMBDA_FUNCTION_NAME": "classify"}, "http://10.0.0.5:9000", "http://10.0.0.5:9000"),
        ({"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://h:1"}, "http://h:1", None),
        ({"AWS_ENDPOINT_URL": "http://h:1"}, "http://127.0.0.1:8080", None),
        (
            {
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://h:1",
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
            },
            "http://h:1",
            "http://h:1",
        ),
    ],
)
def test_explicit_endpoint_url_only_when_boto3_would_not_find_it(
    env: dict, url: str, expected: str | None
) -> None:
    # boto3 reads AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME / AWS_ENDPOINT_URL itself:
    # https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
    settings = load_settings(env={}, endpoint_url=url)
    assert explicit_endpoint_url(settings, env) == expected


def test_clients_are_cached_per_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    first = classify.sagemaker_runtime(load_settings(env={}, endpoint_url="http://127.0.0.1:9001"))
    again = classify.sagemaker_runtime(load_settings(env={}, endpoint_url="http://127.0.0.1:9001"))
    other = classify.sagemaker_runtime(load_settings(env={}, endpoint_url="http://127.0.0.1:9002"))
    assert first is again and first is not other
    assert other.meta.endpoint_url == "http://127.0.0.1:9002"


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ({"s3_key": "k"}, InvalidEventError, "no image"),
        ({"image_data": 42}, InvalidEventError, "must be a base64 string or null"),
        ({"image_data": "!!!not base64!!!"}, InvalidEventError, "not valid base64"),
        (
            {"image_data": None, "image_ref": "s3://x/y"},
            InvalidEventError,
            "image_ref must be an object",
        ),
        (
            {"image_data": None, "image_ref": {"s3_bucket": "images"}},
            InvalidEventError,
            "no 's3_key'",
        ),
        (
            {**event(), "endpoint_name": "bad name!"},
            InvalidEventError,
            "not a valid SageMaker endpoint",
        ),
        (
            {**event(), "endpoint_name": 3},
            InvalidEventError,
            "'endpoint_name' must be a non-empty string",
        ),
        ({"image_data": ""}, EmptyImageError, "empty"),
        (event(b"GIF8 but not really"), NotAnImageError, "not an image"),
        (
            {"image_data": None, "image_ref": {"s3_bucket": "images", "s3_key": "gone.png"}},
            ImageNotFoundError,
            "does not exist",
        ),
    ],
)
def test_bad_input_raises_a_named_error_before_calling_the_endpoint(
    sagemaker: FakeSageMakerRuntime, store: LocalStore, body: dict, error: type, message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        classify.handler(body, None)
    assert caught.value.hint
    assert sagemaker.invocations == []


def test_an_image_over_the_limit_is_refused(
    sagemaker: FakeSageMakerRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_IMAGE_BYTES", str(len(IMAGE) - 1))
    with pytest.raises(ImageTooLargeError, match=f"{len(IMAGE)} bytes, over the limit"):
        classify.handler(event(), None)
    assert sagemaker.invocations == []


def test_a_bad_endpoint_name_in_the_environment_is_a_config_error(
    sagemaker: FakeSageMakerRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENDPOINT", "no_underscores_allowed")
    with pytest.raises(ConfigError, match="ENDPOINT"):
        classify.handler(event(), None)


# -- endpoint failures -------------------------------------------------------------------
def test_a_model_error_names_the_endpoint_and_where_to_look(
    sagemaker: FakeSageMakerRuntime,
) -> None:
    sagemaker.fail(
        "visiongate",
        424,
        "ModelError",
        'Received client error (400) from primary with message "bad image".',
        OriginalStatusCode=400,
        OriginalMessage="bad image",
    )
    with pytest.raises(EndpointError, match="'visiongate'.*ModelError.*bad image") as caught:
        classify.handler(event(), None)
    assert caught.value.code == "ModelError"
    assert "/aws/sagemaker/Endpoints/visiongate" in (caught.value.hint or "")


def test_an_unknown_endpoint_is_a_validation_error(
    sagemaker: FakeSageMakerRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENDPOINT", "does-not-exist")
    with pytest.raises(
        EndpointError, match="ValidationError: Endpoint does-not-exist of account"
    ) as caught:
        classify.handler(event(), None)
    assert caught.value.code == "ValidationError"
    assert "InService" in (caught.value.hint or "")


def test_a_validation_error_from_the_model_server(sagemaker: FakeSageMakerRuntime) -> None:
    sagemaker.fail("visiongate", 400, "ValidationError", "Unsupported content type image/gif")
    with pytest.raises(EndpointError, match="Unsupported content type") as caught:
        classify.handler(event(), None)
    assert caught.value.code == "ValidationError"


def test_a_transient_error_says_to_retry(sagemaker: FakeSageMakerRuntime) -> None:
    sagemaker.fail("visiongate", 429, "ModelNotReadyException", "Model is loading")
    with pytest.raises(EndpointError, match="ModelNotReadyException") as caught:
        classify.handler(event(), None)
    assert "retry" in (caught.value.hint or "")


def test_an_unreachable_endpoint_is_an_endpoint_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(
        EndpointError, match=f"cannot reach endpoint 'visiongate' at http://127.0.0.1:{port}"
    ) as caught:
        classify.handler(event(), None)
    assert caught.value.code == "ConnectionError"
    assert "visiongate serve" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b'{"label": "bicycle"}', "non-empty list of probabilities"),
        (b"[]", "non-empty list"),
        (b'["0.1", "0.9"]', "not a number"),
        (b"[0.5, 3.2]", "not a probability"),
        (b"[[0.1], [0.9]]", "not a number"),
    ],
)
def test_a_malformed_answer_is_an_endpoint_response_error(
    sagemaker: FakeSageMakerRuntime, payload: bytes, message: str
) -> None:
    sagemaker.answer("visiongate", 200, payload)
    with pytest.raises(EndpointResponseError, match=message) as caught:
        classify.handler(event(), None)
    assert "JSON list of class probabilities" in (caught.value.hint or "")


def test_parse_inferences_on_bytes() -> None:
    assert parse_inferences(b"[0, 1]", "e") == [0.0, 1.0]
    with pytest.raises(EndpointResponseError):
        parse_inferences(b"\xff\xfe", "e")


@pytest.mark.parametrize(
    "name", ["EndpointError", "EndpointResponseError", "InvalidEventError", "NotAnImageError"]
)
def test_error_type_names(name: str) -> None:
    import visiongate.functions.errors as errors

    assert getattr(errors, name)("x").error_type == name


def test_logs_the_call_without_the_image(
    sagemaker: FakeSageMakerRuntime, context, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="visiongate.functions")
    classify.handler(event(), context)
    lines = [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.name == "visiongate.functions.classify"
    ]
    assert [line["event"] for line in lines] == ["invoked", "invoking", "classified", "succeeded"]
    assert lines[1]["endpoint"] == "visiongate" and lines[1]["content_type"] == "image/png"
    assert lines[2]["top_class"] == 1 and lines[2]["top_probability"] == 0.9
    assert {line["request_id"] for line in lines} == {context.aws_request_id}
    assert event()["image_data"][:16] not in caplog.text
