"""State machine actions through boto3: Create/Update/Describe/List/Delete, tags, validation.

Expected responses and error messages are AWS's: the API reference pages cited per test, and
responses recorded against AWS in LocalStack's snapshot files
(tests/aws/services/stepfunctions/v2/test_sfn_api*.snapshot.json).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from tests.sfn.api.conftest import PASS_DEFINITION, ROLE, create, error_of, unique

UPDATED = {
    "Comment": "BASE_PASS_RESULT",
    "StartAt": "State_1",
    "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "AfterUpdate1"}, "End": True}},
}


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
def test_create_returns_arn_in_the_request_region_and_creation_date(sfn):
    client = sfn.client("eu-west-3")
    name = unique()
    response = client.create_state_machine(
        name=name, definition=json.dumps(PASS_DEFINITION), roleArn=ROLE
    )
    assert (
        response["stateMachineArn"] == f"arn:aws:states:eu-west-3:123456789012:stateMachine:{name}"
    )
    assert isinstance(response["creationDate"], datetime)
    assert "stateMachineVersionArn" not in response


def test_describe_state_machine_has_aws_defaults(client):
    definition = json.dumps(PASS_DEFINITION, indent=2)
    arn = create(client, definition)
    described = client.describe_state_machine(stateMachineArn=arn)
    assert described["definition"] == definition  # returned exactly as given
    assert described["status"] == "ACTIVE"
    assert described["type"] == "STANDARD"
    assert described["roleArn"] == ROLE
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert described["tracingConfiguration"] == {"enabled": False}
    assert "revisionId" not in described  # AWS shows it only after an update


def test_create_is_idempotent_for_the_same_definition_even_with_another_role(client):
    name = unique()
    first = client.create_state_machine(
        name=name, definition=json.dumps(PASS_DEFINITION), roleArn=ROLE
    )
    again = client.create_state_machine(
        name=name, definition=json.dumps(PASS_DEFINITION), roleArn=ROLE + "-other"
    )
    assert again["stateMachineArn"] == first["stateMachineArn"]
    assert again["creationDate"] == first["creationDate"]
    assert (
        client.describe_state_machine(stateMachineArn=first["stateMachineArn"])["roleArn"] == ROLE
    )


def test_same_name_with_another_definition_is_state_machine_already_exists(client):
    name = unique()
    arn = create(client, name=name)
    with pytest.raises(client.exceptions.StateMachineAlreadyExists) as excinfo:
        create(client, UPDATED, name=name)
    assert error_of(excinfo) == (
        "StateMachineAlreadyExists",
        f"State Machine Already Exists: '{arn}'",
        400,
    )


def test_invalid_definition_lists_problems_with_locations(client):
    with pytest.raises(client.exceptions.InvalidDefinition) as excinfo:
        create(client, {"StartAt": "A"})
    assert error_of(excinfo)[1] == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are "
        "required: [States] at /'"
    )
    with pytest.raises(client.exceptions.InvalidDefinition) as excinfo:
        create(client, {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}})
    message = error_of(excinfo)[1]
    assert "MISSING_TRANSITION_TARGET: Missing 'Next' target: B at /States/A/Next" in message


def test_definition_that_is_not_json_is_invalid_definition(client):
    with pytest.raises(client.exceptions.InvalidDefinition) as excinfo:
        create(client, "not a definition")
    assert "INVALID_JSON_DESCRIPTION: Unrecognized token 'not'" in error_of(excinfo)[1]


def test_jsonata_definitions_go_to_the_engine_untouched(client):
    # QueryLanguage is the engine's business: the API neither rejects nor rewrites it.
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": "{% $states.input %}", "End": True}},
    }
    try:
        arn = create(client, definition)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        assert code == "UnsupportedFeature", code
        assert "QueryLanguage" in exc.response["Error"]["Message"]
    else:
        assert (
            json.loads(client.describe_state_machine(stateMachineArn=arn)["definition"])
            == definition
        )


# https://docs.aws.amazon.com/step-functions/latest/dg/concepts-standard-vs-express.html
@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "SCHEMA_VALIDATION_FAILED: Express state machine does not support "
            "'.waitForTaskToken' service integration  at /States/Publish/Resource",
        ),
        (
            "arn:aws:states:::states:startExecution.sync",
            "SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service "
            "integration at /States/Publish/Resource",
        ),
    ],
)
def test_express_rejects_callbacks_and_sync(client, resource, message):
    definition = {
        "StartAt": "Publish",
        "States": {
            "Publish": {"Type": "Task", "Resource": resource, "Parameters": {}, "End": True}
        },
    }
    with pytest.raises(client.exceptions.InvalidDefinition) as excinfo:
        create(client, definition, type="EXPRESS")
    assert error_of(excinfo)[1] == f"Invalid State Machine Definition: '{message}'"


@pytest.mark.parametrize("name", ["has space", "a/b", "star*", "semi;colon"])
def test_forbidden_characters_are_invalid_name(client, name):
    with pytest.raises(client.exceptions.InvalidName) as excinfo:
        create(client, name=name)
    assert error_of(excinfo) == ("InvalidName", f"Invalid Name: '{name}'", 400)


def test_name_longer_than_80_is_a_validation_exception(client):
    name = "n" * 81
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        create(client, name=name)
    assert error_of(excinfo)[1] == (
        f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
        "Member must have length less than or equal to 80"
    )


def test_type_must_be_standard_or_express(sfn, client):
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        create(client, type="FAST")
    assert "Member must satisfy enum value set: [STANDARD, EXPRESS]" in error_of(excinfo)[1]


def test_role_arn_must_be_an_arn(client):
    with pytest.raises(client.exceptions.InvalidArn) as excinfo:
        create(client, roleArn="snf_role_arn")
    assert error_of(excinfo)[1] == "Invalid Arn: 'Invalid ARN prefix: snf_role_arn'"


def test_logging_level_needs_a_destination(client):
    with pytest.raises(client.exceptions.InvalidLoggingConfiguration):
        create(client, loggingConfiguration={"level": "ALL"})


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_UpdateStateMachine.html
def test_update_changes_definition_and_role_with_a_new_revision(client):
    arn = create(client)
    updated = client.update_state_machine(
        stateMachineArn=arn, definition=json.dumps(UPDATED), roleArn=ROLE + "-2"
    )
    assert isinstance(updated["updateDate"], datetime)
    described = client.describe_state_machine(stateMachineArn=arn)
    assert json.loads(described["definition"]) == UPDATED
    assert described["roleArn"] == ROLE + "-2"
    assert described["revisionId"] == updated["revisionId"]
    # The same parameters again: nothing changes, the revision stays.
    again = client.update_state_machine(stateMachineArn=arn, roleArn=ROLE + "-2")
    assert again["revisionId"] == updated["revisionId"]


def test_update_without_changes_is_missing_required_parameter(client):
    arn = create(client)
    with pytest.raises(client.exceptions.MissingRequiredParameter) as excinfo:
        client.update_state_machine(stateMachineArn=arn)
    assert error_of(excinfo)[1] == (
        "Either the definition, the role ARN, the LoggingConfiguration, or the "
        "TracingConfiguration must be specified"
    )


def test_update_errors(client):
    arn = create(client)
    with pytest.raises(client.exceptions.InvalidDefinition):
        client.update_state_machine(stateMachineArn=arn, definition='{"StartAt": "X"}')
    with pytest.raises(client.exceptions.StateMachineDoesNotExist):
        client.update_state_machine(stateMachineArn=arn + "-gone", roleArn=ROLE)


def test_update_tracing_and_logging(client):
    arn = create(client)
    client.update_state_machine(stateMachineArn=arn, tracingConfiguration={"enabled": True})
    described = client.describe_state_machine(stateMachineArn=arn)
    assert described["tracingConfiguration"] == {"enabled": True}


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachine.html
def test_describe_errors_are_invalid_arn_and_does_not_exist(client):
    with pytest.raises(client.exceptions.InvalidArn) as excinfo:
        client.describe_state_machine(stateMachineArn="not_a_valid_arn")
    assert error_of(excinfo) == (
        "InvalidArn",
        "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'",
        400,
    )
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nope-" + unique()
    with pytest.raises(client.exceptions.StateMachineDoesNotExist) as excinfo:
        client.describe_state_machine(stateMachineArn=missing)
    assert error_of(excinfo)[1] == f"State Machine Does Not Exist: '{missing}'"
    execution = "arn:aws:states:us-east-1:123456789012:execution:a:b"
    with pytest.raises(client.exceptions.InvalidArn) as excinfo:
        client.describe_state_machine(stateMachineArn=execution)
    assert (
        error_of(excinfo)[1] == "Invalid Arn: 'Resource type not valid in this context: execution'"
    )


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListStateMachines.html
def test_list_is_sorted_by_name_and_paginates(sfn):
    client = sfn.client("ap-south-1")  # a region of its own: only these machines
    names = [f"list-{i}" for i in (3, 1, 12, 2, 0)]
    for name in names:
        create(client, name=name)
    first = client.list_state_machines(maxResults=2)
    assert [m["name"] for m in first["stateMachines"]] == ["list-0", "list-1"]
    assert set(first["stateMachines"][0]) == {"stateMachineArn", "name", "type", "creationDate"}
    paginator = client.get_paginator("list_state_machines")
    listed = [
        m["name"]
        for page in paginator.paginate(PaginationConfig={"PageSize": 2})
        for m in page["stateMachines"]
    ]
    assert listed == sorted(names)


def test_list_rejects_foreign_tokens_and_out_of_range_sizes(client):
    with pytest.raises(client.exceptions.InvalidToken) as excinfo:
        client.list_state_machines(nextToken="garbage")
    assert error_of(excinfo) == ("InvalidToken", "Invalid Token: 'Invalid token'", 400)
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.list_state_machines(maxResults=1001)
    assert error_of(excinfo)[1] == (
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 1000"
    )
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.list_state_machines(nextToken="t" * 1025)
    assert "Member must have length less than or equal to 1024" in error_of(excinfo)[1]


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_DeleteStateMachine.html
def test_delete_then_describe_is_does_not_exist_and_delete_is_idempotent(client):
    arn = create(client)
    client.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(client.exceptions.StateMachineDoesNotExist):
        client.describe_state_machine(stateMachineArn=arn)
    client.delete_state_machine(stateMachineArn=arn)  # an unknown machine: still 200
    with pytest.raises(client.exceptions.InvalidArn):
        client.delete_state_machine(stateMachineArn="not-an-arn")


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_TagResource.html
def test_tags_round_trip_in_insertion_order(client):
    arn = create(client, tags=[{"key": "team", "value": "vision"}])
    client.tag_resource(
        resourceArn=arn, tags=[{"key": "env", "value": "dev"}, {"key": "team", "value": "ml"}]
    )
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "team", "value": "ml"},
        {"key": "env", "value": "dev"},
    ]
    client.untag_resource(resourceArn=arn, tagKeys=["team", "absent"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "env", "value": "dev"}
    ]


def test_tag_errors(client):
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:" + unique()
    for call in (
        lambda: client.tag_resource(resourceArn=missing, tags=[{"key": "k", "value": "v"}]),
        lambda: client.untag_resource(resourceArn=missing, tagKeys=["k"]),
        lambda: client.list_tags_for_resource(resourceArn=missing),
    ):
        with pytest.raises(client.exceptions.ResourceNotFound) as excinfo:
            call()
        assert error_of(excinfo)[1] == f"Resource not found: '{missing}'"
    with pytest.raises(client.exceptions.InvalidArn):
        client.list_tags_for_resource(resourceArn="junk")
    arn = create(client)
    with pytest.raises(client.exceptions.TooManyTags):
        client.tag_resource(
            resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(51)]
        )


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html
def test_validate_ok_and_fail(client):
    ok = client.validate_state_machine_definition(definition=json.dumps(PASS_DEFINITION))
    assert (ok["result"], ok["diagnostics"], ok["truncated"]) == ("OK", [], False)
    failed = client.validate_state_machine_definition(definition='{"States": {}}')
    assert failed["result"] == "FAIL"
    assert failed["diagnostics"][0] == {
        "severity": "ERROR",
        "code": "SCHEMA_VALIDATION_FAILED",
        "message": "These fields are required: [StartAt]",
        "location": "/",
    }


def test_validate_reports_json_errors_as_jackson_does(client):
    result = client.validate_state_machine_definition(definition="not a definition")
    assert result["diagnostics"] == [
        {
            "severity": "ERROR",
            "code": "INVALID_JSON_DESCRIPTION",
            "message": "Unrecognized token 'not': was expecting (JSON String, Number, Array, "
            "Object or token 'null', 'true' or 'false')\n at [Source: (String)\"not a "
            'definition"; line: 1, column: 4]',
            "location": '[Source: (String)"not a definition"; line: 1, column: 4]',
        }
    ]
    blank = client.validate_state_machine_definition(definition=" ")
    assert blank["diagnostics"] == [
        {
            "severity": "ERROR",
            "code": "SCHEMA_VALIDATION_FAILED",
            "message": "Definition must be a valid JSON object",
        }
    ]


def test_validate_uses_the_type_and_passes_query_language_through(client):
    callback = {
        "StartAt": "SendMessageWithWait",
        "States": {
            "SendMessageWithWait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    assert (
        client.validate_state_machine_definition(definition=json.dumps(callback))["result"] == "OK"
    )
    express = client.validate_state_machine_definition(
        definition=json.dumps(callback), type="EXPRESS"
    )
    assert express["diagnostics"][0]["location"] == "/States/SendMessageWithWait/Resource"
    downgrade = {
        "QueryLanguage": "JSONata",
        "StartAt": "Pass",
        "States": {"Pass": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
    }
    result = client.validate_state_machine_definition(definition=json.dumps(downgrade))
    assert result["diagnostics"] == [
        {
            "severity": "ERROR",
            "code": "SCHEMA_VALIDATION_FAILED",
            "message": "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            "location": "/States/Pass",
        }
    ]


def test_validate_truncates_to_max_results(client):
    states = {f"S{i}": {"Type": "Pass", "Next": f"missing{i}"} for i in range(3)}
    definition = json.dumps({"StartAt": "S0", "States": states})
    result = client.validate_state_machine_definition(definition=definition, maxResults=1)
    assert len(result["diagnostics"]) == 1
    assert result["truncated"] is True
