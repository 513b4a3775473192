"""The server persists to the CLI's SQLite store and survives being killed.

`visiongate stepfunctions` runs as a real subprocess on a free port over a temporary
VISIONGATE_HOME; it is killed with SIGKILL (no chance to clean up) and started again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from visiongate.config import load_settings
from visiongate.sfn.engine import Engine

REPO = Path(__file__).resolve().parents[3]
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}
CALLBACK = {
    "StartAt": "Wait for token",
    "States": {
        "Wait for token": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
    },
}
ROLE = "arn:aws:iam::123456789012:role/r"


class Server:
    def __init__(self, home: Path) -> None:
        env = {**os.environ, "VISIONGATE_HOME": str(home), "PYTHONPATH": str(REPO)}
        command = [
            sys.executable,
            "-m",
            "visiongate.cli.main",
            "stepfunctions",
            "--port",
            "0",
            "--functions",
            "echo=tests.sfn.api.handlers:echo",
        ]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        line = self.process.stdout.readline()
        assert "listening on" in line, line
        self.url = line.split("listening on", 1)[1].strip()
        self.client = boto3.client(
            "stepfunctions",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
            config=Config(inject_host_prefix=False, retries={"max_attempts": 0}),
        )

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process.stdout.close()


def until(condition, what: str, timeout: float = 15.0):
    """Poll another process (there is no clock of ours to inject there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def latest_token(client, execution: str) -> str | None:
    events = client.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
    for event in events:
        if event["type"] == "TaskScheduled":
            return json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
    return None


def test_state_machines_and_executions_survive_a_killed_server(tmp_path):
    home = tmp_path / "home"
    server = Server(home)
    try:
        client = server.client
        machine = client.create_state_machine(
            name="kept", definition=json.dumps(PASS), roleArn=ROLE
        )["stateMachineArn"]
        done = client.start_execution(stateMachineArn=machine, name="done")["executionArn"]
        until(
            lambda: client.describe_execution(executionArn=done)["status"] == "SUCCEEDED",
            "the Pass execution",
        )
        waiting_machine = client.create_state_machine(
            name="waits", definition=json.dumps(CALLBACK), roleArn=ROLE
        )["stateMachineArn"]
        waiting = client.start_execution(stateMachineArn=waiting_machine, name="waiting")[
            "executionArn"
        ]
        first_token = until(lambda: latest_token(client, waiting), "the task token")
    finally:
        server.kill()

    server = Server(home)
    try:
        client = server.client
        assert client.describe_state_machine(stateMachineArn=machine)["name"] == "kept"
        described = client.describe_execution(executionArn=done)
        assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"ok": True})
        # The execution the killed server was running resumed from its checkpoint: its task
        # was issued again, with a new token.
        token = until(
            lambda: (t := latest_token(client, waiting)) != first_token and t, "the resumed task"
        )
        client.send_task_success(taskToken=token, output='{"approved": true}')
        until(
            lambda: client.describe_execution(executionArn=waiting)["status"] == "SUCCEEDED",
            "the resumed execution",
        )
        # The CLI's Python API (what `visiongate executions list` reads) sees the same store.
        engine = Engine(load_settings(home=home), prepare_env=False)
        try:
            assert {e.arn for e in engine.list_executions()} >= {done, waiting}
            started_by_engine = engine.start_execution(
                machine, {"from": "cli"}, "from-cli", wait=True
            )
        finally:
            engine.close()
        listed = client.list_executions(stateMachineArn=machine)["executions"]
        assert started_by_engine.arn in {e["executionArn"] for e in listed}
        shown = subprocess.run(
            [sys.executable, "-m", "visiongate.cli.main", "executions", "list"],
            env={**os.environ, "VISIONGATE_HOME": str(home), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert shown.returncode == 0, shown.stderr
        assert "done" in shown.stdout and "waiting" in shown.stdout and "from-cli" in shown.stdout
    finally:
        server.kill()
