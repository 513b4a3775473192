"""The generated coverage table lists every action of botocore's model and is up to date."""

from __future__ import annotations

from visiongate.sfn.api.coverage import DOCS_PATH, render
from visiongate.sfn.api.responses import implemented_actions
from visiongate.sfn.api.shapes import operation_names

REQUIRED = {
    "CreateStateMachine",
    "UpdateStateMachine",
    "DescribeStateMachine",
    "DescribeStateMachineForExecution",
    "ListStateMachines",
    "DeleteStateMachine",
    "ValidateStateMachineDefinition",
    "StartExecution",
    "StartSyncExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "StopExecution",
    "RedriveExecution",
    "TestState",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "DescribeMapRun",
    "ListMapRuns",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
}


def test_the_coverage_file_is_generated_and_current():
    assert DOCS_PATH.read_text(encoding="utf-8") == render(), (
        "run: .venv/bin/python -m visiongate.sfn.api.coverage"
    )


def test_every_model_action_is_in_the_table_and_the_required_ones_are_implemented():
    table = render()
    for name in operation_names():
        assert f"| {name} | " in table
    assert set(implemented_actions()) >= REQUIRED
