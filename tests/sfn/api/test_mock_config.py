"""Step Functions Local's mocked responses through the API: ``--mock-config`` and
``stateMachineArn#TestCase`` (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html).
"""

from __future__ import annotations

import json

import pytest

from tests.sfn.api.conftest import ROLE, Sfn
from visiongate.config import load_settings
from visiongate.sfn.api import StepFunctionsBackend, serve_in_thread

DEFINITION = {
    "StartAt": "Notify",
    "States": {
        "Notify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "hi"},
            "End": True,
        }
    },
}
MOCKS = {
    "StateMachines": {"notifier": {"TestCases": {"HappyPath": {"Notify": "Published"}}}},
    "MockedResponses": {"Published": {"0": {"Return": {"MessageId": "m-1"}}}},
}


@pytest.fixture(scope="module")
def mocked(tmp_path_factory):
    home = tmp_path_factory.mktemp("sfn-mocks")
    path = home / "MockConfigFile.json"
    path.write_text(json.dumps(MOCKS))
    backend = StepFunctionsBackend(
        load_settings(home=home),
        fast_time=True,
        mock_config=path,
        engine_options={"prepare_env": False},
    )
    server = serve_in_thread(backend)
    yield Sfn(server.url, backend, server)
    server.shutdown()
    server.server_close()
    backend.close(stop_running=True)


def test_a_test_case_replaces_the_service_call(mocked):
    client = mocked.client()
    arn = client.create_state_machine(
        name="notifier", definition=json.dumps(DEFINITION), roleArn=ROLE
    )["stateMachineArn"]
    execution = client.start_execution(stateMachineArn=f"{arn}#HappyPath")["executionArn"]
    assert (
        execution
        == arn.replace(":stateMachine:", ":execution:") + ":" + execution.rsplit(":", 1)[1]
    )
    mocked.wait(execution)
    described = client.describe_execution(executionArn=execution)
    assert (described["status"], json.loads(described["output"])) == (
        "SUCCEEDED",
        {"MessageId": "m-1"},
    )
    unmocked = client.start_execution(stateMachineArn=arn)["executionArn"]
    mocked.wait(unmocked)
    assert client.describe_execution(executionArn=unmocked)["status"] == "FAILED"
