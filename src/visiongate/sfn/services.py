"""Services the states call on the engine: Distributed Map children, nested executions, and
asynchronous Lambda invocations. A mixin of :class:`visiongate.sfn.engine.Engine`.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from visiongate.sfn.context import iso_millis
from visiongate.sfn.errors import (
    ExecutionAlreadyExists,
    InvalidArn,
    StateMachineDoesNotExist,
    StatesError,
    StatesErrorName,
)
from visiongate.sfn.executor import drive
from visiongate.sfn.functions import FunctionError, LocalFunction
from visiongate.sfn.history import History, dumps
from visiongate.sfn.records import RUNNING
from visiongate.sfn.runtime import ACTIVE_LOCK, ACTIVE_RUNS, Run

log = logging.getLogger(__name__)


class Services:
    """What Task and Map states ask of the engine (mixed into Engine)."""

    store: Any
    clock: Any
    owner: str
    history_limit: int | None
    arns: Any
    functions: Any
    tokens: Any
    region: str
    account: str
    rand: Any
    flush_every: int
    _pool: Any

    # -- services the states call -------------------------------------------------------------

    def invoke_async(
        self, function: LocalFunction, payload: Any, request_id: str, tags: dict
    ) -> None:
        """Lambda InvocationType Event: run the function in the background."""

        def call() -> None:
            try:
                self.functions.invoke(function, payload, request_id=request_id, tags=tags)
            except FunctionError as exc:
                log.warning("asynchronous invocation of %s failed: %s", function.name, exc.payload)

        self._pool.submit(call)

    def run_map_child(
        self,
        parent: Run,
        block: Any,
        processor_text: str,
        *,
        label: str,
        map_run_arn: str,
        value: Any,
        express: bool,
    ) -> dict[str, Any]:
        """Run one child execution of a Distributed Map in this thread; returns its outcome."""
        name = str(uuid.uuid4())
        arn = self.arns.map_run_child(parent.state_machine_name, label, name)
        machine_arn = f"{parent.state_machine_arn}/{label}"
        input_text = dumps(value)
        start = self.clock.now()
        history = History(self.clock.time, limit=None if express else self.history_limit)
        kwargs: dict[str, Any] = {"rand": self.rand} if self.rand is not None else {}
        run = Run(
            arn=arn,
            name=name,
            state_machine_arn=machine_arn,
            state_machine_name=f"{parent.state_machine_name}/{label}",
            role_arn=parent.role_arn,
            start_time=start,
            input_value=value,
            redrive_count=0,
            clock=self.clock,
            history=history,
            store=self.store,
            functions=self.functions,
            tokens=self.tokens,
            region=self.region,
            account=self.account,
            mocks=parent.mocks,
            persist_events=not express,
            flush_every=self.flush_every,
            services=self,
            **kwargs,
        )
        run.cancel = parent.cancel  # stopping the parent stops its Map Run
        history.add_details(
            "ExecutionStarted",
            0,
            "executionStartedEventDetails",
            {"input": input_text, "inputDetails": {"truncated": False}, "roleArn": parent.role_arn},
        )
        run.execution_id = self.store.insert_execution(
            {
                "arn": arn,
                "name": name,
                "state_machine_arn": machine_arn,
                "state_machine_name": run.state_machine_name,
                "type": "EXPRESS" if express else "STANDARD",
                "definition": processor_text,
                "role_arn": parent.role_arn,
                "status": RUNNING,
                "input": input_text,
                "start_date": start.timestamp(),
                "redrive_count": 0,
                "map_run_arn": map_run_arn,
                "owner": self.owner,
                "last_event_id": history.last_id,
            },
            history.take_pending() if not express else [],
        )
        with ACTIVE_LOCK:
            ACTIVE_RUNS[arn] = run
        try:
            status, output, error, cause = drive(run, block, block.start_at, value, input_text, 0)
        finally:
            with ACTIVE_LOCK:
                ACTIVE_RUNS.pop(arn, None)
        return {
            "status": status,
            "output": output,
            "error": error,
            "cause": cause,
            "arn": arn,
            "name": name,
            "input": input_text,
            "start": iso_millis(start),
            "stop": iso_millis(self.clock.now()),
            "state_machine_arn": machine_arn,
        }

    def start_nested(self, parameters: Any, parent: Run, pattern: str, call: Any) -> Any:
        """``states:startExecution``: start another state machine of this engine."""
        if not isinstance(parameters, dict) or not isinstance(
            parameters.get("StateMachineArn"), str
        ):
            raise StatesError("StepFunctions.InvalidArnException", "StateMachineArn is required")
        child_input = parameters.get("Input", {})
        try:
            execution = self.start_execution(
                parameters["StateMachineArn"],
                child_input if not isinstance(child_input, str) else child_input,
                parameters.get("Name"),
                wait=pattern.startswith(".sync"),
            )
        except (StateMachineDoesNotExist, InvalidArn) as exc:
            raise StatesError(
                "StepFunctions.StateMachineDoesNotExistException", exc.message
            ) from None
        except ExecutionAlreadyExists as exc:
            raise StatesError(
                "StepFunctions.ExecutionAlreadyExistsException", exc.message
            ) from None
        start_ms = int(execution.start_date.timestamp() * 1000)
        if not pattern.startswith(".sync"):
            return {"ExecutionArn": execution.arn, "StartDate": start_ms}
        described: dict[str, Any] = {
            "ExecutionArn": execution.arn,
            "Input": execution.input if pattern == ".sync" else json.loads(execution.input),
            "InputDetails": {"Included": True},
            "Name": execution.name,
            "Output": execution.output if pattern == ".sync" else execution.output_value,
            "OutputDetails": {"Included": True},
            "RedriveCount": execution.redrive_count,
            "StartDate": start_ms,
            "StateMachineArn": execution.state_machine_arn,
            "Status": execution.status,
            "StopDate": int(execution.stop_date.timestamp() * 1000)
            if execution.stop_date
            else None,
        }
        if execution.status != "SUCCEEDED":
            described.pop("Output", None)
            described.pop("OutputDetails", None)
            if execution.error:
                described["Error"] = execution.error
            if execution.cause:
                described["Cause"] = execution.cause
            raise StatesError(StatesErrorName.TASK_FAILED, dumps(described))
        return described
