"""JSONata and workflow variables through boto3 over real HTTP.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
History shapes (``assignedVariables`` as JSON text per variable, ``EvaluationFailed`` linked to
the event before the state's Entered event) follow executions recorded against AWS in
LocalStack's assign/test_assign_* snapshots.
"""

from __future__ import annotations

import json

import pytest

from tests.sfn.api.conftest import ROLE, create, error_of, unique

ORDER = {
    "QueryLanguage": "JSONata",
    "Comment": "Store inputs in variables, call a function, answer from variables",
    "StartAt": "Store inputs",
    "States": {
        "Store inputs": {
            "Type": "Pass",
            "Assign": {
                "desiredPrice": "{% $states.input.desired_price %}",
                "maximumWait": "{% $states.input.max_days %}",
            },
            "Next": "Get Current Price",
        },
        "Get Current Price": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {
                "FunctionName": "echo",
                "Payload": {"product": "{% $states.input.product %}", "current_price": 12},
            },
            "Assign": {"currentPrice": "{% $states.result.Payload.current_price %}"},
            "Output": {"product": "{% $states.result.Payload.product %}"},
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% $currentPrice <= $desiredPrice %}", "Next": "Buy"},
            ],
            "Default": "Wait",
        },
        "Buy": {
            "Type": "Succeed",
            "Output": {"bought": "{% $states.input.product %}", "price": "{% $currentPrice %}"},
        },
        "Wait": {
            "Type": "Succeed",
            "Output": {"waitDays": "{% $maximumWait %}", "price": "{% $currentPrice %}"},
        },
    },
}


def run(client, sfn, definition, payload):
    arn = create(client, definition)
    execution = client.start_execution(stateMachineArn=arn, input=json.dumps(payload))
    sfn.wait(execution["executionArn"])
    return arn, execution["executionArn"]


def test_a_jsonata_machine_runs_and_describes_its_output(sfn, client):
    arn, execution = run(
        client, sfn, ORDER, {"product": "lamp", "desired_price": 20, "max_days": 3}
    )
    described = client.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"bought": "lamp", "price": 12}
    _, cheaper = run(client, sfn, ORDER, {"product": "lamp", "desired_price": 5, "max_days": 3})
    assert json.loads(client.describe_execution(executionArn=cheaper)["output"]) == {
        "waitDays": 3,
        "price": 12,
    }
    assert json.loads(client.describe_state_machine(stateMachineArn=arn)["definition"]) == ORDER


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateExitedEventDetails.html
def test_history_records_assigned_variables(sfn, client):
    _, execution = run(client, sfn, ORDER, {"product": "lamp", "desired_price": 20, "max_days": 3})
    events = client.get_execution_history(executionArn=execution)["events"]
    exited = [e["stateExitedEventDetails"] for e in events if "stateExitedEventDetails" in e]
    assert exited[0]["assignedVariables"] == {"desiredPrice": "20", "maximumWait": "3"}
    assert exited[0]["assignedVariablesDetails"] == {"truncated": False}
    assert exited[1]["assignedVariables"] == {"currentPrice": "12"}
    assert all("assignedVariables" not in details for details in exited[2:])


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_EvaluationFailedEventDetails.html
def test_an_undefined_expression_fails_with_an_evaluation_failed_event(sfn, client):
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "State0",
        "States": {
            "State0": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": True}
        },
    }
    _, execution = run(client, sfn, definition, {})
    described = client.describe_execution(executionArn=execution)
    cause = (
        "An error occurred while executing the state 'State0' (entered at the event id #2). "
        "The JSONata expression '$doesNotExist' specified for the field 'Output/result' "
        "returned nothing (undefined)."
    )
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "States.QueryEvaluationError",
        cause,
    )
    events = client.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "EvaluationFailed",
        "ExecutionFailed",
    ]
    failed = events[2]
    assert failed["previousEventId"] == 0
    assert failed["evaluationFailedEventDetails"] == {
        "cause": cause,
        "error": "States.QueryEvaluationError",
        "location": "Output/result",
        "state": "State0",
    }
    assert events[3]["previousEventId"] == failed["id"]


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachine.html
def test_describe_state_machine_lists_variable_references(client):
    arn = create(client, ORDER)
    described = client.describe_state_machine(stateMachineArn=arn)
    assert described["variableReferences"] == {
        "Decide": ["currentPrice", "desiredPrice"],
        "Buy": ["currentPrice"],
        "Wait": ["maximumWait", "currentPrice"],
    }
    jsonpath = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "Parameters": {"v.$": "$x", "t.$": "States.Format('{}', $y.z)"},
                "End": True,
            },
        },
    }
    plain = client.describe_state_machine(stateMachineArn=create(client, jsonpath))
    assert plain["variableReferences"] == {"B": ["x", "y"]}


def test_validate_reports_jsonata_and_variable_mistakes(client):
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Pass",
                "Assign": {"x.y": 1},
                "Output": {"broken": "{% $states.input + %}", "root": "{% $$ %}"},
                "End": True,
            }
        },
    }
    result = client.validate_state_machine_definition(definition=json.dumps(definition))
    assert result["result"] == "FAIL"
    found = {(d["code"], d["location"]) for d in result["diagnostics"]}
    assert found == {
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Assign/x.y"),
        ("INVALID_JSONATA_EXPRESSION", "/States/A/Output/broken"),
        ("UNSUPPORTED_JSONATA_EXPRESSION", "/States/A/Output/root"),
    }
    with pytest.raises(client.exceptions.InvalidDefinition) as caught:
        client.create_state_machine(name=unique(), definition=json.dumps(definition), roleArn=ROLE)
    assert error_of(caught)[0] == "InvalidDefinition"


def test_resume_keeps_variables_through_a_redrive(sfn, client):
    # Redrive restarts at the failed state with the variables it had (checkpointed).
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Remember",
        "States": {
            "Remember": {
                "Type": "Pass",
                "Assign": {"key": "{% $states.input.key %}"},
                "Next": "Call",
            },
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "fail_first_time", "Payload": {"key": "{% $key %}"}},
                "Output": {"remembered": "{% $key %}", "answer": "{% $states.result.Payload %}"},
                "End": True,
            },
        },
    }
    key = unique("redrive")
    _, execution = run(client, sfn, definition, {"key": key})
    assert client.describe_execution(executionArn=execution)["status"] == "FAILED"
    client.redrive_execution(executionArn=execution)
    sfn.wait(execution)
    described = client.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {
        "remembered": key,
        "answer": {"key": key, "attempt": "again"},
    }


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html
def test_test_state_runs_a_jsonata_task_with_variables(client):
    state = {
        "QueryLanguage": "JSONata",
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "echo", "Payload": {"who": "{% $name %}"}},
        "Assign": {"greeted": "{% $states.result.Payload.who %}"},
        "Output": "{% $states.result.Payload %}",
        "End": True,
    }
    response = client.test_state(
        definition=json.dumps(state),
        roleArn=ROLE,
        input=json.dumps({"ignored": True}),
        variables=json.dumps({"name": "Ada"}),
        inspectionLevel="DEBUG",
    )
    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"]) == {"who": "Ada"}
    inspection = response["inspectionData"]
    assert json.loads(inspection["afterArguments"]) == {
        "FunctionName": "echo",
        "Payload": {"who": "Ada"},
    }
    assert json.loads(inspection["result"])["Payload"] == {"who": "Ada"}
    assert json.loads(inspection["variables"]) == {"name": "Ada", "greeted": "Ada"}
    assert "afterParameters" not in inspection


def test_test_state_jsonpath_state_reads_variables(client):
    state = {
        "Type": "Pass",
        "Parameters": {"total.$": "States.MathAdd($a, $b)"},
        "Assign": {"sum.$": "$.total"},
        "End": True,
    }
    response = client.test_state(
        definition=json.dumps(state),
        input="{}",
        variables=json.dumps({"a": 2, "b": 3}),
        inspectionLevel="DEBUG",
    )
    assert json.loads(response["output"]) == {"total": 5}
    assert json.loads(response["inspectionData"]["variables"]) == {"a": 2, "b": 3, "sum": 5}


def test_test_state_reports_a_query_evaluation_error(client):
    state = {"QueryLanguage": "JSONata", "Type": "Pass", "Output": "{% $nope %}", "End": True}
    response = client.test_state(definition=json.dumps(state), input="{}")
    assert (response["status"], response["error"]) == ("FAILED", "States.QueryEvaluationError")
    assert "'$nope' specified for the field 'Output' returned nothing" in response["cause"]
