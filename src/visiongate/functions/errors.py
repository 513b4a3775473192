"""Errors the Lambda handlers raise, named as Lambda and Step Functions report them.

Lambda reports an unhandled exception's *class name* as ``errorType`` and Step
Functions uses that as the state's ``Error``, which Retry and Catch match on
(https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html,
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
So the class names below are part of the public contract; never rename them.

    VisiongateError
    └── FunctionError
        ├── InvalidEventError              missing or wrongly typed event fields
        ├── ImageNotFoundError             no such bucket or object
        ├── EmptyImageError                the object has zero bytes
        ├── NotAnImageError                the bytes are no known image format
        ├── ImageTooLargeError             over MAX_IMAGE_BYTES
        ├── EndpointError                  the SageMaker endpoint failed or is unreachable
        ├── EndpointResponseError          the endpoint answered something that is not probabilities
        └── THRESHOLD_CONFIDENCE_NOT_MET   the gate: top probability below THRESHOLD
"""

from __future__ import annotations

import json

from visiongate.errors import VisiongateError


class FunctionError(VisiongateError):
    """A handler failure; ``error_type`` is what Lambda and Step Functions will call it."""

    @property
    def error_type(self) -> str:
        return type(self).__name__


def lambda_error_message(cause: str) -> str:
    """The ``errorMessage`` of Lambda's error document (a failed state's Cause); other text as is.
    https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html"""
    try:
        document = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(document, dict) and isinstance(document.get("errorMessage"), str):
        return document["errorMessage"]
    return cause


class InvalidEventError(FunctionError):
    """The event lacks a field, or a field has the wrong type."""


class ImageNotFoundError(FunctionError):
    """The bucket or object the event names does not exist."""


class EmptyImageError(FunctionError):
    """The object exists but has no bytes."""


class NotAnImageError(FunctionError):
    """The object's first bytes match no supported image format."""


class ImageTooLargeError(FunctionError):
    """The image is larger than the endpoint accepts (MAX_IMAGE_BYTES)."""


class EndpointError(FunctionError):
    """Invoking the SageMaker endpoint failed; ``code`` is SageMaker's error code, if any."""

    def __init__(self, message: str, hint: str | None = None, code: str = "") -> None:
        super().__init__(message, hint)
        self.code = code


class EndpointResponseError(FunctionError):
    """The endpoint answered, but not with a list of class probabilities."""


class THRESHOLD_CONFIDENCE_NOT_MET(FunctionError):  # noqa: N801 - the name is the error type
    """No class reached the confidence threshold; the workflow fails with this error name."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        top_class: int = -1,
        probability: float = 0.0,
        threshold: float = 0.0,
        label: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.top_class = top_class
        self.probability = probability
        self.threshold = threshold
        self.label = label
