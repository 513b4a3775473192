"""End to end: workflows/image_classification.asl.json through the engine, with the real
Lambda handlers, the local object store and a fake SageMaker runtime endpoint over HTTP."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from visiongate.config import load_settings
from visiongate.sfn.clock import VirtualClock
from visiongate.sfn.engine import Engine

pytest.importorskip("PIL")


class FakeSageMaker(ThreadingHTTPServer):
    """Answers POST /endpoints/{name}/invocations with ``probabilities`` as a JSON list."""

    probabilities: list[float] = [0.9, 0.1]
    requests: list[tuple[str, str]]


class _Handler(BaseHTTPRequestHandler):
    server: FakeSageMaker

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        self.server.requests.append((self.path, self.headers.get("Content-Type", "")))
        if not (self.path.startswith("/endpoints/") and self.path.endswith("/invocations")):
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps(self.server.probabilities).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def sagemaker() -> Iterator[FakeSageMaker]:
    server = FakeSageMaker(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def workflow_engine(sagemaker: FakeSageMaker) -> Iterator[Engine]:
    from PIL import Image

    host, port = sagemaker.server_address[:2]
    settings = load_settings(endpoint_url=f"http://{host}:{port}")
    engine = Engine(settings, clock=VirtualClock())
    store = engine.object_store()
    store.create_bucket("images")
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, format="PNG")
    store.put("images", "cats/cat.png", buffer.getvalue(), content_type="image/png")
    try:
        yield engine
    finally:
        engine.close()


def _definition() -> str:
    return load_settings().definition.read_text()


def test_confident_image_passes_the_gate(workflow_engine: Engine, sagemaker: FakeSageMaker) -> None:
    sagemaker.probabilities = [0.92, 0.08]
    logs: list[dict] = []
    workflow_engine.on_function_log.append(logs.append)
    result = workflow_engine.run(_definition(), {"s3_bucket": "images", "s3_key": "cats/cat.png"})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    body = result.output.get("body", result.output)
    assert body["inferences"] == [0.92, 0.08]
    assert body["s3_key"] == "cats/cat.png"
    assert sagemaker.requests == [("/endpoints/visiongate/invocations", "image/png")]
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in result.history
        if "stateEnteredEventDetails" in e
    ]
    assert entered == ["Retrieve data", "Inference", "Valid confidence"]
    functions = {record["function_name"] for record in logs}
    assert functions == {"serialize_image", "classify", "filter_confidence"}
    assert all(record["execution_arn"] == result.arn for record in logs)


def test_unconfident_image_fails_with_threshold_confidence_not_met(
    workflow_engine: Engine, sagemaker: FakeSageMaker
) -> None:
    sagemaker.probabilities = [0.6, 0.4]
    result = workflow_engine.run(_definition(), {"s3_bucket": "images", "s3_key": "cats/cat.png"})
    assert result.status == "FAILED"
    assert result.error == "THRESHOLD_CONFIDENCE_NOT_MET"
    cause = json.loads(result.cause)
    assert cause["errorType"] == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert "0.6" in cause["errorMessage"]


def test_missing_image_fails_with_the_functions_error(workflow_engine: Engine) -> None:
    result = workflow_engine.run(_definition(), {"s3_bucket": "images", "s3_key": "cats/none.png"})
    assert result.status == "FAILED"
    assert result.error == "ImageNotFoundError"


def test_batch_workflow_classifies_every_image_under_a_prefix(sagemaker: FakeSageMaker) -> None:
    """workflows/image_classification_batch.asl.json: a Distributed Map (ItemReader
    listObjectsV2, EXPRESS children, ResultWriter) over the same three functions."""
    from PIL import Image

    host, port = sagemaker.server_address[:2]
    settings = load_settings(endpoint_url=f"http://{host}:{port}")
    substitutions = dict(settings.substitutions)
    substitutions.update(
        ImagesBucketName="images",
        ImagesPrefix="cats/",
        ArtifactBucket="artifacts",
        ResultsPrefix="results",
    )
    settings = settings.with_(substitutions=substitutions)
    definition = (settings.definition.parent / "image_classification_batch.asl.json").read_text()
    sagemaker.probabilities = [0.95, 0.05]
    with Engine(settings, clock=VirtualClock()) as engine:
        store = engine.object_store()
        store.create_bucket("images")
        store.create_bucket("artifacts")
        for name in ("a.png", "b.png"):
            buffer = io.BytesIO()
            Image.new("RGB", (16, 16), (10, 200, 10)).save(buffer, format="PNG")
            store.put("images", f"cats/{name}", buffer.getvalue(), content_type="image/png")
        result = engine.run(definition, {})
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        details = result.output["ResultWriterDetails"]
        manifest = json.loads(store.get(details["Bucket"], details["Key"]))
        entries = json.loads(store.get("artifacts", manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]))
    outputs = sorted((json.loads(e["Output"]) for e in entries), key=lambda o: o["s3_key"])
    assert [(o["s3_key"], o["passed"]) for o in outputs] == [
        ("cats/a.png", True),
        ("cats/b.png", True),
    ]
    assert len(sagemaker.requests) == 2
