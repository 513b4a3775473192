"""Model-server errors, named after SageMaker Runtime's error codes.

    ServingError (VisiongateError)       status + code; becomes a JSON response in server.py
    ├── ValidationError          400     bad input: empty body, corrupt image, unknown endpoint
    │   ├── UnsupportedMediaType 415     Content-Type we cannot decode (e.g. text/csv)
    │   ├── NotAcceptable        406     Accept we cannot produce
    │   └── PayloadTooLarge      413     body over the limit (6 MiB like SageMaker)
    ├── LengthRequired           411     POST without Content-Length
    ├── RequestTimeout           408     the client did not send the whole request in time
    ├── UnknownOperation         404     no such route
    ├── MethodNotAllowed         405     route exists, method does not
    ├── ModelError               424     the model failed on this input
    ├── ServiceUnavailable       503     loading, overloaded, or shutting down
    └── InternalFailure          500     a bug; the message still says what happened
    ModelLoadError (VisiongateError)     the model directory cannot be served (CLI, not HTTP)

The JSON body is ``{"ErrorCode": code, "Message": message, "Hint": hint?}`` and the code is
also sent in the ``x-amzn-ErrorType`` header, which is where botocore's rest-json parser reads
it, so ``boto3`` raises ``client.exceptions.ValidationError`` / ``ModelError`` with our message.
Codes: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
"""

from __future__ import annotations

from typing import Any

from visiongate.errors import VisiongateError


class ModelLoadError(VisiongateError):
    """The model directory is missing, incomplete, or does not match the contract."""


class ServingError(VisiongateError):
    status = 500
    code = "InternalFailure"

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ErrorCode": self.code, "Message": self.message}
        if self.hint:
            data["Hint"] = self.hint
        return data


class ValidationError(ServingError):
    status = 400
    code = "ValidationError"


class UnsupportedMediaType(ValidationError):
    status = 415


class NotAcceptable(ValidationError):
    status = 406


class PayloadTooLarge(ValidationError):
    status = 413


class LengthRequired(ServingError):
    status = 411
    code = "LengthRequired"


class RequestTimeout(ServingError):
    status = 408
    code = "RequestTimeout"


class UnknownOperation(ServingError):
    status = 404
    code = "UnknownOperationException"


class MethodNotAllowed(ServingError):
    status = 405
    code = "MethodNotAllowed"

    def __init__(self, message: str, allowed: tuple[str, ...], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.allowed = allowed


class ModelError(ServingError):
    """SageMaker reports container failures as ModelError (424) with the original status."""

    status = 424
    code = "ModelError"

    def body(self) -> dict[str, Any]:
        data = super().body()
        data["OriginalStatusCode"] = 500
        data["OriginalMessage"] = self.message
        return data


class ServiceUnavailable(ServingError):
    status = 503
    code = "ServiceUnavailable"


class InternalFailure(ServingError):
    status = 500
    code = "InternalFailure"
