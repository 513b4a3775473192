"""Mocked service integrations in AWS Step Functions Local's MockConfigFile.json format.

https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sfn import handlers
from visiongate.sfn.engine import Engine
from visiongate.sfn.mock_config import InvalidMockConfig, MockConfig

# The documentation's example file, unchanged.
DOC_EXAMPLE = {
    "StateMachines": {
        "LambdaSQSIntegration": {
            "TestCases": {
                "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
                "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
                "HybridPath": {"LambdaState": "MockedLambdaSuccess"},
            }
        }
    },
    "MockedResponses": {
        "MockedLambdaSuccess": {
            "0": {
                "Return": {
                    "StatusCode": 200,
                    "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"},
                }
            }
        },
        "LambdaMockedResourceNotReady": {
            "0": {
                "Throw": {
                    "Error": "Lambda.ResourceNotReadyException",
                    "Cause": "Lambda resource is not ready.",
                }
            }
        },
        "MockedSQSSuccess": {
            "0": {
                "Return": {
                    "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
                    "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
                }
            }
        },
        "MockedLambdaRetry": {
            "0": {
                "Throw": {
                    "Error": "Lambda.ResourceNotReadyException",
                    "Cause": "Lambda resource is not ready.",
                }
            },
            "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
            "3": {
                "Return": {
                    "StatusCode": 200,
                    "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"},
                }
            },
        },
    },
}

# The documentation's LambdaSQSIntegration state machine (the SQS state writes the Lambda result).
DEFINITION = {
    "Comment": "This state machine is called: LambdaSQSIntegration",
    "StartAt": "LambdaState",
    "States": {
        "LambdaState": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"Payload.$": "$", "FunctionName": "HelloWorld"},
            "Retry": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 3,
                    "BackoffRate": 2,
                }
            ],
            "Next": "SQSState",
        },
        "SQSState": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/myQueue",
                "MessageBody.$": "$",
            },
            "End": True,
        },
    },
}


@pytest.fixture
def mocked(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(DOC_EXAMPLE))
    engine.mock_config = MockConfig.load(path)
    return engine


def test_responses_are_numbered_by_attempt_and_ranges_repeat() -> None:
    case = MockConfig(DOC_EXAMPLE).test_case("LambdaSQSIntegration", "RetryPath")
    errors = [case.response_for("LambdaState", n).error for n in range(4)]
    assert errors == [
        "Lambda.ResourceNotReadyException",
        "Lambda.TimeoutException",
        "Lambda.TimeoutException",
        None,
    ]
    assert case.response_for("LambdaState", 9).returns["StatusCode"] == 200  # the last one repeats
    assert case.response_for("NotMocked", 0) is None


def test_happy_path_uses_the_mocked_responses(mocked: Engine) -> None:
    machine = mocked.create_state_machine("LambdaSQSIntegration", DEFINITION)
    execution = mocked.start_execution(machine.arn + "#HappyPath", {"x": 1}, wait=True)
    assert execution.status == "SUCCEEDED"
    assert execution.output_value["MessageId"] == "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"
    assert handlers.CALLS == []  # nothing real ran


def test_retry_path_retries_through_the_mocked_errors(mocked: Engine) -> None:
    machine = mocked.create_state_machine("LambdaSQSIntegration", DEFINITION)
    execution = mocked.start_execution(machine.arn, {}, test_case="RetryPath", wait=True)
    assert execution.status == "SUCCEEDED"
    types = [e["type"] for e in mocked.get_execution_history(execution.arn)]
    assert types.count("TaskFailed") == 3
    assert types.count("TaskScheduled") == 5  # 4 Lambda attempts + SQS


def test_hybrid_path_runs_unmocked_states_for_real(mocked: Engine) -> None:
    machine = mocked.create_state_machine("LambdaSQSIntegration", DEFINITION)
    execution = mocked.start_execution(machine.arn + "#HybridPath", {}, wait=True)
    assert execution.status == "FAILED"  # the real SQS integration cannot run locally
    assert execution.error == "States.Runtime"


def test_unknown_test_case_is_a_clear_error(mocked: Engine) -> None:
    machine = mocked.create_state_machine("LambdaSQSIntegration", DEFINITION)
    with pytest.raises(InvalidMockConfig, match="no test case 'Nope'"):
        mocked.start_execution(machine.arn + "#Nope", {})


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        ({"0": {"Return": 1}, "2": {"Return": 2}}, "consecutively"),
        ({"x": {"Return": 1}}, "invocation number"),
        ({"0": {"Return": 1, "Throw": {"Error": "E"}}}, "exactly one of Return or Throw"),
        ({"0": {"Throw": {"Cause": "no error"}}}, "Throw needs an Error"),
    ],
)
def test_malformed_responses_are_rejected(responses: dict, message: str) -> None:
    with pytest.raises(InvalidMockConfig, match=message):
        MockConfig({"StateMachines": {}, "MockedResponses": {"R": responses}})


def test_load_reports_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{")
    with pytest.raises(InvalidMockConfig, match="not valid JSON"):
        MockConfig.load(path)
