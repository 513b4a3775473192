"""``.waitForTaskToken``: the token in $$.Task.Token, SendTaskSuccess/Failure/Heartbeat.

https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.sfn import handlers
from visiongate.config import load_settings
from visiongate.sfn.clock import RealClock
from visiongate.sfn.engine import Engine
from visiongate.sfn.errors import InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut

REPO = Path(__file__).resolve().parents[2]


def callback(function: str, **extra) -> dict:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": function,
            "Payload": {"token.$": "$$.Task.Token", "fail.$": "$.fail"},
        },
        "End": True,
    }
    state.update(extra)
    return {"StartAt": "Review", "States": {"Review": state}}


def test_task_waits_for_send_task_success(engine: Engine) -> None:
    handlers.ENGINE = engine
    result = engine.run(callback("answer_token"), {"fail": False})
    assert result.succeeded
    assert result.output["approved"] is True
    assert result.output["token_length"] > 100
    types = result.event_types()
    assert types[2:7] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
    ]
    scheduled = result.history[2]["taskScheduledEventDetails"]
    assert scheduled["resource"] == "invoke.waitForTaskToken"


def test_send_task_failure_fails_the_task(engine: Engine) -> None:
    handlers.ENGINE = engine
    result = engine.run(callback("answer_token"), {"fail": True})
    assert (result.error, result.cause) == ("Rejected", "the reviewer said no")


def test_success_sent_later_from_another_thread(engine: Engine) -> None:
    issued = threading.Event()
    tokens: list[str] = []
    engine.tokens.on_issued.append(lambda token, arn, state: (tokens.append(token), issued.set()))
    machine = engine.create_state_machine("Callback", callback("keep_token"))
    execution = engine.start_execution(machine.arn, {"fail": False})
    assert issued.wait(10)
    engine.send_task_success(tokens[0], {"answer": 42})
    finished = engine.wait(execution.arn, timeout=10)
    assert finished.status == "SUCCEEDED"
    assert finished.output_value == {"answer": 42}


def test_task_token_api_errors(engine: Engine) -> None:
    handlers.ENGINE = engine
    with pytest.raises(InvalidToken):
        engine.send_task_success("", {})
    with pytest.raises(TaskDoesNotExist):
        engine.send_task_success("no-such-token", {})
    issued: list[str] = []
    engine.tokens.on_issued.append(lambda token, arn, state: issued.append(token))
    engine.run(callback("answer_token"), {"fail": False})
    with pytest.raises(TaskTimedOut):
        engine.send_task_success(issued[0], {})
    with pytest.raises(InvalidOutput):
        engine.send_task_success(issued[0], "{not json")


def test_heartbeat_timeout(engine: Engine) -> None:
    result = engine.run(callback("keep_token", HeartbeatSeconds=30), {"fail": False})
    assert result.error == "States.HeartbeatTimeout"
    timed_out = [e for e in result.history if e["type"] == "TaskTimedOut"][0]
    assert timed_out["taskTimedOutEventDetails"]["error"] == "States.HeartbeatTimeout"


def test_callback_timeout_seconds(engine: Engine) -> None:
    result = engine.run(callback("keep_token", TimeoutSeconds=300), {"fail": False})
    assert result.error == "States.Timeout"


def test_stop_execution_aborts_a_waiting_task(engine: Engine) -> None:
    issued = threading.Event()
    engine.tokens.on_issued.append(lambda *args: issued.set())
    machine = engine.create_state_machine("Stoppable", callback("keep_token"))
    execution = engine.start_execution(machine.arn, {"fail": False})
    assert issued.wait(10)
    stopped = engine.stop_execution(execution.arn, error="Operator", cause="not needed")
    assert stopped.status == "ABORTED"
    history = engine.get_execution_history(execution.arn)
    assert [e["type"] for e in history][-2:] == ["TaskStateAborted", "ExecutionAborted"]
    assert history[-1]["executionAbortedEventDetails"] == {
        "error": "Operator",
        "cause": "not needed",
    }


def test_send_task_success_from_another_process(tmp_path: Path) -> None:
    """The CLI in another process completes a task this process is waiting for (shared SQLite)."""
    settings = load_settings()
    with Engine(settings, clock=RealClock(), functions=handlers.FUNCTIONS) as engine:
        issued = threading.Event()
        tokens: list[str] = []
        engine.tokens.on_issued.append(
            lambda token, arn, state: (tokens.append(token), issued.set())
        )
        machine = engine.create_state_machine("CrossProcess", callback("keep_token"))
        execution = engine.start_execution(machine.arn, {"fail": False})
        assert issued.wait(10)
        env = dict(os.environ)
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "visiongate.cli.main",
                "send-task-success",
                "--task-token",
                tokens[0],
                "--task-output",
                '{"from": "cli"}',
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert completed.returncode == 0, completed.stderr
        finished = engine.wait(execution.arn, timeout=30)
    assert finished.status == "SUCCEEDED"
    assert finished.output_value == {"from": "cli"}


# https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html: in JSONata the
# token is $states.context.Task.Token and HeartbeatSeconds may be an expression.
def test_jsonata_callback_token_and_heartbeat_expression(engine: Engine) -> None:
    handlers.ENGINE = engine
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Arguments": {
            "FunctionName": "{% $states.input.worker %}",
            "Payload": {"token": "{% $states.context.Task.Token %}", "fail": False},
        },
        "HeartbeatSeconds": "{% $states.input.heartbeat %}",
        "End": True,
    }
    definition = {"QueryLanguage": "JSONata", "StartAt": "Review", "States": {"Review": state}}
    answered = engine.run(definition, {"worker": "answer_token", "heartbeat": 30})
    assert answered.succeeded and answered.output["approved"] is True
    kept = engine.run(definition, {"worker": "keep_token", "heartbeat": 30})
    assert kept.error == "States.HeartbeatTimeout"
