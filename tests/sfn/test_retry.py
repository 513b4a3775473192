"""Retry and Catch: matching, ordering, per-retrier counts and back-off through the clock.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

import pytest

from tests.sfn import handlers
from visiongate.sfn.engine import Engine
from visiongate.sfn.retry import RetryPolicy, RetryState, error_matches


def flaky_task(retry: list, catch: list | None = None, **extra) -> dict:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "flaky", "Payload.$": "$"},
        "Retry": retry,
        "OutputPath": "$.Payload",
        "End": True,
    }
    if catch:
        state["Catch"] = catch
    state.update(extra)
    return {"StartAt": "Flaky", "States": {"Flaky": state}}


def test_defaults_are_awss() -> None:
    policy = RetryPolicy.from_json({"ErrorEquals": ["States.ALL"]})
    assert (policy.interval_seconds, policy.max_attempts, policy.backoff_rate) == (1.0, 3, 2.0)
    assert [policy.delay(n) for n in range(3)] == [1.0, 2.0, 4.0]


def test_max_delay_seconds_caps_the_backoff() -> None:
    policy = RetryPolicy.from_json(
        {"ErrorEquals": ["X"], "IntervalSeconds": 3, "BackoffRate": 10, "MaxDelaySeconds": 50}
    )
    assert [policy.delay(n) for n in range(4)] == [3.0, 30.0, 50.0, 50.0]


def test_full_jitter_picks_within_the_delay() -> None:
    policy = RetryPolicy.from_json(
        {"ErrorEquals": ["X"], "IntervalSeconds": 4, "JitterStrategy": "FULL"}
    )
    assert policy.delay(1, rand=lambda: 0.25) == 2.0
    assert policy.delay(1, rand=lambda: 0.0) == 0.0


@pytest.mark.parametrize(
    ("equals", "error", "matches"),
    [
        (["States.ALL"], "CustomError", True),
        (["States.ALL"], "States.Runtime", False),
        (["States.ALL"], "States.DataLimitExceeded", False),
        (["States.TaskFailed"], "Lambda.ServiceException", True),
        (["States.TaskFailed"], "States.Timeout", False),
        (["States.Timeout"], "States.HeartbeatTimeout", True),
        (["A", "B"], "B", True),
        (["A"], "B", False),
    ],
)
def test_error_matching(equals: list, error: str, matches: bool) -> None:
    assert error_matches(tuple(equals), error) is matches


def test_first_matching_retrier_decides_and_counts_its_own_attempts() -> None:
    state = RetryState(
        (
            RetryPolicy.from_json({"ErrorEquals": ["A"], "MaxAttempts": 1}),
            RetryPolicy.from_json({"ErrorEquals": ["A", "B"], "MaxAttempts": 5}),
        )
    )
    assert state.next_delay("A") == 1.0
    assert state.next_delay("A") is None  # the first retrier is exhausted; the second is not asked
    assert state.next_delay("B") == 1.0  # B has its own counter on the second retrier
    assert state.retry_count == 2


def test_retry_until_success_with_exponential_backoff_on_the_virtual_clock(engine: Engine) -> None:
    result = engine.run(
        flaky_task(
            [
                {
                    "ErrorEquals": ["CustomError"],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 3,
                    "BackoffRate": 3,
                }
            ]
        ),
        {"failures": 2},
    )
    assert result.succeeded and result.output == {"attempts": 3}
    scheduled = [e["timestamp"] for e in result.history if e["type"] == "TaskScheduled"]
    gaps = [(b - a).total_seconds() for a, b in zip(scheduled, scheduled[1:], strict=False)]
    assert gaps == [2.0, 6.0]


def test_retries_exhausted_then_catch_with_result_path(engine: Engine) -> None:
    definition = flaky_task(
        [{"ErrorEquals": ["CustomError"], "MaxAttempts": 1}],
        [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}],
    )
    definition["States"]["Recovered"] = {"Type": "Pass", "End": True}
    result = engine.run(definition, {"failures": 5})
    assert result.succeeded
    assert result.output["failures"] == 5
    assert result.output["error"]["Error"] == "CustomError"
    assert len([c for c in handlers.CALLS if c[0] == "flaky"]) == 2


def test_retry_count_is_visible_in_the_context_object(engine: Engine) -> None:
    definition = flaky_task(
        [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}]
    )
    definition["States"]["Flaky"]["Parameters"]["Payload.$"] = (
        "States.JsonMerge($, States.StringToJson(States.Format('\\{\"retry\": {}\\}', $$.State.RetryCount)), false)"
    )
    result = engine.run(definition, {"failures": 2})
    assert result.succeeded
    retries = [call[1]["retry"] for call in handlers.CALLS if call[0] == "flaky"]
    assert retries == [0, 1, 2]


def test_catchers_are_tried_in_order(engine: Engine) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
                "Catch": [
                    {"ErrorEquals": ["Other"], "Next": "WrongOne"},
                    {"ErrorEquals": ["CustomError"], "Next": "RightOne", "ResultPath": None},
                    {"ErrorEquals": ["States.ALL"], "Next": "WrongOne"},
                ],
                "End": True,
            },
            "WrongOne": {"Type": "Fail", "Error": "Wrong"},
            "RightOne": {"Type": "Pass", "End": True},
        },
    }
    result = engine.run(definition, {"keep": "me"})
    assert result.succeeded
    assert result.output == {"keep": "me"}  # ResultPath null: the error output is discarded
    assert result.event_types()[-3:] == [
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    exited = [e for e in result.history if e["type"] == "TaskStateExited"]
    assert len(exited) == 1  # a caught Task exits with the Catch output


def test_states_runtime_is_never_retried(engine: Engine) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                "InputPath": "$.missing",
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}],
                "End": True,
            }
        },
    }
    result = engine.run(definition, {})
    assert result.error == "States.Runtime"
    assert [e["type"] for e in result.history].count("TaskStateEntered") == 1


def test_timeout_is_retried_by_a_states_timeout_retrier(engine: Engine) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "slow", "Payload.$": "$"},
                "TimeoutSeconds": 1,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}],
                "End": True,
            }
        },
    }
    result = engine.run(definition, {"seconds": 5})
    assert result.error == "States.Timeout"
    assert result.event_types().count("TaskTimedOut") == 3
