"""The AWS CLI (`aws stepfunctions --endpoint-url`) works against the server unchanged.

Skipped when the `aws` command is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

AWS = shutil.which("aws")
pytestmark = pytest.mark.skipif(AWS is None, reason="the AWS CLI (aws) is not installed")


def aws(sfn, *args: str) -> dict:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "any",
        "AWS_SECRET_ACCESS_KEY": "any",
        "AWS_DEFAULT_REGION": "us-west-2",
    }
    env["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"  # for start-sync-execution / test-state
    result = subprocess.run(
        [AWS, "stepfunctions", "--endpoint-url", sfn.url, "--output", "json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0 or "An error occurred" in result.stderr, result.stderr
    return {
        "rc": result.returncode,
        "out": json.loads(result.stdout) if result.stdout.strip() else None,
        "err": result.stderr,
    }


def test_create_start_and_describe_with_the_aws_cli(sfn):
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    created = aws(
        sfn,
        "create-state-machine",
        "--name",
        "from-cli",
        "--definition",
        definition,
        "--role-arn",
        "arn:aws:iam::123456789012:role/r",
        "--type",
        "EXPRESS",
    )["out"]
    assert (
        created["stateMachineArn"] == "arn:aws:states:us-west-2:123456789012:stateMachine:from-cli"
    )
    result = aws(
        sfn,
        "start-sync-execution",
        "--state-machine-arn",
        created["stateMachineArn"],
        "--input",
        '{"a": 1}',
    )["out"]
    assert (result["status"], json.loads(result["output"])) == ("SUCCEEDED", {"a": 1})
    missing = aws(
        sfn, "describe-state-machine", "--state-machine-arn", created["stateMachineArn"] + "-x"
    )
    assert missing["rc"] != 0 and "(StateMachineDoesNotExist)" in missing["err"]
