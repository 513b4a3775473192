"""Execution actions through boto3: start, describe, list, history, stop, redrive, sync, tokens.

Expected shapes and messages come from the API reference (cited per test) and from responses
recorded against AWS in LocalStack's test_sfn_api / test_sfn_api_express snapshots. The
server runs on a virtual clock, so Wait states take no time.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta

import pytest

from tests.sfn.api import handlers
from tests.sfn.api.conftest import (
    CALLBACK_DEFINITION,
    PASS_DEFINITION,
    ROLE,
    create,
    error_of,
    unique,
)

LAMBDA = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "fail_first_time", "Payload.$": "$"},
            "ResultSelector": {"result.$": "$.Payload"},
            "End": True,
        }
    },
}


def start_callback(client, name=None, payload='{"order": 1}'):
    arn = create(client, CALLBACK_DEFINITION)
    kwargs = {"name": name} if name else {}
    execution = client.start_execution(stateMachineArn=arn, input=payload, **kwargs)
    token = handlers.TOKENS.get(timeout=10)
    return arn, execution["executionArn"], token


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html
def test_start_then_describe_a_succeeded_execution(sfn, client):
    arn = create(client)
    started = client.start_execution(
        stateMachineArn=arn, name="run-1", input='{"a": 1}', traceHeader="Root=1-abc"
    )
    name = arn.rsplit(":", 1)[1]
    assert (
        started["executionArn"] == f"arn:aws:states:us-east-1:123456789012:execution:{name}:run-1"
    )
    sfn.wait(started["executionArn"])
    described = client.describe_execution(executionArn=started["executionArn"])
    described.pop("ResponseMetadata")
    assert described["startDate"] == started["startDate"]
    assert described["stopDate"] >= described["startDate"]
    for key in ("startDate", "stopDate"):
        described.pop(key)
    assert described == {
        "executionArn": started["executionArn"],
        "stateMachineArn": arn,
        "name": "run-1",
        "status": "SUCCEEDED",
        "input": '{"a": 1}',
        "inputDetails": {"included": True},
        "output": '{"Arg1":"argument1"}',
        "outputDetails": {"included": True},
        "traceHeader": "Root=1-abc",
        "redriveCount": 0,
        "redriveStatus": "NOT_REDRIVABLE",
        "redriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
    }
    metadata = client.describe_execution(
        executionArn=started["executionArn"], includedData="METADATA_ONLY"
    )
    assert "input" not in metadata and "output" not in metadata


def test_wait_states_run_on_the_virtual_clock(sfn, client):
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    execution = client.start_execution(stateMachineArn=create(client, definition))["executionArn"]
    sfn.wait(execution)
    described = client.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED"
    assert described["stopDate"] - described["startDate"] == timedelta(hours=1)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "not json",
            "Invalid State Machine Execution Input: 'Unrecognized token 'not': was expecting "
            "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')'",
        ),
        (
            "{'not': 'json'}",
            "Invalid State Machine Execution Input: 'Unexpected character (''' (code 39)): was "
            "expecting double-quote to start field name'",
        ),
        ("", "Invalid State Machine Execution Input: 'Invalid execution input.'"),
    ],
)
def test_input_that_is_not_json_is_invalid_execution_input(client, given, message):
    arn = create(client)
    with pytest.raises(client.exceptions.InvalidExecutionInput) as excinfo:
        client.start_execution(stateMachineArn=arn, input=given)
    assert error_of(excinfo) == ("InvalidExecutionInput", message, 400)


@pytest.mark.parametrize("given", ["1", '"text"', "null", "[1, 2]"])
def test_any_json_value_is_a_valid_input(client, given):
    client.start_execution(stateMachineArn=create(client), input=given)


def test_start_errors(client):
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:" + unique()
    with pytest.raises(client.exceptions.StateMachineDoesNotExist) as excinfo:
        client.start_execution(stateMachineArn=missing)
    assert error_of(excinfo)[1] == f"State Machine Does Not Exist: '{missing}'"
    with pytest.raises(client.exceptions.InvalidArn):
        client.start_execution(stateMachineArn="not-an-arn")
    with pytest.raises(client.exceptions.InvalidName):
        client.start_execution(stateMachineArn=create(client), name="a b")
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.start_execution(stateMachineArn=create(client), input="x" * 262_145)
    assert error_of(excinfo)[1] == (
        "1 validation error detected: Value at 'input' failed to satisfy constraint: Member "
        "must have length less than or equal to 262144"
    )


def test_same_name_and_input_while_running_returns_the_running_execution(sfn, client):
    arn, execution, token = start_callback(client, name="once")
    again = client.start_execution(stateMachineArn=arn, name="once", input='{"order": 1}')
    assert again["executionArn"] == execution
    with pytest.raises(client.exceptions.ExecutionAlreadyExists) as excinfo:
        client.start_execution(stateMachineArn=arn, name="once", input='{"order": 2}')
    assert error_of(excinfo)[1] == f"Execution Already Exists: '{execution}'"
    client.send_task_success(taskToken=token, output="{}")
    sfn.wait(execution)
    with pytest.raises(
        client.exceptions.ExecutionAlreadyExists
    ):  # closed: taken regardless of input
        client.start_execution(stateMachineArn=arn, name="once", input='{"order": 1}')


def test_describe_execution_errors(client):
    with pytest.raises(client.exceptions.InvalidArn) as excinfo:
        client.describe_execution(executionArn="invalid_state_machine_arn")
    assert error_of(excinfo)[1] == "Invalid Arn: 'Invalid ARN prefix: invalid_state_machine_arn'"
    missing = "arn:aws:states:us-east-1:123456789012:execution:sm:" + unique()
    with pytest.raises(client.exceptions.ExecutionDoesNotExist) as excinfo:
        client.describe_execution(executionArn=missing)
    assert error_of(excinfo)[1] == f"Execution Does Not Exist: '{missing}'"


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
def test_list_executions_newest_first_with_status_filter_and_pages(sfn, client):
    arn = create(client)
    started = []
    for i in range(5):
        started.append(client.start_execution(stateMachineArn=arn, name=f"e{i}")["executionArn"])
        sfn.wait(started[-1])
    listed = [
        e["name"]
        for p in client.get_paginator("list_executions").paginate(
            stateMachineArn=arn, PaginationConfig={"PageSize": 2}
        )
        for e in p["executions"]
    ]
    assert sorted(listed) == [f"e{i}" for i in range(5)]
    page = client.list_executions(stateMachineArn=arn, maxResults=2, statusFilter="SUCCEEDED")
    assert len(page["executions"]) == 2 and "nextToken" in page
    item = page["executions"][0]
    assert set(item) == {
        "executionArn",
        "stateMachineArn",
        "name",
        "status",
        "startDate",
        "stopDate",
        "redriveCount",
    }
    assert client.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"] == []
    assert client.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"] == []


def test_list_executions_errors(client):
    arn = create(client)
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.list_executions(stateMachineArn=arn, statusFilter="succeeded")
    assert error_of(excinfo)[1] == (
        "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy "
        "constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, "
        "ABORTED, FAILED, RUNNING]"
    )
    with pytest.raises(client.exceptions.InvalidArn) as excinfo:
        client.list_executions(stateMachineArn="invalid_state_machine_arn")
    assert error_of(excinfo)[1] == "Invalid Arn: 'Invalid ARN prefix: invalid_state_machine_arn'"
    with pytest.raises(client.exceptions.StateMachineDoesNotExist):
        client.list_executions(stateMachineArn=arn + "-missing")
    with pytest.raises(client.exceptions.InvalidToken):
        client.list_executions(stateMachineArn=arn, nextToken="not-a-token")
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.list_executions(stateMachineArn=arn, nextToken="t" * 3097)
    assert "Member must have length less than or equal to 3096" in error_of(excinfo)[1]
    with pytest.raises(client.exceptions.ValidationException):
        client.list_executions()


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
def test_history_events_pages_and_reverse_order(sfn, client):
    arn = create(client)
    execution = client.start_execution(stateMachineArn=arn, input='{"x": 1}')["executionArn"]
    sfn.wait(execution)
    events = client.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert [(e["id"], e["previousEventId"]) for e in events] == [(1, 0), (2, 0), (3, 2), (4, 3)]
    assert events[0]["executionStartedEventDetails"] == {
        "input": '{"x": 1}',
        "inputDetails": {"truncated": False},
        "roleArn": ROLE,
    }
    reverse = client.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
    assert [e["id"] for e in reverse] == [4, 3, 2, 1]
    first = client.get_execution_history(executionArn=execution, maxResults=3)
    rest = client.get_execution_history(
        executionArn=execution, maxResults=3, nextToken=first["nextToken"]
    )
    assert [e["id"] for e in first["events"] + rest["events"]] == [1, 2, 3, 4]
    assert "nextToken" not in rest
    with pytest.raises(client.exceptions.InvalidToken):  # a token is bound to its request
        client.get_execution_history(
            executionArn=execution, reverseOrder=True, nextToken=first["nextToken"]
        )
    lean = client.get_execution_history(executionArn=execution, includeExecutionData=False)[
        "events"
    ]
    assert "input" not in lean[0]["executionStartedEventDetails"]
    assert "output" not in lean[-1]["executionSucceededEventDetails"]


def test_history_errors(client):
    with pytest.raises(client.exceptions.InvalidArn):
        client.get_execution_history(executionArn="invalid_state_machine_arn")
    with pytest.raises(client.exceptions.ExecutionDoesNotExist):
        client.get_execution_history(
            executionArn="arn:aws:states:us-east-1:123456789012:execution:a:" + unique()
        )


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachineForExecution.html
def test_describe_state_machine_for_execution_shows_the_definition_it_ran(sfn, client):
    arn = create(client)
    execution = client.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.wait(execution)
    client.update_state_machine(
        stateMachineArn=arn, definition=json.dumps({**PASS_DEFINITION, "Comment": "v2"})
    )
    described = client.describe_state_machine_for_execution(executionArn=execution)
    assert json.loads(described["definition"]) == PASS_DEFINITION
    assert described["stateMachineArn"] == arn
    assert described["roleArn"] == ROLE
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert "updateDate" in described
    with pytest.raises(client.exceptions.ExecutionDoesNotExist):
        client.describe_state_machine_for_execution(executionArn=execution + "x")


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
def test_send_task_success_completes_a_callback_task(sfn, client):
    _arn, execution, token = start_callback(client)
    assert client.describe_execution(executionArn=execution)["status"] == "RUNNING"
    client.send_task_heartbeat(taskToken=token)
    client.send_task_success(taskToken=token, output='{"approved": true}')
    sfn.wait(execution)
    described = client.describe_execution(executionArn=execution)
    assert (described["status"], json.loads(described["output"])) == (
        "SUCCEEDED",
        {"approved": True},
    )
    with pytest.raises(client.exceptions.TaskTimedOut):  # the task is closed
        client.send_task_success(taskToken=token, output="{}")
    with pytest.raises(client.exceptions.TaskTimedOut):
        client.send_task_heartbeat(taskToken=token)


def test_send_task_failure_fails_the_execution(sfn, client):
    _arn, execution, token = start_callback(client)
    client.send_task_failure(taskToken=token, error="Rejected", cause="not approved")
    sfn.wait(execution)
    described = client.describe_execution(executionArn=execution)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Rejected",
        "not approved",
    )
    assert described["redriveStatus"] == "REDRIVABLE"


def test_task_token_errors(sfn, client):
    with pytest.raises(client.exceptions.InvalidToken) as excinfo:
        client.send_task_success(taskToken="not-a-token", output="{}")
    assert error_of(excinfo) == ("InvalidToken", "Invalid Token: 'Invalid token'", 400)
    unknown = base64.b64encode(os.urandom(96)).decode()
    with pytest.raises(client.exceptions.TaskDoesNotExist):
        client.send_task_failure(taskToken=unknown)
    _arn, execution, token = start_callback(client)
    with pytest.raises(client.exceptions.InvalidOutput):
        client.send_task_success(taskToken=token, output="{not json")
    client.send_task_success(taskToken=token, output="[]")
    sfn.wait(execution)


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html
def test_stop_execution_aborts_with_error_and_cause(sfn, client):
    _arn, execution, _token = start_callback(client)
    stopped = client.stop_execution(executionArn=execution, error="Stop", cause="by test")
    described = client.describe_execution(executionArn=execution)
    assert (described["status"], described["error"], described["cause"]) == (
        "ABORTED",
        "Stop",
        "by test",
    )
    assert described["stopDate"] == stopped["stopDate"]
    last = client.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=1)[
        "events"
    ][0]
    assert last["type"] == "ExecutionAborted"
    assert last["executionAbortedEventDetails"] == {"error": "Stop", "cause": "by test"}
    again = client.stop_execution(executionArn=execution)  # already stopped: same stop date
    assert again["stopDate"] == stopped["stopDate"]
    with pytest.raises(client.exceptions.ExecutionDoesNotExist):
        client.stop_execution(executionArn=execution + "-x")


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html
def test_redrive_restarts_the_failed_state(sfn, client):
    arn = create(client, LAMBDA)
    execution = client.start_execution(stateMachineArn=arn, input=json.dumps({"key": unique()}))[
        "executionArn"
    ]
    sfn.wait(execution)
    failed = client.describe_execution(executionArn=execution)
    assert (failed["status"], failed["error"]) == ("FAILED", "CustomError")
    redriven = client.redrive_execution(executionArn=execution)
    sfn.wait(execution)
    described = client.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED"
    assert described["redriveCount"] == 1
    assert described["redriveDate"] == redriven["redriveDate"]
    types = [e["type"] for e in client.get_execution_history(executionArn=execution)["events"]]
    assert "ExecutionRedriven" in types
    assert (
        client.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"][0][
            "redriveCount"
        ]
        == 1
    )
    with pytest.raises(client.exceptions.ExecutionNotRedrivable):
        client.redrive_execution(executionArn=execution)


def test_deleting_a_machine_with_running_executions(sfn, client):
    arn, execution, token = start_callback(client)
    client.delete_state_machine(stateMachineArn=arn)
    assert client.describe_state_machine(stateMachineArn=arn)["status"] == "DELETING"
    with pytest.raises(client.exceptions.StateMachineDeleting):
        client.start_execution(stateMachineArn=arn)
    client.send_task_success(taskToken=token, output="{}")
    sfn.wait(execution)
    with pytest.raises(client.exceptions.StateMachineDoesNotExist):
        client.describe_state_machine(stateMachineArn=arn)
    assert client.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html
def test_start_sync_execution_of_an_express_machine(client):
    arn = create(client, type="EXPRESS")
    result = client.start_sync_execution(stateMachineArn=arn, name="sync-1", input="{}")
    assert result["executionArn"].startswith(
        arn.replace(":stateMachine:", ":express:") + ":sync-1:"
    )
    assert (result["status"], result["output"], result["name"]) == (
        "SUCCEEDED",
        '{"Arg1":"argument1"}',
        "sync-1",
    )
    assert result["inputDetails"] == {"included": True} and result["outputDetails"] == {
        "included": True
    }
    assert result["billingDetails"] == {
        "billedMemoryUsedInMB": 64,
        "billedDurationInMilliseconds": 100,
    }
    failing = create(
        client,
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}},
        type="EXPRESS",
    )
    failed = client.start_sync_execution(stateMachineArn=failing)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "E", "C")
    assert "output" not in failed


def test_start_sync_execution_of_a_standard_machine_is_not_supported(client):
    with pytest.raises(client.exceptions.StateMachineTypeNotSupported) as excinfo:
        client.start_sync_execution(stateMachineArn=create(client))
    assert error_of(excinfo) == (
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
        400,
    )


def test_express_executions_have_no_description_or_history(client):
    arn = create(client, type="EXPRESS")
    execution = client.start_execution(stateMachineArn=arn)["executionArn"]
    assert ":express:" in execution
    message = "Invalid Arn: 'Resource type not valid in this context: express'"
    for call in (client.describe_execution, client.get_execution_history, client.stop_execution):
        with pytest.raises(client.exceptions.InvalidArn) as excinfo:
            call(executionArn=execution)
        assert error_of(excinfo)[1] == message
    with pytest.raises(client.exceptions.StateMachineTypeNotSupported):
        client.list_executions(stateMachineArn=arn)


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html
def test_distributed_map_runs(sfn, client):
    definition = {
        "StartAt": "Map",
        "States": {
            "Map": {
                "Type": "Map",
                "Label": "items",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    execution = client.start_execution(
        stateMachineArn=create(client, definition), input='{"items": [1, 2, 3]}'
    )["executionArn"]
    sfn.wait(execution)
    runs = client.list_map_runs(executionArn=execution)["mapRuns"]
    assert len(runs) == 1 and runs[0]["executionArn"] == execution
    run = client.describe_map_run(mapRunArn=runs[0]["mapRunArn"])
    assert (run["status"], run["maxConcurrency"]) == ("SUCCEEDED", 2)
    assert run["itemCounts"]["succeeded"] == 3 and run["executionCounts"]["total"] == 3
    children = client.list_executions(mapRunArn=runs[0]["mapRunArn"])["executions"]
    assert sorted(
        json.loads(client.describe_execution(executionArn=c["executionArn"])["output"])
        for c in children
    ) == [1, 2, 3]
    assert all(c["mapRunArn"] == runs[0]["mapRunArn"] for c in children)
    missing = runs[0]["mapRunArn"][:-4] + "0000"
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_map_run(mapRunArn=missing)
    with pytest.raises(client.exceptions.InvalidArn):
        client.describe_map_run(mapRunArn="junk")
