"""Task: one call to a resource, with timeouts, heartbeats, Retry and Catch.

https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
``TimeoutSeconds`` (default: none) fails the attempt with ``States.Timeout``; for
``.waitForTaskToken`` tasks ``HeartbeatSeconds`` fails it with ``States.HeartbeatTimeout``
when no SendTaskHeartbeat arrives in time. The ``...Path`` forms read a positive integer from
the state input.
"""

from __future__ import annotations

from typing import Any

from visiongate.sfn import paths
from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.history import dumps, payload_size
from visiongate.sfn.integrations import TaskCall, parse_resource
from visiongate.sfn.runtime import PAYLOAD_LIMIT, Frame
from visiongate.sfn.states.base import Recoverable, data_limit_error


class TaskState(Recoverable):
    kind = "Task"
    entered_type = "TaskStateEntered"
    exited_type = "TaskStateExited"
    aborted_type = "TaskStateAborted"

    def __init__(self, name: str, spec: dict[str, Any], compiler: Any) -> None:
        super().__init__(name, spec, compiler)
        self.resource = parse_resource(str(spec["Resource"]))
        self.timeout_seconds = spec.get("TimeoutSeconds")
        self.timeout_path = spec.get("TimeoutSecondsPath")
        self.heartbeat_seconds = spec.get("HeartbeatSeconds")
        self.heartbeat_path = spec.get("HeartbeatSecondsPath")

    def _seconds(self, literal: Any, path: str | None, field: str, data: Any) -> float | None:
        if literal is not None:
            return float(literal)
        if path is None:
            return None
        value = paths.get_path(data, path)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise StatesError(
                StatesErrorName.RUNTIME,
                f"The {field} parameter does not reference a valid positive integer value: "
                f"{dumps(value)}",
            )
        return float(value)

    def attempt(self, frame: Frame, raw: Any, entered: str | None, retry_count: int) -> Any:
        run = frame.run
        io = self.io
        mock = run.mocks.response_for(self.name, retry_count) if run.mocks is not None else None
        waiter = None
        if self.resource.callback and mock is None:
            waiter = run.tokens.issue(run.arn, self.name)
        try:
            context = None
            if io.needs_context or waiter is not None:
                token = waiter.token if waiter is not None else None
                context = frame.context(self.name, entered, retry_count, token=token)
            effective = io.effective_input(raw, context)
            parameters = io.task_input(effective, context)
            if io.has_parameters:
                text = dumps(parameters)
                if len(text) > PAYLOAD_LIMIT // 4 and payload_size(text) > PAYLOAD_LIMIT:
                    raise data_limit_error(self.name)
            timeout = self._seconds(
                self.timeout_seconds, self.timeout_path, "TimeoutSecondsPath", raw
            )
            heartbeat = self._seconds(
                self.heartbeat_seconds, self.heartbeat_path, "HeartbeatSecondsPath", raw
            )
            result = self.resource.invoke(
                TaskCall(frame, self.name, parameters, timeout, heartbeat, waiter, mock)
            )
        finally:
            if waiter is not None:
                run.tokens.release(waiter)
        selected = io.select(result, context)
        return io.output(io.merge(raw, selected), context)
