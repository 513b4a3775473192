"""How a Task's ``Resource`` is invoked, with the history events AWS records for it.

* ``arn:aws:states:::lambda:invoke`` (optimized integration): ``TaskScheduled`` →
  ``TaskStarted`` → ``TaskSucceeded``/``TaskFailed``/``TaskTimedOut``; the result is Lambda's
  Invoke response with ``Payload`` parsed from JSON
  (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html).
  ``.waitForTaskToken`` adds ``TaskSubmitted`` and waits for SendTaskSuccess/Failure.
* ``arn:aws:lambda:<region>:<account>:function:<name>`` (plain function ARN):
  ``LambdaFunctionScheduled`` → ``LambdaFunctionStarted`` → ``LambdaFunctionSucceeded``/
  ``Failed``/``TimedOut``; the result is the function's own output.
* Any other service integration (``arn:aws:states:::<service>:<action>``) runs only when the
  mock configuration gives its response; otherwise it fails with States.Runtime, because
  visiongate only runs local Lambda functions.

A function error surfaces as AWS reports it: ``Error`` = the exception's class name and
``Cause`` = Lambda's JSON error document ``{"errorMessage", "errorType", "stackTrace"}``.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.functions import FunctionError
from visiongate.sfn.history import NOT_TRUNCATED, dumps, payload_size
from visiongate.sfn.runtime import PAYLOAD_LIMIT, Aborted, ExecutionTimedOut, Frame

if TYPE_CHECKING:
    from visiongate.sfn.mock_config import MockedResponse
    from visiongate.sfn.tokens import Waiter

_TIMEOUT = StatesErrorName.TIMEOUT.value
_HEARTBEAT = StatesErrorName.HEARTBEAT_TIMEOUT.value
_SERVICE_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:states:(?P<region>[a-z0-9-]*):(?P<account>[0-9]*):"
    r"(?P<service>[a-zA-Z0-9-]+):(?P<action>[a-zA-Z0-9]+)(?P<pattern>\.waitForTaskToken|\.sync(?::2)?)?$"
)
_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?$"
)


@dataclass
class TaskCall:
    """One attempt of a Task state at its resource."""

    frame: Frame
    state_name: str
    parameters: Any
    timeout: float | None  # TimeoutSeconds (None: no limit)
    heartbeat: float | None  # HeartbeatSeconds
    waiter: Waiter | None  # the task token of a .waitForTaskToken call
    mock: MockedResponse | None  # the mocked response of this attempt, if mocked


def _lambda_error(exc: FunctionError) -> StatesError:
    return StatesError(exc.error_type, dumps(exc.payload))


def _invoke_timeout(frame: Frame, timeout: float | None) -> tuple[float | None, bool]:
    """The limit for one call and whether it is the execution's own deadline."""
    remaining = frame.run.remaining()
    if remaining is not None and (timeout is None or remaining < timeout):
        return max(remaining, 0.0), True
    return timeout, False


def lambda_response(payload: Any, request_id: str) -> dict[str, Any]:
    """Lambda's Invoke response the way the optimized integration returns it."""
    date = format_datetime(datetime.now(UTC), usegmt=True)
    length = str(len(json.dumps(payload)))
    trace = f"root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};sampled=0"
    headers = {
        "Connection": "keep-alive",
        "Content-Length": length,
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": trace,
    }
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


def _payload_of(parameters: dict[str, Any]) -> Any:
    """What the function receives: ``Payload`` (a JSON string is parsed), ``{}`` without one."""
    if "Payload" not in parameters:
        return {}
    payload = parameters["Payload"]
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    return payload


class Resource:
    """A parsed Task ``Resource``."""

    callback = False
    resource_type = ""
    resource = ""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    def invoke(self, call: TaskCall) -> Any:
        raise NotImplementedError

    # -- shared by the optimized integrations ------------------------------------------------

    def _scheduled(self, call: TaskCall) -> None:
        details: dict[str, Any] = {
            "resourceType": self.resource_type,
            "resource": self.resource,
            "region": call.frame.run.region,
            "parameters": dumps(call.parameters),
        }
        if call.timeout is not None:
            details["timeoutInSeconds"] = int(call.timeout)
        if call.heartbeat is not None:
            details["heartbeatInSeconds"] = int(call.heartbeat)
        call.frame.emit("TaskScheduled", "taskScheduledEventDetails", details)
        call.frame.emit(
            "TaskStarted",
            "taskStartedEventDetails",
            {"resourceType": self.resource_type, "resource": self.resource},
        )

    def _failed(self, call: TaskCall, error: StatesError) -> StatesError:
        details = {
            "resourceType": self.resource_type,
            "resource": self.resource,
            "error": error.error,
        }
        if error.cause:
            details["cause"] = error.cause
        call.frame.emit("TaskFailed", "taskFailedEventDetails", details)
        return error

    def _timed_out(self, call: TaskCall, error: str, cause: str = "") -> StatesError:
        details = {"resourceType": self.resource_type, "resource": self.resource, "error": error}
        if cause:
            details["cause"] = cause
        call.frame.emit("TaskTimedOut", "taskTimedOutEventDetails", details)
        return StatesError(error, cause)

    def _succeeded(self, call: TaskCall, result: Any) -> Any:
        text = dumps(result)
        if payload_size(text) > PAYLOAD_LIMIT:
            raise self._failed(
                call,
                StatesError(
                    StatesErrorName.DATA_LIMIT_EXCEEDED,
                    f"The state/task '{self.resource_type}' returned a result with a size "
                    "exceeding the maximum number of bytes service limit.",
                ),
            )
        call.frame.emit(
            "TaskSucceeded",
            "taskSucceededEventDetails",
            {
                "resourceType": self.resource_type,
                "resource": self.resource,
                "output": text,
                "outputDetails": NOT_TRUNCATED,
            },
        )
        return result

    def _mocked(self, call: TaskCall) -> Any:
        mock = call.mock
        assert mock is not None
        if mock.throws:
            raise self._failed(call, StatesError(mock.error or "", mock.cause))
        return json.loads(json.dumps(mock.returns))

    def _await_token(self, call: TaskCall) -> Any:
        """Wait for SendTaskSuccess/Failure; heartbeat and timeout as configured."""
        waiter = call.waiter
        assert waiter is not None
        run = call.frame.run
        clock = run.clock
        tokens = run.tokens
        poll = getattr(clock, "poll_interval", None)
        started = last_beat = clock.monotonic()
        beats = waiter.heartbeats
        stored_beat = None
        run.flush()  # another process may be the one to answer: let it see the task
        while True:
            waiter.signal.clear()
            outcome = waiter.outcome or tokens.poll(waiter)
            if outcome is not None:
                break
            now = clock.monotonic()
            if waiter.heartbeats != beats:
                beats, last_beat = waiter.heartbeats, now
            if poll is not None:
                seen = tokens.heartbeat_seen(waiter)
                if seen is not None and seen != stored_beat:
                    stored_beat, last_beat = seen, now
            if run.cancel.is_set():
                raise Aborted()
            limits = []
            if call.timeout is not None:
                limits.append((started + call.timeout, _TIMEOUT))
            if call.heartbeat is not None:
                limits.append((last_beat + call.heartbeat, _HEARTBEAT))
            if run.deadline is not None:
                limits.append((run.deadline, "execution"))
            wait_for = None
            if limits:
                deadline, reason = min(limits)
                if now >= deadline:
                    if reason == "execution":
                        raise ExecutionTimedOut()
                    raise self._timed_out(call, reason)
                wait_for = deadline - now
            if poll is not None:
                wait_for = poll if wait_for is None else min(wait_for, poll)
            clock.wait(waiter.signal, wait_for)
        if outcome.status == "SUCCEEDED":
            return self._succeeded(call, json.loads(outcome.output or "null"))
        raise self._failed(call, StatesError(outcome.error or "", outcome.cause or ""))


class LambdaInvoke(Resource):
    """``arn:aws:states:::lambda:invoke`` and ``...:lambda:invoke.waitForTaskToken``."""

    resource_type = "lambda"

    def __init__(self, arn: str, pattern: str) -> None:
        super().__init__(arn)
        self.callback = pattern == ".waitForTaskToken"
        self.resource = "invoke" + pattern

    def invoke(self, call: TaskCall) -> Any:
        self._scheduled(call)
        if call.mock is not None:
            response = self._mocked(call)
            if self.callback:
                return self._succeeded(call, response)
        else:
            response = self._call(call)
        if not self.callback:
            return self._succeeded(call, response)
        call.frame.emit(
            "TaskSubmitted",
            "taskSubmittedEventDetails",
            {
                "resourceType": self.resource_type,
                "resource": self.resource,
                "output": dumps(response),
                "outputDetails": NOT_TRUNCATED,
            },
        )
        return self._await_token(call)

    def _call(self, call: TaskCall) -> dict[str, Any]:
        run = call.frame.run
        parameters = call.parameters if isinstance(call.parameters, dict) else {}
        try:
            function = run.functions.resolve(parameters.get("FunctionName"))
        except StatesError as err:
            raise self._failed(call, err) from None
        payload = _payload_of(parameters)
        request_id = str(uuid.uuid4())
        tags = {"execution_arn": run.arn, "state_name": call.state_name}
        # A callback task's Lambda runs without the task timeout: the clock starts after it.
        limit, execution_bound = _invoke_timeout(
            call.frame, None if self.callback else call.timeout
        )
        if parameters.get("InvocationType") == "Event":
            run.services.invoke_async(function, payload, request_id, tags)
            response = lambda_response("", request_id)
            response["StatusCode"] = 202
            response["SdkHttpMetadata"]["HttpStatusCode"] = 202
            return response
        try:
            result = run.clock.call(
                lambda: run.functions.invoke(
                    function, payload, request_id=request_id, timeout=limit, tags=tags
                ),
                limit,
            )
        except FunctionError as exc:
            raise self._failed(call, _lambda_error(exc)) from None
        except TimeoutError:
            if execution_bound:
                raise ExecutionTimedOut() from None
            raise self._timed_out(call, _TIMEOUT) from None
        return lambda_response(result, request_id)


class LambdaFunction(Resource):
    """A plain function ARN: the function's output is the task result."""

    def invoke(self, call: TaskCall) -> Any:
        frame = call.frame
        run = frame.run
        details: dict[str, Any] = {
            "resource": self.arn,
            "input": dumps(call.parameters),
            "inputDetails": NOT_TRUNCATED,
        }
        if call.timeout is not None:
            details["timeoutInSeconds"] = int(call.timeout)
        frame.emit("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", details)
        frame.emit("LambdaFunctionStarted")
        try:
            if call.mock is not None:
                if call.mock.throws:
                    raise StatesError(call.mock.error or "", call.mock.cause)
                returned = json.loads(json.dumps(call.mock.returns))
                result = (
                    returned.get("Payload")
                    if isinstance(returned, dict) and "Payload" in returned
                    else returned
                )
            else:
                function = run.functions.resolve(self.arn)
                limit, execution_bound = _invoke_timeout(frame, call.timeout)
                try:
                    result = run.clock.call(
                        lambda: run.functions.invoke(
                            function,
                            call.parameters,
                            timeout=limit,
                            tags={"execution_arn": run.arn, "state_name": call.state_name},
                        ),
                        limit,
                    )
                except TimeoutError:
                    if execution_bound:
                        raise ExecutionTimedOut() from None
                    frame.emit(
                        "LambdaFunctionTimedOut",
                        "lambdaFunctionTimedOutEventDetails",
                        {"error": _TIMEOUT},
                    )
                    raise StatesError(_TIMEOUT, "") from None
        except FunctionError as exc:
            error = _lambda_error(exc)
            frame.emit(
                "LambdaFunctionFailed",
                "lambdaFunctionFailedEventDetails",
                {"error": error.error, "cause": error.cause},
            )
            raise error from None
        except StatesError as error:
            if error.error != _TIMEOUT:
                details = {"error": error.error}
                if error.cause:
                    details["cause"] = error.cause
                frame.emit("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", details)
            raise
        text = dumps(result)
        if payload_size(text) > PAYLOAD_LIMIT:
            error = StatesError(
                StatesErrorName.DATA_LIMIT_EXCEEDED,
                f"The state/task '{self.arn}' returned a result with a size exceeding the "
                "maximum number of bytes service limit.",
            )
            frame.emit(
                "LambdaFunctionFailed",
                "lambdaFunctionFailedEventDetails",
                {"error": error.error, "cause": error.cause},
            )
            raise error
        frame.emit(
            "LambdaFunctionSucceeded",
            "lambdaFunctionSucceededEventDetails",
            {"output": text, "outputDetails": NOT_TRUNCATED},
        )
        return result


class NestedExecution(Resource):
    """``arn:aws:states:::states:startExecution`` (``.sync``, ``.sync:2``, ``.waitForTaskToken``)."""

    resource_type = "states"

    def __init__(self, arn: str, pattern: str) -> None:
        super().__init__(arn)
        self.pattern = pattern
        self.callback = pattern == ".waitForTaskToken"
        self.resource = "startExecution" + pattern

    def invoke(self, call: TaskCall) -> Any:
        self._scheduled(call)
        if call.mock is not None:
            return self._succeeded(call, self._mocked(call))
        run = call.frame.run
        try:
            response = run.services.start_nested(call.parameters, run, self.pattern, call)
        except StatesError as err:
            raise self._failed(call, err) from None
        if self.callback:
            call.frame.emit(
                "TaskSubmitted",
                "taskSubmittedEventDetails",
                {
                    "resourceType": self.resource_type,
                    "resource": self.resource,
                    "output": dumps(response),
                    "outputDetails": NOT_TRUNCATED,
                },
            )
            return self._await_token(call)
        return self._succeeded(call, response)


class MockOnly(Resource):
    """A service integration visiongate cannot call locally: runs only when mocked."""

    def __init__(self, arn: str, service: str, action: str, pattern: str) -> None:
        super().__init__(arn)
        self.resource_type = service
        self.resource = action + pattern
        self.callback = pattern == ".waitForTaskToken"

    def invoke(self, call: TaskCall) -> Any:
        self._scheduled(call)
        if call.mock is not None:
            return self._succeeded(call, self._mocked(call))
        raise self._failed(
            call,
            StatesError(
                StatesErrorName.RUNTIME,
                f"The resource '{self.arn}' cannot run locally: visiongate runs Lambda "
                "functions (lambda:invoke and function ARNs) and nested executions; give this "
                "state a mocked response (--mock-config) to test it.",
            ),
        )


def parse_resource(arn: str) -> Resource:
    """The resource object for a Task's ``Resource`` ARN."""
    if _FUNCTION_ARN.match(arn):
        return LambdaFunction(arn)
    match = _SERVICE_ARN.match(arn)
    if match and not match.group("region") and not match.group("account"):
        service, action = match.group("service"), match.group("action")
        pattern = match.group("pattern") or ""
        if service == "lambda" and action == "invoke" and pattern in ("", ".waitForTaskToken"):
            return LambdaInvoke(arn, pattern)
        if service == "states" and action == "startExecution":
            return NestedExecution(arn, pattern)
        return MockOnly(arn, service, action, pattern)
    return MockOnly(arn, "unknown", arn.rsplit(":", 1)[-1], "")
