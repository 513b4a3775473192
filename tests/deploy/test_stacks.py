"""Waiting on a stack and explaining its failure from CloudFormation's events.

moto creates or rejects a stack synchronously and never records CREATE_FAILED events, so
the rollback path is driven here by a small stand-in for the CloudFormation client that
replays events shaped like DescribeStackEvents' documented output
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackEvent.html).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from visiongate.deploy.errors import StackFailed, WaitTimeout
from visiongate.deploy.stacks import first_failure, wait

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/vg/1a2b3c"
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def event(
    n: int, logical: str, kind: str, status: str, reason: str | None = None
) -> dict[str, Any]:
    item = {
        "StackId": STACK_ID,
        "EventId": f"event-{n}",
        "StackName": "vg",
        "LogicalResourceId": logical,
        "ResourceType": kind,
        "Timestamp": T0 + timedelta(seconds=n),
        "ResourceStatus": status,
    }
    if reason:
        item["ResourceStatusReason"] = reason
    return item


NO_SUCH_KEY = (
    'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: '
    'NoSuchKey. S3 Error Message: The specified key does not exist."'
)
# Oldest first, as they happen during a failed creation.
ROLLBACK = [
    event(1, "vg", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
    event(2, "ClassifyFunction", "AWS::Lambda::Function", "CREATE_IN_PROGRESS"),
    event(3, "Model", "AWS::SageMaker::Model", "CREATE_IN_PROGRESS"),
    event(4, "ClassifyFunction", "AWS::Lambda::Function", "CREATE_FAILED", NO_SUCH_KEY),
    event(5, "Model", "AWS::SageMaker::Model", "CREATE_FAILED", "Resource creation cancelled"),
    event(
        6,
        "vg",
        "AWS::CloudFormation::Stack",
        "ROLLBACK_IN_PROGRESS",
        "The following resource(s) failed to create: [Model, ClassifyFunction]. "
        "Rollback requested by user.",
    ),
    event(7, "ClassifyFunction", "AWS::Lambda::Function", "DELETE_COMPLETE"),
    event(8, "vg", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
]


class ReplayedStack:
    """Answers DescribeStacks/DescribeStackEvents as the events arrive, one batch per poll."""

    def __init__(self, batches: list[list[dict[str, Any]]]) -> None:
        self.batches = batches
        self.polls = 0
        self.visible: list[dict[str, Any]] = []

    def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> dict[str, Any]:
        if NextToken is None:  # a new poll starts with the first page
            if self.polls < len(self.batches):
                self.visible += self.batches[self.polls]
            self.polls += 1
        newest_first = list(reversed(self.visible))
        # Two pages, so following NextToken matters.
        if NextToken is None:
            return {"StackEvents": newest_first[:3], "NextToken": "page-2"}
        return {"StackEvents": newest_first[3:]}

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        status = self.visible[-1]["ResourceStatus"] if self.visible else "CREATE_IN_PROGRESS"
        if self.visible and self.visible[-1]["ResourceType"] != "AWS::CloudFormation::Stack":
            status = "CREATE_IN_PROGRESS"
        return {"Stacks": [{"StackId": STACK_ID, "StackName": "vg", "StackStatus": status}]}


def test_first_failure_is_the_oldest_specific_reason() -> None:
    failure = first_failure(list(reversed(ROLLBACK)))
    assert failure is not None
    assert (failure.resource, failure.resource_type) == (
        "ClassifyFunction",
        "AWS::Lambda::Function",
    )
    assert failure.reason == NO_SUCH_KEY


def test_first_failure_falls_back_to_the_stack_reason() -> None:
    only_stack = [event(1, "vg", "AWS::CloudFormation::Stack", "UPDATE_FAILED", "Template error")]
    failure = first_failure(only_stack)
    assert failure is not None and failure.reason == "Template error"
    assert first_failure([event(1, "X", "AWS::S3::Bucket", "CREATE_COMPLETE")]) is None


def test_wait_shows_events_then_names_the_failing_resource() -> None:
    cfn = ReplayedStack([ROLLBACK[:3], ROLLBACK[3:6], ROLLBACK[6:]])
    out = io.StringIO()
    sleeps: list[float] = []
    with pytest.raises(StackFailed) as caught:
        wait(
            cfn,
            STACK_ID,
            "vg",
            set(),
            console=Console(file=out, width=300),
            poll=5,
            sleep=sleeps.append,
            clock=lambda: 0.0,
        )
    error = caught.value
    assert error.status == "ROLLBACK_COMPLETE"
    assert error.resource == "ClassifyFunction" and error.reason == NO_SUCH_KEY
    assert str(error).startswith(
        "stack vg ended in ROLLBACK_COMPLETE: ClassifyFunction (AWS::Lambda::Function) failed: "
    )
    assert "destroy --stack vg" in (error.hint or "")
    shown = out.getvalue()
    assert shown.count("CREATE_FAILED") == 2 and "ROLLBACK_COMPLETE" in shown
    assert sleeps == [5, 5]


def test_wait_ignores_events_of_earlier_operations() -> None:
    cfn = ReplayedStack([ROLLBACK])
    seen = {e["EventId"] for e in ROLLBACK[:5]}  # these belonged to an earlier operation
    with pytest.raises(StackFailed) as caught:
        wait(cfn, STACK_ID, "vg", seen, console=Console(file=io.StringIO()), sleep=lambda s: None)
    # Only events 6-8 are this operation's: the stack's rollback reason is all there is.
    assert caught.value.resource == "vg"
    assert "failed to create: [Model, ClassifyFunction]" in (caught.value.reason or "")


def test_wait_gives_up_after_the_timeout() -> None:
    cfn = ReplayedStack([ROLLBACK[:2]] + [[]] * 10)
    ticks = iter(range(0, 1000, 100))
    with pytest.raises(WaitTimeout, match="still CREATE_IN_PROGRESS"):
        wait(
            cfn,
            STACK_ID,
            "vg",
            set(),
            console=Console(file=io.StringIO()),
            timeout=250,
            sleep=lambda s: None,
            clock=lambda: float(next(ticks)),
        )
