"""The engine's Python API: state machines, executions and their errors (AWS's names).

https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
"""

from __future__ import annotations

import json

import pytest

from visiongate.config import load_settings
from visiongate.sfn.engine import Engine
from visiongate.sfn.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidName,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
)

HELLO = {
    "StartAt": "Hello",
    "States": {"Hello": {"Type": "Pass", "Result": "Hello World!", "End": True}},
}
ECHO = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


def test_state_machine_lifecycle(engine: Engine) -> None:
    machine = engine.create_state_machine("Hello", HELLO)
    assert machine.arn == "arn:aws:states:us-east-1:123456789012:stateMachine:Hello"
    assert (machine.type, machine.status) == ("STANDARD", "ACTIVE")
    assert engine.create_state_machine("Hello", HELLO) == machine  # idempotent
    with pytest.raises(StateMachineAlreadyExists):
        engine.create_state_machine("Hello", ECHO)
    updated = engine.update_state_machine(machine.arn, ECHO)
    assert updated.revision_id != machine.revision_id
    assert json.loads(updated.definition) == ECHO
    assert [m.name for m in engine.list_state_machines()] == ["Hello"]
    engine.delete_state_machine(machine.arn)
    with pytest.raises(StateMachineDoesNotExist):
        engine.describe_state_machine(machine.arn)
    with pytest.raises(InvalidArn):
        engine.describe_state_machine("not-an-arn")


def test_invalid_definitions_are_rejected_with_every_problem(engine: Engine) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        engine.create_state_machine(
            "Bad", {"StartAt": "Missing", "States": {"A": {"Type": "Pass"}}}
        )
    assert len(caught.value.problems) >= 2


def test_names_follow_aws_rules(engine: Engine) -> None:
    with pytest.raises(InvalidName):
        engine.create_state_machine("has space", HELLO)
    machine = engine.create_state_machine("Hello", HELLO)
    with pytest.raises(InvalidName):
        engine.start_execution(machine.arn, {}, name="bad:name")
    with pytest.raises(InvalidName):
        engine.start_execution(machine.arn, {}, name="x" * 81)


def test_start_execution_runs_asynchronously_and_is_listed(engine: Engine) -> None:
    machine = engine.create_state_machine("Hello", HELLO)
    execution = engine.start_execution(machine.arn, {"a": 1}, name="first")
    assert execution.arn == "arn:aws:states:us-east-1:123456789012:execution:Hello:first"
    done = engine.wait(execution.arn, timeout=10)
    assert done.status == "SUCCEEDED"
    assert done.output_value == "Hello World!"
    assert done.input_value == {"a": 1}
    assert [e.name for e in engine.list_executions(machine.arn)] == ["first"]
    assert engine.list_executions(status="FAILED") == []
    assert engine.resolve_execution_arn("first") == execution.arn


def test_execution_names_are_unique_per_state_machine(engine: Engine) -> None:
    machine = engine.create_state_machine("Hello", HELLO)
    engine.start_execution(machine.arn, {}, name="once", wait=True)
    with pytest.raises(ExecutionAlreadyExists):
        engine.start_execution(machine.arn, {}, name="once")


def test_input_must_be_json_within_the_quota(engine: Engine) -> None:
    machine = engine.create_state_machine("Hello", HELLO)
    with pytest.raises(InvalidExecutionInput):
        engine.start_execution(machine.arn, "{not json")
    with pytest.raises(InvalidExecutionInput):
        engine.start_execution(machine.arn, {"big": "x" * 262_145})


def test_unknown_executions_and_machines(engine: Engine) -> None:
    with pytest.raises(ExecutionDoesNotExist):
        engine.describe_execution("arn:aws:states:us-east-1:123456789012:execution:X:y")
    with pytest.raises(ExecutionDoesNotExist):
        engine.resolve_execution_arn("nothing-called-this")
    with pytest.raises(StateMachineDoesNotExist):
        engine.start_execution("arn:aws:states:us-east-1:123456789012:stateMachine:Nope", {})


def test_placeholders_are_substituted_before_validation(tmp_path, clock) -> None:
    settings = load_settings(substitutions={"Fn": "echo"})
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${Fn}", "Payload": {"ok": True}},
                "OutputPath": "$.Payload",
                "End": True,
            }
        },
    }
    with Engine(
        settings,
        clock=clock,
        database=tmp_path / "db.sqlite",
        functions={"echo": "tests.sfn.handlers:echo"},
    ) as engine:
        result = engine.run(definition)
        stored = engine.describe_state_machine(result.execution.state_machine_arn)
    assert result.output == {"ok": True}
    assert "${Fn}" in stored.definition  # stored as given; resolved per execution
    assert "${Fn}" not in result.execution.definition


def test_express_executions_keep_no_history(engine: Engine) -> None:
    machine = engine.create_state_machine("Quick", HELLO, type="EXPRESS")
    execution = engine.start_execution(machine.arn, {}, wait=True)
    assert execution.arn.startswith("arn:aws:states:us-east-1:123456789012:express:Quick:")
    assert execution.status == "SUCCEEDED"
    assert engine.get_execution_history(execution.arn) == []


# https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
def test_jsonata_definitions_run(engine: Engine) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": "{% $states.input.n + 1 %}", "End": True}},
    }
    result = engine.run(definition, {"n": 41})
    assert (result.status, result.output) == ("SUCCEEDED", 42)


def test_validate_lists_problems_after_substitution(engine: Engine) -> None:
    assert engine.validate(HELLO) == []
    problems = engine.validate({"StartAt": "X", "States": {}})
    assert problems and all(p.code for p in problems)


def test_start_execution_also_takes_a_definition(engine: Engine) -> None:
    execution = engine.start_execution(HELLO, {}, wait=True)
    assert execution.status == "SUCCEEDED"
    assert execution.state_machine_name.startswith("adhoc-")
