"""The HTTP layer: AWS JSON 1.0 routing, one error shape for every failure, never a 500 for a
client mistake. Requests boto3 cannot produce (bad JSON, no target, wrong content type, a huge
body) are sent with http.client, over the same real socket.

Error shape: https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
Protocol: https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from tests.sfn.api.conftest import create, error_of
from visiongate.sfn.api.exceptions import error_response
from visiongate.sfn.api.server import MAX_BODY_BYTES, request_region

JSON_10 = "application/x-amz-json-1.0"


def post(url, body, headers):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def target(action):
    return {"X-Amz-Target": f"AWSStepFunctions.{action}", "Content-Type": JSON_10}


def assert_aws_error(status_body, code):
    status, headers, body = status_body
    assert status == 400
    assert set(body) == {"__type", "message"}
    assert body["__type"].rsplit("#", 1)[1] == code
    assert headers["Content-Type"] == JSON_10
    assert headers["x-amzn-RequestId"]


@pytest.mark.parametrize(
    ("body", "headers", "code"),
    [
        (b"{not json", target("ListStateMachines"), "SerializationException"),
        (b"[1, 2]", target("ListStateMachines"), "SerializationException"),
        (b"\xff\xfe", target("ListStateMachines"), "SerializationException"),
        (b'{"maxResults": "ten"}', target("ListStateMachines"), "SerializationException"),
        (
            b'{"tags": {"a": 1}, "resourceArn": "x"}',
            target("TagResource"),
            "SerializationException",
        ),
        (b"{}", {"Content-Type": JSON_10}, "UnknownOperationException"),
        (b"{}", target("DoesNotExist"), "UnknownOperationException"),
        (
            b"{}",
            {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": JSON_10},
            "UnknownOperationException",
        ),
        (
            b"{}",
            {**target("ListStateMachines"), "Content-Type": "text/plain"},
            "UnknownOperationException",
        ),
        (b"{}", target("CreateStateMachine"), "ValidationException"),
    ],
)
def test_client_mistakes_are_400_with_the_aws_error_shape(sfn, body, headers, code):
    assert_aws_error(post(sfn.url, body, headers), code)


def test_missing_required_members_are_listed(sfn):
    _status, _headers, body = post(sfn.url, b"{}", target("CreateStateMachine"))
    assert body["message"] == (
        "3 validation errors detected: Value null at 'name' failed to satisfy constraint: Member "
        "must not be null; Value null at 'definition' failed to satisfy constraint: Member must not "
        "be null; Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    )


def test_a_huge_body_is_refused_without_reading_it(sfn):
    parts = urlsplit(sfn.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest("POST", "/")
        for name, value in target("ListStateMachines").items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        connection.endheaders()
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 400
    assert body["__type"].endswith("#SerializationException")


def test_a_well_formed_request_over_raw_http(sfn):
    status, _headers, body = post(sfn.url, b"", target("ListStateMachines"))
    assert status == 200 and "stateMachines" in body


def test_get_is_not_an_operation_but_health_answers(sfn):
    parts = urlsplit(sfn.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", "/health")
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())["status"]) == (200, "running")
    connection.close()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", "/")
    response = connection.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["__type"].endswith("#UnknownOperationException")
    connection.close()


def test_botocore_raises_the_modelled_exception_classes(client):
    with pytest.raises(client.exceptions.StateMachineDoesNotExist) as excinfo:
        client.describe_state_machine(
            stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:none"
        )
    assert error_of(excinfo)[2] == 400


def test_any_credentials_and_the_signed_region(sfn):
    client = boto3.client(
        "stepfunctions",
        endpoint_url=sfn.url,
        region_name="sa-east-1",
        aws_access_key_id="whatever",
        aws_secret_access_key="whatever",
        aws_session_token="token",
        config=Config(inject_host_prefix=False),
    )
    assert ":sa-east-1:123456789012:" in create(client)


def test_region_comes_from_the_credential_scope():
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-central-1/states/aws4_request, "
        "SignedHeaders=host, Signature=abc"
    }
    assert request_region(headers, "us-east-1") == "eu-central-1"
    assert request_region({}, "us-east-1") == "us-east-1"


# botocore sends StartSyncExecution and TestState to "sync-<host>", which does not resolve for
# 127.0.0.1; clients turn the prefix off (documented in docs/stepfunctions-api.md).
def test_host_prefix_injection_can_be_turned_off_by_environment(sfn, monkeypatch):
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    client = boto3.client("stepfunctions", endpoint_url=sfn.url, region_name="us-east-1")
    arn = create(client, type="EXPRESS")
    assert client.start_sync_execution(stateMachineArn=arn)["status"] == "SUCCEEDED"


def test_with_host_prefix_injection_the_sync_host_is_used():
    client = boto3.client(
        "stepfunctions", endpoint_url="http://127.0.0.1:1", region_name="us-east-1"
    )
    seen = []

    def record_and_stop(request, **_):
        seen.append(request.url)
        raise _Stopped

    client.meta.events.register("before-send", record_and_stop)
    with pytest.raises(_Stopped):
        client.start_sync_execution(
            stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:x"
        )
    assert seen == ["http://sync-127.0.0.1:1/"]


class _Stopped(Exception):
    """Aborts a call before it reaches the network."""


def test_a_chunked_body_is_read(sfn):
    parts = urlsplit(sfn.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/",
            body=iter([b'{"maxRes', b'ults": 1}']),
            headers=target("ListStateMachines"),
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert (response.status, "stateMachines" in json.loads(response.read())) == (200, True)
    finally:
        connection.close()


def test_only_a_bug_is_a_500():
    status, headers, body = error_response(RuntimeError("a bug"))
    assert status == 500
    assert json.loads(body)["__type"].endswith("#InternalFailure")
    assert "a bug" not in body.decode()  # internals are logged, not sent
