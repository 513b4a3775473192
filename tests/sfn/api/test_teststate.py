"""TestState through boto3: one state, its data flow (inspectionLevel), mocks, retry and catch.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html
https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html
Expected values follow responses recorded against AWS in LocalStack's
test_state/test_test_state_scenarios and test_state_mock_validation snapshots.
"""

from __future__ import annotations

import json

import pytest

from tests.sfn.api.conftest import ROLE, error_of

IO_PASS = {
    "Type": "Pass",
    "InputPath": "$.initialData",
    "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
    "ResultPath": "$.modifiedData",
    "End": True,
}
IO_INPUT = {
    "initialData": {"fieldFromInput": "value from input", "otherField": "other"},
    "unrelatedData": {"someOtherField": 1234},
}
LAMBDA_TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
    "ResultSelector": {"echoed.$": "$.Payload"},
    "Next": "After",
}


def run(client, state, **kwargs):
    response = client.test_state(definition=json.dumps(state), **kwargs)
    response.pop("ResponseMetadata")
    for key in ("output",):
        if key in response:
            response[key] = json.loads(response[key])
    if "inspectionData" in response:
        response["inspectionData"] = {
            k: (json.loads(v) if isinstance(v, str) else v)
            for k, v in response["inspectionData"].items()
        }
    return response


def test_pass_state_info_shows_only_output_and_status(client):
    assert run(client, IO_PASS, input=json.dumps(IO_INPUT)) == {
        "output": {
            **IO_INPUT,
            "modifiedData": {"staticValue": "some value", "inputValue": "value from input"},
        },
        "status": "SUCCEEDED",
    }


@pytest.mark.parametrize("level", ["DEBUG", "TRACE"])
def test_pass_state_debug_shows_each_step_of_the_data_flow(client, level):
    result = run(client, IO_PASS, input=json.dumps(IO_INPUT), inspectionLevel=level)
    parameters = {"staticValue": "some value", "inputValue": "value from input"}
    assert result["inspectionData"] == {
        "input": IO_INPUT,
        "afterInputPath": IO_INPUT["initialData"],
        "afterParameters": parameters,
        "afterResultSelector": parameters,
        "afterResultPath": {**IO_INPUT, "modifiedData": parameters},
    }


def test_pass_with_result_shows_result_not_the_input_steps(client):
    state = {"Type": "Pass", "Result": {"resultKey": "result value"}, "End": True}
    result = run(client, state, input='{"Value": "HelloWorld"}', inspectionLevel="DEBUG")
    assert result["inspectionData"] == {
        "input": {"Value": "HelloWorld"},
        "result": {"resultKey": "result value"},
        "afterResultSelector": {"resultKey": "result value"},
        "afterResultPath": {"resultKey": "result value"},
    }


def test_choice_gives_the_next_state(client):
    state = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.value", "NumericLessThan": 20, "Next": "ValueInTeens"},
            {"Variable": "$.value", "NumericLessThan": 30, "Next": "ValueInTwenties"},
        ],
        "Default": "Other",
    }
    result = run(client, state, input='{"type": "Private", "value": 22}', inspectionLevel="DEBUG")
    assert result["nextState"] == "ValueInTwenties"
    assert result["output"] == {"type": "Private", "value": 22}
    assert set(result["inspectionData"]) == {"input", "afterInputPath"}


def test_fail_state_reports_error_and_cause(client):
    state = {
        "Type": "Fail",
        "Error": "SomeFailure",
        "Cause": "This state machines raises a 'SomeFailure' failure.",
    }
    result = run(client, state, input='{"Value": "HelloWorld"}', inspectionLevel="DEBUG")
    assert result["status"] == "FAILED"
    assert (result["error"], result["cause"]) == (
        "SomeFailure",
        "This state machines raises a 'SomeFailure' failure.",
    )
    assert "output" not in result


def test_succeed_and_wait_states(client):
    assert run(client, {"Type": "Succeed"}, input='{"a": 1}')["output"] == {"a": 1}
    waited = run(client, {"Type": "Wait", "Seconds": 10, "Next": "Done"}, input='{"a": 1}')
    assert (waited["status"], waited["nextState"]) == ("SUCCEEDED", "Done")


def test_task_calls_the_local_function(client):
    result = run(client, LAMBDA_TASK, roleArn=ROLE, input='{"n": 7}', inspectionLevel="DEBUG")
    assert result["status"] == "SUCCEEDED"
    assert result["nextState"] == "After"
    assert result["output"] == {"echoed": {"n": 7}}
    assert result["inspectionData"]["result"]["Payload"] == {"n": 7}
    assert result["inspectionData"]["afterParameters"] == {
        "FunctionName": "echo",
        "Payload": {"n": 7},
    }


def test_task_without_role_is_a_validation_exception(client):
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.test_state(definition=json.dumps(LAMBDA_TASK))
    assert error_of(excinfo)[1] == "RoleArn must be specified when testing a Task state"


def test_mocked_result_replaces_the_call(client):
    mock = {"result": json.dumps({"Payload": {"mocked": True}, "StatusCode": 200})}
    result = run(client, LAMBDA_TASK, input="{}", mock=mock, inspectionLevel="DEBUG")
    assert result["output"] == {"echoed": {"mocked": True}}


def test_mocked_error_caught_by_a_catcher(client):
    state = {
        **LAMBDA_TASK,
        "Catch": [
            {"ErrorEquals": ["Other"], "Next": "Nope"},
            {"ErrorEquals": ["MockException"], "ResultPath": "$.error", "Next": "HandleMockError"},
        ],
    }
    mock = {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}
    result = run(client, state, input='{"Value": "HelloWorld"}', mock=mock, inspectionLevel="DEBUG")
    assert (result["status"], result["nextState"]) == ("CAUGHT_ERROR", "HandleMockError")
    assert (result["error"], result["cause"]) == ("MockException", "Mock the cause of the error.")
    assert result["output"] == {
        "Value": "HelloWorld",
        "error": {"Error": "MockException", "Cause": "Mock the cause of the error."},
    }
    assert result["inspectionData"]["errorDetails"] == {"catchIndex": 1}


def test_mocked_error_with_a_retrier_is_retriable_until_attempts_run_out(client):
    state = {
        **LAMBDA_TASK,
        "Retry": [
            {
                "ErrorEquals": ["States.ALL"],
                "IntervalSeconds": 2,
                "BackoffRate": 3,
                "MaxAttempts": 2,
            }
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
    }
    mock = {"errorOutput": {"error": "Boom", "cause": "c"}}
    first = run(client, state, input="{}", mock=mock, inspectionLevel="DEBUG")
    assert first["status"] == "RETRIABLE"
    assert first["inspectionData"]["errorDetails"] == {
        "retryIndex": 0,
        "retryBackoffIntervalSeconds": 2,
    }
    second = run(
        client,
        state,
        input="{}",
        mock=mock,
        inspectionLevel="DEBUG",
        stateConfiguration={"retrierRetryCount": 1},
    )
    assert second["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"] == 6
    exhausted = run(
        client, state, input="{}", mock=mock, stateConfiguration={"retrierRetryCount": 2}
    )
    assert (exhausted["status"], exhausted["nextState"]) == ("CAUGHT_ERROR", "Handle")


def test_function_errors_fail_the_state(client):
    state = {**LAMBDA_TASK, "Parameters": {"FunctionName": "boom"}}
    result = run(client, state, roleArn=ROLE, input="{}")
    assert (result["status"], result["error"]) == ("FAILED", "CustomError")


def test_state_name_picks_a_state_of_a_whole_machine(client):
    machine = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Result": 1, "Next": "Second"},
            "Second": {"Type": "Pass", "Result": 2, "End": True},
        },
    }
    result = run(client, machine, stateName="Second", input="{}")
    assert result["output"] == 2 and "nextState" not in result
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.test_state(definition=json.dumps(machine), stateName="Third")
    assert error_of(excinfo)[1] == "State not found in definition"


@pytest.mark.parametrize("kind", ["Pass", "Fail", "Succeed"])
def test_mocks_are_for_tasks_map_and_parallel_only(client, kind):
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.test_state(
            definition=json.dumps(
                {"Type": kind, "End": True} if kind == "Pass" else {"Type": kind}
            ),
            mock={"result": "{}"},
        )
    assert error_of(excinfo)[1] == f"State type '{kind}' is not supported when a mock is specified"


def test_mock_validation(client):
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.test_state(
            definition=json.dumps(LAMBDA_TASK), mock={"result": "{}", "errorOutput": {"error": "E"}}
        )
    assert (
        error_of(excinfo)[1]
        == "A test mock should have only one of the following fields: [result, errorOutput]."
    )
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.test_state(
            definition=json.dumps(LAMBDA_TASK), mock={"result": "{}"}, revealSecrets=True
        )
    assert (
        error_of(excinfo)[1] == "TestState does not support RevealSecrets when a mock is specified."
    )


MAP = {
    "Type": "Map",
    "ItemsPath": "$.Values",
    "MaxConcurrency": 1,
    "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
    "End": True,
}


def test_map_and_parallel_need_a_mock(client):
    with pytest.raises(client.exceptions.InvalidDefinition) as excinfo:
        client.test_state(definition=json.dumps(MAP), input='{"Values": [1, 2, 3]}')
    assert error_of(excinfo)[1] == (
        "TestState API does not support Map or Parallel states. Supported state types include: "
        "[Task, Wait, Pass, Succeed, Fail, Choice]"
    )
    result = run(
        client,
        MAP,
        input='{"Values": [1, 2, 3]}',
        mock={"result": "[1, 1, 1]"},
        inspectionLevel="DEBUG",
    )
    assert result["output"] == [1, 1, 1]
    assert result["inspectionData"]["maxConcurrency"] == 1
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.test_state(definition=json.dumps(MAP), mock={"result": "{}"})
    assert error_of(excinfo)[1] == "Mocked result must be an array."
    parallel = {"Type": "Parallel", "Branches": [MAP["ItemProcessor"]] * 2, "End": True}
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.test_state(definition=json.dumps(parallel), mock={"result": "[1]"})
    assert (
        error_of(excinfo)[1]
        == "Mocked result must contain the same number of items as number of Parallel branches."
    )


def test_invalid_state_definitions(client):
    with pytest.raises(client.exceptions.InvalidDefinition):
        client.test_state(definition='{"Type": "Pass", "Bogus": 1, "End": true}')
    with pytest.raises(client.exceptions.InvalidDefinition):
        client.test_state(definition="not json")
    with pytest.raises(client.exceptions.InvalidExecutionInput):
        client.test_state(definition='{"Type": "Pass", "End": true}', input="{bad")
    with pytest.raises(client.exceptions.ValidationException):
        client.test_state(definition='{"Type": "Pass", "End": true}', inspectionLevel="VERBOSE")
