"""Crash recovery and redrive: the part of the engine that restarts executions.

* :meth:`Recovery.resume_running` finds RUNNING executions whose process died (``owner`` is
  host:pid) and runs them again from their checkpoint, dropping the events written after it;
* :meth:`Recovery.redrive_execution` is RedriveExecution: a FAILED, TIMED_OUT or ABORTED
  execution restarts at the state that did not succeed, keeping the Map iterations and
  Parallel branches that did (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html);
* orphans (children of a resumed Distributed Map, executions of a dead process that are
  stopped) are closed as ABORTED.

A mixin of :class:`visiongate.sfn.engine.Engine`.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from visiongate.sfn.errors import ExecutionDoesNotExist, ExecutionNotRedrivable
from visiongate.sfn.history import History
from visiongate.sfn.model import compile_machine
from visiongate.sfn.records import ABORTED, REDRIVABLE_STATUSES, RUNNING, Execution, StateMachine
from visiongate.sfn.runtime import ACTIVE_RUNS


def hostname() -> str:
    return socket.gethostname()


def process_alive(owner: str | None) -> bool:
    """Is the process named by an ``owner`` column (host:pid) still running?"""
    if not owner:
        return False
    host, _, pid_text = owner.rpartition(":")
    if host != hostname():
        return True  # another machine's execution: never steal it
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped by its parent is a zombie: it is not running
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class Recovery:
    """Resume and redrive (mixed into Engine, whose attributes it uses)."""

    store: Any
    clock: Any
    owner: str
    history_limit: int | None
    mock_config: Any
    arns: Any

    def _wait_stopped(self, arn: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while arn in ACTIVE_RUNS and time.monotonic() < deadline:
            time.sleep(0.01)

    def _close_orphan(self, arn: str, status: str, error: str | None, cause: str | None) -> None:
        row = self.store.get_execution(arn)
        assert row is not None
        checkpoint = self.store.get_checkpoint(arn)
        last = checkpoint["last_event_id"] if checkpoint else row["last_event_id"]
        self.store.discard_events_after(arn, last)
        history = History(self.clock.time, last_id=last, limit=None)
        details = {k: v for k, v in (("error", error), ("cause", cause)) if v}
        history.add_details("ExecutionAborted", last, "executionAbortedEventDetails", details)
        self.store.save_progress(
            arn,
            row["id"],
            history.take_pending(),
            execution={
                "status": status,
                "error": error,
                "cause": cause,
                "stop_date": self.clock.now().timestamp(),
                "owner": None,
            },
            last_event_id=history.last_id,
        )

    # -- crash recovery and redrive ---------------------------------------------------------

    def resume_running(self, *, wait: bool = False) -> list[str]:
        """Resume every RUNNING execution whose process died, from its last checkpoint."""
        resumed = []
        for row in self.store.list_executions(status=RUNNING, include_children=True):
            arn = row["arn"]
            if arn in ACTIVE_RUNS or (process_alive(row["owner"]) and row["owner"] != self.owner):
                continue
            if row["map_run_arn"]:
                # A Distributed Map child: its parent re-runs the Map state with new children.
                self._close_orphan(arn, ABORTED, "States.Runtime", "The parent execution resumed")
                continue
            if self._resume(row, wait):
                resumed.append(arn)
        return resumed

    def _resume(self, row: dict[str, Any], wait: bool) -> bool:
        arn = row["arn"]
        checkpoint = self.store.get_checkpoint(arn)
        if checkpoint is None:
            self._close_orphan(arn, ABORTED, "States.Runtime", "No checkpoint to resume from")
            return False
        self.store.discard_events_after(arn, checkpoint["last_event_id"])
        self.store.update_execution(
            arn, owner=self.owner, last_event_id=checkpoint["last_event_id"]
        )
        machine_row = self._machine_row_for(row)
        machine = compile_machine(row["definition"])
        express = row["type"] == "EXPRESS"
        history = History(
            self.clock.time,
            last_id=checkpoint["last_event_id"],
            limit=None if express else self.history_limit,
        )
        start = Execution.from_row(row).start_date
        run = self._rebuild_run(row, machine_row, start, history, row["redrive_count"], express)
        run.deadline = self._deadline(machine, start)
        value = json.loads(checkpoint["input"])
        self._launch(
            run,
            machine,
            checkpoint["state"],
            value,
            checkpoint["input"],
            checkpoint["previous_id"],
            wait,
            checkpoint.get("variables"),
        )
        return True

    def _rebuild_run(
        self,
        row: dict[str, Any],
        machine_row: Any,
        start: Any,
        history: Any,
        redrive_count: int,
        express: bool,
    ) -> Any:
        """A Run for a stored execution (resume or redrive), with its mocked test case."""
        mocks = (
            self.mock_config.test_case(row["state_machine_name"], row["test_case"])
            if row["test_case"] and self.mock_config is not None
            else None
        )
        run = self._make_run(
            arn=row["arn"],
            name=row["name"],
            machine_row=machine_row,
            start=start,
            input_text=row["input"],
            redrive_count=redrive_count,
            history=history,
            mocks=mocks,
            express=express,
        )
        run.execution_id = row["id"]
        return run

    def _machine_row_for(self, row: dict[str, Any]) -> StateMachine:
        stored = self.store.get_state_machine(row["state_machine_arn"])
        if stored is not None:
            return StateMachine.from_row(stored)
        return StateMachine(
            arn=row["state_machine_arn"],
            name=row["state_machine_name"],
            type=row["type"],
            definition=row["definition"],
            role_arn=row["role_arn"] or self.arns.default_role(),
            status="ACTIVE",
            creation_date=self.clock.now(),
            update_date=None,
            revision_id="",
        )

    def redrive_execution(self, arn: str, *, wait: bool = False) -> Execution:
        """RedriveExecution: restart a failed/aborted/timed-out execution at the state that
        did not succeed; Map iterations and Parallel branches that succeeded are kept."""
        row = self.store.get_execution(arn)
        if row is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
        if row["status"] not in REDRIVABLE_STATUSES:
            raise ExecutionNotRedrivable(
                f"Execution Not Redrivable: 'Execution is {row['status']} and cannot be redriven'"
            )
        if row["type"] == "EXPRESS":
            raise ExecutionNotRedrivable(
                "Execution Not Redrivable: 'Execution is of type EXPRESS and cannot be redriven'"
            )
        if self.history_limit is not None and row["last_event_id"] >= self.history_limit - 1:
            raise ExecutionNotRedrivable(
                "Execution Not Redrivable: 'Execution history reached the maximum number of events'"
            )
        checkpoint = self.store.get_checkpoint(arn)
        if checkpoint is None:
            raise ExecutionNotRedrivable(
                "Execution Not Redrivable: 'the execution has no state to restart from'"
            )
        redrive_count = row["redrive_count"] + 1
        machine_row = self._machine_row_for(row)
        machine = compile_machine(row["definition"])
        history = History(self.clock.time, last_id=row["last_event_id"], limit=self.history_limit)
        start = Execution.from_row(row).start_date
        run = self._rebuild_run(row, machine_row, start, history, redrive_count, False)
        run.prior_results[checkpoint["state"]] = self.store.get_branch_results(
            arn, checkpoint["state"]
        )
        redriven = history.add_details(
            "ExecutionRedriven",
            row["last_event_id"],
            "executionRedrivenEventDetails",
            {"redriveCount": redrive_count},
        )
        now = self.clock.now()
        run.deadline = self._deadline(machine, now)
        self.store.save_progress(
            arn,
            row["id"],
            history.take_pending(),
            checkpoint=(
                arn,
                checkpoint["state"],
                checkpoint["input"],
                redriven,
                redriven,
                now.timestamp(),
                checkpoint.get("variables"),
            ),
            execution={
                "status": RUNNING,
                "redrive_count": redrive_count,
                "redrive_date": now.timestamp(),
                "stop_date": None,
                "error": None,
                "cause": None,
                "output": None,
                "owner": self.owner,
            },
            last_event_id=redriven,
        )
        self.store.clear_branch_results(arn)
        value = json.loads(checkpoint["input"])
        self._launch(
            run,
            machine,
            checkpoint["state"],
            value,
            checkpoint["input"],
            redriven,
            wait,
            checkpoint.get("variables"),
        )
        return self.describe_execution(arn)

    redrive = redrive_execution
