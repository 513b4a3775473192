"""Task resources: lambda:invoke, plain function ARNs, mocks of other services, nested runs.

https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
"""

from __future__ import annotations

import json
import sys

import pytest

from visiongate.sfn.engine import Engine
from visiongate.sfn.mock_config import MockConfig

INVOKE = "arn:aws:states:::lambda:invoke"


def invoke(function: str, **extra) -> dict:
    state = {
        "Type": "Task",
        "Resource": INVOKE,
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "End": True,
    }
    state.update(extra)
    return {"StartAt": "Invoke", "States": {"Invoke": state}}


def test_lambda_invoke_returns_lambdas_response_as_aws_does(engine: Engine) -> None:
    result = engine.run(invoke("echo"), {"who": "me"})
    assert result.succeeded
    response = result.output
    assert sorted(response) == [
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    ]
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["StatusCode"] == 200
    assert response["Payload"] == {"who": "me"}
    metadata = response["SdkHttpMetadata"]
    assert metadata["HttpStatusCode"] == 200
    assert metadata["HttpHeaders"]["X-Amz-Executed-Version"] == "$LATEST"
    assert metadata["HttpHeaders"]["Content-Type"] == "application/json"
    assert metadata["AllHttpHeaders"]["X-Amz-Executed-Version"] == ["$LATEST"]
    request_id = response["SdkResponseMetadata"]["RequestId"]
    assert metadata["HttpHeaders"]["x-amzn-RequestId"] == request_id


def test_function_exception_surfaces_with_its_class_name_and_lambdas_error_document(
    engine: Engine,
) -> None:
    result = engine.run(invoke("fail"), {"message": "bad input"})
    assert result.status == "FAILED"
    assert result.error == "CustomError"
    cause = json.loads(result.cause)
    assert list(cause) == ["errorMessage", "errorType", "stackTrace"]
    assert cause["errorMessage"] == "bad input"
    assert cause["errorType"] == "CustomError"
    assert any("handlers.py" in line and "in fail" in line for line in cause["stackTrace"])
    failed = [e for e in result.history if e["type"] == "TaskFailed"][0]["taskFailedEventDetails"]
    assert failed["error"] == "CustomError" and failed["resourceType"] == "lambda"


def test_builtin_exception_names_are_reported_too(engine: Engine) -> None:
    result = engine.run(invoke("value_error"))
    assert (result.error, json.loads(result.cause)["errorMessage"]) == ("ValueError", "bad value")


def test_unknown_function_is_lambdas_resource_not_found(engine: Engine) -> None:
    result = engine.run(invoke("no-such-function"))
    assert result.error == "Lambda.ResourceNotFoundException"
    assert result.cause.startswith(
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-function"
    )


def test_a_definition_cannot_import_code_that_is_not_configured(
    engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vg_canary.py").write_text("def handler(event, context):\n    return 'ran'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in (
        "vg_canary:handler",
        "vg_canary",
        "arn:aws:lambda:us-east-1:123456789012:function:vg_canary",
    ):
        result = engine.run(invoke(name))
        assert result.error == "Lambda.ResourceNotFoundException"
    assert "vg_canary" not in sys.modules


def test_functions_come_from_settings_too(tmp_path, clock) -> None:
    from visiongate.config import load_settings

    settings = load_settings(functions={"greeter": "tests.sfn.handlers:hello"})
    with Engine(settings, clock=clock, database=tmp_path / "db.sqlite") as engine:
        result = engine.run(invoke("greeter"), {"who": "settings"})
    assert result.output["Payload"] == "Hello, settings!"


def test_function_name_may_be_a_full_or_partial_arn(engine: Engine) -> None:
    for name in (
        "arn:aws:lambda:us-east-1:123456789012:function:echo:$LATEST",
        "123456789012:function:echo",
        "echo:live",
    ):
        assert engine.run(invoke(name), {"n": 1}).output["Payload"] == {"n": 1}


def test_payload_json_string_is_parsed_and_missing_payload_is_empty_object(engine: Engine) -> None:
    as_string = {
        "StartAt": "I",
        "States": {
            "I": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "echo", "Payload": '{"a": 1}'},
                "End": True,
            }
        },
    }
    assert engine.run(as_string).output["Payload"] == {"a": 1}
    no_payload = {
        "StartAt": "I",
        "States": {
            "I": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "echo"},
                "End": True,
            }
        },
    }
    assert engine.run(no_payload).output["Payload"] == {}


def test_result_that_is_not_json_is_a_marshal_error(engine: Engine) -> None:
    result = engine.run(invoke("not_json"))
    assert result.error == "Runtime.MarshalError"


def test_invocation_type_event_returns_202_at_once(engine: Engine) -> None:
    definition = {
        "StartAt": "I",
        "States": {
            "I": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "echo", "InvocationType": "Event", "Payload": {}},
                "End": True,
            }
        },
    }
    result = engine.run(definition)
    assert result.output["StatusCode"] == 202
    assert result.output["Payload"] == ""


def test_plain_function_arn_result_is_the_function_output(engine: Engine) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:hello"
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
    assert engine.run(definition, {"who": "you"}).output == "Hello, you!"
    failed = engine.run(
        {
            "StartAt": "T",
            "States": {
                "T": {"Type": "Task", "Resource": arn.replace("hello", "fail"), "End": True}
            },
        },
        {},
    )
    assert failed.error == "CustomError"
    assert [e["type"] for e in failed.history][-2:] == ["LambdaFunctionFailed", "ExecutionFailed"]


def test_handlers_receive_a_lambda_context(engine: Engine) -> None:
    info = engine.run(invoke("context_info")).output["Payload"]
    assert info["function_name"] == "context_info"
    assert (
        info["invoked_function_arn"]
        == "arn:aws:lambda:us-east-1:123456789012:function:context_info"
    )
    assert len(info["aws_request_id"]) == 36
    assert info["memory_limit_in_mb"] == 128
    assert info["log_group_name"] == "/aws/lambda/context_info"
    assert info["remaining_positive"] is True


def test_function_log_records_reach_the_listeners_with_execution_and_request(
    engine: Engine,
) -> None:
    records: list[dict] = []
    engine.on_function_log.append(records.append)
    result = engine.run(invoke("logs"), {"item": "cat.png"})
    messages = [r["message"] for r in records]
    assert "processing cat.png" in messages
    assert any(m.startswith("START RequestId: ") for m in messages)
    assert any(m.startswith("REPORT RequestId: ") for m in messages)
    record = next(r for r in records if r["message"] == "processing cat.png")
    assert record["level"] == "WARNING"
    assert record["function_name"] == "logs"
    assert record["execution_arn"] == result.arn
    assert record["state_name"] == "Invoke"
    assert record["request_id"] == result.output["SdkResponseMetadata"]["RequestId"]


def test_task_timeout_is_states_timeout_with_task_timed_out_event(engine: Engine) -> None:
    result = engine.run(invoke("slow", TimeoutSeconds=5), {"seconds": 60})
    assert result.error == "States.Timeout"
    timed_out = [e for e in result.history if e["type"] == "TaskTimedOut"][0]
    assert timed_out["taskTimedOutEventDetails"]["error"] == "States.Timeout"


def test_timeout_seconds_path_reads_the_input(engine: Engine) -> None:
    fast_enough = engine.run(
        invoke("slow", TimeoutSecondsPath="$.limit"), {"seconds": 3, "limit": 10}
    )
    assert fast_enough.succeeded
    too_slow = engine.run(
        invoke("slow", TimeoutSecondsPath="$.limit"), {"seconds": 30, "limit": 10}
    )
    assert too_slow.error == "States.Timeout"


def test_other_service_integrations_run_only_when_mocked(engine: Engine) -> None:
    definition = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "q", "MessageBody": "m"},
                "End": True,
            }
        },
    }
    unmocked = engine.run(definition)
    assert unmocked.error == "States.Runtime"
    assert "cannot run locally" in unmocked.cause
    engine.mock_config = MockConfig(
        {
            "StateMachines": {"Sqs": {"TestCases": {"Happy": {"Send": "Sent"}}}},
            "MockedResponses": {
                "Sent": {"0": {"Return": {"MessageId": "m-1", "MD5OfMessageBody": "abc"}}}
            },
        }
    )
    mocked = engine.run(definition, state_machine_name="Sqs", test_case="Happy")
    assert mocked.output == {"MessageId": "m-1", "MD5OfMessageBody": "abc"}
    scheduled = mocked.history[2]["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("sqs", "sendMessage")


def test_nested_execution_sync_2_returns_the_child_output(engine: Engine) -> None:
    child = engine.create_state_machine(
        "Child",
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"done": True}, "End": True}}},
    )
    parent = {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child.arn, "Input": {"x": 1}},
                "OutputPath": "$.Output",
                "End": True,
            }
        },
    }
    assert engine.run(parent).output == {"done": True}
    failing = engine.create_state_machine(
        "FailingChild", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope"}}}
    )
    parent["States"]["Run"]["Parameters"]["StateMachineArn"] = failing.arn
    result = engine.run(parent)
    assert result.error == "States.TaskFailed"
    assert json.loads(result.cause)["Error"] == "Nope"


@pytest.mark.parametrize(
    "resource",
    ["arn:aws:states:::lambda:invoke", "arn:aws:lambda:us-east-1:123456789012:function:big"],
)
def test_oversized_results_are_data_limit_exceeded(engine: Engine, resource: str) -> None:
    state = {"Type": "Task", "Resource": resource, "End": True}
    if resource == INVOKE:
        state["Parameters"] = {"FunctionName": "big"}
    result = engine.run({"StartAt": "T", "States": {"T": state}})
    assert result.error == "States.DataLimitExceeded"
