"""The server end to end over real HTTP: SageMaker's hosting contract, boto3's
``invoke_endpoint`` unchanged, every image mode, batching under concurrency, data capture,
metrics. Contract: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from botocore.config import Config
from PIL import Image

from tests.serving.conftest import (
    WHITE_PNG,
    RunningServer,
    config_for,
    jpeg,
    noise_image,
    png,
    running_server,
)
from visiongate.imaging import preprocess
from visiongate.monitor.captures import read_captures
from visiongate.serving.batching import BatchConfig
from visiongate.serving.capture import CaptureConfig
from visiongate.serving.errors import ModelLoadError
from visiongate.serving.model import load_model_dir
from visiongate.storage import LocalStore


def expected_probs(model_dir: Path, data: bytes) -> np.ndarray:
    model = load_model_dir(model_dir)
    return model.predict(preprocess(data, model.prep)[None])[0][0]


# -- the hosting contract -------------------------------------------------------------------


def test_ping_is_503_while_loading_and_200_once_warm(model_dir: Path) -> None:
    gate = threading.Event()
    warmed: list[int] = []

    def slow_loader(path, threads):
        gate.wait(20)
        model = load_model_dir(path, threads)
        original = model.warm_up
        model.warm_up = lambda n: (warmed.append(n), original(n))
        return model

    with running_server(config_for(model_dir), wait_ready=False, loader=slow_loader) as s:
        reply = s.request("GET", "/ping")
        assert reply.status == 503
        assert reply.json()["Message"] == "the model is loading"
        assert s.invoke(png(noise_image(0))).status == 503
        gate.set()
        s.call(s.server.ready())
        assert warmed == [16]  # one warm-up batch of the max batch size before /ping says 200
        assert s.request("GET", "/ping").json() == {"status": "Healthy", "model": "tiny"}


def test_a_model_that_cannot_load_keeps_ping_at_503_with_the_reason(tmp_path: Path) -> None:
    with running_server(config_for(tmp_path / "missing"), wait_ready=False) as s:
        with pytest.raises(ModelLoadError):
            s.call(s.server.ready())
        reply = s.request("GET", "/ping")
        assert reply.status == 503
        assert "the model failed to load: model directory" in reply.json()["Message"]


def test_invocations_returns_probabilities_in_class_order(
    server: RunningServer, model_dir: Path
) -> None:
    data = png(noise_image(10))
    reply = server.invoke(data)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-amzn-invoked-production-variant"] == "AllTraffic"
    probs = reply.json()
    assert len(probs) == 2 and math.isclose(sum(probs), 1.0, rel_tol=1e-5)
    np.testing.assert_allclose(probs, expected_probs(model_dir, data), atol=1e-6)


def test_application_x_image_and_no_content_type_are_sniffed(server: RunningServer) -> None:
    data = jpeg(noise_image(11))
    baseline = server.invoke(data, "image/jpeg").json()
    assert server.invoke(data, "application/x-image").json() == baseline
    assert server.request("POST", "/invocations", data).json() == baseline


def test_verbose_output_through_accept(server: RunningServer) -> None:
    reply = server.invoke(png(noise_image(12)), Accept="application/json;verbose")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json;verbose"
    doc = reply.json()
    best = int(np.argmax(doc["probabilities"]))
    assert doc["labels"] == ["bicycle", "motorcycle"]
    assert doc["predicted_label"] == doc["labels"][best]
    assert doc["probability"] == doc["probabilities"][best]
    assert [t["index"] for t in doc["top_k"]] == [best, 1 - best]


def test_unacceptable_accept_is_406(server: RunningServer) -> None:
    reply = server.invoke(png(noise_image(13)), Accept="text/csv")
    assert reply.status == 406
    assert reply.json()["Message"] == "Accept 'text/csv' names no format this endpoint produces"


IMAGES = {
    "L": lambda: png(noise_image(20, mode="L")),
    "LA": lambda: png(noise_image(21, mode="LA")),
    "P": lambda: png(noise_image(22, mode="P")),
    "P-transparent": lambda: png(noise_image(23, mode="P"), transparency=0),
    "RGBA": lambda: png(noise_image(24, mode="RGBA")),
    "I;16": lambda: png(
        Image.fromarray((np.arange(48 * 40, dtype=np.uint16) * 30).reshape(40, 48))
    ),
    "CMYK-JPEG": lambda: jpeg(noise_image(25, mode="CMYK")),
    "large-JPEG": lambda: jpeg(noise_image(26, size=(1600, 1200)), quality=95),
    "GIF": lambda: _save(noise_image(27, mode="P"), "GIF"),
    "WEBP": lambda: _save(noise_image(28), "WEBP"),
}


def _save(image: Image.Image, fmt: str) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("kind", sorted(IMAGES))
def test_any_image_mode_is_converted_as_the_model_expects(
    server: RunningServer, model_dir: Path, kind: str
) -> None:
    data = IMAGES[kind]()
    reply = server.invoke(data, "application/x-image")
    assert reply.status == 200, reply.body
    np.testing.assert_allclose(reply.json(), expected_probs(model_dir, data), atol=1e-6)


def test_exif_rotation_is_applied_before_the_model(server: RunningServer) -> None:
    array = np.zeros((32, 48, 3), np.uint8)
    array[:, 24:] = 255  # left dark, right bright: rotation changes what the model sees
    array[:8, :, 0] = 255
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    tagged = jpeg(image, exif=exif.tobytes(), quality=100)
    stored = Image.open(__import__("io").BytesIO(tagged)).convert("RGB")
    upright = png(stored.transpose(Image.Transpose.ROTATE_270))
    as_stored = png(stored)
    rotated = server.invoke(tagged, "image/jpeg").json()
    np.testing.assert_allclose(rotated, server.invoke(upright).json(), atol=1e-6)
    assert not np.allclose(rotated, server.invoke(as_stored).json(), atol=1e-6)


# -- boto3 sagemaker-runtime unchanged ----------------------------------------------------


def test_boto3_invoke_endpoint_works_unchanged(server: RunningServer) -> None:
    data = png(noise_image(30))
    response = server.runtime().invoke_endpoint(
        EndpointName="visiongate", Body=data, ContentType="image/png", Accept="application/json"
    )
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert json.loads(response["Body"].read()) == server.invoke(data).json()


def test_boto3_honours_aws_endpoint_url_sagemaker_runtime(
    server: RunningServer, monkeypatch
) -> None:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    body = client.invoke_endpoint(EndpointName="visiongate", Body=png(noise_image(31)))[
        "Body"
    ].read()
    assert len(json.loads(body)) == 2


def test_boto3_custom_attributes_ask_for_top_k(server: RunningServer) -> None:
    response = server.runtime().invoke_endpoint(
        EndpointName="visiongate", Body=png(noise_image(32)), CustomAttributes="top_k=1"
    )
    doc = json.loads(response["Body"].read())
    assert len(doc["top_k"]) == 1 and doc["top_k"][0]["label"] == doc["predicted_label"]


def test_boto3_sees_validation_error_with_our_message(server: RunningServer) -> None:
    client = server.runtime()
    with pytest.raises(client.exceptions.ValidationError) as caught:
        client.invoke_endpoint(
            EndpointName="visiongate", Body=b"not an image", ContentType="image/png"
        )
    error = caught.value.response["Error"]
    assert error == {"Code": "ValidationError", "Message": "the bytes are not a recognised image"}
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_endpoint_is_sagemakers_validation_error(server: RunningServer) -> None:
    client = server.runtime()
    with pytest.raises(client.exceptions.ValidationError) as caught:
        client.invoke_endpoint(EndpointName="other", Body=png(noise_image(33)))
    assert (
        caught.value.response["Error"]["Message"]
        == "Endpoint other of account 000000000000 not found."
    )


def test_a_failing_model_is_modelerror_424_for_boto3(poison_model_dir: Path) -> None:
    with running_server(config_for(poison_model_dir)) as s:
        client = s.runtime()
        with pytest.raises(client.exceptions.ModelError) as caught:
            client.invoke_endpoint(
                EndpointName="visiongate", Body=WHITE_PNG, ContentType="image/png"
            )
        response = caught.value.response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert "the model failed: InvalidArgument" in response["Error"]["Message"]
        assert response["OriginalStatusCode"] == 500


def test_loading_is_service_unavailable_for_boto3(model_dir: Path) -> None:
    gate = threading.Event()
    with running_server(
        config_for(model_dir),
        wait_ready=False,
        loader=lambda p, t: (gate.wait(20), load_model_dir(p, t))[1],
    ) as s:
        import boto3

        client = boto3.client(
            "sagemaker-runtime", endpoint_url=s.url, region_name="us-east-1",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )  # fmt: skip
        with pytest.raises(client.exceptions.ServiceUnavailable) as caught:
            client.invoke_endpoint(EndpointName="visiongate", Body=png(noise_image(34)))
        assert caught.value.response["Error"]["Message"] == "the model is loading"
        gate.set()
        s.call(s.server.ready())


# -- batching under concurrency ------------------------------------------------------------


def _concurrent(s: RunningServer, bodies: list[bytes]) -> list:
    barrier = threading.Barrier(len(bodies))

    def one(body: bytes):
        barrier.wait()
        return s.invoke(body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


def test_concurrent_requests_share_model_calls_and_get_their_own_results(model_dir: Path) -> None:
    n, size = 24, 8
    bodies = [png(noise_image(100 + i)) for i in range(n)]
    expected = [expected_probs(model_dir, b) for b in bodies]
    config = config_for(model_dir, batch=BatchConfig(max_batch_size=size, max_wait_s=0.25))
    with running_server(config) as s:
        calls_before = s.server.batcher.calls  # the warm-up does not go through the batcher
        replies = _concurrent(s, bodies)
        calls = s.server.batcher.calls - calls_before
        batches = s.server.metrics.batch_size
    assert [r.status for r in replies] == [200] * n
    for reply, want in zip(replies, expected, strict=True):
        np.testing.assert_allclose(reply.json(), want, atol=1e-5)
    assert calls <= math.ceil(n / size) + 2
    assert batches.sum == n and batches.count == calls


def test_a_corrupt_image_in_a_batch_fails_only_itself(model_dir: Path) -> None:
    bodies = [png(noise_image(200 + i)) for i in range(7)] + [b"\x89PNG\r\n\x1a\ncorrupt"]
    config = config_for(model_dir, batch=BatchConfig(max_batch_size=8, max_wait_s=0.25))
    with running_server(config) as s:
        replies = _concurrent(s, bodies)
    assert [r.status for r in replies] == [200] * 7 + [400]


def test_a_model_failure_in_a_batch_fails_only_its_input(poison_model_dir: Path) -> None:
    bodies = [png(noise_image(300 + i)) for i in range(5)] + [WHITE_PNG]
    expected = [expected_probs(poison_model_dir, b) for b in bodies[:5]]
    config = config_for(poison_model_dir, batch=BatchConfig(max_batch_size=8, max_wait_s=0.25))
    with running_server(config) as s:
        replies = _concurrent(s, bodies)
        assert s.server.metrics.model_errors == 1
    assert [r.status for r in replies] == [200] * 5 + [424]
    assert replies[5].json()["ErrorCode"] == "ModelError"
    for reply, want in zip(replies, expected, strict=False):
        np.testing.assert_allclose(reply.json(), want, atol=1e-5)


# -- data capture, metrics -----------------------------------------------------------------


def test_captures_are_written_in_sagemakers_layout_and_read_back(
    model_dir: Path, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "store")
    capture = CaptureConfig("s3://captures/datacapture", "visiongate", flush_seconds=0.05)
    bodies = [png(noise_image(400 + i)) for i in range(3)]
    with running_server(config_for(model_dir, capture=capture), store=store) as s:
        answers = [
            s.invoke(b, **{"X-Amzn-SageMaker-Inference-Id": f"req-{i}"}).json()
            for i, b in enumerate(bodies)
        ]
        assert s.invoke(b"broken").status == 400  # failed invocations are not captured
    keys = [
        p.relative_to(tmp_path / "store" / "captures").as_posix()
        for p in (tmp_path / "store").rglob("*.jsonl")
    ]
    pattern = r"datacapture/visiongate/AllTraffic/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl"
    assert keys and all(re.fullmatch(pattern, k) for k in keys)
    records = list(read_captures("s3://captures/datacapture", store=store))
    assert [r.inference_id for r in records] == ["req-0", "req-1", "req-2"]
    assert [r.input_data for r in records] == bodies
    assert [list(r.probabilities) for r in records] == answers
    assert {r.input_content_type for r in records} == {"image/png"}


def test_metrics_use_cloudwatch_names_and_units(model_dir: Path, tmp_path: Path) -> None:
    with running_server(config_for(model_dir, database=tmp_path / "vg.db")) as s:
        for i in range(3):
            assert s.invoke(png(noise_image(500 + i))).status == 200
        assert s.invoke(b"").status == 400
        assert s.request("GET", "/ping").status == 200  # not an invocation
        text = s.request("GET", "/metrics")
    labels = '{EndpointName="visiongate",VariantName="AllTraffic"}'
    body = text.body.decode()
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert f"Invocations{labels} 4" in body
    assert f"Invocation4XXErrors{labels} 1" in body
    assert f"Invocation5XXErrors{labels} 0" in body
    assert f"ModelLatency_count{labels} 4" in body and "# TYPE ModelLatency histogram" in body
    assert (
        'OverheadLatency_bucket{EndpointName="visiongate",VariantName="AllTraffic",le="+Inf"} 4'
        in body
    )
    assert f"BatchSize_sum{labels} 3.0" in body
    with sqlite3.connect(tmp_path / "vg.db") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM endpoint_metrics")]
    assert sum(r["invocations"] for r in rows) == 4
    assert sum(r["errors_4xx"] for r in rows) == 1
    assert all(r["endpoint"] == "visiongate" and r["variant"] == "AllTraffic" for r in rows)
