"""Executions through the API: start (async and sync), describe, list, history, stop, redrive,
task tokens and map runs.

Rules taken from AWS (API reference pages cited per method, and responses recorded against
AWS in LocalStack's ``test_sfn_api`` / ``test_sfn_api_express`` snapshots):

* StartExecution is idempotent for STANDARD: the same name and input as a *running*
  execution returns it; otherwise the name is taken (``ExecutionAlreadyExists``).
* An input that is not JSON is ``InvalidExecutionInput`` with Jackson's parser message; an
  empty string is ``Invalid execution input.``; no input means ``{}``.
* EXPRESS executions have no history or description: their ARNs (``...:express:...``) are
  ``InvalidArn: Resource type not valid in this context: express``; ListExecutions of an
  EXPRESS machine and StartSyncExecution of a STANDARD one are ``StateMachineTypeNotSupported``.
* A task token this server never issued is ``InvalidToken``; one whose task has ended is
  ``TaskTimedOut``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from visiongate.sfn.api import pagination
from visiongate.sfn.api.arns import check_name, expect, state_machine_arn
from visiongate.sfn.api.engines import EnginePool
from visiongate.sfn.api.exceptions import (
    InvalidExecutionInput,
    InvalidOutput,
    InvalidToken,
    ResourceNotFound,
    StateMachineDeleting,
    StateMachineTypeNotSupported,
    TaskDoesNotExist,
    ValidationException,
)
from visiongate.sfn.api.jsonerrors import parse_error
from visiongate.sfn.api.machines import StateMachines
from visiongate.sfn.api.versions import runnable, split_version
from visiongate.sfn.records import Execution, MapRun, StateMachine

_TOKEN_BYTES = 96  # visiongate's task tokens are base64 of 96 random bytes (sfn.tokens)


def input_text(value: str | None) -> str:
    """The execution input as JSON text, or InvalidExecutionInput worded as AWS words it."""
    if value is None:
        return "{}"
    if not value.strip():
        raise InvalidExecutionInput(
            "Invalid State Machine Execution Input: 'Invalid execution input.'"
        )
    error = parse_error(value)
    if error is not None:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error.message}'")
    return value


def _issued_by_us(token: str) -> bool:
    try:
        return len(base64.b64decode(token, validate=True)) == _TOKEN_BYTES
    except (binascii.Error, ValueError):
        return False


def _page(
    items: list[Any], token: str | None, max_results: int | None, scope: Any
) -> tuple[list[Any], str | None]:
    start = pagination.decode(token, scope) or 0
    size = pagination.page_size(max_results)
    more = start + size < len(items)
    return items[start : start + size], pagination.encode(start + size, scope) if more else None


class Executions:
    def __init__(self, engines: EnginePool, machines: StateMachines) -> None:
        self.engines = engines
        self.machines = machines

    # -- start ------------------------------------------------------------------------------

    def _prepare(
        self, arn: str, name: str | None, value: str | None
    ) -> tuple[StateMachine, str, str, str | None]:
        """(machine, input JSON, ARN to give the engine, version ARN if a version is started)."""
        state_machine_arn(arn)
        target, _, test_case = arn.partition("#")
        base, number = split_version(target)
        version_arn = None
        if number is not None:
            version, machine = self.machines.version(target)
            if not runnable(version, machine):
                raise ValidationException(
                    f"Version {number} of '{base}' no longer matches the state machine's current "
                    "definition and role; visiongate can only run a version while it does "
                    "(start the state machine, or publish the current revision)"
                )
            version_arn = target
        else:
            machine = self.machines.get(base)
        if machine.status == "DELETING":
            raise StateMachineDeleting(f"State Machine is being deleted: '{base}'")
        if name is not None:
            check_name(name)
        engine_arn = base + (f"#{test_case}" if test_case else "")
        return machine, input_text(value), engine_arn, version_arn

    def start(
        self, arn: str, name: str | None, value: str | None, trace_header: str | None
    ) -> Execution:
        """https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html"""
        machine, text, engine_arn, version_arn = self._prepare(arn, name, value)
        engine = self.engines.for_arn(machine.arn)
        execution = engine.start_execution(engine_arn, text, name, trace_header=trace_header)
        if version_arn is not None:
            self.machines.versions.record_execution(execution.arn, version_arn)
        return execution

    def start_sync(
        self, arn: str, name: str | None, value: str | None, trace_header: str | None
    ) -> Execution:
        """https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html"""
        machine, text, engine_arn, version_arn = self._prepare(arn, name, value)
        if machine.type != "EXPRESS":
            raise StateMachineTypeNotSupported()
        engine = self.engines.for_arn(machine.arn)
        execution = engine.start_execution(
            engine_arn, text, name, trace_header=trace_header, wait=True
        )
        if version_arn is not None:
            self.machines.versions.record_execution(execution.arn, version_arn)
        return execution

    def version_of(self, execution_arn: str) -> str | None:
        return self.machines.versions.version_of(execution_arn)

    # -- read -------------------------------------------------------------------------------

    def get(self, arn: str) -> Execution:
        expect(arn, "execution")
        return self.engines.running(arn).describe_execution(arn)

    def machine_for(self, arn: str) -> tuple[Execution, StateMachine | None, MapRun | None]:
        execution = self.get(arn)
        store = self.engines.for_arn(arn).store
        row = store.get_state_machine(execution.state_machine_arn)
        machine = StateMachine.from_row(row) if row is not None else None
        map_run = None
        if execution.map_run_arn:
            map_row = store.get_map_run(execution.map_run_arn)
            map_run = MapRun.from_row(map_row) if map_row is not None else None
        return execution, machine, map_run

    def list(
        self,
        region: str,
        *,
        state_machine: str | None,
        status: str | None,
        map_run: str | None,
        redrive_filter: str | None,
        max_results: int | None,
        token: str | None,
    ) -> tuple[list[Execution], str | None]:
        """https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html"""
        if state_machine and map_run:
            raise ValidationException(
                "1 validation error detected: Only one of StateMachine ARN or MapRun ARN can be "
                "provided"
            )
        if not state_machine and not map_run:
            raise ValidationException(
                "1 validation error detected: Must provide a StateMachine ARN or MapRun ARN"
            )
        of_version: set[str] | None = None
        requested = state_machine
        if state_machine:
            found = self.machines.get_any(state_machine)
            machine = found[1] if isinstance(found, tuple) else found
            if machine.type != "STANDARD":
                raise StateMachineTypeNotSupported()
            if isinstance(found, tuple):
                of_version = self.machines.versions.executions_of(state_machine)
                state_machine = machine.arn
            engine = self.engines.for_arn(state_machine)
        else:
            assert map_run is not None
            expect(map_run, "mapRun")
            engine = self.engines.for_arn(map_run)
            if engine.store.get_map_run(map_run) is None:
                raise ResourceNotFound(f"Resource not found: '{map_run}'")
        scope = ["ListExecutions", requested, map_run, status, redrive_filter]
        if redrive_filter or of_version is not None:
            wanted: Callable[[Execution], bool] = (
                (lambda e: e.redrive_count > 0)
                if redrive_filter == "REDRIVEN"
                else (lambda e: e.redrive_count == 0)
                if redrive_filter
                else (lambda e: True)
            )
            every = engine.list_executions(state_machine, status, map_run_arn=map_run)
            chosen = [e for e in every if wanted(e) and (of_version is None or e.arn in of_version)]
            return _page(chosen, token, max_results, scope)
        start = pagination.decode(token, scope) or 0
        size = pagination.page_size(max_results)
        rows = engine.list_executions(
            state_machine, status, map_run_arn=map_run, limit=size + 1, offset=start
        )
        more = len(rows) > size
        return rows[:size], pagination.encode(start + size, scope) if more else None

    def history(
        self,
        arn: str,
        *,
        max_results: int | None,
        reverse: bool,
        token: str | None,
        include_data: bool,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html"""
        self.get(arn)
        scope = ["GetExecutionHistory", arn, bool(reverse)]
        after = pagination.decode(token, scope)
        size = pagination.page_size(max_results)
        events = self.engines.running(arn).get_execution_history(
            arn,
            reverse=reverse,
            limit=size + 1,
            after_id=after,
            include_execution_data=include_data,
        )
        more = len(events) > size
        page = events[:size]
        return page, pagination.encode(page[-1]["id"], scope) if more and page else None

    # -- control ----------------------------------------------------------------------------

    def stop(self, arn: str, error: str | None, cause: str | None) -> Execution:
        """https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html"""
        self.get(arn)
        return self.engines.running(arn).stop_execution(arn, error, cause)

    def redrive(self, arn: str) -> Execution:
        """https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html"""
        self.get(arn)
        return self.engines.for_arn(arn).redrive_execution(arn)

    # -- task tokens ------------------------------------------------------------------------

    def _token_owner(self, token: str) -> Any:
        row = self.engines.store.get_task_token(token)
        if row is None:
            if _issued_by_us(token):
                raise TaskDoesNotExist("Task Does Not Exist: 'Provided task does not exist'")
            raise InvalidToken("Invalid Token: 'Invalid token'")
        return self.engines.running(row["execution_arn"])

    def send_success(self, token: str, output: str) -> None:
        """https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html"""
        engine = self._token_owner(token)
        error = parse_error(output) if output.strip() else None
        if not output.strip() or error is not None:
            detail = error.message if error is not None else "Invalid output."
            raise InvalidOutput(f"Invalid Output: '{detail}'")
        engine.send_task_success(token, output)

    def send_failure(self, token: str, error: str | None, cause: str | None) -> None:
        self._token_owner(token).send_task_failure(token, error, cause)

    def send_heartbeat(self, token: str) -> None:
        self._token_owner(token).send_task_heartbeat(token)

    # -- map runs ---------------------------------------------------------------------------

    def map_run(self, arn: str) -> MapRun:
        """https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html"""
        expect(arn, "mapRun")
        return self.engines.for_arn(arn).describe_map_run(arn)

    def map_runs(
        self, arn: str, max_results: int | None, token: str | None
    ) -> tuple[list[MapRun], str | None]:
        self.get(arn)
        runs = self.engines.for_arn(arn).list_map_runs(arn)
        return _page(runs, token, max_results, ["ListMapRuns", arn])
