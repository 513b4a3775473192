"""visiongate.stack: the Step Functions API, the model endpoint and the dashboard in one process,
used the way a user does — boto3 pointed at it through the environment it prints."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.monitor.review_support import photo
from tests.monitor.test_dashboard import Client
from tests.serving.tiny_model import CLASSES, write_model_dir
from visiongate.config import load_settings
from visiongate.monitor.logstore import read_logs
from visiongate.monitor.review import REVIEW_DEFINITION
from visiongate.stack import Stack, StackConfig, StackError, find_model
from visiongate.storage import open_store

ROLE = "arn:aws:iam::123456789012:role/visiongate"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model_dir(tmp_path_factory.mktemp("stack") / "tiny")


def port_is_free(url: str) -> bool:
    """Can a new server listen there (SO_REUSEADDR, as servers do: TIME_WAIT is fine)?"""
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports() -> StackConfig:
    return StackConfig(sfn_port=0, endpoint_port=0, dashboard_port=0)


def test_the_review_loop_through_the_stacks_own_apis(model_dir, monkeypatch) -> None:
    monkeypatch.setenv("VISIONGATE_THRESHOLD", "0.999")  # the tiny model is never that sure
    settings = load_settings()
    open_store(settings).create_bucket("images")
    open_store(settings).put("images", "bikes/a.png", photo(31))
    config = StackConfig(sfn_port=0, endpoint_port=0, dashboard_port=0, model_dir=model_dir)
    with Stack(settings, config) as stack:
        env = stack.environment()
        assert env["AWS_ENDPOINT_URL_SFN"] == stack.urls["sfn"]
        assert env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == stack.urls["endpoint"]
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_DEFAULT_REGION"]) == ("test", "us-east-1")
        with urllib.request.urlopen(stack.urls["endpoint"] + "/ping") as reply:
            assert json.load(reply)["status"] == "Healthy"

        requested = threading.Event()
        engine = stack.backend.engines.get()
        engine.on_function_log.append(
            lambda e: requested.set() if "review requested" in e["message"] else None
        )
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=env["AWS_ENDPOINT_URL_SFN"],
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        machine = sfn.create_state_machine(
            name="image-review", definition=REVIEW_DEFINITION.read_text(), roleArn=ROLE
        )["stateMachineArn"]
        arn = sfn.start_execution(
            stateMachineArn=machine,
            input=json.dumps({"s3_bucket": "images", "s3_key": "bikes/a.png"}),
        )["executionArn"]
        assert requested.wait(30), "the image never reached the review queue"

        # The dashboard lists it with the model's class names; labelling goes through the API.
        client = Client(stack.urls["dashboard"])
        page = client.get("/review")[2]
        assert '<label class="choice"><input type="radio" name="label" value="motorcycle"' in page
        review_id = page.split('data-review="', 1)[1].split('"', 1)[0]
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"id": review_id, "label": CLASSES[1], "csrf": csrf}
        status, headers, _ = client.post("/review/complete", form)
        assert status == 303 and "Labelled" in headers["Location"]

        assert engine.wait(arn, timeout=30).status == "SUCCEEDED"
        described = sfn.describe_execution(executionArn=arn)
        output = json.loads(described["output"])
        assert output["label"] == "motorcycle" and len(output["inferences"]) == 2
        # Every engine of the API stores its function logs (visiongate.monitor.logs.subscribe).
        functions = {e.function for e in read_logs(settings.database, execution=arn)}
        assert {"serialize_image", "classify", "filter_confidence", "request_review"} <= functions
        urls = dict(stack.urls)
    assert all(port_is_free(url) for url in urls.values())


def test_stop_frees_the_ports_and_restores_the_environment(model_dir, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://elsewhere:1")
    config = StackConfig(sfn_port=0, endpoint_port=0, dashboard_port=0, model_dir=model_dir)
    stack = Stack(load_settings(), config)
    stack.start()
    assert os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == stack.urls["endpoint"]
    urls = dict(stack.urls)
    stack.stop()
    stack.stop()  # idempotent
    assert stack.wait(0)
    assert os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == "http://elsewhere:1"
    assert all(port_is_free(url) for url in urls.values())


def test_without_a_model_there_is_no_endpoint(tmp_path) -> None:
    settings = load_settings()
    assert find_model(settings) is None
    with Stack(settings, free_ports()) as stack:
        assert set(stack.urls) == {"sfn", "dashboard"}
        assert "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME" not in stack.environment()
    with pytest.raises(StackError, match="not a model directory"):
        Stack(settings, StackConfig(sfn_port=0, dashboard_port=0, model_dir=tmp_path)).start()


def test_the_newest_model_under_the_home_folder_is_found(model_dir) -> None:
    settings = load_settings()
    target = Path(settings.home) / "demo" / "models" / "digits"
    shutil.copytree(model_dir, target)
    assert find_model(settings) == target


def test_a_busy_port_is_a_clear_error_and_nothing_is_left_running() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = Stack(load_settings(), StackConfig(sfn_port=0, dashboard_port=port, endpoint=False))
        with pytest.raises(StackError, match=f"127.0.0.1:{port} for the dashboard"):
            stack.start()
        assert stack.backend is None  # the API that did start was stopped again


def test_beyond_loopback_the_dashboard_gets_a_token() -> None:
    stack = Stack(load_settings(), StackConfig(host="0.0.0.0", endpoint=False))
    assert stack.token and len(stack.token) >= 24
    assert Stack(load_settings(), StackConfig(endpoint=False)).token is None
