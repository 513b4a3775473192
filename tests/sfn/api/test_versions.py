"""State machine versions: publish, describe, list, start, delete.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-state-machine-version.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_PublishStateMachineVersion.html
"""

from __future__ import annotations

import json

import pytest

from tests.sfn.api.conftest import PASS_DEFINITION, ROLE, error_of, unique

V2 = {**PASS_DEFINITION, "Comment": "v2"}


def test_publish_on_create_and_update_numbers_versions(client):
    name = unique()
    created = client.create_state_machine(
        name=name,
        definition=json.dumps(PASS_DEFINITION),
        roleArn=ROLE,
        publish=True,
        versionDescription="first",
    )
    arn = created["stateMachineArn"]
    assert created["stateMachineVersionArn"] == f"{arn}:1"
    updated = client.update_state_machine(
        stateMachineArn=arn, definition=json.dumps(V2), publish=True
    )
    assert updated["stateMachineVersionArn"] == f"{arn}:2"
    # Publishing a revision that already has a version returns that version.
    again = client.publish_state_machine_version(stateMachineArn=arn)
    assert again["stateMachineVersionArn"] == f"{arn}:2"
    listed = client.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{arn}:2", f"{arn}:1"]
    first = client.describe_state_machine(stateMachineArn=f"{arn}:1")
    assert (first["stateMachineArn"], first["description"]) == (f"{arn}:1", "first")
    assert json.loads(first["definition"]) == PASS_DEFINITION
    assert first["revisionId"]


def test_version_description_needs_publish(client):
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.create_state_machine(
            name=unique(),
            definition=json.dumps(PASS_DEFINITION),
            roleArn=ROLE,
            versionDescription="x",
        )
    assert error_of(excinfo)[1] == "Version description can only be set when publish is true"


def test_publish_with_a_stale_revision_is_a_conflict(client):
    arn = client.create_state_machine(
        name=unique(), definition=json.dumps(PASS_DEFINITION), roleArn=ROLE
    )["stateMachineArn"]
    with pytest.raises(client.exceptions.ConflictException):
        client.publish_state_machine_version(stateMachineArn=arn, revisionId="not-the-current-one")


def test_executions_of_a_version_report_it(sfn, client):
    created = client.create_state_machine(
        name=unique(), definition=json.dumps(PASS_DEFINITION), roleArn=ROLE, publish=True
    )
    version = created["stateMachineVersionArn"]
    execution = client.start_execution(stateMachineArn=version)["executionArn"]
    sfn.wait(execution)
    assert ":execution:" in execution
    described = client.describe_execution(executionArn=execution)
    assert (described["stateMachineArn"], described["stateMachineVersionArn"]) == (
        created["stateMachineArn"],
        version,
    )
    by_version = client.list_executions(stateMachineArn=version)["executions"]
    assert [(e["executionArn"], e["stateMachineVersionArn"]) for e in by_version] == [
        (execution, version)
    ]


def test_delete_a_version_and_tagging_versions_is_resource_not_found(client):
    created = client.create_state_machine(
        name=unique(), definition=json.dumps(PASS_DEFINITION), roleArn=ROLE, publish=True
    )
    version = created["stateMachineVersionArn"]
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.tag_resource(resourceArn=version, tags=[{"key": "k", "value": "v"}])
    client.delete_state_machine_version(stateMachineVersionArn=version)
    with pytest.raises(client.exceptions.StateMachineDoesNotExist):
        client.describe_state_machine(stateMachineArn=version)
    client.delete_state_machine_version(stateMachineVersionArn=version)  # already gone: 200
    assert client.publish_state_machine_version(stateMachineArn=created["stateMachineArn"])[
        "stateMachineVersionArn"
    ].endswith(":2")
