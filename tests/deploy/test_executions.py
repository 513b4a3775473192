"""`start_and_wait` and `stack_outputs`: the API `run --aws` and `batch --aws` call.

moto's Step Functions keeps executions RUNNING unless its state-machine interpreter is
switched on (``stepfunctions.execute_state_machine`` in moto's config API); the fixture turns
it on for these tests only and back off afterwards, since the server is shared.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator

import boto3
import pytest

from visiongate.deploy.aws import stack_outputs, start_and_wait
from visiongate.deploy.errors import NoCredentialsError, StackNotFound, WaitTimeout

ROLE = "arn:aws:iam::123456789012:role/visiongate-test"


def _moto_config(url: str, execute: bool) -> None:
    body = json.dumps({"stepfunctions": {"execute_state_machine": execute}}).encode()
    request = urllib.request.Request(f"{url}/moto-api/config", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture
def interpreted(aws: str) -> Iterator[str]:
    _moto_config(aws, True)
    try:
        yield aws
    finally:
        _moto_config(aws, False)


def machine(definition: dict) -> str:
    name = "m" + uuid.uuid4().hex[:10]
    sfn = boto3.client("stepfunctions")
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


def test_succeeded_execution_returns_its_output(interpreted: str) -> None:
    arn = machine(
        {
            "StartAt": "Echo",
            "States": {"Echo": {"Type": "Pass", "Parameters": {"key.$": "$.s3_key"}, "End": True}},
        }
    )
    seen: list[str] = []
    result = start_and_wait(
        arn,
        {"s3_bucket": "b", "s3_key": "k.png"},
        poll=0.01,
        progress=lambda s, t: seen.append(s),
        name="one",
    )
    assert result["status"] == "SUCCEEDED"
    assert result["output"] == {"key": "k.png"}
    assert result["error"] is None and result["cause"] is None
    assert result["execution_arn"].endswith(":one")
    assert seen[-1] == "SUCCEEDED"


def test_failed_execution_returns_error_and_cause(interpreted: str) -> None:
    """DescribeExecution carries the failing state's Error and Cause
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html)."""
    arn = machine(
        {
            "StartAt": "Gate",
            "States": {
                "Gate": {
                    "Type": "Fail",
                    "Error": "THRESHOLD_CONFIDENCE_NOT_MET",
                    "Cause": "motorcycle 0.61 < threshold 0.75",
                }
            },
        }
    )
    result = start_and_wait(arn, {"s3_bucket": "b", "s3_key": "k.png"}, poll=0.01)
    assert result["status"] == "FAILED"
    assert result["output"] is None
    assert result["error"] == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert result["cause"] == "motorcycle 0.61 < threshold 0.75"


def test_waiting_stops_at_the_timeout_without_sleeping(aws: str) -> None:
    # Without the interpreter moto leaves every execution RUNNING.
    arn = machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    ticks = iter(range(0, 10_000, 30))
    naps: list[float] = []
    with pytest.raises(WaitTimeout, match="still RUNNING"):
        start_and_wait(
            arn, {}, poll=30, timeout=100, sleep=naps.append, clock=lambda: float(next(ticks))
        )
    assert naps == [30, 30, 30]


def test_unknown_stack_is_reported(aws: str) -> None:
    with pytest.raises(StackNotFound, match="nope-stack does not exist"):
        stack_outputs("nope-stack")


def test_start_without_credentials(aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(NoCredentialsError):
        start_and_wait("arn:aws:states:us-east-1:123456789012:stateMachine:x", {})
