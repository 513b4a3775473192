"""API errors: one class per AWS error code, and the one place they become HTTP responses.

    SfnApiError (visiongate.sfn.errors)      code + HTTP status; the engine raises these
    ├── engine classes, reused as they are:   ValidationException, InvalidArn, InvalidName,
    │                                         InvalidExecutionInput, InvalidToken, InvalidOutput,
    │                                         TaskDoesNotExist, TaskTimedOut, ResourceNotFound,
    │                                         StateMachineDoesNotExist, StateMachineAlreadyExists,
    │                                         StateMachineDeleting, ExecutionDoesNotExist,
    │                                         ExecutionAlreadyExists, ExecutionNotRedrivable
    └── added by the API layer:               InvalidDefinition, StateMachineTypeNotSupported,
                                              MissingRequiredParameter, TooManyTags,
                                              InvalidLoggingConfiguration, ConflictException,
                                              InvalidTracingConfiguration, UnsupportedFeature,
                                              SerializationException, UnknownOperationException,
                                              RequestTooLarge, InternalFailure

Every error becomes AWS's JSON 1.0 error body ``{"__type": "<namespace>#<Code>", "message":
"..."}`` (botocore reads the code after ``#``, so ``client.exceptions.<Code>`` is raised) in
:func:`error_response`, the only place an exception turns into an HTTP answer.
https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
"""

from __future__ import annotations

import json
from typing import Any

from visiongate.sfn.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    InvalidArn,
    InvalidExecutionInput,
    InvalidName,
    InvalidOutput,
    InvalidToken,
    ResourceNotFound,
    SfnApiError,
    StateMachineAlreadyExists,
    StateMachineDeleting,
    StateMachineDoesNotExist,
    TaskDoesNotExist,
    TaskTimedOut,
    ValidationException,
)

__all__ = [
    "ConflictException",
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "ExecutionNotRedrivable",
    "InternalFailure",
    "InvalidArn",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "InvalidLoggingConfiguration",
    "InvalidName",
    "InvalidOutput",
    "InvalidToken",
    "InvalidTracingConfiguration",
    "MissingRequiredParameter",
    "RequestTooLarge",
    "ResourceNotFound",
    "SerializationException",
    "SfnApiError",
    "StateMachineAlreadyExists",
    "StateMachineDeleting",
    "StateMachineDoesNotExist",
    "StateMachineTypeNotSupported",
    "TaskDoesNotExist",
    "TaskTimedOut",
    "TooManyTags",
    "UnknownOperationException",
    "UnsupportedFeature",
    "ValidationException",
    "error_response",
]

# Namespaces of the ``__type`` AWS returns: service errors come from the SWF-derived model,
# protocol-level errors from the Coral framework.
_SERVICE_NAMESPACE = "com.amazonaws.swf.service.v2.model"
_CORAL_NAMESPACES = {
    "ValidationException": "com.amazon.coral.validate",
    "SerializationException": "com.amazon.coral.service",
    "UnknownOperationException": "com.amazon.coral.service",
    "InternalFailure": "com.amazon.coral.service",
}


class InvalidDefinition(SfnApiError):
    """``Invalid State Machine Definition: '<CODE>: <message> at <location>, ...'``."""

    code = "InvalidDefinition"


class StateMachineTypeNotSupported(SfnApiError):
    code = "StateMachineTypeNotSupported"

    def __init__(
        self, message: str = "This operation is not supported by this type of state machine"
    ):
        super().__init__(message)


class MissingRequiredParameter(SfnApiError):
    code = "MissingRequiredParameter"


class TooManyTags(SfnApiError):
    code = "TooManyTags"

    def __init__(self, message: str, resource_name: str | None = None) -> None:
        super().__init__(message)
        self.resource_name = resource_name


class InvalidLoggingConfiguration(SfnApiError):
    code = "InvalidLoggingConfiguration"


class InvalidTracingConfiguration(SfnApiError):
    code = "InvalidTracingConfiguration"


class ConflictException(SfnApiError):
    code = "ConflictException"
    status = 409


class UnsupportedFeature(SfnApiError):
    """A valid definition the embedded engine cannot run yet (not an AWS error code)."""

    code = "UnsupportedFeature"


class SerializationException(SfnApiError):
    """The request body is not a JSON object of the right member types."""

    code = "SerializationException"


class UnknownOperationException(SfnApiError):
    """No ``X-Amz-Target`` header, an unknown action, or a request this protocol cannot carry."""

    code = "UnknownOperationException"


class RequestTooLarge(SfnApiError):
    """The body is larger than any valid request (a definition is at most 1 MiB)."""

    code = "SerializationException"


class InternalFailure(SfnApiError):
    """A bug in visiongate: the only 500 the server sends."""

    code = "InternalFailure"
    status = 500


def error_body(exc: SfnApiError) -> dict[str, Any]:
    namespace = _CORAL_NAMESPACES.get(exc.code, _SERVICE_NAMESPACE)
    body: dict[str, Any] = {"__type": f"{namespace}#{exc.code}", "message": exc.message}
    resource_name = getattr(exc, "resource_name", None)
    if resource_name:
        body["resourceName"] = resource_name
    reason = getattr(exc, "reason", None)
    if reason:
        body["reason"] = reason
    return body


def as_api_error(exc: BaseException) -> SfnApiError:
    """The API error an exception stands for; anything unexpected is an InternalFailure."""
    from visiongate.errors import VisiongateError
    from visiongate.sfn import errors as engine_errors

    if isinstance(exc, SfnApiError):
        return exc
    if isinstance(exc, engine_errors.InvalidDefinition):
        parts = [f"{p.code}: {p.message} at {p.location or '/'}" for p in exc.problems]
        return InvalidDefinition(f"Invalid State Machine Definition: '{', '.join(parts)}'")
    if isinstance(exc, engine_errors.UnsupportedFeature):
        hint = f" ({exc.hint})" if exc.hint else ""
        return UnsupportedFeature(exc.message + hint)
    if isinstance(exc, VisiongateError):
        return ValidationException(exc.message)
    return InternalFailure("An internal error occurred in the visiongate Step Functions server.")


def error_response(exc: BaseException) -> tuple[int, dict[str, str], bytes]:
    """(HTTP status, headers, body) of any exception, shaped as AWS's JSON 1.0 error."""
    error = as_api_error(exc)
    body = json.dumps(error_body(error)).encode("utf-8")
    return error.status, {"x-amzn-ErrorType": error.code}, body
