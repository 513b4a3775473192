"""A real server on 127.0.0.1 (port 0) over a fresh SQLite store, and boto3 clients for it.

One server per test module keeps the suite fast; tests use unique names (and their own region
when they list everything), so they do not see each other's resources.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.sfn.api import handlers
from visiongate.config import load_settings
from visiongate.sfn.api import StepFunctionsBackend, StepFunctionsServer, serve_in_thread

ROLE = "arn:aws:iam::123456789012:role/service-role/StepFunctions-test"
PASS_DEFINITION = {
    "Comment": "BASE_PASS_RESULT",
    "StartAt": "State_1",
    "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}},
}
# Waits for SendTaskSuccess/Failure: the function hands the token to the test.
CALLBACK_DEFINITION = {
    "StartAt": "Wait for approval",
    "States": {
        "Wait for approval": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "remember_token",
                "Payload": {"token.$": "$$.Task.Token"},
            },
            "End": True,
        }
    },
}


@dataclass
class Sfn:
    url: str
    backend: StepFunctionsBackend
    server: StepFunctionsServer

    def client(self, region: str = "us-east-1") -> Any:
        return boto3.client(
            "stepfunctions",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id="AKIDVISIONGATE",
            aws_secret_access_key="any-secret",
            # StartSyncExecution and TestState carry the "sync-" host prefix: see docs.
            config=Config(inject_host_prefix=False, retries={"max_attempts": 0}),
        )

    def wait(self, execution_arn: str) -> None:
        """Block until an execution this server runs has stopped (an event, not a sleep)."""
        self.backend.engines.running(execution_arn).wait(execution_arn, timeout=20)


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sfn]:
    home = tmp_path_factory.mktemp("sfn-api")
    settings = load_settings(home=home, db_path=home / "visiongate.db")
    backend = StepFunctionsBackend(
        settings,
        fast_time=True,
        functions=handlers.FUNCTIONS,
        default_region="us-east-1",
        engine_options={"prepare_env": False},
    )
    backend.start()
    server = serve_in_thread(backend)
    try:
        yield Sfn(server.url, backend, server)
    finally:
        server.shutdown()
        server.server_close()
        backend.close(stop_running=True)


@pytest.fixture(scope="module")
def client(sfn: Sfn) -> Any:
    return sfn.client()


def unique(prefix: str = "sm") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(client: Any, definition: dict | str = PASS_DEFINITION, **kwargs: Any) -> str:
    text = definition if isinstance(definition, str) else json.dumps(definition)
    kwargs.setdefault("name", unique())
    kwargs.setdefault("roleArn", ROLE)
    return client.create_state_machine(definition=text, **kwargs)["stateMachineArn"]


def error_of(excinfo: pytest.ExceptionInfo) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a botocore ClientError."""
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )
