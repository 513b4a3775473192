"""Task: one call to a resource, with timeouts, heartbeats, Retry and Catch.

https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
``TimeoutSeconds`` (default: none) fails the attempt with ``States.Timeout``; for
``.waitForTaskToken`` tasks ``HeartbeatSeconds`` fails it with ``States.HeartbeatTimeout``
when no SendTaskHeartbeat arrives in time. The ``...Path`` forms read a positive integer from
the state input (or a workflow variable); in JSONata states both fields may be ``{% %}``
expressions, and ``Arguments``/``Output``/``Assign`` replace the JSONPath pipeline.
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
        self.timeout_field = self.heartbeat_field = None
        if self.io.jsonata:
            self.timeout_field = self.io.field(spec, "TimeoutSeconds")
            self.heartbeat_field = self.io.field(spec, "HeartbeatSeconds")
            self.needs_context = self.io.needs_context

    def _seconds(
        self, literal: Any, path: str | None, field: str, data: Any, variables: Any
    ) -> float | None:
        if literal is not None:
            return float(literal)
        if path is None:
            return None
        value = paths.resolve(path, data, None, variables)
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
            variables = frame.scope
            effective = io.effective_input(raw, context, variables)
            parameters = io.task_input(effective, context, variables)
            if io.has_parameters:
                text = dumps(parameters)
                if len(text) > PAYLOAD_LIMIT // 4 and payload_size(text) > PAYLOAD_LIMIT:
                    raise data_limit_error(self.name)
            if io.jsonata:
                timeout, heartbeat = self._jsonata_seconds(frame, raw, context)
            else:
                timeout = self._seconds(
                    self.timeout_seconds, self.timeout_path, "TimeoutSecondsPath", raw, variables
                )
                heartbeat = self._seconds(
                    self.heartbeat_seconds,
                    self.heartbeat_path,
                    "HeartbeatSecondsPath",
                    raw,
                    variables,
                )
            result = self.resource.invoke(
                TaskCall(frame, self.name, parameters, timeout, heartbeat, waiter, mock)
            )
        finally:
            if waiter is not None:
                run.tokens.release(waiter)
        return io.finish(frame, raw, result, context)

    def _jsonata_seconds(
        self, frame: Frame, raw: Any, context: Any
    ) -> tuple[float | None, float | None]:
        fields = (self.timeout_field, self.heartbeat_field)
        if fields == (None, None):
            return None, None
        env = self.io.env(frame, raw, context)
        timeout, heartbeat = (None if f is None else float(f.integer(env, 1)) for f in fields)
        return timeout, heartbeat
