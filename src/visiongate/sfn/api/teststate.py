"""TestState: run one state in isolation and show its data flow.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html
https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html

The state comes alone (``{"Type": "Pass", ...}``) or as part of a whole state machine named
by ``stateName``. It is compiled by the engine (so every field means what it means in an
execution) and run one attempt: no history, no real waiting. The answer follows AWS
(responses recorded in LocalStack's ``test_test_state_scenarios`` and
``test_state_mock_validation`` snapshots):

* ``status``: SUCCEEDED, FAILED, RETRIABLE (a retrier would retry: ``errorDetails.retryIndex``
  and ``retryBackoffIntervalSeconds``, given ``stateConfiguration.retrierRetryCount``) or
  CAUGHT_ERROR (a catcher takes it: ``nextState`` is its Next, ``errorDetails.catchIndex``);
* ``inspectionData`` (DEBUG and TRACE only): ``input``, ``afterInputPath``,
  ``afterParameters``, ``result``, ``afterResultSelector``, ``afterResultPath`` — the ones
  the state type has (a Pass with ``Result`` shows ``result``, not the input steps);
* ``mock``: ``result`` (the service's JSON response) or ``errorOutput`` (``error``,
  ``cause``) replaces the Task's call; Map and Parallel states can only be tested with a mock.
* JSONata states (``QueryLanguage`` on the state, or a whole machine): ``afterArguments`` (Task)
  replaces the JSONPath steps; ``variables`` (a JSON object) sets the workflow variables the state
  reads, and ``inspectionData.variables`` shows them after the state with what it assigned.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from visiongate.sfn import choice
from visiongate.sfn.api import definitions
from visiongate.sfn.api.exceptions import (
    InvalidDefinition,
    InvalidExecutionInput,
    ValidationException,
)
from visiongate.sfn.api.jsonerrors import parse_error
from visiongate.sfn.context import Scope, iso_millis
from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.functions import FunctionError
from visiongate.sfn.history import dumps
from visiongate.sfn.integrations import LambdaFunction, LambdaInvoke, lambda_response
from visiongate.sfn.model import compile_machine

SUPPORTED = ("Task", "Wait", "Pass", "Succeed", "Fail", "Choice")
MOCKABLE = ("Task", "Map", "Parallel")
DEFAULT_STATE_NAME = "StateName"


def _json(text: str | None, what: str) -> Any:
    if text is None:
        return None
    error = parse_error(text)
    if error is not None:
        raise InvalidExecutionInput(f"Invalid {what}: '{error.message}'")
    return json.loads(text)


def _single_state(
    definition: Any, state_name: str | None
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """(state machine to compile, name of the tested state, its spec)."""
    if not isinstance(definition, dict):
        raise InvalidDefinition(
            "Invalid State Machine Definition: 'Definition must be a valid JSON object'"
        )
    if state_name is not None:
        states = definition.get("States")
        if not isinstance(states, dict) or state_name not in states:
            raise ValidationException("State not found in definition")
        return definition, state_name, states[state_name]
    name = DEFAULT_STATE_NAME
    spec = dict(definition)
    # The tested state's transitions point outside it: give them placeholder targets so the
    # engine's validator sees a complete machine.
    targets = {spec.get("Next"), spec.get("Default")}
    targets |= {c.get("Next") for c in spec.get("Choices") or () if isinstance(c, dict)}
    targets |= {c.get("Next") for c in spec.get("Catch") or () if isinstance(c, dict)}
    states: dict[str, Any] = {name: spec}
    for target in targets:
        if isinstance(target, str) and target != name:
            states[target] = {"Type": "Succeed"}
    machine: dict[str, Any] = {"StartAt": name, "States": states}
    if "QueryLanguage" in spec:
        machine["QueryLanguage"] = spec["QueryLanguage"]
    return machine, name, spec


class TestStates:
    """Runs TestState requests with one engine's functions and clock."""

    def __init__(self, engines: Any) -> None:
        self.engines = engines

    def run(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        engine = self.engines.get(region)
        level = request.get("inspectionLevel") or "INFO"
        mock = request.get("mock")
        error = parse_error(request["definition"])
        if error is not None:
            raise InvalidDefinition(
                f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {error.message}'"
            )
        parsed = json.loads(request["definition"])
        machine_spec, name, spec = _single_state(parsed, request.get("stateName"))
        kind = spec.get("Type") if isinstance(spec, dict) else None
        self._check_request(kind, spec, mock, request)
        text = json.dumps(machine_spec)
        definitions.assert_valid(engine, text)
        state = compile_machine(text).states[name]
        value = _json(request.get("input"), "State Machine Execution Input")
        raw = {} if value is None else value
        context = self._context(engine, region, name, raw, request)
        variables = _json(request.get("variables"), "variables")
        if variables is not None and not isinstance(variables, dict):
            raise ValidationException("Invalid variables provided: it must be a JSON object")
        run = _Run(
            engine,
            state,
            spec,
            raw,
            context,
            mock,
            request.get("stateConfiguration") or {},
            variables,
        )
        result = run.execute()
        if level == "INFO":
            result.pop("inspectionData", None)
        return result

    @staticmethod
    def _check_request(kind: Any, spec: Any, mock: Any, request: dict[str, Any]) -> None:
        if mock is not None:
            if kind not in MOCKABLE:
                raise ValidationException(
                    f"State type '{kind}' is not supported when a mock is specified"
                )
            if "result" in mock and "errorOutput" in mock:
                raise ValidationException(
                    "A test mock should have only one of the following fields: [result, errorOutput]."
                )
            if request.get("revealSecrets"):
                raise ValidationException(
                    "TestState does not support RevealSecrets when a mock is specified."
                )
            if "result" in mock:
                result = _json(mock["result"], "mock result")
                if kind == "Map" and "ResultWriter" in spec and not isinstance(result, dict):
                    raise ValidationException("Mocked result must be a JSON object.")
                if (
                    kind in ("Map", "Parallel")
                    and "ResultWriter" not in spec
                    and not isinstance(result, list)
                ):
                    raise ValidationException("Mocked result must be an array.")
                if kind == "Parallel" and len(result) != len(spec.get("Branches") or ()):
                    raise ValidationException(
                        "Mocked result must contain the same number of items as number of Parallel branches."
                    )
            return
        if kind in ("Map", "Parallel"):
            raise InvalidDefinition(
                "TestState API does not support Map or Parallel states. Supported state types "
                "include: [Task, Wait, Pass, Succeed, Fail, Choice]"
            )
        if kind == "Task":
            if not request.get("roleArn"):
                raise ValidationException("RoleArn must be specified when testing a Task state")
            resource = str(spec.get("Resource", ""))
            if (
                resource.endswith((".sync", ".sync:2", ".waitForTaskToken"))
                or ":activity:" in resource
            ):
                raise ValidationException(
                    "TestState supports Activity tasks and the .sync and .waitForTaskToken "
                    "integration patterns only when a mock is specified"
                )

    @staticmethod
    def _context(
        engine: Any, region: str, name: str, raw: Any, request: dict[str, Any]
    ) -> dict[str, Any]:
        machine = f"TestStateMachine-{uuid.uuid4().hex[:12]}"
        execution = str(uuid.uuid4())
        now = iso_millis(engine.clock.now())
        prefix = f"arn:aws:states:{region}:{engine.account}"
        retry_count = (request.get("stateConfiguration") or {}).get("retrierRetryCount") or 0
        context: dict[str, Any] = {
            "Execution": {
                "Id": f"{prefix}:express:{machine}:{execution}",
                "Input": raw,
                "Name": execution,
                "RoleArn": request.get("roleArn"),
                "StartTime": now,
            },
            "StateMachine": {"Id": f"{prefix}:stateMachine:{machine}", "Name": machine},
            "State": {"Name": name, "EnteredTime": now, "RetryCount": retry_count},
        }
        given = _json(request.get("context"), "Context object")
        if given is not None:
            if not isinstance(given, dict):
                raise ValidationException(
                    "Invalid Context object provided: it must be a JSON object"
                )
            for key, part in given.items():
                if isinstance(part, dict) and isinstance(context.get(key), dict):
                    context[key] = {**context[key], **part}
                else:
                    context[key] = part
        return context


class _Frame:
    """What a state's data flow needs of a thread of control, without an execution."""

    __slots__ = ("scope", "pending", "run", "_context")

    def __init__(self, engine: Any, context: dict[str, Any], variables: dict[str, Any]) -> None:
        self.scope = Scope(values=dict(variables))
        self.pending: dict[str, Any] | None = None
        self.run = engine  # .clock is what Wait reads
        self._context = context

    def context(self, name: str, entered: Any, retry_count: int = 0, **extra: Any) -> Any:
        context = dict(self._context)
        map_item = extra.get("map_item")
        if map_item is not None:
            context["Map"] = {"Item": {"Index": map_item[0], "Value": map_item[1]}}
        return context


class _Run:
    """One attempt of one state, recording each step of its data flow."""

    def __init__(
        self,
        engine: Any,
        state: Any,
        spec: dict[str, Any],
        raw: Any,
        context: Any,
        mock: Any,
        config: dict[str, Any],
        variables: dict[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.state = state
        self.spec = spec
        self.raw = raw
        self.context = context
        self.mock = mock
        self.retry_count = int(config.get("retrierRetryCount") or 0)
        self.inspection: dict[str, Any] = {"input": raw}
        self.frame = _Frame(engine, context, variables or {})
        self.given_variables = variables is not None
        self.jsonata = bool(getattr(state.io, "jsonata", False))

    def execute(self) -> dict[str, Any]:
        kind = self.spec["Type"]
        try:
            body = getattr(self, "_" + kind.lower())
            next_state, output = body()
        except StatesError as err:
            self.frame.pending = None
            return self._failed(err)
        answer: dict[str, Any] = {"output": dumps(output), "status": "SUCCEEDED"}
        if next_state:
            answer["nextState"] = next_state
        answer["inspectionData"] = self._inspection()
        return answer

    def _inspection(self) -> dict[str, Any]:
        frame = self.frame
        if self.given_variables or frame.pending:
            variables = dict(frame.scope.values)
            variables.update(frame.pending or {})
            self.inspection["variables"] = variables
        return {
            key: (dumps(value) if key not in _NUMERIC else value)
            for key, value in self.inspection.items()
        }

    # -- the state bodies ---------------------------------------------------------------------

    def _effective(self) -> Any:
        effective = self.state.io.effective_input(self.raw, self.context, self.frame.scope)
        if not self.jsonata:
            self.inspection["afterInputPath"] = effective
        return effective

    def _finish(self, result: Any) -> Any:
        io = self.state.io
        frame = self.frame
        if self.jsonata:
            return io.finish(frame, self.raw, result, self.context)
        variables = frame.scope
        if io.assign is not None:
            frame.pending = io.assign(result, self.context, variables)
        selected = io.select(result, self.context, variables)
        self.inspection["afterResultSelector"] = selected
        merged = io.merge(self.raw, selected)
        self.inspection["afterResultPath"] = merged
        return io.output(merged, self.context, variables)

    def _arguments(self) -> Any:
        io = self.state.io
        arguments = io.task_input(self._effective(), self.context, self.frame.scope)
        return arguments

    def _pass(self) -> tuple[str | None, Any]:
        if self.jsonata:
            return self.state.next, self._finish(self.raw)
        if self.state.has_result:
            self.state.io.effective_input(self.raw, self.context, self.frame.scope)
            result = json.loads(json.dumps(self.state.result))
            self.inspection["result"] = result
        else:
            result = self._arguments()
            self.inspection["afterParameters"] = result
        return self.state.next, self._finish(result)

    def _task(self) -> tuple[str | None, Any]:
        parameters = self._arguments()
        self.inspection["afterArguments" if self.jsonata else "afterParameters"] = parameters
        result = self._mocked() if self.mock is not None else self._invoke(parameters)
        self.inspection["result"] = result
        return self.state.next, self._finish(result)

    def _parallel(self) -> tuple[str | None, Any]:
        parameters = self._arguments()
        if "Parameters" in self.spec:
            self.inspection["afterParameters"] = parameters
        self.inspection.pop("afterInputPath", None)  # AWS leaves it out for Parallel
        result = self._mocked()
        self.inspection["result"] = result
        return self.state.next, self._finish(result)

    def _map(self) -> tuple[str | None, Any]:
        state = self.state
        effective = self._effective()
        self.inspection["maxConcurrency"] = state.concurrency(
            self.frame, self.raw, effective, self.context
        )
        if "ToleratedFailurePercentage" in self.spec:
            self.inspection["toleratedFailurePercentage"] = float(
                self.spec["ToleratedFailurePercentage"]
            )
        if "ToleratedFailureCount" in self.spec:
            self.inspection["toleratedFailureCount"] = int(self.spec["ToleratedFailureCount"])
        result = self._mocked()
        self.inspection["result"] = result
        return self.state.next, self._finish(result)

    def _choice(self) -> tuple[str | None, Any]:
        state = self.state
        frame = self.frame
        if self.jsonata:
            return state._jsonata(frame, self.raw, self.context)
        effective = self._effective()
        variables = frame.scope
        io = state.io
        if state.decide is not None:
            next_state = state.decide(effective, self.context, variables)
            return next_state, io.pass_through(frame, self.raw, effective, self.context)
        index = state.decide_index(effective, self.context, variables)
        if index < 0:
            if state.default is None:
                raise choice.no_choice_matched()
            return state.default, io.pass_through(frame, self.raw, effective, self.context)
        assign = state.rule_assigns[index]
        if assign is not None:
            frame.pending = assign(effective, self.context, variables)
        output = io.pass_through(frame, self.raw, effective, self.context, assign=False)
        return state.choices[index]["Next"], output

    def _wait(self) -> tuple[str | None, Any]:
        effective = self._effective()
        self.state._delay(self.frame, self.raw, effective, self.context)  # checks the fields
        return self.state.next, self.state.io.pass_through(
            self.frame, self.raw, effective, self.context
        )

    def _succeed(self) -> tuple[str | None, Any]:
        effective = self._effective()
        return None, self.state.io.pass_through(self.frame, self.raw, effective, self.context)

    def _fail(self) -> tuple[str | None, Any]:
        state = self.state
        if not self.jsonata:
            self.inspection["afterInputPath"] = self.raw
        error, cause = self.spec.get("Error"), self.spec.get("Cause")
        if state.error_field is not None or state.cause_field is not None:
            error, cause = state._jsonata(self.frame, self.raw)
        if "ErrorPath" in self.spec:
            error = state._dynamic(self.frame, self.raw, self.spec["ErrorPath"], "ErrorPath")
        if "CausePath" in self.spec:
            cause = state._dynamic(self.frame, self.raw, self.spec["CausePath"], "CausePath")
        raise StatesError(error or "", cause or "")

    # -- calls ----------------------------------------------------------------------------------

    def _mocked(self) -> Any:
        output = self.mock.get("errorOutput")
        if output is not None:
            raise StatesError(output.get("error") or "", output.get("cause") or "")
        return json.loads(self.mock.get("result", "null"))

    def _invoke(self, parameters: Any) -> Any:
        resource = self.state.resource
        functions = self.engine.functions
        clock = self.engine.clock
        timeout = self.spec.get("TimeoutSeconds")
        if self.jsonata:
            timeout, _heartbeat = self.state._jsonata_seconds(self.frame, self.raw, self.context)
        try:
            if isinstance(resource, LambdaInvoke):
                request = parameters if isinstance(parameters, dict) else {}
                function = functions.resolve(request.get("FunctionName"))
                payload = request.get("Payload", {})
                if isinstance(payload, str):
                    try:
                        payload = json.loads(payload)
                    except ValueError:
                        pass
                request_id = str(uuid.uuid4())
                result = clock.call(
                    lambda: functions.invoke(
                        function, payload, request_id=request_id, timeout=timeout
                    ),
                    timeout,
                )
                return lambda_response(result, request_id)
            if isinstance(resource, LambdaFunction):
                function = functions.resolve(resource.arn)
                return clock.call(
                    lambda: functions.invoke(function, parameters, timeout=timeout), timeout
                )
        except FunctionError as exc:
            raise StatesError(exc.error_type, dumps(exc.payload)) from None
        except TimeoutError:
            raise StatesError(StatesErrorName.TIMEOUT, "") from None
        raise StatesError(
            StatesErrorName.RUNTIME,
            f"The resource '{resource.arn}' cannot run locally: visiongate runs Lambda functions "
            "(lambda:invoke and function ARNs); give the TestState request a mock to test it.",
        )

    # -- errors ---------------------------------------------------------------------------------

    def _failed(self, err: StatesError) -> dict[str, Any]:
        answer: dict[str, Any] = {"status": "FAILED", "error": err.error, "cause": err.cause}
        for index, policy in enumerate(getattr(self.state, "retriers", ())):
            if policy.matches(err.error):
                if self.retry_count < policy.max_attempts:
                    delay = policy.delay(self.retry_count, lambda: 1.0)
                    self.inspection["errorDetails"] = {
                        "retryIndex": index,
                        "retryBackoffIntervalSeconds": int(delay),
                    }
                    answer["status"] = "RETRIABLE"
                    answer["inspectionData"] = self._inspection()
                    return answer
                break
        for index, catcher in enumerate(getattr(self.state, "catchers", ())):
            if catcher.matches(err.error):
                error_output = {"Error": err.error, "Cause": err.cause}
                try:
                    output = self.state.io.catch(
                        self.frame, index, self.raw, error_output, self.context
                    )
                except StatesError as failure:
                    self.frame.pending = None
                    answer.update(error=failure.error, cause=failure.cause)
                    break
                self.inspection["errorDetails"] = {"catchIndex": index}
                answer.update(status="CAUGHT_ERROR", nextState=catcher.next, output=dumps(output))
                break
        answer["inspectionData"] = self._inspection()
        return answer


_NUMERIC = frozenset(
    {"errorDetails", "maxConcurrency", "toleratedFailurePercentage", "toleratedFailureCount"}
)
