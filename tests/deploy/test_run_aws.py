"""`visiongate run --aws --stack NAME`: one execution of a deployed state machine, over boto3
against moto's server (its state-machine interpreter switched on for these tests)."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from tests.deploy.test_cli import run
from tests.deploy.test_executions import interpreted  # noqa: F401 - fixture

ROLE = "arn:aws:iam::123456789012:role/visiongate-test"


def _stack_with_machine(definition: dict) -> str:
    """A CloudFormation stack whose StateMachineArn output names a machine, as ours does.

    The machine is created through the Step Functions API: with its interpreter on, moto keeps
    executable machines apart from the ones its CloudFormation creates.
    """
    name = "vg-run-" + uuid.uuid4().hex[:8]
    arn = boto3.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"StateMachineArn": {"Value": arn}},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name


def test_run_aws_prints_the_deployed_executions_output(
    interpreted: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = _stack_with_machine(
        {
            "StartAt": "Echo",
            "States": {"Echo": {"Type": "Pass", "Parameters": {"key.$": "$.s3_key"}, "End": True}},
        }
    )
    code, out, err = run(
        ["run", "--aws", "--stack", stack, "--input", '{"s3_bucket": "b", "s3_key": "k.png"}'],
        capsys,
    )
    assert code == 0, err
    assert "SUCCEEDED" in out and '"key": "k.png"' in out


def test_run_aws_reports_the_failure_and_exits_1(
    interpreted: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = _stack_with_machine(
        {
            "StartAt": "Gate",
            "States": {
                "Gate": {
                    "Type": "Fail",
                    "Error": "THRESHOLD_CONFIDENCE_NOT_MET",
                    "Cause": "top probability 0.6 < 0.75",
                }
            },
        }
    )
    code, out, _ = run(["run", "--aws", "--stack", stack, "--input", "{}"], capsys)
    assert code == 1
    assert "FAILED" in out and "THRESHOLD_CONFIDENCE_NOT_MET" in out


def test_run_aws_needs_a_stack(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["run", "--aws", "--input", "{}"], capsys)
    assert code == 2 and "--aws needs --stack" in err
