"""The engine's Python API: state machines, executions, history, task tokens, redrive.

    engine = Engine(settings)                             # or Engine(fast_time=True) in tests
    result = engine.run(definition, {"s3_bucket": "b", "s3_key": "cat.png"})
    result.status, result.output, result.error, result.cause, result.history

    machine = engine.create_state_machine("image-classification", definition)
    execution = engine.start_execution(machine.arn, input, name="run-1")   # async
    engine.wait(execution.arn)

Method names and errors follow the Step Functions API (CreateStateMachine → create_state_machine,
StartExecution → start_execution, ...) so the API server is a thin layer over this class.
Everything is persisted in the SQLite store (``Settings.database``), shared with other processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from visiongate.sfn.clock import Clock, RealClock, VirtualClock
from visiongate.sfn.context import Arns, invalid_name_reason, new_execution_name
from visiongate.sfn.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidName,
    Problem,
    ResourceNotFound,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    ValidationException,
)
from visiongate.sfn.executor import drive
from visiongate.sfn.functions import (
    DEFAULT_ACCOUNT,
    FunctionRegistry,
    Handler,
    prepare_environment,
)
from visiongate.sfn.history import HISTORY_LIMIT, History, dumps, event_from_row, payload_size
from visiongate.sfn.mock_config import MockConfig
from visiongate.sfn.model import Machine, compile_machine, parse_definition, substitute
from visiongate.sfn.records import (
    ABORTED,
    RUNNING,
    TERMINAL_STATUSES,
    Execution,
    ExecutionResult,
    MapRun,
    StateMachine,
)
from visiongate.sfn.recovery import Recovery, hostname, process_alive
from visiongate.sfn.runtime import ACTIVE_LOCK, ACTIVE_RUNS, PAYLOAD_LIMIT, Run
from visiongate.sfn.services import Services
from visiongate.sfn.tokens import TaskTokens

log = logging.getLogger(__name__)

_STATE_MACHINE_ARN = "arn:aws:states:"


def _adhoc_name(text: str) -> str:
    """The state machine name for a definition run without one."""
    return "adhoc-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


class Engine(Recovery, Services):
    """An embedded Step Functions: compile, run, persist, resume and redrive executions."""

    def __init__(
        self,
        settings: Any = None,
        *,
        clock: Clock | None = None,
        fast_time: bool = False,
        functions: Mapping[str, str | Handler] | None = None,
        mock_config: MockConfig | str | Path | None = None,
        database: str | Path | None = None,
        region: str | None = None,
        account: str = DEFAULT_ACCOUNT,
        history_limit: int | None = HISTORY_LIMIT,
        max_workers: int = 16,
        flush_every: int = 2000,
        rand: Callable[[], float] | None = None,
        prepare_env: bool = True,
    ) -> None:
        from visiongate.config import load_settings
        from visiongate.sfn.store import Store

        self.settings = settings if settings is not None else load_settings()
        self.clock: Clock = clock or (VirtualClock() if fast_time else RealClock())
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.account = account
        self.arns = Arns(self.region, self.account)
        self.store = Store(database if database is not None else self.settings.database)
        registry: dict[str, str | Handler] = dict(getattr(self.settings, "functions", {}) or {})
        registry.update(functions or {})
        self.functions = FunctionRegistry(registry, region=self.region, account=self.account)
        self.tokens = TaskTokens(self.store)
        if isinstance(mock_config, str | Path):
            mock_config = MockConfig.load(mock_config)
        self.mock_config = mock_config
        self.history_limit = history_limit
        self.flush_every = flush_every
        self.rand = rand
        self.owner = f"{hostname()}:{os.getpid()}"
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="vg-exec")
        self._runs: dict[str, Run] = {}
        self._done: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._object_store: Any = None
        if prepare_env:
            prepare_environment(self.settings, self.region)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def on_function_log(self) -> list[Callable[[dict[str, Any]], None]]:
        """Callbacks receiving every log record a local function emits (see functions.py)."""
        return self.functions.log_listeners

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
        self.functions.close()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def object_store(self) -> Any:
        if self._object_store is None:
            from visiongate.storage import open_store

            self._object_store = open_store(self.settings)
        return self._object_store

    # -- definitions ------------------------------------------------------------------------

    def resolve_definition(self, definition: str | dict[str, Any]) -> str:
        """The definition text with ``${Name}`` placeholders replaced from the settings."""
        _parsed, text = parse_definition(definition)
        return substitute(text, dict(getattr(self.settings, "substitutions", {}) or {}))

    def validate(self, definition: str | dict[str, Any]) -> list[Problem]:
        """Every problem of ``definition`` (after substitutions); [] when valid."""
        from visiongate.sfn.validate import validate_definition

        try:
            text = self.resolve_definition(definition)
        except InvalidDefinition as exc:
            return exc.problems
        return validate_definition(text)

    def compile(self, definition: str | dict[str, Any]) -> Machine:
        return compile_machine(self.resolve_definition(definition))

    # -- state machines ---------------------------------------------------------------------

    def create_state_machine(
        self,
        name: str,
        definition: str | dict[str, Any],
        role_arn: str | None = None,
        type: str = "STANDARD",
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        logging_configuration: dict[str, Any] | None = None,
        tracing_configuration: dict[str, Any] | None = None,
    ) -> StateMachine:
        """CreateStateMachine: validate (after substitutions) and store. Idempotent when
        called again with the same definition and role, as on AWS."""
        reason = invalid_name_reason(name)
        if reason:
            raise InvalidName(f"Invalid Name: '{name}' ({reason})")
        if type not in ("STANDARD", "EXPRESS"):
            raise ValidationException(
                f"1 validation error detected: Value '{type}' at 'type' failed to satisfy "
                "constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
            )
        _parsed, text = parse_definition(definition)
        self.compile(text)  # raises InvalidDefinition with every problem
        arn = self.arns.state_machine(name)
        role = role_arn or self.arns.default_role()
        existing = self.store.get_state_machine(arn)
        if existing is not None:
            if (
                existing["definition"] == text
                and existing["role_arn"] == role
                and existing["type"] == type
            ):
                return StateMachine.from_row(existing)
            raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'")
        now = self.clock.now().timestamp()
        self.store.insert_state_machine(
            {
                "arn": arn,
                "name": name,
                "type": type,
                "definition": text,
                "role_arn": role,
                "status": "ACTIVE",
                "creation_date": now,
                "update_date": None,
                "revision_id": str(uuid.uuid4()),
                "description": description,
                "logging_configuration": json.dumps(logging_configuration)
                if logging_configuration
                else None,
                "tracing_configuration": json.dumps(tracing_configuration)
                if tracing_configuration
                else None,
                "tags": json.dumps(dict(tags or {})),
            }
        )
        return self.describe_state_machine(arn)

    def update_state_machine(
        self,
        arn: str,
        definition: str | dict[str, Any] | None = None,
        role_arn: str | None = None,
        **fields: Any,
    ) -> StateMachine:
        """UpdateStateMachine: new definition and/or role; a new revision id."""
        self.describe_state_machine(arn)
        changes: dict[str, Any] = {}
        if definition is not None:
            _parsed, text = parse_definition(definition)
            self.compile(text)
            changes["definition"] = text
        if role_arn is not None:
            changes["role_arn"] = role_arn
        for key in ("description", "logging_configuration", "tracing_configuration"):
            if key in fields and fields[key] is not None:
                value = fields[key]
                changes[key] = json.dumps(value) if isinstance(value, dict) else value
        if changes:
            changes["update_date"] = self.clock.now().timestamp()
            changes["revision_id"] = str(uuid.uuid4())
            self.store.update_state_machine(arn, **changes)
        return self.describe_state_machine(arn)

    def ensure_state_machine(
        self, name: str, definition: str | dict[str, Any], type: str = "STANDARD"
    ) -> StateMachine:
        """The state machine ``name`` with this definition, created or updated as needed."""
        arn = self.arns.state_machine(name)
        row = self.store.get_state_machine(arn)
        _parsed, text = parse_definition(definition)
        if row is None:
            return self.create_state_machine(name, text, type=type)
        if row["definition"] != text:
            return self.update_state_machine(arn, text)
        return StateMachine.from_row(row)

    def describe_state_machine(self, arn: str) -> StateMachine:
        self._check_arn(arn, "stateMachine")
        row = self.store.get_state_machine(arn)
        if row is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        return StateMachine.from_row(row)

    def list_state_machines(self) -> list[StateMachine]:
        return [StateMachine.from_row(row) for row in self.store.list_state_machines()]

    def delete_state_machine(self, arn: str) -> None:
        self._check_arn(arn, "stateMachine")
        self.store.delete_state_machine(arn)

    # -- executions -------------------------------------------------------------------------

    def start_execution(
        self,
        state_machine: str | dict[str, Any],
        input: Any = None,
        name: str | None = None,
        *,
        test_case: str | None = None,
        trace_header: str | None = None,
        wait: bool = False,
    ) -> Execution:
        """StartExecution. ``state_machine`` is an ARN (``...#TestCase`` selects a mocked
        test case, as with Step Functions Local) or a definition (JSON text or dict, run as an
        ad-hoc state machine named after its hash). Runs on the engine's thread pool unless
        ``wait`` — then it runs in this thread and returns the finished execution."""
        if not (isinstance(state_machine, str) and state_machine.startswith("arn:")):
            _parsed, text = parse_definition(state_machine)
            machine = self.ensure_state_machine(_adhoc_name(text), text)
            return self._start(machine, input, name, test_case, trace_header, wait)
        arn_text, _, suffix = state_machine.partition("#")
        test_case = test_case or (suffix or None)
        machine_row = self.describe_state_machine(arn_text)
        return self._start(machine_row, input, name, test_case, trace_header, wait)

    def run(
        self,
        definition: str | dict[str, Any],
        input: Any = None,
        name: str | None = None,
        *,
        state_machine_name: str | None = None,
        test_case: str | None = None,
        type: str = "STANDARD",
    ) -> ExecutionResult:
        """Run a definition (or a state machine ARN) to the end in this thread."""
        if isinstance(definition, str) and definition.startswith(_STATE_MACHINE_ARN):
            execution = self.start_execution(
                definition, input, name, test_case=test_case, wait=True
            )
        else:
            _parsed, text = parse_definition(definition)
            machine_name = state_machine_name or _adhoc_name(text)
            machine = self.ensure_state_machine(machine_name, text, type=type)
            execution = self._start(machine, input, name, test_case, None, True)
        return self.result(execution.arn)

    def result(self, arn: str) -> ExecutionResult:
        execution = self.describe_execution(arn)
        return ExecutionResult(execution, lambda: self.get_execution_history(execution.arn))

    def _input_text(self, input: Any) -> str:
        if input is None:
            return "{}"
        if isinstance(input, str):
            try:
                json.loads(input)
            except ValueError:
                raise InvalidExecutionInput(
                    "Invalid State Machine Execution Input: 'the input is not valid JSON'"
                ) from None
            text = input
        else:
            try:
                text = dumps(input)
            except (TypeError, ValueError):
                raise InvalidExecutionInput(
                    "Invalid State Machine Execution Input: 'the input is not JSON'"
                ) from None
        if payload_size(text) > PAYLOAD_LIMIT:
            raise InvalidExecutionInput(
                "Invalid State Machine Execution Input: 'the input exceeds the maximum of "
                f"{PAYLOAD_LIMIT} bytes'"
            )
        return text

    def _start(
        self,
        machine_row: StateMachine,
        input: Any,
        name: str | None,
        test_case: str | None,
        trace_header: str | None,
        wait: bool,
    ) -> Execution:
        input_text = self._input_text(input)
        name = name or new_execution_name()
        reason = invalid_name_reason(name)
        if reason:
            raise InvalidName(f"Invalid Name: '{name}' ({reason})")
        express = machine_row.type == "EXPRESS"
        arn = self.arns.execution(machine_row.name, name, express=express)
        existing = self.store.get_execution(arn)
        if existing is not None:
            if existing["status"] == RUNNING and existing["input"] == input_text:
                return Execution.from_row(existing)  # StartExecution is idempotent
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
        resolved = self.resolve_definition(machine_row.definition)
        machine = compile_machine(resolved)
        mocks = None
        if test_case:
            if self.mock_config is None:
                raise ValidationException(
                    f"test case {test_case!r} asked for, but the engine has no mock config",
                    hint="pass --mock-config FILE (Engine(mock_config=...))",
                )
            mocks = self.mock_config.test_case(machine_row.name, test_case)
        start = self.clock.now()
        history = History(self.clock.time, limit=None if express else self.history_limit)
        run = self._make_run(
            arn=arn,
            name=name,
            machine_row=machine_row,
            start=start,
            input_text=input_text,
            redrive_count=0,
            history=history,
            mocks=mocks,
            express=express,
        )
        run.deadline = self._deadline(machine, start)
        started = {
            "input": input_text,
            "inputDetails": {"truncated": False},
            "roleArn": machine_row.role_arn,
        }
        history.add_details("ExecutionStarted", 0, "executionStartedEventDetails", started)
        events = history.take_pending() if not express else []
        run.execution_id = self.store.insert_execution(
            {
                "arn": arn,
                "name": name,
                "state_machine_arn": machine_row.arn,
                "state_machine_name": machine_row.name,
                "type": machine_row.type,
                "definition": resolved,
                "role_arn": machine_row.role_arn,
                "status": RUNNING,
                "input": input_text,
                "start_date": start.timestamp(),
                "redrive_count": 0,
                "test_case": test_case,
                "trace_header": trace_header,
                "owner": self.owner,
                "last_event_id": history.last_id,
            },
            events,
            checkpoint=(arn, machine.start_at, input_text, history.last_id, 0, start.timestamp()),
        )
        self._launch(run, machine, machine.start_at, json.loads(input_text), input_text, 0, wait)
        return self.describe_execution(arn)

    def _deadline(self, machine: Machine, start: Any) -> float | None:
        if machine.timeout_seconds is None:
            return None
        elapsed = (self.clock.now() - start).total_seconds()
        return self.clock.monotonic() + machine.timeout_seconds - max(elapsed, 0.0)

    def _make_run(
        self,
        *,
        arn: str,
        name: str,
        machine_row: StateMachine,
        start: Any,
        input_text: str,
        redrive_count: int,
        history: History,
        mocks: Any,
        express: bool,
    ) -> Run:
        kwargs: dict[str, Any] = {}
        if self.rand is not None:
            kwargs["rand"] = self.rand
        return Run(
            arn=arn,
            name=name,
            state_machine_arn=machine_row.arn,
            state_machine_name=machine_row.name,
            role_arn=machine_row.role_arn,
            start_time=start,
            input_value=json.loads(input_text),
            redrive_count=redrive_count,
            clock=self.clock,
            history=history,
            store=self.store,
            functions=self.functions,
            tokens=self.tokens,
            region=self.region,
            account=self.account,
            mocks=mocks,
            persist_events=not express,
            flush_every=self.flush_every,
            services=self,
            **kwargs,
        )

    def _launch(
        self,
        run: Run,
        machine: Any,
        state: str,
        value: Any,
        text: str | None,
        previous: int,
        wait: bool,
        variables: str | None = None,
    ) -> None:
        done = threading.Event()
        with self._lock:
            self._runs[run.arn] = run
            self._done[run.arn] = done
        with ACTIVE_LOCK:
            ACTIVE_RUNS[run.arn] = run

        start_time = self.clock.fork()  # the pool thread continues from the caller's time

        def go() -> None:
            self.clock.adopt(start_time)
            try:
                drive(run, machine, state, value, text, previous, variables)
            finally:
                with self._lock:
                    self._runs.pop(run.arn, None)
                    self._done.pop(run.arn, None)  # later waits read the store
                with ACTIVE_LOCK:
                    ACTIVE_RUNS.pop(run.arn, None)
                done.set()

        if wait:
            go()
        else:
            self._pool.submit(go)

    def wait(self, arn: str, timeout: float | None = None) -> Execution:
        """Block until the execution is no longer running (in this or another process)."""
        arn = self.resolve_execution_arn(arn)
        done = self._done.get(arn)
        if done is not None:
            done.wait(timeout)
            return self.describe_execution(arn)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            execution = self.describe_execution(arn)
            if execution.done or (deadline is not None and time.monotonic() >= deadline):
                return execution
            time.sleep(0.1)

    def describe_execution(self, arn: str) -> Execution:
        row = self.store.get_execution(arn)
        if row is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
        return Execution.from_row(row)

    def resolve_execution_arn(self, id_or_name: str) -> str:
        """A full execution ARN from an ARN or an execution name (the most recent match)."""
        if id_or_name.startswith("arn:"):
            if self.store.get_execution(id_or_name) is None:
                raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{id_or_name}'")
            return id_or_name
        rows = self.store.find_executions_by_name(id_or_name)
        if not rows:
            raise ExecutionDoesNotExist(
                f"Execution Does Not Exist: '{id_or_name}'",
                hint="pass an execution ARN or name from `visiongate executions list`",
            )
        return rows[0]["arn"]

    def list_executions(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        *,
        map_run_arn: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Execution]:
        rows = self.store.list_executions(
            state_machine_arn=state_machine_arn,
            status=status,
            map_run_arn=map_run_arn,
            limit=limit,
            offset=offset,
        )
        return [Execution.from_row(row) for row in rows]

    def get_execution_history(
        self,
        arn: str,
        *,
        reverse: bool = False,
        limit: int | None = None,
        after_id: int | None = None,
        include_execution_data: bool = True,
    ) -> list[dict[str, Any]]:
        """GetExecutionHistory: AWS-shaped events; ``after_id`` continues a page."""
        self.describe_execution(arn)
        run = self._runs.get(arn)
        if run is not None and run.history.pending:
            run.flush()
        events = [
            event_from_row(row)
            for row in self.store.get_events(arn, reverse=reverse, after_id=after_id, limit=limit)
        ]
        if not include_execution_data:
            for event in events:
                for key, value in event.items():
                    if key.endswith("EventDetails") and isinstance(value, dict):
                        for field in ("input", "inputDetails", "output", "outputDetails"):
                            value.pop(field, None)
        return events

    def stop_execution(
        self, arn: str, error: str | None = None, cause: str | None = None
    ) -> Execution:
        """StopExecution: abort a running execution (``ExecutionAborted``)."""
        execution = self.describe_execution(arn)
        if execution.status != RUNNING:
            return execution
        run = self._runs.get(arn) or ACTIVE_RUNS.get(arn)
        if run is not None:
            run.stop_error, run.stop_cause = error, cause
            run.cancel.set()
            run.tokens.wake(arn)
            done = self._done.get(arn)
            if done is not None:
                done.wait(30)
            else:
                self._wait_stopped(arn)
            return self.describe_execution(arn)
        row = self.store.get_execution(arn) or {}
        if process_alive(row.get("owner")) and row.get("owner") != self.owner:
            raise ValidationException(
                f"execution {arn} is running in another process ({row.get('owner')})",
                hint="stop it from that process (or the API server that runs it)",
            )
        # An orphan (its process died): close it here.
        self._close_orphan(arn, ABORTED, error, cause)
        return self.describe_execution(arn)

    # -- task tokens ------------------------------------------------------------------------

    def send_task_success(self, task_token: str, output: Any) -> None:
        """SendTaskSuccess: ``output`` is JSON text or a JSON-compatible value."""
        self.tokens.succeed(task_token, output)

    def send_task_failure(
        self, task_token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        self.tokens.fail(task_token, error, cause)

    def send_task_heartbeat(self, task_token: str) -> None:
        self.tokens.heartbeat(task_token)

    # -- map runs ---------------------------------------------------------------------------

    def describe_map_run(self, map_run_arn: str) -> MapRun:
        row = self.store.get_map_run(map_run_arn)
        if row is None:
            raise ResourceNotFound(f"Resource not found: '{map_run_arn}'")
        return MapRun.from_row(row)

    def list_map_runs(self, execution_arn: str) -> list[MapRun]:
        self.describe_execution(execution_arn)
        return [MapRun.from_row(row) for row in self.store.list_map_runs(execution_arn)]

    # -- helpers ----------------------------------------------------------------------------

    def _check_arn(self, arn: Any, kind: str) -> None:
        if not isinstance(arn, str) or not arn.startswith("arn:") or f":{kind}:" not in arn:
            raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {arn}'")

    def running(self) -> list[str]:
        with self._lock:
            return list(self._runs)

    def is_terminal(self, arn: str) -> bool:
        return self.describe_execution(arn).status in TERMINAL_STATUSES
