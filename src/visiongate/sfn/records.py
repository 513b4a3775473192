"""Public records the engine returns: state machines, executions, map runs, run results.

Field names follow the Step Functions API (snake_case of DescribeStateMachine /
DescribeExecution / DescribeMapRun) so the API server can shape responses without guessing.
Dates are aware UTC datetimes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"
PENDING_REDRIVE = "PENDING_REDRIVE"
TERMINAL_STATUSES = frozenset({SUCCEEDED, FAILED, TIMED_OUT, ABORTED})
REDRIVABLE_STATUSES = frozenset({FAILED, TIMED_OUT, ABORTED})


def _date(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


@dataclass(frozen=True)
class StateMachine:
    arn: str
    name: str
    type: str  # STANDARD | EXPRESS
    definition: str
    role_arn: str
    status: str
    creation_date: datetime
    update_date: datetime | None
    revision_id: str
    description: str = ""
    logging_configuration: dict[str, Any] | None = None
    tracing_configuration: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StateMachine:
        return cls(
            arn=row["arn"],
            name=row["name"],
            type=row["type"],
            definition=row["definition"],
            role_arn=row["role_arn"],
            status=row["status"],
            creation_date=_date(row["creation_date"]),  # type: ignore[arg-type]
            update_date=_date(row["update_date"]),
            revision_id=row["revision_id"],
            description=row["description"] or "",
            logging_configuration=json.loads(row["logging_configuration"])
            if row["logging_configuration"]
            else None,
            tracing_configuration=json.loads(row["tracing_configuration"])
            if row["tracing_configuration"]
            else None,
            tags=json.loads(row["tags"] or "{}"),
        )


@dataclass(frozen=True)
class Execution:
    """What DescribeExecution returns, plus the definition the execution runs."""

    arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    type: str
    status: str
    input: str
    output: str | None
    error: str | None
    cause: str | None
    start_date: datetime
    stop_date: datetime | None
    redrive_count: int
    redrive_date: datetime | None
    map_run_arn: str | None
    definition: str
    role_arn: str | None = None
    test_case: str | None = None
    trace_header: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Execution:
        return cls(
            arn=row["arn"],
            name=row["name"],
            state_machine_arn=row["state_machine_arn"],
            state_machine_name=row["state_machine_name"],
            type=row["type"],
            status=row["status"],
            input=row["input"],
            output=row["output"],
            error=row["error"],
            cause=row["cause"],
            start_date=_date(row["start_date"]),  # type: ignore[arg-type]
            stop_date=_date(row["stop_date"]),
            redrive_count=row["redrive_count"],
            redrive_date=_date(row["redrive_date"]),
            map_run_arn=row["map_run_arn"],
            definition=row["definition"],
            role_arn=row["role_arn"],
            test_case=row["test_case"],
            trace_header=row["trace_header"],
        )

    @property
    def output_value(self) -> Any:
        return json.loads(self.output) if self.output is not None else None

    @property
    def input_value(self) -> Any:
        return json.loads(self.input)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def redrive_status(self) -> tuple[str, str | None]:
        """(redriveStatus, redriveStatusReason) as DescribeExecution reports them."""
        if self.status == RUNNING or self.status == PENDING_REDRIVE:
            return "NOT_REDRIVABLE", f"Execution is {self.status} and cannot be redriven"
        if self.status == SUCCEEDED:
            return "NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven"
        if self.type == "EXPRESS":
            return "NOT_REDRIVABLE", "Execution is of type EXPRESS and cannot be redriven"
        return "REDRIVABLE", None


@dataclass
class ExecutionResult:
    """The outcome of :meth:`Engine.run`: status, output or error, and the history."""

    execution: Execution
    _load_history: Callable[[], list[dict[str, Any]]] = field(repr=False)

    @property
    def arn(self) -> str:
        return self.execution.arn

    @property
    def status(self) -> str:
        return self.execution.status

    @property
    def output(self) -> Any:
        return self.execution.output_value

    @property
    def error(self) -> str | None:
        return self.execution.error

    @property
    def cause(self) -> str | None:
        return self.execution.cause

    @property
    def succeeded(self) -> bool:
        return self.execution.status == SUCCEEDED

    @cached_property
    def history(self) -> list[dict[str, Any]]:
        return self._load_history()

    def event_types(self) -> list[str]:
        return [event["type"] for event in self.history]


@dataclass(frozen=True)
class MapRun:
    """What DescribeMapRun returns."""

    arn: str
    execution_arn: str
    state_name: str
    label: str | None
    status: str
    start_date: datetime
    stop_date: datetime | None
    max_concurrency: int
    tolerated_failure_percentage: float
    tolerated_failure_count: int
    item_counts: dict[str, int]
    execution_counts: dict[str, int]
    redrive_count: int
    redrive_date: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> MapRun:
        return cls(
            arn=row["arn"],
            execution_arn=row["execution_arn"],
            state_name=row["state_name"],
            label=row["label"],
            status=row["status"],
            start_date=_date(row["start_date"]),  # type: ignore[arg-type]
            stop_date=_date(row["stop_date"]),
            max_concurrency=row["max_concurrency"],
            tolerated_failure_percentage=row["tolerated_failure_percentage"],
            tolerated_failure_count=row["tolerated_failure_count"],
            item_counts=json.loads(row["item_counts"]),
            execution_counts=json.loads(row["execution_counts"]),
            redrive_count=row["redrive_count"],
            redrive_date=_date(row["redrive_date"]),
        )
