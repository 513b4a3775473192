"""boto3 sessions and clients, and AWS errors turned into deploy errors in one place.

Endpoints follow boto3's own configuration, so ``AWS_ENDPOINT_URL`` (or
``AWS_ENDPOINT_URL_<SERVICE>``) points every call at another server, e.g. moto in tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from visiongate.deploy.errors import AWSRequestError, DeployError, NoCredentialsError

# AWS's answers for credentials that exist but are not accepted.
_BAD_CREDENTIALS = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
}


def make_session(region: str | None = None, session: Any = None) -> Any:
    """A boto3 session in ``region`` (or the configured one); refuses to go on without one."""
    import boto3

    if session is None:
        session = boto3.Session(region_name=region) if region else boto3.Session()
    if not session.region_name:
        raise DeployError(
            "no AWS region configured",
            hint="pass --region, or set AWS_DEFAULT_REGION / AWS_REGION",
        )
    return session


def require_credentials(session: Any) -> None:
    """Fail before any request when botocore's credential chain finds nothing."""
    import botocore.exceptions

    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:  # e.g. a broken profile
        raise NoCredentialsError(f"cannot load AWS credentials: {exc}") from None
    if credentials is None:
        raise NoCredentialsError()


def client(session: Any, service: str) -> Any:
    with aws_errors(f"create {service} client"):
        return session.client(service)


@contextmanager
def aws_errors(operation: str) -> Iterator[None]:
    """Turn botocore's exceptions into :mod:`visiongate.deploy.errors`."""
    import botocore.exceptions as bce

    try:
        yield
    except bce.NoCredentialsError:
        raise NoCredentialsError() from None
    except bce.PartialCredentialsError as exc:
        raise NoCredentialsError(f"incomplete AWS credentials: {exc}") from None
    except bce.NoRegionError:
        raise DeployError(
            "no AWS region configured", hint="pass --region, or set AWS_DEFAULT_REGION"
        ) from None
    except bce.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", exc))
        hint = None
        if code in _BAD_CREDENTIALS:
            hint = "AWS did not accept the credentials; refresh them (aws sso login, new keys)"
        elif code in {"AccessDenied", "AccessDeniedException"}:
            hint = "the caller's IAM policy does not allow this; see docs/deploy.md for what deploy needs"
        raise AWSRequestError(operation, code, message, hint) from None
    except (bce.EndpointConnectionError, bce.ConnectTimeoutError, bce.ReadTimeoutError) as exc:
        raise AWSRequestError(
            operation,
            type(exc).__name__,
            str(exc),
            hint="check the region, the network, and AWS_ENDPOINT_URL if set",
        ) from None
    except bce.BotoCoreError as exc:  # e.g. an unparseable response from a non-AWS server
        raise AWSRequestError(operation, type(exc).__name__, str(exc)) from None
