"""CloudFormation stacks: describe, wait while showing events, explain failures.

The waiting loop takes ``sleep`` and ``clock`` so tests never sleep. Failure reasons come
from the stack's events: the earliest resource event of the operation whose status ends in
``_FAILED`` is the cause; later ones are mostly "Resource creation cancelled"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from visiongate.deploy.awsclient import aws_errors
from visiongate.deploy.errors import AWSRequestError, StackFailed, StackNotFound, WaitTimeout

SUCCESS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "DELETE_COMPLETE"}
# A failed first creation leaves ROLLBACK_COMPLETE: the stack can only be deleted.
NEEDS_DELETE = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"}
_CANCELLED = ("Resource creation cancelled", "Resource update cancelled")


@dataclass(frozen=True)
class Failure:
    resource: str
    resource_type: str
    status: str
    reason: str


def describe(cfn: Any, stack: str) -> dict[str, Any] | None:
    """The stack's description, or None when it does not exist."""
    try:
        with aws_errors("DescribeStacks"):
            stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except AWSRequestError as exc:
        if exc.code == "ValidationError" and "does not exist" in exc.aws_message:
            return None
        raise
    return stacks[0] if stacks else None


def require(cfn: Any, stack: str) -> dict[str, Any]:
    found = describe(cfn, stack)
    if found is None:
        raise StackNotFound(
            f"stack {stack} does not exist in this account and region",
            hint="check --stack and --region, or deploy it: visiongate deploy aws --stack NAME",
        )
    return found


def outputs_of(description: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs") or []}


def parameters_of(description: dict[str, Any]) -> dict[str, str]:
    return {
        p["ParameterKey"]: p.get("ParameterValue", "") for p in description.get("Parameters") or []
    }


def first_failure(events: list[dict[str, Any]]) -> Failure | None:
    """The root cause among ``events`` (newest first, as DescribeStackEvents returns them).

    A resource's own ``*_FAILED`` reason wins; the stack's ROLLBACK_IN_PROGRESS reason
    ("The following resource(s) failed to create: [...]") is the fallback."""
    failed = [
        e
        for e in events
        if str(e.get("ResourceStatus", "")).endswith(("_FAILED", "ROLLBACK_IN_PROGRESS"))
    ]
    if not failed:
        return None

    def rank(item: tuple[int, dict[str, Any]]) -> tuple[bool, int]:
        newest_first_index, event = item
        reason = str(event.get("ResourceStatusReason") or "")
        generic = (
            event.get("ResourceType") == "AWS::CloudFormation::Stack"
            or reason.startswith(_CANCELLED)
            or not reason
        )
        return (generic, -newest_first_index)  # a specific reason first, then the oldest

    _, event = min(enumerate(failed), key=rank)
    return Failure(
        resource=str(event.get("LogicalResourceId", "?")),
        resource_type=str(event.get("ResourceType", "?")),
        status=str(event["ResourceStatus"]),
        reason=str(event.get("ResourceStatusReason") or "no reason given"),
    )


def new_events(cfn: Any, stack_id: str, seen: set[str]) -> list[dict[str, Any]]:
    """Events not in ``seen`` (added to it), oldest first."""
    fresh: list[dict[str, Any]] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"StackName": stack_id}
        if token:
            kwargs["NextToken"] = token
        with aws_errors("DescribeStackEvents"):
            page = cfn.describe_stack_events(**kwargs)
        stop = False
        for event in page.get("StackEvents", []):
            if event["EventId"] in seen:
                stop = True
                break
            seen.add(event["EventId"])
            fresh.append(event)
        token = page.get("NextToken")
        if stop or not token:
            break
    return list(reversed(fresh))


_STYLE = {"COMPLETE": "green", "IN_PROGRESS": "yellow", "FAILED": "bold red"}


def format_event(event: dict[str, Any]) -> str:
    status = str(event.get("ResourceStatus", ""))
    colour = next((c for k, c in _STYLE.items() if status.endswith(k)), "white")
    stamp = event.get("Timestamp")
    when = stamp.strftime("%H:%M:%S") if hasattr(stamp, "strftime") else str(stamp or "")
    reason = event.get("ResourceStatusReason")
    text = (
        f"{when}  [{colour}]{status:<22}[/]  {event.get('LogicalResourceId', '')}"
        f"  [dim]{event.get('ResourceType', '')}[/]"
    )
    return text + (f"  [dim]{reason}[/]" if reason else "")


def wait(
    cfn: Any,
    stack_id: str,
    stack_name: str,
    seen: set[str],
    *,
    console: Console,
    poll: float = 5.0,
    timeout: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll until the stack leaves *_IN_PROGRESS, printing its new events; raise on failure."""
    started = clock()
    operation_events: list[dict[str, Any]] = []
    with console.status(f"waiting for stack {stack_name}") as status_line:
        while True:
            for event in new_events(cfn, stack_id, seen):
                operation_events.append(event)
                console.print(format_event(event), highlight=False)
            description = require(cfn, stack_id)
            state = description["StackStatus"]
            elapsed = clock() - started
            status_line.update(f"stack {stack_name}: {state} ({elapsed:.0f} s)")
            if not state.endswith("_IN_PROGRESS"):
                break
            if elapsed > timeout:
                raise WaitTimeout(
                    f"stack {stack_name} still {state} after {elapsed:.0f} s",
                    hint="it goes on in AWS; watch it in the CloudFormation console",
                )
            sleep(poll)
    if state not in SUCCESS:
        failure = first_failure(list(reversed(operation_events)))
        raise StackFailed(
            stack_name,
            state,
            failure.resource if failure else None,
            failure.resource_type if failure else None,
            failure.reason if failure else description.get("StackStatusReason"),
            hint=(
                f"fix the cause, then `visiongate deploy destroy --stack {stack_name}` "
                "before deploying again"
                if state in NEEDS_DELETE
                else "fix the cause and deploy again; the stack kept its previous version"
            ),
        )
    return description
