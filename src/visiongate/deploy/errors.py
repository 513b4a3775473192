"""What can go wrong while packaging, templating and deploying to AWS.

    VisiongateError
    └── DeployError                    every deploy failure
        ├── NoCredentialsError         botocore found no AWS credentials (same name as botocore's)
        ├── MissingImageUri            a new stack needs the model server's ECR image URI
        ├── MissingModel               a new stack needs a model directory (model.tar.gz)
        ├── PackageError               a Lambda zip or model.tar.gz cannot be built
        ├── DefinitionError            a workflow definition cannot be embedded in the template
        ├── StackNotFound              CloudFormation: "Stack with id X does not exist"
        ├── StackFailed                a stack ended in a *_FAILED / ROLLBACK state
        ├── AWSRequestError            any other AWS API error (its code and message)
        └── WaitTimeout                a stack or an execution did not finish in time

Messages name what was wrong; hints say what to do. The CLI prints both on one line each.
"""

from __future__ import annotations

from visiongate.errors import VisiongateError


class DeployError(VisiongateError):
    """Base of every deploy failure."""


class NoCredentialsError(DeployError):
    """boto3 found no credentials (environment, shared files, SSO or instance role)."""

    def __init__(self, message: str = "no AWS credentials found", hint: str | None = None) -> None:
        super().__init__(
            message,
            hint
            or "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
            "or run `aws configure` / `aws sso login`",
        )


class MissingImageUri(DeployError):
    """Creating the stack needs the serving container's image URI."""


class MissingModel(DeployError):
    """Creating the stack needs a model directory to package as model.tar.gz."""


class PackageError(DeployError):
    """A Lambda zip or a model archive cannot be built from what is on disk."""


class DefinitionError(DeployError):
    """A workflow definition is unreadable or uses placeholders the template cannot fill."""


class StackNotFound(DeployError):
    """The named stack does not exist in that account and region."""


class StackFailed(DeployError):
    """A stack operation ended in failure; ``resource`` and ``reason`` come from its events."""

    def __init__(
        self,
        stack: str,
        status: str,
        resource: str | None = None,
        resource_type: str | None = None,
        reason: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"{resource} ({resource_type})" if resource and resource_type else resource
        detail = f": {where} failed: {reason}" if where else (f": {reason}" if reason else "")
        super().__init__(f"stack {stack} ended in {status}{detail}", hint)
        self.stack = stack
        self.status = status
        self.resource = resource
        self.resource_type = resource_type
        self.reason = reason


class AWSRequestError(DeployError):
    """An AWS API call failed; the message carries AWS's error code and message."""

    def __init__(self, operation: str, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{operation} failed: {code}: {message}", hint)
        self.operation = operation
        self.code = code
        self.aws_message = message


class WaitTimeout(DeployError):
    """A stack operation or a workflow execution did not finish within the time allowed."""
