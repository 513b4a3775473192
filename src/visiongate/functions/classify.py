"""Lambda "Inference": send the image to a SageMaker endpoint and add its class probabilities.

Event: serialize_image's response (any shape ``unwrap_event`` accepts), i.e. a body with
``image_data`` (base64) or, for images too large to pass inline, ``image_data: null`` and
``image_ref: {"s3_bucket", "s3_key"}``. Optional: ``endpoint_name`` (overrides ``ENDPOINT``),
``custom_attributes`` and ``inference_id`` (passed to InvokeEndpoint as-is).

Response: the same body plus ``"inferences": [p0, p1, ...]`` (floats).

The call is boto3's ``sagemaker-runtime`` InvokeEndpoint
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html)
with the content type sniffed from the bytes (``image/png``, ``image/jpeg``, ...). Where it
goes: boto3 decides on Lambda and whenever ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` or
``AWS_ENDPOINT_URL`` is set (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html);
otherwise (a local run) the client targets ``settings.endpoint_url``, default the local
model server at http://127.0.0.1:8080. Set ``endpoint.url = "aws"`` to use real SageMaker
from a laptop. Requests to a loopback address are not signed, so the local path needs
no AWS credentials.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from collections.abc import Mapping
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from visiongate.config import DEFAULT_ENDPOINT_URL, Settings, load_settings
from visiongate.errors import ConfigError
from visiongate.functions.errors import EndpointError, EndpointResponseError, InvalidEventError
from visiongate.functions.events import (
    optional_str,
    probabilities,
    require_str,
    respond,
    unwrap_event,
)
from visiongate.functions.image_source import check_image, read_image
from visiongate.functions.logs import FunctionLog, logged
from visiongate.functions.net import is_loopback_url
from visiongate.storage import open_store

# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html#sagemaker-CreateEndpoint-request-EndpointName
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
_TRANSIENT = {
    "ModelNotReadyException",
    "ServiceUnavailable",
    "ThrottlingException",
    "InternalFailure",
    "InternalDependencyException",
}
_DENIED = {"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException"}
USE_AWS = "aws"  # endpoint.url value meaning "let boto3 choose (real SageMaker)"

_clients: dict[tuple[str | None, ...], Any] = {}
_clients_lock = threading.Lock()


# -- where the request goes --------------------------------------------------------
def boto_endpoint_from_env(environ: Mapping[str, str]) -> str | None:
    """The SageMaker runtime URL boto3 itself takes from the environment, if any."""
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return environ.get("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME") or environ.get("AWS_ENDPOINT_URL")


def explicit_endpoint_url(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The URL to pass to boto3, or None to let boto3 choose (its env vars or AWS itself)."""
    url = settings.endpoint_url
    if url in ("", USE_AWS):
        return None
    from_env = boto_endpoint_from_env(environ)
    if from_env and url in (from_env, DEFAULT_ENDPOINT_URL):
        return None  # boto3 honours the variable itself
    if url == DEFAULT_ENDPOINT_URL and environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return None  # on Lambda the local default means nothing: real SageMaker
    return url


def sagemaker_runtime(settings: Settings, environ: Mapping[str, str] | None = None) -> Any:
    """A ``sagemaker-runtime`` client, cached per (region, endpoint URL) for warm invocations."""
    environ = os.environ if environ is None else environ
    url = explicit_endpoint_url(settings, environ)
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    effective = url or boto_endpoint_from_env(environ)
    key = (region, url, effective)
    with _clients_lock:  # boto3 client creation is not thread-safe
        client = _clients.get(key)
        if client is None:
            config = Config(connect_timeout=5, read_timeout=65, user_agent_extra="visiongate")
            if is_loopback_url(effective):
                config = config.merge(Config(signature_version=UNSIGNED))
            if region is None and effective:
                region = "us-east-1"  # signing needs one; a custom endpoint ignores it
            try:
                client = boto3.session.Session(region_name=region).client(
                    "sagemaker-runtime", endpoint_url=url, config=config
                )
            except NoRegionError:
                raise EndpointError(
                    "no AWS region is configured for the SageMaker runtime client",
                    hint="set AWS_REGION (or AWS_DEFAULT_REGION)",
                ) from None
            _clients[key] = client
    return client


def reset_clients() -> None:
    """Forget cached clients (tests; a process whose endpoint settings changed)."""
    with _clients_lock:
        _clients.clear()


# -- the event ---------------------------------------------------------------------
def _endpoint_name(body: dict[str, Any], settings: Settings) -> str:
    name = optional_str(body, "endpoint_name")
    if name is not None:
        if not _ENDPOINT_NAME.match(name):
            raise InvalidEventError(
                f"endpoint_name {name!r} is not a valid SageMaker endpoint name",
                hint="use up to 63 letters, digits and hyphens, e.g. 'visiongate'",
            )
        return name
    if not _ENDPOINT_NAME.match(settings.endpoint_name):
        raise ConfigError(
            f"ENDPOINT {settings.endpoint_name!r} is not a valid SageMaker endpoint name",
            hint="set ENDPOINT (or endpoint.name in visiongate.toml) to your endpoint's name",
        )
    return settings.endpoint_name


def _image(body: dict[str, Any], settings: Settings) -> tuple[bytes, str]:
    image_data = body.get("image_data")
    limit = settings.max_image_bytes
    if isinstance(image_data, str):
        try:
            data = base64.b64decode("".join(image_data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidEventError(
                "image_data is not valid base64",
                hint="send serialize_image's output unchanged (image_data is base64 text)",
            ) from None
        return data, check_image(data, limit, "the event's image_data")
    if image_data is not None:
        raise InvalidEventError(
            f"image_data must be a base64 string or null, got {type(image_data).__name__}",
            hint="send serialize_image's output unchanged",
        )
    ref = body.get("image_ref")
    if ref is None:
        raise InvalidEventError(
            "the event has no image: image_data is missing and there is no image_ref",
            hint='run serialize_image first and pass its output (or send "image_data": "<base64>")',
        )
    if not isinstance(ref, dict):
        raise InvalidEventError(
            f"image_ref must be an object with s3_bucket and s3_key, got {type(ref).__name__}",
            hint='send e.g. "image_ref": {"s3_bucket": "images", "s3_key": "cats/cat.png"}',
        )
    bucket = require_str(ref, "s3_bucket", "images")
    key = require_str(ref, "s3_key", "cats/cat.png")
    return read_image(open_store(settings), bucket, key, limit)


# -- the call ----------------------------------------------------------------------
def _endpoint_error(exc: Exception, name: str, where: str, content_type: str) -> EndpointError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "")) or "Unknown"
        message = error.get("Message") or "(no message)"
        text = f"endpoint {name!r} at {where} failed with {code}: {message}"
        if code == "ModelError":
            hint = (
                f"the model container failed on this {content_type} input; check its logs "
                f"(CloudWatch /aws/sagemaker/Endpoints/{name}, or the local model server's output)"
            )
        elif code == "ValidationError":
            hint = (
                f"check that endpoint {name!r} exists and is InService, that ENDPOINT names it, "
                f"and that it accepts {content_type}"
            )
        elif code in _TRANSIENT:
            hint = (
                "a transient condition: retry later (a state machine Retry on EndpointError works)"
            )
        elif code in _DENIED:
            hint = "allow sagemaker:InvokeEndpoint on this endpoint in the caller's IAM role"
        else:
            hint = "see the InvokeEndpoint error list in the SageMaker API reference"
        return EndpointError(text, hint=hint, code=code)
    if isinstance(exc, _UNREACHABLE):
        return EndpointError(
            f"cannot reach endpoint {name!r} at {where}: {exc}",
            hint="is the model server running (`visiongate serve`)? Check endpoint.url / "
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME and the network",
            code="ConnectionError",
        )
    if isinstance(exc, NoCredentialsError):
        return EndpointError(
            f"cannot call endpoint {name!r} at {where}: no AWS credentials found",
            hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            code="NoCredentials",
        )
    return EndpointError(
        f"calling endpoint {name!r} at {where} failed: {exc}",
        hint="check the request parameters (custom_attributes, inference_id) and the endpoint URL",
        code=type(exc).__name__,
    )


def parse_inferences(payload: bytes, name: str) -> list[float]:
    """The class probabilities in an endpoint's JSON answer."""
    shape_hint = "the endpoint must answer a JSON list of class probabilities, e.g. [0.1, 0.9]"
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        preview = payload[:60].decode("utf-8", "replace")
        raise EndpointResponseError(
            f"endpoint {name!r} answered {len(payload)} bytes that are not JSON: {preview!r}",
            hint=shape_hint,
        ) from None
    if isinstance(data, dict):  # {"predictions": [...]} or {"probabilities": [...]}
        data = data.get("probabilities", data.get("predictions", data))
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], list):
        data = data[0]  # a batch of one
    try:
        return probabilities(data, "the endpoint's answer")
    except ValueError as exc:
        raise EndpointResponseError(f"endpoint {name!r}: {exc}", hint=shape_hint) from None


@logged("classify")
def handler(event: Any, context: Any, log: FunctionLog) -> dict[str, Any]:
    body = unwrap_event(event)
    settings = load_settings()
    name = _endpoint_name(body, settings)
    data, content_type = _image(body, settings)
    request: dict[str, Any] = {
        "EndpointName": name,
        "ContentType": content_type,
        "Accept": "application/json",
        "Body": data,
    }
    custom_attributes = optional_str(body, "custom_attributes")
    if custom_attributes is not None:
        request["CustomAttributes"] = custom_attributes
    inference_id = optional_str(body, "inference_id")
    if inference_id is not None:
        request["InferenceId"] = inference_id

    client = sagemaker_runtime(settings)
    where = client.meta.endpoint_url
    log.info("invoking", endpoint=name, url=where, content_type=content_type, bytes=len(data))
    try:
        response = client.invoke_endpoint(**request)
        payload = response["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise _endpoint_error(exc, name, where, content_type) from None

    inferences = parse_inferences(payload, name)
    result = dict(body)
    result["inferences"] = inferences
    log.info(
        "classified",
        endpoint=name,
        classes=len(inferences),
        top_class=max(range(len(inferences)), key=inferences.__getitem__),
        top_probability=max(inferences),
        variant=response.get("InvokedProductionVariant"),
    )
    return respond(result)
