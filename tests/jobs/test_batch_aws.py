"""`visiongate batch --aws --stack NAME`: one execution per image on the deployed state machine,
through boto3 against moto's server (its state-machine interpreter on) — images listed from S3,
results file written with each image's verdict."""

from __future__ import annotations

import io
import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from PIL import Image

from visiongate.cli.main import main

ROLE = "arn:aws:iam::123456789012:role/visiongate-test"

# What the deployed workflow answers, without Lambda: the image's key with fixed probabilities.
DEFINITION = {
    "StartAt": "Answer",
    "States": {
        "Answer": {
            "Type": "Pass",
            "Parameters": {
                "statusCode": 200,
                "body": {
                    "s3_bucket.$": "$.s3_bucket",
                    "s3_key.$": "$.s3_key",
                    "image_data": "",
                    "inferences": [0.9, 0.1],
                },
            },
            "End": True,
        }
    },
}


def _moto_config(url: str, execute: bool) -> None:
    body = json.dumps({"stepfunctions": {"execute_state_machine": execute}}).encode()
    request = urllib.request.Request(f"{url}/moto-api/config", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    _moto_config(moto_server, True)
    try:
        yield moto_server
    finally:
        _moto_config(moto_server, False)


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, shade, shade)).save(buffer, format="PNG")
    return buffer.getvalue()


def _deployed_stack(bucket: str) -> str:
    """A stack with the outputs `deploy aws` creates: the state machine and the images bucket."""
    name = "vg-batch-" + uuid.uuid4().hex[:8]
    arn = boto3.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(DEFINITION), roleArn=ROLE
    )["stateMachineArn"]
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "StateMachineArn": {"Value": arn},
            "ImagesBucket": {"Value": bucket},
        },
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name


def test_batch_aws_runs_every_image_under_the_prefix_on_the_deployed_machine(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = "vg-images-" + uuid.uuid4().hex[:8]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    keys = [f"incoming/img-{i}.png" for i in range(3)]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=_png(40 * i), ContentType="image/png")
    s3.put_object(Bucket=bucket, Key="elsewhere/skip.png", Body=_png(9))
    stack = _deployed_stack(bucket)
    out = tmp_path / "results.jsonl"

    try:
        main(["batch", "--aws", "--stack", stack, "--prefix", "incoming/", "--out", str(out)])
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    _, err = capsys.readouterr()
    assert code == 0, err

    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert sorted(row["key"] for row in rows) == keys  # the prefix only, each image once
    for row in rows:
        assert row["status"] == "SUCCEEDED", row
        assert row["label"] == "0" and row["confidence"] == pytest.approx(0.9)
        assert row["bucket"] == bucket and ":execution:" in row["execution_id"]
    outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    machine = {o["OutputKey"]: o["OutputValue"] for o in outputs["Outputs"]}["StateMachineArn"]
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)
    assert len(executions["executions"]) == len(keys)
