"""Start an execution of a deployed state machine and wait for it to end.

This is what ``visiongate run --aws`` and ``visiongate batch --aws`` call, through
:func:`visiongate.deploy.aws.start_and_wait`. The wait takes ``sleep`` and ``clock`` so tests
never sleep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from visiongate.deploy.awsclient import aws_errors, client, make_session, require_credentials
from visiongate.deploy.errors import WaitTimeout

_RUNNING = {"RUNNING", "PENDING_REDRIVE"}


def start_and_wait(
    state_machine_arn: str,
    input: Any,
    poll: float = 2.0,
    progress: bool | Callable[[str, float], None] | None = None,
    *,
    region: str | None = None,
    session: Any = None,
    name: str | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Start one execution of a deployed (STANDARD) state machine and wait for it to end.

    Returns ``{"status", "output", "error", "cause", "execution_arn"}``: ``output`` is the
    parsed JSON output when the execution succeeded, ``error``/``cause`` are Step Functions'
    when it failed (e.g. ``THRESHOLD_CONFIDENCE_NOT_MET``). ``progress`` is True for a
    spinner on stderr, or a callable ``(status, elapsed_seconds)``.
    """
    if region is None and state_machine_arn.startswith("arn:"):
        parts = state_machine_arn.split(":")
        region = parts[3] if len(parts) > 3 and parts[3] else None
    session = make_session(region, session)
    require_credentials(session)
    sfn = client(session, "stepfunctions")
    request: dict[str, Any] = {"stateMachineArn": state_machine_arn, "input": json.dumps(input)}
    if name:
        request["name"] = name
    with aws_errors("StartExecution"):
        execution_arn = sfn.start_execution(**request)["executionArn"]

    started = clock()
    status_line = None
    if progress is True:
        status_line = Console(stderr=True).status(f"execution {execution_arn.rsplit(':', 1)[-1]}")
        status_line.start()
    try:
        while True:
            with aws_errors("DescribeExecution"):
                described = sfn.describe_execution(executionArn=execution_arn)
            status = described["status"]
            elapsed = clock() - started
            if callable(progress):
                progress(status, elapsed)
            elif status_line is not None:
                status_line.update(f"execution {status} ({elapsed:.0f} s)")
            if status not in _RUNNING:
                break
            if timeout is not None and elapsed > timeout:
                raise WaitTimeout(
                    f"execution {execution_arn} still {status} after {elapsed:.0f} s",
                    hint="it goes on in AWS; look it up in the Step Functions console",
                )
            sleep(poll)
    finally:
        if status_line is not None:
            status_line.stop()
    output = described.get("output")
    return {
        "status": status,
        "output": json.loads(output) if output else None,
        "error": described.get("error"),
        "cause": described.get("cause"),
        "execution_arn": execution_arn,
    }
