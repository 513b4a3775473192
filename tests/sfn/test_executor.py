"""Durability: checkpoints, resuming after a crash (a real SIGKILL), redrive, stop.

https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.sfn import handlers
from visiongate.config import load_settings
from visiongate.sfn.clock import RealClock
from visiongate.sfn.engine import Engine
from visiongate.sfn.errors import ExecutionNotRedrivable

REPO = Path(__file__).resolve().parents[2]
INVOKE = "arn:aws:states:::lambda:invoke"


def test_a_killed_process_resumes_from_its_last_completed_state(tmp_path: Path) -> None:
    log, release = tmp_path / "calls.log", tmp_path / "release"
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.sfn.crash_worker", str(log), str(release)],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    blocked = threading.Event()

    def watch() -> None:
        for line in worker.stdout:  # type: ignore[union-attr]
            if line.strip() == "BLOCKED":
                blocked.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert blocked.wait(60), worker.stderr.read() if worker.poll() is not None else "no BLOCKED"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    assert log.read_text().split() == ["prepare", "block"]

    release.write_text("go")
    with Engine(load_settings(), clock=RealClock(), functions=handlers.FUNCTIONS) as engine:
        interrupted = engine.list_executions(status="RUNNING")
        assert [e.name for e in interrupted] == ["crashy"]
        assert engine.resume_running(wait=True) == [interrupted[0].arn]
        execution = engine.describe_execution(interrupted[0].arn)
        history = engine.get_execution_history(execution.arn)

    assert execution.status == "SUCCEEDED"
    # The variable assigned before the crash survived it (checkpoints carry variables).
    assert execution.output_value == {"done": True, "who": "prepared-before-the-crash"}
    # Prepare completed before the crash: it is neither re-run nor duplicated in the history.
    assert log.read_text().split() == ["prepare", "block", "block"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    assert entered == ["Prepare", "Block", "Finish"]
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))


def test_events_before_a_task_are_persisted_before_it_runs(engine: Engine) -> None:
    seen: list[list[str]] = []

    def peek(event, context):
        seen.append([e["type"] for e in engine.get_execution_history(engine.running()[0])])
        return {}

    engine.functions.register("peek", peek)
    definition = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "peek"},
                "End": True,
            },
        },
    }
    assert engine.run(definition).succeeded
    assert seen[0][:3] == ["ExecutionStarted", "PassStateEntered", "PassStateExited"]


def flaky_machine() -> dict:
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"failures": 1}, "Next": "Flaky"},
            "Flaky": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "flaky", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": True,
            },
        },
    }


def test_redrive_restarts_at_the_failed_state(engine: Engine) -> None:
    failed = engine.run(flaky_machine(), name="flaky")
    assert failed.status == "FAILED"
    redriven = engine.redrive_execution(failed.arn, wait=True)
    assert redriven.status == "SUCCEEDED"
    assert redriven.redrive_count == 1
    assert redriven.redrive_date is not None
    assert redriven.output_value == {"attempts": 2}
    history = engine.get_execution_history(failed.arn)
    types = [e["type"] for e in history]
    assert types.count("PassStateEntered") == 1  # Prepare is not run again
    assert "ExecutionFailed" in types and types[-1] == "ExecutionSucceeded"
    redrive_event = next(e for e in history if e["type"] == "ExecutionRedriven")
    assert redrive_event["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))


def test_redriving_a_succeeded_execution_is_refused(engine: Engine) -> None:
    done = engine.run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ExecutionNotRedrivable):
        engine.redrive_execution(done.arn)


def test_redrive_reruns_only_the_failed_map_iterations(engine: Engine) -> None:
    definition = {
        "StartAt": "Items",
        "States": {
            "Items": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {
                        "Work": {
                            "Type": "Task",
                            "Resource": INVOKE,
                            "Parameters": {"FunctionName": "item", "Payload.$": "$"},
                            "OutputPath": "$.Payload",
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    handlers.BROKEN.add(2)
    failed = engine.run(definition, [1, 2, 3])
    assert failed.error == "CustomError"
    handlers.BROKEN.clear()
    redriven = engine.redrive_execution(failed.arn, wait=True)
    assert redriven.status == "SUCCEEDED"
    assert redriven.output_value == [10, 20, 30]
    calls = [event for name, event in handlers.CALLS if name == "item"]
    assert calls.count(1) == 1 and calls.count(2) == 2


def test_redrive_reruns_only_the_failed_parallel_branch(engine: Engine) -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {
                            "A": {
                                "Type": "Task",
                                "Resource": INVOKE,
                                "Parameters": {"FunctionName": "item", "Payload": 1},
                                "OutputPath": "$.Payload",
                                "End": True,
                            }
                        },
                    },
                    {
                        "StartAt": "B",
                        "States": {
                            "B": {
                                "Type": "Task",
                                "Resource": INVOKE,
                                "Parameters": {"FunctionName": "item", "Payload": 2},
                                "OutputPath": "$.Payload",
                                "End": True,
                            }
                        },
                    },
                ],
                "End": True,
            }
        },
    }
    handlers.BROKEN.add(2)
    failed = engine.run(definition)
    assert failed.status == "FAILED"
    handlers.BROKEN.clear()
    assert engine.redrive_execution(failed.arn, wait=True).output_value == [10, 20]
    calls = [event for name, event in handlers.CALLS if name == "item"]
    assert calls.count(1) == 1 and calls.count(2) == 2


def test_resume_does_not_touch_executions_of_live_processes(engine: Engine) -> None:
    machine = engine.create_state_machine(
        "Live", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )
    engine.start_execution(machine.arn, {}, name="done", wait=True)
    assert engine.resume_running() == []
