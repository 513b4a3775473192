"""Execution history: AWS's event records, their links, their storage, and the 25,000 quota.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from visiongate.sfn.engine import Engine
from visiongate.sfn.history import HISTORY_LIMIT

GOLDEN = Path(__file__).parent / "golden" / "history"


def _without_volatile(event: dict) -> dict:
    event = {k: v for k, v in event.items() if k != "timestamp"}
    details = event.get("executionStartedEventDetails")
    if details is not None:
        event["executionStartedEventDetails"] = {k: v for k, v in details.items() if k != "roleArn"}
    return event


def test_hello_world_history_matches_the_aws_cli_example(engine: Engine) -> None:
    case = json.loads((GOLDEN / "hello_world.json").read_text())
    result = engine.run(case["definition"], case["input"])
    assert [_without_volatile(e) for e in result.history] == case["events"]
    assert result.history[0]["executionStartedEventDetails"]["roleArn"].startswith("arn:aws:iam::")


def test_timestamps_are_aware_datetimes_from_the_engine_clock(engine: Engine, clock) -> None:
    result = engine.run(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 90, "End": True}}}
    )
    entered, exited = result.history[1], result.history[2]
    assert entered["timestamp"].tzinfo is not None
    assert (exited["timestamp"] - entered["timestamp"]).total_seconds() == 90


def test_lambda_invoke_task_events_follow_the_optimized_integration(engine: Engine) -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "echo", "Payload": {"a": 1}},
                "TimeoutSeconds": 30,
                "End": True,
            }
        },
    }
    result = engine.run(definition)
    assert result.event_types() == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = result.history[2]["taskScheduledEventDetails"]
    assert scheduled == {
        "resourceType": "lambda",
        "resource": "invoke",
        "region": "us-east-1",
        "parameters": '{"FunctionName":"echo","Payload":{"a":1}}',
        "timeoutInSeconds": 30,
    }
    assert result.history[3]["taskStartedEventDetails"] == {
        "resourceType": "lambda",
        "resource": "invoke",
    }
    succeeded = result.history[4]["taskSucceededEventDetails"]
    assert json.loads(succeeded["output"])["Payload"] == {"a": 1}
    assert succeeded["outputDetails"] == {"truncated": False}
    assert [e["previousEventId"] for e in result.history] == [0, 0, 2, 3, 4, 5, 6]


def test_plain_function_arn_records_lambda_function_events(engine: Engine) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:echo"
    result = engine.run(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}, {"k": 1}
    )
    assert result.event_types()[2:5] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]
    assert result.history[2]["lambdaFunctionScheduledEventDetails"] == {
        "resource": arn,
        "input": '{"k":1}',
        "inputDetails": {"truncated": False},
    }
    assert "lambdaFunctionStartedEventDetails" not in result.history[3]
    assert result.history[4]["lambdaFunctionSucceededEventDetails"]["output"] == '{"k":1}'


def test_map_events_link_each_iteration_to_map_state_started(engine: Engine) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    result = engine.run(definition, [10, 20])
    types = result.event_types()
    assert types == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    events = result.history
    assert events[2]["mapStateStartedEventDetails"] == {"length": 2}
    assert events[3]["mapIterationStartedEventDetails"] == {"name": "M", "index": 0}
    assert events[7]["mapIterationStartedEventDetails"] == {"name": "M", "index": 1}
    started_id = events[2]["id"]
    assert events[3]["previousEventId"] == started_id
    assert events[7]["previousEventId"] == started_id
    assert events[4]["previousEventId"] == events[3]["id"]


def test_parallel_events(engine: Engine) -> None:
    branches = [{"StartAt": n, "States": {n: {"Type": "Pass", "End": True}}} for n in ("P1", "P2")]
    definition = {
        "StartAt": "Par",
        "States": {"Par": {"Type": "Parallel", "Branches": branches, "End": True}},
    }
    types = engine.run(definition).event_types()
    assert types[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert types[-3:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]
    assert types.count("PassStateEntered") == 2


def test_failed_execution_records_error_and_cause(engine: Engine) -> None:
    result = engine.run(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
    )
    assert result.event_types() == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert result.history[-1]["executionFailedEventDetails"] == {"error": "E", "cause": "C"}


def test_history_quota_fails_the_execution_at_event_25000(engine: Engine) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html: event 25,000
    must be ExecutionSucceeded, otherwise ExecutionFailed is logged and the execution fails."""
    forever = {
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Next": "Again"},
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
                "Default": "Spin",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    result = engine.run(forever, {"go": True})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    last = engine.get_execution_history(result.arn, reverse=True, limit=1)[0]
    assert last["id"] == HISTORY_LIMIT
    assert last["type"] == "ExecutionFailed"
    assert engine.store.count_events(result.arn) == HISTORY_LIMIT


def test_history_pages_forward_and_backward(engine: Engine) -> None:
    result = engine.run(
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
        }
    )
    first = engine.get_execution_history(result.arn, limit=2)
    rest = engine.get_execution_history(result.arn, after_id=first[-1]["id"])
    assert [e["id"] for e in first + rest] == [1, 2, 3, 4, 5, 6]
    backward = engine.get_execution_history(result.arn, reverse=True, limit=2)
    assert [e["id"] for e in backward] == [6, 5]
    older = engine.get_execution_history(result.arn, reverse=True, after_id=5)
    assert [e["id"] for e in older] == [4, 3, 2, 1]


def test_include_execution_data_false_drops_payloads(engine: Engine) -> None:
    result = engine.run(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, {"secret": 1}
    )
    events = engine.get_execution_history(result.arn, include_execution_data=False)
    assert events[1]["stateEnteredEventDetails"] == {"name": "A"}
    assert "output" not in events[-1]["executionSucceededEventDetails"]


def test_sqlite_history_view_shows_events_as_aws_returns_them(engine: Engine) -> None:
    result = engine.run({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, {"x": 1})
    with sqlite3.connect(engine.store.path) as conn:
        rows = conn.execute(
            "SELECT id, type, details FROM history WHERE execution_arn = ? ORDER BY id",
            (result.arn,),
        ).fetchall()
    assert [row[1] for row in rows] == result.event_types()
    entered = json.loads(rows[1][2])
    assert entered == {
        "stateEnteredEventDetails": {
            "name": "A",
            "inputDetails": {"truncated": False},
            "input": '{"x":1}',
        }
    }
